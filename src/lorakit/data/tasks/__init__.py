"""Task registry: ``get_task(name)`` returns a :class:`Task` plug-in.

Where a task comes from, in the order they are looked up:

- the tasks shipped with lorakit (``support_ticket``, ``invoice``, ``finance``, ``policy_qa``, ``text``);
- installed plug-ins: any package that declares an entry point in the ``lorakit.tasks`` group
  (``[project.entry-points."lorakit.tasks"] my_task = "my_pkg.tasks:TASK"``);
- ``package.module:NAME`` naming a :class:`Task` object (a task that lives in the user's package) or a
  pydantic model (a task made from its schema);
- a JSON Schema file (``path/to/schema.json``).

See docs/custom-tasks.md and examples/custom_task/.
"""

from __future__ import annotations

import importlib

from lorakit.data.tasks.base import Task
from lorakit.errors import ConfigError

ENTRY_POINT_GROUP = "lorakit.tasks"

_BUILTIN = {
    "support_ticket": "lorakit.data.tasks.support_ticket:TASK",
    "invoice": "lorakit.data.tasks.invoice:TASK",
    "finance": "lorakit.data.tasks.finance:TASK",
    "policy_qa": "lorakit.data.tasks.policy_qa:TASK",
    "text": "lorakit.data.tasks.text:TASK",
}


def _plugins() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def registry() -> dict[str, str]:
    """Task name -> ``module:attribute``: the shipped tasks, then installed plug-ins (which cannot shadow them)."""
    return _plugins() | _BUILTIN


def task_names() -> list[str]:
    return sorted(registry())


def _load(spec: str, name: str) -> Task:
    module, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"task {name!r}: cannot import {spec!r} ({e})") from None
    if not isinstance(obj, Task):
        raise ConfigError(f"task {name!r}: {spec!r} is a {type(obj).__name__}, not a lorakit Task "
                          "(see docs/custom-tasks.md)")
    return obj


def get_task(name: str) -> Task:
    from lorakit.data.tasks.custom import custom_task, looks_custom

    known = registry()
    if name in known:
        return _load(known[name], name)
    if ":" in name and not name.endswith(".json"):
        module, _, attr = name.partition(":")
        obj = getattr(importlib.import_module(module), attr, None) if _importable(module) else None
        if isinstance(obj, Task):
            return obj
    if looks_custom(name):
        return custom_task(name)  # a JSON Schema file or a pydantic model path
    raise ConfigError(f"unknown task {name!r}; available tasks: {', '.join(task_names())}, a Task object "
                      "(package.module:TASK), a pydantic model (package.module:Model) or a JSON Schema file "
                      "(path/to/schema.json)")


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


__all__ = ["ENTRY_POINT_GROUP", "Task", "get_task", "registry", "task_names"]

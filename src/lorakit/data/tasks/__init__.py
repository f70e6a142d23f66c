"""Task registry: ``get_task(name)`` returns a :class:`Task` plug-in."""

from __future__ import annotations

from lorakit.data.tasks.base import Task
from lorakit.errors import ConfigError

_REGISTRY = {
    "support_ticket": "lorakit.data.tasks.support_ticket:TASK",
    "invoice": "lorakit.data.tasks.invoice:TASK",
    "finance": "lorakit.data.tasks.finance:TASK",
    "policy_qa": "lorakit.data.tasks.policy_qa:TASK",
    "text": "lorakit.data.tasks.text:TASK",
}


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def get_task(name: str) -> Task:
    import importlib

    from lorakit.data.tasks.custom import custom_task, looks_custom

    if name not in _REGISTRY and looks_custom(name):
        return custom_task(name)  # a JSON Schema file or a pydantic model path
    if name not in _REGISTRY:
        raise ConfigError(f"unknown task {name!r}; available tasks: {', '.join(task_names())}, "
                          "or a JSON Schema file (path/to/schema.json) or a pydantic model (package.module:Model)")
    module, attr = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["Task", "get_task", "task_names"]

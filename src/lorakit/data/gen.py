"""``lorakit gen``: write a task's synthetic train and eval splits as chat JSONL."""

from __future__ import annotations

from pathlib import Path

from lorakit.data.chat import to_row
from lorakit.data.tasks import get_task
from lorakit.io import fingerprint_files, sha256_file, write_json, write_jsonl


def generator_fingerprint(task_name: str) -> str:
    """A hash of the source folder of the task's generator: generated data goes stale when its code changes."""
    import inspect

    task = get_task(task_name)
    module = inspect.getmodule(task.generate) or inspect.getmodule(type(task.generate))
    if module is None or not getattr(module, "__file__", None) or module.__name__ == "lorakit.data.tasks.custom":
        return ""  # a task made from a schema: nothing to generate
    folder = Path(module.__file__).parent
    files = [f for f in sorted(folder.rglob("*")) if f.suffix in (".py", ".json")]
    shared = Path(__file__).parent / "tasks"
    if folder != shared and shared in folder.parents:  # a built-in task: its generator also draws on the shared
        files += sorted(shared.glob("*.py"))  # phrase pools and attacks of lorakit/data/tasks/
    return fingerprint_files(files)


def gen(task_name: str, out_dir: str | Path, n_train: int, n_eval: int, seed: int = 0) -> dict:
    """Generate ``train.jsonl`` and ``eval.jsonl`` under ``out_dir``; returns the data record."""
    task = get_task(task_name)
    out_dir = Path(out_dir)
    record = {"task": task_name, "seed": seed, "generator": generator_fingerprint(task_name), "files": {}}
    for split, n in (("train", n_train), ("eval", n_eval)):
        rows = [to_row(task.train_prompt, msg, task.render_output(label), cat)
                for msg, label, cat in task.generate(n, split, seed)]
        path = out_dir / f"{split}.jsonl"
        write_jsonl(path, rows)
        record["files"][split] = {"path": str(path), "rows": len(rows), "sha256": sha256_file(path)}
    write_json(out_dir / "data_record.json", record)
    return record

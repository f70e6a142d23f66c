"""``lorakit ask RUN_DIR "question"``: a question answered from the run's own documents, with its sources.

A grounded model answers from an excerpt; the user has only a question. The task finds the excerpts
(for documents parsed from PDFs: BM25 over the run's chunks, see :mod:`lorakit.data.pdf.retrieve`), puts
the top ``k`` in the prompt exactly as in training, and the tuned model answers. Every answer comes
with the heading paths of the excerpts it was given, so a reader can check it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lorakit.errors import ConfigError
from lorakit.rundir import RunDir


def ask(run_dir: str | Path, questions: Iterable[str], *, k: int | None = None, device: str = "auto",
        max_new_tokens: int | None = None, batch_size: int = 8) -> Iterator[dict]:
    """``{"question", "answer", "sources"}`` for every question, in order (answered ``batch_size`` at a time)."""
    from lorakit.data.tasks import get_task
    from lorakit.eval.runner import load_trained
    from lorakit.generation.generate import generate

    cfg, model, tok, system = load_trained(run_dir, device)
    task = get_task(cfg.data.task)
    if task.ground is None:
        raise ConfigError(f"task {task.name} does not answer from documents (no Task.ground); use `lorakit predict`")
    system = system if system is not None else (task.train_prompt or None)
    k = k or cfg.eval.retrieve_k
    pending: list[tuple[str, str, list[str]]] = []

    def flush():
        convs = [([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": m}]
                 for _, m, _ in pending]
        answers = generate(model, tok, convs, batch_size=batch_size,
                           max_new_tokens=max_new_tokens or cfg.eval.max_new_tokens)
        out = [{"question": q, "answer": a.strip(), "sources": s} for (q, _, s), a in zip(pending, answers)]
        pending.clear()
        return out

    data = RunDir(run_dir).data
    for q in questions:
        if not q.strip():
            continue
        message, sources = task.ground(cfg, data, q.strip(), k)
        pending.append((q.strip(), message, sources))
        if len(pending) >= batch_size:
            yield from flush()
    if pending:
        yield from flush()

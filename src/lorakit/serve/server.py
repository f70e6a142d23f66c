"""``lorakit serve``: build the engine from run folders / an adapter folder and run uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

from lorakit.errors import ServeError
from lorakit.rundir import RunDir


def adapters_from_runs(runs: list[str]) -> tuple[str | None, dict[str, Path]]:
    """``NAME=RUN_DIR`` (or just RUN_DIR, named after its folder) -> (their base model, {name: adapter dir})."""
    out, bases = {}, set()
    for spec in runs:
        name, _, path = spec.rpartition("=")
        path = Path(path)
        name = name or path.name
        run = RunDir(path)
        if not run.is_trained:
            raise ServeError(f"{path} is not a trained run folder (no {run.run_record_path}); train it or pass "
                             "--adapters DIR")
        bases.add(run.run_record().base_model)
        out[name] = run.adapter
    if len(bases) > 1:
        raise ServeError(f"the runs were trained on different base models ({sorted(bases)}); serve one base per server")
    return (bases.pop() if bases else None), out


def build_app(runs: list[str], *, base_model: str | None = None, adapter_dir: Path | None = None,
              max_batch: int = 16, batch_wait_ms: float = 10.0, precision: str = "auto", limits=None,
              api_key_env: str = "LORAKIT_API_KEY", device: str = "auto", prefix_cache: str = "auto"):
    from lorakit.serve.app import create_app
    from lorakit.serve.engine import Engine

    run_base, adapters = adapters_from_runs(runs)
    base = base_model or run_base or "smollm2-135m"
    if adapter_dir is not None and not Path(adapter_dir).is_dir():
        raise ServeError(f"--adapters {adapter_dir} is not a folder")
    engine = Engine(base, adapters, adapter_dir, max_batch=max_batch, batch_wait_ms=batch_wait_ms, precision=precision,
                    device=device, prefix_cache=prefix_cache)
    return create_app(engine, limits, api_key=os.environ.get(api_key_env) or None), engine


def serve(runs: list[str], *, host: str = "127.0.0.1", port: int = 8000, **kw) -> None:
    """Serve until interrupted."""
    import uvicorn

    app, _ = build_app(runs, **kw)
    uvicorn.run(app, host=host, port=port, log_level="info")

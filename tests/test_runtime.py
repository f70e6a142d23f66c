"""One device per verb: auto picks cuda when present, a forced device is checked, and the weights go there."""

import json

import pytest

from lorakit.errors import ConfigError
from lorakit.runtime import pick_device


def test_a_forced_device_is_checked_with_a_clear_error():
    import torch

    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="sees no CUDA GPU"):
            pick_device("cuda:0")


def _devices(model) -> set[str]:
    return {p.device.type for p in model.parameters()} | {b.device.type for b in model.buffers()}


def test_eval_predict_and_serve_put_the_weights_on_the_forced_device(trained_run):
    from lorakit.eval.runner import load_for_eval
    from lorakit.predict import predict
    from lorakit.serve.engine import Engine

    run_dir, cfg = trained_run
    model, _, _ = load_for_eval(cfg, "tuned", pick_device("cpu"), "fp32")
    assert _devices(model) == {"cpu"}
    engine = Engine(cfg.model.name, {"t": run_dir}, device="cpu", precision="fp32")
    assert engine.device == "cpu" and _devices(engine.model) == {"cpu"}
    assert len(engine.run_batch([_job()])) == 1
    assert len(list(predict(run_dir, ["hello"], device="cpu", max_new_tokens=4))) == 1
    with pytest.raises(ConfigError):
        Engine(cfg.model.name, device="tpu")


def _job():
    from lorakit.serve.engine import Job

    return Job(messages=[{"role": "user", "content": "hi"}], adapter="t", max_tokens=4)


def test_train_puts_the_weights_on_the_forced_device(tiny_config):
    from lorakit.train.trainer import train

    cfg = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(update={"device": "cpu",
                                                                                         "max_steps": 1})})
    result = train(cfg)
    assert _devices(result.model) == {"cpu"}
    assert json.loads(result.adapter_dir.joinpath("run_record.json").read_text())["device"] == "cpu"


def test_the_cli_restarts_with_tcmalloc_only_when_it_is_there_and_not_declined():
    from lorakit.runtime import allocator_env

    lib = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
    env = allocator_env({"PATH": "/bin", "LD_PRELOAD": "/opt/other.so"}, lib)
    assert env["LD_PRELOAD"] == f"{lib}:/opt/other.so" and env["LORAKIT_ALLOCATOR"] == "tcmalloc"
    assert env["PATH"] == "/bin"
    assert allocator_env(env, lib) is None  # the restarted process does not restart again
    assert allocator_env({"LD_PRELOAD": lib}, lib) is None  # preloaded by the user already
    assert allocator_env({"LORAKIT_ALLOCATOR": "system"}, lib) is None  # declined
    assert allocator_env({}, None) is None  # not installed: glibc's malloc, as before


def test_a_run_records_its_allocator(monkeypatch):
    from lorakit.runtime import allocator

    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libtcmalloc_minimal.so.4")
    assert allocator() == "tcmalloc"
    monkeypatch.delenv("LD_PRELOAD")
    assert allocator() == "system"


def test_the_restart_runs_the_same_command_under_tcmalloc():
    import os
    import subprocess
    import sys

    from lorakit.runtime import find_tcmalloc

    if find_tcmalloc() is None:
        pytest.skip("tcmalloc is not installed here (apt install libtcmalloc-minimal4)")
    # the script only restarts; the help text can come from nothing but the restarted `python -m lorakit --help`
    code = "import sys; sys.argv = ['lorakit', '--help']; from lorakit.cli import _restart_with_tcmalloc; " \
           "_restart_with_tcmalloc()"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LORAKIT_ALLOCATOR")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert "Usage" in out

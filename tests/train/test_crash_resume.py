"""A training process killed with SIGKILL mid-run resumes from its last checkpoint and ends where
an uninterrupted run ends: same adapter (within float tolerance), same eval metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from lorakit.config import dump_config
from lorakit.train.checkpoint import list_checkpoints

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-c", "from lorakit.cli import main; main()"]


def _cli(*args: str) -> list[str]:
    return CLI + list(args)


def _method(tiny_config, tmp_path, method: str):
    """The tiny config for ``method``: DPO from a short SFT run (pairs mined in the killed process), GRPO with a
    reward every sampled answer differs on (the random tiny model writes no JSON: the scorer's reward would be 0)."""
    from lorakit.train.trainer import train

    if method == "sft":
        return tiny_config
    cfg = tiny_config.model_copy(deep=True)
    cfg.train.method = method
    cfg.train.lora.dropout = 0.0
    if method == "dpo":
        start = tiny_config.model_copy(update={"output_dir": tmp_path / "sft"})
        train(start)
        cfg.train.init_from = start.output_dir
        cfg.train.max_examples = 16
    else:
        cfg.train.grpo.reward = "tests.train.rewards:answer_length"
        cfg.train.grpo.samples = 2
        cfg.train.grpo.max_new_tokens = 6
        cfg.train.batch_size = 2
    return cfg


@pytest.mark.parametrize("method", ["sft", "dpo"])  # GRPO's resume (its sampling RNG) is tested in-process
def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_config, tmp_path, method, monkeypatch):
    from lorakit.eval.runner import evaluate
    from lorakit.pipeline import train_stage

    tiny_config = _method(tiny_config, tmp_path, method)
    base = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(
        update={"max_steps": 12, "checkpoint_every": 4, "log_every": 4})})
    killed_cfg = base.model_copy(update={"output_dir": tmp_path / "killed"})
    straight_cfg = base.model_copy(update={"output_dir": tmp_path / "straight"})
    for cfg in (killed_cfg, straight_cfg):
        (tmp_path / f"{cfg.output_dir.name}.yaml").write_text(dump_config(cfg))
    env = {**os.environ, "LORAKIT_THREADS": "1"}  # one thread each: the two runs below share the machine's cores

    # the uninterrupted run: same command, same thread count (bf16 sums depend on it), beside the killed one
    # (its log goes to a file: a full pipe nobody reads until the end would stall it)
    straight_log = (tmp_path / "straight.log").open("wb")
    straight = subprocess.Popen(_cli("train", str(tmp_path / "straight.yaml")), env=env, stdout=subprocess.DEVNULL,
                                stderr=straight_log)
    proc = subprocess.Popen(_cli("train", str(tmp_path / "killed.yaml")), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    ckpts = killed_cfg.output_dir / "checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        done = list_checkpoints(ckpts)
        if done and int(done[-1].name.split("-")[1]) >= 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed: " + proc.stderr.read().decode()
    assert not (killed_cfg.output_dir / "adapter").exists()
    last = int(list_checkpoints(ckpts)[-1].name.split("-")[1])
    assert 4 <= last < 12

    # the resume runs in this process: it starts from nothing but the killed run's folder, as a new command
    # would (a third process would only add ~10 s of imports); with the same one thread as the other two
    monkeypatch.setenv("LORAKIT_THREADS", "1")
    threads = torch.get_num_threads()
    try:
        train_stage(killed_cfg, resume=True)
    finally:
        torch.set_num_threads(threads)
    if method == "dpo":  # the resumed run reused the pairs mined before the kill and the reference log-probabilities
        assert (killed_cfg.output_dir / "data" / "pairs.jsonl").is_file()
        assert (killed_cfg.output_dir / "reference_logps.json").is_file()
    assert straight.wait(timeout=240) == 0, (tmp_path / "straight.log").read_text()
    straight_log.close()

    a = load_file(str(straight_cfg.output_dir / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(killed_cfg.output_dir / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)

    only_tuned = base.eval.model_copy(update={"models": ["tuned"]})
    r_straight = evaluate(straight_cfg.model_copy(update={"eval": only_tuned}))
    r_killed = evaluate(killed_cfg.model_copy(update={"eval": only_tuned}))
    assert r_straight["models"]["tuned"]["overall"] == r_killed["models"]["tuned"]["overall"]

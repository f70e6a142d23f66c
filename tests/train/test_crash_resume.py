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


def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_config, tmp_path):
    from lorakit.eval.runner import evaluate

    base = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(
        update={"max_steps": 30, "checkpoint_every": 5, "log_every": 5})})
    killed_cfg = base.model_copy(update={"output_dir": tmp_path / "killed"})
    cfg_file = tmp_path / "killed.yaml"
    cfg_file.write_text(dump_config(killed_cfg))
    env = {**os.environ, "LORAKIT_THREADS": "1"}

    proc = subprocess.Popen(_cli("train", str(cfg_file)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = killed_cfg.output_dir / "checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        done = list_checkpoints(ckpts)
        if done and int(done[-1].name.split("-")[1]) >= 10:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed: " + proc.stderr.read().decode()
    assert not (killed_cfg.output_dir / "adapter").exists()
    last = int(list_checkpoints(ckpts)[-1].name.split("-")[1])
    assert 10 <= last < 30

    subprocess.run(_cli("train", str(cfg_file), "--resume"), env=env, check=True, capture_output=True)
    # the uninterrupted run: same command, same thread count (bf16 sums depend on it)
    straight_cfg = base.model_copy(update={"output_dir": tmp_path / "straight"})
    (tmp_path / "straight.yaml").write_text(dump_config(straight_cfg))
    subprocess.run(_cli("train", str(tmp_path / "straight.yaml")), env=env, check=True, capture_output=True)

    a = load_file(str(straight_cfg.output_dir / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(killed_cfg.output_dir / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)

    only_tuned = base.eval.model_copy(update={"models": ["tuned"]})
    r_straight = evaluate(straight_cfg.model_copy(update={"eval": only_tuned}))
    r_killed = evaluate(killed_cfg.model_copy(update={"eval": only_tuned}))
    assert r_straight["models"]["tuned"]["overall"] == r_killed["models"]["tuned"]["overall"]

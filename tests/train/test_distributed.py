"""Data parallel: two CPU processes (gloo, started by torchrun, set up by Accelerate) train to the same
adapter as one process with the same global batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from lorakit.config import dump_config
from lorakit.train.trainer import train

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_process_with_the_same_global_batch(tiny_config, tmp_path):
    cfg = tiny_config.model_copy(update={"train": tiny_config.train.model_copy(update={
        "precision": "fp32",  # bf16 rounding differs with the per-process batch shapes; fp32 isolates the logic
        "lora": tiny_config.train.lora.model_copy(update={"dropout": 0.0}),  # dropout masks depend on the rows
        "max_steps": 6, "batch_size": 8})})
    two = cfg.model_copy(update={"output_dir": tmp_path / "two"})
    cfg_file = tmp_path / "two.yaml"
    cfg_file.write_text(dump_config(two))
    env = {**os.environ, "LORAKIT_THREADS": "1", "OMP_NUM_THREADS": "1"}
    # torchrun (torch.distributed.run): what `accelerate launch --multi_gpu` runs underneath; for several
    # CPU processes accelerate itself would need MPI. Accelerate's PartialState reads its environment.
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         "-m", "lorakit.cli", "train", str(cfg_file)],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = (two.output_dir / "adapter" / "run_record.json").read_text()
    assert '"processes": 2' in record

    one = train(cfg.model_copy(update={"output_dir": tmp_path / "one"}))
    a = load_file(str(one.adapter_dir / "adapter_model.safetensors"))
    b = load_file(str(two.output_dir / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    moved = [k for k in a if "lora_B" in k]
    assert moved and all(a[k].abs().sum() > 0 for k in moved)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-5)  # float summation order differs

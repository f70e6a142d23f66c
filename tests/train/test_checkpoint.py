"""Checkpoints that can be trusted: a manifest per checkpoint, no pickle, clear errors for damage and full disks."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lorakit.errors import ModelLoadError, TrainError
from lorakit.train.checkpoint import checkpoint_problem, list_checkpoints
from lorakit.train.trainer import train
from tests.train.interrupt import train_until


def _cfg(tiny_config, out: Path):
    return tiny_config.model_copy(update={"output_dir": out, "train": tiny_config.train.model_copy(
        update={"max_steps": 8, "checkpoint_every": 2, "keep_checkpoints": 3})})


def _cut(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])  # what a full disk or an interrupted copy leaves


def _adapter(run: Path) -> dict:
    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


def test_a_checkpoint_is_safetensors_and_json_with_a_manifest(tiny_config, tmp_path):
    cfg = _cfg(tiny_config, tmp_path / "run")
    train_until(cfg, 2)
    (ckpt,) = list_checkpoints(cfg.output_dir / "checkpoints")
    assert sorted(p.name for p in ckpt.iterdir()) == ["manifest.json", "state.json", "tensors.safetensors"]
    assert checkpoint_problem(ckpt) is None
    (ckpt / "state.json").write_text((ckpt / "state.json").read_text().replace('"step": 2', '"step": 3'))
    assert "sha256" in checkpoint_problem(ckpt) and list_checkpoints(ckpt.parent) == []


def test_resume_skips_a_cut_checkpoint_and_ends_like_an_uninterrupted_run(tiny_config, tmp_path, caplog):
    straight = _cfg(tiny_config, tmp_path / "straight")
    train(straight)
    cfg = _cfg(tiny_config, tmp_path / "killed")
    train_until(cfg, 6)
    ckpts = cfg.output_dir / "checkpoints"
    _cut(ckpts / "step-0000006" / "tensors.safetensors")
    with caplog.at_level(logging.INFO, logger="lorakit"):
        result = train(cfg, resume=True)
    assert "skipping checkpoint" in caplog.text and "step-0000006" in caplog.text and "cut short" in caplog.text
    assert "continuing from" in caplog.text and "step-0000004" in caplog.text
    record = (result.adapter_dir / "run_record.json").read_text()
    assert "step-0000004" in record and "skipped_checkpoints" in record
    a, b = _adapter(straight.output_dir), _adapter(cfg.output_dir)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_every_checkpoint_damaged_is_a_clear_train_error(tiny_config, tmp_path):
    cfg = _cfg(tiny_config, tmp_path / "run")
    train_until(cfg, 4)
    ckpts = cfg.output_dir / "checkpoints"
    _cut(ckpts / "step-0000004" / "tensors.safetensors")
    (ckpts / "step-0000002" / "manifest.json").unlink()
    old = ckpts / "step-0000001"  # a checkpoint from an older lorakit: a pickle, never loaded
    old.mkdir()
    torch.save({"step": 1}, old / "state.pt")
    with pytest.raises(TrainError) as e:
        train(cfg, resume=True)
    msg = str(e.value)
    assert str(ckpts) in msg and "without --resume" in msg
    assert "step-0000004" in msg and "step-0000002" in msg and "pickled state.pt" in msg


def test_a_full_disk_while_saving_keeps_the_earlier_checkpoints(tiny_config, tmp_path, monkeypatch):
    import safetensors.torch

    real, calls = safetensors.torch.save_file, []

    def fill_up(tensors, path, *a, **kw):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint: the disk is full half way through the file
            Path(path).write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(tensors, path, *a, **kw)

    monkeypatch.setattr(safetensors.torch, "save_file", fill_up)
    cfg = _cfg(tiny_config, tmp_path / "run")
    with pytest.raises(TrainError, match=r"disk full while saving checkpoint .*step-0000004.* MB are free"):
        train(cfg)
    ckpts = cfg.output_dir / "checkpoints"
    assert [p.name for p in ckpts.iterdir()] == ["step-0000002"]  # no half-written folder left behind
    assert checkpoint_problem(ckpts / "step-0000002") is None
    monkeypatch.setattr(safetensors.torch, "save_file", real)
    assert train(cfg, resume=True).steps_done == 8


def test_no_pickle_loading_left_in_the_package():
    src = Path(__file__).resolve().parents[2] / "src" / "lorakit"
    offenders = [str(p) for p in src.rglob("*.py") if "weights_only=False" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_damaged_adapter_is_a_clear_error_in_eval_and_export(trained_run, tmp_path):
    import shutil

    from lorakit.eval.runner import load_for_eval
    from lorakit.export import export

    run_dir, cfg = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    _cut(copy / "adapter" / "adapter_model.safetensors", 0.9)
    moved = cfg.model_copy(update={"output_dir": copy})
    with pytest.raises(ModelLoadError, match=r"adapter_model.safetensors is damaged: .*cut short"):
        load_for_eval(moved, "tuned", "cpu", "fp32")
    with pytest.raises(ModelLoadError, match="adapter_model.safetensors is damaged"):
        export(copy, "peft", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_replaced_adapter_is_caught_by_its_recorded_hash(trained_run, tmp_path):
    import shutil

    from safetensors.torch import save_file

    from lorakit.models.adapter import check_adapter

    run_dir, _ = trained_run
    copy = tmp_path / "adapter"
    shutil.copytree(run_dir / "adapter", copy)
    check_adapter(copy)
    weights = load_file(str(copy / "adapter_model.safetensors"))
    save_file({k: v + 1 for k, v in weights.items()}, str(copy / "adapter_model.safetensors"))  # whole, but not it
    with pytest.raises(ModelLoadError, match="sha256 differs"):
        check_adapter(copy)

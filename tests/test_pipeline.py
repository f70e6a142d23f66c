"""``lorakit run``: what it checks before any work, and what it says when it reuses work."""

from __future__ import annotations

import logging

import pytest

from lorakit.errors import ConfigError


def test_a_decoding_the_task_does_not_offer_fails_before_any_data_or_training(tiny_config):
    from lorakit.pipeline import run

    cfg = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(update={"decoding": ["free", "calculator"]})})
    with pytest.raises(ConfigError, match=r"'calculator' not offered by task support_ticket; choose from free, constrained$"):
        run(cfg)
    assert not cfg.output_dir.exists()  # nothing generated, nothing trained


def test_task_decoders_need_local_weights():
    from lorakit.data.tasks import get_task

    finance = get_task("finance")
    finance.check_decodings(["free", "calculator"])
    with pytest.raises(ConfigError, match="with eval.backend=openai"):
        finance.check_decodings(["calculator"], local=False)


def test_reused_data_is_said_in_the_log(tiny_config, caplog):
    from lorakit.data.ensure import ensure_data

    first = ensure_data(tiny_config)
    with caplog.at_level(logging.INFO, logger="lorakit"):
        assert ensure_data(tiny_config) == first
    assert any("reusing the generated data" in r.getMessage() for r in caplog.records)


@pytest.mark.slow  # three trainings
def test_a_continuation_is_stale_once_its_starting_adapter_was_trained_again(tiny_config, tmp_path, caplog):
    from lorakit.data.ensure import ensure_data
    from lorakit.pipeline import adapter_is_current
    from lorakit.train.trainer import train

    first = tiny_config.model_copy(update={"output_dir": tmp_path / "first"})
    train(first)
    cont = tiny_config.model_copy(update={"output_dir": tmp_path / "cont",
                                          "train": tiny_config.train.model_copy(update={"init_from": first.output_dir,
                                                                                        "max_steps": 2})})
    train(cont)
    train_file, _ = ensure_data(cont)
    assert adapter_is_current(cont, train_file)
    other = cont.model_copy(update={"train": cont.train.model_copy(update={"lr": 1e-3, "max_steps": 3})})
    with caplog.at_level(logging.INFO, logger="lorakit"):
        assert not adapter_is_current(other, train_file)
    assert "trained with other settings (train.lr, train.max_steps)" in caplog.text
    caplog.clear()
    train(first.model_copy(update={"train": first.train.model_copy(update={"lr": 1e-3})}))  # same folder, new weights
    with caplog.at_level(logging.INFO, logger="lorakit"):
        assert not adapter_is_current(cont, train_file)
    assert "the starting adapter" in caplog.text and "changed since" in caplog.text


def test_changed_keys_names_every_differing_leaf_by_its_dotted_path():
    from lorakit.pipeline import changed_keys

    then = {"lr": 1e-4, "lora": {"r": 8, "alpha": 16}, "seed": 0}
    now = {"lr": 1e-4, "lora": {"r": 16, "alpha": 16}, "seed": 1, "new": None}
    assert changed_keys(then, now, "train") == ["train.lora.r", "train.seed"]
    assert changed_keys(then, {**now, "new": 2}, "train") == ["train.lora.r", "train.new", "train.seed"]
    assert changed_keys(then, then, "train") == []

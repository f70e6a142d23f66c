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

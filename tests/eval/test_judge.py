"""The LLM judge, against lorakit's own server on loopback (its base model as the judge)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_judge_scores_every_answer_and_caches_replies(trained_run, server, api_key, monkeypatch):
    from lorakit.config import JudgeConfig
    from lorakit.eval.runner import evaluate

    run_dir, cfg = trained_run
    cfg = cfg.model_copy(deep=True)
    cfg.eval.limit, cfg.eval.models, cfg.eval.kl_items = 3, ["tuned"], 0
    cfg.eval.judge = JudgeConfig(base_url=f"{server.url}/v1", model="base", api_key_env="LORAKIT_JUDGE_KEY")
    monkeypatch.setenv("LORAKIT_JUDGE_KEY", api_key)
    results = evaluate(cfg)
    rows = [json.loads(x) for x in (run_dir / "eval" / "tuned" / "predictions.jsonl").read_text().splitlines()]
    assert all(0 <= r["judge"]["score"] <= 10 and isinstance(r["judge"]["reason"], str) for r in rows)
    assert results["models"]["tuned"]["overall"]["judge_score"] == sum(r["judge"]["score"] for r in rows) / 30
    cache = (run_dir / "judge_cache.jsonl").read_text().splitlines()
    batches = server.engine.batches
    evaluate(cfg)  # the same answers again: every grade comes from the cache
    assert server.engine.batches == batches and (run_dir / "judge_cache.jsonl").read_text().splitlines() == cache


def test_judge_replies_that_do_not_follow_the_schema_count_as_no_score():
    from lorakit.eval.judge import Judge

    assert Judge.parse('{"score": 7, "reason": "close"}') == {"score": 7, "reason": "close"}
    for bad in ('{"score": 11, "reason": "x"}', '{"score": "7", "reason": "x"}', "7/10", '{"score": 5}'):
        assert Judge.parse(bad) is None

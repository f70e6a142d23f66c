"""The teacher and the gate's LLM judge, against lorakit's own server on loopback (its base model).

The tiny random model's questions are nonsense; what is tested is the path: the prompt goes out
with the schema as response_format, the replies validate, become rows and verdicts, land in the
on-disk cache, and a re-run asks the server nothing.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

CHUNKS = [{"id": "c0", "text": "Full-time employees receive 25 working days of paid annual leave per calendar year.",
           "headings": ["Handbook", "2. Annual leave"], "section": "2"},
          {"id": "c1", "text": "Laptops are replaced every 4 years and returned within 5 working days.",
           "headings": ["Handbook", "7. Equipment"], "section": "7"}]


def _endpoint(kind, server, **extra):
    from lorakit.config import GateJudgeConfig, TeacherConfig

    cls = TeacherConfig if kind == "teacher" else GateJudgeConfig
    return cls(base_url=f"{server.url}/v1", model="base", api_key_env="LORAKIT_TEACHER_KEY", **extra)


def test_teacher_rows_come_from_the_server_validated_and_cached(server, api_key, monkeypatch, tmp_path):
    from lorakit.data.pdf.teacher import SCHEMA, teacher_rows
    from lorakit.clients.openai_compat import parse_json

    monkeypatch.setenv("LORAKIT_TEACHER_KEY", api_key)
    teacher = _endpoint("teacher", server, questions_per_chunk=2, max_tokens=512)
    rows, stats = teacher_rows(CHUNKS, teacher, tmp_path / "cache.jsonl")
    assert stats["asked"] == 2 and stats["chunks"] == 2
    cache = [json.loads(x) for x in (tmp_path / "cache.jsonl").read_text().splitlines()]
    assert len(cache) == 2
    valid = [e["reply"]["ok"] for e in cache if "ok" in e["reply"]]
    assert len(valid) == 2 - stats["invalid"] and all(parse_json(json.dumps(v), SCHEMA) == v for v in valid)
    assert len(rows) == sum(len(v["questions"]) for v in valid)
    assert rows  # the schema asks for at least one question per chunk
    for r in rows:
        assert r["source"] == "teacher" and r["chunk_id"] in {"c0", "c1"} and isinstance(r["answerable"], bool)
    from lorakit.data.pdf.gate import gate

    summary = gate([dict(r) for r in rows], tmp_path / "gated", eval_share=0.5)  # a random model's questions
    dropped = [json.loads(x) for x in (tmp_path / "gated" / "dropped.jsonl").read_text().splitlines()]
    assert summary["kept"] + len(dropped) == len(rows) and all(d["reason"] for d in dropped)
    assert summary["kept"] < len(rows)  # nonsense does not pass the heuristics
    batches = server.engine.batches
    again, stats2 = teacher_rows(CHUNKS, teacher, tmp_path / "cache.jsonl")
    assert again == rows and stats2["asked"] == 0 and server.engine.batches == batches


def test_gate_judge_scores_rows_and_drops_by_threshold(server, api_key, monkeypatch, tmp_path):
    from lorakit.data.pdf.gate import gate
    from lorakit.data.pdf.qa import synthesize

    monkeypatch.setenv("LORAKIT_TEACHER_KEY", api_key)
    rows = synthesize(CHUNKS)
    keep_all = gate([dict(r) for r in rows], tmp_path / "a", eval_share=0.5, judge=_endpoint("judge", server,
                                                                                         min_accuracy=0, min_style=0))
    kept = [json.loads(x) for x in (tmp_path / "a" / "kept.jsonl").read_text().splitlines()]
    dropped = [json.loads(x) for x in (tmp_path / "a" / "dropped.jsonl").read_text().splitlines()]
    assert all(0 <= r["judge"]["accuracy"] <= 10 and 0 <= r["judge"]["style"] <= 10 for r in kept)
    assert all(d["reason"] == "judge gave no valid verdict" for d in dropped)  # thresholds of 0 drop nothing else
    assert keep_all["kept"] == len(kept) > 0
    judged = {r["question"]: r["judge"] for r in kept + dropped if r.get("judge")}  # every valid verdict
    batches = server.engine.batches
    strict = gate([dict(r) for r in rows], tmp_path / "a", eval_share=0.5,  # same folder: same judge cache
                  judge=_endpoint("judge", server, min_accuracy=10, min_style=0))
    assert server.engine.batches == batches  # the same verdicts, from the cache
    dropped = [json.loads(x) for x in (tmp_path / "a" / "dropped.jsonl").read_text().splitlines()]
    by_accuracy = {d["question"] for d in dropped if d["reason"].startswith("judge: accuracy")}
    assert by_accuracy == {q for q, v in judged.items() if v["accuracy"] < 10}  # exactly the rows under the bar
    kept = [json.loads(x) for x in (tmp_path / "a" / "kept.jsonl").read_text().splitlines()]
    assert all(r["judge"]["accuracy"] == 10 for r in kept)
    assert strict["kept"] + len(dropped) == len(rows)

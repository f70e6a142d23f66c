"""Policy QA: metrics against hand-computed values, and the PDF -> chat rows build."""

from __future__ import annotations

import json
import random

import pytest

from lorakit.data.pdf.qa import REFUSAL
from lorakit.data.tasks.policy_qa import PolicyQAScorer, is_refusal
from lorakit.eval.metrics import aggregate
from tests.sample_pdfs import sample_pdfs


def test_policy_metrics_hand_computed():
    s = PolicyQAScorer()
    items = [  # (model answer, expected)
        ("25 working days", "25 working days"),  # answerable, exact
        ("25 days", "25 working days"),  # answerable, F1 = 2 * (2/2 * 2/3) / (1 + 2/3) = 0.8
        (REFUSAL, "EUR 45"),  # answerable, refused: over-refusal, F1 0
        (REFUSAL, REFUSAL),  # unanswerable, refused
        ("Not specified in the excerpt, sorry.", REFUSAL),  # unanswerable, refused with extra words
        ("line manager", REFUSAL),  # unanswerable, answered: a hallucination
    ]
    verdicts = [s.score(a, e) for a, e in items]
    agg = aggregate(verdicts)
    assert agg["answer_em"] == pytest.approx(1 / 3)
    assert agg["answer_f1"] == pytest.approx((1 + 0.8 + 0) / 3)
    assert agg["refusal_recall"] == pytest.approx(2 / 3) and agg["hallucination"] == pytest.approx(1 / 3)
    assert agg["refusal_precision"] == pytest.approx(2 / 3)  # 3 refusals, 2 of them due
    assert agg["over_refusal"] == pytest.approx(1 / 3)
    assert agg["exact_match"] == pytest.approx(2 / 6)  # items 1 and 4: item 5 refuses, not in the canonical words
    assert s.details(verdicts, [e for _, e in items])["refusals"]["table"] == {
        "answerable": {"answered": 2, "refused": 1}, "unanswerable": {"answered": 1, "refused": 2}}
    # mined preference pairs are counted by what went wrong (items 2, 3, 6)
    assert [s.error_type(verdicts[i]) for i in (1, 2, 5)] == ["wrong answer", "over-refusal", "hallucination"]
    assert is_refusal("not specified.") and not is_refusal("It is specified in section 2.")
    assert is_refusal("The policy does not say who approves it.") and is_refusal("There is no information on that.")
    assert not is_refusal("Not later than 31 March.")


def _chunk(i, section, text):
    return {"id": f"c{i}", "text": text, "headings": ["Handbook", f"{section}. Topic {section}"], "section": section}


def test_grounded_rows_pair_questions_with_excerpts_that_lack_the_answer():
    from lorakit.data.pdf.dataset import split_rows

    chunks = {c["id"]: c for c in [_chunk(0, "1", "Staff receive 25 working days of leave."),
                                   _chunk(1, "1", "Laptops are replaced every 4 years."),
                                   _chunk(2, "1", "Every 4 years, and also 25 working days.")]}
    rows = [{"chunk_id": "c0", "question": "Staff receive how many working days of leave?",
             "answer": "25 working days", "answerable": True},
            {"chunk_id": "c1", "question": "Who approves laptop swaps?", "answer": REFUSAL, "answerable": False}]
    train = split_rows(rows, chunks, mode="grounded", train=True, rng=random.Random(0), wrong_excerpt_share=2,
                       variants=2)
    wrong = [t for t in train if t[2] == "wrong_excerpt"]
    assert len(wrong) == 1 and "Laptops are replaced" in wrong[0][0] and wrong[0][1] == REFUSAL  # c2 has the answer
    answerable = [t for t in train if t[2] == "answerable"]
    assert len(answerable) == 3 and all("25 working days of leave" in u for u, _, _ in answerable)
    assert any(u.endswith("Question: How many working days Staff receive leave?") for u, _, _ in answerable)  # loose
    assert any(u.count("[Handbook") == 2 for u, _, _ in answerable)  # one variant carries a distractor excerpt
    assert sum(u.endswith("Question: " + rows[0]["question"]) for u, _, _ in answerable) == 1  # one re-worded
    evals = split_rows(rows, chunks, mode="grounded", train=False, rng=random.Random(0), wrong_excerpt_share=0,
                       variants=2)
    assert [t[2] for t in evals] == ["answerable", "unanswerable"]
    assert evals[0][0].endswith("Question: " + rows[0]["question"]) and "[Handbook > 1. Topic 1]" in evals[0][0]
    closed = split_rows(rows, chunks, mode="closed_book", train=False, rng=random.Random(0), wrong_excerpt_share=1,
                        variants=1)
    assert [t[0] for t in closed] == [r["question"] for r in rows]  # no excerpt, no wrong-excerpt rows


def _near_miss_example():
    """Two chunks and their questions: one with a condition near misses can turn, one without."""
    chunks = {c["id"]: c for c in [
        _chunk(0, "1", "Staff with more than 5 years of service receive 27 working days of leave."),
        _chunk(1, "2", "Laptops are replaced every 4 years.")]}
    rows = [{"chunk_id": "c0", "question": "How many working days do staff with more than 5 years of service receive?",
             "answer": "27 working days", "answerable": True},
            {"chunk_id": "c1", "question": "How often are laptops replaced?", "answer": "every 4 years",
             "answerable": True}]
    return chunks, rows


def test_near_miss_rows_ask_a_changed_condition_with_the_own_excerpt_and_leave_the_other_rows_as_they_were():
    from lorakit.data.pdf.dataset import split_rows, user_message

    chunks, rows = _near_miss_example()
    kw = {"mode": "grounded", "train": True, "wrong_excerpt_share": 0.5, "variants": 2}
    plain = split_rows(rows, chunks, rng=random.Random(0), **kw)
    near = split_rows(rows, chunks, rng=random.Random(0), near_miss_share=1, **kw)
    assert [t for t in near if t[2] != "near_miss"] == plain  # same rows, same order
    assert [t for t in near if t[2] == "near_miss"] == [(user_message(
        "How many working days do staff with less than 5 years of service receive?", [chunks["c0"]]), REFUSAL,
        "near_miss")]  # the laptop question has no condition to change
    assert split_rows(rows, chunks, rng=random.Random(0), **{**kw, "mode": "closed_book"}, near_miss_share=1) == \
        split_rows(rows, chunks, rng=random.Random(0), **{**kw, "mode": "closed_book"})  # no excerpt: no near miss


def test_near_miss_share_says_how_many_rows_it_made_and_warns_when_the_document_offers_none(caplog):
    """Seen on the FHS: near_miss_share=1 made no rows (its questions have no comparator to turn), silently."""
    import logging

    from lorakit.data.pdf.dataset import split_rows

    chunks, both = _near_miss_example()
    kw = {"mode": "grounded", "train": True, "wrong_excerpt_share": 0, "variants": 1, "near_miss_share": 1}
    with caplog.at_level(logging.INFO, logger="lorakit"):
        split_rows(both, chunks, rng=random.Random(0), **kw)
        split_rows(both[1:], chunks, rng=random.Random(0), **kw)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "near_miss_share" in r.getMessage()]
    assert said[0] == ("INFO", "near_miss_share 1: 1 near-miss refusal rows from 2 answerable questions")
    assert said[1][0] == "WARNING" and "none of the 1 answerable questions" in said[1][1]


def test_retrieval_rows_show_the_question_as_bm25_finds_it_refuse_as_often_as_the_rest_and_leave_them_as_they_were():
    from lorakit.data.pdf.dataset import _retrieval_rows, split_rows
    from lorakit.data.pdf.retrieve import split_message

    chunks = {c["id"]: c for c in [
        _chunk(0, "1", "Staff receive 25 working days of leave each year."),
        _chunk(1, "1", "Leave requests are booked in the HR system before the leave starts."),
        _chunk(2, "1", "Unused leave days carry over until the end of March."),
        _chunk(3, "2", "Laptops are replaced every 4 years."),
        _chunk(4, "3", "Offices open at 8."),
        _chunk(5, "1", "Part-time staff receive 25 working days pro rata.")]}
    rows = [{"chunk_id": "c0", "question": "How many working days of leave do staff receive?",
             "answer": "25 working days", "answerable": True},
            {"chunk_id": "c3", "question": "How often are laptops replaced?", "answer": "every 4 years",
             "answerable": True}] + [
        {"chunk_id": f"c{i}", "question": f"Who signs off item {i}?", "answer": REFUSAL, "answerable": False}
        for i in (1, 2, 4, 5)]
    kw = {"mode": "grounded", "train": True, "wrong_excerpt_share": 0.5, "variants": 2}
    plain = split_rows(rows, chunks, rng=random.Random(0), **kw)
    texts = {c["text"]: i for i, c in chunks.items()}

    def shown(user):  # the chunk ids a row shows, in order
        return [texts[e.split("]\n", 1)[1].strip()] for e in split_message(user)[1]]

    for negatives in ("bm25", "random"):
        got = split_rows(rows, chunks, rng=random.Random(0), retrieval_share=1, retrieval_negatives=negatives, **kw)
        assert [t for t in got if len(split_message(t[0])[1]) < 3] == plain  # the other rows: same, same order
        extra = [t for t in got if len(split_message(t[0])[1]) == 3]
        # one per answerable question, each refused once as well: the other rows refuse once per answer (below)
        assert sorted(t[2] for t in extra) == ["answerable", "answerable", "wrong_excerpt", "wrong_excerpt"]
        for user, answer, cat in _retrieval_rows(rows, chunks, 1, 3, negatives, refusal_rate=1.0):
            ids, leave = shown(user), "leave" in split_message(user)[0]
            assert len(set(ids)) == 3
            if cat == "answerable":  # its own excerpt among the three
                assert ("c0" if leave else "c3") in ids and answer != REFUSAL
            else:  # none of the three holds the answer
                assert answer == REFUSAL and not ({"c0", "c5"} if leave else {"c3"}) & set(ids)
    assert sum(t[1] == REFUSAL for t in plain) == 5 and len(plain) == 10  # 5 refusals beside 5 answers
    assert [t[2] for t in _retrieval_rows(rows, chunks, 1, 3, "bm25", refusal_rate=0.0)] == ["answerable"] * 2
    bm25 = [t for t in _retrieval_rows(rows, chunks, 1, 3, "bm25", refusal_rate=1.0) if "leave do staff" in t[0]]
    answered, refused = sorted(bm25, key=lambda t: t[2])
    assert shown(answered[0])[0] == "c0" and "c5" in shown(answered[0])  # BM25's own ranking: the right topic
    assert {"c1", "c2"} <= set(shown(refused[0]))  # the leave chunks without the fact, as retrieval finds them
    assert split_rows(rows, chunks, rng=random.Random(0), retrieval_share=1, **{**kw, "mode": "closed_book"}) == \
        split_rows(rows, chunks, rng=random.Random(0), **{**kw, "mode": "closed_book"})  # no excerpt: no such rows


@pytest.mark.parametrize("near_share,expected", [(1.0, {"c1"}), (0.0, {"c1", "c3", "c4"})])
def test_wrong_excerpts_come_from_the_own_section_as_often_as_asked(near_share, expected):
    from lorakit.data.pdf.dataset import _wrong_excerpts

    own = _chunk(0, "1", "Staff receive 25 working days of leave.")
    pool = [own, _chunk(1, "1", "Leave is booked in the HR system."), _chunk(2, "1", "Also 25 working days."),
            _chunk(3, "2", "Laptops are replaced every 4 years."), _chunk(4, "3", "Offices open at 8.")]
    picked = set()
    for seed in range(30):
        picked |= {c["id"] for c in _wrong_excerpts(own, "25 working days", pool, 1, random.Random(seed), near_share)}
    assert picked == expected  # c2 holds the answer: never a wrong excerpt


def test_the_handbook_becomes_train_and_eval_files_split_by_policy(tmp_path, smollm2_dir, monkeypatch):
    from lorakit.config import load_config
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.ensure import ensure_data

    pytest.importorskip("pdfplumber")
    pdf = sample_pdfs.build(tmp_path / "handbook.pdf", handbook=True)
    cfg = load_config(None, [f"output_dir={tmp_path / 'run'}", f"model.name={smollm2_dir}", "data.task=policy_qa",
                             f"data.options.pdf=[{pdf}]"])
    train_file, eval_file = ensure_data(cfg)
    train, evals = load_chat_jsonl(train_file), load_chat_jsonl(eval_file)
    rec = json.loads((tmp_path / "run" / "data" / "policy_record.json").read_text())
    assert rec["chunks"] >= 30 and rec["gate"]["kept"] >= 140
    # by default refusals come from other chunks' questions (data.options.unanswerable_share: 0)
    assert {ex.category for ex in evals} == {"answerable", "wrong_excerpt"}
    assert all(ex.answer == REFUSAL for ex in evals if ex.category != "answerable")
    held_out = {f"{s}. " for s in rec["gate"]["eval_sections"]}
    assert held_out and all(any(f"> {h}" in ex.user for h in held_out) for ex in evals)
    assert not any(f"> {h}" in ex.user for ex in train for h in held_out)  # no held-out policy in training
    for ex in evals:
        if ex.category == "answerable" and ex.answer not in ("Yes", "No"):
            assert ex.answer.lower() in ex.user.lower()  # the excerpt holds the answer
    mtime = train_file.stat().st_mtime_ns
    assert ensure_data(cfg) == (train_file, eval_file) and train_file.stat().st_mtime_ns == mtime  # cached
    # the task's training prompt is part of the cache key: a changed prompt rebuilds the rows with it
    monkeypatch.setattr("lorakit.data.tasks.policy_qa.TRAIN_PROMPT", "Answer from the excerpt.")
    ensure_data(cfg)
    assert {ex.system for ex in load_chat_jsonl(train_file)} == {"Answer from the excerpt."}


def test_policy_qa_without_pdfs_is_a_clear_error(tmp_path):
    from lorakit.config import load_config
    from lorakit.errors import ConfigError
    from lorakit.data.ensure import ensure_data

    cfg = load_config(None, [f"output_dir={tmp_path}", "data.task=policy_qa"])
    with pytest.raises(ConfigError, match="data.options.pdf"):
        ensure_data(cfg)
    cfg = load_config(None, [f"output_dir={tmp_path}", "data.task=policy_qa", f"data.options.pdf=[{tmp_path}/no.pdf]"])
    with pytest.raises(ConfigError, match="not found"):
        ensure_data(cfg)

import json

from lorakit.data.dedup import contaminated, dedup, ngrams
from lorakit.data.prepare import prepare
from lorakit.io import iter_jsonl


def test_exact_and_near_duplicates_are_dropped_first_kept():
    base = ("please tell me how long an international wire transfer to my sister in germany usually takes these days, "
            "and whether the bank charges a fee for it when the amount is above one thousand euros in total")
    texts = [base, base.upper() + "!!", base.replace("in total", "overall"), "a completely different question about cards"]
    keep, dropped = dedup(texts)
    assert keep == [0, 3]
    assert {d["index"]: d["reason"].split(" (")[0] for d in dropped} == {1: "exact duplicate", 2: "near duplicate"}
    assert all(d["of"] == 0 for d in dropped)


def test_short_texts_are_one_gram_so_only_identical_ones_collide():
    assert ngrams("top up failed", 5) == {"top up failed"}
    keep, _ = dedup(["top up failed", "top up pending", "card lost"])
    assert keep == [0, 1, 2]


def test_decontamination_by_exact_prompt_and_13_grams():
    eval_prompts = ["What is the notice period for resigning after the probation period has ended in the company policy?"]
    train = ["what is the NOTICE period for resigning after the probation period has ended in the company policy",
             "Tell me: the notice period for resigning after the probation period has ended in the company, please",
             "How many vacation days do I get?"]
    leaks = contaminated(train, eval_prompts)
    assert leaks[0] == "same prompt as an eval row" and "13-gram" in leaks[1] and 2 not in leaks


def test_prepare_splits_with_a_fixed_seed_and_records_every_drop(tmp_path):
    rows = [{"instruction": f"question number {i} about account fees and limits", "response": str(i % 7)}
            for i in range(60)]
    rows += [rows[3], {"instruction": "bad", "response": ""}]
    src = tmp_path / "in.json"
    src.write_text(json.dumps(rows))
    a = prepare(src, tmp_path / "a", eval_fraction=0.2, skip_bad=True, seed=3)
    b = prepare(src, tmp_path / "b", eval_fraction=0.2, skip_bad=True, seed=3)
    assert a["files"]["eval"]["sha256"] == b["files"]["eval"]["sha256"]
    assert a["files"]["train"]["rows"] + a["files"]["eval"]["rows"] == 60 and a["files"]["eval"]["rows"] == 12
    assert a["bad_rows"] == 1 and a["dropped"] == {"bad row": 1, "exact duplicate": 1}
    reasons = [r["reason"] for _, r in iter_jsonl(tmp_path / "a" / "dropped.jsonl")]
    assert reasons == ["bad row", "exact duplicate"]
    train_users = {r["messages"][-2]["content"] for _, r in iter_jsonl(tmp_path / "a" / "train.jsonl")}
    eval_users = {r["messages"][-2]["content"] for _, r in iter_jsonl(tmp_path / "a" / "eval.jsonl")}
    assert not train_users & eval_users
    c = prepare(src, tmp_path / "c", eval_fraction=0.2, skip_bad=True, seed=4)
    assert c["files"]["eval"]["sha256"] != a["files"]["eval"]["sha256"]


def test_prepare_with_a_given_eval_file_drops_leaking_train_rows(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"prompt": p, "completion": "x"}) + "\n"
                             for p in ["alpha beta", "gamma delta", "epsilon"]))
    ev = tmp_path / "eval.jsonl"
    ev.write_text(json.dumps({"prompt": "Gamma, delta!", "completion": "y"}) + "\n")
    rec = prepare(train, tmp_path / "out", eval_file=ev)
    assert rec["files"]["train"]["rows"] == 2 and rec["files"]["eval"]["rows"] == 1
    assert rec["dropped"] == {"eval contamination": 1}


def test_a_given_eval_file_is_kept_as_given_and_its_duplicates_are_reported(tmp_path, caplog):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"question": f"train question {i} about fees", "answer": "x"}) + "\n"
                             for i in range(20)))
    rows = [{"question": f"how do I close account number {i} today", "answer": str(i)} for i in range(8)]
    rows += [rows[2], rows[5], {"question": "How do I close account number 5 today?", "answer": "5"}]
    ev = tmp_path / "eval.json"
    ev.write_text(json.dumps(rows))
    with caplog.at_level("INFO"):
        rec = prepare(train, tmp_path / "out", eval_file=ev)
    assert rec["rows_read"]["eval"] == 11 and rec["files"]["eval"]["rows"] == 11  # every row, nothing dropped
    got = [r for _, r in iter_jsonl(tmp_path / "out" / "eval.jsonl")]
    assert [r["messages"][-1]["content"] for r in got] == [r["answer"] for r in rows]  # in order
    assert [r["source_line"] for r in got] == list(range(1, 12))
    assert [(d["line"], d["duplicate_of_line"]) for d in rec["eval_duplicates"]] == [(9, 3), (10, 6), (11, 6)]
    assert "3 of 11 eval rows duplicate an earlier row (3 exact, 0 near); all are kept" in caplog.text
    assert "eval" not in {d.get("split") for _, d in iter_jsonl(tmp_path / "out" / "dropped.jsonl")}


def test_prepare_says_every_drop_on_the_console(tmp_path, caplog):
    train = tmp_path / "t.jsonl"
    train.write_text("".join(json.dumps({"prompt": p, "completion": "x"}) + "\n"
                             for p in ["alpha beta", "alpha beta", "gamma delta", "epsilon zeta"]))
    ev = tmp_path / "e.jsonl"
    ev.write_text(json.dumps({"prompt": "gamma delta", "completion": "y"}) + "\n")
    with caplog.at_level("INFO"):
        rec = prepare(train, tmp_path / "out", eval_file=ev)
    assert rec["dropped"] == {"exact duplicate": 1, "eval contamination": 1}
    assert "1 row(s) dropped (exact duplicate)" in caplog.text and "1 row(s) dropped (eval contamination)" in caplog.text

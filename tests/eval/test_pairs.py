import json

import pytest


def test_pairs_are_mined_from_wrong_answers_and_read_back_as_preference_data(trained_run, tmp_path):
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.data.preference import load_preferences
    from lorakit.eval.pairs import mine_pairs

    run_dir, _ = trained_run
    rec = mine_pairs(run_dir, tmp_path / "pairs.jsonl", limit=6, max_new_tokens=24, balance=False)
    assert rec["items"] == 6 and rec["answers"] == 6
    assert rec["pairs"] == rec["wrong_answers"] == sum(rec["by_error"].values())  # greedy: no repeats to merge
    assert rec["pairs"] >= 1  # a 3-step tiny model gets tickets wrong
    pairs = load_preferences(tmp_path / "pairs.jsonl")
    labels = {ex.line: ex.answer for ex in load_chat_jsonl(run_dir / "data" / "train.jsonl", limit=6)}
    for p in pairs:
        assert p.chosen == labels[p.extra["source_line"]] and p.rejected != p.chosen
        assert p.prompt[-1]["role"] == "user" and p.extra["error"] in rec["by_error"]
    saved = json.loads((tmp_path / "pairs.jsonl.record.json").read_text())
    assert saved["by_error"] == rec["by_error"]


def test_sampled_answers_give_more_pairs_and_repeats_are_merged(trained_run, tmp_path):
    from lorakit.errors import DataError
    from lorakit.eval.pairs import mine_pairs

    run_dir, _ = trained_run
    with pytest.raises(DataError, match="needs --temperature"):
        mine_pairs(run_dir, tmp_path / "p.jsonl", limit=2, samples=2)
    rec = mine_pairs(run_dir, tmp_path / "p.jsonl", limit=4, samples=3, temperature=1.0, max_new_tokens=16)
    assert rec["answers"] == 12 and rec["pairs"] <= rec["wrong_answers"]
    rows = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    keys = [(r["source_line"], r["rejected"][0]["content"]) for r in rows]
    assert len(keys) == len(set(keys))  # the same wrong answer to the same item is one pair
    again = mine_pairs(run_dir, tmp_path / "q.jsonl", limit=4, samples=3, temperature=1.0, max_new_tokens=16)
    assert (tmp_path / "q.jsonl").read_text() == (tmp_path / "p.jsonl").read_text()  # seeded: repeatable
    assert again["pairs"] == rec["pairs"]


def test_mining_settings_come_from_the_runs_config_unless_given(caplog):
    from lorakit.config import load_config
    from lorakit.errors import ConfigError, DataError
    from lorakit.eval.pairs import mining_settings

    cfg = load_config(None, ["train.dpo.balance=true", "train.dpo.samples=3", "train.dpo.temperature=0.7"])
    with caplog.at_level("INFO", logger="lorakit.eval.pairs"):
        s = mining_settings(cfg, samples=None, temperature=None, balance=None)
    assert (s.samples, s.temperature, s.balance) == (3, 0.7, True)
    assert "samples=3, temperature=0.7, balance=True" in caplog.text  # said: the user did not type them
    s = mining_settings(cfg, samples=2, temperature=None, balance=False)
    assert (s.samples, s.temperature, s.balance) == (2, 0.7, False)
    with pytest.raises(ConfigError) as e:  # every bad value at once, named as the config key
        mining_settings(cfg, samples=0, temperature=-1.0, balance=None)
    assert "train.dpo.samples" in str(e.value) and "train.dpo.temperature" in str(e.value)
    with pytest.raises(DataError, match="needs --temperature"):
        mining_settings(load_config(None), samples=2, temperature=None, balance=None)


def _pair(field, chosen, rejected, **other):
    def answer(value):
        return [{"role": "assistant", "content": json.dumps({field: value, **other})}]
    return {"prompt": [{"role": "user", "content": "t"}], "chosen": answer(chosen), "rejected": answer(rejected),
            "error": field}


def test_balance_keeps_no_value_rejected_more_often_than_chosen():
    from lorakit.eval.pairs import balance_pairs, field_value

    assert field_value('{"a": {"b": "x"}}', "a.b") == '"x"' and field_value("not json", "a") is None
    assert field_value('{"a": 1}', "b") is None
    # "shipping" rejected 4 times, chosen once; "billing" rejected once, chosen 3 times; "refund" chosen once
    pairs = [_pair("intent", "billing", "shipping"), _pair("intent", "billing", "shipping"),
             _pair("intent", "shipping", "billing"), _pair("intent", "refund", "shipping"),
             _pair("intent", "billing", "shipping"), _pair("priority", "high", "low"),
             {"prompt": [], "chosen": [{"role": "assistant", "content": "{}"}],
              "rejected": [{"role": "assistant", "content": "oops"}], "error": "not valid JSON"}]
    kept, dropped = balance_pairs(pairs)
    # shipping: chosen once -> 1 kept (the first), 3 dropped; billing: rejected once <= chosen 3: kept;
    # priority low: never chosen -> at most 1 kept; the not-JSON pair has no value: kept
    assert kept == [pairs[0], pairs[2], pairs[5], pairs[6]]
    assert dropped == {'intent="shipping"': 3}


def test_mining_with_balance_records_what_it_dropped(trained_run, tmp_path, monkeypatch):
    """Mining -> balance -> file and record, with answers that are one-sided as DPO's failure case is: every
    answer is its label with the intent "shipping". (The tiny model's own answers are not JSON, so they have
    no field value to balance; the real model's answers are the first test's.)"""
    import lorakit.generation.generate as generation
    from lorakit.data.chat import load_chat_jsonl
    from lorakit.eval.pairs import balance_pairs, mine_pairs

    run_dir, _ = trained_run
    labels = [ex.answer for ex in load_chat_jsonl(run_dir / "data" / "train.jsonl", limit=8)]

    def one_sided(model, tok, prompts, **kw):
        assert len(prompts) == len(labels)
        return [json.dumps({**json.loads(a), "intent": "shipping"}) for a in labels]

    monkeypatch.setattr(generation, "generate", one_sided)
    wrong = sum(json.loads(a)["intent"] != "shipping" for a in labels)
    assert wrong >= 3  # the draw of 8 train rows holds several other intents
    plain = mine_pairs(run_dir, tmp_path / "p.jsonl", limit=8, balance=False)
    assert plain["pairs"] == wrong and plain["by_error"] == {"intent": wrong}
    rec = mine_pairs(run_dir, tmp_path / "b.jsonl", limit=8)  # balanced by default (train.dpo.balance)
    # "shipping" is rejected in every pair and chosen in none (the right answers make no pair): one pair is kept
    assert rec["balanced"] and rec["dropped_by_balance"] == {'intent="shipping"': wrong - 1}
    assert rec["pairs"] == 1 and rec["by_error"] == {"intent": 1}
    rows = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    kept, dropped = balance_pairs(rows)
    assert [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()] == kept == rows[:1]
    saved = json.loads((tmp_path / "b.jsonl.record.json").read_text())
    assert saved["dropped_by_balance"] == dropped == rec["dropped_by_balance"]

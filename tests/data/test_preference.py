import json

import pytest

from lorakit.data.preference import load_preferences
from lorakit.errors import DataError

CONV = {"prompt": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}],
        "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}


def test_trl_standard_conversational_and_implicit_prompt_rows_load(tmp_path):
    implicit = {"chosen": CONV["prompt"] + CONV["chosen"], "rejected": CONV["prompt"] + CONV["rejected"]}
    rows = [{"prompt": "2+2?", "chosen": "4", "rejected": "5", "error": "math"}, CONV, implicit,
            {"messages": CONV["prompt"], "chosen": "4", "rejected": "22"}]
    path = tmp_path / "prefs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = load_preferences(path)
    assert [(p.chosen, p.rejected) for p in pairs] == [("4", "5"), ("4", "5"), ("4", "5"), ("4", "22")]
    assert pairs[0].prompt == [{"role": "user", "content": "2+2?"}] and pairs[0].extra == {"error": "math"}
    assert pairs[1].prompt == pairs[2].prompt == CONV["prompt"] and [p.line for p in pairs] == [1, 2, 3, 4]
    as_list = tmp_path / "prefs.json"
    as_list.write_text(json.dumps(rows))
    assert len(load_preferences(as_list)) == 4


def test_every_bad_preference_row_is_listed_with_its_line(tmp_path):
    rows = [CONV, {"prompt": "q", "chosen": "a"}, {"prompt": "q", "chosen": "same", "rejected": "same"},
            {"prompt": "q", "chosen": [{"role": "user", "content": "x"}], "rejected": "b"},
            {"chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{oops\n")
    msg = str(pytest.raises(DataError, load_preferences, path).value)
    assert "5 bad preference row(s) of 6" in msg
    assert f'{path}:2: field "rejected": missing' in msg
    assert f"{path}:3: " in msg and "teaches nothing" in msg
    assert f"{path}:4: " in msg and "last message must be the assistant" in msg
    assert f"{path}:5: " in msg and "do not share a conversation" in msg
    assert f"{path}:6: invalid JSON" in msg
    assert len(load_preferences(path, skip_bad=True)) == 1

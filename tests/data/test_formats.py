import json

import pytest

from lorakit.data.formats import detect_format, load_examples
from lorakit.errors import DataError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path, rows):
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


GOOD = {
    "chat": {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    "alpaca": {"instruction": "Translate to French", "input": "cat", "output": "chat"},
    "instruction": {"instruction": "Capital of France?", "response": "Paris"},
    "prompt_completion": {"prompt": "2+2=", "completion": "4"},
}


@pytest.mark.parametrize("fmt", list(GOOD))
def test_each_jsonl_format_is_detected_and_converted(tmp_path, fmt):
    loaded = load_examples(jsonl(tmp_path / "d.jsonl", [GOOD[fmt], {**GOOD[fmt], "category": "x"}]))
    assert loaded.format == fmt and loaded.rows == 2 and loaded.skipped == 0
    ex = loaded.examples[0]
    assert ex.messages[-1]["role"] == "assistant" and ex.user and ex.answer
    assert loaded.examples[1].category == "x"


def test_alpaca_input_is_appended_to_the_instruction_and_system_applies(tmp_path):
    ex = load_examples(jsonl(tmp_path / "a.jsonl", [GOOD["alpaca"]]), system="Be brief.").examples[0]
    assert ex.user == "Translate to French\n\ncat" and ex.answer == "chat" and ex.system == "Be brief."


def test_a_json_list_file_works_and_names_the_bad_row_by_index(tmp_path):
    rows = [GOOD["instruction"], {"instruction": "Q", "response": ""}, GOOD["instruction"]]
    path = write(tmp_path / "list.json", json.dumps(rows))
    with pytest.raises(DataError) as e:
        load_examples(path)
    assert f"{path}:2: field \"response\": empty" in str(e.value)
    assert load_examples(path, skip_bad=True).skipped == 1


@pytest.mark.parametrize("fmt,bad,field", [
    ("alpaca", {"instruction": "x", "output": 3}, '"output": must be a string'),
    ("alpaca", {"instruction": "x", "input": "y"}, None),  # no output: not an alpaca row at all
    ("instruction", {"instruction": "", "response": "r"}, '"instruction": empty'),
    ("prompt_completion", {"prompt": "p", "completion": None}, '"completion": missing'),
    ("chat", {"messages": [{"role": "user", "content": "hi"}]}, "last message must be the assistant"),
])
def test_malformed_rows_are_reported_with_file_line_and_field(tmp_path, fmt, bad, field):
    path = jsonl(tmp_path / "d.jsonl", [GOOD[fmt], GOOD[fmt], bad, GOOD[fmt]])
    with pytest.raises(DataError) as e:
        load_examples(path)
    msg = str(e.value)
    assert f"{path}:3:" in msg and "1 bad row(s) of 4" in msg and "--skip-bad" in msg
    if field:
        assert field in msg
    loaded = load_examples(path, skip_bad=True)
    assert loaded.skipped == 1 and len(loaded.examples) == 3 and loaded.bad[0].startswith(f"{path}:3:")


def test_every_bad_row_is_listed_not_only_the_first(tmp_path):
    path = write(tmp_path / "d.jsonl", json.dumps(GOOD["instruction"]) + "\n{broken\n[1, 2]\n"
                 + json.dumps({"instruction": 5, "response": "x"}) + "\n")
    msg = str(pytest.raises(DataError, load_examples, path).value)
    assert "3 bad row(s)" in msg
    assert f"{path}:2: invalid JSON" in msg and f"{path}:3: expected a JSON object" in msg
    assert f'{path}:4: field "instruction": must be a string' in msg


def test_ambiguous_rows_and_mixed_files_are_refused_with_a_hint(tmp_path):
    both = {"instruction": "x", "output": "y", "response": "z"}
    msg = str(pytest.raises(DataError, load_examples, jsonl(tmp_path / "a.jsonl", [both])).value)
    assert "ambiguous row" in msg and "alpaca and instruction" in msg and "--format" in msg
    mixed = jsonl(tmp_path / "m.jsonl", [GOOD["alpaca"], GOOD["prompt_completion"]])
    msg = str(pytest.raises(DataError, load_examples, mixed).value)
    assert "several formats" in msg and "alpaca (first at line 1" in msg and "prompt_completion (first at line 2" in msg
    assert load_examples(jsonl(tmp_path / "b.jsonl", [both]), "instruction").examples[0].answer == "z"


def test_unknown_fields_list_the_accepted_formats(tmp_path):
    msg = str(pytest.raises(DataError, load_examples, jsonl(tmp_path / "u.jsonl", [{"q": "a", "a": "b"}])).value)
    assert "no known instruction format" in msg and "prompt + completion" in msg
    assert detect_format({"prompt", "completion", "extra"}) == ["prompt_completion"]


def test_csv_with_named_or_mapped_columns(tmp_path):
    named = write(tmp_path / "n.csv", 'instruction,response,category\n"Hello, you",Hi,greet\nBye,"So long\nfriend",x\n')
    loaded = load_examples(named)
    assert loaded.format == "instruction" and [e.answer for e in loaded.examples] == ["Hi", "So long\nfriend"]
    assert loaded.examples[0].user == "Hello, you" and loaded.examples[0].category == "greet"
    mapped = write(tmp_path / "m.tsv", "question\tanswer\nWhat?\tThat.\n")
    ex = load_examples(mapped, columns={"prompt": "question", "completion": "answer"}).examples[0]
    assert (ex.user, ex.answer) == ("What?", "That.")


def test_csv_errors_name_the_line(tmp_path):
    path = write(tmp_path / "bad.csv", "prompt,completion\na,b\nc,d,e\nf,\n")
    msg = str(pytest.raises(DataError, load_examples, path).value)
    assert f"{path}:3: 3 cells, the header has 2" in msg and f'{path}:4: field "completion": empty' in msg
    with pytest.raises(DataError, match="not in the header"):
        load_examples(path, columns={"prompt": "question", "completion": "completion"})
    assert load_examples(path, skip_bad=True).skipped == 2


def test_missing_file_and_unknown_format_are_clear(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_examples(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="unknown format 'xml'"):
        load_examples(jsonl(tmp_path / "d.jsonl", [GOOD["chat"]]), "xml")


@pytest.mark.parametrize("name", ["chat.jsonl", "alpaca.jsonl", "instruction.json", "prompt_completion.jsonl",
                                  "qa.csv"])
def test_the_shipped_example_files_load(name):
    from pathlib import Path

    loaded = load_examples(Path(__file__).parents[2] / "examples" / "data" / name)
    assert loaded.skipped == 0 and len(loaded.examples) >= 3

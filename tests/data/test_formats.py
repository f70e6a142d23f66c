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
    ("alpaca", {"instruction": "x", "output": "  "}, '"output": empty'),
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
                 + json.dumps({"instruction": "", "response": "x"}) + "\n")
    msg = str(pytest.raises(DataError, load_examples, path).value)
    assert "3 bad row(s)" in msg
    assert f"{path}:2: invalid JSON" in msg and f"{path}:3: expected a JSON object" in msg
    assert f'{path}:4: field "instruction": empty' in msg


def test_ambiguous_rows_and_mixed_files_are_refused_with_a_hint(tmp_path):
    both = {"instruction": "x", "output": "y", "response": "z"}
    msg = str(pytest.raises(DataError, load_examples, jsonl(tmp_path / "a.jsonl", [both])).value)
    assert "ambiguous row" in msg and "alpaca and instruction" in msg and "--format" in msg
    mixed = jsonl(tmp_path / "m.jsonl", [GOOD["alpaca"], GOOD["prompt_completion"]])
    msg = str(pytest.raises(DataError, load_examples, mixed).value)
    assert "several formats" in msg and "alpaca (first at line 1" in msg and "prompt_completion (first at line 2" in msg
    assert load_examples(jsonl(tmp_path / "b.jsonl", [both]), "instruction").examples[0].answer == "z"


def test_unknown_fields_list_the_fields_found_and_the_column_line_that_loads_them(tmp_path):
    path = jsonl(tmp_path / "u.jsonl", [{"q": "a", "a": "b"}])
    msg = str(pytest.raises(DataError, load_examples, path).value)
    assert "no known instruction format" in msg and "prompt + completion" in msg
    assert "['q', 'a']" in msg and "--column prompt=q --column completion=a" in msg
    ex = load_examples(path, columns={"prompt": "q", "completion": "a"}).examples[0]
    assert (ex.user, ex.answer) == ("a", "b")
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


# ---- files as users have them (issue 17): common pairs, field maps for every format, encodings, non-text labels

def test_a_json_list_of_question_answer_rows_loads_without_a_map(tmp_path, caplog):
    rows = [{"id": "q1", "question": "What is the capital of France?", "answer": "Paris"},
            {"id": "q2", "question": "2+2?", "answer": "4", "category": "math"}]
    path = write(tmp_path / "qa.json", json.dumps(rows, indent=2))
    with caplog.at_level("INFO"):
        loaded = load_examples(path)
    assert loaded.format == "prompt_completion" and loaded.columns == {"prompt": "question", "completion": "answer"}
    assert [(e.user, e.answer, e.category) for e in loaded.examples] == [
        ("What is the capital of France?", "Paris", "all"), ("2+2?", "4", "math")]
    assert loaded.examples[0].extra["source_id"] == "q1"
    assert "question and answer load as the prompt and the answer" in caplog.text


@pytest.mark.parametrize("pair", [("input", "output"), ("text", "label"), ("query", "response")])
def test_other_common_pairs_in_jsonl_are_detected(tmp_path, pair):
    loaded = load_examples(jsonl(tmp_path / "p.jsonl", [{pair[0]: "in", pair[1]: "out"}] * 2))
    assert loaded.columns == {"prompt": pair[0], "completion": pair[1]}
    assert (loaded.examples[1].user, loaded.examples[1].answer) == ("in", "out")


def test_a_row_with_two_pairs_is_ambiguous_and_the_error_gives_the_column_lines(tmp_path):
    path = jsonl(tmp_path / "two.jsonl", [{"question": "q", "answer": "a", "input": "i", "output": "o"}])
    msg = str(pytest.raises(DataError, load_examples, path).value)
    assert "ambiguous row" in msg and f"{path}:1" in msg
    assert "--column prompt=question --column completion=answer" in msg
    assert "--column prompt=input --column completion=output" in msg
    ex = load_examples(path, columns={"prompt": "input", "completion": "output"}).examples[0]
    assert (ex.user, ex.answer) == ("i", "o")


def test_field_maps_work_for_jsonl_with_nested_paths_and_keep_meta_fields(tmp_path):
    rows = [{"data": {"q": "Reset my password", "a": ["Sure", "done"]}, "meta": {"intent": "account"},
             "category": "acct"}]
    path = jsonl(tmp_path / "n.jsonl", rows)
    ex = load_examples(path, columns={"prompt": "data.q", "completion": "data.a.0", "system": "meta.intent"}).examples[0]
    assert (ex.user, ex.answer, ex.system, ex.category) == ("Reset my password", "Sure", "account", "acct")
    msg = str(pytest.raises(DataError, load_examples, path, columns={"prompt": "data.x", "completion": "data.q"}).value)
    assert f'{path}:1: field "data.x" (mapped to prompt) not in the row' in msg
    with pytest.raises(DataError, match="maps \\['question'\\], which no format reads"):
        load_examples(path, columns={"question": "data.q"})


def test_sharegpt_conversations_and_a_mapped_chat_field_load_as_chat(tmp_path):
    row = {"id": 7, "conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "hi"},
                                      {"from": "gpt", "value": "hello"}]}
    ex = load_examples(jsonl(tmp_path / "s.jsonl", [row])).examples[0]
    assert ex.messages == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"},
                           {"role": "assistant", "content": "hello"}]
    assert ex.extra["source_id"] == 7
    nested = {"sample": {"turns": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}}
    ex = load_examples(jsonl(tmp_path / "c.jsonl", [nested]), columns={"messages": "sample.turns"}).examples[0]
    assert (ex.user, ex.answer) == ("a", "b")


def test_numbers_lists_and_objects_as_answers_load_as_their_json_text(tmp_path, caplog):
    rows = [{"text": "great product", "label": 3}, {"text": "meh", "label": True},
            {"question": "x", "answer": ["a", "b"]}, {"prompt": "p", "completion": {"intent": "refund"}}]
    with caplog.at_level("INFO"):
        labels = load_examples(jsonl(tmp_path / "l.jsonl", rows[:2]))
    assert [e.answer for e in labels.examples] == ["3", "true"] and labels.converted == 2
    assert "2 row(s) hold a number, list or object where text is expected" in caplog.text
    assert load_examples(jsonl(tmp_path / "q.jsonl", rows[2:3])).examples[0].answer == '["a", "b"]'
    assert load_examples(jsonl(tmp_path / "o.jsonl", rows[3:])).examples[0].answer == '{"intent": "refund"}'


def test_a_latin1_csv_is_a_clear_encoding_error_and_loads_with_its_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("question,answer\nWhat is a café?,A coffee shop\nPrix en €?,Non\n".encode("cp1252"))
    with pytest.raises(DataError) as e:
        load_examples(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:2: not utf-8 text: byte 0xe9") and "--encoding" in msg and "iconv" in msg
    assert "--column" not in msg
    loaded = load_examples(path, encoding="cp1252")
    assert [e.user for e in loaded.examples] == ["What is a café?", "Prix en €?"]
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        load_examples(path, encoding="klingon")


def test_a_utf8_csv_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffprompt,completion\nhi,there\n".encode("utf-8"))
    assert load_examples(path).examples[0].user == "hi"

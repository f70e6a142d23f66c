import json

import pytest

from lorakit.data.chat import load_chat_jsonl
from lorakit.errors import DataError


def _write(tmp_path, rows):
    p = tmp_path / "chat.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


GOOD = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                     {"role": "assistant", "content": "{}"}], "category": "typos"}


def test_good_rows_load_with_category_and_line(tmp_path):
    ex = load_chat_jsonl(_write(tmp_path, [GOOD, GOOD]))
    assert len(ex) == 2 and ex[1].line == 2 and ex[0].category == "typos"
    assert ex[0].system == "s" and ex[0].user == "u" and ex[0].answer == "{}"


def test_prompt_messages_replace_the_system_prompt(tmp_path):
    ex = load_chat_jsonl(_write(tmp_path, [GOOD]))[0]
    assert ex.prompt_messages("NEW") == [{"role": "system", "content": "NEW"}, {"role": "user", "content": "u"}]
    assert ex.prompt_messages(None) == [{"role": "user", "content": "u"}]


@pytest.mark.parametrize("bad,match", [
    ({"text": "hi"}, 'missing "messages"'),
    ({"messages": [{"role": "user", "content": "u"}]}, "last message must be the assistant"),
    ({"messages": [{"role": "bot", "content": "u"}, {"role": "assistant", "content": "a"}]}, r"messages\[0\]"),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}, "no user message"),
    ({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}, r"messages\[0\]"),
])
def test_bad_rows_name_file_and_line(tmp_path, bad, match):
    p = _write(tmp_path, [GOOD, bad])
    with pytest.raises(DataError, match=match) as e:
        load_chat_jsonl(p)
    assert str(e.value).startswith(f"{p}:2:")


def test_limit_and_empty_file(tmp_path):
    assert len(load_chat_jsonl(_write(tmp_path, [GOOD] * 5), limit=3)) == 3
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no examples"):
        load_chat_jsonl(empty)

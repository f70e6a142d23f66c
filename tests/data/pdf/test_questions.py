"""Hand-written questions about a PDF become eval rows with the right excerpt; every problem is listed at once."""

import json

import pytest

from lorakit.data.pdf.dataset import user_message
from lorakit.data.pdf.qa import REFUSAL
from lorakit.data.pdf.questions import question_rows
from lorakit.errors import DataError

pytest.importorskip("bm25s")

CHUNKS = [
    {"id": "c0", "headings": ["FHS", "5.9. /var/lock : Lock files", "5.9.1. Purpose"], "section": "5",
     "text": "Lock files should be stored within the /var/lock directory structure."},
    {"id": "c1", "headings": ["FHS", "5.9. /var/lock : Lock files", "5.9.1. Purpose"], "section": "5",
     "text": "The HDB format is to store the process identifier (PID) as a ten byte ASCII decimal number."},
    {"id": "c2", "headings": ["FHS", "5.10. /var/log : Log files"], "section": "5",
     "text": "This directory contains miscellaneous log files."},
    {"id": "c3", "headings": ["FHS", "5.1. Purpose"], "section": "5", "text": "/var contains variable data files."},
]


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_each_kind_of_question_gets_its_excerpt_and_expected_answer(tmp_path, caplog):
    f = _write(tmp_path / "q.jsonl", [
        {"question": "How is the PID stored?", "answer": "as a ten byte ASCII decimal number", "section": "5.9"},
        {"question": "Where do lock files go?", "answer": "/var/lock", "section": "5.9",
         "evidence": "stored within the /var/lock directory"},
        {"question": "How long are logs kept?", "answer": None, "section": "5.10"},
        {"question": "Where do lock files go?", "answer": "/var/lock", "section": "5.9", "shown_with": "5.10"},
    ])
    rows = question_rows(f, CHUNKS)
    assert rows == [
        (user_message("How is the PID stored?", [CHUNKS[1]]), "as a ten byte ASCII decimal number", "answerable"),
        (user_message("Where do lock files go?", [CHUNKS[0]]), "/var/lock", "answerable"),
        (user_message("How long are logs kept?", [CHUNKS[2]]), REFUSAL, "unanswerable"),
        (user_message("Where do lock files go?", [CHUNKS[2]]), REFUSAL, "wrong_excerpt"),
    ]
    closed = question_rows(f, CHUNKS, grounded=False)  # closed book: no excerpt, so no wrong-excerpt item (said)
    assert [r[0] for r in closed] == ["How is the PID stored?", "Where do lock files go?", "How long are logs kept?"]
    assert "1 wrong-excerpt question(s)" in caplog.text


def test_a_section_number_matches_its_subsections_only():
    from lorakit.data.pdf.questions import _in_section

    assert [c["id"] for c in CHUNKS if _in_section(c, "5.1")] == ["c3"]  # not 5.10
    assert [c["id"] for c in CHUNKS if _in_section(c, "5.9")] == ["c0", "c1"]
    assert [c["id"] for c in CHUNKS if _in_section(c, "5.9.1")] == ["c0", "c1"]


def test_every_problem_of_the_file_is_listed_with_its_line(tmp_path):
    f = _write(tmp_path / "q.jsonl", [
        {"question": "Where do lock files go?", "answer": "/var/lock", "section": "5.9"},
        "not json",
        {"question": "Q?", "answer": "nowhere in the text", "section": "5.9"},
        {"question": "Q?", "answer": None, "section": "9.9"},
        {"question": "Q?", "answer": "x", "section": "5.9", "topic": "?"},
        {"question": "Where do lock files go?", "answer": "/var/lock", "section": "5.10", "shown_with": "5.9"},
    ])
    with pytest.raises(DataError) as e:
        question_rows(f, CHUNKS)
    msg = str(e.value)
    assert "5 problem(s)" in msg and "nothing was dropped" in msg
    for line, what in [(2, "Expecting value"), (3, "holds 'nowhere in the text'"), (4, "no chunk has section '9.9'"),
                       (5, "unknown key(s) topic"), (6, "no chunk of section 5.10 holds '/var/lock'")]:
        assert f"q.jsonl:{line}: " in msg and what in msg

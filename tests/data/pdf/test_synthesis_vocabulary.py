"""Question synthesis knows no domain: a filesystem standard gets questions in its own words and none in the
shipped HR handbook's, and the synthesis code holds no handbook vocabulary (its content lives in examples/).

``fhs_chunks.jsonl``: eleven chunks of the Filesystem Hierarchy Standard 3.0 (``examples/fhs-3.0.pdf``, the
Linux Foundation's text, verbatim as lorakit's parser chunked it: sections 3.15 /run, 3.16 /sbin, 5.9
/var/lock).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from lorakit.data.pdf.qa import REFUSAL, synthesize

HERE = Path(__file__).parent
PDF_PACKAGE = Path(__file__).resolve().parents[3] / "src" / "lorakit" / "data" / "pdf"
# the handbook's roles, systems and HR words; the old synthesis asked every document about them
HR_WORDS = ["employee", "line manager", "HR business partner", "department head", "Compliance Officer",
            "Chief People Officer", "first aider", "failed login", "LeaveTrack", "TravelDesk", "salary", "probation",
            "part-time", "contractor", "accrual", "holiday", "annual leave", "notice period", "working days"]


def _fhs() -> list[dict]:
    return [json.loads(line) for line in (HERE / "fhs_chunks.jsonl").read_text().splitlines()]


def _code_strings(path: Path) -> list[str]:
    """Every string constant of a module except docstrings (which may quote a document as an example)."""
    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs]


def test_a_filesystem_standard_gets_questions_in_its_own_words_only():
    chunks = _fhs()
    rows = synthesize(chunks)
    text = " ".join(c["text"] + " " + " ".join(c["headings"]) for c in chunks).lower()
    questions = [r["question"] for r in rows]
    for word in HR_WORDS:
        assert word.lower() not in text  # the document never says it ...
        assert not any(word.lower() in q.lower() for q in questions), word  # ... so no question does
    qa = {r["question"]: r["answer"] for r in rows if r["answerable"]}
    # hand-checked against the FHS text: where a requirement puts things, what a heading says a directory is for
    assert qa["Where should lock files be stored?"] == "the /var/lock directory structure"
    assert qa["Where should locally-installed system administration programs be placed?"] == "/usr/local/sbin"
    assert qa["What is /var/lock for?"] == "Lock files" and qa["What is /sbin for?"] == "System binaries"
    assert qa["What does /sbin contain?"] == "binaries essential for booting"
    # and the other way round, the way readers ask: the description asks, the path or the table's name answers
    assert qa["Where are lock files kept?"] == "/var/lock" and qa["Where do system binaries go?"] == "/sbin"
    assert qa["Which command is used to bring the system down?"] == "shutdown"
    # "this directory" in a rule names the section's subject
    assert qa["Must files under /run be cleared (removed or truncated as appropriate) at the beginning of the boot "
              "process?"] == "Yes"
    refusals = [r for r in rows if not r["answerable"]]
    assert refusals and all(r["answer"] == REFUSAL for r in refusals)
    # unanswerable questions ask about the chunk's own subject (its "X : description" heading), once each
    assert all(re.search(r"/run|/sbin|/var/lock", r["question"]) for r in refusals)
    assert len(questions) == len(set(questions))
    assert sum(not r["answerable"] for r in rows) <= round(0.3 / 0.7 * sum(r["answerable"] for r in rows)) + 1


def test_the_synthesis_code_holds_no_handbook_vocabulary():
    files = sorted(PDF_PACKAGE.glob("*.py"))
    assert [f.name for f in files if f.name in ("handbook.py", "sample.py")] == []  # moved to examples/sample_pdfs.py
    strings = [(f.name, s) for f in files for s in _code_strings(f)]
    assert len(strings) > 100  # the scan sees the code's strings (prompts, patterns, messages)
    hits = [(name, word) for name, s in strings for word in HR_WORDS if word.lower() in s.lower()]
    assert hits == []


@pytest.mark.slow
def test_the_whole_standard_gets_no_hr_question_and_few_duplicates(tmp_path, smollm2_dir):
    """All 50 pages of the real PDF: chunked by the real tokenizer, synthesized, counted."""
    pytest.importorskip("pdfplumber")
    from lorakit.data.pdf.parse import pdf_to_chunks
    from lorakit.io import iter_jsonl

    pdf = Path(__file__).resolve().parents[3] / "examples" / "fhs-3.0.pdf"
    pdf_to_chunks(pdf, tmp_path, model=smollm2_dir, max_tokens=160)
    chunks = [c for _, c in iter_jsonl(tmp_path / "chunks.jsonl")]
    rows = synthesize(chunks)
    questions = [r["question"].lower() for r in rows]
    text = " ".join(c["text"] for c in chunks).lower()
    assert len(chunks) > 250 and len(rows) > 200
    assert [w for w in HR_WORDS if w.lower() not in text and any(w.lower() in q for q in questions)] == []
    assert len(questions) - len(set(questions)) <= 0.02 * len(questions)  # the old synthesis: 183 of 406
    answerable = sum(r["answerable"] for r in rows) / len(rows)
    assert 0.6 <= answerable <= 0.75  # about unanswerable_share (0.3) refusals, not one per small chunk

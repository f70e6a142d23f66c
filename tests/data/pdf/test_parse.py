"""The shipped sample policy PDF, built by reportlab, parsed back: headings, lists, table, chunks."""

from __future__ import annotations

import pytest
from tests.sample_pdfs import sample_pdfs

pytest.importorskip("pdfplumber")


@pytest.fixture(scope="module")
def policy_pdf(tmp_path_factory):
    return sample_pdfs.build(tmp_path_factory.mktemp("pdf") / "policy.pdf")


def test_headings_lists_and_tables_come_back_and_running_lines_go(policy_pdf):
    from lorakit.data.pdf.parse import parse_pdf

    HEADER, SECTIONS, TABLE = sample_pdfs.HEADER, sample_pdfs.SECTIONS, sample_pdfs.TABLE
    blocks = parse_pdf(policy_pdf)
    headings = [(b.text, b.level) for b in blocks if b.kind == "heading"]
    assert headings == [(h, 2 if "." in h.split(" ")[0].rstrip(".") else 1) for h, _ in SECTIONS]
    assert blocks[0].kind == "title" and blocks[0].text == "Leave Policy"
    text = "\n".join(b.text for b in blocks)
    assert HEADER not in text and "Confidential" not in text and "Page 2" not in text
    assert max(b.page for b in blocks) >= 3
    lists = [b.text for b in blocks if b.kind == "list_item"]
    assert "The line manager must respond to a request within 3 working days." in lists and len(lists) == 5
    tables = [b for b in blocks if b.kind == "table"]
    assert len(tables) == 1 and tables[0].rows == TABLE
    assert "| Annual leave | 25 | up to 5 days | line manager |" in tables[0].text
    assert "Days per year" not in "".join(b.text for b in blocks if b.kind != "table")  # table words not duplicated
    wrapped = next(b.text for b in blocks if b.text.startswith("Annual leave must be requested"))
    assert wrapped.endswith("at least 30 days in advance.")  # wrapped lines joined into one paragraph


def test_pypdfium2_fallback_keeps_numbered_headings(policy_pdf):
    from lorakit.data.pdf.parse import parse_pdf

    blocks = parse_pdf(policy_pdf, backend="pypdfium2")
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert "2.3 Carry-over" in headings and "7. Records and review" in headings
    assert not any("Confidential" in b.text for b in blocks)


def test_chunks_follow_sections_and_carry_heading_paths(policy_pdf, tmp_path, smollm2_dir):
    import json

    from lorakit.data.pdf.parse import pdf_to_chunks

    rec = pdf_to_chunks(policy_pdf, tmp_path, max_tokens=128)
    chunks = [json.loads(x) for x in (tmp_path / "chunks.jsonl").read_text().splitlines()]
    assert rec["chunks"] == len(chunks) and rec["sections"] == [str(i) for i in range(1, 8)]
    carry = next(c for c in chunks if "carried over" in c["text"])
    assert carry["headings"][-2:] == ["2. Annual leave", "2.3 Carry-over"] and carry["section"] == "2"
    for c in chunks:  # no chunk mixes two top-level sections
        numbered = [h for h in c["headings"] if h[0].isdigit()]
        assert len({h.split(".")[0] for h in numbered}) == 1


def test_bad_pdfs_are_clear_errors(tmp_path):
    from lorakit.data.pdf.parse import parse_pdf
    from lorakit.errors import DataError

    with pytest.raises(DataError, match="PDF not found"):
        parse_pdf(tmp_path / "missing.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a pdf")
    with pytest.raises(DataError, match="not a readable PDF"):
        parse_pdf(junk)


def test_the_sample_policy_yields_gated_questions_split_by_section(policy_pdf, tmp_path, smollm2_dir):
    import json

    from lorakit.data.pdf.gate import gate
    from lorakit.data.pdf.parse import pdf_to_chunks
    from lorakit.data.pdf.qa import REFUSAL, synthesize

    pdf_to_chunks(policy_pdf, tmp_path, max_tokens=128)
    chunks = [json.loads(x) for x in (tmp_path / "chunks.jsonl").read_text().splitlines()]
    rows = synthesize(chunks)
    answerable = [r for r in rows if r["answerable"]]
    assert len(answerable) >= 20 and len(rows) - len(answerable) >= 7
    assert any(r["answer"] == "25 working days" for r in answerable)
    assert all(r["answer"].lower() in r["context"].lower() for r in answerable if r["answer"] not in ("Yes", "No"))
    assert any(r["answer"] == "Yes" for r in answerable)  # must/may rules as yes/no questions
    summary = gate(rows, tmp_path / "gated")
    assert summary["kept"] >= 0.8 * len(rows) and summary["eval"] > 0 and summary["train"] > 0
    kept = [json.loads(x) for x in (tmp_path / "gated" / "kept.jsonl").read_text().splitlines()]
    assert {r["answer"] for r in kept if not r["answerable"]} == {REFUSAL}


def test_docling_backend_without_docling_says_what_to_install(policy_pdf, tmp_path, smollm2_dir):
    import importlib.util

    from lorakit.data.pdf.parse import pdf_to_chunks
    from lorakit.errors import DataError

    if importlib.util.find_spec("docling") is not None:
        pytest.skip("docling is installed here; this checks the message where it is not")
    with pytest.raises(DataError, match="pip install docling"):
        pdf_to_chunks(policy_pdf, tmp_path, max_tokens=128, backend="docling")

"""``lorakit data pdf``: a policy PDF -> structured blocks -> heading-aware chunks.

Docling's own PDF pipeline cannot run offline here (its layout model downloads from a hub), so the
parsing is pdfplumber (text with font sizes and names, tables) with pypdfium2 as a fast text-only
fallback, and the chunking is docling-core's HybridChunker over a DoclingDocument built from the
parsed blocks, counting tokens with the model's own tokenizer:

- running headers and footers (lines that repeat, digits ignored, on most pages) are dropped;
- headings come from numbering ("2.1 Carry-over") set in a larger or bold font; the level is the
  depth of the number; the title is the largest non-numbered line;
- tables become Markdown, and their words are removed from the running text;
- bullets ("•", "-", or the glyph reportlab writes) start list items; wrapped lines are joined.

Where full Docling is installed with its layout models, ``backend="docling"`` uses its own PDF
pipeline instead and the same chunker.

Each chunk carries its heading path (``["2. Annual leave", "2.3 Carry-over"]``) and its top-level
section, which the QA split uses so paraphrases of one section cannot leak between train and eval.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorakit.errors import DataError

HEADING_RE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(\S.*)$")
BULLET_RE = re.compile(r"^(?:\(cid:\d+\)|[•\-–*●▪])\s+")
REPEAT_SHARE = 0.6  # a line on at least this share of pages (digits ignored) is a running header/footer


@dataclass
class Block:
    kind: str  # title, heading, paragraph, list_item, table
    text: str
    page: int
    level: int = 0  # headings: 1 for "2.", 2 for "2.1", ...
    rows: list[list[str]] = field(default_factory=list)  # tables


def _markdown(rows: list[list[str]]) -> str:
    cells = [[(c or "").replace("\n", " ").strip() for c in r] for r in rows]
    out = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in cells[1:]])


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def parse_pdf(path: str | Path, backend: str = "auto") -> list[Block]:
    """The PDF's blocks in reading order. ``backend``: auto (pdfplumber, else pypdfium2), pdfplumber, pypdfium2."""
    path = Path(path)
    if not path.is_file():
        raise DataError("PDF not found", path=str(path))
    if backend in ("auto", "pdfplumber"):
        try:
            return _parse_pdfplumber(path)
        except Exception as e:  # noqa: BLE001 (a damaged PDF: fall back, or say why)
            if backend == "pdfplumber":
                raise DataError(f"pdfplumber cannot read this PDF: {e}", path=str(path)) from None
    return _parse_pdfium(path)


def _parse_pdfplumber(path: Path) -> list[Block]:
    import pdfplumber

    pages = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            tables = page.find_tables()
            boxes = [t.bbox for t in tables]
            lines = [ln for ln in page.extract_text_lines() if not any(
                b[0] - 1 <= ln["x0"] and ln["x1"] <= b[2] + 1 and b[1] - 1 <= ln["top"] and ln["bottom"] <= b[3] + 1
                for b in boxes)]
            items = [("line", ln["top"], ln) for ln in lines]
            items += [("table", t.bbox[1], t.extract()) for t in tables]
            pages.append(sorted(items, key=lambda x: x[1]))
    repeated = _running_lines(pages)
    sizes = Counter(round(ln["chars"][0]["size"]) for p in pages for kind, _, ln in p if kind == "line" and ln["chars"])
    body = sizes.most_common(1)[0][0] if sizes else 10
    blocks: list[Block] = []
    for number, items in enumerate(pages, start=1):
        prev_bottom = None
        for kind, _, item in items:
            if kind == "table":
                rows = [r for r in item if any(c for c in r)]
                if rows:
                    blocks.append(Block("table", _markdown(rows), number, rows=rows))
                prev_bottom = None
                continue
            text = item["text"].strip()
            if not text or _key(text) in repeated:
                continue
            char = item["chars"][0]
            size, bold = round(char["size"]), "bold" in char["fontname"].lower()
            gap = None if prev_bottom is None else item["top"] - prev_bottom
            prev_bottom = item["bottom"]
            m = HEADING_RE.match(text)
            if m and (size > body or bold):
                blocks.append(Block("heading", text, number, level=m.group(1).count(".") + 1))
            elif size > body + 2 and not blocks:
                blocks.append(Block("title", text, number))
            elif BULLET_RE.match(text):
                blocks.append(Block("list_item", BULLET_RE.sub("", text), number))
            elif blocks and blocks[-1].kind in ("paragraph", "list_item") and gap is not None and gap < size * 0.8:
                blocks[-1].text += " " + text  # a wrapped line
            else:
                blocks.append(Block("paragraph", text, number))
    return blocks


def _running_lines(pages) -> set[str]:
    if len(pages) < 2:
        return set()
    seen: Counter = Counter()
    for p in pages:
        seen.update({_key(ln["text"]) for kind, _, ln in p if kind == "line"})
    return {k for k, n in seen.items() if n >= max(2, REPEAT_SHARE * len(pages))}


def _parse_pdfium(path: Path) -> list[Block]:
    """Text only (no fonts, no tables): numbered lines become headings, repeated lines are dropped."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        raise DataError(f"not a readable PDF ({e})", path=str(path)) from None
    pages = [doc[i].get_textpage().get_text_range().splitlines() for i in range(len(doc))]
    counts = Counter(k for p in pages for k in {_key(x) for x in p if x.strip()})
    repeated = {k for k, n in counts.items() if len(pages) > 1 and n >= max(2, REPEAT_SHARE * len(pages))}
    blocks: list[Block] = []
    for number, lines in enumerate(pages, start=1):
        for text in (x.strip() for x in lines):
            if not text or _key(text) in repeated:
                continue
            m = HEADING_RE.match(text)
            if m and len(text) < 80 and not text.endswith("."):
                blocks.append(Block("heading", text, number, level=m.group(1).count(".") + 1))
            elif BULLET_RE.match(text):
                blocks.append(Block("list_item", BULLET_RE.sub("", text), number))
            elif blocks and blocks[-1].kind == "paragraph" and not blocks[-1].text.endswith((".", ":")):
                blocks[-1].text += " " + text
            else:
                blocks.append(Block("paragraph", text, number))
    return blocks


def to_docling(blocks: list[Block], name: str):
    """A DoclingDocument with the blocks' structure (headings, paragraphs, lists, tables)."""
    from docling_core.types.doc import DocItemLabel, DoclingDocument, TableCell, TableData

    doc = DoclingDocument(name=name)
    group = None
    for b in blocks:
        if b.kind != "list_item":
            group = None
        if b.kind == "title":
            doc.add_title(b.text)
        elif b.kind == "heading":
            doc.add_heading(b.text, level=b.level)
        elif b.kind == "list_item":
            group = group or doc.add_list_group()
            doc.add_list_item(b.text, parent=group)
        elif b.kind == "table":
            cells = [TableCell(text=(c or "").replace("\n", " ").strip(), start_row_offset_idx=i, end_row_offset_idx=i + 1,
                               start_col_offset_idx=j, end_col_offset_idx=j + 1, column_header=i == 0)
                     for i, row in enumerate(b.rows) for j, c in enumerate(row)]
            doc.add_table(TableData(num_rows=len(b.rows), num_cols=max(len(r) for r in b.rows), table_cells=cells))
        else:
            doc.add_text(DocItemLabel.TEXT, b.text)
    return doc


def docling_document(path: Path):
    """The full Docling pipeline's document (``--backend docling``): needs ``docling`` and its layout models."""
    try:
        from docling.document_converter import DocumentConverter
    except ImportError:
        raise DataError("the docling backend needs `pip install docling` and its models downloaded once "
                        "(`docling-tools models download`); offline, use the default backend", path=str(path)) from None
    try:
        return DocumentConverter().convert(path).document
    except Exception as e:  # noqa: BLE001 (model download / conversion failures: say which backend to use)
        raise DataError(f"docling could not convert this PDF ({e}); offline, use the default backend",
                        path=str(path)) from None


def chunk(blocks, tokenizer, max_tokens: int = 256, name: str = "policy") -> list[dict]:
    """HybridChunker chunks of parsed ``blocks`` (or a ready DoclingDocument):
    ``{"id", "text", "headings", "section"}`` (text without the heading path)."""
    from docling_core.transforms.chunker.hybrid_chunker import HybridChunker
    from docling_core.transforms.chunker.tokenizer.huggingface import HuggingFaceTokenizer

    chunker = HybridChunker(tokenizer=HuggingFaceTokenizer(tokenizer=tokenizer, max_tokens=max_tokens))
    doc = to_docling(blocks, name) if isinstance(blocks, list) else blocks
    out = []
    for i, c in enumerate(chunker.chunk(doc)):
        headings = list(c.meta.headings or [])
        out.append({"id": f"chunk-{i}", "text": c.text, "headings": headings,
                    "section": _top_section(headings)})
    return out


def _top_section(headings: list[str]) -> str:
    for h in headings:
        m = HEADING_RE.match(h)
        if m:
            return m.group(1).split(".")[0]
    return headings[0] if headings else "(none)"


def pdf_to_chunks(pdf: str | Path, out_dir: str | Path, *, model: str = "smollm2-135m", max_tokens: int = 256,
                  backend: str = "auto") -> dict:
    """Parse ``pdf`` and write ``blocks.jsonl`` and ``chunks.jsonl`` under ``out_dir``; returns a summary."""
    from lorakit.io import write_json, write_jsonl
    from lorakit.models.loader import load_tokenizer, local_model_dir, resolve_model

    tok = load_tokenizer(local_model_dir(resolve_model(model)))
    out_dir = Path(out_dir)
    if backend == "docling":
        if not Path(pdf).is_file():
            raise DataError("PDF not found", path=str(pdf))
        chunks = chunk(docling_document(Path(pdf)), tok, max_tokens, Path(pdf).stem)
        write_jsonl(out_dir / "chunks.jsonl", chunks)
        summary = {"pdf": str(pdf), "backend": "docling", "chunks": len(chunks),
                   "sections": sorted({c["section"] for c in chunks}), "max_tokens": max_tokens}
        write_json(out_dir / "pdf_record.json", summary)
        return summary
    blocks = parse_pdf(pdf, backend)
    if not blocks:
        raise DataError("no text found (a scanned PDF needs OCR first)", path=str(pdf))
    chunks = chunk(blocks, tok, max_tokens, Path(pdf).stem)
    write_jsonl(out_dir / "blocks.jsonl", (asdict(b) for b in blocks))
    write_jsonl(out_dir / "chunks.jsonl", chunks)
    summary = {"pdf": str(pdf), "pages": max(b.page for b in blocks), "blocks": Counter(b.kind for b in blocks),
               "chunks": len(chunks), "sections": sorted({c["section"] for c in chunks}), "max_tokens": max_tokens}
    write_json(out_dir / "pdf_record.json", summary)
    return summary

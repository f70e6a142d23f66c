"""The options of a task whose data is made from PDFs (``data.options``): one model, one set of defaults.

The ``lorakit data pdf / qa / gate`` verbs take their defaults from here too, so they make the chunks
and splits ``lorakit run`` would make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lorakit.config import GateJudgeConfig, TeacherConfig

CHUNK_TOKENS = 160  # chunk size in tokens of the model's tokenizer
EVAL_SHARE = 0.3  # share of top-level sections held out for eval


class PdfQAOptions(BaseModel):
    """``data.options`` of a task built from documents: the PDFs, and how questions are made from them."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    pdf: list[Path] = Field(..., min_length=1, description="the PDFs to parse, question and train on")
    mode: Literal["grounded", "closed_book"] = Field(
        "grounded", description="grounded: the excerpt is in the prompt (answers come from it, refusals when it "
        "lacks them); closed_book: the question alone, the policy learned into the weights")
    pdf_backend: Literal["auto", "pdfplumber", "pypdfium2", "docling"] = Field(
        "auto", description="auto: pdfplumber, pypdfium2 as fallback; docling: full Docling (needs its models)")
    chunk_tokens: int = Field(CHUNK_TOKENS, ge=32, description="chunk size in tokens (HybridChunker, the model's tokenizer)")
    eval_share: float = Field(EVAL_SHARE, gt=0, lt=1, description="share of top-level sections held out for eval")
    unanswerable_share: float = Field(
        0.0, ge=0, lt=1, description="share of synthesized questions asked from templates about attributes a "
        "chunk lacks (its size, deadline, ...); 0: refusals are learned from other chunks' questions only "
        "(wrong_excerpt_share), which over-refuses real questions less: see docs/policy-qa.md")
    wrong_excerpt_share: float = Field(
        0.5, ge=0, le=2, description="grounded: per answerable question, this many extra rows pair it with another "
        "chunk's excerpt, answered with the refusal (refusal must depend on the excerpt, not the question)")
    wrong_excerpt_near: float = Field(
        0.5, ge=0, le=1, description="grounded: share of the wrong excerpts taken from the question's own section "
        "where it has another chunk (the right topic without the fact), the rest from anywhere")
    near_miss_share: float = Field(
        0.0, ge=0, le=2, description="grounded: per answerable train question, this many extra rows ask a near miss "
        "of it with its own excerpt (a comparator turned to its opposite, an enumerated item swapped for a sibling "
        "the fact lacks), answered with the refusal")
    retrieval_share: float = Field(
        0.0, ge=0, le=2, description="grounded: per answerable train question, this many extra rows shaped as "
        "retrieval shows it at question time (`lorakit ask`, eval.context: retrieved): the question with retrieval_k "
        "excerpts, its own among them (answered); and, as often as the other train rows refuse, with retrieval_k "
        "excerpts that all lack the answer (refused). Measured on the FHS over two seeds: no gain (docs/policy-qa.md)")
    retrieval_k: int = Field(3, ge=1, le=8, description="grounded: excerpts per retrieval-shaped train row "
                             "(match eval.retrieve_k and `lorakit ask -k`)")
    retrieval_negatives: Literal["bm25", "random"] = Field(
        "bm25", description="the other excerpts of retrieval-shaped rows: bm25: BM25's top hits for the question over "
        "the train chunks (the right topic without the fact); random: random chunks (a control arm)")
    train_variants: int = Field(2, ge=1, le=4, description="train rows per answerable question (question phrasings, "
                                "grounded: one with a distractor excerpt beside the right one); each also gets one loose keyword form")
    questions: Path | None = Field(
        None, description="your own questions about these PDFs (JSONL: question, answer or null, section; see "
        "lorakit.data.pdf.questions): the eval split, each with its section's excerpt, instead of synthesized ones")
    teacher: TeacherConfig | None = Field(None, description="also ask a teacher LLM for questions per chunk")
    judge: GateJudgeConfig | None = Field(None, description="LLM judge in the quality gate")

"""Retrieval at question time: BM25 over a run's chunks, re-grounded eval items with recall@k, ``lorakit ask``."""

import json

import pytest

from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.data.pdf.dataset import user_message
from lorakit.data.pdf.retrieve import DocumentIndex, retrieved_eval, split_message
from lorakit.io import write_jsonl
from tests.sample_pdfs import sample_pdfs

pytest.importorskip("bm25s")

CHUNKS = [
    {"id": "c0", "headings": ["FHS", "5.9 /var/lock : Lock files"], "section": "5",
     "text": "Lock files should be stored within the /var/lock directory structure."},
    {"id": "c1", "headings": ["FHS", "3.18 /tmp : Temporary files"], "section": "3",
     "text": "The /tmp directory must be made available for programs that require temporary files."},
    {"id": "c2", "headings": ["FHS", "4.9 /usr/local : Local hierarchy"], "section": "4",
     "text": "The /usr/local hierarchy is for use by the system administrator when installing software locally."},
]


def _item(question: str, chunk: dict | None, answer: str, category: str, line: int) -> ChatExample:
    return ChatExample([{"role": "system", "content": "s"},
                        {"role": "user", "content": user_message(question, [chunk] if chunk else [])},
                        {"role": "assistant", "content": answer}], category, line)


def test_bm25_finds_the_chunk_a_question_is_about_and_keeps_the_training_format():
    index = DocumentIndex(CHUNKS)
    assert [c["id"] for c in index.search("Where should lock files be stored?", 2)][0] == "c0"
    message, found = index.ground("Who uses /usr/local?", 1)
    assert [c["id"] for c in found] == ["c2"] and message == user_message("Who uses /usr/local?", [CHUNKS[2]])
    question, given = split_message(user_message("Q?", [CHUNKS[0], CHUNKS[1]]))
    assert question == "Q?" and len(given) == 2 and given[1].startswith("FHS > 3.18")
    assert split_message("just a question?") == ("just a question?", [])


def test_regrounding_reports_whether_the_items_own_excerpt_was_retrieved():
    index = DocumentIndex(CHUNKS)
    assert index.reground(user_message("Where should lock files be stored?", [CHUNKS[0]]), 1)[1] is True
    assert index.reground(user_message("Where should lock files be stored?", [CHUNKS[1]]), 1)[1] is False
    assert index.reground("Where should lock files be stored?", 1)[1] is None


def test_retrieved_eval_leaves_out_wrong_excerpt_items_and_measures_recall_on_answerable_ones(tmp_path, caplog):
    write_jsonl(tmp_path / "pdf" / "fhs" / "chunks.jsonl", CHUNKS)
    items = [_item("Where should lock files be stored?", CHUNKS[0], "/var/lock", "answerable", 1),
             _item("What is /tmp for?", CHUNKS[0], "temporary files", "answerable", 2),  # written with c0: a miss
             _item("Who administers /usr/local?", CHUNKS[0], "Not specified in the provided excerpt.",
                   "wrong_excerpt", 3),
             _item("How large must /tmp be?", CHUNKS[1], "Not specified in the provided excerpt.", "unanswerable", 4)]
    with caplog.at_level("INFO", logger="lorakit"):
        kept, regrounded, record = retrieved_eval(tmp_path, items, 1, skip_categories=("wrong_excerpt",),
                                                  measure=("answerable",))
    assert kept == [0, 1, 3] and [ex.line for ex in regrounded] == [1, 2, 4]
    assert record == {"k": 1, "chunks": 3, "recall_at_k": 0.5, "n_with_excerpt": 2, "skipped": {"wrong_excerpt": 1}}
    assert regrounded[1].user == user_message("What is /tmp for?", [CHUNKS[1]])  # the question, not the item's excerpt
    assert regrounded[1].answer == "temporary files" and regrounded[1].system == "s"
    assert "1 wrong_excerpt item(s) left out" in caplog.text and "recall@1 50.0%" in caplog.text


@pytest.mark.slow
def test_a_policy_run_is_evaluated_on_retrieved_excerpts_and_answers_questions_with_sources(tmp_path, tiny_model_dir):
    from typer.testing import CliRunner

    from lorakit.cli import app

    pytest.importorskip("pdfplumber")
    pdf = sample_pdfs.build(tmp_path / "handbook.pdf", handbook=True)
    run = tmp_path / "run"
    sets = [f"output_dir={run}", f"model.name={tiny_model_dir}", "data.task=policy_qa", f"data.options.pdf=[{pdf}]",
            "train.max_steps=1", "train.batch_size=2", "train.precision=fp32", "eval.limit=12", "eval.batch_size=12",
            "eval.max_new_tokens=4", "eval.kl_items=0", "eval.general_prompts=0", "eval.models=[tuned]",
            "eval.context=retrieved", "eval.retrieve_k=2"]
    res = CliRunner().invoke(app, ["run", *sum((["--set", s] for s in sets), [])])
    assert res.exit_code == 0, res.output
    results = json.loads((run / "results.json").read_text())
    r = results["retrieval"]
    items = load_chat_jsonl(run / "data" / "eval.jsonl", limit=12)
    wrong = sum(ex.category == "wrong_excerpt" for ex in items)
    assert r["k"] == 2 and r["chunks"] >= 30 and 0 <= r["recall_at_k"] <= 1
    assert r["skipped"].get("wrong_excerpt", 0) == wrong and results["n_items"] == 12 - wrong
    assert "Excerpts retrieved at question time" in (run / "report.md").read_text()

    res = CliRunner().invoke(app, ["ask", str(run), "How many days of annual leave do staff get?", "-k", "2"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index('{"question"'):].splitlines()[0])  # stderr's bars share the output
    assert out["question"] == "How many days of annual leave do staff get?" and len(out["sources"]) == 2
    assert all(s.startswith("Employee Handbook > ") for s in out["sources"])
    assert any("leave" in s.lower() for s in out["sources"])  # BM25 found the leave policy

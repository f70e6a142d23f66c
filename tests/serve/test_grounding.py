"""A served run that answers from documents finds a question's excerpts itself, over HTTP on loopback: the model
reads the top-k of its run's own chunks (as `lorakit ask` gives them) and the answer names them as ``sources``;
a message that brings its own excerpt, and any other run's model, are answered as sent."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from lorakit.data.pdf.dataset import user_message
from lorakit.io import read_json, write_json, write_jsonl
from lorakit.rundir import RunDir

pytestmark = pytest.mark.integration

CHUNKS = [  # as `lorakit data pdf` writes them
    {"id": "c0", "headings": ["FHS", "5.9. /var/lock : Lock files"], "text": "Lock files should be stored within "
     "the /var/lock directory structure. Lock files for serial devices must now be stored in /var/lock."},
    {"id": "c1", "headings": ["FHS", "3.18. /tmp : Temporary files"], "text": "The /tmp directory must be made "
     "available for programs that require temporary files."},
    {"id": "c2", "headings": ["FHS", "4.9. /usr/local : Local hierarchy"], "text": "The /usr/local hierarchy is "
     "for use by the system administrator when installing software locally."},
]


def _policy_run(trained_run, tmp_path, mode: str = "grounded"):
    """The tiny trained adapter in a run folder of a policy-QA run with three parsed chunks (training it on a PDF
    would test nothing more here: the server reads the run's config and chunks, not how they were made)."""
    run_dir, _ = trained_run
    run = RunDir(tmp_path / f"policy_{mode}")
    shutil.copytree(RunDir(run_dir).adapter, run.adapter)
    record = read_json(run.run_record_path)
    record["config"]["data"].update(task="policy_qa", options={"pdf": ["fhs.pdf"], "mode": mode})
    record["config"]["eval"]["retrieve_k"] = 2
    record["system_prompt"] = None  # the task's training prompt then applies
    write_json(run.run_record_path, record)
    write_jsonl(run.data / "pdf" / "fhs" / "chunks.jsonl", CHUNKS)
    return run.root


def test_the_engine_grounds_a_question_and_leaves_an_excerpt_it_was_sent(trained_run, tmp_path):
    from lorakit.data.tasks.policy_qa import TRAIN_PROMPT
    from lorakit.serve.engine import find_grounding

    grounding = find_grounding(RunDir(_policy_run(trained_run, tmp_path)).adapter)
    assert grounding is not None and grounding.k == 2
    question = [{"role": "user", "content": "Where do lock files for serial devices go?"}]
    messages, sources = grounding.apply(question)
    assert sources[0] == "FHS > 5.9. /var/lock : Lock files" and len(sources) == 2
    assert messages[0] == {"role": "system", "content": TRAIN_PROMPT}  # the run's prompt where none was sent
    assert messages[1]["content"].startswith("Policy excerpt:\n[FHS > 5.9. /var/lock : Lock files]")
    assert messages[1]["content"].endswith("Question: Where do lock files for serial devices go?")
    own = [{"role": "system", "content": "mine"},
           {"role": "user", "content": user_message("What is /tmp for?", [CHUNKS[1]])}]
    assert grounding.apply(own) == (own, None)  # the client's own excerpt, as sent
    assert find_grounding(RunDir(_policy_run(trained_run, tmp_path, "closed_book")).adapter) is None
    assert find_grounding(RunDir(trained_run[0]).adapter) is None  # support tickets: no documents


@pytest.fixture(scope="module")
def policy_server(trained_run, tmp_path_factory):
    from lorakit.serve.server import build_app
    from tests.live_server import LiveServer

    run = _policy_run(trained_run, tmp_path_factory.mktemp("grounded"))
    app, engine = build_app([f"policy={run}", f"ticket={trained_run[0]}"], precision="fp32", max_batch=4)
    with LiveServer(app, engine) as live:
        yield live


def test_the_server_answers_a_bare_question_from_the_runs_documents_with_sources(policy_server):
    with httpx.Client(base_url=policy_server.url, timeout=120) as client:
        body = {"model": "policy", "max_tokens": 6,
                "messages": [{"role": "user", "content": "Where do lock files for serial devices go?"}]}
        r = client.post("/v1/chat/completions", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["sources"][0] == "FHS > 5.9. /var/lock : Lock files"
        assert r.json()["usage"]["prompt_tokens"] > 60  # the excerpts and the system prompt were read, not 12 tokens
        with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as s:
            chunks = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: {")]
        assert chunks[0]["sources"] == r.json()["sources"] and "sources" not in chunks[-1]
        sent = {**body, "messages": [{"role": "user", "content": user_message("What is /tmp for?", [CHUNKS[1]])}]}
        assert "sources" not in client.post("/v1/chat/completions", json=sent).json()
        ticket = client.post("/v1/chat/completions", json={**body, "model": "ticket"})
        assert ticket.status_code == 200 and "sources" not in ticket.json()

"""A constrained answer ends valid within its token budget, whatever the schema leaves unbounded."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from lorakit.generation.constrained import compile_schema, in_string, min_answer_tokens
from lorakit.generation.generate import generate

# unbounded strings, arrays and nesting: nothing in them fits a small budget unless the decoder closes it
SCHEMAS = {
    "strings": {"type": "object", "required": ["intent", "order_id", "note"], "properties": {
        "intent": {"enum": ["refund", "cancel", "tech_support"]},
        "order_id": {"type": ["string", "null"]},
        "note": {"type": "string"}}},
    "arrays": {"type": "object", "required": ["tags", "n"], "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "n": {"type": "integer"}}},
    "nested": {"type": "object", "required": ["a"], "properties": {"a": {
        "type": "object", "required": ["b", "c"], "properties": {
            "b": {"type": "array", "items": {"type": "object", "required": ["k", "v"],
                                             "properties": {"k": {"type": "string"}, "v": {"type": "boolean"}}}},
            "c": {"type": ["string", "null"]}}}}},
}


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from lorakit.models import load_model

    model, tok, _ = load_model(tiny_model_dir)  # random weights: inside a string it never stops by itself
    return model.eval(), tok, model.get_output_embeddings().weight.shape[0]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_answer_validates_from_barely_enough_to_generous_budgets(tiny, name):
    model, tok, n_vocab = tiny
    schema, grammar = SCHEMAS[name], compile_schema(SCHEMAS[name])
    need = min_answer_tokens(grammar, tok, n_vocab)
    validator = Draft202012Validator(schema)
    convs = [[{"role": "user", "content": f"message {i}"}] for i in range(4)]
    for budget in (need, need + 3, need + 25, 96):
        forced: set[int] = set()
        out = generate(model, tok, convs, batch_size=4, max_new_tokens=budget, grammar=grammar, forced=forced)
        for text in out:
            assert not list(validator.iter_errors(json.loads(text))), (budget, text)
            assert len(tok(text, add_special_tokens=False)["input_ids"]) <= budget + 2  # re-tokenizing may merge
        if budget == need:  # no room at all: every answer is the decoder's own closing
            assert forced == {0, 1, 2, 3}


def test_minimum_answer_is_the_shortest_closing_path(tiny):
    _, tok, n_vocab = tiny
    need = min_answer_tokens(compile_schema({"type": "object", "required": ["x"],
                                             "properties": {"x": {"type": ["string", "null"]}}}), tok, n_vocab)
    # {"x": null} in SmolLM2's tokens: '{"', 'x', '":', 'null', '}' (forced key bytes may merge differently)
    assert 4 <= need <= 6


def test_in_string_follows_quotes_and_escapes():
    assert in_string('{"a":"b') and not in_string('{"a":"b"')
    assert in_string('{"a":"b\\"') and not in_string('{"a":"b\\\\"')


def test_eval_refuses_a_budget_below_the_schema_minimum(tiny_config):
    from lorakit.data.tasks import get_task
    from lorakit.errors import ConfigError
    from lorakit.eval.runner import check_constrained_budget
    from lorakit.models import load_model

    cfg = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(
        update={"decoding": ["free", "constrained"], "max_new_tokens": 10})})
    model, tok, _ = load_model(cfg.model.name)
    with pytest.raises(ConfigError, match=r"eval.max_new_tokens=10 cannot hold .* >= \d+"):
        check_constrained_budget(cfg, get_task("support_ticket"), (model, tok, None))
    free_only = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"decoding": ["free"]})})
    check_constrained_budget(free_only, get_task("support_ticket"), (model, tok, None))  # nothing to check


def test_force_closed_answers_are_counted_per_arm_and_item(tiny_config):
    from lorakit.eval.report import force_closed_line
    from lorakit.eval.runner import evaluate
    from lorakit.io import iter_jsonl

    cfg = tiny_config.model_copy(update={"eval": tiny_config.eval.model_copy(
        update={"models": ["base"], "decoding": ["free", "constrained"], "max_new_tokens": 48, "kl_items": 0})})
    results = evaluate(cfg)
    arm = results["models"]["base+constrained"]
    preds = [r for _, r in iter_jsonl(cfg.output_dir / "eval" / "base+constrained" / "predictions.jsonl")]
    assert arm["overall"]["valid_json"] == 1.0 and arm["overall"]["schema_valid"] == 1.0
    assert arm["force_closed"] == sum(r["force_closed"] for r in preds) > 0  # random weights ramble: closed
    assert "force_closed" not in results["models"]["base"]
    assert f"base+constrained: {arm['force_closed']} of {results['n_items']}" in force_closed_line(results)


def test_sampling_checks_a_bounded_number_of_candidates_per_step(tiny, monkeypatch):
    """A model with no top_k in its generation config once made every vocabulary token a candidate:
    one served request walked ~49k closing paths per token and held the server for hours."""
    import torch

    from lorakit.generation.constrained import MAX_CANDIDATES, JsonSchemaLogitsProcessor

    model, tok, n_vocab = tiny
    schema = SCHEMAS["nested"]
    grammar = compile_schema(schema)
    budget = min_answer_tokens(grammar, tok, n_vocab) + 20
    calls: list[int] = []
    original = JsonSchemaLogitsProcessor._fits_after

    def counted(self, *args):
        calls[-1] += 1
        return original(self, *args)

    class Counting(JsonSchemaLogitsProcessor):
        def __call__(self, input_ids, scores):
            calls.append(0)
            return super().__call__(input_ids, scores)

    monkeypatch.setattr(JsonSchemaLogitsProcessor, "_fits_after", counted)
    enc = tok(["hello"], return_tensors="pt")
    proc = Counting(tok, grammar, n_vocab, enc["input_ids"].shape[1], budget=budget, sampling=True, top_k=None)
    torch.manual_seed(1)
    out = model.generate(**enc, max_new_tokens=budget, do_sample=True, top_k=0, logits_processor=[proc],
                         pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert not list(Draft202012Validator(schema).iter_errors(json.loads(text))), text
    assert max(calls) <= MAX_CANDIDATES and sum(calls) > 0  # checked near the end, never the whole vocabulary

"""Batched generation: the early stop for answers that cannot become JSON changes no score."""

from __future__ import annotations

import torch

from lorakit.generation.generate import StopWhenNotJson, generate
from lorakit.data.tasks.json_metrics import parse_output


def _ids(tok, prompt: str, answer: str) -> torch.Tensor:
    return torch.tensor([tok(prompt + answer, add_special_tokens=False)["input_ids"]])


def test_stop_when_not_json_decides_on_the_first_visible_character(smollm2_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    prompt = "<|im_start|>assistant\n"
    n = len(tok(prompt, add_special_tokens=False)["input_ids"])
    for answer, stop in [('{"intent', False), ("The customer", True), ("```json\n{", True)]:
        crit = StopWhenNotJson(tok, n)
        assert crit(_ids(tok, prompt, answer), None).tolist() == [stop], answer
    blank = StopWhenNotJson(tok, n)
    assert blank(_ids(tok, prompt, "  "), None).tolist() == [False]  # undecided: only whitespace so far
    assert blank.verdict == {}


def test_early_stop_gives_a_prefix_and_the_same_verdict(smollm2_dir):
    from lorakit.models import load_model

    model, tok, _ = load_model(smollm2_dir)  # the real model: it answers in prose (a random tiny one emits newlines)
    convs = [[{"role": "user", "content": text}] for text in
             ["My order never came, what now?", 'Reply with exactly {"ok": true}', "Say hello."]]
    full = generate(model, tok, convs, batch_size=3, max_new_tokens=16)
    cut = generate(model, tok, convs, batch_size=3, max_new_tokens=16, stop_when_not_json=True)
    for f, c in zip(full, cut):
        assert f.startswith(c)
        assert (parse_output(f)[0] is None) == (parse_output(c)[0] is None)
    assert sum(len(c) for c in cut) < sum(len(f) for f in full)  # a random model's prose was cut short


def test_shared_prefix_leaves_every_prompt_a_token_of_its_own():
    from lorakit.generation.generate import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5, 6], [1, 2, 3, 4, 7]]) == 3
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2  # the shorter one keeps its last token
    assert shared_prefix_length([[9, 2], [1, 2]]) == 0


def test_the_prefix_cache_changes_no_answer_in_fp32(smollm2_dir, caplog):
    """The real model, free and constrained, prompts of different lengths in one batch: encoding the shared
    system prompt once gives exactly the answers of encoding it in every prompt."""
    import logging

    from lorakit.data.tasks import get_task
    from lorakit.generation.constrained import compile_schema
    from lorakit.models import load_model

    model, tok, _ = load_model(smollm2_dir)
    system = {"role": "system", "content": "You read customer support tickets and answer with one JSON object: the "
              "intent, the priority, the product and the order id. Nothing else, no prose."}
    convs = [[system, {"role": "user", "content": text}] for text in
             ["My order ORD-12345 never came, I want my money back now!", "Hi", "Can I change the delivery address "
              "of order ORD-99812 to my office? It ships tomorrow and I will not be home.", "Cancel my plan."]]
    grammar = compile_schema(get_task("support_ticket").response_schema)
    for kw in ({}, {"grammar": grammar}):
        plain = generate(model, tok, convs, batch_size=4, max_new_tokens=12, prefix_cache="off", **kw)
        with caplog.at_level(logging.INFO, logger="lorakit.generation.generate"):
            cached = generate(model, tok, convs, batch_size=3, max_new_tokens=12, **kw)
        assert cached == plain
    assert "share their first" in caplog.text
    shared = len(tok(tok.apply_chat_template([system], tokenize=False), add_special_tokens=False)["input_ids"])
    assert f"share their first {shared + 3} tokens" in caplog.text  # the system turn and "<|im_start|>user\n"


def test_the_prefix_cache_is_on_by_itself_only_where_it_is_exact():
    from lorakit.generation.generate import use_prefix_cache

    fp32, bf16 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2).to(torch.bfloat16)
    assert use_prefix_cache(fp32, "auto") and not use_prefix_cache(bf16, "auto")
    assert use_prefix_cache(bf16, "on") and not use_prefix_cache(fp32, "off")
    with torch.autocast("cpu", dtype=torch.bfloat16):  # fp32 weights computing in bf16: not exact either
        assert not use_prefix_cache(fp32, "auto")

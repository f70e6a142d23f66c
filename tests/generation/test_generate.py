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

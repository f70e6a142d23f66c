"""Batched greedy generation: one code path for base and tuned models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class StopWhenNotJson:
    """Stop a row once its answer cannot become a JSON object: the first visible character is not ``{``.

    Scoring parses strictly, so such an answer is wrong on every field whatever follows; cutting
    it changes no metric and spares generating ``max_new_tokens`` of prose (an untuned 135M model
    answers in prose: this made its eval ~10x faster). Rows that start with ``{`` are untouched.
    """

    def __init__(self, tok, prompt_len: int):
        self.tok, self.prompt_len = tok, prompt_len
        self.verdict: dict[int, bool] = {}  # row -> True (stop) / False (keep going), once known

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in range(input_ids.shape[0]):
            if row not in self.verdict:
                text = self.tok.decode(input_ids[row, self.prompt_len:], skip_special_tokens=True).lstrip()
                if text:
                    self.verdict[row] = not text.startswith("{")
            done[row] = self.verdict.get(row, False)
        return done


def generate(model, tok, conversations: list[list[dict]], *, batch_size: int, max_new_tokens: int,
             on_batch: Callable[[int], None] | None = None, stop_when_not_json: bool = False,
             grammar: str | list[str | None] | None = None, processor=None,
             forced: set[int] | None = None, close_within_budget: bool = True,
             temperature: float = 0.0) -> list[str]:
    """Greedy answers for chat ``conversations`` (each ending with the user turn), in input order;
    ``temperature`` > 0 samples instead (seed torch first for repeatable samples).

    Prompts are sorted by length so a batch holds similar lengths (less padding), left-padded
    so every row's answer starts at the same position. ``stop_when_not_json`` ends a row as soon
    as it cannot become a JSON object (see :class:`StopWhenNotJson`). ``grammar`` (from
    :func:`lorakit.generation.constrained.compile_schema`) constrains every answer to the schema; a list
    gives each conversation its own grammar (None: that row decodes freely). ``processor`` is a factory
    ``(tok, prompt_len) -> logits processor`` for a task's own decoding mode (``Task.decoders``).
    A constrained answer always ends valid within ``max_new_tokens``: where the model would run out of
    tokens the decoder closes the JSON itself, and adds the conversation's index to ``forced``
    (``close_within_budget=False`` turns that off, to measure what it costs).
    """
    texts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    ids = tok(texts, add_special_tokens=False)["input_ids"]  # tokenized once: sorted by length, then padded
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: list[str] = [""] * len(ids)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        new, constrain = generate_batch(
            model, tok, [ids[i] for i in idx], max_new_tokens=max_new_tokens,
            grammar=[grammar[i] for i in idx] if isinstance(grammar, list) else grammar,
            close_within_budget=close_within_budget,
            stopping=[lambda n: StopWhenNotJson(tok, n)] if stop_when_not_json else [],
            processors=[lambda n: processor(tok, n)] if processor is not None else [],
            temperature=temperature, top_p=1.0, top_k=0)
        if constrain is not None and forced is not None:
            forced.update(idx[row] for row in constrain.forced)
        for i, row in zip(idx, new):
            out[i] = tok.decode(row, skip_special_tokens=True)
        if on_batch:
            on_batch(len(idx))
    return out


def generate_batch(model, tok, input_ids: list[list[int]], *, max_new_tokens: int | list[int],
                   grammar: str | list[str | None] | None = None, close_within_budget: bool = True,
                   stopping: Sequence[Callable[[int], Any]] = (), processors: Sequence[Callable[[int], Any]] = (),
                   temperature: float = 0.0, top_p: float = 1.0, top_k: int | None = None):
    """One left-padded batch of tokenized prompts through ``model.generate``: the decoding step that
    evaluation, training-time sampling and ``lorakit serve`` share.

    ``max_new_tokens``: one limit, or one per row (the batch runs to the largest; a constrained row closes
    within its own). ``stopping`` and ``processors`` are factories ``prompt_len -> criterion / logits
    processor``, applied after the JSON constraint. ``temperature`` > 0 samples with ``top_p`` and
    ``top_k`` (None: the model's generation config; 0: no top-k filter). Returns the new tokens
    (``[rows, tokens]``, rows that ended early padded after) and the constraint processor (None without
    a grammar; its ``forced`` holds the rows the decoder had to close).
    """
    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    from lorakit.generation.constrained import JsonSchemaLogitsProcessor

    enc = tok.pad({"input_ids": input_ids}, return_tensors="pt").to(next(model.parameters()).device)
    prompt_len = enc["input_ids"].shape[1]
    rows = grammar if isinstance(grammar, list) else [grammar] * len(input_ids)
    sample = temperature > 0
    constrain = None
    if any(rows):
        n_vocab = model.get_output_embeddings().weight.shape[0]
        constrain = JsonSchemaLogitsProcessor(
            tok, rows, n_vocab, prompt_len, budget=max_new_tokens if close_within_budget else None, sampling=sample,
            top_k=model.generation_config.top_k if top_k is None else (top_k or None))
    procs = LogitsProcessorList([constrain] if constrain else [])
    procs.extend(make(prompt_len) for make in processors)
    sampling = dict(do_sample=False)
    if sample:
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, **({} if top_k is None else {"top_k": top_k}))
    limit = max(max_new_tokens) if isinstance(max_new_tokens, list) else max_new_tokens
    with torch.inference_mode():
        gen = model.generate(**enc, **sampling, max_new_tokens=limit,
                             stopping_criteria=StoppingCriteriaList([make(prompt_len) for make in stopping]),
                             logits_processor=procs, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return gen[:, prompt_len:], constrain

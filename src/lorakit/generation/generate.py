"""Batched greedy generation: one code path for base and tuned models."""

from __future__ import annotations

from collections.abc import Callable


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
    from transformers import LogitsProcessorList, StoppingCriteriaList

    from lorakit.generation.constrained import JsonSchemaLogitsProcessor

    import torch

    texts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    ids = tok(texts, add_special_tokens=False)["input_ids"]  # tokenized once: sorted by length, then padded
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: list[str] = [""] * len(ids)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(device)
        prompt_len = enc["input_ids"].shape[1]
        stops = StoppingCriteriaList([StopWhenNotJson(tok, prompt_len)] if stop_when_not_json else [])
        n_vocab = model.get_output_embeddings().weight.shape[0]
        rows = [grammar[i] for i in idx] if isinstance(grammar, list) else [grammar] * len(idx)
        constrain = JsonSchemaLogitsProcessor(
            tok, rows, n_vocab, prompt_len, budget=max_new_tokens if close_within_budget else None) \
            if any(rows) else None
        procs = LogitsProcessorList([constrain] if constrain else [])
        if processor is not None:
            procs.append(processor(tok, prompt_len))
        with torch.inference_mode():
            sampling = dict(do_sample=True, temperature=temperature, top_p=1.0, top_k=0) if temperature > 0 \
                else dict(do_sample=False)
            gen = model.generate(**enc, **sampling, max_new_tokens=max_new_tokens, stopping_criteria=stops,
                                 logits_processor=procs,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        new = gen[:, prompt_len:]
        if constrain is not None and forced is not None:
            forced.update(idx[row] for row in constrain.forced)
        for i, row in zip(idx, new):
            out[i] = tok.decode(row, skip_special_tokens=True)
        if on_batch:
            on_batch(len(idx))
    return out

"""Batched greedy generation: one code path for base and tuned models."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# below this many shared tokens a separate prefill costs about what it saves
MIN_SHARED_PREFIX = 16


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
             temperature: float = 0.0, prefix_cache: str = "auto") -> list[str]:
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
    ``prefix_cache`` (auto, on, off): the tokens every prompt shares (a long system prompt) are encoded once,
    not once per prompt (see :func:`prefill_shared_prefix`); auto: only where that is exact (fp32).
    """
    texts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    ids = tok(texts, add_special_tokens=False)["input_ids"]  # tokenized once: sorted by length, then padded
    prefix = prefill_shared_prefix(model, ids) if use_prefix_cache(model, prefix_cache) and len(ids) > 1 else None
    if prefix is not None:
        log.info("prefix cache: the %d prompts share their first %d tokens; encoded once", len(ids), len(prefix.ids))
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
            temperature=temperature, top_p=1.0, top_k=0, prefix=prefix)
        if constrain is not None and forced is not None:
            forced.update(idx[row] for row in constrain.forced)
        for i, row in zip(idx, new):
            out[i] = tok.decode(row, skip_special_tokens=True)
        if on_batch:
            on_batch(len(idx))
    return out


@dataclass
class SharedPrefix:
    """The first ``ids`` of every prompt, already run through the model: one key/value pair per layer."""

    ids: list[int]
    keys_values: list[tuple[Any, Any]]

    def cache_for(self, model, rows: int):
        """A fresh cache holding the prefix for ``rows`` rows (generate extends the cache it is given)."""
        from transformers import DynamicCache

        cache = DynamicCache(config=model.config)
        for layer, (k, v) in enumerate(self.keys_values):
            cache.update(k.expand(rows, -1, -1, -1).contiguous(), v.expand(rows, -1, -1, -1).contiguous(), layer)
        return cache


def _cache_arg(model) -> str:
    """The keyword the model's forward takes its KV cache by: ``cache`` in newer transformers 5 releases (5.24
    here, where ``past_key_values`` still works with a deprecation warning), else ``past_key_values``."""
    import inspect

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(inner.forward).parameters else "past_key_values"


def use_prefix_cache(model, setting: str) -> bool:
    """``setting`` on/off as given; auto: on only where it changes no answer, fp32 weights without autocast.

    In bf16 the attention over a cached prefix sums in another order: on 32 hand-written questions about the
    FHS (SmolLM2, 32-token answers) 13 answers changed, where halving the batch size changed 3. The user opts
    in there (``on``): the base arm's eval is then 1.3x-4.4x faster (docs/benchmarks.md).
    """
    import torch

    if setting != "auto":
        return setting == "on"
    device = next(model.parameters()).device.type
    return next(model.parameters()).dtype == torch.float32 and not torch.is_autocast_enabled(device)


def shared_prefix_length(ids: list[list[int]]) -> int:
    """How many leading tokens every prompt shares, leaving each at least one token of its own."""
    first, n = ids[0], min(len(row) for row in ids) - 1
    for row in ids[1:]:
        n = next((i for i in range(n) if row[i] != first[i]), n)
    return max(n, 0)


def prefill_shared_prefix(model, ids: list[list[int]]) -> SharedPrefix | None:
    """Run the tokens every prompt shares through the model once: a batch then encodes only what differs.

    Without it each prompt re-encodes the shared part (the base arm's long task instruction, a served
    model's system prompt) in every batch. The answers are those of the full prompt: the prefix sits at
    the same positions with the same attention, and each row's padding goes between the prefix and its
    own tokens, where the attention mask hides it. None (and a full encoding) when fewer than
    ``MIN_SHARED_PREFIX`` tokens are shared, or when the model's cache is not one plain key/value pair
    per layer (sliding-window or recurrent layers keep state this reuse does not copy).
    """
    import torch
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    n = shared_prefix_length(ids)
    if n < MIN_SHARED_PREFIX:
        return None
    cache = DynamicCache(config=model.config)
    if not all(type(layer) is DynamicLayer for layer in cache.layers):
        log.info("prefix cache: off for %s (its cache layers are not all full attention)", type(model).__name__)
        return None
    device = next(model.parameters()).device
    with torch.inference_mode():
        model(input_ids=torch.tensor([ids[0][:n]], device=device), use_cache=True, **{_cache_arg(model): cache})
    return SharedPrefix(ids[0][:n], [(layer.keys, layer.values) for layer in cache.layers])


def generate_batch(model, tok, input_ids: list[list[int]], *, max_new_tokens: int | list[int],
                   grammar: str | list[str | None] | None = None, close_within_budget: bool = True,
                   stopping: Sequence[Callable[[int], Any]] = (), processors: Sequence[Callable[[int], Any]] = (),
                   temperature: float = 0.0, top_p: float = 1.0, top_k: int | None = None,
                   prefix: SharedPrefix | None = None):
    """One left-padded batch of tokenized prompts through ``model.generate``: the decoding step that
    evaluation, training-time sampling and ``lorakit serve`` share.

    ``max_new_tokens``: one limit, or one per row (the batch runs to the largest; a constrained row closes
    within its own). ``stopping`` and ``processors`` are factories ``prompt_len -> criterion / logits
    processor``, applied after the JSON constraint. ``temperature`` > 0 samples with ``top_p`` and
    ``top_k`` (None: the model's generation config; 0: no top-k filter). Returns the new tokens
    (``[rows, tokens]``, rows that ended early padded after) and the constraint processor (None without
    a grammar; its ``forced`` holds the rows the decoder had to close). ``prefix``: the rows' shared first
    tokens, encoded already (:func:`prefill_shared_prefix`); each row's padding then goes after it.
    """
    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    from lorakit.generation.constrained import JsonSchemaLogitsProcessor

    device = next(model.parameters()).device
    cached = {}
    if prefix is not None:
        n = len(prefix.ids)
        assert all(row[:n] == prefix.ids for row in input_ids), "every row must start with the shared prefix"
        enc = tok.pad({"input_ids": [row[n:] for row in input_ids]}, return_tensors="pt")
        rows = len(input_ids)
        enc = {"input_ids": torch.cat([torch.tensor([prefix.ids] * rows), enc["input_ids"]], dim=1),
               "attention_mask": torch.cat([torch.ones(rows, n, dtype=enc["attention_mask"].dtype),
                                            enc["attention_mask"]], dim=1)}
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.inference_mode():
            cached = {_cache_arg(model): prefix.cache_for(model, rows)}
    else:
        enc = tok.pad({"input_ids": input_ids}, return_tensors="pt").to(device)
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
        gen = model.generate(**enc, **sampling, **cached, max_new_tokens=limit,
                             stopping_criteria=StoppingCriteriaList([make(prompt_len) for make in stopping]),
                             logits_processor=procs, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return gen[:, prompt_len:], constrain

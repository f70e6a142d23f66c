"""Grammar-constrained decoding: a JSON Schema enforced token by token with llguidance.

llguidance compiles a schema in ~1 ms and computes a vocabulary mask in well under a
millisecond per token; it ships no ``transformers`` logits processor, so this module is that
processor: one matcher per batch row, a packed bitmask over the vocabulary, disallowed tokens
set to -inf. Output is compact JSON (no free whitespace) with keys in schema order, and every
string and array gets a length cap so a small model cannot ramble until ``max_new_tokens``.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from lorakit.errors import EvalError

MAX_STRING = 200  # characters, for strings whose schema sets no maxLength
MAX_ITEMS = 32  # for arrays whose schema sets no maxItems


def capped_schema(schema: dict, max_string: int = MAX_STRING, max_items: int = MAX_ITEMS) -> dict:
    """A copy of ``schema`` where every string has a ``maxLength`` and every array a ``maxItems``."""
    out = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, dict):
            types = node.get("type")
            types = types if isinstance(types, list) else [types]
            if "string" in types and "enum" not in node and "const" not in node:
                node.setdefault("maxLength", max_string)
            if "array" in types:
                node.setdefault("maxItems", max_items)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(out)
    return out


@lru_cache(maxsize=8)
def _ll_tokenizer(tok, n_vocab: int):
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tok, n_vocab=n_vocab)  # ~0.3 s, so cached per tokenizer


def compile_schema(schema: dict) -> str:
    """The llguidance grammar for ``schema`` (compact JSON, capped lengths); raises EvalError if unusable."""
    import llguidance  # a core dependency

    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        capped_schema(schema), overrides={"whitespace_flexible": False})
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        raise EvalError(f"llguidance cannot compile the task's JSON Schema: {messages[0]}")
    return grammar


class JsonSchemaLogitsProcessor:
    """A ``transformers`` logits processor that masks every token the schema does not allow.

    Build one per ``generate`` call (it keeps a matcher per row). ``grammar`` is one grammar for
    every row or a list with one per row (None: that row is not constrained). Rows that finished
    or hit a grammar error may only emit EOS, so the batch never sees an all -inf row.
    """

    def __init__(self, tok, grammar: str | list[str | None], n_vocab: int, prompt_len: int):
        import llguidance

        self.ll_tok = _ll_tokenizer(tok, n_vocab)
        self.grammar, self.n_vocab, self.prompt_len = grammar, n_vocab, prompt_len
        self.eos = tok.eos_token_id
        self.matchers: list | None = None
        self.executor = llguidance.LLExecutor()

    def __call__(self, input_ids, scores):
        import llguidance
        from llguidance.torch import allocate_token_bitmask, fill_next_token_bitmask_par

        batch = input_ids.shape[0]
        if self.matchers is None:
            grammars = self.grammar if isinstance(self.grammar, list) else [self.grammar] * batch
            self.matchers = [llguidance.LLMatcher(self.ll_tok, g, log_level=0) if g else None for g in grammars]
        elif input_ids.shape[1] > self.prompt_len:
            for m, token in zip(self.matchers, input_ids[:, -1].tolist()):
                if m is not None and not m.is_stopped() and not m.is_error():
                    m.consume_token(token)
        bitmask = allocate_token_bitmask(batch, self.n_vocab)
        live = [(m, i) for i, m in enumerate(self.matchers) if m is not None and not (m.is_stopped() or m.is_error())]
        if live:
            fill_next_token_bitmask_par(self.executor, live, bitmask)
        banned = _disallowed(bitmask, scores.shape[1])
        for i, m in enumerate(self.matchers):
            if m is None:
                banned[i] = False  # a free row
            elif m.is_stopped() or m.is_error():
                banned[i] = True
                banned[i, self.eos] = False
        return scores.masked_fill_(banned.to(scores.device), float("-inf"))


def _disallowed(bitmask, vocab: int):
    """``[batch, ceil(vocab/32)]`` int32 words -> ``[batch, vocab]`` bools, True where a token is NOT allowed.

    Bit j of word w allows token 32w+j. numpy's unpackbits does the unpacking in C, ~15x faster
    than shifting every word 32 times in torch (which cost more than the model's forward pass).
    """
    import numpy as np
    import torch

    words = ~bitmask.numpy()
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")  # little-endian words: byte k = bits 8k..
    flat = torch.from_numpy(bits).view(torch.bool)
    if flat.shape[1] < vocab:  # a model head wider than the tokenizer: the extra ids are never allowed
        flat = torch.nn.functional.pad(flat, (0, vocab - flat.shape[1]), value=True)
    return flat[:, :vocab]

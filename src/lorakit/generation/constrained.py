"""Grammar-constrained decoding: a JSON Schema enforced token by token with llguidance.

llguidance compiles a schema in ~1 ms and computes a vocabulary mask in well under a
millisecond per token; it ships no ``transformers`` logits processor, so this module is that
processor: one matcher per batch row, a packed bitmask over the vocabulary, disallowed tokens
set to -inf. Output is compact JSON (no free whitespace) with keys in schema order, and every
string and array gets a length cap so a small model cannot ramble until ``max_new_tokens``.

Caps alone do not make an answer fit its token budget (a 200-character string does not fit in 128
tokens), so the processor also keeps every constrained row *closable*: before a token is taken it
checks that a valid completion still fits in the tokens left (:func:`closing_tokens`); when the
model's choice would leave too few, it emits the closing path instead and counts the row as
force-closed. An answer under a grammar therefore always ends valid within ``max_new_tokens``.
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


# Tokens that end a JSON value, tried in this order when searching a closing path: inside a string
# only a closing quote ends it (``}`` or ``null`` there would be more text), outside one the brackets
# and the shortest literals; the longer closers first so the path (the reserve it needs) stays short.
_CLOSERS_IN_STRING = ('"}}', '"}', '"]', '"')
_CLOSERS = ('}}', ']}', '}]', '}', ']', 'null', 'false', 'true', '0', '[]', '{}', '""', ':', '"')
MAX_CLOSING = 512  # a closing path longer than this counts as no path (a grammar that cannot end)
# Under sampling, at most this many of the best-scored tokens are checked per step near the budget's
# end: each check walks a closing path, so checking the whole top-k (or the whole vocabulary, when a
# model's generation config sets no top_k) made one request take hours and hold the server.
MAX_CANDIDATES = 16


@lru_cache(maxsize=8)
def _closer_ids(tok) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def single(texts):
        ids = (tok.encode(text, add_special_tokens=False) for text in texts)
        return tuple(dict.fromkeys(i[0] for i in ids if len(i) == 1))

    return single(_CLOSERS_IN_STRING), single(_CLOSERS)


@lru_cache(maxsize=8)
def _token_lengths(tok, n_vocab: int):
    import numpy as np

    lengths = np.zeros(n_vocab, dtype=np.int32)
    for text, i in tok.get_vocab().items():
        if i < n_vocab:
            lengths[i] = len(text)
    return lengths


def in_string(text: str) -> bool:
    """Whether compact JSON ``text`` ends inside a string (an odd number of unescaped quotes)."""
    inside = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and inside:
            escaped = True
        elif ch == '"':
            inside = not inside
    return inside


def closing_tokens(matcher, tok, n_vocab: int, text: str = "", limit: int = MAX_CLOSING) -> list[int] | None:
    """A short token sequence that takes ``matcher`` (left untouched) to an accepting state; None if none.

    ``text`` is the answer so far (it tells whether the answer stands inside a string). Greedy, not
    the proven shortest: forced tokens first, then the first closer the grammar accepts (``"}``,
    ``}``, ``null``, ...), else the longest allowed token (a whole enum value, say). Its length is an
    upper bound on what the answer still needs, so reserving it is always safe. A path longer than
    ``limit`` counts as none (the search stops there).
    """
    import numpy as np

    m = matcher.deep_copy()
    path: list[int] = []
    (string_closers, closers), lengths = _closer_ids(tok), _token_lengths(tok, n_vocab)
    while not m.is_accepting():
        if len(path) > min(limit, MAX_CLOSING) or m.is_error() or m.is_stopped():
            return None
        order = string_closers if in_string(text) else closers
        step = m.compute_ff_tokens() or [next((t for t in order if m.validate_tokens([t]) == 1), None)]
        if step[0] is None:
            allowed = _allowed_ids(m, n_vocab)
            if not len(allowed):
                return None
            step = [int(allowed[np.argmax(lengths[allowed])])]
        m.consume_tokens(step)
        path += step
        text += tok.decode(step)
    return path


def _allowed_ids(matcher, n_vocab: int):
    import numpy as np

    words = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint32)
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")[:n_vocab]
    return np.flatnonzero(bits)


def min_answer_tokens(grammar: str, tok, n_vocab: int) -> int:
    """Tokens the shortest answer this grammar accepts takes (the greedy closing path from the start)."""
    import llguidance

    path = closing_tokens(llguidance.LLMatcher(_ll_tokenizer(tok, n_vocab), grammar, log_level=0), tok, n_vocab)
    if path is None:
        raise EvalError("the JSON Schema admits no answer that ends: check its required keys and minimum lengths")
    return len(path)


class JsonSchemaLogitsProcessor:
    """A ``transformers`` logits processor that masks every token the schema does not allow.

    Build one per ``generate`` call (it keeps a matcher per row). ``grammar`` is one grammar for
    every row or a list with one per row (None: that row is not constrained). Rows that finished
    or hit a grammar error may only emit EOS, so the batch never sees an all -inf row.

    ``budget`` (one int, or one per row) is the row's ``max_new_tokens``: a token is allowed only if
    a closing path still fits after it (see the module docstring). Under greedy decoding the
    model's own choice is checked; when sampling, the best-scored tokens (``top_k``, at most
    ``MAX_CANDIDATES``) are, once the tokens left come within ``SAMPLING_WINDOW`` of the closing path. ``forced`` holds the rows that
    had to be closed by the decoder.
    """

    SAMPLING_WINDOW = 64

    def __init__(self, tok, grammar: str | list[str | None], n_vocab: int, prompt_len: int,
                 budget: int | list[int] | None = None, sampling: bool = False, top_k: int | None = 50):
        import llguidance

        self.tok, self.ll_tok = tok, _ll_tokenizer(tok, n_vocab)
        self.grammar, self.n_vocab, self.prompt_len = grammar, n_vocab, prompt_len
        self.budget, self.sampling, self.top_k = budget, sampling, min(top_k or MAX_CANDIDATES, MAX_CANDIDATES)
        self.eos = tok.eos_token_id
        self.matchers: list | None = None
        self.closing: dict[int, list[int]] = {}  # row -> the closing path being emitted
        self.forced: set[int] = set()
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
        scores = scores.masked_fill_(banned.to(scores.device), float("-inf"))
        if self.budget is not None:
            for m, i in live:
                self._keep_closable(i, m, scores, input_ids[i, self.prompt_len:].tolist())
        return scores

    def _row_budget(self, row: int) -> int:
        return self.budget[row] if isinstance(self.budget, list) else self.budget

    def _keep_closable(self, row: int, matcher, scores, answer) -> None:
        """Restrict row ``row`` to tokens after which a valid answer still fits in its budget."""
        used = len(answer)
        left = self._row_budget(row) - used  # tokens this row may still emit, this one included
        if self.closing.get(row):  # already closing: follow the path
            return self._force(row, scores, self.closing[row].pop(0))
        if matcher.is_accepting():
            return None
        text = self.tok.decode(answer)
        if self.sampling:
            path = closing_tokens(matcher, self.tok, self.n_vocab, text)
            if path is not None and len(path) + self.SAMPLING_WINDOW < left:
                return None
            candidates = scores[row].topk(min(self.top_k, scores.shape[1])).indices.tolist()
        else:
            candidates = [int(scores[row].argmax())]
        fits = [t for t in candidates
                if scores[row, t] > float("-inf") and self._fits_after(matcher, t, left - 1, text)]
        if fits:
            if self.sampling:
                keep = scores[row, fits].clone()
                scores[row] = float("-inf")
                scores[row, fits] = keep
            return None
        path = closing_tokens(matcher, self.tok, self.n_vocab, text)
        if path is None:
            return None
        self.forced.add(row)
        self.closing[row] = path[1:]
        return self._force(row, scores, path[0])

    def _fits_after(self, matcher, token: int, left: int, text: str) -> bool:
        if token == self.eos:
            return matcher.is_accepting()
        m = matcher.deep_copy()
        if not m.try_consume_tokens([token]):
            return False
        path = [] if m.is_accepting() else closing_tokens(m, self.tok, self.n_vocab, text + self.tok.decode([token]),
                                                          limit=left)
        return path is not None and len(path) <= left

    @staticmethod
    def _force(row: int, scores, token: int) -> None:
        scores[row] = float("-inf")
        scores[row, token] = 0.0


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

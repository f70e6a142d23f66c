"""What a GGUF runtime (llama.cpp, Ollama) sees in an exported file, checked against the training tokenizer.

Reading the file back with transformers is blind to the tokenizer metadata that llama.cpp uses
(token types, pre-tokenizer, add-BOS flags): transformers re-reads the vocabulary but tokenizes with
its own rules. So the export check looks at the metadata itself, and, where ``llama-cpp-python``
is installed (``make llama-cpp``), tokenizes and answers with llama.cpp for real.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


# fields every llama.cpp BPE vocabulary reads; compared with the source GGUF when there is one
TOKENIZER_FIELDS = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                    "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                    "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_space_prefix")


def read_tokenizer_fields(gguf_file: str | Path) -> dict:
    """The ``tokenizer.*`` fields of a GGUF file as plain Python values."""
    from gguf import GGUFReader, GGUFValueType

    out = {}
    for key, field in GGUFReader(str(gguf_file)).fields.items():
        if not key.startswith("tokenizer."):
            continue
        is_str = field.types[-1] == GGUFValueType.STRING
        values = [bytes(field.parts[i]).decode("utf-8") if is_str else field.parts[i].tolist()[0] for i in field.data]
        out[key] = values if field.types[0] == GGUFValueType.ARRAY else values[0]
    return out


def tokenizer_metadata_check(gguf_file: Path, tok, source_gguf: Path | None) -> dict:
    """Special tokens typed CONTROL, the vocabulary equal to the tokenizer's, and (with a source GGUF)
    every tokenizer field llama.cpp reads equal to the source's."""
    import gguf

    fields = read_tokenizer_fields(gguf_file)
    types, tokens = fields["tokenizer.ggml.token_type"], fields["tokenizer.ggml.tokens"]
    special_ids = sorted({i for i, t in tok.added_tokens_decoder.items() if t.special} | set(tok.all_special_ids))
    not_control = [tokens[i] for i in special_ids if types[i] != gguf.TokenType.CONTROL]
    vocab = tok.get_vocab()
    added = (gguf.TokenType.CONTROL, gguf.TokenType.USER_DEFINED)  # written pre-normalized: their text may differ
    wrong_ids = sum(1 for text, i in vocab.items()
                    if i >= len(tokens) or (tokens[i] != text and types[i] not in added))
    out: dict = {"special_tokens": len(special_ids), "special_not_control": not_control[:10],
                 "vocab_mismatches": wrong_ids}
    if source_gguf is not None:
        src = read_tokenizer_fields(source_gguf)
        out["differs_from_source"] = [k for k in TOKENIZER_FIELDS if k in src and src[k] != fields.get(k)]
    out["passed"] = not not_control and not wrong_ids and not out.get("differs_from_source")
    return out


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def llama_cpp_check(gguf_file: Path, tok, prompts: list[list[dict]], want: list[str], max_new_tokens: int) -> dict:
    """Tokenize the rendered prompts with llama.cpp and answer them greedily; compare with ``want``.

    The prompt text is rendered by the training tokenizer's chat template (the same text the GGUF's
    own template renders: the export check compares the templates separately) and tokenized by
    llama.cpp with special tokens parsed, as llama.cpp's chat code does.
    """
    import os

    from llama_cpp import Llama

    llm = Llama(str(gguf_file), n_ctx=2048, n_threads=max(1, (os.cpu_count() or 2)), seed=0, verbose=False)
    texts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in prompts]
    id_mismatch = 0
    answers = []
    for text in texts:
        theirs = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        id_mismatch += theirs != tok(text, add_special_tokens=False)["input_ids"]
        llm.reset()
        out = llm.create_completion(theirs, max_tokens=max_new_tokens, temperature=0.0, top_k=1, top_p=1.0,
                                    repeat_penalty=1.0)
        answers.append(out["choices"][0]["text"])
    diff = [i for i, (a, b) in enumerate(zip(want, answers)) if a != b]
    return {"items": len(prompts), "prompt_ids_identical": len(prompts) - id_mismatch,
            "answers_identical": len(prompts) - len(diff),
            "differing_items": [{"item": i, "evaluated": want[i], "llama_cpp": answers[i]} for i in diff[:5]],
            "answers": answers, "passed": id_mismatch == 0 and not diff}

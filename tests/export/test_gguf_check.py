"""The GGUF export as llama.cpp sees it: token types, tokenizer fields, and (when built) llama.cpp itself."""

from __future__ import annotations

from pathlib import Path

import pytest

CHAT = [{"role": "system", "content": "Answer with JSON."},
        {"role": "user", "content": "where is my order ORD-12345? <not special> ünïcode ✓"}]


@pytest.fixture(scope="module", autouse=True)
def _parse_each_gguf_once():
    """The real GGUFs (49k-token vocabularies) take ~9 s to parse; each is read several times here."""
    from lorakit.io import gguf_parsed_once

    with gguf_parsed_once():
        yield


@pytest.fixture(scope="module")
def tiny_gguf(tiny_model_dir, tmp_path_factory) -> Path:
    from lorakit.export.gguf_writer import write_gguf

    return write_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf") / "model.gguf")


def test_every_special_token_is_control_and_the_rest_normal(tiny_gguf, tiny_model_dir):
    import gguf
    from transformers import AutoTokenizer

    from lorakit.export.gguf_check import read_tokenizer_fields

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    fields = read_tokenizer_fields(tiny_gguf)
    types = fields["tokenizer.ggml.token_type"]
    special = {i for i, t in tok.added_tokens_decoder.items() if t.special}
    assert tok.convert_tokens_to_ids("<|im_start|>") in special and len(special) == 17
    assert [i for i, t in enumerate(types) if t == gguf.TokenType.CONTROL] == sorted(special)
    assert all(types[i] == gguf.TokenType.NORMAL for i in range(len(types)) if i not in special)
    assert fields["tokenizer.ggml.add_bos_token"] is False and fields["tokenizer.ggml.add_space_prefix"] is False


def test_the_check_fails_on_special_tokens_typed_as_text(tiny_model_dir, tmp_path, monkeypatch):
    """What every export wrote before: all tokens NORMAL. The check must see it."""
    from transformers import AutoTokenizer

    from lorakit.export import gguf_writer
    from lorakit.export.gguf_check import tokenizer_metadata_check

    real = gguf_writer.vocab_with_types
    monkeypatch.setattr(gguf_writer, "vocab_with_types", lambda tok, n: (real(tok, n)[0], [1] * n))
    bad = gguf_writer.write_gguf(tiny_model_dir, tmp_path / "model.gguf")
    check = tokenizer_metadata_check(bad, AutoTokenizer.from_pretrained(tiny_model_dir), None)
    assert not check["passed"] and "<|im_start|>" in check["special_not_control"]


def _llama_cpp():
    from lorakit.export.gguf_check import llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama-cpp-python is not installed: `make llama-cpp` builds it once (no wheel for this platform)")


@pytest.mark.llamacpp
def test_llama_cpp_tokenizes_a_chat_prompt_like_the_training_tokenizer(tiny_gguf, tiny_model_dir):
    _llama_cpp()
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = tok.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    llm = Llama(str(tiny_gguf), vocab_only=True, verbose=False)
    ids = llm.tokenize(text.encode(), add_bos=False, special=True)
    assert ids == tok(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids("<|im_start|>")) == 3


# The real SmolLM2 export (tokenizer fields equal to the source GGUF's, llama.cpp's answers equal to
# transformers') is checked by the export check itself: tests/test_e2e_smollm2.py asserts each part of it.

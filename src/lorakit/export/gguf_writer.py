"""Write a merged Llama-family model as GGUF with the ``gguf`` package (f16 or q8_0).

The ``gguf`` package ships the writer, the tensor-name map and the tokenizer readers, but not
llama.cpp's ``convert_hf_to_gguf.py``; this module is the part of that script lorakit needs:
architecture metadata, the tokenizer (GPT-2 BPE) with its chat template, and the tensors renamed,
with the query/key rows permuted the way llama.cpp's rotary embedding expects (transformers'
GGUF loader undoes exactly this permutation when it reads the file back).
"""

from __future__ import annotations

import logging
from pathlib import Path

from lorakit.errors import ExportError

log = logging.getLogger(__name__)

SUPPORTED = {"llama"}  # SmolLM2 and other Llama-architecture models


def _permute(w, n_head: int):
    """llama.cpp's q/k row permutation (interleaved -> half-split rotary pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model_dir: str | Path, out_file: str | Path, *, quant: str = "f16",
               source_gguf: str | Path | None = None) -> Path:
    """Convert the Hugging Face folder ``model_dir`` (a merged model) to ``out_file``.

    ``source_gguf``: the GGUF the base model came from, if any; its tokenizer pre-tokenizer name
    is copied (llama.cpp needs it to split text like the original).
    """
    import gguf
    import numpy as np
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer

    model_dir, out_file = Path(model_dir), Path(out_file)
    cfg = AutoConfig.from_pretrained(model_dir)
    if cfg.model_type not in SUPPORTED:
        raise ExportError(f"GGUF export supports {sorted(SUPPORTED)} models; this one is {cfg.model_type!r}. "
                           "Export --format merged and convert it with llama.cpp's convert_hf_to_gguf.py")
    qtype = {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}.get(quant)
    if qtype is None:
        raise ExportError(f"unknown GGUF quantization {quant!r}; use f16 or q8_0")
    tok = AutoTokenizer.from_pretrained(model_dir)
    writer = gguf.GGUFWriter(str(out_file), "llama")
    writer.add_name(model_dir.name)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    writer.add_rope_dimension_count(head_dim)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta") or getattr(cfg, "rope_theta", 10000.0)
    writer.add_rope_freq_base(float(rope))
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0)
    _add_tokenizer(writer, model_dir, tok, cfg, source_gguf)

    tensors = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        tensors.update(load_file(f))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    if "lm_head.weight" in tensors and getattr(cfg, "tie_word_embeddings", False):
        del tensors["lm_head.weight"]
    for name, arr in tensors.items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        arr = arr.astype(np.float32) if arr.dtype != np.float32 else arr
        if name.endswith("q_proj.weight"):
            arr = _permute(arr, cfg.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            arr = _permute(arr, cfg.num_key_value_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ExportError(f"no GGUF name for tensor {name!r}")
        if arr.ndim == 1:  # norms stay f32, as llama.cpp writes them
            writer.add_tensor(new, arr)
        elif qtype == gguf.GGMLQuantizationType.Q8_0 and arr.shape[-1] % 32 == 0:
            writer.add_tensor(new, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(new, arr.astype(np.float16))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_file


def _looks_special(text: str) -> bool:
    """Added tokens that some models forget to flag special, as llama.cpp's converter recognises them."""
    return (text in ("<pad>", "<mask>") or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<unused") and text.endswith(">")))


def vocab_with_types(tok, vocab_size: int) -> tuple[list[str], list[int]]:
    """Token texts and llama.cpp token types, decided the way llama.cpp's ``convert_hf_to_gguf.py`` does.

    A token the tokenizer lists as added is CONTROL when it is special (or looks it, ``<|...|>``),
    USER_DEFINED otherwise; every other token is NORMAL; embedding rows beyond the tokenizer are
    UNUSED padding. ``gguf.vocab.BpeVocab`` is not used: it types only added tokens *outside* the
    base vocabulary, and SmolLM2's ``<|im_start|>`` sits inside it, so it came out NORMAL and
    llama.cpp split it into seven pieces of text.
    """
    import gguf

    reverse = {i: t for t, i in tok.get_vocab().items()}
    added = tok.added_tokens_decoder  # id -> AddedToken
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            text = reverse[i]
            if not added[i].normalized:  # llama.cpp expects added tokens pre-normalized
                text = tok.decode(tok.encode(text, add_special_tokens=False))
            tokens.append(text)
            types.append(gguf.TokenType.CONTROL if added[i].special or _looks_special(text)
                         else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(reverse[i])
            types.append(gguf.TokenType.NORMAL)
    return tokens, [int(t) for t in types]


def adds_special_tokens(tok) -> dict[str, bool]:
    """Whether tokenizing plain text adds BOS / EOS, read off the tokenizer's behaviour (llama.cpp's flags)."""
    plain = tok.encode("a", add_special_tokens=False)
    full = tok.encode("a", add_special_tokens=True)
    return {"bos": tok.bos_token_id is not None and full[:1] == [tok.bos_token_id] != plain[:1],
            "eos": tok.eos_token_id is not None and full[-1:] == [tok.eos_token_id] != plain[-1:]}


def _add_tokenizer(writer, model_dir: Path, tok, cfg, source_gguf) -> None:
    import json

    from gguf.vocab import SpecialVocab

    spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8")) \
        if (model_dir / "tokenizer.json").is_file() else {}
    model, decoder = spec.get("model", {}), spec.get("decoder") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or decoder.get("type") != "ByteLevel":
        raise ExportError(f"GGUF export needs a GPT-2 style byte-level BPE tokenizer (tokenizer.json) in {model_dir}; "
                          "export --format merged and convert it with llama.cpp's convert_hf_to_gguf.py")
    tokens, types = vocab_with_types(tok, cfg.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(source_gguf, spec.get("pre_tokenizer")))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = SpecialVocab(model_dir, load_merges=True, n_vocab=len(tokens))
    special.add_to_gguf(writer, quiet=True)  # bos/eos/pad ids, merges, the chat template
    if tok.chat_template and special.chat_template is None:
        writer.add_chat_template(tok.chat_template)
    adds = adds_special_tokens(tok)
    if "bos" not in special.add_special_token:  # said explicitly: llama.cpp's default differs by tokenizer
        writer.add_add_bos_token(adds["bos"])
    if "eos" not in special.add_special_token:
        writer.add_add_eos_token(adds["eos"])
    writer.add_add_space_prefix(False)  # byte-level BPE encodes the space itself


def _pre_tokenizer(source_gguf, pre_tokenizer: dict | None) -> str:
    """llama.cpp's name for how text is split before BPE: the source GGUF's, else read off tokenizer.json.

    llama.cpp's converter names it by hashing the tokenization of a probe text against a table of
    known models; lorakit recognises the two splitters it can vouch for by their structure (the
    llama.cpp check in ``lorakit export --check`` then verifies the ids) and says when it cannot.
    """
    if source_gguf is not None:
        from gguf import GGUFReader

        field = GGUFReader(str(source_gguf)).fields.get("tokenizer.ggml.pre")
        if field is not None:
            return bytes(field.parts[field.data[0]]).decode("utf-8")
    steps = (pre_tokenizer or {}).get("pretokenizers") or [pre_tokenizer or {}]
    kinds = [(p.get("type"), p.get("individual_digits"), p.get("use_regex")) for p in steps]
    if kinds == [("ByteLevel", None, True)]:
        return "gpt-2"  # GPT-2's own regex
    if kinds == [("Digits", True, None), ("ByteLevel", None, True)]:
        return "smollm"  # single digits, then GPT-2's regex (SmolLM, StarCoder)
    log.warning("GGUF export: unknown pre-tokenizer %s; writing 'default', which llama.cpp may split differently "
                "(run `lorakit export --check` with llama.cpp installed to see)", kinds)
    return "default"

"""Write a merged Llama-family model as GGUF with the ``gguf`` package (f16 or q8_0).

The ``gguf`` package ships the writer, the tensor-name map and the tokenizer readers, but not
llama.cpp's ``convert_hf_to_gguf.py``; this module is the part of that script lorakit needs:
architecture metadata, the tokenizer (GPT-2 BPE) with its chat template, and the tensors renamed,
with the query/key rows permuted the way llama.cpp's rotary embedding expects (transformers'
GGUF loader undoes exactly this permutation when it reads the file back).
"""

from __future__ import annotations

from pathlib import Path

from lorakit.errors import ExportError

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


def _add_tokenizer(writer, model_dir: Path, tok, cfg, source_gguf) -> None:
    import gguf
    from gguf.vocab import BpeVocab, SpecialVocab

    try:
        vocab = BpeVocab(model_dir)
    except (FileNotFoundError, ValueError) as e:
        raise ExportError(f"GGUF export needs a GPT-2 style BPE tokenizer (tokenizer.json): {e}") from None
    tokens, types = [], []
    for text, _, toktype in vocab.all_tokens():
        tokens.append(text)
        types.append(toktype)
    if len(tokens) < cfg.vocab_size:  # the embedding has padding rows beyond the tokenizer
        for i in range(len(tokens), cfg.vocab_size):
            tokens.append(f"[PAD{i}]".encode())
            types.append(gguf.TokenType.UNUSED)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(source_gguf))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = SpecialVocab(model_dir, load_merges=True, n_vocab=len(tokens))
    special.add_to_gguf(writer)  # bos/eos/pad ids, merges, and the chat template from tokenizer_config.json
    if tok.chat_template and special.chat_template is None:
        writer.add_chat_template(tok.chat_template)


def _pre_tokenizer(source_gguf) -> str:
    if source_gguf is None:
        return "default"
    from gguf import GGUFReader

    field = GGUFReader(str(source_gguf)).fields.get("tokenizer.ggml.pre")
    if field is None:
        return "default"
    return bytes(field.parts[field.data[0]]).decode("utf-8")

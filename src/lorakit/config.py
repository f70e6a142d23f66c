"""One typed configuration: YAML defaults, ``--set key=value`` overrides, unknown keys rejected.

``load_config`` collects every problem before failing, so a user fixes a config in one pass.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lorakit.errors import ConfigError

logger = logging.getLogger("lorakit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Strict):
    name: str = Field("smollm2-135m", description="preset name, local HF folder, .gguf file or hub id")


class EndpointConfig(_Strict):
    """An OpenAI-compatible model endpoint (Ollama, vLLM, a hosted API, ``lorakit serve``)."""

    base_url: str = Field(..., description="OpenAI-compatible endpoint, up to /v1")
    model: str = Field(..., description="the model's name at that endpoint")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key, if any")
    concurrency: int = Field(8, ge=1, le=256)
    timeout_s: float = Field(120.0, gt=0)


class TeacherConfig(EndpointConfig):
    questions_per_chunk: int = Field(6, ge=1, le=30, description="questions asked of the teacher per chunk")
    max_tokens: int = Field(768, ge=16)


class GateJudgeConfig(EndpointConfig):
    min_accuracy: int = Field(7, ge=0, le=10, description="drop rows the judge scores below this for accuracy")
    min_style: int = Field(5, ge=0, le=10, description="drop rows the judge scores below this for style")


# keys renamed since a release: old name -> new one; an old config or run record is read with the new name
RENAMED_DATA_KEYS = {"policy": "options"}


class DataConfig(_Strict):
    task: str = Field("support_ticket", description="a shipped task (support_ticket is the default), an installed "
                      "plug-in (entry point group lorakit.tasks), package.module:TASK (a Task), a JSON Schema file "
                      "or package.module:PydanticModel; see docs/custom-tasks.md")
    options: dict[str, Any] = Field({}, description="the task's own options, validated by the task (unknown keys "
                                    "rejected); e.g. the PDFs a document-QA task learns from")
    train_file: Path | None = Field(None, description="your data in any format of docs/data-formats.md; "
                                    "generated into the run folder when empty")
    eval_file: Path | None = Field(None, description="held-out data, scored as given (every row, in order); split "
                                   "off train_file when empty; alone (no train_file) it is scored against the "
                                   "task's generated train data or a trained run (lorakit eval RUN_DIR --data FILE)")

    format: Literal["auto", "chat", "sharegpt", "alpaca", "instruction", "prompt_completion", "csv"] = "auto"
    columns: dict[str, str] | None = Field(None, description="format field -> your field, for every file type; a "
                                           "dotted path reaches into nested objects, e.g. {prompt: question, "
                                           "completion: answer} or {prompt: data.q}")
    encoding: str = Field("utf-8", description="text encoding of your files, e.g. cp1252 or latin-1 (a UTF-8 "
                          "byte-order mark is always accepted)")
    system_prompt: str | None = Field(None, description="system prompt for rows that carry none")
    skip_bad: bool = Field(False, description="drop and count malformed rows instead of stopping")
    eval_fraction: float = Field(0.1, gt=0, lt=1, description="share split off for eval when eval_file is empty")
    dedup: bool = Field(True, description="remove exact/near duplicates and train rows that leak eval prompts")
    n_train: int = Field(6000, ge=1)
    n_eval: int = Field(800, ge=1)
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for old, new in RENAMED_DATA_KEYS.items():
            if old in data and data[old] is not None and not data.get(new):
                logger.warning("data.%s is now data.%s (same keys); read as data.%s, rename it in your config",
                               old, new, new)
                data = {**{k: v for k, v in data.items() if k != old}, new: data[old]}
            elif old in data and data[old] is None:
                data = {k: v for k, v in data.items() if k != old}
        return data


class LoraSettings(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="PEFT's lora_dropout, on each adapted layer's input (PEFT's, LLaMA-Factory's "
        "and Unsloth's default is 0 too); 0.05 gave the same accuracy on the support-ticket demo and trained slower: "
        "see docs/training.md")
    rank_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="dropout on the r-dimensional output of LoRA's A while training: a "
        "regulariser that costs almost nothing, unlike `dropout` (on every adapted layer's input)")
    target_modules: str | list[str] = "all-linear"


class DPOSettings(_Strict):
    """``train.method: dpo``: direct preference optimisation (Rafailov et al. 2023), sigmoid loss."""

    beta: float = Field(0.1, gt=0, description="how far the tuned model may move from the starting model (TRL's "
                        "default 0.1; larger: closer to the start)")
    sft_weight: float = Field(0.0, ge=0, description="add this times the chosen answers' per-token NLL to the loss "
                              "(TRL's rpo_alpha); keeps the chosen answers likely while the margin grows")
    pairs_file: Path | None = Field(
        None, description="your preference pairs ({prompt|messages, chosen, rejected} rows, TRL's format); empty: "
        "mined from the starting model's own mistakes on the train rows (the wrong answer rejected, the label chosen)")
    samples: int = Field(1, ge=1, le=16, description="mining: answers per train row (more than 1 needs temperature)")
    temperature: float = Field(0.0, ge=0, description="mining: sampling temperature (0: greedy)")
    balance: bool = Field(True, description="mining: drop pairs so no value of a field is rejected in more pairs "
                          "than it is chosen in (guards against DPO unlearning a value the model often gets wrong; on by "
                          "default, measured in docs/benchmarks.md); the dropped pairs are logged and recorded")


class GRPOSettings(_Strict):
    """``train.method: grpo``: group-relative policy optimisation (Shao et al. 2024) with a verifiable reward."""

    samples: int = Field(4, ge=2, le=32, description="answers sampled per train row (the group)")
    temperature: float = Field(0.8, gt=0, description="sampling temperature of the answers")
    max_new_tokens: int | None = Field(None, ge=1, description="longest sampled answer (default: eval.max_new_tokens)")
    reward: str | None = Field(None, description="package.module:function (answer, expected, item) -> float; "
                               "default: the task's scorer (JSON: 0 not JSON, 0.2 valid, +0.1 schema, +0.7 x share "
                               "of fields right)")
    field_weights: dict[str, float] = Field({}, description="the scorer reward's weight per field (JSON tasks: field "
                                            "path, e.g. {intent: 2}; default 1 each)")


class TrainConfig(_Strict):
    method: Literal["sft", "dpo", "grpo"] = Field(
        "sft", description="sft: supervised on the train rows; dpo: preference pairs (train.dpo), the starting model "
        "(train.init_from, else the base) as the reference; grpo: sampled answers scored by a reward (train.grpo)")
    head: Literal["lm", "classification"] = Field(
        "lm", description="lm: answers are generated text; classification: for label tasks (every train answer "
        "from a closed label set): LoRA + a linear head on the prompt's last token (PEFT SEQ_CLS), trained with "
        "cross-entropy over the labels, answering with a label in one forward pass (eval, predict, serve; GGUF "
        "cannot carry the head). Measured on hand-written intents: 7x faster answers, 3 points less accuracy at "
        "equal training time (docs/training.md), so lm stays the default")
    head_init: Literal["label_words", "random"] = Field(
        "label_words", description="train.head=classification: label_words starts each label's row of the head at "
        "the embedding of the label's words (track_order -> 'track order'; labels with no letters start random); "
        "random: transformers' initialisation")
    init_from: Path | None = Field(
        None, description="start from this run's adapter (a run folder or an adapter folder) instead of a fresh "
        "LoRA; its LoRA shape replaces train.lora")
    lora: LoraSettings = LoraSettings()
    dpo: DPOSettings = DPOSettings()
    grpo: GRPOSettings = GRPOSettings()
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    max_examples: int | None = Field(None, ge=1, description="train on the first N rows of the train file (dpo: "
                                     "mine pairs from them)")
    first_example: int = Field(0, ge=0, description="skip this many rows of the train file first (e.g. continue "
                               "an init_from run on rows it has not seen)")
    batch_size: int = Field(16, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(2e-4, gt=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    neftune_alpha: float | None = Field(
        None, gt=0, description="NEFTune: uniform noise of this scale on the input embeddings while training "
        "(Jain et al. 2023; 5 is the paper's usual value); none at evaluation")
    max_seq_len: int = Field(512, ge=16)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    quantization: Literal["none", "nf4"] = Field(
        "none", description="nf4: QLoRA, the frozen base loaded in 4-bit NF4 by bitsandbytes (double quantization, "
        "computing in train.precision); needs `pip install 'lorakit[qlora]'`"
    )
    device: str = "auto"
    compile: Literal["auto"] | bool = Field(
        "auto", description="torch.compile the decoder layers while training (regional compilation). auto: on "
        "CPU for sft/dpo runs of 150k tokens or more (50k when an earlier run left these layers in inductor's cache), "
        "with LoRA dropout only at batches of 8+ (measured 1.1-1.9x tokens/s after the first step, which compiles: "
        "~35 s-2.5 min cold on 2 cores, 8-25 s with inductor's cache warm); true: any device and method; false: eager")
    attention: Literal["auto", "eager", "sdpa"] = Field(
        "auto", description="the attention kernel while training. auto: eager on CPU (measured 1.02-1.10x SDPA's "
        "tokens/s for these short training sequences on a bf16 AMX Xeon; SDPA used 12-20% less peak memory there: "
        "docs/benchmarks.md), transformers' default (SDPA) elsewhere")
    packing: bool = Field(
        False, description="sft: run each batch as one row of its sequences end to end, with no padding (position "
        "ids restart per sequence; transformers masks attention block by block, flash-attention varlen on CUDA). "
        "Off by default: on CPU, beside lorakit's length-bucketed batches (~4% padding), it ran at 0.63-0.95x their "
        "tokens/s with more memory (docs/training.md); on CUDA unmeasured")
    group_by_length: bool = Field(
        True, description="batches of rows of similar length (on the demo's rows 1.04x the real tokens computed, "
        "against 1.27x random at batch 4 and 1.42x at 8); false: uniformly random batches, as HF's Trainer samples. "
        "The same accuracy on the demo over three training seeds (docs/training.md)")
    checkpoint_every: int = Field(50, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(5, ge=1)
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(
        [], description="experiment trackers that receive loss, lr, tokens/s and every eval arm's metrics, in the "
        "run folder (tensorboard/, mlruns/, wandb/ offline); pip install 'lorakit[tracking]'")
    seed: int = 0

    @model_validator(mode="after")
    def _head_needs_sft(self):
        if self.head == "classification" and self.method != "sft":
            raise ValueError(f"train.head=classification trains with cross-entropy over the labels (method sft); "
                             f"train.method={self.method} needs train.head=lm")
        if self.head == "classification" and self.init_from is not None:
            raise ValueError("train.head=classification starts from a fresh LoRA and head; train.init_from (an "
                             "adapter of the language-model head) does not fit it: drop train.init_from")
        if self.packing and (self.method != "sft" or self.head != "lm"):
            raise ValueError(f"train.packing packs sft batches of the language-model head; train.method={self.method}"
                             f", train.head={self.head} runs its rows padded: drop train.packing")
        return self


class OpenAIBackend(_Strict):
    base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint, up to /v1")
    models: dict[str, str] = Field({"base": "base", "tuned": "tuned"},
                                   description="lorakit model (base, tuned) -> the name the endpoint serves it under")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key, if any")
    concurrency: int = Field(8, ge=1, le=256)
    timeout_s: float = Field(120.0, gt=0)
    response_format: Literal["auto", "json_schema", "json_object"] = Field(
        "auto", description="how the constrained arm sends the schema: json_schema (OpenAI, vLLM, llama-server), "
        "json_object with a schema beside it (llama-cpp-python's server), auto: the first, else the second")
    extra_body: dict[str, Any] = Field(
        {}, description="fields added to every request, for a server's own sampling options, e.g. "
        "{repeat_penalty: 1.0} for llama-cpp-python's server (its default 1.1 penalises repeats even at temperature 0)")


class JudgeConfig(EndpointConfig):
    """The eval judge: grades every answer 0-10 against the reference."""


class EvalConfig(_Strict):
    backend: Literal["local", "openai"] = Field(
        "local", description="local: load the models in-process; openai: ask eval.openai.base_url for every answer")
    openai: OpenAIBackend = OpenAIBackend()
    judge: JudgeConfig | None = Field(None, description="grade every answer 0-10 with an LLM judge (judge_score)")
    limit: int | None = Field(None, ge=1, description="evaluate the first N items only")
    batch_size: int = Field(32, ge=1)
    max_new_tokens: int = Field(160, ge=1)
    prompt: Literal["auto", "file"] = Field(
        "auto", description="auto: each model's own prompt (tuned: training prompt, base: full instruction)"
    )
    models: list[Literal["base", "tuned"]] = ["base", "tuned"]
    context: Literal["given", "retrieved"] = Field(
        "given", description="given: each item as written; retrieved: a task that answers from documents finds its "
        "excerpts itself (BM25 over the run's chunks, top retrieve_k), as a user without the excerpt would ask; "
        "recall@k is reported beside the answer metrics")
    retrieve_k: int = Field(3, ge=1, le=20, description="excerpts retrieved per question (eval.context: retrieved, "
                            "lorakit ask)")
    run_dir: Path | None = Field(None, description="the trained run whose adapter is the tuned model (default: "
                                 "output_dir); results then go to output_dir")
    decoding: list[str] = Field(
        ["free"], min_length=1, description="free: plain greedy; constrained: greedy within the task's grammar "
        "(llguidance); or a decoding mode of the task's own (Task.decoders, such as a calculator that computes "
        "step values instead of guessing them); checked against the task before anything runs. Each model is evaluated once per entry: "
        "[free, constrained] gives base, base+constrained, tuned, ..."
    )
    kl_items: int = Field(
        50, ge=0, description="items on which to measure KL(tuned || base) of next-token distributions; 0: skip"
    )
    general_prompts: int = Field(
        20, ge=0, le=20, description="what tuning cost: base and tuned answer this many everyday prompts shipped with "
        "lorakit (no task content); KL(tuned || base) on them and a few answers side by side in the report; 0: skip")
    stop_when_not_json: bool = Field(
        True, description="end an answer once it cannot become a JSON object (first character not '{'); "
        "scores are unchanged under strict parsing, the saved raw output is then only its first words"
    )
    prefix_cache: Literal["auto", "on", "off"] = Field(
        "auto", description="encode the tokens every prompt shares (the base arm's task instruction, a system prompt) "
        "once, not once per item; auto: in fp32 only, where answers are identical (in bf16 some answers change)")


class RunConfig(_Strict):
    output_dir: Path = Path("runs/support_ticket")
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()


class ServeConfig(_Strict):
    """``lorakit serve``: what is served, where, and the limits every request is held to."""

    runs: list[str] = Field([], description="run folders to serve, as NAME=RUN_DIR or RUN_DIR")
    adapters: Path | None = Field(None, description="a folder of adapters (or run folders), loaded by name on first "
                                  "request")
    base_model: str | None = Field(None, description="base model (default: the runs' base, else smollm2-135m)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_batch: int = Field(16, ge=1, description="requests answered by one generate call (1: no batching)")
    batch_wait_ms: float = Field(10.0, ge=0, description="how long the first request waits for company")
    max_tokens: int = Field(1024, ge=1, description="largest max_tokens a request may ask for")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="largest request body")
    max_messages: int = Field(64, ge=1, description="most messages per request")
    api_key_env: str = Field("LORAKIT_API_KEY", description="environment variable holding the API key (unset: no key)")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 on Ampere+ GPUs, fp16 on older ones, bf16 on CPUs with fast bf16, else fp32")
    device: str = Field("auto", description="auto: cuda when present, else cpu; or cpu, cuda, cuda:1, ...")
    prefix_cache: Literal["auto", "on", "off"] = Field(
        "auto", description="encode a prompt prefix that recurs (a system prompt) once per adapter and reuse it; "
        "auto: in fp32 only, where answers are identical (in bf16 some answers change)")


class ExportConfig(_Strict):
    """``lorakit export``: the trained run, the format, and the parity check."""

    run_dir: Path = Field(..., description="a run folder holding a trained adapter")
    format: Literal["peft", "merged", "gguf", "ollama"] = Field("merged", description="peft, merged, gguf or ollama")
    out: Path | None = Field(None, description="output folder (default RUN_DIR/export/FORMAT)")
    quant: Literal["f16", "q8_0"] = Field("f16", description="GGUF weights: f16 or q8_0")
    check: bool = Field(False, description="re-answer eval items with the export; fail if any answer differs")
    check_items: int = Field(16, ge=1, description="eval items the check re-answers")


class PredictConfig(_Strict):
    """``lorakit predict``: the trained run and how it answers."""

    run_dir: Path = Field(..., description="a trained run folder")
    input: Path | None = Field(None, description="input lines (default: stdin)")
    constrained: bool = Field(False, description="decode within the task's JSON Schema")
    batch_size: int = Field(16, ge=1, description="lines answered together")
    max_new_tokens: int | None = Field(None, ge=1, description="answer length limit (default: the run's eval.max_new_tokens)")
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:N")


class AskConfig(_Strict):
    """``lorakit ask``: the trained run, the questions, and how many excerpts each one gets."""

    run_dir: Path = Field(..., description="a trained run whose task answers from documents")
    questions: list[str] = Field([], description="the questions (none: one per line of stdin)")
    k: int | None = Field(None, ge=1, le=20, description="excerpts retrieved per question (default: the run's "
                          "eval.retrieve_k)")
    max_new_tokens: int | None = Field(None, ge=1, description="answer length limit (default: the run's "
                                       "eval.max_new_tokens)")
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:N")


def _parse_override(item: str) -> tuple[list[str], object]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.path=value (for example train.lr=1e-4)")
    key, raw = item.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else None


def _apply(tree: dict, keys: list[str], value: object) -> None:
    node = tree
    for k in keys[:-1]:
        if node.get(k) is None:  # an absent or null section (data.columns: null) starts empty
            node[k] = {}
        child = node[k]
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {'.'.join(keys)}: {k} is not a section")
        node = child
    node[keys[-1]] = value


def format_errors(err: ValidationError, source: str, prefix: str = "") -> str:
    """Every problem of ``err``, one per line, keyed by its dotted path (``prefix`` in front: a sub-section)."""
    lines = [f"invalid configuration ({source}), {err.error_count()} problem(s):"]
    for e in err.errors():
        where = ".".join([prefix] * bool(prefix) + [str(p) for p in e["loc"]]) or "(root)"
        msg = "unknown key (check the spelling; see docs or `lorakit run --help`)" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  - {where}: {msg}")
    return "\n".join(lines)


C = TypeVar("C", bound=BaseModel)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, model: type[C] = RunConfig) -> C:
    """Build a :class:`RunConfig` (or another verb's ``model``) from an optional YAML file and ``key=value``
    overrides."""
    tree: dict = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {e}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of keys ({', '.join(model.model_fields)})")
        tree = loaded or {}
    for item in overrides or []:
        _apply(tree, *_parse_override(item))
    try:
        return model.model_validate(tree)
    except ValidationError as e:
        raise ConfigError(format_errors(e, source)) from None


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)

"""End to end on the real embedded SmolLM2-135M: a few real training steps and a real evaluation."""

import json

import pytest
import torch

pytestmark = pytest.mark.slow


def test_converted_checkpoint_has_the_gguf_logits(smollm2_dir):
    from transformers import AutoModelForCausalLM

    from lorakit.io import gguf_parsed_once
    from lorakit.models.loader import resolve_model

    src = resolve_model("smollm2-135m")
    with gguf_parsed_once():  # transformers reads the file for the config and again for the weights
        gguf = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file)
    plain = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    ids = torch.tensor([[1, 504, 3458, 282, 2767, 314, 253, 1164]])
    with torch.inference_mode():
        torch.testing.assert_close(plain(ids).logits, gguf(ids).logits, rtol=0, atol=0)


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    """One short SFT run of SmolLM2 that the tests below evaluate, export and start DPO / GRPO from (each had
    trained its own: ~15 s apiece of data, model loading and steps)."""
    from lorakit.config import load_config
    from lorakit.train.trainer import train

    out = tmp_path_factory.mktemp("smollm2-sft")
    cfg = load_config(None, [f"output_dir={out}", "data.n_train=24", "data.n_eval=4", "train.batch_size=4",
                             "train.max_steps=3", "train.lr=1e-3", "eval.batch_size=4", "eval.max_new_tokens=32"])
    return cfg, train(cfg)


def test_real_model_trains_and_evaluates(sft_run):
    from transformers import AutoModelForCausalLM

    from lorakit.eval.runner import evaluate

    cfg, result = sft_run
    trained = result.model.get_base_model()
    params = dict(trained.named_parameters())
    lora_b = [p for n, p in params.items() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)
    fresh = AutoModelForCausalLM.from_pretrained(result.model.peft_config["default"].base_model_name_or_path)
    q = "model.layers.0.self_attn.q_proj"
    torch.testing.assert_close(params[f"{q}.base_layer.weight"], fresh.get_parameter(f"{q}.weight").to(params[f"{q}.base_layer.weight"].dtype),
                               rtol=0, atol=0)

    results = evaluate(cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"models": ["tuned"]})}))
    overall = results["models"]["tuned"]["overall"]
    assert overall["n"] == 4 and 0.0 <= overall["valid_json"] <= 1.0
    assert results["training"]["steps"] == 3


def test_qlora_nf4_trains_the_real_model_on_cpu(tmp_path):
    """QLoRA: the frozen base in 4-bit NF4 (bitsandbytes' CPU backend), LoRA trained on top."""
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    from lorakit.config import load_config
    from lorakit.train.trainer import train

    # one step of 2 short rows: bitsandbytes' CPU 4-bit kernels are slow, and one step shows LoRA B moved
    cfg = load_config(None, [f"output_dir={tmp_path}", "data.n_train=8", "data.n_eval=4", "train.batch_size=2",
                             "train.max_steps=1", "train.lr=1e-3", "train.quantization=nf4"])
    result = train(cfg)
    base = result.model.get_base_model()
    q = base.get_submodule("model.layers.0.self_attn.q_proj")
    assert isinstance(q.base_layer, bnb.nn.Linear4bit) and q.base_layer.weight.quant_type == "nf4"
    lora_b = [p for n, p in base.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)
    from lorakit.models import load_model

    record = json.loads((tmp_path / "adapter" / "run_record.json").read_text())
    assert record["quantization"] == "nf4"
    # NF4 quantization is deterministic for the same input: the run quantized the weights as loaded in its compute
    # dtype (bf16 where the CPU has fast bf16), and bf16-rounded weights pack differently from fp32 ones
    from lorakit.runtime import dtype_name

    fresh, _, _ = load_model("smollm2-135m", quantization="nf4", dtype=dtype_name(record["precision"]))
    fresh_q = fresh.get_submodule("model.layers.0.self_attn.q_proj")
    assert torch.equal(q.base_layer.weight.data, fresh_q.weight.data)  # packed 4-bit weights did not move


def test_real_model_exports_to_gguf_and_ollama_with_parity(sft_run, tmp_path):
    """SmolLM2 + a briefly trained adapter -> GGUF (f16) + Modelfile; read back by transformers."""
    from lorakit.export import export

    cfg, _ = sft_run
    rec = export(cfg.output_dir, "ollama", tmp_path / "ollama", check=True, check_items=2)
    check = rec["check"]
    # identical, or parted at a near tie that f16 weights may flip (tests/export/test_parity.py)
    assert check["passed"] and check["answers_identical"] + check.get("near_ties", 0) == 2
    assert check["logits_rel_gap"] < 1e-2 and check["template_identical"] and check["chat_template_in_gguf"]
    # what llama.cpp reads: every tokenizer field equal to the source GGUF's, the 17 special tokens CONTROL
    tokenizer = check["tokenizer"]
    assert tokenizer["passed"] and tokenizer["differs_from_source"] == [] and tokenizer["special_tokens"] == 17
    assert tokenizer["special_not_control"] == [] and tokenizer["vocab_mismatches"] == 0
    from lorakit.export.gguf_check import llama_cpp_available

    if llama_cpp_available():  # llama.cpp itself: same prompt ids, same greedy answers as transformers
        assert check["llama_cpp"]["prompt_ids_identical"] == 2 and check["llama_cpp"]["answers_identical"] == 2
    else:
        assert "skipped" in check["llama_cpp"]


def test_real_model_dpo_and_grpo_from_an_sft_run_through_the_cli(sft_run, tmp_path):
    """`lorakit train CONFIG --set train.method=dpo|grpo` on SmolLM2, from a short SFT run: DPO mines its pairs from
    the SFT model's mistakes, GRPO samples and scores with the task's scorer; both move the SFT adapter."""
    import json

    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from lorakit.cli import app

    common = ["--set", "data.n_train=24", "--set", "data.n_eval=4", "--set", "train.batch_size=2",
              "--set", "eval.max_new_tokens=16", "--set", "eval.batch_size=8", "--set", "train.lr=1e-3"]
    runner = CliRunner()
    sft = sft_run[0].output_dir
    start = load_file(str(sft / "adapter" / "adapter_model.safetensors"))
    for method, extra in (("dpo", ["--set", "train.max_examples=4"]),
                          ("grpo", ["--set", "train.grpo.samples=2", "--set", "train.grpo.max_new_tokens=16"])):
        out = tmp_path / method
        res = runner.invoke(app, ["train", "--set", f"output_dir={out}", "--set", f"train.method={method}",
                                  "--set", f"train.init_from={sft}", "--set", "train.first_example=8",
                                  "--set", "train.max_steps=1", *extra, *common])
        assert res.exit_code == 0, res.output
        record = json.loads((out / "adapter" / "run_record.json").read_text())
        assert record["method"] == method and record["init_from"] == str(sft / "adapter")
        log = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
        assert ("rewards/margin" if method == "dpo" else "reward") in log
        if method == "dpo" or log["trained_share"] > 0:  # GRPO: a group whose answers all scored alike has no gradient
            tuned = load_file(str(out / "adapter" / "adapter_model.safetensors"))
            assert any(not torch.equal(start[k], tuned[k]) for k in start)

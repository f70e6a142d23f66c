"""train.compile: when auto compiles, and a compiled run trains the same model as an eager one."""

import json

import pytest
import torch

from lorakit.train.compile import MIN_TOKENS, MIN_TOKENS_WARM, repeated_blocks, should_compile


@pytest.mark.parametrize("setting,device,method,tokens,dropout,batch,expected", [
    ("auto", "cpu", "sft", MIN_TOKENS, 0.0, 4, True),
    ("auto", "cpu", "sft", 10**6, 0.05, 8, True),  # LoRA dropout at batch 8: compiled was faster
    ("auto", "cpu", "sft", 10**6, 0.05, 4, False),  # at batch 4 it was not
    ("auto", "cpu", "dpo", 10**6, 0.0, 4, True),
    ("auto", "cpu", "sft", MIN_TOKENS - 1, 0.0, 4, False),  # too short to repay compiling
    ("auto", "cpu", "grpo", 10**6, 0.0, 4, False),  # samples with the layers between steps
    ("auto", "cuda:0", "sft", 10**6, 0.0, 4, False),  # measured on CPU only
    (True, "cuda:0", "grpo", 1, 0.05, 1, True),
    (False, "cpu", "sft", 10**6, 0.0, 4, False),
])
def test_auto_compiles_long_cpu_runs_of_sft_and_dpo_and_says_why(setting, device, method, tokens, dropout, batch,
                                                                 expected):
    compile_it, why = should_compile(setting, device, method, tokens, dropout, batch)
    assert compile_it is expected and why.startswith(f"train.compile={str(setting).lower()}")


@pytest.mark.parametrize("tokens,warm,expected", [
    (MIN_TOKENS_WARM, {"when": "a run on 2026-12-06 00:30"}, True),
    (MIN_TOKENS_WARM - 1, {"when": "a run on 2026-12-06 00:30"}, False),
    (MIN_TOKENS_WARM, None, False),  # cold, the same run is too short
])
def test_auto_compiles_shorter_runs_when_inductors_cache_holds_the_layers_and_says_so(tokens, warm, expected):
    compile_it, why = should_compile("auto", "cpu", "sft", tokens, 0.0, 8, warm)
    assert compile_it is expected
    assert ("holds these layers from a run on 2026-12-06 00:30" in why) if warm else ("a cold compile assumed" in why)


def test_the_compile_marker_lives_in_inductors_cache_and_is_keyed_by_what_shapes_the_graph(tiny_model_dir, tmp_path,
                                                                                          monkeypatch):
    """No marker: cold. After remember_compile: warm, for the same key only; other LoRA settings, another
    precision, attention kernel or backend is another key; a torn marker reads as cold; no marker without the disk cache."""
    from transformers import AutoModelForCausalLM

    from lorakit.train import compile as comp

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    monkeypatch.setattr(comp, "BACKEND", "inductor")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    key = comp.compile_key(model, "bf16", {"lora": {"r": 16}})
    assert comp.earlier_compile(key) is None
    comp.remember_compile(key, 8.4)
    assert comp.earlier_compile(key)["first_step_seconds"] == 8.4
    assert list((tmp_path / "inductor" / "lorakit").iterdir()) == [tmp_path / "inductor" / "lorakit" / f"{key}.json"]
    others = {comp.compile_key(model, "bf16", {"lora": {"r": 8}}), comp.compile_key(model, "fp32", {"lora": {"r": 16}})}
    other_kernel = "sdpa" if model.config._attn_implementation != "sdpa" else "eager"
    model.set_attn_implementation(other_kernel)  # not in config.to_dict(), yet traced into the layers
    others.add(comp.compile_key(model, "bf16", {"lora": {"r": 16}}))
    monkeypatch.setattr(comp, "BACKEND", "aot_eager")
    others.add(comp.compile_key(model, "bf16", {"lora": {"r": 16}}))
    assert key not in others and len(others) == 4
    assert comp.earlier_compile(key) is None  # the test backend compiles nothing into inductor's cache
    monkeypatch.setattr(comp, "BACKEND", "inductor")
    (tmp_path / "inductor" / "lorakit" / f"{key}.json").write_text("{torn")
    assert comp.earlier_compile(key) is None
    # torch's own patcher: monkeypatch would delete the config entry on undo (it is not in the module's __dict__)
    before = torch._inductor.config.fx_graph_cache
    with torch._inductor.config.patch(fx_graph_cache=False):
        comp.remember_compile("other", 1.0)
    assert not (tmp_path / "inductor" / "lorakit" / "other.json").exists()
    assert torch._inductor.config.fx_graph_cache == before  # restored for the tests after this one


@pytest.fixture(autouse=True)
def _trace_without_cpp(monkeypatch):
    """The training tests trace and partition like inductor, then run the graphs eagerly: no C++ compiling (220 s
    on 2 cores for these two tests with inductor). Inductor's own kernels for lorakit's op, the hashed dropout
    mask, are checked in tests/train/test_lora_dropout.py; its speed in benchmarks/train_throughput.py."""
    monkeypatch.setattr("lorakit.train.compile.BACKEND", "aot_eager")


def _train(tiny_config, out, compile_setting, dropout):
    from lorakit.train.trainer import train

    cfg = tiny_config.model_copy(deep=True)
    cfg.output_dir = out
    cfg.train.compile, cfg.train.precision, cfg.train.lora.dropout = compile_setting, "fp32", dropout
    cfg.train.max_steps, cfg.train.checkpoint_every = 3, 100
    result = train(cfg)
    return result, [json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_a_compiled_run_trains_as_the_eager_one_and_leaves_the_layers_eager(tiny_config, tmp_path):
    """Dropout 0, fp32: the same losses (to float rounding of fused kernels); after training, the layers run
    eagerly again (generation with a KV cache would recompile them) and the record says it was compiled."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    eager, eager_losses = _train(tiny_config, tmp_path / "eager", False, 0.0)
    compiled, compiled_losses = _train(tiny_config, tmp_path / "compiled", True, 0.0)
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    assert counters["stats"]["unique_graphs"] == 1  # every layer, the first one too, shares one graph
    assert all(b._compiled_call_impl is None for b in repeated_blocks(compiled.model))
    record = json.loads((tmp_path / "compiled" / "adapter" / "run_record.json").read_text())
    assert record["compiled"] is True
    assert json.loads((tmp_path / "eager" / "adapter" / "run_record.json").read_text())["compiled"] is False


def test_a_compiled_run_leaves_a_marker_and_the_next_auto_run_compiles_at_the_warm_threshold(tiny_config, tmp_path,
                                                                                             monkeypatch, caplog):
    """Run 1 (``true``) compiles and leaves the marker; run 2 (``auto``, shorter than the cold threshold and
    longer than the warm one) finds it, compiles, logs why and records a warm cache. (The marker path stands in
    for inductor's directory: the test backend, aot_eager, writes nothing there.)"""
    import logging

    from lorakit.train import compile as comp

    monkeypatch.setattr(comp, "_marker", lambda key: tmp_path / "markers" / f"{key}.json")
    monkeypatch.setattr(comp, "MIN_TOKENS", 10**9)
    monkeypatch.setattr(comp, "MIN_TOKENS_WARM", 1)
    _train(tiny_config, tmp_path / "first", True, 0.0)
    assert len(list((tmp_path / "markers").iterdir())) == 1
    with caplog.at_level(logging.INFO, logger="lorakit"):
        _train(tiny_config, tmp_path / "second", "auto", 0.0)
    record = json.loads((tmp_path / "second" / "adapter" / "run_record.json").read_text())
    assert record["compiled"] is True and record["compile_cache_warm"] is True
    assert any("inductor's cache holds these layers from a run on" in r.getMessage() for r in caplog.records)


def test_compiled_lora_dropout_traces_without_graph_breaks_and_draws_new_masks(tiny_model_dir, monkeypatch):
    """Under compile the adapted layers use the hashed mask: no break into eager (a break per adapted layer had
    made a compiled step slower than an eager one), a new mask every training forward, and two forwards before
    one backward (a preference loss in two passes) each keep their own mask seed (a seed changed in place had
    failed autograd's version check)."""
    from torch._dynamo.utils import counters

    from lorakit.train.compile import compiled_layers
    from lorakit.train.lora_dropout import lean_lora_dropout
    from tests.train.test_lora_dropout import _lora

    monkeypatch.setattr("lorakit.train.compile.DYNAMIC", False)  # one shape here; symbolic shapes trace 3.7x slower
    torch._dynamo.reset()
    counters.clear()
    model = _lora(tiny_model_dir, 0.3)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # B starts at zero, and then no mask would show in the output
            torch.nn.init.normal_(p.data)
    ids = torch.randint(0, 1000, (2, 24))
    with compiled_layers(model, True) as compiled, lean_lora_dropout(model, compiled=compiled), \
            torch.autocast("cpu", dtype=torch.bfloat16):  # as training runs it: a bf16 base, fp32 adapters
        first = model(input_ids=ids, use_cache=False).logits
        second = model(input_ids=ids, use_cache=False).logits
        (first.float().square().mean() + second.float().square().mean()).backward()
    model.eval()  # after training, eager again: PEFT's own path, no dropout in eval mode
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        plain = model(input_ids=ids).logits
    assert compiled and sum(counters["graph_break"].values()) == 0
    assert counters["stats"]["unique_graphs"] == 1  # a new seed tensor each forward recompiles nothing
    assert not torch.equal(first, second) and not torch.equal(first, plain)
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_A" in n)



def test_rank_dropout_hooks_run_inside_compiled_layers_and_leave_with_them(tiny_model_dir, monkeypatch):
    """The trainer compiles the layers first and hooks the LoRA A outputs (``train.lora.rank_dropout``) after: the
    compiled graph must trace the hooks (two training forwards differ, with no break into eager), and once both
    blocks are left the model answers as it did before either."""
    from torch._dynamo.utils import counters

    from lorakit.train.compile import compiled_layers
    from lorakit.train.trainer import rank_dropout
    from tests.train.test_lora_dropout import _lora

    monkeypatch.setattr("lorakit.train.compile.DYNAMIC", False)
    torch._dynamo.reset()
    counters.clear()
    model = _lora(tiny_model_dir, 0.0)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # B starts at zero, and then no dropped A value would show in the output
            torch.nn.init.normal_(p.data)
    ids = torch.randint(0, 1000, (2, 24))
    model.train()
    with torch.no_grad():
        before = model(input_ids=ids, use_cache=False).logits
    with compiled_layers(model, True) as compiled, rank_dropout(model, 0.5):
        first = model(input_ids=ids, use_cache=False).logits
        second = model(input_ids=ids, use_cache=False).logits
        first.float().square().mean().backward()
    with torch.no_grad():
        after = model(input_ids=ids, use_cache=False).logits
    assert compiled and sum(counters["graph_break"].values()) == 0
    assert not torch.equal(first, second) and not torch.equal(first, before)
    torch.testing.assert_close(after, before, rtol=0, atol=0)

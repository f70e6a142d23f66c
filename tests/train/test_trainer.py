import pytest
import torch
from safetensors.torch import load_file

from lorakit.errors import TrainError
from lorakit.train.trainer import train
from tests.train.interrupt import train_until


def _adapter(path):
    return load_file(str(path / "adapter_model.safetensors"))


def test_training_moves_lora_weights_and_not_the_base(tiny_config, tiny_model_dir, caplog):
    from transformers import AutoModelForCausalLM

    with caplog.at_level("INFO", logger="lorakit"):
        result = train(tiny_config)
    # not on a terminal (as here, or piped to a CI log): a plain progress line every tenth of the run
    assert [r.getMessage().split("  ")[0] for r in caplog.records if r.getMessage().startswith("train step")] == \
        ["train step 1/4", "train step 2/4", "train step 3/4", "train step 4/4"]
    weights = _adapter(result.adapter_dir)
    assert weights and all("lora_" in k for k in weights)
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero; training moved it

    fresh = AutoModelForCausalLM.from_pretrained(tiny_model_dir).to(result.model.dtype)
    trained = result.model.get_base_model()
    for name, p in fresh.named_parameters():
        key = name.replace(".weight", ".base_layer.weight")
        base_p = dict(trained.named_parameters()).get(key, dict(trained.named_parameters()).get(name))
        torch.testing.assert_close(base_p.to(p.dtype), p, rtol=0, atol=0)

    log = (tiny_config.output_dir / "train_log.jsonl").read_text().splitlines()
    assert len(log) == tiny_config.train.max_steps
    assert (result.adapter_dir / "run_record.json").is_file()


def test_resume_after_interruption_reproduces_the_uninterrupted_adapter(tiny_config, tmp_path):
    straight = train(tiny_config.model_copy(update={"output_dir": tmp_path / "a"}))
    cfg_b = tiny_config.model_copy(update={"output_dir": tmp_path / "b"})
    assert train_until(cfg_b, 2).step == 2  # checkpointed, no adapter
    resumed = train(cfg_b, resume=True)
    a, b = _adapter(straight.adapter_dir), _adapter(resumed.adapter_dir)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    assert (tmp_path / "a" / "train_log.jsonl").read_text() != ""


def test_same_seed_same_adapter(tiny_config, tmp_path):
    a = train(tiny_config.model_copy(update={"output_dir": tmp_path / "x"}))
    b = train(tiny_config.model_copy(update={"output_dir": tmp_path / "y"}))
    for k, v in _adapter(a.adapter_dir).items():
        torch.testing.assert_close(v, _adapter(b.adapter_dir)[k], rtol=0, atol=0)


def test_resume_without_checkpoint_is_explained(tiny_config):
    with pytest.raises(TrainError, match="no intact checkpoint .* without --resume"):
        train(tiny_config, resume=True)


def test_neftune_adds_bounded_noise_in_training_mode_only_and_only_inside_its_block(tiny_model_dir):
    import math

    from transformers import AutoModelForCausalLM

    from lorakit.train.trainer import neftune

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    emb, ids = model.get_input_embeddings(), torch.tensor([[1, 2, 3, 4, 5]])
    clean = emb(ids).detach()
    model.train()
    with neftune(model, alpha=5.0):
        diff = (emb(ids).detach() - clean).abs()
        assert diff.min() > 0 and diff.max() <= 5.0 / math.sqrt(5 * clean.shape[-1]) + 1e-7
        model.eval()
        torch.testing.assert_close(emb(ids).detach(), clean, rtol=0, atol=0)
        model.train()
    torch.testing.assert_close(emb(ids).detach(), clean, rtol=0, atol=0)  # hook removed


def test_neftune_changes_what_training_learns(tiny_config, tmp_path):
    plain = train(tiny_config.model_copy(update={"output_dir": tmp_path / "plain"}))
    noisy_cfg = tiny_config.model_copy(update={
        "output_dir": tmp_path / "noisy", "train": tiny_config.train.model_copy(update={"neftune_alpha": 5.0})})
    noisy = train(noisy_cfg)
    a, b = _adapter(plain.adapter_dir), _adapter(noisy.adapter_dir)
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    assert "neftune_alpha: 5.0" in (tmp_path / "noisy" / "config.yaml").read_text()
    emb, ids = noisy.model.get_input_embeddings(), torch.tensor([[1, 2, 3]])
    noisy.model.train()
    torch.testing.assert_close(emb(ids), emb(ids), rtol=0, atol=0)  # the trained model adds no noise


def _lora_a_outputs(model, ids):
    outs = []
    handles = [m.register_forward_hook(lambda m, a, o: outs.append(o.detach().clone()))
               for n, m in model.named_modules() if n.endswith("lora_A.default")]
    model(input_ids=ids)
    for h in handles:
        h.remove()
    return outs


def test_rank_dropout_drops_lora_a_outputs_in_training_mode_only_and_only_inside_its_block(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from lorakit.config import LoraSettings
    from lorakit.train.trainer import build_lora_model, rank_dropout

    model = build_lora_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                             LoraSettings(r=8, alpha=16, dropout=0.0), "fp32", "cpu")
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
    model.train()
    clean = _lora_a_outputs(model, ids)
    assert clean
    with rank_dropout(model, 0.5):
        dropped = _lora_a_outputs(model, ids)
        live = [c != 0 for c in clean]
        zeros = sum(int((d[m] == 0).sum()) for d, m in zip(dropped, live)) / sum(int(m.sum()) for m in live)
        assert 0.35 < zeros < 0.65  # about half the r values per token are dropped ...
        for c, d in zip(clean, dropped):  # ... and the kept ones scaled by 1 / (1 - p)
            torch.testing.assert_close(d[d != 0], 2 * c[d != 0])
        model.eval()
        for c, d in zip(clean, _lora_a_outputs(model, ids)):
            torch.testing.assert_close(d, c, rtol=0, atol=0)
        model.train()
    for c, d in zip(clean, _lora_a_outputs(model, ids)):  # hooks removed
        torch.testing.assert_close(d, c, rtol=0, atol=0)


def test_rank_dropout_changes_what_training_learns_and_keeps_peft_layout(tiny_config, tmp_path):
    plain = train(tiny_config.model_copy(update={"output_dir": tmp_path / "plain"}))
    lora = tiny_config.train.lora.model_copy(update={"rank_dropout": 0.3})
    dropped = train(tiny_config.model_copy(update={
        "output_dir": tmp_path / "dropped", "train": tiny_config.train.model_copy(update={"lora": lora})}))
    a, b = _adapter(plain.adapter_dir), _adapter(dropped.adapter_dir)
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    assert "rank_dropout: 0.3" in (tmp_path / "dropped" / "config.yaml").read_text()


def test_group_by_length_false_batches_the_rows_in_plain_shuffled_order(tiny_config):
    from lorakit.train.data import batch_order
    from lorakit.train.trainer import TrainRecipe

    t = tiny_config.train.model_copy(update={"group_by_length": False})
    recipe = TrainRecipe(tiny_config.model_copy(update={"train": t})).setup()
    recipe._micro_batch(0)
    lengths = recipe.objective.lengths
    assert recipe._orders[0] == batch_order(lengths, t.batch_size, t.seed, 0, group_by_length=False)
    assert recipe._orders[0] != batch_order(lengths, t.batch_size, t.seed, 0)  # the grouped order differs


def test_attention_auto_is_eager_on_cpu_and_sdpa_trains_to_the_same_losses(tiny_config, tmp_path, caplog):
    """``train.attention``: auto picks eager on CPU and says so; sdpa is what the run uses when asked (the record
    says which), and in fp32 it trains the same model to float rounding."""
    import json
    import logging

    runs = {}
    for attention in ("auto", "sdpa"):
        cfg = tiny_config.model_copy(deep=True)
        cfg.output_dir, cfg.train.attention, cfg.train.precision = tmp_path / attention, attention, "fp32"
        cfg.train.max_steps, cfg.train.lora.dropout = 3, 0.0
        with caplog.at_level(logging.INFO, logger="lorakit"):
            train(cfg)
        record = json.loads((tmp_path / attention / "adapter" / "run_record.json").read_text())
        losses = [json.loads(line)["loss"] for line in (tmp_path / attention / "train_log.jsonl").read_text().splitlines()]
        runs[attention] = (record["attention"], losses)
    assert runs["auto"][0] == "eager" and runs["sdpa"][0] == "sdpa"
    assert runs["sdpa"][1] == pytest.approx(runs["auto"][1], rel=1e-4)
    assert sum("train.attention=auto: eager attention on CPU" in r.getMessage() for r in caplog.records) == 1

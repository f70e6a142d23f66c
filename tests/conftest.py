"""Shared fixtures: the real SmolLM2 tokenizer and a tiny random Llama built from a config."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def smollm2_dir() -> str:
    """The converted (plain HF) SmolLM2 folder; converts once per machine, then cached."""
    from lorakit.models.loader import local_model_dir, resolve_model

    return local_model_dir(resolve_model("smollm2-135m"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, smollm2_dir) -> str:
    """A 2-layer, 64-wide Llama with SmolLM2's tokenizer and chat template: trains in milliseconds."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


@pytest.fixture
def tiny_config(tmp_path, tiny_model_dir):
    """A RunConfig on the tiny model with a small generated dataset, fast enough for unit tests."""
    from lorakit.config import load_config

    return load_config(None, [
        f"output_dir={tmp_path / 'run'}", f"model.name={tiny_model_dir}", "data.n_train=64", "data.n_eval=12",
        "train.batch_size=8", "train.max_steps=4", "train.lr=5e-3", "train.checkpoint_every=2", "train.log_every=1",
        "train.lora.dropout=0.1", "eval.batch_size=6", "eval.max_new_tokens=12",
    ])


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_model_dir):
    """A run folder with a (briefly) trained tiny adapter and its eval data, fp32 throughout."""
    from lorakit.config import load_config
    from lorakit.train.trainer import train

    out = tmp_path_factory.mktemp("served-run")
    cfg = load_config(None, [
        f"output_dir={out}", f"model.name={tiny_model_dir}", "data.n_train=32", "data.n_eval=8",
        "train.batch_size=8", "train.max_steps=3", "train.lr=5e-3", "train.precision=fp32",
        "eval.batch_size=1", "eval.max_new_tokens=24", "eval.kl_items=0",
    ])
    train(cfg)
    return out, cfg


@pytest.fixture(scope="session")
def api_key():
    return "test-key-123"


@pytest.fixture(scope="session")
def server(trained_run, tmp_path_factory, api_key):
    """The server with the run's adapter as 'ticket', an adapter folder, a key and small limits."""
    import os
    import shutil

    from lorakit.serve.app import Limits
    from lorakit.serve.server import build_app

    run_dir, _ = trained_run
    folder = tmp_path_factory.mktemp("adapters")
    shutil.copytree(run_dir / "adapter", folder / "other")
    os.environ["LORAKIT_TEST_KEY"] = api_key
    app, engine = build_app([f"ticket={run_dir}"], adapter_dir=folder, precision="fp32", max_batch=16,
                            limits=Limits(max_body_bytes=20_000, max_messages=8, max_tokens=512),
                            api_key_env="LORAKIT_TEST_KEY")
    from tests.live_server import LiveServer

    with LiveServer(app, engine) as live:
        yield live

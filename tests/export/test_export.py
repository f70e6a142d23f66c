"""Exports of a trained (tiny) run: every format loads back and answers like the evaluated model."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _parse_each_gguf_once():
    """A 49k-token GGUF vocabulary takes ~7 s to parse; the tests below read the exported files again."""
    from lorakit.io import gguf_parsed_once

    with gguf_parsed_once():
        yield


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    from lorakit.export import export

    import shutil

    run_dir, _ = trained_run
    out = tmp_path_factory.mktemp("exports")
    moved = out / "moved-run"  # a run folder moved after training still exports and checks
    shutil.copytree(run_dir, moved)
    record = moved / "adapter" / "run_record.json"
    rec = json.loads(record.read_text())
    rec["config"]["output_dir"] = str(out / "where-it-was-trained")  # that folder no longer exists
    record.write_text(json.dumps(rec))
    return {fmt: export(moved, fmt, out / fmt, check=True, check_items=4) for fmt in ("peft", "merged", "ollama")}


def test_peft_export_loads_with_peft_and_passes_the_check(exported):
    from pathlib import Path

    rec = exported["peft"]
    files = {p.name for p in Path(rec["path"]).iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "export_record.json"} <= files
    assert rec["check"]["passed"] and rec["check"]["answers_identical"] == 4


def test_merged_export_is_a_plain_hf_folder_with_the_chat_template(exported):
    from pathlib import Path

    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(exported["merged"]["path"])
    model = AutoModelForCausalLM.from_pretrained(path)
    assert not any("lora" in n for n, _ in model.named_parameters())
    assert AutoTokenizer.from_pretrained(path).chat_template
    assert exported["merged"]["check"]["passed"]


def test_gguf_round_trip_matches_the_merged_model(exported):
    check = exported["ollama"]["check"]
    assert check["logits_rel_gap"] < 1e-2  # f16 weights vs fp32: within bf16 tolerance
    assert check["chat_template_in_gguf"] and check["answers_identical"] == 4 and check["passed"]


def test_ollama_modelfile_matches_the_training_template(exported, trained_run):
    from pathlib import Path

    from transformers import AutoTokenizer

    from lorakit.export.ollama import render_go_template

    run_dir, _ = trained_run
    text = (Path(exported["ollama"]["path"]) / "Modelfile").read_text()
    assert text.startswith("FROM ./model.gguf\n") and 'PARAMETER stop "<|im_end|>"' in text
    assert "PARAMETER temperature 0" in text
    system = json.loads((run_dir / "adapter" / "run_record.json").read_text())["system_prompt"]
    assert f'SYSTEM """{system}"""' in text
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    tok = AutoTokenizer.from_pretrained(Path(exported["ollama"]["path"]), gguf_file="model.gguf")
    convs = [
        [{"role": "system", "content": system}, {"role": "user", "content": "where is ORD-12345?\n\nthanks"}],
        [{"role": "user", "content": "no system message: the template's default applies"}],
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"},
         {"role": "user", "content": "ünïcode ✓ and {braces}"}],
    ]
    for conv in convs:
        assert render_go_template(template, conv) == tok.apply_chat_template(conv, tokenize=False,
                                                                             add_generation_prompt=True)


def test_q8_0_gguf_is_smaller_and_close(trained_run, tmp_path):
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    from lorakit.export import export
    from lorakit.export.artifacts import _merged_model, _record, eval_sample
    from lorakit.export.parity import logits_gap

    run_dir, _ = trained_run
    rec = export(run_dir, "gguf", tmp_path / "q8", quant="q8_0")
    f16 = export(run_dir, "gguf", tmp_path / "f16")
    assert Path(rec["gguf"]).stat().st_size < 0.7 * Path(f16["gguf"]).stat().st_size
    merged, tok, _ = _merged_model(run_dir, _record(run_dir))
    q8 = AutoModelForCausalLM.from_pretrained(tmp_path / "q8", gguf_file="model.gguf")
    _, prompts = eval_sample(run_dir, 2)
    assert logits_gap(merged, q8, tok, prompts) < 5e-2  # 8-bit blocks: close, looser than f16


def test_export_errors_are_clear(tmp_path, trained_run):
    from lorakit.errors import ExportError
    from lorakit.export import export

    with pytest.raises(ExportError, match="no trained adapter"):
        export(tmp_path, "peft")
    with pytest.raises(ExportError, match="unknown export format"):
        export(trained_run[0], "onnx")


def _card(folder):
    from pathlib import Path

    import yaml

    text = (Path(folder) / "README.md").read_text()
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def test_peft_export_names_a_local_base_by_its_folder_never_a_cache_path(exported, tiny_model_dir):
    from pathlib import Path

    config = json.loads((Path(exported["peft"]["path"]) / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(Path(tiny_model_dir).resolve())
    assert ".cache" not in config["base_model_name_or_path"]
    assert exported["peft"]["training_base"]  # the path it trained over stays in lorakit's own record
    meta, body = _card(exported["peft"]["path"])
    assert meta["base_model"] == config["base_model_name_or_path"] and meta["library_name"] == "peft"
    assert "AutoPeftModelForCausalLM" in body and "--lora-modules" in body and "Passed: 4/4" in body


def test_every_export_has_a_card_for_its_runtime(exported):
    for fmt, library in (("merged", "transformers"), ("ollama", "gguf")):
        meta, body = _card(exported[fmt]["path"])
        assert meta["library_name"] == library and "lorakit" in meta["tags"]
        assert "## Prompt" in body and "## Load it" in body and "### vLLM" in body
    assert "ollama create" in _card(exported["ollama"]["path"])[1]


def test_a_preset_base_is_named_by_its_hub_id_and_the_gguf_origin_is_said(trained_run, tmp_path):
    import shutil

    from lorakit.export import export

    run_dir, _ = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    record = copy / "adapter" / "run_record.json"
    rec = json.loads(record.read_text())
    record.write_text(json.dumps({**rec, "base_model": "smollm2-135m"}))
    out = export(copy, "peft", tmp_path / "peft")
    config = json.loads((tmp_path / "peft" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "dequantized Q4_1 GGUF" in out["base_note"]
    meta, body = _card(tmp_path / "peft")
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and meta["license"] == "apache-2.0"
    assert "dequantized Q4_1 GGUF" in body


def test_the_card_table_is_the_measured_results(trained_run, tmp_path):
    import shutil

    from lorakit.eval.report import _pct
    from lorakit.eval.runner import evaluate
    from lorakit.export import export

    run_dir, cfg = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    results = evaluate(cfg.model_copy(update={"output_dir": copy}))
    export(copy, "merged", tmp_path / "merged")
    _, body = _card(tmp_path / "merged")
    rows = {line.split(" | ")[0].strip("| "): line for line in body.splitlines() if line.startswith("| ")}
    assert f"{results['n_items']} items" in body
    for arm in ("base", "tuned"):
        for metric, value in results["models"][arm]["overall"].items():
            if isinstance(value, float) and metric in ("valid_json", "exact_match"):
                row = next(r for k, r in rows.items() if k.lower().startswith(metric.split("_")[0]))
                assert _pct(value) in row

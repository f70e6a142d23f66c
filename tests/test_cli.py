import subprocess
import sys

from typer.testing import CliRunner

from lorakit.cli import app


def test_help_does_not_import_heavy_libraries():
    code = "import sys, lorakit.cli; bad = {'torch', 'transformers', 'peft'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_lists_the_verbs():
    out = CliRunner().invoke(app, ["--help"]).output
    for verb in ("gen", "train", "eval", "report", "run"):
        assert verb in out


def test_bad_config_exits_2_and_lists_every_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  lrr: 1\n  batch_size: -3\n")
    res = CliRunner().invoke(app, ["train", str(p)])
    assert res.exit_code == 2
    assert "train.lrr" in res.output and "train.batch_size" in res.output


def test_gen_writes_files(tmp_path):
    res = CliRunner().invoke(app, ["gen", "support_ticket", "--out", str(tmp_path), "--n-train", "5", "--n-eval", "3"])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "train.jsonl").read_text().splitlines()) == 5


def test_report_without_results_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "results.json not found" in res.output


def test_data_prepare_cli_reports_drops(tmp_path):
    import json

    from typer.testing import CliRunner

    from lorakit.cli import app

    src = tmp_path / "d.jsonl"
    rows = [{"prompt": f"question {i} about fees", "completion": str(i % 3)} for i in range(20)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows + [rows[0]]) + "{bad\n")
    result = CliRunner().invoke(app, ["data", "prepare", str(src), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "d.jsonl:22: invalid JSON" in result.output
    result = CliRunner().invoke(app, ["data", "prepare", str(src), "--out", str(tmp_path / "out"), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "format: prompt_completion" in result.output and "dropped (exact duplicate): 1" in result.output
    assert "bad rows skipped: 1" in result.output

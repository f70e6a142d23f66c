import subprocess
import sys
from pathlib import Path

import pytest
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


def test_serve_config_layers_file_then_set_then_flags(tmp_path):
    from lorakit.cli import serve_config

    p = tmp_path / "serve.yaml"
    p.write_text("port: 9000\nmax_batch: 4\nhost: 0.0.0.0\nruns: [a=runs/a]\n")
    cfg = serve_config(p, ["max_batch=8"], ["b=runs/b"], {"port": 9100, "precision": None, "adapters": tmp_path})
    assert (cfg.port, cfg.max_batch, cfg.host, cfg.runs, cfg.adapters) == (9100, 8, "0.0.0.0", ["b=runs/b"], tmp_path)
    assert cfg.precision == "auto" and cfg.max_tokens == 1024  # the ServeConfig defaults


def test_serve_with_bad_settings_lists_every_problem_before_loading_anything(tmp_path):
    p = tmp_path / "serve.yaml"
    p.write_text("prot: 9000\nmax_batch: 0\n")
    res = CliRunner().invoke(app, ["serve", "--config", str(p), "--precision", "fp64"])
    assert res.exit_code == 2
    assert "prot: unknown key" in res.output and "max_batch" in res.output and "precision" in res.output


def test_data_verbs_take_their_defaults_from_the_config():
    from lorakit.data.pdf.options import PdfQAOptions

    out = CliRunner().invoke(app, ["data", "pdf", "--help"], terminal_width=200).output
    # `lorakit data pdf` chunks as `lorakit run` does (it once said 256 where data.options.chunk_tokens said 160)
    flat = " ".join(out.replace("│", " ").split())  # the help box wraps lines
    assert f"(default: data.options.chunk_tokens, {PdfQAOptions.model_fields['chunk_tokens'].default})" in flat


def test_data_verbs_do_what_the_data_step_of_a_run_config_does_flags_on_top(tmp_path):
    import json

    cfg = tmp_path / "run.yaml"
    cfg.write_text("data:\n  task: invoice\n  n_train: 3\n  n_eval: 2\n  seed: 5\n")
    res = CliRunner().invoke(app, ["gen", "-c", str(cfg), "--n-eval", "1", "--out", str(tmp_path / "g")])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "g" / "train.jsonl").read_text().splitlines()) == 3
    assert len((tmp_path / "g" / "eval.jsonl").read_text().splitlines()) == 1  # the flag wins over the file
    assert json.loads((tmp_path / "g" / "data_record.json").read_text())["task"] == "invoice"

    rows = [{"instruction": f"question {i}?", "output": f"answer {i}"} for i in range(20)]
    (tmp_path / "mine.json").write_text(json.dumps(rows))
    cfg.write_text(f"data:\n  train_file: {tmp_path / 'mine.json'}\n  eval_fraction: 0.25\n  system_prompt: Be brief.\n")
    res = CliRunner().invoke(app, ["data", "prepare", "-c", str(cfg), "--set", "data.seed=1", "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    train = [json.loads(line) for line in (tmp_path / "p" / "train.jsonl").read_text().splitlines()]
    assert len(train) == 15 and train[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    res = CliRunner().invoke(app, ["data", "prepare", "--out", str(tmp_path / "q")])
    assert res.exit_code == 2 and "give TRAIN_FILE" in res.output


def test_verbose_and_quiet_set_the_library_log_level(tmp_path):
    import logging

    logger = logging.getLogger("lorakit")
    try:
        for flag, level in (("-q", logging.WARNING), ("-v", logging.DEBUG)):
            res = CliRunner().invoke(app, [flag, "gen", "--out", str(tmp_path), "--n-train", "2", "--n-eval", "1"])
            assert res.exit_code == 0 and logger.level == level
        res = CliRunner().invoke(app, ["-q", "-v", "gen", "--out", str(tmp_path)])
        assert res.exit_code == 2 and "exclude each other" in res.output
    finally:
        logger.setLevel(logging.NOTSET)


def test_errors_inside_a_data_subcommand_reach_the_one_handler(tmp_path):
    """A LorakitError from a nested verb (data prepare) is a red line and exit 2, not a traceback."""
    res = CliRunner().invoke(app, ["data", "prepare", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "file not found" in res.output and "Traceback" not in res.output
    latin = tmp_path / "tickets.csv"
    latin.write_bytes("question,answer\nPrix en €?,Non\nWhere is café X?,Here\nPrix en €?,Non\n".encode("cp1252"))
    res = CliRunner().invoke(app, ["data", "prepare", str(latin), "--eval", str(latin), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not utf-8 text" in res.output and "--encoding" in res.output
    res = CliRunner().invoke(app, ["data", "prepare", str(latin), "--eval", str(latin), "--out", str(tmp_path / "o"),
                                   "--encoding", "cp1252"])
    assert res.exit_code == 2 and "no train rows left" in res.output  # every train row leaks the same eval file


def test_data_prepare_says_how_many_eval_duplicates_it_kept(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(f'{{"input": "train question number {i}", "output": "x"}}\n' for i in range(6)))
    ev = tmp_path / "eval.jsonl"
    ev.write_text('{"input": "held out one", "output": "a"}\n' * 3 + '{"input": "held out two", "output": "b"}\n')
    res = CliRunner().invoke(app, ["data", "prepare", str(train), "--eval", str(ev), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "eval: 4 rows" in res.output and "eval file: 2 duplicate rows, kept and scored as given" in res.output


def test_export_and_predict_take_a_config_file_then_set_then_flags(tmp_path):
    from lorakit.cli import verb_config
    from lorakit.config import ExportConfig, PredictConfig

    p = tmp_path / "export.yaml"
    p.write_text("run_dir: runs/a\nformat: gguf\nquant: q8_0\ncheck: true\n")
    cfg = verb_config(ExportConfig, p, ["check_items=4", "format=ollama"], {"quant": None, "out": tmp_path / "o"})
    assert (cfg.run_dir, cfg.format, cfg.quant, cfg.check, cfg.check_items, cfg.out) == \
        (Path("runs/a"), "ollama", "q8_0", True, 4, tmp_path / "o")
    cfg = verb_config(PredictConfig, None, ["batch_size=4"], {"run_dir": tmp_path, "constrained": True})
    assert (cfg.run_dir, cfg.batch_size, cfg.constrained, cfg.device) == (tmp_path, 4, True, "auto")


@pytest.mark.parametrize("verb", ["export", "predict"])
def test_export_and_predict_list_every_bad_setting_before_loading_anything(tmp_path, verb):
    res = CliRunner().invoke(app, [verb, str(tmp_path), "--set", "formatt=gguf", "--set", "batch_size=0",
                                   "--set", "quant=q2"])
    assert res.exit_code == 2
    assert "formatt: unknown key" in res.output and "3 problem(s)" in res.output


def test_console_lines_are_not_doubled_by_a_library_calling_logging_info():
    """rouge-score calls the module-level logging.info() while scoring; that must not add a second console handler."""
    import subprocess
    import sys

    code = ("import logging; from lorakit.cli import _console_logging; _console_logging(logging.INFO); "
            "logging.info('from a library'); logging.getLogger('lorakit.eval').info('said once')")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert err.count("said once") == 1 and "from a library" not in err

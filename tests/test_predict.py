import json

import pytest


def test_predict_answers_every_line_in_order_with_valid_json(trained_run):
    from jsonschema import validate

    from lorakit.data.tasks import get_task
    from lorakit.predict import predict

    run_dir, _ = trained_run
    chat = {"messages": [{"role": "system", "content": "ignored"}, {"role": "user", "content": "refund ORD-12345"},
                         {"role": "assistant", "content": "{}"}]}
    lines = ["my order never arrived", "", json.dumps({"input": "cancel it"}), json.dumps(chat)]
    out = list(predict(run_dir, lines, constrained=True, max_new_tokens=512))
    assert len(out) == 3
    schema = get_task("support_ticket").schema
    for line in out:
        validate(json.loads(line), schema)  # the grammar makes every answer a valid ticket
    (free,) = [json.loads(x) for x in predict(run_dir, lines[:1], max_new_tokens=8)]  # 8 tokens: cut-off JSON
    assert set(free) == {"error", "raw"}  # a cut-off answer is reported as such, never a broken line


def test_predict_names_a_bad_input_line(trained_run):
    from lorakit.errors import DataError
    from lorakit.predict import predict

    run_dir, _ = trained_run
    with pytest.raises(DataError, match="<input>:2"):
        list(predict(run_dir, ["fine", "{broken json"]))
    with pytest.raises(DataError, match="no trained adapter"):
        list(predict(run_dir / "nope", ["x"]))


def test_an_old_run_with_a_renamed_config_key_is_a_clear_error(trained_run, tmp_path):
    import shutil
    import subprocess
    import sys

    run_dir, _ = trained_run
    old = tmp_path / "old-run"
    shutil.copytree(run_dir / "adapter", old / "adapter")
    path = old / "adapter" / "run_record.json"
    rec = json.loads(path.read_text())
    rec["config"]["train"]["learning_rate"] = rec["config"]["train"].pop("lr")  # a key some other version used
    path.write_text(json.dumps(rec))
    proc = subprocess.run([sys.executable, "-m", "lorakit", "predict", str(old)], input="hello\n",
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "train.learning_rate" in proc.stderr and "lorakit train CONFIG" in proc.stderr
    assert "Traceback" not in proc.stderr

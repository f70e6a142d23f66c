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

from pathlib import Path

import pytest

from lorakit.config import RunConfig, dump_config, load_config
from lorakit.errors import ConfigError

EXAMPLES = sorted(Path(__file__).resolve().parents[1].joinpath("examples").glob("*.yaml"))


def test_defaults_follow_the_documented_lora_recipe():
    cfg = load_config()
    assert (cfg.train.lora.r, cfg.train.lora.alpha, cfg.train.lora.dropout) == (16, 32, 0.0)
    assert cfg.model.name == "smollm2-135m"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shipped_example_config_loads(path):
    assert isinstance(load_config(path), RunConfig)


def test_overrides_are_typed_and_nested():
    cfg = load_config(None, ["train.lr=1e-4", "train.lora.r=8", "eval.limit=null", "eval.models=[base]"])
    assert cfg.train.lr == 1e-4 and cfg.train.lora.r == 8 and cfg.eval.limit is None
    assert cfg.eval.models == ["base"]


def test_every_bad_key_is_listed_at_once(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("train:\n  lr: fast\n  bogus: 1\nmodle: {}\neval:\n  prompt: weird\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    for key in ("train.lr", "train.bogus", "modle", "eval.prompt"):
        assert key in msg, msg
    assert "4 problem(s)" in msg


def test_override_without_equals_is_explained():
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(None, ["train.lr"])


def test_missing_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)


def test_dumped_config_round_trips(tmp_path):
    cfg = load_config(None, ["train.lr=3e-4", "output_dir=x/y"])
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(p) == cfg


def test_a_renamed_section_in_an_old_config_is_read_under_its_new_name(tmp_path, caplog):
    old = tmp_path / "old.yaml"
    old.write_text("data:\n  task: policy_qa\n  policy:\n    pdf: [handbook.pdf]\n    mode: closed_book\n")
    with caplog.at_level("WARNING", logger="lorakit"):
        cfg = load_config(old)
    assert cfg.data.options == {"pdf": ["handbook.pdf"], "mode": "closed_book"}
    assert "data.policy is now data.options" in caplog.text
    assert load_config(None, ["data.policy=null"]).data.options == {}  # an old run record's empty section

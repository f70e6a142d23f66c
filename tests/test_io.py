import pytest

from lorakit.errors import DataError
from lorakit.io import atomic_write_text, iter_jsonl, write_jsonl


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    p = tmp_path / "data.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2}\n{"a": oops}\n')
    with pytest.raises(DataError) as e:
        list(iter_jsonl(p))
    assert str(e.value).startswith(f"{p}:4: invalid JSON")
    assert e.value.line == 4 and e.value.path == str(p)


def test_non_object_line_is_rejected(tmp_path):
    p = tmp_path / "data.jsonl"
    p.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r":2: expected a JSON object, got list"):
        list(iter_jsonl(p))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        list(iter_jsonl(tmp_path / "absent.jsonl"))


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "out" / "f.txt"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [x.name for x in p.parent.iterdir()] == ["f.txt"]


def test_jsonl_round_trip_keeps_unicode(tmp_path):
    rows = [{"t": "café ☕"}, {"t": 'quote " and \\ backslash'}]
    p = tmp_path / "r.jsonl"
    assert write_jsonl(p, rows) == 2
    assert [o for _, o in iter_jsonl(p)] == rows


def test_atomic_writes_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    import os

    from lorakit.io import atomic_dir, atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def _gguf(path, value: str):
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("test.value", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _value(reader) -> str:
    field = reader.fields["test.value"]
    return bytes(field.parts[field.data[0]]).decode()


def test_a_gguf_is_parsed_once_per_block_and_again_once_rewritten(tmp_path):
    import gguf

    from lorakit.io import gguf_parsed_once

    path = _gguf(tmp_path / "m.gguf", "first")
    original = gguf.GGUFReader
    with gguf_parsed_once():
        from gguf import GGUFReader  # as transformers imports it: at the call

        a, b = GGUFReader(str(path)), gguf.GGUFReader(path)
        assert a is b and _value(a) == "first"
        _gguf(path, "second, longer")  # rewritten in the block: a new size, so parsed again
        assert _value(GGUFReader(path)) == "second, longer"
    assert gguf.GGUFReader is original and _value(gguf.GGUFReader(path)) == "second, longer"


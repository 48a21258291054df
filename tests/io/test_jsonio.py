"""Tests of JSON / JSON Lines reading and its error messages."""

from __future__ import annotations

import pytest

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.jsonio import read_json, read_json_lines


def test_read_json_roundtrip(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"a": [1, 2, {"b": "é"}]}', encoding="utf-8")
    assert read_json(path) == {"a": [1, 2, {"b": "é"}]}


def test_read_json_accepts_bom(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf[1, 2]")
    assert read_json(path) == [1, 2]


def test_malformed_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"id": "a"},\n  {"id": "b" "x": 1}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_json(path)
    message = str(info.value)
    assert "bad.json" in message
    assert "line 3" in message
    assert "column 14" in message
    assert info.value.path == path


def test_trailing_comma_is_pointed_out(tmp_path):
    path = tmp_path / "trailing.json"
    path.write_text('{"annotations": [{"filename": "x.png"},]}', encoding="utf-8")
    with pytest.raises(DataError, match="trailing comma"):
        read_json(path)


def test_missing_json_file(tmp_path):
    with pytest.raises(MissingFileError):
        read_json(tmp_path / "nope.json")


def test_non_utf8_is_a_data_error(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(DataError, match="not UTF-8"):
        read_json(path)


def test_json_lines_with_a_bad_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2,}\n{"id": 3}\n', encoding="utf-8")
    objects, warnings = read_json_lines(path)
    assert objects == [{"id": 1}, {"id": 3}]
    assert len(warnings) == 1
    assert warnings[0].startswith("m.jsonl:line 3: ")
    assert "column" in warnings[0]


def test_json_lines_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert read_json_lines(path) == ([], [])

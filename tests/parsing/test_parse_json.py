"""JSON and JSON Lines under the structured profile."""

from __future__ import annotations

import json

import pytest

from shared.parsing import ParseError


def test_json_array_of_objects_becomes_rows(run_parse, outputs) -> None:
    data = json.dumps([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob", "vip": True}]).encode()
    detected, result = run_parse(data, "people.json", "structured")
    assert detected.format == "json"
    assert result.record_count == 2
    assert outputs.rows() == [{"id": 1, "name": "ann", "vip": None}, {"id": 2, "name": "bob", "vip": True}]
    assert [(f.name, f.type) for f in result.schema] == [("id", "int64"), ("name", "string"), ("vip", "bool")]


def test_large_json_array_streams_element_by_element(run_parse, outputs) -> None:
    rows = [{"id": i, "text": "x" * (i % 50), "score": i / 3} for i in range(60_000)]
    data = json.dumps(rows, indent=2).encode()
    assert len(data) > 3 * 1024 * 1024  # spans several read blocks
    _, result = run_parse(data, "big.json", "structured")
    assert result.record_count == 60_000
    written = outputs.rows()
    assert written[59_999] == rows[59_999]
    assert written[12_345] == rows[12_345]


def test_json_object_with_one_array_of_objects_uses_that_array(run_parse, outputs) -> None:
    data = json.dumps({"meta": {"page": 1}, "data": [{"a": 1}, {"a": 2}]}).encode()
    _, result = run_parse(data, "api.json", "structured")
    assert outputs.rows() == [{"a": 1}, {"a": 2}]
    assert any("'data'" in warning and "meta" in warning for warning in result.warnings)


def test_json_object_without_an_array_is_one_row(run_parse, outputs) -> None:
    run_parse(json.dumps({"name": "cfg", "tags": ["a", "b"]}).encode(), "cfg.json", "structured")
    assert outputs.rows() == [{"name": "cfg", "tags": '["a", "b"]'}]


def test_json_object_over_the_size_cap_is_rejected(run_parse, monkeypatch) -> None:
    monkeypatch.setattr("shared.parsing.jsondoc.JSON_OBJECT_MAX_CHARS", 1000)
    data = json.dumps({"blob": "x" * 5000}).encode()
    with pytest.raises(ParseError) as caught:
        run_parse(data, "big.json", "structured")
    assert caught.value.code == "TOO_LARGE"
    assert "JSON Lines" in caught.value.message


def test_nested_values_are_kept_as_json_text(run_parse, outputs) -> None:
    data = b'{"id": 1, "address": {"city": "Oslo"}, "tags": ["x"]}\n{"id": 2, "address": null, "tags": []}\n'
    _, result = run_parse(data, "n.jsonl", "structured")
    rows = outputs.rows()
    assert json.loads(rows[0]["address"]) == {"city": "Oslo"}
    assert rows[1]["tags"] == "[]"
    assert outputs.parquet().schema_arrow.field("address").metadata == {b"content": b"json"}
    assert dict((f.name, f.type) for f in result.schema)["address"] == "string"


def test_jsonl_streams_in_batches_and_counts_records(run_parse, outputs) -> None:
    data = b"".join(json.dumps({"n": i, "even": i % 2 == 0}).encode() + b"\n" for i in range(25_000))
    detected, result = run_parse(data, "events.jsonl", "structured")
    assert detected.format == "jsonl"
    assert result.record_count == 25_000
    assert outputs.rows()[24_999] == {"n": 24_999, "even": False}


def test_jsonl_key_appearing_late_is_not_lost(run_parse, outputs) -> None:
    lines = [json.dumps({"id": i, "amount": i}) for i in range(12_000)]
    lines.append(json.dumps({"id": 12_000, "amount": 1.5, "note": "late key"}))
    _, result = run_parse(("\n".join(lines) + "\n").encode(), "late.jsonl", "structured")
    rows = outputs.rows()
    assert rows[-1] == {"id": 12_000, "amount": 1.5, "note": "late key"}
    assert rows[0] == {"id": 0, "amount": 0.0, "note": None}
    assert dict((f.name, f.type) for f in result.schema) == {"id": "int64", "amount": "double", "note": "string"}
    assert any("read again" in warning for warning in result.warnings)


def test_jsonl_bad_line_fails_with_its_line_number(run_parse) -> None:
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3,,}\n{"a": 4}\n'
    with pytest.raises(ParseError) as caught:
        run_parse(data, "bad.jsonl", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "line 3" in caught.value.message


def test_jsonl_bad_lines_are_skipped_and_counted_when_asked(run_parse, outputs) -> None:
    data = b'{"a": 1}\n{"a": 2}\nnot json\n[1, 2]\n{"a": 5}\n'
    _, result = run_parse(data, "bad.jsonl", "structured", {"on_invalid_row": "skip"})
    assert outputs.rows() == [{"a": 1}, {"a": 2}, {"a": 5}]
    assert any("Skipped 2 malformed JSON lines" in warning for warning in result.warnings)


def test_truncated_json_array_is_corrupt(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b'[{"a": 1}, {"a": 2}, {"a"', "cut.json", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "element 3" in caught.value.message


def test_json_scalar_document_is_unsupported_for_rows(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b'"just a string"', "s.json", "structured")
    assert caught.value.code == "UNSUPPORTED_FORMAT"


def test_array_of_scalars_becomes_a_value_column(run_parse, outputs) -> None:
    run_parse(b"[1, 2, 3]", "nums.json", "structured")
    assert outputs.rows() == [{"value": 1}, {"value": 2}, {"value": 3}]


def test_hybrid_json_yields_rows_and_text(run_parse, outputs) -> None:
    _, result = run_parse(b'[{"q": "why?", "a": "because"}]', "faq.json", "hybrid")
    assert result.record_count == 1
    assert result.chunk_count == 1
    assert "because" in outputs.chunks()[0]["text"]

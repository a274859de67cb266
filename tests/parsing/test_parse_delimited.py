"""CSV and TSV under the structured profile: streamed to Parquet through pyarrow."""

from __future__ import annotations

import pytest

from shared.parsing import ParseError


def test_csv_becomes_parquet_with_its_schema_and_record_count(run_parse, outputs) -> None:
    detected, result = run_parse(b"id,name,amount\n1,ann,2.5\n2,bob,3\n", "people.csv", "structured")
    assert detected.format == "csv"
    assert result.record_count == 2
    assert [(f.name, f.type) for f in result.schema] == [("id", "int64"), ("name", "string"), ("amount", "double")]
    assert outputs.rows() == [{"id": 1, "name": "ann", "amount": 2.5}, {"id": 2, "name": "bob", "amount": 3.0}]
    [output] = result.outputs
    assert (output.name, output.format, output.content_type) == (
        "structured.parquet",
        "parquet",
        "application/vnd.apache.parquet",
    )
    assert output.record_count == 2
    assert output.bytes_written == (outputs.folder / "structured.parquet").stat().st_size
    assert outputs.opened == [("structured.parquet", "application/vnd.apache.parquet")]


def test_csv_latin1_is_decoded_via_detected_encoding(run_parse, outputs) -> None:
    text = (
        "id,nom,ville,remarque\n"
        "1,Hélène Dupré,Orléans,crème brûlée\n"
        "2,François Lefèvre,Besançon,naïve façade\n"
        "3,Jürgen Groß,München,à la française\n"
    )
    detected, _ = run_parse(text.encode("latin-1"), "clients.csv", "structured")
    assert detected.encoding in ("cp1252", "latin_1", "iso8859-1", "iso8859_15")
    rows = outputs.rows()
    assert [row["nom"] for row in rows] == ["Hélène Dupré", "François Lefèvre", "Jürgen Groß"]
    assert rows[1]["remarque"] == "naïve façade"


def test_csv_broken_quoting_fails_with_row_reference(run_parse, outputs) -> None:
    data = b'id,name,note\n1,ann,fine\n2,bob,"unclosed\n3,cat,ok\n4,dan,ok\n'
    with pytest.raises(ParseError) as caught:
        run_parse(data, "notes.csv", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "Row 3" in caught.value.message
    assert "on_invalid_row" in caught.value.message
    assert outputs.aborted == ["structured.parquet"]


def test_csv_quoted_line_breaks_in_the_last_row_are_kept(run_parse, outputs) -> None:
    data = b'id,note\n1,"one line"\n2,"two\nlines"\n'
    _, result = run_parse(data, "notes.csv", "structured")
    assert outputs.rows()[-1] == {"id": 2, "note": "two\nlines"}
    assert result.warnings == []


def test_csv_unclosed_quote_at_the_end_is_skipped_when_asked(run_parse, outputs) -> None:
    data = b'id,name,note\n1,ann,fine\n2,bob,"unclosed\n3,cat,ok\n'
    _, result = run_parse(data, "notes.csv", "structured", {"on_invalid_row": "skip"})
    assert outputs.rows() == [{"id": 1, "name": "ann", "note": "fine"}]
    assert any("unclosed quote" in warning for warning in result.warnings)


def test_csv_broken_row_in_a_later_block_is_located(run_parse) -> None:
    good = b"".join(b"%d,name %d,x\n" % (i, i) for i in range(1, 20_001))
    data = b"id,name,note\n" + good + b'20001,"broken,x\n20002,y,z\n'
    with pytest.raises(ParseError) as caught:
        run_parse(data, "big.csv", "structured", {"block_size": 65536})
    assert "Row 20002" in caught.value.message


def test_csv_broken_rows_are_skipped_and_counted_when_asked(run_parse, outputs) -> None:
    data = b"id,name,note\n1,ann,fine\n2,bob\n3,cat,ok\n4,dan,ok,extra\n5,eve,ok\n"
    _, result = run_parse(data, "notes.csv", "structured", {"on_invalid_row": "skip"})
    assert [row["id"] for row in outputs.rows()] == [1, 3, 5]
    assert result.record_count == 3
    assert any("Skipped 2 malformed rows" in warning for warning in result.warnings)


def test_csv_column_that_changes_type_late_is_reread_as_text(run_parse, outputs) -> None:
    rows = b"".join(b"%d,%d\n" % (i, i * 10) for i in range(30_000))
    data = b"id,code\n" + rows + b"30000,A-17\n"
    _, result = run_parse(data, "codes.csv", "structured", {"block_size": 65536})
    assert dict((f.name, f.type) for f in result.schema) == {"id": "int64", "code": "string"}
    table = outputs.rows()
    assert len(table) == 30_001
    assert table[-1] == {"id": 30000, "code": "A-17"}
    assert table[5]["code"] == "50"
    assert any("read again" in warning and "'code'" in warning for warning in result.warnings)
    # The first attempt's output was handed the signal, so an upload would have been aborted.
    assert outputs.opened.count(("structured.parquet", "application/vnd.apache.parquet")) == 2
    assert outputs.aborted == ["structured.parquet"]


def test_csv_is_written_incrementally_in_row_groups(run_parse, outputs, monkeypatch) -> None:
    monkeypatch.setattr("shared.parsing.outputs.ROW_GROUP_BYTES", 256 * 1024)
    data = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * 3) for i in range(200_000))
    _, result = run_parse(data, "many.csv", "structured", {"block_size": 65536})
    parquet = outputs.parquet()
    assert result.record_count == parquet.metadata.num_rows == 200_000
    assert parquet.metadata.num_row_groups > 1


def test_semicolon_delimited_csv_is_split_on_semicolons(run_parse, outputs) -> None:
    _, result = run_parse(b"a;b;c\n1;2;3\n4;5;6\n7;8;9\n", "eu.csv", "structured")
    assert [f.name for f in result.schema] == ["a", "b", "c"]
    assert outputs.rows()[0] == {"a": 1, "b": 2, "c": 3}


def test_tsv_is_split_on_tabs_and_keeps_quotes(run_parse, outputs) -> None:
    detected, _ = run_parse(b'size\tlabel\n5\t5" screen\n7\tplain\n9\tx\n', "sizes.tsv", "structured")
    assert detected.format == "tsv"
    assert outputs.rows()[0] == {"size": 5, "label": '5" screen'}


def test_duplicate_and_blank_headers_get_unique_names(run_parse) -> None:
    _, result = run_parse(b"a,a,\n1,2,3\n", "dupes.csv", "structured")
    assert [f.name for f in result.schema] == ["a", "a_2", "column_3"]


def test_header_only_csv_yields_an_empty_table_with_text_columns(run_parse, outputs) -> None:
    _, result = run_parse(b"a,b\n", "empty_rows.csv", "structured")
    assert result.record_count == 0
    assert [(f.name, f.type) for f in result.schema] == [("a", "string"), ("b", "string")]
    assert outputs.rows() == []


def test_csv_invalid_utf8_after_the_head_raises_encoding_error(run_parse) -> None:
    data = b"id,name\n" + b"".join(b"%d,name\n" % i for i in range(20_000)) + b"20000,caf\xe9\n"
    with pytest.raises(ParseError) as caught:
        run_parse(data, "late.csv", "structured", {"block_size": 65536})
    assert caught.value.code == "ENCODING_ERROR"
    assert "parse_options.encoding" in caught.value.message


def test_explicit_encoding_option_is_used(run_parse, outputs) -> None:
    run_parse("a,b\n1,ça\n".encode("cp1252"), "x.csv", "structured", {"encoding": "cp1252"})
    assert outputs.rows() == [{"a": 1, "b": "ça"}]


def test_csv_with_utf8_bom_has_a_clean_first_column_name(run_parse) -> None:
    _, result = run_parse("id,name\n1,x\n".encode("utf-8-sig"), "bom.csv", "structured")
    assert result.schema[0].name == "id"


def test_hybrid_csv_yields_rows_and_text_chunks(run_parse, outputs) -> None:
    data = b"id,comment\n1,first comment\n2,second comment\n"
    _, result = run_parse(data, "c.csv", "hybrid")
    assert {o.name for o in result.outputs} == {"structured.parquet", "chunks.jsonl"}
    assert result.record_count == 2
    assert result.chunk_count == 1
    assert outputs.chunks()[0]["text"] == data.decode().strip()
    assert result.parser_type == "pyarrow.csv+text"


def test_unstructured_csv_is_chunked_as_text(run_parse, outputs) -> None:
    _, result = run_parse(b"a,b\n1,2\n3,4\n", "t.csv", "unstructured")
    assert [o.name for o in result.outputs] == ["chunks.jsonl"]
    assert outputs.chunks()[0]["text"] == "a,b\n1,2\n3,4"

"""XLSX (openpyxl, read-only) and Parquet under the structured and hybrid profiles."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parsing_builders import make_xlsx

from shared.parsing import ParseError


def test_xlsx_named_csv_is_parsed_as_xlsx(run_parse, outputs) -> None:
    data = make_xlsx({"Orders": [["order", "qty"], ["A-1", 3], ["A-2", 5]]})
    detected, result = run_parse(data, "orders.csv", "structured")
    assert detected.format == "xlsx"
    assert result.detected_format == "xlsx"
    assert result.parser_type == "openpyxl"
    assert outputs.rows() == [{"order": "A-1", "qty": 3}, {"order": "A-2", "qty": 5}]


def test_xlsx_first_row_is_the_header_and_cell_types_are_kept(run_parse, outputs) -> None:
    when = dt.datetime(2024, 5, 17, 9, 30)
    data = make_xlsx({"S": [["name", "price", "paid", "when"], ["tea", 2.5, True, when], ["cake", 4, False, when]]})
    _, result = run_parse(data, "shop.xlsx", "structured")
    types = {f.name: f.type for f in result.schema}
    assert types == {"name": "string", "price": "double", "paid": "bool", "when": "timestamp[us]"}
    assert outputs.rows()[1] == {"name": "cake", "price": 4.0, "paid": False, "when": when}


def test_xlsx_reads_the_first_sheet_unless_asked(run_parse, outputs) -> None:
    data = make_xlsx({"One": [["a"], [1]], "Two": [["b"], [2]]})
    run_parse(data, "two.xlsx", "structured")
    assert outputs.rows() == [{"a": 1}]
    run_parse(data, "two.xlsx", "structured", {"sheet": "Two"})
    assert outputs.rows() == [{"b": 2}]


def test_xlsx_all_sheets_adds_a_sheet_column(run_parse, outputs) -> None:
    data = make_xlsx({"One": [["a"], [1], [2]], "Two": [["a", "b"], [3, "x"]]})
    _, result = run_parse(data, "two.xlsx", "structured", {"sheets": "all"})
    assert outputs.rows() == [
        {"_sheet": "One", "a": 1, "b": None},
        {"_sheet": "One", "a": 2, "b": None},
        {"_sheet": "Two", "a": 3, "b": "x"},
    ]
    assert result.record_count == 3


def test_xlsx_unknown_sheet_name_is_an_options_error(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(make_xlsx({"One": [["a"], [1]]}), "one.xlsx", "structured", {"sheet": "Nope"})
    assert caught.value.code == "INVALID_OPTIONS"
    assert "'One'" in caught.value.message


def test_xlsx_column_with_mixed_types_late_becomes_text(run_parse, outputs) -> None:
    rows = [["code"]] + [[i] for i in range(10_050)] + [["N/A"]]
    _, result = run_parse(make_xlsx({"S": rows}), "codes.xlsx", "structured")
    assert {f.name: f.type for f in result.schema} == {"code": "string"}
    written = outputs.rows()
    assert written[0] == {"code": "0"}
    assert written[-1] == {"code": "N/A"}


def test_xlsx_blank_header_cells_and_leading_blank_rows(run_parse, outputs) -> None:
    data = make_xlsx({"S": [[None, None], ["id", None, "name"], [1, "x", "ann"]]})
    _, result = run_parse(data, "s.xlsx", "structured")
    assert [f.name for f in result.schema] == ["id", "column_B", "name"]
    assert outputs.rows() == [{"id": 1, "column_B": "x", "name": "ann"}]


def test_hybrid_xlsx_yields_rows_and_text_with_sheet_references(run_parse, outputs) -> None:
    data = make_xlsx({"Prices": [["item", "price"], ["tea", 2.5], ["cake", 4]]})
    _, result = run_parse(data, "p.xlsx", "hybrid")
    assert result.record_count == 2
    [chunk] = outputs.chunks()
    assert chunk["text"] == "item\tprice\ntea\t2.5\ncake\t4"
    assert (chunk["sheet"], chunk["row"], chunk["row_end"]) == ("Prices", 1, 3)


def test_corrupt_xlsx_raises_parse_error(run_parse) -> None:
    data = make_xlsx({"S": [["a"], [1]]})
    with pytest.raises(ParseError) as caught:
        run_parse(data[: len(data) // 2], "cut.xlsx", "structured")
    assert caught.value.code in ("CORRUPT_FILE", "UNSUPPORTED_FORMAT")


def test_parquet_is_rewritten_batch_by_batch(run_parse, outputs) -> None:
    table = pa.table({"id": pa.array(range(150_000), pa.int64()), "label": [f"row {i}" for i in range(150_000)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=20_000)
    detected, result = run_parse(buffer.getvalue(), "t.parquet", "structured")
    assert detected.format == "parquet"
    assert result.record_count == 150_000
    assert outputs.parquet().read().equals(table)


def test_corrupt_parquet_raises_parse_error(run_parse) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2, 3]}), buffer)
    data = buffer.getvalue()
    with pytest.raises(ParseError) as caught:
        run_parse(data[:-12] + b"garbagePAR1", "t.parquet", "structured")
    assert caught.value.code == "CORRUPT_FILE"


def test_hybrid_parquet_yields_rows_only(run_parse) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), buffer)
    _, result = run_parse(buffer.getvalue(), "t.parquet", "hybrid")
    assert [o.name for o in result.outputs] == ["structured.parquet"]

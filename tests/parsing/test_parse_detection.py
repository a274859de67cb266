"""Type detection: the content decides, the filename only breaks ties between text formats."""

from __future__ import annotations

import io
import os
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
from parsing_builders import make_docx, make_pdf, make_xlsx

from shared.parsing import HEAD_BYTES, sniff, sniff_stream


def test_xlsx_content_wins_over_a_csv_filename() -> None:
    detected = sniff_stream(io.BytesIO(make_xlsx({"Sheet": [["a"], [1]]})), "report.csv")
    assert detected.format == "xlsx"
    assert detected.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert detected.confidence == "high"


def test_docx_is_recognised_from_its_zip_entries() -> None:
    data = make_docx(["hello"])
    assert sniff(data[:HEAD_BYTES], "notes.txt").format == "docx"
    assert sniff_stream(io.BytesIO(data), "notes.txt").format == "docx"


def test_zip_that_is_not_an_office_document_is_a_zip_container() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    detected = sniff_stream(buffer, "data.xlsx")
    assert detected.format == "zip"
    assert detected.mime_type == "application/zip"


def test_sniff_stream_reads_the_zip_directory_when_the_head_does_not_show_it_and_rewinds() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("docProps/thumbnail.bin", os.urandom(HEAD_BYTES * 2))
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    buffer.seek(123)
    assert sniff(buffer.getvalue()[:HEAD_BYTES]).format == "zip"
    assert sniff_stream(buffer).format == "xlsx"
    assert buffer.tell() == 0


def test_pdf_magic_wins_over_a_text_filename() -> None:
    assert sniff(make_pdf(["page"]), "readme.txt").format == "pdf"


def test_parquet_magic_is_recognised() -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), buffer)
    assert sniff(buffer.getvalue(), "data.csv").format == "parquet"


def test_legacy_office_file_is_unknown_with_its_container_type() -> None:
    detected = sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls")
    assert (detected.format, detected.mime_type) == ("unknown", "application/x-ole-storage")


def test_binary_garbage_is_unknown() -> None:
    assert sniff(bytes(range(256)) * 50, "data.csv").format == "unknown"


def test_empty_head_is_unknown() -> None:
    assert sniff(b"", "empty.csv").mime_type == "application/x-empty"


def test_clean_columns_are_csv_or_tsv_without_a_filename() -> None:
    assert sniff(b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n").format == "csv"
    assert sniff(b"a\tb\tc\n1\t2\t3\n4\t5\t6\n7\t8\t9\n").format == "tsv"
    assert sniff(b"a;b;c\n1;2;3\n4;5;6\n7;8;9\n").format == "csv"


def test_tab_separated_content_named_csv_is_tsv() -> None:
    assert sniff(b"a\tb\n1\t2\n3\t4\n5\t6\n", "export.csv").format == "tsv"


def test_filename_breaks_the_tie_for_ragged_text() -> None:
    ragged = b'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n'
    assert sniff(ragged, "data.csv").format == "csv"
    assert sniff(ragged, "notes.txt").format == "text"
    assert sniff(b"Hello there.\nJust a note.\n", "notes.md").format == "markdown"
    assert sniff(b"Hello there.\nJust a note.\n", "notes.txt").format == "text"


def test_markdown_is_recognised_from_its_syntax() -> None:
    text = b"# Title\n\nSome **bold** words and a [link](https://example.org).\n\n- one\n- two\n"
    assert sniff(text).format == "markdown"


def test_json_and_json_lines_are_told_apart() -> None:
    assert sniff(b'[{"a": 1}, {"a": 2}]').format == "json"
    assert sniff(b'{"rows": [{"a": 1}]}').format == "json"
    assert sniff(b'{"a": 1}\n{"a": 2}\n{"a": 3}\n').format == "jsonl"
    assert sniff(b'{"a": 1}\n', "events.jsonl").format == "jsonl"


def test_large_pretty_printed_json_is_json() -> None:
    body = b"[\n" + b",\n".join(b'  {\n    "id": %d\n  }' % i for i in range(20_000)) + b"\n]\n"
    assert len(body) > HEAD_BYTES
    assert sniff(body[:HEAD_BYTES]).format == "json"


def test_html_is_recognised() -> None:
    assert sniff(b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "page.txt").format == "html"
    assert sniff(b"<html><head><title>x</title></head></html>").format == "html"


def test_edi_interchanges_are_recognised() -> None:
    isa = b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *210101*1200*U*00401*000000001*0*P*>~"
    assert sniff(isa + b"GS*PO*S*R*20210101*1200*1*X*004010~", "order.txt").format == "edi_x12"
    assert sniff(b"UNA:+.? 'UNB+UNOC:3+S+R+210101:1200+1'").format == "edi_edifact"
    assert sniff(b"UNB+UNOA:1+S+R+210101:1200+1'UNH+1+ORDERS:D:96A:UN'").format == "edi_edifact"


def test_latin1_text_gets_a_western_codec() -> None:
    text = "id,nom,ville\n1,Hélène Dupré,Orléans\n2,Crème brûlée à la française,très bon\n3,naïve façade,Zürich\n"
    detected = sniff(text.encode("latin-1"), "people.csv")
    assert detected.encoding is not None
    assert text.encode("latin-1").decode(detected.encoding) == text


def test_utf8_cut_inside_a_character_at_the_head_boundary_is_still_utf8() -> None:
    data = ("€" * HEAD_BYTES).encode("utf-8")[:HEAD_BYTES]
    assert HEAD_BYTES % 3 != 0  # the head ends inside a three-byte character
    assert sniff(data).encoding == "utf-8"


def test_byte_order_marks_name_the_codec() -> None:
    assert sniff("a,b\n1,2\n".encode("utf-8-sig")).encoding == "utf-8-sig"
    assert sniff("a,b\n1,2\n3,4\n".encode("utf-16")).encoding == "utf-16"

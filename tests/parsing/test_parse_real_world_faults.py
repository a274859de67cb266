"""The classes of fault seen on real files (issue 10), each pinned by a small file that shows it."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from shared.detection import sniff
from shared.parsing import ParseError
from shared.parsing import engine as parse_engine


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_declared_extent(data: bytes, extent: str) -> bytes:
    """Rewrite the sheet's <dimension> as some writers leave it: the whole grid, whatever the sheet holds."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{extent}"/>'.encode(), content)
            target.writestr(info, content)
    return out.getvalue()


def test_a_sheet_declaring_the_whole_grid_yields_only_the_rows_it_holds(run_parse, outputs) -> None:
    data = _with_declared_extent(_xlsx([["id", "name"], [1, "a"], [2, "b"]]), "A1:XFD1048576")
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    _, result = run_parse(data, "wide.xlsx", "structured")
    assert outputs.rows() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert result.record_count == 2


def test_a_header_only_sheet_keeps_its_columns(run_parse, outputs) -> None:
    _, result = run_parse(_xlsx([["zip", "city", "amount"]]), "empty.xlsx", "structured")
    assert [field.name for field in result.schema or []] == ["zip", "city", "amount"]
    assert result.record_count == 0
    assert outputs.rows() == []


def test_json_nested_deeper_than_the_parser_can_go_is_a_permanent_error_in_words(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"[" * 100_000, "deep.json", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "nests" in caught.value.message


def test_a_crash_inside_a_parser_library_is_a_permanent_error_naming_the_problem(run_parse, monkeypatch) -> None:
    def crashing(ctx: Any) -> None:
        raise ValueError("bad cell reference 'Q'")

    route = parse_engine._ROUTES["csv"]
    monkeypatch.setitem(parse_engine._ROUTES, "csv", parse_engine._Route(crashing, route.text, parser=route.parser))
    with pytest.raises(ParseError) as caught:
        run_parse(b"a,b\n1,2\n", "x.csv", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "bad cell reference" in caught.value.message


def test_an_encoding_guess_is_recorded_with_its_confidence_and_the_option_overrides_it(run_parse, outputs) -> None:
    data = "name,city\nJosé,Köln\nRenée,Zürich\nFrançois,Besançon\n".encode("cp1252")
    _, result = run_parse(data, "people.csv", "structured")
    guess = result.guesses["encoding"]
    assert guess["value"] in ("cp1252", "latin_1", "iso8859_15")
    assert guess["confidence"] < 1.0
    assert guess["override"] == "parse_options.encoding"
    assert outputs.rows()[0] == {"name": "José", "city": "Köln"}

    _, chosen = run_parse(data, "people.csv", "structured", {"encoding": "cp1250"})
    assert "encoding" not in chosen.guesses  # the person's choice is no guess


def test_columns_with_leading_zeros_stay_text(run_parse, outputs) -> None:
    _, result = run_parse(b"zip,amount\n02134,5\n10001,7\n00501,9\n", "zips.csv", "structured")
    assert [row["zip"] for row in outputs.rows()] == ["02134", "10001", "00501"]
    assert [row["amount"] for row in outputs.rows()] == [5, 7, 9]
    assert result.guesses["text_columns"]["value"] == ["zip"]


def test_column_types_option_overrides_the_inferred_type(run_parse, outputs) -> None:
    run_parse(b"code,amount\n12,5\n13,7\n", "codes.csv", "structured", {"column_types": {"code": "string"}})
    assert [row["code"] for row in outputs.rows()] == ["12", "13"]


def test_a_stray_quote_that_swallows_rows_is_reported_with_its_row(run_parse) -> None:
    lines = ["id,name,note", '1,"Acme,ok', *[f"{n},Name {n},note {n}" for n in range(2, 40)], "40,end,x"]
    with pytest.raises(ParseError) as caught:
        run_parse(("\n".join(lines) + "\n").encode(), "stray.csv", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "Row 2" in caught.value.message and "stray" in caught.value.message


def test_tab_separated_excel_exports_lose_their_quotes(run_parse, outputs) -> None:
    data = b'name\tnote\n"Smith, J"\t"said ""hi"""\nDoe\tplain\n'
    run_parse(data, "export.tsv", "structured")
    assert outputs.rows() == [{"name": "Smith, J", "note": 'said "hi"'}, {"name": "Doe", "note": "plain"}]


def test_values_people_type_as_na_are_kept(run_parse, outputs) -> None:
    run_parse(b"a,b\nNA,1\nN/A,\n", "na.csv", "structured")
    assert outputs.rows() == [{"a": "NA", "b": 1}, {"a": "N/A", "b": None}]


def test_comment_lines_before_the_header_are_skipped_and_skip_rows_overrides(run_parse, outputs) -> None:
    _, result = run_parse(b"# exported 2024-01-01\n# by tool\na,b\n1,2\n", "c.csv", "structured")
    assert outputs.rows() == [{"a": 1, "b": 2}]
    assert result.guesses["skip_rows"]["value"] == 2
    run_parse(b"Report title\n\na,b\n1,2\n", "t.csv", "structured", {"skip_rows": 2})
    assert outputs.rows() == [{"a": 1, "b": 2}]


X12 = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>{t}"
    "GS*PO*SENDER*RECEIVER*20240101*1200*1*X*004010{t}"
    "ST*850*0001{t}BEG*00*SA*PO1**20240101{t}SE*3*0001{t}GE*1*1{t}IEA*1*000000001"
)


@pytest.mark.parametrize(
    "text",
    [
        X12.format(t="\x1d"),  # group separator as the terminator
        X12.format(t="~\n    ").replace("ISA*", "  ISA*", 1),  # indented, no final terminator
        X12.format(t="~  \r\n") + "~  \r\n\x00\x00",  # trailing whitespace and NUL padding
    ],
    ids=["gs-terminator", "indented-unterminated", "trailing-whitespace"],
)
def test_x12_as_senders_write_it_is_read(run_parse, outputs, text: str) -> None:
    detected, _ = run_parse(text.encode("latin-1"), "po.x12", "structured")
    assert detected.format == "edi_x12"
    assert [row["segment_id"] for row in outputs.rows()] == ["ISA", "GS", "ST", "BEG", "SE", "GE", "IEA"]


def test_edifact_declaring_unoc_with_utf8_bytes_is_read_as_utf8(run_parse, outputs) -> None:
    text = "UNB+UNOC:3+SENDER+RECEIVER+240101:1200+1'UNH+1+ORDERS:D:96A:UN'NAD+BY+++Müller GmbH'UNT+3+1'UNZ+1+1'"
    _, result = run_parse(text.encode("utf-8"), "o.edi", "structured")
    names = [row["elements"] for row in outputs.rows() if row["segment_id"] == "NAD"]
    assert names[0][3] == "Müller GmbH"
    assert any("UTF-8" in warning for warning in result.warnings)


def test_a_text_starting_with_unb_is_not_edifact() -> None:
    assert sniff(b"UNB meeting notes\nThe UN board met on Monday.\n", "notes.txt").format == "text"


def test_an_invalid_json_file_is_refused_clearly(run_parse) -> None:
    for profile in ("structured", "unstructured"):
        with pytest.raises(ParseError) as caught:
            run_parse(b"{'name': 'single quotes are not JSON'}", "bad.json", profile)
        assert caught.value.code == "CORRUPT_FILE"
        assert "not valid JSON" in caught.value.message and "line 1" in caught.value.message


def test_gzip_and_single_file_zip_uploads_are_parsed_as_their_member(run_parse, outputs) -> None:
    csv_bytes = b"a,b\n1,2\n3,4\n"
    detected, result = run_parse(gzip.compress(csv_bytes), "data.csv.gz", "structured")
    assert detected.format == "gzip" and result.detected_format == "csv"
    assert outputs.rows() == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/data.csv", csv_bytes)
    _, zipped = run_parse(buffer.getvalue(), "data.zip", "structured")
    assert zipped.parser_type == "zip+pyarrow.csv"
    assert outputs.rows() == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]


def test_a_zip_of_several_files_is_refused_with_their_names(run_parse) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("one.csv", "a\n1\n")
        archive.writestr("two.csv", "a\n2\n")
    with pytest.raises(ParseError) as caught:
        run_parse(buffer.getvalue(), "both.zip", "structured")
    assert caught.value.code == "UNSUPPORTED_FORMAT" and "one.csv" in caught.value.message


def test_a_decompression_bomb_is_refused_before_it_fills_the_disk(run_parse) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) * 200 < 64 * 1024 * 1024
    with pytest.raises(ParseError) as caught:
        run_parse(bomb, "bomb.csv.gz", "structured")
    assert caught.value.code == "TOO_LARGE"


UBL = b"""<?xml version="1.0"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
 <cbc:ID>INV-1</cbc:ID>
 <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="EA">3</cbc:InvoicedQuantity></cac:InvoiceLine>
 <cac:InvoiceLine><cbc:ID>2</cbc:ID><cbc:InvoicedQuantity unitCode="EA">5</cbc:InvoicedQuantity></cac:InvoiceLine>
</Invoice>"""


def test_a_ubl_invoice_gives_one_row_per_line(run_parse, outputs) -> None:
    detected, result = run_parse(UBL, "invoice.xml", "structured")
    assert detected.format == "xml"
    assert outputs.rows() == [
        {"ID": "1", "InvoicedQuantity/@unitCode": "EA", "InvoicedQuantity": "3"},
        {"ID": "2", "InvoicedQuantity/@unitCode": "EA", "InvoicedQuantity": "5"},
    ]
    assert result.guesses["xml_records"]["method"] == "UBL Invoice document"


def test_an_email_yields_its_headers_and_text_and_names_its_attachments(run_parse, outputs) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "ana@example.com"
    message["To"] = "bo@example.com"
    message["Subject"] = "Quarterly figures"
    message.set_content("The figures are attached.\nRegards, Ana")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="figures.csv")
    detected, result = run_parse(message.as_bytes(), "mail.eml", "unstructured")
    assert detected.format == "eml"
    text = "\n".join(chunk["text"] for chunk in outputs.chunks())
    assert "Quarterly figures" in text and "The figures are attached." in text
    assert any("figures.csv" in warning for warning in result.warnings)


def test_a_pdf_whose_metadata_cannot_be_read_still_gives_its_text(run_parse, outputs) -> None:
    from tests.parsing.parsing_builders import make_pdf

    # The trailer points /Info at an object that does not exist, and the Info dictionary it would hold is garbage.
    data = make_pdf(["Quarterly report", "Revenue grew"]).replace(b"/Root 1 0 R", b"/Root 1 0 R /Info 99 0 R")
    _, result = run_parse(data, "report.pdf", "unstructured")
    assert result.page_count == 2
    assert [chunk["text"] for chunk in outputs.chunks()] == ["Quarterly report", "Revenue grew"]


def test_a_binary_workbook_is_detected_as_xlsb_not_xlsx() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
        archive.writestr("xl/worksheets/sheet1.bin", b"\x81\x01\x00")
    assert sniff(buffer.getvalue(), "book.xlsb").format == "xlsb"


def _strict(data: bytes) -> bytes:
    """The same workbook in Strict OOXML, whose namespaces openpyxl does not know."""
    pairs = (
        (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
        (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
         b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            for old, new in pairs:
                content = content.replace(old, new)
            target.writestr(info, content)
    return out.getvalue()


def test_a_strict_ooxml_workbook_is_read(run_parse, outputs) -> None:
    with pytest.warns(UserWarning):  # openpyxl says what it could not read, then finds no worksheet
        _, result = run_parse(_strict(_xlsx([["id", "name"], [1, "a"], [2, "b"]])), "strict.xlsx", "structured")
    assert outputs.rows() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert result.guesses["reader"]["value"] == "python-calamine"

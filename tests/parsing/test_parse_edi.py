"""X12 and EDIFACT interchanges become one row per segment with their envelope control numbers."""

from __future__ import annotations

import pytest

from shared.parsing import ParseError

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000905*0*P*>~"
X12_850 = (
    ISA + "\n"
    "GS*PO*SENDER*RECEIVER*20240101*1200*77*X*004010~\n"
    "ST*850*0001~\n"
    "BEG*00*SA*PO-123**20240101~\n"
    "PO1*1*10*EA*9.95**VP*ITEM>RED~\n"
    "SE*4*0001~\n"
    "ST*850*0002~\n"
    "BEG*00*SA*PO-124**20240102~\n"
    "SE*3*0002~\n"
    "GE*2*77~\n"
    "IEA*1*000000905~\n"
)


def test_edi_x12_segments_become_rows(run_parse, outputs) -> None:
    detected, result = run_parse(X12_850.encode(), "po.edi", "structured")
    assert detected.format == "edi_x12"
    assert result.parser_type == "edi.x12"
    rows = outputs.rows()
    assert [row["segment_id"] for row in rows] == [
        "ISA", "GS", "ST", "BEG", "PO1", "SE", "ST", "BEG", "SE", "GE", "IEA",
    ]  # fmt: skip
    assert result.record_count == 11
    po1 = rows[4]
    assert po1["interchange_control_number"] == "000000905"
    assert po1["group_control_number"] == "77"
    assert po1["transaction_control_number"] == "0001"
    assert po1["transaction_type"] == "850"
    assert po1["segment_index"] == 4
    assert po1["elements"] == ["1", "10", "EA", "9.95", "", "VP", "ITEM>RED"]
    assert po1["components"][6] == ["ITEM", "RED"]
    assert rows[7]["transaction_control_number"] == "0002"
    assert rows[9]["transaction_control_number"] is None  # GE closes the group, outside any transaction
    assert rows[0]["elements"][15] == ">"
    assert result.warnings == []


def test_edi_x12_delimiters_come_from_the_isa_segment(run_parse, outputs) -> None:
    isa = ISA.replace("*", "|").replace(">~", "^!")
    data = isa + "GS|PO|S|R|20240101|1200|5|X|004010!ST|850|0001!BEG|00|SA|P^Q!SE|3|0001!GE|1|5!IEA|1|000000905!"
    run_parse(data.encode(), "po.x12", "structured")
    rows = outputs.rows()
    assert [row["segment_id"] for row in rows] == ["ISA", "GS", "ST", "BEG", "SE", "GE", "IEA"]
    assert rows[3]["components"][2] == ["P", "Q"]


def test_edi_x12_trailer_count_mismatch_is_a_warning(run_parse) -> None:
    data = X12_850.replace("SE*4*0001~", "SE*9*0001~").replace("GE*2*77~", "GE*2*78~")
    _, result = run_parse(data.encode(), "po.edi", "structured")
    assert any("SE01 of SE 0001 declares 9 segments but 4 were read" in w for w in result.warnings)
    assert any("GE02 control number 78 does not match GS06 77" in w for w in result.warnings)


def test_edi_x12_missing_trailer_is_a_warning(run_parse) -> None:
    _, result = run_parse(X12_850.replace("IEA*1*000000905~\n", "").encode(), "po.edi", "structured")
    assert any("without its IEA trailer" in w for w in result.warnings)


def test_edi_x12_with_a_truncated_isa_is_corrupt(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"ISA*00*          *00*   ", "bad.edi", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "ISA" in caught.value.message


EDIFACT = (
    "UNA:+.? '\n"
    "UNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+REF42'\n"
    "UNH+1+ORDERS:D:96A:UN'\n"
    "BGM+220+PO-9+9'\n"
    "FTX+AAI+++Price 5?+ tax?: 20?? off?'s'\n"
    "UNT+3+1'\n"
    "UNZ+1+REF42'\n"
)


def test_edi_edifact_una_delimiters_and_release_character(run_parse, outputs) -> None:
    detected, result = run_parse(EDIFACT.encode("latin-1"), "orders.edi", "structured")
    assert detected.format == "edi_edifact"
    rows = outputs.rows()
    assert [row["segment_id"] for row in rows] == ["UNB", "UNH", "BGM", "FTX", "UNT", "UNZ"]
    ftx = rows[3]
    assert ftx["elements"] == ["AAI", "", "", "Price 5+ tax: 20? off's"]
    assert ftx["interchange_control_number"] == "REF42"
    assert ftx["transaction_control_number"] == "1"
    assert ftx["transaction_type"] == "ORDERS"
    assert rows[1]["components"][1] == ["ORDERS", "D", "96A", "UN"]
    assert any("UNT01 of UNT 1 declares 3 segments but 4 were read" in w for w in result.warnings)


def test_edi_edifact_without_una_uses_the_default_delimiters(run_parse, outputs) -> None:
    data = "UNB+UNOA:1+S+R+240101:1200+7'UNH+9+INVOIC:D:01B:UN'BGM+380+INV1'UNT+3+9'UNZ+1+7'"
    _, result = run_parse(data.encode(), "inv.edifact", "structured")
    rows = outputs.rows()
    assert [row["segment_id"] for row in rows] == ["UNB", "UNH", "BGM", "UNT", "UNZ"]
    assert rows[2]["transaction_type"] == "INVOIC"
    assert result.warnings == []


def test_edi_edifact_unterminated_segment_is_corrupt(run_parse) -> None:
    with pytest.raises(ParseError) as caught:
        run_parse(b"UNB+UNOA:1+S+R+240101:1200+7'UNH+9+INVOIC", "inv.edifact", "structured")
    assert caught.value.code == "CORRUPT_FILE"
    assert "terminator" in caught.value.message


def test_hybrid_edi_yields_segments_and_text(run_parse) -> None:
    _, result = run_parse(X12_850.encode(), "po.edi", "hybrid")
    assert {o.name for o in result.outputs} == {"structured.parquet", "transactions.jsonl", "chunks.jsonl"}


def test_edi_x12_gives_one_record_per_transaction_set_with_its_envelope_checked(run_parse, outputs) -> None:
    data = X12_850.replace("ST*850*0002~", "ST*810*0002~").replace("SE*3*0002~", "SE*5*0002~")
    _, result = run_parse(data.encode(), "mixed.edi", "structured")
    first, second = outputs.records("transactions.jsonl")
    assert (first["transaction_type"], first["transaction_name"], first["transaction_control_number"]) == (
        "850", "Purchase Order", "0001")
    assert (first["first_segment_index"], first["last_segment_index"], first["segment_count"]) == (2, 5, 4)
    assert first["valid"] is True and first["problems"] == []
    assert (first["interchange_control_number"], first["group_control_number"]) == ("000000905", "77")
    assert (second["transaction_type"], second["transaction_name"], second["valid"]) == ("810", "Invoice", False)
    assert second["problems"] == ["SE01 of SE 0002 declares 5 segments but 3 were read"]
    outputs_by_name = {o.name: o for o in result.outputs}
    assert outputs_by_name["transactions.jsonl"].record_count == 2
    assert outputs_by_name["structured.parquet"].record_count == 11  # segment-level rows are kept for detail


def test_edi_a_transaction_without_its_trailer_is_a_record_marked_invalid(run_parse, outputs) -> None:
    data = X12_850.replace("SE*4*0001~\n", "")
    run_parse(data.encode(), "cut.edi", "structured")
    first, second = outputs.records("transactions.jsonl")
    assert first["transaction_control_number"] == "0001" and first["valid"] is False
    assert first["problems"] == ["ST 0001 has no SE trailer"] and first["last_segment_index"] == 4
    assert second["transaction_control_number"] == "0002" and second["valid"] is True


def test_edifact_messages_become_transaction_records_with_their_names(run_parse, outputs) -> None:
    data = ("UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+240101:1200+REF1'UNH+M1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+M1'"
            "UNH+M2+INVOIC:D:96A:UN'BGM+380+INV1'UNT+3+M9'UNZ+2+REF1'")
    run_parse(data.encode(), "orders.edi", "structured")
    first, second = outputs.records("transactions.jsonl")
    assert (first["transaction_type"], first["transaction_name"], first["valid"]) == ("ORDERS", "Purchase order", True)
    assert (second["transaction_type"], second["transaction_name"]) == ("INVOIC", "Invoice")
    assert second["problems"] == ["UNT02 control number M9 does not match UNH01 M2"]

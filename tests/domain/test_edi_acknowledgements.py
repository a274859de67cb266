"""Acknowledgements of public interchanges (tests/corpus/edi, sources in SOURCES.tsv) with seeded faults, each read
back by an independent implementation: pyx12 validates our TA1/997/999 against its own maps and reads their codes;
pydifact reads our CONTRL."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pyx12.params
import pyx12.x12file
import pyx12.x12n_document as pyx12_document
from pydifact.segmentcollection import Interchange

from shared.edi import edifact, x12
from shared.edi.model import ack_status

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "edi"
WHEN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ENROLMENT = (CORPUS / "pyx12_834_lui_id.x12").read_bytes()  # pyx12's 834 (HIPAA 4010)
INVOICE = (CORPUS / "pydifact_invoice1.edi").read_bytes()  # pydifact's INVOIC D.97A


def _pyx12_reads(ack: str) -> dict[str, list[list[str]]]:
    """Check the acknowledgement against pyx12's maps (no errors) and return its segments by id."""
    report = io.StringIO()
    valid = pyx12_document.x12n_document(pyx12.params.params(), io.StringIO(ack), None, None, None, report)
    assert valid, report.getvalue()
    found: dict[str, list[list[str]]] = {}
    for seg in pyx12.x12file.X12Reader(io.StringIO(ack)):
        found.setdefault(seg.get_seg_id(), []).append(
            [seg.get_value(f"{seg.get_seg_id()}{i:02d}") or "" for i in range(1, len(seg) + 1)])
    return found


def _pydifact_reads(ack: str) -> dict[str, list[list]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = Interchange.from_str(ack)
    found: dict[str, list[list]] = {}
    for seg in interchange.segments:
        found.setdefault(seg.tag, []).append(seg.elements)
    return found


def _x12_ack(data: bytes, kind: str = "997") -> tuple[dict[str, list[list[str]]], str]:
    ic = x12.validate(data)[0]
    ack = x12.build_functional_ack(ic, kind, "000000042", WHEN)
    return _pyx12_reads(ack), ack_status(ic.envelope_ok, ic.all_transactions())


def test_clean_public_834_is_accepted_in_997_and_999():
    for kind, set_status in (("997", "AK5"), ("999", "IK5")):
        segs, status = _x12_ack(ENROLMENT, kind)
        assert segs[set_status] == [["A"]]
        assert segs["AK9"] == [["A", "1", "1", "1"]]
        assert segs["AK1"][0][:2] == ["BE", "13360001"]
        assert status == "accepted"


def test_wrong_se_count_rejects_the_set_with_code_4():
    segs, status = _x12_ack(ENROLMENT.replace(b"SE*20*0001", b"SE*19*0001"))
    assert segs["AK5"] == [["R", "4"]]
    assert segs["AK9"][0][:4] == ["R", "1", "1", "0"]
    assert status == "rejected"


def test_missing_mandatory_element_names_segment_and_element():
    segs, _ = _x12_ack(ENROLMENT.replace(b"BGN*00*", b"BGN**"), "999")
    assert segs["IK3"] == [["BGN", "2", "", "8"]]
    assert segs["IK4"] == [["1", "353", "1"]]  # BGN01 (element 353) missing
    assert segs["IK5"] == [["R", "5"]]


def test_bad_qualifier_in_a_set_is_an_invalid_code_value():
    segs, _ = _x12_ack(ENROLMENT.replace(b"DTP*007*D8*", b"DTP*007*Q8*"))
    assert segs["AK3"] == [["DTP", "3", "", "8"]]
    assert segs["AK4"] == [["2", "1250", "7", "Q8"]]


def test_bad_interchange_qualifier_rejects_the_envelope_in_ta1():
    ic = x12.validate(ENROLMENT.replace(b"*ZZ*D00XXX", b"*XX*D00XXX", 1))[0]
    segs = _pyx12_reads(x12.build_ta1(ic, "000000043", WHEN))
    assert segs["TA1"][0][0] == "000701336" and segs["TA1"][0][3:] == ["R", "005"]


def test_duplicate_interchange_is_rejected_with_025():
    ic = x12.validate(ENROLMENT)[0]
    segs = _pyx12_reads(x12.build_ta1(ic, "000000044", WHEN, note="025"))
    assert segs["TA1"][0][3:] == ["R", "025"]


def test_pyx12s_own_expectation_for_a_bad_isa_time_matches_ours():
    # pyx12/test/files/ele.997.base answers this file with TA1*000484889*...*R*015 (invalid interchange time).
    ic = x12.validate((CORPUS / "pyx12_ele.x12").read_bytes())[0]
    segs = _pyx12_reads(x12.build_ta1(ic, "000000045", WHEN))
    assert segs["TA1"][0][0] == "000484889" and segs["TA1"][0][3:] == ["R", "015"]


def _contrl(data: bytes, note: str | None = None) -> tuple[dict[str, list[list]], str]:
    ic = edifact.validate(data)[0]
    status = "rejected" if note else ack_status(ic.envelope_ok, ic.all_transactions())
    return _pydifact_reads(edifact.build_contrl(ic, "ACK42", WHEN, note)), status


def test_clean_public_invoic_is_acknowledged():
    segs, status = _contrl(INVOICE)
    assert segs["UNH"][0][1][0] == "CONTRL"
    assert segs["UCI"][0][0] == "PAYO0012101221" and segs["UCI"][0][3] == "7"
    assert "UCM" not in segs and status == "accepted"


def test_wrong_unt_count_rejects_the_message_with_29():
    segs, status = _contrl(INVOICE.replace(b"UNT+24+1", b"UNT+23+1"))
    assert segs["UCM"][0][2:] == ["4", "29"]
    assert status == "rejected"


def test_bad_qualifier_and_missing_element_go_down_to_ucd():
    segs, _ = _contrl(INVOICE.replace(b"NAD+BT+", b"NAD+QQ+"))
    assert ["12", "1:1"] in [s[:2] if isinstance(s[1], str) else [s[0], ":".join(s[1])] for s in segs["UCD"]]
    segs, _ = _contrl(INVOICE.replace(b"DTM+137:199910060000:102", b"DTM+:199910060000:102"))
    assert segs["UCS"][0] == ["3", "13"]  # UNH 1, BGM 2, DTM 3


def test_unz_reference_mismatch_in_public_sample_rejects_interchange():
    # Wikipedia's ORDERS sample closes UNB reference 1 with UNZ 1234567: a real fault, code 28.
    segs, status = _contrl((CORPUS / "pydifact_wikipedia_de.edi").read_bytes())
    assert segs["UCI"][0][3:5] == ["4", "28"]
    assert status == "rejected"


def test_duplicate_edifact_interchange_is_rejected_with_26():
    segs, _ = _contrl(INVOICE, note="26")
    assert segs["UCI"][0][3:5] == ["4", "26"]

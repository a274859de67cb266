"""X12: check an interchange's envelopes and the syntax of its sets against `tables`, and write its TA1, 997 and 999.

Codes are those of X12.5/X12.6 and the 997/999 implementation guides: TA105 interchange notes, AK304/IK304 segment
errors, AK403/IK403 element errors, AK502/IK502 set errors, AK905 group errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from shared.edi.model import ElementError, GroupResult, InterchangeResult, Party, SegmentError, TransactionResult
from shared.edi.tables import X12_ISA, X12_QUALIFIERS, X12_SEGMENTS, X12_SETS
from shared.edi.tokens import EdiSyntaxError, Segment, x12_segments

_ISA_NOTES = {4: "005", 5: "006", 6: "007", 7: "008", 8: "014", 9: "015", 11: "017", 12: "018", 13: "019",
              14: "020"}  # ISA element index (0-based) -> TA105 note for an invalid value
_DIGITS = re.compile(r"[0-9]+")


class X12SyntaxError(ValueError):
    """The bytes are not an X12 interchange at all (no ISA): nothing can be acknowledged."""


def _pieces(data: bytes) -> Iterator[str]:
    yield data.decode("latin-1")


def separators(data: bytes) -> tuple[str, str, str]:
    text = data.decode("latin-1").lstrip("\ufeff \t\r\n")
    if not text.startswith("ISA") or len(text) < 106:
        raise X12SyntaxError("An X12 interchange starts with a 106-character ISA segment.")
    return text[3], text[104], text[105]


def check_element(spec: str, value: str, position: int, component: int | None = None) -> ElementError | None:
    ref, req, kind, size, *rest = spec.split(" ")
    low, high = (int(n) for n in size.split("/"))
    if not value.strip() if kind != "AN" else not value:
        return ElementError(position, "1", component, ref) if req == "M" else None
    body = value.strip() if kind != "AN" else value
    err: str | None = None
    if len(body) < low:
        err = "4"
    elif len(body.lstrip("-").replace(".", "") if kind in ("R", "N0", "N2") else body) > high:
        err = "5"
    elif kind in ("N0", "N2") and not re.fullmatch(r"-?[0-9]+", body):
        err = "6"
    elif kind == "R" and not re.fullmatch(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)", body):
        err = "6"
    elif kind == "DT" and not _valid_time(body, "%y%m%d" if len(body) == 6 else "%Y%m%d"):
        err = "8"
    elif kind == "TM" and not _valid_time(body[:4], "%H%M"):
        err = "9"
    elif rest and body not in rest[0].split(","):
        err = "7"
    return ElementError(position, err, component, ref, value[:99]) if err else None


def _valid_time(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _segment_errors(segment: Segment, position: int) -> SegmentError | None:
    specs = X12_SEGMENTS.get(segment.tag)
    if specs is None:
        return None
    errors = [e for i, spec in enumerate(specs)
              if (e := check_element(spec, segment.components[i][0] if i < len(segment.components) else "", i + 1))]
    return SegmentError(segment.tag, position, "8", errors) if errors else None


def validate(data: bytes) -> list[InterchangeResult]:
    """Every interchange in the bytes, with what is wrong at each level."""
    element, component, terminator = separators(data)
    results: list[InterchangeResult] = []
    ic: InterchangeResult | None = None
    group: GroupResult | None = None
    tx: TransactionResult | None = None
    segments_in_tx = 0
    seen_sets: list[str] = []
    try:
        segments = list(x12_segments(_pieces(data)))
    except EdiSyntaxError as exc:
        raise X12SyntaxError(str(exc)) from None
    for seg in segments:
        tag, values = seg.tag, seg.elements
        if tag == "ISA":
            ic = _interchange(values, (element, component, terminator))
            results.append(ic)
            continue
        if ic is None:
            raise X12SyntaxError("Segments before the ISA header.")
        if tag == "GS":
            group = GroupResult(_v(values, 0), _v(values, 5), _v(values, 7), None)
            ic.groups.append(group)
        elif tag == "ST":
            if group is None:
                ic.envelope_code = ic.envelope_code if not ic.envelope_ok else "024"
                continue
            tx = TransactionResult(_v(values, 0), _v(values, 1), _v(values, 2) or group.version)
            group.transactions.append(tx)
            segments_in_tx, seen_sets = 1, []
            if tx.code not in X12_SETS:
                tx.trailer_codes.append("1")
            if not _DIGITS.fullmatch(tx.control.strip()) and not tx.control.strip():
                tx.trailer_codes.append("7")
            if bad := _segment_errors(seg, 1):
                tx.errors.append(bad)
        elif tag == "SE":
            if tx is None:
                continue
            segments_in_tx += 1
            if bad := _segment_errors(seg, segments_in_tx):
                tx.errors.append(bad)
            if _v(values, 1) != tx.control:
                tx.trailer_codes.append("3")
            declared = _v(values, 0)
            if declared.isdigit() and int(declared) != segments_in_tx:
                tx.trailer_codes.append("4")
            _missing(tx, seen_sets, segments_in_tx)
            tx = None
        elif tag == "GE":
            if group is not None:
                declared = _v(values, 0)
                group.declared = int(declared) if declared.isdigit() else None
                if group.declared != len(group.transactions):
                    group.codes.append("5")
                if _v(values, 1) != group.control:
                    group.codes.append("4")
                if tx is not None:  # a set without its SE
                    tx.trailer_codes.append("2")
                    tx = None
            group = None
        elif tag == "IEA":
            declared = _v(values, 0)
            if ic.envelope_ok and _v(values, 1) != ic.control:
                ic.envelope_code = "001"
            elif ic.envelope_ok and (not declared.isdigit() or int(declared) != len(ic.groups)):
                ic.envelope_code = "021"
            ic = None
        elif tx is not None:
            segments_in_tx += 1
            seen_sets.append(tag)
            if not re.fullmatch(r"[A-Z][A-Z0-9]{1,2}", tag):
                tx.errors.append(SegmentError(tag[:3], segments_in_tx, "1"))
            elif bad := _segment_errors(seg, segments_in_tx):
                tx.errors.append(bad)
    if ic is not None and ic.envelope_ok:
        ic.envelope_code = "023"  # the file ended before IEA
    for result in results:
        for g in result.groups:
            for t in g.transactions:
                t.trailer_codes = list(dict.fromkeys(t.trailer_codes + (["5"] if t.errors else [])))
    return results


def _missing(tx: TransactionResult, seen: list[str], se_position: int) -> None:
    for required in X12_SETS.get(tx.code, []):
        if required not in seen:
            tx.errors.append(SegmentError(required, se_position, "3"))


def _v(values: list[str], index: int) -> str:
    return values[index].strip() if len(values) > index else ""


def _interchange(values: list[str], seps: tuple[str, str, str]) -> InterchangeResult:
    ic = InterchangeResult(
        standard="x12", control=_v(values, 12), sender=Party(_v(values, 4), _v(values, 5)),
        receiver=Party(_v(values, 6), _v(values, 7)), version=_v(values, 11), ack_requested=_v(values, 13) == "1",
        test=_v(values, 14) == "T", envelope_code="000", separators=seps)
    if len(values) != 16:
        ic.envelope_code = "024"
        return ic
    for index, spec in enumerate(X12_ISA):
        if index in (10, 15):  # repetition / component separators are characters, checked by the tokenizer
            continue
        width = int(spec.split(" ")[3].split("/")[0])
        if len(values[index]) != width:
            ic.envelope_code = "024"  # ISA elements are fixed-width
            return ic
        if check_element(spec, values[index], index + 1) is not None:
            ic.envelope_code = _ISA_NOTES.get(index, "024")
            return ic
    return ic


# --- writing acknowledgements -------------------------------------------------------------------------------------


def _isa(original: InterchangeResult, control: str, when: datetime, version: str) -> list[str]:
    comp = original.separators[1]
    repetition = "^" if version >= "00501" else "U"
    return ["ISA", "00", " " * 10, "00", " " * 10, _qualifier(original.receiver.qualifier),
            original.receiver.id.ljust(15)[:15], _qualifier(original.sender.qualifier), original.sender.id.ljust(15)[:15],
            when.strftime("%y%m%d"), when.strftime("%H%M"), repetition, version, control.zfill(9)[-9:], "0",
            "T" if original.test else "P", comp]


def _qualifier(code: str) -> str:
    """Our own envelope must be valid even when the one we answer is not (mutually defined, then)."""
    return code if code in X12_QUALIFIERS.split(",") else "ZZ"


def _write(segments: list[list[str]], seps: tuple[str, str, str]) -> str:
    el, _, term = seps
    return "".join(el.join(s) + term + "\n" for s in segments)


def build_ta1(original: InterchangeResult, control: str, when: datetime, note: str | None = None) -> str:
    """A TA1 in an interchange of its own (IEA01 counts no groups). `note` overrides the envelope's (025: duplicate)."""
    code = note or original.envelope_code
    ack = "A" if code == "000" else "R"
    version = original.version if re.fullmatch(r"00[0-9]{3}", original.version) else "00401"
    segments = [_isa(original, control, when, version),
                ["TA1", original.control.zfill(9)[-9:], when.strftime("%y%m%d"), when.strftime("%H%M"), ack, code],
                ["IEA", "0", control.zfill(9)[-9:]]]
    return _write(segments, original.separators)


def build_functional_ack(original: InterchangeResult, kind: str, control: str, when: datetime) -> str:
    """One 997 or 999 set per functional group of the interchange, in one FA group."""
    comp = original.separators[1]
    version = "00501" if kind == "999" else (original.version if original.version < "00501" else "00401")
    gs_version = "005010X231A1" if kind == "999" else "004010"
    segments: list[list[str]] = [_isa(original, control, when, version)]
    group_control = str(int(control) % 1_000_000_000 or 1)
    segments.append(["GS", "FA", original.receiver.id.strip(), original.sender.id.strip(), when.strftime("%Y%m%d"),
                     when.strftime("%H%M"), group_control, "X", gs_version])
    for number, group in enumerate(original.groups, start=1):
        st_control = f"{number:04d}"
        body: list[list[str]] = [["ST", kind, st_control] + (["005010X231A1"] if kind == "999" else [])]
        body.append(["AK1", group.functional_id, group.control] + ([group.version] if kind == "999" else []))
        accepted = 0
        for tx in group.transactions:
            body.append(["AK2", tx.code, tx.control] + ([tx.version] if kind == "999" and tx.version else []))
            for err in tx.errors:
                body.append(["IK3" if kind == "999" else "AK3", err.tag, str(err.position), "", err.code])
                for e in err.elements:
                    position = str(e.position) if e.component is None else f"{e.position}{comp}{e.component}"
                    body.append(["IK4" if kind == "999" else "AK4", position, e.ref or "", e.code]
                                + ([_clean(e.value, original.separators)] if e.value else []))
            status = "A" if tx.accepted else "R"
            accepted += tx.accepted
            body.append(["IK5" if kind == "999" else "AK5", status, *tx.trailer_codes[:5]])
        received = len(group.transactions)
        if group.codes or (accepted == 0 and received):
            group_status = "R" if accepted == 0 else "P"
        else:
            group_status = "A" if accepted == received else "P"
        codes = list(group.codes) or (["5"] if group_status == "R" and received else [])
        declared = str(group.declared if group.declared is not None else received)
        body.append(["AK9", group_status, declared, str(received), str(accepted), *codes[:5]])
        body.append(["SE", str(len(body) + 1), st_control])
        segments += body
    segments.append(["GE", str(len(original.groups)), group_control])
    segments.append(["IEA", "1", control.zfill(9)[-9:]])
    return _write([_trim(s) for s in segments], original.separators)


def _clean(value: str, seps: tuple[str, str, str]) -> str:
    return "".join(ch for ch in value if ch not in seps and ch not in "^\r\n").strip()[:99] or ""


def _trim(segment: list[str]) -> list[str]:
    """Trailing empty elements are never written (X12.6)."""
    while len(segment) > 1 and segment[-1] == "":
        segment = segment[:-1]
    return segment

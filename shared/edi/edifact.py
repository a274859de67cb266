"""EDIFACT: check an interchange's service segments and the syntax of its messages against `tables`, and write its
CONTRL (ISO 9735 syntax and service report: UCI for the interchange, UCM per message, UCS per segment and UCD per
element at fault). Error codes are those of data element 0085, action codes those of 0083 (4 rejected, 7 acknowledged).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from shared.edi.model import ElementError, GroupResult, InterchangeResult, Party, SegmentError, TransactionResult
from shared.edi.tables import EDIFACT_MESSAGES, EDIFACT_SEGMENTS
from shared.edi.tokens import EdiSyntaxError, Segment, edifact_segments

_REPR = re.compile(r"(!?)(an|a|n)(\.\.)?(\d+)(?:=(.+))?")


class EdifactSyntaxError(ValueError):
    """The bytes are not an EDIFACT interchange at all (no UNA/UNB)."""


def _pieces(data: bytes) -> Iterator[str]:
    yield data.decode("latin-1")


def _check_component(spec: str, value: str, position: int, component: int) -> ElementError | None:
    match = _REPR.fullmatch(spec)
    if match is None:
        raise ValueError(f"bad table entry {spec!r}")
    mandatory, kind, upto, size, codes = match.groups()
    if value == "":
        return ElementError(position, "13", component) if mandatory else None
    digits = value.lstrip("-").replace(".", "").replace(",", "") if kind == "n" else value
    if kind == "n" and not re.fullmatch(r"-?[0-9]*[.,]?[0-9]+", value):
        return ElementError(position, "37", component, value=value)
    if kind == "a" and any(ch.isdigit() for ch in value):
        return ElementError(position, "37", component, value=value)
    if len(digits) > int(size):
        return ElementError(position, "39", component, value=value)
    if not upto and len(digits) < int(size):
        return ElementError(position, "40", component, value=value)
    if codes and value not in codes.split("/"):
        return ElementError(position, "12", component, value=value)
    return None


def _segment_errors(segment: Segment, position: int) -> SegmentError | None:
    specs = EDIFACT_SEGMENTS.get(segment.tag)
    if specs is None:
        return None
    errors: list[ElementError] = []
    for index, spec in enumerate(specs):
        required, parts = spec.split(" ", 1)
        values = segment.components[index] if index < len(segment.components) else []
        if not any(values):
            if required == "M":
                errors.append(ElementError(index + 1, "13"))
            continue
        component_specs = parts.split(":")
        if len(values) > len(component_specs):
            errors.append(ElementError(index + 1, "16"))
            continue
        for number, component_spec in enumerate(component_specs):
            value = values[number] if number < len(values) else ""
            err = _check_component(component_spec, value, index + 1, number + 1)
            if err is not None:
                errors.append(err)
                break
    return SegmentError(segment.tag, position, errors[0].code, errors) if errors else None


def validate(data: bytes) -> list[InterchangeResult]:
    results: list[InterchangeResult] = []
    ic: InterchangeResult | None = None
    group: GroupResult | None = None
    msg: TransactionResult | None = None
    position = 0
    seen: list[str] = []
    try:
        segments = list(edifact_segments(_pieces(data)))
    except EdiSyntaxError as exc:
        raise EdifactSyntaxError(str(exc)) from None
    for seg in segments:
        tag, comps = seg.tag, seg.components
        if tag == "UNB":
            ic = InterchangeResult(
                standard="edifact", control=_c(comps, 4, 0), sender=Party(_c(comps, 1, 1), _c(comps, 1, 0)),
                receiver=Party(_c(comps, 2, 1), _c(comps, 2, 0)), version=_c(comps, 0, 1),
                ack_requested=_c(comps, 8, 0) == "1", test=_c(comps, 10, 0) == "1", envelope_code="",
                syntax_identifier=_c(comps, 0, 0))
            results.append(ic)
            if bad := _segment_errors(seg, 1):
                ic.envelope_code, ic.envelope_tag = bad.elements[0].code, "UNB"
                ic.envelope_element = bad.elements[0].position
            continue
        if ic is None:
            raise EdifactSyntaxError("Segments before the UNB header.")
        if tag == "UNG":
            group = GroupResult(_c(comps, 0, 0), _c(comps, 4, 0), _c(comps, 6, 0), None)
            ic.groups.append(group)
        elif tag == "UNE":
            group = None
        elif tag == "UNH":
            msg = TransactionResult(_c(comps, 1, 0), _c(comps, 0, 0), ":".join(comps[1][1:4]) if len(comps) > 1 else "")
            (group.transactions if group else ic.transactions).append(msg)
            position, seen = 1, []
            if msg.code not in EDIFACT_MESSAGES:
                msg.trailer_codes.append("15")  # not supported in this position
            if bad := _segment_errors(seg, 1):
                msg.errors.append(bad)
        elif tag == "UNT":
            if msg is None:
                continue
            position += 1
            if bad := _segment_errors(seg, position):
                msg.errors.append(bad)
            if _c(comps, 1, 0) != msg.control:
                msg.trailer_codes.append("28")  # references do not match
            declared = _c(comps, 0, 0)
            if declared.isdigit() and int(declared) != position:
                msg.trailer_codes.append("29")  # control count does not match
            for required in EDIFACT_MESSAGES.get(msg.code, []):
                if required not in seen:
                    msg.errors.append(SegmentError(required, position, "13"))
            msg = None
        elif tag == "UNZ":
            count = len(ic.groups) or len(ic.transactions)
            declared = _c(comps, 0, 0)
            if ic.envelope_ok and _c(comps, 1, 0) != ic.control:
                ic.envelope_code, ic.envelope_tag, ic.envelope_element = "28", "UNZ", 2
            elif ic.envelope_ok and (not declared.isdigit() or int(declared) != count):
                ic.envelope_code, ic.envelope_tag, ic.envelope_element = "29", "UNZ", 1
            ic = None
        elif msg is not None:
            position += 1
            seen.append(tag)
            if bad := _segment_errors(seg, position):
                msg.errors.append(bad)
    if ic is not None and ic.envelope_ok:
        ic.envelope_code, ic.envelope_tag = "13", "UNZ"  # the interchange ends without its trailer
    return results


def _c(components: list[list[str]], element: int, component: int) -> str:
    if element < len(components) and component < len(components[element]):
        return components[element][component].strip()
    return ""


def _escape(value: str) -> str:
    return re.sub(r"([?:+'])", r"?\1", value)


def build_contrl(original: InterchangeResult, control: str, when: datetime, note: str | None = None) -> str:
    """A CONTRL answering the whole interchange; `note` (26: duplicate) rejects it at UCI level."""
    code = note or original.envelope_code
    rejected = bool(code)
    syntax = original.syntax_identifier or "UNOA"
    version = original.version or "3"
    segments: list[list[str]] = [
        ["UNB", f"{syntax}:{version}", _party(original.receiver), _party(original.sender),
         when.strftime("%y%m%d") + ":" + when.strftime("%H%M"), control],
        ["UNH", "1", "CONTRL:4:1:UN" if version == "4" else "CONTRL:D:3:UN"],
    ]
    uci = ["UCI", _escape(original.control), _party(original.sender), _party(original.receiver), "4" if rejected else "7"]
    if rejected:
        uci += [code, original.envelope_tag if not note else "UNB", str(original.envelope_element or "") if not note else "5"]
    segments.append(uci)
    if not rejected:
        for msg in original.all_transactions():
            if msg.accepted:
                continue
            segments.append(["UCM", _escape(msg.control), _escape(msg.code) + ":" + msg.version,
                             "4", (msg.trailer_codes or [msg.errors[0].code])[0]])
            for err in msg.errors:
                segments.append(["UCS", str(err.position), err.code])
                for e in err.elements:
                    segments.append(["UCD", e.code, f"{e.position}:{e.component}" if e.component else str(e.position)])
    segments.append(["UNT", str(len(segments)), "1"])
    segments.append(["UNZ", "1", control])
    return "".join("+".join(_trim(s)) + "'\n" for s in segments)


def _party(party: Party) -> str:
    return f"{_escape(party.id)}:{party.qualifier}" if party.qualifier else _escape(party.id)


def _trim(segment: list[str]) -> list[str]:
    while len(segment) > 1 and segment[-1] == "":
        segment = segment[:-1]
    return segment

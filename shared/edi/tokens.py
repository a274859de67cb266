"""The X12 and EDIFACT tokenizers, pure Python: the parse worker reads interchanges with them (shared/parsing/edi.py)
and so do the acknowledgements (shared/edi), which ship with functions that have no parsing libraries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


class EdiSyntaxError(ValueError):
    """The bytes are not a readable interchange (no header, an incomplete ISA/UNA, a segment with no terminator)."""


@dataclass(frozen=True, slots=True)
class Segment:
    tag: str
    elements: list[str]
    components: list[list[str]]


def x12_segments(pieces: Iterator[str]) -> Iterator[Segment]:
    buffer = ""
    for piece in pieces:
        buffer += piece
        if len(buffer.lstrip()) >= 128:
            break
    buffer = buffer.lstrip("\ufeff \t\r\n")
    if not buffer.startswith("ISA") or len(buffer) < 4:
        raise EdiSyntaxError("An X12 interchange must start with an ISA segment.")
    element = buffer[3]
    separators = [index for index, char in enumerate(buffer[:200]) if char == element]
    if len(separators) < 16 or separators[15] + 2 >= len(buffer):
        raise EdiSyntaxError("The ISA segment is incomplete: it needs 16 elements followed by the segment terminator.")
    component = buffer[separators[15] + 1]
    terminator = buffer[separators[15] + 2]
    carry = buffer
    for piece in _chain(pieces):
        parts = (carry + piece).split(terminator)
        carry = parts.pop()
        for part in parts:
            # Segments may be indented or padded with NULs; a value's own trailing spaces are kept.
            text = part.lstrip(" \t\r\n\x00").rstrip("\r\n")
            if not text:
                continue
            if text.startswith("ISA") and len(text) > 3:
                # A later interchange may declare other separators.
                element = text[3]
                component = text.rsplit(element, 1)[-1][:1] or component
            yield _x12_segment(text, element, component)
    last = carry.strip(" \t\r\n\x00")
    if last:
        if re.fullmatch(r"[A-Z][A-Z0-9]{1,2}", last.split(element, 1)[0]) and element in last:
            # The last segment lacks its terminator: common, and nothing is lost by reading it.
            yield _x12_segment(last, element, component)
            return
        raise EdiSyntaxError(f"The file ends inside a segment that has no terminator {terminator!r}: {carry[:60]!r}.")


def _chain(pieces: Iterator[str]) -> Iterator[str]:
    yield ""
    yield from pieces


def _x12_segment(text: str, element: str, component: str) -> Segment:
    parts = text.split(element)
    values = parts[1:]
    if parts[0] == "ISA":
        # ISA16 is the component separator itself, never a composite.
        return Segment("ISA", values, [[value] for value in values])
    return Segment(parts[0], values, [value.split(component) for value in values])


def edifact_segments(pieces: Iterator[str]) -> Iterator[Segment]:
    buffer = ""
    for piece in pieces:
        buffer += piece
        if len(buffer.lstrip()) >= 16:
            break
    buffer = buffer.lstrip("\ufeff \t\r\n")
    component, element, release, terminator = ":", "+", "?", "'"
    if buffer.startswith("UNA"):
        if len(buffer) < 9:
            raise EdiSyntaxError("The UNA service string advice is incomplete: it needs six characters.")
        component, element, _decimal, release, _reserved, terminator = tuple(buffer[3:9])
        buffer = buffer[9:]
    elif not buffer.startswith("UNB"):
        raise EdiSyntaxError("An EDIFACT interchange must start with UNA or UNB.")
    escape = release if release.strip() else None
    if escape is None:
        pattern = re.compile(f"[^{re.escape(terminator)}]*{re.escape(terminator)}", re.S)
    else:
        pattern = re.compile(f"(?:[^{re.escape(terminator)}{re.escape(escape)}]|{re.escape(escape)}.)*{re.escape(terminator)}", re.S)
    carry = buffer
    for piece in _chain(pieces):
        text = carry + piece
        end = 0
        for match in pattern.finditer(text):
            if match.start() != end:
                break
            end = match.end()
            body = match.group()[:-1].lstrip("\r\n\t ")
            if body:
                yield _edifact_segment(body, component, element, escape)
        carry = text[end:]
    if carry.strip("\r\n \t"):
        raise EdiSyntaxError(f"The file ends inside a segment that has no terminator {terminator!r}: {carry[:60]!r}.")


def _split(text: str, separator: str, escape: str | None) -> list[str]:
    if escape is None or escape not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == escape and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str, escape: str | None) -> str:
    if escape is None or escape not in text:
        return text
    return re.sub(f"{re.escape(escape)}(.)", r"\1", text, flags=re.S)


def _edifact_segment(body: str, component: str, element: str, escape: str | None) -> Segment:
    raw = _split(body, element, escape)
    tag = _unescape(_split(raw[0], component, escape)[0], escape)
    elements = []
    components = []
    for value in raw[1:]:
        parts = [_unescape(part, escape) for part in _split(value, component, escape)]
        components.append(parts)
        elements.append(component.join(parts) if len(parts) > 1 else parts[0])
    return Segment(tag, elements, components)



"""JSON and JSON Lines to Parquet.

JSON Lines stream line by line. A top-level JSON array streams element by element. A top-level object is read
whole, up to JSON_OBJECT_MAX_CHARS: its rows are the objects of its one array of objects, or else the object itself.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .context import ParseContext
from .errors import ParseError
from .rows import RowBatcher, RowSchema
from .streams import iter_text, text_encoding

JSON_OBJECT_MAX_CHARS = 64 * 1024 * 1024
JSON_ELEMENT_MAX_CHARS = 16 * 1024 * 1024
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class _Invalid:
    reason: str


Values = Iterator[tuple[str, Any]]


def parse_jsonl(ctx: ParseContext) -> None:
    encoding = text_encoding(ctx.options.encoding or ctx.detected.encoding)
    _write_rows(ctx, lambda: _jsonl_values(ctx, encoding), skippable=True)


def parse_json(ctx: ParseContext) -> None:
    encoding = text_encoding(ctx.options.encoding or ctx.detected.encoding)
    _write_rows(ctx, lambda: _json_values(ctx, encoding), skippable=False)


def _write_rows(ctx: ParseContext, values: Callable[[], Values], skippable: bool) -> None:
    fixed: RowSchema | None = None
    if ctx.hints.get("prescan"):
        fixed = RowSchema()
        for row in _rows(ctx, values(), skippable, count=False):
            fixed.observe(row)
        ctx.rewind()
    batcher = RowBatcher(ctx.outputs.table, fixed)
    for row in _rows(ctx, values(), skippable, count=True):
        batcher.add(row)
    batcher.flush()


def _rows(ctx: ParseContext, values: Values, skippable: bool, count: bool) -> Iterator[dict[str, Any]]:
    objects: bool | None = None
    skipped = 0
    first_skipped: list[str] = []
    for label, value in values:
        if objects is None and not isinstance(value, _Invalid):
            objects = isinstance(value, dict)
        if isinstance(value, _Invalid):
            reason = value.reason
        elif objects and not isinstance(value, dict):
            reason = f"holds a JSON {_json_kind(value)} where the earlier rows are objects"
        else:
            yield value if objects else {"value": value}
            continue
        if not (skippable and ctx.options.on_invalid_row == "skip"):
            hint = " Fix it, or set parse_options.on_invalid_row to 'skip' to drop such lines." if skippable else ""
            raise ParseError("CORRUPT_FILE", f"The JSON {label} {reason}.{hint}")
        skipped += 1
        if len(first_skipped) < 3:
            first_skipped.append(f"{label} {reason}")
    if count and skipped:
        ctx.warn(f"Skipped {skipped} malformed JSON lines (on_invalid_row=skip); first: {'; '.join(first_skipped)}.")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return "literal"
    return "number"


def _jsonl_values(ctx: ParseContext, encoding: str) -> Values:
    number = 0
    carry = ""
    for piece in iter_text(ctx.stream, encoding):
        lines = (carry + piece).split("\n")
        carry = lines.pop()
        for line in lines:
            number += 1
            yield from _jsonl_line(number, line)
    if carry:
        yield from _jsonl_line(number + 1, carry)


def _jsonl_line(number: int, line: str) -> Values:
    if not line.strip():
        return
    try:
        yield f"line {number}", json.loads(line)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        yield f"line {number}", _Invalid(f"is not valid JSON ({reason})")


def _json_values(ctx: ParseContext, encoding: str) -> Values:
    pieces = iter_text(ctx.stream, encoding)
    buffer = ""
    for piece in pieces:
        buffer += piece
        if buffer.strip(_WHITESPACE):
            break
    body = buffer.lstrip(_WHITESPACE)
    if body.startswith("["):
        yield from _array_elements(body, pieces)
        return
    document = _whole_document(body, pieces)
    if isinstance(document, dict):
        arrays = [key for key, value in document.items() if _is_object_array(value)]
        if len(arrays) == 1:
            rows = document[arrays[0]]
            others = [key for key in document if key != arrays[0]]
            if others:
                ctx.warn(f"Rows were taken from the array under {arrays[0]!r}; the keys {others[:5]} were not stored.")
            for index, row in enumerate(rows, start=1):
                yield f"element {index} of {arrays[0]!r}", row
            return
        yield "object", document
        return
    raise ParseError(
        "UNSUPPORTED_FORMAT",
        f"The JSON document is a single {_json_kind(document)}; the structured profile needs an array of objects, "
        "an object, or JSON Lines.",
    )


def _is_object_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _whole_document(body: str, pieces: Iterator[str]) -> Any:
    parts = [body]
    size = len(body)
    for piece in itertools.chain([""], pieces):
        size += len(piece)
        if size > JSON_OBJECT_MAX_CHARS:
            raise ParseError(
                "TOO_LARGE",
                f"A JSON document whose top level is an object is read whole, and this one is larger than "
                f"{JSON_OBJECT_MAX_CHARS / (1024 * 1024):g} MiB. Send it as JSON Lines or as a top-level array.",
            )
        parts.append(piece)
    try:
        return json.loads("".join(parts))
    except json.JSONDecodeError as exc:
        raise ParseError("CORRUPT_FILE", f"The JSON document is not valid: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None


def _array_elements(buffer: str, pieces: Iterator[str]) -> Values:
    """Stream the elements of a top-level array, decoding each one as soon as it is complete."""
    decoder = json.JSONDecoder()
    position = 1
    index = 0
    eof = False

    def more() -> bool:
        nonlocal buffer, position, eof
        if eof:
            return False
        piece = next(pieces, None)
        if piece is None:
            eof = True
            return False
        buffer = buffer[position:] + piece
        position = 0
        return True

    def skip_whitespace() -> bool:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer):
                return True
            if not more():
                return False

    def corrupt(what: str) -> ParseError:
        return ParseError("CORRUPT_FILE", f"The JSON array is not valid: {what} at element {index + 1}.")

    while True:
        if not skip_whitespace():
            raise corrupt("it ends before its closing ']'")
        if buffer[position] == "]":
            return
        if index > 0:
            if buffer[position] != ",":
                raise corrupt(f"expected ',' or ']' but found {buffer[position]!r}")
            position += 1
            if not skip_whitespace():
                raise corrupt("it ends before its closing ']'")
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as exc:
                if len(buffer) - position > JSON_ELEMENT_MAX_CHARS or not more():
                    raise corrupt(exc.msg) from None
                continue
            if end == len(buffer) and more():
                continue  # a number or literal may continue in the next piece
            break
        index += 1
        yield f"element {index} of the top-level array", value
        position = end

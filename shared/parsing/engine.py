"""`parse`: route a detected file and a profile to the handlers, and collect the result.

| format                         | structured        | unstructured          | hybrid                          |
|--------------------------------|-------------------|-----------------------|---------------------------------|
| csv, tsv                       | pyarrow → Parquet | text chunks           | both                            |
| json, jsonl                    | rows → Parquet    | text chunks           | both                            |
| edi_x12, edi_edifact           | segments → Parquet| text chunks           | both                            |
| xlsx                           | rows → Parquet    | rows as text chunks   | both, in one pass               |
| parquet                        | re-written        | PROFILE_MISMATCH      | structured only                 |
| docx, html                     | PROFILE_MISMATCH  | text (tables as text) | tables → Parquet, text → chunks |
| pdf, text, markdown            | PROFILE_MISMATCH  | text chunks           | text chunks                     |
| unknown                        | UNSUPPORTED_FORMAT in every profile                                      |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO

from shared.detection import HEAD_BYTES, MIME_TYPES, DetectedType, detect_encoding

from .columnar import parse_parquet
from .context import ParseContext, Reread
from .delimited import parse_delimited
from .docx_doc import parse_docx
from .edi import parse_edi
from .errors import ParseError
from .html_doc import parse_html
from .jsondoc import parse_json, parse_jsonl
from .models import PROFILES, ParseResult, Profile
from .options import ParseOptions
from .outputs import OpenOutput, Outputs
from .pdf_doc import parse_pdf
from .spreadsheet import parse_xlsx
from .streams import GuardedSource
from .texts import parse_text

Handler = Callable[[ParseContext], None]
MAX_ATTEMPTS = 5

TEXT_LIKE = frozenset({"csv", "tsv", "json", "jsonl", "html", "markdown", "text", "edi_x12", "edi_edifact"})
_TABULAR = "CSV, TSV, JSON, JSON Lines, XLSX, Parquet or EDI"
_NAMES = {
    "pdf": "A PDF",
    "docx": "A Word document",
    "html": "An HTML page",
    "markdown": "A Markdown file",
    "text": "A plain text file",
    "parquet": "A Parquet file",
}


@dataclass(frozen=True)
class _Route:
    structured: Handler | None
    text: Handler | None
    combined: Handler | None = None  # one pass that yields both outputs
    parser: str = ""


_ROUTES: dict[str, _Route] = {
    "csv": _Route(parse_delimited, parse_text, parser="pyarrow.csv"),
    "tsv": _Route(parse_delimited, parse_text, parser="pyarrow.csv"),
    "json": _Route(parse_json, parse_text, parser="json"),
    "jsonl": _Route(parse_jsonl, parse_text, parser="jsonl"),
    "edi_x12": _Route(parse_edi, parse_text, parser="edi.x12"),
    "edi_edifact": _Route(parse_edi, parse_text, parser="edi.edifact"),
    "xlsx": _Route(parse_xlsx, parse_xlsx, combined=parse_xlsx, parser="openpyxl"),
    "parquet": _Route(parse_parquet, None, parser="pyarrow.parquet"),
    "docx": _Route(None, parse_docx, combined=parse_docx, parser="python-docx"),
    "html": _Route(None, parse_html, combined=parse_html, parser="beautifulsoup4.lxml"),
    "pdf": _Route(None, parse_pdf, parser="pypdf"),
    "markdown": _Route(None, parse_text, parser="text.markdown"),
    "text": _Route(None, parse_text, parser="text"),
}


def parse(
    source: BinaryIO,
    detected: DetectedType,
    profile: Profile,
    options: Mapping[str, Any] | None,
    open_output: OpenOutput,
) -> ParseResult:
    """Parse `source` (a seekable binary stream) under `profile`, writing outputs through `open_output`.

    `open_output(name, content_type)` is entered when an output is first needed and exited when the parse ends,
    with the exception if it fails: a failed parse leaves no finished output. If a later part of the file shows
    that the schema guessed from its start was wrong, the parse starts over once with a corrected schema and opens
    the same output names again; the last opening is the one that completes.
    Raises ParseError for a permanent failure; a failure of the streams themselves propagates unchanged.
    """
    if profile not in PROFILES:
        raise ParseError("PROFILE_MISMATCH", f"Unknown ingestion profile {profile!r}: use {', '.join(PROFILES)}.")
    parse_options = ParseOptions.from_mapping(options)
    guarded = GuardedSource(source)
    guarded.seek(0)
    head = guarded.read(HEAD_BYTES)
    guarded.seek(0)
    if not head:
        raise ParseError("EMPTY_FILE", "The file is empty (0 bytes). Upload it again with its content.")
    detected = _with_encoding(detected, head)
    if detected.format in TEXT_LIKE and len(head) < HEAD_BYTES and not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ParseError("EMPTY_FILE", "The file holds only whitespace: there is nothing to parse.")
    route = _route(detected, profile)
    handlers, parser_type = _plan(route, detected, profile)
    hints: dict[str, Any] = {}
    notes: list[str] = []
    for _attempt in range(MAX_ATTEMPTS):
        try:
            # Leaving the stack with an exception hands it to every opened output, which aborts its upload.
            with ExitStack() as stack:
                outputs = Outputs(open_output, stack)
                ctx = ParseContext(guarded, detected, profile, parse_options, outputs, hints)
                for index, handler in enumerate(handlers):
                    if index:
                        ctx.rewind()
                    handler(ctx)
                written = outputs.finish()
        except Reread as reread:
            hints.update(reread.hints)
            notes.append(f"The file was read again because {reread.reason}.")
            guarded.seek(0)
            continue
        return ParseResult(
            detected_format=detected.format,
            parser_type=parser_type,
            outputs=written,
            schema=outputs.schema_fields(),
            record_count=outputs.record_count,
            chunk_count=outputs.chunk_count,
            page_count=ctx.page_count,
            warnings=[*notes, *ctx.final_warnings()],
        )
    raise ParseError("CORRUPT_FILE", "The file's columns kept changing type: it could not be given a stable schema.")


def _with_encoding(detected: DetectedType, head: bytes) -> DetectedType:
    if detected.format in TEXT_LIKE and detected.encoding is None:
        encoding = detect_encoding(head, truncated=len(head) >= HEAD_BYTES)
        if encoding is not None:
            return detected.model_copy(update={"encoding": encoding})
    return detected


def _route(detected: DetectedType, profile: Profile) -> _Route:
    route = _ROUTES.get(detected.format)
    if route is not None:
        return route
    hint = {
        "application/x-ole-storage": " Legacy Office files (.xls, .doc) and password-protected Office files are "
        "not supported: save it as .xlsx or .docx without a password.",
        "application/zip": " A zip archive that is not an Office (OOXML) document is not parsed.",
        "application/x-empty": "",
    }.get(detected.mime_type, "")
    described = "" if detected.mime_type == MIME_TYPES["unknown"] else f" ({detected.mime_type})"
    raise ParseError(
        "UNSUPPORTED_FORMAT",
        f"The file's type{described} is not one that can be parsed; supported are {_TABULAR}, PDF, DOCX, HTML, "
        f"Markdown and plain text.{hint}",
    )


def _plan(route: _Route, detected: DetectedType, profile: Profile) -> tuple[list[Handler], str]:
    name = _NAMES.get(detected.format, "This file")
    if profile == "structured":
        if route.structured is None:
            alternative = "hybrid" if route.combined is not None else "unstructured or hybrid"
            raise ParseError(
                "PROFILE_MISMATCH",
                f"{name} holds text, not rows: the structured profile needs {_TABULAR}. Choose the {alternative} profile.",
            )
        return [route.structured], route.parser
    if profile == "unstructured":
        if route.text is None:
            raise ParseError("PROFILE_MISMATCH", f"{name} holds rows, not text: choose the structured or hybrid profile.")
        parser = route.parser if route.text is not parse_text or route.structured is None else "text"
        return [route.text], parser
    if route.combined is not None:
        return [route.combined], route.parser
    handlers = [handler for handler in (route.structured, route.text) if handler is not None]
    parser = route.parser if len(handlers) == 1 else f"{route.parser}+text"
    return handlers, parser

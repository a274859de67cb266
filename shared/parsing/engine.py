"""`parse`: route a detected file and a profile to the handlers, and collect the result.

| format                         | structured        | unstructured          | hybrid                          |
|--------------------------------|-------------------|-----------------------|---------------------------------|
| csv, tsv                       | pyarrow → Parquet | text chunks           | both                            |
| json, jsonl                    | rows → Parquet    | text chunks           | both                            |
| edi_x12, edi_edifact           | segments → Parquet| text chunks           | both                            |
| xlsx, xlsb, xls, ods           | rows → Parquet    | rows as text chunks   | both, in one pass               |
| xml                            | records → Parquet | text chunks           | both                            |
| parquet                        | re-written        | PROFILE_MISMATCH      | structured only                 |
| docx, odt, pptx, html          | PROFILE_MISMATCH  | text (tables as text) | tables → Parquet, text → chunks |
| eml                            | PROFILE_MISMATCH  | headers + text parts  | text chunks                     |
| gzip, zip (one member)         | as the member     | as the member         | as the member                   |
| pdf, text, markdown            | PROFILE_MISMATCH  | text chunks           | text chunks                     |
| image (PNG, JPEG, TIFF)        | PROFILE_MISMATCH  | OCR text chunks       | OCR text chunks                 |
| unknown                        | UNSUPPORTED_FORMAT in every profile                                      |
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from shared.detection import HEAD_BYTES, MIME_TYPES, DetectedType, guess_encoding, sniff, sniff_stream
from shared.detection.ole import xls_is_encrypted

from .budgets import check_zip_package
from .columnar import parse_parquet
from .containers import gunzip, unzip
from .context import ParseContext, Reread, describe
from .delimited import parse_delimited
from .docx_doc import parse_docx
from .edi import parse_edi
from .errors import ParseError
from .html_doc import parse_html
from .images import parse_image
from .jsondoc import parse_json, parse_jsonl
from .models import PROFILES, ParseResult, Profile
from .ocr import OcrSession, OcrUnavailable
from .office_docs import parse_eml, parse_odt, parse_pptx
from .options import ParseOptions
from .outputs import OpenOutput, Outputs
from .pdf_doc import parse_pdf
from .spreadsheet import parse_calamine, parse_xlsx
from .streams import GuardedSource
from .texts import parse_text
from .xml_doc import parse_xml

Handler = Callable[[ParseContext], None]
MAX_ATTEMPTS = 5
ENCODING_SAMPLE_BYTES = 1024 * 1024
JSON_CHECK_BYTES = 8 * 1024 * 1024  # a guess from more text than the head is a better one

TEXT_LIKE = frozenset({"csv", "tsv", "json", "jsonl", "html", "markdown", "text", "edi_x12", "edi_edifact", "xml",
                       "eml"})
_PACKAGES = frozenset({"xlsx", "xlsb", "ods", "docx", "odt", "pptx"})  # zip packages: their members are compressed
_TABULAR = "CSV, TSV, JSON, JSON Lines, XLSX, XLSB, XLS, ODS, XML, Parquet or EDI"
_NAMES = {
    "pdf": "A PDF",
    "docx": "A Word document",
    "odt": "An OpenDocument text",
    "pptx": "A PowerPoint presentation",
    "eml": "An email",
    "html": "An HTML page",
    "markdown": "A Markdown file",
    "text": "A plain text file",
    "parquet": "A Parquet file",
    "xlsx": "The XLSX workbook",
    "xlsb": "The XLSB workbook",
    "ods": "The ODS spreadsheet",
    "image": "An image",
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
    "xlsb": _Route(parse_calamine, parse_calamine, combined=parse_calamine, parser="python-calamine"),
    "xls": _Route(parse_calamine, parse_calamine, combined=parse_calamine, parser="python-calamine"),
    "ods": _Route(parse_calamine, parse_calamine, combined=parse_calamine, parser="python-calamine"),
    "xml": _Route(parse_xml, parse_xml, combined=parse_xml, parser="lxml.xml"),
    "parquet": _Route(parse_parquet, None, parser="pyarrow.parquet"),
    "docx": _Route(None, parse_docx, combined=parse_docx, parser="python-docx"),
    "odt": _Route(None, parse_odt, combined=parse_odt, parser="odt.lxml"),
    "pptx": _Route(None, parse_pptx, combined=parse_pptx, parser="python-pptx"),
    "eml": _Route(None, parse_eml, parser="email"),
    "html": _Route(None, parse_html, combined=parse_html, parser="beautifulsoup4.lxml"),
    "pdf": _Route(None, parse_pdf, parser="pypdfium2"),
    "image": _Route(None, parse_image, parser="ocr"),
    "markdown": _Route(None, parse_text, parser="text.markdown"),
    "text": _Route(None, parse_text, parser="text"),
}


def parse(
    source: BinaryIO,
    detected: DetectedType,
    profile: Profile,
    options: Mapping[str, Any] | None,
    open_output: OpenOutput,
    ocr: OcrSession | None = None,
) -> ParseResult:
    """Parse `source` (a seekable binary stream) under `profile`, writing outputs through `open_output`.

    `open_output(name, content_type)` is entered when an output is first needed and exited when the parse ends,
    with the exception if it fails: a failed parse leaves no finished output. If a later part of the file shows
    that the schema guessed from its start was wrong, the parse starts over once with a corrected schema and opens
    the same output names again; the last opening is the one that completes. `ocr` reads scanned PDF pages and
    images within its budget; without it, images are refused and scanned pages are left out with a warning.
    Raises ParseError for a permanent failure, including a parser library that crashes on the file's content; a
    failure of the streams themselves propagates unchanged.
    """
    if profile not in PROFILES:
        raise ParseError("PROFILE_MISMATCH", f"Unknown ingestion profile {profile!r}: use {', '.join(PROFILES)}.")
    parse_options = ParseOptions.from_mapping(options)
    if detected.format in ("gzip", "zip"):
        return _parse_member(source, detected, profile, parse_options, open_output, ocr)
    return _parse(GuardedSource(source), detected, profile, parse_options, open_output, ocr)


def _parse_member(source: BinaryIO, container: DetectedType, profile: Profile, options: ParseOptions,
                  open_output: OpenOutput, ocr: OcrSession | None) -> ParseResult:
    guarded = GuardedSource(source)
    size = guarded.seek(0, 2)
    guarded.seek(0)
    stream = cast(BinaryIO, guarded)
    inner, name = gunzip(stream, size, None) if container.format == "gzip" else unzip(stream, size)
    with inner:
        detected = sniff_stream(inner, name)  # type: ignore[arg-type]
        if detected.format in ("gzip", "zip"):
            raise ParseError("UNSUPPORTED_FORMAT", "The archive holds another archive: upload the inner file itself.")
        result = _parse(GuardedSource(inner), detected, profile, options, open_output, ocr)  # type: ignore[arg-type]
    note = f"The file was decompressed from {container.format}" + (f" ({name})." if name else ".")
    return result.model_copy(update={"parser_type": f"{container.format}+{result.parser_type}",
                                     "warnings": [note, *result.warnings]})


def _parse(guarded: GuardedSource, detected: DetectedType, profile: Profile, parse_options: ParseOptions,
           open_output: OpenOutput, ocr: OcrSession | None = None) -> ParseResult:
    guarded.seek(0)
    head = guarded.read(HEAD_BYTES)
    guarded.seek(0)
    if not head:
        raise ParseError("EMPTY_FILE", "The file is empty (0 bytes). Upload it again with its content.")
    guesses: dict[str, dict[str, Any]] = {}
    detected = _with_encoding(detected, head, guarded, parse_options, guesses)
    if detected.format in TEXT_LIKE and len(head) < HEAD_BYTES and not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ParseError("EMPTY_FILE", "The file holds only whitespace: there is nothing to parse.")
    if detected.format == "json" and detected.confidence == "low":
        _refuse_invalid_json(guarded, detected)
    route = _route(detected, profile)
    handlers, parser_type = _plan(route, detected, profile)
    if detected.format in _PACKAGES:
        check_zip_package(cast(BinaryIO, guarded), guarded.seek(0, 2), _NAMES.get(detected.format, "The workbook"))
    if detected.format == "xls" and xls_is_encrypted(cast(BinaryIO, guarded)):
        raise ParseError("UNSUPPORTED_FORMAT", "The XLS workbook is password-protected: its content is encrypted. "
                         "Save it without a password (or as XLSX or CSV) and upload it again.")
    guarded.seek(0)
    hints: dict[str, Any] = {}
    notes: list[str] = []
    for _attempt in range(MAX_ATTEMPTS):
        # A cursor per attempt: a given-up attempt's read-ahead cannot move this one's position.
        ctx = ParseContext(guarded.cursor(), detected, profile, parse_options, None, hints, ocr=ocr)  # type: ignore[arg-type]  # outputs: set below
        try:
            # Leaving the stack with an exception hands it to every opened output, which aborts its upload.
            with ExitStack() as stack:
                outputs = Outputs(open_output, stack)
                ctx.outputs = outputs
                for index, handler in enumerate(handlers):
                    if index:
                        ctx.rewind()
                    _run(ctx, handler)
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
            guesses={**guesses, **ctx.guesses},
            descriptor={**ctx.descriptor, **({"ocr": ocr.descriptor()} if ocr is not None and ocr.pages else {})},
        )
    raise ParseError("CORRUPT_FILE", "The file's columns kept changing type: it could not be given a stable schema.")


def _refuse_invalid_json(source: GuardedSource, detected: DetectedType) -> None:
    """A file named .json whose content is not JSON: say where it breaks, rather than chunk it as text."""
    data = source.read(JSON_CHECK_BYTES)
    source.seek(0)
    try:
        json.loads(data.decode(detected.encoding or "utf-8-sig", "replace"))
    except json.JSONDecodeError as exc:
        raise ParseError("CORRUPT_FILE", f"The file is named .json but is not valid JSON: {exc.msg} at line "
                         f"{exc.lineno}, column {exc.colno}. Fix it, or upload it as .txt to index it as text.") from None
    except (ValueError, RecursionError):
        raise ParseError("CORRUPT_FILE", "The file is named .json but is not valid JSON.") from None


def _run(ctx: ParseContext, handler: Handler) -> None:
    """Run a handler; a library that crashes on the file's content is a permanent failure, said in words."""
    try:
        handler(ctx)
    except (ParseError, Reread, OcrUnavailable):
        raise
    except RecursionError as exc:
        ctx.fail("CORRUPT_FILE", "The file nests its structure deeper than can be parsed (more than about a "
                 "thousand levels of arrays, objects or elements). Flatten it before uploading.", exc)
    except MemoryError as exc:
        ctx.fail("TOO_LARGE", "The file needs more memory to parse than a parse may use. Split it, or save it in "
                 "a streaming format such as CSV or JSON Lines.", exc)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - native libraries raise BaseException subclasses too (a Rust panic
        # reaches Python as pyo3's PanicException); ctx.fail re-raises a failing read or write as itself, to be retried
        name = _NAMES.get(ctx.detected.format, f"The {ctx.detected.format} file")
        crashed = "" if isinstance(exc, Exception) else " (the parser library crashed on its content)"
        ctx.fail("CORRUPT_FILE", f"{name} could not be parsed{crashed}: {type(exc).__name__}: {describe(exc)}.", exc)


def _with_encoding(detected: DetectedType, head: bytes, source: GuardedSource, options: ParseOptions,
                   guesses: dict[str, dict[str, Any]]) -> DetectedType:
    if options.encoding is not None:
        # The person named the encoding: it replaces any guess, and a file that looked binary is read as that text.
        if detected.format == "unknown" and detected.mime_type == MIME_TYPES["unknown"]:
            detected = sniff(head, None, encoding=options.encoding)
        return detected.model_copy(update={"encoding": options.encoding}) if detected.format in TEXT_LIKE else detected
    if detected.format not in TEXT_LIKE:
        return detected
    sample = head
    if len(head) >= HEAD_BYTES and guess_encoding(head, truncated=True).confidence < 1.0:
        sample = source.read(ENCODING_SAMPLE_BYTES)
        source.seek(0)
    guess = guess_encoding(sample, truncated=len(sample) >= HEAD_BYTES)
    encoding = guess.encoding or detected.encoding
    if encoding is None:
        return detected
    confidence = guess.confidence if guess.encoding == encoding else 0.5
    guesses["encoding"] = {"value": encoding, "confidence": confidence, "method": guess.method,
                           "override": "parse_options.encoding"}
    return detected.model_copy(update={"encoding": encoding})


def _route(detected: DetectedType, profile: Profile) -> _Route:
    route = _ROUTES.get(detected.format)
    if route is not None:
        return route
    hint = {
        "application/x-ole-storage": " Legacy Word files (.doc) and password-protected Office files are not "
        "supported: save it as .docx or .xlsx without a password.",
        "application/x-empty": "",
        MIME_TYPES["unknown"]: " If it is text in an unusual encoding, name the encoding in parse_options.encoding.",
    }.get(detected.mime_type, "")
    described = "" if detected.mime_type == MIME_TYPES["unknown"] else f" ({detected.mime_type})"
    raise ParseError(
        "UNSUPPORTED_FORMAT",
        f"The file's type{described} is not one that can be parsed; supported are {_TABULAR}, PDF, DOCX, ODT, "
        f"PPTX, HTML, email, Markdown, plain text and images (PNG, JPEG, TIFF; read by OCR), and any of them "
        f"gzip-compressed or alone in a zip.{hint}",
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

"""Type detection from content. Magic bytes and structure decide; the filename only breaks ties between text formats."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import struct
import zipfile
from collections import Counter
from typing import BinaryIO

from shared.detection.encoding import guess_encoding
from shared.detection.ole import OLE_MAGIC as _OLE_MAGIC
from shared.detection.ole import ole_entries
from shared.detection.types import Confidence, DetectedType, Format
from shared.detection.zipnames import local_zip_names, zip_mimetype

HEAD_BYTES = 64 * 1024

MIME_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsb": "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xml": "application/xml",
    "eml": "message/rfc822",
    "gzip": "application/gzip",
    "zip": "application/zip",
    "parquet": "application/vnd.apache.parquet",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
    "markdown": "text/markdown",
    "text": "text/plain",
    "edi_x12": "application/edi-x12",
    "edi_edifact": "application/edifact",
    "image": "image/png",
    "unknown": "application/octet-stream",
}

# Binary containers we recognise only to name them in the error a person sees.
_KNOWN_BINARY: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"GIF8", "image/gif"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!", "application/vnd.rar"),
)

# Images whose text OCR reads (TIFF in both byte orders).
_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)

_EXTENSIONS: dict[str, Format] = {
    "csv": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "md": "markdown",
    "markdown": "markdown",
    "txt": "text",
    "text": "text",
    "log": "text",
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "xml": "xml",
    "eml": "eml",
}
# An interchange header without UNA names its syntax (UNOA..UNOY, or IATA's IATA/IATB) in its first element.
_EDIFACT_UNB = re.compile(r"UNB\+(?:UNO[A-Z]|IAT[AB]):\d")
# Names of the OLE streams that hold a legacy workbook, as they appear (UTF-16LE) in the compound file's directory.
_OLE_WORKBOOK = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))
_OLE_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_EML_HEADER = re.compile(
    r"^(?:(?:From [^\n]*\n)?(?:[A-Za-z0-9-]+:[^\n]*\n(?:[ \t][^\n]*\n)*){1,})", re.S)
_EML_NAMES = ("from:", "to:", "subject:", "date:", "message-id:", "received:", "mime-version:", "return-path:",
              "content-type:")
_XML_START = re.compile(r"^(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>]*>|<\?[^>]*\?>)\s*)*<([A-Za-z_][\w.:-]*)", re.S)
_TEXT_TIES: frozenset[str] = frozenset({"csv", "tsv", "markdown", "text"})
_DELIMITERS = (",", "\t", ";", "|")
# Unicode category Cc (C0, DEL, C1) but tab, line feed, vertical tab, form feed, carriage return and ESC.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")

_HTML_START = re.compile(r"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_ANYWHERE = re.compile(r"<(?:html|body|div|p|table|h[1-6])\b[^>]*>", re.I)
_MD_SIGNALS = (
    re.compile(r"^#{1,6}\s+\S", re.M),
    re.compile(r"^```", re.M),
    re.compile(r"^\s{0,3}[-*+]\s+\S", re.M),
    re.compile(r"^\s{0,3}\d+\.\s+\S", re.M),
    re.compile(r"\[[^\]\n]+\]\([^)\s]+\)"),
    re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.M),
    re.compile(r"(\*\*|__)\S.*?\S\1"),
)


def _detected(fmt: Format, confidence: Confidence, encoding: str | None = None, mime: str | None = None) -> DetectedType:
    return DetectedType(format=fmt, mime_type=mime or MIME_TYPES[fmt], encoding=encoding, confidence=confidence)


def _extension(filename: str | None) -> str:
    if not filename or "." not in filename:
        return ""
    return filename.rsplit(".", 1)[1].strip().lower()


def sniff(head: bytes, filename: str | None = None, encoding: str | None = None) -> DetectedType:
    """Detect the type of a file from its first bytes (`HEAD_BYTES` of them).

    Zip-based formats are recognised from the local entry names in the head; `sniff_stream` reads the zip's
    directory and is exact.
    """
    if not head:
        return _detected("unknown", "high", mime="application/x-empty")
    if head.startswith(b"PK\x03\x04"):
        return _zip_from_names(local_zip_names(head), complete=len(head) < HEAD_BYTES, mimetype=zip_mimetype(head))
    if head.startswith(b"PAR1"):
        return _detected("parquet", "high")
    if b"%PDF-" in head[:1024]:
        return _detected("pdf", "high")
    if head.startswith(b"\x1f\x8b"):
        return _detected("gzip", "high")
    if head.startswith(_OLE_MAGIC):
        return _ole(head)
    for magic, mime in _IMAGES:
        if head.startswith(magic):
            return _detected("image", "high", mime=mime)
    for magic, mime in _KNOWN_BINARY:
        if head.startswith(magic):
            return _detected("unknown", "high", mime=mime)
    truncated = len(head) >= HEAD_BYTES
    encoding = encoding or detect_encoding(head, truncated=truncated)
    if encoding is None:
        return _detected("unknown", "medium")
    text = _decode_head(head, encoding)
    if text is None:
        return _detected("unknown", "medium")
    edi = _edi_format(text.lstrip("\ufeff \t\r\n"))
    if edi is not None:
        # EDI may use control characters (0x1D, 0x1C, NUL padding) as its separators: it is text all the same.
        return _detected(edi, "high", encoding=encoding)
    if _looks_binary(text):
        return _detected("unknown", "medium")
    fmt, confidence = _text_format(text, _extension(filename), truncated)
    return _detected(fmt, confidence, encoding=encoding)


def sniff_stream(stream: BinaryIO, filename: str | None = None) -> DetectedType:
    """Detect the type of a seekable stream: the head, plus the zip directory for zip-based formats. Seeks back to 0."""
    stream.seek(0)
    try:
        head = stream.read(HEAD_BYTES)
        if head.startswith(_OLE_MAGIC):
            names = [entry.name for entry in ole_entries(stream)]
            return _ole_from_names(names) if names else sniff(head, filename)
        if not head.startswith(b"PK\x03\x04"):
            return sniff(head, filename)
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error):
            # A damaged directory: fall back to the local entries in the head.
            return sniff(head, filename)
        return _zip_from_names(names, complete=True, mimetype=zip_mimetype(head))
    finally:
        stream.seek(0)


def _zip_from_names(names: list[str], complete: bool, mimetype: str = "") -> DetectedType:
    sure: Confidence = "high" if complete else "medium"
    if "xl/workbook.bin" in names:
        return _detected("xlsb", sure)
    if any(name == "xl/workbook.xml" or name.startswith("xl/worksheets/") for name in names):
        return _detected("xlsx", sure)
    if any(name == "word/document.xml" for name in names):
        return _detected("docx", sure)
    if any(name == "ppt/presentation.xml" for name in names):
        return _detected("pptx", sure)
    if mimetype == MIME_TYPES["ods"]:
        return _detected("ods", sure)
    if mimetype == MIME_TYPES["odt"]:
        return _detected("odt", sure)
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        return _detected("unknown", sure, mime=mimetype)
    if "content.xml" in names and "META-INF/manifest.xml" in names:
        return _detected("unknown", "low", mime="application/vnd.oasis.opendocument")
    return _detected("zip", sure)


def _ole(head: bytes) -> DetectedType:
    """A compound (OLE) file from its head alone: the stream names when its directory is in the head."""
    names = [raw.decode("utf-16-le") for raw in (*_OLE_WORKBOOK, _OLE_ENCRYPTED) if raw in head]
    found = _ole_from_names(names)
    return found if names else found.model_copy(update={"confidence": "medium"})


def _ole_from_names(names: list[str]) -> DetectedType:
    """A legacy workbook, or an encrypted Office file, told apart by their stream names (case-insensitive in CFB)."""
    lowered = {name.lower() for name in names}
    if "encryptedpackage" in lowered:
        return _detected("unknown", "high", mime="application/x-ole-storage")
    if lowered & {"workbook", "book"}:
        return _detected("xls", "high")
    return _detected("unknown", "high", mime="application/x-ole-storage")


def detect_encoding(head: bytes, truncated: bool = False) -> str | None:
    """The codec that decodes `head`, or None when it is not text. A multibyte character cut at the end is allowed."""
    return guess_encoding(head, truncated).encoding


def _decode_head(head: bytes, encoding: str) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    # ESC introduces ISO-2022 shifts; a stray NUL in a short text is noise, not a sign of a binary file.
    controls = len(_CONTROLS.findall(sample))
    return controls / len(sample) > (0.02 if len(sample) >= 1024 else 0.1)


def _text_format(text: str, extension: str, truncated: bool) -> tuple[Format, Confidence]:
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return _EXTENSIONS.get(extension, "text"), "low"
    edi = _edi_format(body)
    if edi is not None:
        return edi, "high"
    structured = _json_format(body, extension, truncated)
    if structured is not None:
        return structured
    if _HTML_START.match(body) or (extension in ("html", "htm") and _HTML_ANYWHERE.search(body[:4096])):
        return "html", "high"
    xml = _XML_START.match(body)
    if xml is not None and xml.group(1).lower() not in ("html", "svg"):
        return "xml", "high" if body.startswith("<?xml") or extension == "xml" else "medium"
    if _looks_like_email(body, extension == "eml"):
        return "eml", "high" if extension == "eml" else "medium"
    by_name = _EXTENSIONS.get(extension)
    delimited = _delimited_format(body, truncated)
    markdown = _looks_like_markdown(body)
    if delimited is not None and delimited[1] == "high" and not markdown:
        # Clean columns on every sampled row outweigh a name such as .txt.
        return delimited[0], "high" if by_name == delimited[0] else "medium"
    if by_name in _TEXT_TIES:
        return by_name, "medium"
    if markdown:
        return "markdown", "medium"
    if delimited is not None:
        return delimited[0], "low"
    return "text", "medium"


def _looks_like_email(body: str, named_eml: bool) -> bool:
    """RFC 5322 headers at the very start, among them two of the usual ones (one if the file is named .eml)."""
    match = _EML_HEADER.match(body[:16384].replace("\r\n", "\n") + "\n")
    if match is None:
        return False
    names = {line.split(":", 1)[0].lower() + ":" for line in match.group(0).splitlines() if ":" in line}
    return len(names.intersection(_EML_NAMES)) >= (1 if named_eml else 2)


def _looks_like_markdown(body: str) -> bool:
    sample = body[:16384]  # the signals show early; scanning the whole head costs more than the rest of sniffing
    return sum(1 for signal in _MD_SIGNALS if signal.search(sample)) >= 2


def _edi_format(body: str) -> Format | None:
    if body.startswith("ISA") and len(body) > 4 and not body[3].isalnum() and not body[3].isspace():
        return "edi_x12"
    if body.startswith("UNA") and len(body) >= 9:
        return "edi_edifact"
    if _EDIFACT_UNB.match(body):
        return "edi_edifact"
    return None


def _json_format(body: str, extension: str, truncated: bool) -> tuple[Format, Confidence] | None:
    if body[0] not in "[{":
        if extension == "json" and not truncated:
            try:
                json.loads(body)
            except ValueError:
                return "json", "low"  # named .json but not JSON: the parse refuses it with the parser's reason
            return "json", "medium"
        return None
    if not truncated:
        try:
            whole = json.loads(body)
        except ValueError:
            whole = None
        else:
            if isinstance(whole, dict) and extension in ("jsonl", "ndjson"):
                return "jsonl", "high"
            return "json", "high"
    lines = [line for line in body.splitlines() if line.strip()]
    if truncated and lines:
        lines = lines[:-1]  # the last line may be cut
    parsed = 0
    for line in lines[:50]:
        try:
            value = json.loads(line)
        except ValueError:
            break
        if not isinstance(value, dict | list):
            break
        parsed += 1
    else:
        if parsed >= 2:
            return "jsonl", "high"
    if parsed >= 2:
        return "jsonl", "medium"
    if body[0] == "[" or truncated:
        # A pretty-printed document larger than the head.
        return "json", "medium"
    if extension == "json":
        return "json", "low"
    return None


def _delimited_format(body: str, truncated: bool) -> tuple[Format, Confidence] | None:
    choice = detect_delimiter(_past_comment_lines(body), truncated)
    if choice is None:
        return None
    delimiter, consistent = choice
    fmt: Format = "tsv" if delimiter == "\t" else "csv"
    return fmt, "high" if consistent else "low"


def _past_comment_lines(body: str) -> str:
    """The text from the last of its leading '#' lines on: meta lines (VCF's '##') have no columns, and the last
    such line may be the header ('#CHROM')."""
    if not body.startswith("#"):
        return body
    start = 0
    while body.startswith("#", start):
        end = body.find("\n", start)
        if end < 0:
            return body
        if not body.startswith("#", end + 1):
            return body[start:]
        start = end + 1
    return body[start:]


def detect_delimiter(text: str, truncated: bool = True) -> tuple[str, bool] | None:
    """The delimiter whose field count is the same on most sampled rows, and whether it is the same on all of them."""
    sample = text[:HEAD_BYTES]
    if truncated and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    best: tuple[float, int, str, bool] | None = None
    for delimiter in _DELIMITERS:
        if delimiter not in sample:
            continue
        try:
            rows = [len(row) for row, _ in zip(csv.reader(io.StringIO(sample), delimiter=delimiter), range(200), strict=False)]
        except csv.Error:
            continue
        rows = [count for count in rows if count > 0]
        if len(rows) < 2:
            continue
        width, hits = Counter(rows).most_common(1)[0]
        if width < 2:
            continue
        share = hits / len(rows)
        if share < 0.8:
            continue
        score = (share, width, delimiter, hits == len(rows) and len(rows) >= 3)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        return None
    return best[2], best[3]

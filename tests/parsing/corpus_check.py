"""Run one corpus file through the engine (as the parse worker does) and judge it against an independent reader.

Each file ends in one verdict:
- `correct`: the engine's output agrees with the reference reader's (rows, columns, cells, or the text's words);
- `refused`: the engine refused with a ParseError whose code and message say why, and the reference reader also
  fails on the file, or the manifest names the refusal as expected (a format that is not parsed);
- `wrong` / `crash`: anything else. A hang is caught by the caller's per-file timeout.

Reference readers (test-only, requirements-corpus.txt): pandas for CSV/TSV/JSON rows, python-calamine for XLSX,
xlrd for XLS, odfpy for ODS/ODT, pypdf for PDF (the engine uses PDFium), pydifact for EDIFACT, the sheet/slide/document XML read
directly for DOCX and PPTX, the `email` package's legacy compat32 parser for EML, and for X12 the segment count
found by splitting at the terminator the ISA header declares at its fixed offset (X12.5 fixes the ISA layout).
Images are read by OCR (Tesseract) and judged against the transcription beside them (`<name>.expected-utf8`, from
the same test suite where it has one).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import math
import re
import signal
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TABULAR = {"csv", "tsv", "json", "jsonl", "xlsx", "xls", "xlsb", "ods", "edi_x12", "edi_edifact", "parquet", "xml"}
WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")


class _Outputs:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def __call__(self, name: str, content_type: str) -> Iterator[BinaryIO]:
        with (self.folder / name).open("wb") as handle:
            yield handle


class _OverBudget(KeyboardInterrupt):  # an interrupt: the engine turns native BaseExceptions into refusals, never these
    pass


def _over_budget(signum: int, frame: Any) -> None:
    raise _OverBudget


def judge(relative: str, expected: dict[str, Any], budget: float = 30.0) -> dict[str, Any]:
    """The verdict for one corpus file (run in a worker process, whose main thread may take SIGALRM)."""
    previous = signal.signal(signal.SIGALRM, _over_budget)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        return _judge(relative, expected)
    except _OverBudget:
        return {"file": relative, "verdict": "hang", "detail": f"over its budget of {budget:g} s"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _judge(relative: str, expected: dict[str, Any]) -> dict[str, Any]:
    from shared.parsing import ParseError, parse, sniff_stream

    path = CORPUS / relative
    options = expected.get("options") or {}
    with tempfile.TemporaryDirectory() as tmp, path.open("rb") as stream:
        folder = Path(tmp)
        try:
            detected = sniff_stream(stream, path.name)
            tabular = detected.format in TABULAR or detected.format in ("gzip", "zip")
            profile = expected.get("profile") or ("structured" if tabular else "unstructured")
            result = parse(stream, detected, profile, options, _Outputs(folder), _ocr())
        except ParseError as exc:
            return _refused(path, relative, expected, exc.code, exc.message)
        except _OverBudget:
            raise
        except Exception as exc:  # noqa: BLE001 - a crash is a verdict, not a test error
            return {"file": relative, "verdict": "crash", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        try:
            detail = _compare(path, result, folder, expected)
        except Exception as exc:  # noqa: BLE001 - the comparison itself failing is reported, not raised
            return {"file": relative, "verdict": "wrong", "detail": f"comparison failed: {type(exc).__name__}: {exc}"[:300]}
    verdict = "correct" if detail is None else "wrong"
    return {"file": relative, "verdict": verdict, "format": result.detected_format, "detail": detail or ""}


def _ocr() -> Any:
    """Tesseract, as the local stack reads scans (make tesseract installs it)."""
    from shared.adapters.ocr.tesseract import TesseractOcr
    from shared.parsing.ocr import OcrLimits, OcrSession

    return OcrSession(TesseractOcr(), OcrLimits(max_pages=20, max_seconds=25))


def _refused(path: Path, relative: str, expected: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    if len(message.split()) < 5 or not code:
        return {"file": relative, "verdict": "wrong", "detail": f"refusal without a clear reason: {code}: {message}"}
    if expected.get("refuse") == code:
        return {"file": relative, "verdict": "refused", "detail": f"{code}: {message}"}
    reference_error = _reference_fails(path)
    if reference_error is not None:
        return {"file": relative, "verdict": "refused", "detail": f"{code}: {message} (reference: {reference_error})"}
    return {"file": relative, "verdict": "wrong", "detail": f"refused a file the reference reads: {code}: {message}"}


# ---- reference readers -------------------------------------------------------------------------------------------


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.rsplit(".", 1)[-1]


def _reference_fails(path: Path) -> str | None:
    """Why the reference reader cannot read the file, or None when it reads it."""
    try:
        kind = _kind(path)
        data = path.read_bytes()
        if not data.strip():
            return "empty file"
        if kind in ("csv", "tsv", "vcf"):
            _pandas_csv(path)
        elif kind == "json":
            _json_reference(path)
        elif kind == "pdf":
            _pdf_pages(path)
        elif kind in ("xlsx", "xlsb", "xls", "ods", "xlsm"):
            _sheet_rows(path)
        elif kind in ("docx", "pptx", "pptm"):
            _ooxml_text(path)
        elif kind in ("odt",):
            _odf_text(path)
        elif kind in ("odp",):
            return "presentations in ODF are not a supported format"
        else:
            return None
    except Exception as exc:  # noqa: BLE001 - any failure of the reference is its verdict
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


def _json_reference(path: Path) -> Any:
    text = _decompressed(path).decode("utf-8-sig")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _pandas_csv(path: Path, encoding: str | None = None) -> Any:
    """pandas reading every cell as text. `encoding` is the manifest's `reference_encoding`, for a file that
    charset-normalizer misreads (it is never given to the engine)."""
    import pandas as pd

    data = _decompressed(path)
    from charset_normalizer import from_bytes

    if encoding is None:
        best = from_bytes(data).best()
        encoding = "utf-8" if best is None else best.encoding
    sample = data[:8192].decode(encoding, "replace")
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    # VCF meta-information lines ('##', VCF 4.x section 1.4) come before the '#CHROM' header line.
    meta = 0
    for line in data.splitlines():
        if not line.startswith(b"##"):
            break
        meta += 1
    if meta:
        sep = "\t"
    return pd.read_csv(io.BytesIO(data), sep=sep, engine="python", dtype=str, keep_default_na=False, encoding=encoding,
                       skiprows=meta)


def _pdf_pages(path: Path) -> list[str]:
    """The text of each page by pypdf (the engine uses PDFium)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("the PDF needs a password")
    return [page.extract_text() or "" for page in reader.pages]


def _pdfminer_pages(path: Path) -> list[str]:
    """The text of each page by pdfminer.six (vertical text laid out), opened with the empty user password."""
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams

    return extract_text(str(path), laparams=LAParams(detect_vertical=True)).split("\f")[:-1]


def _sheet_rows(path: Path) -> list[list[Any]]:
    kind = _kind(path)
    if kind == "xls":
        import xlrd

        book = xlrd.open_workbook(str(path))
        sheet = book.sheet_by_index(0)
        return [sheet.row_values(index) for index in range(sheet.nrows)]
    if kind == "ods":
        from odf import teletype
        from odf.opendocument import load
        from odf.table import Table, TableCell, TableRow

        document = load(str(path))
        table = document.spreadsheet.getElementsByType(Table)[0]
        rows = []
        for row in table.getElementsByType(TableRow):
            repeat = int(row.getAttribute("numberrowsrepeated") or 1)
            cells = []
            for cell in row.getElementsByType(TableCell):
                times = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                cells.extend([teletype.extractText(cell)] * min(times, 1000))
            rows.extend([cells] * min(repeat, 1000))
        return rows
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)


def _ooxml_text(path: Path) -> str:
    """All text runs of a DOCX (w:t) or of a PPTX's slides (a:t), read from the package XML directly."""
    from lxml import etree

    texts: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "word/document.xml" in names:
            parts = ["word/document.xml"]
            namespace = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        else:
            parts = sorted(name for name in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", name))
            namespace = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
        for part in parts:
            root = etree.fromstring(archive.read(part))
            # Runs of one paragraph join without a space: a word may be split across runs.
            for paragraph in root.iter(f"{namespace}p"):
                runs = paragraph.iter(f"{namespace}t", f"{namespace}tab", f"{namespace}br")
                texts.append("".join(node.text or "" if node.tag.endswith("}t") else " " for node in runs))
    return " ".join(texts)


def _odf_text(path: Path) -> str:
    from odf import teletype
    from odf.opendocument import load
    from odf.text import H, P

    document = load(str(path))
    return " ".join(teletype.extractText(node) for kind in (P, H) for node in document.getElementsByType(kind))


def _eml_text(path: Path) -> str:
    import email
    from email import policy

    message = email.message_from_bytes(path.read_bytes(), policy=policy.compat32)
    texts = [str(message.get("Subject") or "")]
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload.decode(part.get_content_charset() or "latin-1", "replace")
                texts.append(_html_text_of(text) if part.get_content_subtype() == "html" else text)
    return "\n".join(texts)


def _html_text(path: Path) -> str:
    """Text outside script and style, by the standard library's HTML tokenizer."""
    from charset_normalizer import from_bytes

    return _html_text_of(str(from_bytes(path.read_bytes()).best()))


def _html_text_of(markup: str) -> str:
    from html.parser import HTMLParser

    parts: list[str] = []

    class Collector(HTMLParser):
        skipping = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.skipping += tag in ("script", "style")

        def handle_endtag(self, tag: str) -> None:
            self.skipping -= tag in ("script", "style") and self.skipping > 0

        def handle_data(self, data: str) -> None:
            if not self.skipping:
                parts.append(data)

    Collector().feed(markup)
    return " ".join(parts)


def _x12_segment_count(data: bytes) -> tuple[int, int]:
    """Segments and ST transaction sets, splitting at the terminator at ISA's fixed offset 105."""
    # An interchange saved as UTF-16 without a BOM has a NUL after each ASCII byte (X12.5 allows only ASCII in ISA).
    text = data.decode("utf-16-le" if data[1:8:2] == b"\0\0\0\0" else "latin-1")
    start = text.index("ISA")
    element, terminator = text[start + 3], text[start + 105]
    segments = [piece.strip() for piece in text[start:].split(terminator)]
    segments = [piece for piece in segments if piece]
    return len(segments), sum(1 for piece in segments if piece.split(element)[0] == "ST")


# ---- comparisons -------------------------------------------------------------------------------------------------


def _chunks_text(folder: Path) -> str:
    path = folder / "chunks.jsonl"
    if not path.exists():
        return ""
    return "\n".join(json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines())


def _rows(folder: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(folder / "structured.parquet").to_pylist()


def _words_covered(ours: str, reference: str, share: float = 0.9) -> str | None:
    wanted = [word.lower() for word in WORD.findall(reference)]
    if not wanted:
        return None
    have = {word.lower() for word in WORD.findall(ours)}
    found = sum(1 for word in wanted if word in have)
    if found < share * len(wanted):
        missing = sorted({word for word in wanted if word not in have})[:8]
        return f"only {found}/{len(wanted)} reference words found; missing e.g. {missing}"
    return None


def _same_cell(ours: Any, reference: Any) -> bool:
    if reference in ("", None):
        return ours in ("", None)
    if ours is None:
        return False
    if isinstance(ours, dt.time):
        return str(reference).strip() in (ours.isoformat(), ours.strftime("%H:%M"), ours.strftime("%H:%M:%S"))
    if isinstance(ours, dt.datetime | dt.date):
        text = str(reference).strip().replace("T", " ")
        return text in (ours.isoformat(sep=" ") if isinstance(ours, dt.datetime) else ours.isoformat(), str(ours))
    if isinstance(ours, bool):
        return str(reference).strip().lower() in ("true", "false", "1", "0") and (
            str(reference).strip().lower() in ("true", "1")) == ours
    if isinstance(ours, int | float):
        if _LEADING_ZERO.match(str(reference)):
            return False  # "007" read as 7: the zeros are lost
        try:
            return math.isclose(float(ours), float(str(reference).replace(",", "")), rel_tol=1e-9, abs_tol=1e-9)
        except ValueError:
            return False
    return str(ours).strip() == str(reference).strip()


def _compare(path: Path, result: Any, folder: Path, expected: dict[str, Any]) -> str | None:
    kind = _kind(path)
    fmt = result.detected_format
    if fmt in ("csv", "tsv"):
        return _compare_csv(path, folder, expected.get("reference_encoding"))
    if fmt in ("json", "jsonl"):
        return _compare_json(path, folder)
    if fmt in ("xlsx", "xls", "xlsb", "ods"):
        return _compare_sheet(path, folder)
    if fmt == "edi_x12":
        segments, _sets = _x12_segment_count(path.read_bytes())
        rows = _rows(folder)
        if len(rows) != segments:
            return f"{len(rows)} segment rows, reference {segments}"
        return None
    if fmt == "edi_edifact":
        from pydifact.segmentcollection import Interchange

        interchange = Interchange.from_str(path.read_text(encoding="latin-1"))
        expected = len(list(interchange.segments)) + 2  # pydifact keeps UNB/UNZ apart from the segments
        rows = _rows(folder)
        count = len([row for row in rows if row["segment_id"] != "UNA"])
        return None if count == expected else f"{count} segments, pydifact {expected}"
    text = _chunks_text(folder)
    if fmt == "pdf":
        reader = expected.get("reference", "pypdf")  # the manifest names pdfminer.six where pypdf cannot read the file
        pages = _pdfminer_pages(path) if reader == "pdfminer.six" else _pdf_pages(path)
        if result.page_count != len(pages):
            return f"{result.page_count} pages, {reader} {len(pages)}"
        return _words_covered(text, "\n".join(pages), expected.get("word_share", 0.85))
    if fmt in ("docx", "pptx"):
        return _words_covered(text, _ooxml_text(path))
    if fmt == "odt":
        return _words_covered(text, _odf_text(path))
    if fmt == "eml":
        return _words_covered(text, _eml_text(path))
    if fmt == "xml":
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return _words_covered(text, " ".join(etree.parse(str(path), parser).getroot().itertext()))
    if fmt == "html":
        return _words_covered(text, _html_text(path))
    if fmt == "image":
        reference = (path.parent / (path.stem + ".expected-utf8")).read_text(encoding="utf-8")
        return _words_covered(text, reference, expected.get("word_share", 0.9))
    if kind == "txt" and (path.parent / (path.stem + ".expected-utf8")).exists():
        reference = (path.parent / (path.stem + ".expected-utf8")).read_text(encoding="utf-8")
        if " ".join(text.split()) != " ".join(reference.split()):
            return "decoded text differs from the reference decoding"
        return None
    if fmt in ("text", "markdown"):
        from charset_normalizer import from_bytes

        return _words_covered(text, str(from_bytes(path.read_bytes()).best()))
    return f"no reference comparison for detected format {fmt!r} ({kind})"


def _compare_csv(path: Path, folder: Path, encoding: str | None = None) -> str | None:
    frame = _pandas_csv(path, encoding)
    rows = _rows(folder)
    if len(rows) != len(frame):
        return f"{len(rows)} rows, pandas {len(frame)}"
    ours = list(rows[0].keys()) if rows else []
    if rows and len(ours) != len(frame.columns):
        return f"{len(ours)} columns, pandas {len(frame.columns)}"
    for index, (row, reference) in enumerate(zip(rows, frame.itertuples(index=False, name=None), strict=True)):
        for name, value in zip(ours, reference, strict=True):
            if not _same_cell(row[name], value):
                return f"row {index + 1} column {name!r}: {row[name]!r}, pandas {value!r}"
    return None


def _compare_json(path: Path, folder: Path) -> str | None:
    text = _decompressed(path).decode("utf-8-sig")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = [json.loads(line) for line in text.splitlines() if line.strip()]  # JSON Lines
    rows = _rows(folder)
    if isinstance(document, list):
        expected = len(document)
    elif isinstance(document, dict):
        arrays = [value for value in document.values() if isinstance(value, list) and value
                  and all(isinstance(item, dict) for item in value)]
        expected = len(arrays[0]) if len(arrays) == 1 else 1
    else:
        expected = 1
    return None if len(rows) == expected else f"{len(rows)} rows, json module {expected}"


def _compare_sheet(path: Path, folder: Path) -> str | None:
    reference = [row for row in _sheet_rows(path) if any(str(cell).strip() for cell in row)]
    if not reference:
        return None if not (folder / "structured.parquet").exists() or not _rows(folder) else "rows from an empty sheet"
    rows = _rows(folder)
    if len(rows) != len(reference) - 1:
        return f"{len(rows)} rows, reference {len(reference) - 1} below the header"
    header = [re.sub(r"\.0$", "", str(cell).strip()) for cell in reference[0] if str(cell).strip()]
    names = [name for name in (rows[0].keys() if rows else []) if name != "_sheet"]
    if rows and [name for name in names if not name.startswith("column_")][: len(header)] != header[: len(names)]:
        return f"columns {names[:6]}, reference header {header[:6]}"
    return None

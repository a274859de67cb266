"""Benchmark of the parsing engine, side by side with the bare libraries, on data it generates in /tmp.

    python -m bench.parse [--repeat N] [--skip-rss] [--big]

1. Structured CSV throughput: `shared.parsing.parse()` from an open file to a Parquet file on disk, against
   pyarrow's streaming CSV reader writing the same Parquet (snappy, dictionary-encoded text, same block size, the
   same null and quoting options) in the same run, on 10 MB and 100 MB CSVs (target ratio >= 0.9).
2. Peak RSS growth, each case in its own subprocess started with the parse worker's declared environment (its Arrow
   memory pool): parse() of 10 MB, 100 MB (and with --big 1 GB) CSVs, the bare pyarrow pipeline on 100 MB, and
   parse() of a 100 MB many-page PDF (target: <= 64 MiB at every size).
3. PDF text: pypdf against pypdfium2 on the corpus PDFs (tests/corpus/pdf): pages per second, and how many of
   each reader's words the other finds.
4. Workbooks: rows per second of openpyxl (read-only) and python-calamine on a generated XLSX.
5. OCR: pages per second of the engine on scanned pages and images against bare Tesseract (bench/parse_ocr.py).

Every case runs in the deployed parse worker's environment (infra/functions.json `environment`: its Arrow memory
pool), the bare libraries alike. Prints tables and writes bench/parse_results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from bench import parse_ocr
from bench.common import status_bytes, table

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("BENCH_PARSE_DATA", "/tmp/ingest-bench-parse"))
CORPUS_PDFS = BENCH_DIR.parent / "tests" / "corpus" / "pdf"
OUT_DIR = DATA_DIR / "out"
RESULTS_FILE = BENCH_DIR / "parse_results.json"
MB = 1_000_000
DATA_VERSION = "1"  # bump to regenerate the data when the generators change

CSV_SIZES_MB = (10, 100)
PDF_SIZE_MB = 100
TARGET_RATIO = 0.9
TARGET_RSS_MIB = 64
XLSX_ROWS = 60_000
# parse_csv_10mb is there to show that the CSV figure does not scale with the input.
RSS_CASES = ("parse_csv_10mb", "parse_csv_100mb", "arrow_parquet_100mb", "parse_pdf_100mb")
BIG_RSS_CASES = ("parse_csv_1000mb",)
BLOCK_SIZE = 1024 * 1024


# --- generated data ---------------------------------------------------------------------------------------------

_CITIES = ["Oslo", "Lyon", "Porto", "Kraków", "Zürich", "Sevilla", "Gent", "Tallinn", "Bari", "Malmö"]
_WORDS = (
    "invoice order shipment customer pallet warehouse delivery returned priority standard express fragile "
    "refund partial backorder received packed dispatched cancelled"
).split()


def _csv_path(size_mb: int) -> Path:
    return DATA_DIR / f"orders_{size_mb}mb.v{DATA_VERSION}.csv"


def _pdf_path(size_mb: int) -> Path:
    return DATA_DIR / f"report_{size_mb}mb.v{DATA_VERSION}.pdf"


def ensure_csv(size_mb: int) -> Path:
    """Orders with typed columns (int, text, float, timestamp, bool) and quoted notes holding commas."""
    path = _csv_path(size_mb)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(size_mb)
    target = size_mb * MB
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write("order_id,customer,city,amount,quantity,created_at,express,note\n")
        written = 0
        order = 0
        while written < target:
            lines = []
            for _ in range(5000):
                order += 1
                note = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))
                if order % 3 == 0:
                    note = f'"{note}, then {rng.choice(_WORDS)}"'
                lines.append(
                    f"{order},customer-{rng.randint(1, 50_000)},{rng.choice(_CITIES)},{rng.uniform(1, 5000):.2f},"
                    f"{rng.randint(1, 40)},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00,{'true' if order % 4 == 0 else 'false'},"
                    f"{note}\n"
                )
            chunk = "".join(lines)
            handle.write(chunk)
            written += len(chunk.encode("utf-8"))
    partial.rename(path)
    return path


def ensure_pdf(size_mb: int) -> Path:
    """A many-page PDF, each page holding ~3.5 KB of text and a ~45 KB grayscale image, written object by object."""
    path = _pdf_path(size_mb)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    target = size_mb * MB
    partial = path.with_suffix(".partial")
    offsets: dict[int, int] = {}
    page_ids: list[int] = []
    with partial.open("wb") as out:

        def put(number: int, body: bytes) -> None:
            offsets[number] = out.tell()
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        put(3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        number = 4
        page = 0
        while out.tell() < target:
            page += 1
            page_id, content_id, image_id = number, number + 1, number + 2
            number += 3
            page_ids.append(page_id)
            lines = [f"Report page {page}: warehouse activity"]
            for _ in range(40):
                lines.append(" ".join(rng.choice(_WORDS) for _ in range(12)))
            text = " T* ".join(f"({line}) Tj" for line in lines)
            content = f"q 200 0 0 225 350 500 cm /Im1 Do Q BT /F1 9 Tf 40 760 Td 11 TL {text} ET".encode("latin-1")
            image = rng.randbytes(200 * 225)
            put(
                page_id,
                (
                    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 {image_id} 0 R >> >> >>"
                ).encode(),
            )
            put(content_id, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
            put(
                image_id,
                b"<< /Type /XObject /Subtype /Image /Width 200 /Height 225 /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(image) + image + b"\nendstream",
            )
        kids = " ".join(f"{i} 0 R" for i in page_ids)
        put(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode())
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % number)
        for index in range(1, number):
            out.write(b"%010d 00000 n \n" % offsets[index])
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (number, xref))
    partial.rename(path)
    return path


# --- the cases --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _file_output(name: str, content_type: str) -> Iterator[BinaryIO]:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / name).open("wb") as handle:
        yield handle


def run_parse(path: Path, profile: str) -> Any:
    from shared.parsing import parse, sniff_stream

    with path.open("rb") as source:
        detected = sniff_stream(source, path.name)
        return parse(source, detected, profile, {}, _file_output)  # type: ignore[arg-type]


def run_read_csv(path: Path) -> int:
    """The bare library doing the same work as parse(): stream the CSV and write it as Parquet with its options."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(quote_char='"', newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=False),
    )
    schema = reader.schema
    text = [field.name for field in schema if pa.types.is_string(field.type)]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(OUT_DIR / "bare.parquet", schema, compression="snappy", use_dictionary=text or False) as out:
        pending: list[pa.RecordBatch] = []
        size = 0
        for batch in reader:
            pending.append(batch)
            size += batch.nbytes
            rows += batch.num_rows
            if size >= 16 * 1024 * 1024:
                out.write_table(pa.Table.from_batches(pending, schema))
                pending, size = [], 0
        if pending:
            out.write_table(pa.Table.from_batches(pending, schema))
    return rows


def _warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(8 * 1024 * 1024):
            pass


def throughput(size_mb: int, repeat: int) -> dict[str, Any]:
    path = ensure_csv(size_mb)
    size = path.stat().st_size
    _warm(path)
    # One untimed run of each first: imports, thread pools and allocator arenas are not what is measured.
    run_read_csv(path)
    run_parse(path, "structured")
    parse_times: list[float] = []
    read_times: list[float] = []
    result = None
    rows = 0
    # Each parse() run is paired with a read_csv run just before it, and the ratio is the median of the pairs:
    # on a shared machine the load drifts, and adjacent runs see about the same load.
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run_read_csv(path)
        read_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = run_parse(path, "structured")
        parse_times.append(time.perf_counter() - started)
    assert result is not None and result.record_count == rows, "parse() and the bare pipeline disagree on the row count"
    ratio = statistics.median(read / parsed for read, parsed in zip(read_times, parse_times, strict=True))
    parse_s = statistics.median(parse_times)
    read_s = statistics.median(read_times)
    return {
        "case": f"csv_{size_mb}mb",
        "input_bytes": size,
        "rows": rows,
        "repeat": repeat,
        "parse_seconds_median": round(parse_s, 3),
        "parse_seconds_best": round(min(parse_times), 3),
        "arrow_parquet_seconds_median": round(read_s, 3),
        "arrow_parquet_seconds_best": round(min(read_times), 3),
        "parse_mb_per_s": round(size / MB / parse_s, 1),
        "arrow_parquet_mb_per_s": round(size / MB / read_s, 1),
        "ratio": round(ratio, 3),
        "ratio_of_best_runs": round(min(read_times) / min(parse_times), 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "parquet_bytes": result.outputs[0].bytes_written,
    }


def _rss_now() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _peak_rss() -> int:
    """This process's peak RSS (VmHWM). getrusage's ru_maxrss is not used: after the fork and exec that start this
    subprocess it can still report the parent's peak."""
    return status_bytes("VmHWM")


def measure_rss_in_this_process(case: str) -> dict[str, Any]:
    """Run one case after a warm-up; report peak RSS above the RSS before it started."""
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import pypdfium2  # noqa: F401

    import shared.parsing.engine  # noqa: F401

    if case.startswith("parse_csv_"):
        path, work = _csv_path(int(case.removeprefix("parse_csv_").removesuffix("mb"))), lambda p: run_parse(p, "structured")
    elif case == "parse_pdf_100mb":
        path, work = _pdf_path(PDF_SIZE_MB), lambda p: run_parse(p, "unstructured")
    elif case == "arrow_parquet_100mb":
        path, work = _csv_path(100), run_read_csv
    else:
        raise SystemExit(f"unknown case {case}")
    # As bench/ingest does: one warm-up run of the same work on a small input (imports, thread pools, allocator
    # arenas are made once per process, not per file), then VmHWM is reset and the growth measured from there.
    work(ensure_pdf(1) if case == "parse_pdf_100mb" else ensure_csv(10))
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _rss_now()
    started = time.perf_counter()
    result = work(path)
    seconds = time.perf_counter() - started
    peak = _peak_rss()
    detail: dict[str, Any] = {}
    if hasattr(result, "page_count") and result.page_count:
        detail = {"pages": result.page_count, "chunks": result.chunk_count, "pages_per_s": round(result.page_count / seconds, 1)}
    elif hasattr(result, "record_count"):
        detail = {"rows": result.record_count}
    return {
        "case": case,
        "input_bytes": path.stat().st_size,
        "seconds": round(seconds, 2),
        "baseline_rss_mb": round(baseline / MB, 1),
        "peak_rss_mb": round(peak / MB, 1),
        "peak_growth_mb": round((peak - baseline) / MB, 1),
        "peak_growth_mib": round((peak - baseline) / 2**20, 1),
        "meets_rss_target": (peak - baseline) / 2**20 <= TARGET_RSS_MIB,
        **detail,
    }


def worker_environment() -> dict[str, str]:
    """The variables the deployed parse worker's process starts with (infra/functions.json `environment`): the
    measured process runs as the worker does (its Arrow memory pool is chosen when pyarrow loads)."""
    manifest = json.loads((BENCH_DIR.parent / "infra" / "functions.json").read_text())
    worker = next(f for f in manifest["functions"] if f["name"] == "parse-worker")
    return dict(worker.get("environment") or {})


def rss(case: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.parse", "--rss-case", case],
        cwd=BENCH_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **worker_environment()},
    )
    if completed.returncode != 0:
        raise SystemExit(f"RSS case {case} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- report -----------------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    parts = [
        "Structured CSV -> Parquet: parse() vs pyarrow's streaming CSV reader writing Parquet with the same options",
        "(MB/s are medians; ratio = median over paired runs of bare time / parse time; best = fastest runs)",
    ]
    rows = [["case", "size MB", "rows", "parse MB/s", "bare MB/s", "ratio", "best", "target"]]
    for item in results["throughput"]:
        rows.append(
            [
                item["case"],
                f"{item['input_bytes'] / MB:.1f}",
                str(item["rows"]),
                f"{item['parse_mb_per_s']:.1f}",
                f"{item['arrow_parquet_mb_per_s']:.1f}",
                f"{item['ratio']:.2f}",
                f"{item['ratio_of_best_runs']:.2f}",
                f">= {TARGET_RATIO} " + ("ok" if item["meets_target"] else "MISSED"),
            ]
        )
    parts.append(table(rows))
    if results.get("rss"):
        parts.append("\nPeak RSS growth, one subprocess per case")
        rows = [["case", "input MB", "seconds", "baseline MB", "peak MB", "growth MB", "notes"]]
        for item in results["rss"]:
            notes = ", ".join(f"{key}={item[key]}" for key in ("rows", "pages", "chunks", "pages_per_s") if key in item)
            rows.append(
                [
                    item["case"],
                    f"{item['input_bytes'] / MB:.1f}",
                    f"{item['seconds']:.1f}",
                    f"{item['baseline_rss_mb']:.0f}",
                    f"{item['peak_rss_mb']:.0f}",
                    f"{item['peak_growth_mb']:.0f}",
                    notes,
                ]
            )
        parts.append(table(rows))
    if results.get("pdf"):
        pdf = results["pdf"]
        parts.append(f"\nPDF text on {pdf['files']} corpus PDFs ({pdf['pages']} pages)")
        rows = [["reader", "pages/s", "seconds", "words of the other found (median)", "files under 85%"]]
        for name in ("pypdf", "pypdfium2"):
            item = pdf[name]
            rows.append([name, f"{item['pages_per_s']:.1f}", f"{item['seconds']:.2f}",
                         f"{item['covers_other_median']:.3f}", str(item["files_under_85"])])
        parts.append(table(rows))
    if results.get("xlsx"):
        parts.append(f"\nXLSX rows/s ({results['xlsx']['rows']} rows x {results['xlsx']['columns']} columns)")
        rows = [["reader", "rows/s", "seconds"]]
        for name in ("openpyxl_read_only", "python_calamine"):
            item = results["xlsx"][name]
            rows.append([name, f"{item['rows_per_s']:.0f}", f"{item['seconds']:.2f}"])
        parts.append(table(rows))
    return "\n".join(parts)


def _coverage(ours: str, other: str) -> float:
    import re

    words = [word.lower() for word in re.findall(r"[^\W_]{3,}", other)]
    if not words:
        return 1.0
    have = {word.lower() for word in re.findall(r"[^\W_]{3,}", ours)}
    return sum(1 for word in words if word in have) / len(words)


def pdf_readers() -> dict[str, Any]:
    """pypdf and pypdfium2 on the same corpus PDFs: speed, and agreement on the words each finds."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    texts: dict[str, list[str]] = {"pypdf": [], "pypdfium2": []}
    seconds = {"pypdf": 0.0, "pypdfium2": 0.0}
    pages = files = 0
    for path in sorted(CORPUS_PDFS.glob("*.pdf")):
        try:
            started = time.perf_counter()
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                continue
            text_a = "\n".join(page.extract_text() or "" for page in reader.pages)
            seconds["pypdf"] += time.perf_counter() - started
            started = time.perf_counter()
            document = pdfium.PdfDocument(str(path))
            count = len(document)
            text_b = "\n".join(document[index].get_textpage().get_text_range() for index in range(count))
            document.close()
            seconds["pypdfium2"] += time.perf_counter() - started
        except Exception:  # noqa: BLE001, S112 - a PDF either reader refuses is left out of the comparison
            continue
        files += 1
        pages += count
        texts["pypdf"].append(text_a)
        texts["pypdfium2"].append(text_b)
    result: dict[str, Any] = {"files": files, "pages": pages}
    for name, other in (("pypdf", "pypdfium2"), ("pypdfium2", "pypdf")):
        covers = [_coverage(mine, theirs) for mine, theirs in zip(texts[name], texts[other], strict=True)]
        result[name] = {
            "seconds": round(seconds[name], 3),
            "pages_per_s": round(pages / seconds[name], 1) if seconds[name] else 0.0,
            "covers_other_median": round(statistics.median(covers), 3) if covers else 0.0,
            "files_under_85": sum(1 for value in covers if value < 0.85),
        }
    return result


def _xlsx_path() -> Path:
    return DATA_DIR / f"orders_{XLSX_ROWS}.v{DATA_VERSION}.xlsx"


def ensure_xlsx() -> Path:
    path = _xlsx_path()
    if path.exists():
        return path
    from openpyxl import Workbook

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("orders")
    sheet.append(["order_id", "customer", "city", "amount", "quantity", "express", "note"])
    for order in range(1, XLSX_ROWS + 1):
        sheet.append([order, f"customer-{rng.randint(1, 50_000)}", rng.choice(_CITIES), round(rng.uniform(1, 5000), 2),
                      rng.randint(1, 40), order % 4 == 0, " ".join(rng.choice(_WORDS) for _ in range(4))])
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.rename(path)
    return path


def xlsx_readers() -> dict[str, Any]:
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    path = ensure_xlsx()
    started = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    rows_a = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    openpyxl_s = time.perf_counter() - started
    started = time.perf_counter()
    rows_b = sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows())
    calamine_s = time.perf_counter() - started
    assert rows_a == rows_b, "the two readers disagree on the row count"
    return {
        "rows": rows_a,
        "columns": 7,
        "openpyxl_read_only": {"seconds": round(openpyxl_s, 3), "rows_per_s": round(rows_a / openpyxl_s)},
        "python_calamine": {"seconds": round(calamine_s, 3), "rows_per_s": round(rows_b / calamine_s)},
        "calamine_speedup": round(openpyxl_s / calamine_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per throughput case (the median is reported)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--big", action="store_true", help="also measure peak RSS on a 1 GB CSV (generated once)")
    parser.add_argument("--rss-case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_case:
        print(json.dumps(measure_rss_in_this_process(args.rss_case)))
        return 0
    worker = worker_environment()
    if any(os.environ.get(k) != v for k, v in worker.items()):
        # Every figure is taken in the worker's environment: start again in it (pyarrow reads it when it loads).
        os.execve(sys.executable, [sys.executable, "-m", "bench.parse", *(sys.argv[1:] if argv is None else argv)],  # noqa: S606
                  {**os.environ, **worker})
    import pyarrow

    for size_mb in CSV_SIZES_MB:
        ensure_csv(size_mb)
    ensure_pdf(PDF_SIZE_MB)
    if args.big:
        ensure_csv(1000)
    rss_cases = [*RSS_CASES, *(BIG_RSS_CASES if args.big else ())]
    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyarrow": pyarrow.__version__,
            "arrow_memory_pool": pyarrow.default_memory_pool().backend_name,
            "worker_environment": worker,
            "platform": platform.platform(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        },
        "throughput": [throughput(size_mb, args.repeat) for size_mb in CSV_SIZES_MB],
        "rss": [] if args.skip_rss else [rss(case) for case in rss_cases],
        "pdf": pdf_readers(),
        "xlsx": xlsx_readers(),
        "ocr": parse_ocr.measure(),
    }
    results["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print("\n" + parse_ocr.report(results["ocr"]))
    load = results["machine"]
    print(f"\nload average (1, 5, 15 min): {load['load_average_at_start']} at start, {load['load_average_at_end']} at end")
    print(f"wrote {RESULTS_FILE.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which PDF reader recovers what: PDFium, pdfminer.six and pypdf on every PDF of one or more folders.

    python -m bench.pdf_chain [FOLDER ...]      # default: tests/corpus/pdf

Each file is read by each reader in its own subprocess with a time limit (a reader that loops or crashes is a
verdict, not a stuck run). A reader "reads" a file when it opens it (with an empty user password if the file is
encrypted) and returns any page. The table counts, for the files PDFium refuses or finds no text in, which of the
other readers recovers text. This is the measurement the engine's reader chain (shared/parsing/pdf_doc.py) follows.
Writes bench/pdf_chain_results.json when run on the corpus; the committed one is from a run over the corpus,
pdfminer.six's free samples and pdf.js's test PDFs (1,010 files): PDFium read 971, pdfminer.six 964, pypdf 957. Of the
39 PDFium refuses, pdfminer.six recovers text from 3 and pypdf from 1 (also recovered by pdfminer.six): pdfminer.six
comes second in the chain, pypdf last.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CORPUS_PDFS = BENCH_DIR.parent / "tests" / "corpus" / "pdf"
RESULTS_FILE = BENCH_DIR / "pdf_chain_results.json"
READERS = ("pdfium", "pdfminer", "pypdf")
LIMIT_SECONDS = 20.0
WORD = re.compile(r"[^\W_]{3,}")


def _read(reader: str, path: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        if reader == "pdfium":
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(path)
            pages = [document[index].get_textpage().get_text_range() for index in range(len(document))]
        elif reader == "pdfminer":
            from pdfminer.high_level import extract_text

            pages = extract_text(path).split("\f")
        else:
            from pypdf import PdfReader

            pdf = PdfReader(path)
            if pdf.is_encrypted and not pdf.decrypt(""):
                raise ValueError("needs a password")
            pages = [page.extract_text() or "" for page in pdf.pages]
    except Exception as exc:  # noqa: BLE001 - a refusal is the measurement
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:160], "seconds": time.perf_counter() - started}
    text = "\n".join(pages)
    return {"ok": True, "pages": len(pages), "chars": len(text.strip()), "words": len(WORD.findall(text)),
            "seconds": round(time.perf_counter() - started, 3)}


def _child(reader: str, path: str, queue: Any) -> None:
    queue.put(_read(reader, path))


def read_isolated(reader: str, path: Path) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(reader, str(path), queue))
    process.start()
    process.join(LIMIT_SECONDS)
    if process.is_alive():
        process.kill()
        process.join()
        return {"ok": False, "error": f"over {LIMIT_SECONDS:g} s"}
    if process.exitcode != 0:
        return {"ok": False, "error": f"crashed (exit {process.exitcode})"}
    return queue.get(timeout=5)


def measure(folders: list[Path]) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.pdf")):
            files[f"{folder.name}/{path.name}"] = {reader: read_isolated(reader, path) for reader in READERS}
    summary: dict[str, Any] = {"files": len(files)}
    for reader in READERS:
        summary[f"{reader}_reads"] = sum(1 for item in files.values() if item[reader]["ok"])
        summary[f"{reader}_text"] = sum(1 for item in files.values() if item[reader].get("words", 0) > 0)
    refused = {name: item for name, item in files.items() if not item["pdfium"]["ok"]}
    silent = {name: item for name, item in files.items() if item["pdfium"]["ok"] and item["pdfium"]["words"] == 0}
    for label, group in (("pdfium_refuses", refused), ("pdfium_no_words", silent)):
        summary[label] = {
            "files": sorted(group),
            "pdfminer_recovers": sorted(n for n, i in group.items() if i["pdfminer"].get("words", 0) > 0),
            "pypdf_recovers": sorted(n for n, i in group.items() if i["pypdf"].get("words", 0) > 0),
        }
    return {"summary": summary, "files": files}


def main(argv: list[str] | None = None) -> int:
    folders = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])] or [CORPUS_PDFS]
    results = measure(folders)
    results["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["folders"] = [str(folder) for folder in folders]
    if folders == [CORPUS_PDFS]:
        RESULTS_FILE.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(json.dumps(results["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

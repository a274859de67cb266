"""Ingest benchmark: signed-URL uploads of 1 KB, 10 MB and 100 MB go through the finalize handler on the local stack.

    python -m bench.ingest [--repeat N]

It starts its own emulators (Firestore, Pub/Sub, fake-gcs-server, Cloud Tasks) with the code `make up` uses, uploads
each object through a V4 signed PUT like a browser, and hands the objects to a child process that runs
`handle_finalize` for each. For every object the child also runs the reference: a plain streaming download of the
same object plus sha256, with no Firestore work. The two alternate, so both see the same machine.

Reported per size (medians over the repeats):
- handler seconds / reference seconds (target 1.3 or less);
- peak RSS growth of one handler run in a fresh child, after a warm-up, with VmHWM reset (target under 32 MiB at
  100 MB);
- Firestore document reads, writes and read-write transactions per ingest, counted from the client's real RPCs
  (target: one transaction).

Timing is reported, not enforced: the figures depend on the machine's load, which is printed with them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import status_bytes, table

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_FILE = BENCH_DIR / "ingest_results.json"
MB = 1024 * 1024
SIZES = {"1kb": 1024, "10mb": 10 * MB, "100mb": 100 * MB}
DEFAULT_REPEAT = {"1kb": 15, "10mb": 5, "100mb": 3}
TARGET_RATIO = 1.3
TARGET_GROWTH_MIB = 32
TARGET_TRANSACTIONS = 1
BARE_GET_CHUNK = 1024 * 1024


# --- data --------------------------------------------------------------------------------------------------------


def data_file(case: str) -> Path:
    """Incompressible bytes, written once; every repeat uploads them into a new session, so each is a new file."""
    path = DATA_DIR / f"ingest-{case}.bin"
    size = SIZES[case]
    if not path.exists() or path.stat().st_size != size:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            left = size
            while left:
                n = min(left, 4 * MB)
                out.write(os.urandom(n))
                left -= n
        tmp.replace(path)
    return path


# --- peak RSS of this process --------------------------------------------------------------------------------------


def reset_peak() -> int:
    """Reset VmHWM to the current RSS (Linux clear_refs 5) and return the current RSS in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_bytes("VmRSS")


def peak() -> int:
    return status_bytes("VmHWM")


# --- the child: runs the handler and the reference, nothing else -------------------------------------------------------


class _HashSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        return len(chunk)


def reference_download(services: Any, bucket: str, name: str, generation: str) -> str:
    """What any ingest must at least do: the client library's plain streaming download, hashed as it arrives."""
    sink = _HashSink()
    services.blobs.client.bucket(bucket).blob(name, generation=int(generation)).download_to_file(sink)
    return sink.digest.hexdigest()


def bare_http_get(services: Any, bucket: str, name: str, generation: str) -> str:
    """For scale only: one GET of the media URL read in 1 MiB pieces, with no client library in the loop."""
    from urllib.parse import quote

    url = (f"{services.blobs.client.api_endpoint}/download/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
           f"?alt=media&generation={generation}")
    digest = hashlib.sha256()
    with services.blobs.client._http.get(url, stream=True) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_content(BARE_GET_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _child_services(plan: dict[str, Any]) -> tuple[Any, Any]:
    from shared.bootstrap import Services
    from shared.usecases.finalize import StorageObjectData, handle_finalize

    services = Services()
    source = f"//storage.googleapis.com/projects/_/buckets/{plan['bucket']}"

    def finalize(obj: dict[str, Any]) -> Any:
        data = StorageObjectData(bucket=plan["bucket"], name=obj["name"], generation=obj["generation"], size=obj["size"])
        return handle_finalize(services, f"bench-{obj['name']}", source, data)

    warm = finalize(plan["warmup"])  # clients, connections and imports are made before anything is measured
    assert warm.outcome == "ingested", warm
    return services, finalize


def run_memory_child(plan_file: Path) -> dict[str, Any]:
    """One handler run in a fresh process: memory freed by an earlier run would hide the growth of a later one."""
    plan = json.loads(plan_file.read_text())
    _, finalize = _child_services(plan)
    base = reset_peak()
    result = finalize(plan["memory_object"])
    return {"growth": peak() - base, "outcome": result.outcome, "file_id": result.file_id, "baseline_rss": base}


def run_child(plan_file: Path) -> dict[str, Any]:
    from dev.firestore_meter import FirestoreMeter

    plan = json.loads(plan_file.read_text())
    services, finalize = _child_services(plan)
    reference_download(services, plan["bucket"], plan["warmup"]["name"], plan["warmup"]["generation"])
    bare_http_get(services, plan["bucket"], plan["warmup"]["name"], plan["warmup"]["generation"])

    runs = []
    for i, obj in enumerate(plan["objects"]):
        row: dict[str, Any] = {}
        # Alternate which goes first, so neither always sees the warmer cache.
        order = ("reference", "handler") if i % 2 == 0 else ("handler", "reference")
        for what in (*order, "bare"):
            started = time.perf_counter()
            if what == "reference":
                row["sha256"] = reference_download(services, plan["bucket"], obj["name"], obj["generation"])
                row["reference_seconds"] = time.perf_counter() - started
            elif what == "bare":
                bare_http_get(services, plan["bucket"], obj["name"], obj["generation"])
                row["bare_seconds"] = time.perf_counter() - started
            else:
                with FirestoreMeter() as meter:
                    result = finalize(obj)
                row["handler_seconds"] = time.perf_counter() - started
                row["outcome"] = result.outcome
                row["file_id"] = result.file_id
                row["firestore"] = meter.snapshot()
        runs.append(row)
    return {"runs": runs}


# --- the parent: emulators, uploads, report ------------------------------------------------------------------------


def _upload(services: Any, path: Path, session: str) -> dict[str, Any]:
    """request_upload as a client would call it, then the signed PUT a browser makes."""
    import requests

    from shared.domain.intents import Intent
    from shared.runtime.lifecycle import ExecutionLifecycleManager
    from shared.usecases import request_upload  # noqa: F401 - registers the intent

    outcome = ExecutionLifecycleManager(services).execute(Intent(
        intent_id=f"bench-{session}", intent_type="request_upload", tenant_id="tenant-bench", session_id=session,
        user_id="bench", parameters={"ui_name": path.name, "file_size": path.stat().st_size,
                                     "mime_type": "application/octet-stream"}))
    if outcome.result is None:
        raise SystemExit(f"request_upload failed: {outcome.error!r}")
    body = outcome.result.data
    with path.open("rb") as stream:
        resp = requests.put(body["upload_url"], data=stream, headers=body["headers"], timeout=600)
    if resp.status_code != 200:
        raise SystemExit(f"signed PUT failed: {resp.status_code} {resp.text[:300]}")
    info = services.blobs.stat(services.settings.uploads_bucket, body["object_name"])
    return {"name": info.name, "generation": info.generation, "size": info.size}


def _child(case: str, args: list[str], env: dict[str, str]) -> Any:
    completed = subprocess.run([sys.executable, "-m", "bench.ingest", *args], cwd=REPO_ROOT,
                               env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"the {case} child failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def run_case(case: str, repeat: int, services: Any, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    path = data_file(case)
    stamp = f"{case}-{int(time.time() * 1000)}"
    plan = {
        "bucket": services.settings.uploads_bucket,
        "warmup": _upload(services, data_file("1kb"), f"warm-{stamp}"),
        "objects": [_upload(services, path, f"s{i}-{stamp}") for i in range(repeat)],
    }
    plan_file = workdir / f"plan-{case}.json"
    plan_file.write_text(json.dumps(plan))
    runs = _child(case, ["--child", str(plan_file)], env)["runs"]
    memory_plan = {"bucket": plan["bucket"], "warmup": _upload(services, data_file("1kb"), f"mwarm-{stamp}"),
                   "memory_object": _upload(services, path, f"m-{stamp}")}
    memory_file = workdir / f"memory-{case}.json"
    memory_file.write_text(json.dumps(memory_plan))
    memory = _child(case, ["--memory-child", str(memory_file)], env)
    if memory["outcome"] != "ingested":
        raise SystemExit(f"{case}: the memory run did not ingest: {memory}")
    with path.open("rb") as stream:
        expected = hashlib.file_digest(stream, "sha256").hexdigest()
    bad = [r for r in runs if r["outcome"] != "ingested" or r["sha256"] != expected]
    if bad:
        raise SystemExit(f"{case}: not every run ingested a new file: {bad}")
    stored = [services.store.get_artifact("tenant-bench", r["file_id"]) for r in runs]
    if any(a is None or a.file_hash != f"sha256:{expected}" for a in stored):
        raise SystemExit(f"{case}: an artifact is missing or has the wrong hash")
    ratios = [r["handler_seconds"] / r["reference_seconds"] for r in runs]
    firestore = runs[0]["firestore"]
    if any(r["firestore"] != firestore for r in runs):
        firestore = {**firestore, "varied": [r["firestore"] for r in runs]}
    growth_mib = memory["growth"] / MB
    ratio = _median(ratios)
    return {
        "case": case,
        "bytes": SIZES[case],
        "repeat": repeat,
        "handler_seconds_median": round(_median([r["handler_seconds"] for r in runs]), 4),
        "reference_seconds_median": round(_median([r["reference_seconds"] for r in runs]), 4),
        "bare_get_seconds_median": round(_median([r["bare_seconds"] for r in runs]), 4),
        "ratio_median": round(ratio, 2),
        "ratios": [round(r, 2) for r in ratios],
        "handler_peak_growth_mib": round(growth_mib, 1),
        "child_baseline_rss_mib": round(memory["baseline_rss"] / MB, 1),
        "firestore_per_ingest": firestore,
        "meets": {
            "ratio": ratio <= TARGET_RATIO,
            "growth": growth_mib < TARGET_GROWTH_MIB,
            "transactions": firestore["transactions"] <= TARGET_TRANSACTIONS,
        },
    }


def report(results: dict[str, Any]) -> str:
    rows = [["case", "handler s", "download+sha256 s", "ratio", "peak growth MiB", "reads", "writes", "transactions",
             "bare GET s"]]
    for item in results["cases"]:
        fs, ok = item["firestore_per_ingest"], item["meets"]
        rows.append([
            item["case"], f"{item['handler_seconds_median']:.3f}", f"{item['reference_seconds_median']:.3f}",
            f"{item['ratio_median']:.2f} ({'ok' if ok['ratio'] else 'over 1.3'})",
            f"{item['handler_peak_growth_mib']:.1f} ({'ok' if ok['growth'] else 'over 32'})",
            str(fs["reads"]), str(fs["writes"]), f"{fs['transactions']} ({'ok' if ok['transactions'] else 'over 1'})",
            f"{item['bare_get_seconds_median']:.3f}",
        ])
    head = ("Finalize ingest vs a plain streaming download + sha256 of the same object with the client library (medians;\n"
            "ratio = handler / reference, paired in one run; peak growth = one handler run in a fresh process;\n"
            "bare GET = one HTTP GET read in 1 MiB pieces with no client library, for scale only)")
    return head + "\n" + table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="runs per size (default: 15, 5 and 3)")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated subset of " + ", ".join(SIZES))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child)))
        return 0
    if args.memory_child:
        print(json.dumps(run_memory_child(args.memory_child)))
        return 0

    from dev import stack as devstack
    from dev.prereqs import PrereqError, check_prereqs

    try:
        prereqs = check_prereqs()
    except PrereqError as exc:
        print(exc, file=sys.stderr)
        return 2
    cases = [c for c in args.sizes.split(",") if c]
    unknown = set(cases) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes: {', '.join(sorted(unknown))}")
    for case in {*cases, "1kb"}:
        data_file(case)
    started_load = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        emu = devstack.start_emulators(prereqs, workdir / "logs")
        try:
            env = devstack.settings_env(emu, "http://127.0.0.1:9/")  # no parse worker runs: nothing is dispatched
            with devstack.scoped_env(env):
                devstack.provision(emu)
                from shared.bootstrap import Services
                from shared.settings import Settings

                services = Services(Settings())
                cases_out = [run_case(c, args.repeat or DEFAULT_REPEAT[c], services, env, workdir) for c in cases]
        finally:
            devstack.teardown(emu.processes, emu.topology, emu.pubsub_host)
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": started_load,
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "targets": {"ratio_at_most": TARGET_RATIO, "peak_growth_mib_under": TARGET_GROWTH_MIB,
                    "transactions_per_ingest": TARGET_TRANSACTIONS},
        "cases": cases_out,
    }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"\nload average (1, 5, 15 min): {started_load} at start, {results['machine']['load_average_at_end']} at end")
    print(f"wrote {RESULTS_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

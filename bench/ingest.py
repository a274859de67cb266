"""Ingest benchmark: uploads of 1 KB, 10 MB, 100 MB and 1 GiB go through the finalize handler on the local stack,
and the ingestctl CLI uploads 1 GiB against curl.

    python -m bench.ingest [--repeat N] [--sizes 1kb,10mb,100mb,1gib] [--no-cli]

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

1 GiB runs with `max_upload_bytes` raised to 2 GiB, through the resumable path (request_upload opens a GCS resumable
session above 8 MiB); the targets are the same.

CLI throughput (`--no-cli` skips it): the whole local stack runs; `ingestctl upload --json` sends a 1 GiB file and
reports the seconds it spent sending bytes; curl PUTs the same file into a fresh resumable session of the same stack
(`-T`, with `Content-Range`), by the same request pattern: one PUT of the whole file against the CLI with chunk = file,
and one PUT per 64 MiB piece against the CLI's default 64 MiB chunks (fake-gcs-server re-hashes the whole object on
every chunk, so chunked uploads are slower there for any client). They rotate; ratio = CLI throughput / curl
throughput (target 0.8 or more).

Data is written under the system temp dir, never in the repository.

Timing is reported, not enforced: the figures depend on the machine's load, which is printed with them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
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
DATA_DIR = Path(tempfile.gettempdir()) / "bench-ingest-data"
RESULTS_FILE = BENCH_DIR / "ingest_results.json"
MB = 1024 * 1024
SIZES = {"1kb": 1024, "10mb": 10 * MB, "100mb": 100 * MB, "1gib": 1024 * MB}
DEFAULT_REPEAT = {"1kb": 15, "10mb": 5, "100mb": 3, "1gib": 2}
RAISED_MAX_UPLOAD = str(2048 * MB)  # a deployment that accepts 1 GiB files
UPLOAD_CHUNK = 256 * MB  # the bench's own uploads: few chunks, since fake-gcs-server re-hashes the object per chunk
CLI_REPEAT = 2
TARGET_CLI_RATIO = 0.8
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
    from dev import bus_calls
    from shared.bootstrap import Services
    from shared.domain.messages import StorageObjectData

    services = Services()
    source = f"//storage.googleapis.com/projects/_/buckets/{plan['bucket']}"

    def finalize(obj: dict[str, Any]) -> Any:
        data = StorageObjectData(bucket=plan["bucket"], name=obj["name"], generation=obj["generation"], size=obj["size"])
        return bus_calls.finalize(services, f"bench-{obj['name']}", source, data)

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
    """request_upload as a client would call it, then the signed PUT a browser makes, or the resumable session's chunks."""
    import requests

    from shared.bootstrap import messagebus
    from shared.domain.intents import Intent

    size = path.stat().st_size
    outcome = messagebus(services).execute(Intent(
        intent_id=f"bench-{session}", intent_type="request_upload", tenant_id="tenant-bench", session_id=session,
        user_id="bench", parameters={"ui_name": path.name, "file_size": size, "mime_type": "application/octet-stream"}))
    if outcome.result is None:
        raise SystemExit(f"request_upload failed: {outcome.error!r}")
    body = outcome.result.data
    with path.open("rb") as stream:
        if body["upload_protocol"] == "single_put":
            resp = requests.put(body["upload_url"], data=stream, headers=body["headers"], timeout=600)
        else:
            chunk = -(-UPLOAD_CHUNK // body["chunk_size"]) * body["chunk_size"]
            for offset in range(0, size, chunk):
                data = stream.read(chunk)
                resp = requests.put(body["upload_url"], data=data, timeout=600, headers={
                    **body["headers"], "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{size}"})
                if resp.status_code not in (200, 201, 308):
                    break
    if resp.status_code not in (200, 201):
        raise SystemExit(f"upload failed: {resp.status_code} {resp.text[:300]}")
    info = services.blobs.stat(services.settings.uploads_bucket, body["object_name"])
    return {"name": info.name, "generation": info.generation, "size": info.size, "protocol": body["upload_protocol"]}


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
    for obj in (plan["warmup"], *plan["objects"], memory_plan["warmup"], memory_plan["memory_object"]):
        services.blobs.delete(plan["bucket"], obj["name"])  # the emulator keeps objects in memory
    ratios = [r["handler_seconds"] / r["reference_seconds"] for r in runs]
    firestore = runs[0]["firestore"]
    if any(r["firestore"] != firestore for r in runs):
        firestore = {**firestore, "varied": [r["firestore"] for r in runs]}
    growth_mib = memory["growth"] / MB
    ratio = _median(ratios)
    return {
        "case": case,
        "bytes": SIZES[case],
        "upload_protocol": plan["objects"][0]["protocol"],
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

# --- the CLI against curl, on the whole local stack ------------------------------------------------------------------


def _wait_ingested(api: Any, gateway: str, upload_id: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"{gateway}/v1/uploads/{upload_id}", timeout=60).json()
        if body["status"] == "ingested":
            return
        if body["status"] == "rejected" or time.monotonic() > deadline:
            raise SystemExit(f"upload {upload_id} did not ingest: {body}")
        time.sleep(0.5)


def _curl_upload(api: Any, gateway: str, path: Path) -> float:
    """curl PUTs the whole file into a fresh resumable session, in one request; its own time_total."""
    size = path.stat().st_size
    resp = api.post(f"{gateway}/v1/intents/request_upload", timeout=60, json={"parameters": {
        "ui_name": path.name, "file_size": size, "mime_type": "application/octet-stream"}})
    body = resp.json()
    if resp.status_code != 201 or body.get("upload_protocol") != "resumable":
        raise SystemExit(f"request_upload for curl: {resp.status_code} {body}")
    done = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", "PUT", "-T", str(path),
         "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
         "-H", f"Content-Range: bytes 0-{size - 1}/{size}", body["upload_url"]],
        capture_output=True, text=True, check=False)
    code, _, seconds = done.stdout.partition(" ")
    if done.returncode != 0 or code not in ("200", "201"):
        raise SystemExit(f"curl failed: {done.returncode} {done.stdout} {done.stderr[-500:]}")
    _wait_ingested(api, gateway, body["upload_id"])
    return float(seconds)


def _curl_chunks(api: Any, gateway: str, path: Path, chunk_mib: int) -> float:
    """curl sends the file as the CLI does by default: one PUT per chunk, each from its own file; the sum of its times."""
    size = path.stat().st_size
    chunk = chunk_mib * MB
    pieces_dir = DATA_DIR / f"{path.stem}-{chunk_mib}m"
    if not pieces_dir.exists():
        building = pieces_dir.with_suffix(".tmp")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        with path.open("rb") as stream:
            for index in range(-(-size // chunk)):
                (building / f"{index:05d}").write_bytes(stream.read(chunk))
        building.rename(pieces_dir)
    resp = api.post(f"{gateway}/v1/intents/request_upload", timeout=60, json={"parameters": {
        "ui_name": path.name, "file_size": size, "mime_type": "application/octet-stream"}})
    body = resp.json()
    total = 0.0
    for index, piece in enumerate(sorted(pieces_dir.iterdir())):
        start = index * chunk
        end = start + piece.stat().st_size - 1
        done = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", "PUT", "-T", str(piece),
             "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
             "-H", f"Content-Range: bytes {start}-{end}/{size}", body["upload_url"]],
            capture_output=True, text=True, check=False)
        code, _, seconds = done.stdout.partition(" ")
        if done.returncode != 0 or code not in ("200", "201", "308"):
            raise SystemExit(f"curl chunk {index} failed: {done.returncode} {done.stdout} {done.stderr[-500:]}")
        total += float(seconds)
    _wait_ingested(api, gateway, body["upload_id"])
    return total


def _cli_upload(ingestctl: Path, gateway: str, env: dict[str, str], path: Path, chunk_mib: int) -> float:
    """`ingestctl upload --json`: the seconds it reports spending on sending bytes (it then waits for ingestion)."""
    done = subprocess.run([str(ingestctl), "--api", gateway, "upload", str(path), "--json", "--chunk-size", str(chunk_mib),
                           "--timeout", "900"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ingestctl failed: {done.stderr[-2000:]}")
    line = json.loads(done.stdout.strip().splitlines()[-1])
    if line["bytes_sent"] != path.stat().st_size:
        raise SystemExit(f"ingestctl did not send the whole file: {line}")
    return float(line["upload_seconds"])


def _children_cpu() -> float:
    """CPU seconds (user + system) of the client processes this one has waited for: the clients' own cost, which the
    machine's load does not inflate the way it inflates wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli_throughput(emu: Any, services: Any, extra_env: dict[str, str], workdir: Path, repeat: int) -> dict[str, Any]:
    import requests

    from dev import stack as devstack
    from dev.token import mint_token

    ingestctl = Path(sys.executable).parent / "ingestctl"
    if not ingestctl.exists():
        raise SystemExit(f"{ingestctl} is missing: run `make install`")
    path = data_file("1gib")
    size = path.stat().st_size
    stack = devstack.start_services(emu, devstack.load_functions(), workdir, gateway_port=None, extra_env=extra_env)
    try:
        gateway = stack.gateway_url
        cli_env = {**os.environ, "XDG_CONFIG_HOME": str(workdir / "cli-config")}
        login = subprocess.run([str(ingestctl), "--api", gateway, "login", "--tenant", "bench-cli", "--user", "bench"],
                               env=cli_env, capture_output=True, text=True, check=False)
        if login.returncode != 0:
            raise SystemExit(f"ingestctl login failed: {login.stderr}")
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {mint_token('bench-cli', 'bench', 'bench-curl')}"
        whole_mib = -(-size // MB)
        runners = {
            "curl": lambda: _curl_upload(api, gateway, path),
            "cli_one_request": lambda: _cli_upload(ingestctl, gateway, cli_env, path, whole_mib),
            "curl_64mib_chunks": lambda: _curl_chunks(api, gateway, path, 64),
            "cli_default_chunks": lambda: _cli_upload(ingestctl, gateway, cli_env, path, 64),
        }
        seconds: dict[str, list[float]] = {name: [] for name in runners}
        cpu: dict[str, list[float]] = {name: [] for name in runners}
        names = list(runners)
        for i in range(repeat):
            for name in names[i % len(names):] + names[: i % len(names)]:  # rotate who goes first
                before = _children_cpu()
                seconds[name].append(runners[name]())
                cpu[name].append(_children_cpu() - before)
                for name_ in services.blobs.list_names(services.settings.uploads_bucket, "tenants/bench-cli/"):
                    services.blobs.delete(services.settings.uploads_bucket, name_)
    finally:
        devstack.teardown(stack.processes, emu.topology, emu.pubsub_host)
    curl = _median(seconds["curl"])
    mib_s = {name: round(size / MB / _median(values), 1) for name, values in seconds.items()}
    one = curl / _median(seconds["cli_one_request"])
    default = _median(seconds["curl_64mib_chunks"]) / _median(seconds["cli_default_chunks"])
    return {
        "bytes": size, "repeat": repeat, "seconds": {k: [round(v, 3) for v in vals] for k, vals in seconds.items()},
        "client_cpu_seconds": {k: [round(v, 2) for v in vals] for k, vals in cpu.items()},
        "mib_per_second_median": mib_s,
        "ratio_cli_one_request_to_curl": round(one, 2),
        "ratio_cli_default_chunks_to_curl_same_chunks": round(default, 2),
        "meets": {"ratio_one_request": one >= TARGET_CLI_RATIO, "ratio_default_chunks": default >= TARGET_CLI_RATIO},
    }


def report_cli(cli: dict[str, Any]) -> str:
    rows = [["client", "median s", "MiB/s", "client CPU s", "÷ curl throughput (same request pattern)"]]
    baseline = {"cli_one_request": "curl", "cli_default_chunks": "curl_64mib_chunks"}
    for name, values in cli["seconds"].items():
        cell = "-"
        if name in baseline:
            ratio = _median(cli["seconds"][baseline[name]]) / _median(values)
            cell = f"{ratio:.2f} vs {baseline[name]} ({'ok' if ratio >= TARGET_CLI_RATIO else 'under 0.8'})"
        rows.append([name, f"{_median(values):.2f}", f"{cli['mib_per_second_median'][name]:.1f}",
                     f"{_median(cli['client_cpu_seconds'][name]):.2f}", cell])
    head = (f"Uploading {cli['bytes'] // MB} MiB into a resumable session of the local stack (medians of {cli['repeat']}; "
            "curl: one PUT of the file; curl_64mib_chunks: one curl PUT per 64 MiB piece;\n"
            "cli_one_request: ingestctl with chunk = file; cli_default_chunks: ingestctl with its default 64 MiB chunks)")
    return head + "\n" + table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="runs per size (default: 15, 5, 3 and 2)")
    parser.add_argument("--no-cli", action="store_true", help="skip the ingestctl-versus-curl upload throughput")
    parser.add_argument("--only-cli", action="store_true",
                        help="run only the upload throughput; the finalize cases of the last results are kept")
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
    cases = [] if args.only_cli else [c for c in args.sizes.split(",") if c]
    unknown = set(cases) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes: {', '.join(sorted(unknown))}")
    for case in {*cases, "1kb", *(() if args.no_cli else ("1gib",))}:
        data_file(case)
    started_load = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        emu = devstack.start_emulators(prereqs, workdir / "logs")
        try:
            env = devstack.settings_env(emu, "http://127.0.0.1:9/")  # no parse worker runs: nothing is dispatched
            env["MAX_UPLOAD_BYTES"] = RAISED_MAX_UPLOAD
            with devstack.scoped_env(env):
                devstack.provision(emu)
                from shared.bootstrap import Services
                from shared.settings import Settings

                services = Services(Settings())
                cases_out = [run_case(c, args.repeat or DEFAULT_REPEAT[c], services, env, workdir) for c in cases]
                cli_out = None if args.no_cli else run_cli_throughput(
                    emu, services, {"MAX_UPLOAD_BYTES": RAISED_MAX_UPLOAD}, workdir, args.repeat or CLI_REPEAT)
        finally:
            devstack.teardown(emu.processes, emu.topology, emu.pubsub_host)
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": started_load,
                    "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "targets": {"ratio_at_most": TARGET_RATIO, "peak_growth_mib_under": TARGET_GROWTH_MIB,
                    "transactions_per_ingest": TARGET_TRANSACTIONS, "cli_to_curl_throughput_at_least": TARGET_CLI_RATIO},
        "max_upload_bytes": int(RAISED_MAX_UPLOAD),
        "cases": cases_out,
        "cli_upload": cli_out,
    }
    if args.only_cli and RESULTS_FILE.exists():
        kept = json.loads(RESULTS_FILE.read_text())
        results["cases"], results["cases_generated_at"] = kept.get("cases", []), kept.get("generated_at")
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    if cli_out is not None:
        print("\n" + report_cli(cli_out))
    print(f"\nload average (1, 5, 15 min): {started_load} at start, {results['machine']['load_average_at_end']} at end")
    print(f"wrote {RESULTS_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

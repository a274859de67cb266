"""Concurrent users on the whole journey, through the gateway of a local stack this benchmark starts on free ports.

    python -m bench.load [--users 1,8,32] [--journeys 2] [--level-timeout 300]

After one unmeasured warm-up journey (each function's first request imports its code), each user runs `--journeys`
journeys one after another: request a signed URL, PUT the file to it, wait for the
finalize event to ingest it, choose a profile, parse, wait for the parse, save the file and then the parsed artifact.
For each level of concurrency it reports throughput (journeys per second), p50/p95/p99 of every step, the count of
5xx answers (target 0) and of lost journeys (target 0: any journey that did not end with a READY parsed artifact
within the level's time limit), and how throughput scales from the first level to the last. Results:
bench/load_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.common import table

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO_ROOT / "bench" / "load_results.json"
STEPS = ["request_upload", "put", "ingested", "choose_profile", "parse_content", "parsed", "save_file", "save_parsed"]
POLL_SECONDS = 0.5


@dataclass
class Tally:
    """What every journey of one level saw; shared by its threads."""

    timings: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    statuses: dict[int, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    completed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def took(self, step: str, seconds: float) -> None:
        with self.lock:
            self.timings[step].append(seconds)


class Lost(Exception):
    """A journey that did not reach its end: the reason is reported."""


class User:
    def __init__(self, gateway: str, token: str, tally: Tally, deadline: float):
        self.gateway = gateway
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.tally = tally
        self.deadline = deadline

    def call(self, method: str, path: str, expect: set[int], **kwargs: Any) -> dict[str, Any]:
        resp = self.http.request(method, self.gateway + path, timeout=120, **kwargs)
        self.tally.answer(resp.status_code)
        if resp.status_code not in expect:
            raise Lost(f"{method} {path} answered {resp.status_code}: {resp.text[:200]}")
        return dict(resp.json())

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        result = action()
        self.tally.took(name, time.monotonic() - started)
        return result

    def wait(self, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            body = self.call("GET", path, {200})
            if done(body):
                return body
            if time.monotonic() > self.deadline:
                raise Lost(f"still waiting on {path} at the level's time limit: {json.dumps(body)[:200]}")
            time.sleep(POLL_SECONDS)

    def journey(self, data: bytes) -> None:
        up = self.step("request_upload", lambda: self.call("POST", "/v1/intents/request_upload", {201}, json={
            "parameters": {"ui_name": "orders.csv", "file_size": len(data), "mime_type": "text/csv"}}))

        def put() -> None:
            resp = requests.put(up["upload_url"], data=data, headers=up["headers"], timeout=120)
            self.tally.answer(resp.status_code)
            if resp.status_code != 200:
                raise Lost(f"signed PUT answered {resp.status_code}")

        self.step("put", put)
        status = self.step("ingested", lambda: self.wait(f"/v1/uploads/{up['upload_id']}",
                                                        lambda b: b["status"] != "awaiting_upload"))
        if status["status"] != "ingested":
            raise Lost(f"upload ended {status['status']}")
        file_id = status["file_id"]
        self.step("choose_profile", lambda: self.call("POST", "/v1/pending-intents", {201}, json={
            "intent_type": "parse_content", "target_artifact_id": file_id, "context": {"ingestion_profile": "structured"}}))
        parse = self.step("parse_content", lambda: self.call("POST", "/v1/intents/parse_content", {202}, json={
            "parameters": {"file_id": file_id}}))
        done = self.step("parsed", lambda: self.wait(f"/v1/executions/{parse['execution_id']}",
                                                    lambda b: b["status"] in ("completed", "failed")))
        if done["status"] != "completed":
            raise Lost(f"parse ended {done['status']}: {done.get('error')}")
        parsed_id = done["result"]["artifact_id"]
        self.step("save_file", lambda: self.call("POST", "/v1/intents/save_materialization", {200}, json={
            "parameters": {"artifact_id": file_id}}))
        saved = self.step("save_parsed", lambda: self.call("POST", "/v1/intents/save_materialization", {200}, json={
            "parameters": {"artifact_id": parsed_id}}))
        if saved.get("lifecycle_state") != "READY":
            raise Lost(f"the parsed artifact is {saved.get('lifecycle_state')}")


def csv_for(user: int, journey: int, rows: int) -> bytes:
    lines = [f"order_id,user,sku,qty,price,run_{uuid.uuid4().hex[:8]}"]
    lines += [f"{i},{user},SKU-{journey}-{i:05d},{i % 7 + 1},{(i % 1000) / 10:.2f},x" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_level(gateway: str, users: int, journeys: int, rows: int, timeout: float) -> dict[str, Any]:
    from dev.token import mint_token

    tally = Tally()
    run = uuid.uuid4().hex[:6]
    deadline = time.monotonic() + timeout

    def one_user(index: int) -> None:
        # Users share tenants four by four, as colleagues would; each has a session of its own.
        token = mint_token(f"load-{run}-{index // 4}", f"user-{index}", f"session-{index}")
        user = User(gateway, token, tally, deadline)
        for j in range(journeys):
            try:
                user.journey(csv_for(index, j, rows))
                with tally.lock:
                    tally.completed += 1
            except (Lost, requests.RequestException) as exc:
                with tally.lock:
                    tally.lost.append(f"user {index} journey {j}: {exc}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=users) as pool:
        list(pool.map(one_user, range(users)))
    wall = time.monotonic() - started
    return {
        "users": users,
        "journeys": users * journeys,
        "completed": tally.completed,
        "lost": len(tally.lost),
        "lost_reasons": tally.lost[:10],
        "server_errors_5xx": sum(n for status, n in tally.statuses.items() if status >= 500),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "wall_seconds": round(wall, 2),
        "throughput_journeys_per_second": round(tally.completed / wall, 3) if wall else 0.0,
        "steps": {
            step: {"count": len(v), "p50": round(percentile(v, 50), 3), "p95": round(percentile(v, 95), 3),
                   "p99": round(percentile(v, 99), 3)}
            for step, v in tally.timings.items()
        },
    }


def report(results: dict[str, Any]) -> str:
    levels = results["levels"]
    rows = [["users", "journeys", "completed", "lost", "5xx", "wall s", "journeys/s"]]
    rows += [[str(r["users"]), str(r["journeys"]), str(r["completed"]), str(r["lost"]), str(r["server_errors_5xx"]),
              f"{r['wall_seconds']:.1f}", f"{r['throughput_journeys_per_second']:.3f}"] for r in levels]
    steps = [["step", *[f"{r['users']} users p50/p95/p99 s" for r in levels]]]
    for step in STEPS:
        steps.append([step, *[f"{r['steps'][step]['p50']:.2f} / {r['steps'][step]['p95']:.2f} / "
                              f"{r['steps'][step]['p99']:.2f}" for r in levels]])
    scaling = results["scaling"]
    return (f"{table(rows)}\n\n{table(steps)}\n\nthroughput scales x{scaling['factor']} from {scaling['from_users']} to "
            f"{scaling['to_users']} users (ideal x{scaling['ideal']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1,8,32", help="levels of concurrency, comma-separated")
    parser.add_argument("--journeys", type=int, default=2, help="journeys per user at each level")
    parser.add_argument("--rows", type=int, default=2000, help="CSV rows per uploaded file")
    parser.add_argument("--level-timeout", type=float, default=300.0, help="seconds a level may take; later = lost")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.users.split(",") if n]

    from dev import stack as devstack
    from dev.prereqs import PrereqError, check_prereqs

    try:
        prereqs = check_prereqs()
    except PrereqError as exc:
        print(exc, file=sys.stderr)
        return 2
    load_at_start = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        emu = devstack.start_emulators(prereqs, workdir / "logs")
        processes = list(emu.processes)
        try:
            devstack.provision(emu)
            services = devstack.start_services(emu, devstack.load_functions(), workdir, gateway_port=None)
            processes += services.processes
            print(f"stack up: gateway {services.gateway_url}", flush=True)
            warm = run_level(services.gateway_url, 1, 1, args.rows, args.level_timeout)  # first imports, not measured
            print(f"warm-up journey: {warm['completed']}/1 in {warm['wall_seconds']}s", flush=True)
            results_levels = []
            for users in levels:
                level = run_level(services.gateway_url, users, args.journeys, args.rows, args.level_timeout)
                print(f"{users} users: {level['completed']}/{level['journeys']} journeys in {level['wall_seconds']}s, "
                      f"{level['server_errors_5xx']} x 5xx, {level['lost']} lost", flush=True)
                results_levels.append(level)
        finally:
            devstack.teardown(processes, emu.topology, emu.pubsub_host)
    first, last = results_levels[0], results_levels[-1]
    base = first["throughput_journeys_per_second"]
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": load_at_start, "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
        "settings": {"journeys_per_user": args.journeys, "rows_per_file": args.rows, "level_timeout": args.level_timeout},
        "targets": {"server_errors_5xx": 0, "lost_journeys": 0},
        "levels": results_levels,
        "scaling": {"from_users": first["users"], "to_users": last["users"], "ideal": round(last["users"] / first["users"], 1),
                    "factor": round(last["throughput_journeys_per_second"] / base, 2) if base else None},
    }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    print(f"\nload average (1, 5, 15 min): {load_at_start} at start, {results['machine']['load_average_at_end']} at end")
    print(f"wrote {RESULTS_FILE.relative_to(REPO_ROOT)}")
    failed = any(r["server_errors_5xx"] or r["lost"] for r in results_levels)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

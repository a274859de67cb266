"""The log-based metrics of infra/monitoring/metrics.json against the lines the functions really write: a journey on
the local stack (uploads, an auto-dispatched parse that completes and one that fails, saves, client errors, a
malformed task, the scheduled sweep), its log lines read as the LogEntries Cloud Logging would make of them, and
every metric's filter (with the resource filter Terraform adds) evaluated on them. A filter that matches nothing, an
extractor that reads nothing, or a filter that matches everything fails."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cloud_logging import entry, extract, matches, read_entries

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS = json.loads((REPO_ROOT / "infra" / "monitoring" / "metrics.json").read_text())["metrics"]
FUNCTIONS = [f["name"] for f in json.loads((REPO_ROOT / "infra" / "functions.json").read_text())["functions"]]
CSV = b"sku,qty,price\nA-1,3,9.99\nB-2,5,1.50\n"


def functions_filter() -> str:
    """The resource filter modules/monitoring puts in front of every metric's own filter."""
    names = " OR ".join(f'"{f}"' for f in FUNCTIONS)
    return f'resource.type="cloud_run_revision" AND resource.labels.service_name=({names})'


def full_filter(metric: dict[str, Any]) -> str:
    return f"{functions_filter()} AND ({metric['filter']})"


JOURNEY_TRACE = "5e0b4f1c9a7d4e2b8c3f6a1d0e9b7c24"


class Api:
    def __init__(self, base: str, token: str, trace_id: str | None = None):
        self.base, self.http = base, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        if trace_id:  # a client that traces its journey sends the same trace id on each call, each from its own span
            self.http.headers["traceparent"] = f"00-{trace_id}-{'a1' * 8}-01"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=60, **kwargs)

    def wait(self, path: str, done: Any, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self("GET", path).json()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"timed out on {path}: {body}"
            time.sleep(0.25)


def upload_with_profile(api: Api, data: bytes, name: str) -> dict[str, Any]:
    resp = api("POST", "/v1/intents/request_upload", json={"parameters": {
        "ui_name": name, "file_size": len(data), "mime_type": "text/csv", "ingestion_profile": "structured"}})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert requests.put(body["upload_url"], data=data, headers=body["headers"], timeout=30).status_code == 200
    return body


@pytest.fixture(scope="module")
def journey_entries(stack) -> list[dict[str, Any]]:
    from dev.token import mint_token

    logs = {fn: stack.log_dir / f"{fn}.log" for fn in FUNCTIONS}
    offsets = {fn: (p.stat().st_size if p.exists() else 0) for fn, p in logs.items()}
    api = Api(stack.gateway_url, mint_token("monitoring-t", "mo", "s1"), JOURNEY_TRACE)
    other = Api(stack.gateway_url, mint_token("monitoring-t", "mo", "s1"))

    good = upload_with_profile(api, CSV, "items.csv")
    bad = upload_with_profile(other, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "picture.csv")
    for up in (good, bad):
        api.wait(f"/v1/uploads/{up['upload_id']}", lambda b: b["status"] == "ingested")
    file_id = api("GET", f"/v1/uploads/{good['upload_id']}").json()["file_id"]
    # Both parses were dispatched by the consumer when the files were ingested; wait for both to end.
    api.wait("/v1/pending-intents?page_size=50", lambda b: all(
        any(i["intent_id"] == up["pending_intent_id"] and i["status"] in ("completed", "failed") for i in b["intents"])
        for up in (good, bad)))
    assert api("POST", "/v1/intents/save_materialization", json={"parameters": {"artifact_id": file_id}}).status_code == 200
    assert other("POST", "/v1/intents/save_materialization",
                 json={"parameters": {"artifact_id": "file_missing"}}).status_code == 404  # refused execution
    assert other("GET", "/v1/artifacts/file_missing").status_code == 404
    # A task body the worker cannot read: acknowledged, logged at ERROR.
    assert requests.post(stack.function_urls["parse-worker"], data=b"{not json", timeout=30).status_code == 200
    # The sweep, called as Cloud Scheduler calls it (the stack's scheduler runs it only every minute).
    assert requests.post(stack.function_urls["outbox-sweep"] + "/", timeout=60).status_code == 200
    time.sleep(1.0)  # the last lines of the consumer and the worker
    return [e for fn, path in logs.items() if path.exists() for e in read_entries(path, fn, offsets[fn])]


@pytest.fixture(scope="module")
def contention_entries(emulators) -> list[dict[str, Any]]:
    """A transaction whose first commit is aborted (contention), retried by the Firestore client: the line the
    adapter writes for the retry, formatted as a function writes it."""
    from google.api_core import exceptions as gexc

    from shared.bootstrap import Services
    from shared.logs import CloudLoggingFormatter
    from shared.settings import get_settings

    get_settings.cache_clear()
    store = Services().store
    client = store.client
    original = client.transaction

    def transaction(**kwargs: Any) -> Any:
        tx = original(**kwargs)
        commit = tx._commit
        state = {"aborted": False}

        def commit_once_aborted() -> Any:
            if not state["aborted"]:
                state["aborted"] = True
                tx._rollback()
                raise gexc.Aborted("too much contention on these documents")
            return commit()

        tx._commit = commit_once_aborted
        return tx

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(CloudLoggingFormatter().format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("shared.adapters.firestore_store")
    logger.addHandler(handler)
    client.transaction = transaction
    try:
        store.run_in_transaction(lambda tx: tx.get_upload("monitoring-t", "upload_none"))
    finally:
        client.transaction = original
        logger.removeHandler(handler)
    return [entry(json.loads(line), "ingest-finalize") for line in lines]


@pytest.mark.parametrize("name", sorted(METRICS))
def test_each_metric_filter_counts_the_lines_it_is_meant_to(name: str, journey_entries, contention_entries) -> None:
    metric = METRICS[name]
    population = journey_entries + contention_entries
    matched = [e for e in population if matches(full_filter(metric), e)]
    assert matched, f"{name}: the filter matches no line of the journey"
    assert len(matched) < len(population), f"{name}: the filter matches every line"
    for label, extractor in metric["labels"].items():
        values = {extract(extractor, e) for e in matched} - {None}
        assert values, f"{name}: label {label} reads nothing from the lines it counts"
        assert set(metric["sample"].get(label, [])) <= values, (name, label, values)
    if metric["kind"] == "distribution":
        values = [extract(metric["value"], e) for e in matched]
        assert all(v is not None and float(v) >= 0 for v in values), (name, values)
    # A line of another service is never counted.
    foreign = {**matched[0], "resource": {"type": "cloud_run_revision", "labels": {"service_name": "someone-else"}}}
    assert not matches(full_filter(metric), foreign)


def test_metric_filters_separate_outcomes(journey_entries) -> None:
    # Two files were uploaded and ingested: each counted once, though finalize also logs its ingest_file execution.
    assert len([e for e in journey_entries if matches(full_filter(METRICS["ingests"]), e)]) == 2
    parse = [e for e in journey_entries if matches(full_filter(METRICS["parse_outcomes"]), e)]
    failed = [e for e in parse if extract(METRICS["parse_outcomes"]["labels"]["outcome"], e) == "failed"]
    assert failed and all(extract(METRICS["parse_outcomes"]["labels"]["error_code"], e) for e in failed)
    errors = [e for e in journey_entries if matches(full_filter(METRICS["function_errors"]), e)]
    assert all(e["severity"] in ("ERROR", "CRITICAL") for e in errors)
    requests_served = [e for e in journey_entries if matches(full_filter(METRICS["http_requests"]), e)]
    assert {e["httpRequest"]["status"] for e in requests_served} >= {200, 201, 404}


def test_terraform_builds_each_metric_from_the_declaration() -> None:
    source = (REPO_ROOT / "infra" / "modules" / "monitoring" / "main.tf").read_text()
    assert 'filter      = "${local.functions_filter} AND (${each.value.filter})"' in source
    assert 'resource.type=\\"cloud_run_revision\\" AND resource.labels.service_name=(${join(" OR "' in source
    assert "label_extractors = each.value.labels" in source
    platform = (REPO_ROOT / "infra" / "modules" / "platform" / "main.tf").read_text()
    assert 'metrics_file             = "${path.module}/../../monitoring/metrics.json"' in platform
    assert "functions                = keys(module.declarations.functions)" in platform


# ---- one trace per journey -----------------------------------------------------------------------------------------


def _payload(e: dict[str, Any]) -> dict[str, Any]:
    return e["jsonPayload"]


def test_the_journey_is_rebuilt_in_order_from_its_trace_id_alone(journey_entries) -> None:
    """upload -> finalize -> auto-dispatched parse -> save, across five functions, Pub/Sub and Cloud Tasks: the lines
    whose trace is the journey's, in time order, tell the whole story."""
    traced = sorted((e for e in journey_entries if str(e.get("trace", "")).endswith(f"/traces/{JOURNEY_TRACE}")),
                    key=lambda e: _payload(e)["time"])
    steps = [(e["resource"]["labels"]["service_name"], _payload(e)["message"], _payload(e).get("operation") or
              _payload(e).get("outcome") or "") for e in traced]
    milestones = [
        ("ingest-http", "request served", "request_upload"),
        ("ingest-finalize", "event handled", "ingested"),
        ("outbox-consumer", "event handled", "dispatched"),
        ("parse-worker", "parse completed", ""),
        ("save", "request served", "save_materialization"),
    ]
    positions = [next((i for i, s in enumerate(steps) if s == m), None) for m in milestones]
    assert None not in positions, f"missing from the trace: {[m for m, p in zip(milestones, positions, strict=True) if p is None]}"
    assert positions == sorted(positions), f"out of order: {steps}"
    # Only this journey is in it: the other upload, made without the client's trace, is not.
    assert all(_payload(e).get("upload_id") in (None, traced[0]["jsonPayload"].get("upload_id")) for e in traced)

    # Every line carries a span and where it was written; each invocation is a span of its own.
    for e in traced:
        assert len(e["spanId"]) == 16 and int(e["spanId"], 16) >= 0
        assert e["sourceLocation"]["file"].endswith(".py") and int(e["sourceLocation"]["line"]) > 0
    span = {m: traced[p]["spanId"] for m, p in zip(milestones, positions, strict=True)}
    assert len(set(span.values())) == len(milestones)

    # The asynchronous hops carry the execution that began the journey (the upload request's).
    origin = _payload(traced[positions[0]])["execution_id"]
    for m, p in zip(milestones[1:4], positions[1:4], strict=True):
        assert _payload(traced[p]).get("origin_execution_id") == origin, m

    # No line of the journey's executions is missing the trace.
    executions = {_payload(e).get("execution_id") for e in traced} - {None}
    for e in journey_entries:
        if _payload(e).get("execution_id") in executions:
            assert str(e.get("trace", "")).endswith(f"/traces/{JOURNEY_TRACE}"), (e["resource"], _payload(e)["message"])

"""The lineage sinks without emulators: OPENLINEAGE_URL gets each event as Marquez's `POST /api/v1/lineage` takes it
(a local HTTP server stands in for the Marquez a user runs), a 5xx or 429 holds the outbox document back for the
sweep, a 4xx is logged and not retried; the settings choose the sinks; every built event is spec-valid."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.adapters.lineage_sinks import DataplexLineageSink, HttpLineageSink, JsonlLineageSink, lineage_sink
from shared.domain.errors import TransientError
from shared.lineage.events import Producer, RunDatasets, RunInfo, event_key, run_events
from shared.settings import Settings
from tests.lineage.spec_check import event_errors

PRODUCER = Producer("http://127.0.0.1:8080/lineage")


def events() -> list[dict]:
    now = datetime.now(UTC)
    return run_events(RunInfo("exec_sink", "ingest_file", "ingest.p.local", PRODUCER, journey_id="journey_1"),
                      started_at=now, ended_at=now, state="COMPLETE", datasets=RunDatasets())


class Marquez(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    status = 201

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Marquez.received.append((self.path, body))
        self.send_response(Marquez.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def marquez() -> Iterator[str]:
    Marquez.received, Marquez.status = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), Marquez)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_built_event_is_valid_against_the_spec_and_names_its_parent() -> None:
    built = events()
    assert [e["eventType"] for e in built] == ["START", "COMPLETE"]
    for event in built:
        assert event_errors(event) == []
        assert event["producer"] == PRODUCER.uri
        assert event["run"]["facets"]["parent"]["job"]["name"] == "journey_content_file_upload_materialization"


def test_openlineage_url_receives_each_event_at_the_marquez_endpoint(marquez: str) -> None:
    built = events()
    HttpLineageSink(marquez + "/").emit(built)
    assert Marquez.received == [("/api/v1/lineage", built[0]), ("/api/v1/lineage", built[1])]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_holds_the_events_back_for_the_sweep(marquez: str, status: int) -> None:
    Marquez.status = status
    with pytest.raises(TransientError):
        HttpLineageSink(marquez).emit(events())


def test_a_refused_event_is_logged_not_retried(marquez: str) -> None:
    Marquez.status = 400
    HttpLineageSink(marquez).emit(events())  # no exception: the same event would be refused again
    assert len(Marquez.received) == 2


def test_the_settings_choose_the_sinks(tmp_path, marquez: str) -> None:
    assert lineage_sink(Settings(lineage_sink="none")) is None
    local = lineage_sink(Settings(lineage_sink="jsonl", lineage_file=str(tmp_path / "e.jsonl"), openlineage_url=marquez))
    assert local is not None and [type(s) for s in local.sinks] == [JsonlLineageSink, HttpLineageSink]
    local.emit(events())
    local.emit(events())  # a redelivery: the file keeps one of each, Marquez upserts by run and state
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 2
    prod = lineage_sink(Settings(lineage_sink="dataplex", project_id="p", lineage_location="europe-west1"))
    assert prod is not None and [type(s) for s in prod.sinks] == [DataplexLineageSink]
    assert prod.sinks[0].url == ("https://datalineage.googleapis.com/v1/projects/p/locations/europe-west1"
                                 ":processOpenLineageRunEvent")


def test_the_dedup_key_is_the_run_and_its_state() -> None:
    start, complete = events()
    again = events()
    assert event_key(start) == event_key(again[0]) != event_key(complete)

import json
import logging

import shared.logs
from shared.logs import (
    CloudLoggingFormatter,
    adopt_trace,
    continue_trace,
    current_origin,
    current_traceparent,
    log_context,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _format(message: str, **fields) -> dict:
    record = logging.LogRecord("t", logging.WARNING, __file__, 7, message, None, None, func="here")
    if fields:
        record.fields = fields
    return json.loads(CloudLoggingFormatter().format(record))


def test_log_lines_are_cloud_logging_json_with_execution_labels_trace_span_and_source(monkeypatch):
    monkeypatch.setitem(shared.logs._project, "id", "proj")  # what configure() sets from the settings
    trace = continue_trace(cloud_trace=f"{TRACE}/1;o=1")
    with log_context(trace=trace, execution_id="exec_1", intent_type="ingest_file", tenant_id="t1"):
        entry = _format("hello", upload_id="u1")
    assert entry["severity"] == "WARNING" and entry["message"] == "hello"
    assert entry["logging.googleapis.com/trace"] == f"projects/proj/traces/{TRACE}"
    assert entry["logging.googleapis.com/spanId"] == trace.span_id and len(trace.span_id) == 16
    assert entry["logging.googleapis.com/sourceLocation"] == {"file": __file__, "line": "7", "function": "here"}
    assert entry["logging.googleapis.com/labels"] == {"execution_id": "exec_1", "intent_type": "ingest_file", "tenant_id": "t1"}
    assert entry["execution_id"] == "exec_1" and entry["upload_id"] == "u1"


def test_labels_do_not_leak_out_of_their_context():
    with log_context(execution_id="exec_1"):
        pass
    assert "logging.googleapis.com/labels" not in _format("after")
    assert "logging.googleapis.com/trace" not in _format("after")


def test_each_hop_is_a_new_span_of_the_same_trace():
    w3c = continue_trace(f"00-{TRACE}-00f067aa0ba902b7-01")
    assert w3c.trace_id == TRACE and w3c.span_id != "00f067aa0ba902b7" and w3c.sampled
    assert continue_trace(cloud_trace=f"{TRACE}/123;o=0").sampled is False
    # W3C wins over Google's header; garbage or nothing starts a new trace.
    assert continue_trace(f"00-{TRACE}-00f067aa0ba902b7-01", f"{'1' * 32}/1").trace_id == TRACE
    fresh = {continue_trace("00-zz-yy-01").trace_id, continue_trace().trace_id, continue_trace(f"00-{'0' * 32}-{'1' * 16}-01").trace_id}
    assert len(fresh) == 3 and all(len(t) == 32 for t in fresh)
    hop = continue_trace(w3c.traceparent())
    assert hop.trace_id == TRACE and w3c.traceparent() == f"00-{TRACE}-{w3c.span_id}-01"
    assert w3c.cloud_trace_header() == f"{TRACE}/{int(w3c.span_id, 16)};o=1"


def test_a_stored_journey_is_adopted_for_the_rest_of_the_context():
    with log_context(trace=continue_trace(), execution_id="exec_2"):
        assert current_origin() == "exec_2"
        adopt_trace(f"00-{TRACE}-00f067aa0ba902b7-01", "exec_origin")
        assert current_traceparent().split("-")[1] == TRACE and current_origin() == "exec_origin"
        assert _format("joined")["logging.googleapis.com/trace"].endswith(TRACE)
    assert current_traceparent() is None

import json
import logging

from shared.logs import CloudLoggingFormatter, log_context, trace_from_header


def _format(message: str, **fields) -> dict:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, message, None, None)
    if fields:
        record.fields = fields
    return json.loads(CloudLoggingFormatter().format(record))


def test_log_lines_are_cloud_logging_json_with_execution_labels():
    with log_context(trace=trace_from_header("abc123/1;o=1", "proj"), execution_id="exec_1", intent_type="ingest_file",
                     tenant_id="t1"):
        entry = _format("hello", upload_id="u1")
    assert entry["severity"] == "WARNING" and entry["message"] == "hello"
    assert entry["logging.googleapis.com/trace"] == "projects/proj/traces/abc123"
    assert entry["logging.googleapis.com/labels"] == {"execution_id": "exec_1", "intent_type": "ingest_file", "tenant_id": "t1"}
    assert entry["execution_id"] == "exec_1" and entry["upload_id"] == "u1"


def test_labels_do_not_leak_out_of_their_context():
    with log_context(execution_id="exec_1"):
        pass
    assert "logging.googleapis.com/labels" not in _format("after")

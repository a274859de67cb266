"""What Cloud Logging makes of the functions' stdout, and the subset of its query language infra/monitoring uses.

A Cloud Run (Cloud Functions 2nd gen) instance that prints one JSON object per line gets one LogEntry per line: the
special keys are lifted out of the payload (severity, httpRequest, logging.googleapis.com/trace, spanId, labels,
sourceLocation, trace_sampled; https://cloud.google.com/logging/docs/structured-logging) and the rest is jsonPayload.
`entry()` does that; `matches()` evaluates a filter (field=value, field:value, != > >= < <=, AND, OR, NOT, implicit
AND, parentheses, field=("a" OR "b"), field:*); `extract()` evaluates EXTRACT and REGEXP_EXTRACT.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]
_LIFTED = {
    "severity": "severity",
    "httpRequest": "httpRequest",
    "logging.googleapis.com/trace": "trace",
    "logging.googleapis.com/spanId": "spanId",
    "logging.googleapis.com/trace_sampled": "traceSampled",
    "logging.googleapis.com/labels": "labels",
    "logging.googleapis.com/sourceLocation": "sourceLocation",
    "logging.googleapis.com/operation": "operation",
}


def entry(line: dict[str, Any], service: str, project: str = "local") -> dict[str, Any]:
    """The LogEntry Cloud Logging writes for one JSON line a function printed."""
    out: dict[str, Any] = {
        "logName": f"projects/{project}/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": service, "project_id": project}},
        "jsonPayload": {},
    }
    for key, value in line.items():
        if key in _LIFTED:
            out[_LIFTED[key]] = value
        else:
            out["jsonPayload"][key] = value
    out.setdefault("severity", "DEFAULT")
    return out


def read_entries(path: Any, service: str, offset: int = 0) -> list[dict[str, Any]]:
    """The entries of the JSON lines of a function's log file, from a byte offset (other lines are not structured)."""
    entries = []
    with open(path, "rb") as fh:
        fh.seek(offset)
        for raw in fh.read().decode(errors="replace").splitlines():
            raw = raw.strip()
            if raw.startswith("{"):
                try:
                    entries.append(entry(json.loads(raw), service))
                except json.JSONDecodeError:
                    continue
    return entries


# ---- filters -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|:|>|<)|(?P<paren>[()])|(?P<word>[^\s()=:<>!"]+))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the filter at: {text[pos:]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        out.append(("str", json.loads(value)) if kind == "str" else (kind, value))
        pos = m.end()
    return out


@dataclass
class _Cmp:
    path: str
    op: str
    values: list[str]  # several for field=("a" OR "b"): any of them


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()}")
        return node

    def or_expr(self) -> Any:
        nodes = [self.and_expr()]
        while self.peek() == ("word", "OR"):
            self.take()
            nodes.append(self.and_expr())
        return ("or", nodes) if len(nodes) > 1 else nodes[0]

    def and_expr(self) -> Any:
        nodes = [self.unary()]
        while (tok := self.peek()) is not None and tok != ("word", "OR") and tok != ("paren", ")"):
            if tok == ("word", "AND"):
                self.take()
            nodes.append(self.unary())  # juxtaposition is AND too
        return ("and", nodes) if len(nodes) > 1 else nodes[0]

    def unary(self) -> Any:
        if self.peek() == ("word", "NOT"):
            self.take()
            return ("not", self.unary())
        if self.peek() == ("paren", "("):
            self.take()
            node = self.or_expr()
            assert self.take() == ("paren", ")"), "unbalanced parentheses"
            return node
        kind, path = self.take()
        assert kind == "word", f"expected a field, got {path!r}"
        _, op = self.take()
        if self.peek() == ("paren", "("):
            self.take()
            values = [self.value()]
            while self.peek() == ("word", "OR"):
                self.take()
                values.append(self.value())
            assert self.take() == ("paren", ")")
            return _Cmp(path, op, values)
        return _Cmp(path, op, [self.value()])

    def value(self) -> str:
        kind, value = self.take()
        assert kind in ("str", "word"), f"expected a value, got {value!r}"
        return value


def lookup(item: dict[str, Any], path: str) -> Any:
    current: Any = item
    for part in re.findall(r'"[^"]*"|[^.]+', path):
        part = part.strip('"')
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(found: Any, op: str, wanted: str, path: str) -> bool:
    if op == ":" and wanted == "*":
        return found is not None
    if found is None or isinstance(found, dict | list):
        return op == "!=" and found is None
    if path == "severity":
        a, b = SEVERITIES.index(str(found)), SEVERITIES.index(wanted)
    elif (x := _number(found)) is not None and (y := _number(wanted)) is not None:
        a, b = x, y  # type: ignore[assignment]
    else:
        a, b = str(found), wanted  # type: ignore[assignment]
    if op == ":":
        return str(wanted).lower() in str(found).lower()
    return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]  # type: ignore[operator]


def _eval(node: Any, item: dict[str, Any]) -> bool:
    if isinstance(node, _Cmp):
        found = lookup(item, node.path)
        hits = [_compare(found, node.op, v, node.path) for v in node.values]
        return all(hits) if node.op == "!=" else any(hits)
    kind, rest = node
    if kind == "and":
        return all(_eval(n, item) for n in rest)
    if kind == "or":
        return any(_eval(n, item) for n in rest)
    return not _eval(rest, item)


def matches(filter_text: str, item: dict[str, Any]) -> bool:
    return _eval(_Parser(filter_text).parse(), item)


def extract(extractor: str, item: dict[str, Any]) -> str | None:
    m = re.fullmatch(r'\s*EXTRACT\(\s*([^)\s]+)\s*\)\s*', extractor)
    if m:
        value = lookup(item, m.group(1))
        return None if value is None or isinstance(value, dict | list) else str(value)
    m = re.fullmatch(r'\s*REGEXP_EXTRACT\(\s*([^,\s]+)\s*,\s*("(?:[^"\\]|\\.)*")\s*\)\s*', extractor)
    if m:
        value = lookup(item, m.group(1))
        found = re.search(json.loads(m.group(2)), str(value)) if value is not None else None
        return found.group(1) if found else None
    raise ValueError(f"unsupported extractor {extractor!r}")

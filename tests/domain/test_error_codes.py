"""Every error_code in the source comes from the one fixed list, so clients can rely on it."""

from __future__ import annotations

import re
from pathlib import Path

from shared.domain.errors import ERROR_CODES, echo
from shared.parsing.errors import ParseErrorCode

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(
    r"""(?:code\s*=\s*|error_code["']\s*:\s*|\.fail\(\w+,\s*|error_code\s+or\s+|["']code["'],\s*)["']([A-Z][A-Z0-9_]+)["']"""
)


def test_every_error_code_literal_in_the_source_is_in_the_fixed_list() -> None:
    found: dict[str, str] = {}
    for folder in ("shared", "functions", "dev"):
        for path in (ROOT / folder).rglob("*.py"):
            for code in LITERAL.findall(path.read_text()):
                found.setdefault(code, str(path.relative_to(ROOT)))
    assert len(found) > 30
    assert {c: p for c, p in found.items() if c not in ERROR_CODES} == {}


def test_parse_failure_codes_are_in_the_fixed_list() -> None:
    assert set(ParseErrorCode.__args__) <= ERROR_CODES


def test_echo_cuts_and_neutralises_a_callers_value() -> None:
    assert echo("abc") == "abc"
    shown = echo("x" * 5000)
    assert len(shown) == 64 and shown.endswith("…")
    assert echo("a\x1b[31m\u202eb") == "a?[31m?b"

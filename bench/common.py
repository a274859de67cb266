"""What the benchmarks share: plain-text tables and this process's memory figures from /proc."""

from __future__ import annotations

import re
from pathlib import Path


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM), in bytes."""
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0

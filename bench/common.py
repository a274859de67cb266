"""What the benchmarks share: plain-text tables, this process's memory figures from /proc, and emulators of their own."""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

UNREACHABLE_WORKER = "http://127.0.0.1:9/"  # in-process benches run the parse worker themselves, or not at all


@contextmanager
def in_process_emulators(prefix: str, workdir: Path | None = None) -> Iterator[tuple[Any, dict[str, str]]]:
    """The four emulators on free ports, provisioned, with this process's settings pointed at them; all stopped after.

    Exits with status 2 and the prerequisite's own message when one is missing."""
    from dev import stack as devstack
    from dev.prereqs import PrereqError, check_prereqs

    try:
        prereqs = check_prereqs()
    except PrereqError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        emu = devstack.start_emulators(prereqs, (workdir or Path(tmp)) / "logs")
        try:
            env = devstack.settings_env(emu, UNREACHABLE_WORKER)
            with devstack.scoped_env(env):
                devstack.provision(emu)
                yield emu, env
        finally:
            devstack.teardown(emu.processes, emu.topology, emu.pubsub_host)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM), in bytes."""
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0

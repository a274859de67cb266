"""Stops a test session's processes if the session itself dies without tearing down (e.g. pytest killed with -9).

    python -m dev.reaper --parent PID --parent-create-time T --state FILE

It polls the parent; when the parent is gone it stops every process listed in FILE (written by dev.stack) and exits.
It also exits quietly when FILE disappears, which is how a normal teardown dismisses it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psutil

from dev.procs import ManagedProcess, stop_processes


def _parent_alive(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < 0.5 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.reaper")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--parent-create-time", type=float, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    while True:
        if not args.state.exists():
            return 0
        if not _parent_alive(args.parent, args.parent_create_time):
            try:
                entries = json.loads(args.state.read_text()).get("processes", [])
            except (OSError, ValueError):
                entries = []
            stop_processes([ManagedProcess.from_json(e) for e in entries], timeout=5)
            args.state.unlink(missing_ok=True)
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    raise SystemExit(main())

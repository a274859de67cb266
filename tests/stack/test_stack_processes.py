"""Process plumbing: ports that collide are chosen afresh, only our own processes are ever stopped, and a test session
that dies without teardown still leaves nothing behind."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

from dev import stack as devstack
from dev.procs import ManagedProcess, start_process, stop_processes


def test_a_taken_gateway_port_is_replaced_by_a_free_one() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports, gateway = devstack.plan_ports(["a", "b"], gateway_port=taken)
        assert gateway != taken
        assert len({*ports.values(), gateway}) == 3


def test_a_free_gateway_port_is_kept() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    _, gateway = devstack.plan_ports(["a"], gateway_port=wanted)
    assert gateway == wanted


def test_stop_never_touches_a_process_whose_pid_was_reused(tmp_path: Path) -> None:
    other = start_process("other", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "other.log")
    try:
        stale = ManagedProcess("gone", other.pid, other.create_time - 100, str(tmp_path / "gone.log"), [])
        assert stop_processes([stale], timeout=1) == []
        assert other.is_ours()
    finally:
        stop_processes([other])
    assert not other.is_ours()


def test_reaper_stops_the_sessions_processes_when_the_session_dies(tmp_path: Path) -> None:
    session = start_process("session", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "s.log")
    victim = start_process("victim", ["sleep", "30"], tmp_path / "v.log")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"processes": [victim.to_json()]}))
    argv = [
        sys.executable,
        "-m",
        "dev.reaper",
        "--parent",
        str(session.pid),
        "--parent-create-time",
        str(session.create_time),
        "--state",
        str(state),
        "--interval",
        "0.1",
    ]
    reaper = start_process("reaper", argv, tmp_path / "r.log", {"PYTHONPATH": str(devstack.REPO_ROOT), "PATH": "/usr/bin:/bin"})
    try:
        time.sleep(0.5)
        assert victim.is_ours(), "the reaper must wait while the session lives"
        stop_processes([session])
        # The reaper stops the victim, removes the state file, then exits: wait for its exit, not the victim's.
        deadline = time.monotonic() + 10
        while reaper.is_ours() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not reaper.is_ours(), "the reaper must exit once the session is gone"
        assert not victim.is_ours()
        assert not state.exists()
    finally:
        stop_processes([session, victim, reaper])

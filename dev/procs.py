"""Process plumbing for the local stack: free ports, process groups, readiness probes, clean stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


class StackError(Exception):
    """The stack could not start or stop; the message says which part and where its log is."""


@dataclass
class ManagedProcess:
    """One process we started, in its own process group (pgid == pid), so stopping it takes its children too."""

    name: str
    pid: int
    create_time: float
    log: str
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "pgid": self.pid,
            "create_time": self.create_time,
            "log": self.log,
            "argv": self.argv,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ManagedProcess:
        argv = data.get("argv") or []
        return cls(
            str(data["name"]),
            int(str(data["pid"])),
            float(str(data["create_time"])),
            str(data["log"]),
            [str(a) for a in argv] if isinstance(argv, list) else [],
        )

    def is_ours(self) -> bool:
        """Alive and still the process we started (a recycled pid has another start time)."""
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.create_time) < 0.5 and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _pid_reused(self) -> bool:
        """The pid now names another process: our leader died and, with its whole group gone, the number was freed."""
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.create_time) >= 0.5
        except psutil.Error:
            return False

    def group_members(self) -> list[int]:
        """Live processes of our process group, plus descendants that left it. While any member lives the kernel
        keeps the group's number from being reused, so a group found under our pgid is ours, unless the pid itself
        now names a newer process."""
        if self._pid_reused():
            return []
        members: set[int] = set()
        for proc in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(proc.info["pid"]) == self.pid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    members.add(proc.info["pid"])
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        if self.is_ours():
            with contextlib.suppress(psutil.Error):
                members.update(p.pid for p in psutil.Process(self.pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE)
        return sorted(members)

    def exited(self) -> int | None:
        """Exit code if it has already ended (only known for processes started by this Python process)."""
        if self.popen is not None:
            return self.popen.poll()
        return None if self.is_ours() else -1

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = Path(self.log).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def free_ports(count: int, avoid: Sequence[int] = ()) -> list[int]:
    """Distinct free loopback ports; the sockets stay open until all are chosen so none is handed out twice."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
            port = sock.getsockname()[1]
            if port not in avoid:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Free to listen on. SO_REUSEADDR as servers use it: a closed connection in TIME_WAIT does not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_process(
    name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            popen = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=str(cwd) if cwd else None,
                start_new_session=True,  # own session and process group: survives `make up`, stops as one unit
            )
        except OSError as exc:
            raise StackError(f"{name}: could not run {argv[0]}: {exc}") from exc
    try:
        create_time = psutil.Process(popen.pid).create_time()
    except psutil.Error:
        create_time = time.time()
    return ManagedProcess(name, popen.pid, create_time, str(log_path), list(argv), popen)


def stop_processes(processes: Sequence[ManagedProcess], timeout: float = 10.0) -> list[str]:
    """SIGTERM every group at once, wait, then SIGKILL what is left. Returns the names of the processes stopped."""
    stopped: list[str] = []
    targets = {p.pid: p for p in processes if p.is_ours() or p.group_members()}
    for proc in targets.values():
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    pending = dict(targets)
    while pending and time.monotonic() < deadline:
        for pid, proc in list(pending.items()):
            if proc.popen is not None:
                proc.popen.poll()  # reap our own child so it does not linger as a zombie
            if not proc.group_members():
                pending.pop(pid)
        if pending:
            time.sleep(0.05)
    for proc in pending.values():
        _signal_group(proc, signal.SIGKILL)
    for proc in targets.values():
        if proc.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=5)
        stopped.append(proc.name)
    return stopped


def _signal_group(proc: ManagedProcess, sig: signal.Signals) -> None:
    members = proc.group_members()
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    if members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


def http_ok(url: str, timeout: float = 1.0, accept: Callable[[int], bool] = lambda status: status < 500) -> bool:
    """True when something answers HTTP at url with an accepted status."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout) as resp:
            return accept(resp.status)
    except urllib.error.HTTPError as exc:
        return accept(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(proc: ManagedProcess, probe: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll probe until it succeeds; fail fast if the process dies. Returns the seconds it took."""
    started = time.monotonic()
    delay = 0.02
    while True:
        if probe():
            return time.monotonic() - started
        code = proc.exited()
        if code is not None:
            raise StackError(f"{proc.name} exited (code {code}) before {what}; log {proc.log}:\n{proc.log_tail()}")
        if time.monotonic() - started > timeout:
            raise StackError(f"{proc.name} did not become ready ({what}) within {timeout:.0f}s; log {proc.log}:\n{proc.log_tail()}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)

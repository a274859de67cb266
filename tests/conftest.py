"""Session fixtures over the real emulators, built from the same code as `python -m dev.stack`.

- `emulators` (session): the four emulators on fresh free ports, never a `make up` stack; os.environ is set for them
  (and for Settings) before any test makes a client; the resources are provisioned.
- `fresh_state`: empties Firestore, the buckets, the events-tap subscription and the tasks queue before a test.
- `stack` (session, started on first use): every function, the Eventarc bridge and the gateway over `emulators`.
- `event_tap`: pulls published events from events-tap, with a timeout.
- `token_factory`: mints dev tokens the functions accept.

A test that uses `emulators` (directly or through another fixture) is marked `emulators`; one that uses `stack` is
also marked `stack`, so `-m "not emulators"` runs the tests that need no emulator.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dev import stack as devstack  # noqa: E402 - needs the repo root on sys.path first
from dev.prereqs import PrereqError, check_prereqs  # noqa: E402
from dev.procs import ManagedProcess, StackError, start_process, stop_processes  # noqa: E402
from dev.provision import Topology  # noqa: E402

EMULATOR_FIXTURES = {"emulators", "fresh_state", "event_tap", "stack"}


def _uses_stack(item: pytest.Item) -> bool:
    return "stack" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & EMULATOR_FIXTURES:
            item.add_marker(pytest.mark.emulators)
        if "stack" in names:
            item.add_marker(pytest.mark.stack)
    # Once the stack runs, its consumer and bridge react to everything on the shared emulators; in-process tests
    # run first so they see only their own effects. The sort is stable: the order is otherwise unchanged.
    items.sort(key=_uses_stack)


# ---- the session's processes, and a reaper in case the session dies without teardown -----------------------------


@dataclass
class SessionProcesses:
    state_file: Path
    processes: list[ManagedProcess] = field(default_factory=list)
    reaper: ManagedProcess | None = None

    def add(self, processes: list[ManagedProcess]) -> None:
        self.processes += processes
        self._write()

    def remove(self, processes: list[ManagedProcess]) -> None:
        pids = {p.pid for p in processes}
        self.processes = [p for p in self.processes if p.pid not in pids]
        self._write()

    def _write(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"processes": [p.to_json() for p in self.processes]}))
        tmp.replace(self.state_file)

    def start_reaper(self, log_dir: Path) -> None:
        self._write()
        me = psutil.Process()
        argv = [
            sys.executable,
            "-m",
            "dev.reaper",
            "--parent",
            str(me.pid),
            "--parent-create-time",
            str(me.create_time()),
            "--state",
            str(self.state_file),
        ]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.reaper = start_process("reaper", argv, log_dir / "reaper.log", env, cwd=REPO_ROOT)

    def close(self) -> None:
        self.state_file.unlink(missing_ok=True)  # dismisses the reaper
        if self.reaper is not None:
            stop_processes([self.reaper], timeout=5)


@dataclass
class LocalEmulators:
    """What the `emulators` fixture yields: hosts, project, buckets, resource names and the env it exported."""

    emulators: devstack.Emulators
    env: dict[str, str]
    state_dir: Path
    planned_ports: dict[str, int]
    session: SessionProcesses
    stack_running: bool = False

    @property
    def topology(self) -> Topology:
        return self.emulators.topology

    @property
    def project_id(self) -> str:
        return self.emulators.project_id

    @property
    def location(self) -> str:
        return self.topology.location

    @property
    def buckets(self) -> tuple[str, ...]:
        return self.topology.buckets

    @property
    def uploads_bucket(self) -> str:
        return self.topology.uploads_bucket

    @property
    def firestore_host(self) -> str:
        return self.emulators.firestore_host

    @property
    def pubsub_host(self) -> str:
        return self.emulators.pubsub_host

    @property
    def storage_url(self) -> str:
        return self.emulators.storage_url

    @property
    def tasks_host(self) -> str:
        return self.emulators.tasks_host

    @property
    def events_tap(self) -> str:
        return self.topology.subscription_path(self.topology.events_tap_subscription)

    @property
    def queue_path(self) -> str:
        return self.topology.queue_path


def _export_env(values: dict[str, str]) -> None:
    os.environ.update(values)
    try:  # Settings are read once per process; make the next read see this environment
        from shared.settings import get_settings

        get_settings.cache_clear()
    except ImportError:
        pass


def _function_names() -> tuple[list[str], str | None]:
    entries = json.loads(devstack.FUNCTIONS_MANIFEST.read_text())["functions"]
    worker = next((e["name"] for e in entries if e["trigger"] == "task"), None)
    return [e["name"] for e in entries], worker


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEmulators]:
    try:
        prereqs = check_prereqs()
    except PrereqError as exc:
        pytest.fail(str(exc), pytrace=False)
    state_dir = tmp_path_factory.mktemp("local-stack")
    log_dir = state_dir / "logs"
    session = SessionProcesses(state_dir / "session-processes.json")
    session.start_reaper(log_dir)
    try:
        emu = devstack.start_emulators(prereqs, log_dir)
    except StackError as exc:
        session.close()
        pytest.fail(f"the emulators did not start: {exc}", pytrace=False)
    session.add(emu.processes)
    try:
        # The function ports are chosen now so PARSE_WORKER_URL is right for in-process code too.
        names, worker = _function_names()
        ports, _ = devstack.plan_ports(names, avoid=emu.ports())
        worker_url = f"{devstack.function_url(ports[worker])}/" if worker else ""
        env = devstack.settings_env(emu, worker_url)
        _export_env(env)
        devstack.provision(emu)
    except BaseException:
        devstack.teardown(emu.processes, emu.topology, emu.pubsub_host)
        session.close()
        raise
    handle = LocalEmulators(emu, env, state_dir, ports, session)
    yield handle
    devstack.teardown(emu.processes, emu.topology, emu.pubsub_host)
    session.remove(emu.processes)
    session.close()


@pytest.fixture
def fresh_state(emulators: LocalEmulators) -> LocalEmulators:
    from dev import provision

    topo = emulators.topology
    provision.purge_queue(topo, emulators.tasks_host)
    provision.empty_buckets(topo)
    provision.reset_firestore(emulators.firestore_host, emulators.project_id)
    provision.drain_subscription(emulators.events_tap)
    provision.drain_subscription(topo.subscription_path(topo.dead_letter_subscription))
    if not emulators.stack_running:  # with no bridge running, old finalize notifications would wait for one
        provision.drain_subscription(topo.subscription_path(topo.bridge_subscription))
    return emulators


# ---- events ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TapEvent:
    message_id: str
    attributes: dict[str, str]
    data: bytes

    @property
    def event_type(self) -> str:
        return self.attributes.get("event_type", "")

    @property
    def event_id(self) -> str:
        return self.attributes.get("event_id", "")

    def json(self) -> Any:
        return json.loads(self.data)


class EventTap:
    """Reads what was published to ingestion-events through the events-tap pull subscription."""

    def __init__(self, subscription: str) -> None:
        from google.cloud import pubsub_v1

        self.subscription = subscription
        self.client = pubsub_v1.SubscriberClient()
        self.seen: list[TapEvent] = []

    def pull(self, timeout: float = 5.0, min_count: int = 1) -> list[TapEvent]:
        """Pull (and ack) until at least min_count new events arrived or timeout seconds passed."""
        got: list[TapEvent] = []
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.pull(
                request={"subscription": self.subscription, "max_messages": 100, "return_immediately": True},
                timeout=10,
            )
            if response.received_messages:
                self.client.acknowledge(
                    request={"subscription": self.subscription, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
                for received in response.received_messages:
                    msg = received.message
                    got.append(TapEvent(msg.message_id, dict(msg.attributes), bytes(msg.data)))
            if len(got) >= min_count or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        self.seen += got
        return got

    def wait_for(self, event_type: str, timeout: float = 10.0, predicate: Callable[[TapEvent], bool] | None = None) -> TapEvent:
        """The first event of this type (already seen or newly pulled) that satisfies predicate."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.seen:
                if event.event_type == event_type and (predicate is None or predicate(event)):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                types = sorted({e.event_type for e in self.seen})
                raise AssertionError(f"no {event_type} event within {timeout}s; saw {types}")
            self.pull(timeout=min(remaining, 1.0))

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def event_tap(emulators: LocalEmulators) -> Iterator[EventTap]:
    tap = EventTap(emulators.events_tap)
    yield tap
    tap.close()


# ---- tokens ------------------------------------------------------------------------------------------------------


@pytest.fixture
def token_factory() -> Callable[..., str]:
    from dev.token import mint_token

    def mint(tenant: str, user: str, session: str | None = None) -> str:
        return mint_token(tenant, user, session)

    return mint


# ---- the whole stack ---------------------------------------------------------------------------------------------


@dataclass
class LocalStack:
    gateway_url: str
    function_urls: dict[str, str]
    push_endpoints: list[str]
    emulators: LocalEmulators
    log_dir: Path


@pytest.fixture(scope="session")
def stack(emulators: LocalEmulators) -> Iterator[LocalStack]:
    from dev import provision

    try:
        functions = devstack.load_functions()
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    topo = emulators.topology
    with devstack.scoped_env(emulators.emulators.env()):
        provision.drain_subscription(topo.subscription_path(topo.bridge_subscription))
    try:
        services = devstack.start_services(
            emulators.emulators, functions, emulators.state_dir, gateway_port=None, function_ports=emulators.planned_ports
        )
    except StackError as exc:
        pytest.fail(f"the local stack did not start: {exc}", pytrace=False)
    emulators.session.add(services.processes)
    if services.env.get("PARSE_WORKER_URL") != os.environ.get("PARSE_WORKER_URL"):
        _export_env({"PARSE_WORKER_URL": services.env["PARSE_WORKER_URL"]})  # a planned port was taken meanwhile
    emulators.stack_running = True
    yield LocalStack(services.gateway_url, services.function_urls, services.push_endpoints, emulators, emulators.state_dir / "logs")
    emulators.stack_running = False
    devstack.teardown(services.processes, topo, emulators.pubsub_host)
    emulators.session.remove(services.processes)

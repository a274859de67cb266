"""The local stack: four emulators, every function in its own functions-framework process, the Eventarc bridge and
the gateway.

    python -m dev.stack up       # start everything, or only what is missing; writes .local/stack.json
    python -m dev.stack status   # what runs, and whether it answers
    python -m dev.stack down     # snapshot Firestore, delete push subscriptions, then stop every process we started
    python -m dev.stack reset    # down, then forget every document and object: the next `up` starts empty

The stack keeps its data in .local/data: Firestore snapshots (every SNAPSHOT_INTERVAL seconds and on `down`, imported
on start) and fake-gcs-server's filesystem backend. The test fixtures keep everything in memory.

The pytest fixtures in tests/conftest.py call the same functions (start_emulators, start_services, teardown).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dev.gateway import HEALTH_PATH
from dev.prereqs import PrereqError, Prereqs, check_prereqs
from dev.procs import (
    LOOPBACK,
    ManagedProcess,
    StackError,
    free_ports,
    http_ok,
    port_is_free,
    start_process,
    stop_processes,
    wait_until,
)
from dev.provision import Topology
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = REPO_ROOT / ".local"
DEFAULT_GATEWAY_PORT = 8080
LOCAL_CORS_ORIGINS = [f"http://{host}:{port}" for host in ("localhost", "127.0.0.1") for port in (3000, 5173, 8000)]
FUNCTIONS_MANIFEST = REPO_ROOT / "infra" / "functions.json"
FUNCTIONS_DIR = REPO_ROOT / "functions"
ROUTES_FILE = REPO_ROOT / "infra" / "routes.json"
CORS_FILE = REPO_ROOT / "infra" / "cors.json"
# All the attempts of the Terraform queue (the emulator retries without backoff): the worker holds a completion's
# messages for the retry only when one follows (Settings.parse_task_attempts).
TASKS_MAX_RETRIES = Settings.model_fields["max_parse_attempts"].default + 2 - 1
# The Terraform job runs every minute; the local scheduler runs the sweep every SWEEP_INTERVAL_SECONDS (10 s unless
# set), so a parse whose worker died is reclaimed within a minute.
DEFAULT_SWEEP_INTERVAL = 10.0
SNAPSHOT_INTERVAL = 30.0  # a crashed Firestore emulator loses at most this many seconds of writes
EMULATOR_READY_TIMEOUT = 60.0
SERVICE_READY_TIMEOUT = 60.0
Probe = tuple[ManagedProcess, Callable[[], bool], str]  # a process, how to tell it is ready, and what that means
SIGNATURE_BY_TRIGGER = {
    "http": "http",
    "task": "http",
    "scheduler": "http",
    "storage_finalize": "cloudevent",
    "storage_delete": "cloudevent",  # references of objects a bucket's lifecycle deleted (one function per bucket)
    "pubsub": "cloudevent",
    "budget": "cloudevent",  # the cost guard: billing budgets have no local emulator; tests publish notifications
}


# ---- emulators ----------------------------------------------------------------------------------------------------


@dataclass
class Emulators:
    topology: Topology
    firestore_host: str
    pubsub_host: str
    storage_url: str
    tasks_host: str
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def project_id(self) -> str:
        return self.topology.project_id

    @property
    def buckets(self) -> tuple[str, ...]:
        return self.topology.buckets

    def env(self) -> dict[str, str]:
        return {
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
            "PUBSUB_EMULATOR_HOST": self.pubsub_host,
            "STORAGE_EMULATOR_HOST": self.storage_url,
            "TASKS_EMULATOR_HOST": self.tasks_host,
            "GOOGLE_CLOUD_PROJECT": self.project_id,
        }

    def ports(self) -> list[int]:
        hosts = (self.firestore_host, self.pubsub_host, self.storage_url, self.tasks_host)
        return [int(host.rsplit(":", 1)[1]) for host in hosts]

    def describe(self) -> dict[str, str]:
        return {
            "firestore": self.firestore_host,
            "pubsub": self.pubsub_host,
            "storage": self.storage_url,
            "tasks": self.tasks_host,
        }


def _tasks_ready(tasks_host: str, topology: Topology) -> bool:
    import grpc
    from google.api_core import exceptions as gexc

    from dev.provision import tasks_client

    try:
        client = tasks_client(tasks_host)
        client.list_queues(parent=f"projects/{topology.project_id}/locations/{topology.location}", timeout=1)
        return True
    except (gexc.GoogleAPIError, grpc.RpcError, ValueError):
        return False


def storage_backend(data_dir: Path | None) -> list[str]:
    """fake-gcs-server keeps objects on disk for the stack (they survive a restart), in memory for tests."""
    if data_dir is None:
        return ["-backend", "memory"]
    return ["-backend", "filesystem", "-filesystem-root", str(data_dir / "gcs")]


def firestore_import(data_dir: Path | None) -> list[str]:
    from dev.snapshot import latest_export

    latest = latest_export(data_dir) if data_dir is not None else None
    return [f"--import-data={latest}"] if latest else []


def start_emulators(
    prereqs: Prereqs,
    log_dir: Path,
    topology: Topology | None = None,
    avoid_ports: Sequence[int] = (DEFAULT_GATEWAY_PORT,),
) -> Emulators:
    """Start the four emulators in parallel on free ports and wait until each really answers."""
    emulators, probes = spawn_emulators(prereqs, log_dir, topology, avoid_ports)
    try:
        wait_all(probes, EMULATOR_READY_TIMEOUT)
    except BaseException:
        stop_processes(emulators.processes)
        raise
    return emulators


def spawn_emulators(
    prereqs: Prereqs,
    log_dir: Path,
    topology: Topology | None = None,
    avoid_ports: Sequence[int] = (DEFAULT_GATEWAY_PORT,),
    data_dir: Path | None = None,
    only: Sequence[str] | None = None,
    ports: Sequence[int] | None = None,
) -> tuple[Emulators, list[Probe]]:
    """Start the four emulators on free ports (or on `ports`); returns their readiness probes (HTTP or gRPC) without
    waiting. `data_dir`: where the stack keeps its data; `only`: restart just these emulators of a running stack."""
    topology = topology or Topology()
    fs_port, ps_port, gcs_port, tasks_port = ports or free_ports(4, avoid=avoid_ports)
    pubsub_host = f"{LOOPBACK}:{ps_port}"
    storage_url = f"http://{LOOPBACK}:{gcs_port}"
    emulators = Emulators(topology, f"{LOOPBACK}:{fs_port}", pubsub_host, storage_url, f"{LOOPBACK}:{tasks_port}")
    env = dict(os.environ)
    env["JAVA_HOME"] = str(prereqs.java.resolve().parents[1])
    specs: list[tuple[str, list[str], dict[str, str]]] = [
        (
            "firestore-emulator",
            [str(prereqs.firestore_emulator), "start", f"--host={LOOPBACK}", f"--port={fs_port}", *firestore_import(data_dir)],
            env,
        ),
        ("pubsub-emulator", [str(prereqs.pubsub_emulator), f"--host={LOOPBACK}", f"--port={ps_port}"], env),
        (
            "storage-emulator",
            [
                str(prereqs.fake_gcs_server),
                "-scheme",
                "http",
                "-host",
                LOOPBACK,
                "-port",
                str(gcs_port),
                *storage_backend(data_dir),
                "-external-url",
                storage_url,
                "-public-host",
                f"{LOOPBACK}:{gcs_port}",
                "-event.pubsub-project-id",
                topology.project_id,
                "-event.pubsub-topic",
                topology.notifications_topic,
                "-event.list",
                "finalize,delete",
                "-cors-headers",
                ",".join(upload_cors_headers()),
            ],
            {**env, "PUBSUB_EMULATOR_HOST": pubsub_host},
        ),
        (
            "tasks-emulator",
            # Through our launcher, in the emulator's own virtualenv: it mends a dispatch thread that dies on a
            # task purged while it was being dispatched (dev/tasks_emulator.py).
            # -P: dev/ must not lead sys.path (its token.py would shadow the standard library's).
            [str(prereqs.tasks_emulator.parent / "python"), "-P", str(REPO_ROOT / "dev" / "tasks_emulator.py"), "start",
             "-p", str(tasks_port), "-r", str(TASKS_MAX_RETRIES)],
            env,
        ),
    ]
    ready: dict[str, tuple[Callable[[], bool], str]] = {
        "firestore-emulator": (lambda: http_ok(f"http://{emulators.firestore_host}/", accept=lambda s: s == 200), "HTTP 200 on /"),
        "pubsub-emulator": (lambda: http_ok(f"http://{pubsub_host}/", accept=lambda s: s == 200), "HTTP 200 on /"),
        "storage-emulator": (lambda: http_ok(f"{storage_url}/storage/v1/b", accept=lambda s: s == 200), "bucket listing"),
        "tasks-emulator": (lambda: _tasks_ready(emulators.tasks_host, topology), "gRPC ListQueues"),
    }
    probes: list[Probe] = []
    try:
        for name, argv, proc_env in specs:
            if only is None or name in only:
                emulators.processes.append(start_process(name, argv, log_dir / f"{name}.log", proc_env))
                probes.append((emulators.processes[-1], *ready[name]))
    except BaseException:
        stop_processes(emulators.processes)
        raise
    return emulators, probes


def upload_cors_headers(cors_file: Path = CORS_FILE) -> list[str]:
    """Every header a browser sends to, or reads from, the uploads bucket: the storage emulator allows them all, as
    the Terraform bucket CORS (which reads the same file) does."""
    upload = json.loads(cors_file.read_text())["upload"]
    return [*upload["request_headers"], *upload["response_headers"]]


def wait_all(probes: Sequence[Probe], timeout: float) -> dict[str, float]:
    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        futures = {proc.name: pool.submit(wait_until, proc, probe, timeout, what) for proc, probe, what in probes}
        errors: list[str] = []
        took: dict[str, float] = {}
        for name, future in futures.items():
            try:
                took[name] = future.result()
            except StackError as exc:
                errors.append(str(exc))
    if errors:
        raise StackError("\n\n".join(errors))
    return took


def provision(emulators: Emulators) -> None:
    """Buckets, topics, pull subscriptions and the queue. Clients read the emulator env of this process."""
    from dev.provision import provision_base

    with scoped_env(emulators.env()):
        provision_base(emulators.topology, emulators.tasks_host)


@contextlib.contextmanager
def scoped_env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


# ---- functions, bridge, gateway -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    source: Path  # the main.py file
    entry_point: str
    trigger: str
    timeout_seconds: int
    bucket: str | None = None  # a storage trigger's bucket, by role (uploads, derived)
    environment: Mapping[str, str] = field(default_factory=dict)  # functions.json `environment`: set at process start

    @property
    def signature_type(self) -> str:
        return SIGNATURE_BY_TRIGGER[self.trigger]


def load_functions(manifest: Path = FUNCTIONS_MANIFEST, functions_dir: Path = FUNCTIONS_DIR) -> list[FunctionSpec]:
    try:
        entries = json.loads(manifest.read_text())["functions"]
    except (OSError, ValueError, KeyError) as exc:
        raise StackError(f"cannot read the function list {manifest}: {exc}") from exc
    specs: list[FunctionSpec] = []
    missing: list[str] = []
    for entry in entries:
        if entry["trigger"] not in SIGNATURE_BY_TRIGGER:
            raise StackError(f"{manifest}: function {entry['name']} has unknown trigger {entry['trigger']!r}")
        source = functions_dir / entry["source"] / "main.py"
        if not source.is_file():
            missing.append(f"{entry['name']} ({source})")
        specs.append(FunctionSpec(entry["name"], source, entry["entry_point"], entry["trigger"],
                                  int(entry.get("timeout_seconds", 60)), entry.get("bucket"),
                                  dict(entry.get("environment") or {})))
    if missing:
        raise StackError("function sources are missing: " + ", ".join(missing))
    return specs


def settings_env(emulators: Emulators, parse_worker_url: str, as2_deliver_url: str = "") -> dict[str, str]:
    """What shared.settings.Settings reads in a function process, pointed at this stack."""
    from dev.issuer import DEFAULT_KEY_DIR, DEV_AUDIENCE, DEV_ISSUER, ensure_dev_keys

    keys = ensure_dev_keys(DEFAULT_KEY_DIR)  # the same keys `python -m dev.token` signs with
    topo = emulators.topology
    return {
        **emulators.env(),
        "PROJECT_ID": topo.project_id,
        "REGION": topo.location,
        "ENVIRONMENT": "local",
        "UPLOADS_BUCKET": topo.uploads_bucket,
        "DERIVED_BUCKET": topo.derived_bucket,
        "RECORDS_BUCKET": topo.records_bucket,
        "EVENTS_TOPIC": topo.events_topic,
        "TASKS_QUEUE": topo.queue,
        "TASKS_LOCATION": topo.location,
        "PARSE_WORKER_URL": parse_worker_url,
        "AS2_DELIVER_URL": as2_deliver_url,  # deliver_as2 commands (acknowledgements, asynchronous MDNs)
        # Our AS2 key pair: a PEM file outside the repository's tracked files, made (0600) on first use.
        "AS2_KEY_FILE": str(DEFAULT_KEY_DIR.parent / "as2" / "as2-key.pem"),
        "AUTH_MODE": "dev",
        "AUTH_AUDIENCE": DEV_AUDIENCE,
        "AUTH_ISSUER": DEV_ISSUER,
        "AUTH_DEV_PUBLIC_KEY_FILE": str(keys.public_key_file),
        "SIGNING_KEY_FILE": str(keys.signing_key_file),
        # Frontend dev servers on this machine may call the API from the browser.
        "CORS_ALLOWED_ORIGINS": json.dumps(LOCAL_CORS_ORIGINS),
    }


def function_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def parse_worker_url(functions: Sequence[FunctionSpec], ports: Mapping[str, int]) -> str:
    return task_url(functions, ports, "parse_worker")


def task_url(functions: Sequence[FunctionSpec], ports: Mapping[str, int], entry_point: str) -> str:
    """The local URL of the task target with this entry point (the parse worker, the AS2 deliverer)."""
    worker = next((s for s in functions if s.trigger == "task" and s.entry_point == entry_point), None)
    return f"{function_url(ports[worker.name])}/" if worker else ""


def launch_function(spec: FunctionSpec, port: int, env: Mapping[str, str], log_dir: Path) -> Probe:
    """One functions-framework process, as Cloud Functions runs the deployed source."""
    argv = [
        sys.executable,
        "-m",
        "functions_framework",
        "--source",
        str(spec.source),
        "--target",
        spec.entry_point,
        "--signature-type",
        spec.signature_type,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    proc_env = {
        **env,
        **spec.environment,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "K_SERVICE": spec.name,
        "FUNCTION_TARGET": spec.entry_point,
        "FUNCTION_SIGNATURE_TYPE": spec.signature_type,
    }
    proc = start_process(spec.name, argv, log_dir / f"{spec.name}.log", proc_env, cwd=REPO_ROOT)
    url = function_url(port)
    # Any HTTP answer means the function is serving (a CloudEvent function answers GET with 405).
    return proc, lambda: http_ok(url + "/", accept=lambda status: True), f"an HTTP answer on {url}"


def launch_bridge(
    topology: Topology,
    subscription: str,
    target_url: str,
    timeout_seconds: int,
    env: Mapping[str, str],
    log_dir: Path,
    ready_file: Path,
    bucket: str | None = None,
    event: str = "finalized",
    name: str = "eventarc-bridge",
) -> Probe:
    ready_file.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "dev.bridge",
        "--subscription",
        subscription,
        "--bucket",
        bucket or topology.uploads_bucket,
        "--target",
        target_url,
        "--timeout",
        str(timeout_seconds),
        "--ready-file",
        str(ready_file),
        "--event",
        event,
    ]
    proc = start_process(
        name,
        argv,
        log_dir / f"{name}.log",
        {**env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=REPO_ROOT,
    )
    return proc, ready_file.exists, "its subscription attached"


def launch_scheduler(jobs: Mapping[str, str], interval: float, env: Mapping[str, str], log_dir: Path, ready_file: Path) -> Probe:
    ready_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "dev.scheduler", "--interval", str(interval), "--ready-file", str(ready_file)]
    for name, url in jobs.items():
        argv += ["--job", f"{name}={url}"]
    proc = start_process(
        "scheduler", argv, log_dir / "scheduler.log", {**env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT
    )
    return proc, ready_file.exists, "started"


def launch_gateway(
    port: int,
    routes_file: Path,
    upstreams: Mapping[str, str],
    timeouts: Mapping[str, int],
    env: Mapping[str, str],
    log_dir: Path,
) -> Probe:
    argv = [sys.executable, "-m", "dev.gateway", "--port", str(port), "--routes", str(routes_file)]
    for name, url in upstreams.items():
        argv += ["--upstream", f"{name}={url}"]
    for name, seconds in timeouts.items():
        argv += ["--timeout", f"{name}={seconds}"]
    proc = start_process(
        "gateway",
        argv,
        log_dir / "gateway.log",
        {**env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=REPO_ROOT,
    )
    url = function_url(port)
    return proc, lambda: http_ok(url + "/_gateway/health", accept=lambda s: s == 200), "HTTP 200 on /_gateway/health"


@dataclass
class Services:
    gateway_url: str
    function_urls: dict[str, str]
    push_endpoints: list[str]
    processes: list[ManagedProcess]
    env: dict[str, str]


def plan_ports(
    functions: Sequence[FunctionSpec] | Sequence[str],
    gateway_port: int | None = None,
    taken: Mapping[str, int] | None = None,
    avoid: Sequence[int] = (),
) -> tuple[dict[str, int], int]:
    """Ports for each function and the gateway. Ports in `taken` are kept while still free; gateway_port None, or
    taken, means any free port. `avoid`: ports promised to processes that may not listen yet."""
    names = [f if isinstance(f, str) else f.name for f in functions]
    fresh = iter(free_ports(len(names) + 1, avoid=(DEFAULT_GATEWAY_PORT, *(taken or {}).values(), *avoid)))
    ports = {}
    for name in names:
        kept = (taken or {}).get(name)
        ports[name] = kept if kept and port_is_free(kept) else next(fresh)
    gateway = next(fresh)
    return ports, gateway_port if gateway_port and port_is_free(gateway_port) else gateway


def lineage_env(state_dir: Path, gateway_url: str) -> dict[str, str]:
    """The stack's functions write OpenLineage RunEvents one a line in its state (and POST them to $OPENLINEAGE_URL
    when set, read from the environment); the gateway serves our facets' schemas their _schemaURL names."""
    return {"LINEAGE_SINK": "jsonl", "LINEAGE_FILE": str(state_dir / "lineage" / "events.jsonl"),
            "LINEAGE_BASE_URL": f"{gateway_url}/lineage"}


def start_services(
    emulators: Emulators,
    functions: Sequence[FunctionSpec],
    state_dir: Path,
    gateway_port: int | None = DEFAULT_GATEWAY_PORT,
    routes_file: Path = ROUTES_FILE,
    function_ports: Mapping[str, int] | None = None,
    extra_env: Mapping[str, str] | None = None,
    emulator_probes: Sequence[Probe] = (),
) -> Services:
    """Start every function and the gateway, then (once the emulators answer) the bridge and the scheduler; wait until
    each answers, then wire the push subscription (only once its consumer is up, so the emulator never pushes into
    a closed port).

    emulator_probes: emulators just spawned and not yet waited for; their start-up then overlaps the functions'
    imports, and they are provisioned here.
    """
    from dev.provision import (
        delete_push_subscriptions,
        ensure_consumer_push_subscription,
        ensure_notification_subscription,
    )

    ports, gw_port = plan_ports(functions, gateway_port, function_ports, avoid=emulators.ports())
    urls = {spec.name: function_url(ports[spec.name]) for spec in functions}
    env = {**os.environ, **settings_env(emulators, parse_worker_url(functions, ports), task_url(functions, ports, "as2_deliver")),
           **lineage_env(state_dir, f"http://127.0.0.1:{gw_port}"), **(extra_env or {})}
    log_dir = state_dir / "logs"
    topo = emulators.topology
    processes: list[ManagedProcess] = []
    probes: list[Probe] = []
    try:
        for spec in functions:
            probes.append(launch_function(spec, ports[spec.name], env, log_dir))
            processes.append(probes[-1][0])
        http_functions = [s for s in functions if s.signature_type == "http"]
        probes.append(
            launch_gateway(
                gw_port,
                routes_file,
                {s.name: urls[s.name] for s in http_functions},
                {s.name: s.timeout_seconds for s in http_functions},
                env,
                log_dir,
            )
        )
        processes.append(probes[-1][0])
        if emulator_probes:
            wait_all(emulator_probes, EMULATOR_READY_TIMEOUT)
            provision(emulators)
        for spec in (s for s in functions if s.trigger == "storage_finalize"):
            probes.append(
                launch_bridge(
                    topo,
                    topo.subscription_path(topo.bridge_subscription),
                    urls[spec.name] + "/",
                    spec.timeout_seconds,
                    env,
                    log_dir,
                    state_dir / f"bridge-{spec.name}.ready",
                )
            )
            processes.append(probes[-1][0])
        for spec in (s for s in functions if s.trigger == "storage_delete"):
            # Each deletion trigger filters one bucket, so each bridge pulls a subscription of its own.
            with scoped_env(emulators.env()):
                subscription = ensure_notification_subscription(topo, f"eventarc-{spec.name}")
            bucket = {"uploads": topo.uploads_bucket, "derived": topo.derived_bucket,
                      "records": topo.records_bucket}[spec.bucket or "uploads"]
            probes.append(launch_bridge(topo, subscription, urls[spec.name] + "/", spec.timeout_seconds, env, log_dir,
                                        state_dir / f"bridge-{spec.name}.ready", bucket, "deleted",
                                        f"eventarc-bridge-{spec.name}"))
            processes.append(probes[-1][0])
        scheduled = {s.name: urls[s.name] + "/" for s in functions if s.trigger == "scheduler"}
        if scheduled:
            interval = float(env.get("SWEEP_INTERVAL_SECONDS") or DEFAULT_SWEEP_INTERVAL)
            probes.append(launch_scheduler(scheduled, interval, env, log_dir, state_dir / "scheduler.ready"))
            processes.append(probes[-1][0])
        wait_all(probes, SERVICE_READY_TIMEOUT)
        push_endpoints: list[str] = []
        with scoped_env(emulators.env()):
            for spec in (s for s in functions if s.trigger == "pubsub"):
                push_endpoints.append(ensure_consumer_push_subscription(topo, urls[spec.name]))
    except BaseException:
        with contextlib.suppress(Exception), scoped_env(emulators.env()):
            delete_push_subscriptions(topo)
        stop_processes(processes)
        raise
    client_env = {k: v for k, v in env.items() if k in _CLIENT_ENV}
    return Services(function_url(gw_port), urls, push_endpoints, processes, client_env)


_CLIENT_ENV = {
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "TASKS_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "PROJECT_ID",
    "REGION",
    "ENVIRONMENT",
    "UPLOADS_BUCKET",
    "DERIVED_BUCKET",
    "RECORDS_BUCKET",
    "EVENTS_TOPIC",
    "TASKS_QUEUE",
    "TASKS_LOCATION",
    "PARSE_WORKER_URL",
    "AS2_DELIVER_URL",
    "AUTH_MODE",
    "AUTH_AUDIENCE",
    "AUTH_ISSUER",
    "AUTH_DEV_PUBLIC_KEY_FILE",
    "SIGNING_KEY_FILE",
}


def teardown(processes: Sequence[ManagedProcess], topology: Topology | None, pubsub_host: str | None) -> dict[str, Any]:
    """Delete push subscriptions FIRST (a push to a stopped function is retried without pause), then stop every
    process group. Returns what was done."""
    report: dict[str, Any] = {"deleted_push_subscriptions": [], "push_cleanup_error": None}
    pubsub_alive = pubsub_host is not None and http_ok(f"http://{pubsub_host}/", accept=lambda s: s == 200)
    if topology is not None and pubsub_host is not None and pubsub_alive:
        from dev.provision import delete_push_subscriptions

        try:
            with scoped_env({"PUBSUB_EMULATOR_HOST": pubsub_host}):
                report["deleted_push_subscriptions"] = delete_push_subscriptions(topology)
        except Exception as exc:  # noqa: BLE001 - still stop the processes; the error is reported
            report["push_cleanup_error"] = str(exc)
    # Services first, emulators last, so nothing talks to an emulator that is already gone.
    ordered = sorted(processes, key=lambda p: p.name.endswith("-emulator"))
    report["stopped"] = stop_processes([p for p in ordered if not p.name.endswith("-emulator")])
    report["stopped"] += stop_processes([p for p in ordered if p.name.endswith("-emulator")])
    report["left_behind"] = [p.name for p in processes if p.group_members()]
    return report


# ---- the whole stack, as `make up` runs it --------------------------------------------------------------------------


@dataclass
class StackPaths:
    state_dir: Path

    @property
    def state_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "stack.lock"


@contextlib.contextmanager
def _locked(paths: StackPaths) -> Iterator[None]:
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    with paths.lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read_state(paths: StackPaths) -> dict[str, Any] | None:
    try:
        data = json.loads(paths.state_file.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def state_processes(state: Mapping[str, Any]) -> list[ManagedProcess]:
    return [ManagedProcess.from_json(p) for p in state.get("processes", [])]


def build_state(
    emulators: Emulators, services: Services, started: float, took: float, extra: Sequence[ManagedProcess] = ()
) -> dict[str, Any]:
    processes = emulators.processes + services.processes + list(extra)
    return {
        "gateway_url": services.gateway_url,
        "project_id": emulators.project_id,
        "location": emulators.topology.location,
        "emulators": emulators.describe(),
        **emulators.topology.describe(),
        "functions": services.function_urls,
        "push_endpoints": services.push_endpoints,
        "pids": {p.name: p.pid for p in processes},
        "processes": [p.to_json() for p in processes],
        "logs": {p.name: p.log for p in processes},
        "env": {**services.env, "GATEWAY_URL": services.gateway_url},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "startup_seconds": round(took, 2),
    }


def write_state(paths: StackPaths, state: Mapping[str, Any]) -> None:
    tmp = paths.state_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(paths.state_file)


def data_dir_of(paths: StackPaths) -> Path:
    return paths.state_dir / "data"


def launch_snapshotter(emulators: Emulators, data_dir: Path, log_dir: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "dev.snapshot", "--firestore", emulators.firestore_host, "--project",
            emulators.project_id, "--data-dir", str(data_dir), "--interval", str(SNAPSHOT_INTERVAL)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return start_process("firestore-snapshot", argv, log_dir / "firestore-snapshot.log", env, cwd=REPO_ROOT)


# A process that holds a connection to an emulator restarts with it: every bridge (finalize's and each deletion
# consumer's, named eventarc-bridge-{function}) pulls from Pub/Sub.
DEPENDENTS = {"pubsub-emulator": ("eventarc-bridge",)}


def dependents_of(name: str, recorded: Sequence[ManagedProcess]) -> list[str]:
    prefixes = DEPENDENTS.get(name, ())
    return [p.name for p in recorded if any(p.name == d or p.name.startswith(d + "-") for d in prefixes)]


def restart_missing(
    paths: StackPaths, state: Mapping[str, Any], dead: Sequence[str], manifest: Path, functions_dir: Path
) -> dict[str, Any]:
    """Start again, on their recorded ports, only the processes of a running stack that died; re-provision buckets,
    topics, subscriptions and the queue (a restarted emulator starts without them) and the push subscription."""
    from dev.provision import ensure_consumer_push_subscription

    log_dir = paths.state_dir / "logs"
    recorded = state_processes(state)
    dead = sorted({*dead, *(d for name in dead for d in dependents_of(name, recorded))})
    stop_processes([p for p in recorded if p.name in dead and p.is_ours()])
    hosts = state["emulators"]
    ports = [int(str(hosts[kind]).rsplit(":", 1)[1]) for kind in ("firestore", "pubsub", "storage", "tasks")]
    emulators, probes = spawn_emulators(check_prereqs(), log_dir, Topology(project_id=state["project_id"]),
                                        data_dir=data_dir_of(paths), only=dead, ports=ports)
    started = list(emulators.processes)
    try:
        wait_all(probes, EMULATOR_READY_TIMEOUT)
        provision(emulators)
        functions = {spec.name: spec for spec in load_functions(manifest, functions_dir)}
        from dev.provision import ensure_notification_subscription

        with scoped_env(emulators.env()):  # a restarted Pub/Sub lost the deletion consumers' subscriptions too
            for spec in (s for s in functions.values() if s.trigger == "storage_delete"):
                ensure_notification_subscription(emulators.topology, f"eventarc-{spec.name}")
        env = {**os.environ, **settings_env(emulators, str(state["env"].get("PARSE_WORKER_URL", "")),
                                            str(state["env"].get("AS2_DELIVER_URL", ""))),
               **lineage_env(paths.state_dir, str(state["gateway_url"]))}
        service_probes: list[Probe] = []
        for proc in recorded:
            if proc.name not in dead or proc.name.endswith("-emulator"):
                continue
            if proc.name in functions:
                port = int(str(state["functions"][proc.name]).rsplit(":", 1)[1])
                service_probes.append(launch_function(functions[proc.name], port, env, log_dir))
            else:  # gateway, bridge, scheduler, snapshots: the recorded command line
                again = start_process(proc.name, proc.argv, Path(proc.log),
                                      {**env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT)
                health = str(state["gateway_url"]) + HEALTH_PATH if proc.name == "gateway" else None
                service_probes.append((again, (lambda url=health: http_ok(url, accept=lambda c: c == 200)) if health
                                       else (lambda: True), "answers" if health else "started"))
            started.append(service_probes[-1][0])
        wait_all(service_probes, SERVICE_READY_TIMEOUT)
        with scoped_env(emulators.env()):
            for name, url in state["functions"].items():
                if name in functions and functions[name].trigger == "pubsub":
                    ensure_consumer_push_subscription(emulators.topology, str(url))
    except BaseException:
        stop_processes(started)
        raise
    fresh = {p.name: p for p in started}
    processes = [fresh.get(p.name, p) for p in recorded]
    return {**state, "pids": {p.name: p.pid for p in processes}, "processes": [p.to_json() for p in processes],
            "restarted": sorted(fresh), "restarted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def snapshot_now(state: Mapping[str, Any], data_dir: Path) -> str:
    """Export Firestore before the stack stops, so `up` brings every document back."""
    from dev.snapshot import export_firestore

    host = state.get("emulators", {}).get("firestore")
    if not host or not http_ok(f"http://{host}/", accept=lambda code: code == 200):
        return "Firestore was not running; the last periodic snapshot stays"
    try:
        return f"saved a Firestore snapshot: {export_firestore(host, state['project_id'], data_dir)}"
    except Exception as exc:  # noqa: BLE001 - still stop the stack; the periodic snapshot remains
        return f"could not snapshot Firestore ({exc}); the last periodic snapshot stays"


def _alive(state: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    procs = state_processes(state)
    return [p.name for p in procs if p.is_ours()], [p.name for p in procs if not p.is_ours()]


def stack_up(
    paths: StackPaths,
    gateway_port: int | None = DEFAULT_GATEWAY_PORT,
    manifest: Path = FUNCTIONS_MANIFEST,
    functions_dir: Path = FUNCTIONS_DIR,
    routes_file: Path = ROUTES_FILE,
    out: Any = sys.stdout,
) -> dict[str, Any]:
    started = time.time()
    t0 = time.monotonic()
    with _locked(paths):
        state = read_state(paths)
        if state is not None:
            _, dead = _alive(state)
            if not dead:
                out.write(f"stack already running: gateway {state['gateway_url']} (state {paths.state_file})\n")
                return state
            out.write(f"stack is partly down ({', '.join(dead)} gone); restarting only those\n")
            try:
                state = restart_missing(paths, state, dead, manifest, functions_dir)
                write_state(paths, state)
                out.write(f"restarted {', '.join(state['restarted'])}: gateway {state['gateway_url']}\n")
                warn_of_colliding_dedup_keys(state, out)
                return state
            except (StackError, PrereqError) as exc:
                out.write(f"could not restart them ({exc}); starting the whole stack again (its data is kept)\n")
            teardown(
                state_processes(state),
                Topology(project_id=state["project_id"]),
                state.get("emulators", {}).get("pubsub"),
            )
            paths.state_file.unlink(missing_ok=True)
        prereqs = check_prereqs()
        functions = load_functions(manifest, functions_dir)
        log_dir = paths.state_dir / "logs"
        emulators, emulator_probes = spawn_emulators(prereqs, log_dir, data_dir=data_dir_of(paths))
        services: Services | None = None
        snapshots: list[ManagedProcess] = []
        try:
            services = start_services(emulators, functions, paths.state_dir, gateway_port, routes_file, emulator_probes=emulator_probes)
            snapshots.append(launch_snapshotter(emulators, data_dir_of(paths), log_dir))
            took = time.monotonic() - t0
            state = build_state(emulators, services, started, took, snapshots)
            write_state(paths, state)
        except BaseException:
            teardown(
                emulators.processes + (services.processes if services else []) + snapshots,
                emulators.topology,
                emulators.pubsub_host,
            )
            raise
    if gateway_port and not services.gateway_url.endswith(f":{gateway_port}"):
        out.write(f"port {gateway_port} is taken; the gateway listens on {services.gateway_url} instead\n")
    out.write(
        f"stack up in {took:.1f}s: gateway {services.gateway_url}, {len(services.function_urls)} functions; state in {paths.state_file}\n"
    )
    warn_of_colliding_dedup_keys(state, out)
    return state


def warn_of_colliding_dedup_keys(state: Mapping[str, Any], out: Any) -> None:
    """Kept data may hold dedup keys for event ids a restarted Pub/Sub emulator hands out again (dev/dedup_check.py)."""
    from dev.dedup_check import warning_for

    try:
        message = warning_for(str(state["emulators"]["firestore"]), str(state["project_id"]),
                              str(state["buckets"]["uploads"]))
    except Exception as exc:  # noqa: BLE001 - a check must never stop the stack from coming up
        message = f"warning: could not check the kept dedup keys ({type(exc).__name__}: {exc})"
    if message:
        out.write(message + "\n")


def stack_down(paths: StackPaths, out: Any = sys.stdout) -> dict[str, Any]:
    with _locked(paths):
        state = read_state(paths)
        if state is None:
            out.write("no stack is recorded; nothing to stop\n")
            return {"stopped": []}
        out.write(snapshot_now(state, data_dir_of(paths)) + "\n")
        report = teardown(state_processes(state), Topology(project_id=state["project_id"]), state.get("emulators", {}).get("pubsub"))
        paths.state_file.unlink(missing_ok=True)
        for ready in paths.state_dir.glob("*.ready"):
            ready.unlink(missing_ok=True)
    for sub in report["deleted_push_subscriptions"]:
        out.write(f"deleted push subscription {sub}\n")
    if report["push_cleanup_error"]:
        out.write(f"could not delete push subscriptions: {report['push_cleanup_error']}\n")
    out.write(f"stopped {len(report['stopped'])} processes: {', '.join(report['stopped']) or '-'}\n")
    if report["left_behind"]:
        out.write(f"still running after SIGKILL: {', '.join(report['left_behind'])}\n")
    return report


def stack_reset(paths: StackPaths, out: Any = sys.stdout) -> dict[str, Any]:
    """`make reset`: stop the stack and forget its data, so the next `up` starts empty."""
    report = stack_down(paths, out)
    data_dir = data_dir_of(paths)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    out.write(f"removed the stack's data ({data_dir}); the next `make up` starts empty\n")
    return report


def stack_status(paths: StackPaths, out: Any = sys.stdout) -> int:
    state = read_state(paths)
    if state is None:
        out.write("stack: not running\n")
        return 3
    rows = []
    for proc in state_processes(state):
        url = state["functions"].get(proc.name) or (state["gateway_url"] if proc.name == "gateway" else "")
        alive = proc.is_ours()
        answers = ""
        if alive and url:
            probe = url + ("/_gateway/health" if proc.name == "gateway" else "/")
            answers = "answers" if http_ok(probe, accept=lambda s: True) else "NO ANSWER"
        rows.append((proc.name, str(proc.pid), "running" if alive else "DEAD", url, answers))
    width = max(len(r[0]) for r in rows)
    out.write(f"stack started {state.get('started_at')} in {state.get('startup_seconds')}s; gateway {state['gateway_url']}\n")
    for name, pid, status, url, answers in rows:
        out.write(f"  {name:<{width}}  pid {pid:>7}  {status:<7}  {url}  {answers}\n".rstrip() + "\n")
    healthy = all(r[2] == "running" and r[4] != "NO ANSWER" for r in rows)
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.stack", description="Run the local stack.")
    parser.add_argument("command", choices=["up", "down", "status", "reset"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where stack.json and logs go")
    parser.add_argument("--gateway-port", type=int, default=DEFAULT_GATEWAY_PORT, help="0 picks any free port")
    parser.add_argument("--functions-manifest", type=Path, default=FUNCTIONS_MANIFEST)
    parser.add_argument("--functions-dir", type=Path, default=FUNCTIONS_DIR)
    parser.add_argument("--routes", type=Path, default=ROUTES_FILE)
    args = parser.parse_args(argv)
    paths = StackPaths(args.state_dir.resolve())
    try:
        if args.command == "up":
            stack_up(
                paths,
                args.gateway_port or None,
                args.functions_manifest.resolve(),
                args.functions_dir.resolve(),
                args.routes.resolve(),
            )
            return 0
        if args.command == "down":
            report = stack_down(paths)
            return 1 if report.get("left_behind") else 0
        if args.command == "reset":
            report = stack_reset(paths)
            return 1 if report.get("left_behind") else 0
        return stack_status(paths)
    except (PrereqError, StackError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - a CLI answers with one line, the details are in the logs
        sys.stderr.write(f"stack {args.command} failed: {type(exc).__name__}: {exc}\nlogs are in {paths.state_dir / 'logs'}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

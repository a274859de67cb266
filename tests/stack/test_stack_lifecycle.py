"""`python -m dev.stack up|status|down`: clear prerequisite errors, a stack.json that says where everything runs,
and a teardown that deletes push subscriptions first and leaves no process behind."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from dev import stack as devstack
from dev.prereqs import PrereqError, check_prereqs
from dev.procs import ManagedProcess

REPO_ROOT = devstack.REPO_ROOT


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dev.stack", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
    )


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc.info["pid"])
        except (ProcessLookupError, PermissionError):
            continue
    return alive


def test_missing_emulators_and_java_give_one_clear_message_not_a_traceback(tmp_path: Path) -> None:
    env = {"CLOUDSDK_ROOT_DIR": str(tmp_path / "no-sdk"), "PATH": str(tmp_path / "no-bin"), "JAVA_HOME": ""}
    result = _cli("up", "--state-dir", str(tmp_path / "state"), "--gateway-port", "0", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "missing prerequisites" in result.stderr
    assert "Java 11+" in result.stderr
    assert "gcloud components install cloud-firestore-emulator pubsub-emulator beta" in result.stderr
    assert "google-cloud-cli-firestore-emulator" in result.stderr
    assert not (tmp_path / "state" / "stack.json").exists()


def test_prereq_check_names_a_missing_pubsub_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = tmp_path / "sdk"
    firestore = sdk / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
    firestore.parent.mkdir(parents=True)
    firestore.write_text("#!/bin/sh\n")
    firestore.chmod(0o755)
    monkeypatch.setenv("CLOUDSDK_ROOT_DIR", str(sdk))
    with pytest.raises(PrereqError) as caught:
        check_prereqs(create_tasks_venv=False)
    message = str(caught.value)
    assert "Pub/Sub emulator" in message
    assert "Firestore emulator" not in message


def test_up_writes_stack_json_and_down_leaves_no_process_behind(tmp_path: Path, throwaway_manifest_file: Path, throwaway_dir: Path) -> None:
    state_dir = tmp_path / "state"
    args = ["--state-dir", str(state_dir), "--gateway-port", "0"]
    started = time.monotonic()
    up = _cli(
        "up",
        *args,
        "--functions-manifest",
        str(throwaway_manifest_file),
        "--functions-dir",
        str(throwaway_dir),
        env={"RECORDER_FILE": str(tmp_path / "recorded.jsonl")},
    )
    took = time.monotonic() - started
    state_file = state_dir / "stack.json"
    try:
        assert up.returncode == 0, up.stderr
        state = json.loads(state_file.read_text())
        manifest = json.loads(throwaway_manifest_file.read_text())["functions"]
        assert set(state["functions"]) == {f["name"] for f in manifest}
        assert set(state["emulators"]) == {"firestore", "pubsub", "storage", "tasks"}
        assert state["project_id"] == "local-project"
        assert state["buckets"] == {"uploads": "local-uploads", "derived": "local-derived", "records": "local-records"}
        assert state["queue"] == "projects/local-project/locations/us-central1/queues/parse-commands"
        assert state["env"]["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")
        assert state["env"]["GATEWAY_URL"] == state["gateway_url"]
        assert requests.get(state["gateway_url"] + "/v1/artifacts", timeout=10).json()["function"] == "read-api"
        assert took < 60, f"startup took {took:.1f}s"

        status = _cli("status", *args)
        assert status.returncode == 0, status.stdout
        assert "DEAD" not in status.stdout and "NO ANSWER" not in status.stdout

        again = _cli("up", *args, "--functions-manifest", str(throwaway_manifest_file), "--functions-dir", str(throwaway_dir))
        assert again.returncode == 0 and "already running" in again.stdout
    finally:
        recorded = json.loads(state_file.read_text()) if state_file.exists() else {"processes": []}
        down = _cli("down", *args)

    assert down.returncode == 0, down.stderr + down.stdout
    assert "deleted push subscription projects/local-project/subscriptions/outbox-consumer-push" in down.stdout
    processes = [ManagedProcess.from_json(p) for p in recorded["processes"]]
    # 4 emulators, the finalize bridge, one deletion bridge per storage_delete consumer, the scheduler, the gateway,
    # the snapshots
    deletion_bridges = sum(f["trigger"] == "storage_delete" for f in manifest)
    assert deletion_bridges == 2
    assert len(processes) == len(manifest) + 8 + deletion_bridges
    assert {p.name: _group_alive(p.pid) for p in processes if _group_alive(p.pid)} == {}
    assert not any(p.is_ours() for p in processes)
    assert not state_file.exists()
    with pytest.raises(requests.ConnectionError):  # nothing listens on the gateway port any more
        requests.get(state["gateway_url"] + "/_gateway/health", timeout=5)
    assert _cli("status", *args).returncode == 3


def test_teardown_deletes_push_subscriptions_before_stopping_the_services(
    emulators: Any, tmp_path: Path, throwaway_functions: list[devstack.FunctionSpec]
) -> None:
    from google.api_core import exceptions as gexc
    from google.cloud import pubsub_v1

    from dev.provision import Topology, provision_base

    # A project and buckets of its own, so a `stack` running in this session keeps its own push subscription.
    topo = Topology(project_id="teardown-check", uploads_bucket="td-uploads", derived_bucket="td-derived", records_bucket="td-records")
    emu = dataclasses.replace(emulators.emulators, topology=topo, processes=[])
    provision_base(topo, emu.tasks_host)
    recorder_file = tmp_path / "pushed.jsonl"
    services = devstack.start_services(
        emu, throwaway_functions, tmp_path, gateway_port=None, extra_env={"RECORDER_FILE": str(recorder_file)}
    )
    push_name = topo.subscription_path(topo.consumer_push_subscription)
    subscriber = pubsub_v1.SubscriberClient()
    try:
        sub = subscriber.get_subscription(request={"subscription": push_name})
        consumer = services.function_urls["outbox-consumer"]
        assert sub.push_config.push_endpoint == f"{consumer}/projects/teardown-check/topics/ingestion-events"
        assert sub.dead_letter_policy.max_delivery_attempts == 5
        assert sub.dead_letter_policy.dead_letter_topic == topo.topic_path("ingestion-events-dlq")

        publisher = pubsub_v1.PublisherClient()
        publisher.publish(topo.topic_path(topo.events_topic), b'{"ok": true}', event_type="probe").result(timeout=10)
        deadline = time.monotonic() + 10
        while not recorder_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pushed = json.loads(recorder_file.read_text().splitlines()[0])
        assert pushed["attributes"]["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
        assert pushed["attributes"]["source"] == "//pubsub.googleapis.com/projects/teardown-check/topics/ingestion-events"

        report = devstack.teardown(services.processes, topo, emu.pubsub_host)
        assert report["deleted_push_subscriptions"] == [push_name]
        with pytest.raises(gexc.NotFound):
            subscriber.get_subscription(request={"subscription": push_name})
        assert report["left_behind"] == []
        assert not any(_group_alive(p.pid) for p in services.processes)
        assert all(p.is_ours() for p in emulators.emulators.processes)  # the session's emulators keep running
    finally:
        devstack.teardown(services.processes, topo, emu.pubsub_host)
        subscriber.close()

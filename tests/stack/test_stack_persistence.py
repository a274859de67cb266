"""The local stack keeps its data: documents and objects survive `down` / `up` and a crashed process; `up` restarts
only what is missing (on the same ports, with buckets, topics, subscriptions and the queue provisioned again);
`reset` starts empty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1, storage

from dev import stack as devstack

REPO_ROOT = devstack.REPO_ROOT


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dev.stack", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def _clients(state: dict[str, Any]) -> tuple[firestore.Client, storage.Client]:
    env = state["env"]
    with devstack.scoped_env({"FIRESTORE_EMULATOR_HOST": env["FIRESTORE_EMULATOR_HOST"]}):  # the client reads only this
        db = firestore.Client(project=state["project_id"], credentials=AnonymousCredentials())
    gcs = storage.Client(project=state["project_id"], credentials=AnonymousCredentials(),
                         client_options={"api_endpoint": env["STORAGE_EMULATOR_HOST"]})
    return db, gcs


def _read(state: dict[str, Any]) -> tuple[dict[str, Any] | None, bytes | None]:
    db, gcs = _clients(state)
    doc = db.collection("tenants").document("keep").collection("artifacts").document("a1").get().to_dict()
    blob = gcs.bucket("local-uploads").get_blob("keep/object.bin")
    return doc, blob.download_as_bytes() if blob else None


def _kill(state: dict[str, Any], name: str) -> int:
    pid = int(state["pids"][name])
    os.killpg(pid, signal.SIGKILL)  # a process group this test's stack started
    psutil.wait_procs([psutil.Process(pid)], timeout=15) if psutil.pid_exists(pid) else None
    return pid


def test_data_survives_down_up_and_a_partial_crash_and_reset_starts_empty(
    tmp_path: Path, throwaway_manifest_file: Path, throwaway_dir: Path
) -> None:
    state_dir = tmp_path / "state"
    args = ["--state-dir", str(state_dir), "--gateway-port", "0"]
    up_args = [*args, "--functions-manifest", str(throwaway_manifest_file), "--functions-dir", str(throwaway_dir)]
    state_file = state_dir / "stack.json"
    try:
        first = _cli("up", *up_args)
        assert first.returncode == 0, first.stderr
        state = json.loads(state_file.read_text())
        assert "firestore-snapshot" in state["pids"]
        db, gcs = _clients(state)
        db.collection("tenants").document("keep").collection("artifacts").document("a1").set({"state": "PENDING"})
        gcs.bucket("local-uploads").blob("keep/object.bin").upload_from_string(b"kept bytes")

        down = _cli("down", *args)
        assert down.returncode == 0 and "saved a Firestore snapshot" in down.stdout, down.stdout + down.stderr
        again = _cli("up", *up_args)
        assert again.returncode == 0, again.stderr
        state = json.loads(state_file.read_text())
        assert _read(state) == ({"state": "PENDING"}, b"kept bytes")

        # A partial crash: one function, the Firestore and the Pub/Sub emulators die; `up` restarts only those.
        bridges = {n for n in state["pids"] if n.startswith("eventarc-bridge")}  # finalize's and each deletion consumer's
        assert len(bridges) == 3
        killed = {"read-api", "firestore-emulator", "pubsub-emulator"}
        survivors = {n: p for n, p in state["pids"].items() if n not in killed | bridges}
        for name in ("read-api", "firestore-emulator", "pubsub-emulator"):
            _kill(state, name)
        partial = _cli("up", *up_args)
        assert partial.returncode == 0 and "restarting only those" in partial.stdout, partial.stdout + partial.stderr
        state = json.loads(state_file.read_text())
        assert {n: state["pids"][n] for n in survivors} == survivors  # nothing else was restarted
        assert set(state["restarted"]) == killed | bridges  # the bridges pull from the restarted Pub/Sub
        assert state["emulators"]["firestore"] == state["env"]["FIRESTORE_EMULATOR_HOST"]  # same ports as before
        assert _read(state) == ({"state": "PENDING"}, b"kept bytes")  # from the last snapshot and the disk backend
        status = _cli("status", *args)
        assert status.returncode == 0, status.stdout
        topo = devstack.Topology(project_id=state["project_id"])
        with devstack.scoped_env({"PUBSUB_EMULATOR_HOST": state["env"]["PUBSUB_EMULATOR_HOST"]}):
            subscriber = pubsub_v1.SubscriberClient()
            for sub in (topo.consumer_push_subscription, topo.bridge_subscription, topo.events_tap_subscription):
                # provisioned again on the restarted emulator
                subscriber.get_subscription(request={"subscription": topo.subscription_path(sub)}, timeout=10)
            subscriber.close()

        reset = _cli("reset", *args)
        assert reset.returncode == 0 and "starts empty" in reset.stdout, reset.stdout + reset.stderr
        assert not (state_dir / "data").exists()
        fresh = _cli("up", *up_args)
        assert fresh.returncode == 0, fresh.stderr
        assert _read(json.loads(state_file.read_text())) == (None, None)
    finally:
        _cli("down", *args)

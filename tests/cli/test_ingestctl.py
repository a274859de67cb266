"""ingestctl as a user runs it: the installed console script in a subprocess, against the local stack's gateway.

Every command, `--json` output, exit codes (0 done, 1 failed, 2 usage), one-line errors with error_code and
execution_id, the 0600 token file, and an upload killed with a signal mid-way that resumes from its committed offset."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

MIB = 1024 * 1024
SCRIPT = Path(sys.executable).parent / "ingestctl"
CSV = b"sku,qty,price\nA-1,3,9.99\nB-2,5,1.50\nC-3,1,100\n"


class Cli:
    def __init__(self, api: str, config: Path, cwd: Path):
        self.api, self.config, self.cwd = api, config, cwd
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(config), "NO_COLOR": "1", "COLUMNS": "200"}
        self.env.pop("INGEST_API", None)

    def argv(self, *args: str) -> list[str]:
        return [str(SCRIPT), "--api", self.api, *args]

    def __call__(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env, cwd=self.cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def json(self, *args: str) -> list[dict]:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), env={**self.env, **(env or {})}, cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


@pytest.fixture
def cli(stack, tmp_path) -> Cli:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: `make install` installs the ingestctl console script", pytrace=False)
    tool = Cli(stack.gateway_url, tmp_path / "config", tmp_path)
    done = tool("login", "--tenant", "cli-tenant", "--user", "ann", "--session", f"cli-{time.monotonic_ns()}")
    assert done.returncode == 0, done.stderr
    return tool


def test_login_keeps_the_token_private_and_refuses_bad_usage(stack, tmp_path):
    tool = Cli(stack.gateway_url, tmp_path / "cfg", tmp_path)
    signed = tool.json("login", "--tenant", "t-login", "--user", "bob", "--session", "s1")[0]
    assert (signed["tenant"], signed["user"], signed["session"]) == ("t-login", "bob", "s1")
    token_file = Path(signed["credentials_file"])
    assert token_file.parent.parent == tmp_path / "cfg" and (token_file.stat().st_mode & 0o777) == 0o600

    missing = tool("login", "--tenant", "t-login")
    assert missing.returncode == 2 and "--user" in missing.stderr
    bad = tool("login", "--token", "not-a-token")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "error_code=" in bad.stderr and "execution_id=" in bad.stderr
    unknown = tool("frobnicate")
    assert unknown.returncode == 2
    for done in (missing, bad, unknown):
        no_traceback(done)

    stranger = Cli(stack.gateway_url, tmp_path / "nobody", tmp_path)
    refused = stranger("ls")
    assert refused.returncode == 1 and "ingestctl login" in refused.stderr
    unreachable = Cli("http://127.0.0.1:9", tmp_path / "cfg", tmp_path)("ls")
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("error:")
    no_traceback(refused)
    no_traceback(unreachable)


def test_upload_parse_follow_save_and_read_back(cli, tmp_path):
    folder = tmp_path / "batch"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.csv").write_bytes(CSV)
    (folder / "nested" / "b.csv").write_bytes(CSV + b"D-4,2,3.00\n")
    (folder / ".hidden.csv").write_bytes(b"x,y\n1,2\n")

    lines = cli.json("upload", str(folder), "--profile", "structured", "--wait", "--save")
    assert len(lines) == 2  # one object per file, hidden files skipped
    for line in lines:
        assert line["upload_id"] and line["file_id"] and line["execution_id"]
        assert line["status"] == "completed" and line["upload_status"] == "ingested"
        assert line["saved"] == [line["file_id"], line["parsed_artifact_id"]]
    first = next(x for x in lines if x["path"].endswith("a.csv"))

    listed = cli.json("ls")[0]["artifacts"]
    assert {x["file_id"] for x in lines} | {x["parsed_artifact_id"] for x in lines} <= {a["artifact_id"] for a in listed}
    execution = cli.json("status", first["execution_id"], "--wait")[0]
    assert execution["status"] == "completed" and execution["stages"]
    chain = cli.json("lineage", first["parsed_artifact_id"])[0]["chain"]
    assert [h["artifact_id"] for h in chain] == [first["parsed_artifact_id"], first["file_id"]]

    target = tmp_path / "back.csv"
    got = cli.json("get", first["file_id"], "--download", str(target))[0]
    assert got["lifecycle_state"] == "READY" and target.read_bytes() == CSV

    human = cli("status", first["execution_id"])
    assert human.returncode == 0 and "completed" in human.stdout


def test_get_download_regenerates_an_expired_parse_byte_for_byte(cli, tmp_path):
    from datetime import timedelta

    from shared.bootstrap import get_services
    from shared.domain.models import utcnow

    (tmp_path / "rows.csv").write_bytes(CSV + b"F-6,4,2.25\n")
    parsed_id = cli.json("upload", str(tmp_path / "rows.csv"), "--profile", "structured", "--wait")[0][
        "parsed_artifact_id"]
    recorded = {o["sha256"] for o in cli.json("get", parsed_id)[0]["outputs"]}
    store = get_services().store  # the stack's Firestore: its expiry is a day away, so move it to the past
    parsed = store.get_artifact("cli-tenant", parsed_id)
    store.run_in_transaction(lambda tx: tx.put_artifact(parsed.model_copy(update={
        "expires_at": utcnow() - timedelta(seconds=1)})))

    refused = cli("get", parsed_id, "--download", str(tmp_path / "no"), "--no-regenerate")
    assert refused.returncode == 1 and "error_code=PAYLOAD_EXPIRED" in refused.stderr
    no_traceback(refused)
    got = cli.json("get", parsed_id, "--download", str(tmp_path / "back"))[0]

    assert got["regenerated_from"] == parsed_id and got["artifact_id"] != parsed_id
    assert got["lineage"]["regenerated_from"] == parsed_id and got["lineage"]["reproduced"] is True
    written = {hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest() for item in got["downloaded"]}
    assert written <= recorded and len(written) == len(got["downloaded"]) > 0  # the same bytes, from storage


def test_parse_pending_save_and_delete_one_by_one(cli, tmp_path):
    data = tmp_path / "orders.csv"
    data.write_bytes(CSV + b"E-5,9,0.10\n")
    uploaded = cli.json("upload", str(tmp_path / "*.csv"))[0]
    assert uploaded["status"] == "ingested" and "execution_id" not in uploaded
    file_id = uploaded["file_id"]

    assert cli.json("pending")[0]["intents"] == []
    parsed = cli.json("parse", file_id, "--profile", "structured", "--wait")[0]
    assert parsed["status"] == "completed" and parsed["artifact_id"]

    refused = cli("delete", file_id)  # a live parsed artifact derives from it
    assert refused.returncode == 1 and "error_code=HAS_DERIVED_ARTIFACTS" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    no_traceback(refused)
    assert cli.json("delete", parsed["artifact_id"])[0]
    assert cli.json("save", file_id)[0]["lifecycle_state"] == "READY"

    unknown = cli("status", "exec_does_not_exist")
    assert unknown.returncode == 1 and "error_code=" in unknown.stderr
    no_match = cli("upload", str(tmp_path / "*.parquet"))
    assert no_match.returncode == 2 and "no files match" in no_match.stderr
    no_traceback(unknown)
    no_traceback(no_match)


def test_an_upload_killed_mid_way_resumes_from_its_committed_offset(cli, tmp_path):
    big = tmp_path / "big.bin"
    content = os.urandom(40 * MIB)
    big.write_bytes(content)
    states = cli.config / "ingestctl" / "uploads"

    # Killed with SIGKILL after its second chunk committed (the CLI's fault seam sends the signal to itself, so the
    # kill lands between chunks: the emulator cannot report a committed offset for a chunk cut mid-way).
    run = cli.popen("upload", str(big), "--json", "--chunk-size", "8", env={"INGESTCTL_FAULT_KILL_AFTER_CHUNKS": "2"})
    run.communicate(timeout=120)
    committed = max((json.loads(f.read_text()).get("committed", 0) for f in states.glob("*.json")), default=0)
    assert run.returncode == -signal.SIGKILL, "the upload finished before it could be interrupted"
    assert 0 < committed < len(content)

    resumed = cli.json("upload", str(big), "--chunk-size", "8")[0]
    assert resumed["upload_status"] == "ingested" and resumed["resumed_from"] >= committed
    assert resumed["bytes_sent"] == len(content) - resumed["resumed_from"]
    artifact = cli.json("get", resumed["file_id"])[0]
    assert artifact["file_hash"] == f"sha256:{hashlib.sha256(content).hexdigest()}"
    assert artifact["file_size"] == len(content)
    assert list(states.glob("*.json")) == []  # nothing left to resume
    files = [a for a in cli.json("ls", "--type", "file", "--all")[0]["artifacts"] if a.get("ui_name") == "big.bin"]
    assert [a["artifact_id"] for a in files] == [resumed["file_id"]]


# ---- journeys and dead letters ------------------------------------------------------------------------------------
def _file(cli: Cli, tmp_path, name: str, extra: bytes = b"") -> str:
    path = tmp_path / name
    path.write_bytes(CSV + extra)
    uploaded = cli.json("upload", str(path))[0]
    assert uploaded["status"] == "ingested", uploaded
    return str(uploaded["file_id"])


def test_a_journey_started_watched_approved_and_another_cancelled(cli, tmp_path):
    file_id = _file(cli, tmp_path, "j1.csv", b"J-1,1,1.00\n")
    waiting = cli.json("journey", "start", file_id, "--profile", "structured", "--watch")[0]
    assert waiting["status"] == "awaiting_approval", waiting
    assert [s["name"] for s in waiting["steps"]][:4] == ["ingest", "select_profile", "parse", "approval"]

    pending = cli.json("journey", "ls", "--pending")[0]["journeys"]
    assert waiting["journey_id"] in [j["journey_id"] for j in pending]
    assert all(j["status"] == "awaiting_approval" for j in pending)

    approved = cli.json("journey", "approve", waiting["journey_id"])[0]
    assert approved["approved"] is True
    done = cli.json("journey", "watch", waiting["journey_id"])[0]
    assert done["status"] == "completed", done
    assert done["journey_id"] not in [j["journey_id"] for j in cli.json("journey", "ls", "--pending")[0]["journeys"]]
    parsed = done["artifacts"]["parsed_content"]
    assert cli.json("get", parsed)[0]["lifecycle_state"] == "READY"

    other = _file(cli, tmp_path, "j2.csv", b"J-2,2,2.00\n")
    second = cli.json("journey", "start", other, "--profile", "structured", "--watch")[0]
    cancelled = cli.json("journey", "cancel", second["journey_id"])[0]
    assert cancelled["status"] == "cancelled"
    human = cli("journey", "show", second["journey_id"])
    assert human.returncode == 0 and "cancelled" in human.stdout


def test_dead_letters_need_the_operator_role(stack, cli, tmp_path):
    refused = cli("dlq", "ls")
    assert refused.returncode == 1 and "error_code=OPERATOR_REQUIRED" in refused.stderr
    no_traceback(refused)
    operator = Cli(stack.gateway_url, tmp_path / "ops-config", tmp_path)
    signed = operator("login", "--tenant", "cli-tenant", "--user", "olga", "--role", "operator",
                      "--session", f"ops-{time.monotonic_ns()}")
    assert signed.returncode == 0, signed.stderr
    listed = operator.json("dlq", "ls", "--since", "1h")[0]
    assert listed["count"] == len(listed["dead_letters"])
    replayed = operator.json("dlq", "replay", "--since", "1h")[0]
    assert replayed["count"] == len(replayed["replayed"]) and replayed["execution_id"]
    usage = operator("dlq", "replay")
    assert usage.returncode == 2 and "--since" in usage.stderr


def test_partners_and_acknowledgements(cli, tmp_path, token_factory):
    """Register a partner from a JSON file, read our AS2 identity, ingest its interchange inline, list what was
    acknowledged, and remove it; bad input is exit 1 with the error code, never a traceback."""
    from tests.as2.partner import key_pair

    _, cert = key_pair("cli-partner")
    (tmp_path / "partner.pem").write_bytes(cert)
    (tmp_path / "acme.json").write_text(json.dumps({
        "partner_id": "acme", "name": "Acme Health", "standard": "x12", "acknowledgements": ["TA1", "997"],
        "interchange_ids": [{"qualifier": "ZZ", "id": "D00XXX"}], "as2": {"as2_id": "ACME"}}))
    added = cli.json("partners", "add", "acme.json", "--signing-cert", "partner.pem", "--encryption-cert",
                     "partner.pem")[0]
    assert added["partner_id"] == "acme" and added["as2"]["as2_id"] == "ACME"
    assert [p["partner_id"] for p in cli.json("partners", "ls")[0]["partners"]] == ["acme"]
    identity = cli.json("partners", "identity", "--cert-out", "ours.pem")[0]
    assert identity["as2_id"] == "INGEST-cli-tenant" and "PRIVATE" not in (tmp_path / "ours.pem").read_text()

    x12 = (Path(__file__).resolve().parents[1] / "corpus" / "edi" / "pyx12_834_lui_id.x12").read_bytes()
    (tmp_path / "834.x12").write_bytes(x12)
    done = cli("upload", "834.x12", "--json")
    assert done.returncode == 0, done.stderr  # an upload is not partner EDI: no acknowledgement
    assert cli.json("acks")[0]["acknowledgements"] == []
    # The partner's interchange, inline (ingest_file edi), as a partner integration posts it.
    posted = requests.post(f"{cli.api}/v1/intents/ingest_file", timeout=60, json={"parameters": {
        "ui_name": "834.x12", "ingestion_type": "edi", "edi_data": x12.hex(), "partner_id": "acme"}},
        headers={"Authorization": f"Bearer {token_factory('cli-tenant', 'ann', 'edi')}"})
    assert posted.status_code == 201, posted.text
    listed = cli.json("acks", "--partner", "acme", "--control", "000701336")[0]["acknowledgements"]
    assert sorted((a["kind"], a["status"]) for a in listed) == [("997", "accepted"), ("TA1", "accepted")]
    human = cli("acks")
    assert human.returncode == 0 and "2 acknowledgement(s)" in human.stdout and "997" in human.stdout

    bad = cli("partners", "add", "partner.pem")
    assert bad.returncode == 1 and "not a JSON partner description" in bad.stderr
    no_traceback(bad)
    missing = cli("partners", "show", "nobody")
    assert missing.returncode == 1 and "PARTNER_NOT_FOUND" in missing.stderr
    no_traceback(missing)
    assert cli.json("partners", "rm", "acme")[0]["deleted"] is True
    assert cli.json("partners", "ls")[0]["partners"] == []

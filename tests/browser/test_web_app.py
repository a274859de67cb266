"""The web app in a real Chromium against the local stack: the whole journey through the page, a refresh in the
middle of an upload, the 413 path, another tenant seeing nothing, and a pending intent resumed from another browser."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from dev.token import mint_token

FILE_TOO_LARGE = "File size exceeds 100MB limit. Maximum allowed size is 100MB."
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
PARSE_TIMEOUT_MS = 90_000
SAVE_TIMEOUT_MS = 30_000  # a save copies the payload server-side; on a busy 2-core machine that can take seconds
CSV = "name,city,amount\n" + "".join(f"person{i},city{i % 7},{i * 3}\n" for i in range(200))

pytestmark = pytest.mark.browser


def _tenant() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"


def sign_in(page: Any, app_url: str, tenant: str, user: str) -> None:
    page.goto(app_url)
    page.get_by_test_id("tenant-input").fill(tenant)
    page.get_by_test_id("user-input").fill(user)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(f"{user} @ {tenant}")


def write_file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def upload_and_wait_ingested(page: Any, path: Path) -> str:
    """Picks the file, waits for the ingest; returns the file id the service gave it."""
    page.get_by_test_id("file-input").set_input_files(str(path))
    row = page.get_by_test_id("upload-row").filter(has_text=path.name)
    expect(row.get_by_test_id("upload-status")).to_have_text("ingested", timeout=60_000)
    uploads = page.evaluate("() => JSON.parse(localStorage.getItem('content-ingestion.uploads.v1'))")
    (upload,) = [u for u in uploads.values() if u["name"] == path.name]
    return str(upload["file_id"])


def artifact_item(page: Any, artifact_type: str) -> Any:
    return page.locator(f'[data-testid="artifact-item"][data-artifact-type="{artifact_type}"]')


def test_whole_journey_sign_in_upload_choose_profile_parse_save_and_lineage(
    new_page: Callable[[], Any], app_url: str, tmp_path: Path
) -> None:
    page = new_page()
    sign_in(page, app_url, _tenant(), "alice")
    page.get_by_test_id("profile-select").select_option("structured")
    file_id = upload_and_wait_ingested(page, write_file(tmp_path, "people.csv", CSV))

    expect(page.get_by_test_id("upload-progress")).to_have_attribute("value", str(len(CSV)))
    execution = page.get_by_test_id("execution-row")
    expect(execution.get_by_test_id("execution-status")).to_have_text("completed", timeout=PARSE_TIMEOUT_MS)
    expect(execution.get_by_test_id("execution-stages")).to_contain_text("complete_execution")

    # The parsed artifact: working material, its rows previewed, its lineage back to the uploaded file.
    expect(artifact_item(page, "parsed_content")).to_have_count(1, timeout=15_000)
    artifact_item(page, "parsed_content").click()
    detail = page.get_by_test_id("artifact-detail")
    expect(detail.get_by_test_id("artifact-state")).to_have_text("PENDING")
    # A structured preview is a table of the first rows under the parsed schema.
    columns = detail.get_by_test_id("preview-table").get_by_test_id("preview-column")
    expect(columns).to_have_count(3)
    expect(columns.nth(0)).to_have_attribute("data-column", "name")
    expect(columns.nth(1)).to_have_attribute("data-column", "city")
    expect(detail.get_by_test_id("preview-row")).to_have_count(20)
    expect(detail.get_by_test_id("preview-row").nth(1)).to_contain_text("person1city1")
    expect(detail.get_by_test_id("preview-caption")).to_contain_text("of 200 rows")
    entries = detail.get_by_test_id("lineage").get_by_test_id("lineage-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("generation 1: parsed_content")
    expect(entries.nth(1)).to_have_attribute("data-artifact-id", file_id)
    expect(entries.nth(1)).to_contain_text("generation 0: file")

    # Save: the source file first (a record never rests on working material), then the parsed content.
    artifact_item(page, "file").click()
    expect(page.get_by_test_id("artifact-detail")).to_have_attribute("data-artifact-id", file_id)
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("artifact-state")).to_have_text("READY", timeout=SAVE_TIMEOUT_MS)
    artifact_item(page, "parsed_content").click()
    expect(page.get_by_test_id("artifact-state")).to_have_text("PENDING")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("artifact-state")).to_have_text("READY", timeout=SAVE_TIMEOUT_MS)
    expect(page.get_by_test_id("save-button")).to_be_disabled()
    expect(page.get_by_test_id("lineage").get_by_test_id("lineage-entry").nth(1)).to_contain_text("(READY)")
    expect(page.get_by_test_id("error")).to_have_count(0)


def _throttle_uploads(page: Any, bytes_per_second: int) -> Any:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second})
    return cdp


def _stored_uploads(page: Any) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(localStorage.getItem('content-ingestion.uploads.v1') || '{}')")


def test_a_refresh_in_the_middle_of_an_upload_resumes_the_same_upload(new_page: Callable[[], Any], app_url: str, tmp_path: Path) -> None:
    page = new_page()
    sign_in(page, app_url, _tenant(), "alice")
    path = write_file(tmp_path, "large.csv", (CSV * 200)[: 3 * 1024 * 1024])
    cdp = _throttle_uploads(page, 256 * 1024)
    page.get_by_test_id("file-input").set_input_files(str(path))
    expect(page.get_by_test_id("upload-status")).to_have_text("uploading")
    page.wait_for_function("() => { const p = document.querySelector('[data-testid=upload-progress]'); return p && p.value > 0 }")
    (before,) = _stored_uploads(page).values()

    page.reload()  # the browser drops the request in flight; the session stays in localStorage
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    row = page.get_by_test_id("upload-row")
    expect(row.get_by_test_id("upload-status")).to_have_text("paused")
    expect(row).to_have_attribute("data-upload-id", before["upload_id"])

    page.get_by_test_id("file-input").set_input_files(str(path))  # the same file again: the same upload goes on
    expect(row.get_by_test_id("upload-status")).to_have_text("ingested", timeout=60_000)
    expect(page.get_by_test_id("upload-row")).to_have_count(1)
    (after,) = _stored_uploads(page).values()
    assert after["upload_id"] == before["upload_id"] and after["file_id"]
    expect(artifact_item(page, "file")).to_have_count(1, timeout=15_000)


def test_resumable_upload_goes_on_from_the_committed_offset_after_a_refresh(
    new_page: Callable[[], Any], app_url: str, stack: Any, tmp_path: Path
) -> None:
    tenant = _tenant()
    probe_size = 32 * 1024 * 1024
    probe = requests.post(f"{stack.gateway_url}/v1/intents/request_upload", timeout=30,
                          headers={"Authorization": f"Bearer {mint_token(tenant, 'probe')}"},
                          json={"parameters": {"ui_name": "probe.bin", "file_size": probe_size, "mime_type": "application/octet-stream"}})
    assert probe.status_code == 201, probe.text
    if probe.json().get("upload_protocol") != "resumable":
        pytest.skip(f"request_upload answers {probe.json().get('upload_protocol', 'single_put')!r} for {probe_size} bytes on this "
                    "branch: the resumable protocol is not served yet, so there is no session to resume")
    chunk = int(probe.json()["chunk_size"])
    size = min(2 * chunk + 4096, MAX_UPLOAD_BYTES)
    page = new_page()
    sign_in(page, app_url, tenant, "alice")
    path = write_file(tmp_path, "big.bin", os.urandom(size))
    ranges: list[str] = []
    page.on("request", lambda r: r.method == "PUT" and ranges.append(r.headers.get("content-range", "")))
    cdp = _throttle_uploads(page, 4 * 1024 * 1024)
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.wait_for_function("() => Object.values(JSON.parse(localStorage.getItem('content-ingestion.uploads.v1') || '{}'))"
                           ".some(u => u.committed > 0)", timeout=60_000)
    (before,) = _stored_uploads(page).values()
    assert before["protocol"] == "resumable"
    page.reload()
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    expect(page.get_by_test_id("upload-status")).to_have_text("paused")
    ranges.clear()
    with page.expect_response(lambda r: r.url.endswith(f"/v1/uploads/{before['upload_id']}/resume")) as resumed:
        page.get_by_test_id("file-input").set_input_files(str(path))
    committed = int(resumed.value.json()["committed_bytes"])
    expect(page.get_by_test_id("upload-status")).to_have_text("ingested", timeout=90_000)
    # The page goes on from the offset the service read from the session (GCS keeps it; the storage emulator
    # cannot be queried, so there the service opens a fresh session and answers 0), never from a guess of its own.
    assert ranges and ranges[0].startswith(f"bytes {committed}-"), (committed, ranges)
    assert all(r.startswith("bytes ") for r in ranges)
    (after,) = _stored_uploads(page).values()
    assert after["upload_id"] == before["upload_id"] and after["file_id"]


def test_a_file_over_100_mb_is_refused_before_any_upload_with_the_413_message(
    new_page: Callable[[], Any], app_url: str, stack: Any, tmp_path: Path
) -> None:
    tenant = _tenant()
    page = new_page()
    sign_in(page, app_url, tenant, "alice")
    big = tmp_path / "too-big.bin"
    with big.open("wb") as fh:  # sparse: no 100 MB written to disk
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}"))
    page.get_by_test_id("file-input").set_input_files(str(big))
    expect(page.get_by_test_id("error")).to_have_text(FILE_TOO_LARGE)
    assert not [s for s in sent if "request_upload" in s or s.startswith("PUT ")], sent
    expect(page.get_by_test_id("upload-row")).to_have_count(0)
    # The service refuses the same size with the same words (413), so the page shows exactly what the API would say.
    parameters = {"ui_name": big.name, "file_size": big.stat().st_size, "mime_type": "application/octet-stream"}
    answer = requests.post(f"{stack.gateway_url}/v1/intents/request_upload", timeout=30,
                           headers={"Authorization": f"Bearer {mint_token(tenant, 'alice')}"}, json={"parameters": parameters})
    assert answer.status_code == 413 and answer.json()["error"] == FILE_TOO_LARGE


def _upload_and_choose_profile_later(page: Any, tmp_path: Path, name: str) -> str:
    file_id = upload_and_wait_ingested(page, write_file(tmp_path, name, CSV))
    row = page.get_by_test_id("upload-row").filter(has_text=name)
    row.get_by_test_id("later-profile-select").select_option("structured")
    row.get_by_test_id("choose-profile").click()
    pending = page.get_by_test_id("pending-intents").get_by_test_id("pending-intent")
    expect(pending.filter(has_text=file_id)).to_have_count(1)
    return file_id


def test_another_tenant_sees_none_of_the_first_tenants_files_or_intents(
    new_page: Callable[[], Any], app_url: str, tmp_path: Path
) -> None:
    first = new_page()
    sign_in(first, app_url, _tenant(), "alice")
    file_id = _upload_and_choose_profile_later(first, tmp_path, "secret.csv")

    other = new_page()
    sign_in(other, app_url, _tenant(), "mallory")
    expect(other.get_by_test_id("artifact-list")).to_contain_text("No artifacts.")
    expect(other.get_by_test_id("artifact-item")).to_have_count(0)
    expect(other.get_by_test_id("pending-intents")).to_contain_text("No pending intents.")
    expect(other.get_by_test_id("pending-intent")).to_have_count(0)
    # Even by its id, the other tenant's file is simply not there.
    other.goto(f"{app_url}#artifact={file_id}")
    expect(other.get_by_test_id("error")).to_contain_text("not found")
    expect(other.get_by_test_id("artifact-detail")).to_have_count(0)


def test_a_pending_intent_chosen_in_one_browser_is_resumed_from_another(
    new_page: Callable[[], Any], app_url: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    yesterday = new_page()
    sign_in(yesterday, app_url, tenant, "alice")
    file_id = _upload_and_choose_profile_later(yesterday, tmp_path, "tomorrow.csv")
    yesterday.context.close()  # the first browser is gone, and its session with it

    today = new_page()
    sign_in(today, app_url, tenant, "bob")
    intent = today.get_by_test_id("pending-intent").filter(has_text=file_id)
    expect(intent).to_contain_text("structured")
    expect(today.get_by_test_id("upload-row")).to_have_count(0)  # nothing of the other browser's local state
    intent.get_by_test_id("resume-intent").click()
    expect(today.get_by_test_id("execution-status")).to_have_text("completed", timeout=PARSE_TIMEOUT_MS)
    expect(today.get_by_test_id("pending-intent").filter(has_text=file_id)).to_have_count(0)
    expect(artifact_item(today, "parsed_content")).to_have_count(1, timeout=15_000)
    token = today.evaluate("() => JSON.parse(sessionStorage.getItem('content-ingestion.session.v1')).token")
    assert json.loads(_jwt_payload(token))["sub"] == "bob"


def _jwt_payload(token: str) -> str:
    import base64

    body = token.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def _journey_row(page: Any, journey_id: str) -> Any:
    return page.locator(f'[data-testid="journey-row"][data-journey-id="{journey_id}"]')


def test_a_journey_started_in_the_app_waits_for_approval_then_saves_and_another_is_cancelled(
    new_page: Callable[[], Any], app_url: str, tmp_path: Path
) -> None:
    page = new_page()
    sign_in(page, app_url, _tenant(), "alice")
    file_id = upload_and_wait_ingested(page, write_file(tmp_path, "journey.csv", CSV))
    expect(page.locator(f'[data-testid="journey-file-select"] option[value="{file_id}"]')).to_have_count(1, timeout=15_000)
    page.get_by_test_id("journey-file-select").select_option(file_id)
    page.get_by_test_id("journey-profile-select").select_option("structured")
    page.get_by_test_id("journey-save-select").select_option("manual")
    with page.expect_response(lambda r: r.url.endswith("/v1/journeys") and r.request.method == "POST") as started:
        page.get_by_test_id("start-journey").click()
    journey_id = started.value.json()["journey_id"]

    # It parses, then waits for a person: it shows among the pending approvals, with nothing saved yet.
    approval = page.locator(f'[data-testid="pending-approval"][data-journey-id="{journey_id}"]')
    expect(approval).to_have_count(1, timeout=PARSE_TIMEOUT_MS)
    row = _journey_row(page, journey_id)
    expect(row.get_by_test_id("journey-status")).to_have_text("awaiting_approval")
    expect(row.locator('[data-step="parse"]')).to_have_attribute("data-status", "completed")
    expect(row.locator('[data-step="approval"]')).to_have_attribute("data-status", "waiting")
    expect(artifact_item(page, "parsed_content")).to_have_count(1, timeout=15_000)

    approval.get_by_test_id("approve-journey").click()
    expect(row.get_by_test_id("journey-status")).to_have_text("completed", timeout=PARSE_TIMEOUT_MS)
    expect(approval).to_have_count(0)
    expect(row.locator('[data-step="save_parsed_content"]')).to_have_attribute("data-status", "completed")
    artifact_item(page, "parsed_content").click()
    expect(page.get_by_test_id("artifact-state")).to_have_text("READY", timeout=15_000)

    # A second journey, on another file, cancelled while it waits: nothing is saved, and it leaves the approvals.
    second_file = upload_and_wait_ingested(page, write_file(tmp_path, "second.csv", CSV + "extra,row,1\n"))
    expect(page.locator(f'[data-testid="journey-file-select"] option[value="{second_file}"]')).to_have_count(1, timeout=15_000)
    page.get_by_test_id("journey-file-select").select_option(second_file)
    with page.expect_response(lambda r: r.url.endswith("/v1/journeys") and r.request.method == "POST") as second:
        page.get_by_test_id("start-journey").click()
    other = second.value.json()["journey_id"]
    waiting = page.locator(f'[data-testid="pending-approval"][data-journey-id="{other}"]')
    expect(waiting).to_have_count(1, timeout=PARSE_TIMEOUT_MS)
    waiting.get_by_test_id("cancel-journey").click()
    expect(_journey_row(page, other).get_by_test_id("journey-status")).to_have_text("cancelled", timeout=30_000)
    expect(waiting).to_have_count(0)
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_a_parsed_artifact_is_saved_with_its_source_in_one_click(new_page: Callable[[], Any], app_url: str, tmp_path: Path) -> None:
    page = new_page()
    sign_in(page, app_url, _tenant(), "alice")
    page.get_by_test_id("profile-select").select_option("structured")
    file_id = upload_and_wait_ingested(page, write_file(tmp_path, "source.csv", CSV))
    expect(page.get_by_test_id("execution-row").get_by_test_id("execution-status")).to_have_text("completed", timeout=PARSE_TIMEOUT_MS)
    expect(artifact_item(page, "parsed_content")).to_have_count(1, timeout=15_000)
    artifact_item(page, "parsed_content").click()
    detail = page.get_by_test_id("artifact-detail")
    expect(detail.get_by_test_id("source-not-saved")).to_contain_text(file_id)

    detail.get_by_test_id("save-with-source").click()
    expect(detail.get_by_test_id("artifact-state")).to_have_text("READY", timeout=30_000)
    expect(detail.get_by_test_id("save-with-source")).to_have_count(0)
    expect(detail.get_by_test_id("lineage").get_by_test_id("lineage-entry").nth(1)).to_contain_text("(READY)")
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_an_expired_parse_is_regenerated_from_its_page(new_page: Callable[[], Any], app_url: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from shared.bootstrap import get_services
    from shared.domain.models import utcnow

    tenant = _tenant()
    page = new_page()
    sign_in(page, app_url, tenant, "alice")
    page.get_by_test_id("profile-select").select_option("structured")
    upload_and_wait_ingested(page, write_file(tmp_path, "expiring.csv", CSV))
    expect(page.get_by_test_id("execution-row").get_by_test_id("execution-status")).to_have_text("completed", timeout=PARSE_TIMEOUT_MS)
    expect(artifact_item(page, "parsed_content")).to_have_count(1, timeout=15_000)
    parsed_id = artifact_item(page, "parsed_content").get_attribute("data-artifact-id")
    store = get_services().store  # the stack's Firestore: the parse's expiry moves to the past
    parsed = store.get_artifact(tenant, parsed_id)
    store.run_in_transaction(lambda tx: tx.put_artifact(parsed.model_copy(update={"expires_at": utcnow() - timedelta(seconds=1)})))

    artifact_item(page, "parsed_content").first.click()
    detail = page.get_by_test_id("artifact-detail")
    expect(detail.get_by_test_id("payload-expired")).to_contain_text("rebuilds it")
    detail.get_by_test_id("regenerate-button").click()

    rebuilt = page.locator(f'[data-testid="artifact-detail"]:not([data-artifact-id="{parsed_id}"])')
    expect(rebuilt).to_have_count(1, timeout=PARSE_TIMEOUT_MS)
    expect(rebuilt.get_by_test_id("lineage").get_by_test_id("lineage-entry").first).to_contain_text("parsed_content")
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_the_partner_view_shows_partners_our_identity_and_the_acknowledgements_sent(
    new_page: Callable[[], Any], stack: Any, app_url: str
) -> None:
    tenant = _tenant()
    auth = {"Authorization": f"Bearer {mint_token(tenant, 'integration')}"}
    created = requests.post(f"{stack.gateway_url}/v1/partners", timeout=30, headers=auth, json={
        "partner_id": "acme", "name": "Acme Health", "standard": "x12", "acknowledgements": ["TA1", "997"],
        "interchange_ids": [{"qualifier": "ZZ", "id": "D00XXX"}]})
    assert created.status_code == 201, created.text
    x12 = (Path(__file__).resolve().parents[1] / "corpus" / "edi" / "pyx12_834_lui_id.x12").read_bytes()
    posted = requests.post(f"{stack.gateway_url}/v1/intents/ingest_file", timeout=60, headers=auth, json={
        "parameters": {"ui_name": "834.x12", "ingestion_type": "edi", "edi_data": x12.hex(), "partner_id": "acme"}})
    assert posted.status_code == 201, posted.text

    page = new_page()
    sign_in(page, app_url, tenant, "alice")
    section = page.get_by_test_id("partners-section")
    partner = section.locator('[data-testid="partner-row"][data-partner-id="acme"]')
    expect(partner).to_contain_text("Acme Health")
    expect(partner.get_by_test_id("partner-acks")).to_have_text("TA1, 997")
    expect(section.get_by_test_id("as2-identity")).to_contain_text(f"INGEST-{tenant}")
    acks = section.get_by_test_id("ack-row")
    expect(acks).to_have_count(2)
    expect(section.locator('[data-testid="ack-row"][data-kind="997"]').get_by_test_id("ack-status")).to_have_text("accepted")

    section.locator('[data-testid="ack-row"][data-kind="997"]').get_by_test_id("ack-open").click()
    expect(page.get_by_test_id("artifact-detail")).to_contain_text("acknowledgement", timeout=15_000)
    expect(page.get_by_test_id("error")).to_have_count(0)

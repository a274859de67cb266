"""The seed's journey as a saga on the whole local stack, through the gateway: the platform alone (Eventarc bridge,
Pub/Sub push to the consumer, Cloud Tasks to the worker) carries it from a signed upload to the user's approval and
on to records of fact; another session cancels a second journey and its derived material is discarded."""

from __future__ import annotations

from tests.journey.test_journey import CSV, Api, upload

DONE = ("completed", "failed", "cancelled")


def test_a_manual_journey_from_signed_upload_waits_for_approval_then_saves(stack, fresh_state, token_factory):
    api = Api(stack.gateway_url, token_factory("saga-t", "ann", "monday"))
    up = upload(api, CSV)
    started = api("POST", "/v1/journeys", json={"upload_id": up["upload_id"], "ingestion_profile": "structured"})
    assert started.status_code == 201, started.text
    journey_id = started.json()["journey_id"]
    waiting = api.wait(f"/v1/journeys/{journey_id}", lambda b: b["status"] != "running", timeout=90)
    assert waiting["status"] == "awaiting_approval", waiting
    parsed_id = waiting["artifacts"]["parsed_content"]
    assert api("GET", f"/v1/artifacts/{parsed_id}").json()["lifecycle_state"] == "PENDING"

    tuesday = Api(stack.gateway_url, token_factory("saga-t", "ann", "tuesday"))
    assert tuesday("POST", f"/v1/journeys/{journey_id}/approve").status_code == 200
    done = tuesday.wait(f"/v1/journeys/{journey_id}", lambda b: b["status"] in DONE, timeout=90)
    assert done["status"] == "completed", done
    for step in done["steps"]:
        execution = tuesday("GET", f"/v1/executions/{step['execution_id']}").json()
        assert execution["status"] == "completed", (step, execution)
    assert tuesday("GET", f"/v1/artifacts/{parsed_id}").json()["lifecycle_state"] == "READY"
    other = Api(stack.gateway_url, token_factory("someone-else", "eve", "s"))
    assert other("GET", f"/v1/journeys/{journey_id}").status_code == 404


def test_cancelling_a_journey_discards_its_parsed_working_material(stack, fresh_state, token_factory):
    api = Api(stack.gateway_url, token_factory("saga-t", "bob", "s1"))
    up = upload(api, CSV)
    file_id = api.wait(f"/v1/uploads/{up['upload_id']}", lambda b: b["status"] != "awaiting_upload")["file_id"]
    journey_id = api("POST", "/v1/journeys", json={"file_id": file_id, "ingestion_profile": "structured"}).json()["journey_id"]
    waiting = api.wait(f"/v1/journeys/{journey_id}", lambda b: b["status"] != "running", timeout=90)
    assert waiting["status"] == "awaiting_approval", waiting
    assert api("POST", f"/v1/journeys/{journey_id}/cancel").json()["status"] == "cancelled"
    done = api.wait(f"/v1/journeys/{journey_id}", lambda b: b["compensation"] == "done", timeout=60)
    parse = next(s for s in done["steps"] if s["name"] == "parse")
    assert parse["compensation"] == "done"
    assert api("GET", f"/v1/artifacts/{parse['artifact_id']}").json()["lifecycle_state"] == "DELETED"
    assert api("GET", f"/v1/artifacts/{file_id}").json()["lifecycle_state"] == "PENDING"

"""Adopted reads on the emulator: a document read outside a transaction and adopted by one is not read again, and
the commit writes it only if it is still the version read. This is what lets finalize and save drop their second
read without losing the guard the second read gave."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.models import Upload, utcnow
from shared.ports import RecordChanged


def _upload(upload_id: str = "up-1", **changes) -> Upload:
    return Upload(upload_id=upload_id, tenant_id="tenant-a", session_id="s1", bucket="b", object_name="o",
                  ui_name="a.csv", filename="a.csv", mime_type="text/csv", declared_size=8, execution_id="exec-1",
                  expires_at=utcnow() + timedelta(days=1), **changes)


@pytest.mark.parametrize("blind", [False, True])
def test_a_write_to_an_adopted_document_fails_whole_if_another_writer_moved_it_since(services, blind):
    store = services.store
    store.write_batch(lambda tx: tx.put_upload(_upload()))
    read = store.read_upload("tenant-a", "up-1")
    assert read is not None and read.value.reason is None
    store.write_batch(lambda tx: tx.put_upload(_upload(reason="the other writer")))  # moves it after the read

    def step(tx):
        current = tx.adopt_upload(read)
        tx.put_upload(current.model_copy(update={"reason": "stale"}))
        tx.put_upload(_upload("up-2"))  # another write of the same commit

    with pytest.raises(RecordChanged):
        (store.write_batch if blind else store.run_in_transaction)(step)
    assert store.get_upload("tenant-a", "up-1").reason == "the other writer"  # not overwritten
    assert store.get_upload("tenant-a", "up-2") is None  # and nothing else of that commit was written

    fresh = store.read_upload("tenant-a", "up-1")
    commit = store.write_batch if blind else store.run_in_transaction
    commit(lambda tx: tx.put_upload(tx.adopt_upload(fresh).model_copy(update={"reason": "on the version read"})))
    assert store.get_upload("tenant-a", "up-1").reason == "on the version read"


def test_an_adopted_document_is_not_read_again_and_a_blind_commit_refuses_any_read(services):
    from dev.firestore_meter import FirestoreMeter

    store = services.store
    store.write_batch(lambda tx: tx.put_upload(_upload("up-3")))
    read = store.read_upload("tenant-a", "up-3")
    with FirestoreMeter() as meter:
        seen = store.run_in_transaction(lambda tx: (tx.adopt_upload(read), tx.get_upload("tenant-a", "up-3"))[1])[0]
    assert seen == read.value and meter.reads == 0
    with pytest.raises(RuntimeError, match="reads nothing"):
        store.write_batch(lambda tx: tx.get_upload("tenant-a", "up-3"))

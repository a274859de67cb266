import hashlib

import pytest

from shared.domain.errors import ValidationFailed
from shared.domain.filenames import sanitize_filename
from shared.domain.ids import command_id_for, content_fingerprint, event_id_for, file_id_for
from shared.domain.intents import IngestFileParams, ParseContentParams, RequestUploadParams
from shared.runtime.validation import validate


def test_fingerprint_is_sha256_of_content_then_session():
    h = hashlib.sha256(b"hello")
    assert content_fingerprint(h, "s1") == hashlib.sha256(b"hellos1").hexdigest()
    assert h.hexdigest() == hashlib.sha256(b"hello").hexdigest()  # the content hash itself is untouched


def test_file_id_depends_on_tenant_and_fingerprint_only():
    assert file_id_for("t1", "fp") == file_id_for("t1", "fp")
    assert file_id_for("t1", "fp") != file_id_for("t2", "fp")
    assert file_id_for("t1", "fp") != file_id_for("t1", "fp2")


def test_event_and_command_ids_are_stable_and_task_name_safe():
    assert event_id_for("artifact_ingested", "t", "a") == event_id_for("artifact_ingested", "t", "a")
    cid = command_id_for("parse_content", "t", "i", "e")
    assert cid == command_id_for("parse_content", "t", "i", "e")
    assert all(c.isalnum() or c in "-_" for c in cid) and len(cid) <= 500


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"file_content": "00"}, "MISSING_UI_NAME"),
        ({"ui_name": "a"}, "MISSING_FILE_CONTENT"),
        ({"ui_name": "a", "ingestion_type": "fax", "file_content": "00"}, "INVALID_INGESTION_TYPE"),
        ({"ui_name": "a", "ingestion_type": "edi", "edi_data": "00"}, "MISSING_PARTNER_ID"),
        ({"ui_name": "a", "ingestion_type": "api"}, "MISSING_API_PAYLOAD"),
        ({"ui_name": "a", "file_content": "00", "surprise": 1}, "UNKNOWN_FIELD"),
    ],
)
def test_ingest_file_validation_names_the_problem(params, code):
    with pytest.raises(ValidationFailed) as err:
        validate(IngestFileParams, params)
    assert err.value.code == code
    assert isinstance(err.value, ValidationFailed)


def test_ingest_file_defaults_follow_the_seed():
    p = validate(IngestFileParams, {"ui_name": "a", "file_content": "00"})
    assert (p.ingestion_type, p.file_type, p.mime_type, p.edi_protocol, p.api_type) == (
        "upload", "unstructured", "application/octet-stream", "as2", "rest")


def test_request_upload_rejects_bad_mime_and_zero_size():
    with pytest.raises(ValidationFailed) as err:
        validate(RequestUploadParams, {"ui_name": "a", "file_size": 0, "mime_type": "text/csv"})
    assert err.value.code == "INVALID_FILE_SIZE"
    with pytest.raises(ValidationFailed):
        validate(RequestUploadParams, {"ui_name": "a", "file_size": 3, "mime_type": "not a mime"})


def test_unknown_profile_is_a_422():
    with pytest.raises(ValidationFailed) as err:
        validate(ParseContentParams, {"file_id": "f", "ingestion_profile": "magic"})
    assert err.value.code == "INVALID_INGESTION_PROFILE"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1fc.csv", "abc.csv"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("Cafe\u0301.txt", "Café.txt"),
        ("", "file"),
        ("..", "file"),
    ],
)
def test_hostile_filenames_become_plain_names(raw, expected):
    assert sanitize_filename(raw) == expected


def test_long_filename_keeps_its_extension_within_255():
    name = sanitize_filename("x" * 1000 + ".csv")
    assert len(name) <= 255 and name.endswith(".csv")

"""The local dev issuer: its own RSA keys, made once per checkout under .local/dev-issuer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KEY_DIR = REPO_ROOT / ".local" / "dev-issuer"
DEV_ISSUER = "https://dev-issuer.local"
DEV_AUDIENCE = "ingestion-local"
DEV_KEY_ID = "dev-issuer-1"
DEV_SIGNER_EMAIL = "local-signer@local-project.iam.gserviceaccount.com"


@dataclass(frozen=True)
class DevKeys:
    private_key_file: Path
    public_key_file: Path
    signing_key_file: Path  # service-account-style key that signs V4 URLs locally


def _new_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def ensure_dev_keys(key_dir: Path = DEFAULT_KEY_DIR) -> DevKeys:
    """Create the keys on first use; later calls return the same files."""
    key_dir.mkdir(parents=True, exist_ok=True)
    keys = DevKeys(key_dir / "issuer-private.pem", key_dir / "issuer-public.pem", key_dir / "signer-key.json")
    if not keys.private_key_file.exists():
        _write_private(keys.private_key_file, _new_private_pem())
    if not keys.public_key_file.exists():
        keys.public_key_file.write_bytes(_public_pem(keys.private_key_file.read_bytes()))
    if not keys.signing_key_file.exists():
        signer = {
            "type": "service_account",
            "project_id": "local-project",
            "private_key_id": "local-signer-1",
            "private_key": _new_private_pem().decode(),
            "client_email": DEV_SIGNER_EMAIL,
            "client_id": "0",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        _write_private(keys.signing_key_file, json.dumps(signer).encode())
    return keys

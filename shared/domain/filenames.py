"""Client-supplied names are metadata only; they never become object names. Still, keep them printable and short."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 255


def sanitize_filename(raw: str | None, fallback: str = "file") -> str:
    """NFC-normalise, drop control characters and path parts, trim to 255 characters."""
    if not raw:
        return fallback
    text = unicodedata.normalize("NFC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        keep = ext if dot and 0 < len(ext) <= 16 else ""
        text = (stem if keep else text)[: MAX_NAME_LENGTH - len(keep) - 1].rstrip() + (f".{keep}" if keep else "")
    return text or fallback

"""ZIP containers read from their first bytes: the local file headers' entry names and the ODF `mimetype` entry."""

from __future__ import annotations

import struct


def local_zip_names(head: bytes) -> list[str]:
    """Entry names from the local file headers in the head: enough to tell OOXML and ODF apart before the central
    directory (at the end) is read."""
    names = []
    position = head.find(b"PK\x03\x04")
    while 0 <= position and position + 30 <= len(head):
        name_length, extra_length = struct.unpack_from("<HH", head, position + 26)
        raw = head[position + 30 : position + 30 + name_length]
        names.append(raw.decode("utf-8", "replace"))
        position = head.find(b"PK\x03\x04", position + 30 + name_length + extra_length)
    return names


def zip_mimetype(head: bytes) -> str:
    """The ODF `mimetype` entry, stored uncompressed first in the archive by the ODF specification."""
    if head[30:38] == b"mimetype":
        name_length, extra_length = struct.unpack_from("<HH", head, 26)
        size = struct.unpack_from("<I", head, 18)[0]
        start = 30 + name_length + extra_length
        return head[start : start + min(size, 200)].decode("ascii", "replace").strip()
    return ""

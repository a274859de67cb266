"""Compound File Binary (OLE) containers, read just far enough to name their streams: legacy XLS, DOC and PPT, and
password-protected OOXML (an `EncryptedPackage` stream). The directory may sit anywhere in the file, often at its
end, so it is found through the header and the FAT as [MS-CFB] lays them out, never by searching the head.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, NamedTuple

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER = 512
_END_OF_CHAIN = 0xFFFFFFFE
_MAX_SECTOR = 0xFFFFFFFA
_MAX_DIRECTORY_SECTORS = 4096  # 16 MiB of directory at 4 KiB sectors: far more than any real file has
_ENTRY = 128
_FILEPASS = 0x002F  # BIFF record that starts the encryption header of a password-protected workbook
_BOF = 0x0809


class OleEntry(NamedTuple):
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


class _Compound:
    def __init__(self, stream: BinaryIO, header: bytes) -> None:
        self.stream = stream
        self.sector_size = 1 << struct.unpack_from("<H", header, 0x1E)[0]
        if self.sector_size not in (512, 4096):
            raise ValueError("sector size")
        self.mini_cutoff = struct.unpack_from("<I", header, 0x38)[0]
        self.fat_sectors = [sector for sector in struct.unpack_from("<109I", header, 0x4C) if sector <= _MAX_SECTOR]
        difat, count = struct.unpack_from("<II", header, 0x44)
        seen: set[int] = set()
        while difat <= _MAX_SECTOR and count > 0 and difat not in seen:  # FAT sectors past the first 109
            seen.add(difat)
            block = self.sector(difat)
            ids = struct.unpack(f"<{self.sector_size // 4}I", block)
            self.fat_sectors.extend(sector for sector in ids[:-1] if sector <= _MAX_SECTOR)
            difat, count = ids[-1], count - 1

    def sector(self, number: int) -> bytes:
        self.stream.seek((number + 1) * self.sector_size)
        block = self.stream.read(self.sector_size)
        if len(block) < self.sector_size:
            raise ValueError("sector past the end of the file")
        return block

    def next(self, number: int) -> int:
        per_sector = self.sector_size // 4
        index = number // per_sector
        if index >= len(self.fat_sectors):
            raise ValueError("sector outside the FAT")
        self.stream.seek((self.fat_sectors[index] + 1) * self.sector_size + (number % per_sector) * 4)
        raw = self.stream.read(4)
        if len(raw) < 4:
            raise ValueError("FAT past the end of the file")
        return int(struct.unpack("<I", raw)[0])

    def chain(self, start: int, limit: int) -> list[int]:
        sectors: list[int] = []
        seen: set[int] = set()
        current = start
        while current <= _MAX_SECTOR and len(sectors) < limit:
            if current in seen:
                raise ValueError("a sector chain loops")
            seen.add(current)
            sectors.append(current)
            current = self.next(current)
        return sectors

    def mini_start(self, header: bytes, root_start: int, start: int, size: int) -> bytes:
        """The first `size` bytes of a stream kept in the mini stream (64-byte sectors inside the root entry's stream)."""
        mini_size = 1 << struct.unpack_from("<H", header, 0x20)[0]
        mini_fat = b"".join(self.sector(number) for number in self.chain(struct.unpack_from("<I", header, 0x3C)[0], 64))
        root = self.chain(root_start, 1 << 16)
        data = b""
        current, seen = start, set()
        while current <= _MAX_SECTOR and len(data) < size and current not in seen:
            seen.add(current)
            offset = current * mini_size
            index, within = divmod(offset, self.sector_size)
            if index >= len(root):
                raise ValueError("mini sector outside the mini stream")
            data += self.sector(root[index])[within : within + mini_size]
            if (current + 1) * 4 > len(mini_fat):
                break
            current = struct.unpack_from("<I", mini_fat, current * 4)[0]
        return data


def ole_entries(stream: BinaryIO) -> list[OleEntry]:
    """The directory entries of a compound file (empty when it is damaged). Seeks anywhere: callers seek back."""
    stream.seek(0)
    header = stream.read(_HEADER)
    if len(header) < _HEADER or not header.startswith(OLE_MAGIC):
        return []
    try:
        compound = _Compound(stream, header)
        entries = []
        first = struct.unpack_from("<I", header, 0x30)[0]
        for number in compound.chain(first, _MAX_DIRECTORY_SECTORS):
            block = compound.sector(number)
            for offset in range(0, len(block), _ENTRY):
                raw = block[offset : offset + _ENTRY]
                length = struct.unpack_from("<H", raw, 0x40)[0]
                kind = raw[0x42]
                if kind not in (1, 2, 5) or not 2 <= length <= 64:
                    continue
                name = raw[: length - 2].decode("utf-16-le", "replace")
                start, size = struct.unpack_from("<IQ", raw, 0x74)
                entries.append(OleEntry(name, kind, start, size))
        return entries
    except (ValueError, struct.error, OSError):
        return []


def xls_is_encrypted(stream: BinaryIO) -> bool:
    """Whether the workbook stream of a legacy XLS opens with a FILEPASS record: it is password-protected (BIFF8
    writes FILEPASS right after the globals' BOF; a few records are read to allow for BIFF5 writers)."""
    entries = {entry.name.lower(): entry for entry in ole_entries(stream)}
    book = entries.get("workbook") or entries.get("book")
    if book is None or book.kind != 2:
        return False
    stream.seek(0)
    header = stream.read(_HEADER)
    try:
        compound = _Compound(stream, header)
        if book.size < compound.mini_cutoff:  # a small workbook lives in the mini stream
            root = next(entry for entry in entries.values() if entry.kind == 5)
            data = compound.mini_start(header, root.start, book.start, 1024)
        else:
            data = b"".join(compound.sector(number) for number in compound.chain(book.start, 2))
    except (ValueError, struct.error, OSError, StopIteration):
        return False
    position = 0
    for _ in range(8):
        if position + 4 > len(data):
            break
        record, length = struct.unpack_from("<HH", data, position)
        if record == _FILEPASS:
            return True
        if position == 0 and record != _BOF:
            return False
        position += 4 + length
    return False

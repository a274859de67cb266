"""Each parse attempt reads the source through a cursor of its own: an attempt that was given up (a re-read) may
leave pyarrow's read-ahead thread still reading, and through one shared stream those reads moved the next attempt's
position (seen as a header of the wrong width, now and then, in the ISTAT leading-zeros test)."""

from __future__ import annotations

import io
import threading

from shared.parsing.streams import GuardedSource

DATA = bytes(range(256)) * 64


def test_a_stray_read_of_an_abandoned_attempt_does_not_move_the_next_attempts_position() -> None:
    source = GuardedSource(io.BytesIO(DATA))
    abandoned, current = source.cursor(), source.cursor()
    abandoned.read(100)
    current.seek(0)
    abandoned.read(1000)  # its read-ahead goes on after the new attempt rewound
    assert current.read(5) == DATA[:5]
    assert current.tell() == 5 and abandoned.tell() == 1100
    current.seek(-3, io.SEEK_END)
    assert current.read() == DATA[-3:]


def test_cursors_read_their_own_bytes_while_another_thread_reads_the_same_source() -> None:
    source = GuardedSource(io.BytesIO(DATA))
    stray = source.cursor()
    stop = threading.Event()

    def read_ahead() -> None:
        while not stop.is_set():
            stray.seek(0)
            stray.read(997)

    thread = threading.Thread(target=read_ahead)
    thread.start()
    try:
        mine = source.cursor()
        chunks = []
        while block := mine.read(1009):
            chunks.append(block)
    finally:
        stop.set()
        thread.join()
    assert b"".join(chunks) == DATA

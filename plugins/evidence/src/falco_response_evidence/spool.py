"""Keeping the last N bytes of a stream of any length in a fixed-size temporary file.

Logs are read as a stream and written round a ring of ``limit`` bytes on disk, so a 2 GB log
costs ``limit`` bytes of disk and one read buffer of memory, and what is kept is its tail
(the newest lines, where an intrusion shows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

CHUNK = 64 * 1024


class TailSpool:
    def __init__(self, limit: int, directory: str | None = None) -> None:
        self.limit = limit
        self.file: IO[bytes] = tempfile.TemporaryFile(dir=directory)
        self.written = 0        # bytes seen in total

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        if len(view) >= self.limit:            # only the last `limit` bytes can survive
            self.written += len(view) - self.limit
            view = view[len(view) - self.limit:]
        while view:
            pos = self.written % self.limit
            room = self.limit - pos
            piece = view[:room]
            self.file.seek(pos)
            self.file.write(piece)
            self.written += len(piece)
            view = view[len(piece):]

    @property
    def size(self) -> int:
        return min(self.written, self.limit)

    @property
    def truncated(self) -> bool:
        return self.written > self.limit

    def chunks(self) -> Iterator[bytes]:
        """The kept bytes, oldest first."""
        if self.written <= self.limit:
            spans = [(0, self.written)]
        else:
            start = self.written % self.limit
            spans = [(start, self.limit), (0, start)]
        for begin, end in spans:
            self.file.seek(begin)
            left = end - begin
            while left > 0:
                data = self.file.read(min(CHUNK, left))
                if not data:
                    break
                left -= len(data)
                yield data

    def close(self) -> None:
        self.file.close()

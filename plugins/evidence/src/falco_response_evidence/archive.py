"""The evidence archive: a ``tar.gz`` written to a temporary file member by member, each
member's sha256 and size noted, and ``manifest.json`` added last."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

import msgspec

_encode = msgspec.json.Encoder(order="sorted").encode


class _Chunks(io.RawIOBase):
    """A readable file over an iterator of chunks, hashing what is read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self.sha.update(self._buf[:n])
        self._buf = self._buf[n:]
        return n


class Archive:
    def __init__(self, directory: str | None = None, mtime: float | None = None) -> None:
        self.file: IO[bytes] = tempfile.NamedTemporaryFile(dir=directory, suffix=".tar.gz",
                                                           prefix=".evidence-", delete=False)
        self.path = self.file.name
        self._tar = tarfile.open(fileobj=self.file, mode="w:gz", format=tarfile.PAX_FORMAT)
        self.entries: list[dict[str, Any]] = []
        self.total = 0
        self.mtime = mtime if mtime is not None else time.time()

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(self.mtime), 0o444
        return info

    def add_bytes(self, name: str, data: bytes, **note: Any) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self._note(name, len(data), hashlib.sha256(data).hexdigest(), note)

    def add_json(self, name: str, value: Any, **note: Any) -> None:
        self.add_bytes(name, _encode(value), **note)

    def add_stream(self, name: str, size: int, chunks: Iterable[bytes], **note: Any) -> None:
        reader = _Chunks(chunks)
        self._tar.addfile(self._info(name, size), io.BufferedReader(reader, 64 * 1024))
        self._note(name, size, reader.sha.hexdigest(), note)

    def _note(self, name: str, size: int, sha256: str, note: dict[str, Any]) -> None:
        self.total += size
        self.entries.append({"name": name, "size": size, "sha256": sha256,
                             **{k: v for k, v in note.items() if v is not None}})

    def finish(self, manifest: dict[str, Any]) -> tuple[int, str]:
        """Add ``manifest.json`` (with the file list), close; (archive size, its sha256)."""
        manifest["files"] = list(self.entries)
        data = msgspec.json.format(_encode(manifest), indent=2)
        self._tar.addfile(self._info("manifest.json", len(data)), io.BytesIO(data))
        self._tar.close()
        self.file.flush()
        size = self.file.tell()
        self.file.seek(0)
        sha = hashlib.sha256()
        for block in iter(lambda: self.file.read(1024 * 1024), b""):
            sha.update(block)
        self.file.close()
        return size, sha.hexdigest()

    def discard(self) -> None:
        import os

        try:
            self._tar.close()
        except Exception:
            pass
        self.file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

"""Artifact bytes on disk: one file per artifact, written to a temporary name and renamed.

Bodies are streamed in chunks (up to 100 MB each, many at once), and a PUT that is cut
short leaves the previous upload, if any, untouched: a repeated PUT overwrites atomically.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class ShortBody(Exception):
    """The request body ended before the declared number of bytes."""

    def __init__(self, received: int) -> None:
        super().__init__(f"body ended after {received} bytes")
        self.received = received


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, artifact_id: str) -> Path:
        # Fan out on the id's last two hex digits (storage.new_id): small directories.
        return self.root / artifact_id[-2:] / artifact_id

    def write(self, artifact_id: str, stream: BinaryIO, size: int) -> str:
        """Store exactly ``size`` bytes read from ``stream``; returns their SHA-256."""
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=artifact_id + ".")
        received = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while received < size:
                    chunk = stream.read(min(CHUNK, size - received))
                    if not chunk:
                        raise ShortBody(received)
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            target = self.path(artifact_id)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def open(self, artifact_id: str) -> BinaryIO:
        return self.path(artifact_id).open("rb")

    def read(self, artifact_id: str) -> bytes:
        return self.path(artifact_id).read_bytes()

    def exists(self, artifact_id: str) -> bool:
        return self.path(artifact_id).is_file()

    def delete(self, artifact_id: str) -> None:
        self.path(artifact_id).unlink(missing_ok=True)

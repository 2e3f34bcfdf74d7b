"""The upload journal: what was asked of the server, and what it answered.

The API's creates are not idempotent and nothing lists what was created (af-api.md
reading note 9), so exactly-once needs memory. Before every create the journal records
the intent (durably: the commit is fsync'd); after it, the server's id. A later run of
the same upload reads this back: an id means "done, reuse it"; an intent without an id
means the create may or may not have happened -- it is *in doubt*.

One SQLite file (WAL, ``synchronous=FULL``, mode 0600) can hold many uploads, each keyed
by its identity (API URL, project, label, and the sha256 of every input). A lock file
beside it keeps a second process from working on the same journal at the same time.
It never stores the API key or presigned URLs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from junit2af.errors import JournalLockedError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    identity    TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    run_id      TEXT,
    state       TEXT NOT NULL,          -- 'open' or 'complete'
    description TEXT NOT NULL,          -- JSON: url, project, label, inputs (no key)
    created_at  REAL NOT NULL,
    PRIMARY KEY (identity, generation)
);
CREATE TABLE IF NOT EXISTS ops (
    upload      TEXT NOT NULL,          -- identity/generation
    op_key      TEXT NOT NULL,          -- e.g. 'result:<test name>'
    state       TEXT NOT NULL,          -- intent | done | uploaded | confirmed
    server_id   TEXT,
    sends       INTEGER NOT NULL DEFAULT 0,
    in_doubt    INTEGER NOT NULL DEFAULT 0,  -- resends after an unknown outcome, ever
    attempt     INTEGER NOT NULL DEFAULT 0,  -- bumped when an object is deleted and redone
    PRIMARY KEY (upload, op_key)
);
"""


@dataclass(frozen=True)
class OpState:
    state: str
    server_id: str | None
    sends: int
    attempt: int


def upload_identity(api_url: str, project_id: str, label: str, input_digests: list[str]) -> str:
    """The identity of an upload: the same inputs to the same place make the same upload."""
    material = json.dumps(
        [api_url.rstrip("/"), project_id, label, sorted(input_digests)], separators=(",", ":")
    )
    return hashlib.sha256(material.encode()).hexdigest()


class Journal:
    """Thread-safe access to one upload's entries in a journal file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_handle = self._take_lock()
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        if not created:
            os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # every commit reaches the disk
        self._db.executescript(_SCHEMA)
        # A second connection for the states that are harmless to redo: its commits do
        # not wait for the disk (WAL keeps them ordered with the durable ones).
        self._fast = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._fast.execute("PRAGMA synchronous=NORMAL")
        for suffix in ("-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            if side.exists():
                os.chmod(side, 0o600)
        self._mutex = threading.Lock()
        self.upload: str | None = None

    def _take_lock(self) -> Any:
        lock_path = Path(f"{self.path}.lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the journal's lifetime
        os.chmod(lock_path, 0o600)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise JournalLockedError(
                f"another junit2af process is uploading with the journal {self.path}; "
                "wait for it to finish (or use --journal to pick another file)"
            ) from None
        return handle

    def close(self) -> None:
        with self._mutex:
            self._fast.close()
            self._db.close()
        fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
        self._lock_handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the upload ---------------------------------------------------------------

    def open_upload(
        self, identity: str, description: dict[str, Any], *, new_run: bool
    ) -> tuple[str | None, str]:
        """Select the upload to work on: (its run id if known, its state).

        The latest generation of ``identity`` is resumed; ``new_run`` starts a new one.
        """
        with self._mutex:
            row = self._db.execute(
                "SELECT generation, run_id, state FROM uploads WHERE identity=? "
                "ORDER BY generation DESC LIMIT 1",
                (identity,),
            ).fetchone()
            if row is not None and not new_run:
                self.upload = f"{identity}/{row[0]}"
                return row[1], row[2]
            generation = 0 if row is None else row[0] + 1
            self._db.execute(
                "INSERT INTO uploads VALUES (?, ?, NULL, 'open', ?, ?)",
                (identity, generation, json.dumps(description), time.time()),
            )
            self.upload = f"{identity}/{generation}"
            return None, "open"

    def set_run(self, run_id: str) -> None:
        identity, generation = self._upload_parts()
        with self._mutex:
            self._db.execute(
                "UPDATE uploads SET run_id=? WHERE identity=? AND generation=?",
                (run_id, identity, generation),
            )

    def mark_complete(self) -> None:
        identity, generation = self._upload_parts()
        with self._mutex:
            self._db.execute(
                "UPDATE uploads SET state='complete' WHERE identity=? AND generation=?",
                (identity, generation),
            )

    def _upload_parts(self) -> tuple[str, int]:
        assert self.upload is not None, "open_upload first"
        identity, generation = self.upload.rsplit("/", 1)
        return identity, int(generation)

    # -- operations -----------------------------------------------------------------

    def get(self, op_key: str) -> OpState | None:
        with self._mutex:
            row = self._db.execute(
                "SELECT state, server_id, sends, attempt FROM ops WHERE upload=? AND op_key=?",
                (self.upload, op_key),
            ).fetchone()
        return OpState(*row) if row else None

    def resent_creates(self) -> int:
        """Creates of this upload sent more than once: each may have made a duplicate."""
        with self._mutex:
            row = self._db.execute(
                "SELECT COALESCE(SUM(in_doubt), 0) FROM ops WHERE upload=?", (self.upload,)
            ).fetchone()
        return int(row[0])

    def server_id(self, op_key: str) -> str | None:
        state = self.get(op_key)
        return state.server_id if state else None

    def load_all(self) -> dict[str, OpState]:
        """Every operation of this upload (read once at resume)."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT op_key, state, server_id, sends, attempt FROM ops WHERE upload=?",
                (self.upload,),
            ).fetchall()
        return {row[0]: OpState(*row[1:]) for row in rows}

    def intent(self, op_key: str, attempt: int) -> None:
        """Durably record that a create is about to be sent (before sending it)."""
        with self._mutex:
            self._db.execute(
                "INSERT INTO ops (upload, op_key, state, sends, attempt) "
                "VALUES (?, ?, 'intent', 1, ?) ON CONFLICT (upload, op_key) DO UPDATE SET "
                "state='intent', server_id=NULL, attempt=excluded.attempt, "
                # An intent still open for the same attempt: that send's outcome is
                # unknown, so this one may duplicate it. A new attempt is a deliberate new
                # object (the old one was deleted) and keeps the count it had.
                "in_doubt=in_doubt + (state='intent' AND attempt=excluded.attempt), "
                "sends=CASE WHEN attempt=excluded.attempt THEN sends+1 ELSE 1 END",
                (self.upload, op_key, attempt),
            )

    def record(self, op_key: str, state: str, server_id: str | None = None) -> None:
        """Record an operation's new state (and the server's id for it).

        A server id is written durably (fsync): losing it would turn a done create into
        one in doubt. Other states (update sent, artifact uploaded or confirmed) are
        written without waiting for the disk: redoing them is harmless, and a killed
        process loses nothing the OS already holds -- only a power cut could.
        """
        connection = self._db if server_id is not None else self._fast
        with self._mutex:
            connection.execute(
                "INSERT INTO ops (upload, op_key, state, server_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (upload, op_key) DO UPDATE SET state=excluded.state, "
                "server_id=COALESCE(excluded.server_id, server_id)",
                (self.upload, op_key, state, server_id),
            )


def idempotency_key(upload: str, op_key: str, attempt: int) -> str:
    """Stable across retries and resumes of the same operation (and attempt)."""
    digest = hashlib.sha256(f"{upload}\x00{op_key}\x00{attempt}".encode()).hexdigest()
    return f"j2a-{digest[:40]}"

"""The upload journal: what was asked of the server, and what it answered.

The API's creates are not idempotent and nothing lists what was created (af-api.md
reading note 9), so exactly-once needs memory. Before a create is sent the journal holds
its *intent*, durably; after it, the server's id. A later run of the same upload reads
this back: an id means "done, reuse it"; an intent without an id means the last send may
or may not have happened: the create is *in doubt*, and every send of it whose outcome
is unknown is counted as a possible duplicate.

Durability without stalling the upload: writes go through one writer thread that commits
whatever is queued in one transaction (group commit, one fsync for many). Intents are
written in batches before the sends (the upload worker that takes the first record of a
batch writes the batch's intents and waits for their commit), so no send waits for the
disk on its own; ids and later states are committed in the background, gathered for up
to :data:`BACKGROUND_LINGER_S` unless somebody waits for one (losing one to a crash only
makes its create in doubt: an over-count, never a loss).

No sidecar files between transactions (``journal_mode=DELETE``): a CI cache that keeps
only the ``.sqlite3`` file keeps everything committed. A journal left by a process that
did not close it is checked (``quick_check``) before use; a damaged one is refused in
one line. A lock file (``filelock``: portable) keeps a second process out.
It never stores the API key or presigned URLs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from junit2af.errors import ChangedInputsError, JournalError, JournalLockedError

SCHEMA_VERSION = 2
#: Completed uploads keep their operations this long (a re-run within it can still
#: write a full results file); then only their "done" row is kept.
COMPACT_AFTER_DAYS = 14.0
#: A journal file in the state folder untouched this long, all of whose uploads are
#: complete, is removed by :func:`sweep`.
SWEEP_AFTER_DAYS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id          INTEGER PRIMARY KEY,
    identity    TEXT NOT NULL,      -- sha256 of api, project, label and input digests
    scope       TEXT NOT NULL,      -- sha256 of api, project and label only
    generation  INTEGER NOT NULL,
    run_id      TEXT,
    state       TEXT NOT NULL,      -- 'open' or 'complete'
    description TEXT NOT NULL,      -- JSON: url, project, label, inputs (never the key)
    created_at  REAL NOT NULL,
    completed_at REAL
);
CREATE INDEX IF NOT EXISTS uploads_by_identity ON uploads (identity, generation);
CREATE INDEX IF NOT EXISTS uploads_by_scope ON uploads (scope, state);
CREATE TABLE IF NOT EXISTS ops (
    upload    INTEGER NOT NULL,
    key       BLOB NOT NULL,        -- 16-byte digest of the operation (op_key)
    kind      INTEGER NOT NULL,     -- 1 run, 2 result, 3 artifact
    state     INTEGER NOT NULL,     -- OpState
    server_id TEXT,
    attempt   INTEGER NOT NULL DEFAULT 0,  -- bumped when an object is deleted and redone
    sends     INTEGER NOT NULL DEFAULT 0,  -- sends of this attempt
    doubt     INTEGER NOT NULL DEFAULT 0,  -- sends ever whose outcome may have created one
    PRIMARY KEY (upload, key)
) WITHOUT ROWID;
"""


class Kind(IntEnum):
    RUN = 1
    RESULT = 2
    ARTIFACT = 3


class State(IntEnum):
    """An operation's progress. A result is DONE once its update went through; an
    artifact once confirmed (or LEFT_OUT when the server can no longer take it)."""

    INTENT = 0
    CREATED = 1
    UPLOADED = 2
    DONE = 3
    LEFT_OUT = 4


def op_key(*parts: str) -> bytes:
    """The journal key of an operation: ``op_key("result", name)``,
    ``op_key("artifact", name, label)``, ``op_key("run")``."""
    material = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(material, digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Op:
    """One operation as the journal knows it."""

    kind: Kind
    state: State
    server_id: str | None
    attempt: int
    sends: int
    doubt: int


@dataclass(frozen=True)
class UploadEntry:
    """The upload the journal is working on."""

    id: int
    run_id: str | None
    complete: bool
    resumed: bool


@dataclass(frozen=True)
class Totals:
    """Cumulative over every invocation of one upload."""

    results_done: int
    artifacts_done: int
    artifacts_left_out: int
    creates_in_doubt: int
    possible_duplicates: int


def upload_scope(api_url: str, project_id: str, label: str) -> str:
    material = json.dumps([api_url.rstrip("/"), project_id, label], separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def upload_identity(api_url: str, project_id: str, label: str, input_digests: list[str]) -> str:
    """The identity of an upload: the same inputs to the same place make the same upload."""
    material = json.dumps(
        [api_url.rstrip("/"), project_id, label, sorted(input_digests)], separators=(",", ":")
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def idempotency_key(identity: str, generation: int, key: bytes, attempt: int) -> str:
    """Stable across retries and resumes of the same operation (and attempt)."""
    material = f"{identity}/{generation}\x00".encode() + key + f"\x00{attempt}".encode()
    return f"j2a-{hashlib.sha256(material).hexdigest()[:40]}"


class _Write:
    __slots__ = ("sql", "rows", "done", "error")

    def __init__(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self.sql = sql
        self.rows = rows
        self.done = threading.Event()
        self.error: BaseException | None = None


#: How long the writer lets background writes (ids, states) gather before committing
#: them when nobody waits: at 8 jobs and 20 ms of latency an id arrives every 2-3 ms, and
#: a commit in ``journal_mode=DELETE`` costs 130 us of CPU or more and a dozen syscalls
#: (50 ms rather than 20 halved the writer's CPU again in the upload benchmark).
#: A crash loses at most this much of them: their creates are then in doubt (counted).
BACKGROUND_LINGER_S = 0.05


class Journal:
    """One journal file, used by one process at a time (thread-safe within it)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = self._take_lock()
        try:
            self._db = self._connect()
        except BaseException:
            self._lock.release()
            raise
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._writer_error: BaseException | None = None
        #: set when somebody waits for a write: the writer stops lingering
        self._urgent = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="junit2af-journal")
        self._writer.daemon = True
        self._writer.start()
        self._entry: UploadEntry | None = None
        self._identity = ""
        self._generation = 0

    # -- opening ------------------------------------------------------------------

    def _take_lock(self) -> FileLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise JournalError(
                f"cannot create the journal's folder {self.path.parent}: "
                f"{error.strerror}; use --journal to put it elsewhere"
            ) from None
        lock = FileLock(f"{self.path}.lock", mode=0o600)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise JournalLockedError(
                f"another junit2af process is uploading with the journal {self.path}; "
                "wait for it to finish (or use --journal to pick another file)"
            ) from None
        except OSError as error:
            raise JournalError(
                f"cannot lock the journal {self.path}: {error.strerror}; "
                "use --journal to put it in a writable folder"
            ) from None
        return lock

    def _connect(self) -> sqlite3.Connection:
        existed = self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            if existed:
                os.chmod(self.path, 0o600)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except OSError as error:
            raise JournalError(
                f"cannot write the journal {self.path}: {error.strerror}; "
                "use --journal to put it in a writable folder"
            ) from None
        try:
            db.execute("PRAGMA journal_mode=DELETE")  # no sidecar between transactions
            db.execute("PRAGMA synchronous=FULL")  # a commit is on the disk
            # Updates find their row by key: a small page cache serves them (the OS caches
            # the file), and memory stays flat however many records an upload has.
            db.execute("PRAGMA cache_size=-512")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if tables and version != SCHEMA_VERSION:
                raise JournalError(
                    f"the journal {self.path} was written by another version of junit2af; "
                    "finish that upload with it, or use --journal to start a new file"
                )
            clean = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key='clean'").fetchone()
                clean = row[0] if row else None
            if clean == "0":
                # Left by a process that did not close it (killed, or copied while in
                # use): check it before trusting it.
                result = db.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise sqlite3.DatabaseError(result)
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('clean', '0')")
        except sqlite3.DatabaseError as error:
            db.close()
            raise self._damaged(error) from None
        return db

    def _damaged(self, error: BaseException) -> JournalError:
        if isinstance(error, sqlite3.OperationalError) and "readonly" in str(error):
            return JournalError(
                f"the journal {self.path} is read-only; use --journal to put it elsewhere"
            )
        return JournalError(
            f"the journal {self.path} is damaged ({error}); move it away to start over "
            "(what it recorded as uploaded would then be uploaded again)"
        )

    def close(self) -> None:
        """Write what is queued, mark the file cleanly closed, release the lock."""
        try:
            self._queue.put(None)
            self._urgent.set()
            self._writer.join()
            with contextlib.suppress(sqlite3.DatabaseError):
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('clean', '1')")
            self._db.close()
        finally:
            self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer -------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            # Let more gather (group commit), asleep (puts do not wake this thread),
            # unless somebody waits for a write: then the event is set, or about to be.
            self._urgent.wait(BACKGROUND_LINGER_S)
            self._urgent.clear()
            batch = [first]
            stop = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            error: BaseException | None = None
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for write in batch:
                    if write.rows:
                        self._db.executemany(write.sql, write.rows)
                self._db.execute("COMMIT")
            except BaseException as failure:  # noqa: BLE001 - handed to the waiters
                error = (
                    self._damaged(failure)
                    if isinstance(failure, sqlite3.DatabaseError)
                    else failure
                )
                self._writer_error = error
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            for write in batch:
                write.error = error
                write.done.set()
            if stop:
                return

    def _write(self, sql: str, rows: Sequence[tuple[Any, ...]], *, wait: bool) -> _Write:
        if self._writer_error is not None:
            raise self._writer_error
        write = _Write(sql, rows)
        self._queue.put(write)
        if wait:
            self._urgent.set()
            self.wait(write)
        return write

    def wait(self, write: _Write) -> None:
        """Block until ``write`` (returned by a background write) is on the disk."""
        if not write.done.is_set():
            self._urgent.set()  # the writer may be lingering: commit now
        write.done.wait()
        if write.error is not None:
            raise write.error

    def flush(self) -> None:
        """Wait until everything written so far is on the disk."""
        self._write("", [], wait=True)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        # Reads share the connection with the writer thread: sqlite3 serialises them.
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._damaged(error) from None

    # -- the upload ---------------------------------------------------------------

    def open_upload(
        self,
        identity: str,
        scope: str,
        description: dict[str, Any],
        *,
        new_run: bool = False,
        resume_changed: bool = False,
    ) -> UploadEntry:
        """Select the upload to work on (resume its latest generation, or start one).

        When an unfinished upload of the same scope (API, project, label) had other
        inputs, raise :class:`ChangedInputsError` unless ``new_run`` (start a new run
        and leave that one) or ``resume_changed`` (adopt it: upload into its run only
        what it lacks).
        """
        self.flush()
        row = self._read(
            "SELECT id, generation, run_id, state FROM uploads WHERE identity=? "
            "ORDER BY generation DESC LIMIT 1",
            (identity,),
        )
        if row and not new_run:
            upload_id, generation, run_id, state = row[0]
            return self._select(identity, generation, upload_id, run_id, state, resumed=True)
        if not row and not new_run:
            other = self._read(
                "SELECT id, generation, run_id, description FROM uploads WHERE scope=? "
                "AND state='open' AND identity<>? ORDER BY created_at DESC LIMIT 1",
                (scope, identity),
            )
            if other:
                upload_id, generation, run_id, old_description = other[0]
                if resume_changed:
                    self._write(
                        "UPDATE uploads SET identity=?, description=? WHERE id=?",
                        [(identity, json.dumps(description), upload_id)],
                        wait=True,
                    )
                    return self._select(identity, generation, upload_id, run_id, "open", True)
                stored = self._read(
                    "SELECT COUNT(*) FROM ops WHERE upload=? AND kind=? AND server_id IS NOT NULL",
                    (upload_id, int(Kind.RESULT)),
                )[0][0]
                raise ChangedInputsError(
                    f"an unfinished upload with the same label had other inputs (run "
                    f"{run_id or 'not created yet'}, {stored} results stored): the reports "
                    "changed since it was interrupted. Use --resume-changed to upload into "
                    "that run what it lacks, or --new-run to start a new run"
                )
        generation = row[0][1] + 1 if row else 0
        self._write(
            "INSERT INTO uploads (identity, scope, generation, run_id, state, description, "
            "created_at) VALUES (?, ?, ?, NULL, 'open', ?, ?)",
            [(identity, scope, generation, json.dumps(description), time.time())],
            wait=True,
        )
        upload_id = self._read(
            "SELECT id FROM uploads WHERE identity=? AND generation=?", (identity, generation)
        )[0][0]
        return self._select(identity, generation, upload_id, None, "open", resumed=False)

    def _select(
        self,
        identity: str,
        generation: int,
        upload_id: int,
        run_id: str | None,
        state: str,
        resumed: bool,
    ) -> UploadEntry:
        self._identity, self._generation = identity, generation
        self._entry = UploadEntry(upload_id, run_id, state == "complete", resumed)
        return self._entry

    @property
    def upload(self) -> UploadEntry:
        assert self._entry is not None, "open_upload first"
        return self._entry

    def idempotency_key(self, key: bytes, attempt: int) -> str:
        return idempotency_key(self._identity, self._generation, key, attempt)

    def set_run(self, run_id: str) -> None:
        self._write("UPDATE uploads SET run_id=? WHERE id=?", [(run_id, self.upload.id)], wait=True)
        self._entry = UploadEntry(self.upload.id, run_id, False, self.upload.resumed)

    def mark_complete(self, run_url: str | None = None) -> None:
        """The run is completed: a re-run of the same upload will do nothing. Its link is
        kept with it (in the description), for that re-run to print."""
        description = self._description()
        if run_url:
            description["run_url"] = run_url
        self._write(
            "UPDATE uploads SET state='complete', completed_at=?, description=? WHERE id=?",
            [(time.time(), json.dumps(description), self.upload.id)],
            wait=True,
        )

    def stored_run_url(self) -> str | None:
        """The link of the run kept when the upload completed (None before, or if unknown)."""
        value = self._description().get("run_url")
        return value if isinstance(value, str) else None

    def _description(self) -> dict[str, Any]:
        self.flush()
        rows = self._read("SELECT description FROM uploads WHERE id=?", (self.upload.id,))
        try:
            description = json.loads(rows[0][0]) if rows else {}
        except ValueError:
            return {}
        return description if isinstance(description, dict) else {}

    def compact(self, older_than_days: float = COMPACT_AFTER_DAYS) -> int:
        """Forget the operations of uploads completed more than ``older_than_days`` ago
        (their row stays: a re-run still knows they are done). Returns how many."""
        limit = time.time() - older_than_days * 86400
        old = [
            row[0]
            for row in self._read(
                "SELECT id FROM uploads WHERE state='complete' AND completed_at < ? "
                "AND EXISTS (SELECT 1 FROM ops WHERE ops.upload=uploads.id)",
                (limit,),
            )
        ]
        if old:
            self._write("DELETE FROM ops WHERE upload=?", [(i,) for i in old], wait=True)
            self._write("", [], wait=True)
            with contextlib.suppress(sqlite3.DatabaseError):  # smaller next time, then
                self._db.execute("VACUUM")
        return len(old)

    # -- operations -----------------------------------------------------------------

    def load_ops(self) -> dict[bytes, Op]:
        """Every operation of this upload (read once, at the start)."""
        self.flush()
        rows = self._read(
            "SELECT key, kind, state, server_id, attempt, sends, doubt FROM ops WHERE upload=?",
            (self.upload.id,),
        )
        return {
            row[0]: Op(Kind(row[1]), State(row[2]), row[3], row[4], row[5], row[6]) for row in rows
        }

    _INTENT = (
        "INSERT INTO ops (upload, key, kind, state, attempt, sends) VALUES (?, ?, ?, 0, ?, 1) "
        "ON CONFLICT (upload, key) DO UPDATE SET state=0, server_id=NULL, "
        "sends=CASE WHEN attempt=excluded.attempt THEN sends+1 ELSE 1 END, "
        "attempt=excluded.attempt"
    )

    def intents(self, items: Iterable[tuple[bytes, Kind, int]]) -> None:
        """Durably record that these creates are about to be sent: (key, kind, attempt)."""
        upload = self.upload.id
        rows = [(upload, key, int(kind), attempt) for key, kind, attempt in items]
        if rows:
            self._write(self._INTENT, rows, wait=True)

    def doubt(self, key: bytes, sends: int = 1) -> None:
        """Durably count ``sends`` sends of ``key`` whose outcome is unknown (each may have
        created an object), before anything is resent."""
        self._write(
            "UPDATE ops SET doubt=doubt+? WHERE upload=? AND key=?",
            [(sends, self.upload.id, key)],
            wait=True,
        )

    def revoke(self, keys: Iterable[bytes]) -> None:
        """Durably take back intents that were never sent (a stop before their turn)."""
        rows = [(self.upload.id, key) for key in keys]
        if rows:
            self._write(
                "DELETE FROM ops WHERE upload=? AND key=? AND state=0 AND doubt=0",
                rows,
                wait=False,
            )
            self._write(
                "UPDATE ops SET sends=MAX(sends-1, 0) WHERE upload=? AND key=? AND state=0",
                rows,
                wait=True,
            )

    def count_left_intents(self) -> int:
        """Count, durably, the creates an earlier process sent without learning their
        outcome (an intent with sends): each of those sends may have created an object.
        Returns how many there were."""
        left = self._read(
            "SELECT COUNT(*) FROM ops WHERE upload=? AND state=0 AND sends>0", (self.upload.id,)
        )[0][0]
        if left:
            self._write(
                "UPDATE ops SET doubt=doubt+1, sends=0 WHERE upload=? AND state=0 AND sends>0",
                [(self.upload.id,)],
                wait=True,
            )
        return int(left)

    def created(self, key: bytes, server_id: str) -> _Write:
        """Record the server's id for a create (committed in the background; pass the
        returned handle to :meth:`wait` where it must be on the disk)."""
        return self._write(
            "UPDATE ops SET state=1, server_id=? WHERE upload=? AND key=?",
            [(server_id, self.upload.id, key)],
            wait=False,
        )

    def advance(self, key: bytes, state: State) -> None:
        """Record a later state (committed in the background: redoing it is harmless)."""
        self._write(
            "UPDATE ops SET state=? WHERE upload=? AND key=?",
            [(int(state), self.upload.id, key)],
            wait=False,
        )

    def set_state(self, key: bytes, kind: Kind, state: State, server_id: str | None) -> None:
        """Insert or overwrite one op's state (the run's own progress)."""
        self._write(
            "INSERT INTO ops (upload, key, kind, state, server_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (upload, key) DO UPDATE SET state=excluded.state, "
            "server_id=COALESCE(excluded.server_id, server_id)",
            [(self.upload.id, key, int(kind), int(state), server_id)],
            wait=True,
        )

    def totals(self) -> Totals:
        """Cumulative counts of this upload, over every invocation."""
        self.flush()
        row = self._read(
            "SELECT "
            "SUM(kind=2 AND server_id IS NOT NULL), "
            "SUM(kind=3 AND state=3), "
            "SUM(kind=3 AND state=4), "
            "SUM(doubt>0), COALESCE(SUM(doubt), 0) FROM ops WHERE upload=?",
            (self.upload.id,),
        )[0]
        return Totals(*(int(value or 0) for value in row))

    def server_ids(self, keys: Iterable[bytes]) -> Iterator[tuple[bytes, str | None]]:
        """The server id of each key (for the results file), in the order given."""
        self.flush()
        for key in keys:
            rows = self._read(
                "SELECT server_id FROM ops WHERE upload=? AND key=?", (self.upload.id, key)
            )
            yield key, rows[0][0] if rows else None


def sweep(folder: Path, *, older_than_days: float = SWEEP_AFTER_DAYS, limit: int = 50) -> int:
    """Remove journals of ``folder`` (the state folder's) that nothing will resume: not
    modified for ``older_than_days`` and holding only complete uploads. Returns how many."""
    removed = 0
    cutoff = time.time() - older_than_days * 86400
    try:
        candidates = sorted(folder.glob("*.sqlite3"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return 0
    for path in candidates[:limit]:
        try:
            if path.stat().st_mtime > cutoff:
                break
            with Journal(path) as journal:
                open_uploads = journal._read("SELECT COUNT(*) FROM uploads WHERE state<>'complete'")
            if open_uploads[0][0]:
                continue
            for name in (path, Path(f"{path}.lock"), Path(f"{path}-journal")):
                name.unlink(missing_ok=True)
            removed += 1
        except (JournalError, JournalLockedError, OSError):
            continue
    return removed

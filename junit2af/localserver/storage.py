"""The records (teams, keys, projects, runs, results, artifacts) in one SQLite database.

One connection in WAL mode, shared by all request threads under a lock: every statement
takes microseconds, so serializing them costs less than a connection per thread would,
and there are no per-thread connections left open at shutdown. Business rules live in
the handlers; they run their checks and writes inside :meth:`Store.transaction` so that
a check (50 artifacts per result) and the write it guards are atomic.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from junit2af.localserver.clock import api_time, storage_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS teams (
    team_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY, team_id TEXT NOT NULL REFERENCES teams,
    can_write INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT UNIQUE NOT NULL,
    team_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, test_run_id TEXT UNIQUE NOT NULL,
    team_id TEXT NOT NULL, project_id TEXT NOT NULL, label TEXT,
    status TEXT NOT NULL, metadata TEXT, started_at TEXT, finished_at TEXT,
    result_counts TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    idempotency_key TEXT, create_request TEXT);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, test_result_id TEXT UNIQUE NOT NULL,
    team_id TEXT NOT NULL, project_id TEXT NOT NULL, test_run_id TEXT,
    test_name TEXT NOT NULL, status TEXT NOT NULL, error_message TEXT, metadata TEXT,
    started_at TEXT, finished_at TEXT, execution_time_ms INTEGER,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    idempotency_key TEXT, create_request TEXT);
CREATE INDEX IF NOT EXISTS results_by_run ON results (test_run_id);
CREATE TABLE IF NOT EXISTS artifacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, artifact_id TEXT UNIQUE NOT NULL,
    team_id TEXT NOT NULL, project_id TEXT NOT NULL, test_result_id TEXT NOT NULL,
    label TEXT NOT NULL, kind TEXT NOT NULL, content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, test_step TEXT, metadata TEXT,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    upload_count INTEGER NOT NULL DEFAULT 0, uploaded_at TEXT, sha256 TEXT,
    confirmed_at TEXT, idempotency_key TEXT, create_request TEXT);
CREATE INDEX IF NOT EXISTS artifacts_by_result ON artifacts (test_result_id);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (team_id, idempotency_key);
CREATE INDEX IF NOT EXISTS results_by_key ON results (team_id, idempotency_key);
CREATE INDEX IF NOT EXISTS artifacts_by_key ON artifacts (team_id, idempotency_key);
"""

#: columns kept as JSON text, and columns holding times (shown as the API shows them)
JSON_COLUMNS = frozenset({"metadata", "result_counts", "create_request"})
TIME_COLUMNS = frozenset(
    {"created_at", "updated_at", "started_at", "finished_at", "expires_at"}
    | {"uploaded_at", "confirmed_at"}
)
#: The web view's indexes: a project's runs, and a run's results by name and by duration.
#: status is in both so that a status filter is read from the index, and test_name in the
#: duration one so that a name filter is too. They are made the first time a page is
#: shown (Store.ensure_web_indexes), not with the schema: each index is one more page
#: written per committed result, which a server used only as an API (tests, upload
#: benchmarks) should not pay for.
WEB_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (project_id);
CREATE INDEX IF NOT EXISTS results_by_run_name ON results (test_run_id, test_name, status);
CREATE INDEX IF NOT EXISTS results_by_run_time
    ON results (test_run_id, execution_time_ms, test_name, status);
"""
#: The orders of a run's results in the web view. Each lists every column of its index
#: and ends with the row id, all in one direction, so a page is read from the index in
#: order and never sorted (ties: name, status, then upload order).
RESULT_ORDERS = {
    "": "seq",
    "name": "test_name, status, seq",
    "-name": "test_name DESC, status DESC, seq DESC",
    "duration": "execution_time_ms, test_name, status, seq",
    "-duration": "execution_time_ms DESC, test_name DESC, status DESC, seq DESC",
}
#: the columns of a run's results table in the web view
RESULT_LIST_COLUMNS = (
    "test_result_id, test_name, status, execution_time_ms, started_at, error_message"
)
#: table of each kind of object, and its id column
TABLES = {
    "run": ("runs", "test_run_id"),
    "result": ("results", "test_result_id"),
    "artifact": ("artifacts", "artifact_id"),
    "project": ("projects", "project_id"),
}


def new_id(prefix: str) -> str:
    """``run_3f9a...``: a prefix and 16 random hex digits."""
    return f"{prefix}_{secrets.token_hex(8)}"


def new_key() -> str:
    return "afk_" + secrets.token_hex(20)


def key_hash(raw_key: str) -> str:
    # Keys are looked up by hash, so the api_keys table never holds one in clear.
    return hashlib.sha256(raw_key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class TeamKeys:
    """A team with its two keys and first project (what ``serve`` prints)."""

    team_id: str
    api_key: str
    readonly_key: str
    project_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "team_id": self.team_id,
            "api_key": self.api_key,
            "readonly_key": self.readonly_key,
            "project_id": self.project_id,
        }


def decode_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    """A stored row as JSON-ready data: JSON columns parsed, times in API form."""
    if row is None:
        return None
    data = dict(row)
    data.pop("seq", None)
    for name in data.keys() & JSON_COLUMNS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    for name in data.keys() & TIME_COLUMNS:
        data[name] = api_time(data[name])
    return data


def dump_json(value: Any) -> str | None:
    # ensure_ascii=False keeps text as sent; the key order is kept as well.
    return None if value is None else json.dumps(value, ensure_ascii=False)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        #: key hash -> (team_id, can_write) of keys found (see lookup_key)
        self._known_keys: dict[str, tuple[str, bool]] = {}
        # isolation_level=None: transactions are begun explicitly in transaction().
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across a crash of this process (kill -9), which is what the
        # resume tests do; only a power loss could drop the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._web_indexes = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of reads and writes (re-entrant: inner calls join the outer)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self.transaction():
            return self._db.execute(sql, params).rowcount

    def ping(self) -> None:
        """Raise :class:`sqlite3.Error` if the database cannot answer."""
        self._one("SELECT 1")

    # -- meta, teams, keys, projects ---------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else row["value"]

    def bootstrap(self, now: datetime) -> tuple[TeamKeys, bytes]:
        """The first team and the URL-signing secret, created on first start."""
        with self.transaction():
            stored = self.meta("bootstrap")
            if stored is None:
                team = self.create_team("local team", now, project_name="Local project")
                stored = json.dumps(team.to_json())
                secret = secrets.token_hex(32)
                self._db.execute("INSERT INTO meta VALUES ('bootstrap', ?)", (stored,))
                self._db.execute("INSERT INTO meta VALUES ('secret', ?)", (secret,))
            # The bootstrap keys stay in meta in clear because `serve` prints them on
            # every start; other teams' keys exist only as hashes.
            data = json.loads(stored)
            secret_hex = self.meta("secret")
        assert secret_hex is not None
        return TeamKeys(**data), bytes.fromhex(secret_hex)

    def create_team(self, name: str, now: datetime, *, project_name: str) -> TeamKeys:
        """A team with a read-write key, a read-only key and one Active project."""
        team_id, rw, ro = new_id("team"), new_key(), new_key()
        stamp = storage_time(now)
        with self.transaction():
            self._db.execute("INSERT INTO teams VALUES (?, ?, ?)", (team_id, name, stamp))
            for key, can_write in ((rw, 1), (ro, 0)):
                self._db.execute(
                    "INSERT INTO api_keys VALUES (?, ?, ?, ?)",
                    (key_hash(key), team_id, can_write, stamp),
                )
            project_id = self.create_project(team_id, project_name, None, "Active", now)
        return TeamKeys(team_id, rw, ro, project_id)

    def create_project(
        self, team_id: str, name: str, description: str | None, status: str, now: datetime
    ) -> str:
        project_id = new_id("project")
        self._write(
            "INSERT INTO projects (project_id, team_id, name, description, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (project_id, team_id, name, description, status, storage_time(now)),
        )
        return project_id

    def lookup_key(self, raw_key: str) -> tuple[str, bool] | None:
        """``(team_id, can_write)`` of a key, or ``None`` if it is unknown."""
        hashed = key_hash(raw_key)
        known = self._known_keys.get(hashed)
        if known is not None:
            return known
        row = self._one("SELECT team_id, can_write FROM api_keys WHERE key_hash = ?", (hashed,))
        if row is None:
            return None  # not remembered: a key may be added later
        # Keys are never deleted or changed, so a key found stays found: every request
        # is authenticated, and this spares each one a query under the store's lock.
        found = self._known_keys[hashed] = (row["team_id"], bool(row["can_write"]))
        return found

    def teams(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM teams ORDER BY created_at")
        return [team for r in rows if (team := decode_row(r)) is not None]

    def list_projects(self, team_id: str, after_seq: int, limit: int) -> list[sqlite3.Row]:
        return self._all(
            "SELECT * FROM projects WHERE team_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (team_id, after_seq, limit),
        )

    # -- generic access by kind --------------------------------------------------------

    def get(self, kind: str, object_id: str, team_id: str | None = None) -> sqlite3.Row | None:
        """One object by id; with ``team_id``, only if that team owns it."""
        table, id_column = TABLES[kind]
        if team_id is None:
            return self._one(f"SELECT * FROM {table} WHERE {id_column} = ?", (object_id,))
        return self._one(
            f"SELECT * FROM {table} WHERE {id_column} = ? AND team_id = ?", (object_id, team_id)
        )

    def by_idempotency_key(self, kind: str, team_id: str, key: str) -> sqlite3.Row | None:
        table, _ = TABLES[kind]
        return self._one(
            f"SELECT * FROM {table} WHERE team_id = ? AND idempotency_key = ? ORDER BY seq",
            (team_id, key),
        )

    def insert(self, kind: str, values: dict[str, Any]) -> None:
        table, _ = TABLES[kind]
        values = {
            name: dump_json(value) if name in JSON_COLUMNS else value
            for name, value in values.items()
        }
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self._write(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))

    def update(self, kind: str, object_id: str, changes: dict[str, Any]) -> int:
        if not changes:
            return 0
        table, id_column = TABLES[kind]
        changes = {
            name: dump_json(value) if name in JSON_COLUMNS else value
            for name, value in changes.items()
        }
        assignments = ", ".join(f"{name} = ?" for name in changes)
        return self._write(
            f"UPDATE {table} SET {assignments} WHERE {id_column} = ?",
            (*changes.values(), object_id),
        )

    def delete(self, kind: str, object_id: str) -> int:
        table, id_column = TABLES[kind]
        return self._write(f"DELETE FROM {table} WHERE {id_column} = ?", (object_id,))

    # -- queries of the handlers ---------------------------------------------------------

    def result_counts(self, run_id: str) -> dict[str, int]:
        rows = self._all(
            "SELECT status, COUNT(*) AS n FROM results WHERE test_run_id = ? GROUP BY status",
            (run_id,),
        )
        return {row["status"]: row["n"] for row in rows}

    def artifact_count(self, result_id: str) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM artifacts WHERE test_result_id = ?", (result_id,)
        )
        assert row is not None
        return int(row["n"])

    def artifacts_of(self, result_id: str, *, confirmed_only: bool) -> list[sqlite3.Row]:
        where = " AND confirmed_at IS NOT NULL" if confirmed_only else ""
        return self._all(
            f"SELECT * FROM artifacts WHERE test_result_id = ?{where} ORDER BY seq",
            (result_id,),
        )

    def run_label(self, run_id: str | None) -> str | None:
        if run_id is None:
            return None
        row = self._one("SELECT label FROM runs WHERE test_run_id = ?", (run_id,))
        return None if row is None else row["label"]

    # -- the admin view ------------------------------------------------------------------

    def admin_list(self, kind: str, **filters: str | None) -> list[dict[str, Any]]:
        """Every stored field of every object of ``kind``, oldest first."""
        table, _ = TABLES[kind]
        wanted = {name: value for name, value in filters.items() if value is not None}
        where = " AND ".join(f"{name} = ?" for name in wanted) or "1"
        rows = self._all(f"SELECT * FROM {table} WHERE {where} ORDER BY seq", (*wanted.values(),))
        return [decode_row(row) for row in rows]  # type: ignore[misc]

    # -- queries of the web view -----------------------------------------------------------

    def ensure_web_indexes(self) -> None:
        """Create the web view's indexes if they are not there (once per process)."""
        if self._web_indexes:
            return
        with self._lock:
            # transaction() holds this lock, so no transaction is open while it is ours.
            self._db.executescript(WEB_INDEXES)
            self._web_indexes = True

    def projects_of(self, team_id: str) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM projects WHERE team_id = ? ORDER BY seq", (team_id,))

    def runs_of(self, project_id: str, limit: int, offset: int) -> list[sqlite3.Row]:
        """A project's runs, newest first."""
        return self._all(
            "SELECT * FROM runs WHERE project_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?",
            (project_id, limit, offset),
        )

    def run_count(self, project_id: str) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM runs WHERE project_id = ?", (project_id,))
        assert row is not None
        return int(row["n"])

    @staticmethod
    def _result_filter(
        run_id: str, statuses: tuple[str, ...], name_part: str
    ) -> tuple[str, tuple[Any, ...]]:
        where = "test_run_id = ?"
        params: list[Any] = [run_id]
        if statuses:
            # "+status": a filter on the index entries, not an index lookup. With a plain
            # "status = ?" SQLite (3.40) no longer sees that the index is in ORDER BY order
            # and sorts the whole run instead.
            where += f" AND +status IN ({', '.join('?' for _ in statuses)})"
            params.extend(statuses)
        if name_part:
            # instr, not LIKE: no wildcard characters to escape. lower() folds ASCII only.
            where += " AND instr(lower(test_name), lower(?)) > 0"
            params.append(name_part)
        return where, tuple(params)

    def results_page(
        self,
        run_id: str,
        *,
        statuses: tuple[str, ...] = (),
        name_part: str = "",
        order: str = "",
        limit: int = 100,
        offset: int = 0,
    ) -> list[sqlite3.Row]:
        """One page of a run's results, filtered by status and name, in one of RESULT_ORDERS.

        The page's row ids are found first (from an index alone, however deep the offset),
        then only those rows are read.
        """
        where, params = self._result_filter(run_id, statuses, name_part)
        ordering = RESULT_ORDERS[order]
        return self._all(
            f"SELECT {RESULT_LIST_COLUMNS} FROM results WHERE seq IN"
            f" (SELECT seq FROM results WHERE {where} ORDER BY {ordering} LIMIT ? OFFSET ?)"
            f" ORDER BY {ordering}",
            (*params, limit, offset),
        )

    def results_count(
        self, run_id: str, *, statuses: tuple[str, ...] = (), name_part: str = ""
    ) -> int:
        where, params = self._result_filter(run_id, statuses, name_part)
        row = self._one(f"SELECT COUNT(*) AS n FROM results WHERE {where}", params)
        assert row is not None
        return int(row["n"])

    def slowest_results(self, run_id: str, limit: int) -> list[sqlite3.Row]:
        return self._all(
            f"SELECT {RESULT_LIST_COLUMNS} FROM results"
            " WHERE test_run_id = ? AND execution_time_ms IS NOT NULL"
            f" ORDER BY {RESULT_ORDERS['-duration']} LIMIT ?",
            (run_id, limit),
        )

    def duration_histogram(self, run_id: str, edges: tuple[int, ...]) -> dict[int, int]:
        """How many results of a run fall in each duration bucket.

        Bucket ``i`` holds ``edges[i-1] <= execution_time_ms < edges[i]`` (bucket 0 below
        ``edges[0]``, bucket ``len(edges)`` from the last edge on); -1 counts results
        without a duration. One range count per bucket on the (run, duration) index walks
        each index entry once: three times faster than a CASE ... GROUP BY over the run.
        """
        bounds = [None, *edges, None]
        counts: dict[int, int] = {}
        with self._lock:
            for bucket in range(len(edges) + 1):
                low, high = bounds[bucket], bounds[bucket + 1]
                where = "test_run_id = ? AND execution_time_ms >= ?"
                params: tuple[Any, ...] = (run_id, low if low is not None else -(2**63))
                if high is not None:
                    where += " AND execution_time_ms < ?"
                    params += (high,)
                row = self._db.execute(f"SELECT COUNT(*) FROM results WHERE {where}", params)
                counts[bucket] = row.fetchone()[0]
            row = self._db.execute(
                "SELECT COUNT(*) FROM results WHERE test_run_id = ? AND execution_time_ms IS NULL",
                (run_id,),
            )
            counts[-1] = row.fetchone()[0]
        return {bucket: n for bucket, n in counts.items() if n}

    def status_counts(self, run_id: str, statuses: tuple[str, ...]) -> dict[str, int]:
        """A run's results by status (of ``statuses``), counted now from an index alone."""
        counts = self.result_counts(run_id)
        return {status: counts[status] for status in statuses if counts.get(status)}

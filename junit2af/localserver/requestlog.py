"""A record of every API and storage request, for tests to assert on.

The API key is never kept: a record says whether an ``Authorization`` header was present
and which kind of key it was, and its headers show ``[redacted]`` in its place.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    seq: int
    time: str  # server clock, ISO 8601
    method: str
    path: str
    query: str
    #: the answer's status; ``None`` when the connection was dropped unanswered
    status: int | None
    has_authorization: bool
    #: "read-write", "read-only", "invalid" or None (no header)
    key_kind: str | None
    headers: dict[str, str]
    #: the injected fault, if any: "latency" is not listed, the others by name
    fault: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def redact_headers(headers: Any) -> dict[str, str]:
    """Headers as a dict, the ``Authorization`` value replaced (repeated names joined)."""
    result: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            value = REDACTED
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


class RequestLog:
    """A bounded, thread-safe list of :class:`RequestRecord` (oldest dropped first)."""

    def __init__(self, maxlen: int = 200_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._seq = 0

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return sorted(self._records, key=lambda r: r.seq)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

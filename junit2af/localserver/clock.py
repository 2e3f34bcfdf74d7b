"""The server's notion of "now", and how it reads and writes ISO 8601 times.

Every time the server stamps (creation, started_at/finished_at, URL expiry, the 7-day
artifact rule) comes from one clock, so that a test can move it with :class:`ManualClock`
instead of sleeping for a week.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: A clock returns the current time as an aware datetime.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe.

    Example::

        clock = ManualClock()
        with LocalServer(clock=clock) as server:
            ...
            clock.advance(days=8)  # the result is now too old for new artifacts
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        """Move forward by ``seconds`` plus any :class:`timedelta` keyword (``days=8``)."""
        with self._lock:
            self._now += timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            self._now = when


class OffsetClock:
    """Another clock shifted by an adjustable offset (the admin API's clock control)."""

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            offset = self._offset
        return self._base() + offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self()


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``; fractional seconds only when there are some."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def storage_time(value: datetime) -> str:
    """The fixed-width form kept in SQLite: sorts as text in time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stored(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def api_time(text: str | None) -> str | None:
    """A stored time as the API shows it."""
    return format_time(parse_stored(text))

"""The normalized record model: one immutable :class:`TestRecord` per test result.

Every parser yields these; the journal, the uploader and ``junit2af parse`` consume them.
A record carries what the API takes (``test_name``, ``status``, times, ``error_message``,
``metadata``) plus what the uploader needs to attach: the full failure text, captured
output and attachment references, and where in which report it came from.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import operator
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

_blake2b = hashlib.blake2b

#: The API's limits (af-api.md reading note 5), in Unicode code points.
NAME_MIN = 2
NAME_MAX = 255
ERROR_MESSAGE_MAX = 1024
ARTIFACT_MAX_BYTES = 100 * 1024 * 1024
ARTIFACTS_PER_RESULT = 50


class Status(StrEnum):
    """A test result's status, spelled as the API spells it."""

    PENDING = "Pending"
    RUNNING = "Running"
    PASSED = "Passed"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    KNOWN_FAIL = "KnownFail"


class ArtifactKind(StrEnum):
    LOG = "Log"
    IMAGE = "Image"
    VIDEO = "Video"
    OTHER = "Other"


@functools.lru_cache(maxsize=256)  # a handful of types per run, asked once per artifact
def kind_for_content_type(content_type: str) -> ArtifactKind:
    """The API's artifact kind for a MIME type."""
    main = content_type.split(";", 1)[0].strip().lower()
    if main.startswith("image/"):
        return ArtifactKind.IMAGE
    if main.startswith("video/"):
        return ArtifactKind.VIDEO
    if main.startswith("text/") or main in ("application/json", "application/x-ndjson"):
        return ArtifactKind.LOG
    return ArtifactKind.OTHER


_Frozen = TypeVar("_Frozen")


def pickled_positionally(cls: type[_Frozen]) -> type[_Frozen]:
    """Pickle a frozen, slotted dataclass as its constructor's arguments.

    The default for such a class restores it field by field through ``dataclasses.fields``
    (``_dataclass_setstate``): that was a tenth of an upload's CPU, which reads every
    record back from its spool. The arguments in field order rebuild the same object.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = operator.attrgetter(*names)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


@pickled_positionally
@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a record came from: the report file (or archive member) and line."""

    path: str
    member: str | None = None  # member name when ``path`` is an archive
    line: int | None = None

    def display(self) -> str:
        path = "<stdin>" if self.path == "-" else self.path
        name = f"{path}!{self.member}" if self.member else path
        return f"{name}:{self.line}" if self.line is not None else name


@pickled_positionally
@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A file a report points at (``[[ATTACHMENT|path]]``, an attachment property).

    Unresolved: the uploader resolves ``path`` within an allowed root before reading it.
    ``marker`` is the text of the reference as written, for warnings. ``label`` and
    ``content_type``, when the report gives them (Allure's ``name`` and ``type``,
    Playwright's ``name`` and ``contentType``), name the artifact instead of the file name
    and its extension.
    """

    path: str
    marker: str
    label: str | None = None
    content_type: str | None = None


@pickled_positionally
@dataclass(frozen=True, slots=True)
class TextArtifact:
    """An artifact whose content the report itself holds (output, failure text)."""

    label: str  # e.g. "stdout.log", "failure.txt"
    text: str
    content_type: str = "text/plain; charset=utf-8"
    #: the bytes cut off before ``text`` was stored, if the text was too large to keep
    truncated_bytes: int = 0

    @property
    def kind(self) -> ArtifactKind:
        return kind_for_content_type(self.content_type)

    def encoded(self) -> bytes:
        return self.text.encode("utf-8", "surrogateescape")

    @property
    def size_bytes(self) -> int:
        return len(self.encoded())


@pickled_positionally
@dataclass(frozen=True, slots=True)
class TestRecord:
    """One test result, normalized. Immutable; build variants with :func:`dataclasses.replace`.

    ``metadata`` must be JSON-serializable. ``failure_text`` is the whole failure (type,
    message, stack); ``error_message`` is what fits in the API's field (the artifact planner
    adds a ``failure.txt`` when the failure text does not fit). ``outputs`` are the captured
    output artifacts in priority order (``stdout.log``, ``stderr.log``, then other logs).
    """

    __test__ = False  # keep pytest from collecting this class

    test_name: str
    status: Status
    source: SourceRef
    started_at: datetime | None = None
    finished_at: datetime | None = None
    execution_time_ms: int | None = None
    error_message: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    failure_text: str | None = None
    outputs: tuple[TextArtifact, ...] = ()
    attachments: tuple[AttachmentRef, ...] = ()

    @property
    def synthetic(self) -> bool:
        """True for records that are not a test case of the report (crash, missing tests)."""
        return bool(self.metadata.get("synthetic"))

    def api_fields(self) -> dict[str, Any]:
        """The record in the API's field names, as ``junit2af parse`` prints it."""
        return {
            "test_name": self.test_name,
            "status": str(self.status),
            "started_at": format_time(self.started_at),
            "finished_at": format_time(self.finished_at),
            "execution_time_ms": self.execution_time_ms,
            "error_message": self.error_message,
            "metadata": dict(self.metadata),
        }


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset (``Z`` for UTC): milliseconds, or microseconds
    when the report had them (nothing the report said is rounded away)."""
    if value is None:
        return None
    last = _last_formatted
    if value == last[0] and value.tzinfo is last[1] and value.fold == last[2]:
        return last[3]  # a record usually starts where the one before it finished
    # isoformat() without arguments is the quickest; it writes no fraction for a whole
    # second and six digits otherwise, and always a four-digit year (19 characters).
    text = value.isoformat()
    microsecond = value.microsecond
    if microsecond == 0:
        text = text[:19] + ".000" + text[19:]
    elif microsecond % 1000 == 0:
        text = text[:23] + text[26:]
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    _remember_formatted((value, value.tzinfo, value.fold, text))
    return text


#: The last time :func:`format_time` formatted, with what its text depends on (equal
#: datetimes with the same tzinfo object and fold print the same). One tuple, replaced
#: whole, so threads that format at the same time only miss the shortcut.
_last_formatted: tuple[Any, Any, int, str] = (None, None, 0, "")


def _remember_formatted(entry: tuple[Any, Any, int, str]) -> None:
    global _last_formatted
    _last_formatted = entry


def add_ms(start: datetime | None, duration_ms: int | None) -> datetime | None:
    """``start`` plus ``duration_ms``; None when either is unknown or the sum is past the
    calendar (a report's ``9999-12-31`` plus a second: no time, never an error)."""
    if start is None or duration_ms is None:
        return None
    try:
        return start + timedelta(milliseconds=duration_ms)
    except OverflowError:
        return None


#: Times an API record may carry, in UTC: a report's year 1 or 9999 (or an offset that
#: puts it past either end in UTC) is no time the service can store.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def usable_time(value: datetime) -> bool:
    """Whether ``value`` is a time the API can take: aware, its offset within a day (a
    tzinfo past that makes every use of it raise), and between 1900 and 9999 in UTC."""
    try:
        return value.utcoffset() is not None and EARLIEST_TIME <= value < LATEST_TIME
    except (OverflowError, ValueError):
        return False


def clip_code_points(text: str, limit: int) -> str:
    """At most ``limit`` code points of ``text`` (Python str indexes by code point)."""
    return text if len(text) <= limit else text[:limit]


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def fit_name(name: str, pad_with: str | None = None) -> str:
    """Make ``name`` a valid API name (2-255 code points), deterministically.

    A long name keeps its head and gets a hash of the whole name as suffix, so two long
    names that share their first 240 code points never collide. A short one is prefixed
    with ``pad_with`` (its suite), or padded with underscores.
    """
    name = " ".join(name.split()) if ("\n" in name or "\r" in name or "\t" in name) else name
    if len(name) < NAME_MIN:
        if pad_with:
            name = f"{pad_with}.{name}" if name else pad_with
        if len(name) < NAME_MIN:
            name = (name or "unnamed").ljust(NAME_MIN, "_")
    if len(name) > NAME_MAX:
        suffix = "~" + short_hash(name, 10)
        name = name[: NAME_MAX - len(suffix)] + suffix
    return name


class _DigestSet:
    """A set of 64-bit name digests in one flat array (open addressing, load <= 1/2).

    About 16-24 bytes a name instead of ~80 for a Python set of bytes: a run of two million
    records keeps its names distinct in tens of MB, not hundreds.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._used = 0

    def add(self, digest: int) -> bool:
        """Add ``digest`` (non-zero); False when it was already there."""
        slots, mask = self._slots, self._mask
        index = digest & mask
        while True:
            value = slots[index]
            if value == 0:
                break
            if value == digest:
                return False
            index = (index + 1) & mask
        slots[index] = digest
        self._used += 1
        if self._used * 2 > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._used = 0
        for value in old:
            if value:
                self.add(value)


class _DigestCounter:
    """64-bit digest -> a small count, in two flat arrays (open addressing, load <= 1/2).

    Only names that were claimed twice get an entry, so it stays small next to
    :class:`_DigestSet`.
    """

    def __init__(self) -> None:
        self._keys = array("Q", bytes(8 * 64))
        self._values = array("L", bytes(self._values_itemsize() * 64))
        self._mask = 63
        self._used = 0

    @staticmethod
    def _values_itemsize() -> int:
        return array("L").itemsize

    def _slot(self, digest: int) -> int:
        keys, mask = self._keys, self._mask
        index = digest & mask
        while keys[index] != 0 and keys[index] != digest:
            index = (index + 1) & mask
        return index

    def get(self, digest: int, default: int) -> int:
        index = self._slot(digest)
        return self._values[index] if self._keys[index] == digest else default

    def set(self, digest: int, value: int) -> None:
        index = self._slot(digest)
        if self._keys[index] == 0:
            self._keys[index] = digest
            self._used += 1
        self._values[index] = min(value, 0xFFFFFFFF)
        if self._used * 2 > self._mask:
            old_keys, old_values = self._keys, self._values
            size = 2 * len(old_keys)
            self._keys = array("Q", bytes(8 * size))
            self._values = array("L", bytes(self._values_itemsize() * size))
            self._mask = size - 1
            self._used = 0
            for key, value in zip(old_keys, old_values, strict=True):
                if key:
                    self.set(key, value)


class NameRegistry:
    """Gives every record of one run a distinct ``test_name``.

    The second record named ``x`` becomes ``x #2``, the third ``x #3``: stable for the same
    inputs in the same order. Names are remembered as 64-bit digests in a flat array; two
    different names sharing a digest (about one chance in 10^7 for two million names)
    would only give the second an ordinal, deterministically.
    """

    def __init__(self) -> None:
        self._seen = _DigestSet()
        #: for a name claimed more than once, the ordinal to try next: without it the
        #: n-th copy of one name tried n - 1 taken ordinals first (3,000 copies: 25 s)
        self._next = _DigestCounter()

    @staticmethod
    def _digest(name: str) -> int:
        digest = _blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "little") or 1

    def claim(self, name: str) -> str:
        digest = (
            int.from_bytes(
                _blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
            )
            or 1
        )
        # _DigestSet.add inlined for its common case: the first slot probed is free.
        seen = self._seen
        index = digest & seen._mask
        if seen._slots[index] == 0 and seen._used * 2 + 2 <= seen._mask:
            seen._slots[index] = digest
            seen._used += 1
            return name
        if seen.add(digest):
            return name
        ordinal = self._next.get(digest, 2)
        while True:
            suffix = f" #{ordinal}"
            candidate = fit_name(name[: NAME_MAX - len(suffix)] + suffix)
            ordinal += 1
            if seen.add(self._digest(candidate)):
                self._next.set(digest, ordinal)
                return candidate

    def unique(self, records: Iterator[TestRecord]) -> Iterator[TestRecord]:
        """Pass ``records`` through, renaming the ones whose name was taken."""
        from dataclasses import replace

        for record in records:
            name = self.claim(record.test_name)
            if name != record.test_name:
                record = replace(
                    record,
                    test_name=name,
                    metadata={**record.metadata, "name_in_report": record.test_name},
                )
            yield record


def to_json_line(record: TestRecord, artifacts: list[dict[str, Any]]) -> str:
    fields = record.api_fields()
    fields["artifacts"] = artifacts
    return json.dumps(fields, ensure_ascii=False, sort_keys=False)

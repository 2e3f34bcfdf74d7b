"""What the .NET report parsers (TRX, NUnit 2/3, xUnit.net v1/v2) share.

Each of those formats is XML read through :func:`junit2af.parsers.xmlsafe.iter_events`
(no DTD, no entities, no network, a depth limit), element by element, freeing what has
been read. This module holds the pieces they have in common: per-file context and
warnings, capped texts, the time formats .NET writes, failure texts, header-count
checks and the records for a truncated report.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers.base import FileContext
from junit2af.parsers.xmlsafe import SanitizingReader
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    AttachmentRef,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    add_ms,
    clip_code_points,
    fit_name,
)

#: 0001-01-01 (.NET's DateTime.MinValue) and 1970-01-01 mean "unknown", not a date.
EARLIEST_TIMESTAMP = datetime(1980, 1, 1)
#: Named values kept per record (properties, traits, categories): a user searches
#: for a few, nobody for thousands.
MAX_NAMED_VALUES = 64
MAX_VALUE_CHARS = 512


class Context(FileContext):
    """Per-file state of one .NET parse."""

    def at(self, line: int | None) -> SourceRef:
        return SourceRef(self.source.path, self.source.member, line)

    def base_metadata(self, line: int | None) -> dict[str, Any]:
        return {"format": self.format, "report": self.report, "report_line": line}

    def text(self, raw: str | None, line: int | None, what: str) -> str:
        """``raw`` cut to ``options.max_text_bytes`` with a ``[truncated N bytes]`` marker."""
        # .NET writes Environment.NewLine: CRLF (``&#xD;`` + LF) in reports from Windows.
        return self.cap((raw or "").replace("\r\n", "\n"), line, what)

    def artifact(self, label: str, raw: str | None, line: int | None) -> TextArtifact | None:
        """A text artifact for captured output, or None when there is nothing but space."""
        text = self.text(raw, line, label)
        return TextArtifact(label=label, text=text) if text.strip() else None


_LOCAL_NAMES: dict[str, str] = {}


def local(tag: Any) -> str:
    """An element's name without its namespace; '' for comments and the like."""
    if not isinstance(tag, str):
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1]
        if len(_LOCAL_NAMES) < 4096:  # a report has a few dozen distinct tags
            _LOCAL_NAMES[tag] = name
    return name


def parent_name(element: etree._Element) -> str:
    parent = element.getparent()
    return local(parent.tag) if parent is not None else ""


def children_by_name(element: etree._Element) -> dict[str, etree._Element]:
    """The first child of each name (one pass over the children, not one per lookup)."""
    found: dict[str, etree._Element] = {}
    for item in element:
        found.setdefault(local(item.tag), item)
    return found


def release(element: etree._Element) -> None:
    """Free an element and the already-read siblings before it (flat memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def child(element: etree._Element, name: str) -> etree._Element | None:
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def child_text(element: etree._Element, *path: str) -> str | None:
    """The text of the first element at ``path`` below ``element`` (None if absent)."""
    node: etree._Element | None = element
    for name in path:
        node = child(node, name) if node is not None else None
    if node is None:
        return None
    return node.text or ""


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def message_of(text: str | None) -> str | None:
    """A failure message as the API's ``error_message``: trimmed, at most 1024 code points."""
    if text is None or not text.strip():
        return None
    # NUnit indents its "  Expected: 3\n  But was:  2" block; keep the lines, not the indent.
    return clip_code_points(textwrap.dedent(text.strip("\n")).strip(), ERROR_MESSAGE_MAX)


def failure_text(message: str | None, stack: str | None, kind: str | None = None) -> str | None:
    """The whole failure (type, message, stack), or None when the message says it all."""
    message = (message or "").strip("\n")
    stack = (stack or "").strip("\n")
    if not stack and len(message.strip()) <= ERROR_MESSAGE_MAX:
        return None
    head = f"{kind}: {message.strip()}" if kind and message.strip() else (kind or message)
    return f"{head}\n{stack}" if stack else head


def named_values(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """name -> value (a list when a name repeats), capped in count and length."""
    values: dict[str, Any] = {}
    for count, (name, value) in enumerate(pairs):
        if count >= MAX_NAMED_VALUES:
            break
        value = value[:MAX_VALUE_CHARS]
        if name in values:
            existing = values[name]
            values[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            values[name] = value
    return values


# ----------------------------------------------------------------------------- times


def parse_timestamp(ctx: Context, raw: str | None, line: int | None) -> datetime | None:
    """An ISO 8601 timestamp (7 fraction digits are fine); naive ones take the timezone
    option. Anything else is warned about and ignored: never a guessed date."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        ctx.warn_once("bad-timestamp", f"line {line}: {raw!r} is not an ISO 8601 time; ignored")
        return None
    return _usable(ctx, value)


def _usable(ctx: Context, value: datetime) -> datetime | None:
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.options.timezone)
    if value.replace(tzinfo=None) < EARLIEST_TIMESTAMP:
        return None
    return value


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?$")


def parse_date_and_clock(
    ctx: Context, raw_date: str | None, raw_time: str | None, line: int | None
) -> datetime | None:
    """A separate date and clock time (NUnit 2 ``date``/``time``, xUnit.net
    ``run-date``/``run-time``), local time of the machine that ran the tests.

    Only an ISO date (``2007-07-27``) is taken: NUnit 2 and tools that imitate it also
    write culture-formatted dates (``6/12/2007`` is June or December), and a date that
    may be either is no date."""
    if not raw_date or not raw_time:
        return None
    try:
        day = date.fromisoformat(raw_date.strip())
    except ValueError:
        ctx.warn_once(
            "bad-date",
            f"line {line}: date {raw_date!r} is not an ISO date (YYYY-MM-DD); "
            "the run's start is unknown",
        )
        return None
    match = _CLOCK.match(raw_time.strip())
    if not match:
        ctx.warn_once(
            "bad-clock",
            f"line {line}: time {raw_time!r} is not a 24-hour clock time; "
            "the run's start is unknown",
        )
        return None
    hours, minutes, seconds, fraction = match.groups()
    try:
        clock = time(
            int(hours), int(minutes), int(seconds or 0), int((fraction or "0").ljust(6, "0")[:6])
        )
    except ValueError:
        ctx.warn_once("bad-clock", f"line {line}: time {raw_time!r} is out of range; ignored")
        return None
    return _usable(ctx, datetime.combine(day, clock))


def parse_seconds(ctx: Context, raw: str | None, line: int | None) -> int | None:
    """A duration in (fractional) seconds as whole milliseconds."""
    if raw is None or not raw.strip():
        return None
    try:
        seconds = float(raw.strip().replace(",", "."))
    except ValueError:
        ctx.warn_once("bad-duration", f"line {line}: duration {raw!r} is not a number; ignored")
        return None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0 or seconds > 1e9:
        ctx.warn_once("bad-duration", f"line {line}: duration {raw!r} is invalid; ignored")
        return None
    return round(seconds * 1000)


# .NET TimeSpan's invariant format: [-][d.]hh:mm:ss[.fffffff]
_TIMESPAN = re.compile(r"^(?:(\d{1,8})\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


def parse_timespan(ctx: Context, raw: str | None, line: int | None) -> int | None:
    """A .NET TimeSpan (``00:00:00.0034020``, ``1.02:03:04.5``) as whole milliseconds."""
    if raw is None or not raw.strip():
        return None
    match = _TIMESPAN.match(raw.strip())
    if not match:
        ctx.warn_once("bad-duration", f"line {line}: duration {raw!r} is not a TimeSpan; ignored")
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    whole = ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + int(seconds)
    ticks = int((fraction or "0").ljust(7, "0"))  # 100 ns units
    return whole * 1000 + round(ticks / 10_000)


class Clock:
    """Start times for tests a report gives only durations for.

    Tests of one run follow each other from the run's start (or, without one, from the
    file's mtime counted back by the run's duration: the file was written when the run
    ended). ``source`` says which, for ``metadata.time_source``.
    """

    def __init__(self) -> None:
        self.start: datetime | None = None
        self.source: str | None = None
        self.offset_ms = 0

    def set_start(self, start: datetime | None, source: str) -> None:
        if start is not None:
            self.start, self.source, self.offset_ms = start, source, 0

    def fall_back(self, ctx: Context, run_ms: int | None) -> None:
        if self.start is None and ctx.options.fallback_start is not None:
            self.start = ctx.options.fallback_start - timedelta(milliseconds=run_ms or 0)
            self.source = "file_mtime"
            self.offset_ms = 0

    def next(self, duration_ms: int | None) -> tuple[datetime | None, str | None]:
        started = add_ms(self.start, self.offset_ms) if self.start is not None else None
        self.offset_ms += duration_ms or 0
        return started, self.source if started is not None else None


# ----------------------------------------------------------------------------- records


def make_record(
    ctx: Context,
    *,
    name: str,
    status: Status,
    line: int | None,
    metadata: dict[str, Any],
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    duration_ms: int | None = None,
    message: str | None = None,
    failure: str | None = None,
    outputs: Iterable[TextArtifact | None] = (),
    attachments: Iterable[AttachmentRef] = (),
    pad_with: str | None = None,
) -> TestRecord:
    """A record with every API limit applied (name length, message length)."""
    if finished_at is None and started_at is not None and duration_ms is not None:
        finished_at = add_ms(started_at, duration_ms)
    if (
        duration_ms is None
        and started_at is not None
        and finished_at is not None
        and finished_at >= started_at
    ):
        duration_ms = round((finished_at - started_at) / timedelta(milliseconds=1))
    if finished_at is not None and started_at is not None and finished_at < started_at:
        finished_at = None
    return TestRecord(
        test_name=fit_name(name, pad_with=pad_with),
        status=status,
        source=ctx.at(line),
        started_at=started_at,
        finished_at=finished_at,
        execution_time_ms=duration_ms,
        error_message=message_of(message),
        metadata={k: v for k, v in metadata.items() if v is not None and v != [] and v != {}},
        failure_text=failure,
        outputs=tuple(o for o in outputs if o is not None),
        attachments=tuple(dict.fromkeys(attachments)),
    )


def synthetic_record(
    ctx: Context,
    *,
    name: str,
    reason: str,
    message: str,
    line: int | None,
    status: Status = Status.FAILED,
    failure: str | None = None,
    started_at: datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
    outputs: Iterable[TextArtifact | None] = (),
) -> TestRecord:
    """A record that is no test case of the report (a crash, a cleanup failure)."""
    data = ctx.base_metadata(line)
    data.update(metadata or {})
    data.update({"synthetic": True, "reason": reason})
    return make_record(
        ctx,
        name=name,
        status=status,
        line=line,
        metadata=data,
        started_at=started_at or ctx.options.fallback_start,
        message=message,
        failure=failure,
        outputs=outputs,
    )


def missing_tests_record(
    ctx: Context, name: str, claimed: int, failed: int, line: int | None
) -> TestRecord:
    """A header that counts tests over a report that lists none: never a silent zero."""
    return synthetic_record(
        ctx,
        name=name,
        reason="no test cases",
        message=f"the report's totals count {claimed} tests ({failed} failed) but it lists none",
        line=line,
        status=Status.FAILED if failed else Status.SKIPPED,
        metadata={"claimed_tests": claimed},
    )


def truncated_record(ctx: Context, name: str, line: int, error: InputError) -> TestRecord:
    """What ``--salvage`` yields for the part of a report that was cut off."""
    return synthetic_record(
        ctx,
        name=f"{name} (report truncated)",
        reason="report truncated",
        message=f"report truncated at line {error.line}: {error.reason}",
        line=line,
    )


def can_salvage(ctx: Context, error: InputError, records_so_far: int) -> bool:
    return bool(ctx.options.salvage and error.line is not None and records_so_far)


def check_counts(
    ctx: Context, what: str, claimed: Mapping[str, int | None], got: Mapping[str, int]
) -> None:
    """Warn when the counts a framework wrote disagree with the results the report holds."""
    differences = [
        f"{key}={value} (read {got.get(key, 0)})"
        for key, value in claimed.items()
        if value is not None and value != got.get(key, 0)
    ]
    if differences:
        ctx.warn(f"{what} disagree with the results in the report: " + ", ".join(differences))


def header_int(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def finish(ctx: Context, reader: SanitizingReader, records: int, noun: str) -> None:
    """The warnings every .NET parser gives once the document is read."""
    for note in reader.notes():
        ctx.warn(note)
    if records == 0:
        ctx.warn(f"the report holds no {noun}")

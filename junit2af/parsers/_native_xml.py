"""What the native XML parsers of C and C++ frameworks share (Catch2, Check, CppUnit,
Boost.Test, QtTest).

Each of them walks hardened ``iterparse`` events (:func:`junit2af.parsers.xmlsafe.iter_events`
over a :class:`~junit2af.parsers.xmlsafe.SanitizingReader`), turns each finished test
element into a record and frees what it has read, so memory stays flat whatever the
report's size. This module holds the pieces that are the same for all of them: the
per-file context (warnings said once, capped texts, the clock for reports without
timestamps), element release, the record builder and the salvage of a truncated report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, cast

from lxml import etree

from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.parsers.base import FileContext, ParseOptions
from junit2af.parsers.xmlsafe import SanitizingReader, iter_events
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    add_ms,
    clip_code_points,
    fit_name,
)

#: Longest attribute value or short text (names, file paths, tags) kept from a report.
MAX_SHORT_TEXT = 4096
#: Most entries kept in one metadata list or mapping that grows with the input.
MAX_METADATA_ITEMS = 64


def local(tag: Any) -> str:
    """Tag name without namespace; '' for comments and processing instructions."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def release(element: etree._Element) -> None:
    """Free an element and the already-read siblings before it (flat memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def short(value: str | None, limit: int = MAX_SHORT_TEXT) -> str | None:
    """An attribute value cut to ``limit`` code points (a name is not a novel)."""
    if value is None:
        return None
    return value if len(value) <= limit else value[:limit] + "…"


def as_int(value: str | None) -> int | None:
    """A non-negative decimal integer, or None."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def seconds_to_ms(value: str | None) -> int | None:
    """A duration in seconds (``"4.6e-05"``, ``"0.001s"``) to whole ms; None if absent or
    nonsense (negative, NaN, infinite)."""
    if value is None:
        return None
    text = value.strip().removesuffix("s").strip()
    if not text or len(text) > 40:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0 or seconds > 1e9:
        return None
    return round(seconds * 1000)


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


class Context(FileContext):
    """Per-file state of one parse: warnings said once, counts, the clock."""

    def __init__(self, source: SourceRef, options: ParseOptions, fmt: str) -> None:
        super().__init__(source, options, fmt)
        self.records = 0
        self.failed = 0
        #: what the report is a run of (its suite, binary), to name synthetic records
        self.run_name: str | None = None
        # Reports without timestamps: tests start at the file's mtime, one after the
        # other, in the order and with the durations the report gives.
        self.start: datetime | None = None
        self.time_source: str | None = None
        self.offset_ms = 0

    def text(self, element: etree._Element, *, strip: bool = True) -> str:
        """The element's own text, capped at ``max_text_bytes`` with a marker."""
        text = element.text or ""
        if strip:
            text = text.strip()
        return self.cap(text, element.sourceline, f"<{local(element.tag)}>")

    def use_file_clock(self) -> None:
        """Times count from the file's mtime (the report has no timestamps)."""
        if self.start is None and self.options.fallback_start is not None:
            self.start = self.options.fallback_start
            self.time_source = "file_mtime"

    def next_start(self, duration_ms: int | None) -> datetime | None:
        """When the next test started, and move the clock past its duration."""
        if self.start is None:
            return None
        started = add_ms(self.start, self.offset_ms)
        self.offset_ms += duration_ms or 0
        return started

    def record(
        self,
        name: str,
        status: Status,
        *,
        line: int | None,
        duration_ms: int | None = None,
        started_at: datetime | None = None,
        message: str | None = None,
        failure_text: str | None = None,
        metadata: dict[str, Any] | None = None,
        outputs: list[TextArtifact] | None = None,
        pad_with: str | None = None,
        time_source: str | None = None,
    ) -> TestRecord:
        """A record with the format's common metadata. Without ``started_at`` it starts
        where the clock stands, and the clock moves on by its duration."""
        if started_at is None:
            started_at = self.next_start(duration_ms)
            time_source = self.time_source if started_at is not None else None
        meta: dict[str, Any] = {"format": self.format, "report": self.report}
        meta.update(metadata or {})
        if line is not None:
            meta["report_line"] = line
        if time_source:
            meta["time_source"] = time_source
        if message and failure_text is None and len(message) > ERROR_MESSAGE_MAX:
            failure_text = message
        self.records += 1
        if status is Status.FAILED:
            self.failed += 1
        return TestRecord(
            test_name=fit_name(name, pad_with=pad_with),
            status=status,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=started_at,
            finished_at=add_ms(started_at, duration_ms),
            execution_time_ms=duration_ms,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=meta,
            failure_text=failure_text,
            outputs=tuple(outputs or ()),
        )

    def artifact(self, label: str, text: str) -> TextArtifact:
        return TextArtifact(label=label, text=self.cap(text, None, f"<{label}>"))


class XmlReader:
    """Hardened iterparse events of one report, with the sanitiser's warnings at the end.

    ``root_check`` sees the root element first (it raises to refuse another schema).
    """

    def __init__(
        self,
        stream: BinaryIO,
        ctx: Context,
        root_check: Callable[[etree._Element], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.reader = SanitizingReader(stream)
        self.root_check = root_check
        self.last_line = 1
        self.root_closed = False

    def events(self) -> Iterator[tuple[str, etree._Element]]:
        stream = cast(BinaryIO, self.reader)  # read() is all iterparse uses
        events = iter_events(stream, self.ctx.report, on_root=self.root_check)
        try:
            for event, element in events:
                if event == "start":
                    self.last_line = element.sourceline or self.last_line
                elif element.getparent() is None:
                    self.root_closed = True
                yield event, element
        except InputError as error:
            if not self.root_closed or "Extra content" not in error.reason:
                raise
            # Two documents in one file: Boost.Test writes its log and its report to
            # the same stream when both sinks are stdout/stderr redirected together.
            self.ctx.warn(f"line {error.line}: a second XML document follows the report; ignored")

    def finish(self) -> None:
        ctx = self.ctx
        for note in self.reader.notes():
            ctx.warn(note)


def salvage(
    ctx: Context,
    reader: XmlReader,
    records: Iterator[TestRecord],
    *,
    pending: Callable[[], Iterator[TestRecord]] | None = None,
) -> Iterator[TestRecord]:
    """``records``, and with ``options.salvage`` a synthetic Failed record for a report
    cut off mid-way (the complete tests before the cut are kept, and ``pending()`` gives
    the ones a parser still holds). Without salvage, the refusal names the line."""
    try:
        yield from records
    except InputError as error:
        if (
            not ctx.options.salvage
            or error.line is None
            or isinstance(error, UnsupportedFormatError)
        ):
            raise
        held = list(pending()) if pending is not None else []
        if ctx.records == 0:
            raise
        yield from held
        ctx.warn(f"report truncated at line {error.line}; the tests read before it are kept")
        where = ctx.run_name or ctx.report
        yield ctx.record(
            f"{where} (report truncated)",
            Status.FAILED,
            line=reader.last_line,
            message=f"report truncated at line {error.line}: {error.reason}",
            metadata={"synthetic": True, "reason": "report truncated"},
        )
        return
    reader.finish()


def refuse_root(ctx: Context, element: etree._Element, expected: str, title: str) -> None:
    """Refuse a document whose root is not ``expected`` (``--format`` forced a wrong one)."""
    tag = local(element.tag)
    if tag != expected:
        raise InputError(
            ctx.report,
            f"not a {title} report (root element <{tag}>, expected <{expected}>)",
            line=element.sourceline,
        )

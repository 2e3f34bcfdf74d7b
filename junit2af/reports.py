"""Reports to records: detect each input's format, run its parser, name records uniquely.

This is the library's reading entry point: :func:`read_records` turns a list of
:class:`~junit2af.inputs.ReportInput` into one stream of :class:`TestRecord` whose names
are distinct across the whole run.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import BinaryIO

from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.inputs import ReportInput
from junit2af.parsers import SNIFF_BYTES, Format, detect, get_format
from junit2af.parsers.base import ParseOptions
from junit2af.records import NameRegistry, SourceRef, TestRecord


class _Prefixed(io.RawIOBase):
    """A stream that replays the bytes read for format detection, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def choose_format(report: ReportInput, head: bytes, forced: str | None) -> Format:
    """The format to read ``report`` as: ``forced``, else what its first bytes show.

    Raises :class:`InputError` naming what the file looks like when it is no report
    junit2af reads.
    """
    if forced:
        return get_format(forced)
    detection = detect(head)
    if detection.format is not None:
        return detection.format
    if detection.looks_like is not None:
        raise UnsupportedFormatError(report.display, detection.looks_like.message(), line=1)
    root = detection.xml_root
    if root is not None:
        where = f" in namespace {root.namespace}" if root.namespace else ""
        raise InputError(
            report.display,
            f"not a test report junit2af reads: XML whose root element is <{root.local}>{where}",
            line=_line_of(head, b"<" + root.local.encode()),
        )
    if not head.strip():
        raise InputError(report.display, "empty file: no test report in it")
    raise InputError(
        report.display,
        "not a recognised test report (`junit2af formats` lists what is read)",
        line=1,
    )


def _line_of(head: bytes, needle: bytes) -> int:
    position = head.find(needle)
    return head.count(b"\n", 0, position) + 1 if position >= 0 else 1


def parse_report(
    report: ReportInput, options: ParseOptions, *, fmt: str | None = None
) -> Iterator[TestRecord]:
    """Yield the records of one report, its format detected from its content."""
    source = SourceRef(report.path, report.member)
    options = replace(options, fallback_start=options.fallback_start or report.mtime)
    with report.open() as stream:
        try:
            head = stream.read(SNIFF_BYTES)
        except (OSError, EOFError) as error:
            raise InputError(report.display, f"cannot read: {error}") from None
        parser = choose_format(report, head, fmt).load()
        replay = io.BufferedReader(_Prefixed(head, stream), 256 * 1024)
        for record in parser(replay, source, options):
            if report.member is not None and "archive_member" not in record.metadata:
                record = replace(
                    record,
                    metadata={
                        **record.metadata,
                        "archive": report.path,
                        "archive_member": report.member,
                    },
                )
            yield record


def read_records(
    reports: list[ReportInput],
    options: ParseOptions,
    *,
    fmt: str | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> Iterator[TestRecord]:
    """The records of every report, with names made distinct across all of them.

    Without ``on_error`` the first bad report raises; with it, the error is passed on and
    the other reports are still read.
    """
    names = NameRegistry()
    for report in reports:
        try:
            yield from names.unique(parse_report(report, options, fmt=fmt))
        except InputError as error:
            if on_error is None:
                raise
            on_error(error)

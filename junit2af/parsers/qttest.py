"""QtTest's XML (``-o file.xml,xml``; Qt 4, 5 and 6). Qt's ``xunitxml``/``junitxml``
outputs are JUnit XML and are read by the JUnit parser.

``<TestCase name>`` holds ``<TestFunction name>`` elements with ``<Incident type file
line>`` (results) and ``<Message type>`` (output), each with an optional ``<DataTag>``
and ``<Description>``, ``<BenchmarkResult>`` and ``<Duration msecs>``.

One record per test function, and per data row of a data-driven function, named
``TestCase.function`` and ``TestCase.function(tag)``, as Qt 6's ``junitxml`` names them.
``initTestCase`` and ``cleanupTestCase`` are records like any other function, because
Qt counts them in its ``Totals:`` line: when ``initTestCase`` fails, Qt runs no other
function and lists none, and that failed ``initTestCase`` record says so; when
``cleanupTestCase`` fails, that record fails.

Incident types (the ``b`` ones are results of functions listed in a ``BLACKLIST`` file,
which Qt counts as "blacklisted" rather than passed or failed):

=============  ============  =======================================
Qt             API status    note
=============  ============  =======================================
pass, bpass    Passed        ``metadata.blacklisted`` for ``bpass``
fail           Failed
xpass          Failed        an expected failure that passed
xfail          KnownFail     Qt counts the function as passed
bfail, bxfail  KnownFail     a failure Qt was told to ignore
bxpass         Passed
skip           Skipped       Qt 5 writes a skip as ``<Message type="skip">``
=============  ============  =======================================

A row with several incidents takes the most severe: Failed, then Skipped, then KnownFail,
then Passed. ``qdebug``/``qinfo``/``info`` messages go to ``stdout.log``,
``qwarn``/``qcritical``/``qfatal``/``warn`` to ``stderr.log`` (as Qt's ``junitxml``
sorts them); a ``qfatal`` aborts the test process, so its record is Failed.

There are no timestamps: records start at the file's mtime, one after the other.
``<Duration>`` is per function: a data row gets it only when it is the function's only
row (``metadata.function_duration_ms`` otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native_xml import (
    MAX_METADATA_ITEMS,
    Context,
    XmlReader,
    as_int,
    local,
    release,
    salvage,
    seconds_to_ms,
    short,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

FORMATS = (Format("qttest-xml", "QtTest XML", "qttest", producers="QtTest `-o file,xml`"),)

_INCIDENTS: dict[str, Status] = {
    "pass": Status.PASSED,
    "bpass": Status.PASSED,
    "bxpass": Status.PASSED,
    "fail": Status.FAILED,
    "xpass": Status.FAILED,
    "xfail": Status.KNOWN_FAIL,
    "bfail": Status.KNOWN_FAIL,
    "bxfail": Status.KNOWN_FAIL,
    "skip": Status.SKIPPED,
}
_SEVERITY = {Status.FAILED: 3, Status.SKIPPED: 2, Status.KNOWN_FAIL: 1, Status.PASSED: 0}
#: Messages kept per data row and stream (each one already capped in size).
_MAX_MESSAGES = 10_000
_STDERR_TYPES = frozenset({"qwarn", "qcritical", "qfatal", "warn", "qsystem", "system"})


def sniff(head: Head) -> str | None:
    """QtTest XML: a ``<TestCase>`` root in no namespace whose first child is Qt's."""
    root = head.xml_root
    if root is None or root.local != "TestCase" or root.namespace:
        return None
    # <TestCase> is a common word: ask for one of QtTest's own elements in the head.
    if any(tag in head.text for tag in (b"<Environment", b"<TestFunction", b"<QtVersion")):
        return "qttest-xml"
    return None


@dataclass
class _Row:
    tag: str | None
    status: Status | None = None
    incidents: list[str] = field(default_factory=list)  # Qt's own result types, in order
    failures: list[str] = field(default_factory=list)
    summary: str | None = None
    file: str | None = None
    line: int | None = None
    report_line: int | None = None
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    fatal: bool = False


@dataclass
class _Function:
    name: str
    report_line: int | None
    row: _Row | None = None
    rows_emitted: int = 0
    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: int | None = None


class _Suite:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.name = ""
        self.qt_version: str | None = None
        self.function: _Function | None = None
        self.functions = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one record per test function (and data row) of a QtTest XML report."""
    ctx = Context(source, options, "qttest-xml")
    ctx.use_file_clock()
    suite = _Suite(ctx)

    def check_root(root: etree._Element) -> None:
        if local(root.tag) != "TestCase":
            raise InputError(
                ctx.report,
                f"not a QtTest XML report (root element <{local(root.tag)}>)",
                line=root.sourceline,
            )
        suite.name = short(root.get("name"), 1000) or ""
        ctx.run_name = suite.name or None

    reader = XmlReader(stream, ctx, check_root)
    yield from salvage(ctx, reader, _records(suite, reader))
    if suite.functions == 0 and not ctx.warned:
        ctx.warn("the report holds no test functions")


def _records(suite: _Suite, reader: XmlReader) -> Iterator[TestRecord]:
    for event, element in reader.events():
        tag = local(element.tag)
        if event == "start":
            if tag == "TestFunction":
                suite.function = _Function(
                    short(element.get("name"), 1000) or "", element.sourceline
                )
            continue
        parent = element.getparent()
        parent_tag = local(parent.tag) if parent is not None else ""
        function = suite.function
        if tag in ("Incident", "Message") and function is not None:
            yield from _entry(suite, function, element, tag)
            release(element)
        elif tag == "BenchmarkResult" and function is not None:
            if len(function.benchmarks) < MAX_METADATA_ITEMS:
                function.benchmarks.append(
                    {
                        k: short(element.get(k), 200)
                        for k in ("metric", "tag", "value", "iterations")
                        if element.get(k)
                    }
                )
            release(element)
        elif tag == "Duration" and parent_tag == "TestFunction" and function is not None:
            function.duration_ms = seconds_to_ms(_msecs_as_seconds(element.get("msecs")))
            release(element)
        elif tag == "TestFunction" and function is not None:
            suite.functions += 1
            yield from _close_function(suite, function)
            suite.function = None
            release(element)
        elif tag == "QtVersion" and parent_tag == "Environment":
            suite.qt_version = short((element.text or "").strip(), 40)
        elif tag == "Environment":
            release(element)


def _msecs_as_seconds(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return repr(float(raw) / 1000)
    except ValueError:
        return None


def _entry(
    suite: _Suite, function: _Function, element: etree._Element, tag: str
) -> Iterator[TestRecord]:
    ctx = suite.ctx
    kind = (element.get("type") or "").strip().lower()
    data_tag: str | None = None
    description = ""
    for child in element:
        child_tag = local(child.tag)
        if child_tag == "DataTag":
            data_tag = short(child.text or "", 1000)
        elif child_tag == "Description":
            description = ctx.text(child)

    row = function.row
    if row is not None and data_tag is not None and row.tag != data_tag:
        if row.tag is None and not row.incidents:
            row.tag = data_tag  # untagged messages that came before the row's own
        else:
            yield _row_record(suite, function, row, last=False)
            function.rows_emitted += 1
            row = function.row = None
    if row is None:
        row = function.row = _Row(tag=data_tag, report_line=element.sourceline)

    is_result = tag == "Incident" or kind == "skip"  # Qt 5 writes skips as a message
    if is_result:
        status = _INCIDENTS.get(kind)
        if status is None:
            status = Status.FAILED
            description = f"unknown QtTest incident type {kind!r}: {description}".strip()
        if len(row.incidents) < MAX_METADATA_ITEMS:
            row.incidents.append(kind)
        if row.status is None or _SEVERITY[status] > _SEVERITY[row.status]:
            row.status = status
            row.summary = description.split("\n", 1)[0] if description else None
            row.file = short(element.get("file")) or None
            row.line = as_int(element.get("line")) or None
        if description and kind not in ("pass", "bpass"):
            where = f"{element.get('file')}({element.get('line')}): " if element.get("file") else ""
            if len(row.failures) < MAX_METADATA_ITEMS:
                row.failures.append(f"{kind.upper()}: {where}{description}")
    else:
        target = row.stderr if kind in _STDERR_TYPES else row.stdout
        if len(target) < _MAX_MESSAGES:
            target.append(f"{kind.upper()}: {description}" if kind else description)
        elif len(target) == _MAX_MESSAGES:
            target.append(f"[more than {_MAX_MESSAGES} messages: the rest are not kept]")
        if kind == "qfatal":
            row.fatal = True


def _close_function(suite: _Suite, function: _Function) -> Iterator[TestRecord]:
    row = function.row
    if row is None:
        row = _Row(tag=None, report_line=function.report_line)
    yield _row_record(suite, function, row, last=True)
    if function.rows_emitted and function.duration_ms is not None:
        suite.ctx.offset_ms += function.duration_ms  # the rows had no time of their own


def _row_record(suite: _Suite, function: _Function, row: _Row, *, last: bool) -> TestRecord:
    ctx = suite.ctx
    name = f"{suite.name}.{function.name}" if suite.name else function.name
    if row.tag is not None:
        name += f"({row.tag})"
    status = row.status
    message = row.summary
    if row.fatal and status is not Status.FAILED:
        status, message = Status.FAILED, message or "qFatal: the test process aborted"
    if status is None:
        status = Status.FAILED
        message = "QtTest wrote no result for this function (the test process stopped?)"
    metadata: dict[str, Any] = {"test_case": suite.name, "function": function.name}
    if row.tag is not None:
        metadata["data_tag"] = row.tag
    if row.file:
        metadata["file"] = row.file
    if row.line:
        metadata["line"] = row.line
    if row.incidents:
        metadata["incidents"] = row.incidents
    if any(kind.startswith("b") for kind in row.incidents):
        metadata["blacklisted"] = True
    if function.benchmarks:
        metadata["benchmarks"] = function.benchmarks
    if suite.qt_version:
        metadata["qt_version"] = suite.qt_version
    only_row = last and function.rows_emitted == 0
    duration = function.duration_ms if only_row else None
    if not only_row and function.duration_ms is not None and last:
        metadata["function_duration_ms"] = function.duration_ms
    outputs = []
    if row.stdout:
        outputs.append(ctx.artifact("stdout.log", "\n".join(row.stdout) + "\n"))
    if row.stderr:
        outputs.append(ctx.artifact("stderr.log", "\n".join(row.stderr) + "\n"))
    failure_text = None
    if status is not Status.PASSED and row.failures:
        failure_text = "\n".join(row.failures)
        if "\n" not in failure_text and len(failure_text) < 200:
            failure_text = None  # the message says it all
    return ctx.record(
        name,
        status,
        line=row.report_line or function.report_line,
        duration_ms=duration,
        message=message if status is not Status.PASSED else None,
        failure_text=failure_text,
        metadata=metadata,
        outputs=outputs,
        pad_with=suite.name or None,
    )

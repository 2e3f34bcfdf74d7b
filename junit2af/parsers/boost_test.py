"""Boost.Test XML: the log (``--log_format=XML``, root ``<TestLog>``) and the report
(``--report_format=XML``, root ``<TestResult>``).

The **log** is the format to upload: it has every test unit (at ``--log_level=test_suite``
or finer), failures with file, line and context, messages and durations. The **report**
has a status per test case and the counts but no messages, no durations and no disabled
test units; it is read too (one record per listed test case). They are two documents,
usually two files: give junit2af one of them, not both (both would upload every test
twice).

Names are the test unit path below the master test suite, joined with dots
(``outer_suite.inner_suite.nested_fails``, ``data_driven._1``), as Boost.Test's JUnit log
(``--log_format=JUNIT``) names them as class name and name.

Log quirks (Boost 1.74) that shaped the rules:

* At the default log level (``error``) the log holds failures but no test unit: nothing
  says which test failed. Such a log is refused, naming ``--log_level=test_suite``.
* A disabled test case is ``<TestCase name skipped="yes" reason="disabled"/>``; a
  disabled suite is one ``<TestSuite skipped="yes"/>`` and its test cases are not
  listed: it becomes one Skipped record for the suite (``metadata.skipped_suite``).
* ``--expected_failures``/``expected_failures(n)`` is not in the log: such a test case's
  failures make it Failed here, where Boost counts it as passed (the report says it).
* ``<TestingTime>`` is in microseconds. There are no timestamps: records start at the
  file's mtime, one after the other.
* A fatal system error (SIGSEGV) makes Boost abort the run: ``<Message>Test is
  aborted</Message>`` after the crashed test case, and the test cases after it are
  neither run nor listed (the report still lists them as passed). The crashed record gets
  ``metadata.run_aborted`` and a warning says so.
* A suite fixture or global fixture whose setup throws aborts the suite (or the
  module): the log has the ``<Exception>`` directly in the ``<TestSuite>``; the report
  says ``result="aborted"`` with ``assertions_failed`` counted on the suite alone, and
  lists its test cases (which never ran) as ``passed``. The report's suite-level
  failures (the suite's ``assertions_failed`` less its units') are one synthetic Failed
  record ``suite (failures outside test cases)``, as the log's are.
* With both log and report on one stream (``--report_sink=stdout``) the report is
  written inside ``<TestLog>`` (it is skipped) or after it (a second document, skipped
  with a warning).
* stdout/stderr are not captured by Boost.Test; ``BOOST_TEST_MESSAGE`` and warnings
  (``BOOST_WARN``) go to a ``messages.log`` artifact.
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
    short,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

FORMATS = (
    Format(
        "boost-test-log",
        "Boost.Test XML log",
        "boost_test",
        parser="parse_log",
        producers="Boost.Test `--log_format=XML --log_level=test_suite` (or all)",
    ),
    Format(
        "boost-test-report",
        "Boost.Test XML report",
        "boost_test",
        parser="parse_report",
        producers="Boost.Test `--report_format=XML --report_level=detailed`",
    ),
)

FAILURES = {"Error": "error", "FatalError": "fatal error", "Exception": "fatal error"}
MESSAGES = {"Message": "message", "Warning": "warning"}


def sniff(head: Head) -> str | None:
    """Boost.Test XML: a ``<TestLog>`` (log) or ``<TestResult>`` (report) root."""
    root = head.xml_root
    if root is None or root.namespace:
        return None
    if root.local == "TestLog":
        return "boost-test-log"
    if root.local == "TestResult":
        return "boost-test-report"
    return None


def _name(path: list[str], name: str) -> str:
    """The dotted name below the master suite (``path[0]``)."""
    return ".".join([*path[1:], name])


# ------------------------------------------------------------------------------ log


@dataclass
class _Case:
    name: str
    file: str | None
    line: int | None
    report_line: int | None
    failures: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    duration_ms: int | None = None
    timed_out: bool = False
    aborted: bool = False


class _Log:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.path: list[str] = []  # suite names, master suite first
        self.case: _Case | None = None
        self.units = 0
        self.orphans: list[str] = []  # failures outside any test case
        self.orphan_line: int | None = None
        self.nested_report = 0  # depth inside a <TestResult> written into the log
        self.last: TestRecord | None = None  # held back: a suite-level abort may follow


def parse_log(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one record per test case of a Boost.Test XML log read from ``stream``."""
    ctx = Context(source, options, "boost-test-log")
    ctx.use_file_clock()
    log = _Log(ctx)
    reader = XmlReader(stream, ctx, lambda root: _check_root(ctx, root, "TestLog"))
    yield from salvage(ctx, reader, _log_records(log, reader), pending=lambda: _held(log))


def _held(log: _Log) -> Iterator[TestRecord]:
    if log.last is not None:
        yield log.last
        log.last = None


def _check_root(ctx: Context, root: etree._Element, expected: str) -> None:
    tag = local(root.tag)
    if tag == expected:
        return
    hint = ""
    if tag in ("TestLog", "TestResult"):
        hint = f": this is Boost.Test's {'log' if tag == 'TestLog' else 'report'}"
    raise InputError(
        ctx.report,
        f"not a Boost.Test XML {'log' if expected == 'TestLog' else 'report'} "
        f"(root element <{tag}>){hint}",
        line=root.sourceline,
    )


def _log_records(log: _Log, reader: XmlReader) -> Iterator[TestRecord]:
    ctx = log.ctx
    for event, element in reader.events():
        tag = local(element.tag)
        if tag == "TestResult" or log.nested_report:
            # A report written into the log's stream: not log entries.
            if tag == "TestResult":
                log.nested_report += 1 if event == "start" else -1
                if event == "end":
                    release(element)
            continue
        if event == "start":
            if tag == "TestSuite":
                log.path.append(short(element.get("name"), 1000) or "")
                log.units += 1
                if len(log.path) == 1:
                    ctx.run_name = log.path[0] or None
            elif tag == "TestCase":
                log.units += 1
                if log.last is not None:
                    yield log.last
                    log.last = None
                log.case = _Case(
                    name=short(element.get("name"), 1000) or "",
                    file=short(element.get("file")),
                    line=as_int(element.get("line")),
                    report_line=element.sourceline,
                )
            continue

        parent = element.getparent()
        parent_tag = local(parent.tag) if parent is not None else ""
        case = log.case
        if tag in FAILURES and parent_tag in ("TestCase", "TestSuite", "TestLog"):
            summary, block = _failure(ctx, element, case.name if case else None)
            if case is not None:
                if len(case.failures) < MAX_METADATA_ITEMS:
                    case.failures.append(block)
                    case.summaries.append(summary)
                case.timed_out = case.timed_out or "timeout" in summary.lower()
            else:
                if len(log.orphans) < MAX_METADATA_ITEMS:
                    log.orphans.append(block)
                log.orphan_line = log.orphan_line or element.sourceline
            release(element)
        elif tag in MESSAGES and parent_tag in ("TestCase", "TestSuite", "TestLog"):
            text = ctx.text(element)
            if text == "Test is aborted":
                if case is not None:
                    case.aborted = True
                elif log.last is not None:
                    log.last = _mark_aborted(ctx, log.last)
            elif case is not None and len(case.messages) < MAX_METADATA_ITEMS:
                case.messages.append(f"{_where(element)}: {MESSAGES[tag]}: {text}")
            release(element)
        elif tag == "Info":
            release(element)  # a passed check (--log_level=all)
        elif tag == "TestingTime" and case is not None:
            micro = as_int(element.text)
            case.duration_ms = round(micro / 1000) if micro is not None else None
            release(element)
        elif tag == "TestCase" and case is not None:
            record = _case_record(log, case, element)
            log.case = None
            release(element)
            if log.last is not None:
                yield log.last
            log.last = record
        elif tag == "TestSuite":
            if log.last is not None:
                yield log.last
                log.last = None
            if element.get("skipped") == "yes":
                name = log.path.pop()
                yield _skipped_suite(log, name, element)
            else:
                log.path.pop()
            release(element)
    if log.last is not None:
        yield log.last
    if log.orphans:
        if log.units == 0:
            raise InputError(
                ctx.report,
                "Boost.Test log without test units (written at the default --log_level): "
                "nothing says which test failed; write it with --log_level=test_suite",
                line=log.orphan_line,
            )
        yield _orphan_record(log)
    elif log.units == 0:
        raise InputError(
            ctx.report,
            "Boost.Test log without test units (written at the default --log_level); "
            "write it with --log_level=test_suite",
            line=1,
        )


def _where(element: etree._Element) -> str:
    return f"{short(element.get('file')) or 'unknown location'}({element.get('line') or 0})"


def _failure(ctx: Context, element: etree._Element, case: str | None) -> tuple[str, str]:
    """Boost's console form of an error: ``file(line): error: in "case": message``."""
    tag = local(element.tag)
    text = ctx.text(element)
    head = f"{_where(element)}: {FAILURES[tag]}"
    if case is not None:
        head += f': in "{case}"'
    lines = [f"{head}: {text}"]
    for child in element:
        child_tag = local(child.tag)
        if child_tag == "Context":
            frames = [ctx.text(frame) for frame in child if local(frame.tag) == "Frame"]
            if frames:
                lines.append("Failure occurred in a following context:")
                lines += [f"    {frame}" for frame in frames[:MAX_METADATA_ITEMS]]
        elif child_tag == "LastCheckpoint":
            lines.append(f"{_where(child)}: last checkpoint: {ctx.text(child)}")
    return text.split("\n", 1)[0], "\n".join(lines)


def _case_record(log: _Log, case: _Case, element: etree._Element) -> TestRecord:
    ctx = log.ctx
    metadata: dict[str, Any] = {"suite_path": list(log.path), "name": case.name}
    if case.file:
        metadata["file"] = case.file
    if case.line is not None:
        metadata["line"] = case.line
    message = None
    if element.get("skipped") == "yes":
        status = Status.SKIPPED
        message = short(element.get("reason"), 1000)
        metadata["skipped"] = True
    elif case.failures:
        status = Status.FAILED
        message = case.summaries[0]
    else:
        status = Status.PASSED
    if case.timed_out:
        metadata["timed_out"] = True
    outputs = []
    if case.messages:
        outputs.append(ctx.artifact("messages.log", "\n".join(case.messages) + "\n"))
    record = ctx.record(
        _name(log.path, case.name),
        status,
        line=case.report_line,
        duration_ms=case.duration_ms,
        message=message,
        failure_text="\n\n".join(case.failures) if case.failures else None,
        metadata=metadata,
        outputs=outputs,
        pad_with=log.path[0] if log.path else None,
    )
    return _mark_aborted(ctx, record) if case.aborted else record


def _mark_aborted(ctx: Context, record: TestRecord) -> TestRecord:
    from dataclasses import replace

    if record.metadata.get("run_aborted"):
        return record
    ctx.warn(
        f"Boost.Test aborted the run after {record.test_name}: the test cases after it "
        "did not run and are not in the log"
    )
    return replace(record, metadata={**record.metadata, "run_aborted": True})


def _skipped_suite(log: _Log, name: str, element: etree._Element) -> TestRecord:
    return log.ctx.record(
        _name(log.path, name),
        Status.SKIPPED,
        line=element.sourceline,
        message=short(element.get("reason"), 1000),
        metadata={
            "suite_path": list(log.path),
            "name": name,
            "skipped_suite": True,
            "synthetic": True,
            "reason": "a skipped test suite: Boost.Test does not list its test cases",
        },
        pad_with=log.path[0] if log.path else None,
    )


def _orphan_record(log: _Log) -> TestRecord:
    """Failures outside any test case (a suite fixture, a global fixture)."""
    where = log.ctx.run_name or "Boost.Test"
    text = "\n\n".join(log.orphans)
    return log.ctx.record(
        f"{where} (failures outside test cases)",
        Status.FAILED,
        line=log.orphan_line,
        message=text.split("\n", 1)[0],
        failure_text=text,
        metadata={"synthetic": True, "reason": "failures outside any test case"},
    )


# --------------------------------------------------------------------------- report

_REPORT_STATUS = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "aborted": Status.FAILED,
    "timed-out": Status.FAILED,
    "skipped": Status.SKIPPED,
}
_COUNTERS = ("assertions_passed", "assertions_failed", "warnings_failed", "expected_failures")


def parse_report(
    stream: BinaryIO, source: SourceRef, options: ParseOptions
) -> Iterator[TestRecord]:
    """Yield one record per test case listed in a Boost.Test XML report."""
    ctx = Context(source, options, "boost-test-report")
    ctx.use_file_clock()
    reader = XmlReader(stream, ctx, lambda root: _check_root(ctx, root, "TestResult"))
    yield from salvage(ctx, reader, _report_records(ctx, reader))


@dataclass
class _ReportSuite:
    """A ``<TestSuite>`` of the report being read: its own and its units' failures."""

    result: str
    failed: int
    line: int | None
    units_failed: int = 0


def _report_records(ctx: Context, reader: XmlReader) -> Iterator[TestRecord]:
    path: list[str] = []
    suites: list[_ReportSuite] = []
    master: dict[str, int | None] = {}
    read = {"passed": 0, "failed": 0, "skipped": 0}
    for event, element in reader.events():
        tag = local(element.tag)
        if event == "start":
            if tag == "TestSuite":
                failed = as_int(element.get("assertions_failed")) or 0
                if suites:
                    suites[-1].units_failed += failed
                suites.append(
                    _ReportSuite(
                        (element.get("result") or "").strip().lower(), failed, element.sourceline
                    )
                )
                if not path:
                    master = {
                        k: as_int(element.get(k))
                        for k in (
                            "test_cases_passed",
                            "test_cases_passed_with_warnings",
                            "test_cases_failed",
                            "test_cases_skipped",
                            "test_cases_timed_out",
                        )
                    }
                path.append(short(element.get("name"), 1000) or "")
            elif tag == "TestCase":
                if suites:
                    suites[-1].units_failed += as_int(element.get("assertions_failed")) or 0
                record = _report_case(ctx, path, element)
                key = {Status.KNOWN_FAIL: "passed"}.get(record.status, str(record.status).lower())
                read[key] = read.get(key, 0) + 1
                yield record
            continue
        if tag == "TestSuite":
            if suites:
                suite = suites.pop()
                own = suite.failed - suite.units_failed
                if own > 0 and suite.result in ("aborted", "failed", "timed-out"):
                    yield _report_suite_failure(ctx, path, suite, own)
            path.pop()
            release(element)
        elif tag == "TestCase":
            release(element)
    if not master:
        raise InputError(ctx.report, "Boost.Test report without a test suite", line=1)
    _compare_report(ctx, master, read)


def _report_suite_failure(
    ctx: Context, path: list[str], suite: _ReportSuite, own: int
) -> TestRecord:
    """A suite that failed by itself (its fixture): the report lists no failed unit."""
    where = ".".join(path[1:]) or path[0] or "Boost.Test"
    return ctx.record(
        f"{where} (failures outside test cases)",
        Status.FAILED,
        line=suite.line,
        message=(
            f"Boost.Test result {suite.result} for test suite {path[-1]!r}: {own} "
            "assertion(s) failed outside its test cases (a suite or global fixture; the "
            "report lists its test cases as passed though they did not run)"
        ),
        metadata={
            "synthetic": True,
            "reason": "failures outside any test case",
            "suite_path": list(path),
            "result": suite.result,
            "assertions_failed": own,
        },
        pad_with=path[0] if path else None,
    )


def _report_case(ctx: Context, path: list[str], element: etree._Element) -> TestRecord:
    name = short(element.get("name"), 1000) or ""
    result = (element.get("result") or "").strip().lower()
    counters = {k: as_int(element.get(k)) for k in _COUNTERS}
    status = _REPORT_STATUS.get(result, Status.FAILED)
    message = None
    if status is Status.PASSED and (counters["expected_failures"] or 0) > 0:
        status = Status.KNOWN_FAIL
        message = f"{counters['expected_failures']} expected failure(s)"
    elif status is Status.FAILED:
        failed = counters["assertions_failed"]
        message = f"Boost.Test result {result or '(none)'}" + (
            f": {failed} assertion(s) failed" if failed else ""
        )
    metadata: dict[str, Any] = {"suite_path": list(path), "name": name, "result": result}
    metadata.update({k: v for k, v in counters.items() if v})
    return ctx.record(
        _name(path, name),
        status,
        line=element.sourceline,
        message=message,
        metadata=metadata,
        pad_with=path[0] if path else None,
    )


def _compare_report(ctx: Context, master: dict[str, int | None], read: dict[str, int]) -> None:
    """The master suite's counts against the test cases listed (disabled ones are not)."""
    claimed = {
        "passed": (master.get("test_cases_passed") or 0)
        + (master.get("test_cases_passed_with_warnings") or 0),
        "failed": (master.get("test_cases_failed") or 0)
        + (master.get("test_cases_timed_out") or 0),
        "skipped": master.get("test_cases_skipped") or 0,
    }
    differ = [k for k in claimed if claimed[k] != read.get(k, 0)]
    if differ:
        ctx.warn(
            "the report counts "
            + ", ".join(f"{claimed[k]} {k}" for k in differ)
            + " test cases but lists "
            + ", ".join(f"{read.get(k, 0)} {k}" for k in differ)
            + (
                " (Boost.Test does not list disabled test units in its report; the XML log does)"
                if "skipped" in differ
                else ""
            )
        )

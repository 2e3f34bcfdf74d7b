"""Streaming NUnit XML parser: NUnit 3 ``<test-run>`` and NUnit 2 ``<test-results>``.

One record per ``<test-case>``, read when its element ends and then freed, so memory
stays flat whatever the report's size. Suites are only kept as a stack of small headers
(name, own failure, counts) while they are open. The mapping (statuses, names, times,
output) is documented in ``notes/native-dotnet.md``; the quirks that forced a rule are
named where the rule is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._dotnet import (
    Clock,
    Context,
    can_salvage,
    check_counts,
    child,
    child_text,
    failure_text,
    finish,
    header_int,
    local,
    make_record,
    missing_tests_record,
    named_values,
    parent_name,
    parse_date_and_clock,
    parse_seconds,
    parse_timestamp,
    release,
    synthetic_record,
    truncated_record,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.xmlsafe import SanitizingReader, iter_events, plain_attributes
from junit2af.records import AttachmentRef, SourceRef, Status, TestRecord

FORMATS = (
    Format(
        "nunit3",
        "NUnit 3 XML",
        "nunit",
        producers="nunit3-console --result, NUnitXml.TestLogger (dotnet test --logger nunit), "
        "Unity Test Framework, testcafe-reporter-nunit3",
    ),
    Format(
        "nunit2",
        "NUnit 2 XML",
        "nunit",
        producers="nunit-console 2.x, NUnit 3 with --result=file;format=nunit2, "
        "Unity Test Tools, IEUnit",
    ),
)

ROOTS = {"test-run": "nunit3", "test-results": "nunit2"}


def sniff(head: Head) -> str | None:
    """NUnit: a ``<test-run>`` (3) or ``<test-results>`` (2) root in no namespace."""
    root = head.xml_root
    if root is not None and not root.namespace:
        return ROOTS.get(root.local)
    return None


# NUnit 3 ``result`` values (the part before ``:``; NUnit writes "Failed" + label).
NUNIT3_STATUS = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "skipped": Status.SKIPPED,
    "inconclusive": Status.SKIPPED,
    # Assert.Warn / Warn.If: the test ran to the end with warnings; NUnit counts it apart
    # from passed and failed and the run does not fail for it.
    "warning": Status.PASSED,
}

# NUnit 2.5+ ``result`` values.
NUNIT2_STATUS = {
    "success": Status.PASSED,
    "failure": Status.FAILED,
    "error": Status.FAILED,
    "cancelled": Status.FAILED,
    # A test NUnit could not run (wrong signature, no arguments): a broken test.
    "notrunnable": Status.FAILED,
    "ignored": Status.SKIPPED,
    "skipped": Status.SKIPPED,
    "inconclusive": Status.SKIPPED,
}

#: NUnit 3 ``label`` values that are a category, not a message.
STANDARD_LABELS = frozenset({"error", "cancelled", "invalid", "ignored", "explicit"})

#: Suite-level failure sites that are the suite's own (NUnit 3 ``site``): the failure of a
#: OneTimeSetUp/OneTimeTearDown. "Child" is a roll-up of failed tests, "Parent" a copy.
OWN_SITES = frozenset({"setup", "teardown", "test", ""})


@dataclass
class _Suite:
    name: str
    fullname: str
    kind: str  # NUnit's type: Assembly, TestFixture, ParameterizedMethod, ...
    result: str
    label: str
    site: str
    line: int | None
    started: datetime | None = None  # NUnit 3's start-time of the suite
    failure: tuple[str | None, str | None] | None = None  # own (message, stack)
    reason: str | None = None
    categories: list[str] = field(default_factory=list)
    cases: int = 0  # test cases below, at any depth
    failed_cases: int = 0


class _Run:
    """Per-file state: the suite stack, the clock and the counts for the header check."""

    def __init__(self, ctx: Context, version: int) -> None:
        self.ctx = ctx
        self.version = version
        self.suites: list[_Suite] = []
        self.clock = Clock()
        self.header: dict[str, str] = {}
        self.raw_results: Counter[str] = Counter()
        self.records = 0
        self.explicit = 0  # NUnit 3 leaves [Explicit] tests out of its total
        self.report_end: datetime | None = None  # NUnit 2: when the file was written


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test case of an NUnit 2 or 3 report."""
    reader = SanitizingReader(stream)
    ctx = Context(source, options, "nunit")
    state: dict[str, _Run] = {}

    def check_root(root: etree._Element) -> None:
        name = local(root.tag)
        if name not in ROOTS:
            raise InputError(
                ctx.report,
                f"not an NUnit report (root element <{name}>)",
                line=root.sourceline,
            )
        ctx.format = ROOTS[name]
        run = _Run(ctx, 3 if name == "test-run" else 2)
        run.header = plain_attributes(root, ctx.report)
        _start_clock(run, root)
        state["run"] = run

    open_case_line = 1
    in_case = 0  # depth of open <test-case> elements: their insides wait for their end
    try:
        for event, element in iter_events(cast(BinaryIO, reader), ctx.report, on_root=check_root):
            run = state["run"]
            tag = local(element.tag)
            if event == "start":
                if tag == "test-suite":
                    if not run.suites and run.version == 2:
                        _count_back_from_report_end(run, element)
                    run.suites.append(_open_suite(run, element))
                elif tag == "test-case":
                    in_case += 1
                    open_case_line = element.sourceline or open_case_line
                continue
            if in_case and tag != "test-case":
                continue
            if tag == "test-case":
                in_case -= 1
                record = _case_record(run, element)
                run.records += 1
                for suite in run.suites:
                    suite.cases += 1
                    if record.status is Status.FAILED:
                        suite.failed_cases += 1
                release(element)
                yield record
            elif tag == "test-suite" and run.suites:
                suite = run.suites.pop()
                yield from _close_suite(run, suite)
                release(element)
                continue
            parent_tag = parent_name(element)
            if parent_tag == "test-suite" and run.suites:
                _read_suite_child(run.suites[-1], tag, element)
            elif parent_tag in ROOTS:
                release(element)  # <command-line>, <filter>, <environment>: not kept
    except InputError as error:
        started = state.get("run")
        if started is None or not can_salvage(ctx, error, started.records):
            raise
        name = _suite_name(started) or ctx.report
        yield truncated_record(ctx, name, open_case_line, error)
        return

    run = state["run"]
    claimed = header_int(run.header.get("total")) or 0
    if run.records == 0 and claimed:
        failed = header_int(run.header.get("failed") or run.header.get("failures")) or 0
        failed += header_int(run.header.get("errors")) or 0
        name = run.header.get("name") or run.header.get("fullname") or ctx.report
        yield missing_tests_record(ctx, name, claimed, failed, 1)
        return
    _check_header(run)
    finish(ctx, reader, run.records, "test cases")


def _start_clock(run: _Run, root: etree._Element) -> None:
    ctx, line = run.ctx, root.sourceline
    if run.version == 3:
        # NUnit 3 writes start-time="2021-06-28 20:23:41Z"; its first drafts wrote a
        # run-date and a bare clock time (mock-assembly: start-time="11:34:27").
        if root.get("run-date"):
            start = parse_date_and_clock(ctx, root.get("run-date"), root.get("start-time"), line)
        else:
            start = parse_timestamp(ctx, root.get("start-time"), line)
        run.clock.set_start(start, "run")
        duration = root.get("duration") or root.get("time")
        run.clock.fall_back(ctx, parse_seconds(ctx, duration, line))
    else:
        # NUnit 2's date/time are when the file was written, at the end of the run.
        run.report_end = parse_date_and_clock(ctx, root.get("date"), root.get("time"), line)


def _count_back_from_report_end(run: _Run, suite: etree._Element) -> None:
    duration = parse_seconds(run.ctx, suite.get("time"), suite.sourceline)
    if run.report_end is not None:
        run.clock.set_start(run.report_end - timedelta(milliseconds=duration or 0), "run")
    run.clock.fall_back(run.ctx, duration)


def _open_suite(run: _Run, element: etree._Element) -> _Suite:
    started = None
    if run.version == 3:
        started = parse_timestamp(run.ctx, element.get("start-time"), element.sourceline)
    return _Suite(
        started=started,
        name=element.get("name") or "",
        fullname=element.get("fullname") or element.get("name") or "",
        kind=element.get("type") or "",
        result=element.get("result") or "",
        label=element.get("label") or "",
        site=element.get("site") or "",
        line=element.sourceline,
    )


def _read_suite_child(suite: _Suite, tag: str, element: etree._Element) -> None:
    """A suite's own elements end before its first child suite or case starts."""
    if tag == "failure":
        suite.failure = (child_text(element, "message"), child_text(element, "stack-trace"))
    elif tag == "reason":
        suite.reason = (child_text(element, "message") or "").strip() or None
    elif tag == "categories":
        suite.categories = [c.get("name") or "" for c in element if local(c.tag) == "category"]
    release(element)


def _suite_name(run: _Run) -> str:
    for suite in reversed(run.suites):
        if suite.kind not in ("Assembly", "Project") and suite.fullname:
            return suite.fullname
    return run.suites[-1].fullname if run.suites else ""


def _outcome(run: _Run, element: etree._Element) -> tuple[Status, str]:
    """The API status and NUnit's own result word (for the header check)."""
    result = (element.get("result") or "").strip()
    if run.version == 3:
        word = result.split(":", 1)[0].strip().lower()
        status = NUNIT3_STATUS.get(word)
        if status is None:
            run.ctx.warn_once(
                f"result:{word}",
                f"line {element.sourceline}: unknown result {result!r}; taken as Failed",
            )
            status = Status.FAILED
        return status, word
    # NUnit 2: ``result`` from 2.5 on; before that only executed/success.
    if result:
        word = result.lower()
        status = NUNIT2_STATUS.get(word)
        if status is None:
            run.ctx.warn_once(
                f"result:{word}",
                f"line {element.sourceline}: unknown result {result!r}; taken as Failed",
            )
            status = Status.FAILED
        return status, word
    if (element.get("executed") or "").strip().lower() == "false":
        return Status.SKIPPED, "notrun"
    if (element.get("success") or "").strip().lower() == "false":
        return Status.FAILED, "failure"
    return Status.PASSED, "success"


def _case_record(run: _Run, element: etree._Element) -> TestRecord:
    ctx, line = run.ctx, element.sourceline
    status, word = _outcome(run, element)
    run.raw_results[word] += 1
    if word == "skipped" and (element.get("label") or "").lower() == "explicit":
        run.explicit += 1
    if run.version == 2:
        executed = (element.get("executed") or "true").strip().lower() != "false"
        run.raw_results["executed" if executed else "not-executed"] += 1

    failure = child(element, "failure")
    message = stack = None
    if failure is not None:
        message = child_text(failure, "message")
        stack = child_text(failure, "stack-trace")
    reason = child_text(element, "reason", "message")
    site = (element.get("site") or "").strip()
    if status is Status.FAILED and not (message or "").strip() and site.lower() == "parent":
        # OneTimeSetUp failed: NUnit marks every test of the fixture Failed, site="Parent",
        # and (in some versions) leaves the message on the fixture only.
        message, stack = _ancestor_failure(run)
    if status is Status.SKIPPED and not (reason or "").strip():
        reason = _ancestor_reason(run)
    label = (element.get("label") or "").strip()
    if status is Status.FAILED:
        shown = message
        if not (shown or "").strip() and label and label.lower() not in STANDARD_LABELS:
            # NUnit 3 puts a timeout's only words in the label, with an empty <failure/>.
            shown = label
    elif word == "warning":
        shown = reason or message or _assertion_messages(element)
    else:
        shown = reason or message

    name, metadata = _case_name_and_metadata(run, element)
    metadata["result"] = element.get("result") or None
    for attr in ("label", "site"):
        if element.get(attr):
            metadata[attr] = element.get(attr)
    outputs = []
    output = child_text(element, "output")
    if output is not None:
        outputs.append(ctx.artifact("stdout.log", output, line))
    attachments = _attachments(element)

    started, finished, duration, time_source = _case_times(run, element)
    metadata["time_source"] = time_source
    failure_kind = (failure.get("type") if failure is not None else None) or None
    return make_record(
        ctx,
        name=name,
        status=status,
        line=line,
        metadata=metadata,
        started_at=started,
        finished_at=finished,
        duration_ms=duration,
        message=ctx.text(shown, line, "message") if shown else None,
        failure=failure_text(
            ctx.text(message, line, "failure message"),
            ctx.text(stack, line, "stack trace"),
            failure_kind,
        )
        if status is Status.FAILED
        else None,
        outputs=outputs,
        attachments=attachments,
        pad_with=_suite_name(run) or None,
    )


def _case_name_and_metadata(run: _Run, element: etree._Element) -> tuple[str, dict[str, Any]]:
    ctx, line = run.ctx, element.sourceline
    metadata = ctx.base_metadata(line)
    name = element.get("name") or ""
    fixture = _suite_name(run)
    if run.version == 3:
        classname = element.get("classname") or ""
        full = element.get("fullname") or (f"{classname}.{name}" if classname else name)
        metadata.update(
            {
                "name": name,
                "classname": classname or None,
                "method": element.get("methodname"),
            }
        )
    else:
        # NUnit 2 writes the full name ("Ns.Class.Method"); tools imitating it (IEUnit)
        # write the method alone, which only the fixture makes unique.
        full = name
        if "." not in name and fixture and "/" not in fixture and "\\" not in fixture:
            full = f"{fixture}.{name}"
        if element.get("description"):
            metadata["description"] = element.get("description")
    metadata["suite"] = fixture or None
    assembly = _assembly(run)
    metadata["assembly"] = assembly
    categories = [c for suite in run.suites for c in suite.categories]
    properties: list[tuple[str, str]] = []
    for group in element:
        group_tag = local(group.tag)
        if group_tag == "properties":
            for prop in group:
                key = prop.get("name") or ""
                if local(prop.tag) != "property" or not key:
                    continue
                if key == "Category":
                    categories.append(prop.get("value") or "")
                elif not key.startswith("_"):  # _SKIPREASON, _JOINTYPE: NUnit internals
                    properties.append((key, prop.get("value") or ""))
        elif group_tag == "categories":
            categories.extend(c.get("name") or "" for c in group if local(c.tag) == "category")
    if categories:
        metadata["categories"] = list(dict.fromkeys(c for c in categories if c))[:64]
    if properties:
        metadata["properties"] = named_values(properties)
    return full, metadata


def _assembly(run: _Run) -> str | None:
    for suite in run.suites:
        if suite.kind == "Assembly" or suite.name.lower().endswith((".dll", ".exe")):
            return suite.name.replace("\\", "/").rsplit("/", 1)[-1]
    return None


def _case_times(
    run: _Run, element: etree._Element
) -> tuple[datetime | None, datetime | None, int | None, str | None]:
    ctx, line = run.ctx, element.sourceline
    duration = parse_seconds(ctx, element.get("duration") or element.get("time"), line)
    started = parse_timestamp(ctx, element.get("start-time"), line) if run.version == 3 else None
    if started is not None:
        finished = parse_timestamp(ctx, element.get("end-time"), line)
        run.clock.next(duration)  # keep the clock in step for tests without times
        return started, finished, duration, "testcase"
    started, source = run.clock.next(duration)
    if run.version == 3:
        # NUnit 3 writes 0001-01-01 for a test its OneTimeSetUp kept from running: it
        # did not run on its own, it went down with its fixture.
        suite_start = next((s.started for s in reversed(run.suites) if s.started), None)
        if suite_start is not None:
            return suite_start, None, duration, "suite"
    return started, None, duration, source


def _ancestor_failure(run: _Run) -> tuple[str | None, str | None]:
    for suite in reversed(run.suites):
        if suite.failure and (suite.failure[0] or "").strip():
            return suite.failure
    return None, None


def _ancestor_reason(run: _Run) -> str | None:
    for suite in reversed(run.suites):
        if suite.reason:
            return suite.reason
    return None


def _assertion_messages(element: etree._Element) -> str | None:
    assertions = child(element, "assertions")
    if assertions is None:
        return None
    texts = [child_text(a, "message") or "" for a in assertions if local(a.tag) == "assertion"]
    joined = "\n".join(t.strip() for t in texts if t.strip())
    return joined or None


def _attachments(element: etree._Element) -> list[AttachmentRef]:
    """NUnit 3's ``TestContext.AddTestAttachment`` files; paths as NUnit wrote them
    (absolute, on the machine that ran the tests): the uploader resolves them."""
    group = child(element, "attachments")
    if group is None:
        return []
    refs = []
    for attachment in group:
        path = (child_text(attachment, "filePath") or "").strip()
        if local(attachment.tag) == "attachment" and path:
            refs.append(AttachmentRef(path=path, marker=f"<attachment><filePath>{path}"))
    return refs[:50]


def _close_suite(run: _Run, suite: _Suite) -> Iterator[TestRecord]:
    """A suite's own failure that no test case carries becomes a synthetic record."""
    ctx = run.ctx
    own = suite.failure is not None and suite.site.lower() in OWN_SITES
    if run.version == 3 and suite.result.lower().startswith("failed") and suite.site:
        own = own or suite.site.lower() in ("setup", "teardown")
    if own and suite.failed_cases == 0:
        message, stack = suite.failure or (None, None)
        where = {"setup": "OneTimeSetUp", "teardown": "OneTimeTearDown"}.get(
            suite.site.lower(), "suite"
        )
        text = (message or "").strip() or f"{where} failed"
        yield synthetic_record(
            ctx,
            name=f"{suite.fullname or suite.name or 'suite'} ({where})",
            reason=f"{where} failure outside any test case",
            message=text,
            failure=failure_text(
                ctx.text(message, suite.line, "failure message"),
                ctx.text(stack, suite.line, "stack trace"),
            ),
            line=suite.line,
            started_at=suite.started or run.clock.next(0)[0],
            metadata={
                "suite": suite.fullname or None,
                "suite_type": suite.kind or None,
                "result": suite.result or None,
                "label": suite.label or None,
                "site": suite.site or None,
            },
        )
        for ancestor in run.suites:
            ancestor.failed_cases += 1
    elif suite.cases == 0 and _skipped(suite):
        ctx.warn(
            f"line {suite.line}: suite {suite.fullname or suite.name!r} was not run "
            f"({suite.label or suite.result or 'skipped'}"
            f"{': ' + suite.reason if suite.reason else ''}) and lists no test cases; "
            "nothing to record"
        )


def _skipped(suite: _Suite) -> bool:
    result = suite.result.lower()
    return result.startswith("skipped") or result in ("ignored", "notrunnable", "skipped")


def _check_header(run: _Run) -> None:
    header, got = run.header, run.raw_results
    cases = sum(n for k, n in got.items() if k not in ("executed", "not-executed"))
    if run.version == 3:
        check_counts(
            run.ctx,
            "the <test-run> totals",
            {
                "total": header_int(header.get("total")),
                "passed": header_int(header.get("passed")),
                "failed": header_int(header.get("failed")),
                "skipped": header_int(header.get("skipped")),
                "inconclusive": header_int(header.get("inconclusive")),
                "warnings": header_int(header.get("warnings")),
            },
            {
                "total": cases - run.explicit,
                "passed": got["passed"],
                "failed": got["failed"],
                "skipped": got["skipped"],
                "inconclusive": got["inconclusive"],
                "warnings": got["warning"],
            },
        )
        return
    # NUnit 2.5+ writes total = tests run; older writers (and hand-made files) the
    # number of test cases: either agrees.
    total = header_int(header.get("total"))
    if total is not None and total in (got["executed"], cases):
        total = None
    failures = header_int(header.get("failures"))
    errors = header_int(header.get("errors"))
    failed_words = got["failure"] + got["error"] + got["cancelled"] + got["notrunnable"]
    claimed_failed = None if failures is None else failures + (errors or 0)
    invalid = header_int(header.get("invalid")) or 0
    if claimed_failed in (failed_words, failed_words - invalid):
        claimed_failed = None  # NUnit 2.5+ counts not-runnable tests as invalid, not failed
    check_counts(
        run.ctx,
        "the <test-results> totals",
        {
            "total": total,
            "failures+errors": claimed_failed,
            "not-run": header_int(header.get("not-run")),
        },
        {
            "total": got["executed"],
            "failures+errors": failed_words,
            "not-run": got["not-executed"],
        },
    )


__all__ = ["FORMATS", "parse", "sniff"]

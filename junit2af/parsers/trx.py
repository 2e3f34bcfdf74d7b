"""Streaming TRX parser: Visual Studio / VSTest test results (``dotnet test --logger trx``).

A TRX file keeps each test's result under ``<Results>`` and its class (the
``<TestMethod className>``) under ``<TestDefinitions>``, joined by ``testId``. VSTest
writes ``<Results>`` *before* ``<TestDefinitions>`` (Visual Studio 2010 wrote them after),
and a stream cannot be read twice, so:

* while the definitions are unknown, finished records wait in a spool: in memory up to
  :data:`SPOOL_MEMORY_BYTES` of text, on an anonymous temporary file past that, so a
  500 MB report costs disk, not memory;
* the definitions are kept as a map ``testId -> (class, assembly, categories)`` with
  the tuples interned (about 120 bytes a test: 12 MB for 100 000 tests);
* when ``</TestDefinitions>`` is read the spool is replayed, named, and every later
  result is named as soon as it ends. Without any definitions the names are the
  ``testName`` alone (and a warning says so).

Data-driven rows (``<InnerResults>``) are folded into their parent's record: VSTest's
``<Counters>`` count the parent once, and so does junit2af; the rows' outcomes, failures
and output are in the record's metadata, failure text and output.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, BinaryIO, cast

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
    children_by_name,
    failure_text,
    finish,
    first_line,
    header_int,
    local,
    make_record,
    missing_tests_record,
    parent_name,
    parse_timespan,
    parse_timestamp,
    release,
    synthetic_record,
    truncated_record,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.xmlsafe import SanitizingReader, iter_events, plain_attributes
from junit2af.records import AttachmentRef, SourceRef, Status, TestRecord, TextArtifact, fit_name

FORMATS = (
    Format(
        "trx",
        "Visual Studio TRX",
        "trx",
        producers="dotnet test --logger trx, vstest.console /Logger:trx, mstest.exe, "
        "Azure DevOps VSTest task",
    ),
)

TRX_NAMESPACE = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"

#: Spooled records kept in memory before the spool moves to a temporary file.
SPOOL_MEMORY_BYTES = 16 * 1024 * 1024
#: Data-driven rows described one by one in the parent's failure text and output.
ROW_DETAILS = 100
#: Run-level messages (``<RunInfo>``) kept for a synthetic record.
RUN_INFOS = 50


def sniff(head: Head) -> str | None:
    """TRX: a ``<TestRun>`` root (VSTest writes it in the TeamTest 2010 namespace)."""
    root = head.xml_root
    if root is None or root.local != "TestRun":
        return None
    # CppUnit's root is a bare <TestRun>: TRX has the TeamTest namespace (VS 2005 on
    # used it), or at least the run's id attribute.
    if "TeamTest" in root.namespace or root.attribute("id") is not None:
        return "trx"
    return None


#: TRX outcomes (the TestOutcome enum of the TRX object model) -> API status.
OUTCOMES = {
    "passed": Status.PASSED,
    "completed": Status.PASSED,
    # The test itself passed; the run was aborted after it.
    "passedbutrunaborted": Status.PASSED,
    # Passed with warnings.
    "warning": Status.PASSED,
    "failed": Status.FAILED,
    "error": Status.FAILED,
    "timeout": Status.FAILED,
    "aborted": Status.FAILED,
    "disconnected": Status.FAILED,
    # A test method MSTest cannot run (wrong signature): a broken test.
    "notrunnable": Status.FAILED,
    # Still running when the run ended: the test host crashed in it.
    "inprogress": Status.FAILED,
    "notexecuted": Status.SKIPPED,
    "inconclusive": Status.SKIPPED,
    "pending": Status.SKIPPED,
}
#: Run outcomes (``<ResultSummary outcome>``) that mean the run did not finish.
RUN_BROKEN = frozenset({"aborted", "error", "timeout", "disconnected"})


@dataclass(frozen=True)
class _Definition:
    """What a test's definition adds to its result. Interned: tests of one class share one
    (which is why the method, different for every test, is not kept)."""

    classname: str | None
    assembly: str | None
    categories: tuple[str, ...]


def _key(test_id: str) -> bytes | str:
    """A testId as map key: a GUID as its 16 bytes (49 bytes of memory, not 85)."""
    try:
        return bytes.fromhex(test_id.replace("-", "")) if len(test_id) == 36 else test_id
    except ValueError:
        return test_id


@dataclass
class _Result:
    """One ``*Result`` element being read: its own fields and its rows so far."""

    line: int | None
    attrs: dict[str, str]
    rows: Counter[str] = field(default_factory=Counter)
    row_failures: list[tuple[str, str, str]] = field(default_factory=list)  # name, outcome, text
    row_output: list[str] = field(default_factory=list)
    row_output_size: int = 0


class _Spool:
    """Records waiting for their test's definition: in memory, then on a temporary file."""

    def __init__(self, budget: int | None = None) -> None:
        self._budget = SPOOL_MEMORY_BYTES if budget is None else budget
        self._items: list[tuple[str, str, TestRecord]] = []
        self._size = 0
        self._file: IO[bytes] | None = None
        self.count = 0
        self.spilled = False

    def add(self, test_id: str, name: str, record: TestRecord) -> None:
        self.count += 1
        # ~1 KB of objects per record besides its texts
        size = 1024 + sum(len(o.text) for o in record.outputs) + len(record.failure_text or "")
        if self._file is None and self._size + size <= self._budget:
            self._items.append((test_id, name, record))
            self._size += size
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in drain()
            self.spilled = True
            for item in self._items:
                pickle.dump(_pack(*item), self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._items = []
        pickle.dump(_pack(test_id, name, record), self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def drain(self) -> Iterator[tuple[str, str, TestRecord]]:
        """Every record in the order added; the spool is empty afterwards."""
        items, self._items, self._size, self.count = self._items, [], 0, 0
        yield from items
        spill, self._file = self._file, None
        if spill is None:
            return
        try:
            spill.seek(0)
            while True:
                try:
                    # Our own tuples, written a moment ago to an unlinked file.
                    yield _unpack(pickle.load(spill))  # noqa: S301
                except EOFError:
                    break
        finally:
            spill.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _pack(test_id: str, name: str, record: TestRecord) -> tuple[Any, ...]:
    """A record as plain tuples: pickling slotted dataclasses field by field is 3x slower."""
    return (
        test_id,
        name,
        record.test_name,
        record.status.value,
        record.source.line,
        record.started_at,
        record.finished_at,
        record.execution_time_ms,
        record.error_message,
        dict(record.metadata),
        record.failure_text,
        tuple((o.label, o.text, o.content_type, o.truncated_bytes) for o in record.outputs),
        tuple((a.path, a.marker) for a in record.attachments),
        record.source.path,
        record.source.member,
    )


def _unpack(item: tuple[Any, ...]) -> tuple[str, str, TestRecord]:
    (test_id, name, test_name, status, line, started, finished, ms, message, metadata) = item[:10]
    failure, outputs, attachments, path, member = item[10:]
    record = TestRecord(
        test_name=test_name,
        status=Status(status),
        source=SourceRef(path, member, line),
        started_at=started,
        finished_at=finished,
        execution_time_ms=ms,
        error_message=message,
        metadata=metadata,
        failure_text=failure,
        outputs=tuple(TextArtifact(*o) for o in outputs),
        attachments=tuple(AttachmentRef(*a) for a in attachments),
    )
    return test_id, name, record


class _Run:
    def __init__(self, ctx: Context, source: SourceRef) -> None:
        self.ctx = ctx
        self.run_name: str | None = None
        self.deployment_root: str | None = None
        self.stem = _stem(source)
        self.clock = Clock()
        self.definitions: dict[bytes | str, _Definition] = {}
        self._interned: dict[_Definition, _Definition] = {}
        self.definitions_read = False
        self.spool = _Spool()
        self.open_results: list[_Result] = []
        self.outcomes: Counter[str] = Counter()
        self.records = 0
        self.summary_outcome: str | None = None
        self.summary_line: int | None = None
        self.counters: dict[str, str] = {}
        self.run_infos: list[tuple[str, str]] = []
        self.run_output: TextArtifact | None = None

    def define(self, test_id: str, definition: _Definition) -> None:
        self.definitions[_key(test_id.lower())] = self._interned.setdefault(definition, definition)


def _stem(source: SourceRef) -> str | None:
    name = source.member or source.path
    if not name or name == "-":
        return None
    base = os.path.basename(name.replace("\\", "/"))
    return base[:-4] if base.lower().endswith(".trx") else os.path.splitext(base)[0]


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per top-level test result of a TRX file."""
    reader = SanitizingReader(stream)
    ctx = Context(source, options, "trx")
    run = _Run(ctx, source)
    last_line = 1

    def check_root(root: etree._Element) -> None:
        if local(root.tag) != "TestRun":
            raise InputError(
                ctx.report,
                f"not a TRX report (root element <{local(root.tag)}>)",
                line=root.sourceline,
            )
        run.run_name = root.get("name")

    try:
        for event, element in iter_events(cast(BinaryIO, reader), ctx.report, on_root=check_root):
            tag = local(element.tag)
            # Most events are inside a result (its output, its error): decide those with
            # the tag alone, and look at the parent only for a possible result element.
            is_result = _is_result_tag(tag) and parent_name(element) in RESULT_PARENTS
            if event == "start":
                if is_result:
                    last_line = element.sourceline or last_line
                    attrs = plain_attributes(element, ctx.report)
                    run.open_results.append(_Result(element.sourceline, attrs))
                continue
            if is_result and run.open_results:
                result = run.open_results.pop()
                if run.open_results:
                    _fold_row(run, run.open_results[-1], result, element)
                else:
                    yield from _top_result(run, result, element)
                release(element)
                continue
            if run.open_results:
                continue  # inside a result: read when the result ends
            last_line = element.sourceline or last_line
            parent_tag = parent_name(element)
            if tag == "Deployment":
                run.deployment_root = element.get("runDeploymentRoot") or None
            elif tag == "Times":
                start = parse_timestamp(ctx, element.get("start"), element.sourceline)
                run.clock.set_start(start, "run")
            elif parent_tag == "TestDefinitions":
                _read_definition(run, element)
                release(element)
            elif parent_tag in ("TestEntries", "TestLists"):
                release(element)  # one per test, never read: flat memory
            elif tag == "TestDefinitions":
                run.definitions_read = True
                yield from _drain(run)
                release(element)
            elif tag == "Counters":
                run.counters = plain_attributes(element, ctx.report)
            elif tag == "RunInfo" and len(run.run_infos) < RUN_INFOS:
                text = ctx.text(child_text(element, "Text"), element.sourceline, "RunInfo")
                run.run_infos.append(((element.get("outcome") or "").lower(), text.strip()))
                release(element)
            elif tag == "StdOut" and parent_tag == "Output" and _in_summary(element):
                run.run_output = ctx.artifact("run-stdout.log", element.text, element.sourceline)
            elif tag == "ResultSummary":
                run.summary_outcome = element.get("outcome")
                run.summary_line = element.sourceline
                release(element)
            elif parent_tag in ("TestEntries", "TestLists") or tag in (
                "TestEntries",
                "TestLists",
                "TestSettings",
            ):
                release(element)
    except InputError as error:
        if not can_salvage(ctx, error, run.records + run.spool.count):
            run.spool.close()
            raise
        yield from _drain(run)
        yield truncated_record(ctx, run.run_name or ctx.report, last_line, error)
        return

    if run.spool.count:
        ctx.warn(
            "the report has no <TestDefinitions> for its results: names are the results' "
            "testName without the class"
        )
        yield from _drain(run)
    claimed = header_int(run.counters.get("total")) or 0
    if claimed and not sum(run.outcomes.values()):
        failed = sum(header_int(run.counters.get(k)) or 0 for k in ("failed", "error", "timeout"))
        name = run.run_name or ctx.report
        yield missing_tests_record(ctx, name, claimed, failed, run.summary_line)
        run.records += 1
        if (run.summary_outcome or "").lower() in RUN_BROKEN:
            yield from _run_failure(run)
    else:
        yield from _run_failure(run)
        _check_counters(run)
    finish(ctx, reader, run.records, "test results")


RESULT_PARENTS = frozenset({"Results", "InnerResults"})


def _is_result_tag(tag: str) -> bool:
    """UnitTestResult, TestResultAggregation (ordered tests), WebTestResult, ..."""
    return tag.endswith("Result") or tag == "TestResultAggregation"


def _in_summary(element: etree._Element) -> bool:
    output = element.getparent()
    summary = output.getparent() if output is not None else None
    return summary is not None and local(summary.tag) == "ResultSummary"


def _read_definition(run: _Run, element: etree._Element) -> None:
    test_id = element.get("id")
    if not test_id:
        return
    method = child(element, "TestMethod")
    classname = method.get("className") if method is not None else None
    if classname:
        # Visual Studio 2010 wrote assembly-qualified names: "Ns.Class, Assembly, Version=.."
        classname = classname.split(",", 1)[0].strip() or None
    storage = element.get("storage") or ""
    assembly = os.path.basename(storage.replace("\\", "/")) or None
    categories: list[str] = []
    group = child(element, "TestCategory")
    if group is not None:
        categories = [c.get("TestCategory") or "" for c in group if c.get("TestCategory")]
    run.define(
        test_id,
        _Definition(
            classname=classname,
            assembly=assembly,
            categories=tuple(categories[:64]),
        ),
    )


def _outcome(run: _Run, result: _Result) -> tuple[Status, str]:
    raw = (result.attrs.get("outcome") or "").strip()
    word = raw.lower()
    if not word:
        # VSTest leaves outcome out for a result that never got one: not run.
        return Status.SKIPPED, "notexecuted"
    status = OUTCOMES.get(word)
    if status is None:
        run.ctx.warn_once(
            f"outcome:{word}",
            f"line {result.line}: unknown outcome {raw!r}; taken as Failed",
        )
        return Status.FAILED, word
    return status, word


def _output_texts(run: _Run, element: etree._Element, line: int | None) -> dict[str, str | None]:
    ctx = run.ctx
    output = child(element, "Output")
    if output is None:
        return {}
    parts = children_by_name(output)
    texts: dict[str, str | None] = {}
    for tag, key in (("StdOut", "stdout"), ("StdErr", "stderr"), ("DebugTrace", "debug")):
        texts[key] = parts[tag].text or "" if tag in parts else None
    messages = parts.get("TextMessages")
    if messages is not None:
        lines = [m.text or "" for m in messages if local(m.tag) == "Message"]
        texts["messages"] = "\n".join(lines) if lines else None
    error = parts.get("ErrorInfo")
    texts["message"] = child_text(error, "Message") if error is not None else None
    texts["stack"] = child_text(error, "StackTrace") if error is not None else None
    # Output is capped when it becomes an artifact; the failure's parts here.
    for key in ("message", "stack"):
        if texts[key] is not None:
            texts[key] = ctx.text(texts[key], line, key)
    return texts


def _result_files(run: _Run, element: etree._Element, attrs: dict[str, str]) -> list[AttachmentRef]:
    """``<ResultFiles>``: files a test attached (TestContext.AddResultFile).

    VSTest copies them to ``<runDeploymentRoot>/In/<relativeResultsDirectory>/`` next to
    the .trx and writes the path relative to that folder (usually ``MACHINE\\file``).
    junit2af points there, relative to the report's folder; the uploader resolves it
    within the attachment roots. Absolute paths are left as written."""
    group = child(element, "ResultFiles")
    if group is None:
        return []
    folder = attrs.get("relativeResultsDirectory") or attrs.get("executionId") or ""
    root = run.deployment_root or run.stem
    refs = []
    for item in group:
        path = (item.get("path") or "").strip()
        if local(item.tag) != "ResultFile" or not path:
            continue
        if re.match(r"^(?:[A-Za-z]:[\\/]|[\\/])", path):
            resolved = path
        else:
            parts = [p for p in (root, "In", folder) if p]
            resolved = "/".join([*parts, path.replace("\\", "/")])
        refs.append(AttachmentRef(path=resolved, marker=f'<ResultFile path="{path}">'))
    return refs[:50]


def _fold_row(run: _Run, parent: _Result, row: _Result, element: etree._Element) -> None:
    """A data-driven row (``<InnerResults>``): counted and described in its parent."""
    status, word = _outcome(run, row)
    parent.rows[word] += 1
    name = row.attrs.get("testName") or row.attrs.get("dataRowInfo") or "row"
    if sum(parent.rows.values()) > ROW_DETAILS:
        return
    texts = _output_texts(run, element, row.line)
    if status is Status.FAILED:
        detail = (texts.get("message") or "").strip()
        stack = texts.get("stack")
        if stack:
            detail = f"{detail}\n{stack.rstrip()}".strip()
        parent.row_failures.append((name, row.attrs.get("outcome") or word, detail))
    for key in ("stdout", "stderr"):
        text = texts.get(key)
        if text and text.strip() and parent.row_output_size < run.ctx.options.max_text_bytes:
            block = f"--- {name} ({key}) ---\n{text.rstrip()}\n"
            parent.row_output.append(block)
            parent.row_output_size += len(block)


def _top_result(run: _Run, result: _Result, element: etree._Element) -> Iterator[TestRecord]:
    ctx, attrs, line = run.ctx, result.attrs, result.line
    status, word = _outcome(run, result)
    run.outcomes[word] += 1
    texts = _output_texts(run, element, line)
    message, stack = texts.get("message"), texts.get("stack")

    metadata = ctx.base_metadata(line)
    metadata["outcome"] = attrs.get("outcome") or "NotExecuted"
    for attr, key in (("computerName", "computer"), ("executionId", "execution_id")):
        if attrs.get(attr):
            metadata[key] = attrs[attr]
    if result.rows:
        metadata["data_rows"] = sum(result.rows.values())
        metadata["data_row_outcomes"] = dict(sorted(result.rows.items()))
        failed_rows = sum(n for w, n in result.rows.items() if OUTCOMES.get(w) is Status.FAILED)
        if status is Status.FAILED and not (message or "").strip() and result.row_failures:
            name, _, detail = result.row_failures[0]
            message = (
                f"{failed_rows} of {metadata['data_rows']} data rows failed; "
                f"first: {name}: {first_line(detail) or 'failed'}"
            )
    failure = None
    if status is Status.FAILED:
        failure = failure_text(message, stack)
        if result.row_failures:
            rows = "\n\n".join(
                f"{name} ({outcome})\n{detail}".rstrip()
                for name, outcome, detail in result.row_failures
            )
            failure = f"{failure or message or ''}\n\nfailed data rows:\n{rows}".lstrip()
    shown = message if status is not Status.PASSED or word == "warning" else None

    outputs = [
        ctx.artifact("stdout.log", texts.get("stdout"), line),
        ctx.artifact("stderr.log", texts.get("stderr"), line),
        ctx.artifact("debug.log", texts.get("debug"), line),
        ctx.artifact("messages.log", texts.get("messages"), line),
    ]
    if result.row_output:
        outputs.append(ctx.artifact("data-rows.log", "".join(result.row_output), line))

    duration = parse_timespan(ctx, attrs.get("duration"), line)
    started = parse_timestamp(ctx, attrs.get("startTime"), line)
    finished = None
    if started is not None:
        # The xUnit.net adapter writes startTime == endTime and the real duration apart;
        # start + duration is what every writer agrees on.
        if duration is None:
            finished = parse_timestamp(ctx, attrs.get("endTime"), line)
        metadata["time_source"] = "testcase"
        run.clock.next(duration)
    else:
        if run.clock.start is None:
            run.clock.fall_back(ctx, None)
        started, metadata["time_source"] = run.clock.next(duration)

    record = make_record(
        ctx,
        name=attrs.get("testName") or "",
        status=status,
        line=line,
        metadata=metadata,
        started_at=started,
        finished_at=finished,
        duration_ms=duration,
        message=shown,
        failure=failure,
        outputs=outputs,
        attachments=_result_files(run, element, attrs),
    )
    test_id = (attrs.get("testId") or "").lower()
    name = attrs.get("testName") or ""
    if run.definitions_read:
        run.records += 1
        yield _named(run, test_id, name, record)
    else:
        run.spool.add(test_id, name, record)


def _named(run: _Run, test_id: str, test_name: str, record: TestRecord) -> TestRecord:
    """The record under its full name: ``Class.testName`` unless testName has the class."""
    definition = run.definitions.get(_key(test_id))
    if definition is None:
        return record
    classname = definition.classname
    full = test_name
    if classname and not test_name.startswith(classname + "."):
        full = f"{classname}.{test_name}"
    metadata = dict(record.metadata)
    metadata.update(
        {
            k: v
            for k, v in (
                ("classname", classname),
                ("assembly", definition.assembly),
                ("categories", list(definition.categories)),
            )
            if v
        }
    )
    return replace(record, test_name=fit_name(full), metadata=metadata)


def _drain(run: _Run) -> Iterator[TestRecord]:
    for test_id, name, record in run.spool.drain():
        run.records += 1
        yield _named(run, test_id, name, record)


def _run_failure(run: _Run) -> Iterator[TestRecord]:
    """A run that did not finish, or failed with no failed test, is a failed record."""
    outcome = (run.summary_outcome or "").strip()
    word = outcome.lower()
    failed = sum(n for w, n in run.outcomes.items() if OUTCOMES.get(w) is Status.FAILED)
    if word not in RUN_BROKEN and not (word == "failed" and failed == 0):
        return
    errors = [text for kind, text in run.run_infos if kind in ("error", "failed") and text]
    message = errors[0] if errors else f"the test run ended with outcome {outcome}"
    yield synthetic_record(
        run.ctx,
        name=f"test run: {word}",
        reason=f"run outcome {outcome}" + ("" if failed else " with no failed test"),
        message=message,
        failure="\n\n".join(errors) if len(errors) > 1 else None,
        line=run.summary_line,
        started_at=run.clock.start,
        metadata={"run_name": run.run_name, "outcome": outcome},
        outputs=[run.run_output],
    )
    run.records += 1


def _check_counters(run: _Run) -> None:
    """``<Counters>`` are what VSTest counted: compare with the results read."""
    counters, got = run.counters, run.outcomes
    if not counters:
        return
    total = sum(got.values())
    not_run = got["notexecuted"] + got["pending"]
    # The xUnit.net and NUnit adapters leave notExecuted at 0 for skipped tests (they
    # do lower "executed"), so notExecuted is not compared.
    check_counts(
        run.ctx,
        "the <Counters> of <ResultSummary>",
        {
            key: header_int(counters.get(key))
            for key in (
                "total",
                "executed",
                "passed",
                "failed",
                "error",
                "timeout",
                "aborted",
                "inconclusive",
                "notRunnable",
                "warning",
            )
        },
        {
            "total": total,
            "executed": total - not_run,
            "passed": got["passed"],
            "failed": got["failed"],
            "error": got["error"],
            "timeout": got["timeout"],
            "aborted": got["aborted"],
            "inconclusive": got["inconclusive"],
            "notRunnable": got["notrunnable"],
            "warning": got["warning"],
        },
    )


__all__ = ["FORMATS", "TRX_NAMESPACE", "parse", "sniff"]

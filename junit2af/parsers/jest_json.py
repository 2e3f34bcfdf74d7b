"""Jest ``--json`` and Vitest ``--reporter=json`` parser (the same document shape).

The report is one JSON document (Jest's ``formatTestResults``): ``testResults[]`` per test
file, each with ``assertionResults[]`` per test. It is loaded whole under the documented
size cap. The mapping rules are in ``notes/native-js.md``.

Quirks of the real tools that shaped the rules:

* A file that fails to load (or whose ``afterAll`` throws) has ``status: "failed"``, a
  ``message`` and no failed test: it becomes a synthetic Failed record, never a silent
  zero.
* Jest's ``test.failing`` is ``status: "passed"`` with ``failing: true`` when it failed as
  expected (KnownFail here). Vitest's ``test.fails`` is a plain ``"passed"``: its JSON
  reporter keeps no trace of it (its console counts it as "expected fail").
* Retries: Jest writes ``invocations`` and the earlier attempts' ``retryReasons``.
  Vitest (3 and 4) writes no count: ``failureMessages`` is every error of every try, and
  one try can throw several (``expect.soft``, a failing ``afterEach``). A passed test
  with ``failureMessages`` passed on a retry (``attempts`` = messages + 1, exact when each
  failed try threw once, else too high); a failed test's tries cannot be counted, so it
  gets no ``attempts`` (``fixtures/jest-json/vitest-retry.json``).
* Jest 30 writes each test's ``startAt`` (epoch ms); older Jest and Vitest only the
  file's ``startTime``, from which tests are placed one after another.
* ``name`` is the file's absolute path; records are named ``file › describe › test``
  with the file relative to the deepest directory holding every test file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native import (
    WarnOnce,
    as_int,
    as_number,
    as_str,
    clip,
    common_directory,
    epoch_ms_time,
    listing,
    load_document,
    mapping,
    message_of,
    relative_to,
    strip_ansi,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord, TextArtifact, fit_name

FORMATS = (
    Format(
        "jest-json",
        "Jest / Vitest JSON",
        "jest_json",
        producers="jest --json --outputFile=..., vitest --reporter=json",
    ),
)


def sniff(head: Head) -> str | None:
    """Jest/Vitest: one object whose first keys are the ``num*Test*`` counters."""
    text = head.text[:2048]
    if (
        head.is_json_object
        and b'"numTotalTests"' in head.text
        and (b'"numTotalTestSuites"' in text or b'"numFailedTestSuites"' in text)
    ):
        return "jest-json"
    return None


_STATUS = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "pending": Status.SKIPPED,  # Jest's test.skip / xit
    "skipped": Status.SKIPPED,  # Vitest's test.skip
    "disabled": Status.SKIPPED,
    "todo": Status.KNOWN_FAIL,  # test.todo: written down, not written yet
}
SEPARATOR = " › "


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test of a Jest/Vitest JSON report, plus a
    synthetic Failed record per test file that failed outside its tests."""
    path = source.display()
    document = load_document(stream, path, options, "Jest/Vitest JSON")
    if not isinstance(document, Mapping) or not isinstance(document.get("testResults"), list):
        raise InputError(path, 'not a Jest/Vitest JSON report: no "testResults" list')
    warn = WarnOnce(path, options.warn)
    producer = "jest" if "openHandles" in document or "wasInterrupted" in document else "vitest"
    if document.get("wasInterrupted") is True:
        warn("interrupted", "the run was interrupted (wasInterrupted): results may be missing")
    files = document["testResults"]
    root = common_directory([as_str(mapping(f).get("name")) or "" for f in files])
    base = {"format": "jest-json", "producer": producer, "report": path}
    for index, item in enumerate(files):
        if not isinstance(item, Mapping):
            raise InputError(path, f"testResults[{index}] is not an object")
        files[index] = None  # the file's records are built: let it go
        yield from _file_records(item, root, base, source, options, warn)


def _file_records(
    item: Mapping[str, Any],
    root: str,
    base: dict[str, Any],
    source: SourceRef,
    options: ParseOptions,
    warn: WarnOnce,
) -> Iterator[TestRecord]:
    file = relative_to(as_str(item.get("name")) or "", root) or "(unnamed test file)"
    started = epoch_ms_time(item.get("startTime"))
    time_source = "suite"
    if started is None and options.fallback_start is not None:
        started, time_source = options.fallback_start, "file_mtime"
    offset_ms = 0.0
    failed_tests = 0
    for test in listing(item.get("assertionResults")):
        if not isinstance(test, Mapping):
            continue
        duration = as_number(test.get("duration"))
        own_start = epoch_ms_time(test.get("startAt"))
        if own_start is not None:
            started_at, source_of_time = own_start, "report"
        elif started is not None:
            started_at = started + timedelta(milliseconds=offset_ms)
            source_of_time = time_source
        else:
            started_at, source_of_time = None, None
        offset_ms += round(duration or 0.0)
        record = _test_record(test, file, base, source, started_at, source_of_time, warn)
        if record.status is Status.FAILED:
            failed_tests += 1
        yield record
    message = as_str(item.get("message"))
    message = message or as_str(mapping(item.get("testExecError")).get("message"))
    if item.get("status") == "failed" and failed_tests == 0:
        yield _suite_failure(item, file, base, source, started, time_source, message)


def _test_record(
    test: Mapping[str, Any],
    file: str,
    base: dict[str, Any],
    source: SourceRef,
    started_at: datetime | None,
    time_source: str | None,
    warn: WarnOnce,
) -> TestRecord:
    title = as_str(test.get("title")) or as_str(test.get("fullName")) or "(untitled test)"
    ancestors = [a for a in listing(test.get("ancestorTitles")) if isinstance(a, str) and a]
    raw_status = as_str(test.get("status")) or "unknown"
    status = _STATUS.get(raw_status)
    failures = [strip_ansi(m) for m in listing(test.get("failureMessages")) if as_str(m)]
    metadata: dict[str, Any] = {**base, "file": file}
    if ancestors:
        metadata["suite_path"] = ancestors
    location = mapping(test.get("location"))
    if as_int(location.get("line")) is not None:
        metadata["line"] = location["line"]
    metadata["jest_status"] = raw_status
    tags = [t for t in listing(test.get("tags")) if isinstance(t, str)]
    if tags:
        metadata["tags"] = tags[:64]

    failing = test.get("failing") is True  # Jest's test.failing
    message = failure_text = None
    earlier: list[str] = []
    if status is None:
        warn(f"status:{raw_status}", f"unknown test status {raw_status!r}: reported as Failed")
        status, message = Status.FAILED, f"unknown test status {raw_status!r}"
    if failing:
        metadata["expected_to_fail"] = True
        if status is Status.PASSED:
            status = Status.KNOWN_FAIL
            message = "failed as expected (test.failing)"
    if status is Status.FAILED and failures:
        failure_text = "\n\n".join(failures)
        message = message_of(failures[0])
    elif status is Status.FAILED and message is None:
        message = "failed (no failure message in the report)"
    elif status is Status.PASSED and failures:
        earlier = failures  # Vitest: the messages of the failed attempts before the pass
    elif status is Status.KNOWN_FAIL and raw_status == "todo":
        message = "todo"

    retries = [strip_ansi(r) for r in listing(test.get("retryReasons")) if as_str(r)]
    invocations = as_int(test.get("invocations"))
    attempts = invocations if invocations and invocations > 1 else None
    if earlier or retries:
        earlier = retries or earlier
        attempts = max(attempts or 0, len(earlier) + 1)
    outputs: tuple[TextArtifact, ...] = ()
    if attempts:
        metadata["attempts"] = attempts
        metadata["flaky"] = status is Status.PASSED
        if earlier:
            history = "\n\n".join(
                f"attempt {number}: Failed\n{text}" for number, text in enumerate(earlier, 1)
            )
            outputs = (TextArtifact("attempts.txt", history + "\n"),)
    duration = as_number(test.get("duration"))
    duration_ms = None if duration is None else int(round(duration))
    if time_source:
        metadata["time_source"] = time_source
    name = SEPARATOR.join([file, *ancestors, title])
    return TestRecord(
        test_name=fit_name(name),
        status=status,
        source=source,
        started_at=started_at,
        finished_at=(
            started_at + timedelta(milliseconds=duration_ms)
            if started_at is not None and duration_ms is not None
            else None
        ),
        execution_time_ms=duration_ms,
        error_message=clip(message),
        metadata=metadata,
        failure_text=failure_text,
        outputs=outputs,
    )


def _suite_failure(
    item: Mapping[str, Any],
    file: str,
    base: dict[str, Any],
    source: SourceRef,
    started: datetime | None,
    time_source: str,
    message: str | None,
) -> TestRecord:
    text = strip_ansi(message) if message else None
    summary = None
    for line in (text or "").splitlines():
        stripped = line.strip()
        # Jest's '● Test suite failed to run' header says nothing the record does not.
        if stripped and not stripped.startswith("●"):
            summary = stripped
            break
    metadata: dict[str, Any] = {
        **base,
        "file": file,
        "synthetic": True,
        "reason": "test file failed outside its tests",
    }
    if started is not None:
        metadata["time_source"] = time_source
    ended = epoch_ms_time(item.get("endTime"))
    return TestRecord(
        test_name=fit_name(f"{file} (test file failed)"),
        status=Status.FAILED,
        source=source,
        started_at=started,
        finished_at=ended if ended and started and ended >= started else started,
        execution_time_ms=(
            int((ended - started).total_seconds() * 1000)
            if ended and started and ended >= started
            else None
        ),
        error_message=clip(summary or "the test file failed outside its tests"),
        metadata=metadata,
        failure_text=text,
    )

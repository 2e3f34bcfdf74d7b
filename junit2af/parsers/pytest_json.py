"""pytest-json-report (``.report.json``) parser, and the pytest helpers reportlog shares.

The report is one JSON document, so it is loaded whole (memory grows with the file, up to
:data:`~junit2af.parsers.jsonsafe.MAX_DOCUMENT_BYTES`); records are then yielded one test
at a time. The mapping rules are in the README ("How pytest JSON and reportlog map").

Quirks of pytest-json-report that shaped the rules:

* ``created`` is written at session *finish* and ``duration`` is the whole session, so
  start times are counted back from ``created`` over the tests' own durations.
* ``lineno`` is pytest's 0-based ``item.location`` line.
* With pytest-rerunfailures only the last attempt's stages are kept, and the test's
  ``outcome`` stays ``"rerun"`` when the last attempt passed (a later non-pass outcome
  overwrites it): a test that failed every attempt looks like a single failure.
* A test cut short (an INTERNALERROR, ``pytest.exit()`` with any return code) keeps only
  the stages written before, with ``outcome: "passed"``: a test without a teardown stage
  never finished, whatever ``exitcode`` says.
* pytest-xdist's report of a crashed worker is a stage named ``"???"``, its text after the
  worker's ``[gw1] linux -- Python …`` line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._pytest_common import (
    CRASH_PHASE,
    PHASES,
    SETUP_ONLY_MESSAGE,
    XDIST_CRASH_WHEN,
    abnormal_exit,
    abnormal_exit_record,
    as_seconds,
    as_str,
    epoch_time,
    exit_words,
    failure_message,
    file_and_line,
    format_log_records,
    join_phases,
    keywords_of,
    output_label,
    session_ended_first,
    skip_reason,
    sorted_outputs,
    text_artifact,
    to_ms,
    unfinished_message,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import SafeJSON
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

FORMATS = (
    Format("pytest-json", "pytest-json-report", "pytest_json", producers="pytest-json-report"),
)


def sniff(head: Head) -> str | None:
    """pytest-json-report: one object with ``exitcode`` and ``created`` or ``root``.

    Its environment block may push ``tests`` past the sniffed bytes; these keys come first.
    """
    text = head.text
    if (
        head.is_json_object
        and b'"exitcode"' in text
        and (b'"created"' in text or b'"root"' in text)
    ):
        return "pytest-json"
    return None


# ---------------------------------------------------------------- pytest-json-report


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test (and per failed collector) of a
    pytest-json-report document read from ``stream``."""
    path = source.display()
    document = SafeJSON(path, options.warn).load_stream(stream)
    if not isinstance(document, dict):
        raise InputError(path, "not a pytest-json-report document: top level is not an object")
    tests = document.get("tests")
    if tests is None:
        if "summary" in document:
            raise InputError(
                path,
                "pytest-json-report summary only (--json-report-summary): no per-test "
                "results to upload",
            )
        raise InputError(path, 'not a pytest-json-report document: no "tests" list')
    if not isinstance(tests, list):
        raise InputError(path, 'not a pytest-json-report document: "tests" is not a list')

    base: dict[str, Any] = {"format": "pytest-json", "report": path}
    environment = document.get("environment")
    if isinstance(environment, Mapping):
        packages = environment.get("Packages")
        version = packages.get("pytest") if isinstance(packages, Mapping) else None
        if as_str(version):
            base["pytest_version"] = version

    # Where the clock stood: ``created`` is the end of the session (or the file's mtime).
    end = epoch_time(document.get("created"))
    time_source = "report_created"
    if end is None and options.fallback_start is not None:
        end, time_source = options.fallback_start, "file_mtime"
    session = as_seconds(document.get("duration"))
    session_start = end - timedelta(seconds=session) if end and session is not None else None
    durations = [_test_duration_ms(test) for test in tests]
    remaining_ms = sum(d or 0 for d in durations)

    failed = False  # whether any record so far is Failed
    collectors = document.get("collectors")
    if isinstance(collectors, list):
        for index, collector in enumerate(collectors):
            record = _collector_record(collector, index, source, base, session_start)
            if record is not None:
                failed = failed or record.status is Status.FAILED
                yield record

    exitcode = document.get("exitcode")
    interrupted = exitcode == 2
    if (
        not tests
        and not interrupted
        and not abnormal_exit(exitcode)
        and not any(
            isinstance(c, Mapping) and c.get("outcome") in ("failed", "skipped")
            for c in (collectors if isinstance(collectors, list) else [])
        )
    ):
        # Never a silent zero (pytest's exit code 5, "no tests ran", writes this too).
        options.warn(f"{path}: the report holds no test result")
    running: list[str] = []
    unfinished = 0
    for index, test in enumerate(tests):
        if not isinstance(test, Mapping) or not as_str(test.get("nodeid")):
            raise InputError(path, f"tests[{index}] is not a test entry with a nodeid")
        cut = _cut_short(test)
        if cut and interrupted and not _failed_stages(_stages(test)):
            # The test running when the session was interrupted: its outcome says
            # "passed". It is named in the synthetic record below, as pytest's JUnit XML
            # has one placeholder for it.
            running.append(test["nodeid"])
            tests[index] = None
            continue
        unfinished += cut
        duration_ms = durations[index]
        started_at = None
        if end is not None:
            started_at = end - timedelta(milliseconds=remaining_ms)
            if session_start is not None and started_at < session_start:
                started_at = session_start
        remaining_ms -= duration_ms or 0
        tests[index] = None  # let the parsed test go once its record is built
        record = _test_record(
            test,
            source,
            base,
            options,
            started_at,
            duration_ms,
            time_source,
            session_ended_first(exitcode, "code") if cut else None,
        )
        failed = failed or record.status is Status.FAILED
        yield record
    if unfinished:
        options.warn(
            f"{path}: {unfinished} test(s) started but never finished "
            f"({session_ended_first(exitcode, 'code')}); reported as Failed"
        )
    if interrupted:
        yield _interrupted_record(document, running, source, base, end)
    elif abnormal_exit(exitcode):
        name, reason, message = abnormal_exit_record(exitcode, "code")
        if failed:
            options.warn(f"{path}: {exit_words(exitcode, 'code')}: the results may be incomplete")
        else:
            yield TestRecord(
                test_name=name,
                status=Status.FAILED,
                source=source,
                started_at=end,
                error_message=message,
                metadata={**base, "synthetic": True, "reason": reason, "exit_status": exitcode},
            )


def _cut_short(test: Mapping[str, Any]) -> bool:
    """A test with stages but no teardown (nor xdist's crash report): it never finished.

    An interruption, an INTERNALERROR or ``pytest.exit()`` leaves its setup (and call)
    with ``outcome: "passed"``; every finished test has a teardown stage. A crash report
    whose outcome is "rerun" (pytest-rerunfailures) ends nothing: an attempt follows.
    """
    crash = test.get(XDIST_CRASH_WHEN)
    return (
        any(isinstance(test.get(p), Mapping) for p in PHASES)
        and not isinstance(test.get("teardown"), Mapping)
        and not (isinstance(crash, Mapping) and crash.get("outcome") != "rerun")
    )


def _interrupted_record(
    document: Mapping[str, Any],
    running: list[str],
    source: SourceRef,
    base: dict[str, Any],
    end: datetime | None,
) -> TestRecord:
    """pytest's exit code 2: the session was interrupted (Ctrl-C, pytest.exit(), errors
    during collection). pytest-json-report has no flag for it but ``exitcode``."""
    summary = document.get("summary")
    collected = summary.get("collected") if isinstance(summary, Mapping) else None
    what = f" while {running[0]} was running" if running else ""
    if len(running) > 1:
        what += f" (and {len(running) - 1} more)"
    message = f"the test session was interrupted{what}; pytest exit code 2"
    metadata: dict[str, Any] = {**base, "synthetic": True, "reason": "session interrupted"}
    metadata["exit_status"] = 2
    if running:
        metadata["running"] = running[:20]
    if isinstance(collected, int) and not isinstance(collected, bool):
        metadata["collected"] = collected
        message += f": {collected} test(s) collected"
    return TestRecord(
        test_name="pytest (session interrupted)",
        status=Status.FAILED,
        source=source,
        started_at=end,
        error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
        metadata=metadata,
    )


def _stages(test: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The test's stages in order; xdist's ``"???"`` stage (a crashed worker) as "crash"."""
    stages = [(p, test[p]) for p in PHASES if isinstance(test.get(p), Mapping)]
    crash = test.get(XDIST_CRASH_WHEN)
    if isinstance(crash, Mapping):
        stages.append((CRASH_PHASE, crash))
    return stages


def _failed_stages(
    stages: list[tuple[str, Mapping[str, Any]]],
) -> list[tuple[str, Mapping[str, Any]]]:
    return [(p, s) for p, s in stages if s.get("outcome") == "failed"]


def _test_duration_ms(test: Any) -> int | None:
    if not isinstance(test, Mapping):
        return None
    seconds = [as_seconds(stage.get("duration")) for _, stage in _stages(test)]
    known = [s for s in seconds if s is not None]
    return to_ms(sum(known)) if known else None


def _stage_outputs(
    stages: list[tuple[str, Mapping[str, Any]]], options: ParseOptions
) -> list[TextArtifact]:
    outputs = []
    for stream in ("stdout", "stderr", "log"):
        parts = []
        for phase, stage in stages:
            raw = stage.get(stream)
            text = format_log_records(raw) if stream == "log" else as_str(raw)
            if text:
                parts.append((phase, text))
        if parts:
            outputs.append(text_artifact(output_label(stream), join_phases(parts), options))
    return outputs


def _crash_message(stage: Mapping[str, Any]) -> str | None:
    crash = stage.get("crash")
    return as_str(crash.get("message")) if isinstance(crash, Mapping) else None


def _status_of(
    outcome: str | None, stages: list[tuple[str, Mapping[str, Any]]], cut: bool
) -> tuple[Status, dict[str, Any]]:
    """The record's status from the test's outcome, checked against its stages."""
    flags: dict[str, Any] = {}
    if outcome in ("failed", "error") or _failed_stages(stages) or cut:
        return Status.FAILED, flags
    if outcome == "xfailed":
        return Status.KNOWN_FAIL, flags
    if outcome == "xpassed":
        flags["xpassed"] = True
        return Status.PASSED, flags
    if outcome == "skipped" or any(s.get("outcome") == "skipped" for _, s in stages):
        return Status.SKIPPED, flags
    names = [p for p, _ in stages]
    if names == ["setup", "teardown"]:
        flags["setup_only"] = True
        return Status.SKIPPED, flags
    if outcome == "rerun":
        # The last attempt passed (any other outcome would have replaced "rerun").
        flags["flaky"] = True
        flags["rerun"] = True
    return Status.PASSED, flags


def _test_record(
    test: Mapping[str, Any],
    source: SourceRef,
    base: dict[str, Any],
    options: ParseOptions,
    started_at: datetime | None,
    duration_ms: int | None,
    time_source: str,
    cut_by: str | None = None,
) -> TestRecord:
    """``cut_by``: why the test never finished (it has no teardown stage), or None."""
    nodeid: str = test["nodeid"]
    outcome = as_str(test.get("outcome"))
    stages = _stages(test)
    status, flags = _status_of(outcome, stages, cut_by is not None)

    metadata: dict[str, Any] = {**base, "nodeid": nodeid}
    metadata.update(file_and_line(nodeid, None, test.get("lineno")))
    metadata["outcome"] = outcome
    keywords = test.get("keywords")
    if isinstance(keywords, list):
        kept = keywords_of(keywords, nodeid)
        if kept:
            metadata["keywords"] = kept
    metadata.update(flags)
    if isinstance(test.get("metadata"), Mapping):
        metadata["test_metadata"] = test["metadata"]
    if isinstance(test.get("user_properties"), list):
        metadata["user_properties"] = test["user_properties"]
    if started_at is not None:
        metadata["time_source"] = time_source

    error_message = failure_text = None
    if status is Status.FAILED:
        failed = _failed_stages(stages)
        if cut_by is not None:
            # As reportlog's test whose teardown never came: Failed, incomplete.
            metadata["incomplete"] = True
        if cut_by is not None and not failed:
            metadata["outcome"] = "incomplete"
            error_message = unfinished_message(", ".join(p for p, _ in stages), cut_by)
        elif failed:
            metadata["phase"] = failed[0][0]
            texts = [(p, as_str(s.get("longrepr"))) for p, s in failed]
            present = [(p, t) for p, t in texts if t]
            failure_text = join_phases(present) if present else None
            error_message = failure_message(_crash_message(failed[0][1]), texts[0][1])
        elif outcome == "failed":
            # pytest 9's subtests: a failed subtest makes the outcome "failed" while
            # every stage passed, and pytest-json-report keeps no detail of subtests.
            metadata["phase"] = "call"
            error_message = (
                "a subtest failed (pytest-json-report keeps no detail of subtests; "
                "--junitxml or --report-log do)"
            )
        else:
            error_message = f"pytest outcome {outcome!r}"
    elif status is Status.KNOWN_FAIL:
        call = dict(stages).get("call") or {}
        failure_text = as_str(call.get("longrepr"))
        error_message = failure_message(_crash_message(call), failure_text)
    elif flags.get("setup_only"):
        metadata["outcome"] = "not run"  # as reportlog's word for it
        error_message = SETUP_ONLY_MESSAGE
    elif status is Status.SKIPPED:
        for _, stage in stages:
            if stage.get("outcome") == "skipped":
                error_message = skip_reason(stage.get("longrepr"))
                if error_message:
                    error_message = clip_code_points(error_message, ERROR_MESSAGE_MAX)
                break

    return TestRecord(
        test_name=fit_name(nodeid),
        status=status,
        source=source,
        started_at=started_at,
        finished_at=add_ms(started_at, duration_ms),
        execution_time_ms=duration_ms,
        error_message=error_message,
        metadata=metadata,
        failure_text=failure_text,
        outputs=sorted_outputs(_stage_outputs(stages, options)),
    )


def _collector_record(
    collector: Any,
    index: int,
    source: SourceRef,
    base: dict[str, Any],
    session_start: datetime | None,
) -> TestRecord | None:
    """A failed (or skipped) collector as a synthetic record: its tests never ran."""
    if not isinstance(collector, Mapping):
        return None
    outcome = as_str(collector.get("outcome"))
    if outcome not in ("failed", "skipped"):
        return None
    nodeid = as_str(collector.get("nodeid")) or ""
    longrepr = as_str(collector.get("longrepr"))
    metadata: dict[str, Any] = {
        **base,
        "nodeid": nodeid,
        "outcome": outcome,
        "phase": "collect",
        "synthetic": True,
    }
    metadata.update(file_and_line(nodeid, nodeid.split("::", 1)[0] or None, None))
    if session_start is not None:
        metadata["time_source"] = "session_start"
    message: str | None
    if outcome == "failed":
        status = Status.FAILED
        message = failure_message(None, longrepr) or "collection failed"
    else:
        status = Status.SKIPPED
        message = skip_reason(longrepr)
    return TestRecord(
        test_name=fit_name(nodeid or "collection", pad_with="collection"),
        status=status,
        source=source,
        started_at=session_start,
        finished_at=session_start,
        execution_time_ms=0 if session_start else None,
        error_message=message,
        metadata=metadata,
        failure_text=longrepr if outcome == "failed" else None,
    )

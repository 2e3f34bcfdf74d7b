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
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
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

PHASES = ("setup", "call", "teardown")
#: Keywords kept in metadata (markers, parameter ids); the rest is noise.
MAX_KEYWORDS = 64

# The repr of pytest's skip location tuple: ('path', 50, 'Skipped: reason').
_SKIP_TUPLE = re.compile(
    r"""^\((?P<q1>['"]).*?(?P=q1),\ \d+,\ (?P<reason>(?P<q2>['"]).*(?P=q2))\)$""", re.S
)


# ---------------------------------------------------------------- shared pytest helpers


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string (hostile reports put anything anywhere)."""
    return value if isinstance(value, str) and value else None


def as_seconds(value: Any) -> float | None:
    """A non-negative finite duration in seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None


def to_ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def epoch_time(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds; None for missing or absurd values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 32503680000:  # before year 3000
        return None
    return datetime.fromtimestamp(value, UTC)


def skip_reason(longrepr: Any) -> str | None:
    """The reason of a skip: pytest stores ``(path, line, "Skipped: reason")``.

    reportlog writes it as a JSON list, pytest-json-report as the tuple's Python repr.
    """
    reason: str | None = None
    if isinstance(longrepr, list) and len(longrepr) == 3:
        reason = as_str(longrepr[2])
    elif isinstance(longrepr, str):
        match = _SKIP_TUPLE.match(longrepr)
        if match:
            try:
                # Only the string literal is evaluated: a flat literal, never code.
                value = ast.literal_eval(match.group("reason"))
            except (ValueError, SyntaxError):
                value = None
            reason = value if isinstance(value, str) else None
        else:
            reason = first_line(longrepr)
    if reason and reason.startswith("Skipped: "):
        reason = reason[len("Skipped: ") :]
    return reason or None


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def failure_message(crash_message: str | None, longrepr_text: str | None) -> str | None:
    """The API's error message: pytest's crash line, else the traceback's ``E`` line."""
    message = crash_message
    if not message and longrepr_text:
        for line in longrepr_text.splitlines():
            if line.startswith("E "):
                message = line[1:].strip()
                break
        message = message or first_line(longrepr_text)
    return clip_code_points(message, ERROR_MESSAGE_MAX) if message else None


def keywords_of(keywords: Iterable[Any], nodeid: str) -> list[str]:
    """Markers and parameter ids; the node id's own parts (file, class, name) dropped."""
    own = set(re.split(r"::|/", nodeid)) | {nodeid.split("[", 1)[0].rsplit("::", 1)[-1]}
    own.add("pytestmark")  # pytest's internal marker attribute, not a keyword anyone set
    kept = [k for k in keywords if isinstance(k, str) and k and k not in own]
    return list(dict.fromkeys(kept))[:MAX_KEYWORDS]


def format_log_records(records: Any) -> str | None:
    """pytest-json-report's ``log`` (logging records as dicts) in pytest's log format."""
    if not isinstance(records, list):
        return None
    lines = []
    for item in records:
        if not isinstance(item, Mapping):
            continue
        level = as_str(item.get("levelname")) or "LOG"
        where = f"{item.get('name', '')}:{item.get('filename', '')}:{item.get('lineno', '')}"
        lines.append(f"{level:<8} {where} {item.get('msg', '')}")
    return "\n".join(lines) + "\n" if lines else None


def join_phases(parts: list[tuple[str, str]]) -> str:
    """One text from per-phase texts, with a ``--- phase ---`` header when several."""
    if len(parts) == 1:
        return parts[0][1]
    return "".join(
        f"--- {phase} ---\n{text}{'' if text.endswith(chr(10)) else chr(10)}"
        for phase, text in parts
    )


def text_artifact(label: str, text: str, options: ParseOptions) -> TextArtifact:
    """A text artifact cut at ``options.max_text_bytes`` with an explicit marker."""
    limit = options.max_text_bytes
    if len(text) > limit:  # code points approximate bytes well enough for a cap
        cut = len(text.encode("utf-8", "surrogatepass")) - limit
        return TextArtifact(
            label=label,
            text=text[:limit] + f"\n[truncated {cut} bytes]\n",
            truncated_bytes=cut,
        )
    return TextArtifact(label=label, text=text)


def output_label(stream: str) -> str:
    """Artifact label for a captured stream (pytest section key)."""
    if stream in ("stdout", "stderr"):
        return f"{stream}.log"
    if stream == "log":
        return "log.txt"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stream).strip("_") or "output"
    return f"{safe[:60]}.txt"


def sorted_outputs(outputs: list[TextArtifact]) -> tuple[TextArtifact, ...]:
    order = {"stdout.log": 0, "stderr.log": 1, "log.txt": 2}
    return tuple(sorted(outputs, key=lambda a: order.get(a.label, 3)))


def file_and_line(nodeid: str, path: Any, lineno: Any) -> dict[str, Any]:
    """``file``/``line`` metadata; pytest's location line is 0-based."""
    meta: dict[str, Any] = {}
    file = as_str(path) or (nodeid.split("::", 1)[0] if "::" in nodeid else None)
    if file:
        meta["file"] = file
    if isinstance(lineno, int) and not isinstance(lineno, bool) and lineno >= 0:
        meta["line"] = lineno + 1
    return meta


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

    collectors = document.get("collectors")
    if isinstance(collectors, list):
        for index, collector in enumerate(collectors):
            record = _collector_record(collector, index, source, base, session_start)
            if record is not None:
                yield record

    for index, test in enumerate(tests):
        if not isinstance(test, Mapping) or not as_str(test.get("nodeid")):
            raise InputError(path, f"tests[{index}] is not a test entry with a nodeid")
        duration_ms = durations[index]
        started_at = None
        if end is not None:
            started_at = end - timedelta(milliseconds=remaining_ms)
            if session_start is not None and started_at < session_start:
                started_at = session_start
        remaining_ms -= duration_ms or 0
        tests[index] = None  # let the parsed test go once its record is built
        yield _test_record(test, source, base, options, started_at, duration_ms, time_source)


def _stages(test: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(p, test[p]) for p in PHASES if isinstance(test.get(p), Mapping)]


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
    outcome: str | None, stages: list[tuple[str, Mapping[str, Any]]]
) -> tuple[Status, dict[str, Any]]:
    """The record's status from the test's outcome, checked against its stages."""
    flags: dict[str, Any] = {}
    failed = [p for p, s in stages if s.get("outcome") == "failed"]
    if outcome in ("failed", "error") or failed:
        return Status.FAILED, flags
    if outcome == "xfailed":
        return Status.KNOWN_FAIL, flags
    if outcome == "xpassed":
        flags["xpassed"] = True
        return Status.PASSED, flags
    if outcome == "skipped" or any(s.get("outcome") == "skipped" for _, s in stages):
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
) -> TestRecord:
    nodeid: str = test["nodeid"]
    outcome = as_str(test.get("outcome"))
    stages = _stages(test)
    status, flags = _status_of(outcome, stages)

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
        failed = [(p, s) for p, s in stages if s.get("outcome") == "failed"]
        if failed:
            metadata["phase"] = failed[0][0]
            texts = [(p, as_str(s.get("longrepr"))) for p, s in failed]
            present = [(p, t) for p, t in texts if t]
            failure_text = join_phases(present) if present else None
            error_message = failure_message(_crash_message(failed[0][1]), texts[0][1])
        else:
            error_message = f"pytest outcome {outcome!r}"
    elif status is Status.KNOWN_FAIL:
        call = dict(stages).get("call") or {}
        failure_text = as_str(call.get("longrepr"))
        error_message = failure_message(_crash_message(call), failure_text)
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

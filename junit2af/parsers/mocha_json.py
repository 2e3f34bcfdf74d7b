"""mocha ``--reporter json`` parser.

The report is one JSON document ``{"stats", "tests", "pending", "failures", "passes"}``,
loaded whole under the documented size cap. The mapping rules are in
``notes/native-js.md``.

Quirks of mocha that shaped the rules:

* ``mocha --reporter json > file`` puts the tests' ``console.log`` lines *before* the
  JSON (the reporter prints the document when the run ends). The document is found by
  its first line ``{`` followed by ``"stats"``; the lines before it are skipped with a
  warning (they belong to no test: mocha's JSON keeps no output).
* A test's status is where mocha lists it: ``failures``, ``pending`` (``it.skip``, a
  test without a body, ``this.skip()``), else passed. ``tests`` has every test that ran
  or was skipped; a failing hook is only in ``failures`` (``"before each" hook for
  "..."``) and becomes a synthetic Failed record: mocha counts it as a failure, and the
  tests the hook stopped are in no list at all.
* ``fullTitle`` is the suite titles and the test title joined by spaces, so the suite
  path cannot be split back: records are named ``file › suites › title`` with the
  suites part as mocha joined it.
* ``currentRetry`` is the retry that ended the test (``this.retries(n)``): attempts are
  ``currentRetry + 1``; the earlier attempts' errors are not in the report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native import (
    as_int,
    as_number,
    as_str,
    clip,
    common_directory,
    iso_time,
    listing,
    mapping,
    message_of,
    relative_to,
    strip_ansi,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_DOCUMENT_BYTES, SafeJSON, read_document
from junit2af.records import SourceRef, Status, TestRecord, fit_name

FORMATS = (
    Format(
        "mocha-json",
        "mocha JSON reporter",
        "mocha_json",
        producers="mocha --reporter json (also with console lines before the JSON)",
    ),
)

# The document as mocha's JSON reporter writes it: '{' alone, then '  "stats": {'.
_DOCUMENT_START = re.compile(rb'(?m)^\{[ \t]*\r?\n[ \t]*"stats"[ \t]*:[ \t]*\{')
_ONE_LINE_START = re.compile(rb'(?m)^\{"stats":\{')
_HOOK = re.compile(r'^"(?P<hook>(?:before|after) (?:each|all))" hook(?: (?:for|in) "(?P<of>.*)")?')
SEPARATOR = " › "


def sniff(head: Head) -> str | None:
    """mocha JSON: a line ``{`` then ``"stats": {`` with mocha's ``"passes"`` counter,
    also after console lines."""
    text = head.text
    match = _DOCUMENT_START.search(text) or _ONE_LINE_START.search(text)
    if match and b'"passes"' in text[match.start() : match.start() + 400]:
        return "mocha-json"
    return None


def _find_document(data: bytearray, path: str, options: ParseOptions) -> tuple[int, int]:
    """Where the JSON document starts: (byte offset, line number)."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return len(data) - len(stripped), 1
    match = _DOCUMENT_START.search(data) or _ONE_LINE_START.search(data)
    if match is None:
        raise InputError(
            path, 'not a mocha JSON report: no line "{" followed by "stats" found', line=1
        )
    line = data.count(b"\n", 0, match.start()) + 1
    options.warn(
        f"{path}: {line - 1} line(s) before the JSON skipped (console output that "
        "`mocha --reporter json > file` writes first; it belongs to no test)"
    )
    return match.start(), line


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test of a mocha JSON report, plus a synthetic
    Failed record per failing hook."""
    path = source.display()
    data = read_document(stream, path, max_bytes=MAX_DOCUMENT_BYTES)
    start, line = _find_document(data, path, options)
    body = data[start:]
    del data
    decoder = SafeJSON(path, options.warn)
    try:
        document = decoder.loads(body, first_line=line)
    except InputError as error:
        # Output after the document (a late console.log): keep the document.
        end = body.rfind(b"\n}")
        if "Extra data" not in error.reason or end < 0:
            raise
        options.warn(f"{path}: text after the JSON document ignored")
        document = decoder.loads(body[: end + 2], first_line=line)
    del body
    if not isinstance(document, Mapping) or not isinstance(document.get("stats"), Mapping):
        raise InputError(path, 'not a mocha JSON report: no "stats" object', line=line)
    tests = document.get("tests")
    if not isinstance(tests, list):
        raise InputError(path, 'not a mocha JSON report: no "tests" list', line=line)
    yield from _records(document, tests, path, source, options)


def _key(test: Mapping[str, Any]) -> tuple[str, str]:
    return (as_str(test.get("fullTitle")) or "", as_str(test.get("file")) or "")


def _records(
    document: Mapping[str, Any],
    tests: list[Any],
    path: str,
    source: SourceRef,
    options: ParseOptions,
) -> Iterator[TestRecord]:
    stats = mapping(document.get("stats"))
    failures = [f for f in listing(document.get("failures")) if isinstance(f, Mapping)]
    pending = Counter(_key(p) for p in listing(document.get("pending")) if isinstance(p, Mapping))
    failed = Counter(_key(f) for f in failures)
    root = common_directory(
        [as_str(t.get("file")) or "" for t in [*tests, *failures] if isinstance(t, Mapping)]
    )
    start = iso_time(stats.get("start"), options)
    time_source = "suite"
    if start is None and options.fallback_start is not None:
        start, time_source = options.fallback_start, "file_mtime"
    base = {"format": "mocha-json", "report": path}
    offset = 0
    for test in tests:
        if not isinstance(test, Mapping):
            continue
        key = _key(test)
        if failed[key] > 0:
            failed[key] -= 1
            status = Status.FAILED
        elif pending[key] > 0:
            pending[key] -= 1
            status = Status.SKIPPED
        else:
            status = Status.FAILED if mapping(test.get("err")) else Status.PASSED
        started_at = start + timedelta(milliseconds=offset) if start else None
        duration = as_number(test.get("duration"))
        offset += round(duration or 0)
        yield _record(test, status, root, base, source, started_at, time_source, False)
    # What is left in 'failures' matched no test: failing hooks.
    for failure in failures:
        key = _key(failure)
        if failed[key] > 0:
            failed[key] -= 1
            started_at = start + timedelta(milliseconds=offset) if start else None
            yield _record(failure, Status.FAILED, root, base, source, started_at, time_source, True)


def _record(
    test: Mapping[str, Any],
    status: Status,
    root: str,
    base: dict[str, Any],
    source: SourceRef,
    started_at: datetime | None,
    time_source: str,
    leftover: bool,
) -> TestRecord:
    title = as_str(test.get("title")) or "(untitled test)"
    full = as_str(test.get("fullTitle")) or title
    suites = full[: -len(title)].strip() if full.endswith(title) else ""
    file = relative_to(as_str(test.get("file")) or "", root)
    metadata: dict[str, Any] = {**base}
    if file:
        metadata["file"] = file
    metadata["full_title"] = full
    hook = _HOOK.match(title)
    if leftover:
        metadata["synthetic"] = True
        metadata["reason"] = "hook failed" if hook else "failure of no listed test"
        if hook:
            metadata["hook"] = hook.group("hook")
            if hook.group("of"):
                metadata["hook_of"] = hook.group("of")
    retry = as_int(test.get("currentRetry"))
    if retry:
        metadata["attempts"] = retry + 1
        metadata["flaky"] = status is Status.PASSED
    err = mapping(test.get("err"))
    message = failure_text = None
    if status is Status.FAILED:
        stack = as_str(err.get("stack"))
        text = as_str(err.get("message"))
        name = as_str(err.get("name"))
        failure_text = strip_ansi(stack or text or "") or None
        if stack:
            message = message_of(strip_ansi(stack))
        elif text:
            message = message_of(f"{name}: {text}" if name else text)
        else:
            message = "failed (no error in the report)"
        for key in ("expected", "actual"):
            value = err.get(key)
            if isinstance(value, str) and value and failure_text and len(value) < 4096:
                failure_text += f"\n{key}: {value}"
    duration = as_number(test.get("duration"))
    duration_ms = None if duration is None else int(round(duration))
    if started_at is not None:
        metadata["time_source"] = time_source
    parts = [p for p in (file, suites, title) if p]
    return TestRecord(
        test_name=fit_name(SEPARATOR.join(parts)),
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
    )

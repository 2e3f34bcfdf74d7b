"""googletest's JSON report (``--gtest_output=json:file.json``).

The report is one JSON document, so it is loaded whole under the size cap of
:data:`~junit2af.parsers.jsonsafe.MAX_DOCUMENT_BYTES` (through
:class:`~junit2af.parsers.jsonsafe.SafeJSON`), and records are yielded one test at a
time, each suite freed once read. Names are ``Suite.Test`` (``Values/Param.NotTwo/1``,
``Typed/0.DefaultIsZero``), as googletest prints them, as ``--gtest_filter`` takes them,
and as junit2af names the same tests from googletest's XML report.

Quirks of googletest (1.12) that shaped the rules:

* Strings are escaped byte by byte: every byte of a UTF-8 character becomes its own
  ``\\u00XX`` (``"Grüße"`` is written ``"Gr\\u00C3\\u00BC\\u00C3\\u009Fe"``). A string whose
  code points are all below U+0100 and whose Latin-1 bytes are valid UTF-8 is decoded
  again as UTF-8.
* A failure outside any test (a global environment's SetUp/TearDown) is written as a
  suite ``NonTestSuiteFailure`` with one test named ``""``, and without the comma before
  it, which makes the document invalid JSON: that one comma is put back (with a
  warning) and the failure becomes a synthetic Failed record ``NonTestSuiteFailure``.
* A failure in ``SetUpTestSuite`` is not written at all; its tests are ``SKIPPED`` with
  the epoch as timestamp (a test's own ``GTEST_SKIP`` has its real start) in a suite that
  did start. Such a suite gets a synthetic Failed record ``Suite.SetUpTestSuite`` (the
  console says ``1 FAILED TEST SUITE`` and the binary exits 1), unless a global
  environment failed (``NonTestSuiteFailure``, which skips every suite the same way). A
  failure in ``TearDownTestSuite`` leaves no trace in the report at all.
* ``disabled`` counts tests named ``DISABLED_*`` (or in such a suite) even when
  ``--gtest_also_run_disabled_tests`` ran them.
* Timestamps are local time followed by a ``Z`` that does not mean UTC: the ``Z`` is
  dropped and ``--timezone`` applies, as for googletest's XML (which has no ``Z``).
  ``1970-01-01T00:00:00Z`` means "did not run".
* ``time`` is a string in seconds (``"0.001s"``, ``"1e+03s"``); there is no skip message
  and no captured output in this format.
* RecordProperty values are written as extra keys of the test (or suite, or report).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native_xml import MAX_METADATA_ITEMS, Context, seconds_to_ms
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import SafeJSON, read_document
from junit2af.records import SourceRef, Status, TestRecord

FORMATS = (
    Format(
        "googletest-json",
        "googletest JSON",
        "googletest_json",
        producers="googletest `--gtest_output=json`",
    ),
)

#: googletest writes "tests" first; "testsuites" follows the counts and the properties.
_HEAD = re.compile(rb'^\{\s*"tests"\s*:\s*\d+\s*,')
_TEST_KEYS = frozenset(
    {
        "name",
        "file",
        "line",
        "status",
        "result",
        "timestamp",
        "time",
        "classname",
        "failures",
        "value_param",
        "type_param",
    }
)
_SUITE_KEYS = frozenset(
    {"name", "tests", "failures", "disabled", "skipped", "errors", "timestamp", "time"}
)
_TOP_KEYS = _SUITE_KEYS | {"random_seed", "testsuites"}
# The comma googletest 1.12 leaves out before its NonTestSuiteFailure suite. Inside a
# JSON string the quote before ``name`` would be escaped, so this cannot match text.
_MISSING_COMMA = re.compile(rb'\}(\s*)\{(\s*"name"\s*:\s*"NonTestSuiteFailure")')
_EARLIEST = datetime(1980, 1, 1)
#: googletest's disabled-test filter: ``DISABLED_*:*/DISABLED_*`` on suite or test name.
_DISABLED = re.compile(r"(?:^|/)DISABLED_")
_MAX_PROPERTY = 1024


def sniff(head: Head) -> str | None:
    """googletest JSON: an object that starts with ``"tests": N`` and has ``"testsuites"``."""
    text = head.text
    if head.is_json_object and _HEAD.match(text) and b'"testsuites"' in text:
        return "googletest-json"
    return None


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one record per test of a googletest JSON report read from ``stream``."""
    ctx = Context(source, options, "googletest-json")
    path = ctx.report
    data: bytes | bytearray = read_document(stream, path)
    if b"NonTestSuiteFailure" in data:
        data, repaired = _MISSING_COMMA.subn(rb"},\1{\2", data)
        if repaired:
            ctx.warn(
                "googletest left out the comma before its NonTestSuiteFailure suite "
                "(invalid JSON); read as if it were there"
            )
    document = SafeJSON(path, options.warn).loads(data)
    del data
    if not isinstance(document, dict) or not isinstance(document.get("testsuites"), list):
        raise InputError(path, 'not a googletest JSON report: no "testsuites" list', line=1)
    suites: list[Any] = document["testsuites"]
    entries = [
        test
        for suite in suites
        if isinstance(suite, Mapping) and isinstance(suite.get("testsuite"), list)
        for test in suite["testsuite"]
        if isinstance(test, Mapping)
    ]
    if entries and not any("status" in test or "result" in test for test in entries):
        raise InputError(
            path,
            "googletest test list (--gtest_list_tests), not test results: run the tests "
            "with --gtest_output=json:FILE",
            line=1,
        )
    del entries

    fixer = _Fixer(ctx)
    run_start = _timestamp(ctx, fixer.text(document.get("timestamp")))
    run_properties = _properties(fixer, document, _TOP_KEYS)
    base: dict[str, Any] = {}
    if run_properties:
        base["run_properties"] = run_properties
    if isinstance(document.get("random_seed"), int):
        base["random_seed"] = document["random_seed"]
    if run_start is None:
        ctx.use_file_clock()

    environment_failed = any(
        isinstance(suite, Mapping) and suite.get("name") == "NonTestSuiteFailure"
        for suite in suites
    )
    regular = failed = disabled = 0
    for index, suite in enumerate(suites):
        suites[index] = None  # free each suite once read
        if not isinstance(suite, Mapping):
            raise InputError(path, f"testsuites[{index}] is not an object")
        tests = suite.get("testsuite")
        if not isinstance(tests, list):
            raise InputError(path, f'testsuites[{index}] has no "testsuite" list')
        suite_name = fixer.text(suite.get("name")) or ""
        suite_start = _timestamp(ctx, fixer.text(suite.get("timestamp"))) or run_start
        suite_meta = dict(base)
        suite_meta["suite"] = suite_name
        suite_properties = _properties(fixer, suite, _SUITE_KEYS | {"testsuite"})
        if suite_properties:
            suite_meta["suite_properties"] = suite_properties
        offset_ms = 0
        never_started = 0
        for number, test in enumerate(tests):
            if not isinstance(test, Mapping):
                raise InputError(path, f"testsuites[{index}].testsuite[{number}] is not an object")
            record = _record(ctx, fixer, test, suite_name, suite_meta, suite_start, offset_ms)
            offset_ms += record.execution_time_ms or 0
            if not record.synthetic:
                regular += 1
                failed += record.status is Status.FAILED
                disabled += bool(
                    record.metadata.get("result") == "SUPPRESSED"
                    or _DISABLED.search(record.metadata["classname"])
                    or _DISABLED.match(record.metadata["name"])
                )
                never_started += _skipped_unstarted(test, record)
            yield record
        if (
            tests
            and never_started == len(tests)
            and not environment_failed
            and _timestamp(ctx, fixer.text(suite.get("timestamp"))) is not None
        ):
            yield _suite_setup_failed(ctx, suite_name, suite_meta, suite_start, len(tests))
    _compare_counts(ctx, document, regular, failed, disabled)
    if ctx.records == 0:
        ctx.warn("the report holds no tests")


def _skipped_unstarted(test: Mapping[str, Any], record: TestRecord) -> bool:
    """A test googletest skipped without starting it: ``RUN``, ``SKIPPED``, the epoch."""
    return (
        record.status is Status.SKIPPED
        and record.metadata.get("status") == "RUN"
        and isinstance(test.get("timestamp"), str)
        and test["timestamp"].startswith("1970-01-01")
    )


def _suite_setup_failed(
    ctx: Context,
    suite_name: str,
    suite_meta: dict[str, Any],
    suite_start: datetime | None,
    count: int,
) -> TestRecord:
    """The failure of a ``SetUpTestSuite`` that googletest does not write."""
    metadata = dict(suite_meta)
    metadata.update(
        {
            "synthetic": True,
            "reason": "SetUpTestSuite failed",
        }
    )
    return ctx.record(
        f"{suite_name}.SetUpTestSuite",
        Status.FAILED,
        line=None,
        started_at=suite_start,
        time_source="suite" if suite_start is not None else None,
        message=(
            f"googletest skipped all {count} test(s) of suite {suite_name!r} without "
            "starting them: its SetUpTestSuite failed (googletest does not write that "
            "failure; see the test binary's console)"
        ),
        metadata=metadata,
        pad_with=suite_name or None,
    )


class _Fixer:
    """Undoes googletest's byte-wise ``\\u00XX`` escaping of UTF-8, and caps strings."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.repaired = False

    def text(self, value: Any, limit: int | None = None) -> str | None:
        if not isinstance(value, str):
            return None
        if any("\x80" <= c <= "\xff" for c in value) and max(value) <= "\xff":
            try:
                value = value.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                pass  # real Latin-1 text
            else:
                if not self.repaired:
                    self.repaired = True
                    self.ctx.warn(
                        "text escaped byte by byte (googletest's \\u00XX per UTF-8 byte) "
                        "read back as UTF-8"
                    )
        if limit is not None and len(value) > limit:
            return value[:limit] + "…"
        return self.ctx.cap(value, None, "<string>")


def _properties(fixer: _Fixer, obj: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """RecordProperty values: the keys googletest does not use itself."""
    found: dict[str, Any] = {}
    for key, value in obj.items():
        if key in known or len(found) >= MAX_METADATA_ITEMS:
            continue
        name = fixer.text(key, 200) or key
        if isinstance(value, str):
            found[name] = fixer.text(value, _MAX_PROPERTY)
        elif isinstance(value, int | float | bool) or value is None:
            found[name] = value
    return found


def _timestamp(ctx: Context, raw: str | None) -> datetime | None:
    """googletest's local time with a false ``Z``; the epoch means "did not run"."""
    if not raw:
        return None
    text = raw.strip().removesuffix("Z")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        ctx.warn_once("bad-timestamp", f"timestamp {raw[:60]!r} is not a date; ignored")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.options.timezone)
    if value.replace(tzinfo=None) < _EARLIEST:
        return None
    return value


def _record(
    ctx: Context,
    fixer: _Fixer,
    test: Mapping[str, Any],
    suite_name: str,
    suite_meta: dict[str, Any],
    suite_start: datetime | None,
    offset_ms: int,
) -> TestRecord:
    name = fixer.text(test.get("name"), 1000) or ""
    classname = fixer.text(test.get("classname"), 1000) or suite_name
    status_word = (fixer.text(test.get("status"), 40) or "").upper()
    result_word = (fixer.text(test.get("result"), 40) or "").upper()
    duration_ms = seconds_to_ms(fixer.text(test.get("time"), 40))
    metadata: dict[str, Any] = dict(suite_meta)
    metadata["classname"] = classname
    metadata["name"] = name
    file = fixer.text(test.get("file"), 1000)
    if file:
        metadata["file"] = file
    line = test.get("line")
    if isinstance(line, int) and not isinstance(line, bool) and line >= 0:
        metadata["line"] = line
    for key in ("value_param", "type_param"):
        value = fixer.text(test.get(key), _MAX_PROPERTY)
        if value is not None:
            metadata[key] = value
    if status_word:
        metadata["status"] = status_word
    if result_word:
        metadata["result"] = result_word
    properties = _properties(fixer, test, _TEST_KEYS)
    if properties:
        metadata["properties"] = properties

    failures = test.get("failures")
    texts = []
    if isinstance(failures, list):
        for failure in failures[: MAX_METADATA_ITEMS + 1]:
            if isinstance(failure, Mapping):
                text = fixer.text(failure.get("failure"))
                if text is not None:
                    texts.append(text)
        if len(failures) > MAX_METADATA_ITEMS:
            texts[MAX_METADATA_ITEMS:] = [f"[{len(failures) - MAX_METADATA_ITEMS} more]"]
    if texts or (isinstance(failures, list) and failures):
        status = Status.FAILED
    elif status_word == "NOTRUN" or result_word in ("SKIPPED", "SUPPRESSED"):
        status = Status.SKIPPED
    else:
        status = Status.PASSED

    started = _timestamp(ctx, fixer.text(test.get("timestamp"), 60))
    time_source = "testcase"
    if started is None and suite_start is not None:
        started, time_source = suite_start + timedelta(milliseconds=offset_ms), "suite"
    message = texts[0] if texts else None
    if status is Status.FAILED and message is None:
        message = "googletest reports failures without text"
    failure_text = "\n\n".join(texts) if len(texts) > 1 else None
    synthetic = not name and suite_name == "NonTestSuiteFailure"
    if synthetic:
        metadata.update(
            {
                "synthetic": True,
                "reason": "failure outside any test (a global test environment)",
            }
        )
    display = suite_name if synthetic else f"{classname}.{name}"
    return ctx.record(
        display,
        status,
        line=None,
        duration_ms=duration_ms,
        started_at=started,
        time_source=time_source if started is not None else None,
        message=message,
        failure_text=failure_text,
        metadata=metadata,
        pad_with=suite_name or None,
    )


def _compare_counts(
    ctx: Context, document: Mapping[str, Any], tests: int, failed: int, disabled: int
) -> None:
    """googletest's own totals against the tests read (an edited or merged report)."""
    differ = []
    for key, read in (("tests", tests), ("failures", failed), ("disabled", disabled)):
        claimed = document.get(key)
        if isinstance(claimed, int) and not isinstance(claimed, bool) and claimed != read:
            differ.append(f"{key}={claimed} but {read} read")
    if differ:
        ctx.warn("googletest's totals disagree with its tests: " + ", ".join(differ))

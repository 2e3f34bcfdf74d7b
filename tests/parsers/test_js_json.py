"""Jest/Vitest, mocha and Playwright JSON rules on small inline reports, and the real
reports (fixtures) against the counts each framework printed."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import Head, detect, jest_json, mocha_json, playwright_json
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)


def run(module: Any, data: bytes | str | Any, warnings: list[str] | None = None, **opts: Any):
    if not isinstance(data, bytes | str):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    sink = warnings if warnings is not None else []
    options = ParseOptions(warn=sink.append, fallback_start=MTIME, **opts)
    return list(module.parse(io.BytesIO(data), SourceRef("report.json"), options))


def counts(records: list[TestRecord]) -> Counter[str]:
    return Counter(str(r.status) for r in records)


def fixture(module: Any, relative: str) -> list[TestRecord]:
    return run(module, (FIXTURES / relative).read_bytes())


# ====================================================================== Jest / Vitest


def jest_doc(*files: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "numFailedTestSuites": 0,
        "numTotalTestSuites": len(files),
        "numTotalTests": 0,
        "openHandles": [],
        "startTime": 1_767_225_600_000,
        "testResults": list(files),
        **top,
    }


def jest_file(name: str, *tests: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "status": "passed",
        "message": "",
        "startTime": 1_767_225_600_000,
        "endTime": 1_767_225_601_000,
        "assertionResults": list(tests),
        **extra,
    }


def jest_test(title: str, status: str, *ancestors: str, **extra: Any) -> dict[str, Any]:
    return {
        "ancestorTitles": list(ancestors),
        "title": title,
        "fullName": " ".join([*ancestors, title]),
        "status": status,
        "duration": 5,
        "failureMessages": [],
        **extra,
    }


def test_jest_statuses_names_and_times():
    doc = jest_doc(
        jest_file(
            "/w/src/a.test.js",
            jest_test("ok", "passed", "outer", "inner", startAt=1_767_225_600_500),
            jest_test("bad", "failed", failureMessages=["Error: \x1b[31mboom\x1b[39m\n  at x"]),
            jest_test("skip", "pending"),
            jest_test("later", "todo"),
            jest_test("known", "passed", failing=True),
        ),
        jest_file("/w/lib/b.test.js", jest_test("other", "skipped")),
    )
    records = run(jest_json, doc)
    names = [r.test_name for r in records]
    assert names[0] == "src/a.test.js › outer › inner › ok"
    assert names[-1] == "lib/b.test.js › other"
    statuses = [r.status for r in records]
    assert statuses == [
        Status.PASSED,
        Status.FAILED,
        Status.SKIPPED,
        Status.KNOWN_FAIL,
        Status.KNOWN_FAIL,
        Status.SKIPPED,
    ]
    ok, bad = records[0], records[1]
    assert ok.started_at == datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert ok.metadata["time_source"] == "report"
    assert bad.error_message == "Error: boom"  # colour codes stripped
    assert bad.metadata["time_source"] == "suite"  # no startAt: placed after the file start
    assert records[4].metadata["expected_to_fail"] is True


def test_jest_retries_and_vitest_retries():
    jest = jest_test("flaky", "passed", invocations=3, retryReasons=["Error: one", "Error: two"])
    vitest = jest_test("flaky2", "passed", failureMessages=["AssertionError: first"])
    records = run(jest_json, jest_doc(jest_file("/w/a.test.js", jest, vitest)))
    assert records[0].metadata["attempts"] == 3 and records[0].metadata["flaky"] is True
    assert "Error: two" in records[0].outputs[0].text
    assert records[1].metadata["attempts"] == 2 and records[1].status is Status.PASSED


def test_jest_file_that_failed_to_run_is_a_synthetic_failure():
    broken = jest_file(
        "/w/broken.test.js",
        status="failed",
        message="  ● Test suite failed to run\n\n    Cannot find module 'x'\n",
    )
    (record,) = run(jest_json, jest_doc(broken))
    assert record.test_name == "broken.test.js (test file failed)"
    assert record.status is Status.FAILED and record.metadata["synthetic"] is True
    assert record.error_message == "Cannot find module 'x'"


def test_jest_failed_file_with_a_failed_test_has_no_extra_record():
    file = jest_file(
        "/w/a.test.js",
        jest_test("bad", "failed", failureMessages=["Error"]),
        status="failed",
        message="summary",
    )
    assert len(run(jest_json, jest_doc(file))) == 1


def test_jest_unknown_status_is_failed_with_a_warning():
    warnings: list[str] = []
    (record,) = run(jest_json, jest_doc(jest_file("/w/a.js", jest_test("x", "weird"))), warnings)
    assert record.status is Status.FAILED and warnings


def test_jest_not_a_report():
    with pytest.raises(InputError, match="testResults"):
        run(jest_json, {"numTotalTests": 1})


def test_jest_fixture_counts():
    """jest 30.5.2: 'Tests: 2 failed, 1 skipped, 1 todo, 5 passed, 9 total' and 'Test
    Suites: 2 failed' (one of them failed to run). Its 5 passed include test.failing."""
    records = fixture(jest_json, "jest-json/jest.json")
    assert counts(records) == {"Passed": 4, "KnownFail": 2, "Failed": 3, "Skipped": 1}
    assert sum(1 for r in records if r.metadata.get("synthetic")) == 1
    assert sum(1 for r in records if r.metadata.get("jest_status") == "todo") == 1


def test_vitest_fixture_counts():
    """vitest 4.1.12: 'Test Files 2 failed (2)', 'Tests 1 failed | 4 passed | 1 expected
    fail | 1 skipped | 1 todo (8)'. Its JSON writes the expected fail as "passed"."""
    records = fixture(jest_json, "jest-json/vitest.json")
    assert counts(records) == {"Passed": 5, "Failed": 2, "Skipped": 1, "KnownFail": 1}
    assert all(r.metadata["producer"] == "vitest" for r in records)


def test_vitest3_fixture_counts():
    """vitest 3.2.7: 'Tests 1 failed | 5 passed | 1 skipped | 1 todo (8)'."""
    records = fixture(jest_json, "jest-json/vitest3.json")
    assert counts(records) == {"Passed": 5, "Failed": 1, "Skipped": 1, "KnownFail": 1}


# ====================================================================== mocha


def mocha_doc() -> dict[str, Any]:
    def test(title: str, full: str, **extra: Any) -> dict[str, Any]:
        return {"title": title, "fullTitle": full, "file": "/w/t/a.spec.js", "err": {}, **extra}

    bad = test(
        "bad",
        "suite bad",
        duration=3,
        err={"message": "nope", "stack": "AssertionError: nope\n  at x", "name": "AssertionError"},
    )
    hook = test(
        '"before each" hook for "never"',
        'suite "before each" hook for "never"',
        err={"message": "hook", "stack": "Error: hook\n  at y"},
    )
    skipped = test("skip", "suite skip")
    return {
        "stats": {"start": "2026-02-01T00:00:00.000Z", "passes": 1},
        "tests": [test("ok", "suite ok", duration=2, currentRetry=1), bad, skipped],
        "pending": [skipped],
        "failures": [bad, hook],
        "passes": [],
    }


def test_mocha_statuses_hooks_and_retries():
    records = run(mocha_json, mocha_doc())
    assert [(r.test_name, r.status) for r in records] == [
        ("a.spec.js › suite › ok", Status.PASSED),
        ("a.spec.js › suite › bad", Status.FAILED),
        ("a.spec.js › suite › skip", Status.SKIPPED),
        ('a.spec.js › suite › "before each" hook for "never"', Status.FAILED),
    ]
    ok, bad, _, hook = records
    assert ok.metadata["attempts"] == 2 and ok.metadata["flaky"] is True
    assert ok.started_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert bad.error_message == "AssertionError: nope"
    assert hook.metadata["synthetic"] is True and hook.metadata["hook"] == "before each"
    assert hook.metadata["hook_of"] == "never"


def test_mocha_console_lines_before_the_json_are_skipped_with_a_warning():
    text = "hello\n{not json either\n" + json.dumps(mocha_doc(), indent=2) + "\n"
    warnings: list[str] = []
    records = run(mocha_json, text, warnings)
    assert len(records) == 4
    assert any("2 line(s) before the JSON skipped" in w for w in warnings)
    assert detect(text.encode()).format.name == "mocha-json"


def test_mocha_text_after_the_json_is_ignored():
    warnings: list[str] = []
    records = run(mocha_json, json.dumps(mocha_doc(), indent=2) + "\nlate log\n", warnings)
    assert len(records) == 4 and any("after the JSON" in w for w in warnings)


def test_mocha_without_the_document_is_refused():
    with pytest.raises(InputError, match="stats"):
        run(mocha_json, "only console output\n")


@pytest.mark.parametrize("name", ["mocha.json", "mocha-stdout.json"])
def test_mocha_fixture_counts(name):
    """mocha 12.0.3 (spec reporter, same suite): 5 passing, 3 pending, 3 failing (one
    failing test and two failing hooks)."""
    records = fixture(mocha_json, f"mocha-json/{name}")
    assert counts(records) == {"Passed": 5, "Skipped": 3, "Failed": 3}


# ====================================================================== Playwright


def pw_result(status: str, retry: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "retry": retry,
        "duration": 10,
        "startTime": f"2026-02-01T00:00:0{retry}.000Z",
        "errors": [],
        "stdout": [],
        "stderr": [],
        "attachments": [],
        **extra,
    }


def pw_doc(*tests: dict[str, Any], errors: list[Any] | None = None) -> dict[str, Any]:
    spec = {
        "title": "does it",
        "file": "a.spec.ts",
        "line": 3,
        "tags": ["smoke"],
        "tests": list(tests),
    }
    inner = {"title": "group", "file": "a.spec.ts", "specs": [spec], "suites": []}
    return {
        "config": {"rootDir": "/w"},
        "suites": [{"title": "a.spec.ts", "file": "a.spec.ts", "specs": [], "suites": [inner]}],
        "errors": errors or [],
        "stats": {"startTime": "2026-02-01T00:00:00.000Z"},
    }


def pw_test(status: str, results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"projectName": "chromium", "status": status, "results": results, **extra}


def test_playwright_flaky_retry_attachments_and_output():
    first = pw_result(
        "failed",
        errors=[{"message": "\x1b[31mError: first\x1b[39m"}],
        stdout=[{"text": "try 1\n"}],
    )
    body = base64.b64encode(b"note text").decode()
    second = pw_result(
        "passed",
        retry=1,
        stdout=[{"buffer": base64.b64encode(b"try 2\n").decode()}],
        attachments=[
            {"name": "trace", "contentType": "application/zip", "path": "/w/trace.zip"},
            {"name": "note", "contentType": "text/plain", "body": body},
            {"name": "shot", "contentType": "image/png", "body": "iVBORw0KGgo="},
        ],
    )
    (record,) = run(playwright_json, pw_doc(pw_test("flaky", [first, second])))
    assert record.test_name == "[chromium] › a.spec.ts › group › does it"
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2 and record.metadata["flaky"] is True
    assert record.metadata["binary_attachments_skipped"] == 1
    assert record.metadata["tags"] == ["smoke"]
    labels = {a.label: a for a in record.outputs}
    assert labels["stdout.log"].text == "try 2\n"
    assert labels["attempt1-stdout.log"].text == "try 1\n"
    assert labels["note.txt"].text == "note text"
    assert "Error: first" in labels["attempts.txt"].text
    assert [a.path for a in record.attachments] == ["/w/trace.zip"]
    assert record.execution_time_ms == 20
    assert record.started_at == datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "expected", "final", "status"),
    [
        ("expected", "passed", "passed", Status.PASSED),
        ("expected", "failed", "failed", Status.KNOWN_FAIL),
        ("unexpected", "failed", "passed", Status.FAILED),
        ("unexpected", "passed", "timedOut", Status.FAILED),
        ("skipped", "skipped", "skipped", Status.SKIPPED),
        ("skipped", "passed", "interrupted", Status.FAILED),
    ],
)
def test_playwright_outcomes(outcome, expected, final, status):
    test = pw_test(outcome, [pw_result(final)], expectedStatus=expected)
    (record,) = run(playwright_json, pw_doc(test))
    assert record.status is status
    if status is Status.FAILED:
        assert record.error_message


def test_playwright_test_without_results_starts_at_the_run_start():
    (record,) = run(playwright_json, pw_doc(pw_test("skipped", [])))
    assert record.status is Status.SKIPPED and record.metadata["time_source"] == "suite"


def test_playwright_run_errors_are_synthetic_failures():
    error = {"message": "Error: cannot load", "location": {"file": "/w/x.spec.ts", "line": 2}}
    doc = pw_doc(errors=[error])
    doc["suites"] = []
    (record,) = run(playwright_json, doc)
    assert record.test_name == "x.spec.ts (error)"
    assert record.metadata["synthetic"] is True and record.error_message == "Error: cannot load"


def test_playwright_sniff():
    head = json.dumps(pw_doc(), indent=2).encode()
    assert playwright_json.sniff(Head(head)) == "playwright-json"
    assert playwright_json.sniff(Head(b'{"suites": []}')) is None


def test_playwright_fixture_counts():
    """@playwright/test 1.65.1, 2 projects, retries 1: '4 failed, 2 flaky, 6 skipped,
    10 passed' (the 10 include the 2 expected failures of test.fail)."""
    records = fixture(playwright_json, "playwright-json/playwright.json")
    assert counts(records) == {"Passed": 10, "KnownFail": 2, "Failed": 4, "Skipped": 6}
    assert sum(1 for r in records if r.metadata.get("flaky")) == 2


def test_playwright_broken_fixture_is_not_an_empty_report():
    """The run stopped on a file that failed to load: no test ran, one error."""
    records = fixture(playwright_json, "playwright-json/playwright-broken.json")
    assert [(r.test_name, r.status) for r in records] == [("broken.spec.js (error)", Status.FAILED)]


def test_hostile_documents_are_refused_with_the_line():
    with pytest.raises(InputError, match="duplicate key"):
        run(jest_json, b'{"numTotalTests": 1,\n "testResults": [], "testResults": []}')
    with pytest.raises(InputError, match="nested deeper"):
        run(playwright_json, b'{"config": {}, "suites": ' + b"[" * 500 + b"]" * 500 + b"}")
    with pytest.raises(InputError, match="non-finite|NaN"):
        run(mocha_json, b'{\n  "stats": {"passes": NaN}, "tests": []}')

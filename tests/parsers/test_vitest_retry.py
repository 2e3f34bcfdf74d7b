"""Vitest JSON reports of retried tests (fixtures/generate/vitest-json-retry/run.sh).

Vitest's JSON has no retry count: ``failureMessages`` holds one entry per *error* of every
try, and one try can have several (``expect.soft``, a failing ``afterEach``). So a failed
test's tries cannot be counted from it and get no ``attempts``; only a passed test with
``failureMessages`` is known to have been retried (notes/native-js.md).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from junit2af.parsers import jest_json
from junit2af.records import Status, TestRecord
from tests.parsers._native import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REPORTS = ["jest-json/vitest-retry.json", "jest-json/vitest3-retry.json"]

#: test -> (status, attempts, flaky, failureMessages in the report, tries per the console)
EXPECTED = {
    "retry.test.js › retry › fails every try": (Status.FAILED, None, None, 3, 3),
    "retry.test.js › retry › fails once then passes": (Status.PASSED, 2, True, 1, 2),
    "retry.test.js › retry › plain pass": (Status.PASSED, None, None, 0, 1),
    "soft.test.js › soft › two soft failures, no retry": (Status.FAILED, None, None, 2, 1),
    "soft.test.js › soft › two soft failures, retry 1": (Status.FAILED, None, None, 4, 2),
    # 2 errors in the failed try read as 2 failed tries: the count is an upper bound.
    "soft.test.js › soft › two soft failures once, then passes": (Status.PASSED, 3, True, 2, 2),
    "soft.test.js › hook › body and afterEach fail, no retry": (Status.FAILED, None, None, 2, 1),
}


def fixture(report: str) -> list[TestRecord]:
    return run(jest_json.parse, (FIXTURES / report).read_bytes())


@pytest.mark.parametrize("report", REPORTS)
def test_vitest_retry_fixture_records(report: str):
    """vitest 4.1.12 and 3.2.7: 'Tests 4 failed | 3 passed (7)'; the console says
    '(retry x2)' for the test failing every try and '(retry x1)' for the other retried."""
    records = fixture(report)
    assert Counter(str(r.status) for r in records) == {"Failed": 4, "Passed": 3}
    got = {
        r.test_name: (r.status, r.metadata.get("attempts"), r.metadata.get("flaky"))
        for r in records
    }
    assert got == {name: row[:3] for name, row in EXPECTED.items()}


@pytest.mark.parametrize("report", REPORTS)
def test_vitest_retry_fixture_has_no_retry_count(report: str):
    """What the report holds: no retry field, one failure message per error."""
    document = json.loads((FIXTURES / report).read_text(encoding="utf-8"))
    for file in document["testResults"]:
        name = Path(file["name"]).name
        for test in file["assertionResults"]:
            full = " › ".join([name, *test["ancestorTitles"], test["title"]])
            assert len(test["failureMessages"]) == EXPECTED[full][3]
            assert not {"retryCount", "retries", "invocations", "retryReasons"} & set(test)
            assert test["meta"] == {}


def test_vitest_failed_every_try_keeps_every_error_in_its_failure_text():
    records = fixture(REPORTS[0])
    (record,) = [r for r in records if r.test_name.endswith("fails every try")]
    assert record.failure_text is not None
    assert record.failure_text.count("expected 'attempt' to be 'never equal'") == 3
    assert not record.outputs  # no attempts.txt: the tries are not told apart

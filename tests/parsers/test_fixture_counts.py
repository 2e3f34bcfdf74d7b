"""The records of each fixture made for issue #12 against what its framework printed.

Each row: the tests junit2af gives (non-synthetic records), the Failed among them, the
synthetic records' reasons, and the framework's own summary line it must agree with
(fixtures/<dir>/README.md says how the two figures relate where they differ in unit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from junit2af.inputs import expand_inputs
from junit2af.parsers import tap
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status
from junit2af.reports import read_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

#: fixture -> (tests, failed tests, synthetic reasons), and what the framework printed
COUNTS = {
    # node 20: '# tests 17 # suites 4': 17 test()/it() of which 4 only hold subtests.
    # The synthetic records: an after() hook, a parent's own body, a before() hook (its
    # test was cancelled: the hook's error is on the group alone).
    "tap/node-test-nested.tap": (13, 2, ["group failed", "group failed", "group failed"]),
    # node's JUnit reporter drops the group failures (hooks, a parent's own body).
    "junit/node-test-nested-junit.xml": (13, 2, []),
    # node 20: '# tests 5 # suites 4 # pass 1 # fail 2 # cancelled 2' (failed: the 2
    # failed and the 2 cancelled); a before() and an after() hook threw beside failed tests.
    "tap/node-test-hooks.tap": (5, 4, ["group failed", "group failed"]),
    "junit/node-test-hooks-junit.xml": (5, 4, []),
    # node 20: '# tests 12 # suites 1', one test() only holds subtests.
    "tap/node-test.tap": (11, 2, []),
    # tap 21: 'Asserts: 7 pass 3 fail 1 skip 1 todo' (12), raw TAP and JUnit reporter.
    "tap/node-tap.tap": (12, 3, []),
    "junit/node-tap-junit.xml": (12, 3, []),
    # tape 5: '# tests 7 # pass 6 # fail 1' and '# tests 11 # pass 8 # fail 3'.
    "tap/tape-groups.tap": (7, 1, []),
    "tap/tape.tap": (11, 3, []),
    # prove: 'Tests: 5 Failed: 2' counts top-level points; 8 leaves, and the subtest whose
    # plan failed while its tests passed is the synthetic record.
    "tap/prove-subtests.tap": (8, 1, ["group failed"]),
    # vitest 3: 'Tests 1 failed | 5 passed | 1 skipped | 1 todo (8)'.
    "tap/vitest.tap": (8, 1, []),
    "tap/vitest-flat.tap": (8, 1, []),
    # pytest 9 interrupted by SIGINT: '1 failed, 1 passed', exit status 2.
    "junit/pytest-interrupted.xml": (2, 1, ["session interrupted"]),
    "reportlog/pytest-interrupted.jsonl": (2, 1, ["session interrupted"]),
    "pytest-json/pytest-interrupted.json": (2, 1, ["session interrupted"]),
    # pytest 9 subtests: '4 failed, 4 passed' counts subtest reports; 5 tests (the
    # JUnit view's test cases, json-report's summary total).
    "junit/pytest9-subtests.xml": (5, 2, []),
    "reportlog/pytest9-subtests.jsonl": (5, 2, []),
    "pytest-json/pytest9-subtests.json": (5, 2, []),
    # bats 1.8.2: '6 tests, 1 failure, 1 skipped'; its JUnit has a bogus 7th case (a
    # warning says so, see test_bats_bogus_case_is_warned_about).
    "junit/bats-junit.xml": (7, 1, []),
    # mocha 11: '4 passing, 3 pending, 2 failing' (the 2nd failure is a beforeEach hook).
    "junit/mocha-junit-reporter.xml": (9, 2, []),
    # Tests that share a name are tests, not reruns. vitest 3 and jest 30: 'Tests 2
    # failed | 1 passed (3)' and 'Tests: 2 failed, 1 passed, 3 total'; mocha 11: '1 passing,
    # 1 failing'; node 20: '# tests 2 # pass 1 # fail 1' (default reporters, same suites).
    "junit/same-name-vitest.xml": (3, 2, []),
    "junit/same-name-jest-junit.xml": (3, 2, []),
    "junit/same-name-mocha-xunit.xml": (2, 1, []),
    "junit/same-name-node-test.xml": (2, 1, []),
    # googletest 1.12.1 (the run of googletest-json/googletest-suites.json, as XML): '3
    # FAILED TESTS', 2 skipped, '2 FAILED TEST SUITES' of which the failed SetUpTestSuite is
    # the synthetic record (a failed TearDownTestSuite leaves no trace in the report).
    "junit/googletest-suites.xml": (12, 3, ["SetUpTestSuite failed"]),
    # pytest 9, sessions cut short, as json-report and reportlog: INTERNALERROR in the 2nd
    # test's report hook ('1 passed', exit 3); pytest.exit(returncode=0) in the 2nd test
    # ('1 passed', exit 0); pytest -n 2, a worker dies in the 2nd test ('1 failed, 2
    # passed', exit 1). The test that never finished is Failed, never Passed.
    "pytest-json/pytest-internal-error.json": (2, 1, []),
    "reportlog/pytest-internal-error.jsonl": (2, 1, []),
    "pytest-json/pytest-exit0.json": (2, 1, []),
    "reportlog/pytest-exit0.jsonl": (2, 1, []),
    "pytest-json/pytest-xdist-crash.json": (3, 1, []),
    "reportlog/pytest-xdist-crash.jsonl": (3, 1, []),
}

#: the fixtures above whose Failed test is one pytest never finished
CUT_SHORT = [k for k in COUNTS if "error" in k or "exit0" in k or "xdist" in k]


def _read(relpath: str, warnings: list[str]):
    options = ParseOptions(warn=warnings.append)
    return list(read_records(list(expand_inputs([str(FIXTURES / relpath)])), options))


@pytest.mark.parametrize("relpath", sorted(COUNTS))
def test_fixture_counts_match_the_framework(relpath):
    records = _read(relpath, [])
    tests = [r for r in records if not r.synthetic]
    got = (
        len(tests),
        sum(r.status is Status.FAILED for r in tests),
        [r.metadata["reason"] for r in records if r.synthetic],
    )
    assert got == COUNTS[relpath]


@pytest.mark.parametrize("relpath", CUT_SHORT)
def test_a_test_pytest_never_finished_says_why(relpath):
    failed = next(r for r in _read(relpath, []) if r.status is Status.FAILED)
    if "xdist" in relpath:
        assert failed.error_message.startswith("worker 'gw")
        assert failed.error_message.endswith(
            "crashed while running 'test_worker_crash.py::test_hard_exit'"
        )
    else:
        assert failed.metadata["incomplete"] is True
        assert failed.error_message.startswith("test did not finish: setup reported")


def test_bats_bogus_case_is_warned_about():
    warnings: list[str] = []
    _read("junit/bats-junit.xml", warnings)
    assert any("says tests=6, skipped=1, but 7 test(s), 2 skipped were read" in w for w in warnings)


@pytest.mark.parametrize(
    ("relpath", "top_level", "failed"),
    [
        ("tap/prove-subtests.tap", 5, 2),
        ("tap/node-test-nested.tap", 8, 4),
        ("tap/prove.tap", 10, 2),
    ],
)
def test_top_level_points_are_what_prove_and_tap_parser_count(relpath, top_level, failed):
    summary = tap.TapSummary()
    with open(FIXTURES / relpath, "rb") as stream:
        list(tap.parse(stream, SourceRef(relpath), ParseOptions(warn=lambda m: None), summary))
    assert (summary.top_level, summary.top_level_failed) == (top_level, failed)


def test_node_test_hook_errors_reach_a_record():
    """A before() hook's error is on its describe only (its tests say 'cancelled'), an
    after() hook's beside a test that failed on its own: each keeps a record."""
    records = _read("tap/node-test-hooks.tap", [])
    by_name = {r.test_name: r for r in records}
    outer = by_name["outer"]
    assert outer.error_message == "a hook of the group failed: outer before failed"
    assert outer.metadata["failure_type"] == "hookFailed"
    assert by_name["outer > shallow"].metadata["yaml"]["failureType"] == "cancelledByParent"
    after = by_name["after fails and a test fails"]
    assert after.error_message == "a hook of the group failed: teardown exploded"
    # a beforeEach() hook's error is the test's own: no group record for it
    assert by_name["beforeEach fails > x"].error_message == "each failed"
    assert "beforeEach fails" not in by_name

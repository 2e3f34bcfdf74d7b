"""Every real C/C++ native report of fixtures/: detected by content, and read into the
counts its framework printed (the fixture READMEs say how each count maps)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from junit2af.inputs import expand_inputs
from junit2af.parsers import detect
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)

P, F, S, K = "Passed", "Failed", "Skipped", "KnownFail"

#: fixture -> (format detected, records by status, a word every warning list must hold)
EXPECTED: dict[str, tuple[str, dict[str, int], str | None]] = {
    # console: 14 ran, 7 passed, 2 skipped, 5 failed, 1 disabled, 1 FAILED TEST SUITE
    # (SuiteSetUpFails: its SetUpTestSuite, synthetic)
    "googletest-json/googletest.json": ("googletest-json", {P: 7, F: 6, S: 3}, "byte by byte"),
    # console: 12 ran, 6 passed, 3 skipped, 3 failed, 2 FAILED TEST SUITES (SetUpFails:
    # synthetic; TearDownFails: written nowhere); a DISABLED_ test run on request
    "googletest-json/googletest-suites.json": ("googletest-json", {P: 6, F: 4, S: 3}, None),
    # console: 3 passed, 1 disabled, and the global environment's failure
    "googletest-json/googletest-environment.json": (
        "googletest-json",
        {P: 3, S: 1, F: 1},
        "comma",
    ),
    # test cases: 14 | 5 passed | 7 failed | 2 failed as expected (sections: 4 leaves)
    "catch2-xml/catch2.xml": ("catch2-xml", {P: 7, F: 8, K: 2}, None),
    # test cases: 2 | 1 passed | 1 failed
    "catch2-xml/catch2-crash.xml": ("catch2-xml", {P: 1, F: 1}, None),
    # Checks: 14, Failures: 3, Errors: 3
    "check-xml/check.xml": ("check-xml", {P: 8, F: 6}, None),
    # Checks: 9, Failures: 3, Errors: 0
    "check-xml/check-nofork.xml": ("check-xml", {P: 6, F: 3}, None),
    "check-xml/xunit-plugin-check-testcase3.xml": ("check-xml", {P: 1}, None),
    # Run: 10   Failure total: 6   Failures: 4   Errors: 2
    "cppunit-xml/cppunit.xml": ("cppunit-xml", {P: 4, F: 6}, None),
    # OK (2)
    "cppunit-xml/cppunit-passing.xml": ("cppunit-xml", {P: 2}, None),
    "cppunit-xml/xunit-plugin-cppunit-testcase4.xml": ("cppunit-xml", {F: 1}, None),
    # 16 test cases: 7 passed, 1 passed with warnings, 5 failed, 3 skipped; the log does
    # not say that expected_failures' failure was expected (Failed here)
    "boost-test/boost-test-log.xml": ("boost-test-log", {P: 7, F: 6, S: 3}, None),
    # the report lists 14 of the 16 (not the 2 disabled units)
    "boost-test/boost-test-report.xml": (
        "boost-test-report",
        {P: 7, K: 1, F: 5, S: 1},
        "does not list disabled",
    ),
    # 5 test cases: 2 passed, 2 failed, 1 timed-out; the run aborted before the 5th
    "boost-test/boost-test-crash.xml": ("boost-test-log", {P: 1, F: 3}, "aborted the run"),
    # suite fixture throws: "4 test cases out of 4 passed", 1 assertion out of 3 failed
    # (the suite's own); the log does not list the 2 cases that never ran
    "boost-test/boost-test-suite-fixture-report.xml": ("boost-test-report", {P: 4, F: 1}, None),
    "boost-test/boost-test-suite-fixture-log.xml": ("boost-test-log", {P: 2, F: 1}, None),
    # global fixture throws: module aborted, "2 test cases out of 2 passed", 1 failed
    # assertion; the report lists all 4 as passed, the log none
    "boost-test/boost-test-global-fixture-report.xml": (
        "boost-test-report",
        {P: 4, F: 1},
        "counts 2 passed test cases but lists 4 passed",
    ),
    "boost-test/boost-test-global-fixture-log.xml": ("boost-test-log", {F: 1}, None),
    "boost-test/xunit-plugin-boosttest-testcase11-testlog.xml": ("boost-test-log", {P: 40}, None),
    # Totals: 8 passed, 5 failed, 2 skipped, 2 blacklisted
    "qttest-xml/qttest5.xml": ("qttest-xml", {P: 8, F: 5, S: 2, K: 2}, None),
    "qttest-xml/qttest6.xml": ("qttest-xml", {P: 8, F: 5, S: 2, K: 2}, None),
    # Totals: 1 passed, 1 failed, 0 skipped
    "qttest-xml/qttest5-initfails.xml": ("qttest-xml", {P: 1, F: 1}, None),
    "qttest-xml/qttest6-initfails.xml": ("qttest-xml", {P: 1, F: 1}, None),
}


def read(path: Path) -> tuple[list, list[str]]:
    warnings: list[str] = []
    options = ParseOptions(warn=warnings.append, fallback_start=MTIME)
    records = list(read_records(list(expand_inputs([str(path)])), options))
    return records, warnings


def test_every_native_fixture_is_listed():
    dirs = {name.split("/")[0] for name in EXPECTED}
    found = {
        f"{d}/{p.name}"
        for d in dirs
        for p in (FIXTURES / d).iterdir()
        if p.is_file() and ".expected." not in p.name and p.suffix != ".md"
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts_match_the_framework(name: str):
    fmt, counts, warning = EXPECTED[name]
    path = FIXTURES / name
    detection = detect(path.read_bytes()[:8192])
    assert detection.format is not None and detection.format.name == fmt
    records, warnings = read(path)
    assert dict(Counter(str(r.status) for r in records)) == counts
    assert all(r.metadata["format"] == fmt for r in records)
    assert len({r.test_name for r in records}) == len(records)  # distinct names
    if warning is None:
        assert warnings == []
    else:
        assert any(warning in w for w in warnings), warnings


def test_googletest_json_names_match_its_xml_read_as_junit():
    json_records, _ = read(FIXTURES / "googletest-json" / "googletest.json")
    xml_records, _ = read(FIXTURES / "junit" / "googletest.xml")
    json_names = {r.test_name for r in json_records}
    # The XML fixture comes from an older, smaller sample suite: every name it has that
    # the JSON suite also has is spelled the same (parametrised, non-ASCII).
    shared = {"Sample.PassSimple", "Grüße.名前", "Values/Param.NotTwo/1", "Fixture.SetUpFails"}
    assert shared <= json_names
    assert shared <= {r.test_name for r in xml_records}


def test_catch2_xml_names_match_its_junit_reporter():
    xml_names = {r.test_name for r in read(FIXTURES / "catch2-xml" / "catch2.xml")[0]}
    junit_names = {r.test_name for r in read(FIXTURES / "junit" / "catch2.xml")[0]}
    # Same sample suite (the XML one has more tests): every JUnit name is found.
    assert junit_names <= xml_names


def test_real_truncated_check_report_is_refused_with_its_line_or_salvaged():
    from junit2af.errors import InputError

    path = DATA / "check-nofork-crash.xml"
    with pytest.raises(InputError) as refused:
        read(path)
    assert refused.value.line == 91
    assert "truncated" in str(refused.value)
    options = ParseOptions(warn=lambda _: None, fallback_start=MTIME, salvage=True)
    records = list(read_records(list(expand_inputs([str(path)])), options))
    assert [str(r.status) for r in records].count("Passed") == 6
    assert records[-1].synthetic and records[-1].metadata["reason"] == "report truncated"


def test_boost_log_at_the_default_level_is_refused_naming_the_fix():
    from junit2af.errors import InputError

    with pytest.raises(InputError, match="--log_level=test_suite"):
        read(DATA / "boost-test-log-errors.xml")

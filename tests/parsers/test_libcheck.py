"""Check (libcheck) XML rules, one test each, on small inline reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, libcheck
from junit2af.records import Status
from tests.parsers._native import deep, run, statuses

NS = "http://check.sourceforge.net/ns"


def check_test(
    function: str,
    result: str = "success",
    iteration: int = 0,
    message: str = "Passed",
    duration: str = "0.250000",
    tcase: str = "Core",
) -> str:
    return (
        f'<test result="{result}"><path>.</path><fn>t.c:{10 + iteration}</fn><id>{function}</id>'
        f"<iteration>{iteration}</iteration><duration>{duration}</duration>"
        f"<description>{tcase}</description><message>{message}</message></test>"
    )


def report(*tests: str, suite: str = "S") -> str:
    return (
        f'<?xml version="1.0"?>\n<testsuites xmlns="{NS}"><datetime>2025-05-01 10:00:00</datetime>'
        f"<suite><title>{suite}</title>{''.join(tests)}</suite><duration>1.0</duration></testsuites>"
    )


def test_detected_by_its_namespace_only():
    assert detect(report().encode()).format.name == "check-xml"
    assert detect(b"<testsuites><testsuite/></testsuites>").format.name == "junit"


def test_statuses_names_and_file_line():
    records = run(
        libcheck.parse,
        report(
            check_test("test_ok"),
            check_test("test_bad", "failure", message="values differ"),
            check_test("test_crash", "error", message="Received signal 11", duration="-1.000000"),
        ),
    )
    assert statuses(records) == [
        ("S.Core.test_ok", "Passed"),
        ("S.Core.test_bad", "Failed"),
        ("S.Core.test_crash", "Failed"),
    ]
    assert records[1].error_message == "values differ"
    assert records[2].metadata["result"] == "error"
    assert records[2].execution_time_ms is None  # -1 is "unknown"
    assert records[0].metadata["file"] == "t.c" and records[0].metadata["line"] == 10


def test_loop_iterations_are_named_with_their_number():
    records = run(
        libcheck.parse,
        report(
            check_test("loop", iteration=0),
            check_test("loop", iteration=1),
            check_test("loop", "failure", iteration=2, message="no"),
            check_test("plain"),
        ),
    )
    assert statuses(records) == [
        ("S.Core.loop:0", "Passed"),
        ("S.Core.loop:1", "Passed"),
        ("S.Core.loop:2", "Failed"),
        ("S.Core.plain", "Passed"),
    ]
    assert records[2].metadata["iteration"] == 2


def test_a_lone_iteration_other_than_zero_is_a_loop_test():
    (record,) = run(libcheck.parse, report(check_test("loop", iteration=5)))
    assert record.test_name == "S.Core.loop:5"


def test_times_start_at_datetime_one_after_the_other():
    records = run(libcheck.parse, report(check_test("a"), check_test("b")))
    assert records[0].started_at == datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert records[1].started_at == datetime(2025, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert records[0].metadata["time_source"] == "report"


def test_empty_report_warns():
    warnings: list[str] = []
    assert run(libcheck.parse, report(), warnings) == []
    assert warnings == ["r.xml: the report holds no tests"]


def test_truncated_report_is_refused_with_its_line():
    text = report(check_test("a"), check_test("b")).split("<test ", 2)
    with pytest.raises(InputError) as refused:
        run(libcheck.parse, "<test ".join(text[:2]))
    assert refused.value.line == 2
    assert "truncated" in str(refused.value)


def test_salvage_keeps_complete_tests():
    text = "<test ".join(report(check_test("a"), check_test("b")).split("<test ", 2)[:2])
    records = run(libcheck.parse, text, salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[-1].synthetic


def test_deep_nesting_is_refused():
    with pytest.raises(InputError, match="nested deeper"):
        run(libcheck.parse, report(deep("<test>", "</test>")))


def test_huge_values_are_capped():
    (record,) = run(libcheck.parse, report(check_test("f" * 2_000_000)))
    assert len(record.test_name) == 255
    assert len(record.metadata["function"]) <= 1001


def test_other_namespace_is_refused_when_forced():
    with pytest.raises(InputError, match="not a Check XML report"):
        run(libcheck.parse, "<testsuites/>")

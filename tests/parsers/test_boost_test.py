"""Boost.Test XML log and report rules, one test each, on small inline reports."""

from __future__ import annotations

import pytest

from junit2af.errors import InputError
from junit2af.parsers import boost_test, detect
from junit2af.records import Status
from tests.parsers._native import MTIME, deep, run, statuses

ERROR = (
    '<Error file="t.cpp" line="24"><![CDATA[check a == b has failed [3 != 2]]]>'
    "<Context><Frame><![CDATA[got is 3]]></Frame></Context></Error>"
)
EXCEPTION = (
    '<Exception file="unknown location" line="0"><![CDATA[std::runtime_error: boom]]>'
    '<LastCheckpoint file="t.cpp" line="28"><![CDATA["throws" test entry]]></LastCheckpoint>'
    "</Exception>"
)


def case(name: str, body: str = "", micro: int = 1500) -> str:
    return (
        f'<TestCase name="{name}" file="t.cpp" line="3">{body}'
        f"<TestingTime>{micro}</TestingTime></TestCase>"
    )


def log(*units: str) -> str:
    return f'<TestLog><TestSuite name="master">{"".join(units)}</TestSuite></TestLog>'


def parse(text: str, warnings: list[str] | None = None, **options: object):
    return run(boost_test.parse_log, text, warnings, **options)


def test_detects_log_and_report():
    assert detect(log().encode()).format.name == "boost-test-log"
    assert detect(b"<TestResult><TestSuite/></TestResult>").format.name == "boost-test-report"


def test_log_statuses_names_and_times():
    records = parse(
        log(
            case("ok", '<Info file="t.cpp" line="3"><![CDATA[check passed]]></Info>'),
            case("bad", ERROR),
            case("throws", EXCEPTION),
            '<TestCase name="off" skipped="yes" reason="disabled"/>',
            '<TestSuite name="outer">' + case("inner") + "</TestSuite>",
        )
    )
    assert statuses(records) == [
        ("ok", "Passed"),
        ("bad", "Failed"),
        ("throws", "Failed"),
        ("off", "Skipped"),
        ("outer.inner", "Passed"),
    ]
    assert records[0].execution_time_ms == 2  # 1500 µs
    assert records[0].started_at == MTIME
    assert records[1].error_message == "check a == b has failed [3 != 2]"
    assert records[1].failure_text == (
        't.cpp(24): error: in "bad": check a == b has failed [3 != 2]\n'
        "Failure occurred in a following context:\n    got is 3"
    )
    assert records[2].failure_text.endswith('t.cpp(28): last checkpoint: "throws" test entry')
    assert records[3].error_message == "disabled"
    assert records[4].metadata["suite_path"] == ["master", "outer"]


def test_skipped_suite_is_one_skipped_record():
    (record,) = parse(log('<TestSuite name="slow" skipped="yes" reason="disabled"/>'))
    assert (record.test_name, record.status) == ("slow", Status.SKIPPED)
    assert record.metadata["skipped_suite"] and record.synthetic


def test_messages_and_warnings_go_to_a_log_artifact():
    body = (
        '<Message file="t.cpp" line="7"><![CDATA[hello]]></Message>'
        '<Warning file="t.cpp" line="8"><![CDATA[condition x is not satisfied]]></Warning>'
    )
    (record,) = parse(log(case("talks", body)))
    assert record.status is Status.PASSED
    assert [(a.label, a.text) for a in record.outputs] == [
        (
            "messages.log",
            "t.cpp(7): message: hello\nt.cpp(8): warning: condition x is not satisfied\n",
        )
    ]


def test_aborted_run_is_said():
    crash = EXCEPTION + '<Message file="x" line="1"><![CDATA[Test is aborted]]></Message>'
    warnings: list[str] = []
    records = parse(
        log(case("crash", crash))[: -len("</TestSuite></TestLog>")]
        + '<Message file="x" line="1"><![CDATA[Test is aborted]]></Message></TestSuite></TestLog>',
        warnings,
    )
    assert records[0].metadata["run_aborted"] is True
    assert len(warnings) == 1 and "aborted the run after crash" in warnings[0]


def test_failure_outside_test_cases_is_a_synthetic_record():
    records = parse(log(case("ok"), ERROR))
    assert statuses(records)[-1] == ("master (failures outside test cases)", "Failed")
    assert records[-1].synthetic


def test_log_without_test_units_is_refused():
    with pytest.raises(InputError, match="--log_level=test_suite"):
        parse("<TestLog>" + ERROR + "</TestLog>")
    with pytest.raises(InputError, match="--log_level=test_suite"):
        parse("<TestLog></TestLog>")


def test_report_inside_the_log_is_skipped_and_a_second_document_warns():
    report = (
        '<TestResult><TestSuite name="master"><TestCase name="x" result="passed"/>'
        "</TestSuite></TestResult>"
    )
    records = parse(log(case("ok")).replace("</TestLog>", report + "</TestLog>"))
    assert statuses(records) == [("ok", "Passed")]
    warnings: list[str] = []
    records = parse(log(case("ok")) + "\n" + report, warnings)
    assert statuses(records) == [("ok", "Passed")]
    assert warnings == ["r.xml: line 2: a second XML document follows the report; ignored"]


def test_report_statuses_and_counts():
    text = (
        '<TestResult><TestSuite name="m" result="failed" test_cases_passed="2" '
        'test_cases_passed_with_warnings="0" test_cases_failed="2" test_cases_skipped="2" '
        'test_cases_timed_out="0">'
        '<TestCase name="aa" result="passed" assertions_passed="1"/>'
        '<TestCase name="bb" result="aborted" assertions_failed="2"/>'
        '<TestSuite name="s"><TestCase name="cc" result="failed" assertions_failed="1"/>'
        '<TestCase name="dd" result="passed" assertions_failed="1" expected_failures="1"/>'
        '<TestCase name="ee" result="skipped"/></TestSuite></TestSuite></TestResult>'
    )
    warnings: list[str] = []
    records = run(boost_test.parse_report, text, warnings)
    assert statuses(records) == [
        ("aa", "Passed"),
        ("bb", "Failed"),
        ("s.cc", "Failed"),
        ("s.dd", "KnownFail"),
        ("s.ee", "Skipped"),
    ]
    assert records[1].error_message == "Boost.Test result aborted: 2 assertion(s) failed"
    assert warnings == [
        "r.xml: the report counts 2 skipped test cases but lists 1 skipped (Boost.Test does "
        "not list disabled test units in its report; the XML log does)"
    ]


def test_report_suite_failing_by_itself_is_a_synthetic_record():
    # A suite fixture that threw (Boost 1.74): the suite is aborted with a failed
    # assertion of its own, and its test cases, which never ran, are "passed".
    text = (
        '<TestResult><TestSuite name="m" result="failed" assertions_failed="2" '
        'test_cases_passed="2" test_cases_failed="1">'
        '<TestCase name="aa" result="failed" assertions_failed="1"/>'
        '<TestSuite name="s" result="aborted" assertions_failed="1" test_cases_passed="2">'
        '<TestCase name="bb" result="passed"/><TestCase name="cc" result="passed"/>'
        "</TestSuite></TestSuite></TestResult>"
    )
    warnings: list[str] = []
    records = run(boost_test.parse_report, text, warnings)
    assert statuses(records) == [
        ("aa", "Failed"),
        ("s.bb", "Passed"),
        ("s.cc", "Passed"),
        ("s (failures outside test cases)", "Failed"),
    ]
    assert records[3].synthetic and records[3].metadata["assertions_failed"] == 1
    assert warnings == []


def test_report_of_an_aborted_module_is_not_green():
    # A global fixture that threw: the module is aborted, every listed case "passed".
    text = (
        '<TestResult><TestSuite name="m" result="aborted" assertions_failed="1" '
        'test_cases_passed="1"><TestCase name="aa" result="passed"/>'
        '<TestCase name="bb" result="passed"/></TestSuite></TestResult>'
    )
    warnings: list[str] = []
    records = run(boost_test.parse_report, text, warnings)
    assert statuses(records) == [
        ("aa", "Passed"),
        ("bb", "Passed"),
        ("m (failures outside test cases)", "Failed"),
    ]
    assert warnings == ["r.xml: the report counts 1 passed test cases but lists 2 passed"]


def test_the_log_is_not_read_as_a_report():
    with pytest.raises(InputError, match="this is Boost.Test's log"):
        run(boost_test.parse_report, log(case("x")))


def test_truncated_log_is_refused_or_salvaged():
    text = log(case("aa"), case("bb")).split("<TestCase", 2)
    cut = "<TestCase".join(text[:2])
    with pytest.raises(InputError, match="truncated"):
        parse(cut)
    records = parse(cut, salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[-1].synthetic


def test_deep_nesting_and_huge_names():
    with pytest.raises(InputError, match="nested deeper"):
        parse(log(deep('<TestSuite name="s">', "</TestSuite>")))
    (record,) = parse(log(case("n" * 2_000_000)))
    assert len(record.test_name) == 255

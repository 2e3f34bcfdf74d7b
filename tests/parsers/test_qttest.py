"""QtTest XML rules, one test each, on small inline reports."""

from __future__ import annotations

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, qttest
from junit2af.records import Status
from tests.parsers._native import MTIME, deep, run, statuses


def function(name: str, body: str, msecs: str | None = "1.5") -> str:
    duration = f'<Duration msecs="{msecs}"/>' if msecs is not None else ""
    return f'<TestFunction name="{name}">{body}{duration}</TestFunction>'


def incident(kind: str, tag: str | None = None, text: str | None = None) -> str:
    inner = f"<DataTag><![CDATA[{tag}]]></DataTag>" if tag is not None else ""
    inner += f"<Description><![CDATA[{text}]]></Description>" if text else ""
    where = 'file="t.cpp" line="9"' if text else 'file="" line="0"'
    return f'<Incident type="{kind}" {where}>{inner}</Incident>'


def message(kind: str, text: str, tag: str | None = None) -> str:
    inner = f"<DataTag><![CDATA[{tag}]]></DataTag>" if tag is not None else ""
    inner += f"<Description><![CDATA[{text}]]></Description>"
    return f'<Message type="{kind}" file="" line="0">{inner}</Message>'


def report(*functions: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TestCase name="tst_X"><Environment>'
        "<QtVersion>6.4.2</QtVersion></Environment>" + "".join(functions) + "</TestCase>"
    )


def parse(text: str, warnings: list[str] | None = None, **options: object):
    return run(qttest.parse, text, warnings, **options)


def test_detected_only_with_qt_elements():
    assert detect(report().encode()).format.name == "qttest-xml"
    assert detect(b"<TestCase><other/></TestCase>").format is None


def test_incident_types_map_to_statuses():
    records = parse(
        report(
            function("ok", incident("pass")),
            function(
                "bad", incident("fail", text="Compared values are not the same\n   Actual: 3")
            ),
            function("expected", incident("xfail", text="bug #1") + incident("pass")),
            function("surprise", incident("xpass", text="returned TRUE unexpectedly")),
            function("ignored", incident("bfail", text="flaky")),
            function("qt5skip", message("skip", "not here")),
            function("qt6skip", incident("skip", text="not here")),
        )
    )
    assert statuses(records) == [
        ("tst_X.ok", "Passed"),
        ("tst_X.bad", "Failed"),
        ("tst_X.expected", "KnownFail"),
        ("tst_X.surprise", "Failed"),
        ("tst_X.ignored", "KnownFail"),
        ("tst_X.qt5skip", "Skipped"),
        ("tst_X.qt6skip", "Skipped"),
    ]
    assert records[1].error_message == "Compared values are not the same"
    assert (
        records[1].failure_text == "FAIL: t.cpp(9): Compared values are not the same\n   Actual: 3"
    )
    assert records[1].metadata["file"] == "t.cpp" and records[1].metadata["line"] == 9
    assert records[4].metadata["blacklisted"] is True
    assert records[0].execution_time_ms == 2 and records[0].started_at == MTIME


def test_data_rows_are_records_with_their_messages():
    body = (
        message("qdebug", "row 1", "one")
        + incident("pass", "one")
        + message("qwarn", "row 2", "two")
        + incident("fail", "two", "two is not allowed")
    )
    records = parse(report(function("data", body, "3.0"), function("next", incident("pass"))))
    assert statuses(records) == [
        ("tst_X.data(one)", "Passed"),
        ("tst_X.data(two)", "Failed"),
        ("tst_X.next", "Passed"),
    ]
    assert [(a.label, a.text) for a in records[0].outputs] == [("stdout.log", "QDEBUG: row 1\n")]
    assert [(a.label, a.text) for a in records[1].outputs] == [("stderr.log", "QWARN: row 2\n")]
    assert records[0].execution_time_ms is None
    assert records[1].metadata["function_duration_ms"] == 3
    assert records[2].started_at == records[0].started_at.replace(microsecond=3000)


def test_untagged_messages_before_a_row_belong_to_it():
    body = message("qdebug", "init") + incident("pass", "one")
    (record,) = parse(report(function("data", body)))
    assert record.test_name == "tst_X.data(one)"
    assert record.outputs[0].text == "QDEBUG: init\n"


def test_qfatal_fails_and_a_function_without_result_fails():
    records = parse(report(function("fatal", message("qfatal", "abort")), function("empty", "")))
    assert [r.status for r in records] == [Status.FAILED, Status.FAILED]
    assert "no result" in records[1].error_message


def test_init_test_case_is_a_record():
    records = parse(
        report(
            function("initTestCase", incident("fail", text="no db")),
            function("cleanupTestCase", incident("pass")),
        )
    )
    assert statuses(records) == [
        ("tst_X.initTestCase", "Failed"),
        ("tst_X.cleanupTestCase", "Passed"),
    ]
    assert records[0].metadata["qt_version"] == "6.4.2"


def test_lightxml_is_recognised_and_refused():
    detection = detect(
        b'<Environment><QtVersion>5.15</QtVersion></Environment>\n<TestFunction name="x"/>'
    )
    assert detection.format is None and "lightxml" in detection.looks_like.title


def test_truncated_report_is_refused_or_salvaged():
    cut = report(function("a", incident("pass")), function("b", incident("pass"))).rsplit(
        "<TestFunction", 1
    )[0]
    with pytest.raises(InputError, match="truncated"):
        parse(cut)
    records = parse(cut, salvage=True)
    assert statuses(records) == [("tst_X.a", "Passed"), ("tst_X (report truncated)", "Failed")]


def test_deep_nesting_and_huge_tags():
    with pytest.raises(InputError, match="nested deeper"):
        parse(report(deep("<TestFunction>", "</TestFunction>")))
    (record,) = parse(report(function("data", incident("pass", "t" * 2_000_000))))
    assert len(record.test_name) == 255
    assert len(record.metadata["data_tag"]) <= 1001

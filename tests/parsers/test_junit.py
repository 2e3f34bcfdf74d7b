"""The JUnit mapping rules, one test each, on small inline reports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.parsers import junit
from junit2af.parsers.base import ParseOptions
from junit2af.records import NameRegistry, SourceRef, Status

MTIME = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def parse(xml: str | bytes, warnings: list[str] | None = None, **options):
    data = xml.encode() if isinstance(xml, str) else xml
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(junit.parse(io.BytesIO(data), SourceRef("r.xml"), opts))


def one(xml: str, **options):
    records = parse(xml, **options)
    assert len(records) == 1, records
    return records[0]


def test_testsuites_root_and_nested_suites_keep_their_path():
    records = parse(
        """<testsuites name="all"><testsuite name="outer"><testsuite name="inner">
        <testcase classname="C" name="t1"/></testsuite>
        <testcase classname="C" name="t0"/></testsuite></testsuites>"""
    )
    assert [r.test_name for r in records] == ["C.t1", "C.t0"]
    assert records[0].metadata["suite_path"] == ["all", "outer", "inner"]
    assert records[0].metadata["suite"] == "inner"
    assert records[1].metadata["suite"] == "outer"


def test_testsuite_root():
    record = one('<testsuite name="s"><testcase classname="a.B" name="x"/></testsuite>')
    assert record.test_name == "a.B.x"
    assert record.status is Status.PASSED


def test_failure_and_error_are_failed_and_say_which():
    failure, error = parse(
        """<testsuite name="s">
        <testcase name="f"><failure type="AssertionError" message="1 != 2">trace f</failure>
        </testcase>
        <testcase name="e"><error type="IOError" message="boom">trace e</error></testcase>
        </testsuite>"""
    )
    assert failure.status is error.status is Status.FAILED
    assert failure.metadata["result"] == "failure"
    assert failure.metadata["failure_type"] == "AssertionError"
    assert error.metadata["result"] == "error"
    assert failure.error_message == "1 != 2"
    assert failure.failure_text == "failure: AssertionError: 1 != 2\ntrace f"


def test_message_falls_back_to_first_line_and_is_clipped():
    record = one(
        """<testsuite><testcase name="t"><failure>

        first line
        second</failure></testcase></testsuite>"""
    )
    assert record.error_message == "first line"
    long = one(
        f'<testsuite><testcase name="t"><failure message="{"x" * 3000}"/></testcase></testsuite>'
    )
    assert len(long.error_message) == 1024
    assert long.failure_text == "x" * 3000  # the whole message survives as failure.txt


@pytest.mark.parametrize("skip_type", ["pytest.xfail", "XFAIL", "todo"])
def test_expected_failure_skips_are_known_fail(skip_type):
    record = one(
        f'<testsuite><testcase name="t"><skipped type="{skip_type}" message="bug 12"/>'
        "</testcase></testsuite>"
    )
    assert record.status is Status.KNOWN_FAIL
    assert record.error_message == "bug 12"


def test_skipped_plus_failure_is_known_fail_but_error_wins():
    todo, broken = parse(
        """<testsuite>
        <testcase name="todo"><skipped/><failure message="expected"/></testcase>
        <testcase name="broken"><skipped/><failure/><error message="teardown"/></testcase>
        </testsuite>"""
    )
    assert todo.status is Status.KNOWN_FAIL
    assert broken.status is Status.FAILED
    assert broken.error_message == "teardown"


@pytest.mark.parametrize("attrs", ['status="notrun"', 'status="disabled"', 'result="skipped"'])
def test_not_run_statuses_are_skipped(attrs):
    assert one(f'<testsuite><testcase name="t" {attrs}/></testsuite>').status is Status.SKIPPED


def test_surefire_flaky_failure_is_one_flaky_passed_record():
    record = one(
        """<testsuite name="S"><testcase classname="C" name="t" time="1.5">
        <flakyFailure message="first try" type="java.lang.AssertionError">
          <stackTrace>at C.t(C.java:3)</stackTrace><system-out>try 1 out</system-out>
        </flakyFailure></testcase></testsuite>"""
    )
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is True
    history = next(o for o in record.outputs if o.label == "attempts.txt").text
    assert "first try" in history and "try 1 out" in history


def test_surefire_rerun_failure_is_failed_not_flaky():
    record = one(
        """<testsuite><testcase classname="C" name="t"><failure message="3rd"/>
        <rerunFailure message="1st"/><rerunFailure message="2nd"/></testcase></testsuite>"""
    )
    assert record.status is Status.FAILED
    assert record.metadata["attempts"] == 3
    assert record.metadata["flaky"] is False
    assert record.error_message == "3rd"


#: Gradle's <testsuite> start tag (its attributes in Gradle's order)
GRADLE_SUITE = (
    '<testsuite name="C" tests="3" skipped="0" failures="1" errors="0" '
    'timestamp="2026-01-01T00:00:00" hostname="vm" time="6"><properties/>'
)


def test_repeat_after_failure_is_an_attempt_of_one_test_in_gradles_reports():
    # Gradle (test-retry plugin) writes every execution as a <testcase>.
    record = one(
        f"""{GRADLE_SUITE}
        <testcase classname="C" name="t" time="1"><failure message="no"/></testcase>
        <testcase classname="C" name="t" time="2"><failure message="no again"/></testcase>
        <testcase classname="C" name="t" time="3"/>
        </testsuite>"""
    )
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 3
    assert record.metadata["flaky"] is True
    assert record.execution_time_ms == 6000


def test_repeat_after_failure_is_an_attempt_in_gotestsums_reports():
    record = one(
        """<testsuites><testsuite name="example.com/m" tests="2" failures="1">
        <properties><property name="go.version" value="go1.19.8 linux/amd64"/></properties>
        <testcase classname="example.com/m" name="TestFlaky"><failure message="Failed"/>
        </testcase><testcase classname="example.com/m" name="TestFlaky"/>
        </testsuite></testsuites>"""
    )
    assert record.metadata["attempts"] == 2 and record.metadata["flaky"] is True


@pytest.mark.parametrize(
    "suite",
    [
        '<testsuites name="vitest tests"><testsuite name="a.test.ts" tests="3">',  # test.each
        '<testsuite name="Mocha Tests" tests="3">',  # mocha forEach, xunit reporter
    ],
)
def test_repeat_after_failure_is_another_test_for_other_producers(suite):
    # Rows of test.each (jest, vitest), mocha's forEach, node:test files: same titles,
    # different tests. Merged as reruns, two failures became one flaky pass.
    records = parse(
        f"""{suite}
        <testcase classname="a.test.ts" name="each row"><failure message="1"/></testcase>
        <testcase classname="a.test.ts" name="each row"><failure message="2"/></testcase>
        <testcase classname="a.test.ts" name="each row"/>
        </testsuite>{"</testsuites>" if suite.startswith("<testsuites") else ""}"""
    )
    assert [r.status for r in records] == [Status.FAILED, Status.FAILED, Status.PASSED]
    assert [r.error_message for r in records[:2]] == ["1", "2"]
    assert not any("attempts" in r.metadata for r in records)
    names = NameRegistry()
    assert [names.claim(r.test_name) for r in records] == [
        "a.test.ts.each row",
        "a.test.ts.each row #2",
        "a.test.ts.each row #3",
    ]


def test_repeat_of_the_same_source_line_after_failure_is_an_attempt():
    record = one(
        """<testsuite name="FlakyTestSuite" tests="2">
        <testcase classname="m.C" name="t" file="m.py" line="42"><failure message="no"/>
        </testcase><testcase classname="m.C" name="t" file="m.py" line="42"/></testsuite>"""
    )
    assert record.metadata["attempts"] == 2 and record.metadata["flaky"] is True


def test_pytest_failure_then_teardown_error_is_one_try_of_one_test():
    record = one(
        """<testsuites name="pytest tests"><testsuite name="pytest" tests="2">
        <testcase classname="m" name="test_x" time="1"><failure message="assert 1 == 2">
        call trace</failure></testcase>
        <testcase classname="m" name="test_x" time="2"><error
        message="failed on teardown with &quot;RuntimeError: cleanup&quot;">teardown trace
        </error></testcase></testsuite></testsuites>"""
    )
    assert record.status is Status.FAILED
    assert "attempts" not in record.metadata
    assert record.error_message == "assert 1 == 2"
    assert "call trace" in record.failure_text and "teardown trace" in record.failure_text
    assert record.execution_time_ms == 3000


def test_jest_junits_test_file_that_failed_to_run_is_one_failed_record():
    record = one(
        """<testsuites name="jest tests" tests="0"><testsuite name="broken.test.js"
        errors="1" failures="0" skipped="0" timestamp="1970-01-01T00:00:00" time="0" tests="0">
        <testcase classname="Test suite failed to run" name="broken.test.js" time="0">
        <error>  ● Test suite failed to run

    Cannot find module './x' from 'broken.test.js'</error></testcase>
        <testcase classname="Test suite failed to run" name="broken.test.js" time="0">
        <failure>{"code":"MODULE_NOT_FOUND"}</failure></testcase></testsuite></testsuites>"""
    )
    assert record.status is Status.FAILED
    assert "attempts" not in record.metadata
    assert record.error_message == "● Test suite failed to run"
    assert "Cannot find module" in record.failure_text
    assert "MODULE_NOT_FOUND" in record.failure_text


def test_repeat_after_a_pass_is_another_test_with_an_ordinal():
    records = parse(
        """<testsuite name="S"><testcase classname="C" name="t"/>
        <testcase classname="C" name="t"><failure/></testcase></testsuite>"""
    )
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    names = NameRegistry()
    assert [names.claim(r.test_name) for r in records] == ["C.t", "C.t #2"]


def test_pytest_reruns_are_merged_even_when_written_as_bare_cases():
    # pytest-rerunfailures writes failed tries as empty test cases.
    record = one(
        """<testsuites name="pytest tests"><testsuite name="pytest">
        <testcase classname="m" name="test_x"/><testcase classname="m" name="test_x"/>
        </testsuite></testsuites>"""
    )
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is True


def test_names_classname_prefix_and_empty_classname():
    a, b, c = parse(
        """<testsuite name="suite"><testcase classname="" name="alone"/>
        <testcase classname="pkg.C" name="pkg.C.already"/><testcase name="x"/></testsuite>"""
    )
    assert a.test_name == "alone"
    assert b.test_name == "pkg.C.already"
    assert c.test_name == "suite.x"  # too short: padded with its suite


def test_long_names_are_cut_with_a_hash_and_never_collide():
    base = "n" * 300
    first, second = parse(
        f'<testsuite><testcase name="{base}a"/><testcase name="{base}b"/></testsuite>'
    )
    assert len(first.test_name) == 255 and len(second.test_name) == 255
    assert first.test_name != second.test_name


def test_same_name_in_two_suites_gets_a_stable_ordinal():
    records = parse(
        """<testsuites><testsuite name="a"><testcase classname="C" name="t"/></testsuite>
        <testsuite name="b"><testcase classname="C" name="t"/></testsuite></testsuites>"""
    )
    registry = NameRegistry()
    renamed = list(registry.unique(iter(records)))
    assert [r.test_name for r in renamed] == ["C.t", "C.t #2"]
    assert renamed[1].metadata["name_in_report"] == "C.t"


@pytest.mark.parametrize(
    ("raw", "expected_ms"),
    [("1,234.5", 1234500), ("1e-3", 1), ("0.0004", 0), (" 2 ", 2000)],
)
def test_tolerant_times(raw, expected_ms):
    record = one(f'<testsuite><testcase name="t" time="{raw}"/></testsuite>')
    assert record.execution_time_ms == expected_ms


@pytest.mark.parametrize("raw", ["-1", "abc", "NaN", "{duration}"])
def test_bad_times_give_no_duration_and_a_warning(raw):
    warnings: list[str] = []
    records = parse(f'<testsuite><testcase name="t" time="{raw}"/></testsuite>', warnings)
    assert records[0].execution_time_ms is None
    assert records[0].finished_at is None
    assert any("time=" in w and "r.xml" in w for w in warnings)


def test_start_times_from_testcase_suite_offsets_and_mtime():
    records = parse(
        """<testsuites>
        <testsuite name="a" timestamp="2024-01-02T03:04:05">
          <testcase name="t1" time="1.5"/><testcase name="t2" time="2"/>
          <testcase name="t3" timestamp="2024-01-02T10:00:00+02:00" time="1"/>
        </testsuite>
        <testsuite name="b" time="10"><testcase name="t4" time="4"/><testcase name="t5"/>
        </testsuite></testsuites>"""
    )
    t1, t2, t3, t4, t5 = records
    assert t1.started_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert t1.metadata["time_source"] == "suite"
    assert t2.started_at == t1.started_at + timedelta(milliseconds=1500)
    assert t2.finished_at == t2.started_at + timedelta(seconds=2)
    assert t3.started_at == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    assert t3.metadata["time_source"] == "testcase"
    # No timestamps: the file was written at MTIME, after the suite's 10 s.
    assert t4.started_at == MTIME - timedelta(seconds=10)
    assert t4.metadata["time_source"] == "file_mtime"
    assert t5.started_at == MTIME - timedelta(seconds=6)


def test_naive_timestamps_take_the_given_timezone():
    zone = timezone(timedelta(hours=2))
    record = one(
        '<testsuite timestamp="2024-01-02T12:00:00"><testcase name="t"/></testsuite>',
        timezone=zone,
    )
    assert record.started_at == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert record.api_fields()["started_at"] == "2024-01-02T12:00:00.000+02:00"


def test_output_becomes_log_artifacts_and_attachments_are_found():
    record = one(
        """<testsuite><testcase name="t"><system-out>hello
[[ATTACHMENT|shots/fail.png]]
</system-out><system-err>oops</system-err>
        <properties><property name="attachment" value="video.mp4"/></properties>
        </testcase></testsuite>"""
    )
    assert [o.label for o in record.outputs] == ["stdout.log", "stderr.log"]
    assert record.outputs[1].text == "oops"
    assert [a.path for a in record.attachments] == ["shots/fail.png", "video.mp4"]
    assert record.metadata["properties"] == {"attachment": "video.mp4"}


def test_suite_output_goes_to_the_suites_last_record():
    first, last = parse(
        """<testsuite name="s"><testcase name="t1"/><testcase name="t2"/>
        <system-out>suite says hi</system-out></testsuite>"""
    )
    assert first.outputs == ()
    assert [o.label for o in last.outputs] == ["suite-stdout.log"]
    assert last.metadata["suite_output_attached"] is True


def test_properties_file_line_hostname_and_extra_attributes_go_to_metadata():
    record = one(
        """<testsuite name="s" hostname="ci-7"><properties>
        <property name="go.version" value="1.22"/></properties>
        <testcase name="t" file="t.go" line="12" assertions="3"/></testsuite>"""
    )
    assert record.metadata["suite_properties"] == {"go.version": "1.22"}
    assert record.metadata["file"] == "t.go"
    assert record.metadata["line"] == 12
    assert record.metadata["hostname"] == "ci-7"
    assert record.metadata["attributes"] == {"assertions": "3"}


def test_error_outside_a_test_case_is_a_synthetic_failed_record():
    records = parse(
        """<testsuite name="pkg/crash"><testcase name="ok"/>
        <error message="panic: nil map">goroutine 1</error></testsuite>"""
    )
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    crash = records[1]
    assert crash.synthetic and crash.test_name == "pkg/crash"
    assert crash.error_message == "panic: nil map"
    assert not records[0].synthetic


def test_header_claiming_tests_with_no_cases_is_not_silently_green():
    record = one('<testsuite name="s" tests="6" failures="1"></testsuite>')
    assert record.synthetic and record.status is Status.FAILED
    assert "claims 6 tests" in record.error_message


def test_empty_suites_give_no_records_and_a_warning():
    warnings: list[str] = []
    assert parse('<testsuites><testsuite name="s" tests="0"/></testsuites>', warnings) == []
    assert any("no test cases" in w for w in warnings)


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("", "empty"),
        ("<testsuite><testcase name='a'>", "truncated"),
        ("<testsuite><testcase name='a'/></testsuite>trailing<x/>", "not well-formed"),
        ("<testsuite a=1/>", "not well-formed"),
    ],
)
def test_broken_xml_is_refused_with_file_and_line(xml, words):
    with pytest.raises(InputError) as caught:
        parse(xml)
    assert str(caught.value).startswith("r.xml")
    assert words in str(caught.value)


def test_syntax_errors_carry_line_and_column():
    with pytest.raises(InputError) as caught:
        parse("<testsuite>\n<testcase name='a'/>\n<testcase name=x/></testsuite>")
    assert caught.value.line == 3
    assert str(caught.value).startswith("r.xml:3:")


@pytest.mark.parametrize(
    ("root", "looks_like"),
    [
        ("test-run", "NUnit 3"),
        # TRX is namespaced; a <TestRun> in no namespace is CppUnit's (read, not refused).
        ('TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"', "TRX"),
        ("robot", "Robot"),
        ("Site", "CTest"),
    ],
)
def test_other_xml_formats_are_named(root, looks_like):
    with pytest.raises(UnsupportedFormatError, match=looks_like):
        parse(f"<{root}/>")


def test_unknown_xml_root_is_refused():
    with pytest.raises(InputError, match="root element <html>"):
        parse("<html/>")


def test_invalid_characters_are_replaced_with_a_warning():
    warnings: list[str] = []
    record = one(
        b'<testsuite><testcase name="t\x1b[31m"><system-out>caf\xe9 &#x1B; ok</system-out>'
        b"</testcase></testsuite>",
        warnings=warnings,
    )
    assert record.test_name == "t\ufffd[31m"
    assert record.outputs[0].text == "caf\ufffd \ufffd ok"
    assert any("replaced 3 invalid character" in w for w in warnings)


def test_truncated_report_with_salvage_keeps_complete_cases_and_fails_the_cut_one():
    records = parse(
        "<testsuite name='s'><testcase name='done1'/><testcase name='done2'/>"
        "<testcase name='cut'><system-out>half",
        salvage=True,
    )
    assert [r.test_name for r in records[:2]] == ["done1", "done2"]
    assert records[2].status is Status.FAILED and records[2].synthetic
    assert "truncated" in records[2].error_message


def test_large_text_is_cut_with_an_explicit_marker():
    warnings: list[str] = []
    record = one(
        "<testsuite><testcase name='t'><system-out>" + "y" * 5000 + "</system-out>"
        "</testcase></testsuite>",
        warnings=warnings,
        max_text_bytes=1000,
    )
    assert record.outputs[0].text.endswith("[truncated 4000 bytes]\n")
    assert any("truncated" in w for w in warnings)


def test_hardening_refuses_entities_external_dtd_and_xinclude():
    with pytest.raises(InputError, match="declares entities"):
        parse('<!DOCTYPE t [<!ENTITY a "aaaa">]><testsuite name="&a;"/>')
    with pytest.raises(InputError, match="external DTD"):
        parse('<!DOCTYPE t SYSTEM "http://127.0.0.1:9/x.dtd"><testsuite/>')
    with pytest.raises(InputError, match="XInclude"):
        parse(
            '<testsuite xmlns:xi="http://www.w3.org/2001/XInclude">'
            '<xi:include href="/etc/passwd" parse="text"/></testsuite>'
        )
    with pytest.raises(InputError, match="nested deeper"):
        parse("<testsuite>" + "<a>" * 300 + "</a>" * 300 + "</testsuite>")


def test_memory_is_released_while_streaming():
    # The parser must not keep read test cases in the tree: after each release, nothing
    # read before the released element is left in its parent (lxml's read-ahead aside).
    cases = "".join(f'<testcase name="t{i}"/>' for i in range(2000))
    data = f'<testsuite name="s">{cases}</testsuite>'.encode()
    seen_children = []
    original = junit._release

    def spy(element):
        original(element)
        if element.getparent() is not None:
            seen_children.append(element.getparent().index(element))

    junit._release = spy
    try:
        records = list(junit.parse(io.BytesIO(data), SourceRef("r.xml"), ParseOptions()))
    finally:
        junit._release = original
    assert len(records) == 2000
    assert len(seen_children) >= 2000 and max(seen_children) == 0


# -- issue #12 ------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["12:30", "Tuesday", "2024", "2024-03", "12:30:00+02:00"])
def test_a_timestamp_without_a_full_date_is_no_timestamp(stamp):
    warnings: list[str] = []
    (record,) = parse(
        f'<testsuite name="s" timestamp="2024-01-02T03:04:05Z">'
        f'<testcase name="t" timestamp="{stamp}"/></testsuite>',
        warnings,
    )
    # the next source of the chain: the suite's timestamp, never today's date
    assert record.started_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert record.metadata["time_source"] == "suite"
    assert len(warnings) == 1 and "is not a full date" in warnings[0]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-01-02 12:30:00", datetime(2024, 1, 2, 12, 30, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-01-02T12:30:00-05:00", datetime(2024, 1, 2, 17, 30, tzinfo=UTC)),
        ("Tue, 02 Jan 2024 12:30:00 GMT", datetime(2024, 1, 2, 12, 30, tzinfo=UTC)),
    ],
)
def test_a_full_date_is_taken_and_a_naive_time_is_in_the_given_timezone(stamp, expected):
    plus2 = timezone(timedelta(hours=2))
    record = one(f'<testsuite timestamp="{stamp}"><testcase name="t"/></testsuite>', timezone=plus2)
    assert record.started_at == expected


def test_mocha_junit_reporter_full_title_in_name_is_not_doubled():
    records = parse(
        '<testsuites><testsuite name="suite"><testcase classname="fails" name="suite fails"/>'
        '<testcase classname="C" name="other"/></testsuite>'
        '<testsuite name="inner"><testcase classname="deep" name="suite inner deep"/>'
        "</testsuite></testsuites>"
    )
    assert [r.test_name for r in records] == ["suite fails", "C.other", "suite inner deep"]


def test_a_classname_merely_ending_the_name_is_kept():
    # node:test's classname="test": 'failing test' is not '<suite title> test'
    record = one('<testsuite name="s"><testcase classname="test" name="failing test"/></testsuite>')
    assert record.test_name == "test.failing test"


NODE_TAP = """<testsuites name="TAP Tests" tests="9" failures="4">
<testsuite name="file.mjs" tests="7" failures="3">
<testsuite name="group" tests="2" failures="0">
  <testcase name="assertion" classname="file.mjs &gt; group"/>
</testsuite>
<testsuite name="bad" tests="2" failures="2">
  <testcase name="boom" classname="file.mjs &gt; bad"><failure>boom</failure></testcase>
</testsuite>
<testsuite name="timed out" tests="2" failures="0">
  <testcase name="fine" classname="file.mjs &gt; timed out"/>
</testsuite>
<testcase name="group" classname="file.mjs" time="0.1"/>
<testcase name="bad" classname="file.mjs"><failure>child failed</failure></testcase>
<testcase name="timed out" classname="file.mjs"><failure message="timeout!"/></testcase>
<testcase name="skipped" classname="file.mjs">
  <properties><property name="skip" value="not yet"/></properties></testcase>
<testcase name="todo" classname="file.mjs">
  <properties><property name="todo" value="known bug"/></properties></testcase>
</testsuite></testsuites>"""


def test_node_tap_summary_test_cases_are_not_counted_twice():
    warnings: list[str] = []
    records = parse(NODE_TAP, warnings)
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("file.mjs > group.assertion", Status.PASSED, False),
        ("file.mjs > bad.boom", Status.FAILED, False),
        ("file.mjs > timed out.fine", Status.PASSED, False),
        # failed where its one test passed: kept, as a synthetic group failure
        ("file.mjs.timed out", Status.FAILED, True),
        ("file.mjs.skipped", Status.SKIPPED, False),
        ("file.mjs.todo", Status.KNOWN_FAIL, False),
    ]
    assert records[3].metadata["reason"] == "group failed"
    assert records[3].error_message == "group failed, none of its tests did: timeout!"
    assert records[4].error_message == "not yet"
    assert warnings == []  # node-tap's header counts count the summaries: not checked


def test_a_test_case_named_like_a_suite_without_cases_is_a_test():
    records = parse(
        '<testsuite name="p"><testsuite name="x"/><testcase name="x" classname="p"/></testsuite>'
    )
    assert [r.test_name for r in records] == ["p.x"]


def test_pytest_interrupted_session_placeholder_is_a_synthetic_failure():
    records = parse(
        '<testsuites name="pytest tests"><testsuite name="pytest" tests="1" failures="0">'
        '<testcase classname="m" name="test_a" time="0.001"/><testcase time="0.000"/>'
        "</testsuite></testsuites>"
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("m.test_a", Status.PASSED, False),
        ("pytest (session interrupted)", Status.FAILED, True),
    ]
    assert records[1].metadata["reason"] == "session interrupted"
    assert "interrupted" in records[1].error_message


def test_a_bare_nameless_test_case_without_time_is_not_an_interruption():
    record = one('<testsuite name="s"><testcase/></testsuite>')
    assert record.status is Status.PASSED and not record.synthetic


@pytest.mark.parametrize(
    ("header", "cases", "warning"),
    [
        # bats 1.8 with retries writes a bogus extra case
        (
            'tests="2" failures="0" skipped="0"',
            '<testcase name="a"/><testcase name="b"/><testcase name="begin 3 b"/>',
            "suite 's' says tests=2, but 3 test(s) were read (line 1)",
        ),
        # cases missing from the report
        ('tests="5"', '<testcase name="a"/>', "says tests=5, but 1 test(s) were read"),
        (
            'tests="2" failures="0" errors="0"',
            '<testcase name="a"/><testcase name="b"><failure/></testcase>',
            "says failures=0, errors=0, but 1 failed were read",
        ),
        ('tests="1" skipped="1"', '<testcase name="a"/>', "says skipped=1, but 0 skipped"),
    ],
)
def test_header_counts_that_disagree_are_a_warning_with_both_figures(header, cases, warning):
    warnings: list[str] = []
    parse(f'<testsuite name="s" {header}>{cases}</testsuite>', warnings)
    assert len(warnings) == 1 and warning in warnings[0]


@pytest.mark.parametrize(
    "xml",
    [
        # pytest-rerunfailures: the failed tries are repeated cases, tests= counts them
        '<testsuite name="pytest" tests="3" failures="1"><testcase classname="m" name="t">'
        '<failure/></testcase><testcase classname="m" name="t"/>'
        '<testcase classname="m" name="u"/></testsuite>',
        # Surefire: reruns inside the case, counted as attempts
        '<testsuite name="s" tests="3" failures="3"><testcase name="t"><failure/>'
        "<rerunFailure/><rerunFailure/></testcase></testsuite>",
        # node:test: a suite counts its direct children, nested suites included
        '<testsuites><testsuite name="o" tests="2" failures="1"><testcase name="a"/>'
        '<testsuite name="i" tests="2" failures="1"><testcase name="b"/><testcase name="c">'
        "<failure/></testcase></testsuite></testsuite></testsuites>",
        # several <failure> elements in one case (googletest)
        '<testsuite name="s" tests="1" failures="2"><testcase name="t"><failure/><failure/>'
        "</testcase></testsuite>",
        # jest-junit: a suite that failed to load
        '<testsuite name="s" tests="0" errors="1"><testcase name="Test suite failed to run">'
        "<error/></testcase></testsuite>",
        # ginkgo: tests= counts the specs that ran, skipped ones are listed too
        '<testsuite name="s" tests="1" skipped="1"><testcase name="a"/><testcase name="b">'
        "<skipped/></testcase></testsuite>",
    ],
)
def test_benign_count_shapes_are_not_warned_about(xml):
    warnings: list[str] = []
    parse(xml, warnings)
    assert warnings == []


def test_test_cases_that_give_no_record_are_never_a_silent_zero():
    warnings: list[str] = []
    assert parse("<testsuite/>", warnings) == []
    assert warnings == ["r.xml: the report holds no test cases"]


def test_a_suite_level_error_counts_as_the_error_its_header_says():
    # TAP::Formatter::JUnit (prove): a script that exited non-zero is errors="1" and an
    # <error> beside its test cases; that error is the synthetic record, not a mismatch.
    warnings: list[str] = []
    records = parse(
        """<testsuites><testsuite name="00-exitcode_t" errors="1" tests="1" failures="0">
        <testcase name="1 - ok"/><error message="Dubious, test returned 3"/>
        </testsuite></testsuites>""",
        warnings,
    )
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[1].metadata["synthetic"] is True
    assert not any("says" in w for w in warnings), warnings


def test_mochas_failed_hooks_are_not_in_its_tests_count():
    # mocha's xunit reporter: tests="2" counts the tests, not the failed hook it writes
    # as a third test case.
    warnings: list[str] = []
    records = parse(
        """<testsuite name="Mocha Tests" tests="2" failures="0" errors="1">
        <testcase classname="s" name="a"/><testcase classname="s" name="b"/>
        <testcase classname="s" name="&quot;after each&quot; hook for &quot;b&quot;">
        <failure message="boom"/></testcase></testsuite>""",
        warnings,
    )
    assert [r.status for r in records] == [Status.PASSED, Status.PASSED, Status.FAILED]
    assert not any("says" in w for w in warnings), warnings


def test_googletests_failed_global_environment_is_outside_its_tests_count():
    warnings: list[str] = []
    records = parse(
        """<testsuites tests="1" failures="0" disabled="0" errors="0" name="AllTests"
        timestamp="2026-12-01T06:58:22.509">
        <testsuite name="S" tests="1" failures="0" disabled="0" skipped="1" errors="0"
        timestamp="1970-01-01T00:00:00.000"><testcase name="t" status="run"
        result="skipped" timestamp="1970-01-01T00:00:00.000" classname="S">
        <skipped message="env.cc:3"/></testcase></testsuite>
        <testsuite name="NonTestSuiteFailure" tests="1" failures="1" disabled="0"
        skipped="0" errors="0" timestamp="1970-01-01T00:00:00.000"><testcase name=""
        status="run" result="completed" classname=""><failure message="global env setup"/>
        </testcase></testsuite></testsuites>""",
        warnings,
    )
    # the suites never started (at the epoch): no SetUpTestSuite record for them
    assert [r.status for r in records] == [Status.SKIPPED, Status.FAILED]
    assert not any("says" in w for w in warnings), warnings


def test_catch2s_header_counts_assertions_and_is_not_checked():
    warnings: list[str] = []
    records = parse(
        """<testsuites><testsuite name="t" errors="0" failures="2" tests="5" hostname="tbd"
        time="0.001" timestamp="2026-12-01T06:59:43Z">
        <testcase classname="t.global" name="a" time="0.000" status="run"/>
        <testcase classname="t.global" name="b" time="0.000" status="run">
        <failure message="1 == 2" type="CHECK">FAILED:</failure>
        <failure message="2 == 3" type="CHECK">FAILED:</failure></testcase>
        </testsuite></testsuites>""",
        warnings,
    )
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert not any("says" in w for w in warnings), warnings

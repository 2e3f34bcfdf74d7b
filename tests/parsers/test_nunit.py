"""The NUnit 2 and 3 mapping rules, one test each, on small inline reports."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, nunit
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

MTIME = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def parse(xml: str | bytes, warnings: list[str] | None = None, **options):
    data = xml.encode() if isinstance(xml, str) else xml
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(nunit.parse(io.BytesIO(data), SourceRef("TestResult.xml"), opts))


def run3(body: str, header: str = "") -> str:
    return (
        f'<test-run id="2" start-time="2024-05-01 10:00:00Z" {header}>'
        '<test-suite type="Assembly" name="Tests.dll" fullname="C:\\b\\Tests.dll">'
        f"{body}</test-suite></test-run>"
    )


def fixture(body: str, attrs: str = 'result="Passed"', name: str = "Fix") -> str:
    return (
        f'<test-suite type="TestFixture" name="{name}" fullname="Ns.{name}" {attrs}>'
        f"{body}</test-suite>"
    )


def case(name: str, attrs: str = 'result="Passed"', body: str = "", fixture: str = "Fix") -> str:
    return (
        f'<test-case name="{name}" fullname="Ns.{fixture}.{name}" methodname="{name}" '
        f'classname="Ns.{fixture}" {attrs}>{body}</test-case>'
    )


def test_sniff_names_nunit3_and_nunit2():
    assert detect(run3("").encode()).format.name == "nunit3"
    assert detect(b'<?xml version="1.0"?><test-results total="0"/>').format.name == "nunit2"


@pytest.mark.parametrize(
    ("attrs", "status"),
    [
        ('result="Passed"', Status.PASSED),
        ('result="Failed"', Status.FAILED),
        ('result="Failed" label="Error"', Status.FAILED),
        ('result="Failed" label="Invalid"', Status.FAILED),
        ('result="Failed" label="Cancelled"', Status.FAILED),
        ('result="Skipped" label="Ignored"', Status.SKIPPED),
        ('result="Skipped" label="Explicit"', Status.SKIPPED),
        ('result="Inconclusive"', Status.SKIPPED),
        ('result="Warning"', Status.PASSED),
    ],
)
def test_nunit3_results_map_to_api_statuses(attrs, status):
    (record,) = parse(run3(fixture(case("T1", attrs))))
    assert record.status is status
    assert record.test_name == "Ns.Fix.T1"


def test_nunit3_unknown_result_is_failed_and_warned():
    warnings: list[str] = []
    (record,) = parse(run3(fixture(case("T1", 'result="Exploded"'))), warnings)
    assert record.status is Status.FAILED
    assert any("unknown result 'Exploded'" in w for w in warnings)


def test_nunit3_failure_message_stack_output_attachments_and_properties():
    body = (
        '<properties><property name="Category" value="Slow"/>'
        '<property name="_SKIPREASON" value="x"/><property name="Owner" value="ann"/></properties>'
        "<failure><message><![CDATA[  Expected: 3\n  But was:  2\n]]></message>"
        "<stack-trace><![CDATA[   at Ns.Fix.T1() in Fix.cs:line 7]]></stack-trace></failure>"
        "<output><![CDATA[printed\n]]></output>"
        "<attachments><attachment><filePath>C:\\out\\shot.png</filePath>"
        "<description>screen</description></attachment></attachments>"
    )
    attrs = (
        'result="Failed" start-time="2024-05-01T10:00:01.5Z" '
        'end-time="2024-05-01T10:00:02Z" duration="0.5"'
    )
    (record,) = parse(run3(fixture(case("T1", attrs, body))))
    assert record.error_message == "Expected: 3\nBut was:  2"
    assert "Fix.cs:line 7" in record.failure_text
    assert record.outputs[0].label == "stdout.log"
    assert record.outputs[0].text == "printed\n"
    assert record.attachments[0].path == "C:\\out\\shot.png"
    assert record.metadata["categories"] == ["Slow"]
    assert record.metadata["properties"] == {"Owner": "ann"}
    assert record.metadata["assembly"] == "Tests.dll"
    assert record.started_at == datetime(2024, 5, 1, 10, 0, 1, 500000, tzinfo=UTC)
    assert record.execution_time_ms == 500
    assert record.metadata["time_source"] == "testcase"


def test_nunit3_timeout_message_lives_in_the_label():
    attrs = 'result="Failed" label="Test exceeded Timeout value 1ms."'
    (record,) = parse(run3(fixture(case("T1", attrs, "<failure/>"))))
    assert record.error_message == "Test exceeded Timeout value 1ms."


def test_nunit3_skip_reason_is_the_message():
    body = "<reason><message><![CDATA[not today]]></message></reason>"
    (record,) = parse(run3(fixture(case("T1", 'result="Skipped" label="Ignored"', body))))
    assert record.error_message == "not today"


def test_nunit3_one_time_setup_failure_children_carry_the_parents_message():
    suite_failure = (
        "<failure><message>OneTimeSetUp: db down</message><stack-trace>at Setup()</stack-trace>"
        "</failure>"
    )
    children = case("T1", 'result="Failed" label="Error" site="Parent"') + case(
        "T2", 'result="Failed" label="Error" site="Parent"'
    )
    attrs = 'result="Failed" label="Error" site="SetUp"'
    records = parse(run3(fixture(suite_failure + children, attrs)))
    assert [r.status for r in records] == [Status.FAILED, Status.FAILED]
    assert records[0].error_message == "OneTimeSetUp: db down"
    assert "at Setup()" in records[1].failure_text
    assert not any(r.synthetic for r in records)


def test_nunit3_suite_failure_without_cases_is_a_synthetic_failure():
    attrs = 'result="Failed" label="Error" site="SetUp"'
    body = "<failure><message>no ctor</message></failure>"
    (record,) = parse(run3(fixture(body, attrs)))
    assert record.synthetic
    assert record.status is Status.FAILED
    assert record.test_name == "Ns.Fix (OneTimeSetUp)"
    assert record.error_message == "no ctor"


def test_nunit3_one_time_teardown_failure_after_passing_tests_is_not_lost():
    attrs = 'result="Failed" label="Error" site="TearDown"'
    body = "<failure><message>TearDown : boom</message></failure>" + case("T1")
    records = parse(run3(fixture(body, attrs)))
    assert [(r.test_name, r.status) for r in records] == [
        ("Ns.Fix.T1", Status.PASSED),
        ("Ns.Fix (OneTimeTearDown)", Status.FAILED),
    ]
    assert records[1].metadata["reason"] == "OneTimeTearDown failure outside any test case"


def test_nunit3_child_rollup_failures_are_not_records():
    body = "<failure><message>One or more child tests had errors</message></failure>"
    records = parse(
        run3(fixture(body + case("T1", 'result="Failed"'), 'result="Failed" site="Child"'))
    )
    assert len(records) == 1 and not records[0].synthetic


def test_nunit3_ignored_fixture_without_cases_warns_and_records_nothing():
    warnings: list[str] = []
    body = "<reason><message>later</message></reason>"
    assert parse(run3(fixture(body, 'result="Skipped" label="Ignored"')), warnings) == []
    assert any("was not run (Ignored: later)" in w for w in warnings)


def test_nunit3_header_counts_are_checked_leaving_explicit_out_of_total():
    header = 'total="2" passed="1" failed="0" skipped="1"'
    body = case("T1") + case("T2", 'result="Skipped" label="Explicit"') + case("T3")
    warnings: list[str] = []
    parse(run3(fixture(body), header), warnings)
    assert warnings == [
        "TestResult.xml: the <test-run> totals disagree with the results in the report: "
        "passed=1 (read 2)"
    ]


def test_nunit3_cases_without_times_follow_the_run_start():
    body = case("T1", 'result="Passed" duration="1.5"') + case("T2", 'result="Passed" duration="1"')
    first, second = parse(run3(fixture(body)))
    assert first.started_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert second.started_at == datetime(2024, 5, 1, 10, 0, 1, 500000, tzinfo=UTC)
    assert second.metadata["time_source"] == "run"


def nunit2(body: str, header: str = 'date="2024-05-01" time="10:00:05"') -> str:
    return (
        f'<test-results name="Tests.dll" {header}><test-suite name="Tests.dll" time="5.0">'
        f"<results>{body}</results></test-suite></test-results>"
    )


@pytest.mark.parametrize(
    ("attrs", "status"),
    [
        ('executed="True" result="Success" success="True"', Status.PASSED),
        ('executed="True" result="Failure" success="False"', Status.FAILED),
        ('executed="True" result="Error" success="False"', Status.FAILED),
        ('executed="True" result="Cancelled" success="False"', Status.FAILED),
        ('executed="False" result="NotRunnable"', Status.FAILED),
        ('executed="False" result="Ignored"', Status.SKIPPED),
        ('executed="False" result="Skipped"', Status.SKIPPED),
        ('executed="True" result="Inconclusive"', Status.SKIPPED),
        ('executed="True" success="True"', Status.PASSED),
        ('executed="True" success="False"', Status.FAILED),
        ('executed="False"', Status.SKIPPED),
    ],
)
def test_nunit2_results_map_to_api_statuses(attrs, status):
    (record,) = parse(nunit2(f'<test-case name="Ns.C.T" {attrs}/>'))
    assert record.status is status


def test_nunit2_run_start_is_counted_back_from_the_report_time():
    (record,) = parse(nunit2('<test-case name="Ns.C.T" executed="True" success="True" time="1"/>'))
    assert record.started_at == datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert record.execution_time_ms == 1000


def test_nunit2_culture_formatted_date_is_not_guessed():
    warnings: list[str] = []
    xml = nunit2(
        '<test-case name="T" executed="True" success="True"/>', 'date="6/12/2007" time="2:46 PM"'
    )
    (record,) = parse(xml, warnings)
    assert record.metadata["time_source"] == "file_mtime"
    assert any("'6/12/2007' is not an ISO date" in w for w in warnings)


def test_nunit2_short_names_are_qualified_with_their_fixture():
    xml = nunit2(
        '<test-suite name="LoginTests"><results>'
        '<test-case name="testLogin" executed="True" success="True"/></results></test-suite>'
    )
    (record,) = parse(xml)
    assert record.test_name == "LoginTests.testLogin"


def test_nunit2_categories_and_reason():
    xml = nunit2(
        '<test-suite name="Ns.C"><categories><category name="Db"/></categories><results>'
        '<test-case name="Ns.C.T" executed="False" result="Ignored">'
        '<categories><category name="Slow"/></categories>'
        "<reason><message><![CDATA[flaky]]></message></reason></test-case></results></test-suite>"
    )
    (record,) = parse(xml)
    assert record.metadata["categories"] == ["Db", "Slow"]
    assert record.error_message == "flaky"


def test_nunit2_fixture_setup_failure_without_cases_is_synthetic():
    xml = nunit2(
        '<test-suite name="Ns.C" executed="True" result="Failure" success="False">'
        "<failure><message>TestFixtureSetUp failed</message></failure><results/></test-suite>"
    )
    (record,) = parse(xml)
    assert record.synthetic and record.status is Status.FAILED


def test_nunit2_header_disagreement_is_warned():
    warnings: list[str] = []
    parse(
        nunit2(
            '<test-case name="Ns.C.T" executed="True" success="True"/>',
            'total="4" failures="1" not-run="0" date="2024-05-01" time="10:00:00"',
        ),
        warnings,
    )
    assert any("total=4 (read 1)" in w and "failures+errors=1 (read 0)" in w for w in warnings)


def test_deeply_nested_suites_are_refused_with_the_line():
    depth = 400
    xml = run3("<test-suite>\n" * depth + "</test-suite>" * depth)
    with pytest.raises(InputError) as caught:
        parse(xml)
    assert "nested deeper" in str(caught.value)
    assert caught.value.line is not None


def test_huge_attribute_is_read_and_the_name_fitted():
    name = "x" * 5_000_000
    (record,) = parse(
        run3(fixture(f'<test-case name="{name}" fullname="{name}" result="Passed"/>'))
    )
    assert len(record.test_name) == 255


def test_entity_declarations_are_refused():
    xml = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "boom">]><test-run>&e;</test-run>'
    with pytest.raises(InputError, match="entities"):
        parse(xml)


def test_truncated_report_is_a_one_line_refusal_with_its_line():
    xml = run3(fixture(case("T1") + case("T2"))).replace("><", ">\n<")
    cut = xml[: xml.rindex("<test-case")]
    with pytest.raises(InputError) as caught:
        parse(cut)
    assert caught.value.line is not None
    assert "\n" not in str(caught.value)


def test_truncated_report_salvage_keeps_complete_cases():
    xml = run3(fixture(case("T1") + case("T2")))
    records = parse(xml[: xml.rindex("<test-case")], salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[-1].metadata["reason"] == "report truncated"


def test_header_counting_tests_over_no_test_case_is_never_a_silent_zero():
    (record,) = parse('<test-run total="4" failed="1"><test-suite name="A.dll"/></test-run>')
    assert record.synthetic and record.status is Status.FAILED
    assert record.metadata["claimed_tests"] == 4

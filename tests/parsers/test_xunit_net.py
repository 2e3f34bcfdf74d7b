"""The xUnit.net v1/v2 mapping rules, one test each, on small inline reports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, xunit_net
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

MTIME = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def parse(xml: str | bytes, warnings: list[str] | None = None, **options):
    data = xml.encode() if isinstance(xml, str) else xml
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(xunit_net.parse(io.BytesIO(data), SourceRef("xunit.xml"), opts))


def v2(tests: str, errors: str = "", header: str = "") -> str:
    return (
        '<assemblies><assembly name="C:\\b\\My.Tests.dll" run-date="2024-05-01" '
        f'run-time="10:00:00" time="1.0" {header}><errors>{errors}</errors>'
        f'<collection name="Test collection for Ns.C">{tests}</collection></assembly></assemblies>'
    )


def xml_test(
    name: str, result: str = "Pass", body: str = "", type_: str = "Ns.C", time: str = "0.5"
):
    return (
        f'<test name="{name}" type="{type_}" method="{name.rsplit(".", 1)[-1]}" time="{time}" '
        f'result="{result}">{body}</test>'
    )


def test_sniff_v2_and_v1_and_not_any_assembly_root():
    assert detect(v2("").encode()).format.name == "xunit-net-v2"
    v1 = b'<assembly name="a.dll" run-date="2012-01-14" total="0" test-framework="xUnit.net 1.9"/>'
    assert detect(v1).format.name == "xunit-net-v1"
    assert detect(b'<assembly name="x"><part/></assembly>').format is None


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ("Pass", Status.PASSED),
        ("Fail", Status.FAILED),
        ("Skip", Status.SKIPPED),
        ("NotRun", Status.SKIPPED),
    ],
)
def test_results_map_to_api_statuses(result, status):
    (record,) = parse(v2(xml_test("Ns.C.T1", result)))
    assert record.status is status
    assert record.metadata["result"] == result


def test_unknown_result_is_failed_and_warned():
    warnings: list[str] = []
    (record,) = parse(v2(xml_test("Ns.C.T1", "Exploded")), warnings)
    assert record.status is Status.FAILED
    assert any("unknown result 'Exploded'" in w for w in warnings)


def test_failure_output_traits_and_times():
    body = (
        '<traits><trait name="Category" value="db"/><trait name="Category" value="slow"/></traits>'
        '<failure exception-type="Xunit.Sdk.EqualException"><message><![CDATA[Assert.Equal() '
        "Failure\nExpected: 1]]></message><stack-trace><![CDATA[at Ns.C.T1()]]></stack-trace>"
        "</failure><output><![CDATA[hello\n]]></output>"
    )
    first, second = parse(v2(xml_test("Ns.C.T1", "Fail", body) + xml_test("Ns.C.T2")))
    assert first.error_message == "Assert.Equal() Failure\nExpected: 1"
    assert first.failure_text.startswith("Xunit.Sdk.EqualException: Assert.Equal() Failure")
    assert first.metadata["failure_type"] == "Xunit.Sdk.EqualException"
    assert first.metadata["traits"] == {"Category": ["db", "slow"]}
    assert first.outputs[0].text == "hello\n"
    assert first.metadata["assembly"] == "My.Tests.dll"
    assert first.metadata["collection"] == "Test collection for Ns.C"
    assert first.started_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert second.started_at - first.started_at == timedelta(milliseconds=500)


def test_start_rtf_wins_over_the_local_run_date():
    xml = v2(xml_test("Ns.C.T1")).replace(
        'run-date="', 'start-rtf="2024-05-01T08:00:00.1+02:00" x="'
    )
    (record,) = parse(xml)
    assert record.started_at == datetime(2024, 5, 1, 6, 0, 0, 100000, tzinfo=UTC)


def test_skip_reason_is_the_message():
    (record,) = parse(v2(xml_test("Ns.C.T1", "Skip", "<reason><![CDATA[not now]]></reason>")))
    assert record.error_message == "not now"


def test_custom_display_name_is_qualified_with_the_type():
    (record,) = parse(v2(xml_test("Should add(x: 1)", "Pass")))
    assert record.test_name == "Ns.C.Should add(x: 1)"


def test_collection_and_assembly_errors_are_synthetic_failures():
    errors = (
        '<error type="assembly-cleanup" name="C:\\b\\My.Tests.dll">'
        '<failure exception-type="System.IO.IOException"><message>disk</message>'
        "<stack-trace>at Cleanup()</stack-trace></failure></error>"
        '<error type="test-collection-cleanup" name="Test collection for Ns.C">'
        "<failure><message>dispose threw</message></failure></error>"
    )
    warnings: list[str] = []
    records = parse(v2(xml_test("Ns.C.T1"), errors, 'total="1" passed="1" errors="2"'), warnings)
    synthetic = [r for r in records if r.synthetic]
    assert [r.test_name for r in synthetic] == [
        "My.Tests.dll (assembly-cleanup)",
        "Test collection for Ns.C (test-collection-cleanup)",
    ]
    assert all(r.status is Status.FAILED for r in synthetic)
    assert synthetic[0].error_message == "disk"
    assert "at Cleanup()" in synthetic[0].failure_text
    assert warnings == []


def test_assembly_totals_that_disagree_are_warned():
    warnings: list[str] = []
    parse(v2(xml_test("Ns.C.T1"), header='total="3" passed="2" failed="1" skipped="0"'), warnings)
    assert any("total=3 (read 1)" in w and "failed=1 (read 0)" in w for w in warnings)


def test_invalid_run_date_is_not_guessed():
    warnings: list[str] = []
    (record,) = parse(v2(xml_test("Ns.C.T1")).replace("2024-05-01", "2018-38-06"), warnings)
    assert record.metadata["time_source"] == "file_mtime"
    assert any("'2018-38-06' is not an ISO date" in w for w in warnings)


V1 = (
    '<assembly name="c:\\b\\My.dll" run-date="2012-01-14" run-time="10:21:10" time="0.2" '
    'total="3" passed="1" failed="1" skipped="1" test-framework="xUnit.net 1.9.0.1566">'
    '<class name="Ns.C" time="0.2" total="3">'
    '<test name="Ns.C.A" type="Ns.C" method="A" result="Pass" time="0.1"/>'
    '<test name="B" type="test" method="B" result="Fail" time="0.1">'
    '<failure exception-type="X"><message>bad</message><stack-trace>at B</stack-trace></failure>'
    "</test>"
    '<test name="Ns.C.C" type="Ns.C" method="C" result="Skip"><reason><message>later</message>'
    "</reason></test></class></assembly>"
)


def test_v1_tests_are_named_by_their_class_and_skips_carry_the_reason():
    records = parse(V1)
    assert [r.test_name for r in records] == ["Ns.C.A", "Ns.C.B", "Ns.C.C"]
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED, Status.SKIPPED]
    assert records[2].error_message == "later"
    assert records[1].metadata["class"] == "Ns.C"
    assert records[0].metadata["format"] == "xunit-net-v1"


def test_v1_class_failure_is_a_synthetic_failure():
    xml = V1.replace(
        "</class>",
        '<failure exception-type="Y"><message>fixture ctor threw</message></failure></class>',
    )
    records = parse(xml)
    assert records[-1].synthetic
    assert records[-1].test_name == "Ns.C (class-failure)"
    assert records[-1].error_message == "fixture ctor threw"


def test_not_xunit_root_is_refused():
    with pytest.raises(InputError, match="not an xUnit.net report"):
        parse("<other/>")


def test_truncated_is_refused_with_line_and_salvaged_on_request():
    xml = v2(xml_test("Ns.C.T1") + xml_test("Ns.C.T2")).replace("><", ">\n<")
    cut = xml[: xml.rindex("<test ")]
    with pytest.raises(InputError) as caught:
        parse(cut)
    assert caught.value.line is not None
    records = parse(cut, salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[-1].synthetic


def test_assembly_counting_tests_over_no_test_is_never_a_silent_zero():
    xml = '<assemblies><assembly name="A.dll" total="2" passed="2"/></assemblies>'
    (record,) = parse(xml)
    assert record.synthetic and record.status is Status.SKIPPED
    assert record.error_message == "the report's totals count 2 tests (0 failed) but it lists none"

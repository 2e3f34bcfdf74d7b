"""The TRX mapping rules, one test each, on small inline reports."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, trx
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

MTIME = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
NS = 'xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"'


def parse(xml: str | bytes, warnings: list[str] | None = None, **options):
    data = xml.encode() if isinstance(xml, str) else xml
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(trx.parse(io.BytesIO(data), SourceRef("out/run_1.trx"), opts))


def result(
    test_id: str, name: str, outcome: str = "Passed", extra: str = "", body: str = ""
) -> str:
    return (
        f'<UnitTestResult executionId="e-{test_id}" testId="{test_id}" testName="{name}" '
        f'outcome="{outcome}" duration="00:00:01.5000000" '
        f'startTime="2024-05-01T10:00:00.0000000+02:00" {extra}>{body}</UnitTestResult>'
    )


def definition(test_id: str, classname: str, method: str) -> str:
    return (
        f'<UnitTest name="{method}" storage="c:\\build\\Tests.dll" id="{test_id}">'
        f'<TestMethod className="{classname}" name="{method}"/></UnitTest>'
    )


def report(results: str, definitions: str = "", summary: str = "", first: bool = False) -> str:
    defs = f"<TestDefinitions>{definitions}</TestDefinitions>" if definitions else ""
    body = f"<Results>{results}</Results>"
    parts = (defs + body) if first else (body + defs)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><TestRun name="r" {NS}>{parts}{summary}</TestRun>'
    )


def test_sniff_takes_testrun_root_in_the_teamtest_namespace():
    head = report(result("a", "T")).encode()
    assert detect(head).format.name == "trx"


def test_results_before_definitions_get_their_class_in_order():
    records = parse(
        report(
            result("a", "Second") + result("b", "First"),
            definition("b", "Ns.B", "First") + definition("a", "Ns.A", "Second"),
        )
    )
    assert [r.test_name for r in records] == ["Ns.A.Second", "Ns.B.First"]
    assert records[0].metadata["classname"] == "Ns.A"
    assert records[0].metadata["assembly"] == "Tests.dll"


def test_definitions_before_results_vs2010_order_stream_at_once():
    records = parse(
        report(result("a", "M"), definition("a", "Ns.C, Asm, Version=1.0", "M"), first=True)
    )
    assert records[0].test_name == "Ns.C.M"  # assembly-qualified class name cut at the comma


def test_test_name_that_already_has_the_class_is_kept():
    records = parse(report(result("a", "Ns.C.M(x: 1)"), definition("a", "Ns.C", "M")))
    assert records[0].test_name == "Ns.C.M(x: 1)"


def test_no_definitions_names_are_the_test_name_with_a_warning():
    warnings: list[str] = []
    records = parse(report(result("a", "Lonely")), warnings)
    assert records[0].test_name == "Lonely"
    assert any("no <TestDefinitions>" in w for w in warnings)


def test_spool_spills_to_disk_and_replays_in_order(monkeypatch):
    monkeypatch.setattr(trx, "SPOOL_MEMORY_BYTES", 0)
    spools: list[trx._Spool] = []
    original = trx._Spool.add

    def add(self, *args):
        spools.append(self)
        original(self, *args)

    monkeypatch.setattr(trx._Spool, "add", add)
    results = "".join(
        result(f"id{i}", f"T{i}", body="<Output><StdOut>x</StdOut></Output>") for i in range(50)
    )
    defs = "".join(definition(f"id{i}", "Ns.C", f"T{i}") for i in range(50))
    records = parse(report(results, defs))
    assert spools and spools[0].spilled
    assert [r.test_name for r in records] == [f"Ns.C.T{i}" for i in range(50)]
    assert records[7].outputs[0].text == "x"


def test_spool_records_when_it_spilled():
    spool = trx._Spool(budget=0)
    from junit2af.records import TestRecord

    spool.add("x", "ab", TestRecord("ab", Status.PASSED, SourceRef("r")))
    assert spool.spilled
    assert [item[0] for item in spool.drain()] == ["x"]
    assert spool.count == 0


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("Passed", Status.PASSED),
        ("PassedButRunAborted", Status.PASSED),
        ("Warning", Status.PASSED),
        ("Completed", Status.PASSED),
        ("Failed", Status.FAILED),
        ("Error", Status.FAILED),
        ("Timeout", Status.FAILED),
        ("Aborted", Status.FAILED),
        ("Disconnected", Status.FAILED),
        ("NotRunnable", Status.FAILED),
        ("InProgress", Status.FAILED),
        ("NotExecuted", Status.SKIPPED),
        ("Inconclusive", Status.SKIPPED),
        ("Pending", Status.SKIPPED),
    ],
)
def test_outcomes_map_to_api_statuses(outcome, status):
    (record,) = parse(report(result("a", "T", outcome), definition("a", "C", "T")))
    assert record.status is status
    assert record.metadata["outcome"] == outcome


def test_unknown_outcome_is_failed_and_warned():
    warnings: list[str] = []
    (record,) = parse(report(result("a", "T", "Exploded")), warnings)
    assert record.status is Status.FAILED
    assert any("unknown outcome 'Exploded'" in w for w in warnings)


def test_error_info_output_and_times():
    body = (
        "<Output><StdOut>out&#xD;\nline</StdOut><StdErr>err</StdErr><DebugTrace>dbg</DebugTrace>"
        "<ErrorInfo><Message>Assert.AreEqual failed.&#xD;\nExpected:&lt;1&gt;.</Message>"
        "<StackTrace>   at C.T() in C:\\src\\C.cs:line 9</StackTrace></ErrorInfo></Output>"
    )
    (record,) = parse(report(result("a", "T", "Failed", body=body), definition("a", "C", "T")))
    assert record.error_message == "Assert.AreEqual failed.\nExpected:<1>."
    assert "C:\\src\\C.cs:line 9" in record.failure_text
    assert [o.label for o in record.outputs] == ["stdout.log", "stderr.log", "debug.log"]
    assert record.outputs[0].text == "out\nline"
    assert record.started_at.isoformat() == "2024-05-01T10:00:00+02:00"
    assert record.execution_time_ms == 1500
    assert record.finished_at.isoformat() == "2024-05-01T10:00:01.500000+02:00"


def test_duration_with_days():
    xml = report(
        '<UnitTestResult testId="a" testName="T" outcome="Passed" duration="1.02:03:04.5000000"/>',
        definition("a", "C", "T"),
    )
    (record,) = parse(xml)
    assert record.execution_time_ms == ((24 + 2) * 3600 + 3 * 60 + 4) * 1000 + 500
    assert record.metadata["time_source"] == "file_mtime"


def test_result_files_point_into_the_deployment_folder():
    body = (
        '<ResultFiles><ResultFile path="AGENT\\screenshot.png"/>'
        '<ResultFile path="C:\\abs\\log.txt"/></ResultFiles>'
    )
    xml = report(
        result("a", "T", extra='relativeResultsDirectory="e-a"', body=body),
        definition("a", "C", "T"),
    ).replace(
        "<Results>",
        '<TestSettings><Deployment runDeploymentRoot="user_AGENT 2024-05-01 10_00_00"/>'
        "</TestSettings><Results>",
    )
    (record,) = parse(xml)
    assert [a.path for a in record.attachments] == [
        "user_AGENT 2024-05-01 10_00_00/In/e-a/AGENT/screenshot.png",
        "C:\\abs\\log.txt",
    ]


def test_result_files_without_deployment_root_use_the_report_name():
    body = '<ResultFiles><ResultFile path="f.txt"/></ResultFiles>'
    (record,) = parse(report(result("a", "T", body=body), definition("a", "C", "T")))
    assert record.attachments[0].path == "run_1/In/e-a/f.txt"


def test_data_driven_rows_fold_into_one_record():
    rows = "".join(
        f'<UnitTestResult testId="a" testName="T (Data Row {i})" outcome="{o}" '
        f'dataRowInfo="{i}"><Output><ErrorInfo><Message>row {i} broke</Message></ErrorInfo>'
        f"<StdOut>row {i} out</StdOut></Output></UnitTestResult>"
        for i, o in enumerate(["Passed", "Failed", "Passed"])
    )
    xml = report(
        result("a", "T", "Failed", body=f"<InnerResults>{rows}</InnerResults>"),
        definition("a", "C", "T"),
        summary='<ResultSummary outcome="Failed"><Counters total="1" executed="1" '
        'passed="0" failed="1"/></ResultSummary>',
    )
    warnings: list[str] = []
    (record,) = parse(xml, warnings)
    assert record.status is Status.FAILED
    assert record.metadata["data_rows"] == 3
    assert record.metadata["data_row_outcomes"] == {"failed": 1, "passed": 2}
    assert record.error_message == "1 of 3 data rows failed; first: T (Data Row 1): row 1 broke"
    assert "T (Data Row 1) (Failed)\nrow 1 broke" in record.failure_text
    assert "row 2 out" in record.outputs[-1].text
    assert warnings == []  # the counters count the parent once, as junit2af does


def test_counters_that_disagree_are_warned():
    warnings: list[str] = []
    parse(
        report(
            result("a", "T", "Failed"),
            definition("a", "C", "T"),
            summary='<ResultSummary outcome="Failed"><Counters total="3" executed="3" '
            'passed="2" failed="1" notExecuted="0"/></ResultSummary>',
        ),
        warnings,
    )
    assert any("total=3 (read 1)" in w and "passed=2 (read 0)" in w for w in warnings)


def test_xunit_adapter_counters_with_not_executed_zero_agree():
    warnings: list[str] = []
    parse(
        report(
            result("a", "T") + result("b", "U", "NotExecuted"),
            definition("a", "C", "T") + definition("b", "C", "U"),
            summary='<ResultSummary outcome="Completed"><Counters total="2" executed="1" '
            'passed="1" failed="0" notExecuted="0"/></ResultSummary>',
        ),
        warnings,
    )
    assert warnings == []


def test_aborted_run_is_a_synthetic_failure_with_the_run_infos():
    xml = report(
        result("a", "T"),
        definition("a", "C", "T"),
        summary='<ResultSummary outcome="Aborted"><RunInfos>'
        '<RunInfo outcome="Error"><Text>Test host process crashed</Text></RunInfo>'
        '<RunInfo outcome="Warning"><Text>just a warning</Text></RunInfo>'
        "</RunInfos><Output><StdOut>host log</StdOut></Output></ResultSummary>",
    )
    records = parse(xml)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    run = records[1]
    assert run.synthetic
    assert run.test_name == "test run: aborted"
    assert run.error_message == "Test host process crashed"
    assert run.outputs[0].label == "run-stdout.log"


def test_failed_run_with_failed_tests_needs_no_synthetic_record():
    xml = report(
        result("a", "T", "Failed"),
        definition("a", "C", "T"),
        summary='<ResultSummary outcome="Failed"><RunInfos><RunInfo outcome="Error">'
        "<Text>[xUnit.net] T [FAIL]</Text></RunInfo></RunInfos></ResultSummary>",
    )
    assert [r.status for r in parse(xml)] == [Status.FAILED]


def test_empty_run_warns_and_yields_nothing():
    warnings: list[str] = []
    assert parse(f"<TestRun {NS}><Results/></TestRun>", warnings) == []
    assert any("no test results" in w for w in warnings)


def test_utf16_report_with_bom():
    xml = report(result("a", "Tést"), definition("a", "C", "Tést")).replace("utf-8", "utf-16")
    data = xml.encode("utf-16")
    assert detect(data[:8192]).format.name == "trx"
    (record,) = parse(data)
    assert record.test_name == "C.Tést"


def test_truncated_report_is_refused_with_one_line_naming_the_line():
    xml = report(result("a", "T") + result("b", "U"), definition("a", "C", "T"))
    cut = xml[: xml.index("<UnitTestResult", 10) + 200].replace("><", ">\n<")
    with pytest.raises(InputError) as caught:
        parse(cut)
    message = str(caught.value)
    assert message.startswith("out/run_1.trx:")
    assert caught.value.line is not None and caught.value.line > 1
    assert "\n" not in message


def test_truncated_report_salvaged_keeps_finished_results():
    xml = report(result("a", "Tx") + result("b", "Uy"), definition("a", "C", "Tx"))
    cut = xml[: xml.index('testId="b"')]
    records = parse(cut, salvage=True)
    assert [r.test_name for r in records] == ["Tx", "r (report truncated)"]
    assert records[-1].status is Status.FAILED


def test_not_a_trx_root_is_refused():
    with pytest.raises(InputError, match="not a TRX report"):
        parse("<Other/>")


def test_external_dtd_is_refused_and_never_fetched():
    xml = (
        '<?xml version="1.0"?><!DOCTYPE TestRun SYSTEM "http://127.0.0.1:9/x.dtd">'
        + report(result("a", "T"))[len('<?xml version="1.0" encoding="utf-8"?>') :]
    )
    with pytest.raises(InputError, match="external DTD"):
        parse(xml)


def test_huge_output_is_capped_with_a_marker():
    warnings: list[str] = []
    body = f"<Output><StdOut>{'x' * 5000}</StdOut></Output>"
    (record,) = parse(
        report(result("a", "T", body=body), definition("a", "C", "T")),
        warnings,
        max_text_bytes=1000,
    )
    assert record.outputs[0].text.endswith("[truncated 4000 bytes]\n")
    assert any("larger than 1000 bytes" in w for w in warnings)


def test_counters_over_no_results_are_never_a_silent_zero():
    xml = report(
        "",
        summary='<ResultSummary outcome="Failed"><Counters total="3" failed="1"/></ResultSummary>',
    )
    (record,) = parse(xml)
    assert record.synthetic and record.status is Status.FAILED
    assert record.metadata["claimed_tests"] == 3


def test_spooled_records_come_back_equal():
    from junit2af.records import AttachmentRef, TestRecord, TextArtifact

    record = TestRecord(
        "Ns.C.T",
        Status.FAILED,
        SourceRef("r.trx", "m", 7),
        started_at=MTIME,
        finished_at=MTIME,
        execution_time_ms=5,
        error_message="boom",
        metadata={"outcome": "Failed", "categories": ["a"]},
        failure_text="boom\nstack",
        outputs=(TextArtifact("stdout.log", "out", truncated_bytes=3),),
        attachments=(AttachmentRef("x/y.png", "<ResultFile>"),),
    )
    assert trx._unpack(trx._pack("id", "T", record)) == ("id", "T", record)

"""CppUnit XML rules, one test each, on small inline reports."""

from __future__ import annotations

import pytest

from junit2af.errors import InputError
from junit2af.parsers import cppunit, detect
from tests.parsers._native import MTIME, deep, run, statuses

FAILED = (
    '<FailedTest id="2"><Name>T::testBad</Name><FailureType>Assertion</FailureType>'
    "<Location><File>t.cpp</File><Line>12</Line></Location>"
    "<Message>equality assertion failed\n- Expected: 1\n- Actual  : 2\n</Message></FailedTest>"
    '<FailedTest id="3"><Name>T::testThrows</Name><FailureType>Error</FailureType>'
    "<Message>uncaught exception of type std::exception (or derived).\n- boom\n</Message>"
    "</FailedTest>"
)
PASSED = '<Test id="1"><Name>T::testOk</Name></Test>'


def report(
    failed: str = FAILED, passed: str = PASSED, stats: tuple[int, ...] = (3, 2, 1, 1)
) -> str:
    tests, total, errors, failures = stats
    return (
        "<?xml version=\"1.0\" encoding='UTF-8' standalone='yes' ?>\n<TestRun>"
        f"<FailedTests>{failed}</FailedTests><SuccessfulTests>{passed}</SuccessfulTests>"
        f"<Statistics><Tests>{tests}</Tests><FailuresTotal>{total}</FailuresTotal>"
        f"<Errors>{errors}</Errors><Failures>{failures}</Failures></Statistics></TestRun>"
    )


def test_detected_without_namespace_trx_is_not():
    assert detect(report().encode()).format.name == "cppunit-xml"
    trx = b'<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"/>'
    assert detect(trx).format.name == "trx"  # TRX is read by its own parser


def test_statuses_messages_and_locations():
    warnings: list[str] = []
    records = run(cppunit.parse, report(), warnings)
    assert statuses(records) == [
        ("T::testBad", "Failed"),
        ("T::testThrows", "Failed"),
        ("T::testOk", "Passed"),
    ]
    assert records[0].error_message == "equality assertion failed; - Expected: 1; - Actual  : 2"
    assert records[0].metadata == {
        "format": "cppunit-xml",
        "report": "r.xml",
        "test_id": 2,
        "failure_type": "Assertion",
        "file": "t.cpp",
        "line": 12,
        "report_line": 2,
        "time_source": "file_mtime",
    }
    assert records[0].failure_text.startswith("t.cpp:12: Assertion\nequality assertion failed")
    assert records[1].metadata["failure_type"] == "Error"
    assert records[2].started_at == MTIME and records[2].execution_time_ms is None
    assert warnings == []


def test_statistics_that_disagree_warn():
    warnings: list[str] = []
    run(cppunit.parse, report(stats=(5, 2, 1, 1)), warnings)
    assert warnings == ["r.xml: CppUnit's <Statistics> disagree with its tests: Tests=5 but 3 read"]


def test_empty_run_warns():
    warnings: list[str] = []
    assert run(cppunit.parse, report("", "", (0, 0, 0, 0)), warnings) == []
    assert warnings == ["r.xml: the report holds no tests"]


def test_truncated_report_is_refused_with_its_line():
    text = report().split("<SuccessfulTests>")[0]
    with pytest.raises(InputError) as refused:
        run(cppunit.parse, text)
    assert refused.value.line == 7 and "truncated" in str(refused.value)


def test_deep_nesting_and_huge_names():
    with pytest.raises(InputError, match="nested deeper"):
        run(cppunit.parse, report(deep("<FailedTest>", "</FailedTest>")))
    (record,) = run(
        cppunit.parse,
        report("", f"<Test id='1'><Name>{'n' * 2_000_000}</Name></Test>", (1, 0, 0, 0)),
    )
    assert len(record.test_name) == 255


def test_trx_is_refused_when_forced():
    with pytest.raises(InputError, match="TRX"):
        run(
            cppunit.parse,
            '<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"/>',
        )

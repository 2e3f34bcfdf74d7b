"""Catch2 XML rules (v2 and v3), one test each, on small inline reports."""

from __future__ import annotations

import pytest

from junit2af.errors import InputError
from junit2af.parsers import catch2, detect
from junit2af.records import Status
from tests.parsers._native import deep, run, statuses


def case(name: str, body: str, result: str = 'success="true"', tags: str = "[t]") -> str:
    return (
        f'<TestCase name="{name}" tags="{tags}" filename="t.cpp" line="1">{body}'
        f"<OverallResult {result}/></TestCase>"
    )


def v2(*cases: str, name: str = "bin") -> str:
    return f'<Catch name="{name}"><Group name="{name}">{"".join(cases)}</Group></Catch>'


def v3(*cases: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Catch2TestRun name="bin" rng-seed="7" '
        f'xml-format-version="3" catch2-version="3.4.0">{"".join(cases)}</Catch2TestRun>'
    )


FAILED_CHECK = (
    '<Expression success="false" type="CHECK" filename="t.cpp" line="5">'
    "<Original>a == b</Original><Expanded>1 == 2</Expanded></Expression>"
)


def section(name: str, body: str, failures: int = 0) -> str:
    return (
        f'<Section name="{name}" filename="t.cpp" line="2">{body}'
        f'<OverallResults successes="1" failures="{failures}" expectedFailures="0" '
        'durationInSeconds="0.002"/></Section>'
    )


def test_detects_both_roots():
    assert detect(v2().encode()).format.name == "catch2-xml"
    assert detect(v3().encode()).format.name == "catch2-xml"


def test_names_carry_catch2_junit_class_name():
    records = run(catch2.parse, v2(case("plain", "")))
    assert statuses(records) == [("bin.global.plain", "Passed")]
    assert records[0].metadata["tags"] == ["t"]
    assert records[0].metadata["time_source"] == "file_mtime"


def test_failed_expression_gives_message_and_console_like_text():
    info = "<Info>got is 1</Info>"
    (record,) = run(catch2.parse, v2(case("f", info + FAILED_CHECK, 'success="false"')))
    assert record.status is Status.FAILED
    assert record.error_message == "CHECK( a == b ) with expansion: 1 == 2"
    assert record.failure_text == (
        "t.cpp:5: FAILED:\n  CHECK( a == b )\nwith expansion:\n  1 == 2\nwith message:\n  got is 1"
    )


def test_repeated_sections_merge_by_path_and_leaves_are_records():
    body = (
        section("outer", section("a", ""))
        + section("outer", section("b", FAILED_CHECK, failures=1), failures=1)
        + section("outer", "")
    )
    records = run(catch2.parse, v2(case("s", body, 'success="false"')))
    assert statuses(records) == [
        ("bin.global.s/outer/a", "Passed"),
        ("bin.global.s/outer/b", "Failed"),
    ]
    assert records[1].metadata["section_path"] == ["outer", "b"]
    assert records[0].execution_time_ms == 2


def test_failure_in_body_outside_sections_is_its_own_record():
    body = section("a", "") + FAILED_CHECK
    records = run(catch2.parse, v2(case("s", body, 'success="false"')))
    assert statuses(records) == [("bin.global.s", "Failed"), ("bin.global.s/a", "Passed")]


def test_shouldfail_failure_is_known_fail_and_passing_shouldfail_fails():
    records = run(
        catch2.parse,
        v2(
            case("expected", FAILED_CHECK, tags="[!shouldfail]"),
            case("passes", "", 'success="false"', tags="[!shouldfail]"),
        ),
    )
    assert statuses(records) == [
        ("bin.global.expected", "KnownFail"),
        ("bin.global.passes", "Failed"),
    ]
    assert "[!shouldfail] passed" in records[1].error_message


def test_exception_and_fatal_signal_inside_expression():
    crash = (
        '<Expression success="false" filename="t.cpp" line="9"><Original>{Unknown}</Original>'
        '<Expanded>{Unknown}</Expanded><FatalErrorCondition filename="t.cpp" line="9">'
        "SIGSEGV - Segmentation violation signal</FatalErrorCondition></Expression>"
    )
    throws = '<Exception filename="t.cpp" line="3">boom</Exception>'
    records = run(
        catch2.parse,
        v2(case("crash", crash, 'success="false"'), case("throws", throws, 'success="false"')),
    )
    assert records[0].error_message == (
        "fatal error condition: SIGSEGV - Segmentation violation signal"
    )
    assert records[1].error_message == "unexpected exception with message: boom"


def test_output_goes_to_the_first_failed_record_of_the_test_case():
    body = section("a", "") + section("b", FAILED_CHECK, failures=1)
    text = (
        '<TestCase name="s" tags="" filename="t.cpp" line="1">'
        + body
        + '<OverallResult success="false">'
        "<StdOut>\nhello\n        </StdOut><StdErr>\nwarn\n</StdErr></OverallResult></TestCase>"
    )
    records = run(catch2.parse, v2(text))
    assert records[0].outputs == ()
    assert [(a.label, a.text) for a in records[1].outputs] == [
        ("stdout.log", "hello\n"),
        ("stderr.log", "warn\n"),
    ]


def test_v3_skip_and_skips_attribute():
    skip = '<Skip filename="t.cpp" line="4">not on this platform</Skip>'
    records = run(
        catch2.parse, v3(case("skipped", skip, 'success="true" skips="1"'), case("ok", ""))
    )
    assert statuses(records) == [("bin.global.skipped", "Skipped"), ("bin.global.ok", "Passed")]
    assert records[0].error_message == "not on this platform"
    assert records[0].metadata["catch2_version"] == "3.4.0"
    assert records[0].metadata["rng_seed"] == "7"


def test_totals_that_disagree_warn():
    text = v2(case("a", "")).replace(
        "</Catch>", '<OverallResultsCases successes="2" failures="0" expectedFailures="0"/></Catch>'
    )
    warnings: list[str] = []
    run(catch2.parse, text, warnings)
    assert any("2 passed" in w and "1 passed" in w for w in warnings)


def test_empty_run_warns():
    warnings: list[str] = []
    assert run(catch2.parse, v2(), warnings) == []
    assert warnings == ["r.xml: the report holds no test cases"]


# ---------------------------------------------------------------- hostile input


def test_truncated_report_is_refused_with_its_line():
    text = v2(case("a", ""), case("b", "")).split("<OverallResult", 2)[0]
    with pytest.raises(InputError) as refused:
        run(catch2.parse, text)
    assert refused.value.line == 1
    assert "truncated" in str(refused.value)


def test_truncated_report_salvages_complete_test_cases():
    text = v2(case("a", ""), case("b", "")).rsplit("<OverallResult", 1)[0]
    records = run(catch2.parse, text, salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[-1].synthetic


def test_deeply_nested_sections_are_refused():
    text = v2(case("d", deep('<Section name="s">', "</Section>")))
    with pytest.raises(InputError, match="nested deeper"):
        run(catch2.parse, text)


def test_huge_attribute_is_capped():
    name = "n" * 2_000_000
    (record,) = run(catch2.parse, v2(case(name, "")))
    assert len(record.test_name) == 255
    assert len(record.metadata["test_case"]) <= 1001


def test_wrong_root_when_forced():
    with pytest.raises(InputError, match="not a Catch2 XML report"):
        run(catch2.parse, "<testsuites/>")


def test_v3_totals_with_skips_agree_and_skipped_sections():
    skipped_section = (
        '<Section name="later" filename="t.cpp" line="2"><Skip filename="t.cpp" line="3">'
        'not yet</Skip><OverallResults successes="0" failures="0" expectedFailures="0" '
        'skipped="true" durationInSeconds="1e-06"/></Section>'
    )
    text = v3(
        case("s", section("now", "") + skipped_section, 'success="true" skips="1"'),
        case("ok", ""),
    ).replace(
        "</Catch2TestRun>",
        '<OverallResults successes="2" failures="0" expectedFailures="0" skips="1"/>'
        '<OverallResultsCases successes="1" failures="0" expectedFailures="0" skips="1"/>'
        "</Catch2TestRun>",
    )
    warnings: list[str] = []
    records = run(catch2.parse, text, warnings)
    assert statuses(records) == [
        ("bin.global.s/now", "Passed"),
        ("bin.global.s/later", "Skipped"),
        ("bin.global.ok", "Passed"),
    ]
    assert records[1].error_message == "not yet"
    assert warnings == []  # one test case passed, one skipped (a section of it passed)


def test_test_case_without_overall_result_is_judged_by_its_assertions():
    text = v2(
        '<TestCase name="a" filename="t.cpp" line="1">' + FAILED_CHECK + "</TestCase>",
        '<TestCase name="b" filename="t.cpp" line="1"></TestCase>',
    )
    warnings: list[str] = []
    records = run(catch2.parse, text, warnings)
    assert statuses(records) == [("bin.global.a", "Failed"), ("bin.global.b", "Passed")]
    assert len(warnings) == 1 and "without <OverallResult>" in warnings[0]

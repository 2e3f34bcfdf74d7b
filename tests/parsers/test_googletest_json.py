"""googletest JSON rules, one test each, on small inline reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, googletest_json
from junit2af.records import Status
from tests.parsers._native import MTIME, run, statuses


def report(*tests: dict, suite: str = "S", **top: object) -> str:
    document = {
        "tests": len(tests),
        "failures": sum(1 for t in tests if t.get("failures")),
        "disabled": sum(1 for t in tests if t.get("result") == "SUPPRESSED"),
        "errors": 0,
        "timestamp": "2025-05-01T10:00:00Z",
        "time": "0.5s",
        **top,
        "name": "AllTests",
        "testsuites": [{"name": suite, "tests": len(tests), "testsuite": list(tests)}],
    }
    return json.dumps(document, indent=2)


def gtest(name: str = "T", **fields: object) -> dict:
    base = {
        "name": name,
        "file": "t.cc",
        "line": 3,
        "status": "RUN",
        "result": "COMPLETED",
        "timestamp": "2025-05-01T10:00:01Z",
        "time": "0.25s",
        "classname": "S",
    }
    base.update(fields)
    return base


def parse(text: str, warnings: list[str] | None = None, **options: object):
    return run(googletest_json.parse, text, warnings, **options)


def test_detected_by_its_first_keys():
    assert detect(report(gtest()).encode()).format.name == "googletest-json"
    assert detect(b'{"tests": 3, "other": []}').format is None


def test_statuses():
    records = parse(
        report(
            gtest("Pass"),
            gtest("Fail", failures=[{"failure": "t.cc:4\nboom", "type": ""}]),
            gtest("Skip", result="SKIPPED"),
            gtest("DISABLED_X", status="NOTRUN", result="SUPPRESSED"),
        )
    )
    assert statuses(records) == [
        ("S.Pass", "Passed"),
        ("S.Fail", "Failed"),
        ("S.Skip", "Skipped"),
        ("S.DISABLED_X", "Skipped"),
    ]
    assert records[1].error_message == "t.cc:4\nboom"
    assert records[0].metadata["file"] == "t.cc" and records[0].metadata["line"] == 3


def test_several_failures_keep_every_text():
    failures = [{"failure": "t.cc:4\nfirst", "type": ""}, {"failure": "t.cc:5\nsecond"}]
    (record,) = parse(report(gtest(failures=failures)))
    assert record.error_message == "t.cc:4\nfirst"
    assert record.failure_text == "t.cc:4\nfirst\n\nt.cc:5\nsecond"


def test_skip_after_a_failure_is_a_failure():
    (record,) = parse(report(gtest(result="SKIPPED", failures=[{"failure": "x"}])))
    assert record.status is Status.FAILED


def test_times_and_the_false_z():
    (record,) = parse(report(gtest()), timezone=timezone(timedelta(hours=2)))
    assert record.execution_time_ms == 250
    # googletest writes local time followed by "Z": --timezone applies, as for its XML.
    assert record.started_at == datetime(2025, 5, 1, 8, 0, 1, tzinfo=UTC)
    assert record.metadata["time_source"] == "testcase"


def test_epoch_timestamp_means_not_run_and_takes_the_suite_time():
    suite_test = gtest("D", status="NOTRUN", result="SUPPRESSED", timestamp="1970-01-01T00:00:00Z")
    text = report(suite_test).replace(
        '"tests": 1,\n      "testsuite"',
        '"tests": 1,\n      "timestamp": "2025-05-01T10:00:02Z",\n      "testsuite"',
    )
    (record,) = parse(text)
    assert record.started_at == datetime(2025, 5, 1, 10, 0, 2, tzinfo=UTC)
    assert record.metadata["time_source"] == "suite"


def test_no_timestamps_anywhere_uses_the_file_time():
    text = report(gtest(timestamp="1970-01-01T00:00:00Z")).replace(
        '"timestamp": "2025-05-01T10:00:00Z"', '"timestamp": ""'
    )
    (record,) = parse(text)
    assert record.started_at == MTIME
    assert record.metadata["time_source"] == "file_mtime"


def test_time_strings_with_exponent():
    (record,) = parse(report(gtest(time="1e+03s")))
    assert record.execution_time_ms == 1_000_000


def test_byte_wise_escaped_utf8_is_repaired():
    raw = report(gtest(name="X")).replace('"X"', '"\\u00C3\\u009F"')
    warnings: list[str] = []
    (record,) = parse(raw, warnings)
    assert record.test_name == "S.ß"
    assert any("byte by byte" in w for w in warnings)


def test_real_latin1_is_left_alone():
    raw = report(gtest(name="X")).replace('"X"', '"caf\\u00e9"')
    (record,) = parse(raw)
    assert record.test_name == "S.café"


def test_parameters_and_properties():
    (record,) = parse(
        report(gtest("NotTwo/1", value_param='"two"', type_param="int", owner="team-a", n="3"))
    )
    assert record.metadata["value_param"] == '"two"'
    assert record.metadata["type_param"] == "int"
    assert record.metadata["properties"] == {"owner": "team-a", "n": "3"}


def test_missing_comma_before_non_test_suite_failure_is_repaired():
    text = report(gtest()).rstrip()
    assert text.endswith("}\n  ]\n}")
    extra = (
        '    {\n      "name": "NonTestSuiteFailure",\n      "tests": 1,\n      "testsuite": [\n'
        '        {\n          "name": "",\n          "status": "RUN",\n          "result": '
        '"COMPLETED",\n          "timestamp": "1970-01-01T00:00:00Z",\n          "time": "0s",\n'
        '          "classname": "",\n          "failures": [{"failure": "env.cc:8\\nFailed",'
        ' "type": ""}]\n        }\n      ]\n    }'
    )
    broken = text[: -len("\n  ]\n}")] + extra + "\n  ]\n}\n"
    warnings: list[str] = []
    records = parse(broken, warnings)
    assert statuses(records) == [("S.T", "Passed"), ("NonTestSuiteFailure", "Failed")]
    assert records[1].synthetic and records[1].metadata["reason"].startswith("failure outside")
    assert any("comma" in w for w in warnings)


def with_suite_start(text: str, count: int) -> str:
    return text.replace(
        f'"tests": {count},\n      "testsuite"',
        f'"tests": {count},\n      "timestamp": "2025-05-01T10:00:02Z",\n      "testsuite"',
    )


def test_failed_set_up_test_suite_is_a_synthetic_failure():
    # googletest 1.12: the suite started, its tests are RUN/SKIPPED at the epoch, and
    # the failure of SetUpTestSuite is written nowhere (the console: 1 FAILED TEST SUITE).
    unstarted = {"result": "SKIPPED", "timestamp": "1970-01-01T00:00:00Z"}
    records = parse(with_suite_start(report(gtest("A", **unstarted), gtest("B", **unstarted)), 2))
    assert statuses(records) == [
        ("S.A", "Skipped"),
        ("S.B", "Skipped"),
        ("S.SetUpTestSuite", "Failed"),
    ]
    assert records[2].synthetic and records[2].metadata["reason"] == "SetUpTestSuite failed"
    assert "SetUpTestSuite failed" in (records[2].error_message or "")


def test_gtest_skip_in_the_body_or_an_environment_failure_is_no_suite_failure():
    own_skip = gtest("A", result="SKIPPED")  # a real start: GTEST_SKIP in the test
    unstarted = gtest("B", result="SKIPPED", timestamp="1970-01-01T00:00:00Z")
    assert statuses(parse(with_suite_start(report(own_skip, unstarted), 2))) == [
        ("S.A", "Skipped"),
        ("S.B", "Skipped"),
    ]
    # A failed global environment skips every suite the same way, and the suites
    # never start: NonTestSuiteFailure alone stands for it.
    never = report(gtest("C", result="SKIPPED", timestamp="1970-01-01T00:00:00Z"))
    assert statuses(parse(never)) == [("S.C", "Skipped")]


def test_disabled_tests_run_on_request_still_count_as_disabled():
    # --gtest_also_run_disabled_tests: googletest's "disabled" counts them by name.
    warnings: list[str] = []
    text = report(gtest("DISABLED_T"), gtest("U"), disabled=1)
    assert statuses(parse(text, warnings)) == [("S.DISABLED_T", "Passed"), ("S.U", "Passed")]
    assert warnings == []
    text = report(gtest("T", classname="Nums/DISABLED_P"), disabled=1)
    parse(text, warnings)
    assert warnings == []


def test_counts_that_disagree_warn():
    text = report(gtest()).replace('"tests": 1,', '"tests": 5,', 1)
    warnings: list[str] = []
    parse(text, warnings)
    assert any("tests=5 but 1 read" in w for w in warnings)


def test_test_list_is_refused():
    listing = {
        "tests": 1,
        "name": "AllTests",
        "testsuites": [
            {"name": "S", "tests": 1, "testsuite": [{"name": "T", "file": "t.cc", "line": 1}]}
        ],
    }
    with pytest.raises(InputError, match="--gtest_list_tests"):
        parse(json.dumps(listing))


# ---------------------------------------------------------------- hostile input


def test_truncated_json_is_refused_with_its_line():
    text = report(gtest(), gtest("U"))
    with pytest.raises(InputError) as refused:
        parse(text[: len(text) // 2])
    assert "truncated" in str(refused.value)
    assert refused.value.line is not None and refused.value.line > 1


def test_nesting_bomb_is_refused():
    text = '{"tests": 1, "testsuites": ' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(InputError, match="nested deeper"):
        parse(text)


def test_duplicate_keys_are_refused():
    with pytest.raises(InputError, match="duplicate key"):
        parse('{"tests": 0, "testsuites": [], "testsuites": []}')


def test_huge_strings_are_capped():
    (record,) = parse(report(gtest("n" * 1_000_000, owner="v" * 1_000_000)))
    assert len(record.test_name) == 255
    assert len(record.metadata["properties"]["owner"]) <= 1025


def test_wrong_shapes_are_refused_not_crashed():
    with pytest.raises(InputError, match='no "testsuites"'):
        parse('{"tests": 1, "testsuites": {}}')
    with pytest.raises(InputError, match="not an object"):
        parse('{"tests": 1, "testsuites": [{"name": "S", "testsuite": [1]}]}')

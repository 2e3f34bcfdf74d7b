"""TAP mapping rules, one test each, on small inline streams."""

from __future__ import annotations

import io

import pytest

from junit2af.errors import InputError
from junit2af.parsers import tap
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status


def parse(text: str | bytes, warnings: list[str] | None = None):
    data = text.encode() if isinstance(text, str) else text
    sink = warnings if warnings is not None else []
    return list(tap.parse(io.BytesIO(data), SourceRef("r.tap"), ParseOptions(warn=sink.append)))


def real(records):
    return [r for r in records if not r.synthetic]


@pytest.mark.parametrize("version_line", ["TAP version 13", "TAP Version 14", "tap version 12"])
def test_version_line_in_any_case(version_line):
    records = parse(f"{version_line}\n1..1\nok 1 - alpha\n")
    assert [r.test_name for r in records] == ["alpha"]
    assert records[0].metadata["tap_version"] == int(version_line.split()[-1])


def test_plan_first_or_last_and_points_with_or_without_numbers():
    first = parse("1..2\nok 1 - a\nnot ok - b\n")
    last = parse("ok\nok 2 beta\n1..2\n")
    assert [r.status for r in first] == [Status.PASSED, Status.FAILED]
    assert [r.test_name for r in last] == ["test", "beta"]
    assert "tap_number" not in last[0].metadata and last[1].metadata["tap_number"] == 2


def test_skip_wins_over_not_ok_and_todo_is_known_fail_either_way():
    records = parse(
        "1..3\nnot ok 1 - a # skip no db\nok 2 - b # TODO later\nnot ok 3 - c # todo broken\n"
    )
    assert [r.status for r in records] == [Status.SKIPPED, Status.KNOWN_FAIL, Status.KNOWN_FAIL]
    assert records[0].error_message == "no db"
    assert records[1].metadata["todo_passed"] is True
    assert records[2].metadata["todo_passed"] is False
    assert records[2].metadata["directive"] == "todo"


def test_escaped_hash_is_part_of_the_description():
    assert parse("1..1\nok 1 - issue \\#12 fixed\n")[0].test_name == "issue #12 fixed"


def test_yaml_diagnostics_give_message_duration_and_failure_text():
    record = parse(
        "TAP version 13\n1..1\nnot ok 1 - adds\n  ---\n  message: 1 + 1 should be 2\n"
        "  severity: fail\n  duration_ms: 12.6\n  at:\n    file: t.js\n    line: 3\n"
        "  stack: |\n    at t.js:3\n  ...\n"
    )[0]
    assert record.error_message == "1 + 1 should be 2"
    assert record.execution_time_ms == 13
    assert record.metadata["yaml"]["at"] == {"file": "t.js", "line": 3}
    assert "stack: |" in record.failure_text


def test_invalid_yaml_is_kept_as_text():
    record = parse("1..1\nnot ok 1 - x\n  ---\n  a: [unclosed\n  ...\n")[0]
    assert "yaml" not in record.metadata
    assert "a: [unclosed" in record.failure_text


def test_yaml_is_read_with_the_safe_loader_only():
    record = parse(
        "1..1\nnot ok 1 - x\n  ---\n  evil: !!python/object/apply:os.system ['true']\n  ...\n"
    )[0]
    assert "yaml" not in record.metadata  # refused by the safe loader, kept as text
    assert "python/object" in record.failure_text


def test_tap14_subtests_are_named_parent_child():
    records = parse(
        "TAP version 14\n# Subtest: outer\n    # Subtest: inner\n        ok 1 - leaf\n"
        "        1..1\n    ok 1 - inner\n    not ok 2 - sibling\n    1..2\nnot ok 1 - outer\n1..1\n"
    )
    names = [(r.test_name, r.metadata["tap_depth"], r.status) for r in records]
    assert names == [
        ("outer > inner > leaf", 2, Status.PASSED),
        ("outer > inner", 1, Status.PASSED),
        ("outer > sibling", 1, Status.FAILED),
        ("outer", 0, Status.FAILED),
    ]
    assert records[-1].metadata["subtests"] == 2


def test_node_tap_buffered_subtests():
    records = parse(
        "TAP version 13\nok 1 - group # time=3.5ms {\n    ok 1 - a\n    ok 2 - b\n    1..2\n}\n"
        "1..1\n"
    )
    assert [r.test_name for r in records] == ["group > a", "group > b", "group"]
    assert records[-1].execution_time_ms == 4  # from '# time=3.5ms'


def test_time_comment_gives_a_duration():
    assert parse("1..1\nok 1 - slow # time=1.5s\n")[0].execution_time_ms == 1500


def test_output_before_a_point_is_its_stdout_and_diagnostics_after_not_ok_its_failure():
    first, second = parse(
        "1..2\nconsole says hi\n# a comment\nok 1 - a\nnot ok 2 - b\n"
        "#   Failed test 'b'\n#   at t.t line 5.\n"
    )
    assert first.outputs[0].text == "console says hi\n# a comment\n"
    assert "Failed test 'b'" in second.failure_text and "line 5" in second.failure_text


def test_missing_tests_and_missing_plan_are_not_silently_green():
    short = parse("1..3\nok 1 - a\n")
    assert short[-1].synthetic and short[-1].status is Status.FAILED
    assert short[-1].error_message == "3 tests planned but only 1 ran"
    no_plan = parse("ok 1 - a\nok 2 - b\n")
    assert no_plan[-1].synthetic and "without a plan" in no_plan[-1].error_message
    extra = parse("1..1\nok 1\nok 2\n")
    assert extra[-1].error_message == "2 tests ran but the plan promised 1"


def test_bail_out_is_a_failed_record_and_stops_reading():
    records = parse("1..3\nok 1 - alpha\nBail out! database down\nok 2 - never\n")
    assert [r.test_name for r in real(records)] == ["alpha"]
    assert records[-1].status is Status.FAILED and "database down" in records[-1].error_message


def test_skip_all_plan():
    records = parse("1..0 # SKIP no network\n")
    assert len(records) == 1 and records[0].synthetic
    assert records[0].status is Status.SKIPPED and "no network" in records[0].error_message


def test_pragma_and_misaligned_indentation_are_not_tests():
    records = parse("TAP version 13\npragma +strict\n1..1\nok 1 - alpha\n     not ok 9 - x\n")
    assert [r.test_name for r in records] == ["alpha"]
    assert "not ok 9" in records[0].outputs[0].text


def test_not_tap_at_all_is_refused():
    with pytest.raises(InputError, match="not a TAP stream"):
        parse("hello\nworld\n")


def test_invalid_utf8_is_replaced_with_one_warning():
    warnings: list[str] = []
    records = parse(b"1..1\nok 1 - caf\xe9\n", warnings)
    assert records[0].test_name == "caf\ufffd"
    assert len(warnings) == 1 and "r.tap" in warnings[0]


def test_huge_yaml_block_is_kept_as_text_not_parsed():
    body = "".join(f"  k{i}: {'v' * 100}\n" for i in range(12000))
    record = parse(f"1..1\nnot ok 1 - x\n  ---\n{body}  ...\n")[0]
    assert "yaml" not in record.metadata
    assert record.failure_text and len(record.failure_text) <= tap.MAX_YAML_BYTES + 200


def test_nested_yaml_bomb_is_not_parsed():
    deep = "[" * 200 + "]" * 200
    record = parse(f"1..1\nnot ok 1 - x\n  ---\n  a: {deep}\n  ...\n")[0]
    assert "yaml" not in record.metadata


def test_one_character_names_are_padded_with_the_report_name():
    assert parse("1..1\nok 1 - a\n")[0].test_name == "r.tap.a"

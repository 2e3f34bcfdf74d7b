"""TAP mapping rules, one test each, on small inline streams."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

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
    assert [r.test_name for r in last] == ["test 1", "beta"]  # unnumbered: its place
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


@pytest.mark.parametrize("scalar", ["!!bool maybe", "!!timestamp abc"])
def test_yaml_scalar_that_does_not_fit_its_tag_is_kept_as_text(scalar):
    # PyYAML raises KeyError/AttributeError for these (not YAMLError): still no crash.
    record = parse(f"1..1\nnot ok 1 - x\n  ---\n  x: {scalar}\n  ...\n")[0]
    assert "yaml" not in record.metadata
    assert scalar in record.failure_text


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
    # 'outer' and 'inner' are groups: only the leaves are tests.
    assert names == [
        ("outer > inner > leaf", 2, Status.PASSED),
        ("outer > sibling", 1, Status.FAILED),
    ]


def test_node_tap_buffered_subtests():
    records = parse(
        "TAP version 13\nok 1 - group # time=3.5ms {\n    ok 1 - a\n    ok 2 - b\n    1..2\n}\n"
        "1..1\n"
    )
    assert [r.test_name for r in records] == ["group > a", "group > b"]


def test_time_comment_gives_a_duration():
    assert parse("1..1\nok 1 - slow # time=1.5s\n")[0].execution_time_ms == 1500


def test_output_before_a_point_is_its_stdout_and_diagnostics_after_not_ok_its_failure():
    first, second = parse(
        "1..2\nconsole says hi\n# a comment\nok 1 - a\nnot ok 2 - b\n"
        "#   Failed test 'b'\n#   at t.t line 5.\n"
    )
    assert first.outputs[0].text == "console says hi\n# a comment\n"
    assert "Failed test 'b'" in second.failure_text and "line 5" in second.failure_text
    assert second.error_message == "b"  # a comment is never the message: it may be the next test's


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


def test_pytest_error_line_and_mocha_indented_error_are_the_message():
    pytest_record, mocha_record = parse(
        "1..2\nnot ok 1 t.py::test_x\n# t.py:3: in test_x\n# E   AssertionError: dicts differ\n"
        "not ok 2 adds\n  objects differ\n      at Context (t.js:1:1)\n"
    )
    assert pytest_record.error_message == "AssertionError: dicts differ"
    assert mocha_record.error_message == "objects differ"
    assert "at Context" in mocha_record.failure_text


def test_unindented_output_after_a_failure_belongs_to_the_next_test():
    failing, following = parse("1..2\nnot ok 1 - a\n# diag\nstray stdout\nok 2 - b\n")
    assert failing.failure_text == "# diag" and failing.error_message == "a"
    assert following.outputs[0].text == "stray stdout\n"


def test_hash_in_a_description_before_the_directive_stays():
    record = parse("1..1\nnot ok 1 known bug #123 # TODO later\n")[0]
    assert record.test_name == "known bug #123"
    assert record.status is Status.KNOWN_FAIL and record.error_message == "later"
    assert parse("1..1\nok 1 - todos are listed\n")[0].status is Status.PASSED


def test_time_comment_is_cut_from_a_skip_reason():
    record = parse("1..1\nok 1 - s # SKIP no db # time=2ms\n")[0]
    assert record.metadata["directive_reason"] == "no db"
    assert record.execution_time_ms == 2


def test_metadata_names_the_report_the_line_and_the_number():
    record = parse("TAP version 13\n1..1\n# out\nok 7 - a1\n")[0]
    assert {k: record.metadata[k] for k in ("format", "report", "tap_number", "line")} == {
        "format": "tap",
        "report": "r.tap",
        "tap_number": 7,
        "line": 4,
    }
    assert record.source.line == 4


def test_yaml_dates_are_json_strings():
    record = parse("1..1\nnot ok 1 - x\n  ---\n  when: 2024-01-02\n  ...\n")[0]
    assert record.metadata["yaml"] == {"when": "2024-01-02"}


def test_started_at_counts_up_from_the_fallback_start():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    options = ParseOptions(warn=lambda m: None, fallback_start=start)
    text = b"1..3\nok 1 - a # time=10ms\nok 2 - b\n  ---\n  duration_ms: 5\n  ...\nok 3 - c\n"
    a, b, c = tap.parse(io.BytesIO(text), SourceRef("r.tap"), options)
    assert a.started_at == start and a.finished_at == start + timedelta(milliseconds=10)
    assert b.started_at == start + timedelta(milliseconds=10) and b.execution_time_ms == 5
    assert c.started_at == start + timedelta(milliseconds=15) and c.finished_at is None
    assert c.metadata["time_source"] == "file_mtime"
    assert parse("1..1\nok 1 - a # time=1ms\n")[0].started_at is None


def test_subtest_children_start_with_their_parent():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    options = ParseOptions(warn=lambda m: None, fallback_start=start)
    text = (
        b"1..3\nok 1 - first # time=100ms\n# Subtest: grp\n    ok 1 - x # time=3ms\n"
        b"    ok 2 - y # time=4ms\n    1..2\nok 2 - grp # time=9ms\nok 3 - after\n"
    )
    x, y, after = [r for r in tap.parse(io.BytesIO(text), SourceRef("r.tap"), options)][1:]
    assert (x.test_name, y.test_name) == ("grp > x", "grp > y")
    assert x.started_at == start + timedelta(milliseconds=100)
    assert y.started_at == start + timedelta(milliseconds=103)
    # the group's own duration (9 ms, not the children's 7) moves the clock past it
    assert after.started_at == start + timedelta(milliseconds=109)


def test_named_subtests_stream_before_their_parent_point_is_read():
    text = b"# Subtest: outer\n    ok 1 - a\n    ok 2 - b\n    1..2\nok 1 - outer\n1..1\n"
    stream = io.BytesIO(text)
    records = tap.parse(stream, SourceRef("r.tap"), ParseOptions(warn=lambda m: None))
    first = next(records)
    assert first.test_name == "outer > a" and first.metadata["parent"] == "outer"
    assert stream.tell() < text.index(b"ok 1 - outer")  # not buffered until the parent
    assert [r.test_name for r in records] == ["outer > b"]


def test_headerless_indented_subtest_is_named_when_its_parent_closes():
    records = parse("1..1\n    ok 1 - inner\n    1..1\nok 1 - outer\n")
    assert [(r.test_name, r.metadata.get("parent")) for r in records] == [
        ("outer > inner", "outer"),
    ]


def test_parent_metadata_is_the_direct_parent():
    records = parse(
        "# Subtest: a\n    # Subtest: b\n        ok 1 - c\n        1..1\n    ok 1 - b\n"
        "    1..1\nok 1 - a\n1..1\n"
    )
    assert len(records) == 1
    assert records[0].test_name == "a > b > c" and records[0].metadata["parent"] == "a > b"


def test_test2_subtest_point_named_subtest_colon_takes_the_header_name():
    records = parse(
        "# Subtest: streamy\n    ok 1 - e\n    1..1\nnot ok 1 - Subtest: streamy\n1..1\n"
    )
    assert [r.test_name for r in records] == ["streamy > e", "streamy"]
    assert records[1].synthetic and records[1].metadata["reason"] == "group failed"


def test_bail_out_inside_a_subtest_stops_everything():
    records = parse("1..2\n# Subtest: s\n    ok 1 - a\n    Bail out! disk full\nok 2 - later\n")
    assert records[-1].synthetic and records[-1].error_message == "Bail out! disk full"
    assert "later" not in [r.test_name for r in records]
    assert sum(r.synthetic for r in records) == 1  # no "planned but" record on top


def test_output_is_capped_with_an_explicit_marker():
    text = b"1..1\n" + b"x" * 99 + b"\n" + b"y" * 500 + b"\nok 1 - a\n"
    options = ParseOptions(warn=lambda m: None, max_text_bytes=100)
    record = next(tap.parse(io.BytesIO(text), SourceRef("r.tap"), options))
    artifact = record.outputs[0]
    assert artifact.text == "x" * 99 + "\n" + "\n[truncated 501 bytes]\n"
    assert artifact.truncated_bytes == 501


def test_yaml_alias_bomb_is_kept_as_text_not_expanded():
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    body = "\n".join(lines)
    record = parse(f"1..1\nnot ok 1 - x\n  ---\n{body}\n  ...\n")[0]
    assert "yaml" not in record.metadata and "*a7" in record.failure_text


def test_yaml_huge_integer_is_tolerated_and_huge_test_numbers_stay_text():
    records = parse(f"1..1\nnot ok {'9' * 5000} - x\n  ---\n  n: {'1' * 5000}\n  ...\n")
    assert records[0].metadata["tap_number"] == "9" * 5000
    assert "yaml" not in records[0].metadata
    huge_plan = parse(f"1..{'5' * 40}\nok 1 - a\n")
    assert huge_plan[-1].error_message == f"{'5' * 40} tests planned but only 1 ran"


def test_empty_stream_is_refused_as_empty():
    with pytest.raises(InputError, match="empty file"):
        parse(b"")


def test_binary_garbage_is_refused_early(monkeypatch):
    monkeypatch.setattr(tap, "SNIFF_BYTES", 1000)
    garbage = b"\x00\x01\xfe\xff" * 100 + b"\n"
    stream = io.BytesIO(garbage * 1000 + b"1..1\nok 1\n")
    warnings: list[str] = []
    with pytest.raises(InputError, match="not a TAP stream") as caught:
        list(tap.parse(stream, SourceRef("g.bin"), ParseOptions(warn=warnings.append)))
    assert caught.value.line == 3 and caught.value.path == "g.bin"
    assert stream.tell() < 10_000 and warnings == []  # stopped early, no noise before it


def test_overlong_line_is_cut_with_a_warning(monkeypatch):
    monkeypatch.setattr(tap, "MAX_LINE_BYTES", 50)
    warnings: list[str] = []
    records = parse("1..1\n" + "z" * 200 + "\nok 1 - after\n", warnings)
    assert records[0].test_name == "after" and records[0].outputs[0].text == "z" * 50 + "\n"
    assert warnings == ["r.tap:2: a line over 50 bytes was cut"]


def test_invalid_utf8_warning_names_the_first_line():
    warnings: list[str] = []
    parse(b"1..2\nok 1 - a\nok 2 - \xff\n# \xfe\n", warnings)
    assert len(warnings) == 1 and warnings[0].startswith("r.tap:3:") and "2 line(s)" in warnings[0]


# -- groups (issue #12 rule 1) -------------------------------------------------------------


def test_group_points_are_not_records_only_their_leaves():
    records = parse(
        "TAP version 14\n# Subtest: pass simple\n    ok 1 - one plus one\n    1..1\n"
        "ok 1 - pass simple # time=3ms\nok 2 - skipped # SKIP later\n1..2\n"
    )
    assert [(r.test_name, r.status) for r in records] == [
        ("pass simple > one plus one", Status.PASSED),
        ("skipped", Status.SKIPPED),
    ]


def test_group_failed_by_its_own_hook_is_one_synthetic_failed_record():
    records = parse(
        "TAP version 13\n# Subtest: hook fails\n    # Subtest: child\n    ok 1 - child\n"
        "      ---\n      duration_ms: 1\n      ...\n    1..1\nnot ok 1 - hook fails\n  ---\n"
        "  type: 'suite'\n  failureType: 'hookFailed'\n  error: 'after hook boom'\n  ...\n1..1\n"
    )
    leaf, group = records
    assert (leaf.test_name, leaf.status) == ("hook fails > child", Status.PASSED)
    assert (group.test_name, group.status) == ("hook fails", Status.FAILED)
    assert group.synthetic and group.metadata["reason"] == "group failed"
    assert group.metadata["failure_type"] == "hookFailed"
    assert group.error_message == "group failed, none of its 1 test(s) did: after hook boom"
    assert "failureType: 'hookFailed'" in group.failure_text


def test_group_failed_because_a_child_failed_gives_no_extra_record():
    records = parse("# Subtest: g\n    ok 1 - a\n    not ok 2 - b\n    1..2\nnot ok 1 - g\n1..1\n")
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("g > a", Status.PASSED, False),
        ("g > b", Status.FAILED, False),
    ]


def test_a_failure_deep_down_counts_for_every_group_above_it():
    records = parse(
        "# Subtest: a\n    # Subtest: b\n        not ok 1 - c\n        1..1\n"
        "    not ok 1 - b\n    1..1\nnot ok 1 - a\n1..1\n"
    )
    assert [(r.test_name, r.synthetic) for r in records] == [("a > b > c", False)]


def test_test_more_subtest_with_a_failing_plan_is_a_synthetic_failure():
    records = parse(
        "# Subtest: parent\n    1..3\n    ok 1 - one\n    ok 2 - two\n"
        "    # Looks like you planned 3 tests but ran 2.\nnot ok 1 - parent\n1..1\n"
    )
    one, two, group = records
    assert group.synthetic and group.test_name == "parent"
    assert (
        group.error_message
        == "group failed, none of its 2 test(s) did: 3 tests planned but only 2 ran"
    )
    assert "Looks like you planned 3 tests but ran 2." in group.failure_text


def test_todo_or_passing_group_with_passing_children_gives_nothing_extra():
    records = parse(
        "# Subtest: g\n    ok 1 - a\n    1..1\nnot ok 1 - g # TODO later\n"
        "# Subtest: h\n    ok 1 - b\n    1..1\nok 2 - h\n1..2\n"
    )
    assert [r.test_name for r in records] == ["g > a", "h > b"]


def test_subtest_with_skip_all_plan_and_no_points_is_one_skipped_record():
    records = parse("# Subtest: sub\n    1..0 # SKIP no database\nok 1 - sub\n1..1\n")
    (record,) = records
    assert (record.test_name, record.status) == ("sub", Status.SKIPPED)
    assert record.error_message == "no database" and not record.synthetic


def test_output_before_a_subtest_header_goes_to_its_first_test():
    first, second = parse(
        "TAP version 14\nhello from stdout\n# Subtest: g\n    ok 1 - a\n    ok 2 - b\n"
        "    1..2\nok 1 - g\n1..1\n"
    )
    assert first.outputs[0].text == "hello from stdout\n" and second.outputs == ()


def test_node_tap_buffered_group_failure_is_kept():
    records = parse("TAP version 13\nnot ok 1 - grp {\n    ok 1 - a\n    1..1\n}\n1..1\n")
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("grp > a", Status.PASSED, False),
        ("grp", Status.FAILED, True),
    ]


def test_summary_counts_top_level_points_as_tap_parser_does():
    summary = tap.TapSummary()
    text = b"# Subtest: g\n    ok 1 - a\n    not ok 2 - b\n    1..2\nnot ok 1 - g\nok 2 - c\n1..2\n"
    records = list(
        tap.parse(io.BytesIO(text), SourceRef("r.tap"), ParseOptions(warn=print), summary=summary)
    )
    assert len(records) == 3
    assert (summary.top_level, summary.top_level_failed, summary.plan) == (2, 1, 2)


def test_plan_disagreement_is_a_warning_with_both_figures():
    warnings: list[str] = []
    parse("1..3\nok 1 - a\n", warnings)
    assert warnings == ["r.tap: the plan says 3 tests, 1 top-level test point(s) were read"]


# -- directives (issue #12 rule 2) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "name", "status", "reason"),
    [
        ("not ok 5 known bug #123 # TODO", "known bug #123", Status.KNOWN_FAIL, None),
        (
            "not ok 5 - known bug \\#123 \\# TODO # TODO",
            "known bug #123 # TODO",
            Status.KNOWN_FAIL,
            None,
        ),
        ("ok 3 # skip", "test 3", Status.SKIPPED, None),
        ("ok 3 #SKIPPED: no db", "test 3", Status.SKIPPED, "no db"),
        ("ok 1 - a # TODO b # skip c", "a # TODO b", Status.SKIPPED, "c"),
        ("ok 1 - todo list #42", "todo list #42", Status.PASSED, None),
        ("not ok 1 - xy # todo later #7", "xy", Status.KNOWN_FAIL, "later #7"),
        ("ok 1 - slow # SKIP why # time=3ms", "slow", Status.SKIPPED, "why"),
        ("ok 1 - # TODO", "test 1", Status.KNOWN_FAIL, None),
    ],
)
def test_directive_is_at_the_last_unescaped_hash(line, name, status, reason):
    (record,) = parse(f"1..1\n{line}\n")
    assert (record.test_name, record.status) == (name, status)
    assert record.metadata.get("directive_reason") == reason


def test_time_comment_is_cut_off_the_description():
    (record,) = parse("1..1\nok 1 - name # time=12.5ms\n")
    assert (record.test_name, record.execution_time_ms) == ("name", 12)


# -- tape's '# name' comments (issue #12 rule 8) -----------------------------------------

TAPE = (
    "TAP version 13\n# numbers\nok 1 should be equal\n# strings\nconsole line\n"
    "# a t.comment\nok 2 should be equal\n# SKIP skipped test\n# TODO later\n"
    "not ok 3 should be equal # TODO\n  ---\n  operator: equal\n  ...\n"
    "# outer\n# inner\nok 4 should be equal\n\n1..4\n# tests 4\n# pass  3\n"
)


def test_tape_test_comments_name_their_assertions():
    records = parse(TAPE)
    assert [r.test_name for r in records] == [
        "numbers > should be equal",
        "strings > should be equal",
        "later > should be equal",  # '# TODO later' names 'later'; '# SKIP ...' nothing
        "inner > should be equal",  # '# outer' then '# inner': the innermost
    ]
    assert records[0].metadata["parent"] == "numbers" and records[0].outputs == ()
    # output and a comment after it, inside a test, stay that test's output
    assert records[1].outputs[0].text == "console line\n# a t.comment\n"


def test_comments_before_dashed_points_stay_output():
    # Test::More's note() before 'ok 1 - name' is output, not a test name
    records = parse("TAP version 13\n# a note\nok 1 - first\n# another\nok 2 - second\n1..2\n")
    assert [r.test_name for r in records] == ["first", "second"]
    assert records[0].outputs[0].text == "# a note\n"
    assert records[1].outputs[0].text == "# another\n"


def test_comments_before_a_plan_first_stream_stay_output():
    records = parse("TAP version 13\n# hello\n1..1\nok 1 first\n")
    assert records[0].test_name == "first" and records[0].outputs[0].text == "# hello\n"


def test_vitest_multiline_quoted_yaml_strings_stay_in_the_block():
    (record,) = parse(
        "TAP version 13\n1..1\nnot ok 1 - eq # time=1ms\n    ---\n    error:\n"
        '        message: "not equal"\n    actual: "Object {\n  \\"a\\": 1,\n}"\n    ...\n'
    )
    assert record.metadata["yaml"]["actual"] == 'Object { "a": 1, }'
    assert record.error_message == "not equal"  # vitest's error.message
    assert record.outputs == ()


def test_stream_cut_inside_a_subtest_keeps_its_last_output_on_the_cut():
    """node-tap 21, the process killed in a subtest two deep (fixtures/tap/node-tap-crash.tap):
    what it printed after its last point was lost with the unfinished subtest. It is the
    output of the record that says the stream was cut, which names the open subtest."""
    records = parse(
        "TAP version 14\n# Subtest: first\n    ok 1 - fine\n    1..1\nok 1 - first\n\n"
        "# Subtest: group\n    # Subtest: sub\n        ok 1 - sub pass\nabout to die\n"
    )
    assert [(r.test_name, r.status) for r in real(records)] == [
        ("first > fine", Status.PASSED),
        ("group > sub > sub pass", Status.PASSED),
    ]
    cut = records[-1]
    assert cut.metadata["reason"] == "no plan"
    assert "inside the subtest 'group > sub'" in (cut.error_message or "")
    assert [(o.label, o.text) for o in cut.outputs] == [("stdout.log", "about to die\n")]
    # A plan given first: the same output on the 'missing tests' record.
    planned = parse("1..2\nok 1 - a\n# Subtest: b\n    ok 1 - b1\nKilled\n")
    assert planned[-1].metadata["reason"] == "missing tests"
    assert "inside the subtest 'b'" in (planned[-1].error_message or "")
    assert planned[-1].outputs[0].text == "Killed\n"

"""Robot Framework output.xml: the real files of RF 4-7 against the counts RF printed, the
mapping rules on small inline documents, and hostile input."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, robot
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "robot"


def parse(xml: str | bytes, warnings: list[str] | None = None, **options):
    raw = xml.encode() if isinstance(xml, str) else xml
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, **options)
    return list(robot.parse(io.BytesIO(raw), SourceRef("output.xml"), opts))


def doc(body: str, generator: str = "Robot 7.0 (Python 3.11 on linux)") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<robot generator="{generator}" '
        f'generated="2024-01-01T12:00:00.000000" rpa="false" schemaversion="5">\n{body}\n</robot>'
    )


def status(word: str, text: str = "", start: str = "2024-01-01T12:00:00.000000") -> str:
    return f'<status status="{word}" start="{start}" elapsed="0.250">{text}</status>'


def case(name: str, word: str = "PASS", text: str = "", body: str = "") -> str:
    return f'<test id="s1-t1" name="{name}" line="3">{body}{status(word, text)}</test>'


def suite(name: str, *children: str, word: str = "PASS", text: str = "") -> str:
    head = f'<suite id="s1" name="{name}" source="/r/{name}.robot">'
    return f"{head}{''.join(children)}{status(word, text)}</suite>"


# ---------------------------------------------------------------- real reports

# What `robot` printed for each file (fixtures/robot/README.md).
PRINTED = {
    "robot4-output.xml": {"Passed": 4, "Failed": 9, "Skipped": 3},
    "robot5-output.xml": {"Passed": 4, "Failed": 9, "Skipped": 3},
    "robot6-output.xml": {"Passed": 4, "Failed": 9, "Skipped": 3},
    "robot7-output.xml": {"Passed": 4, "Failed": 9, "Skipped": 3},
    "robot7-control.xml": {"Passed": 3, "Failed": 1},
    "robot7-rebot-merge.xml": {"Passed": 4, "Failed": 3},
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_real_output_counts_equal_what_robot_printed(name):
    warnings: list[str] = []
    records = parse((FIXTURES / name).read_bytes(), warnings)
    assert dict(Counter(str(r.status) for r in records)) == PRINTED[name]
    assert not [w for w in warnings if "statistics say" in w]
    assert all(r.metadata["time_source"] == "report" for r in records)


@pytest.mark.parametrize("name", ["robot4-output.xml", "robot7-output.xml"])
def test_real_output_suite_setup_and_teardown_failures(name):
    records = {r.test_name: r for r in parse((FIXTURES / name).read_bytes())}
    blocked = records["Sample > Setup Fails > First Blocked Test"]
    assert blocked.status is Status.FAILED
    assert blocked.error_message == "Parent suite setup failed:\ndatabase not reachable"
    # robot wrote these as PASS; RF applies the teardown failure when it reads the file
    after = records["Sample > Nested > Teardown Fails > Passes Before Teardown"]
    assert after.status is Status.FAILED
    assert after.error_message == "Parent suite teardown failed:\ncleanup failed"
    assert after.metadata["suite_teardown_failed"] is True
    known = records["Sample > Basic > Known Issue Skipped On Failure"]
    assert known.status is Status.SKIPPED and known.metadata["skip_on_failure"] is True
    unicode = records["Sample > Basic > Grüße Ünïcödé 名前"]
    assert "héllo wörld 名前 ✓" in unicode.outputs[0].text


def test_real_rf7_log_has_levels_keywords_and_loop_iterations():
    records = {r.test_name: r for r in parse((FIXTURES / "robot7-output.xml").read_bytes())}
    log = records["Sample > Basic > Passing With Log Output"].outputs[0]
    assert log.label == "log.txt"
    assert "WARN  [BuiltIn.Log] a warning from the test" in log.text
    assert "DEBUG [BuiltIn.Log] debug detail" in log.text
    loop = records["Sample > Basic > For Loop Logging"].outputs[0].text
    assert [line.split("] ")[1] for line in loop.splitlines()] == [
        "fruit apple",
        "fruit banana",
        "fruit cherry",
        "index 0",
        "index 1",
    ]
    first = records["Sample > Basic > Passing With Log Output"]
    assert first.metadata["tags"] == ["owner-alice", "sample", "smoke"]
    assert first.metadata["line"] == 9
    assert first.metadata["documentation"] == "Logs at several levels."


def test_sniff_takes_robot_root_only():
    assert detect(b'<?xml version="1.0"?>\n<robot generator="Robot 7.0">').format.name == "robot"
    assert detect(b'<robot xmlns="urn:other">').format is None


# ---------------------------------------------------------------- rules


def test_rf7_times_and_status_mapping():
    records = parse(
        doc(
            suite(
                "S",
                case("Pass"),
                case("Fail", "FAIL", "boom"),
                case("Skip", "SKIP", "later"),
                case("Not run", "NOT RUN"),
            )
        )
    )
    assert [(r.test_name, r.status) for r in records] == [
        ("S > Pass", Status.PASSED),
        ("S > Fail", Status.FAILED),
        ("S > Skip", Status.SKIPPED),
        ("S > Not run", Status.SKIPPED),
    ]
    assert records[0].started_at == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert records[0].execution_time_ms == 250
    assert records[1].error_message == "boom"
    assert records[2].error_message == "later"


def test_legacy_times_are_local_without_offset():
    xml = (
        '<robot generator="Robot 6.1.1"><suite name="S"><test name="T">'
        '<status status="PASS" starttime="20240101 12:00:00.000" endtime="20240101 12:00:01.500"/>'
        '</test><status status="PASS" starttime="N/A" endtime="N/A"/></suite></robot>'
    )
    (record,) = parse(xml)
    assert record.started_at == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert record.finished_at == datetime(2024, 1, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert record.execution_time_ms == 1500


def test_suite_teardown_failure_fails_held_tests_as_rf_does():
    teardown = f'<kw name="Fail" owner="BuiltIn" type="TEARDOWN">{status("FAIL", "bye")}</kw>'
    body = suite(
        "Top",
        suite("A", case("ok"), case("bad", "FAIL", "own"), case("skip", "SKIP", "why"), teardown),
        word="FAIL",
    )
    records = parse(doc(body))
    assert [(r.status, r.error_message) for r in records] == [
        (Status.FAILED, "Parent suite teardown failed:\nbye"),
        (Status.FAILED, "own\n\nAlso parent suite teardown failed:\nbye"),
        (Status.SKIPPED, "why\n\nAlso parent suite teardown failed:\nbye"),
    ]


def test_rebot_output_already_carries_teardown_failures():
    teardown = f'<kw name="Fail" type="TEARDOWN">{status("FAIL", "bye")}</kw>'
    xml = doc(suite("A", case("ok"), teardown), generator="Rebot 7.0 (Python 3.11 on linux)")
    (record,) = parse(xml)
    assert record.status is Status.PASSED


def test_suite_teardown_skip_skips_its_tests():
    teardown = f'<kw name="Skip" type="TEARDOWN">{status("SKIP", "not today")}</kw>'
    (record,) = parse(doc(suite("A", case("ok"), teardown)))
    assert record.status is Status.SKIPPED
    assert record.error_message == "Skipped in parent suite teardown:\nnot today"


def test_failed_suite_setup_without_tests_is_a_synthetic_failure():
    setup = (
        '<kw name="Fail" type="SETUP"><msg time="2024-01-01T12:00:00" level="FAIL">db down</msg>'
        f"{status('FAIL', 'db down')}</kw>"
    )
    (record,) = parse(doc(suite("Empty", setup, word="FAIL", text="Suite setup failed:\ndb down")))
    assert record.status is Status.FAILED
    assert record.test_name == "Empty (suite setup)"
    assert record.metadata["synthetic"] is True
    assert record.error_message == "Suite setup failed:\ndb down"
    assert "FAIL  [Fail] db down" in record.outputs[0].text


def test_nested_keyword_messages_are_labelled_by_the_innermost_keyword():
    body = (
        '<kw name="Outer"><kw name="Log" owner="BuiltIn">'
        '<msg time="t1" level="INFO">inner</msg>' + status("PASS") + "</kw>"
        '<msg time="t2" level="INFO" html="true">&lt;b&gt;outer&lt;/b&gt;</msg>'
        + status("PASS")
        + "</kw>"
    )
    (record,) = parse(doc(suite("S", case("T", body=body))))
    assert record.outputs[0].text == "t1 INFO  [BuiltIn.Log] inner\nt2 INFO  [Outer] <b>outer</b>\n"


def test_rebot_merge_is_one_record_with_attempts_and_flaky():
    """`robot --rerunfailed` twice, `rebot --merge` of the three outputs (RF 7.5): the
    merge message is RF's HTML; each test is one record with the latest attempt's plain
    message, `attempts`, `flaky`, and its earlier attempts in attempts.txt."""
    records = {r.test_name: r for r in parse((FIXTURES / "robot7-rebot-merge.xml").read_bytes())}
    third = records["Rerun > Passes On Third Run"]
    assert third.status is Status.PASSED and third.error_message is None
    assert third.metadata["attempts"] == 3 and third.metadata["flaky"] is True
    assert "html_message" not in third.metadata
    (attempts,) = [o for o in third.outputs if o.label == "attempts.txt"]
    assert attempts.text == (
        "attempt 1: FAIL: run 1 failed\nattempt 2: FAIL: run 2 failed\nattempt 3: PASS\n"
    )
    broken = records["Rerun > Always Fails"]
    assert broken.status is Status.FAILED and broken.error_message == "still broken in run 3"
    assert broken.metadata["attempts"] == 3 and broken.metadata["flaky"] is False
    unicode = records["Rerun > Ünïcödé Ñame"]
    assert unicode.metadata["flaky"] is True
    # a rerun that was skipped is ignored by rebot: the first failure stays, unescaped
    kept = records["Rerun > Skipped On Rerun"]
    assert kept.status is Status.FAILED and kept.metadata["attempts"] == 2
    assert kept.error_message == 'failed in run 1 <with> "markup" & a URL https://example.com/x'
    # a test only a later output has: one attempt, the merge note removed
    added = records["Rerun > Added Later"]
    assert added.error_message == "only in run 3" and "attempts" not in added.metadata
    assert "attempts" not in records["Rerun > Always Passes"].metadata


def test_html_message_marker_is_removed():
    (record,) = parse(doc(suite("S", case("T", "FAIL", "*HTML* &lt;b&gt;bad&lt;/b&gt;"))))
    assert record.error_message == "<b>bad</b>"
    assert record.metadata["html_message"] is True


def test_long_message_goes_to_failure_text():
    text = "x" * 3000
    (record,) = parse(doc(suite("S", case("T", "FAIL", text))))
    assert len(record.error_message) == 1024
    assert record.failure_text == text


def test_statistics_disagreement_and_errors_are_warned():
    stats = (
        '<statistics><total><stat pass="5" fail="0" skip="0">All Tests</stat></total></statistics>'
    )
    errors = (
        '<errors><msg time="t" level="ERROR">Error in file x: bad</msg>'
        '<msg level="WARN">w</msg></errors>'
    )
    warnings: list[str] = []
    parse(doc(suite("S", case("T")) + stats + errors), warnings)
    assert any("statistics say 5 passed" in w for w in warnings)
    assert any("Robot Framework error: Error in file x: bad" in w for w in warnings)
    assert not any(": w" in w for w in warnings)


def test_empty_output_warns():
    warnings: list[str] = []
    assert parse(doc(suite("S")), warnings) == []
    assert any("holds no tests" in w for w in warnings)


def test_release_of_held_tests_is_bounded(monkeypatch):
    monkeypatch.setattr(robot, "MAX_HELD", 2)
    teardown = f'<kw name="Fail" type="TEARDOWN">{status("FAIL", "bye")}</kw>'
    warnings: list[str] = []
    records = parse(doc(suite("S", *(case(f"t{i}") for i in range(5)), teardown)), warnings)
    # the 3 released before the teardown keep their status; the 2 still held fail
    assert [r.status for r in records] == [Status.PASSED] * 3 + [Status.FAILED] * 2
    assert any("already passed on" in w for w in warnings)


# ---------------------------------------------------------------- hostile input


def test_truncated_output_is_refused_with_its_line():
    xml = doc(suite("S", case("T"), case("U")))
    with pytest.raises(InputError) as caught:
        parse(xml[: xml.index('<test id="s1-t1" name="U" line="3">') + 35])
    assert "truncated" in str(caught.value)


def test_truncated_output_salvage_keeps_finished_tests():
    xml = doc(suite("S", case("T"), case("U")))
    records = parse(xml[: xml.index('<test id="s1-t1" name="U" line="3">') + 35], salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[1].metadata["synthetic"] is True
    assert records[1].test_name == "S > U"


def test_deep_keyword_nesting_is_refused():
    body = '<kw name="k">' * 400 + "</kw>" * 400
    with pytest.raises(InputError, match="nested deeper"):
        parse(doc(suite("S", case("T", body=body))))


def test_entity_declarations_are_refused():
    xml = (
        '<?xml version="1.0"?><!DOCTYPE robot [<!ENTITY a "aaaa">]><robot><suite name="S"/></robot>'
    )
    with pytest.raises(InputError, match="entit"):
        parse(xml)


def test_huge_messages_are_capped():
    body = f'<kw name="Log"><msg time="t" level="INFO">{"y" * 50_000}</msg>{status("PASS")}</kw>'
    body += f'<kw name="Log"><msg time="t" level="INFO">{"z" * 50_000}</msg>{status("PASS")}</kw>'
    (record,) = parse(doc(suite("S", case("T", body=body))), max_text_bytes=10_000)
    log = record.outputs[0]
    assert len(log.text) < 10_100
    assert log.text.endswith("bytes]\n") and log.truncated_bytes > 90_000


def test_root_that_is_not_robot_is_refused():
    with pytest.raises(InputError, match="not a Robot Framework output.xml"):
        parse("<testsuite/>")

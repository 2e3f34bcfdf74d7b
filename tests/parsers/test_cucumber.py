"""Cucumber JSON and Cucumber messages rules on small inline reports, and the real reports
(cucumber-js, behave, Cucumber-JVM) against the counts each tool printed."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import cucumber, detect
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)


def parse_json(doc: Any, warnings: list[str] | None = None) -> list[TestRecord]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    options = ParseOptions(
        warn=(warnings if warnings is not None else []).append, fallback_start=MTIME
    )
    return list(cucumber.parse_json(io.BytesIO(data), SourceRef("c.json"), options))


def parse_messages(lines: list[Any] | bytes, warnings: list[str] | None = None):
    data = (
        lines if isinstance(lines, bytes) else "".join(json.dumps(x) + "\n" for x in lines).encode()
    )
    options = ParseOptions(
        warn=(warnings if warnings is not None else []).append, fallback_start=MTIME
    )
    return list(cucumber.parse_messages(io.BytesIO(data), SourceRef("c.ndjson"), options))


def counts(records: list[TestRecord]) -> Counter[str]:
    return Counter(str(r.status) for r in records)


def step(name: str, status: str | None, duration: Any = 1_000_000, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if status is not None:
        result = {"status": status, "duration": duration}
    error = extra.pop("error_message", None)
    if error:
        result["error_message"] = error
    return {"keyword": "When ", "name": name, "line": 3, "result": result, **extra}


def scenario(name: str, *steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "scenario",
        "keyword": "Scenario",
        "name": name,
        "line": 2,
        "steps": list(steps),
        **extra,
    }


def feature(*elements: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [
        {"keyword": "Feature", "name": "F", "uri": "f.feature", "elements": list(elements), **extra}
    ]


@pytest.mark.parametrize(
    ("statuses", "status", "word"),
    [
        (["passed", "passed"], Status.PASSED, "passed"),
        (["passed", "failed", "skipped"], Status.FAILED, "failed"),
        (["passed", "undefined", "skipped"], Status.FAILED, "undefined"),
        (["ambiguous"], Status.FAILED, "ambiguous"),
        (["passed", "pending", "skipped"], Status.KNOWN_FAIL, "pending"),
        (["skipped", "skipped"], Status.SKIPPED, "skipped"),
        (["pending", "failed"], Status.FAILED, "failed"),
    ],
)
def test_scenario_status_is_its_worst_step(statuses, status, word):
    steps = [
        step(f"s{i}", s, error_message="boom" if s == "failed" else None)
        for i, s in enumerate(statuses)
    ]
    (record,) = parse_json(feature(scenario("S", *steps)))
    assert record.status is status
    assert record.metadata["cucumber_status"] == word
    assert record.test_name == "F > S"


def test_failure_message_names_the_step_and_keeps_the_error():
    steps = [
        step("a", "passed"),
        step("b", "failed", error_message="AssertionError: x\n  at y"),
        step("c", "skipped"),
    ]
    (record,) = parse_json(feature(scenario("S", *steps)))
    assert record.error_message == "AssertionError: x"
    assert record.failure_text == "When b (failed)\nAssertionError: x\n  at y"
    assert record.metadata["step"] == "When b"


def test_undefined_and_pending_messages():
    (undefined,) = parse_json(feature(scenario("S", step("nobody", "undefined"))))
    assert undefined.error_message == "undefined step: When nobody"
    (pending,) = parse_json(feature(scenario("S", step("later", "pending"))))
    assert pending.error_message == "pending step: When later"


def test_nanoseconds_and_seconds_are_told_apart():
    (ns,) = parse_json(feature(scenario("S", step("a", "passed", 1_500_000_000))))
    assert ns.execution_time_ms == 1500
    behave = [
        {
            "keyword": "Feature",
            "name": "F",
            "location": "f.feature:1",
            "status": "passed",
            "elements": [scenario("S", step("a", "passed", 1.5))],
        }
    ]
    (seconds,) = parse_json(behave)
    assert seconds.execution_time_ms == 1500 and seconds.metadata["producer"] == "behave"


def test_jvm_background_results_are_merged_into_the_next_scenario():
    background = {
        "type": "background",
        "keyword": "Background",
        "steps": [step("bg", "failed", error_message="bg broke")],
    }
    doc = feature(background, scenario("S", step("a", "skipped")))
    (record,) = parse_json(doc)
    assert record.status is Status.FAILED and record.error_message == "bg broke"
    assert record.metadata["steps"] == 2


def test_behave_background_without_results_is_ignored():
    background = {"type": "background", "keyword": "Background", "steps": [step("bg", None)]}
    (record,) = parse_json(feature(background, scenario("S", step("a", "passed"))))
    assert record.status is Status.PASSED and record.metadata["steps"] == 1


def test_failing_hooks_fail_the_scenario_in_both_layouts():
    js_hook = {
        "keyword": "After",
        "hidden": True,
        "result": {"status": "failed", "error_message": "cleanup"},
    }
    (js,) = parse_json(feature(scenario("S", step("a", "passed"), js_hook)))
    assert js.status is Status.FAILED and js.metadata["step"] == "After hook"
    jvm = scenario(
        "S",
        step("a", "passed"),
        before=[{"result": {"status": "failed", "error_message": "setup"}}],
    )
    (record,) = parse_json(feature(jvm))
    assert record.status is Status.FAILED and record.error_message == "setup"


def test_embeddings_text_becomes_artifacts_binary_is_counted():
    text = base64.b64encode(b"some json").decode()
    log = base64.b64encode(b"a log line").decode()
    embeddings = [
        {"data": text, "mime_type": "application/json", "name": "payload"},
        {"data": log, "mime_type": "text/x.cucumber.log+plain"},
        {"data": "iVBORw0KGgo=", "mime_type": "image/png"},
    ]
    (record,) = parse_json(
        feature(scenario("S", step("a", "passed", embeddings=embeddings, output=["out"])))
    )
    labels = {a.label: a for a in record.outputs}
    assert labels["log.txt"].text == "out\na log line\n"
    assert labels["payload.json"].text == "some json"
    assert labels["payload.json"].content_type == "application/json"
    assert record.metadata["binary_embeddings_skipped"] == 1


def test_duplicate_names_get_their_line_and_tags_are_kept():
    doc = feature(
        scenario("Outline", step("a", "passed"), line=10, tags=[{"name": "@x"}]),
        scenario("Outline", step("a", "passed"), line=11),
    )
    records = parse_json(doc)
    assert [r.test_name for r in records] == ["F > Outline (line 10)", "F > Outline (line 11)"]
    assert records[0].metadata["tags"] == ["@x"]


def test_times_end_at_the_file_mtime_unless_the_report_has_them():
    doc = feature(
        scenario("A", step("a", "passed", 2_000_000_000)),
        scenario(
            "B", step("b", "passed", 1_000_000_000), start_timestamp="2026-03-01T10:00:00.000Z"
        ),
    )
    a, b = parse_json(doc)
    assert a.started_at == MTIME - timedelta(seconds=3)
    assert a.metadata["time_source"] == "file_mtime"
    assert b.started_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert b.metadata["time_source"] == "report"


def test_empty_or_wrong_documents_are_refused():
    with pytest.raises(InputError, match="no features"):
        parse_json([])
    with pytest.raises(InputError, match="not an array"):
        parse_json({"a": 1})


# ---------------------------------------------------------------- messages


def ts(seconds: int) -> dict[str, int]:
    return {"seconds": 1_767_225_600 + seconds, "nanos": 0}


def envelopes(willBeRetried: bool = False, second: bool = True) -> list[dict[str, Any]]:  # noqa: N803
    doc = {
        "uri": "f.feature",
        "feature": {
            "name": "Feat",
            "children": [
                {
                    "scenario": {
                        "id": "sc1",
                        "location": {"line": 3},
                        "steps": [
                            {"id": "g1", "keyword": "Given "},
                            {"id": "g2", "keyword": "Then "},
                        ],
                    }
                }
            ],
        },
    }
    pickle = {
        "id": "p1",
        "uri": "f.feature",
        "name": "Scen",
        "astNodeIds": ["sc1"],
        "tags": [{"name": "@t"}],
        "steps": [
            {"id": "ps1", "text": "a thing", "astNodeIds": ["g1"]},
            {"id": "ps2", "text": "it works", "astNodeIds": ["g2"]},
        ],
    }
    case = {
        "id": "tc1",
        "pickleId": "p1",
        "testSteps": [
            {"id": "h", "hookId": "hook1"},
            {"id": "s1", "pickleStepId": "ps1"},
            {"id": "s2", "pickleStepId": "ps2"},
        ],
    }
    failed = {
        "status": "FAILED",
        "duration": {"seconds": 0, "nanos": 2_000_000},
        "message": "Error: no",
    }
    passed = {"status": "PASSED", "duration": {"seconds": 1, "nanos": 0}}
    out: list[dict[str, Any]] = [
        {"meta": {"implementation": {"name": "cucumber-js", "version": "12.9.0"}}},
        {"gherkinDocument": doc},
        {"pickle": pickle},
        {"hook": {"id": "hook1", "type": "BEFORE_TEST_CASE", "name": "db"}},
        {"testRunStarted": {"timestamp": ts(0)}},
        {"testCase": case},
        {"testCaseStarted": {"id": "a1", "testCaseId": "tc1", "attempt": 0, "timestamp": ts(1)}},
        {
            "testStepFinished": {
                "testCaseStartedId": "a1",
                "testStepId": "h",
                "testStepResult": passed,
            }
        },
        {
            "testStepFinished": {
                "testCaseStartedId": "a1",
                "testStepId": "s1",
                "testStepResult": failed,
            }
        },
        {
            "attachment": {
                "testCaseStartedId": "a1",
                "body": "logged",
                "mediaType": "text/x.cucumber.log+plain",
                "contentEncoding": "IDENTITY",
            }
        },
        {
            "testCaseFinished": {
                "testCaseStartedId": "a1",
                "timestamp": ts(2),
                "willBeRetried": willBeRetried,
            }
        },
    ]
    if willBeRetried and second:
        out += [
            {
                "testCaseStarted": {
                    "id": "a2",
                    "testCaseId": "tc1",
                    "attempt": 1,
                    "timestamp": ts(3),
                }
            },
            {
                "testStepFinished": {
                    "testCaseStartedId": "a2",
                    "testStepId": "s1",
                    "testStepResult": passed,
                }
            },
            {
                "testCaseFinished": {
                    "testCaseStartedId": "a2",
                    "timestamp": ts(4),
                    "willBeRetried": False,
                }
            },
        ]
    out.append({"testRunFinished": {"success": not willBeRetried or second, "timestamp": ts(5)}})
    return out


def test_messages_name_status_step_and_log():
    (record,) = parse_messages(envelopes())
    assert record.test_name == "Feat > Scen"
    assert record.status is Status.FAILED
    assert record.error_message == "Error: no"
    assert record.metadata["step"] == "Given a thing"
    assert record.metadata["line"] == 3 and record.metadata["tags"] == ["@t"]
    assert record.metadata["producer"] == "cucumber-js 12.9.0"
    assert record.started_at == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert record.outputs[0].label == "log.txt" and record.outputs[0].text == "logged\n"
    assert record.execution_time_ms == 1002


def test_messages_retries_are_attempts_of_one_record():
    (record,) = parse_messages(envelopes(willBeRetried=True))
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2 and record.metadata["flaky"] is True
    assert [a.label for a in record.outputs] == ["attempt1-log.txt", "attempts.txt"]


def test_messages_cut_log_fails_the_open_test_case():
    warnings: list[str] = []
    lines = [e for e in envelopes() if "testCaseFinished" not in e and "testRunFinished" not in e]
    (record,) = parse_messages(lines, warnings)
    assert record.status is Status.FAILED and record.metadata["incomplete"] is True
    assert any("testRunFinished" in w for w in warnings)


def test_messages_parse_error_and_run_hook_failure_are_synthetic():
    lines = [
        {"parseError": {"source": {"uri": "bad.feature"}, "message": "(3:1): expected a step"}},
        {"testRunHookFinished": {"result": {"status": "FAILED", "message": "BeforeAll broke"}}},
        {"testRunFinished": {"success": False}},
    ]
    records = parse_messages(lines)
    assert [(r.test_name, r.error_message) for r in records] == [
        ("bad.feature (parse error)", "(3:1): expected a step"),
        ("cucumber (run hook failed)", "BeforeAll broke"),
    ]


def test_messages_refuse_other_json_lines():
    with pytest.raises(InputError, match="envelope"):
        parse_messages([{"a": 1, "b": 2}])
    with pytest.raises(InputError, match="no Cucumber messages"):
        parse_messages(b"")


def test_sniff_tells_the_two_formats_apart():
    assert detect(b'{"meta":{"protocolVersion":"32.2.0"}}\n').format.name == "cucumber-messages"
    assert (
        detect(
            json.dumps(feature(scenario("S", step("a", "passed"))), indent=2).encode()
        ).format.name
        == "cucumber-json"
    )


# ---------------------------------------------------------------- real reports


def fixture(name: str) -> list[TestRecord]:
    path = FIXTURES / name
    parse = parse_messages if name.endswith(".ndjson") else parse_json
    return parse(path.read_bytes())


@pytest.mark.parametrize(
    "name", ["cucumber-json/cucumber-js.json", "cucumber-messages/cucumber-js.ndjson"]
)
def test_cucumber_js_counts(name):
    """cucumber-js 12.9.0 --retry 1: '12 scenarios (2 failed, 1 ambiguous, 1 undefined,
    1 pending, 1 skipped, 6 passed)'."""
    records = fixture(name)
    assert counts(records) == {"Failed": 4, "KnownFail": 1, "Skipped": 1, "Passed": 6}
    words = Counter(r.metadata["cucumber_status"] for r in records)
    assert words == {
        "failed": 2,
        "ambiguous": 1,
        "undefined": 1,
        "pending": 1,
        "skipped": 1,
        "passed": 6,
    }


def test_cucumber_js_messages_keep_the_retried_attempts():
    attempts = {
        r.test_name: r.metadata.get("attempts")
        for r in fixture("cucumber-messages/cucumber-js.ndjson")
    }
    assert attempts["Sample > flaky passes on retry"] == 2
    assert attempts["Sample > failing scenario"] == 2


@pytest.mark.parametrize(
    "name", ["cucumber-json/cucumber-js-hooks.json", "cucumber-messages/cucumber-js-hooks.ndjson"]
)
def test_cucumber_js_hooks_counts(name):
    """cucumber-js 12.9.0: '3 scenarios (2 failed, 1 passed)' (a Before and an After
    hook fail)."""
    assert counts(fixture(name)) == {"Failed": 2, "Passed": 1}


@pytest.mark.parametrize("name", ["behave.json", "behave-pretty.json"])
def test_behave_counts(name):
    """behave 1.3.3: '4 scenarios passed, 2 failed, 2 error, 1 skipped'."""
    records = fixture(f"cucumber-json/{name}")
    assert counts(records) == {"Passed": 4, "Failed": 4, "Skipped": 1}
    assert Counter(r.metadata["cucumber_status"] for r in records)["error"] == 1


@pytest.mark.parametrize(
    "name",
    ["cucumber-jvm-JsonPrettyFormatterTest.json", "cucumber-jvm-JSONPrettyFormatterTest.json"],
)
def test_cucumber_jvm_counts(name):
    """Cucumber-JVM's own formatter test outputs: 4 scenarios, each with the undefined
    background step bg_1 (no summary printed; the feature file says so)."""
    records = fixture(f"cucumber-json/{name}")
    assert [r.status for r in records] == [Status.FAILED] * 4
    assert {r.error_message for r in records} == {"undefined step: Given bg_1"}
    # Its clock is stubbed at 1970: that is no timestamp.
    assert all(r.metadata["time_source"] == "file_mtime" for r in records)


def test_cucumber_js_failed_before_all_hook_is_not_a_silent_zero():
    """cucumber-js 12.9.0 with a failing BeforeAll hook: 'a BeforeAll hook errored,
    process exiting', exit 1, no summary; the message stream stops after meta and
    source. The run's failure is one synthetic Failed record (run interrupted)."""
    warnings: list[str] = []
    path = FIXTURES / "cucumber-messages/cucumber-js-beforeall.ndjson"
    (record,) = parse_messages(path.read_bytes(), warnings)
    assert record.status is Status.FAILED and record.metadata["synthetic"] is True
    assert record.test_name == "cucumber (run interrupted)"
    assert "interrupted" in record.metadata["reason"]
    assert any("testRunFinished" in w for w in warnings)


def test_messages_cut_log_with_only_passes_still_fails_the_run():
    lines = [e for e in envelopes() if "testStepFinished" not in e and "testRunFinished" not in e]
    records = parse_messages(lines)
    assert [(r.test_name, r.status) for r in records] == [
        ("Feat > Scen", Status.SKIPPED),
        ("cucumber (run interrupted)", Status.FAILED),
    ]

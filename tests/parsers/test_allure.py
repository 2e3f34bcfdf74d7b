"""Allure results: the real results directories against the counts the frameworks printed
(with retries folded by merge_attempts), the mapping rules on inline results, and hostile
input."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.inputs import expand_inputs
from junit2af.parsers import allure, detect
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord
from junit2af.reports import parse_report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "allure"
T0 = 1_700_000_000_000


def parse(
    document: Any = None,
    warnings: list[str] | None = None,
    raw: bytes | None = None,
    path="r/x-result.json",
    **options,
):
    if raw is None:
        raw = json.dumps(document).encode()
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, **options)
    return list(allure.parse(io.BytesIO(raw), SourceRef(path), opts))


def result(name: str = "test_a", status: str = "passed", **extra: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "status": status,
        "start": T0,
        "stop": T0 + 1500,
        "uuid": "u-" + name,
        "historyId": "h-" + name,
        "fullName": "mod#" + name,
        "labels": [{"name": "suite", "value": "mod"}],
    }
    base.update(extra)
    return base


def directory_records(name: str) -> list[TestRecord]:
    reports = list(expand_inputs([str(FIXTURES / name)]))
    options = ParseOptions(warn=lambda message: None)
    return list(
        allure.merge_attempts(chain.from_iterable(parse_report(r, options) for r in reports))
    )


# ---------------------------------------------------------------- real results


def test_real_pytest_results_fold_into_the_tests_pytest_ran():
    # pytest printed "3 failed, 7 passed, 1 skipped, 1 xfailed, 1 xpassed, 2 errors,
    # 11 rerun" for 12 test items (a teardown error counts as a pass *and* an error, and
    # rerun attempts add to "passed"); Allure shows 12 tests: 5 passed (one of them the
    # xpass, one flaky), 2 failed + 3 broken, 1 skipped, 1 xfail (skipped "XFAIL").
    records = directory_records("pytest-results")
    assert dict(Counter(str(r.status) for r in records)) == {
        "Passed": 5,
        "Failed": 5,
        "Skipped": 1,
        "KnownFail": 1,
    }
    by_name = {r.test_name: r for r in records}
    flaky = by_name["test_sample > test_flaky_passes_on_second_try"]
    assert flaky.metadata["attempts"] == 2 and flaky.metadata["flaky"] is True
    assert [o.label for o in flaky.outputs] == ["attempts.txt"]
    assert len(flaky.attachments) == 2  # the stdout of both attempts
    assert by_name["test_sample > test_fails_assertion"].metadata["attempts"] == 3
    broken = by_name["test_sample > test_fixture_setup_error"]
    assert broken.metadata["allure_status"] == "broken"
    assert broken.error_message == "RuntimeError: fixture could not start the database"
    steps = by_name["test_sample > test_passes_with_steps_and_attachments"]
    assert steps.outputs[0].text.startswith("passed  outer step (")
    assert "\n  passed  inner step with an attachment" in steps.outputs[0].text
    assert len(steps.attachments) == 4  # step log, screenshot, stdout, stderr
    assert steps.metadata["labels"]["tag"] == ["smoke"]
    assert by_name["test_sample > test_unexpected_pass"].metadata["xpassed"] is True
    assert "test_sample > Grüße ünïcödé 名前" in by_name


def test_real_behave_results_match_what_behave_printed():
    # "2 scenarios passed, 2 failed, 2 error, 1 skipped"
    records = directory_records("behave-results")
    assert dict(Counter(str(r.status) for r in records)) == {"Passed": 2, "Failed": 4, "Skipped": 1}
    names = {r.test_name for r in records}
    assert (
        "features > Shopping cart > Outline with examples -- @1.2 [fruit=mango, count=3]" in names
    )


def test_containers_and_attachments_in_a_results_directory():
    reports = list(expand_inputs([str(FIXTURES / "pytest-results")]))
    names = [Path(r.path).name for r in reports]
    assert not [n for n in names if "-attachment" in n]
    containers = [r for r in reports if r.path.endswith("-container.json")]
    assert containers, "containers are recognised as Allure files"
    options = ParseOptions(warn=lambda message: None)
    assert [list(parse_report(c, options)) for c in containers] == [[]] * len(containers)


def test_sniff():
    assert detect(json.dumps(result()).encode()).format.name == "allure"
    container = {"uuid": "c", "children": ["u"], "befores": [], "afters": []}
    assert detect(json.dumps(container).encode()).format.name == "allure"
    assert (
        detect(b'{"uuid": "c", "befores": [{"name": "f", "status": "passed"}]}').format.name
        == "allure"
    )
    # JSON that an attachment might hold is not an Allure result
    assert detect(b'{"name": "x", "status": "ok", "items": []}').format is None
    assert detect(b'{"created": 1, "status": "passed", "uuid": "x"}').format is None


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        ("passed", {}, Status.PASSED),
        ("failed", {"message": "m"}, Status.FAILED),
        ("broken", {"message": "m"}, Status.FAILED),
        ("skipped", {"message": "why"}, Status.SKIPPED),
        ("unknown", {}, Status.FAILED),
        ("skipped", {"message": "XFAIL bug"}, Status.KNOWN_FAIL),
        ("failed", {"message": "m", "known": True}, Status.KNOWN_FAIL),
        ("broken", {"message": "m", "muted": True}, Status.KNOWN_FAIL),
    ],
)
def test_status_mapping(status, details, expected):
    (record,) = parse(result(status=status, statusDetails=details))
    assert record.status is expected
    assert record.metadata["allure_status"] == status


def test_times_names_and_metadata():
    document = result(
        "test_b",
        labels=[
            {"name": "parentSuite", "value": "tests"},
            {"name": "suite", "value": "mod"},
            {"name": "subSuite", "value": "Klass"},
            {"name": "feature", "value": "F"},
            {"name": "tag", "value": "t1"},
            {"name": "tag", "value": "t2"},
            {"name": "thread", "value": "123-Main"},
        ],
        parameters=[
            {"name": "x", "value": "1"},
            {"name": "secret", "value": "s", "mode": "masked"},
        ],
        links=[{"name": "BUG-1", "url": "https://bugs/1", "type": "issue"}],
    )
    (record,) = parse(document)
    assert record.test_name == "tests > mod > Klass > test_b [x=1]"
    assert record.started_at == datetime.fromtimestamp(T0 / 1000, UTC)
    assert record.execution_time_ms == 1500
    assert record.metadata["labels"] == {
        "parentSuite": "tests",
        "suite": "mod",
        "subSuite": "Klass",
        "feature": "F",
        "tag": ["t1", "t2"],
    }
    assert record.metadata["parameters"] == ["x=1", "secret=***"]
    assert record.metadata["links"] == ["https://bugs/1"]
    assert record.metadata["history_id"] == "h-test_b"


def test_failure_text_is_message_and_trace():
    details = {"message": "AssertionError: nope\n", "trace": "File t.py, line 3\n"}
    (record,) = parse(result(status="failed", statusDetails=details))
    assert record.error_message == "AssertionError: nope"
    assert record.failure_text == "AssertionError: nope\n\nFile t.py, line 3\n"


def test_attachments_of_the_result_and_of_nested_steps_are_references():
    steps = [
        {
            "name": "s1",
            "status": "failed",
            "statusDetails": {"message": "bad\nthing"},
            "start": T0,
            "stop": T0 + 5,
            "attachments": [{"name": "log", "source": "a-attachment.txt", "type": "text/plain"}],
            "steps": [
                {"name": "s2", "status": "passed", "attachments": [{"source": "b-attachment.png"}]}
            ],
        }
    ]
    document = result(attachments=[{"name": "shot", "source": "c-attachment.png"}], steps=steps)
    (record,) = parse(document)
    assert [a.path for a in record.attachments] == [
        "c-attachment.png",
        "a-attachment.txt",
        "b-attachment.png",
    ]
    assert record.attachments[0].marker == "attachment 'shot' (c-attachment.png)"
    assert record.outputs[0].text == "failed  s1 (5 ms): bad thing\n  passed  s2\n"


def test_attachment_source_with_a_path_is_ignored():
    warnings: list[str] = []
    document = result(attachments=[{"source": "../../etc/passwd"}, {"source": "/abs/x.txt"}])
    (record,) = parse(document, warnings)
    assert record.attachments == ()
    assert sum("not a file name" in w for w in warnings) == 2


def test_attachments_are_capped(monkeypatch):
    document = result(attachments=[{"source": f"{i}-attachment.txt"} for i in range(60)])
    warnings: list[str] = []
    (record,) = parse(document, warnings)
    assert len(record.attachments) == 50
    assert any("10 attachment(s)" in w for w in warnings)


def test_result_without_times_starts_at_the_file_mtime():
    document = result()
    del document["start"], document["stop"]
    mtime = datetime(2026, 1, 1, tzinfo=UTC)
    (record,) = parse(document, fallback_start=mtime)
    assert record.started_at == mtime
    assert record.metadata["time_source"] == "file_mtime"


def test_container_gives_no_record():
    assert (
        parse({"uuid": "c", "children": ["x"], "befores": [{"name": "f", "status": "broken"}]})
        == []
    )


# ---------------------------------------------------------------- retries


def _record(path: str, name: str, status: str, stop: int, **extra: Any) -> TestRecord:
    (record,) = parse(result(name, status, start=stop - 100, stop=stop, **extra), path=path)
    return record


def test_merge_keeps_the_attempt_that_stopped_last():
    first = _record("r/1-result.json", "t", "failed", T0 + 1000, statusDetails={"message": "boom"})
    last = _record("r/2-result.json", "t", "passed", T0 + 3000)
    middle = _record(
        "r/3-result.json", "t", "failed", T0 + 2000, statusDetails={"message": "again"}
    )
    (merged,) = allure.merge_attempts([last, first, middle])
    assert merged.status is Status.PASSED
    assert merged.metadata["attempts"] == 3 and merged.metadata["flaky"] is True
    assert merged.execution_time_ms == 300
    assert merged.started_at == datetime.fromtimestamp((T0 + 900) / 1000, UTC)
    history = merged.outputs[-1].text
    assert history.splitlines()[:3] == [
        "attempt 1: Failed (100 ms): boom",
        "attempt 2: Failed (100 ms): again",
        "attempt 3: Passed (100 ms)",
    ]


def test_merge_is_per_directory_and_passes_other_records_through():
    a = _record("r1/1-result.json", "t", "failed", T0 + 1000)
    b = _record("r2/1-result.json", "t", "passed", T0 + 2000)
    other = TestRecord(
        "other test", Status.PASSED, SourceRef("junit.xml"), metadata={"format": "junit"}
    )
    merged = list(allure.merge_attempts([a, other, b]))
    assert [(r.test_name, r.status) for r in merged] == [
        ("other test", Status.PASSED),
        ("mod > t", Status.FAILED),
        ("mod > t", Status.PASSED),
    ]
    assert "attempts" not in merged[1].metadata


# ---------------------------------------------------------------- hostile input


def test_truncated_result_is_refused():
    with pytest.raises(InputError, match="truncated"):
        parse(raw=json.dumps(result()).encode()[:-5])


def test_deeply_nested_steps_are_refused():
    raw = b'{"name": "x", "status": "passed", "steps": ' + b"[" * 300 + b"]" * 300 + b"}"
    with pytest.raises(InputError, match="nested deeper"):
        parse(raw=raw)


def test_nested_steps_within_the_limit_render(monkeypatch):
    step: dict[str, Any] = {"name": "leaf", "status": "passed"}
    for depth in range(60):
        step = {"name": f"s{depth}", "status": "passed", "steps": [step]}
    (record,) = parse(result(steps=[step]))
    assert record.outputs[0].text.count("\n") == 61


def test_huge_message_and_steps_are_capped():
    details = {"message": "m" * 100_000, "trace": "t" * 100_000}
    steps = [{"name": "x" * 1000, "status": "passed"} for _ in range(100)]
    (record,) = parse(
        result(status="failed", statusDetails=details, steps=steps), max_text_bytes=8000
    )
    assert len(record.error_message) == 1024
    assert len(record.failure_text) < 8100
    assert record.outputs[0].truncated_bytes > 0


def test_result_that_is_not_an_object_is_refused():
    with pytest.raises(InputError, match="JSON object"):
        parse(raw=b'["name", "status"]')

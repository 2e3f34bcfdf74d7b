"""reportlog (pytest --report-log) mapping rules on small inline logs, hostile lines, and the
real logs (fixture, shared corpus) against the counts pytest itself gave."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import reportlog
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURE = REPO / "fixtures" / "reportlog" / "pytest-reportlog.jsonl"
JSON_FIXTURE = REPO / "fixtures" / "pytest-json" / "pytest-json-report.json"
T0 = 1_700_000_000.0

START = {"pytest_version": "8.4.2", "$report_type": "SessionStart"}
FINISH = {"exitstatus": 0, "$report_type": "SessionFinish"}


def report(nodeid: str, when: str, outcome: str = "passed", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "nodeid": nodeid,
        "location": [nodeid.split("::")[0], 4, nodeid.split("::")[-1]],
        "keywords": {nodeid.split("::")[-1]: 1, "slow": 1},
        "outcome": outcome,
        "longrepr": None,
        "when": when,
        "user_properties": [],
        "sections": [],
        "duration": 0.5,
        "$report_type": "TestReport",
    }
    base.update(extra)
    return base


def run(nodeid: str, outcomes: tuple[str, str, str] = ("passed",) * 3, t: float = T0, **extra):
    """The three reports of one attempt; ``extra`` goes on the call report."""
    lines = []
    for index, (when, outcome) in enumerate(
        zip(("setup", "call", "teardown"), outcomes, strict=True)
    ):
        fields = {"start": t + index, "stop": t + index + 0.5}
        if when == "call":
            fields.update(extra)
        lines.append(report(nodeid, when, outcome, **fields))
    return lines


def parse(*entries: Any, warnings: list[str] | None = None, raw: bytes | None = None, **options):
    if raw is None:
        raw = b"".join(
            (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in entries
        )
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, **options)
    return list(reportlog.parse(io.BytesIO(raw), SourceRef("log.jsonl"), opts))


def one(*entries: Any, **options):
    records = parse(START, *entries, FINISH, **options)
    assert len(records) == 1, records
    return records[0]


CRASH = {
    "reprcrash": {"path": "/r/t.py", "lineno": 7, "message": "AssertionError: nope"},
    "reprtraceback": {
        "reprentries": [
            {
                "type": "ReprEntry",
                "data": {
                    "lines": ["    assert f()", "E   AssertionError: nope"],
                    "reprfuncargs": None,
                    "reprlocals": None,
                    "reprfileloc": {"path": "t.py", "lineno": 7, "message": "in test_f"},
                    "style": "short",
                },
            }
        ],
        "extraline": None,
        "style": "short",
    },
    "sections": [],
}


# ---------------------------------------------------------------- mapping rules


def test_three_phases_make_one_passed_record_with_report_times():
    record = one(*run("t.py::test_a"))
    assert record.test_name == "t.py::test_a"
    assert record.status is Status.PASSED
    assert record.started_at == datetime.fromtimestamp(T0, UTC)
    assert record.finished_at == datetime.fromtimestamp(T0 + 2.5, UTC)
    assert record.execution_time_ms == 1500
    assert record.metadata["format"] == "reportlog"
    assert record.metadata["report"] == "log.jsonl"
    assert record.metadata["pytest_version"] == "8.4.2"
    assert record.metadata["time_source"] == "report"
    assert record.metadata["file"] == "t.py"
    assert record.metadata["line"] == 5  # location is 0-based
    assert record.metadata["keywords"] == ["slow"]
    assert record.source.line == 2  # the line of its first report


def test_record_is_emitted_at_teardown_before_later_lines_are_read():
    lines = [START, *run("t.py::a")]
    raw = b"".join(json.dumps(e).encode() + b"\n" for e in lines) + b"{not json\n"
    records = reportlog.parse(io.BytesIO(raw), SourceRef("l"), ParseOptions(warn=print))
    assert next(records).test_name == "t.py::a"
    with pytest.raises(InputError):
        next(records)


def test_interleaved_tests_are_merged_by_nodeid():
    a, b = run("t.py::a"), run("t.py::b", ("passed", "failed", "passed"), longrepr=CRASH)
    records = parse(START, a[0], b[0], a[1], b[1], b[2], a[2], FINISH)
    assert [(r.test_name, r.status) for r in records] == [
        ("t.py::b", Status.FAILED),
        ("t.py::a", Status.PASSED),
    ]


def test_failed_call_renders_the_structured_longrepr():
    record = one(*run("t.py::f", ("passed", "failed", "passed"), longrepr=CRASH))
    assert record.status is Status.FAILED
    assert record.error_message == "AssertionError: nope"
    assert record.metadata["phase"] == "call"
    assert record.metadata["outcome"] == "failed"
    assert record.failure_text == ("t.py:7: in test_f\n    assert f()\nE   AssertionError: nope")


def test_long_style_traceback_has_funcargs_and_location_after_the_lines():
    longrepr = json.loads(json.dumps(CRASH))
    data = longrepr["reprtraceback"]["reprentries"][0]["data"]
    data["style"] = "long"
    data["reprfuncargs"] = {"args": [["x", "2"]]}
    data["reprfileloc"]["message"] = "AssertionError"
    record = one(*run("t.py::f", ("passed", "failed", "passed"), longrepr=longrepr))
    assert record.failure_text == (
        "x = 2\n\n    assert f()\nE   AssertionError: nope\n\nt.py:7: AssertionError"
    )


@pytest.mark.parametrize("phase", ["setup", "teardown"])
def test_setup_or_teardown_error_is_failed_with_its_phase(phase):
    outcomes = {"setup": ("failed", "passed", "passed"), "teardown": ("passed",) * 2 + ("failed",)}
    lines = run("t.py::e", outcomes[phase])
    failing = next(line for line in lines if line["when"] == phase)
    failing["longrepr"] = CRASH
    if phase == "setup":
        lines = [lines[0], lines[2]]  # pytest writes no call report after a setup error
    record = one(*lines)
    assert record.status is Status.FAILED
    assert record.metadata["phase"] == phase
    assert record.metadata["outcome"] == "error"
    assert record.error_message == "AssertionError: nope"


def test_wasxfail_on_a_skipped_call_is_known_fail_with_the_reason():
    record = one(
        *run("t.py::x", ("passed", "skipped", "passed"), wasxfail="bug #1", longrepr=CRASH)
    )
    assert record.status is Status.KNOWN_FAIL
    assert record.error_message == "bug #1"
    assert record.metadata["xfail_reason"] == "bug #1"
    assert record.metadata["outcome"] == "xfailed"
    assert "AssertionError: nope" in record.failure_text


def test_wasxfail_on_a_passed_call_is_an_xpass():
    record = one(*run("t.py::x", wasxfail="should fail"))
    assert record.status is Status.PASSED
    assert record.metadata["xpassed"] is True
    assert record.metadata["outcome"] == "xpassed"


def test_skip_marker_reason_comes_from_the_location_list():
    setup = report("t.py::s", "setup", "skipped", longrepr=["/r/t.py", 3, "Skipped: no db"])
    record = one(setup, report("t.py::s", "teardown"))
    assert record.status is Status.SKIPPED
    assert record.error_message == "no db"
    assert record.failure_text is None


def test_rerun_then_pass_is_one_flaky_passed_record_with_attempts():
    first = run("t.py::flaky", ("passed", "rerun", "passed"), longrepr=CRASH)
    first[1]["sections"] = [["Captured stdout call", "attempt 1\n"]]
    first[2]["sections"] = first[1]["sections"]
    second = run("t.py::flaky", t=T0 + 10)
    for line in second:
        line["sections"] = [["Captured stdout call", "attempt 1\n"]]
    second[1]["sections"] = second[2]["sections"] = [
        ["Captured stdout call", "attempt 1\n"],
        ["Captured stdout call", "attempt 2\n"],
    ]
    record = one(*first, *second)
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is True
    assert record.started_at == datetime.fromtimestamp(T0, UTC)
    assert record.finished_at == datetime.fromtimestamp(T0 + 12.5, UTC)
    outputs = {a.label: a.text for a in record.outputs}
    # The last attempt's output is stdout.log; sections repeated by later reports are
    # not attached twice.
    assert outputs["stdout.log"] == "attempt 2\n"
    assert outputs["attempt1-stdout.log"] == "attempt 1\n"
    assert outputs["attempts.txt"].startswith("attempt 1: rerun in call: AssertionError: nope")


def test_failing_every_attempt_is_failed_and_not_flaky():
    attempts = [
        *run("t.py::f", ("passed", "rerun", "passed"), longrepr=CRASH),
        *run("t.py::f", ("passed", "failed", "passed"), longrepr=CRASH),
    ]
    record = one(*attempts)
    assert record.status is Status.FAILED
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is False


def test_setup_rerun_starts_a_new_attempt():
    attempts = [
        report("t.py::s", "setup", "rerun", longrepr=CRASH),
        report("t.py::s", "teardown"),
        *run("t.py::s"),
    ]
    record = one(*attempts)
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is True


def test_sections_repeated_on_later_reports_are_attached_once():
    lines = run("t.py::o")
    lines[0]["sections"] = [["Captured stdout setup", "s\n"]]
    lines[1]["sections"] = [
        ["Captured stdout setup", "s\n"],
        ["Captured stdout call", "c\n"],
        ["Captured stderr call", "e\n"],
        ["Captured log call", "WARNING  x:t.py:3 w"],
    ]
    lines[2]["sections"] = lines[1]["sections"]
    record = one(*lines)
    outputs = {a.label: a.text for a in record.outputs}
    assert outputs == {
        "stdout.log": "--- setup ---\ns\n--- call ---\nc\n",
        "stderr.log": "e\n",
        "log.txt": "WARNING  x:t.py:3 w",
    }
    assert [a.label for a in record.outputs] == ["stdout.log", "stderr.log", "log.txt"]


def test_collect_error_is_a_synthetic_failed_record():
    collect = {
        "nodeid": "broken.py",
        "outcome": "failed",
        "longrepr": "ImportError while importing\nE   ModuleNotFoundError: x",
        "result": None,
        "sections": [],
        "$report_type": "CollectReport",
    }
    passed = {**collect, "nodeid": "", "outcome": "passed", "longrepr": None}
    records = parse(START, passed, collect, FINISH)
    assert len(records) == 1
    assert records[0].test_name == "broken.py"
    assert records[0].status is Status.FAILED
    assert records[0].synthetic
    assert records[0].metadata["phase"] == "collect"
    assert records[0].error_message == "ModuleNotFoundError: x"


def test_warning_lines_are_ignored_and_unknown_types_warned_once():
    warnings: list[str] = []
    warning = {"category": "UserWarning", "message": "w", "$report_type": "WarningMessage"}
    future = {"$report_type": "Future"}
    records = parse(START, warning, future, future, *run("t.py::a"), FINISH, warnings=warnings)
    assert len(records) == 1
    assert len(warnings) == 1 and "Future" in warnings[0]


def test_test_without_teardown_at_end_of_log_is_failed_and_incomplete():
    warnings: list[str] = []
    records = parse(START, *run("t.py::a"), *run("t.py::crash")[:2], warnings=warnings)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    crashed = records[1]
    assert crashed.metadata["incomplete"] is True
    assert "did not finish" in crashed.error_message
    assert any("never finished" in w for w in warnings)
    assert any("no SessionFinish" in w for w in warnings)


def test_abnormal_exit_status_is_warned():
    warnings: list[str] = []
    parse(
        START,
        *run("t.py::a"),
        {"exitstatus": 3, "$report_type": "SessionFinish"},
        warnings=warnings,
    )
    assert any("internal error" in w for w in warnings)


def test_interrupted_session_is_a_synthetic_failure_naming_the_running_test():
    records = parse(
        START,
        *run("t.py::a"),
        report("t.py::slow", "setup", start=T0 + 5, stop=T0 + 5.1),
        {"exitstatus": 2, "$report_type": "SessionFinish"},
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        ("pytest (session interrupted)", Status.FAILED, True),
    ]
    synthetic = records[1].metadata
    assert synthetic["reason"] == "session interrupted" and synthetic["running"] == ["t.py::slow"]
    assert "while t.py::slow was running" in records[1].error_message


def finish(status: int) -> dict[str, Any]:
    return {"exitstatus": status, "$report_type": "SessionFinish"}


@pytest.mark.parametrize(
    "status, cause",
    [
        (0, "the session ended first, with pytest exit status 0: pytest.exit()"),
        (3, "the session ended first, with pytest exit status 3: internal error"),
    ],
)
def test_a_test_cut_short_in_a_finished_session_says_how_it_ended(status, cause):
    # pytest.exit("…", returncode=0) or an INTERNALERROR: the log is whole, so neither
    # "pytest crashed" nor "the log was cut" is what happened.
    warnings: list[str] = []
    records = parse(
        START, *run("t.py::a"), report("t.py::cut", "setup"), finish(status), warnings=warnings
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        ("t.py::cut", Status.FAILED, False),
    ]
    assert records[1].metadata["incomplete"] is True
    assert records[1].error_message == (
        f"test did not finish: setup reported, then nothing ({cause})"
    )
    assert f"1 test(s) started but never finished ({cause}); reported as Failed" in warnings[-1]


@pytest.mark.parametrize(
    "status, name, reason",
    [
        (3, "pytest (internal error)", "internal error"),
        (4, "pytest (usage error)", "usage error"),
        (7, "pytest (exit status 7)", "abnormal exit"),
    ],
)
def test_an_abnormal_exit_without_a_failure_is_a_synthetic_failed_record(status, name, reason):
    # Without it the run would look green although pytest failed.
    records = parse(START, *run("t.py::a"), finish(status))
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        (name, Status.FAILED, True),
    ]
    metadata = records[1].metadata
    assert metadata["reason"] == reason and metadata["exit_status"] == status
    assert metadata["report_line"] == 5
    assert records[1].error_message.startswith(
        f"the test session ended abnormally with pytest exit status {status}"
    )


def test_an_abnormal_exit_after_a_failure_is_only_warned():
    warnings: list[str] = []
    records = parse(
        START, *run("t.py::a", ("passed", "failed", "passed")), finish(3), warnings=warnings
    )
    assert [(r.status, r.synthetic) for r in records] == [(Status.FAILED, False)]
    assert any("pytest exit status 3 (internal error)" in w for w in warnings)


@pytest.mark.parametrize("status", [0, 1, 5])
def test_normal_exit_statuses_add_no_synthetic_record(status):
    assert [r.synthetic for r in parse(START, *run("t.py::a"), finish(status))] == [False]


def test_an_interrupted_test_that_already_failed_keeps_its_own_record():
    records = parse(
        START,
        *run("t.py::f", ("passed", "failed", "passed"), longrepr=CRASH)[:2],
        finish(2),
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::f", Status.FAILED, False),
        ("pytest (session interrupted)", Status.FAILED, True),
    ]
    assert records[0].error_message == "AssertionError: nope"
    assert records[0].metadata["incomplete"] is True
    assert "running" not in records[1].metadata


def test_setup_plan_tests_are_skipped_not_passed():
    # pytest --setup-plan / --setup-only: setup and teardown reports, no call; pytest
    # says "no tests ran".
    record = one(report("t.py::a", "setup"), report("t.py::a", "teardown"))
    assert record.status is Status.SKIPPED
    assert record.metadata["outcome"] == "not run"
    assert record.metadata["setup_only"] is True
    assert "--setup-plan" in record.error_message


def xdist_crash(nodeid: str, outcome: str = "failed", worker: str = "gw1") -> dict[str, Any]:
    """What pytest-xdist logs when the worker running ``nodeid`` dies."""
    path = nodeid.split("::")[0]
    return report(
        nodeid,
        "???",
        outcome,
        location=[path, None, path],
        keywords={},
        longrepr=f"worker '{worker}' crashed while running '{nodeid}'",
        duration=0,
        start=0,
        stop=0,
    )


def test_an_xdist_worker_crash_is_the_failure_of_its_test():
    records = parse(
        START,
        *run("t.py::a"),
        report("t.py::hard_exit", "setup", start=T0 + 5, stop=T0 + 5.5),
        xdist_crash("t.py::hard_exit"),
        *run("t.py::c"),
        FINISH | {"exitstatus": 1},
    )
    assert [(r.test_name, r.status) for r in records] == [
        ("t.py::a", Status.PASSED),
        ("t.py::hard_exit", Status.FAILED),
        ("t.py::c", Status.PASSED),
    ]
    crashed = records[1]
    assert crashed.error_message == "worker 'gw1' crashed while running 't.py::hard_exit'"
    assert crashed.metadata["phase"] == "crash"
    assert crashed.metadata["outcome"] == "failed"
    assert "incomplete" not in crashed.metadata
    assert crashed.metadata["line"] == 5  # from the setup report: the crash has no line
    assert crashed.started_at == datetime.fromtimestamp(T0 + 5, UTC)


def test_an_xdist_crash_before_the_setup_report_is_still_one_failed_record():
    record = one(xdist_crash("t.py::early"))
    assert record.status is Status.FAILED
    assert record.metadata["file"] == "t.py" and "line" not in record.metadata
    assert record.started_at is None  # xdist writes start 0


def test_an_xdist_crash_rerun_that_passed_is_one_flaky_record():
    # pytest-rerunfailures turns the crash report's outcome into "rerun".
    record = one(
        report("t.py::a", "setup"), xdist_crash("t.py::a", "rerun"), *run("t.py::a", t=T0 + 10)
    )
    assert record.status is Status.PASSED
    assert record.metadata["attempts"] == 2
    assert record.metadata["flaky"] is True
    history = next(a.text for a in record.outputs if a.label == "attempts.txt")
    assert history.startswith("attempt 1: rerun in crash: worker 'gw1' crashed")


def subtest(nodeid: str, outcome: str, msg: str | None = None, **kwargs: str) -> dict[str, Any]:
    entry = report(nodeid, "call", outcome, **{"_subtest.context": {"msg": msg, "kwargs": kwargs}})
    entry["$report_type"] = "SubTestReport"
    if outcome == "failed":
        entry["longrepr"] = {"reprcrash": {"path": "t.py", "lineno": 3, "message": f"bad {kwargs}"}}
    return entry


def test_pytest9_subtests_stay_with_their_test_as_in_the_junit_view():
    warnings: list[str] = []
    setup, call, teardown = run("t.py::loop")
    records = parse(
        START,
        setup,
        subtest("t.py::loop", "passed", "check", i="0"),
        subtest("t.py::loop", "failed", "check", i="1"),
        subtest("t.py::loop", "skipped", "later"),
        call,  # unittest's subTest: the call itself passes
        teardown,
        FINISH,
        warnings=warnings,
    )
    (record,) = records
    assert record.status is Status.FAILED and warnings == []
    assert record.error_message == "subtest [check] (i=1): bad {'i': '1'}"
    assert record.metadata["subtests"] == {"passed": 1, "failed": 1, "skipped": 1}
    assert record.metadata["failed_subtests"] == ["[check] (i=1)"]
    assert "--- subtest [check] (i=1) ---" in record.failure_text


def test_passing_subtests_leave_the_test_passed():
    setup, call, teardown = run("t.py::ok")
    record = one(setup, subtest("t.py::ok", "passed", i="0"), call, teardown)
    assert record.status is Status.PASSED and record.metadata["subtests"] == {"passed": 1}


def test_old_reportlog_without_times_still_parses():
    lines = run("t.py::a")
    for line in lines:
        del line["start"], line["stop"]
    record = one(*lines)
    assert record.started_at is None
    assert "time_source" not in record.metadata


def test_finished_tests_leave_memory_at_once(monkeypatch):
    # With room for a single unfinished test, 2000 sequential tests must never overflow.
    monkeypatch.setattr(reportlog, "MAX_PENDING", 1)
    warnings: list[str] = []
    entries = [START] + [line for n in range(2000) for line in run(f"t.py::test_{n}")]
    records = parse(*entries, FINISH, warnings=warnings)
    assert len(records) == 2000
    assert warnings == []


def test_too_many_unfinished_tests_are_flushed_as_incomplete(monkeypatch):
    monkeypatch.setattr(reportlog, "MAX_PENDING", 1)
    warnings: list[str] = []
    a, b = run("t.py::a"), run("t.py::b")
    records = parse(START, a[0], b[0], b[1], b[2], a[1], a[2], FINISH, warnings=warnings)
    assert [(r.test_name, r.metadata.get("incomplete")) for r in records] == [
        ("t.py::a", True),
        ("t.py::b", None),
        ("t.py::a", None),
    ]
    assert any("without finishing" in w for w in warnings)


# ---------------------------------------------------------------- hostile lines


@pytest.mark.parametrize(
    "bad, reason",
    [
        (b'{"$report_type": "TestReport", "duration": NaN}', "NaN"),
        (b'{"$report_type": "SessionStart", "$report_type": "TestReport"}', "duplicate key"),
        (b"[" * 100_000, "nested deeper than 200"),
        (b'{"nodeid": "t.py::a", "when": "setup", "outc', "truncated"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"nodeid": "x"}', 'no "\\$report_type"'),
        (b'{"$report_type": "TestReport", "when": "call"}', "nodeid"),
    ],
)
def test_hostile_line_is_refused_with_its_line_number(bad, reason):
    head = json.dumps(START).encode() + b"\n\n"  # a blank line still counts
    with pytest.raises(InputError, match=reason) as caught:
        parse(raw=head + bad + b"\n")
    assert caught.value.path == "log.jsonl"
    assert caught.value.line == 3


def test_overlong_line_is_refused(monkeypatch):
    monkeypatch.setattr(reportlog, "MAX_LINE_BYTES", 100)
    raw = json.dumps(START).encode() + b"\n" + b'{"x": "' + b"a" * 200 + b'"}\n'
    with pytest.raises(InputError, match="longer than 100 bytes") as caught:
        parse(raw=raw)
    assert caught.value.line == 2


def test_salvage_keeps_the_tests_before_a_cut_last_line():
    complete = b"".join(json.dumps(e).encode() + b"\n" for e in [START, *run("t.py::a")])
    warnings: list[str] = []
    records = parse(raw=complete + b'{"nodeid": "t.py::b", "wh', salvage=True, warnings=warnings)
    assert [r.test_name for r in records] == ["t.py::a"]
    assert any("truncated" in w for w in warnings)
    with pytest.raises(InputError, match="truncated"):
        parse(raw=complete + b'{"nodeid": "t.py::b", "wh')


# ---------------------------------------------------------------- real reports


def _read(path: Path):
    with path.open("rb") as handle:
        return list(reportlog.parse(handle, SourceRef(str(path)), ParseOptions(warn=print)))


@pytest.mark.skipif(
    not (FIXTURE.is_file() and JSON_FIXTURE.is_file()), reason="no reportlog/json fixtures"
)
def test_fixture_matches_what_pytest_reported():
    # Both fixtures come from the same suite; pytest-json-report's summary is pytest's own
    # count of that run.
    summary = json.loads(JSON_FIXTURE.read_bytes())["summary"]
    records = _read(FIXTURE)
    counts = Counter(r.status.value for r in records)
    assert len(records) == summary["total"]
    assert counts["Failed"] == summary["failed"] + summary["error"]
    assert counts["Skipped"] == summary["skipped"]
    assert counts["KnownFail"] == summary["xfailed"]
    assert counts["Passed"] == summary["passed"] + summary["xpassed"] + summary["rerun"]
    flaky = [r.test_name for r in records if r.metadata.get("flaky")]
    assert flaky == ["test_sample.py::test_flaky_passes_on_second_try"]
    # Sections are repeated on every later report; each attempt's output appears once.
    by_name = {r.test_name: r for r in records}
    flaky_outputs = {a.label: a.text for a in by_name[flaky[0]].outputs}
    assert flaky_outputs["stdout.log"] == "flaky attempt 2\n"
    assert flaky_outputs["attempt1-stdout.log"] == "flaky attempt 1\n"


def _corpus_rows() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "INDEX.tsv", newline="") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r["format"] == "reportlog"]


def _int(value: str) -> int:
    return int(value) if value.strip() else 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("row", _corpus_rows(), ids=lambda r: r["relpath"])
def test_corpus_counts_match_the_index(row):
    records = _read(CORPUS / row["relpath"])
    counts = Counter(r.status.value for r in records)
    assert len(records) == _int(row["tests"])
    # INDEX counts setup/teardown errors apart; records fold them into Failed + phase.
    assert counts["Failed"] == _int(row["failures"]) + _int(row["errors"])
    assert counts["Skipped"] == _int(row["skipped"])


def test_module_level_skip_is_a_synthetic_skipped_record():
    collect = {
        "nodeid": "t_windows.py",
        "outcome": "skipped",
        "longrepr": ["t_windows.py", 1, "Skipped: windows only"],
        "$report_type": "CollectReport",
    }
    (record,) = parse(START, collect, FINISH)
    assert record.status is Status.SKIPPED
    assert record.synthetic
    assert record.error_message == "windows only"


def test_chained_exceptions_are_rendered_with_their_description():
    first = json.loads(json.dumps(CRASH["reprtraceback"]))
    second = json.loads(json.dumps(first))
    second["reprentries"][0]["data"]["lines"] = ["    raise RuntimeError()", "E   RuntimeError"]
    chain = [
        [first, CRASH["reprcrash"], "The above exception was the direct cause of:"],
        [second, {"path": "t.py", "lineno": 9, "message": "RuntimeError"}, None],
    ]
    longrepr = {**CRASH, "chain": chain}
    record = one(*run("t.py::c", ("passed", "failed", "passed"), longrepr=longrepr))
    text = record.failure_text
    assert (
        text.index("AssertionError: nope")
        < text.index("direct cause")
        < text.index("E   RuntimeError")
    )


def test_a_log_without_any_test_is_a_warning_not_a_silent_zero():
    warnings: list[str] = []
    assert parse(START, {"exitstatus": 5, "$report_type": "SessionFinish"}, warnings=warnings) == []
    assert warnings == ["log.jsonl: the report-log holds no test result"]


#: fixture -> (tests, failed tests, synthetic reasons); pytest's own summary in comments
#: (fixtures/reportlog/README.md).

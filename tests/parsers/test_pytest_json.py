"""pytest-json-report mapping rules and the hardened JSON loader, on small inline documents;
then the real reports (fixtures, shared corpus) against the counts pytest itself gave."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import jsonsafe, pytest_json
from junit2af.parsers.base import ParseOptions
from junit2af.records import ERROR_MESSAGE_MAX, SourceRef, Status

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURE = REPO / "fixtures" / "pytest-json" / "pytest-json-report.json"
CREATED = 1_700_000_000.0


def stage(outcome: str = "passed", duration: float = 0.001, **extra: Any) -> dict[str, Any]:
    return {"duration": duration, "outcome": outcome, **extra}


def test_entry(nodeid: str, outcome: str = "passed", **stages: Any) -> dict[str, Any]:
    """A finished test: the stages given, with a passed setup and teardown unless given
    (pytest-json-report writes both for every test that finished; the added ones take no
    time); ``None`` leaves one out."""
    entry: dict[str, Any] = {"nodeid": nodeid, "lineno": 9, "outcome": outcome}
    full = {"setup": stage(duration=0.0), **(stages or {"call": stage()})}
    full.setdefault("teardown", stage(duration=0.0))
    entry.update({name: value for name, value in full.items() if value is not None})
    return entry


test_entry.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def document(*tests: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"created": CREATED, "duration": 1.0, "exitcode": 0, "root": "/r"}
    doc.update(top)
    doc["tests"] = list(tests)
    return doc


def parse(doc: dict[str, Any] | bytes, warnings: list[str] | None = None, **options: Any):
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, **options)
    return list(pytest_json.parse(io.BytesIO(data), SourceRef("r.json"), opts))


def one(*tests: dict[str, Any], **top: Any):
    records = parse(document(*tests, **top))
    assert len(records) == 1, records
    return records[0]


# ---------------------------------------------------------------- mapping rules


def test_passed_test_sums_phase_durations_and_names_by_nodeid():
    record = one(
        test_entry(
            "t.py::C::test_a[1]",
            setup=stage(duration=0.010),
            call=stage(duration=0.100),
            teardown=stage(duration=0.005),
        )
    )
    assert record.test_name == "t.py::C::test_a[1]"
    assert record.status is Status.PASSED
    assert record.execution_time_ms == 115
    assert record.metadata["format"] == "pytest-json"
    assert record.metadata["report"] == "r.json"
    assert record.metadata["nodeid"] == "t.py::C::test_a[1]"
    assert record.metadata["outcome"] == "passed"
    # pytest's location line is 0-based.
    assert record.metadata["file"] == "t.py"
    assert record.metadata["line"] == 10


def test_start_times_count_back_from_created_which_is_the_session_end():
    records = parse(
        document(
            test_entry("t.py::a", call=stage(duration=2.0)),
            test_entry("t.py::b", call=stage(duration=3.0)),
            duration=10.0,
        )
    )
    end = datetime.fromtimestamp(CREATED, UTC)
    assert records[0].started_at == end - timedelta(seconds=5)
    assert records[1].started_at == end - timedelta(seconds=3)
    assert records[1].finished_at == end
    assert records[0].metadata["time_source"] == "report_created"
    assert records[0].started_at.tzinfo is not None


def test_start_never_precedes_the_session_start():
    record = one(test_entry("t.py::a", call=stage(duration=50.0)), duration=2.0)
    assert record.started_at == datetime.fromtimestamp(CREATED - 2.0, UTC)


def test_without_created_the_file_mtime_is_the_session_end():
    mtime = datetime(2025, 1, 1, tzinfo=UTC)
    doc = document(test_entry("t.py::a", call=stage(duration=1.0)))
    del doc["created"]
    (record,) = parse(doc, fallback_start=mtime)
    assert record.started_at == mtime - timedelta(seconds=1)
    assert record.metadata["time_source"] == "file_mtime"


def test_failed_call_uses_crash_message_and_longrepr():
    record = one(
        test_entry(
            "t.py::f",
            "failed",
            setup=stage(),
            call=stage(
                "failed",
                crash={"path": "/r/t.py", "lineno": 3, "message": "AssertionError: boom"},
                longrepr="def f():\n>   assert 0\nE   AssertionError: boom",
            ),
            teardown=stage(),
        )
    )
    assert record.status is Status.FAILED
    assert record.error_message == "AssertionError: boom"
    assert record.failure_text.startswith("def f():")
    assert record.metadata["phase"] == "call"


def test_without_crash_the_E_line_of_longrepr_is_the_message():
    record = one(
        test_entry(
            "t.py::f",
            "failed",
            call=stage(
                "failed", longrepr="code\n>  x()\nE   ValueError: bad\n\nt.py:3: ValueError"
            ),
        )
    )
    assert record.error_message == "ValueError: bad"


def test_error_message_is_clipped_to_the_api_limit():
    record = one(
        test_entry("t.py::f", "failed", call=stage("failed", crash={"message": "x" * 5000}))
    )
    assert len(record.error_message) == ERROR_MESSAGE_MAX


@pytest.mark.parametrize("phase", ["setup", "teardown"])
def test_setup_or_teardown_error_is_a_failed_record_with_its_phase(phase):
    stages = {"setup": stage(), "call": stage(), "teardown": stage()}
    stages[phase] = stage("failed", crash={"message": f"{phase} exploded"}, longrepr="tb")
    if phase == "setup":
        del stages["call"]  # pytest writes no call stage after a setup error
    record = one(test_entry("t.py::e", "error", **stages))
    assert record.status is Status.FAILED
    assert record.metadata["phase"] == phase
    assert record.metadata["outcome"] == "error"
    assert record.error_message == f"{phase} exploded"


def test_call_failure_and_teardown_error_keep_both_tracebacks():
    record = one(
        test_entry(
            "t.py::f",
            "error",
            setup=stage(),
            call=stage("failed", crash={"message": "first"}, longrepr="call tb"),
            teardown=stage("failed", crash={"message": "second"}, longrepr="teardown tb"),
        )
    )
    assert record.error_message == "first"
    assert record.metadata["phase"] == "call"
    assert "--- call ---\ncall tb" in record.failure_text
    assert "--- teardown ---\nteardown tb" in record.failure_text


def test_xfailed_is_known_fail_with_the_expected_failure():
    record = one(
        test_entry(
            "t.py::x",
            "xfailed",
            setup=stage(),
            call=stage("skipped", crash={"message": "assert 0 == 1"}, longrepr="E assert 0 == 1"),
            teardown=stage(),
        )
    )
    assert record.status is Status.KNOWN_FAIL
    assert record.error_message == "assert 0 == 1"
    assert record.failure_text == "E assert 0 == 1"


def test_xpassed_is_passed_and_flagged():
    record = one(test_entry("t.py::x", "xpassed"))
    assert record.status is Status.PASSED
    assert record.metadata["xpassed"] is True


def test_strict_xpass_is_failed_as_pytest_reports_it():
    record = one(
        test_entry(
            "t.py::x",
            "failed",
            call=stage("failed", longrepr="[XPASS(strict)] reason"),
        )
    )
    assert record.status is Status.FAILED
    assert record.error_message == "[XPASS(strict)] reason"


def test_skip_reason_comes_from_the_location_tuple_repr():
    record = one(
        test_entry(
            "t.py::s",
            "skipped",
            setup=stage("skipped", longrepr="('/r/t.py', 50, \"Skipped: can't run here\")"),
            teardown=stage(),
        )
    )
    assert record.status is Status.SKIPPED
    assert record.error_message == "can't run here"


def test_rerun_outcome_means_passed_on_a_later_attempt():
    record = one(
        test_entry(
            "t.py::flaky",
            "rerun",
            setup=stage(),
            call=stage(stdout="attempt 2\n"),
            teardown=stage(),
        )
    )
    assert record.status is Status.PASSED
    assert record.metadata["flaky"] is True
    assert record.metadata["rerun"] is True
    assert record.metadata["outcome"] == "rerun"


def test_unknown_outcome_falls_back_to_the_stages():
    failed = one(test_entry("t.py::a", "weird", call=stage("failed", crash={"message": "m"})))
    passed = one(test_entry("t.py::b", "weird"))
    assert failed.status is Status.FAILED
    assert passed.status is Status.PASSED


def test_output_of_one_phase_is_attached_as_is():
    record = one(test_entry("t.py::o", setup=stage(), call=stage(stdout="out\n", stderr="err\n")))
    assert [(a.label, a.text) for a in record.outputs] == [
        ("stdout.log", "out\n"),
        ("stderr.log", "err\n"),
    ]


def test_output_of_several_phases_gets_phase_headers():
    record = one(
        test_entry(
            "t.py::o",
            setup=stage(stdout="s\n"),
            call=stage(stdout="c\n"),
            teardown=stage(stdout="t"),
        )
    )
    (stdout,) = record.outputs
    assert stdout.text == "--- setup ---\ns\n--- call ---\nc\n--- teardown ---\nt\n"


def test_log_records_become_log_txt_in_pytest_format():
    log = [{"name": "app", "levelname": "WARNING", "filename": "t.py", "lineno": 4, "msg": "hi"}]
    record = one(test_entry("t.py::l", call=stage(log=log)))
    (artifact,) = record.outputs
    assert artifact.label == "log.txt"
    assert artifact.text == "WARNING  app:t.py:4 hi\n"


def test_huge_output_is_cut_with_a_marker():
    record = parse(
        document(test_entry("t.py::o", call=stage(stdout="x" * 500))), max_text_bytes=100
    )[0]
    (artifact,) = record.outputs
    assert artifact.truncated_bytes == 400
    assert artifact.text.endswith("[truncated 400 bytes]\n")


def test_failed_collector_is_a_synthetic_failed_record_first():
    doc = document(
        test_entry("ok.py::t"),
        collectors=[
            {"nodeid": "", "outcome": "passed", "result": []},
            {
                "nodeid": "broken.py",
                "outcome": "failed",
                "result": [],
                "longrepr": "ImportError while importing\nE   ModuleNotFoundError: No module x",
            },
        ],
    )
    records = parse(doc)
    assert [r.test_name for r in records] == ["broken.py", "ok.py::t"]
    broken = records[0]
    assert broken.status is Status.FAILED
    assert broken.synthetic
    assert broken.metadata["phase"] == "collect"
    assert broken.error_message == "ModuleNotFoundError: No module x"
    assert "ImportError" in broken.failure_text


def test_keywords_keep_markers_and_drop_the_nodeid_parts():
    entry = test_entry("t.py::test_k[2]")
    entry["keywords"] = ["test_k[2]", "t.py", "", "pytestmark", "slow", "2", "slow"]
    record = one(entry)
    assert record.metadata["keywords"] == ["slow", "2"]


def test_long_nodeid_is_fitted_to_the_api_limit():
    record = one(test_entry("t.py::" + "x" * 400))
    assert len(record.test_name) == 255


def test_summary_only_report_is_refused_clearly():
    with pytest.raises(InputError, match="--json-report-summary"):
        parse({"created": CREATED, "exitcode": 0, "summary": {"total": 3}})


@pytest.mark.parametrize(
    "doc, reason",
    [
        ([1, 2], "top level is not an object"),
        ({"exitcode": 0, "tests": {}}, '"tests" is not a list'),
        ({"exitcode": 0, "tests": [{"outcome": "passed"}]}, r"tests\[0\]"),
    ],
)
def test_wrong_shapes_are_refused(doc, reason):
    with pytest.raises(InputError, match=reason):
        parse(json.dumps(doc).encode())


# ---------------------------------------------------------------- hostile JSON


@pytest.mark.parametrize(
    "data, line, reason",
    [
        (b'{"tests": [],\n "created": NaN}', 2, "NaN"),
        (b'{"tests": [],\n\n "x": -Infinity}', 3, "Infinity"),
        (b'{"tests": [],\n "x": 1e999}', 2, "overflows"),
        (b'{"tests": [],\n "x": ' + b"9" * 5000 + b"}", 2, "digits"),
        (b'{"tests": [],\n "tests": []}', 2, 'duplicate key "tests"'),
        (b'{"tests": [{"nodeid": "a",\n\n "nodeid": "b"}]}', 3, 'duplicate key "nodeid"'),
        (b"[" * 100_000, 1, "nested deeper than 200"),
        (b'{"a":\n' + b'{"a":' * 300 + b"1" + b"}" * 301, 2, "nested deeper than 200"),
        (b'{"tests": [\n {"nodeid": "a", "outc', 2, "truncated"),
        (b'{"tests": []}\n{"tests": []}', 2, "Extra data"),
    ],
)
def test_hostile_json_is_refused_with_the_line(data, line, reason):
    with pytest.raises(InputError, match=reason) as caught:
        parse(data)
    assert caught.value.path == "r.json"
    assert caught.value.line == line


def test_brackets_inside_strings_do_not_count_as_nesting():
    name = "t.py::test[" + "[" * 1000 + "]"
    record = one(test_entry(name))
    assert record.metadata["nodeid"] == name


def test_escaped_quotes_do_not_hide_a_nesting_bomb():
    assert jsonsafe.too_deep_at(b'["\\"", ' + b"[" * 300) is not None
    assert jsonsafe.too_deep_at(b'["\\\\", ' + b"[" * 300) is not None
    assert jsonsafe.too_deep_at(b'["[[[[\\"' + b"[" * 300 + b'"]') is None


def test_bracket_and_quote_floods_scan_in_linear_time():
    # Each of these defeats the cheap bounds; a quadratic scan would take minutes.
    assert jsonsafe.too_deep_at(b'["' + b'[\\"' * 200_000 + b'"]') is None
    assert jsonsafe.too_deep_at(b'"\\"[' * 200_000) is None
    assert jsonsafe.too_deep_at(b'"\\"' * 200_000 + b"[" * 300) is None
    assert jsonsafe.too_deep_at(b'"a",' * 200_000 + b"[" * 300) == 800_200


def test_document_over_the_size_cap_is_refused_before_parsing():
    with pytest.raises(InputError, match="larger than 100 bytes"):
        jsonsafe.read_document(io.BytesIO(b" " * 101), "r.json", max_bytes=100)
    assert len(jsonsafe.read_document(io.BytesIO(b" " * 100), "r.json", max_bytes=100)) == 100


def test_empty_document_is_refused():
    with pytest.raises(InputError, match="empty"):
        parse(b"  \n")


def test_invalid_utf8_is_replaced_with_one_warning():
    warnings: list[str] = []
    doc = json.dumps(document(test_entry("t.py::u", call=stage(stdout="@")))).encode()
    records = parse(doc.replace(b"@", b"\xff\xfe"), warnings)
    assert records[0].outputs[0].text == "\ufffd\ufffd"
    assert len(warnings) == 1 and "not UTF-8" in warnings[0]


def test_utf8_bom_is_accepted():
    records = parse(b"\xef\xbb\xbf" + json.dumps(document(test_entry("t.py::b"))).encode())
    assert records[0].test_name == "t.py::b"


# ---------------------------------------------------------------- real reports


def _counts(records) -> Counter[str]:
    return Counter(r.status.value for r in records)


@pytest.mark.skipif(not FIXTURE.is_file(), reason=f"no fixture at {FIXTURE}")
def test_fixture_matches_pytest_json_report_summary():
    summary = json.loads(FIXTURE.read_bytes())["summary"]
    with FIXTURE.open("rb") as handle:
        records = list(pytest_json.parse(handle, SourceRef(str(FIXTURE)), ParseOptions(warn=print)))
    counts = _counts(records)
    assert len(records) == summary["total"]
    assert counts["Failed"] == summary.get("failed", 0) + summary.get("error", 0)
    assert counts["Skipped"] == summary.get("skipped", 0)
    assert counts["KnownFail"] == summary.get("xfailed", 0)
    passed = summary.get("passed", 0) + summary.get("xpassed", 0) + summary.get("rerun", 0)
    assert counts["Passed"] == passed
    assert sum(bool(r.metadata.get("flaky")) for r in records) == summary.get("rerun", 0)
    phases = Counter(r.metadata.get("phase") for r in records if r.status is Status.FAILED)
    assert phases["setup"] + phases["teardown"] == summary.get("error", 0)


def _corpus_rows() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "INDEX.tsv", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [r for r in rows if r["format"] == "pytest-json"]


def _int(value: str) -> int:
    return int(value) if value.strip() else 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("row", _corpus_rows(), ids=lambda r: r["relpath"])
def test_corpus_counts_match_the_index(row):
    path = CORPUS / row["relpath"]
    with path.open("rb") as handle:
        records = list(pytest_json.parse(handle, SourceRef(str(path)), ParseOptions()))
    counts = _counts(records)
    assert len(records) == _int(row["tests"])
    # INDEX counts setup/teardown errors apart; records fold them into Failed + phase.
    assert counts["Failed"] == _int(row["failures"]) + _int(row["errors"])
    assert counts["Skipped"] == _int(row["skipped"])
    notes = dict(
        part.split("=", 1) for part in row["notes"].replace(";", " ").split() if "=" in part
    )
    if "xfailed" in notes:
        assert counts["KnownFail"] == int(notes["xfailed"])
    if "xpassed" in notes:
        assert sum(bool(r.metadata.get("xpassed")) for r in records) == int(notes["xpassed"])


def test_interrupted_session_is_a_synthetic_failure_naming_the_running_test():
    records = parse(
        document(
            test_entry("t.py::a"),
            test_entry("t.py::slow", setup=stage(), teardown=None),
            exitcode=2,
            summary={"passed": 2, "total": 2, "collected": 3},
        )
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        ("pytest (session interrupted)", Status.FAILED, True),
    ]
    metadata = records[1].metadata
    assert metadata["reason"] == "session interrupted" and metadata["running"] == ["t.py::slow"]
    assert metadata["collected"] == 3


# ---------------------------------------------------------------- sessions cut short


@pytest.mark.parametrize(
    "exitcode, cause",
    [
        (0, "the session ended first, with pytest exit code 0: pytest.exit()"),
        (3, "the session ended first, with pytest exit code 3: internal error"),
        (1, "the session ended first, with pytest exit code 1"),
    ],
)
def test_a_test_cut_short_outside_an_interruption_is_failed_and_incomplete(exitcode, cause):
    # pytest.exit("…", returncode=0) or an INTERNALERROR during a test: json-report keeps
    # its setup stage only, with outcome "passed". The body never ran: never Passed.
    warnings: list[str] = []
    records = parse(
        document(
            test_entry("t.py::a"),
            test_entry("t.py::cut", setup=stage(), teardown=None),
            exitcode=exitcode,
        ),
        warnings,
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        ("t.py::cut", Status.FAILED, False),
    ]
    cut = records[1]
    assert cut.metadata["incomplete"] is True
    assert cut.metadata["outcome"] == "incomplete"
    assert cut.error_message == f"test did not finish: setup reported, then nothing ({cause})"
    assert f"1 test(s) started but never finished ({cause}); reported as Failed" in warnings[0]


def test_a_test_cut_in_its_teardown_is_incomplete_and_keeps_its_failure():
    record = one(
        test_entry(
            "t.py::f",
            "failed",
            call=stage("failed", crash={"message": "boom"}, longrepr="E boom"),
            teardown=None,
        ),
        exitcode=3,
    )
    assert record.status is Status.FAILED
    assert record.metadata["incomplete"] is True
    assert record.metadata["phase"] == "call"
    assert record.error_message == "boom"


def test_an_internal_error_with_a_cut_test_warns_and_adds_no_synthetic_record():
    warnings: list[str] = []
    records = parse(
        document(test_entry("t.py::boom", setup=stage(), teardown=None), exitcode=3), warnings
    )
    assert [(r.test_name, r.status) for r in records] == [("t.py::boom", Status.FAILED)]
    assert "r.json: pytest exit code 3 (internal error): the results may be incomplete" in warnings


@pytest.mark.parametrize(
    "exitcode, name, reason",
    [
        (3, "pytest (internal error)", "internal error"),
        (4, "pytest (usage error)", "usage error"),
        (7, "pytest (exit code 7)", "abnormal exit"),
    ],
)
def test_an_abnormal_exit_without_a_failure_is_a_synthetic_failed_record(exitcode, name, reason):
    # Without it the run would look green although pytest failed.
    records = parse(document(test_entry("t.py::a"), exitcode=exitcode))
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::a", Status.PASSED, False),
        (name, Status.FAILED, True),
    ]
    metadata = records[1].metadata
    assert metadata["reason"] == reason and metadata["exit_status"] == exitcode
    assert records[1].error_message.startswith(
        f"the test session ended abnormally with pytest exit code {exitcode}"
    )


def test_a_usage_error_without_any_test_is_a_failed_record_not_just_a_warning():
    # pytest tests/missing.py: "ERROR: file or directory not found", exit 4, no tests.
    warnings: list[str] = []
    records = parse(document(exitcode=4, summary={"total": 0, "collected": 0}), warnings)
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("pytest (usage error)", Status.FAILED, True)
    ]
    assert warnings == []


@pytest.mark.parametrize("exitcode", [0, 1, 5])
def test_normal_exit_codes_add_no_synthetic_record(exitcode):
    records = parse(document(test_entry("t.py::a"), exitcode=exitcode))
    assert [r.synthetic for r in records] == [False]


def test_an_interrupted_test_that_already_failed_keeps_its_own_record():
    records = parse(
        document(
            test_entry("t.py::f", "failed", call=stage("failed", longrepr="E nope"), teardown=None),
            exitcode=2,
        )
    )
    assert [(r.test_name, r.status, r.synthetic) for r in records] == [
        ("t.py::f", Status.FAILED, False),
        ("pytest (session interrupted)", Status.FAILED, True),
    ]
    assert records[0].error_message == "nope"
    assert "running" not in records[1].metadata


def test_setup_plan_tests_are_skipped_not_passed():
    # pytest --setup-plan / --setup-only: setup and teardown stages, no call; pytest says
    # "no tests ran" and json-report "passed".
    record = one(test_entry("t.py::a", setup=stage(), teardown=stage()))
    assert record.status is Status.SKIPPED
    assert record.metadata["setup_only"] is True
    assert record.metadata["outcome"] == "not run"
    assert "--setup-plan" in record.error_message


def test_collect_only_report_is_the_no_test_warning():
    warnings: list[str] = []
    assert parse(document(summary={"total": 0, "collected": 2}), warnings) == []
    assert warnings == ["r.json: the report holds no test result"]


XDIST_HEADER = "[gw1] linux -- Python 3.11.7 /venv/bin/python3"


def test_an_xdist_worker_crash_is_the_failure_of_its_test():
    crash = stage(
        "failed",
        duration=0,
        longrepr=f"{XDIST_HEADER}\nworker 'gw1' crashed while running 't.py::hard_exit'",
    )
    record = one(
        test_entry("t.py::hard_exit", "failed", setup=stage(), teardown=None, **{"???": crash})
    )
    assert record.status is Status.FAILED
    assert record.error_message == "worker 'gw1' crashed while running 't.py::hard_exit'"
    assert record.metadata["phase"] == "crash"
    assert "incomplete" not in record.metadata
    assert record.failure_text == crash["longrepr"]


def test_a_rerun_after_an_xdist_crash_that_passed_is_flaky():
    crash = stage("rerun", longrepr="worker 'gw0' crashed while running 't.py::a'")
    record = one(test_entry("t.py::a", "rerun", **{"???": crash}))
    assert record.status is Status.PASSED
    assert record.metadata["flaky"] is True


def test_a_rerun_after_an_xdist_crash_that_was_cut_is_incomplete():
    crash = stage("rerun", longrepr="worker 'gw0' crashed while running 't.py::a'")
    record = one(test_entry("t.py::a", "rerun", teardown=None, **{"???": crash}), exitcode=3)
    assert record.status is Status.FAILED
    assert record.metadata["incomplete"] is True


def test_the_xdist_header_of_a_longrepr_is_not_the_message():
    record = one(
        test_entry("t.py::f", "failed", call=stage("failed", longrepr=f"{XDIST_HEADER}\nboom"))
    )
    assert record.error_message == "boom"


def test_failed_outcome_with_passing_stages_is_a_failed_subtest():
    record = one(test_entry("t.py::loop", outcome="failed"))
    assert record.status is Status.FAILED
    assert record.error_message.startswith("a subtest failed")


def test_a_report_without_any_test_is_a_warning_not_a_silent_zero():
    warnings: list[str] = []
    assert parse(document(exitcode=5), warnings) == []
    assert warnings == ["r.json: the report holds no test result"]


#: fixture -> (tests, failed tests, synthetic reasons); pytest's own summary in comments
#: (fixtures/pytest-json/README.md).

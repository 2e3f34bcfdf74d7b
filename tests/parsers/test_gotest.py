"""go test -json (test2json) rules on small inline event streams, and the real reports
(fixtures) against what go test and gotestsum printed."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import Head, detect, gotest
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "go-test-json"
PKG = "example.com/p"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)


def ev(action: str, test: str | None = None, output: str | None = None, **extra: Any) -> str:
    event: dict[str, Any] = {"Time": "2026-03-01T10:00:00.123456789Z", "Action": action}
    event["Package"] = extra.pop("Package", PKG)
    if test is not None:
        event["Test"] = test
    if output is not None:
        event["Output"] = output
    event.update(extra)
    return json.dumps(event)


def passing(test: str, output: str = "") -> list[str]:
    lines = [ev("run", test), ev("output", test, f"=== RUN   {test}\n")]
    if output:
        lines.append(ev("output", test, output))
    lines += [ev("output", test, f"--- PASS: {test} (0.00s)\n"), ev("pass", test, Elapsed=0.25)]
    return lines


def failing(test: str, *outputs: str) -> list[str]:
    lines = [ev("run", test), ev("output", test, f"=== RUN   {test}\n")]
    lines += [ev("output", test, text) for text in outputs]
    lines += [ev("output", test, f"--- FAIL: {test} (0.00s)\n"), ev("fail", test, Elapsed=0.5)]
    return lines


def parse(lines: list[str] | str, warnings: list[str] | None = None, **options: Any):
    text = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(gotest.parse(io.BytesIO(text.encode()), SourceRef("go.json"), opts))


def by_name(records: list[TestRecord]) -> dict[str, TestRecord]:
    return {r.test_name: r for r in records}


def test_pass_fail_skip_with_times_output_and_messages():
    lines = [
        *passing("TestOK", "    a_test.go:3: hello\n"),
        *failing("TestBad", "    a_test.go:9: got 1, want 2\n"),
        ev("run", "TestSkip"),
        ev("output", "TestSkip", "    a_test.go:12: not today\n"),
        ev("output", "TestSkip", "--- SKIP: TestSkip (0.00s)\n"),
        ev("skip", "TestSkip", Elapsed=0),
        ev("output", None, "FAIL\n"),
        ev("fail", None, Elapsed=1.0),
    ]
    records = by_name(parse(lines))
    ok, bad, skip = records[f"{PKG}.TestOK"], records[f"{PKG}.TestBad"], records[f"{PKG}.TestSkip"]
    assert (ok.status, bad.status, skip.status) == (Status.PASSED, Status.FAILED, Status.SKIPPED)
    assert ok.execution_time_ms == 250
    assert ok.started_at == datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert ok.metadata["time_source"] == "report"
    assert ok.outputs[0].label == "stdout.log" and "hello" in ok.outputs[0].text
    assert "=== RUN" not in ok.outputs[0].text and "--- PASS" not in ok.outputs[0].text
    assert bad.error_message == "a_test.go:9: got 1, want 2"
    assert bad.failure_text == "    a_test.go:9: got 1, want 2"
    assert skip.error_message == "a_test.go:12: not today"
    assert len(records) == 3  # the package failed because of TestBad: no synthetic record


def test_the_last_log_entry_is_the_message_with_its_continuation_lines():
    records = parse(
        failing(
            "TestX",
            "    x_test.go:3: setting up\n",
            "    x_test.go:9: got 3\n",
            "        want 2\n",
        )
    )
    assert records[0].error_message == "x_test.go:9: got 3\nwant 2"


def test_subtest_parents_are_groups_and_leaves_are_records():
    lines = [
        ev("run", "TestP"),
        ev("output", "TestP", "=== RUN   TestP\n"),
        *passing("TestP/a"),
        *failing("TestP/b", "    p_test.go:4: boom\n"),
        ev("output", "TestP", "--- FAIL: TestP (0.00s)\n"),
        ev("fail", "TestP", Elapsed=0.1),
    ]
    records = by_name(parse(lines))
    assert set(records) == {f"{PKG}.TestP/a", f"{PKG}.TestP/b"}
    assert records[f"{PKG}.TestP/b"].metadata["parent"] == "TestP"


def test_parent_failing_after_its_subtests_passed_is_a_synthetic_failure():
    lines = [
        ev("run", "TestP"),
        *passing("TestP/ok"),
        ev("output", "TestP", "    p_test.go:8: parent check\n"),
        ev("output", "TestP", "--- FAIL: TestP (0.00s)\n"),
        ev("fail", "TestP", Elapsed=0.1),
    ]
    records = by_name(parse(lines))
    parent = records[f"{PKG}.TestP"]
    assert parent.status is Status.FAILED and parent.metadata["synthetic"] is True
    assert parent.metadata["subtests"] == 1
    assert parent.error_message == "p_test.go:8: parent check"
    assert records[f"{PKG}.TestP/ok"].status is Status.PASSED


def test_subtest_names_with_slashes_find_their_running_parent():
    lines = [ev("run", "TestP"), *passing("TestP/a/b"), ev("pass", "TestP")]
    records = parse(lines)
    assert [r.metadata.get("parent") for r in records] == ["TestP"]


def test_interleaved_parallel_tests_keep_their_own_output():
    lines = [
        ev("run", "TestA"),
        ev("output", "TestA", "=== PAUSE TestA\n"),
        ev("pause", "TestA"),
        ev("run", "TestB"),
        ev("pause", "TestB"),
        ev("cont", "TestA"),
        ev("output", "TestA", "=== CONT  TestA\n"),
        ev("output", "TestA", "    a.go:1: A1\n"),
        ev("cont", "TestB"),
        ev("output", "TestB", "    b.go:1: B1\n"),
        ev("output", "TestA", "    a.go:2: A2\n"),
        ev("fail", "TestB"),
        ev("pass", "TestA"),
    ]
    records = by_name(parse(lines))
    a, b = records[f"{PKG}.TestA"], records[f"{PKG}.TestB"]
    assert a.outputs[0].text == "    a.go:1: A1\n    a.go:2: A2\n"
    assert b.failure_text == "    b.go:1: B1"


def test_panic_fails_the_test_and_marks_the_tests_it_stopped():
    warnings: list[str] = []
    lines = [
        ev("run", "TestWait"),
        ev("pause", "TestWait"),
        *failing("TestBoom", "panic: oops [recovered]\n", "goroutine 6 [running]:\n"),
        ev("output", None, "FAIL\tpkg\t0.01s\n"),
        ev("fail", None, Elapsed=0.01),
    ]
    records = by_name(parse(lines, warnings))
    boom, wait = records[f"{PKG}.TestBoom"], records[f"{PKG}.TestWait"]
    assert boom.error_message == "panic: oops [recovered]"
    assert wait.status is Status.FAILED and wait.metadata["incomplete"] is True
    assert "TestBoom panicked" in (wait.error_message or "")
    assert any("not in the report" in w for w in warnings)


def test_timeout_panic_inside_a_running_test_fails_it():
    lines = [
        ev("run", "TestSlow"),
        ev("output", "TestSlow", "panic: test timed out after 1s\n"),
        ev("fail", None, Elapsed=1.0),
    ]
    (record,) = parse(lines)
    assert record.status is Status.FAILED and record.metadata["incomplete"] is True
    assert record.error_message == "panic: test timed out after 1s"


def test_package_failing_outside_any_test_is_a_synthetic_failure():
    lines = [
        ev("output", None, "setup failed: no database\n"),
        ev("output", None, f"FAIL\t{PKG}\t0.003s\n"),
        ev("fail", None, Elapsed=0.003),
    ]
    (record,) = parse(lines)
    assert record.test_name == f"{PKG} (package failed)"
    assert record.metadata["synthetic"] is True and record.metadata["reason"] == "package failed"
    assert record.failure_text == "setup failed: no database"


def test_old_go_build_failure_as_plain_text_lines():
    text = (
        "# example.com/broken [example.com/broken.test]\n"
        "broken/x_test.go:6:14: cannot use x\n"
        + "\n".join(passing("TestOK"))
        + "\nFAIL\texample.com/broken [build failed]\n"
    )
    records = by_name(parse(text))
    record = records["example.com/broken (build failed)"]
    assert record.status is Status.FAILED
    assert record.error_message == (
        "example.com/broken: build failed: broken/x_test.go:6:14: cannot use x"
    )
    assert "# example.com/broken" in (record.failure_text or "")
    assert records[f"{PKG}.TestOK"].status is Status.PASSED


def test_go_1_24_build_events():
    path = "example.com/broken [example.com/broken.test]"
    lines = [
        json.dumps({"ImportPath": path, "Action": "build-output", "Output": f"# {path}\n"}),
        json.dumps(
            {"ImportPath": path, "Action": "build-output", "Output": "x_test.go:3:1: bad\n"}
        ),
        json.dumps({"ImportPath": path, "Action": "build-fail"}),
        ev("start", None, Package="example.com/broken"),
        ev(
            "output",
            None,
            "FAIL\texample.com/broken [build failed]\n",
            Package="example.com/broken",
        ),
        ev("fail", None, Elapsed=0, FailedBuild=path, Package="example.com/broken"),
    ]
    (record,) = parse(lines)
    assert record.test_name == "example.com/broken (build failed)"
    assert record.metadata["reason"] == "build failed"
    assert "x_test.go:3:1: bad" in (record.failure_text or "")


def test_build_fail_event_without_package_event_still_fails():
    path = "example.com/lib"
    lines = [
        json.dumps({"ImportPath": path, "Action": "build-output", "Output": "lib.go:1: bad\n"}),
        json.dumps({"ImportPath": path, "Action": "build-fail"}),
    ]
    (record,) = parse(lines)
    assert record.status is Status.FAILED and "lib.go:1: bad" in (record.failure_text or "")


def test_rerun_in_a_later_package_run_is_an_attempt_not_a_duplicate():
    first = [*failing("TestFlaky", "    f.go:1: first try\n"), *passing("TestOK")]
    first += [ev("fail", None, Elapsed=1)]
    rerun = [*passing("TestFlaky"), ev("pass", None, Elapsed=1)]
    records = by_name(parse(first + rerun))
    flaky = records[f"{PKG}.TestFlaky"]
    assert len(records) == 2
    assert flaky.status is Status.PASSED
    assert flaky.metadata["attempts"] == 2 and flaky.metadata["flaky"] is True
    assert "first try" in flaky.outputs[-1].text  # attempts.txt keeps the failure


def test_repeats_within_one_run_stay_separate_records():
    lines = [*failing("TestX"), *failing("TestX"), ev("fail", None)]
    records = parse(lines)
    assert [r.status for r in records] == [Status.FAILED, Status.FAILED]
    assert "attempts" not in records[0].metadata


def test_a_passing_subtest_repeated_by_a_rerun_is_not_a_second_record():
    warnings: list[str] = []
    run1 = [ev("run", "TestP"), *passing("TestP/ok"), ev("fail", "TestP"), ev("fail", None)]
    run2 = [ev("run", "TestP"), *passing("TestP/ok"), ev("fail", "TestP"), ev("fail", None)]
    records = by_name(parse(run1 + run2, warnings))
    assert set(records) == {f"{PKG}.TestP/ok", f"{PKG}.TestP"}
    assert records[f"{PKG}.TestP"].metadata["attempts"] == 2
    assert any("repeated a test that had already passed" in w for w in warnings)


def test_log_cut_in_the_middle_fails_the_running_tests():
    warnings: list[str] = []
    records = parse([ev("run", "TestA"), ev("output", "TestA", "working\n")], warnings)
    assert records[0].status is Status.FAILED and records[0].metadata["incomplete"] is True
    assert any("never reported their end" in w for w in warnings)


def test_events_without_time_start_at_the_file_mtime():
    lines = [
        json.dumps({"Action": "run", "Test": "TestA"}),
        json.dumps({"Action": "pass", "Test": "TestA", "Elapsed": 2}),
    ]
    (record,) = parse(lines)
    assert record.test_name == "TestA"
    assert record.started_at == MTIME and record.metadata["time_source"] == "file_mtime"
    assert record.execution_time_ms == 2000


def test_output_is_capped_per_test():
    big = "x" * 5000 + "\n"
    (record,) = parse(passing("TestBig", big * 10), max_text_bytes=1000)
    assert "[truncated" in record.outputs[0].text
    assert len(record.outputs[0].text) < 1100


def test_not_test2json_is_refused():
    with pytest.raises(InputError, match="no test2json events"):
        parse("just some text\n")
    with pytest.raises(InputError, match='no "Action"'):
        parse('{"foo": 1}\n')


def test_truncated_last_line_is_refused_or_salvaged():
    text = "\n".join(passing("TestA")) + '\n{"Action":"run","Te'
    with pytest.raises(InputError):
        parse(text)
    warnings: list[str] = []
    records = parse(text, warnings, salvage=True)
    assert [r.status for r in records] == [Status.PASSED]


def test_sniff_accepts_leading_build_output_and_refuses_other_json_lines():
    assert detect(b"# pkg\nx.go:1: bad\n" + ev("run", "TestA").encode()).format.name == (
        "go-test-json"
    )
    assert gotest.sniff(Head(b'{"$report_type": "SessionStart"}\n')) is None


# ------------------------------------------------------------------ go < 1.20 framing


def package_end(passed: bool = True) -> list[str]:
    """The end of a package as go test -json writes it: the binary's PASS/FAIL line,
    go's ok/FAIL line, and the package's own event."""
    if passed:
        return [
            ev("output", None, "PASS\n"),
            ev("output", None, f"ok  \t{PKG}\t0.003s\n"),
            ev("pass", None, Elapsed=0.003),
        ]
    return [
        ev("output", None, "FAIL\n"),
        ev("output", None, f"FAIL\t{PKG}\t0.003s\n"),
        ev("fail", None, Elapsed=0.003),
    ]


def test_a_result_glued_to_output_without_a_newline_is_read_from_its_line():
    """go 1.19 (audit gok.json): 'fmt.Print("no newline at end")' glues the test's
    '--- PASS' line to that output, and test2json gives the test no end event."""
    warnings: list[str] = []
    lines = [
        ev("run", "TestNoNewline"),
        ev("output", "TestNoNewline", "=== RUN   TestNoNewline\n"),
        ev("output", "TestNoNewline", "no newline at end--- PASS: TestNoNewline (0.25s)\n"),
        *passing("TestOther"),
        *package_end(passed=True),
    ]
    records = by_name(parse(lines, warnings))
    glued = records[f"{PKG}.TestNoNewline"]
    assert glued.status is Status.PASSED and "incomplete" not in glued.metadata
    assert glued.metadata["result_from"] == "its --- PASS line in the output"
    assert glued.execution_time_ms == 250
    assert glued.outputs[0].text == "no newline at end\n"  # without the glued result line
    assert records[f"{PKG}.TestOther"].status is Status.PASSED
    assert any("had no end event" in w for w in warnings)


def test_glued_results_in_a_failing_package_keep_their_own_status():
    lines = [
        ev("run", "TestPasses"),
        ev("output", "TestPasses", "no newline--- PASS: TestPasses (0.00s)\n"),
        ev("run", "TestSkips"),
        ev("output", "TestSkips", "skipping--- SKIP: TestSkips (0.00s)\n"),
        ev("run", "TestFailsGlued"),
        ev("output", "TestFailsGlued", "then failing--- FAIL: TestFailsGlued (0.00s)\n"),
        *failing("TestFails", "    f_test.go:3: a real failure\n"),
        ev("run", "TestCrashed"),
        ev("output", "TestCrashed", "working\n"),
        *package_end(passed=False),
    ]
    records = by_name(parse(lines))
    assert records[f"{PKG}.TestPasses"].status is Status.PASSED
    assert records[f"{PKG}.TestSkips"].status is Status.SKIPPED
    failed = records[f"{PKG}.TestFailsGlued"]
    assert failed.status is Status.FAILED and "incomplete" not in failed.metadata
    assert failed.failure_text == "then failing"
    assert records[f"{PKG}.TestFails"].status is Status.FAILED
    # No marker and a failing package: it may have crashed, as before.
    crashed = records[f"{PKG}.TestCrashed"]
    assert crashed.status is Status.FAILED and crashed.metadata["incomplete"] is True


def test_a_test_without_end_in_a_passing_package_did_not_fail():
    lines = [ev("run", "TestA"), ev("output", "TestA", "output, result lost\n")]
    lines += package_end(passed=True)
    (record,) = parse(lines)
    assert record.status is Status.PASSED and "incomplete" not in record.metadata
    assert record.metadata["result_from"] == "its package passed"
    # ... nor does a '--- FAIL' line of its own: the binary said PASS.
    lines = [ev("run", "TestB"), ev("output", "TestB", "x--- FAIL: TestB (0.00s)\n")]
    (record,) = parse(lines + package_end(passed=True))
    assert record.status is Status.PASSED


def test_a_subtest_without_end_is_settled_when_its_parent_ends():
    """go 1.19: a subtest printing without a newline glues the next '=== RUN' to its
    output; a child whose result line was glued has no end event, and when its parent
    passed it did not fail."""
    lines = [
        ev("run", "TestP"),
        ev("run", "TestP/child"),
        ev("output", "TestP/child", "child without newline=== RUN   TestP/other\n"),
        ev("output", "TestP/other", "    --- PASS: TestP/other (0.00s)\n"),
        ev("pass", "TestP/other", Elapsed=0),
        ev("output", "TestP", "--- PASS: TestP (0.00s)\n"),
        ev("pass", "TestP", Elapsed=0),
    ]
    records = by_name(parse(lines))  # no package end: TestP/child is settled by TestP
    assert set(records) == {f"{PKG}.TestP/child", f"{PKG}.TestP/other"}
    child = records[f"{PKG}.TestP/child"]
    assert child.status is Status.PASSED and child.metadata["result_from"] == "its parent passed"
    assert child.outputs[0].text == "child without newline\n"
    assert records[f"{PKG}.TestP/other"].status is Status.PASSED


def test_a_fail_line_a_passing_test_printed_is_not_a_record():
    """go 1.19 (audit gol.json): a test printing '--- FAIL: TestImaginary (0.00s)' makes
    test2json report a 'fail' for a test that never had 'run', in a package that passed."""
    warnings: list[str] = []
    lines = [
        ev("run", "TestFakeFailLine"),
        ev("output", "TestFakeFailLine", "=== RUN   TestFakeFailLine\n"),
        ev("output", "TestImaginary", "--- FAIL: TestImaginary (0.00s)\n"),
        ev("fail", "TestImaginary", Elapsed=0),
        ev("output", "TestFakeFailLine", "--- FAIL: TestFakeFailLine/sub (0.00s)\n"),
        ev("fail", "TestFakeFailLine/sub", Elapsed=0),
        ev("output", "TestFakeFailLine", "--- PASS: TestFakeFailLine (0.00s)\n"),
        ev("pass", "TestFakeFailLine", Elapsed=0),
        *package_end(passed=True),
    ]
    (record,) = parse(lines, warnings)
    assert record.test_name == f"{PKG}.TestFakeFailLine" and record.status is Status.PASSED
    assert any("TestImaginary" in w and "not records" in w for w in warnings)


def test_a_fail_without_run_is_kept_when_the_binary_failed():
    # A test whose '=== RUN' line was glued to another test's output, in a failing package.
    lines = [
        ev("run", "TestA"),
        ev("output", "TestA", "A without newline=== RUN   TestB\n"),
        ev("output", "TestA", "    b_test.go:6: B fails\n"),
        ev("output", "TestB", "--- FAIL: TestB (0.01s)\n"),
        ev("fail", "TestB", Elapsed=0.01),
        ev("output", "TestA", "--- PASS: TestA (0.05s)\n"),
        ev("pass", "TestA", Elapsed=0.05),
        *package_end(passed=False),
    ]
    records = by_name(parse(lines))
    assert records[f"{PKG}.TestB"].status is Status.FAILED
    assert len(records) == 2  # the package's failure is TestB's: no synthetic record
    # TestMain calling os.Exit(0) after m.Run: go says 'ok', the binary said FAIL.
    lines = [
        ev("output", "TestX", "--- FAIL: TestX (0.00s)\n"),
        ev("fail", "TestX", Elapsed=0),
        ev("output", None, "FAIL\n"),
        ev("output", None, f"ok  \t{PKG}\t0.002s\n"),
        ev("pass", None, Elapsed=0.002),
    ]
    (record,) = parse(lines)
    assert record.test_name == f"{PKG}.TestX" and record.status is Status.FAILED
    # A log that ends without its package's result keeps the failure too.
    (record,) = parse([ev("fail", "TestY", Elapsed=0)])
    assert record.status is Status.FAILED


def test_a_failing_benchmark_has_its_log_from_the_package_output():
    """go 1.19 (audit gobench.json): benchmarks have no 'run' event and their log is
    output of no test; a sub-benchmark's failure fails its parent too."""
    lines = [
        ev("output", None, "goos: linux\n"),
        ev("output", None, "BenchmarkX\n"),
        ev("output", None, "BenchmarkX-2   \t      10\t    88.40 ns/op\n"),
        ev("output", None, "BenchmarkFail\n"),
        ev("output", None, "    a_test.go:58: before failing\n"),
        ev("output", None, "    a_test.go:59: bench fail\n"),
        ev("output", "BenchmarkFail", "--- FAIL: BenchmarkFail\n"),
        ev("output", "BenchmarkFail", "BenchmarkSub\n"),
        ev("output", "BenchmarkFail", "BenchmarkSub/bad\n"),
        ev("output", "BenchmarkFail", "    a_test.go:70: sub fail\n"),
        ev("fail", "BenchmarkFail"),
        ev("output", "BenchmarkSub/bad", "--- FAIL: BenchmarkSub/bad\n"),
        ev("fail", "BenchmarkSub/bad"),
        ev("output", "BenchmarkSub", "--- FAIL: BenchmarkSub\n"),
        ev("fail", "BenchmarkSub"),
        *package_end(passed=False),
    ]
    records = by_name(parse(lines))
    assert set(records) == {f"{PKG}.BenchmarkFail", f"{PKG}.BenchmarkSub/bad"}
    bench = records[f"{PKG}.BenchmarkFail"]
    assert bench.error_message == "a_test.go:59: bench fail"
    assert bench.failure_text == "    a_test.go:58: before failing\n    a_test.go:59: bench fail"
    assert records[f"{PKG}.BenchmarkSub/bad"].failure_text == "    a_test.go:70: sub fail"


BUILD_FAILED_STDOUT = (
    b"FAIL\texample.com/m/b [build failed]\nFAIL\texample.com/m/c [build failed]\n"
)
BUILD_FAILED_MERGED = (
    b"# example.com/m/b [example.com/m/b.test]\n"
    b"b/b_test.go:3:28: undefined: undefinedThing\n"
    b"FAIL\texample.com/m/b [build failed]\n"
)


def test_build_failures_without_any_event_are_a_report():
    """go < 1.24 writes no event when every package fails to build: only text."""
    for text in (BUILD_FAILED_STDOUT, BUILD_FAILED_MERGED):
        detection = detect(text)
        assert detection.format is not None and detection.format.name == "go-test-json"
    records = parse(BUILD_FAILED_STDOUT.decode())
    assert [r.test_name for r in records] == [
        "example.com/m/b (build failed)",
        "example.com/m/c (build failed)",
    ]
    assert all(r.status is Status.FAILED and r.metadata["synthetic"] for r in records)
    (record,) = parse(BUILD_FAILED_MERGED.decode())
    assert record.error_message == (
        "example.com/m/b: build failed: b/b_test.go:3:28: undefined: undefinedThing"
    )
    assert record.failure_text == (
        "# example.com/m/b [example.com/m/b.test]\nb/b_test.go:3:28: undefined: undefinedThing"
    )


def test_go_test_text_with_results_is_still_refused():
    text = BUILD_FAILED_MERGED + b"ok  \texample.com/m/a\t0.002s\n"
    detection = detect(text)
    assert detection.format is None and detection.looks_like is not None
    assert detection.looks_like.title == "`go test` text output"
    with pytest.raises(InputError, match="its test results would be lost"):
        parse(text.decode())  # --format go-test-json
    with pytest.raises(InputError, match="no test2json events"):
        parse("# example.com/m/b\nb.go:1: bad\n")


# ------------------------------------------------------------------ real reports


def counts(records: list[TestRecord]) -> Counter[str]:
    return Counter(str(r.status) for r in records)


def test_go_test_fixture_matches_what_go_test_printed():
    """go test -v printed 15 '--- PASS', 7 '--- FAIL', 2 '--- SKIP' lines (parents
    included: 3 passing and 1 failing parent are groups here), and FAIL for the
    mainfail, broken (build failed), panics and timeout packages."""
    records = parse((FIXTURES / "go-test.json").read_text(encoding="utf-8"))
    assert counts(records) == {"Passed": 12, "Failed": 10, "Skipped": 2}
    synthetic = {r.test_name for r in records if r.metadata.get("synthetic")}
    assert synthetic == {
        "example.com/gosample/mainfail (package failed)",
        "example.com/gosample/broken (build failed)",
        "example.com/gosample.TestParentFailsAfterSubtests",
    }
    incomplete = {r.test_name for r in records if r.metadata.get("incomplete")}
    assert incomplete == {
        "example.com/gosample/panics.TestParallelWaiting",
        "example.com/gosample/timeout.TestSlow",
    }
    # 12 passed leaves + 3 passing groups = go's 15 PASS lines; 6 failed tests + 1
    # failing group = its 7 FAIL lines.
    assert counts(records)["Passed"] + 3 == 15


def test_gotestsum_fixture_matches_what_gotestsum_printed():
    """gotestsum: 'DONE 3 runs, 34 tests, 2 skipped, 16 failures'. It counts every
    attempt and every parent: run 1 had 21 tests (17 leaves or failed groups here, plus
    the 4 groups TestSubtests, TestSubtests/nested, TestParallelSubtests, TestGrüße)."""
    warnings: list[str] = []
    records = parse((FIXTURES / "gotestsum.json").read_text(encoding="utf-8"), warnings)
    assert counts(records) == {"Passed": 11, "Failed": 4, "Skipped": 2}
    attempts = {r.test_name.rsplit(".", 1)[-1]: r.metadata.get("attempts") for r in records}
    assert attempts["TestFlaky"] == 2
    assert {k for k, v in attempts.items() if v == 3} == {
        "TestFailingAssertion",
        "TestSubtests/fails",
        "TestParentFailsAfterSubtests",
        "TestParallelB",
    }
    # gotestsum's 16 failures: 4 tests x 3 attempts, TestFlaky's first attempt, and the
    # failing group TestSubtests in each of the 3 runs.
    failed_attempts = sum(r.metadata.get("attempts", 1) for r in records if r.status == "Failed")
    assert failed_attempts + 1 + 3 == 16
    assert len(records) + 4 == 21


def test_open_tests_are_bounded(monkeypatch):
    monkeypatch.setattr(gotest, "MAX_OPEN", 3)
    warnings: list[str] = []
    lines = [ev("run", f"Test{i}") for i in range(5)]
    records = parse(lines, warnings)
    assert len(records) == 5  # 2 evicted early, 3 closed at the end: all Failed
    assert all(r.metadata["incomplete"] for r in records)
    assert any("tests running at once" in w for w in warnings)


def test_held_failures_are_bounded(monkeypatch):
    monkeypatch.setattr(gotest, "MAX_HELD", 2)
    lines = [line for i in range(4) for line in failing(f"Test{i}")]
    records = parse(lines)
    # The two oldest were released as soon as the third and fourth failed.
    assert [r.test_name.rsplit(".", 1)[-1] for r in records] == ["Test0", "Test1", "Test2", "Test3"]


def test_old_framing_fixture_matches_what_go_test_printed():
    """go 1.19 (generate/go-test-json-old-framing): glued says ok with 5 passing leaves
    and 1 skip; gluedfail FAIL with 1 pass and 2 failures; fakefail ok with 3 passes;
    bench FAIL with BenchmarkFail and BenchmarkSub/bad failing (and their group
    BenchmarkSub); passing benchmarks have no event, so no record."""
    warnings: list[str] = []
    records = by_name(
        parse((FIXTURES / "go-test-old-framing.json").read_text(encoding="utf-8"), warnings)
    )
    assert counts(list(records.values())) == {"Passed": 10, "Failed": 4, "Skipped": 1}
    short = {name.split("/", 2)[-1]: r for name, r in records.items()}
    assert not any(r.metadata.get("incomplete") for r in records.values())
    assert "fakefail.TestImaginary" not in short
    # A printed '--- PASS' line cannot be told from a test whose '=== RUN' was glued.
    assert short["fakefail.TestImaginaryPass"].status is Status.PASSED
    assert {k for k, r in short.items() if r.status is Status.FAILED} == {
        "gluedfail.TestFails",
        "gluedfail.TestNoNewlineFails",
        "bench.BenchmarkFail",
        "bench.BenchmarkSub/bad",
    }
    assert short["glued.TestNoNewlineSkip"].status is Status.SKIPPED
    assert short["glued.TestGrüße"].outputs[0].text == "ünïcödé 名前\n"
    assert short["bench.BenchmarkFail"].error_message == "bench_test.go:20: benchmark failure"
    assert any("TestImaginary" in w for w in warnings)


@pytest.mark.parametrize(
    ("name", "failure_text"),
    [("go-test-build-failed-only.json", False), ("go-test-build-failed-only-stderr.json", True)],
)
def test_build_failed_only_fixtures_are_one_failure_per_package(name, failure_text):
    """go 1.19: `go test -json ./broken ./vetfail` printed no event, only 'FAIL pkg
    [build failed]' for both (and the compiler's and vet's errors on stderr)."""
    data = (FIXTURES / name).read_bytes()
    detection = detect(data[:8192])
    assert detection.format is not None and detection.format.name == "go-test-json"
    records = parse(data.decode())
    assert [r.test_name for r in records] == [
        "example.com/oldframing/broken (build failed)",
        "example.com/oldframing/vetfail (build failed)",
    ]
    assert all(r.status is Status.FAILED for r in records)
    assert all(bool(r.failure_text) is failure_text for r in records)

"""Rust libtest JSON (cargo test, cargo bench, cargo-nextest): the real streams against the
counts the tools printed, the mapping rules on small inline streams, and hostile input."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, libtest
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "libtest"


def parse(*events: Any, warnings: list[str] | None = None, raw: bytes | None = None, **options):
    if raw is None:
        raw = b"".join(
            (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events
        )
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, **options)
    return list(libtest.parse(io.BytesIO(raw), SourceRef("t.json"), opts))


def started(count: int) -> dict[str, Any]:
    return {"type": "suite", "event": "started", "test_count": count}


def finished(passed=0, failed=0, ignored=0, measured=0) -> dict[str, Any]:
    event = "failed" if failed else "ok"
    return {
        "type": "suite",
        "event": event,
        "passed": passed,
        "failed": failed,
        "ignored": ignored,
        "measured": measured,
        "filtered_out": 0,
        "exec_time": 0.5,
    }


def run(name: str, event: str = "ok", **extra: Any) -> list[dict[str, Any]]:
    return [
        {"type": "test", "event": "started", "name": name},
        {"type": "test", "name": name, "event": event, **extra},
    ]


# ---------------------------------------------------------------- real reports

# cargo test printed three suite lines (lib 6/5/2, integration 1/1/0, doc-tests 2/1/1);
# cargo bench: 0 passed, 2 ignored, 1 measured; the crashing binary died after 1 pass
# (SIGABRT); nextest: "13 tests run: 8 passed (1 flaky), 5 failed, 2 skipped".
PRINTED = {
    "cargo-test.json": {"Passed": 9, "Failed": 7, "Skipped": 3},
    "cargo-test-merged.json": {"Passed": 9, "Failed": 7, "Skipped": 3},
    "cargo-bench.json": {"Passed": 1, "Skipped": 2},
    "cargo-test-crash.json": {"Passed": 1, "Failed": 2},
    "nextest-libtest-json.json": {"Passed": 8, "Failed": 5, "Skipped": 2},
    # --nocapture: 'passed: 5, failed: 1', with the tests' output between the events
    "cargo-test-nocapture.json": {"Passed": 5, "Failed": 1},
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_real_stream_counts_equal_what_cargo_printed(name):
    warnings: list[str] = []
    records = parse(raw=(FIXTURES / name).read_bytes(), warnings=warnings)
    assert dict(Counter(str(r.status) for r in records)) == PRINTED[name]
    assert not [w for w in warnings if "disagrees" in w]


def test_real_cargo_test_mapping():
    records = {r.test_name: r for r in parse(raw=(FIXTURES / "cargo-test.json").read_bytes())}
    failing = records["tests::failing_assertion"]
    assert failing.error_message == (
        "assertion `left == right` failed: values differ\n  left: 6\n right: 7"
    )
    assert failing.failure_text.startswith("thread 'tests::failing_assertion'")
    assert failing.outputs[0].label == "stdout.log"
    assert failing.outputs[0].text.startswith("about to fail\nstderr before the failure\n")
    assert records["tests::failing_result"].error_message == 'Error: "returned an Err"'
    assert records["tests::should_panic_but_does_not"].error_message == (
        "test did not panic as expected at src/lib.rs:71:8"
    )
    assert records["tests::skipped_with_reason"].error_message == "not implemented yet"
    assert records["tests::nested::slow_test"].execution_time_ms == 150
    doc = records["src/lib.rs - double (line 17)"]
    assert doc.metadata["doctest"] is True and doc.metadata["line"] == 17
    assert [records[n].metadata["suite"] for n in ("tests::pass_simple", "integration_passes")] == [
        1,
        2,
    ]


def test_real_merged_stream_names_binaries_from_cargo_stderr():
    warnings: list[str] = []
    records = parse(raw=(FIXTURES / "cargo-test-merged.json").read_bytes(), warnings=warnings)
    binaries = {r.metadata.get("binary") for r in records}
    assert binaries == {"sample", "integration", "sample (doc-tests)"}
    assert any("not libtest JSON skipped" in w for w in warnings)
    # --show-output: passing tests carry their output too
    passing = next(r for r in records if r.test_name == "tests::pass_with_output")
    assert passing.outputs[0].text == "hello from stdout\nwarning on stderr\n"


def test_real_nextest_retries_and_ignored_tests():
    records = {
        r.test_name: r for r in parse(raw=(FIXTURES / "nextest-libtest-json.json").read_bytes())
    }
    flaky = records["sample::sample$tests::flaky_passes_on_second_try"]
    assert flaky.status is Status.PASSED
    assert flaky.metadata["attempts"] == 2 and flaky.metadata["flaky"] is True
    ignored = records["sample::sample$tests::skipped_with_reason"]
    assert ignored.status is Status.SKIPPED and ignored.metadata["ignored_from_summary"] is True
    # finished in a later suite block than the one it started in
    assert records["sample::sample$tests::nested::slow_test"].status is Status.PASSED
    wrong = records["sample::sample$tests::should_panic_with_wrong_message"]
    assert wrong.error_message.startswith("panic did not contain expected string")


def test_real_bench_results():
    records = {r.test_name: r for r in parse(raw=(FIXTURES / "cargo-bench.json").read_bytes())}
    bench = records["bench_double"]
    assert bench.status is Status.PASSED and bench.metadata["bench"] is True
    assert bench.metadata["bench_median_ns"] > 0


def test_sniff():
    assert detect(b'{ "type": "suite", "event": "started", "test_count": 3 }\n').format.name == (
        "libtest"
    )
    head = b"   Compiling x v0.1.0\n     Running unittests src/lib.rs (t/x-0123)\n"
    assert detect(head + b'{"type":"suite","event":"started","test_count":1}').format.name == (
        "libtest"
    )
    assert detect(b'{"type":"other","event":"x"}\n').format is None


# ---------------------------------------------------------------- rules


def test_old_panic_format_message():
    stdout = (
        "thread 'x' panicked at 'assertion failed: `(left == right)`\n  left: 1', src/a.rs:3:5\n"
    )
    (record,) = parse(started(1), *run("x", "failed", stdout=stdout), finished(failed=1))
    assert record.error_message == "assertion failed: `(left == right)`\n  left: 1"


def test_timeout_notice_is_not_a_result():
    events = [
        started(1),
        {"type": "test", "event": "started", "name": "slow"},
        {"type": "test", "event": "timeout", "name": "slow"},
        {"type": "test", "event": "ok", "name": "slow", "exec_time": 61.0},
        finished(passed=1),
    ]
    (record,) = parse(*events)
    assert record.status is Status.PASSED
    assert record.metadata["ran_over_60s"] is True
    assert record.execution_time_ms == 61000


def test_binary_that_dies_between_suites():
    events = [
        started(3),
        *run("aa"),
        {"type": "test", "event": "started", "name": "bb"},
        started(1),
        *run("cc"),
        finished(passed=1),
    ]
    records = parse(*events)
    assert [(r.test_name, r.status) for r in records] == [
        ("aa", Status.PASSED),
        ("bb", Status.FAILED),
        ("test suite 1 (suite did not finish)", Status.FAILED),
        ("cc", Status.PASSED),
    ]
    assert records[1].metadata["incomplete"] is True
    assert records[2].metadata["missing_tests"] == 1


def test_suite_counting_failures_the_stream_lacks_gives_a_synthetic_record():
    records = parse(started(2), *run("a"), finished(passed=1, failed=1))
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[1].metadata["synthetic"] is True


def test_cargo_running_lines_name_the_suite():
    raw = (
        b"     Running tests/it.rs (target/debug/deps/it-0123456789abcdef)\n"
        + b"\n".join(json.dumps(e).encode() for e in [started(1), *run("t"), finished(1)])
        + b"\n   Doc-tests demo\n"
        + b"\n".join(json.dumps(e).encode() for e in [started(1), *run("d"), finished(1)])
        + b"\n"
    )
    records = parse(raw=raw)
    assert [r.metadata["binary"] for r in records] == ["it", "demo (doc-tests)"]


def test_empty_stream_warns():
    warnings: list[str] = []
    assert parse(raw=b"   Compiling x\n", warnings=warnings) == []
    assert any("no libtest events" in w for w in warnings)


def test_nocapture_output_between_and_before_events_is_output():
    """cargo test -- --nocapture: a test's output shares stdout with the events. A
    print! without a newline puts the next event at the end of its line, and a line
    starting with '{' may be no JSON at all; neither refuses the report."""
    warnings: list[str] = []
    raw = (
        b'{ "type": "suite", "event": "started", "test_count": 3 }\n'
        b'{ "type": "test", "event": "started", "name": "t::a" }\n'
        b'partial{ "type": "test", "name": "t::a", "event": "ok" }\n'
        b'{ "type": "test", "event": "started", "name": "t::b" }\n'
        b'{"a": 1}{ "type": "test", "name": "t::b", "event": "failed" }\n'
        b'{ "type": "test", "event": "started", "name": "t::c" }\n'
        b"{ not json\n"
        b'{ "type": "test", "name": "t::c", "event": "ok" }\n'
        b'{ "type": "suite", "event": "failed", "passed": 2, "failed": 1, "ignored": 0 }\n'
    )
    records = parse(raw=raw, warnings=warnings)
    assert [(r.test_name, r.status) for r in records] == [
        ("t::a", Status.PASSED),
        ("t::b", Status.FAILED),
        ("t::c", Status.PASSED),
    ]
    assert any("3 line(s) that are not libtest JSON" in w for w in warnings)
    assert not [w for w in warnings if "disagrees" in w]


def test_result_of_a_test_never_started_is_test_output():
    """libtest writes 'started' before each result: a result line for a test that never
    started is a test printing libtest-looking JSON (--nocapture), not a test."""
    warnings: list[str] = []
    records = parse(
        started(1),
        {"type": "test", "event": "started", "name": "t::a"},
        {"type": "test", "event": "ok", "name": "fake"},
        {"type": "test", "name": "t::a", "event": "ok"},
        finished(passed=1),
        warnings=warnings,
    )
    assert [r.test_name for r in records] == ["t::a"]
    assert any("never started skipped" in w for w in warnings)
    # Without a 'suite started' line (a stream that is not libtest's whole output) the
    # result is kept, as before.
    kept = parse({"type": "test", "name": "t::x", "event": "ok"})
    assert (kept[0].test_name, kept[0].status) == ("t::x", Status.PASSED)


def test_glued_event_refusals_stay_refusals():
    """Only invalid JSON becomes output: what the JSON reader refuses on purpose does not."""
    raw = (
        json.dumps(started(1)).encode()
        + b'\n{"a": NaN}{ "type": "test", "name": "t::a", "event": "ok", "x": NaN }\n'
    )
    with pytest.raises(InputError):
        parse(raw=raw)


# ---------------------------------------------------------------- hostile input


def test_truncated_last_line_is_refused_or_salvaged():
    raw = (
        json.dumps(started(2)).encode()
        + b"\n"
        + b"\n".join(json.dumps(e).encode() for e in run("a"))
        + b'\n{"type": "test", "name": "b", "ev'
    )
    with pytest.raises(InputError, match="truncated"):
        parse(raw=raw)
    warnings: list[str] = []
    records = parse(raw=raw, warnings=warnings, salvage=True)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]


def test_deep_line_is_refused():
    with pytest.raises(InputError, match="nested deeper"):
        parse(raw=b'{"type":"test","name":' + b"[" * 300 + b"]" * 300 + b"}\n")


def test_overlong_line_is_refused(monkeypatch):
    monkeypatch.setattr(libtest, "MAX_LINE_BYTES", 1000)
    line = json.dumps({"type": "test", "name": "a", "event": "ok", "stdout": "x" * 5000})
    with pytest.raises(InputError, match="longer than 1000 bytes"):
        parse(raw=line.encode() + b"\n")


def test_huge_stdout_is_capped():
    events = [started(1), *run("a", "failed", stdout="y" * 100_000), finished(failed=1)]
    (record,) = parse(*events, max_text_bytes=4000)
    assert record.outputs[0].truncated_bytes == 96_000
    assert len(record.failure_text) < 4100


def test_too_many_running_tests_are_bounded(monkeypatch):
    monkeypatch.setattr(libtest, "MAX_RUNNING", 3)
    events = [started(5)] + [
        {"type": "test", "event": "started", "name": f"t{i}"} for i in range(5)
    ]
    warnings: list[str] = []
    records = parse(*events, warnings=warnings)
    assert sum(r.metadata.get("incomplete", False) for r in records) == 5
    assert any("more than 3 tests started" in w for w in warnings)


def test_test_event_without_a_name_is_refused():
    with pytest.raises(InputError, match='without a "name"'):
        parse(started(1), {"type": "test", "event": "ok"})

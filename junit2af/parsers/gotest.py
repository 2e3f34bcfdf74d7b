"""``go test -json`` (test2json events) parser, also for gotestsum's ``--jsonfile``.

The report is JSON Lines, read one line at a time: each line is one event
``{"Time", "Action", "Package", "Test", "Output", "Elapsed"}``. Memory holds only the tests
still running (each one's output capped at ``options.max_text_bytes``) and the failed
tests waiting for a possible rerun. The mapping rules are in ``notes/native-js.md``.

Rules, and the quirks of the real tools that forced them:

* Subtests are ``Parent/child``. A parent whose subtests ran is a group, not a test: its
  leaves are the records. A parent that failed while none of its subtests failed (a
  ``t.Error`` after the ``t.Run`` calls, a failing cleanup) becomes a synthetic Failed
  record, so the failure is never lost. Go reports the parent's ``fail`` event after its
  children's, even when its ``--- FAIL`` line comes first.
* Parallel tests interleave: ``=== PAUSE``/``=== CONT`` lines and events of several tests
  alternate. Output is attributed by the event's ``Test``, never by position.
* A test's output is its log: Go does not separate ``t.Log`` from ``t.Error``. A failed
  test's output (without the ``=== RUN``/``--- FAIL`` framework lines) is its failure
  text; other tests' output is ``stdout.log``.
* A panic or a timeout ends the test binary: the panicking test gets a ``fail`` event,
  but tests paused or running at that moment never get one (go 1.19). They are Failed,
  with ``metadata.incomplete``; tests that had not started yet are not in the report at
  all, which a warning says.
* A package that fails with no failed test (``TestMain`` exiting, an ``init`` panic, a
  build failure) becomes a synthetic Failed record named after the package. Go >= 1.24
  reports build errors as ``build-output``/``build-fail`` events (``ImportPath``) and the
  package's ``FailedBuild``; older Go writes them as plain text on stderr and
  ``FAIL pkg [build failed]`` on stdout, so non-JSON lines are read as build output.
  When every package failed to build, older Go writes no event at all: a file of such
  lines is still a report (one Failed record per package), unless it holds ``go test``
  text results (``=== RUN``, ``--- PASS``, ``ok pkg``) that would be lost.
* Go < 1.20's test2json reads ``=== RUN``/``--- PASS`` lines only at the start of a line.
  A test that prints without a final newline gets its ``--- PASS: Name (0.00s)`` glued to
  that output, and no end event. Such a test is settled from that marker (found anywhere
  in the package's output) when its parent or package ends; without one, a test whose
  parent passed or whose package passed did not fail (Passed). A ``--- FAIL: Name`` line a
  passing test printed becomes a ``fail`` event for a test that never had ``run``: in a
  package whose test binary said ``PASS``, such a failure is not a record (a warning says
  so); elsewhere it is kept (a failing benchmark, whose events never have ``run``, or a
  test whose ``=== RUN`` line was glued). Glued framework text is cut from the output.
* Go 1.19 writes benchmark logs as output of no test (or of the test before): a failing
  benchmark's failure text is the output after its ``BenchmarkName`` line. Passing
  benchmarks get no event at all, so no record.
* gotestsum's ``--rerun-fails`` appends the reruns' events to the same file: a test that
  failed and runs again in a later run of its package is one record with attempts
  (``flaky`` when the last one passed), not a duplicate. Repeats within one run
  (``-count=N``) stay separate records.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native import CappedText, WarnOnce, as_number, as_str, clip, iso_time
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_LINE_BYTES, SafeJSON, iter_lines
from junit2af.records import SourceRef, Status, TestRecord, TextArtifact, fit_name

FORMATS = (
    Format(
        "go-test-json",
        "go test -json (test2json)",
        "gotest",
        producers="go test -json, go tool test2json, gotestsum --jsonfile",
    ),
)

_SNIFF_EVENT = re.compile(rb'"Action"\s*:\s*"[a-z-]+"')
_SNIFF_BUILD_FAILED = re.compile(rb"^FAIL\s+\S+\s+\[(?:build|setup) failed\]$")
# go test's text results: a file holding them is go test's text output, not a report.
_TEXT_RESULT = r"^\s*(?:=== RUN\s|--- (?:PASS|FAIL|SKIP|BENCH): |ok\s+\S+\s|FAIL\s+\S+\s+[\d.]+s\b)"
_SNIFF_TEXT_RESULT = re.compile(_TEXT_RESULT.encode())


def sniff(head: Head) -> str | None:
    """test2json: the first line that starts with ``{`` is an event with an ``Action``
    and a ``Package``/``ImportPath``/``Test``. Lines before it may be plain text: older
    Go writes build errors to stderr, and ``2>&1`` puts them first. When every package
    failed to build, older Go writes no event at all: text with a ``FAIL pkg [build
    failed]`` line and no test result line is such a report."""
    build_failed = results = False
    for line in head.text.split(b"\n")[:200]:
        line = line.strip()
        if not line.startswith(b"{"):
            build_failed = build_failed or bool(_SNIFF_BUILD_FAILED.match(line))
            results = results or bool(_SNIFF_TEXT_RESULT.match(line))
            continue
        if _SNIFF_EVENT.search(line) and (
            b'"Package"' in line or b'"ImportPath"' in line or b'"Test"' in line
        ):
            return "go-test-json"
        return None
    return "go-test-json" if build_failed and not results else None


#: Tests running at once that are kept; beyond this the oldest is reported incomplete.
MAX_OPEN = 10_000
#: Failed tests held back in case a rerun follows (gotestsum --rerun-fails).
MAX_HELD = 10_000
#: Packages with build output waiting for their failure event.
MAX_BUILD_OUTPUTS = 1_000

_FRAMEWORK_LINE = re.compile(
    r"""^\s*(?:=== \s*(?:RUN|PAUSE|CONT|NAME)\b   # progress lines
          |---\ (?:PASS|FAIL|SKIP|BENCH):\ )       # result lines (indented for subtests)
    """,
    re.VERBOSE,
)
# go test's per-package summary lines, which say nothing the events do not.
_SUMMARY_LINE = re.compile(
    r"^(?:PASS|FAIL|ok\s+\S+\s.*|FAIL\s+\S+\s.*|\?\s+\S+\s+\[no test files\])\s*$"
)
# Go < 1.24 on stdout: 'FAIL\tpkg [build failed]' (or [setup failed], go 1.21+).
_BUILD_FAILED = re.compile(r"^FAIL\s+(\S+)\s+\[(build failed|setup failed)\]\s*$")
# The compiler's header on stderr: '# pkg' or '# pkg [pkg.test]'.
_BUILD_HEADER = re.compile(r"^# (\S+)(?: \[[^\]]*\])?\s*$")
_PANIC = re.compile(r"^panic: (.*)$", re.MULTILINE)
# t.Log/t.Error/t.Skip output: '    file_test.go:12: message' (indented 4 per subtest level).
_LOG_ENTRY = re.compile(r"^(\s*)[^\s:]+\.go:\d+: ")
_TEXT_RESULT_LINE = re.compile(_TEXT_RESULT)
# A test's result line, anywhere in a line: go < 1.20's test2json misses it when the test's
# output before it had no final newline ('done--- PASS: TestX (0.01s)').
_MARKER = re.compile(r"--- (PASS|FAIL|SKIP): (\S+) \((\d+(?:\.\d+)?)s\)")
_MARKER_STATUS = {"PASS": Status.PASSED, "FAIL": Status.FAILED, "SKIP": Status.SKIPPED}
# go test's own text glued to the end of a line of a test's output (go < 1.20).
_GLUED = re.compile(
    r"(?:=== (?:RUN|PAUSE|CONT|NAME) +\S+"
    r"|--- (?:PASS|FAIL|SKIP|BENCH): \S+(?: \([\d.]+s\))?)\s*$"
)
# The line go test -v prints before it runs a benchmark: its bare name.
_BENCH_NAME = re.compile(r"^(Benchmark\S*)\n$")
#: Benchmarks whose output (go 1.19: output of no test) is kept for a failure to come.
MAX_BENCH = 100

_STATUS = {
    "pass": Status.PASSED,
    "fail": Status.FAILED,
    "skip": Status.SKIPPED,
    # 'bench': a benchmark that logged output and did not fail.
    "bench": Status.PASSED,
}


@dataclass
class _Running:
    """A test that started and has not reported its end."""

    package: str
    test: str
    line: int
    started_at: datetime | None
    output: CappedText
    parent: str | None = None
    children: int = 0
    failed_children: int = 0
    open_children: int = 0  # subtests started and not finished
    implicit: bool = False  # no 'run' event: an output or end event was its first


@dataclass
class _Attempt:
    """One run of one test, finished."""

    status: Status
    line: int
    run: int  # which run of its package (0 = first, 1 = the first rerun, ...)
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_ms: int | None
    text: str
    message: str | None
    parent: str | None
    incomplete: bool = False
    synthetic_reason: str | None = None
    subtests: int = 0
    repeat_of_passed: bool = False
    result_from: str | None = None  # how a test without an end event was settled


@dataclass
class _PackageRun:
    name: str
    index: int
    started_at: datetime | None
    line: int
    output: CappedText
    running: dict[str, _Running] = field(default_factory=dict)
    failed_tests: int = 0
    keys: list[int] = field(default_factory=list)
    panicked: str | None = None
    # The test binary's own last 'PASS'/'FAIL' line (TestMain may exit 0 after 'FAIL').
    verdict: str | None = None
    # '--- PASS: Name (1.00s)' markers seen in any output: test -> (status, elapsed ms).
    markers: dict[str, tuple[Status, int]] = field(default_factory=dict)
    # Failures of tests that never had 'run': real (a benchmark) unless the binary passed.
    suspects: list[tuple[_Running, datetime | None, int | None]] = field(default_factory=list)
    bench: OrderedDict[str, CappedText] = field(default_factory=OrderedDict)
    bench_current: str | None = None
    failed_prefixes: set[str] = field(default_factory=set)  # parents of failed benchmarks
    settled: int = 0  # tests without an end event whose result was worked out


def _key(package: str, test: str) -> int:
    return hash((package, test))


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.warn = WarnOnce(self.path, options.warn)
        self.runs: dict[str, _PackageRun] = {}
        self.finished_runs: dict[str, int] = {}
        self.completed: set[int] = set()  # tests finished in earlier runs of a package
        self.held: OrderedDict[tuple[str, str], list[_Attempt]] = OrderedDict()
        self.open_count = 0
        self.clock: datetime | None = None
        self.events = 0
        self.repeat_passes = 0
        # Build output: Go >= 1.24 events by ImportPath; older Go's stderr by '# pkg'.
        self.build_output: OrderedDict[str, CappedText] = OrderedDict()
        self.build_failed: OrderedDict[str, int] = OrderedDict()  # ImportPath -> line
        self.stray_package = ""
        self.stray_lines = 0
        self.stray_failures = 0  # 'FAIL pkg [build failed]' lines
        self.stray_results = 0  # go test text results ('ok pkg', '--- PASS: ...')

    # ------------------------------------------------------------------ events

    def feed(self, line: int, event: Any) -> Iterator[TestRecord]:
        if not isinstance(event, Mapping) or not isinstance(event.get("Action"), str):
            raise InputError(self.path, 'not a test2json event (no "Action")', line=line)
        self.events += 1
        action: str = event["Action"]
        time = iso_time(event.get("Time"), self.options)
        if time is not None:
            self.clock = time
        if action in ("build-output", "build-fail"):
            self._build_event(line, action, event)
            return
        raw_package = event.get("Package")
        package: str = raw_package if isinstance(raw_package, str) else ""
        test = as_str(event.get("Test"))
        if action == "start":
            yield from self._start_run(package, line, time, restart=True)
            return
        run = self.runs.get(package)
        if run is None:
            yield from self._start_run(package, line, time, restart=False)
            run = self.runs[package]
        if test is None:
            if action == "output":
                text = event.get("Output")
                if isinstance(text, str):
                    bare = text.rstrip("\r\n")
                    if bare in ("PASS", "FAIL"):
                        run.verdict = bare
                    if not _SUMMARY_LINE.match(bare):
                        run.output.append(text)
                        self._scan(run, text)
            elif action in _STATUS:
                yield from self._end_run(run, line, action, time, event)
            else:
                self.warn(f"action:{action}", f"line {line}: unknown action {action!r} ignored")
            return
        if action == "run":
            run.bench_current = None
            yield from self._start_test(run, test, line, time)
        elif action == "output":
            running = run.running.get(test)
            if running is None:
                running = yield from self._implicit_start(run, test, line, time)
            text = event.get("Output")
            if isinstance(text, str):
                running.output.append(text)
                self._scan(run, text)
        elif action in ("pause", "cont"):
            if test not in run.running:
                yield from self._implicit_start(run, test, line, time)
        elif action in _STATUS:
            running = run.running.pop(test, None)
            if running is None:
                # An end without a start (a log cut at its beginning, a benchmark).
                parent = self._parent_of(run, test)
                running = _Running(package, test, line, None, CappedText(0), implicit=True)
                if parent is not None:
                    parent.children += 1
                    parent.open_children += 1
                    running.parent = parent.test
            else:
                self.open_count -= 1
            run.markers.pop(test, None)
            status = _STATUS[action]
            elapsed = as_number(event.get("Elapsed"))
            elapsed_ms = None if elapsed is None else int(round(elapsed * 1000))
            if running.implicit:
                bench = run.bench.pop(test, None)
                if bench is not None:
                    # go 1.19: a benchmark's log comes before its result, as output of no
                    # test (or of the test before); what follows its result line is the
                    # next benchmarks' output.
                    running.output = bench
                if status is Status.FAILED:
                    yield from self._suspect(run, running, time, elapsed_ms)
                    return
            if running.open_children:
                yield from self._settle_children(run, running, status, time)
            yield from self._finish_test(run, running, status, time, elapsed_ms)
        else:
            self.warn(f"action:{action}", f"line {line}: unknown action {action!r} ignored")

    def stray(self, line: int, text: str) -> Iterator[TestRecord]:
        """A line that is not JSON: go < 1.24's build output (stderr merged in)."""
        self.stray_lines += 1
        text = text.rstrip("\r\n")
        if _TEXT_RESULT_LINE.match(text):
            self.stray_results += 1
        if match := _BUILD_FAILED.match(text):
            self.stray_failures += 1
            package = match.group(1)
            output = self.build_output.pop(package, None)
            yield self._package_failure(
                package, line, self.clock, match.group(2), output.text() if output else None
            )
            return
        if match := _BUILD_HEADER.match(text):
            self.stray_package = match.group(1)
        self._build_text(self.stray_package, text + "\n")

    def _build_event(self, line: int, action: str, event: Mapping[str, Any]) -> None:
        path = as_str(event.get("ImportPath")) or ""
        if action == "build-output":
            output = event.get("Output")
            if isinstance(output, str):
                self._build_text(path, output)
        else:
            self.build_failed[path] = line
            self.build_failed.move_to_end(path)
            while len(self.build_failed) > MAX_BUILD_OUTPUTS:
                self.build_failed.popitem(last=False)

    def _build_text(self, key: str, text: str) -> None:
        buffer = self.build_output.get(key)
        if buffer is None:
            buffer = self.build_output[key] = CappedText(self.options.max_text_bytes)
            while len(self.build_output) > MAX_BUILD_OUTPUTS:
                self.build_output.popitem(last=False)
        buffer.append(text)

    # ------------------------------------------------------------------ package runs

    def _start_run(
        self, package: str, line: int, time: datetime | None, *, restart: bool
    ) -> Iterator[TestRecord]:
        if package in self.runs:
            if not restart:
                return
            # A new 'start' while the last run never ended: the log lost its end.
            yield from self._end_run(self.runs[package], line, None, time, {})
        self.runs[package] = _PackageRun(
            name=package,
            index=self.finished_runs.get(package, 0),
            started_at=time,
            line=line,
            output=CappedText(self.options.max_text_bytes),
        )

    def _end_run(
        self,
        run: _PackageRun,
        line: int,
        action: str | None,
        time: datetime | None,
        event: Mapping[str, Any],
    ) -> Iterator[TestRecord]:
        """The package's own pass/fail/skip (or the end of the log): close what is open."""
        # The binary passed: no test failed (a test's failure fails its package).
        clean = action == "pass" and run.verdict != "FAIL"
        # Deepest (latest started) first, so that children close before parents.
        for name in reversed(list(run.running)):
            running = run.running[name]
            result = self._settle(run, running, clean, "its package passed", time)
            if result is not None:
                del run.running[name]
                self.open_count -= 1
                yield from self._finish_test(run, running, *result)
        if run.settled:
            self.warn(
                f"settled:{run.name}",
                f"package {run.name}: {run.settled} test(s) had no end event (go < 1.20's "
                "test2json misses a `--- PASS` line glued to output without a final "
                "newline); their result is read from that line, or from their parent's or "
                "package's",
            )
        phantoms = []
        for running, end, elapsed_ms in run.suspects:
            if clean:
                phantoms.append(running.test)
                continue
            yield from self._finish_test(run, running, Status.FAILED, end, elapsed_ms)
        run.suspects.clear()
        if phantoms:
            shown = ", ".join(phantoms[:3]) + (", ..." if len(phantoms) > 3 else "")
            self.warn(
                f"phantom:{run.name}",
                f"package {run.name} passed, but test2json reported {len(phantoms)} test(s) "
                f"that never started as failed ({shown}): `--- FAIL` lines a test printed, "
                "which go < 1.20 reads as results; they are not records",
            )
        if run.running:
            why = (
                f"{run.panicked} panicked and the test binary exited"
                if run.panicked
                else "the test binary exited (panic, timeout, os.Exit or a crash)"
                if action is not None
                else "the log ended (go test was killed or the log was cut)"
            )
            if run.panicked:
                self.warn(
                    f"panic:{run.name}",
                    f"package {run.name}: {run.panicked} panicked; the tests it stopped "
                    "are reported as Failed (incomplete) and tests that had not started are "
                    "not in the report",
                )
            for name in reversed(list(run.running)):
                running = run.running.pop(name)
                self.open_count -= 1
                yield from self._finish_test(
                    run, running, Status.FAILED, time or self.clock, None, incomplete=why
                )
        if action == "fail" and run.failed_tests == 0:
            failed_build = as_str(event.get("FailedBuild"))
            reason = "build failed" if failed_build else "package failed"
            output = run.output.text()
            if failed_build:
                build = self.build_output.pop(failed_build, None)
                self.build_failed.pop(failed_build, None)
                output = (build.text() if build else "") + output
            yield self._package_failure(
                run.name, run.line, run.started_at or time, reason, output or None
            )
        elif action == "fail":
            # go prints a panic's trace or TestMain's output here: keep it findable.
            text = run.output.text().strip()
            if text:
                self.warn(
                    f"pkg-output:{run.name}",
                    f"package {run.name} printed output outside its tests; it is not "
                    "uploaded (its failures are in the tests' records)",
                )
        self.completed.update(run.keys)
        self.finished_runs[run.name] = run.index + 1
        del self.runs[run.name]

    def _package_failure(
        self,
        package: str,
        line: int,
        time: datetime | None,
        reason: str,
        output: str | None,
    ) -> TestRecord:
        label = package or "go test"
        text = output.strip("\n") if output else None
        message = {
            "build failed": f"{label}: build failed",
            "setup failed": f"{label}: setup failed",
        }.get(reason)
        if message is None:
            panic = _PANIC.search(text or "")
            message = (
                f"{label}: {panic.group(0)}"
                if panic
                else f"{label}: the package failed outside any test (TestMain, init or exit)"
            )
        else:
            detail = _first_error_line(text)
            if detail:
                message = f"{message}: {detail}"
        metadata: dict[str, Any] = {
            "format": "go-test-json",
            "report": self.path,
            "package": package,
            "synthetic": True,
            "reason": reason,
            "report_line": line,
        }
        started_at, time_source = self._time(time)
        if time_source:
            metadata["time_source"] = time_source
        return TestRecord(
            test_name=fit_name(f"{label} ({reason})"),
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=started_at,
            finished_at=started_at,
            execution_time_ms=0 if started_at else None,
            error_message=clip(message),
            metadata=metadata,
            failure_text=text or None,
        )

    # ------------------------------------------------------------------ tests

    def _start_test(
        self, run: _PackageRun, test: str, line: int, time: datetime | None
    ) -> Iterator[TestRecord]:
        if test in run.running:
            # A second 'run' for a running test: the first never ended (a cut log).
            running = run.running.pop(test)
            self.open_count -= 1
            yield from self._finish_test(
                run, running, Status.FAILED, time, None, incomplete="it started again"
            )
        parent = self._parent_of(run, test)
        if parent is not None:
            parent.children += 1
            parent.open_children += 1
        run.running[test] = _Running(
            package=run.name,
            test=test,
            line=line,
            started_at=time,
            output=CappedText(self.options.max_text_bytes),
            parent=parent.test if parent else None,
        )
        self.open_count += 1
        if self.open_count > MAX_OPEN:
            yield from self._evict_oldest()

    def _implicit_start(
        self, run: _PackageRun, test: str, line: int, time: datetime | None
    ) -> Generator[TestRecord, None, _Running]:
        """An event for a test that never had 'run' (a log cut at its start, a benchmark,
        a ``--- FAIL`` line a test printed, or go < 1.20 missing a glued ``=== RUN``)."""
        yield from self._start_test(run, test, line, time)
        running = run.running[test]
        running.implicit = True
        return running

    def _evict_oldest(self) -> Iterator[TestRecord]:
        self.warn(
            "open",
            f"more than {MAX_OPEN} tests running at once; the oldest are reported as "
            "Failed (incomplete)",
        )
        for run in self.runs.values():
            if run.running:
                name = next(iter(run.running))
                running = run.running.pop(name)
                self.open_count -= 1
                yield from self._finish_test(
                    run, running, Status.FAILED, self.clock, None, incomplete="too many open"
                )
                return

    @staticmethod
    def _parent_of(run: _PackageRun, test: str) -> _Running | None:
        # Subtest names may contain '/' themselves: the nearest running prefix is it.
        name = test
        while "/" in name:
            name = name.rsplit("/", 1)[0]
            parent = run.running.get(name)
            if parent is not None:
                return parent
        return None

    def _scan(self, run: _PackageRun, text: str) -> None:
        """Note result markers and benchmark output in a piece of output."""
        if "--- " in text:
            for match in _MARKER.finditer(text):
                seconds = float(match.group(3))
                run.markers[match.group(2)] = (
                    _MARKER_STATUS[match.group(1)],
                    int(round(seconds * 1000)),
                )
                if len(run.markers) > MAX_OPEN:
                    del run.markers[next(iter(run.markers))]
        if text.startswith("Benchmark") and (bench := _BENCH_NAME.match(text)):
            run.bench_current = bench.group(1)
            run.bench[run.bench_current] = CappedText(self.options.max_text_bytes)
            run.bench.move_to_end(run.bench_current)
            while len(run.bench) > MAX_BENCH:
                run.bench.popitem(last=False)
        elif run.bench_current is not None and not _FRAMEWORK_LINE.match(text):
            buffer = run.bench.get(run.bench_current)
            if buffer is not None:
                buffer.append(text)

    def _suspect(
        self,
        run: _PackageRun,
        running: _Running,
        time: datetime | None,
        elapsed_ms: int | None,
    ) -> Iterator[TestRecord]:
        """A failure of a test that never had 'run': kept until its package ends, dropped
        if the test binary passed (then it was a ``--- FAIL`` line a test printed)."""
        parent = run.running.get(running.parent) if running.parent else None
        if parent is not None:
            # Not a subtest of a running test until its package says it failed.
            parent.children -= 1
            parent.open_children -= 1
        run.suspects.append((running, time, elapsed_ms))
        if len(run.suspects) > MAX_HELD:
            held, end, elapsed = run.suspects.pop(0)
            yield from self._finish_test(run, held, Status.FAILED, end, elapsed)

    def _settle(
        self,
        run: _PackageRun,
        running: _Running,
        clean: bool,
        why: str,
        time: datetime | None,
    ) -> tuple[Status, datetime | None, int | None, str] | None:
        """The result of a test that got no end event, when its ``--- PASS`` line was seen
        (glued to output) or when its parent or package passed (then it did not fail)."""
        marker = run.markers.pop(running.test, None)
        if marker is None and not clean:
            return None
        run.settled += 1
        if marker is None:
            return Status.PASSED, time, None, why
        status, elapsed_ms = marker
        word = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.SKIPPED: "SKIP"}[status]
        end = time
        if running.started_at is not None:
            end = running.started_at + timedelta(milliseconds=elapsed_ms)
        if status is Status.FAILED and clean:
            # A failure would have failed its parent and package: a line it printed.
            return Status.PASSED, end, elapsed_ms, why
        return status, end, elapsed_ms, f"its --- {word} line in the output"

    def _settle_children(
        self, run: _PackageRun, parent: _Running, status: Status, time: datetime | None
    ) -> Iterator[TestRecord]:
        """A parent ends while subtests have no end event (go < 1.20, a glued result)."""
        prefix = parent.test + "/"
        for name in reversed([name for name in run.running if name.startswith(prefix)]):
            running = run.running[name]
            clean = status is not Status.FAILED
            result = self._settle(run, running, clean, "its parent passed", time)
            if result is not None:
                del run.running[name]
                self.open_count -= 1
                yield from self._finish_test(run, running, *result)

    def _finish_test(
        self,
        run: _PackageRun,
        running: _Running,
        status: Status,
        time: datetime | None,
        elapsed_ms: int | None,
        result_from: str | None = None,
        *,
        incomplete: str | None = None,
    ) -> Iterator[TestRecord]:
        text = _own_text(running.output.text())
        panic = _PANIC.search(text)
        if panic and not run.panicked and status is Status.FAILED and incomplete is None:
            run.panicked = running.test
        parent = run.running.get(running.parent) if running.parent else None
        failed = status is Status.FAILED
        if parent is not None and parent.open_children > 0:
            parent.open_children -= 1
        if failed and parent is not None:
            parent.failed_children += 1
        if failed:
            run.failed_tests += 1
        if failed and running.implicit:
            if running.test in run.failed_prefixes:
                # A benchmark whose sub-benchmark failed: that failure is the record.
                return
            if len(run.failed_prefixes) < MAX_OPEN:
                name = running.test
                while "/" in name:
                    name = name.rsplit("/", 1)[0]
                    run.failed_prefixes.add(name)

        reason = None
        if running.children:
            # A group: its leaves are the records. It only gets one of its own when it
            # failed and no subtest says why.
            if not failed or running.failed_children:
                return
            reason = "failed outside its subtests"
        started_at = running.started_at
        if started_at is None and time is not None and elapsed_ms is not None:
            started_at = time - timedelta(milliseconds=elapsed_ms)
        if incomplete and elapsed_ms is None and started_at and time and time >= started_at:
            # No Elapsed from Go: the wall time until the binary was seen to end.
            elapsed_ms = int(round((time - started_at).total_seconds() * 1000))
        message = None
        if panic and failed:
            message = panic.group(0)
        elif incomplete:
            message = f"did not finish: {incomplete}"
        elif status is not Status.PASSED:
            message = _last_log_entry(text)
        if failed and message is None:
            message = "failed after all its subtests passed" if reason else "failed without output"
        attempt = _Attempt(
            status=status,
            line=running.line,
            run=run.index,
            started_at=started_at,
            finished_at=time,
            elapsed_ms=elapsed_ms,
            text=text,
            message=message,
            parent=running.parent,
            incomplete=incomplete is not None,
            synthetic_reason=reason,
            subtests=running.children,
            result_from=result_from,
        )
        yield from self._complete(run, running.test, attempt)

    def _complete(self, run: _PackageRun, test: str, attempt: _Attempt) -> Iterator[TestRecord]:
        key = (run.name, test)
        digest = _key(run.name, test)
        held = self.held.get(key)
        if held is not None and held[-1].run < attempt.run:
            # A rerun of a test whose earlier run failed: one record, several attempts.
            held.append(attempt)
            if attempt.status is not Status.FAILED:
                del self.held[key]
                yield self._record(run.name, test, held)
            run.keys.append(digest)
            return
        if held is not None:
            # The same test again in the same run (-count=N): its own record.
            del self.held[key]
            yield self._record(run.name, test, held)
        if run.index > 0 and digest in self.completed:
            # Ran before and was not held (it passed): a rerun of a failed parent repeats
            # its passing subtests. A repeated pass adds nothing; anything else is kept.
            if attempt.status is Status.PASSED:
                self.repeat_passes += 1
                return
            attempt.repeat_of_passed = True
        run.keys.append(digest)
        if attempt.status is Status.FAILED:
            self.held[key] = [attempt]
            while len(self.held) > MAX_HELD:
                (package, name), attempts = self.held.popitem(last=False)
                yield self._record(package, name, attempts)
            return
        yield self._record(run.name, test, [attempt])

    # ------------------------------------------------------------------ records

    def _time(self, time: datetime | None) -> tuple[datetime | None, str | None]:
        if time is not None:
            return time, "report"
        if self.options.fallback_start is not None:
            return self.options.fallback_start, "file_mtime"
        return None, None

    def _record(self, package: str, test: str, attempts: list[_Attempt]) -> TestRecord:
        final, first = attempts[-1], attempts[0]
        metadata: dict[str, Any] = {
            "format": "go-test-json",
            "report": self.path,
            "package": package,
            "test": test,
        }
        if final.parent:
            metadata["parent"] = final.parent
        if final.synthetic_reason:
            metadata.update(
                {"synthetic": True, "reason": final.synthetic_reason, "subtests": final.subtests}
            )
        if final.incomplete:
            metadata["incomplete"] = True
        if final.repeat_of_passed:
            metadata["repeat_of_passed"] = True
        if final.result_from:
            metadata["result_from"] = final.result_from
        metadata["report_line"] = first.line
        outputs: list[TextArtifact] = []
        if len(attempts) > 1:
            metadata["attempts"] = len(attempts)
            metadata["flaky"] = final.status is Status.PASSED
            outputs.append(TextArtifact("attempts.txt", _attempt_history(attempts)))

        started_at, time_source = self._time(first.started_at)
        finished_at = final.finished_at
        known = [a.elapsed_ms for a in attempts if a.elapsed_ms is not None]
        elapsed_ms = sum(known) if known else None
        if time_source == "file_mtime" or finished_at is None:
            finished_at = (
                started_at + timedelta(milliseconds=elapsed_ms)
                if started_at is not None and elapsed_ms is not None
                else started_at
            )
        if time_source:
            metadata["time_source"] = time_source

        failure_text = None
        if final.status is Status.FAILED:
            failure_text = final.text.strip("\n") or None
        elif final.text.strip() and not (
            final.status is Status.SKIPPED and final.text.strip() == (final.message or "")
        ):
            outputs.insert(0, TextArtifact("stdout.log", final.text))
        name = f"{package}.{test}" if package else test
        return TestRecord(
            test_name=fit_name(name),
            status=final.status,
            source=SourceRef(self.source.path, self.source.member, first.line),
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=elapsed_ms,
            error_message=clip(final.message),
            metadata=metadata,
            failure_text=failure_text,
            outputs=tuple(outputs),
        )

    # ------------------------------------------------------------------ the end

    def finish(self) -> Iterator[TestRecord]:
        if self.events == 0 and self.stray_results:
            raise InputError(
                self.path,
                "`go test` text output, without test2json events: its test results would be "
                "lost (write `go test -json ./... > report.json`)",
            )
        if self.events == 0 and not self.build_failed and not self.stray_failures:
            raise InputError(
                self.path, "no test2json events in it (is this `go test -json` output?)"
            )
        if self.runs:
            self.warn(
                "cut",
                f"{len(self.runs)} package(s) never reported their end (go test was killed "
                "or the log was cut); their running tests are reported as Failed",
            )
        for run in list(self.runs.values()):
            yield from self._end_run(run, run.line, None, self.clock, {})
        while self.held:
            (package, test), attempts = self.held.popitem(last=False)
            yield self._record(package, test, attempts)
        for path, line in self.build_failed.items():
            # A build-fail no package event claimed (go >= 1.24).
            output = self.build_output.pop(path, None)
            yield self._package_failure(
                path.split(" ", 1)[0],
                line,
                self.clock,
                "build failed",
                output.text() if output else None,
            )
        if self.repeat_passes:
            self.warn(
                "repeats",
                f"{self.repeat_passes} test run(s) repeated a test that had already passed "
                "(a rerun of its failed parent); the repeated passes are not separate records",
            )
        leftover = sum(1 for text in self.build_output.values() if text.text().strip())
        if leftover:
            self.warn(
                "stray",
                f"build output of {leftover} package(s) (go >= 1.24 build-output events, or "
                "lines that are not JSON: build or vet output, stderr) matched no package "
                "failure; it is not uploaded",
            )


def _own_text(output: str) -> str:
    """A test's output without go test's own ``=== RUN``/``--- PASS`` lines."""
    if not output:
        return ""
    lines = []
    for line in output.splitlines(keepends=True):
        if _FRAMEWORK_LINE.match(line):
            continue
        if ("--- " in line or "=== " in line) and (glued := _GLUED.search(line)):
            # go < 1.20: 'printed without a newline--- PASS: TestX (0.00s)'.
            line = line[: glued.start()] + "\n"
        lines.append(line)
    return "".join(lines)


def _last_log_entry(text: str) -> str | None:
    """The last ``file_test.go:NN: message`` entry of a test's output, with its
    continuation lines; else the first non-blank line.

    Go does not mark which log lines are errors. ``t.Fatal``/``t.Skip`` end the test, so
    the last entry is the reason more often than the first (a ``t.Log`` before a failure
    is common; several ``t.Error`` calls are rarer, and all of them are in the failure
    text anyway).
    """
    entry: list[str] = []
    indent = 0
    last: list[str] = []
    for line in text.splitlines():
        match = _LOG_ENTRY.match(line)
        if match:
            entry = [line.strip()]
            indent = len(match.group(1))
            last = entry
        elif entry and line.strip() and len(line) - len(line.lstrip()) > indent:
            entry.append(line.strip())
        else:
            entry = []
    if last:
        return "\n".join(last)
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def _first_error_line(text: str | None) -> str | None:
    """The first compiler error under a ``# pkg`` header."""
    for line in (text or "").splitlines():
        if line.strip() and not line.startswith("#"):
            return line.strip()
    return None


def _attempt_history(attempts: list[_Attempt]) -> str:
    blocks = []
    for number, attempt in enumerate(attempts, 1):
        head = f"attempt {number}: {attempt.status}"
        if attempt.elapsed_ms is not None:
            head += f" ({attempt.elapsed_ms} ms)"
        text = attempt.text.strip("\n")
        blocks.append(head + (f"\n{text}" if text else ""))
    return "\n\n".join(blocks) + "\n"


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test (leaf or failed group) of a ``go test
    -json`` log read from ``stream``, one line at a time, plus synthetic records for
    packages that failed outside their tests."""
    reader = _Reader(source, options)
    decoder = SafeJSON(reader.path, options.warn)
    for number, raw in iter_lines(stream, reader.path, max_line_bytes=MAX_LINE_BYTES):
        if not raw.lstrip().startswith(b"{"):
            yield from reader.stray(number, raw.decode("utf-8", "replace"))
            continue
        try:
            event = decoder.loads(raw, first_line=number)
        except InputError:
            if options.salvage and not raw.endswith(b"\n"):
                options.warn(f"{reader.path}:{number}: last line truncated; ignored (--salvage)")
                break
            raise
        yield from reader.feed(number, event)
    yield from reader.finish()

"""Rust libtest JSON (``cargo test -- -Z unstable-options --format json``), and
cargo-nextest's ``--message-format libtest-json``: streaming, one line at a time.

libtest writes one JSON object a line: ``suite started`` (``test_count``), then per test
``started`` and one of ``ok``/``failed``/``ignored`` (``exec_time`` with
``--report-time``, captured ``stdout`` for failures, ``message`` for ``should_panic``
mismatches and ``#[ignore = "reason"]``), ``bench`` results under ``cargo bench``, and a
``suite ok|failed`` line with the counts. ``cargo test`` runs one test binary after the
other (the library, each integration test, the doc-tests), so one stream holds several
suites. The mapping rules are in the README ("How Rust libtest JSON maps").

Quirks of the real tools that shaped the rules:

* Suites carry no name. cargo names each binary on *stderr* (``Running unittests
  src/lib.rs (target/debug/deps/sample-1a2b…)``, ``Doc-tests sample``); when stderr was
  merged into the file those lines name the suite, every other non-JSON line is counted
  and skipped with one warning.
* A test binary that crashes (abort, stack overflow, a signal) stops its stream after a
  ``started`` line and writes no ``suite`` line; cargo goes on with the next binary. The
  tests left running are Failed, and tests the suite announced but never reported give
  one synthetic Failed record: never a silent pass.
* ``{"type": "test", "event": "timeout"}`` is libtest's "running for over 60 seconds"
  notice, not a result: the test's result line still follows.
* cargo-nextest 0.9 (``NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1``) names tests
  ``crate::binary$path::test``, adds ``#N`` to the name of a test's final attempt when it
  was retried, writes ``started`` but no result for ignored tests (the suite line counts
  them as ignored), and may split one binary into several suites.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._capped_log import capped_artifact
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_LINE_BYTES, SafeJSON, iter_lines
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    clip_code_points,
    fit_name,
)

FORMATS = (
    Format(
        "libtest",
        "Rust libtest JSON",
        "libtest",
        producers="cargo test -- -Z unstable-options --format json; "
        "cargo nextest --message-format libtest-json",
    ),
)

_EVENT = re.compile(rb'^\{\s*"type"\s*:\s*"(?:suite|test|bench)"\s*,\s*"(?:event|name)"\s*:')


def sniff(head: Head) -> str | None:
    """libtest JSON: the first JSON line is a ``{"type": "suite"|"test"|"bench", ...}``
    event (cargo's own stderr lines may come first when both streams were captured)."""
    # All of the first bytes, not the first 50 lines: a big workspace compiles for a while.
    for raw in head.text.split(b"\n"):
        line = raw.strip()
        if line.startswith(b"{"):
            return "libtest" if _EVENT.match(line) else None
    return None


#: Tests started but not finished kept in memory; beyond this the oldest is reported as
#: incomplete (a real run has one per test thread, plus nextest's ignored tests).
MAX_RUNNING = 10_000

RESULTS = {"ok": Status.PASSED, "failed": Status.FAILED, "ignored": Status.SKIPPED}
# cargo's stderr lines that name the next suite.
_RUNNING = re.compile(
    r"^\s*Running (?:unittests |benches |tests )?(?P<what>\S.*?)(?: \((?P<path>[^)]*)\))?\s*$"
)
_DOC_TESTS = re.compile(r"^\s*Doc-tests (?P<crate>\S+)\s*$")
_BINARY_HASH = re.compile(r"-[0-9a-f]{16}$")
# Rust >= 1.73: "thread 'name' (id) panicked at src/lib.rs:45:9:\nmessage"
_PANIC = re.compile(
    r"^thread '(?P<thread>[^'\n]*)'(?: \(\d+\))? panicked at (?P<where>[^'\n][^\n]*?):?\n", re.M
)
# Rust < 1.73: "thread 'name' panicked at 'message', src/lib.rs:45:9"
_OLD_PANIC = re.compile(
    r"^thread '[^'\n]*' panicked at '(?P<message>.*?)', (?P<where>[^\n]+:\d+:\d+)$", re.M | re.S
)
_PANIC_END = ("stack backtrace:", "note: ")
# libtest's should_panic verdicts, as its human output writes them (nextest's stdout).
_VERDICT = re.compile(
    r"^note: (?P<verdict>(?:test did not panic as expected|panic did not contain expected "
    r"string)[^\n]*(?:\n +[^\n]*)*)",
    re.M,
)
_ERROR_LINE = re.compile(r"^Error: (?P<message>[^\n]*)$", re.M)
_DOCTEST = re.compile(r"^(?P<file>.+?\.rs) - (?:.*?\s)?\(line (?P<line>\d+)\)(?: - compile fail)?$")
_ATTEMPT = re.compile(r"#(?P<attempt>\d+)$")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= 0 else None


@dataclass
class _Suite:
    number: int
    line: int
    binary: str | None
    test_count: int | None
    running: dict[str, int] = field(default_factory=dict)  # name -> line of "started"
    slow: set[str] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=lambda: {"ok": 0, "failed": 0, "ignored": 0})
    benches: int = 0
    binaries: set[str] = field(default_factory=set)  # nextest: the binaries of its tests


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.suite: _Suite | None = None
        self.suites = 0
        self.next_binary: str | None = None
        self.other_lines = 0
        self.fake_results = 0  # result lines of tests never started: test output
        self.fake_line = 0
        self.events = 0
        self.last_line = 0
        self.nextest = False
        # nextest: tests started in one suite block that may finish in a later one
        self.carried: dict[str, tuple[int, _Suite]] = {}
        self.ignored_claims: dict[str, int] = {}
        self.warned: set[str] = set()

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.options.warn(f"{self.path}: {message}")

    # ------------------------------------------------------------------ lines

    def text_line(self, raw: bytes) -> None:
        """A line that is not JSON: cargo's stderr naming a binary, or stray output."""
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        running = _RUNNING.match(text)
        if running:
            path = running["path"]
            if path:
                name = path.replace("\\", "/").rsplit("/", 1)[-1]
                self.next_binary = _BINARY_HASH.sub("", name.removesuffix(".exe"))
            else:
                self.next_binary = running["what"].strip()
            return
        doc = _DOC_TESTS.match(text)
        if doc:
            self.next_binary = f"{doc['crate']} (doc-tests)"
            return
        if text.strip():
            self.other_lines += 1

    def event(self, line: int, entry: Any) -> Iterator[TestRecord]:
        if not isinstance(entry, Mapping):
            raise InputError(self.path, "libtest line is not a JSON object", line=line)
        kind = entry.get("type")
        event = entry.get("event")
        self.events += 1
        if kind == "suite":
            if event == "started":
                yield from self._close(line, crashed=True)
                self.suites += 1
                self.suite = _Suite(
                    number=self.suites,
                    line=line,
                    binary=self.next_binary,
                    test_count=_count(entry.get("test_count")),
                )
                self.next_binary = None
            elif event in ("ok", "failed"):
                yield from self._close(line, crashed=False, summary=entry)
            else:
                self.warn_once(f"suite:{event}", f"line {line}: unknown suite event {event!r}")
        elif kind == "test":
            yield from self._test(line, entry)
        elif kind == "bench":
            yield from self._bench(line, entry)
        else:
            self.warn_once(f"type:{kind}", f"line {line}: unknown event type {kind!r} ignored")

    def _suite(self, line: int) -> _Suite:
        if self.suite is None:
            # A stream cut before its "suite started" line (or tests of a libtest
            # without one): an implicit suite.
            self.suites += 1
            self.suite = _Suite(self.suites, line, self.next_binary, None)
            self.next_binary = None
        return self.suite

    def _test(self, line: int, entry: Mapping[str, Any]) -> Iterator[TestRecord]:
        name = _str(entry.get("name"))
        event = entry.get("event")
        if name is None:
            raise InputError(self.path, 'test event without a "name"', line=line)
        if "$" in name:
            self.nextest = True
        suite = self._suite(line)
        if event == "started":
            suite.running[name] = line
            if "$" in name:
                suite.binaries.add(name.split("$", 1)[0])
            if len(suite.running) > MAX_RUNNING:
                oldest = next(iter(suite.running))
                self.warn_once(
                    "running",
                    f"more than {MAX_RUNNING} tests started without a result; "
                    "the oldest are reported as incomplete",
                )
                yield self._incomplete(suite, oldest, suite.running.pop(oldest), "too many")
        elif event == "timeout":
            suite.slow.add(name)
        elif event in RESULTS:
            if not self.nextest and suite.test_count is not None and name not in suite.running:
                # libtest writes "started" before every result: a result that no test
                # started is a test's own output under --nocapture that looks like it.
                self.fake_results += 1
                self.fake_line = self.fake_line or line
                return
            yield self._result(line, suite, name, str(event), entry)
        else:
            self.warn_once(f"test:{event}", f"line {line}: unknown test event {event!r}")

    def _bench(self, line: int, entry: Mapping[str, Any]) -> Iterator[TestRecord]:
        name = _str(entry.get("name"))
        if name is None:
            raise InputError(self.path, 'bench event without a "name"', line=line)
        suite = self._suite(line)
        started = suite.running.pop(name, line)
        suite.benches += 1
        metadata = self._metadata(suite, name, started)
        metadata["bench"] = True
        for key in ("median", "deviation", "mib_per_second"):
            value = entry.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                metadata[f"bench_{key}" + ("_ns" if key != "mib_per_second" else "")] = value
        yield self._record(name, started, Status.PASSED, metadata)

    # ------------------------------------------------------------------ records

    def _metadata(self, suite: _Suite, name: str, line: int) -> dict[str, Any]:
        metadata: dict[str, Any] = {"format": "libtest", "report": self.path, "suite": suite.number}
        if suite.binary:
            metadata["binary"] = suite.binary
        if "$" in name:
            metadata["binary"] = name.split("$", 1)[0]
        doc = _DOCTEST.match(name)
        if doc:
            metadata["doctest"] = True
            metadata["file"] = doc["file"]
            metadata["line"] = int(doc["line"])
        if name in suite.slow:
            metadata["ran_over_60s"] = True
        metadata["report_line"] = line
        return metadata

    def _record(
        self,
        name: str,
        line: int,
        status: Status,
        metadata: dict[str, Any],
        *,
        seconds: float | None = None,
        message: str | None = None,
        failure_text: str | None = None,
        stdout: str | None = None,
    ) -> TestRecord:
        duration = round(seconds * 1000) if seconds is not None else None
        started_at = self.options.fallback_start
        if started_at is not None:
            # libtest writes no clock time: the file's mtime (when the run ended).
            metadata["time_source"] = "file_mtime"
        outputs: tuple[TextArtifact, ...] = ()
        if stdout:
            outputs = (capped_artifact("stdout.log", stdout, self.options.max_text_bytes),)
        if failure_text is not None:
            failure_text = capped_artifact("f", failure_text, self.options.max_text_bytes).text
        return TestRecord(
            test_name=fit_name(name),
            status=status,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=started_at,
            finished_at=started_at + timedelta(milliseconds=duration)
            if started_at is not None and duration is not None
            else None,
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=failure_text,
            outputs=outputs,
        )

    def _result(
        self, line: int, suite: _Suite, name: str, event: str, entry: Mapping[str, Any]
    ) -> TestRecord:
        status = RESULTS[event]
        suite.seen[event] += 1
        display = name
        attempts = None
        if self.nextest:
            attempt = _ATTEMPT.search(name)
            if attempt:
                display = name[: attempt.start()]
                attempts = int(attempt["attempt"])
        started = suite.running.pop(display, None)
        if started is None and display in self.carried:
            started = self.carried.pop(display)[0]
        if started is None:
            started = line
        metadata = self._metadata(suite, display, started)
        metadata["event"] = event
        if attempts is not None:
            metadata["attempts"] = attempts
            metadata["flaky"] = status is Status.PASSED and attempts > 1
        stdout = _str(entry.get("stdout"))
        note = _str(entry.get("message"))
        message: str | None
        failure_text: str | None = None
        if status is Status.FAILED:
            message, failure_text = _failure(note, stdout)
        else:
            message = note  # the #[ignore = "reason"]
            if status is Status.SKIPPED and note:
                metadata["ignore_reason"] = clip_code_points(note, ERROR_MESSAGE_MAX)
        return self._record(
            display,
            started,
            status,
            metadata,
            seconds=_seconds(entry.get("exec_time")),
            message=message,
            failure_text=failure_text,
            stdout=stdout,
        )

    def _incomplete(self, suite: _Suite, name: str, line: int, why: str) -> TestRecord:
        metadata = self._metadata(suite, name, line)
        metadata["incomplete"] = True
        message = (
            "test started but never finished: the test binary crashed or was killed"
            if why == "crashed"
            else "test started but its result never came"
        )
        return self._record(name, line, Status.FAILED, metadata, message=message)

    def _close(
        self, line: int, *, crashed: bool, summary: Mapping[str, Any] | None = None
    ) -> Iterator[TestRecord]:
        suite, self.suite = self.suite, None
        if suite is None:
            if summary is not None:
                self.warn_once("orphan", f"line {line}: a suite result without its start")
            return
        claimed = {
            key: _count(summary.get(key)) if summary is not None else None
            for key in ("passed", "failed", "ignored", "measured")
        }
        if self.nextest and not crashed:
            # nextest splits a binary into several suite blocks and leaves ignored tests
            # without a result: decided at the end of the stream (see finish).
            for binary in suite.binaries:
                claim = claimed["ignored"] or 0
                self.ignored_claims[binary] = max(self.ignored_claims.get(binary, 0), claim)
            for name, started in suite.running.items():
                self.carried[name] = (started, suite)
            suite.running.clear()
        for name, started in suite.running.items():
            yield self._incomplete(suite, name, started, "crashed" if crashed else "lost")
        reported = sum(suite.seen.values()) + suite.benches + len(suite.running)
        if crashed:
            missing = (suite.test_count or 0) - reported
            yield self._crashed_suite(suite, line, max(missing, 0))
            return
        self._check(suite, claimed, line)
        lost_failures = (claimed["failed"] or 0) - suite.seen["failed"] - len(suite.running)
        if lost_failures > 0 and not self.nextest:
            yield self._lost_failures(suite, line, lost_failures)

    def _crashed_suite(self, suite: _Suite, line: int, missing: int) -> TestRecord:
        what = suite.binary or f"test suite {suite.number}"
        message = f"{what} did not finish (the test binary crashed or was killed)"
        if missing:
            message += f"; {missing} of its {suite.test_count} tests never reported"
        metadata = self._metadata(suite, what, suite.line)
        metadata.update(
            {"synthetic": True, "reason": "suite did not finish", "missing_tests": missing}
        )
        return self._record(
            f"{what} (suite did not finish)", suite.line, Status.FAILED, metadata, message=message
        )

    def _lost_failures(self, suite: _Suite, line: int, count: int) -> TestRecord:
        what = suite.binary or f"test suite {suite.number}"
        metadata = self._metadata(suite, what, line)
        metadata.update(
            {"synthetic": True, "reason": "failures without a test", "missing_tests": count}
        )
        message = f"the suite result counts {count} more failed test(s) than the stream reported"
        return self._record(
            f"{what} (unreported failures)", line, Status.FAILED, metadata, message=message
        )

    def _check(self, suite: _Suite, claimed: dict[str, int | None], line: int) -> None:
        found = {
            "passed": suite.seen["ok"],
            "failed": suite.seen["failed"],
            "ignored": suite.seen["ignored"],
            "measured": suite.benches,
        }
        wrong = [
            f"{key} {claimed[key]} (read {found[key]})"
            for key in found
            if claimed[key] is not None and claimed[key] != found[key]
        ]
        # nextest repeats a binary's ignored count in every suite it splits the binary into.
        if self.nextest:
            wrong = [w for w in wrong if not w.startswith("ignored")]
        if wrong:
            self.options.warn(
                f"{self.path}:{line}: the suite result disagrees with its tests: "
                + ", ".join(wrong)
            )

    def _finish_carried(self) -> Iterator[TestRecord]:
        """nextest's tests that started and never got a result: the ignored ones, when the
        suite lines count that many ignored tests for their binary; else incomplete."""
        by_binary: dict[str, list[tuple[str, int, _Suite]]] = {}
        for name, (line, suite) in self.carried.items():
            by_binary.setdefault(name.split("$", 1)[0], []).append((name, line, suite))
        self.carried.clear()
        for binary, tests in by_binary.items():
            ignored = len(tests) <= self.ignored_claims.get(binary, 0)
            for name, line, suite in tests:
                if ignored:
                    metadata = self._metadata(suite, name, line)
                    metadata["event"] = "ignored"
                    metadata["ignored_from_summary"] = True
                    yield self._record(name, line, Status.SKIPPED, metadata)
                else:
                    yield self._incomplete(suite, name, line, "lost")

    def finish(self) -> Iterator[TestRecord]:
        if self.suite is not None:
            if self.nextest:
                self.warn_once("nextest-open", "the stream ends inside a suite block")

            self.options.warn(
                f"{self.path}: the last suite has no result line (the test binary crashed, "
                "or the stream was cut)"
            )
            yield from self._close(self.last_line, crashed=True)
        yield from self._finish_carried()
        if self.other_lines:
            self.options.warn(
                f"{self.path}: {self.other_lines} line(s) that are not libtest JSON skipped "
                "(cargo's stderr, or test output printed with --nocapture)"
            )
        if self.fake_results:
            self.options.warn(
                f"{self.path}:{self.fake_line}: {self.fake_results} result line(s) of a test "
                "that never started skipped, the first here (test output printed with "
                "--nocapture that looks like libtest's)"
            )
        if not self.events:
            self.options.warn(f"{self.path}: no libtest events in the stream")


def _failure(note: str | None, stdout: str | None) -> tuple[str, str | None]:
    """The message and failure text of a failed test.

    libtest's own verdict comes first: its ``message`` field (``should_panic``
    mismatches), or the same verdict in the human output nextest puts in ``stdout``. Then
    the panic message, then the ``Error: …`` line of a test that returned ``Err``.
    """
    text = stdout or ""
    verdict = note
    if verdict is None:
        found = _VERDICT.search(text)
        verdict = found["verdict"] if found else None
    panic = _PANIC.search(text)
    old = _OLD_PANIC.search(text) if panic is None else None
    message: str | None = None
    failure_text: str | None = None
    if panic is not None:
        lines = []
        for body_line in text[panic.end() :].splitlines():
            if body_line.startswith(_PANIC_END):
                break
            lines.append(body_line)
        message = "\n".join(lines).strip("\n") or None
        failure_text = text[panic.start() :]
    elif old is not None:
        message = old["message"]
        failure_text = text[old.start() :]
    else:
        error_line = _ERROR_LINE.search(text)
        if error_line:
            message = f"Error: {error_line['message']}"
    if verdict:
        if note and message and message not in note:
            failure_text = f"{note}\n\n{failure_text or text}".rstrip("\n")
        message = verdict
    return message or "test failed", failure_text or (text or None)


#: How libtest (``{ "type": ``) and nextest (``{"type":``) start an event line.
_EVENT_STARTS = (b'{ "type": "', b'{"type":"', b'{"type": "')


def _glued_event(raw: bytes) -> int | None:
    """Where a libtest event starts in a line that begins with something else.

    Under ``--nocapture`` a test's output goes to the same stdout as the events: a
    ``print!`` without a newline puts the next event at the end of its line
    (``partial{ "type": "test", "name": "a", "event": "ok" }``). Only lines that are not
    JSON are searched, so an ordinary stream costs nothing more.
    """
    at = max(raw.rfind(start) for start in _EVENT_STARTS)
    return at if at > 0 else None


def _output_or_event(decoder: SafeJSON, raw: bytes, number: int, error: InputError) -> Any:
    """A whole line starting with ``{`` that is not JSON: the event at its end, when a
    test's output (``{"a": 1}`` printed without a newline) came before it; else None, the
    line is output (``{ not json`` printed with ``--nocapture``). What the JSON reader
    refuses on purpose (depth, NaN, duplicate keys) stays refused."""
    if not error.reason.startswith(("invalid JSON", "JSON truncated")):
        raise error
    at = _glued_event(raw)
    if at is None:
        return None
    try:
        return decoder.loads(raw[at:], first_line=number)
    except InputError as inner:
        if not inner.reason.startswith(("invalid JSON", "JSON truncated")):
            raise
        return None


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test (and bench) of a libtest JSON stream."""
    reader = _Reader(source, options)
    decoder = SafeJSON(reader.path, options.warn)
    for number, raw in iter_lines(stream, reader.path, max_line_bytes=MAX_LINE_BYTES):
        if not raw.lstrip().startswith(b"{"):
            at = _glued_event(raw)
            if at is None:
                reader.text_line(raw)
                continue
            reader.other_lines += 1  # test output before the event, without its newline
            raw = raw[at:]
        try:
            entry = decoder.loads(raw, first_line=number)
        except InputError as error:
            if not raw.endswith(b"\n"):
                if options.salvage:
                    options.warn(
                        f"{reader.path}:{number}: last line truncated; ignored (--salvage)"
                    )
                    break
                raise
            entry = _output_or_event(decoder, raw, number, error)
            reader.other_lines += 1  # the line, or the output before its event
            if entry is None:
                continue
        reader.last_line = number
        yield from reader.event(number, entry)
    yield from reader.finish()

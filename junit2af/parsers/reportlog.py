"""pytest-reportlog (``--report-log``, JSON Lines) parser: streaming, one line at a time.

pytest writes one ``TestReport`` line per phase (setup, call, teardown) and, with
pytest-rerunfailures, per attempt. Reports are merged per node id and a record is yielded
when an attempt's teardown arrives and no phase of it asked for a rerun, so only the
tests still running are held in memory. The mapping rules are in the README ("How pytest
JSON and reportlog map").

Quirks that shaped the rules:

* Every report repeats the ``sections`` (captured output) of the reports before it, and
  reruns keep appending to the same list: a phase's *new* output is the tail of the list
  past what the previous report of that test held. (Deduplicating by section name would
  keep the first attempt's ``Captured stdout call`` and lose the last one's.)
* A rerun attempt has ``outcome: "rerun"`` on the phase that failed, then a teardown.
* ``location`` holds pytest's 0-based line.
* ``longrepr`` is pytest's structured traceback (``reprcrash``, ``reprtraceback``,
  ``chain``), a ``[path, line, "Skipped: reason"]`` list for skips, or plain text.
* pytest-xdist reports a crashed worker's test with ``when: "???"`` (its longrepr:
  ``worker 'gw1' crashed while running '…'``): the test's last report, read as its
  "crash" phase (with pytest-rerunfailures its outcome is ``rerun`` and a new attempt
  follows).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._pytest_common import (
    CRASH_PHASE,
    PHASES,
    SETUP_ONLY_MESSAGE,
    XDIST_CRASH_WHEN,
    abnormal_exit,
    abnormal_exit_record,
    as_seconds,
    as_str,
    epoch_time,
    exit_words,
    failure_message,
    file_and_line,
    first_line,
    is_epoch,
    join_phases,
    keywords_of,
    output_label,
    session_ended_first,
    skip_reason,
    sorted_outputs,
    text_artifact,
    to_ms,
    unfinished_message,
)
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

FORMATS = (Format("reportlog", "pytest-reportlog", "reportlog", producers="pytest-reportlog"),)


def sniff(head: Head) -> str | None:
    """pytest-reportlog: JSON Lines whose first line has ``$report_type``."""
    if head.is_json_object and b'"$report_type"' in head.first_line:
        return "reportlog"
    return None


#: Tests started but not finished that are kept in memory; beyond this the oldest is
#: emitted as incomplete (a real run has one per xdist worker).
MAX_PENDING = 10_000

_SECTION_TITLE = re.compile(r"^Captured (?P<stream>.+) (?P<phase>setup|call|teardown)$")
_ENTRY_SEPARATOR = "_ " * 39 + "_"
#: The phases of an attempt: pytest's three, and xdist's report of a crashed worker.
_WHENS = (*PHASES, CRASH_PHASE)


@dataclass
class _Phase:
    outcome: str
    message: str | None  # pytest's crash line
    text: str | None  # the rendered longrepr
    wasxfail: str | None
    skip: str | None


@dataclass
class _SubTest:
    """One ``SubTestReport``: a ``subtests.test()`` block or a unittest ``subTest``."""

    label: str  # as pytest prints it: '[msg] (k=v)'
    outcome: str
    message: str | None
    text: str | None


@dataclass
class _Attempt:
    phases: dict[str, _Phase] = field(default_factory=dict)
    outputs: list[tuple[str, str, str]] = field(default_factory=list)  # stream, phase, text
    start: float | None = None
    stop: float | None = None
    seconds: float = 0.0
    closed: bool = False
    #: pytest 9's SubTestReports of this attempt, in order
    subtests: list[_SubTest] = field(default_factory=list)

    @property
    def asked_rerun(self) -> bool:
        return any(p.outcome == "rerun" for p in self.phases.values())


@dataclass
class _Test:
    nodeid: str
    line: int
    location: Any
    keywords: list[str]
    attempts: list[_Attempt] = field(default_factory=list)
    sections_seen: int = 0
    user_properties: Any = None


# Every JSON object SafeJSON gives is a dict: ``isinstance(value, dict)`` below is the
# Mapping test without the abstract base class machinery (several times slower).


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.base: dict[str, Any] = {"format": "reportlog", "report": self.path}
        self.pending: dict[str, _Test] = {}
        self.clock: float | None = None  # the latest stop time seen, for collect records
        self.finished = False
        self.interrupted: tuple[int, int] | None = None  # (line, exit status)
        self.exit_status: Any = None  # SessionFinish's exitstatus
        self.finish_line: int | None = None
        self.failed = False  # whether any record yielded so far is Failed
        self.warned: set[str] = set()

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.options.warn(f"{self.path}: {message}")

    # ------------------------------------------------------------------ line dispatch

    def feed(self, line: int, entry: Any) -> Iterator[TestRecord]:
        if not isinstance(entry, dict):
            raise InputError(self.path, "reportlog line is not a JSON object", line=line)
        kind = entry.get("$report_type")
        if kind == "TestReport":
            yield from self._test_report(line, entry)
        elif kind == "SubTestReport":
            self._subtest_report(line, entry)
        elif kind == "CollectReport":
            record = self._collect_report(line, entry)
            if record is not None:
                yield record
        elif kind == "SessionStart":
            version = as_str(entry.get("pytest_version"))
            if version:
                self.base["pytest_version"] = version
        elif kind == "SessionFinish":
            self.finished = True
            status = entry.get("exitstatus")
            self.exit_status, self.finish_line = status, line
            if status == 2:
                # Interrupted (Ctrl-C, or pytest.exit, or errors during collection): a
                # synthetic Failed record at the end says so (see finish).
                self.interrupted = (line, status)
            elif abnormal_exit(status):
                # An internal error, a usage error: a synthetic Failed record at the end
                # too when no test failed (see finish).
                self.options.warn(
                    f"{self.path}:{line}: {exit_words(status, 'status')}: "
                    "the results may be incomplete"
                )
        elif kind == "WarningMessage":
            pass  # pytest warnings belong to no test result
        elif isinstance(kind, str):
            self.warn_once(f"kind:{kind}", f"line {line}: unknown $report_type {kind!r} ignored")
        else:
            raise InputError(self.path, 'reportlog line has no "$report_type"', line=line)

    def _test_report(self, line: int, entry: Mapping[str, Any]) -> Iterator[TestRecord]:
        nodeid = as_str(entry.get("nodeid"))
        when = entry.get("when")
        if when == XDIST_CRASH_WHEN:
            when = CRASH_PHASE
        if nodeid is None or when not in _WHENS:
            raise InputError(
                self.path,
                'TestReport without a "nodeid" or a setup/call/teardown "when"',
                line=line,
            )
        test = self.pending.get(nodeid)
        if test is None:
            raw_keywords = entry.get("keywords")
            test = _Test(
                nodeid=nodeid,
                line=line,
                location=entry.get("location"),
                keywords=keywords_of(raw_keywords, nodeid)
                if isinstance(raw_keywords, dict)
                else [],
            )
            self.pending[nodeid] = test
            if len(self.pending) > MAX_PENDING:
                oldest = next(iter(self.pending))
                self.warn_once(
                    "pending",
                    f"more than {MAX_PENDING} tests started without finishing; "
                    "the oldest are reported as incomplete",
                )
                yield self._record(self.pending.pop(oldest), incomplete=True)

        attempt = test.attempts[-1] if test.attempts else None
        if attempt is None or attempt.closed or (when == "setup" and "setup" in attempt.phases):
            attempt = _Attempt()
            test.attempts.append(attempt)

        self._take_sections(test, attempt, when, entry.get("sections"))
        attempt.phases[when] = self._phase(entry)
        start, stop = entry.get("start"), entry.get("stop")
        if is_epoch(start) and attempt.start is None:
            attempt.start = float(start)
        if is_epoch(stop):
            attempt.stop = float(stop)
            self.clock = float(stop)
        attempt.seconds += as_seconds(entry.get("duration")) or 0.0

        if when == "teardown" or when == CRASH_PHASE:
            # A crashed worker's test gets no teardown: the crash report ends it.
            attempt.closed = True
            if isinstance(entry.get("user_properties"), list) and entry["user_properties"]:
                test.user_properties = entry["user_properties"]
            if not attempt.asked_rerun:
                yield self._record(self.pending.pop(nodeid))

    def _subtest_report(self, line: int, entry: Mapping[str, Any]) -> None:
        """pytest 9's SubTestReport: kept with its test, as pytest's JUnit XML keeps it.

        pytest's junitxml writes a test's subtests into its one <testcase> (a <failure>
        per failed subtest), and counts the test once; so does junit2af, here. Its
        ``sections`` are not taken: they would shift the test's own section count.
        """
        nodeid = as_str(entry.get("nodeid"))
        test = self.pending.get(nodeid) if nodeid else None
        if test is None or not test.attempts:
            self.warn_once(
                "orphan-subtest",
                f"line {line}: SubTestReport for a test that is not running; ignored",
            )
            return
        phase = self._phase(entry)
        test.attempts[-1].subtests.append(
            _SubTest(
                label=_subtest_label(entry.get("_subtest.context")),
                outcome=phase.outcome,
                message=phase.message or phase.skip,
                text=phase.text,
            )
        )

    def _take_sections(self, test: _Test, attempt: _Attempt, when: str, sections: Any) -> None:
        if not isinstance(sections, list):
            return
        # Each report carries every section of the reports before it: keep the new tail.
        new = sections[test.sections_seen :] if len(sections) >= test.sections_seen else sections
        test.sections_seen = len(sections)
        for section in new:
            if not (isinstance(section, list) and len(section) == 2):
                continue
            title, content = as_str(section[0]), as_str(section[1])
            if not title or not content:
                continue
            match = _SECTION_TITLE.match(title)
            stream, phase = (match["stream"], match["phase"]) if match else (title, when)
            attempt.outputs.append((stream, phase, content))

    def _phase(self, entry: Mapping[str, Any]) -> _Phase:
        outcome = as_str(entry.get("outcome")) or "unknown"
        longrepr = entry.get("longrepr")
        message = None
        if isinstance(longrepr, dict):
            crash = longrepr.get("reprcrash")
            if isinstance(crash, dict):
                message = as_str(crash.get("message"))
        text = None if outcome == "skipped" and isinstance(longrepr, list) else render(longrepr)
        return _Phase(
            outcome=outcome,
            message=message,
            text=text,
            wasxfail=entry.get("wasxfail") if isinstance(entry.get("wasxfail"), str) else None,
            skip=skip_reason(longrepr) if outcome == "skipped" else None,
        )

    def _collect_report(self, line: int, entry: Mapping[str, Any]) -> TestRecord | None:
        outcome = as_str(entry.get("outcome"))
        if outcome not in ("failed", "skipped"):
            return None
        nodeid = as_str(entry.get("nodeid")) or ""
        longrepr = entry.get("longrepr")
        text = render(longrepr)
        metadata: dict[str, Any] = {
            **self.base,
            "nodeid": nodeid,
            "outcome": outcome,
            "phase": "collect",
            "synthetic": True,
            "report_line": line,
        }
        metadata.update(file_and_line(nodeid, nodeid.split("::", 1)[0] or None, None))
        when = epoch_time(self.clock)
        message: str | None
        if outcome == "failed":
            status, message = Status.FAILED, failure_message(None, text) or "collection failed"
            metadata["reason"] = "collection failed: the module's tests did not run"
        else:
            status, message = Status.SKIPPED, skip_reason(longrepr)
            metadata["reason"] = "skipped at collection"
        return TestRecord(
            test_name=fit_name(nodeid or "collection", pad_with="collection"),
            status=status,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=when,
            finished_at=when,
            execution_time_ms=0 if when else None,
            error_message=message,
            metadata=metadata,
            failure_text=text if outcome == "failed" else None,
        )

    # ------------------------------------------------------------------ records

    def finish(self) -> Iterator[TestRecord]:
        cause = (
            session_ended_first(self.exit_status, "status")
            if self.finished
            else "pytest crashed or the log was cut"
        )
        running: list[str] = []
        if self.interrupted is not None:
            # The tests still running were cut by the interruption: they are named in
            # the one synthetic record, as pytest's JUnit XML has one placeholder for it
            # (a test that already failed keeps its own record, below).
            running = [
                nodeid
                for nodeid, test in self.pending.items()
                if not any(p.outcome == "failed" for p in test.attempts[-1].phases.values())
            ]
            for nodeid in running:
                del self.pending[nodeid]
        if self.pending:
            self.options.warn(
                f"{self.path}: {len(self.pending)} test(s) started but never finished "
                f"({cause}); reported as Failed"
            )
        while self.pending:
            nodeid = next(iter(self.pending))
            self.failed = True
            yield self._record(self.pending.pop(nodeid), incomplete=True, cause=cause)
        if self.interrupted is not None:
            yield self._interrupted_record(running)
        elif abnormal_exit(self.exit_status) and not self.failed:
            yield self._abnormal_exit_record(self.exit_status)
        if not self.finished:
            self.warn_once(
                "no-finish",
                "no SessionFinish line: the run did not finish or the log was cut",
            )

    def _abnormal_exit_record(self, status: int) -> TestRecord:
        """An internal or usage error and no failed test: a Failed record says so, or
        the run would look green."""
        name, reason, message = abnormal_exit_record(status, "status")
        line = self.finish_line
        metadata: dict[str, Any] = {
            **self.base,
            "synthetic": True,
            "reason": reason,
            "exit_status": status,
            "report_line": line,
        }
        return TestRecord(
            test_name=name,
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=epoch_time(self.clock),
            error_message=message,
            metadata=metadata,
        )

    def _interrupted_record(self, running: list[str]) -> TestRecord:
        line, status = self.interrupted or (None, 2)
        if running:
            what = f"while {running[0]} was running" + (
                f" (and {len(running) - 1} more)" if len(running) > 1 else ""
            )
        else:
            what = "(Ctrl-C, pytest.exit() or errors during collection)"
        metadata: dict[str, Any] = {
            **self.base,
            "synthetic": True,
            "reason": "session interrupted",
            "exit_status": status,
            "report_line": line,
        }
        if running:
            metadata["running"] = running[:20]
        when = epoch_time(self.clock)
        return TestRecord(
            test_name="pytest (session interrupted)",
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=when,
            error_message=clip_code_points(
                f"the test session was interrupted {what}; pytest exit status {status}: "
                "the tests after it did not run",
                ERROR_MESSAGE_MAX,
            ),
            metadata=metadata,
        )

    def _record(
        self, test: _Test, *, incomplete: bool = False, cause: str | None = None
    ) -> TestRecord:
        """``cause``: why an incomplete test never finished (for its message)."""
        final = test.attempts[-1]
        status, outcome, phase = _final_status(final, incomplete)
        failed_subtests = [sub for sub in final.subtests if sub.outcome == "failed"]
        if failed_subtests and status is not Status.FAILED:
            # unittest's subTest: the call passes and only its subtest reports failed.
            status, outcome, phase = Status.FAILED, "failed", "call"
        metadata: dict[str, Any] = {**self.base, "nodeid": test.nodeid}
        location = test.location
        if isinstance(location, list) and len(location) == 3:
            metadata.update(file_and_line(test.nodeid, location[0], location[1]))
        else:
            metadata.update(file_and_line(test.nodeid, None, None))
        metadata["outcome"] = outcome
        if phase:
            metadata["phase"] = phase
        if test.keywords:
            metadata["keywords"] = test.keywords
        if test.user_properties is not None:
            metadata["user_properties"] = test.user_properties
        xfail = next((p.wasxfail for p in final.phases.values() if p.wasxfail is not None), None)
        if xfail is not None:
            metadata["xfail_reason"] = xfail
        if outcome == "xpassed":
            metadata["xpassed"] = True
        if outcome == "not run":
            metadata["setup_only"] = True
        if len(test.attempts) > 1:
            metadata["attempts"] = len(test.attempts)
            earlier_failed = any(
                a.asked_rerun or any(p.outcome == "failed" for p in a.phases.values())
                for a in test.attempts[:-1]
            )
            metadata["flaky"] = status is Status.PASSED and earlier_failed
        if incomplete:
            metadata["incomplete"] = True
        metadata["report_line"] = test.line

        starts = [a.start for a in test.attempts if a.start is not None]
        stops = [a.stop for a in test.attempts if a.stop is not None]
        started_at = epoch_time(min(starts)) if starts else None
        finished_at = epoch_time(max(stops)) if stops else None
        if started_at is not None:
            metadata["time_source"] = "report"

        error_message, failure_text = _messages(final, status, phase, incomplete, cause)
        if final.subtests:
            counts: dict[str, int] = {}
            for sub in final.subtests:
                counts[sub.outcome] = counts.get(sub.outcome, 0) + 1
            metadata["subtests"] = counts
        if failed_subtests:
            metadata["failed_subtests"] = [sub.label for sub in failed_subtests][:20]
            first = failed_subtests[0]
            detail = failure_message(first.message, first.text) or "failed"
            error_message = clip_code_points(
                f"subtest {first.label}: {detail}"
                + (f" (and {len(failed_subtests) - 1} more)" if len(failed_subtests) > 1 else ""),
                ERROR_MESSAGE_MAX,
            )
            blocks = [
                f"--- subtest {sub.label} ---\n{sub.text or sub.message or ''}".rstrip()
                for sub in failed_subtests
            ]
            if failure_text:
                blocks.append(f"--- {test.nodeid} ---\n{failure_text}")
            failure_text = "\n\n".join(blocks)
        outputs = self._outputs(final, None)
        for number, attempt in enumerate(test.attempts[:-1], start=1):
            outputs.extend(self._outputs(attempt, number))
        history = _attempt_history(test.attempts[:-1])
        if history:
            outputs.append(TextArtifact(label="attempts.txt", text=history))

        return TestRecord(
            test_name=fit_name(test.nodeid),
            status=status,
            source=SourceRef(self.source.path, self.source.member, test.line),
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=to_ms(sum(a.seconds for a in test.attempts)),
            error_message=error_message,
            metadata=metadata,
            failure_text=failure_text,
            outputs=sorted_outputs(outputs),
        )

    def _outputs(self, attempt: _Attempt, number: int | None) -> list[TextArtifact]:
        by_stream: dict[str, list[tuple[str, str]]] = {}
        for stream, phase, text in attempt.outputs:
            by_stream.setdefault(stream, []).append((phase, text))
        artifacts = []
        for stream, parts in by_stream.items():
            label = output_label(stream)
            if number is not None:
                label = f"attempt{number}-{label}"
            artifacts.append(text_artifact(label, join_phases(parts), self.options))
        return artifacts


def _subtest_label(context: Any) -> str:
    """A subtest as pytest prints it: ``[msg] (k=v, ...)``, from ``_subtest.context``."""
    if not isinstance(context, dict):
        return "(subtest)"
    parts = []
    msg = context.get("msg")
    if isinstance(msg, str) and msg:
        parts.append(f"[{msg}]")
    kwargs = context.get("kwargs")
    if isinstance(kwargs, dict) and kwargs:
        pairs = ", ".join(f"{k}={v}" for k, v in list(kwargs.items())[:20])
        parts.append(f"({pairs})")
    return clip_code_points(" ".join(parts) or "(subtest)", 200)


def _setup_only(phases: dict[str, _Phase]) -> bool:
    """pytest --setup-only / --setup-plan: setup and teardown, no call ("no tests ran")."""
    return list(phases) == ["setup", "teardown"] and all(
        p.outcome == "passed" for p in phases.values()
    )


def _final_status(attempt: _Attempt, incomplete: bool) -> tuple[Status, str, str | None]:
    """Status, pytest's outcome word and the failing phase of the last attempt."""
    phases = attempt.phases
    for name in _WHENS:
        phase = phases.get(name)
        if phase is not None and phase.outcome not in ("passed", "skipped"):
            # "failed", "rerun" (a run cut short between attempts), or anything unknown.
            # pytest counts a crashed worker's test as failed (its report says so).
            word = "failed" if name in ("call", CRASH_PHASE) else "error"
            return Status.FAILED, word, name
    if incomplete:
        return Status.FAILED, "incomplete", None
    if _setup_only(phases):
        return Status.SKIPPED, "not run", None
    for name in ("setup", "call"):
        phase = phases.get(name)
        if phase is not None and phase.outcome == "skipped":
            if phase.wasxfail is not None:
                return Status.KNOWN_FAIL, "xfailed", None
            return Status.SKIPPED, "skipped", None
    call = phases.get("call")
    if call is not None and call.wasxfail is not None:
        return Status.PASSED, "xpassed", None
    return Status.PASSED, "passed", None


def _messages(
    attempt: _Attempt,
    status: Status,
    phase: str | None,
    incomplete: bool,
    cause: str | None = None,
) -> tuple[str | None, str | None]:
    phases = attempt.phases
    if status is Status.FAILED:
        failed = [(n, phases[n]) for n in _WHENS if n in phases and phases[n].outcome == "failed"]
        if not failed and phase:
            failed = [(phase, phases[phase])]
        if not failed:
            done = ", ".join(phases) or "no phase"
            return unfinished_message(done, cause or "pytest crashed or the log was cut"), None
        texts = [(n, p.text) for n, p in failed if p.text]
        message = failure_message(failed[0][1].message, failed[0][1].text)
        if incomplete and "teardown" not in phases:
            message = message or "test did not finish"
        return message, join_phases(texts) if texts else None
    if status is Status.KNOWN_FAIL:
        phase_ = next(p for p in phases.values() if p.wasxfail is not None)
        reason = phase_.wasxfail or failure_message(phase_.message, phase_.text)
        return (clip_code_points(reason, ERROR_MESSAGE_MAX) if reason else None), phase_.text
    if status is Status.SKIPPED:
        if _setup_only(phases):
            return SETUP_ONLY_MESSAGE, None
        reason = next((p.skip for p in phases.values() if p.skip), None)
        return (clip_code_points(reason, ERROR_MESSAGE_MAX) if reason else None), None
    return None, None


def _attempt_history(attempts: list[_Attempt]) -> str | None:
    lines = []
    for number, attempt in enumerate(attempts, start=1):
        bad = [(n, p) for n, p in attempt.phases.items() if p.outcome not in ("passed", "skipped")]
        if not bad:
            lines.append(f"attempt {number}: passed\n")
            continue
        name, phase = bad[0]
        summary = first_line(failure_message(phase.message, phase.text)) or ""
        lines.append(f"attempt {number}: {phase.outcome} in {name}: {summary}\n")
        if phase.text:
            lines.append(phase.text.rstrip("\n") + "\n\n")
    return "".join(lines) or None


# ---------------------------------------------------------------- longrepr rendering


def render(longrepr: Any) -> str | None:
    """pytest's longrepr as the text pytest prints (structured dicts rendered)."""
    if longrepr is None:
        return None
    if isinstance(longrepr, str):
        return longrepr or None
    if isinstance(longrepr, list):  # a skip location [path, line, reason]
        return ": ".join(str(part) for part in longrepr) or None
    if not isinstance(longrepr, dict):
        return None
    chain = longrepr.get("chain")
    lines: list[str] = []
    if isinstance(chain, list) and chain:
        for element in chain:
            if not isinstance(element, list) or not element:
                continue
            _render_traceback(element[0], lines)
            description = element[2] if len(element) > 2 else None
            if isinstance(description, str):
                lines.extend(["", description, ""])
    else:
        _render_traceback(longrepr.get("reprtraceback"), lines)
    if not lines:
        crash = longrepr.get("reprcrash")
        if isinstance(crash, dict):
            lines.append(_file_location(crash))
    text = "\n".join(lines).strip("\n")
    return text or None


def _file_location(loc: Mapping[str, Any]) -> str:
    message = str(loc.get("message") or "").split("\n", 1)[0]
    return f"{loc.get('path', '')}:{loc.get('lineno', '')}: {message}"


def _render_traceback(traceback: Any, lines: list[str]) -> None:
    if not isinstance(traceback, dict):
        return
    entries = traceback.get("reprentries")
    if not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            continue
        data = entry["data"]
        entry_lines = [s for s in data.get("lines") or [] if isinstance(s, str)]
        if entry.get("type") == "ReprEntryNative":
            lines.append("".join(entry_lines).rstrip("\n"))
            continue
        style = data.get("style")
        location = data.get("reprfileloc")
        if style == "short":
            if isinstance(location, dict):
                lines.append(_file_location(location))
            lines.extend(entry_lines)
        else:
            if style == "long":
                lines.append("")
            args = data.get("reprfuncargs")
            if isinstance(args, dict) and isinstance(args.get("args"), list):
                pairs = [a for a in args["args"] if isinstance(a, list) and len(a) == 2]
                lines.extend(f"{name} = {value}" for name, value in pairs)
                if pairs:
                    lines.append("")
            lines.extend(entry_lines)
            if isinstance(location, dict):
                lines.extend(["", _file_location(location)])
        if index < len(entries) - 1 and style == "long":
            lines.append(_ENTRY_SEPARATOR)
    extraline = traceback.get("extraline")
    if isinstance(extraline, str):
        lines.append(extraline)


# ---------------------------------------------------------------- entry point


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test (and per failed collector) of a reportlog
    (``pytest --report-log``) file read from ``stream``, one line at a time."""
    reader = _Reader(source, options)
    decoder = SafeJSON(reader.path, options.warn)
    yielded = 0
    for record in _records(reader, decoder, stream, options):
        yielded += 1
        yield record
    if not yielded:
        # Never a silent zero (pytest's exit status 5, "no tests ran", writes this too).
        options.warn(f"{reader.path}: the report-log holds no test result")


def _records(
    reader: _Reader, decoder: SafeJSON, stream: BinaryIO, options: ParseOptions
) -> Iterator[TestRecord]:
    for number, raw in iter_lines(stream, reader.path, max_line_bytes=MAX_LINE_BYTES):
        try:
            entry = decoder.loads(raw, first_line=number)
        except InputError:
            if options.salvage and not raw.endswith(b"\n"):
                # The last line, cut mid-write: keep what came before it.
                options.warn(f"{reader.path}:{number}: last line truncated; ignored (--salvage)")
                break
            raise
        for record in reader.feed(number, entry):
            if record.status is Status.FAILED:
                reader.failed = True
            yield record
    yield from reader.finish()

"""Robot Framework ``output.xml`` (RF 3.2 to 7.x): streaming, one ``<test>`` at a time.

Every ``<test>`` is a test named ``Suite > Sub suite > Test``. Keyword trees are never
kept: each element is freed at its end event, and only what a record needs survives it
(the test's ``<status>``, tags, documentation, and its ``<msg>`` lines as one capped log).
The mapping rules are in the README ("How Robot Framework output.xml maps").

Quirks of the real tool that shaped the rules:

* Two schemas. RF 7 (schemaversion 5) writes ``<status start="2024-01-01T12:00:00.123456"
  elapsed="0.01">`` and ``<msg time=…>``; RF 3.2-6 write ``starttime``/``endtime`` as
  ``20240101 12:00:00.000`` and ``<msg timestamp=…>``. Both are local times without an
  offset: ``options.timezone`` applies.
* A failing *suite setup* is written into every test of the suite by RF itself
  (``Parent suite setup failed:``). A failing *suite teardown* is not: ``robot`` writes the
  tests as PASS and only applies "Parent suite teardown failed" when it reads the file back
  (``SuiteTeardownFailureHandler``, skipped for files ``rebot`` wrote, which already carry
  it). So records are held until their suite has ended (bounded by :data:`MAX_HELD`), and
  the same rule is applied here, for files whose generator is ``Robot``.
* ``--skiponfailure`` turns a failure into SKIP with the original failure in the message;
  RF counts it as skipped, and so does junit2af (``metadata.skip_on_failure``).
* ``rebot --merge`` of ``--rerunfailed`` outputs keeps one ``<test>`` (the latest run's)
  whose message is RF's HTML merge note with every earlier status and message: it is
  read back into ``attempts``/``flaky``/``attempts.txt`` and the latest plain message.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._capped_log import CappedLog
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.xmlsafe import SanitizingReader, iter_events
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    add_ms,
    clip_code_points,
    fit_name,
)

FORMATS = (
    Format(
        "robot",
        "Robot Framework output.xml",
        "robot",
        producers="Robot Framework 3.2-7.x (robot, rebot)",
    ),
)


def sniff(head: Head) -> str | None:
    """Robot Framework: a ``<robot>`` root element in no namespace."""
    root = head.xml_root
    if root is not None and root.local == "robot" and not root.namespace:
        return "robot"
    return None


#: RF's test statuses. NOT RUN is written for keywords; a test carrying it did not run.
STATUSES = {
    "PASS": Status.PASSED,
    "FAIL": Status.FAILED,
    "SKIP": Status.SKIPPED,
    "NOT RUN": Status.SKIPPED,
    "NOT_RUN": Status.SKIPPED,
}
#: Finished tests held back until their suites end (a suite teardown failure changes
#: them); past this many, or :data:`MAX_HELD_BYTES` of logs, the oldest are released.
MAX_HELD = 10_000
MAX_HELD_BYTES = 64 * 1024 * 1024  # memory stays bounded whatever the report holds
#: ``<errors>`` messages of level ERROR passed on as warnings, at most.
MAX_ERROR_WARNINGS = 5
#: Documentation kept in metadata, at most (code points).
MAX_DOC = 500
#: Tags kept in metadata, at most.
MAX_TAGS = 100

# The messages RF's SuiteTeardownFailed visitor writes (robot/result/suiteteardownfailed.py).
_TEARDOWN_FAILED = "Parent suite teardown failed:\n%s"
_ALSO_TEARDOWN_FAILED = "\n\nAlso parent suite teardown failed:\n%s"
_TEARDOWN_SKIPPED = "Skipped in parent suite teardown:\n%s"
_ALSO_TEARDOWN_SKIPPED = "Skipped in parent suite teardown:\n%s\n\nEarlier message:\n%s"
# The first words of RF's --skiponfailure messages (RF 4; RF 5-6; RF 7).
_SKIP_ON_FAILURE = (
    "Test failed but its tags matched '--SkipOnFailure'",
    "Test failed but skip-on-failure mode was active",
    "Failed test skipped using",
    "Failed task skipped using",
)
# What ``rebot --merge`` writes into a merged test's message (robot/result/merger.py, RF
# 3.2-7): the header, then ``New status``/``message`` and every earlier attempt's ``Old
# status``/``message`` (newest first), each part ended by ``<br>`` and split by ``<hr>``.
_MERGED = re.compile(
    r'<span class="merge">(?:Test|Task) has been re-executed and results merged\.</span><hr>'
)
_MERGE_PART = re.compile(
    r'<span class="(?:new|old)-status">(?:New|Old) status:</span> <span class="[^"]*">'
    r"([A-Z_ ]+)</span><br>"
    r'(?:<span class="(?:new|old)-message">(?:New|Old) message:</span> (.*?)<br>)?'
    r"(?=<hr>|$)",
    re.S,
)
# A rerun that was skipped is ignored: the original result stays, with this message.
_MERGE_SKIPPED = re.compile(
    r"(?:Test|Task) has been re-executed and results merged\. Latter result had "
    r'<span class="skip">SKIP</span> status and was ignored\. Message:\n(.*?)'
    r"(?:<hr>Original message:\n(.*))?$",
    re.S,
)
_MERGE_ADDED = re.compile(r"(?:Test|Task) added from merged output\.(?:<hr>(.*))?$", re.S)
_TAG = re.compile(r"<[^>]*>")
_LEGACY_TIME = ("%Y%m%d %H:%M:%S.%f", "%Y%m%d %H:%M:%S")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class _Frame:
    """One open element: its tag and, for keywords, the label its log lines get."""

    tag: str
    label: str = ""
    fixture: str = ""  # "SETUP"/"TEARDOWN" for a suite's setup and teardown keywords


@dataclass
class _Times:
    started_at: datetime | None = None
    duration_ms: int | None = None
    finished_at: datetime | None = None  # exact (RF 7 keeps microseconds)


@dataclass
class _Test:
    name: str
    id: str | None
    line: int | None  # in the .robot file (RF 6.1+)
    report_line: int | None
    log: CappedLog
    tags: list[str] = field(default_factory=list)
    doc: str | None = None
    timeout: str | None = None
    status: str | None = None
    message: str = ""
    times: _Times = field(default_factory=_Times)


@dataclass
class _Suite:
    name: str
    id: str | None
    source: str | None
    path: tuple[str, ...]
    report_line: int | None
    log: CappedLog
    first_held: int  # sequence number of its first test
    tests: int = 0  # tests in it and its sub-suites
    setup: tuple[str, str] | None = None  # status, message of its setup keyword
    teardown: tuple[str, str] | None = None
    status: str | None = None
    message: str = ""
    times: _Times = field(default_factory=_Times)


@dataclass
class _Result:
    """A finished test, held until its suites end."""

    name: str
    suite: _Suite
    status: str
    message: str
    metadata: dict[str, Any]
    times: _Times
    report_line: int | None
    log: TextArtifact | None
    synthetic: bool = False

    @property
    def size(self) -> int:
        return len(self.log.text) if self.log is not None else 0


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.frames: list[_Frame] = []
        self.suites: list[_Suite] = []
        self.test: _Test | None = None
        self.held: deque[_Result] = deque()
        self.held_bytes = 0
        self.released = 0  # sequence number of the first held result
        self.generator = ""
        self.rebot = False
        self.counts: dict[str, int] = {}
        self.stats: dict[str, int] | None = None
        self.errors = 0
        self.warned: set[str] = set()
        self.seen_test = False

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.options.warn(f"{self.path}: {message}")

    # ------------------------------------------------------------------ events

    def check_root(self, root: etree._Element) -> None:
        tag = _local(root.tag)
        if tag != "robot":
            raise InputError(
                self.path,
                f"not a Robot Framework output.xml (root element <{tag}>)",
                line=root.sourceline,
            )
        self.generator = root.get("generator") or ""
        # rebot's output already carries "Parent suite teardown failed" in its tests.
        self.rebot = self.generator.lower().startswith("rebot")

    def start(self, element: etree._Element) -> None:
        tag = _local(element.tag)
        parent = self.frames[-1] if self.frames else None
        frame = _Frame(tag)
        if tag == "suite":
            self._open_suite(element)
        elif tag == "test" and self.suites:
            line = element.get("line")
            self.test = _Test(
                name=element.get("name") or "",
                id=element.get("id"),
                line=int(line) if line and line.isdigit() else None,
                report_line=element.sourceline,
                log=CappedLog(self.options.max_text_bytes),
            )
        elif tag == "kw":
            name = element.get("name") or ""
            owner = element.get("owner") or element.get("library") or ""
            frame.label = f"{owner}.{name}" if owner else name
            kind = (element.get("type") or "").upper()
            if parent is not None and parent.tag == "suite" and kind in ("SETUP", "TEARDOWN"):
                frame.fixture = kind
        elif tag in ("for", "while", "if", "try", "group", "iter", "branch"):
            frame.label = (element.get("name") or element.get("type") or tag).upper()
            if tag == "group":
                frame.label = f"GROUP {element.get('name') or ''}".strip()
        self.frames.append(frame)

    def end(self, element: etree._Element) -> Iterator[_Result]:
        frame = self.frames.pop()
        tag = frame.tag
        parent = self.frames[-1] if self.frames else None
        parent_tag = parent.tag if parent is not None else ""
        if tag == "msg":
            self._message(element, parent_tag)
        elif tag == "status":
            self._status(element, parent)
        elif tag == "tag" and parent_tag == "test" and self.test is not None:
            if len(self.test.tags) < MAX_TAGS:
                self.test.tags.append(element.text or "")
        elif tag == "doc" and parent_tag == "test" and self.test is not None:
            self.test.doc = element.text or None
        elif tag == "timeout" and parent_tag == "test" and self.test is not None:
            self.test.timeout = element.get("value")
        elif tag == "test" and self.test is not None:
            yield from self._close_test()
        elif tag == "suite" and self.suites:
            yield from self._close_suite()
        elif tag == "stat" and parent_tag == "total":
            self._total(element)
        if self.frames:  # the root element stays until the end
            _release(element)

    # ------------------------------------------------------------------ pieces

    def _open_suite(self, element: etree._Element) -> None:
        name = element.get("name") or ""
        parent_path = self.suites[-1].path if self.suites else ()
        self.suites.append(
            _Suite(
                name=name,
                id=element.get("id"),
                source=element.get("source"),
                path=(*parent_path, name) if name else parent_path,
                report_line=element.sourceline,
                log=CappedLog(self.options.max_text_bytes),
                first_held=self.released + len(self.held),
            )
        )

    def _message(self, element: etree._Element, parent_tag: str) -> None:
        if parent_tag == "errors":
            self._error_message(element)
            return
        log = self.test.log if self.test is not None else None
        if log is None and self.suites:
            log = self.suites[-1].log  # suite setup/teardown output
        if log is None:
            return
        when = element.get("time") or element.get("timestamp") or ""
        level = element.get("level") or "INFO"
        label = next((f.label for f in reversed(self.frames) if f.label), "")
        head = f"{when} {level:<5} " + (f"[{label}] " if label else "")
        text = element.text or ""
        log.append(head + text.replace("\n", "\n  ") + "\n")

    def _error_message(self, element: etree._Element) -> None:
        if (element.get("level") or "").upper() != "ERROR":
            return  # WARN entries repeat messages that are in the tests' logs
        self.errors += 1
        if self.errors <= MAX_ERROR_WARNINGS:
            text = (element.text or "").strip().splitlines()
            first = text[0][:300] if text else ""
            self.options.warn(f"{self.path}:{element.sourceline}: Robot Framework error: {first}")
        elif self.errors == MAX_ERROR_WARNINGS + 1:
            self.options.warn(f"{self.path}: more Robot Framework errors not shown")

    def _status(self, element: etree._Element, parent: _Frame | None) -> None:
        if parent is None:
            return
        word = (element.get("status") or "").upper()
        message = element.text or ""
        if parent.tag == "test" and self.test is not None:
            self.test.status = word
            self.test.message = message
            self.test.times = self._times(element)
        elif parent.tag == "suite" and self.suites:
            suite = self.suites[-1]
            suite.status, suite.message, suite.times = word, message, self._times(element)
        elif parent.fixture and self.suites:
            # a setup/teardown keyword directly under a suite (``fixture`` is set only there)
            if parent.fixture == "SETUP":
                self.suites[-1].setup = (word, message)
            else:
                self.suites[-1].teardown = (word, message)

    def _times(self, element: etree._Element) -> _Times:
        start_text = element.get("start")
        if start_text is not None:  # RF 7
            start = self._parse_time(start_text, element.sourceline)
            elapsed = _seconds(element.get("elapsed"))
            if elapsed is None:
                return _Times(start)
            end = None
            if start is not None:
                try:  # to the microsecond, as written; past the calendar: no end
                    end = start + timedelta(seconds=elapsed)
                except OverflowError:
                    end = None
            return _Times(start, round(elapsed * 1000), end)
        start = self._parse_time(element.get("starttime"), element.sourceline)
        end = self._parse_time(element.get("endtime"), element.sourceline)
        duration = None
        if start is not None and end is not None and end >= start:
            duration = round((end - start) / timedelta(milliseconds=1))
            return _Times(start, duration, end)
        return _Times(start, duration)

    def _parse_time(self, text: str | None, line: int | None) -> datetime | None:
        if not text or text.strip().upper() in ("N/A", "NONE", ""):
            return None
        text = text.strip()
        value: datetime | None = None
        if "T" in text or "-" in text:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                value = None
        else:
            for pattern in _LEGACY_TIME:
                try:
                    value = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
        if value is None:
            self.warn_once("bad-time", f"line {line}: time {text[:40]!r} is not a date; ignored")
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.options.timezone)
        return value

    def _total(self, element: etree._Element) -> None:
        # RF 3 also has "Critical Tests"; "All Tests" is the one to compare with.
        text = (element.text or "").strip()
        if self.stats is not None and text != "All Tests":
            return
        stats = {}
        for key in ("pass", "fail", "skip"):
            value = element.get(key)
            if value is not None and value.isdigit():
                stats[key] = int(value)
        self.stats = stats

    def _close_test(self) -> Iterator[_Result]:
        test, self.test = self.test, None
        assert test is not None
        self.seen_test = True
        suite = self.suites[-1]
        for open_suite in self.suites:
            open_suite.tests += 1
        status = test.status
        if status is None:
            self.warn_once(
                "no-status",
                f"line {test.report_line}: a test without <status>; reported as Failed",
            )
            status, test.message = "FAIL", "test has no status in output.xml"
        metadata: dict[str, Any] = {
            "format": "robot",
            "report": self.path,
            "suite": ".".join(suite.path),
        }
        if suite.source:
            metadata["file"] = suite.source
        if test.line is not None:
            metadata["line"] = test.line
        if test.id:
            metadata["id"] = test.id
        if test.tags:
            metadata["tags"] = test.tags
        if test.doc:
            metadata["documentation"] = clip_code_points(test.doc, MAX_DOC)
        if test.timeout:
            metadata["timeout"] = test.timeout
        if self.generator:
            metadata["generator"] = self.generator
        yield from self._hold(
            _Result(
                name=fit_name(" > ".join([*suite.path, test.name]), pad_with=suite.name),
                suite=suite,
                status=status,
                message=test.message,
                metadata=metadata,
                times=test.times,
                report_line=test.report_line,
                log=test.log.artifact("log.txt"),
            )
        )

    def _close_suite(self) -> Iterator[_Result]:
        suite = self.suites.pop()
        if not self.rebot and suite.teardown is not None:
            word, message = suite.teardown
            if word in ("FAIL", "SKIP"):
                self._apply_teardown(suite, word == "SKIP", message)
        if suite.tests == 0 and _suite_failed(suite):
            yield from self._hold(self._suite_failure(suite))
        if not self.suites:
            yield from self._release_all()

    def _apply_teardown(self, suite: _Suite, skipped: bool, message: str) -> None:
        """RF's SuiteTeardownFailed visitor, on the tests of ``suite`` still held."""
        first = max(suite.first_held, self.released)
        if suite.first_held < self.released and suite.tests:
            self.warn_once(
                "released-early",
                f"suite {'.'.join(suite.path)!r}: its teardown failed after more than "
                f"{MAX_HELD} tests were already passed on; those keep their own status",
            )
        for index in range(first - self.released, len(self.held)):
            result = self.held[index]
            if result.synthetic:
                continue
            if skipped:
                result.status = "SKIP"
                result.message = (
                    _ALSO_TEARDOWN_SKIPPED % (message, result.message)
                    if result.message
                    else _TEARDOWN_SKIPPED % message
                )
            else:
                if result.status != "SKIP":
                    result.status = "FAIL"
                prefix = _ALSO_TEARDOWN_FAILED if result.message else _TEARDOWN_FAILED
                result.message += prefix % message
            result.metadata["suite_teardown_failed"] = True

    def _suite_failure(self, suite: _Suite) -> _Result:
        """A suite that failed (setup, teardown) without any test to carry it."""
        if suite.setup is not None and suite.setup[0] == "FAIL":
            which = "setup"
        elif suite.teardown is not None and suite.teardown[0] == "FAIL":
            which = "teardown"
        else:
            which = "suite"  # the suite's own status says FAIL
        message = suite.message or f"suite {which} failed"
        metadata: dict[str, Any] = {
            "format": "robot",
            "report": self.path,
            "suite": ".".join(suite.path),
            "synthetic": True,
            "reason": f"suite {which} failed and the suite has no tests",
        }
        if suite.source:
            metadata["file"] = suite.source
        if self.generator:
            metadata["generator"] = self.generator
        name = " > ".join(suite.path) or "suite"
        return _Result(
            name=fit_name(f"{name} (suite {which})" if which != "suite" else name),
            suite=suite,
            status="FAIL",
            message=message,
            metadata=metadata,
            times=suite.times,
            report_line=suite.report_line,
            log=suite.log.artifact("log.txt"),
            synthetic=True,
        )

    # ------------------------------------------------------------------ holding

    def _hold(self, result: _Result) -> Iterator[_Result]:
        self.held.append(result)
        self.held_bytes += result.size
        while self.held and (len(self.held) > MAX_HELD or self.held_bytes > MAX_HELD_BYTES):
            yield self._release_one()

    def _release_one(self) -> _Result:
        result = self.held.popleft()
        self.released += 1
        self.held_bytes -= result.size
        return result

    def _release_all(self) -> Iterator[_Result]:
        while self.held:
            yield self._release_one()

    def record(self, result: _Result) -> TestRecord:
        word = result.status
        status = STATUSES.get(word)
        metadata = result.metadata
        if not result.synthetic:
            self.counts[word] = self.counts.get(word, 0) + 1
        if status is None:
            self.warn_once("status", f"unknown test status {word!r}; reported as Failed")
            status = Status.FAILED
        metadata["rf_status"] = word
        message = result.message
        outputs = [result.log] if result.log is not None else []
        if message.startswith("*HTML*"):
            message = message[len("*HTML*") :].lstrip()
            merged = _unmerge(message, word)
            if merged is None:
                metadata["html_message"] = True
            else:
                message, attempts = merged
                metadata["rebot_merged"] = True
                if attempts:
                    metadata["attempts"] = len(attempts)
                    metadata["flaky"] = word == "PASS" and any(
                        old == "FAIL" for old, _ in attempts[:-1]
                    )
                    lines = [
                        f"attempt {number}: {old}" + (f": {text}" if text else "")
                        for number, (old, text) in enumerate(attempts, start=1)
                    ]
                    outputs.append(TextArtifact("attempts.txt", "\n".join(lines) + "\n"))
        if word == "SKIP" and message.startswith(_SKIP_ON_FAILURE):
            metadata["skip_on_failure"] = True
        started_at = result.times.started_at
        duration = result.times.duration_ms
        if started_at is not None:
            metadata["time_source"] = "report"
        elif self.options.fallback_start is not None:
            started_at = self.options.fallback_start
            metadata["time_source"] = "file_mtime"
        finished_at = result.times.finished_at
        if finished_at is None and started_at is not None and duration is not None:
            finished_at = add_ms(started_at, duration)
        metadata["report_line"] = result.report_line
        return TestRecord(
            test_name=result.name,
            status=status,
            source=SourceRef(self.source.path, self.source.member, result.report_line),
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=message if len(message) > ERROR_MESSAGE_MAX else None,
            outputs=tuple(outputs),
        )

    def check_counts(self) -> None:
        if self.stats is None:
            return
        ours = {
            "pass": self.counts.get("PASS", 0),
            "fail": self.counts.get("FAIL", 0),
            "skip": self.counts.get("SKIP", 0) + self.counts.get("NOT RUN", 0),
        }
        theirs = {key: self.stats.get(key, ours[key]) for key in ours}
        if ours != theirs:
            self.options.warn(
                f"{self.path}: the statistics say {theirs['pass']} passed, {theirs['fail']} "
                f"failed, {theirs['skip']} skipped; the tests read give {ours['pass']}, "
                f"{ours['fail']}, {ours['skip']}"
            )


def _unmerge(message: str, status: str) -> tuple[str, list[tuple[str, str]]] | None:
    """A ``rebot --merge`` message: the latest attempt's plain message and every attempt
    (status, message), oldest first; None when ``message`` is no merge message."""
    head = _MERGED.match(message)
    if head is not None:
        parts = [
            (found.group(1), _plain(found.group(2) or ""))
            for found in _MERGE_PART.finditer(message, head.end())
        ]
        if not parts:
            return None
        parts.reverse()
        return parts[-1][1], parts
    skipped = _MERGE_SKIPPED.match(message)
    if skipped is not None:  # the original result kept, its rerun skipped and ignored
        original = _plain(skipped.group(2) or "")
        return original, [(status, original), ("SKIP", _plain(skipped.group(1)))]
    added = _MERGE_ADDED.match(message)
    if added is not None:  # a test only the merged output has: one attempt
        return _plain(added.group(1) or ""), []
    return None


def _plain(text: str) -> str:
    """RF's message HTML (escaped text, linkified URLs) back to text."""
    return html.unescape(_TAG.sub("", text)).strip()


def _suite_failed(suite: _Suite) -> bool:
    failed = ("FAIL",)
    return (
        (suite.setup is not None and suite.setup[0] in failed)
        or (suite.teardown is not None and suite.teardown[0] in failed)
        or suite.status in failed
    )


def _seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value < 1e9 else None


def _release(element: etree._Element) -> None:
    """Free an element and the already-read siblings before it (flat memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per ``<test>`` of a Robot Framework output.xml.

    Raises :class:`InputError` for a document that is not well-formed (RF writes output.xml
    as it runs, so a killed run leaves it truncated); with ``options.salvage`` the tests
    read before the cut are kept and a synthetic Failed record says where it stopped.
    """
    reader = _Reader(source, options)
    sanitizer = SanitizingReader(stream)
    events = iter_events(sanitizer, reader.path, on_root=reader.check_root)
    try:
        for event, element in events:
            if event == "start":
                reader.start(element)
            else:
                for result in reader.end(element):
                    yield reader.record(result)
    except InputError as error:
        if not options.salvage or error.line is None or not reader.seen_test:
            raise
        for result in reader._release_all():
            yield reader.record(result)
        yield _truncated(reader, error)
        return
    for result in reader._release_all():  # only a document without suites gets here
        yield reader.record(result)
    for note in sanitizer.notes():
        options.warn(f"{reader.path}: {note}")
    if not reader.seen_test and not reader.counts:
        options.warn(f"{reader.path}: the output.xml holds no tests")
    reader.check_counts()


def _truncated(reader: _Reader, error: InputError) -> TestRecord:
    where = " > ".join(reader.suites[-1].path) if reader.suites else reader.path
    test = reader.test.name if reader.test is not None else None
    metadata: dict[str, Any] = {
        "format": "robot",
        "report": reader.path,
        "synthetic": True,
        "reason": "report truncated",
        "report_line": error.line,
    }
    name = f"{where} > {test}" if test else f"{where} (report truncated)"
    return TestRecord(
        test_name=fit_name(name),
        status=Status.FAILED,
        source=SourceRef(reader.source.path, reader.source.member, error.line),
        started_at=reader.options.fallback_start,
        error_message=clip_code_points(
            f"output.xml truncated at line {error.line} (the run was killed?): {error.reason}",
            ERROR_MESSAGE_MAX,
        ),
        metadata=metadata,
    )

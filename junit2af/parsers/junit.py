"""Streaming JUnit XML parser: every real-world flavour, one :class:`TestRecord` at a time.

The parser walks ``iterparse`` events, turns each finished ``<testcase>`` into a record
and frees the elements it has read, so memory stays flat whatever the report's size. The
mapping rules are documented in the README ("How JUnit maps"); the quirks that forced a
rule are noted where the rule is implemented.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO

from dateutil import parser as date_parser
from lxml import etree

from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.parsers import Format, Head, detect
from junit2af.parsers.base import FileContext, ParseOptions
from junit2af.parsers.xmlsafe import (
    HardenedTree,
    SanitizingReader,
    plain_attributes,
    root_local_name,
)
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    AttachmentRef,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    add_ms,
    clip_code_points,
    fit_name,
    usable_time,
)

#: Elements that can hold test cases. ``testrun`` is Eclipse/Pega's root.
ROOT_TAGS = frozenset({"testsuites", "testsuite", "testrun"})

FORMATS = (
    Format(
        "junit",
        "JUnit XML",
        "junit",
        producers="Surefire, Gradle, pytest, jest-junit, gotestsum, googletest, Catch2, "
        "PHPUnit, CTest, cargo-nextest, node:test, mocha, vitest, bats, ...",
    ),
)


def sniff(head: Head) -> str | None:
    """JUnit: a ``<testsuites>``, ``<testsuite>`` or ``<testrun>`` root in no namespace.

    A namespaced root of the same name is another schema (libcheck writes
    ``<testsuites xmlns="http://check.sourceforge.net/ns">``): not JUnit.
    """
    root = head.xml_root
    if root is not None and root.local in ROOT_TAGS and not root.namespace:
        return "junit"
    if root is None and head.text.startswith(b"<"):
        # XML whose root is not in the first bytes (a long DOCTYPE, a huge comment): the
        # hardened XML reader refuses what it finds there, naming the line.
        return "junit"
    return None


#: A skip whose type says it is an expected failure.
KNOWN_FAIL_SKIP_TYPES = frozenset({"pytest.xfail", "xfail", "todo", "expectedfailure"})
#: ``status``/``result`` attribute values that mean the test did not run.
NOT_RUN_STATUSES = frozenset(
    {"notrun", "not_run", "disabled", "skipped", "ignored", "suppressed", "filtered"}
)
#: Surefire writes these inside a <testcase> for earlier attempts of a rerun test.
FLAKY_TAGS = frozenset({"flakyFailure", "flakyError"})
RERUN_TAGS = frozenset({"rerunFailure", "rerunError"})
FAILURE_TAGS = frozenset({"failure", "error"})
#: What a suite may hold directly besides test cases and suites (read at their end).
_SUITE_CHILD_TAGS = frozenset({"properties", "system-out", "system-err", *FAILURE_TAGS})
#: The elements the parse loop sees (any namespace: some writers add one); the others
#: are read from their test case.
_EVENT_TAGS = tuple(f"{{*}}{tag}" for tag in (*ROOT_TAGS, "testcase", *_SUITE_CHILD_TAGS))

#: Repeated test cases within this many distinct names of each other are merged as
#: attempts of one test (pytest-rerunfailures writes reruns right after the first try).
ATTEMPT_WINDOW = 256

_ATTACHMENT_MARKER = re.compile(r"\[\[ATTACHMENT\|([^\]\r\n]+)\]\]")
_KNOWN_CASE_ATTRS = frozenset(
    {"name", "classname", "time", "timestamp", "file", "line", "status", "result"}
)


def _local(tag: Any) -> str:
    """Tag name without namespace (some writers add xsi namespaces); '' for non-elements."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


@dataclass
class _Suite:
    name: str
    path: tuple[str, ...]
    timestamp: datetime | None
    hostname: str | None
    header: dict[str, str]
    properties: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # where its start tag is
    offset_ms: int = 0  # durations of the cases read so far in this suite
    case_count: int = 0
    child_suites: int = 0
    output: list[TextArtifact] = field(default_factory=list)
    # Test cases read but not yet emitted (a rerun may follow), oldest first.
    pending: OrderedDict[int, list[_Attempt]] = field(default_factory=OrderedDict)
    latest_slot: dict[tuple[str, str], int] = field(default_factory=dict)
    slot_counter: int = 0
    emitted_any: bool = False
    repeats_are_reruns: bool = False
    #: a repeat of a test case whose last try failed is a rerun: the producers known to
    #: write each rerun as another <testcase> (Gradle, gotestsum); see _add_attempt
    failed_repeats_are_reruns: bool = False
    #: googletest's sign of a failed SetUpTestSuite: its tests written as run, skipped,
    #: at the epoch (a test's own GTEST_SKIP has its real start time)
    epoch_skips: int = 0
    #: what was read in this suite (own) and in its closed nested suites (nested), to
    #: check the header's own counts against (see _check_counts)
    own: _Counts = field(default_factory=lambda: _Counts())
    nested: _Counts = field(default_factory=lambda: _Counts())
    #: nested suites that held test cases, by name, and whether one of them failed:
    #: node-tap writes a summary <testcase> after each such suite (see _paired_summary)
    case_suites: dict[str, bool] = field(default_factory=dict)
    failed_any: bool = False  # a Failed record came out of it or its nested suites
    element: etree._Element | None = None  # its element, while it is open
    #: the metadata every record of the suite starts with (see _base_metadata)
    base_metadata: dict[str, Any] | None = None


@dataclass
class _Counts:
    """Test cases and outcomes read, in the header's terms."""

    cases: int = 0  # <testcase> elements (each rerun of pytest's is one)
    attempts: int = 0  # cases plus Surefire's flaky*/rerun* elements
    records: int = 0  # tests after merging reruns
    failed: int = 0  # records Failed
    failures: int = 0  # records Failed by a <failure>
    errors: int = 0  # records Failed by an <error>
    skipped: int = 0  # records Skipped or KnownFail
    disabled: int = 0  # skipped because status/result says not run
    failure_elements: int = 0  # <failure> elements of the Failed records
    merged: int = 0  # records made of several attempts (reruns)
    load_failures: int = 0  # records of suites that failed to load (tests="0")
    #: test cases a producer leaves out of its tests=: mocha's failed hooks ('"before
    #: all" hook for "x"'), googletest's NonTestSuiteFailure (a global environment failed)
    outside_tests: int = 0

    def add(self, other: _Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class _Attempt:
    """One <testcase> element, read and detached from the tree."""

    name: str
    classname: str
    line: int | None
    file: str | None
    file_line: str | None
    duration_ms: int | None
    started_at: datetime | None
    time_source: str | None
    status: Status
    result: str | None  # "failure", "error", "skipped", ...
    failure_type: str | None
    message: str | None
    failure_text: str | None
    outputs: list[TextArtifact]
    attachments: list[AttachmentRef]
    properties: dict[str, Any]
    attributes: dict[str, str]
    extra_attempts: list[dict[str, Any]]  # Surefire flaky*/rerun* elements
    flaky_inside: bool  # Surefire flakyFailure: failed earlier, passed at the end
    failure_elements: int = 0  # <failure>/<error> children (googletest writes several)


class _Context(FileContext):
    """Per-file state of one parse: the shared part, and where we are."""

    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        super().__init__(source, options, "junit")
        self.records = 0  # records yielded
        #: node-tap's summary test cases were seen: its header counts count them too
        self.paired = False
        #: suites whose header counts disagree with what was read: (first, how many)
        self.count_problem: str | None = None
        self.count_problems = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test of a JUnit XML report read from ``stream``.

    Raises :class:`InputError` for a document that is not well-formed JUnit XML (with the
    line and column of the syntax error), :class:`UnsupportedFormatError` for XML of
    another known format. With ``options.salvage``, a truncated report yields the complete
    test cases and a synthetic Failed record for the one cut off.
    """
    ctx = _Context(source, options)
    reader = SanitizingReader(stream)
    suites: list[_Suite] = []
    open_case_line: int | None = None
    seen_case = False

    def check_root(root: etree._Element) -> None:
        tag = _local(root.tag)
        if tag not in ROOT_TAGS:
            detection = detect(etree.tostring(root)[:4096])
            looks = detection.looks_like
            if looks is not None:
                raise UnsupportedFormatError(ctx.report, looks.message(), line=root.sourceline)
            if detection.format is not None and detection.format.name != "junit":
                # Forced with --format junit on a report another parser reads.
                other = detection.format
                raise UnsupportedFormatError(
                    ctx.report,
                    f"not JUnit XML: looks like {other.title} (read it with --format "
                    f"{other.name}, or without --format)",
                    line=root.sourceline,
                )
            raise InputError(
                ctx.report,
                f"not a JUnit XML report (root element <{tag}>)",
                line=root.sourceline,
            )

    # Python sees only the elements it acts on (suites, test cases and what a suite holds
    # directly); the rest is matched out in C. A document whose root is no suite, or
    # starts past the first chunk, is read element by element (iter_events) instead.
    filtered = root_local_name(reader.head) in ROOT_TAGS
    tree = HardenedTree(reader, ctx.report, _EVENT_TAGS if filtered else None, on_root=check_root)
    try:
        try:
            for event, element in tree.events:
                if event == "end":
                    tag = element.tag
                    if tag.__class__ is not str:
                        continue
                    if "}" in tag:
                        tag = tag.rsplit("}", 1)[-1]
                    if tag == "testcase":
                        seen_case = True
                        open_case_line = None
                        suite = suites[-1] if suites else None
                        if suite is None:  # pragma: no cover - root check makes this unreachable
                            continue
                        children = list(element)
                        tree.before_release(element, children)
                        attempt = _read_case(ctx, element, suite, children)
                        _release(element)
                        if not attempt.name and _is_interrupted_placeholder(attempt, element):
                            yield from _flush(ctx, suite)
                            yield _interrupted_record(ctx, suite, attempt)
                            continue
                        if attempt.name in suite.case_suites:
                            yield from _flush(ctx, suite)
                            summary = _paired_summary(ctx, suite, attempt)
                            if summary is not None:
                                yield summary
                            continue
                        own = suite.own
                        own.cases += 1
                        if attempt.status is Status.FAILED and (
                            attempt.name.startswith(_MOCHA_HOOK)
                            or suite.name == "NonTestSuiteFailure"
                        ):  # only failures are written outside tests= (passes: no check)
                            own.outside_tests += 1
                        own.attempts += 1 + len(attempt.extra_attempts)
                        record = _add_attempt(ctx, suite, attempt)
                        if record is not None:
                            yield record
                    elif tag in _SUITE_CHILD_TAGS:
                        # Only directly in a suite (the innermost open one): inside a
                        # test case these are the test case's, read with it.
                        if not suites or element.getparent() is not suites[-1].element:
                            continue
                        suite = suites[-1]
                        tree.before_release(element)
                        if tag == "properties":
                            _add_suite_properties(ctx, suite, element)
                            suite.base_metadata = None
                            # gotestsum --rerun-fails writes reruns as repeated cases
                            if "go.version" in suite.properties:
                                suite.failed_repeats_are_reruns = True
                        elif tag in FAILURE_TAGS:
                            # A harness wrote a failure outside any test case (a whole file
                            # crashed): it must not vanish.
                            yield from _flush(ctx, suite)
                            yield _suite_failure_record(ctx, suite, element)
                            suite.emitted_any = True
                        else:
                            text = _text_of(ctx, element)
                            if text and not text.isspace():
                                label = "suite-stdout.log"
                                if tag == "system-err":
                                    label = "suite-stderr.log"
                                suite.output.append(_text_artifact(ctx, label, text))
                        _release(element)
                    elif tag in ROOT_TAGS and suites:
                        tree.before_release(element)
                        suite = suites.pop()
                        yield from _close_suite(ctx, suite)
                        if suites:
                            parent = suites[-1]
                            parent.emitted_any = parent.emitted_any or suite.emitted_any
                            parent.nested.add(suite.own)
                            parent.nested.add(suite.nested)
                            parent.failed_any = parent.failed_any or suite.failed_any
                            if suite.own.cases or suite.nested.cases:
                                parent.case_suites[suite.name] = suite.failed_any
                        _release(element)
                elif event == "start":
                    if tree.xinclude_declared:
                        tree.check_name(element)
                    tag = element.tag
                    if tag.__class__ is not str:
                        continue
                    if "}" in tag:
                        tag = tag.rsplit("}", 1)[-1]
                    if tag == "testcase":
                        open_case_line = element.sourceline
                    elif tag in ROOT_TAGS:
                        if suites:
                            tree.check_start(element)
                            # A nested suite: first emit what the parent holds, to keep order.
                            suites[-1].child_suites += 1
                            yield from _flush(ctx, suites[-1])
                        else:
                            tree.start_root(element)
                        suites.append(_open_suite(ctx, element, suites))
                else:  # start-ns
                    tree.declared(element)
            tree.finish()
        except etree.XMLSyntaxError as error:
            raise tree.syntax_error(error) from None
    except InputError as error:
        if not options.salvage or error.line is None or isinstance(error, UnsupportedFormatError):
            raise
        if not seen_case and not suites:
            raise
        # Salvage: everything complete was yielded; flush what is pending, then say what
        # was cut off. Never a pass.
        for suite in reversed(suites):
            yield from _flush(ctx, suite)
        last_line = tree.last_started_line() or 1
        yield _truncated_record(ctx, suites, open_case_line or last_line, error)
        return

    for note in reader.notes():
        options.warn(f"{ctx.report}: {note}")
    if ctx.count_problem is not None and not ctx.paired:
        more = ctx.count_problems - 1
        options.warn(
            f"{ctx.report}: {ctx.count_problem}"
            + (f" (and {more} more suite(s) whose counts disagree)" if more else "")
        )
    if not seen_case:
        options.warn(f"{ctx.report}: the report holds no test cases")
    elif ctx.records == 0:
        # Never a silent zero: test cases were read, none became a record.
        options.warn(f"{ctx.report}: the report's test cases gave no test to upload")


def _open_suite(ctx: _Context, element: etree._Element, suites: list[_Suite]) -> _Suite:
    name = element.get("name") or ""
    parent_path = suites[-1].path if suites else ()
    timestamp = _parse_timestamp(ctx, element.get("timestamp"), element.sourceline)
    if timestamp is None and suites:
        # A nested suite without its own timestamp starts where its parent has reached.
        parent = suites[-1]
        timestamp = add_ms(parent.timestamp, parent.offset_ms) if parent.timestamp else None
    hostname = element.get("hostname") or (suites[-1].hostname if suites else None)
    inherited = dict(suites[-1].properties) if suites else {}
    return _Suite(
        name=name,
        path=(*parent_path, name) if name else parent_path,
        timestamp=timestamp,
        hostname=hostname,
        header=plain_attributes(element, ctx.report),
        properties=inherited,
        line=element.sourceline,
        repeats_are_reruns=_written_by_pytest(element, suites),
        failed_repeats_are_reruns=_written_by_gradle(element)
        or bool(suites and suites[-1].failed_repeats_are_reruns),
        element=element,
    )


#: The attributes of Gradle's <testsuite>, in the order its JUnit XML writer writes them
#: (``skipped`` since Gradle 2.x). Gradle writes a rerun (the test-retry plugin, Develocity)
#: as another <testcase> unless ``mergeReruns`` is set, which writes Surefire's elements.
_GRADLE_SUITE_ATTRIBUTES = (
    ["name", "tests", "skipped", "failures", "errors", "timestamp", "hostname", "time"],
    ["name", "tests", "failures", "errors", "timestamp", "hostname", "time"],
)


def _written_by_gradle(element: etree._Element) -> bool:
    return element.attrib.keys() in _GRADLE_SUITE_ATTRIBUTES


def _written_by_pytest(element: etree._Element, suites: list[_Suite]) -> bool:
    if suites and suites[0].header.get("name") == "pytest tests":
        return True
    return element.get("name") in ("pytest", "pytest tests")


def _release(element: etree._Element) -> None:
    """Free an element and the already-read siblings before it (flat memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _text_of(ctx: _Context, element: etree._Element) -> str:
    text = element.text or ""
    if len(text) <= ctx.options.max_text_bytes:
        return text
    return ctx.cap(text, element.sourceline, f"<{_local(element.tag)}>")


def _text_artifact(ctx: _Context, label: str, text: str) -> TextArtifact:
    return TextArtifact(label=label, text=text)


#: Most properties a suite keeps (with those of the suites around it, which it copies):
#: surefire writes a few hundred at most (the JVM's system properties), and a record's
#: metadata carries no more than this of a mapping (bodies.MAX_ITEMS). Past it they are
#: dropped with a warning, so that <properties> blocks cannot grow a dict without end,
#: copied into each nested suite (100 000 properties, 2000 nested suites: 6 s).
MAX_SUITE_PROPERTIES = 1000


def _add_suite_properties(ctx: _Context, suite: _Suite, element: etree._Element) -> None:
    properties = suite.properties
    dropped = 0
    for name, value in _read_properties(element).items():
        if name in properties or len(properties) < MAX_SUITE_PROPERTIES:
            properties[name] = value
        else:
            dropped += 1
    if dropped:
        ctx.warn_once(
            "properties",
            f"line {element.sourceline}: more than {MAX_SUITE_PROPERTIES} properties in a "
            f"suite; truncated to the first {MAX_SUITE_PROPERTIES} ({dropped} dropped here)",
        )


def _read_properties(element: etree._Element) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    repeated: set[str] = set()  # names whose value is a list this function made
    for prop in element:
        if _local(prop.tag) != "property":
            continue
        name = prop.get("name")
        if name is None:
            continue
        value = prop.get("value")
        if value is None:
            value = prop.text or ""
        if name not in properties:
            properties[name] = value
        elif name in repeated:
            properties[name].append(value)  # in place: a name repeated n times is O(n)
        else:
            properties[name] = [properties[name], value]
            repeated.add(name)
    return properties


def _parse_seconds(ctx: _Context, raw: str | None, line: int | None) -> int | None:
    """``time`` in seconds to whole milliseconds, tolerant of ``1,234.5`` and exponents."""
    if raw is None:
        return None
    try:
        # What float() reads as it is, it reads as the cleaned text below reads it.
        seconds = float(raw)
    except ValueError:
        text = raw.strip().replace(",", "").replace("_", "")
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            ctx.warn_once(
                "bad-time",
                f"line {line}: time={_shown(raw)} is not a number; no duration recorded",
            )
            return None
    if seconds != seconds or seconds < 0 or seconds == _INFINITY:  # NaN, negative, inf
        ctx.warn_once(
            "bad-time", f"line {line}: time={_shown(raw)} is invalid; no duration recorded"
        )
        return None
    if seconds > MAX_SECONDS:
        ctx.warn_once(
            "bad-time", f"line {line}: time={_shown(raw)} is over a year; no duration recorded"
        )
        return None
    return round(seconds * 1000)


#: The longest duration taken from a ``time`` attribute: a year (a larger one is a
#: mistake or hostile, and added to a start it could run past the calendar).
MAX_SECONDS = 366 * 24 * 3600


def _shown(raw: str) -> str:
    """An attribute for a warning: quoted, and at most 40 characters of it."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


_INFINITY = math.inf
_EARLIEST_TIMESTAMP = datetime(1980, 1, 1)  # 0001-01-01 and 1970-01-01 mean "unknown"


#: A full calendar date at the start of a timestamp: 2024-01-02 or 20240102 (ISO 8601).
_FULL_DATE = re.compile(r"^\d{4}(?:-\d{2}-\d{2}|\d{4})(?:$|[T ])")


def _parse_timestamp(ctx: _Context, raw: str | None, line: int | None) -> datetime | None:
    """A timestamp attribute as an aware datetime; None when it holds no full date.

    Never a date invented: ``12:30``, ``Tuesday`` or ``2024`` would be completed from
    today's date by a lenient parser, so only an ISO 8601 date (with an optional time
    and offset) is taken, or another spelling that names year, month and day. A time
    without an offset is in ``options.timezone``.
    """
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    value: datetime | None = None
    if _FULL_DATE.match(text):
        try:
            value = date_parser.isoparse(text)
        except (ValueError, OverflowError):
            value = None
    if value is None:
        value = _lenient_full_date(text)
    if value is None:
        ctx.warn_once(
            "bad-timestamp",
            f"line {line}: timestamp={raw!r} is not a full date; ignored (the start time "
            "comes from the next source: the suite, else the file's time)",
        )
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.options.timezone)
    if value.replace(tzinfo=None) < _EARLIEST_TIMESTAMP:
        return None
    if not usable_time(value) or value.year > 9000:
        ctx.warn_once(
            "bad-timestamp",
            f"line {line}: timestamp={_shown(raw)} is out of range; ignored (the start time "
            "comes from the next source: the suite, else the file's time)",
        )
        return None
    return value


def _lenient_full_date(text: str) -> datetime | None:
    """``text`` read by dateutil only if it names the year, month and day itself.

    dateutil fills what a text lacks from its ``default``; read with two defaults that
    differ in every date field, a text that lacks one of them gives two dates.
    """
    try:
        first = date_parser.parse(text, default=datetime(2001, 1, 1))
        second = date_parser.parse(text, default=datetime(2002, 2, 2))
    except (ValueError, OverflowError):
        return None
    return first if first == second else None


def _first_line(text: str | None) -> str | None:
    """The first line that says something: not blank, not Catch2's ``FAILED:`` header
    (its JUnit reporter writes no ``message`` for an exception thrown in a section)."""
    if not text:
        return None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and stripped != "FAILED:":
            return stripped
    return None


def _read_case(
    ctx: _Context,
    element: etree._Element,
    suite: _Suite,
    children: list[etree._Element] | None = None,
) -> _Attempt:
    # The hot path of a large report: attributes are read once, children in one pass,
    # and the common case (no timestamp, no properties, no extra attributes) does no
    # more than it must. The rules are those of the README's mapping table.
    get = element.get
    line = element.sourceline
    raw_time = get("time")
    duration_ms = _parse_seconds(ctx, raw_time, line) if raw_time is not None else None
    raw_stamp = get("timestamp")
    known = (raw_time is not None) + (raw_stamp is not None)  # attributes read so far

    started_at = _parse_timestamp(ctx, raw_stamp, line) if raw_stamp else None
    time_source: str | None = "testcase" if started_at else None
    if started_at is None and suite.timestamp is not None:
        started_at = add_ms(suite.timestamp, suite.offset_ms)
        time_source = "suite"
    if started_at is None and ctx.options.fallback_start is not None:
        # The file was written when the run ended: count back the suite's duration.
        suite_ms = _parse_seconds(ctx, suite.header.get("time"), None) or 0
        started_at = add_ms(add_ms(ctx.options.fallback_start, -suite_ms), suite.offset_ms)
        time_source = "file_mtime"
    suite.offset_ms += duration_ms or 0
    suite.case_count += 1

    failures: list[etree._Element] = []
    skipped: etree._Element | None = None
    outputs: list[TextArtifact] = []
    attachments: list[AttachmentRef] = []
    properties: dict[str, Any] = {}
    extra_attempts: list[dict[str, Any]] = []
    stdout: list[str] | None = None
    stderr: list[str] | None = None
    flaky_inside = False
    limit = ctx.options.max_text_bytes
    for child in element if children is None else children:
        child_tag = child.tag
        if child_tag.__class__ is not str:
            continue
        if "}" in child_tag:
            child_tag = child_tag.rsplit("}", 1)[-1]
        if child_tag == "system-out" or child_tag == "system-err":
            text = child.text
            if not text:
                continue
            if len(text) > limit:
                text = _text_of(ctx, child)
            if not text.isspace():
                # pytest's junit_logging=all writes several; one file per stream reads best.
                if child_tag == "system-out":
                    if stdout is None:
                        stdout = [text]
                    else:
                        stdout.append(text)
                elif stderr is None:
                    stderr = [text]
                else:
                    stderr.append(text)
                if "[[ATTACHMENT|" in text:
                    attachments.extend(_attachment_markers(text))
        elif child_tag in FAILURE_TAGS:
            failures.append(child)
        elif child_tag == "skipped":
            skipped = child
        elif child_tag == "properties":
            properties.update(_read_properties(child))
        elif child_tag in FLAKY_TAGS or child_tag in RERUN_TAGS:
            flaky_inside = flaky_inside or child_tag in FLAKY_TAGS
            extra_attempts.append(_read_rerun_element(ctx, child))

    if stdout is not None:
        outputs.append(TextArtifact("stdout.log", "\n".join(stdout)))
    if stderr is not None:
        outputs.append(TextArtifact("stderr.log", "\n".join(stderr)))
    if properties:
        attachments.extend(_attachment_properties(properties))

    if failures or skipped is not None:
        status, result, failure_type, message, failure_text = _case_outcome(
            element, failures, skipped
        )
        if (
            skipped is not None
            and not failures
            and raw_stamp is not None
            and raw_stamp.startswith(_EPOCH)
            and get("status") == "run"
        ):
            suite.epoch_skips += 1
    else:
        run_status = get("status")
        known += run_status is not None
        if not run_status:
            raw_result = get("result")
            known += raw_result is not None
            run_status = raw_result
        run_status = (run_status or "").strip().lower()
        if run_status in NOT_RUN_STATUSES:
            status, result, failure_type = Status.SKIPPED, "status", run_status
        else:
            status, result, failure_type = Status.PASSED, None, None
        message = failure_text = None
    if properties and status is Status.PASSED and result is None:
        # node-tap's JUnit reporter writes a skipped or todo subtest as a test case with
        # only a <property name="skip"> (or "todo") holding the reason.
        for key, marked in (("skip", Status.SKIPPED), ("todo", Status.KNOWN_FAIL)):
            reason = _str_property(properties, key)
            if reason is not None and reason.lower() not in ("false", "0"):
                status, result, failure_type = marked, "property", key
                message = reason if reason.lower() != "true" else None
                break
    name = get("name")
    classname = get("classname")
    file = get("file")
    file_line = get("line")
    known += (
        (name is not None) + (classname is not None) + (file is not None) + (file_line is not None)
    )
    attributes: dict[str, str] = {}
    if len(element.attrib) > known:  # attributes beyond the ones read: keep them
        attributes = {
            k: v
            for k, v in plain_attributes(element, ctx.report).items()
            if k not in _KNOWN_CASE_ATTRS and not k.startswith("{")
        }
    return _Attempt(
        name or "",
        classname or "",
        line,
        (file or _str_property(properties, "file")) if properties else (file or None),
        (file_line or _str_property(properties, "line")) if properties else (file_line or None),
        duration_ms,
        started_at,
        time_source,
        status,
        result,
        failure_type,
        message,
        failure_text,
        outputs,
        attachments,
        properties,
        attributes,
        extra_attempts,
        flaky_inside,
        len(failures),
    )


def _case_outcome(
    element: etree._Element,
    failures: list[etree._Element],
    skipped: etree._Element | None,
) -> tuple[Status, str | None, str | None, str | None, str | None]:
    """Status, result element, failure type, message and full failure text of a case."""
    message: str | None
    failure_text: str | None
    has_error = any(_local(f.tag) == "error" for f in failures)
    if failures:
        first = next((f for f in failures if _local(f.tag) == "error"), failures[0])
        message = first.get("message") or _first_line(first.text)
        if len(failures) > 1 or any((f.text or "").strip() for f in failures):
            failure_text = "\n\n".join(_failure_block(f) for f in failures)
        else:
            # A bare message attribute: error_message holds it, unless it is too long.
            failure_text = message if message and len(message) > ERROR_MESSAGE_MAX else None
        if skipped is not None and not has_error:
            # node:test and Catch2 write a failing expected-failure as <skipped> + <failure>.
            return Status.KNOWN_FAIL, "failure", first.get("type"), message, failure_text
        return Status.FAILED, _local(first.tag), first.get("type"), message, failure_text
    if skipped is not None:
        skip_type = (skipped.get("type") or "").strip()
        message = skipped.get("message") or _first_line(skipped.text)
        if message == "true":
            message = None  # node:test's <skipped message="true"/>: skipped, no reason
        if skip_type.lower() in KNOWN_FAIL_SKIP_TYPES:
            return Status.KNOWN_FAIL, "skipped", skip_type, message, None
        return Status.SKIPPED, "skipped", skip_type or None, message, None
    run_status = (element.get("status") or element.get("result") or "").strip().lower()
    if run_status in NOT_RUN_STATUSES:
        return Status.SKIPPED, "status", run_status, None, None
    return Status.PASSED, None, None, None, None


def _failure_block(element: etree._Element) -> str:
    """The whole text of one <failure>/<error>: kind, type, message, then the stack."""
    head = _local(element.tag)
    if element.get("type"):
        head += f": {element.get('type')}"
    if element.get("message"):
        head += f": {element.get('message')}"
    body = (element.text or "").strip("\n")
    return f"{head}\n{body}" if body else head


def _read_rerun_element(ctx: _Context, element: etree._Element) -> dict[str, Any]:
    """Surefire's flakyFailure/rerunFailure: an earlier attempt's failure and output."""
    stack = ""
    outputs = []
    for child in element:
        child_tag = _local(child.tag)
        if child_tag == "stackTrace":
            stack = child.text or ""
        elif child_tag in ("system-out", "system-err") and (child.text or "").strip():
            outputs.append(f"--- {child_tag} ---\n{child.text}")
    text = stack or element.text or ""
    return {
        "kind": _local(element.tag),
        "type": element.get("type"),
        "message": element.get("message") or _first_line(text),
        "text": "\n".join([text.strip("\n"), *outputs]).strip("\n"),
    }


def _attachment_markers(text: str) -> list[AttachmentRef]:
    if "[[ATTACHMENT|" not in text:
        return []
    return [
        AttachmentRef(path=m.group(1).strip(), marker=m.group(0))
        for m in _ATTACHMENT_MARKER.finditer(text)
    ]


def _attachment_properties(properties: dict[str, Any]) -> list[AttachmentRef]:
    refs = []
    for name, value in properties.items():
        if name.lower() not in ("attachment", "attachments") and not name.lower().startswith(
            "attachment:"
        ):
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            for path in str(item).splitlines():
                if path.strip():
                    refs.append(
                        AttachmentRef(
                            path=path.strip(),
                            marker=f'<property name="{name}" value="{path.strip()}">',
                        )
                    )
    return refs


def _add_attempt(ctx: _Context, suite: _Suite, attempt: _Attempt) -> TestRecord | None:
    """Hold ``attempt`` back (a rerun may follow); return the record of the test that
    leaves the window of pending tests, if one does."""
    # A repeat of a test case whose last try failed is a rerun. A repeat after a pass or
    # a skip is another test that happens to share the name (TestNG data providers,
    # CasperJS assertions, mocha's duplicate titles) and keeps its own record -- except in
    # reports pytest wrote: pytest runs a node id once per session, and
    # pytest-rerunfailures writes the failed tries as bare, passed-looking test cases.
    #
    # Any other producer's repeat is another test, even after a failure: test.each rows,
    # mocha's forEach and node:test files with the same titles repeat a name, and merging
    # them as reruns would turn real failures into one flaky pass. A repeat after a failure
    # is a rerun there only when both name the same source line (the same test, again).
    key = (attempt.classname, attempt.name)
    pending = suite.pending
    slot = suite.latest_slot.get(key)
    if slot is not None and slot in pending and attempt.name:
        attempts = pending[slot]
        last = attempts[-1]
        if last.status is Status.FAILED and _same_failure_again(suite, last, attempt):
            _fold_failure(last, attempt)
            return None
        if suite.repeats_are_reruns or (
            last.status is Status.FAILED
            and (suite.failed_repeats_are_reruns or _same_source_line(last, attempt))
        ):
            attempts.append(attempt)
            return None
    suite.slot_counter += 1
    pending[suite.slot_counter] = [attempt]
    suite.latest_slot[key] = suite.slot_counter
    if len(pending) > ATTEMPT_WINDOW:  # one in, at most one out
        _, attempts = pending.popitem(last=False)
        suite.emitted_any = True
        return _build_record(ctx, suite, attempts)
    return None


def _same_source_line(first: _Attempt, then: _Attempt) -> bool:
    return bool(first.file_line) and (first.file, first.file_line) == (then.file, then.file_line)


def _same_failure_again(suite: _Suite, last: _Attempt, attempt: _Attempt) -> bool:
    """``attempt`` is more of ``last``'s failure, written as another test case.

    pytest writes a test that failed and then errored in teardown as two test cases, the
    second ``<error message="failed on teardown with ...">``; jest-junit writes a test file
    that failed to run as two failed test cases (jest's text, then the error as JSON) in
    a suite that says ``tests="0"``. Neither is a rerun, nor another test.
    """
    if attempt.status is not Status.FAILED:
        return False
    if suite.repeats_are_reruns:
        return attempt.result == "error" and (attempt.message or "").startswith(
            "failed on teardown with "
        )
    return _header_count(suite.header.get("tests")) == 0


def _fold_failure(last: _Attempt, attempt: _Attempt) -> None:
    """Add ``attempt``'s failure, output and time to ``last`` (one try of one test)."""
    texts = [
        text
        for text in (last.failure_text or last.message, attempt.failure_text or attempt.message)
        if text
    ]
    last.failure_text = "\n\n".join(texts) or None
    last.message = last.message or attempt.message
    last.failure_elements += attempt.failure_elements
    last.outputs.extend(attempt.outputs)
    last.attachments.extend(attempt.attachments)
    if attempt.duration_ms is not None:
        last.duration_ms = (last.duration_ms or 0) + attempt.duration_ms


def _flush(ctx: _Context, suite: _Suite) -> Iterator[TestRecord]:
    suite.latest_slot.clear()
    while suite.pending:
        _, attempts = suite.pending.popitem(last=False)
        is_last = not suite.pending
        extra = suite.output if is_last and suite.output else None
        record = _build_record(ctx, suite, attempts, suite_output=extra)
        if extra:
            suite.output = []
        suite.emitted_any = True
        yield record


def _close_suite(ctx: _Context, suite: _Suite) -> Iterator[TestRecord]:
    yield from _flush(ctx, suite)
    _check_counts(ctx, suite)
    if (
        suite.epoch_skips
        and suite.epoch_skips == suite.case_count
        and "disabled" in suite.header  # googletest's header
        # the suite itself started (a failed global environment: every suite at the epoch)
        and not suite.header.get("timestamp", _EPOCH).startswith(_EPOCH)
    ):
        yield _suite_setup_failed_record(ctx, suite)
    if suite.case_count == 0 and suite.child_suites == 0:
        claimed = _header_int(suite.header.get("tests"))
        if claimed:
            yield _missing_cases_record(ctx, suite, claimed)
            return
    if suite.output:
        ctx.warn_once(
            f"suite-output:{suite.name}",
            f"suite {suite.name or '(unnamed)'} has output but no test case to attach it to; "
            "its output is not uploaded",
        )


def _header_count(raw: str | None) -> int | None:
    """A count attribute of a suite header; None when absent or not a whole number."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw.replace(",", "").strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() and 0 <= value < 1e12 else None


def _check_counts(ctx: _Context, suite: _Suite) -> None:
    """Note a suite whose header counts disagree with the test cases read in it.

    Producers count differently, and these shapes are benign, not warned about: tests=
    counting every rerun attempt (pytest-rerunfailures, Surefire) or only the merged
    tests; node:test counting a suite's direct children (cases and nested suites);
    failures= holding errors too; a suite that failed to load with tests="0" and its
    error written as failing test cases (jest-junit); node-tap's summary test cases
    (its counts count them); pytest counting more than it lists (a teardown error
    twice, every subtest). failures=/errors=/skipped= are checked only on suites
    without nested suites, whose meaning every producer agrees on.
    """
    if ctx.paired or not (suite.own.cases or suite.nested.cases):
        return
    header = suite.header
    own = suite.own
    total = _Counts()
    total.add(own)
    total.add(suite.nested)
    if total.merged:
        return  # reruns were merged: the header counts attempts, in its own way
    if header.get("hostname") == "tbd":
        return  # Catch2's JUnit reporter (its placeholder hostname): it counts assertions
    if _header_count(header.get("tests")) == 0 and total.failed == total.records:
        # A suite that failed to load (jest-junit, gotestsum's TestMain): its error is
        # written as failing test cases, and the totals above it do not count them.
        suite.own.load_failures = suite.own.records
        return
    said: list[str] = []
    read: list[str] = []
    tests = _header_count(header.get("tests"))
    if tests is not None:
        direct = {own.cases + suite.child_suites, own.records + suite.child_suites}
        candidates = {own.cases, own.records, own.attempts, *direct}
        candidates |= {total.cases, total.records, total.attempts}
        # Ginkgo counts the specs that ran, and lists the skipped ones too.
        candidates |= {total.records - total.skipped, own.records - own.skipped}
        candidates.add(total.records - total.load_failures)
        candidates.add(total.records - total.skipped - total.load_failures)
        # mocha writes a failed hook as a test case and leaves it out of tests=;
        # googletest, a failed global environment.
        candidates.add(total.records - total.outside_tests)
        # pytest's tests= counts its reports: a teardown error again, every subtest.
        pytest_more = suite.repeats_are_reruns and tests > total.records
        if tests not in candidates and not pytest_more:
            said.append(f"tests={tests}")
            read.append(f"{total.records} test(s)")
    if not suite.child_suites:
        failures = _header_count(header.get("failures"))
        errors = _header_count(header.get("errors"))
        if failures is not None or errors is not None:
            f, e = failures or 0, errors or 0
            if (
                f + e != own.failed
                and not (f == own.failures and e == own.errors)
                and f + e != own.failure_elements  # several <failure> in one test case
            ):
                said.append(f"failures={f}, errors={e}")
                read.append(f"{own.failed} failed")
        skipped = _header_count(header.get("skipped") or header.get("skips"))
        disabled = _header_count(header.get("disabled")) or 0
        if skipped is not None and skipped not in (
            own.skipped,
            own.skipped - own.disabled,
            own.skipped - disabled,
        ):
            said.append(f"skipped={skipped}")
            read.append(f"{own.skipped} skipped")
    if said:
        ctx.count_problems += 1
        if ctx.count_problem is None:
            name = suite.name or "(unnamed)"
            ctx.count_problem = (
                f"suite {name!r} says {', '.join(said)}, but {', '.join(read)} "
                f"were read (line {suite.line})"
            )


#: How mocha names a hook that failed: '"before all" hook for "x"', '"after each" hook…'.
_MOCHA_HOOK = ('"before all" hook', '"before each" hook', '"after all" hook', '"after each" hook')


def _is_interrupted_placeholder(attempt: _Attempt, element: etree._Element) -> bool:
    """pytest's placeholder for an interrupted session: ``<testcase time="0.000" />``.

    When a session is interrupted (Ctrl-C, exit status 2), pytest's junitxml plugin
    writes the test that was running as a test case with no name, no classname and no
    result: read as is, a Passed test named after the suite, and the run looks green.
    """
    # A bare '<testcase/>' without even a time (publish-unit-test-result-action's
    # no-attributes.xml) is some writer's nameless pass, not this placeholder.
    return (
        not attempt.name
        and not attempt.classname
        and attempt.duration_ms is not None
        and attempt.status is Status.PASSED
        and not attempt.outputs
        and not attempt.properties
    )


def _interrupted_record(ctx: _Context, suite: _Suite, attempt: _Attempt) -> TestRecord:
    return _failed_synthetic(
        ctx,
        suite,
        f"{suite.name or 'session'} (session interrupted)",
        "session interrupted",
        attempt.line,
        attempt.started_at,
        "the test session was interrupted while a test was running (a test case with no "
        "name: pytest writes one when a session ends mid-test: Ctrl-C, pytest.exit(), an "
        "internal error); the test running then and the tests after it have no result",
    )


def _failed_synthetic(
    ctx: _Context,
    suite: _Suite,
    name: str,
    reason: str,
    line: int | None,
    started_at: datetime | None,
    message: str,
    *,
    failure_text: str | None = None,
    **metadata_more: Any,
) -> TestRecord:
    """A Failed record that is no test case of the report: what the suite says (or
    shows) failed outside its test cases, named ``name``, ``metadata.reason``."""
    metadata = _base_metadata(ctx, suite)
    metadata.update({"synthetic": True, "reason": reason, **metadata_more, "report_line": line})
    ctx.records += 1
    suite.failed_any = True
    return TestRecord(
        test_name=fit_name(name, pad_with="suite"),
        status=Status.FAILED,
        source=SourceRef(ctx.source.path, ctx.source.member, line),
        started_at=started_at,
        error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
        metadata=metadata,
        failure_text=failure_text,
    )


def _paired_summary(ctx: _Context, suite: _Suite, attempt: _Attempt) -> TestRecord | None:
    """A test case named like a nested suite of the same parent that held test cases.

    node-tap's JUnit reporter writes every subtest twice: as a <testsuite> holding its
    assertions, then as a summary <testcase> of the same name in the parent suite. The
    suite's test cases are the tests; the summary is dropped, unless it failed where
    none of them did (a timeout, a throw after the assertions): then it is one
    synthetic Failed record, as for a TAP group, so that failure is not lost.
    """
    ctx.paired = True
    if attempt.status is not Status.FAILED or suite.case_suites[attempt.name]:
        return None
    record = _build_record(ctx, suite, [attempt])
    suite.own.records -= 1  # not one of the suite's tests
    suite.own.failed -= 1
    suite.own.failures -= attempt.result != "error"
    suite.own.errors -= attempt.result == "error"
    message = record.error_message or "the group's own result was a failure"
    return replace(
        record,
        error_message=clip_code_points(
            f"group failed, none of its tests did: {message}", ERROR_MESSAGE_MAX
        ),
        metadata={**record.metadata, "synthetic": True, "reason": "group failed"},
    )


def _header_int(raw: str | None) -> int:
    try:
        return int(float((raw or "0").replace(",", "")))
    except ValueError:
        return 0


def _base_metadata(ctx: _Context, suite: _Suite) -> dict[str, Any]:
    """A new dict of what every record of ``suite`` starts with (built once a suite)."""
    base = suite.base_metadata
    if base is None:
        base = {"format": "junit", "report": ctx.report}
        if suite.name:
            base["suite"] = suite.name
        if len(suite.path) > 1:
            base["suite_path"] = list(suite.path)
        if suite.hostname:
            base["hostname"] = suite.hostname
        if suite.properties:
            base["suite_properties"] = suite.properties
        suite.base_metadata = base
    metadata = base.copy()
    if "suite_path" in metadata:
        metadata["suite_path"] = list(suite.path)  # a list of its own, as before
    return metadata


def _test_name(classname: str, name: str, suite: _Suite) -> str:
    """``classname.name``, unless the name already holds the classname.

    It does when it starts with it (jest-junit writes the same full title in both), and
    when it is the enclosing suites' title followed by it: mocha-junit-reporter's
    defaults put the test's own title in ``classname`` and its full title (describe
    titles, then the test's) in ``name``, which would read ``fails.suite fails``.
    """
    if (
        not classname
        or _starts_with_word(name, classname)
        or _title_ends_with(name, classname, suite)
    ):
        full = name
    else:
        full = f"{classname}.{name}"
    return fit_name(full, pad_with=suite.name or classname or None)


def _starts_with_word(name: str, classname: str) -> bool:
    """``name`` starts with ``classname`` as a whole: ``pkg.C.test`` with ``pkg.C``, not
    ``test_flaky_once`` with ``test_flaky`` (pytest's module of that test)."""
    if not name.startswith(classname):
        return False
    after = name[len(classname) : len(classname) + 1]
    return not after or not (after.isalnum() or after == "_")


def _title_ends_with(name: str, classname: str, suite: _Suite) -> bool:
    """``name`` is '<a title ending with the suite's name> <classname>'."""
    if not suite.name or not name.endswith(" " + classname):
        return False
    head = name[: -len(classname) - 1].rstrip()
    return head.endswith(suite.name)


def _build_record(
    ctx: _Context,
    suite: _Suite,
    attempts: list[_Attempt],
    suite_output: list[TextArtifact] | None = None,
) -> TestRecord:
    final = attempts[-1]
    first = attempts[0]
    metadata = _base_metadata(ctx, suite)
    if final.classname:
        metadata["classname"] = final.classname
    metadata["name"] = final.name
    if final.file:
        metadata["file"] = final.file
    if final.file_line:
        metadata["line"] = int(final.file_line) if final.file_line.isdigit() else final.file_line
    metadata["report_line"] = first.line
    if final.attributes:
        metadata["attributes"] = final.attributes
    if final.properties:
        metadata["properties"] = final.properties
    if final.result:
        metadata["result"] = final.result
    if final.failure_type:
        metadata["failure_type"] = final.failure_type

    extra_attempts = final.extra_attempts
    total_attempts = len(attempts) + len(extra_attempts)
    failure_text = final.failure_text
    status = final.status
    message = final.message
    own = suite.own
    if total_attempts == 1:
        # One test case, one try: what nearly every record is.
        if final.time_source:
            metadata["time_source"] = final.time_source
        duration_ms = final.duration_ms
        outputs = final.outputs
        if suite_output:
            outputs = [*outputs, *suite_output]
            metadata["suite_output_attached"] = True
        attachments = final.attachments
    else:
        own.merged += 1
        metadata["attempts"] = total_attempts
        earlier_failed = any(a.status is Status.FAILED for a in attempts[:-1]) or any(
            x["kind"] in FLAKY_TAGS or x["kind"] in RERUN_TAGS for x in extra_attempts
        )
        # In a pytest report every repeat is a rerun, and pytest reruns only failures.
        earlier_failed = earlier_failed or suite.repeats_are_reruns
        metadata["flaky"] = status is Status.PASSED and earlier_failed
        outputs = []
        history = _attempt_history(attempts)
        if history:
            outputs.append(TextArtifact(label="attempts.txt", text=history))
        if status is Status.FAILED and not failure_text and extra_attempts:
            failure_text = extra_attempts[-1]["text"]
        if final.time_source:
            metadata["time_source"] = first.time_source
        durations = [a.duration_ms for a in attempts if a.duration_ms is not None]
        duration_ms = sum(durations) if durations else None
        if message is None and status is Status.FAILED and extra_attempts:
            message = extra_attempts[-1]["message"]
        # Output of the final attempt first: that is what a reader of a failure wants.
        for attempt in reversed(attempts):
            for artifact in attempt.outputs:
                label = artifact.label
                if attempt is not final:
                    label = f"attempt{attempts.index(attempt) + 1}-{label}"
                    artifact = TextArtifact(label=label, text=artifact.text)
                outputs.append(artifact)
        if suite_output:
            outputs.extend(suite_output)
            metadata["suite_output_attached"] = True
        attachments = []
        for attempt in attempts:
            attachments.extend(attempt.attachments)
    started_at = first.started_at

    ctx.records += 1
    own.records += 1
    if status is Status.FAILED:
        own.failure_elements += final.failure_elements
        own.failed += 1
        suite.failed_any = True
        if final.result == "error":
            own.errors += 1
        else:
            own.failures += 1
    elif status is Status.SKIPPED or status is Status.KNOWN_FAIL:
        own.skipped += 1
        if final.result == "status":
            own.disabled += 1
    source = ctx.source
    return TestRecord(
        _test_name(final.classname, final.name, suite),
        status,
        SourceRef(source.path, source.member, first.line),
        started_at,
        add_ms(started_at, duration_ms),
        duration_ms,
        clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
        metadata,
        failure_text,
        tuple(_sorted_outputs(outputs)) if len(outputs) > 1 else tuple(outputs),
        tuple(dict.fromkeys(attachments)) if attachments else (),
    )


def _sorted_outputs(outputs: list[TextArtifact]) -> list[TextArtifact]:
    order = {"stdout.log": 0, "stderr.log": 1}
    return sorted(outputs, key=lambda a: order.get(a.label, 2))


def _str_property(properties: dict[str, Any], key: str) -> str | None:
    value = properties.get(key)
    return value if isinstance(value, str) else None


def _attempt_history(attempts: list[_Attempt]) -> str:
    blocks = []
    for number, attempt in enumerate(attempts, 1):
        head = f"attempt {number}: {attempt.status}"
        if attempt.duration_ms is not None:
            head += f" ({attempt.duration_ms} ms)"
        blocks.append(head + (f"\n{attempt.failure_text}" if attempt.failure_text else ""))
        for extra in attempt.extra_attempts:
            blocks.append(
                f"earlier attempt ({extra['kind']}): {extra['message'] or ''}\n"
                f"{extra['text']}".rstrip()
            )
    return "\n\n".join(blocks)


def _suite_failure_record(ctx: _Context, suite: _Suite, element: etree._Element) -> TestRecord:
    tag = _local(element.tag)
    # The suite's header counts it (TAP::Formatter::JUnit: errors="1" for a script that
    # exited non-zero): a failure read, for _check_counts.
    suite.own.failed += 1
    if tag == "error":
        suite.own.errors += 1
    else:
        suite.own.failures += 1
    more: dict[str, Any] = {"result": tag}
    if element.get("type"):
        more["failure_type"] = element.get("type")
    return _failed_synthetic(
        ctx,
        suite,
        suite.name or "suite",
        f"<{tag}> outside any test case",
        element.sourceline,
        suite.timestamp or ctx.options.fallback_start,
        element.get("message") or _first_line(element.text) or "suite failed",
        failure_text=_failure_block(element),
        **more,
    )


#: googletest's timestamp of what never started
_EPOCH = "1970-01-01T00:00:00"


def _suite_setup_failed_record(ctx: _Context, suite: _Suite) -> TestRecord:
    """googletest 1.12 writes no trace of a failed SetUpTestSuite but this: the suite
    started (a real timestamp) and every one of its tests is "run", skipped, at the
    epoch. Its console says "FAILED TEST SUITE"; the tests stay Skipped, as it counts
    them, and this record is the failure."""
    suite.own.outside_tests += 1  # not in googletest's tests=
    return _failed_synthetic(
        ctx,
        suite,
        f"{suite.name or 'suite'}.SetUpTestSuite",
        "SetUpTestSuite failed",
        suite.line,
        suite.timestamp,
        "the suite's SetUpTestSuite failed: googletest ran none of its tests and wrote them "
        "as skipped (the failure's text is not in the report)",
    )


def _missing_cases_record(ctx: _Context, suite: _Suite, claimed: int) -> TestRecord:
    failures = _header_int(suite.header.get("failures"))
    errors = _header_int(suite.header.get("errors"))
    skipped = _header_int(suite.header.get("skipped") or suite.header.get("skips"))
    message = (
        f"suite header claims {claimed} tests ({failures} failures, {errors} errors, "
        f"{skipped} skipped) but the report holds no test cases"
    )
    metadata = _base_metadata(ctx, suite)
    metadata.update({"synthetic": True, "reason": "no test cases", "claimed_tests": claimed})
    ctx.records += 1
    return TestRecord(
        test_name=fit_name(suite.name or "suite", pad_with="suite"),
        status=Status.FAILED if failures or errors else Status.SKIPPED,
        source=SourceRef(ctx.source.path, ctx.source.member, None),
        started_at=suite.timestamp or ctx.options.fallback_start,
        error_message=message,
        metadata=metadata,
    )


def _truncated_record(
    ctx: _Context, suites: list[_Suite], line: int, error: InputError
) -> TestRecord:
    suite_name = suites[-1].name if suites else ""
    metadata: dict[str, Any] = {
        "format": "junit",
        "report": ctx.report,
        "synthetic": True,
        "reason": "report truncated",
        "report_line": line,
    }
    if suite_name:
        metadata["suite"] = suite_name
    ctx.records += 1
    return TestRecord(
        test_name=fit_name(f"{suite_name or ctx.report} (report truncated)"),
        status=Status.FAILED,
        source=SourceRef(ctx.source.path, ctx.source.member, line),
        error_message=clip_code_points(
            f"report truncated at line {error.line}: {error.reason}", ERROR_MESSAGE_MAX
        ),
        metadata=metadata,
    )

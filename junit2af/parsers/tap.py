"""Streaming TAP parser (TAP 12, 13 and 14, and the dialects real producers write).

tap.py (tappy) was evaluated first and is not used: it has no TAP 14 subtests (neither
the ``# Subtest:`` indented form nor node-tap's ``{ }`` buffered form), it reads a
stream into line objects without the nesting, and it would still need a second layer
for output attribution and the plan checks. The grammar is small; the rules that need
care are the dialects, which are noted where they are handled. notes/tap.md has the
mapping rules and why.

The stream is read line by line. Memory holds the test point being completed, its YAML
block (at most 1 MB), its pending output (at most ``options.max_text_bytes``, cut with a
``[truncated N bytes]`` marker) and, only for an indented subtest whose name is not known
until its parent point closes it (Perl's old headerless form), that subtest's records.
A subtest announced by ``# Subtest: name`` or node-tap's ``ok 1 - name {`` streams.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import accumulate
from typing import Any, BinaryIO

import yaml

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers.base import ParseOptions
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
        "tap",
        "TAP 12/13/14",
        "tap",
        producers="node:test, node-tap, tape, mocha, bats, Perl Test::More (prove), "
        "pytest-tap, Catch2",
    ),
)

_SNIFF_LINE = re.compile(
    rb"""^(?:(?i:tap\ version\ \d+)     # TAP 13/14 version line
          |(?:not\ )?ok\b(?![ \t]*\t)    # a test point (not `go test`: "ok  \tpkg\t0.1s")
          |\d+\.\.\d+                    # a plan
          |\#\ Subtest                    # TAP 14 subtest header
        )""",
    re.VERBOSE,
)


def sniff(head: Head) -> str | None:
    """TAP: a version line, plan, test point or subtest header in the first 50 lines."""
    if head.text.startswith((b"<", b"{", b"[")):
        return None
    return "tap" if any(_SNIFF_LINE.match(line) for line in head.lines) else None


MAX_LINE_BYTES = 10 * 1024 * 1024
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 64
#: Nodes a parsed YAML block may expand to: aliases ('*a') share one object in PyYAML,
#: so a 1 KB "billion laughs" block only explodes when copied out as JSON; stop there.
MAX_YAML_NODES = 100_000
#: A stream with no TAP line (version, plan, point, subtest, bail out) in its first 4 MB
#: is refused there, not read to its end as "output". Producers write the version or
#: plan first; Perl with done_testing() starts with its first test's output and point.
SNIFF_BYTES = 4 * 1024 * 1024
INDENT = 4  # TAP 14: a subtest is indented by four spaces
#: Deepest subtest level read as TAP (256 columns of indentation). node-tap, node:test and
#: Test::More set no limit, but real suites nest a few levels (the corpus: 3). A line
#: indented deeper is output, whatever it looks like, of the deepest level open, with one
#: warning when it looked like TAP: levels are never opened past this (each costs memory
#: and per-line work), so 9 million spaces before 'ok 1' cost what the line costs.
MAX_SUBTEST_DEPTH = 64
#: Test numbers and plans longer than this stay text: int() of a 5000-digit number raises.
MAX_DIGITS = 18

_VERSION = re.compile(r"^TAP\s+version\s+(\d+)\s*$", re.IGNORECASE)
_PLAN = re.compile(
    r"""^1\.\.(\d+)          # 1..N
        \s*(?:\#\s*(.*))?$   # optional reason, e.g. '# SKIP no database'
    """,
    re.VERBOSE,
)
_POINT = re.compile(
    r"""^(not\s+)?ok\b       # the result
        \s*(\d+)?            # optional test number
        \s*(?:-\s*)?         # optional dash before the description
        (.*?)\s*$            # description, with any directive (split off below)
    """,
    re.VERBOSE,
)
_DIRECTIVE = re.compile(
    r"""^(SKIP|TODO\b)\S*    # the directive, any case: 'SKIPPED', 'TODO:', not 'todos'
        (?:\s+(.*))?$        # its reason
    """,
    re.VERBOSE | re.IGNORECASE,
)
_TIME = re.compile(
    r"""\btime=\s*           # node-tap: 'ok 1 - name # time=12.5ms'
        ([0-9.]+)\s*         # the number
        (ms|s)?\b            # its unit (ms when absent)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PYTEST_ERROR = re.compile(
    r"""^\#\s*E\s{2,}      # pytest-tap: '# E   AssertionError: dicts differ'
        (\S.*)$             # the exception line
    """,
    re.VERBOSE,
)
_TIME_COMMENT = re.compile(r"\s*\#\s*time=\S*\s*$", re.IGNORECASE)  # off a reason
_ESCAPE = re.compile(r"\\([\\#])")
_DASHED_POINT = re.compile(r"^(?:not\s+)?ok\b\s*\d*\s*-")  # 'ok 1 - name'
_TAPE_SKIPPED_TEST = re.compile(r"^SKIP\s", re.IGNORECASE)  # tape: '# SKIP name'
_TAPE_TODO_TEST = re.compile(r"^TODO\s+", re.IGNORECASE)  # tape: '# TODO name'
_SUBTEST = re.compile(r"^#\s*Subtest(?::\s*(.*))?$", re.IGNORECASE)
_BAIL = re.compile(r"^Bail out!\s*(.*)$", re.IGNORECASE)
_PRAGMA = re.compile(r"^pragma\s+([+-]\w+)", re.IGNORECASE)


@dataclass
class TapSummary:
    """What a TAP stream said about itself, for counting against other tools.

    tap-parser and ``prove`` count the top-level points; junit2af's records are the
    leaves (a group point is not a record), so the two are different figures.
    """

    top_level: int = 0  # top-level test points
    top_level_failed: int = 0  # of them, 'not ok' without a directive
    plan: int | None = None  # the top-level plan, when there was one


class _Text:
    """Text kept up to ``limit`` UTF-8 bytes; what is cut is counted for the marker."""

    __slots__ = ("dropped", "limit", "parts", "size", "blank")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.blank = True

    @property
    def empty(self) -> bool:
        return self.size == 0 and self.dropped == 0

    def add(self, text: str) -> None:
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))
        if self.blank and text.strip():
            self.blank = False
        if self.dropped:
            self.dropped += size
            return
        if self.size + size <= self.limit:
            self.parts.append(text)
            self.size += size
            return
        head = text.encode("utf-8", "surrogateescape")[: self.limit - self.size]
        kept = head.decode("utf-8", "ignore")  # never half a character
        self.parts.append(kept)
        kept_size = len(kept.encode("utf-8", "surrogateescape"))
        self.size += kept_size
        self.dropped += size - kept_size

    def extend(self, other: _Text) -> None:
        for part in other.parts:
            self.add(part)
        self.dropped += other.dropped
        self.blank = self.blank and other.blank

    def text(self) -> str:
        body = "".join(self.parts)
        if self.dropped:
            body += f"\n[truncated {self.dropped} bytes]\n"
        return body


@dataclass
class _Point:
    """A test point read, waiting for its YAML block, diagnostics and children."""

    ok: bool
    number: str | None  # digits as written: a number can be longer than int() accepts
    description: str
    directive: str | None
    reason: str | None
    line: int
    depth: int
    ordinal: int  # its place among its level's points: the name when it has none
    output: _Text
    duration_ms: int | None = None
    yaml: _Text | None = None
    diagnostics: _Text | None = None
    #: the error line of the diagnostics, when they have one (pytest's 'E   ', mocha's)
    error_line: str | None = None
    #: records of an indented subtest whose name was unknown while it was read
    children: list[TestRecord] = field(default_factory=list)
    subtests: int = 0  # points of its subtest, streamed or not
    subtest_ms: int = 0  # their durations, the parent's when it has none of its own
    buffered: bool = False  # node-tap's 'ok 1 - name {' form: children follow
    #: a Failed record came out of its subtest (at any depth)
    child_failed: bool = False
    #: its subtest's plan was not met: 'N tests planned but only M ran'
    plan_problem: str | None = None
    #: its subtest was '1..0 # SKIP why' (Test::More's skip_all in a subtest)
    skip_all: str | None = None
    #: what its subtest printed after its last point (Test::More's '# Looks like...')
    trailing: _Text | None = None
    #: tape: the test (a '# name' comment) this assertion belongs to
    group: str | None = None


@dataclass
class _Level:
    """One nesting level: the subtest (or the whole stream) being read."""

    depth: int
    pending_output: _Text
    start_ms: int = 0  # offset of the level's first test from the stream's start
    elapsed_ms: int = 0  # durations of its test points emitted so far
    name: str | None = None  # from '# Subtest: name' or 'ok 1 - name {'
    plan: int | None = None
    plan_text: str | None = None
    plan_reason: str | None = None
    count: int = 0
    last: _Point | None = None  # emitted when the next point (or the end) comes
    records: list[TestRecord] = field(default_factory=list)  # named when the parent closes
    failed_points: int = 0  # its own points that are 'not ok' without a directive
    failed: bool = False  # a Failed record came out of it (at any depth)
    in_yaml: bool = False
    yaml_indent: int = 0
    yaml_quoted: bool = False  # inside a double-quoted YAML string spanning lines


class _Parser:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.report = source.display()
        self.stem = self.report.rsplit("/", 1)[-1]
        self.version = 12
        self.levels: list[_Level] = [_Level(depth=0, pending_output=self._text())]
        self.bailed: str | None = None
        self.saw_tap = False
        self.open_buffered: list[_Point] = []  # node-tap '{' parents
        self.yaml_refused = 0  # YAML blocks kept as text because they may be hostile
        self.yielded = 0  # records given out (or held for a parent to name)
        # tape's dialect: a test is only a '# name' comment before its (flat) assertions.
        # None until the first point says whether the stream is tape's (see _group_start).
        self.tape: bool | None = None
        self.group_run: list[str] = []  # comments right after a point: a test's name
        self.group_open = True  # no output since the last point (or the start)
        self.group: str | None = None  # the name of the tape test being read
        self.summary = TapSummary()
        self.expect_yaml: tuple[_Level, _Point] | None = None
        self.too_deep = False  # a TAP line past MAX_SUBTEST_DEPTH was warned about
        #: output after the last point of a stream that ended inside a subtest
        self.leftover: _Text | None = None

    def _text(self) -> _Text:
        return _Text(self.options.max_text_bytes)

    # -- lines -------------------------------------------------------------------------

    def feed(self, raw: str, number: int) -> Iterator[TestRecord]:
        expanded = raw.replace("\t", " " * INDENT) if "\t" in raw else raw
        stripped = expanded.lstrip(" ")
        indent = len(expanded) - len(stripped)
        if self.expect_yaml is not None:
            # A YAML block must follow its point directly: '---' indented under it.
            level, point = self.expect_yaml
            self.expect_yaml = None
            if stripped.rstrip() == "---" and level.last is point:
                level.in_yaml = True
                level.yaml_quoted = False
                level.yaml_indent = indent
                point.yaml = _Text(min(MAX_YAML_BYTES, self.options.max_text_bytes))
                point.yaml.add("---\n")
                return
        in_yaml = self._level_in_yaml()
        if in_yaml is not None:
            if stripped.strip() and indent < in_yaml.yaml_indent and not in_yaml.yaml_quoted:
                in_yaml.in_yaml = False  # de-indented: the block ended without '...'
            else:
                self._yaml_line(in_yaml, expanded, stripped, indent)
                return
        text = stripped.rstrip()
        depth = indent // INDENT
        if self.open_buffered and text == "}":
            yield from self._close_buffered()
            return
        if not text:
            self._output(depth, indent, raw)
            return
        if depth > MAX_SUBTEST_DEPTH:
            if not self.too_deep and (
                _POINT.match(text) or _PLAN.match(text) or _SUBTEST.match(text)
            ):
                self.too_deep = True
                self.options.warn(
                    f"{self.report}:{number}: a TAP line indented {indent} columns (deeper "
                    f"than {MAX_SUBTEST_DEPTH} subtest levels) is kept as output, not read "
                    "as TAP; the first is named here"
                )
            self._output(depth, indent, raw)
            return
        if depth == 0 and not self.saw_tap and (match := _VERSION.match(text)):
            self.version = int(match.group(1)[:MAX_DIGITS])
            self.saw_tap = True
            return
        if indent % INDENT and (_POINT.match(text) or _PLAN.match(text)):
            # Not on a subtest's four-space grid: somebody's output that looks like TAP.
            self._output(depth, indent, raw)
            return
        if match := _POINT.match(text):
            self.saw_tap = True
            self._group_start(depth, text)
            yield from self._point(match, depth, number)
            return
        if self.tape is None and self.group_run:
            self.tape = False  # a plan or subtest before the first point: not tape
            self._flush_group_run()
        if match := _PLAN.match(text):
            self.saw_tap = True
            yield from self._open(depth)
            level = self.levels[depth]
            level.plan_text = match.group(1)
            planned = _int(match.group(1))
            level.plan = 10**MAX_DIGITS if planned is None else planned  # never met
            level.plan_reason = (match.group(2) or "").strip() or None
            return
        if match := _SUBTEST.match(text):
            # node-tap, node:test and Test::More write the header at the parent's
            # indentation, before the indented block it names.
            self.saw_tap = True
            yield from self._close_deeper(depth)
            yield from self._open(depth + 1)
            self.levels[depth + 1].name = (match.group(1) or "").strip() or None
            return
        if match := _BAIL.match(text):
            self.saw_tap = True
            self.bailed = match.group(1).strip() or "no reason given"
            return
        if _PRAGMA.match(text) or _VERSION.match(text):
            return  # pragmas (+strict) are not enforced: see notes/tap.md
        self._output(depth, indent, raw)

    def _level_in_yaml(self) -> _Level | None:
        for level in reversed(self.levels):
            if level.in_yaml:
                return level
        return None

    def _yaml_line(self, level: _Level, expanded: str, stripped: str, indent: int) -> None:
        if stripped.rstrip() == "..." and indent <= level.yaml_indent + 2:
            level.in_yaml = False
            return
        point = level.last
        if point is not None and point.yaml is not None:
            # vitest's TAP writes multi-line double-quoted strings ('actual: "Object {')
            # whose next lines start in column 0: inside an open string a de-indented
            # line is the string's, not the end of the block.
            if _open_quotes(stripped) % 2:
                level.yaml_quoted = not level.yaml_quoted
            point.yaml.add(
                expanded[level.yaml_indent :] if indent >= level.yaml_indent else stripped
            )

    def _group_start(self, depth: int, text: str) -> None:
        """Before a point: the tape test it belongs to, from the comments before it.

        tape writes a test as a '# name' comment and then its assertions, flat and
        numbered across the run (subtests too: '# parent' then '# child'). The stream is
        taken as tape's when its first point, at top level, follows a comment, comes
        after 'TAP version 13' and before any plan, and has no ' - ' before its
        description (tape writes 'ok 1 one plus one'). Then the last comment of the run
        right after the previous point names the test (the innermost, for a subtest),
        and the assertions are named 'test > assertion', so one assertion text in two
        tests gets two names. tape's '# SKIP name' (a skipped test, with no assertion)
        names nothing; '# TODO name' names 'name'. A comment after output in a test
        (t.comment after console.log) stays output.
        """
        if depth != 0 or len(self.levels) != 1 or self.open_buffered:
            return
        if self.tape is None:
            self.tape = (
                bool(self.group_run)
                and self.version == 13
                and self.levels[0].plan is None
                and not _DASHED_POINT.match(text)
            )
            if not self.tape:
                self._flush_group_run()
        if self.tape:
            self._take_group_run()
            self.group_open = True

    def _take_group_run(self) -> None:
        """The held comments name the tape test that starts (see _group_start)."""
        names = [line[1:].strip() for line in self.group_run]
        names = [n for n in names if n and not _TAPE_SKIPPED_TEST.match(n)]
        if names:
            self.group = _TAPE_TODO_TEST.sub("", names[-1]) or names[-1]
        elif self.group_run:
            self.group = None  # only skipped tests since the last point
        self.group_run = []

    def _flush_group_run(self) -> None:
        """The held comments were output after all (or the dialect is not tape's): they
        go before what was printed after them."""
        if not self.group_run:
            return
        run, self.group_run = self.group_run, []
        top = self.levels[0]
        after, top.pending_output = top.pending_output, self._text()
        for raw in run:
            self._output(0, 0, raw, grouping=False)
        top.pending_output.extend(after)

    def _output(self, depth: int, indent: int, raw: str, grouping: bool = True) -> None:
        if grouping and self.tape is not False and depth == 0 and len(self.levels) == 1:
            line = raw.strip()
            if line.startswith("#") and self.group_open and not _SUBTEST.match(line):
                self.group_run.append(raw)
                return
            if line:
                # Output after the name: the test printing (console.log). Comments after
                # it are its output, not a new name.
                if self.tape and self.group_run:
                    self._take_group_run()
                self.group_open = False
        level = self.levels[min(depth, len(self.levels) - 1)]
        last = level.last
        line = raw.strip()
        # What follows a 'not ok' directly is its diagnostics: Test::More's, bats' and
        # pytest-tap's '#' comments, mocha's indented error and stack. An unindented
        # line that is not a comment is some test's output: it ends them.
        if (
            last is not None
            and not last.ok
            and level.pending_output.empty
            and (not line or line.startswith("#") or indent > level.depth * INDENT)
        ):
            if last.diagnostics is None:
                last.diagnostics = self._text()
            last.diagnostics.add(line + "\n")
            if last.error_line is None and line:
                if match := _PYTEST_ERROR.match(line):
                    last.error_line = match.group(1)
                elif not line.startswith("#"):
                    last.error_line = line
            return
        level.pending_output.add(raw)

    def _open(self, depth: int) -> Iterator[TestRecord]:
        """Make sure levels down to ``depth`` exist.

        A new subtest level ends its parent level's pending point (nothing indented can
        add to it), so that the subtest's clock starts after it.
        """
        while len(self.levels) <= depth:
            parent = self.levels[-1]
            if parent.last is not None:
                yield from self._emit(parent, parent.last)
                parent.last = None
            # What was printed before a subtest started is its first test's output, not
            # the output of the group point that closes it (node-tap prints console.log
            # lines of a subtest before its '# Subtest:' header).
            self.levels.append(
                _Level(
                    depth=len(self.levels),
                    pending_output=parent.pending_output,
                    start_ms=parent.start_ms + parent.elapsed_ms,
                )
            )
            parent.pending_output = self._text()

    # -- test points -------------------------------------------------------------------

    def _point(self, match: re.Match[str], depth: int, number: int) -> Iterator[TestRecord]:
        # node-tap closes a buffered subtest ('ok 1 - name {') with '}' at its parent's
        # indentation before the next point there: one left open is closed here, so that
        # the open ones nest (never more than MAX_SUBTEST_DEPTH + 1 of them).
        while self.open_buffered and self.open_buffered[-1].depth >= depth:
            yield from self._close_buffered()
        yield from self._close_deeper(depth)
        yield from self._open(depth)
        level = self.levels[depth]
        if level.last is not None:
            yield from self._emit(level, level.last)
            level.last = None
        rest = match.group(3)
        # node-tap's buffered subtest: 'ok 2 - name # time=2ms {' then its children, '}'.
        buffered = rest.endswith("{")
        if buffered:
            rest = rest[:-1].rstrip()
        description, directive, reason, duration = _split_description(rest)
        point = _Point(
            ok=match.group(1) is None,
            number=match.group(2),
            description=description,
            directive=directive,
            reason=reason,
            line=number,
            depth=depth,
            ordinal=level.count + 1,
            output=level.pending_output,
            duration_ms=duration,
            buffered=buffered,
        )
        level.pending_output = self._text()
        if self.tape and depth == 0 and len(self.levels) == 1:
            point.group = self.group
        level.count += 1
        if not point.ok and point.directive is None:
            level.failed_points += 1
        if len(self.levels) > depth + 1:
            child = self.levels[depth + 1]
            if child.count == 0 and not child.pending_output.empty:
                # A subtest without points: what it printed (and what was printed
                # before its '# Subtest:' header) is this test's output.
                child.pending_output.extend(point.output)
                point.output = child.pending_output
                child.pending_output = self._text()
            self._adopt(point, child)
            # Test2 names a streamed subtest's point 'Subtest: name'.
            if child.name and point.description in ("", f"Subtest: {child.name}"):
                point.description = child.name
            del self.levels[depth + 1 :]
        if buffered:
            self.open_buffered.append(point)
            yield from self._open(depth + 1)
            child = self.levels[depth + 1]
            child.name = point.description or None
            child.pending_output, point.output = point.output, child.pending_output
        else:
            level.last = point
            self.expect_yaml = (level, point)

    @staticmethod
    def _adopt(point: _Point, child: _Level) -> None:
        point.children = child.records
        point.subtests = child.count
        point.subtest_ms = child.elapsed_ms
        point.child_failed = child.failed
        if child.last is None and not child.pending_output.blank:
            point.trailing = child.pending_output
        if child.plan == 0 and child.count == 0:
            reason = child.plan_reason or ""
            if match := _DIRECTIVE.match(reason):
                point.skip_all = (match.group(2) or "").strip() or "skipped"
        elif child.plan is not None and child.count != child.plan:
            point.plan_problem = (
                f"{child.plan_text} tests planned but {child.count} ran"
                if child.count > child.plan
                else f"{child.plan_text} tests planned but only {child.count} ran"
            )

    def _close_deeper(self, depth: int) -> Iterator[TestRecord]:
        """A line at ``depth`` ends any deeper subtest still open (its last point)."""
        for level in reversed(self.levels[depth + 1 :]):
            if level.last is not None:
                yield from self._emit(level, level.last)
                level.last = None

    def _close_buffered(self) -> Iterator[TestRecord]:
        parent = self.open_buffered.pop()
        depth = parent.depth
        yield from self._close_deeper(depth)
        if len(self.levels) > depth + 1:
            self._adopt(parent, self.levels[depth + 1])
            del self.levels[depth + 1 :]
        self.levels[depth].last = parent

    def _prefix(self, depth: int) -> str | None:
        """'outer > inner > ' for a record at ``depth``, when every level has a name."""
        names = [level.name for level in self.levels[1 : depth + 1]]
        if len(names) < depth or None in names:
            return None
        return "".join(f"{name} > " for name in names)

    def _emit(self, level: _Level, point: _Point) -> Iterator[TestRecord]:
        """The records of a finished point: itself when it is a test, else its group's.

        A point whose subtest held points is a group (a describe block, a ``t.test`` with
        assertions, a Test::More ``subtest``): every producer writes one after its
        children, and its result only summarises theirs. Its leaves are the tests, so
        that the records count what the framework counts. The group gives a record of its
        own only when its result says something its children do not (see _group_record).
        """
        prefix = self._prefix(point.depth)
        full_prefix = (prefix or "") + (f"{point.group} > " if point.group else "")
        name = full_prefix + _local_name(point)
        # Children whose subtest had no name while they were read are named now.
        records = [_renamed(child, name) for child in point.children]
        own = (
            self._group_record(level, point, name, full_prefix)
            if point.subtests
            else self._record(level, point, name, full_prefix)
        )
        if own is not None:
            records.append(own)
        self.yielded += len(records) - len(point.children)
        if point.child_failed or (own is not None and own.status is Status.FAILED):
            level.failed = True
        if prefix is not None:
            yield from records
        else:
            level.records.extend(records)

    def _diagnostics(self, point: _Point) -> tuple[Any, str]:
        """The point's YAML block, parsed when it is safe to; a warning when it is not."""

        def refused(why: str) -> None:
            self.yaml_refused += 1
            if self.yaml_refused == 1:
                self.options.warn(
                    f"{self.report}:{point.line}: YAML diagnostics kept as text, not parsed: {why}"
                )

        return _yaml(point.yaml, refused)

    def _clock(self, level: _Level, point: _Point, duration: int | None) -> datetime | None:
        """When ``point`` started; moves its level's clock past it."""
        # TAP has no timestamps: a test starts when the tests before it have ended,
        # counted from the report's mtime. Sequential by assumption; node:test's
        # concurrency, if any, is not in the stream.
        offset = level.start_ms + level.elapsed_ms
        level.elapsed_ms += duration if duration is not None else point.subtest_ms
        return add_ms(self.options.fallback_start, offset)

    def _group_record(
        self, level: _Level, point: _Point, name: str, prefix: str
    ) -> TestRecord | None:
        """A group's own failure, when none of its tests failed; else nothing.

        node:test fails a describe whose after() hook threw, or a test whose own body
        threw after its subtests passed; Test::More fails a subtest whose plan was not
        met; node-tap a subtest that timed out. Those failures are in no leaf, so they
        become one synthetic Failed record named after the group. A node:test hook that
        threw (``failureType: 'hookFailed'``) gives one even when tests of the group
        failed: a before() hook's error is in no test (they say only 'cancelled'), nor an
        after() hook's beside a test that failed on its own.
        """
        diagnostics, yaml_text = self._diagnostics(point)
        duration = point.duration_ms
        if duration is None and isinstance(diagnostics, dict):
            duration = _duration_ms(diagnostics.get("duration_ms"))
        started_at = self._clock(level, point, duration)
        failure_type = diagnostics.get("failureType") if isinstance(diagnostics, dict) else None
        # node:test fails a describe whose before() hook threw and cancels its tests: they
        # fail saying only 'cancelled', and the hook's error is on the group alone, so a
        # failed hook keeps its record even when its tests failed too.
        hook_failed = failure_type == "hookFailed"
        if point.ok or point.directive is not None or (point.child_failed and not hook_failed):
            return None
        detail = (
            _yaml_message(diagnostics)
            or point.plan_problem
            or point.error_line
            or "the group's own result was 'not ok'"
        )
        if point.child_failed:
            message = f"a hook of the group failed: {detail}"
        else:
            message = f"group failed, none of its {point.subtests} test(s) did: {detail}"
        metadata: dict[str, Any] = {
            "format": "tap",
            "report": self.report,
            "name": name,
            "synthetic": True,
            "reason": "group failed",
            "tap_version": self.version,
            "tap_depth": point.depth,
            "line": point.line,
            "subtests": point.subtests,
        }
        if prefix:
            metadata["parent"] = prefix[:-3]
        if point.number is not None:
            value = _int(point.number)
            metadata["tap_number"] = point.number if value is None else value
        if isinstance(failure_type, str):
            metadata["failure_type"] = failure_type  # node:test: hookFailed, ...
        if started_at is not None:
            metadata["time_source"] = "file_mtime"
        parts = [yaml_text]
        for extra in (point.diagnostics, point.trailing):
            if extra is not None:
                parts.append(extra.text().removesuffix("\n"))
        outputs: tuple[TextArtifact, ...] = ()
        if not point.output.blank:
            outputs = (
                TextArtifact(
                    "stdout.log", point.output.text(), truncated_bytes=point.output.dropped
                ),
            )
        return TestRecord(
            test_name=fit_name(name, pad_with=self.stem),
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member, point.line),
            started_at=started_at,
            finished_at=add_ms(started_at, duration),
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
            metadata=metadata,
            failure_text="\n".join(p for p in parts if p) or None,
            outputs=outputs,
        )

    # -- records -----------------------------------------------------------------------

    def _record(self, level: _Level, point: _Point, name: str, prefix: str) -> TestRecord:
        reason = point.reason
        if point.directive == "SKIP":
            status = Status.SKIPPED
        elif point.skip_all is not None and point.directive is None:
            # '1..0 # SKIP why' in its subtest: the test was skipped, whatever the
            # point says (Test::More's parent line is then 'ok 9 # skip why').
            status = Status.SKIPPED
            reason = point.skip_all
        elif point.directive == "TODO":
            status = Status.KNOWN_FAIL
        else:
            status = Status.PASSED if point.ok else Status.FAILED
        metadata: dict[str, Any] = {
            "format": "tap",
            "report": self.report,
            "name": name,
            "tap_version": self.version,
            "tap_depth": point.depth,
            "line": point.line,
        }
        if prefix:
            metadata["parent"] = prefix[:-3]
        if point.number is not None:
            value = _int(point.number)
            metadata["tap_number"] = point.number if value is None else value
        if point.directive:
            metadata["directive"] = point.directive.lower()
            if point.reason:
                metadata["directive_reason"] = point.reason
        elif point.skip_all is not None:
            metadata["directive"] = "skip"
            metadata["directive_reason"] = point.skip_all
        if point.directive == "TODO":
            metadata["todo_passed"] = point.ok
        diagnostics, yaml_text = self._diagnostics(point)
        if diagnostics is not None:
            metadata["yaml"] = diagnostics
        duration = point.duration_ms
        if duration is None and isinstance(diagnostics, dict):
            duration = _duration_ms(diagnostics.get("duration_ms"))
        message = None
        failure_text = None
        if status is Status.FAILED or (status is Status.KNOWN_FAIL and not point.ok):
            message = (
                _yaml_message(diagnostics)
                or point.error_line
                or point.reason
                or point.description
                or None
            )
            diagnostic_text = point.diagnostics.text() if point.diagnostics else ""
            parts = [p for p in (yaml_text, diagnostic_text.removesuffix("\n")) if p]
            failure_text = "\n".join(parts) or None
        elif status is Status.KNOWN_FAIL or status is Status.SKIPPED:
            message = reason
        outputs: tuple[TextArtifact, ...] = ()
        if not point.output.blank:
            outputs = (
                TextArtifact(
                    "stdout.log", point.output.text(), truncated_bytes=point.output.dropped
                ),
            )
        started_at = self._clock(level, point, duration)
        if started_at is not None:
            metadata["time_source"] = "file_mtime"
        return TestRecord(
            test_name=fit_name(name, pad_with=self.stem),
            status=status,
            source=SourceRef(self.source.path, self.source.member, point.line),
            started_at=started_at,
            finished_at=add_ms(started_at, duration),
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=failure_text,
            outputs=outputs,
        )

    def check_tap(self, lines: int) -> None:
        """Refuse a stream that held nothing, or nothing of TAP."""
        if lines == 0:
            raise InputError(self.report, "empty file: no TAP in it, nothing to upload")
        if not self.saw_tap:
            raise InputError(
                self.report, "not a TAP stream (no plan, test point or version)", line=lines
            )

    def finish(self) -> Iterator[TestRecord]:
        self._flush_group_run()  # tape's closing '# tests 11' and '# pass 8': output
        while self.open_buffered:
            yield from self._close_buffered()
        yield from self._close_deeper(0)
        top = self.levels[0]
        if top.last is not None:
            top.last.output.extend(top.pending_output)  # trailing output: the last test's
            top.pending_output = self._text()
            yield from self._emit(top, top.last)
            top.last = None
        # What was printed after the last point of a stream cut inside a subtest (a
        # process that crashed mid-subtest) goes to the synthetic record saying so.
        leftover = self._text()
        for level in self.levels[1:]:
            yield from level.records  # an unfinished subtest: keep what it had
            leftover.extend(level.pending_output)
        leftover.extend(top.pending_output)
        self.leftover = None if leftover.blank else leftover
        # The stream stopped inside a subtest: say which, for the record of the cut.
        inside = ""
        if len(self.levels) > 1:
            names = [level.name or "?" for level in self.levels[1:]]
            inside = f", inside the subtest '{' > '.join(names)}'"
        self.summary.top_level = top.count
        self.summary.top_level_failed = top.failed_points
        self.summary.plan = top.plan
        if self.yaml_refused > 1:
            self.options.warn(
                f"{self.report}: {self.yaml_refused} YAML diagnostic blocks kept as text, "
                "not parsed (the first is named above)"
            )
        if self.bailed is not None:
            yield self._synthetic(f"Bail out! {self.bailed}", Status.FAILED, "bail out")
        planned = top.plan
        if planned is None and self.bailed is None:
            yield self._synthetic(
                f"the TAP stream ended without a plan after {top.count} test(s){inside}; "
                "it may have been cut short",
                Status.FAILED,
                "no plan",
            )
        elif planned == 0 and top.count == 0:
            reason = top.plan_reason or "no reason given"
            yield self._synthetic(f"all tests skipped: {reason}", Status.SKIPPED, "skip all")
        elif planned is not None and top.count < planned and self.bailed is None:
            self.options.warn(
                f"{self.report}: the plan says {top.plan_text} tests, {top.count} "
                "top-level test point(s) were read"
            )
            yield self._synthetic(
                f"{top.plan_text} tests planned but only {top.count} ran{inside}",
                Status.FAILED,
                "missing tests",
            )
        elif planned is not None and top.count > planned:
            self.options.warn(
                f"{self.report}: the plan says {top.plan_text} tests, {top.count} "
                "top-level test point(s) were read"
            )
            yield self._synthetic(
                f"{top.count} tests ran but the plan promised {top.plan_text}",
                Status.FAILED,
                "plan exceeded",
            )

    def _synthetic(self, message: str, status: Status, reason: str) -> TestRecord:
        self.yielded += 1
        outputs: tuple[TextArtifact, ...] = ()
        if self.leftover is not None and status is Status.FAILED:
            output, self.leftover = self.leftover, None
            outputs = (TextArtifact("stdout.log", output.text(), truncated_bytes=output.dropped),)
        top = self.levels[0]
        metadata: dict[str, Any] = {
            "format": "tap",
            "report": self.report,
            "synthetic": True,
            "reason": reason,
            "tap_depth": 0,
            "tap_version": self.version,
        }
        started_at = add_ms(self.options.fallback_start, top.start_ms + top.elapsed_ms)
        if started_at is not None:
            metadata["time_source"] = "file_mtime"
        return TestRecord(
            test_name=fit_name(f"{self.stem} ({reason})"),
            status=status,
            source=SourceRef(self.source.path, self.source.member, None),
            started_at=started_at,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
            metadata=metadata,
            outputs=outputs,
        )


def _open_quotes(line: str) -> int:
    """Unescaped double quotes in a YAML line outside single-quoted text (a cheap count)."""
    if '"' not in line:
        return 0
    count = 0
    escaped = in_single = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\" and not in_single:
            escaped = True
        elif char == "'" and not count % 2:
            in_single = not in_single
        elif char == '"' and not in_single:
            count += 1
    return count


def _local_name(point: _Point) -> str:
    """A point's own name: its description, else ``test N`` (its number or place)."""
    return point.description or f"test {point.number or point.ordinal}"


def _renamed(record: TestRecord, parent_name: str) -> TestRecord:
    """``record`` of a subtest that had no name, now under ``parent_name``."""
    inner_parent = record.metadata.get("parent")
    name = f"{parent_name} > {record.metadata['name']}"
    return replace(
        record,
        test_name=fit_name(name),
        metadata={
            **record.metadata,
            "name": name,
            "parent": f"{parent_name} > {inner_parent}" if inner_parent else parent_name,
        },
    )


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_base_resolve = _BaseLoader.resolve
#: The tag of a plain scalar, by its text: the safe loader's implicit resolvers are fixed
#: regular expressions, so a text always resolves to the same tag. Short texts only, and
#: a bounded number (a hostile stream of distinct values stops filling it).
_scalar_tags: dict[str, str] = {}
_SCALAR_TAGS_MAX = 4096


class _SafeLoader(_BaseLoader):
    """PyYAML's safe loader (the C one when built): no Python objects, ever.

    Its composer asks the resolver, in Python, about every node (most of a TAP
    diagnostics block's cost): a plain scalar's tag is remembered by its text, and the
    path resolvers, which the safe loader has none of, are not consulted.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= 64:
            tag = _scalar_tags.get(value)
            if tag is None:
                tag = _base_resolve(self, kind, value, implicit)
                if len(_scalar_tags) < _SCALAR_TAGS_MAX:
                    _scalar_tags[value] = tag
            return tag
        return _base_resolve(self, kind, value, implicit)

    if not _BaseLoader.yaml_path_resolvers:  # always so for the safe loader

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None


class _Unfit(Exception):
    """A parsed YAML value too large or too deep to copy out as JSON."""


def _yaml(block: _Text | None, refused: Callable[[str], None]) -> tuple[Any, str]:
    """The parsed diagnostics (None when not parsed) and the block's text.

    ``refused`` hears why a block that may be hostile was kept as text (too big, too
    deep, or expanding past :data:`MAX_YAML_NODES` through aliases); invalid YAML is
    ordinary (tap-parser's fixtures have 'garbage YAML') and kept as text silently.
    """
    if block is None:
        return None, ""
    text = block.text()
    body = text.split("\n", 1)[1] if "\n" in text else ""
    if block.dropped:
        refused(f"over {MAX_YAML_BYTES} bytes")
        return None, text
    if _nesting(body) > MAX_YAML_DEPTH:
        refused(f"nested deeper than {MAX_YAML_DEPTH} levels")
        return None, text
    loader = _SafeLoader(body)
    try:
        # Compose first: PyYAML's node graph shares an aliased node, so composing costs
        # what the text costs. Its size with every alias expanded is counted on that
        # graph, and a block past the budget is never constructed: merge keys
        # ('<<: [*a, *a]') copy pairs while constructing (PyYAML < 6.0.3 copies every
        # one), and copying the result out as JSON expands plain aliases.
        node = loader.get_single_node()
        if node is None:
            return None, text
        tree = _tree_size(node)
        size = min(MAX_YAML_NODES + 1, tree) if tree is not None else None
        if size is None:
            size = _shared_expanded_size(node, MAX_YAML_NODES)
        if size > MAX_YAML_NODES:
            refused(
                f"its aliases expand to more than {MAX_YAML_NODES} nodes"
                if size != _CYCLE
                else "an alias refers to a node that holds it"
            )
            return None, text
        if tree is not None:
            plain = _plain_json(node, loader)
            if plain is not _NOT_PLAIN:
                return plain, text
        loaded = loader.construct_document(node)
        return _json_safe(loaded, [MAX_YAML_NODES], 0), text
    # Invalid YAML is tolerated (the text is kept). ValueError: int() of a 5000-digit
    # scalar; RecursionError: nesting the cheap depth check did not see. KeyError and
    # AttributeError: PyYAML's constructors on a scalar whose explicit tag does not fit
    # it ('!!bool maybe', '!!timestamp abc').
    except (yaml.YAMLError, ValueError, RecursionError, KeyError, AttributeError, _Unfit):
        return None, text
    finally:
        loader.dispose()


#: What _expanded_size gives for a node that contains itself through an alias.
_CYCLE = 1 << 62


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` has with every alias copied out (at most ``limit`` + 1).

    A tree (no node reached twice: no alias, which is every block but a hostile one) is
    simply counted; otherwise each distinct node is counted once (memoised), so the cost
    is the composed graph's, not the expansion's: a 612-byte "billion laughs" block is
    counted in microseconds.
    """
    size = _tree_size(root)
    return min(limit + 1, size) if size is not None else _shared_expanded_size(root, limit)


def _tree_size(root: yaml.Node) -> int | None:
    """The number of nodes of ``root`` when no node is reached twice, else None."""
    seen: set[int] = set()
    stack = [root]
    mapping, sequence = yaml.MappingNode, yaml.SequenceNode
    while stack:
        node = stack.pop()
        key = id(node)
        if key in seen:
            return None
        seen.add(key)
        if isinstance(node, mapping):
            for pair in node.value:
                stack.extend(pair)
        elif isinstance(node, sequence):
            stack.extend(node.value)
    return len(seen)


#: _plain_json found a node it leaves to PyYAML's constructor.
_NOT_PLAIN: Any = object()
_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALARS = frozenset(f"{_YAML_TAG}{name}" for name in ("str", "int", "float", "bool", "null"))
_INFINITIES = (float("inf"), float("-inf"))


def _plain_json(root: yaml.Node, loader: Any) -> Any:
    """``_json_safe(loader.construct_document(root))`` built in one walk, without
    PyYAML's generic machinery, for a tree of plain nodes (strings, numbers, booleans,
    nulls, mappings with scalar keys and no merge keys, sequences) no deeper than
    _json_safe takes; :data:`_NOT_PLAIN` for anything else, which then takes the long
    way. Scalars other than strings are built by the loader's own constructors, so
    their rules (YAML 1.1 booleans, octal and sexagesimal numbers) are PyYAML's; when
    one of them refuses a scalar, the long way runs, to fail as it fails.
    """
    by_tag = {
        f"{_YAML_TAG}int": loader.construct_yaml_int,
        f"{_YAML_TAG}float": loader.construct_yaml_float,
        f"{_YAML_TAG}bool": loader.construct_yaml_bool,
        f"{_YAML_TAG}null": loader.construct_yaml_null,
    }
    str_tag, map_tag, seq_tag = f"{_YAML_TAG}str", f"{_YAML_TAG}map", f"{_YAML_TAG}seq"
    scalar_node, mapping_node, sequence_node = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode

    def build(node: yaml.Node, depth: int) -> Any:
        if depth > MAX_YAML_DEPTH:
            raise _Unplain  # _json_safe decides, on what survives duplicate keys
        cls = node.__class__
        if cls is scalar_node:
            tag = node.tag
            if tag == str_tag:
                return node.value
            value = by_tag[tag](node)  # KeyError for other tags: the long way
            if value.__class__ is float and (value != value or value in _INFINITIES):
                return str(value)  # as _json_safe: NaN and infinities are not JSON
            return value
        if cls is mapping_node and node.tag == map_tag:
            mapping: dict[Any, Any] = {}
            plain_keys = True
            for key_node, value_node in node.value:
                # Merge ('<<') and value ('=') keys are rewritten by PyYAML first.
                if key_node.__class__ is not scalar_node or key_node.tag not in _PLAIN_SCALARS:
                    raise _Unplain
                key = build(key_node, depth)
                plain_keys = plain_keys and key.__class__ is str
                mapping[key] = build(value_node, depth + 1)
            return mapping if plain_keys else {str(k): v for k, v in mapping.items()}
        if cls is sequence_node and node.tag == seq_tag:
            return [build(item, depth + 1) for item in node.value]
        raise _Unplain

    try:
        return build(root, 0)
    except Exception:  # _Unplain, or a scalar PyYAML refuses
        return _NOT_PLAIN


class _Unplain(Exception):
    """Raised inside _plain_json: a node it does not build."""


def _shared_expanded_size(root: yaml.Node, limit: int) -> int:
    """:func:`_expanded_size` of a graph whose nodes may be reached more than once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(child)] for child in children))
            continue
        if key in sizes:
            continue
        if key in on_path:
            return _CYCLE
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


#: Every byte but brackets (deleted to keep only brackets), and what each bracket adds to
#: the nesting. Brackets are ASCII: in UTF-8 no other character's bytes look like one.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_DELTA = [0] * 256
_BRACKET_DELTA[ord("[")] = _BRACKET_DELTA[ord("{")] = 1
_BRACKET_DELTA[ord("]")] = _BRACKET_DELTA[ord("}")] = -1


def _nesting(text: str) -> int:
    """A cheap upper bound of YAML nesting: brackets and indentation."""
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    deepest = max(0, max(accumulate(map(_BRACKET_DELTA.__getitem__, brackets)), default=0))
    indents = [len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.strip()]
    return max(deepest, max(indents, default=0) // 2)


def _json_safe(value: Any, budget: list[int], depth: int) -> Any:
    """``value`` with only JSON types: dates become ISO strings, keys strings."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_YAML_DEPTH:
        raise _Unfit  # aliases re-used exponentially, or self-referencing
    if isinstance(value, dict):
        return {str(k): _json_safe(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v, budget, depth + 1) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)  # NaN and infinities are not JSON
    if isinstance(value, bytes):  # !!binary
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _yaml_message(diagnostics: Any) -> str | None:
    if not isinstance(diagnostics, dict):
        return None
    # node:test writes the assertion text as 'error', some producers 'msg'; vitest an
    # 'error' mapping with its 'message'.
    for key in ("message", "error", "msg"):
        value = diagnostics.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0]
    return None


def _duration_ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or value == float("inf"):
        return None
    return round(value)


def _int(digits: str) -> int | None:
    return int(digits) if len(digits) <= MAX_DIGITS else None


def _split_description(rest: str) -> tuple[str, str | None, str | None, int | None]:
    """Description, directive (SKIP/TODO), its reason, and node-tap's ``# time=``.

    The directive is at the *last* unescaped ``#`` followed by SKIP or TODO (any case):
    tape writes 'not ok 7 known bug #123 # TODO' and node:test 'name \\#123 # TODO', and
    what comes before is the description. Without a directive, node-tap's trailing
    ``# time=12ms`` comment is cut off the description the same way.
    """
    hashes = list(_unescaped_hashes(rest))
    description, comment = rest, ""
    for index in reversed(hashes):
        if _DIRECTIVE.match(rest[index + 1 :].lstrip()):
            description, comment = rest[:index], rest[index + 1 :].strip()
            break
    time_comment = ""
    for index in reversed(hashes):
        if index < len(description) and _TIME.match(description[index + 1 :].lstrip()):
            # 'ok 1 - name # time=12ms', or before a directive: 'name # time=1ms # SKIP'
            time_comment = description[index + 1 :]
            description = description[:index]
            break
    description = _unescape(description.strip())
    directive = reason = None
    if match := _DIRECTIVE.match(comment):
        directive = match.group(1).upper()
        reason = _TIME_COMMENT.sub("", _unescape(match.group(2) or "")).strip(" -") or None
    duration = None
    if time := (_TIME.search(comment) or _TIME.match(time_comment.lstrip())):
        try:
            value = float(time.group(1))
        except ValueError:  # 'time=1.2.3'
            value = None
        if value is not None and value != float("inf"):
            unit = (time.group(2) or "ms").lower()
            duration = round(value * 1000 if unit == "s" else value)
    return description, directive, reason, duration


def _unescape(text: str) -> str:
    """TAP 14 escapes: ``\\#`` is ``#``, ``\\\\`` is a backslash."""
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def _unescaped_hashes(text: str) -> Iterator[int]:
    if "#" not in text:
        return
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "#":
            yield index


def _read_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, was the line cut) with a cap on line length."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        cut = False
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            cut = True
            while True:  # drop the rest of the line without holding it
                more = stream.readline(MAX_LINE_BYTES)
                if not more or more.endswith(b"\n"):
                    break
            raw = raw[:MAX_LINE_BYTES]
        yield number, raw, cut


def parse(
    stream: BinaryIO,
    source: SourceRef,
    options: ParseOptions,
    summary: TapSummary | None = None,
) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per TAP test (a point with no subtest) in ``stream``.

    Subtest points are named ``parent > child``; a point whose subtest held points is a
    group and gives no record, unless it failed where none of its tests did (one
    synthetic Failed record for it). A missing plan, a plan not met, and ``Bail out!``
    each add a synthetic Failed record. ``summary``, when given, is filled with what the
    stream said of itself at the end. Raises :class:`InputError` for an empty stream or
    one with no TAP in it.
    """
    parser = _Parser(source, options)
    if summary is not None:
        parser.summary = summary
    replaced = 0
    first_replaced: int | None = None
    read = 0
    number = 0
    for number, raw, cut in _read_lines(stream):
        read += len(raw)
        if not parser.saw_tap and read > SNIFF_BYTES:
            raise InputError(
                parser.report,
                f"not a TAP stream (no plan, test point or version in its first {read} bytes)",
                line=number,
            )
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("utf-8", "replace")
            replaced += 1
            first_replaced = first_replaced or number
        if cut:
            options.warn(f"{parser.report}:{number}: a line over {MAX_LINE_BYTES} bytes was cut")
        yield from parser.feed(line.rstrip("\r\n") + "\n", number)
        if parser.bailed is not None:
            break  # TAP: nothing after 'Bail out!' counts
    parser.check_tap(number)
    if replaced:
        options.warn(
            f"{parser.report}:{first_replaced}: bytes that are not UTF-8 replaced with U+FFFD "
            f"on {replaced} line(s), the first here"
        )
    yield from parser.finish()
    # Never a silent zero. finish() always adds a record for a stream without points
    # (no plan, skip all); this is the guard for a rule that would forget to.
    if not parser.yielded:
        options.warn(f"{parser.report}: a TAP stream of {number} line(s) gave no test")

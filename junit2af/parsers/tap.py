"""Streaming TAP parser (TAP 12, 13 and 14, and the dialects real producers write).

tap.py (tappy) was evaluated first and is not used: it has no TAP 14 subtests (neither
the ``# Subtest:`` indented form nor node-tap's ``{ }`` buffered form), it reads a
stream into line objects without the nesting, and it would still need a second layer
for output attribution and the plan checks. The grammar is small; the rules that need
care are the dialects, which are noted where they are handled.

The stream is read line by line; memory holds only the test point being completed, its
YAML block (capped) and the records of an open subtest (emitted when it closes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
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
          |(?:not\ )?ok\b                # a test point
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
INDENT = 4  # TAP 14: a subtest is indented by four spaces

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
_DIRECTIVE = re.compile(r"^(SKIP|TODO)\S*(?:\s+(.*))?$", re.IGNORECASE)
_TIME = re.compile(r"\btime=\s*([0-9.]+)\s*(ms|s)?\b", re.IGNORECASE)
_SUBTEST = re.compile(r"^#\s*Subtest(?::\s*(.*))?$", re.IGNORECASE)
_BAIL = re.compile(r"^Bail out!\s*(.*)$", re.IGNORECASE)
_PRAGMA = re.compile(r"^pragma\s+([+-]\w+)", re.IGNORECASE)


@dataclass
class _Point:
    """A test point read, waiting for its YAML block, diagnostics and children."""

    ok: bool
    number: int | None
    description: str
    directive: str | None
    reason: str | None
    line: int
    depth: int
    duration_ms: int | None = None
    yaml_lines: list[str] = field(default_factory=list)
    yaml_size: int = 0
    diagnostics: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    children: list[TestRecord] = field(default_factory=list)
    buffered: bool = False  # node-tap's 'ok 1 - name {' form: children follow


@dataclass
class _Level:
    """One nesting level: the subtest (or the whole stream) being read."""

    depth: int
    name: str | None = None  # from '# Subtest: name'
    plan: int | None = None
    plan_reason: str | None = None
    count: int = 0
    last: _Point | None = None  # emitted when the next point (or the end) comes
    pending_output: list[str] = field(default_factory=list)
    records: list[TestRecord] = field(default_factory=list)  # of a subtest, until it ends
    in_yaml: bool = False
    yaml_indent: int = 0


class _Parser:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.report = source.display()
        self.version = 12
        self.levels: list[_Level] = [_Level(depth=0)]
        self.bailed: str | None = None
        self.saw_tap = False
        self.replaced = 0
        self.open_buffered: list[_Point] = []  # node-tap '{' parents

    # -- lines -------------------------------------------------------------------------

    def feed(self, raw: str, number: int) -> Iterator[TestRecord]:
        expanded = raw.replace("\t", " " * INDENT)
        stripped = expanded.lstrip(" ")
        indent = len(expanded) - len(stripped)
        level = self._level_for_yaml(indent)
        if level is not None:
            if stripped.strip() and indent < level.yaml_indent:
                level.in_yaml = False  # de-indented: the block ended without '...'
            else:
                yield from self._yaml_line(level, expanded, stripped, indent)
                return
        text = stripped.rstrip()
        depth = indent // INDENT
        if self.open_buffered and text == "}":
            yield from self._close_buffered()
            return
        if not text:
            self._output(depth, raw)
            return
        if depth == 0 and not self.saw_tap and (match := _VERSION.match(text)):
            self.version = int(match.group(1))
            self.saw_tap = True
            return
        if indent % INDENT and (_POINT.match(text) or _PLAN.match(text)):
            # Not on a subtest's four-space grid: somebody's output that looks like TAP.
            self._output(depth, raw)
            return
        if match := _POINT.match(text):
            self.saw_tap = True
            yield from self._point(match, depth, number)
            return
        if match := _PLAN.match(text):
            self.saw_tap = True
            level = self._enter(depth)
            level.plan = int(match.group(1))
            level.plan_reason = (match.group(2) or "").strip() or None
            return
        if match := _SUBTEST.match(text):
            self.saw_tap = True
            yield from self._close_deeper(depth)
            child = self._enter(depth + 1)
            child.name = (match.group(1) or "").strip() or None
            return
        if match := _BAIL.match(text):
            self.saw_tap = True
            self.bailed = match.group(1).strip() or "no reason given"
            return
        if _PRAGMA.match(text) or _VERSION.match(text):
            return
        self._output(depth, raw)

    def _level_for_yaml(self, indent: int) -> _Level | None:
        for level in reversed(self.levels):
            if level.in_yaml:
                return level
        return None

    def _yaml_line(
        self, level: _Level, expanded: str, stripped: str, indent: int
    ) -> Iterator[TestRecord]:
        point = level.last
        if stripped.rstrip() == "..." and indent <= level.yaml_indent + 2:
            level.in_yaml = False
            return
        if point is not None and point.yaml_size < MAX_YAML_BYTES:
            point.yaml_lines.append(
                expanded[level.yaml_indent :] if indent >= level.yaml_indent else stripped
            )
            point.yaml_size += len(expanded)
        yield from ()

    def _output(self, depth: int, raw: str) -> None:
        level = self._enter(depth) if depth < len(self.levels) else self.levels[-1]
        last = level.last
        # What follows a 'not ok' directly is its diagnostics: Test::More's '#   Failed
        # test' comments, mocha's indented error and diff.
        if last is not None and not last.ok and not level.pending_output:
            last.diagnostics.append(raw.strip())
            return
        level.pending_output.append(raw)

    def _enter(self, depth: int) -> _Level:
        while len(self.levels) <= depth:
            self.levels.append(_Level(depth=len(self.levels)))
        return self.levels[depth]

    # -- test points -------------------------------------------------------------------

    def _point(self, match: re.Match[str], depth: int, number: int) -> Iterator[TestRecord]:
        yield from self._close_deeper(depth)
        level = self._enter(depth)
        if level.last is not None:
            yield from self._emit(level, level.last)
        rest = match.group(3)
        # node-tap's buffered subtest: 'ok 2 - name # time=2ms {' then its children, '}'.
        buffered = rest.endswith("{")
        if buffered:
            rest = rest[:-1].rstrip()
        description, directive, reason, duration = _split_description(rest)
        point = _Point(
            ok=match.group(1) is None,
            number=int(match.group(2)) if match.group(2) else None,
            description=description,
            directive=directive,
            reason=reason,
            line=number,
            depth=depth,
            duration_ms=duration,
            output=level.pending_output,
            buffered=buffered,
        )
        level.pending_output = []
        level.count += 1
        child = self.levels[depth + 1] if len(self.levels) > depth + 1 else None
        if child is not None and child.records:
            point.children = child.records
            child.records = []
        if child is not None and child.name and not point.description:
            point.description = child.name
        if child is not None:
            self.levels[depth + 1 :] = []
        level.last = point
        level.in_yaml = False
        if buffered:
            level.last = None
            self.open_buffered.append(point)
        # A YAML block may follow, indented under the point.
        level.yaml_indent = depth * INDENT + 2
        level.in_yaml = False
        self._expect_yaml = (level, point)

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
        child = self.levels[depth + 1] if len(self.levels) > depth + 1 else None
        if child is not None:
            parent.children = child.records
            self.levels[depth + 1 :] = []
        level = self._enter(depth)
        level.last = parent

    def _emit(self, level: _Level, point: _Point) -> Iterator[TestRecord]:
        record = self._record(point)
        # A subtest's records are named after their parent once it is known.
        prefix = record.metadata["name"] + " > "
        records = [
            replace(
                child,
                test_name=fit_name(prefix + child.metadata["name"]),
                metadata={
                    **child.metadata,
                    "name": prefix + child.metadata["name"],
                    "parent": record.metadata["name"],
                },
            )
            for child in point.children
        ]
        records.append(record)
        if point.depth == 0:
            yield from records
        else:
            # Children are named when their parent closes: keep them with their level.
            level.records.extend(records)

    # -- records -----------------------------------------------------------------------

    def _record(self, point: _Point) -> TestRecord:
        name = point.description or (f"test {point.number}" if point.number else "test")
        if point.directive == "SKIP":
            status = Status.SKIPPED
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
        if point.number is not None:
            metadata["tap_number"] = point.number
        if point.directive:
            metadata["directive"] = point.directive.lower()
            if point.reason:
                metadata["directive_reason"] = point.reason
        if point.directive == "TODO":
            metadata["todo_passed"] = point.ok
        diagnostics, yaml_text = self._yaml(point)
        if diagnostics is not None:
            metadata["yaml"] = diagnostics
        duration = point.duration_ms
        if duration is None and isinstance(diagnostics, dict):
            duration = _duration_ms(diagnostics.get("duration_ms"))
        if point.children:
            metadata["subtests"] = sum(
                1 for c in point.children if c.metadata.get("tap_depth") == point.depth + 1
            )
        message = None
        failure_text = None
        if status is Status.FAILED or (status is Status.KNOWN_FAIL and not point.ok):
            first_diagnostic = next(
                (d.strip().lstrip("#").strip() for d in point.diagnostics if d.strip(" #\n")),
                None,
            )
            message = (
                _yaml_message(diagnostics)
                or first_diagnostic
                or point.reason
                or point.description
                or None
            )
            parts = [p for p in (yaml_text, "\n".join(point.diagnostics)) if p]
            failure_text = "\n".join(parts) or None
        elif status is Status.KNOWN_FAIL or status is Status.SKIPPED:
            message = point.reason
        outputs: tuple[TextArtifact, ...] = ()
        text = "".join(point.output)
        if text.strip():
            outputs = (TextArtifact("stdout.log", self._cap(text)),)
        return TestRecord(
            test_name=fit_name(name, pad_with=self.report.rsplit("/", 1)[-1]),
            status=status,
            source=SourceRef(self.source.path, self.source.member, point.line),
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=failure_text,
            outputs=outputs,
        )

    def _cap(self, text: str) -> str:
        limit = self.options.max_text_bytes
        if len(text) <= limit:
            return text
        return text[:limit] + f"\n[truncated {len(text) - limit} bytes]\n"

    def _yaml(self, point: _Point) -> tuple[Any, str]:
        if not point.yaml_lines:
            return None, ""
        text = "".join(line if line.endswith("\n") else line + "\n" for line in point.yaml_lines)
        if point.yaml_lines[0].strip() == "---":
            body = text.split("\n", 1)[1] if "\n" in text else ""
        else:
            body = text
        if point.yaml_size >= MAX_YAML_BYTES or _nesting(body) > MAX_YAML_DEPTH:
            return None, text  # too big or too deep to parse: kept as text
        try:
            loaded = yaml.load(body, Loader=_SafeLoader)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            return None, text  # invalid YAML is tolerated: the text is kept
        return _json_safe(loaded), text

    def finish(self) -> Iterator[TestRecord]:
        while self.open_buffered:
            yield from self._close_buffered()
        yield from self._close_deeper(0)
        top = self.levels[0]
        if top.last is not None:
            top.last.output.extend(top.pending_output)
            top.pending_output = []
            yield from self._emit(top, top.last)
            top.last = None
        for level in self.levels[1:]:
            yield from level.records  # an unfinished subtest: keep what it had
        if not self.saw_tap:
            raise InputError(
                self.report, "not a TAP stream (no plan, test point or version)", line=1
            )
        if self.bailed is not None:
            yield self._synthetic(f"Bail out! {self.bailed}", Status.FAILED, "bail out")
        planned = top.plan
        if planned is None and self.bailed is None:
            yield self._synthetic(
                f"the TAP stream ended without a plan after {top.count} test(s); "
                "it may have been cut short",
                Status.FAILED,
                "no plan",
            )
        elif planned == 0 and top.count == 0:
            reason = top.plan_reason or "no reason given"
            yield self._synthetic(f"all tests skipped: {reason}", Status.SKIPPED, "skip all")
        elif planned is not None and top.count < planned and self.bailed is None:
            yield self._synthetic(
                f"{planned} tests planned but only {top.count} ran", Status.FAILED, "missing tests"
            )
        elif planned is not None and top.count > planned:
            yield self._synthetic(
                f"{top.count} tests ran but the plan promised {planned}",
                Status.FAILED,
                "plan exceeded",
            )

    def _synthetic(self, message: str, status: Status, reason: str) -> TestRecord:
        stem = self.report.rsplit("/", 1)[-1]
        return TestRecord(
            test_name=fit_name(f"{stem} ({reason})"),
            status=status,
            source=SourceRef(self.source.path, self.source.member, None),
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
            metadata={
                "format": "tap",
                "report": self.report,
                "synthetic": True,
                "reason": reason,
                "tap_depth": 0,
                "tap_version": self.version,
            },
        )


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C one when built): no Python objects, ever."""


def _nesting(text: str) -> int:
    """A cheap upper bound of YAML nesting: brackets and indentation."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    indents = [len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.strip()]
    return max(deepest, max(indents, default=0) // 2)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _yaml_message(diagnostics: Any) -> str | None:
    if not isinstance(diagnostics, dict):
        return None
    for key in ("message", "error", "msg"):
        value = diagnostics.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0]
    return None


def _duration_ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or value == float("inf"):
        return None
    return round(value)


def _split_description(rest: str) -> tuple[str, str | None, str | None, int | None]:
    """Description, directive (SKIP/TODO), its reason, and node-tap's ``# time=``."""
    cut = _unescaped_hash(rest)
    description = rest if cut is None else rest[:cut]
    comment = "" if cut is None else rest[cut + 1 :].strip()
    description = description.strip().replace("\\#", "#").replace("\\\\", "\\")
    directive = reason = None
    duration = None
    if comment:
        if match := _DIRECTIVE.match(comment):
            directive = match.group(1).upper()
            reason = (match.group(2) or "").replace("\\#", "#").strip(" -") or None
        if time := _TIME.search(comment):
            value = float(time.group(1))
            duration = round(value * 1000 if (time.group(2) or "ms").lower() == "s" else value)
        elif directive is None:
            description = f"{description} # {comment}".strip()
    return description, directive, reason, duration


def _unescaped_hash(text: str) -> int | None:
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "#":
            return index
    return None


def _read_lines(stream: BinaryIO, report: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, was the line cut) with a cap on line length."""
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
        yield number, raw.decode("utf-8", "replace").rstrip("\r\n"), cut


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per TAP test point read from ``stream``.

    Subtest points are named ``parent > child``; the parent point is a record too.
    Raises :class:`InputError` for a stream with no TAP in it at all.
    """
    parser = _Parser(source, options)
    replaced = 0
    for number, line, cut in _read_lines(stream, parser.report):
        if "\ufffd" in line:
            replaced += line.count("\ufffd")
        if cut:
            options.warn(f"{parser.report}:{number}: a line over {MAX_LINE_BYTES} bytes was cut")
        if parser.bailed is not None:
            continue  # TAP: nothing after 'Bail out!' counts
        expect = getattr(parser, "_expect_yaml", None)
        if expect is not None:
            parser._expect_yaml = None
            level, point = expect
            stripped = line.lstrip(" ")
            if stripped.rstrip() == "---" and level.last is point:
                level.in_yaml = True
                level.yaml_indent = len(line) - len(stripped)
                point.yaml_lines.append("---")
                continue
        yield from parser.feed(line + "\n", number)
    if replaced:
        options.warn(
            f"{parser.report}: replaced {replaced} byte sequence(s) that are not UTF-8 with U+FFFD"
        )
    yield from parser.finish()

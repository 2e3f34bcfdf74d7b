"""Catch2's XML reporter (``-r xml``): ``<Catch>`` (Catch2 v2) and ``<Catch2TestRun>`` (v3).

One record per test case; a test case with sections gives one record per leaf section
path, named ``test/section/subsection`` as Catch2's own JUnit reporter names them, plus a
record for a test case body or an enclosing section that has failures (or, with ``-s``,
assertions) of its own outside its child sections. Names are prefixed with
``<run name>.global.``, the class name Catch2's JUnit reporter writes for a free test
case, so that a suite read from its XML and from its JUnit report gets the same names.

Quirks of the real reporter that shaped the rules:

* A section runs once per leaf below it, so ``<Section name="outer">`` is written once
  per run (and once more, empty, on the run that finds no further child): sections are
  merged by path.
* Only failed assertions are written (all of them with ``-s``); a section's
  ``<OverallResults>`` counts the rest. ``<Info>`` elements precede the assertion they
  belong to. An exception or fatal signal in an assertion with an expression is written
  inside its ``<Expression>``.
* In a ``[!shouldfail]``/``[!mayfail]`` test case failed assertions are written with
  ``success="false"`` although the test case's ``<OverallResult success="true">``: those
  are expected failures (KnownFail). A ``[!shouldfail]`` test case that passes has
  ``success="false"`` and no failed assertion.
* Output is captured per test case only (``<StdOut>``/``<StdErr>`` in ``<OverallResult>``)
  and is attached to the test case's first failed record, else its last one.
* There are no timestamps: records start at the file's mtime, one after the other, with
  the durations of ``-d yes`` when it was given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native_xml import (
    MAX_METADATA_ITEMS,
    Context,
    XmlReader,
    as_int,
    local,
    release,
    salvage,
    seconds_to_ms,
    short,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord, TextArtifact

FORMATS = (Format("catch2-xml", "Catch2 XML", "catch2", producers="Catch2 v2 and v3 `-r xml`"),)

ROOTS = frozenset({"Catch", "Catch2TestRun"})
#: Failure elements; inside an <Expression> they belong to that expression.
FAILURE_TAGS = frozenset({"Exception", "FatalErrorCondition", "Failure"})
_TAG = re.compile(r"\[([^\]]*)\]")


def sniff(head: Head) -> str | None:
    """Catch2 XML: a ``<Catch>`` (v2) or ``<Catch2TestRun>`` (v3) root."""
    root = head.xml_root
    if root is not None and root.local in ROOTS and not root.namespace:
        return "catch2-xml"
    return None


@dataclass
class _Node:
    """A section path of one test case (``()`` is the test case body)."""

    path: tuple[str, ...]
    file: str | None = None
    line: int | None = None
    report_line: int | None = None
    failures: list[str] = field(default_factory=list)  # failure blocks, in order
    summaries: list[str] = field(default_factory=list)  # one line per failure block
    own_assertions: int = 0  # assertions written directly in this node
    counted_failures: int = 0  # from <OverallResults>
    expected_failures: int = 0
    skipped: bool = False
    skip_reason: str | None = None
    duration_ms: int | None = None
    has_children: bool = False
    runs: int = 0


@dataclass
class _TestCase:
    name: str
    tags: list[str]
    file: str | None
    line: int | None
    report_line: int | None
    nodes: dict[tuple[str, ...], _Node] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)  # <Info> waiting for its assertion
    warnings: list[str] = field(default_factory=list)
    start_offset: int = 0

    def node(self, path: tuple[str, ...]) -> _Node:
        found = self.nodes.get(path)
        if found is None:
            found = self.nodes[path] = _Node(path)
        return found

    @property
    def current(self) -> _Node:
        return self.node(tuple(self.stack))


class _Run:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.name = ""
        self.version: str | None = None
        self.rng_seed: str | None = None
        self.case: _TestCase | None = None
        # test case outcomes, to compare with <OverallResultsCases>
        self.passed = 0
        self.failed = 0
        self.expected = 0
        self.skipped = 0
        self.cases = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield the records of a Catch2 XML report read from ``stream``."""
    ctx = Context(source, options, "catch2-xml")
    ctx.use_file_clock()
    run = _Run(ctx)

    def check_root(root: etree._Element) -> None:
        if local(root.tag) not in ROOTS:
            raise InputError(
                ctx.report,
                f"not a Catch2 XML report (root element <{local(root.tag)}>)",
                line=root.sourceline,
            )
        run.name = short(root.get("name"), 200) or ""
        ctx.run_name = run.name or None
        run.version = short(root.get("catch2-version"), 40)
        run.rng_seed = short(root.get("rng-seed"), 40)

    reader = XmlReader(stream, ctx, check_root)
    yield from salvage(ctx, reader, _records(run, reader))
    if run.cases == 0 and not ctx.warned:
        ctx.warn("the report holds no test cases")


def _records(run: _Run, reader: XmlReader) -> Iterator[TestRecord]:
    ctx = run.ctx
    for event, element in reader.events():
        tag = local(element.tag)
        case = run.case
        if event == "start":
            if tag == "TestCase":
                run.case = _TestCase(
                    name=short(element.get("name"), 1000) or "",
                    tags=_tags(element.get("tags")),
                    file=short(element.get("filename")),
                    line=as_int(element.get("line")),
                    report_line=element.sourceline,
                    start_offset=ctx.offset_ms,
                )
                root = run.case.node(())
                root.file, root.line, root.report_line = (
                    run.case.file,
                    run.case.line,
                    element.sourceline,
                )
            elif tag == "Section" and case is not None:
                case.current.has_children = True
                case.stack.append(short(element.get("name"), 1000) or "")
                node = case.current
                node.runs += 1
                if node.report_line is None:
                    node.file = short(element.get("filename"))
                    node.line = as_int(element.get("line"))
                    node.report_line = element.sourceline
            continue

        # end events
        if case is None:
            parent = element.getparent()
            if tag == "OverallResultsCases" and parent is not None and parent.getparent() is None:
                _compare_totals(run, element)  # the run's own totals, not a <Group>'s
            if tag in ("TestCase", "Group", "OverallResults", "OverallResultsCases"):
                release(element)  # a test case is closed at its <OverallResult>
            continue
        parent_tag = local(element.getparent().tag) if element.getparent() is not None else ""
        if tag == "Info" and parent_tag != "Expression":
            if len(case.infos) < MAX_METADATA_ITEMS:
                case.infos.append(ctx.text(element))
            release(element)
        elif tag == "Warning" and parent_tag != "Expression":
            if len(case.warnings) < MAX_METADATA_ITEMS:
                case.warnings.append(ctx.text(element))
            release(element)
        elif tag == "Expression":
            _expression(ctx, case, element)
            release(element)
        elif tag in FAILURE_TAGS and parent_tag != "Expression":
            case.current.own_assertions += 1
            _add_failure(case, *_failure_of(ctx, element, case.infos))
            case.infos = []
            release(element)
        elif tag == "Skip" and parent_tag != "Expression":
            node = case.current
            node.skipped = True
            node.skip_reason = node.skip_reason or ctx.text(element) or None
            case.infos = []
            release(element)
        elif tag == "OverallResults" and parent_tag == "Section":
            node = case.current
            node.counted_failures += as_int(element.get("failures")) or 0
            node.expected_failures += as_int(element.get("expectedFailures")) or 0
            if element.get("skipped") == "true":
                node.skipped = True
            duration = seconds_to_ms(element.get("durationInSeconds"))
            if duration is not None:
                node.duration_ms = (node.duration_ms or 0) + duration
        elif tag == "Section":
            case.stack.pop()
            release(element)
        elif tag == "OverallResult" and parent_tag == "TestCase":
            yield from _close_case(run, case, element)
            run.case = None
        elif tag == "TestCase":
            # No <OverallResult> (Catch2 always writes one): judge by the failures read.
            ctx.warn_once(
                "no-result",
                f"line {case.report_line}: test case without <OverallResult>; "
                "its status is taken from its assertions",
            )
            yield from _close_case(run, case, None)
            run.case = None
            release(element)


def _tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [short(t, 200) or "" for t in _TAG.findall(raw)][:MAX_METADATA_ITEMS]


def _expression(ctx: Context, case: _TestCase, element: etree._Element) -> None:
    node = case.current
    node.own_assertions += 1
    if element.get("success") != "false":
        case.infos = []
        return
    _add_failure(case, *_failure_of(ctx, element, case.infos))
    case.infos = []


def _add_failure(case: _TestCase, summary: str, block: str) -> None:
    node = case.current
    if len(node.failures) < MAX_METADATA_ITEMS:
        node.failures.append(block)
        node.summaries.append(summary)
    elif len(node.failures) == MAX_METADATA_ITEMS:
        node.failures.append("[more failures not shown]")
        node.summaries.append("")


def _failure_of(ctx: Context, element: etree._Element, infos: list[str]) -> tuple[str, str]:
    """A one-line summary and the console-like block of one failed assertion."""
    tag = local(element.tag)
    where = _where(element)
    lines: list[str] = [f"{where}: FAILED:" if where else "FAILED:"]
    summary = ""
    if tag == "Expression":
        kind = element.get("type") or ""
        original = expanded = ""
        nested: etree._Element | None = None
        for child in element:
            child_tag = local(child.tag)
            if child_tag == "Original":
                original = ctx.text(child)
            elif child_tag == "Expanded":
                expanded = ctx.text(child)
            elif child_tag in FAILURE_TAGS and nested is None:
                nested = child
        if nested is not None and local(nested.tag) == "FatalErrorCondition":
            # The expression of a crash is a placeholder ("{Unknown expression after the
            # reported line}"): the signal is what happened.
            return _failure_of(ctx, nested, infos)
        shown = f"{kind}( {original} )" if kind else original
        lines.append(f"  {shown}")
        summary = shown
        if expanded and expanded != original:
            lines += ["with expansion:", f"  {expanded}"]
            summary += f" with expansion: {expanded}"
        if nested is not None:
            nested_summary, nested_block = _failure_of(ctx, nested, [])
            lines += nested_block.splitlines()[1:]
            summary += f" ({nested_summary})"
    else:
        text = ctx.text(element)
        if tag == "Exception":
            lines += ["due to unexpected exception with message:", f"  {text}"]
            summary = f"unexpected exception with message: {text}"
        elif tag == "FatalErrorCondition":
            lines += ["due to a fatal error condition:", f"  {text}"]
            summary = f"fatal error condition: {text}"
        else:  # Failure: FAIL("...")
            lines += ["explicitly with message:", f"  {text}"]
            summary = text or "explicit failure"
    if infos:
        lines.append("with message" + ("s:" if len(infos) > 1 else ":"))
        lines += [f"  {info}" for info in infos]
    return summary.split("\n", 1)[0], "\n".join(lines)


def _where(element: etree._Element) -> str:
    file, line = element.get("filename"), element.get("line")
    if not file:
        return ""
    return f"{short(file)}:{line}" if line else short(file) or ""


def _close_case(run: _Run, case: _TestCase, result: etree._Element | None) -> Iterator[TestRecord]:
    ctx = run.ctx
    run.cases += 1
    outputs = []
    if result is None:
        success = not any(node.failures or node.counted_failures for node in case.nodes.values())
        case_skipped, duration_ms = False, None
    else:
        success = result.get("success") != "false"
        case_skipped = (as_int(result.get("skips")) or 0) > 0
        duration_ms = seconds_to_ms(result.get("durationInSeconds"))
        for child in result:
            child_tag = local(child.tag)
            if child_tag in ("StdOut", "StdErr"):
                text = ctx.text(child)
                if text:
                    label = "stdout.log" if child_tag == "StdOut" else "stderr.log"
                    outputs.append(ctx.artifact(label, text + "\n"))
        release(result)

    root = case.node(())
    sectioned = len(case.nodes) > 1
    chosen: list[_Node] = []
    for node in case.nodes.values():
        if not sectioned or (not node.has_children and node.path):
            chosen.append(node)
        elif node.failures or node.own_assertions or node.skipped:
            chosen.append(node)  # a body or enclosing section with assertions of its own
    if not chosen:
        chosen = [root]

    statuses = [_node_status(node, success) for node in chosen]
    expected_tag = any(t.lower() in ("!shouldfail", "!mayfail") for t in case.tags)
    forced_message: str | None = None
    if not success and all(s is not Status.FAILED for s, _ in statuses):
        # Catch2 failed the test case without a failed assertion: a [!shouldfail] test
        # case that passed. The test case body carries that failure.
        forced_message = (
            "test case tagged [!shouldfail] passed; Catch2 counts that as a failure"
            if any(t.lower() == "!shouldfail" for t in case.tags)
            else "Catch2 reports the test case as failed"
        )
        if root not in chosen:
            chosen.insert(0, root)
            statuses.insert(0, (Status.FAILED, None))
        index = chosen.index(root)
        statuses[index] = (Status.FAILED, forced_message)
    if case_skipped and all(s is Status.PASSED for s, _ in statuses):
        statuses = [(Status.SKIPPED, message) for _, message in statuses]

    if any(s is Status.FAILED for s, _ in statuses):
        run.failed += 1
    elif success and any(s is Status.KNOWN_FAIL for s, _ in statuses):
        run.expected += 1
    elif case_skipped or all(s is Status.SKIPPED for s, _ in statuses):
        run.skipped += 1  # Catch2 v3 counts a test case with a SKIP as skipped
    else:
        run.passed += 1

    output_index = next(
        (i for i, (s, _) in enumerate(statuses) if s is Status.FAILED), len(chosen) - 1
    )
    base = f"{run.name}.global." if run.name else ""
    for index, (node, (status, forced)) in enumerate(zip(chosen, statuses, strict=True)):
        name = "/".join((case.name, *node.path))
        metadata: dict[str, Any] = {"test_case": case.name}
        if node.path:
            metadata["section_path"] = list(node.path)
        if case.tags:
            metadata["tags"] = case.tags
        file = node.file or case.file
        if file:
            metadata["file"] = file
        line = node.line if node.path else case.line
        if line is not None:
            metadata["line"] = line
        if node.runs > 1:
            metadata["section_runs"] = node.runs
        if expected_tag and status is Status.KNOWN_FAIL:
            metadata["expected_failure"] = True
        if run.version:
            metadata["catch2_version"] = run.version
        if run.rng_seed:
            metadata["rng_seed"] = run.rng_seed
        failure_text = "\n\n".join(node.failures) if node.failures else None
        message = forced or _message(node, status)
        node_outputs = list(outputs) if index == output_index else []
        if case.warnings and index == output_index:
            node_outputs.append(ctx.artifact("warnings.log", "\n".join(case.warnings) + "\n"))
            metadata["warnings"] = len(case.warnings)
        if node_outputs and sectioned and outputs and index == output_index:
            metadata["test_case_output"] = True
        node_duration = duration_ms if not sectioned else node.duration_ms
        yield ctx.record(
            base + name,
            status,
            line=node.report_line or case.report_line,
            duration_ms=node_duration,
            message=message,
            failure_text=failure_text,
            metadata=metadata,
            outputs=_sorted(node_outputs),
        )
    if duration_ms is not None:
        ctx.offset_ms = case.start_offset + duration_ms


def _node_status(node: _Node, case_success: bool) -> tuple[Status, str | None]:
    failed = bool(node.failures) or node.counted_failures > 0
    if failed:
        # In a test case Catch2 passed, failed assertions were allowed to fail.
        return (Status.KNOWN_FAIL if case_success else Status.FAILED), None
    if node.expected_failures > 0:
        return Status.KNOWN_FAIL, None
    if node.skipped:
        return Status.SKIPPED, node.skip_reason
    return Status.PASSED, None


def _message(node: _Node, status: Status) -> str | None:
    if status in (Status.FAILED, Status.KNOWN_FAIL):
        if node.summaries:
            return node.summaries[0]
        if node.counted_failures or node.expected_failures:
            count = node.counted_failures or node.expected_failures
            return f"{count} assertion(s) failed (not written in the report)"
    if status is Status.SKIPPED:
        return node.skip_reason
    return None


def _sorted(outputs: list[TextArtifact]) -> list[TextArtifact]:
    order = {"stdout.log": 0, "stderr.log": 1}
    return sorted(outputs, key=lambda a: order.get(a.label, 2))


def _compare_totals(run: _Run, element: etree._Element) -> None:
    """Catch2's own test case counts against the ones read (a cut or edited report)."""
    claimed = {
        "passed": as_int(element.get("successes")),
        "failed": as_int(element.get("failures")),
        "failed as expected": as_int(element.get("expectedFailures")),
    }
    read = {"passed": run.passed, "failed": run.failed, "failed as expected": run.expected}
    if element.get("skips") is not None:
        claimed["skipped"] = as_int(element.get("skips"))
        read["skipped"] = run.skipped
    else:
        read["passed"] += run.skipped
    differ = [k for k, v in claimed.items() if v is not None and v != read[k]]
    if differ:
        run.ctx.warn(
            "Catch2's totals say "
            + ", ".join(f"{claimed[k]} {k}" for k in differ)
            + " test cases; the report holds "
            + ", ".join(f"{read[k]} {k}" for k in differ)
        )

"""Streaming xUnit.net XML parser: v2 (``<assemblies>``, also written by xUnit.net v3) and
v1 (an ``<assembly>`` root with ``<class>`` children).

One record per ``<test>``, read when it ends and then freed. Assembly- and
collection-level ``<errors>`` (a cleanup that threw, a fatal error) are no test of the
report and would otherwise vanish: each becomes a synthetic Failed record. The mapping
is documented in ``notes/native-dotnet.md``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._dotnet import (
    Clock,
    Context,
    can_salvage,
    check_counts,
    child,
    child_text,
    failure_text,
    finish,
    header_int,
    local,
    make_record,
    missing_tests_record,
    named_values,
    parent_name,
    parse_date_and_clock,
    parse_seconds,
    parse_timestamp,
    release,
    synthetic_record,
    truncated_record,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.xmlsafe import SanitizingReader, iter_events, plain_attributes
from junit2af.records import SourceRef, Status, TestRecord

FORMATS = (
    Format(
        "xunit-net-v2",
        "xUnit.net v2 XML",
        "xunit_net",
        producers="xunit.console -xml, dotnet test --logger xunit (XunitXml.TestLogger), "
        "xUnit.net v3 -xml",
    ),
    Format(
        "xunit-net-v1",
        "xUnit.net v1 XML",
        "xunit_net",
        producers="xunit.console 1.x /xml, go2xunit -xunitnet, Pickles",
    ),
)

#: xUnit.net ``result`` values -> API status.
RESULTS = {
    "pass": Status.PASSED,
    "fail": Status.FAILED,
    "skip": Status.SKIPPED,
    # v3: a test not run because it is [Explicit] or filtered after discovery.
    "notrun": Status.SKIPPED,
}


def sniff(head: Head) -> str | None:
    """xUnit.net: ``<assemblies>`` (v2/v3), or an ``<assembly>`` root carrying xUnit.net
    v1's run attributes (another tool's ``<assembly>`` is not taken for it)."""
    root = head.xml_root
    if root is None or root.namespace:
        return None
    if root.local == "assemblies":
        return "xunit-net-v2"
    if root.local == "assembly" and any(
        root.attribute(name) is not None for name in ("test-framework", "total", "run-date")
    ):
        return "xunit-net-v1"
    return None


@dataclass
class _Assembly:
    name: str
    line: int | None
    header: dict[str, str]
    clock: Clock = field(default_factory=Clock)
    results: Counter[str] = field(default_factory=Counter)
    errors: int = 0


class _Run:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.version = 2
        self.assembly: _Assembly | None = None
        self.container: str | None = None  # v2 collection / v1 class being read
        self.records = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per ``<test>`` of an xUnit.net v1 or v2 report."""
    reader = SanitizingReader(stream)
    ctx = Context(source, options, "xunit-net-v2")
    run = _Run(ctx)
    last_line = 1
    in_test = 0  # depth of open <test> elements: their insides wait for their end

    def check_root(root: etree._Element) -> None:
        name = local(root.tag)
        if name not in ("assemblies", "assembly"):
            raise InputError(
                ctx.report,
                f"not an xUnit.net report (root element <{name}>)",
                line=root.sourceline,
            )
        if name == "assembly":
            run.version = 1
            ctx.format = "xunit-net-v1"

    try:
        for event, element in iter_events(cast(BinaryIO, reader), ctx.report, on_root=check_root):
            tag = local(element.tag)
            if event == "start":
                last_line = element.sourceline or last_line
                if tag == "assembly":
                    run.assembly = _open_assembly(ctx, element)
                elif tag in ("collection", "class"):
                    run.container = element.get("name") or None
                elif tag == "test":
                    in_test += 1
                continue
            if in_test and tag != "test":
                continue
            parent_tag = parent_name(element) if tag in ("error", "failure") else ""
            if tag == "test":
                in_test -= 1
            if tag == "test" and run.assembly is not None:
                record = _test_record(run, run.assembly, element)
                run.records += 1
                release(element)
                yield record
            elif tag == "error" and parent_tag == "errors" and run.assembly is not None:
                run.assembly.errors += 1
                yield _error_record(run, run.assembly, element)
                run.records += 1
                release(element)
            elif tag == "failure" and parent_tag == "class" and run.assembly is not None:
                # xUnit.net v1: the class fixture (constructor, IUseFixture) failed.
                yield _error_record(run, run.assembly, element, kind="class-failure")
                run.records += 1
                release(element)
            elif tag in ("collection", "class"):
                run.container = None
                release(element)
            elif tag == "assembly" and run.assembly is not None:
                claimed = header_int(run.assembly.header.get("total")) or 0
                if claimed and not run.assembly.results:
                    failed = header_int(run.assembly.header.get("failed")) or 0
                    yield missing_tests_record(
                        ctx, run.assembly.name or "assembly", claimed, failed, run.assembly.line
                    )
                    run.records += 1
                else:
                    _check_assembly(run, run.assembly)
                run.assembly = None
                release(element)
    except InputError as error:
        if not can_salvage(ctx, error, run.records):
            raise
        name = run.container or (run.assembly.name if run.assembly else ctx.report)
        yield truncated_record(ctx, name, last_line, error)
        return
    finish(ctx, reader, run.records, "tests")


def _open_assembly(ctx: Context, element: etree._Element) -> _Assembly:
    path = element.get("name") or ""
    name = os.path.basename(path.replace("\\", "/")) or path
    assembly = _Assembly(
        name=name,
        line=element.sourceline,
        header=plain_attributes(element, ctx.report),
    )
    line = element.sourceline
    # v2.5+ and v3 write start-rtf (round-trip, with offset); older ones a local date and
    # clock time of the assembly's start.
    start = parse_timestamp(ctx, element.get("start-rtf"), line)
    if start is None:
        start = parse_date_and_clock(ctx, element.get("run-date"), element.get("run-time"), line)
    assembly.clock.set_start(start, "assembly")
    assembly.clock.fall_back(ctx, parse_seconds(ctx, element.get("time"), line))
    return assembly


def _test_record(run: _Run, assembly: _Assembly, element: etree._Element) -> TestRecord:
    ctx, line = run.ctx, element.sourceline
    raw = (element.get("result") or "").strip()
    status = RESULTS.get(raw.lower())
    if status is None:
        ctx.warn_once(f"result:{raw}", f"line {line}: unknown result {raw!r}; taken as Failed")
        status = Status.FAILED
    assembly.results[raw.lower()] += 1

    name = element.get("name") or ""
    classname = element.get("type") or ""
    # v1 writes the class on <class>; go2xunit fills type with the word "test".
    qualifier = (run.container or classname) if run.version == 1 else classname
    full = name
    if qualifier and not name.startswith(qualifier + "."):
        full = f"{qualifier}.{name}"

    metadata: dict[str, Any] = ctx.base_metadata(line)
    metadata.update(
        {
            "name": name,
            "classname": (qualifier if run.version == 1 else classname) or None,
            "method": element.get("method") or None,
            "assembly": assembly.name or None,
            "collection" if run.version == 2 else "class": run.container,
            "result": raw or None,
            "file": element.get("source-file") or None,
            "line": header_int(element.get("source-line")),
        }
    )
    traits = child(element, "traits")
    if traits is not None:
        metadata["traits"] = named_values(
            (t.get("name") or "", t.get("value") or "")
            for t in traits
            if local(t.tag) == "trait" and t.get("name")
        )

    message = stack = kind = None
    failure = child(element, "failure")
    if failure is not None:
        message = child_text(failure, "message")
        stack = child_text(failure, "stack-trace")
        kind = failure.get("exception-type") or None
        metadata["failure_type"] = kind
    reason = child(element, "reason")
    reason_text = None
    if reason is not None:
        # v2 writes <reason><![CDATA[..]]></reason>, v1 <reason><message>..</message></reason>
        reason_text = child_text(reason, "message") if len(reason) else reason.text

    duration = parse_seconds(ctx, element.get("time"), line)
    started = parse_timestamp(ctx, element.get("start-rtf"), line)
    if started is not None:
        finished = parse_timestamp(ctx, element.get("finish-rtf"), line)
        assembly.clock.next(duration)
        metadata["time_source"] = "test"
    else:
        finished = None
        started, metadata["time_source"] = assembly.clock.next(duration)

    shown = message if status is Status.FAILED else reason_text
    warnings = child(element, "warnings")
    if warnings is not None and status is Status.PASSED:
        texts = [w.text.strip() for w in warnings if w.text and w.text.strip()]
        shown = "\n".join(texts) or None
    return make_record(
        ctx,
        name=full,
        status=status,
        line=line,
        metadata=metadata,
        started_at=started,
        finished_at=finished,
        duration_ms=duration,
        message=ctx.text(shown, line, "message") if shown else None,
        failure=failure_text(
            ctx.text(message, line, "failure message"), ctx.text(stack, line, "stack trace"), kind
        )
        if status is Status.FAILED
        else None,
        outputs=[ctx.artifact("stdout.log", child_text(element, "output"), line)],
        pad_with=run.container or assembly.name or None,
    )


def _error_record(
    run: _Run, assembly: _Assembly, element: etree._Element, kind: str | None = None
) -> TestRecord:
    """An ``<error type="assembly-cleanup|test-collection-cleanup|...">`` (or a v1 class
    failure): a failure outside any test, as a synthetic Failed record."""
    ctx, line = run.ctx, element.sourceline
    failure = element if local(element.tag) == "failure" else child(element, "failure")
    kind = kind or element.get("type") or "error"
    message = stack = exception = None
    if failure is not None:
        message = child_text(failure, "message")
        stack = child_text(failure, "stack-trace")
        exception = failure.get("exception-type")
    where = element.get("name") or run.container or assembly.name or "assembly"
    where = os.path.basename(where.replace("\\", "/")) if kind == "assembly-cleanup" else where
    return synthetic_record(
        ctx,
        name=f"{where} ({kind})",
        reason=f"xUnit.net {kind} error outside any test",
        message=(message or "").strip() or f"{kind} failed",
        failure=failure_text(
            ctx.text(message, line, "failure message"),
            ctx.text(stack, line, "stack trace"),
            exception,
        ),
        line=line,
        started_at=assembly.clock.next(0)[0],
        metadata={
            "assembly": assembly.name or None,
            "error_type": kind,
            "failure_type": exception,
        },
    )


def _check_assembly(run: _Run, assembly: _Assembly) -> None:
    header, got = assembly.header, assembly.results
    check_counts(
        run.ctx,
        f"the totals of assembly {assembly.name or '(unnamed)'}",
        {
            "total": header_int(header.get("total")),
            "passed": header_int(header.get("passed")),
            "failed": header_int(header.get("failed")),
            "skipped": header_int(header.get("skipped")),
            "not-run": header_int(header.get("not-run")),
            "errors": header_int(header.get("errors")),
        },
        {
            "total": sum(got.values()),
            "passed": got["pass"],
            "failed": got["fail"],
            "skipped": got["skip"],
            "not-run": got["notrun"],
            "errors": assembly.errors,
        },
    )


__all__ = ["FORMATS", "parse", "sniff"]

"""Check (libcheck, the C unit testing framework) XML: ``srunner_set_xml`` or the
``CK_XML_LOG_FILE_NAME`` environment variable.

``<testsuites xmlns="http://check.sourceforge.net/ns">`` holds ``<suite>`` elements (a
``<title>`` and ``<test result="success|failure|error">`` elements with ``<path>``,
``<fn>`` (file:line), ``<id>`` (the test function), ``<iteration>``, ``<duration>``,
``<description>`` (the test case, ``TCase``) and ``<message>``), between a
``<datetime>`` and the run's ``<duration>``.

A test is named ``Suite.TCase.function``, as Check's console writes ``TCase:function``
under its suite. The iterations of a loop test (``tcase_add_loop_test``) are written as
consecutive tests with the same function and their own ``<iteration>``: each is a record
named ``Suite.TCase.function:N`` (Check's console writes ``function:N`` too).

Quirks of Check (0.15) that shaped the rules:

* ``error`` is a test that did not finish: a signal (``Received signal 11``), an early
  ``exit()``, a timeout. It is Failed (``metadata.result = "error"``). Its duration is
  ``-1.000000`` (unknown).
* Check has no skip: a test filtered out (``CK_RUN_CASE``, tags) is not written.
* The XML escaping drops every byte that is not ASCII from messages (``"ünïcödé"``
  becomes ``"ncd"``); names are written raw.
* ``<datetime>`` is local time without a zone (``--timezone`` applies); tests start
  there, one after the other, with their durations.
* Output is not captured. In no-fork mode (``CK_FORK=no``) a crash ends the process and
  the report stops mid-way (refused with its line; ``--salvage`` keeps what was read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native_xml import (
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
from junit2af.records import SourceRef, Status, TestRecord

NAMESPACE = "http://check.sourceforge.net/ns"
FORMATS = (Format("check-xml", "Check (libcheck) XML", "libcheck", producers="Check"),)
_EARLIEST = datetime(1980, 1, 1)


def sniff(head: Head) -> str | None:
    """Check XML: a ``<testsuites>`` root in Check's namespace."""
    root = head.xml_root
    if root is not None and root.local == "testsuites" and root.namespace == NAMESPACE:
        return "check-xml"
    return None


@dataclass
class _Test:
    suite: str
    tcase: str
    function: str
    iteration: int | None
    result: str
    fn: str | None
    path: str | None
    duration_ms: int | None
    message: str | None
    line: int | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.suite, self.tcase, self.function)


class _State:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.suite = ""
        self.pending: list[_Test] = []  # consecutive tests of one function
        self.loop = False  # the pending function has several iterations
        self.tests = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one record per test (and loop iteration) of a Check XML report."""
    ctx = Context(source, options, "check-xml")
    state = _State(ctx)

    def check_root(root: etree._Element) -> None:
        if local(root.tag) != "testsuites" or not str(root.tag).startswith("{" + NAMESPACE):
            raise InputError(
                ctx.report,
                f"not a Check XML report (root element <{local(root.tag)}> "
                f"in namespace {etree.QName(root).namespace or 'none'!r})",
                line=root.sourceline,
            )

    reader = XmlReader(stream, ctx, check_root)
    yield from salvage(ctx, reader, _records(state, reader), pending=lambda: _flush(state))
    if state.tests == 0 and not ctx.warned:
        ctx.warn("the report holds no tests")


def _records(state: _State, reader: XmlReader) -> Iterator[TestRecord]:
    ctx = state.ctx
    for event, element in reader.events():
        if event != "end":
            continue
        tag = local(element.tag)
        parent = element.getparent()
        parent_tag = local(parent.tag) if parent is not None else ""
        if tag == "datetime" and parent_tag == "testsuites":
            ctx.start = _datetime(ctx, element.text)
            ctx.time_source = "report" if ctx.start is not None else None
            release(element)
        elif tag == "title" and parent_tag == "suite":
            state.suite = short(ctx.text(element), 1000) or ""
        elif tag == "test" and parent_tag == "suite":
            if ctx.start is None:
                ctx.use_file_clock()
            test = _read_test(ctx, state.suite, element)
            release(element)
            state.tests += 1
            yield from _add(state, test)
        elif tag == "suite":
            yield from _flush(state)
            state.suite = ""
            release(element)
    yield from _flush(state)


def _datetime(ctx: Context, raw: str | None) -> datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        ctx.warn_once("bad-timestamp", f"<datetime> {raw.strip()[:60]!r} is not a date; ignored")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.options.timezone)
    return None if value.replace(tzinfo=None) < _EARLIEST else value


def _read_test(ctx: Context, suite: str, element: etree._Element) -> _Test:
    fields: dict[str, str] = {}
    for child in element:
        name = local(child.tag)
        if name and name not in fields:
            fields[name] = ctx.text(child) if name == "message" else (short(child.text) or "")
    return _Test(
        suite=suite,
        tcase=short(fields.get("description"), 1000) or "",
        function=short(fields.get("id"), 1000) or "",
        iteration=as_int(fields.get("iteration")),
        result=(element.get("result") or "").strip().lower(),
        fn=fields.get("fn") or None,
        path=fields.get("path") or None,
        duration_ms=seconds_to_ms(fields.get("duration")),
        message=fields.get("message") or None,
        line=element.sourceline,
    )


def _add(state: _State, test: _Test) -> Iterator[TestRecord]:
    """Hold a test until the next one says whether its function is a loop test."""
    if state.pending and state.pending[-1].key == test.key:
        if not state.loop:
            state.loop = True
            for earlier in state.pending:
                yield _record(state.ctx, earlier, loop=True)
            state.pending = [test]
        yield _record(state.ctx, test, loop=True)
        state.pending = [test]
        return
    yield from _flush(state)
    state.pending = [test]


def _flush(state: _State) -> Iterator[TestRecord]:
    if state.pending and not state.loop:
        for test in state.pending:
            # A lone iteration other than 0 is a loop test with a one-value range.
            yield _record(state.ctx, test, loop=bool(test.iteration))
    state.pending = []
    state.loop = False


def _record(ctx: Context, test: _Test, *, loop: bool) -> TestRecord:
    name = ".".join(part for part in (test.suite, test.tcase, test.function) if part)
    if loop and test.iteration is not None:
        name += f":{test.iteration}"
    metadata: dict[str, Any] = {
        "suite": test.suite,
        "tcase": test.tcase,
        "function": test.function,
        "result": test.result,
    }
    if test.iteration is not None and loop:
        metadata["iteration"] = test.iteration
    if test.fn:
        file, _, line = test.fn.rpartition(":")
        if file and line.isdigit():
            metadata["file"], metadata["line"] = file, int(line)
        else:
            metadata["fn"] = test.fn
    if test.path and test.path != ".":
        metadata["path"] = test.path
    if test.result == "success":
        status, message = Status.PASSED, None
    elif test.result in ("failure", "error"):
        status = Status.FAILED
        message = test.message or f"Check reports {test.result} without a message"
    else:
        status = Status.FAILED
        message = f"unknown Check result {test.result!r}: {test.message or ''}".strip()
    return ctx.record(
        name,
        status,
        line=test.line,
        duration_ms=test.duration_ms,
        message=message,
        metadata=metadata,
    )

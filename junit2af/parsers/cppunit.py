"""CppUnit's XML (``CppUnit::XmlOutputter``).

``<TestRun>`` holds ``<FailedTests>`` (``<FailedTest id>`` with ``<Name>``,
``<FailureType>Assertion|Error</FailureType>``, ``<Location><File><Line>`` and
``<Message>``), then ``<SuccessfulTests>`` (``<Test id><Name>``), then
``<Statistics>`` (``Tests``, ``FailuresTotal``, ``Errors``, ``Failures``), which are
compared with the tests read (a warning when they disagree).

Records come in the report's order (failures first); ``id`` is the run order and is kept
in metadata (``test_id``). Names are CppUnit's own, ``Fixture::testMethod``.

Quirks of CppUnit (1.15) that shaped the rules:

* ``Error`` is an uncaught exception (also in ``setUp``, which CppUnit reports as the
  test's error: ``setUp() failed``); ``Assertion`` is a failed assertion or a missing
  expected exception. Both are Failed; ``metadata.failure_type`` says which.
* There is no skip, no time and no captured output in CppUnit's XML: records start at
  the file's mtime and have no duration.
* ``<Location>`` is only written when the failure has one (not for exceptions).
* The root element shares its name with Visual Studio's TRX ``<TestRun>``, which is in
  the TeamTest namespace; CppUnit's has no namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native_xml import (
    Context,
    XmlReader,
    as_int,
    first_line,
    local,
    release,
    salvage,
    short,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status, TestRecord

FORMATS = (Format("cppunit-xml", "CppUnit XML", "cppunit", producers="CppUnit XmlOutputter"),)


def sniff(head: Head) -> str | None:
    """CppUnit XML: a ``<TestRun>`` root in no namespace (TRX's is namespaced)."""
    root = head.xml_root
    if root is not None and root.local == "TestRun" and not root.namespace:
        return "cppunit-xml"
    return None


class _Tally:
    def __init__(self) -> None:
        self.tests = 0
        self.errors = 0
        self.failures = 0


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one record per test of a CppUnit XML report read from ``stream``."""
    ctx = Context(source, options, "cppunit-xml")
    ctx.use_file_clock()
    tally = _Tally()

    def check_root(root: etree._Element) -> None:
        if local(root.tag) != "TestRun" or etree.QName(root).namespace:
            raise InputError(
                ctx.report,
                f"not a CppUnit XML report (root element <{local(root.tag)}>"
                + (" in a namespace: Visual Studio TRX?)" if etree.QName(root).namespace else ")"),
                line=root.sourceline,
            )

    reader = XmlReader(stream, ctx, check_root)
    yield from salvage(ctx, reader, _records(ctx, reader, tally))
    if tally.tests == 0 and not ctx.warned:
        ctx.warn("the report holds no tests")


def _records(ctx: Context, reader: XmlReader, tally: _Tally) -> Iterator[TestRecord]:
    for event, element in reader.events():
        if event != "end":
            continue
        tag = local(element.tag)
        parent = element.getparent()
        parent_tag = local(parent.tag) if parent is not None else ""
        if tag == "FailedTest" and parent_tag == "FailedTests":
            tally.tests += 1
            record = _failed(ctx, element)
            if record.metadata.get("failure_type") == "Error":
                tally.errors += 1
            else:
                tally.failures += 1
            release(element)
            yield record
        elif tag == "Test" and parent_tag == "SuccessfulTests":
            tally.tests += 1
            name = _child_text(element, "Name") or ""
            metadata, line = _id(element), element.sourceline
            release(element)
            yield ctx.record(name, Status.PASSED, line=line, metadata=metadata)
        elif tag == "Statistics" and parent_tag == "TestRun":
            _compare(ctx, element, tally)
            release(element)
        elif tag in ("FailedTests", "SuccessfulTests"):
            release(element)


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if local(child.tag) == name:
            return short((child.text or "").strip(), 1000)
    return None


def _id(element: etree._Element) -> dict[str, Any]:
    test_id = as_int(element.get("id"))
    return {"test_id": test_id} if test_id is not None else {}


def _failed(ctx: Context, element: etree._Element) -> TestRecord:
    metadata = _id(element)
    name = ""
    message = ""
    for child in element:
        child_tag = local(child.tag)
        if child_tag == "Name":
            name = short((child.text or "").strip(), 1000) or ""
        elif child_tag == "FailureType":
            metadata["failure_type"] = short((child.text or "").strip(), 100)
        elif child_tag == "Location":
            file, line = _child_text(child, "File"), _child_text(child, "Line")
            if file:
                metadata["file"] = file
            if line and line.isdigit():
                metadata["line"] = int(line)
        elif child_tag == "Message":
            message = ctx.text(child, strip=False).strip("\n")
    # CppUnit's message is "assertion failed\n- Expression: ...\n- detail": its first
    # line alone says little, so the error message keeps the whole (short) text.
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    summary = "; ".join(lines) if lines else None
    kind = metadata.get("failure_type") or "failure"
    where = ""
    if metadata.get("file"):
        where = f"{metadata['file']}:{metadata.get('line', '')}: "
    text = f"{where}{kind}\n{message}" if message else None
    return ctx.record(
        name,
        Status.FAILED,
        line=element.sourceline,
        message=summary or first_line(message) or f"CppUnit {kind} without a message",
        failure_text=text if text and "\n" in message.strip() else None,
        metadata=metadata,
    )


def _compare(ctx: Context, element: etree._Element, tally: _Tally) -> None:
    """CppUnit's <Statistics> against the tests read (an edited or cut report)."""
    claimed = {local(child.tag): as_int((child.text or "").strip()) for child in element}
    read = {
        "Tests": tally.tests,
        "FailuresTotal": tally.errors + tally.failures,
        "Errors": tally.errors,
        "Failures": tally.failures,
    }
    differ = [
        f"{key}={claimed[key]} but {value} read"
        for key, value in read.items()
        if claimed.get(key) is not None and claimed[key] != value
    ]
    if differ:
        ctx.warn("CppUnit's <Statistics> disagree with its tests: " + ", ".join(differ))

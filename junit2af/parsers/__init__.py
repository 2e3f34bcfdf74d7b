"""The format registry: every report format junit2af reads, and detection by content.

Each format family is one module of this package with three things at module level:

* ``FORMATS``: the :class:`Format` entries it provides (name, title, how to sniff);
* ``sniff(head: Head) -> str | None``: the name of the format of a stream's first bytes,
  or None when the bytes are not this family's;
* ``parse(stream, source, options) -> Iterator[TestRecord]``: the parser (a generator;
  see :mod:`junit2af.parsers.base` for the convention). A family with several formats
  may instead give each :class:`Format` its own ``parser`` attribute name.

Detection asks every family in :data:`FAMILIES` order (more specific sniffs first) and
takes the first answer; ``--format NAME`` skips detection. Adding a format is one module,
one line in :data:`FAMILIES`, fixtures and golden tests.

Formats junit2af recognises but does not read are listed in :data:`LOOKS_LIKE`, so that a
refusal names what the file looks like and the nearest supported way.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import BinaryIO

from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, TestRecord

Parser = Callable[[BinaryIO, SourceRef, ParseOptions], Iterator[TestRecord]]

#: How many bytes of a stream detection looks at.
SNIFF_BYTES = 8192

#: Format families, in detection order: module names under ``junit2af.parsers``.
FAMILIES: tuple[str, ...] = (
    "trx",
    "nunit",
    "xunit_net",
    "robot",
    "catch2",
    "googletest_json",
    "libcheck",
    "cppunit",
    "boost_test",
    "qttest",
    "junit",
    "rspec",
    "libtest",
    "allure",
    "pytest_json",
    "reportlog",
    "jest_json",
    "mocha_json",
    "playwright_json",
    "cucumber",
    "gotest",
    "tap",
)


@dataclass(frozen=True)
class Format:
    """One readable format: ``name`` is what ``--format`` takes."""

    name: str
    title: str  # e.g. "JUnit XML"
    family: str  # module name under junit2af.parsers
    #: the name of the parse function in the family's module
    parser: str = "parse"
    #: what writes it, for ``junit2af formats`` and the README
    producers: str = ""

    def load(self) -> Parser:
        parse: Parser = getattr(_module(self.family), self.parser)
        return parse


class Head:
    """The first bytes of a stream, with the views every sniff needs computed once."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    @cached_property
    def text(self) -> bytes:
        """The bytes as UTF-8, without BOM and leading white space (UTF-16 and UTF-32
        transcoded)."""
        data = self.raw
        # UTF-32 first: its little-endian BOM starts like UTF-16's.
        if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            try:
                data = data[: len(data) - len(data) % 4]
                data = data.decode("utf-32", "ignore").encode("utf-8")
            except UnicodeError:
                return b""
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                # A cut in the middle of a code unit or surrogate pair: drop the tail.
                data = data[: len(data) - len(data) % 2]
                data = data.decode("utf-16", "ignore").encode("utf-8")
            except UnicodeError:
                return b""
        return data.lstrip(b"\xef\xbb\xbf \t\r\n")

    @cached_property
    def lines(self) -> list[bytes]:
        """The first 50 lines, each stripped."""
        return [line.strip() for line in self.text.splitlines()[:50]]

    @cached_property
    def xml_root(self) -> XmlRoot | None:
        """The root element's name and namespace, when the stream starts as XML."""
        return XmlRoot.find(self.text) if self.text.startswith(b"<") else None

    @property
    def is_json_object(self) -> bool:
        return self.text.startswith(b"{")

    @property
    def is_json_array(self) -> bool:
        return self.text.startswith(b"[")

    @cached_property
    def first_line(self) -> bytes:
        return self.text.split(b"\n", 1)[0]

    def is_empty(self) -> bool:
        return not self.text.strip()


_PROLOG = re.compile(
    rb"""\s*(?:<\?.*?\?>            # declaration, processing instructions
            |<!--.*?-->             # comments
            |<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>   # a doctype, with an internal subset
            )""",
    re.VERBOSE | re.DOTALL,
)
_START_TAG = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)")
_XMLNS = re.compile(rb"""\bxmlns(?::([\w.-]+))?\s*=\s*(["'])(.*?)\2""", re.DOTALL)


@dataclass(frozen=True)
class XmlRoot:
    """The root element as written: ``local`` name, ``namespace`` URI ('' for none)."""

    local: str
    namespace: str
    attributes: bytes  # the start tag's raw attribute text (maybe cut at SNIFF_BYTES)

    @classmethod
    def find(cls, text: bytes) -> XmlRoot | None:
        position = 0
        while True:
            match = _PROLOG.match(text, position)
            if not match or match.end() == position:
                break
            position = match.end()
        tag = _START_TAG.match(text, position)
        if not tag:
            return None
        qualified = tag.group(1).decode("ascii", "replace")
        prefix, _, local = qualified.rpartition(":")
        namespaces = {
            (m.group(1) or b"").decode("ascii", "replace"): m.group(3).decode("utf-8", "replace")
            for m in _XMLNS.finditer(tag.group(2))
        }
        return cls(local, namespaces.get(prefix, ""), tag.group(2))

    def attribute(self, name: str) -> str | None:
        match = re.search(
            rb"\b" + re.escape(name.encode()) + rb"""\s*=\s*(["'])(.*?)\1""", self.attributes
        )
        return match.group(2).decode("utf-8", "replace") if match else None


@dataclass(frozen=True)
class LooksLike:
    """A format junit2af recognises but does not read, and what to do instead."""

    title: str
    advice: str = ""

    def message(self) -> str:
        text = f"not supported: looks like {self.title}"
        return f"{text} ({self.advice})" if self.advice else text


def _xml_root_is(*names: str) -> Callable[[Head], bool]:
    def test(head: Head) -> bool:
        root = head.xml_root
        return root is not None and root.local in names

    return test


def _text_has(*patterns: bytes) -> Callable[[Head], bool]:
    """True when a line of the first bytes matches one of ``patterns`` (multiline)."""
    compiled = [re.compile(pattern, re.MULTILINE) for pattern in patterns]

    def test(head: Head) -> bool:
        return any(pattern.search(head.text) for pattern in compiled)

    return test


#: Recognised but not read, asked in order after every family declined.
LOOKS_LIKE: tuple[tuple[Callable[[Head], bool], LooksLike], ...] = (
    (
        _text_has(rb"^DONE \d+ (?:runs?, )?\d+ tests?"),
        LooksLike("a gotestsum console log", "write `gotestsum --jsonfile report.json`"),
    ),
    (
        _text_has(rb"^(?:=== RUN   |--- (?:PASS|FAIL|SKIP): |FAIL\t\S|ok  \t\S)"),
        LooksLike("`go test` text output", "write `go test -json ./... > report.json`"),
    ),
    (
        _text_has(rb"^Test Suites: ", rb"^(?:PASS|FAIL) \S+\.(?:test|spec)\.[cm]?[jt]sx?\b"),
        LooksLike("a Jest console log", "write `jest --json --outputFile=report.json`"),
    ),
    (
        _text_has(rb"^ *(?:Test Files|Tests) {2,}\d+ (?:passed|failed)", rb"^ *RUN +v\d+\.\d+"),
        LooksLike(
            "a Vitest console log", "write `vitest run --reporter=json --outputFile=report.json`"
        ),
    ),
    (
        _text_has(rb"^ +\d+ passing \(\d+m?s\)"),
        LooksLike(
            "a mocha console log",
            "write `mocha --reporter json --reporter-option output=report.json`",
        ),
    ),
    (
        _text_has(rb"^Running \d+ tests? using \d+ workers?"),
        LooksLike(
            "a Playwright console log",
            "write `PLAYWRIGHT_JSON_OUTPUT_FILE=report.json playwright test --reporter=json`",
        ),
    ),
    (
        _text_has(rb"^\d+ scenarios? \((?:\d+ \w+(?:, )?)+\)"),
        LooksLike(
            "a Cucumber console log",
            "write `--format json:report.json` or `--format message:report.ndjson`",
        ),
    ),
    (
        _text_has(rb"^\d+ (?:features?|scenarios?) passed, \d+ failed"),
        LooksLike("a behave console log", "write `behave -f json -o report.json`"),
    ),
    (
        _xml_root_is("Site"),
        LooksLike("CTest Test.xml", "use `ctest --output-junit report.xml`"),
    ),
    (_xml_root_is("result"), LooksLike("Jenkins junitResult.xml")),
    (
        _xml_root_is("Environment"),
        LooksLike("QtTest lightxml (no root element)", "write `-o file.xml,xml`"),
    ),
    (
        _xml_root_is("suites"),
        LooksLike("a JUnit-like but non-JUnit schema (<suites>/<suite>/<case>)"),
    ),
)


@functools.cache
def _module(family: str) -> ModuleType:
    return importlib.import_module(f"junit2af.parsers.{family}")


def families() -> Iterator[ModuleType]:
    for family in FAMILIES:
        yield _module(family)


def formats() -> list[Format]:
    """Every readable format, in detection order."""
    return [entry for module in families() for entry in module.FORMATS]


def format_names() -> list[str]:
    return [entry.name for entry in formats()]


def get_format(name: str) -> Format:
    """The format called ``name``; :class:`KeyError` when there is none."""
    for entry in formats():
        if entry.name == name:
            return entry
    raise KeyError(name)


@dataclass(frozen=True)
class Detection:
    """What a stream's first bytes look like: a readable format, or why not."""

    format: Format | None = None
    looks_like: LooksLike | None = None
    #: for XML that no family claimed: its root element, to name it in the refusal
    xml_root: XmlRoot | None = None


def detect(head: bytes | Head) -> Detection:
    """The format of a stream from its first bytes (at least :data:`SNIFF_BYTES`)."""
    if not isinstance(head, Head):
        head = Head(head)
    for module in families():
        name = module.sniff(head)
        if name is not None:
            return Detection(format=get_format(name))
    for test, looks in LOOKS_LIKE:
        if test(head):
            return Detection(looks_like=looks)
    return Detection(xml_root=head.xml_root)


__all__ = [
    "FAMILIES",
    "Detection",
    "Format",
    "Head",
    "LooksLike",
    "Parser",
    "XmlRoot",
    "detect",
    "format_names",
    "formats",
    "get_format",
]

"""Hardened XML reading shared by every XML parse path.

lxml is always handed an open stream (never a file name: libxml2 would silently gunzip it
or fetch it), with entity resolution, DTD loading and network access switched off
explicitly. ``huge_tree`` is on because a 50 MB ``<system-out>`` is real; libxml2's own
depth limit goes with it, so :func:`iter_events` enforces a depth limit itself.

The stream passes through :class:`SanitizingReader` first: test output is full of bytes
that XML 1.0 forbids (ANSI escapes, NULs from crashed binaries, Latin-1 in a file that
claims UTF-8). Rather than refuse a whole report for one stray byte, those characters are
replaced with U+FFFD and the parser warns once per file, leaving the rest of the text
untouched.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from lxml import etree

from junit2af.errors import InputError

#: The options every XML parse in junit2af uses. Keep them explicit: lxml's defaults
#: already resolve no external entities, but a reader of this code should not have to know.
SAFE_XML_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": True,
    "remove_comments": True,
    "remove_pis": True,
}

MAX_DEPTH = 256
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_CHUNK = 256 * 1024
#: Most elements the tree may hold at once. Parsers free what they have read, so a real
#: report holds a few (a test case and its children); an element with a million unread
#: children (held by libxml2 until its parent is freed, ~400 bytes each) is refused.
MAX_HELD_ELEMENTS = 250_000
#: Most attributes the tree may hold at once (~240 bytes each in libxml2, ~60 MB): the
#: element cap alone let 9000 held elements of 990 attributes each cost 2 GB. A real
#: report holds a few dozen (a test case's, its children's); a suite's ``<properties>``,
#: held until it ends, two per property.
MAX_HELD_ATTRIBUTES = 250_000
#: Longest run of bytes without a ``<`` (a text node, an attribute value) passed to lxml:
#: what is kept of a cut run (at most a chunk more, and the marker) stays within the 32 MB
#: a text is cut at anyway (``ParseOptions.max_text_bytes``), so it is cut once.
MAX_RUN_BYTES = 32 * 1024 * 1024 - 2 * _CHUNK

# Characters XML 1.0 forbids, as raw text: C0 controls but tab, LF and CR, the
# non-characters U+FFFE/U+FFFF, and the lone surrogates that stand for bytes that were not
# UTF-8 (decoded with ``surrogateescape``).
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\udc80-\udcff]")
# ...and the same written as character references (``&#x1B;`` from escaped ANSI colours).
_CHAR_REF = re.compile(r"&\#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
#: byte order marks, longest first (UTF-32 LE starts like UTF-16 LE)
_UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_DECLARED_ENCODING = re.compile(
    rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])"""
)
_ENCODING_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _valid_xml_code_point(value: int) -> bool:
    return (
        value in (0x9, 0xA, 0xD)
        or 0x20 <= value <= 0xD7FF
        or 0xE000 <= value <= 0xFFFD
        or 0x10000 <= value <= 0x10FFFF
    )


class SanitizingReader:
    """A binary stream wrapper that makes a UTF-8 document valid XML character data.

    Only documents that are (or claim to be) UTF-8 are rewritten; UTF-16/32 (BOM) and
    documents declaring another encoding pass through untouched and lxml judges them.

    Most reports are clean, so each chunk is first checked with C-speed byte operations
    (``isascii``/strict UTF-8 decoding, deleting the forbidden control bytes with
    ``bytes.translate``, a search for character references): a clean chunk passes through
    as it is. Only a chunk holding something to replace is decoded (``surrogateescape``),
    cleaned and encoded again. Chunks are cut where no UTF-8 sequence and no character
    reference is split, so both paths give the bytes the whole document would give.
    """

    def __init__(self, raw: BinaryIO, max_run_bytes: int = MAX_RUN_BYTES) -> None:
        self._raw = raw
        self.replaced = 0  # characters replaced, for the warning
        #: bytes cut from runs longer than max_run_bytes, and how many runs: for the warning
        self.cut_bytes = 0
        self.cut_runs = 0
        self._max_run = max_run_bytes
        self._run = 0  # bytes since the last '<' that were passed on
        self._cutting = False  # inside a run that is being cut
        #: the tree being built and its file, once the root has started (see :meth:`watch`)
        self._tree_root: Any = None
        self._path = ""
        self.max_held = MAX_HELD_ELEMENTS
        self.max_held_attributes = MAX_HELD_ATTRIBUTES
        self._fed = False  # bytes passed on since the tree was last counted
        self.bom_conflict: str | None = None  # the declared encoding a BOM overrides
        self._carry = b""  # bytes held back: a UTF-8 sequence or char reference may be split
        self._out: list[bytes] = []
        self._eof = False
        head = raw.read(_CHUNK)
        self.bom_conflict = _bom_conflict(head)
        #: UTF-16/32 (a BOM says so): decoded here and passed on as UTF-8, so that the
        #: same checks and cuts apply (its declaration is rewritten to say UTF-8)
        self._decoder: codecs.IncrementalDecoder | None = None
        self._redeclare = False
        for bom, codec in _UNICODE_BOMS:
            if head.startswith(bom):
                self._decoder = codecs.getincrementaldecoder(codec)(errors="replace")
                self._redeclare = True
                break
        self._passthrough = self._decoder is None and self._is_foreign_encoding(head)
        self._head: bytes | None = head[len(bom) :] if self._decoder is not None else head
        #: the first bytes of the raw stream (for :func:`root_local_name`)
        self.head = head

    @staticmethod
    def _is_foreign_encoding(head: bytes) -> bool:
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        match = _ENCODING_DECL.match(head[:512])
        if match is None:
            return False
        name = match.group(1).decode("ascii").lower().replace("_", "-")
        return name not in ("utf-8", "utf8", "us-ascii", "ascii")

    def _fix_char_ref(self, match: re.Match[str]) -> str:
        hex_digits, dec_digits = match.groups()
        value = int(hex_digits, 16) if hex_digits else int(dec_digits)
        if _valid_xml_code_point(value):
            return match.group(0)
        self.replaced += 1
        return "\ufffd"

    def _clean(self, text: str) -> str:
        cleaned, count = _INVALID_CHARS.subn("\ufffd", text)
        self.replaced += count
        if "&#" in cleaned:
            cleaned = _CHAR_REF.sub(self._fix_char_ref, cleaned)
        return cleaned

    def _sanitized(self, data: bytes) -> bytes:
        """``data`` (no split sequence at either end) as valid XML character data."""
        if _is_clean(data):
            return data
        return self._clean(data.decode("utf-8", "surrogateescape")).encode("utf-8")

    def notes(self) -> list[str]:
        """The warnings (without the file name) for what reading changed: an encoding the
        BOM overrode, texts cut short, characters replaced."""
        said = []
        if self.bom_conflict:
            said.append(
                f"the byte order mark contradicts encoding={self.bom_conflict!r} in the XML "
                "declaration; read as the BOM says"
            )
        if self.cut_runs:
            said.append(
                f"{self.cut_runs} text(s) longer than {self._max_run} bytes; {self.cut_bytes} "
                "bytes cut from their middle, marked [junit2af: text cut here]"
            )
        if self.replaced:
            said.append(
                f"replaced {self.replaced} invalid character(s) (control characters or bytes "
                "that are not UTF-8) with U+FFFD"
            )
        return said

    def watch(self, root: Any, path: str) -> None:
        """Count the elements of ``root``'s tree before each chunk is passed on, and
        refuse the document when more than :attr:`max_held` are held at once."""
        self._tree_root = root
        self._path = path

    def _check_held(self) -> None:
        """Refuse a tree holding more than :attr:`max_held` elements or
        :attr:`max_held_attributes` attributes, at the line of the last element read."""
        self._fed = False
        # XPath counts in C: a few microseconds for the handful a real report holds.
        root = self._tree_root
        held = int(root.xpath("count(//*)"))
        if held > self.max_held:
            raise InputError(
                self._path,
                f"more than {self.max_held} elements held at once (an element with a "
                "great many children that no test reads?); refused",
                line=_last_line(root),
            )
        attributes = int(root.xpath("count(//@*)"))
        if attributes > self.max_held_attributes:
            raise InputError(
                self._path,
                f"more than {self.max_held_attributes} attributes on the elements held at "
                "once (elements with a great many attributes that no test reads?); refused",
                line=_last_line(root),
            )

    def _bounded(self, chunk: bytes) -> bytes:
        """``chunk`` with any run of bytes without ``<`` cut at ``max_run_bytes``.

        libxml2 holds a text node (or an attribute value) whole before the parser sees it,
        so a 200 MB ``<system-out>`` would cost its size several times over: the middle of
        such a run is dropped here, as it streams, keeping its head, a marker and the bytes
        before the next ``<``. The cut lands where no UTF-8 sequence or entity reference is
        split; a run that was the inside of a tag makes the document malformed, and it is
        refused as such.
        """
        first_lt = chunk.find(b"<")
        if not self._cutting:
            if first_lt == -1 and self._run + len(chunk) > self._max_run:
                keep = _safe_cut(chunk[: self._max_run - self._run])
                self._cutting = True
                self.cut_runs += 1
                self.cut_bytes += len(chunk) - keep
                self._run += keep
                return chunk[:keep]
            if first_lt == -1:
                self._run += len(chunk)
            else:
                self._run = len(chunk) - chunk.rfind(b"<") - 1
            return chunk
        if first_lt == -1:
            self.cut_bytes += len(chunk)
            return b""
        # The run ends in this chunk: resume at a character that starts no split sequence.
        start = 0
        while start < first_lt and 0x80 <= chunk[start] < 0xC0:
            start += 1
        semicolon = chunk.find(b";", start, min(first_lt, start + 16))
        if semicolon != -1 and b"&" not in chunk[start:semicolon]:
            start = semicolon + 1  # the tail of an entity reference whose head was cut
        self.cut_bytes += start
        self._cutting = False
        self._run = len(chunk) - chunk.rfind(b"<") - 1
        return b"\n[junit2af: text cut here, over %d bytes]\n" % self._max_run + chunk[start:]

    def _next_chunk(self) -> bytes:
        """The next bytes of the document (UTF-8 when it was UTF-16/32); empty at its end."""
        chunk = self._head if self._head is not None else self._raw.read(_CHUNK)
        self._head = None
        if self._decoder is None:
            return chunk
        while True:
            text = self._decoder.decode(chunk, final=not chunk)
            if text or not chunk:
                break
            chunk = self._raw.read(_CHUNK)  # a chunk shorter than one character
        data = text.encode("utf-8")
        if self._redeclare and data:
            self._redeclare = False
            data = _DECLARED_ENCODING.sub(rb"\g<1>UTF-8\g<3>", data[:1024], count=1) + data[1024:]
        return data

    def _fill(self) -> None:
        # The tree grows only from bytes passed on: a run of text being cut (nothing
        # passed) is not counted again for each chunk of it.
        if self._tree_root is not None and self._fed:
            self._check_held()
        chunk = self._next_chunk()
        if chunk:
            # Any encoding that keeps ASCII's "<" (UTF-8, Latin-1, Shift_JIS...) can be cut.
            chunk = self._bounded(chunk)
            if not chunk:
                return  # the whole chunk was cut: read on
        if self._passthrough:
            if chunk:
                self._out.append(chunk)
                self._fed = True
            self._eof = not chunk
            return
        if not chunk:
            self._eof = True
            data, self._carry = self._carry, b""
        else:
            data = self._carry + chunk if self._carry else chunk
            cut = _safe_cut(data)
            data, self._carry = data[:cut], data[cut:]
        if data:
            self._out.append(self._sanitized(data))
            self._fed = True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all with -1); may return more than asked once a chunk is
        ready, which lxml's readers accept (they buffer the rest), and avoids copies."""
        while not self._eof and not self._out:
            self._fill()
        if size < 0:
            while not self._eof:
                self._fill()
        data = b"".join(self._out)
        self._out = []
        return data


def _last_line(root: Any) -> int | None:
    """The line of the last element of ``root``'s tree in document order (the one being
    read when a check of the held tree fails)."""
    node = root
    while len(node):
        node = node[-1]
    return node.sourceline if isinstance(node.sourceline, int) else None


#: The bytes XML 1.0 forbids in a UTF-8 document: C0 controls but tab, LF and CR.
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
#: Every byte but the forbidden controls and the two of a character reference: deleting
#: them leaves a short string of the bytes worth a look, in one C pass.
_NOT_SUSPECT = bytes(b for b in range(256) if b not in _CONTROL_BYTES + b"&#")
_CHAR_REF_BYTES = re.compile(rb"&\#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _is_clean(data: bytes) -> bool:
    """True when ``data`` needs no replacement: valid UTF-8, no control characters, no
    U+FFFE/U+FFFF, and no character reference to a code point XML forbids."""
    suspects = data.translate(None, _NOT_SUSPECT)
    if suspects:
        if suspects.translate(None, b"&#"):
            return False  # a control character
        # '&#' among the suspects only may be '&...#' in the text: look at the text.
        if b"&#" in suspects and b"&#" in data:
            for match in _CHAR_REF_BYTES.finditer(data):
                hex_digits, dec_digits = match.groups()
                value = int(hex_digits, 16) if hex_digits else int(dec_digits)
                if not _valid_xml_code_point(value):
                    return False
    if not data.isascii():
        try:
            data.decode("utf-8")  # lone surrogates (CESU-8) are refused here too
        except UnicodeDecodeError:
            return False
        if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:  # U+FFFE, U+FFFF
            return False
    return True


def _safe_cut(data: bytes) -> int:
    """Where ``data`` can be cut with no UTF-8 sequence or character reference split.

    The tail after the cut is held back and read with the next chunk: an incomplete
    UTF-8 sequence (a lead byte among the last three without all its continuation
    bytes) and a ``&`` near the end without its ``;``.
    """
    cut = len(data)
    for back in range(1, min(3, cut) + 1):
        byte = data[-back]
        if byte >= 0xC0:  # a lead byte: how long is its sequence?
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4 if byte < 0xF8 else 1
            if back < needed:
                cut -= back
            break
        if byte < 0x80:  # ASCII: nothing before it can be waiting for more
            break
    amp = data.rfind(b"&", max(0, cut - 16), cut)
    if amp != -1 and b";" not in data[amp:cut]:
        cut = amp
    return cut


def _bom_conflict(head: bytes) -> str | None:
    """The declared encoding when a byte order mark says otherwise (the BOM wins)."""
    boms = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
    for bom, name in boms.items():
        if head.startswith(bom):
            text = head[len(bom) :]
            if name == "utf-16":
                try:
                    text = head[:512].decode("utf-16").encode("ascii", "replace")
                except UnicodeDecodeError:
                    return None
            match = _ENCODING_DECL.match(text[:512])
            if match is None:
                return None
            declared = match.group(1).decode("ascii").lower().replace("_", "-")
            family = "utf-16" if declared.startswith("utf-16") else declared
            same = {"utf8": "utf-8", "ucs-2": "utf-16"}.get(family, family) == name
            return None if same else match.group(1).decode("ascii")
    return None


#: Most attributes read from one element: reports write a dozen; lxml lists an element's
#: attributes in time that grows with the square of their number.
MAX_ATTRIBUTES = 1000


def plain_attributes(element: Any, path: str) -> dict[str, str]:
    """An element's attributes as a dict, refusing an element with too many."""
    attrib = element.attrib
    if len(attrib) > MAX_ATTRIBUTES:  # len() is linear; items() is not
        raise InputError(
            path,
            f"an element with {len(attrib)} attributes (more than {MAX_ATTRIBUTES}); refused",
            line=element.sourceline,
        )
    return {k: v for k, v in attrib.items() if isinstance(k, str)}


def syntax_error(path: str, error: etree.XMLSyntaxError) -> InputError:
    """An :class:`InputError` naming the file, line and column of an lxml syntax error."""
    message = (error.msg or str(error)).strip()
    message = re.sub(r",? line \d+, column \d+$", "", message)
    line, column = error.position if error.position else (error.lineno, None)
    if message == "Unregistered error message" or "Premature end of data" in message:
        # libxml2's words for a document that stops mid-way (the runner crashed).
        return InputError(
            path,
            f"report truncated: unexpected end of data ({message})",
            line=line,
            column=column,
        )
    if "Document is empty" in message or "no element found" in message:
        return InputError(path, "empty or not an XML document", line=line or None)
    return InputError(path, f"not well-formed XML: {message}", line=line, column=column)


def iter_events(
    stream: BinaryIO | SanitizingReader,
    path: str,
    events: tuple[str, ...] = ("start", "end"),
    *,
    on_root: Callable[[etree._Element], None] | None = None,
) -> Iterator[tuple[str, etree._Element]]:
    """``lxml.etree.iterparse`` over ``stream`` with the hardening junit2af requires.

    Refuses documents whose DTD declares entities or points at an external DTD,
    XInclude elements, and nesting deeper than :data:`MAX_DEPTH`. ``on_root`` sees the
    root element at its start, before any other event (format checks).
    """
    wanted_start = "start" in events
    parser = etree.iterparse(stream, events=("start", "end"), **SAFE_XML_OPTIONS)
    depth = 0
    try:
        for event, element in parser:
            if event == "start":
                depth += 1
                if depth == 1:
                    _check_doctype(path, element)
                    if isinstance(stream, SanitizingReader):
                        stream.watch(element, path)
                    if on_root is not None:
                        on_root(element)
                if depth > MAX_DEPTH:
                    raise InputError(
                        path,
                        f"elements nested deeper than {MAX_DEPTH} levels; refused",
                        line=element.sourceline,
                    )
                if isinstance(element.tag, str) and element.tag.startswith("{" + XINCLUDE_NS):
                    raise InputError(
                        path,
                        "XInclude is not allowed in a report; refused",
                        line=element.sourceline,
                    )
                if wanted_start:
                    yield event, element
            else:
                depth -= 1
                yield event, element
    except etree.XMLSyntaxError as error:
        raise syntax_error(path, error) from None


def _check_doctype(path: str, root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.system_url or docinfo.public_id:
        raise InputError(path, "the document references an external DTD; refused", line=1)
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise InputError(
            path,
            "the document's DTD declares entities (entity expansion attack?); refused",
            line=1,
        )


def root_local_name(head: bytes) -> str | None:
    """The local name of the root element when its start tag is within ``head``.

    None when it is not, or when ``head`` is not well-formed up to it (the caller then
    reads the document with :func:`iter_events`, which says what is wrong). The probe is
    a throwaway parser with the same hardened options.
    """
    probe = etree.XMLPullParser(events=("start",), **SAFE_XML_OPTIONS)
    try:
        for offset in range(0, len(head), 8192):
            probe.feed(head[offset : offset + 8192])
            for _, element in probe.read_events():
                tag = element.tag
                return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None
    except etree.XMLSyntaxError:
        return None
    return None


class HardenedTree:
    """Hardened ``iterparse`` that hands Python only the elements named in ``tags``.

    The tag filter runs in C: the elements in between (a test case's output, its
    ``<skipped>``, unknown elements) cost no Python at all, where :func:`iter_events`
    makes two Python iterations of every element. The checks :func:`iter_events` makes at
    each start tag (nesting depth, XInclude) are made here on every element as it leaves
    the tree: the caller calls :meth:`before_release` on each element it frees (which
    checks it, its subtree and the preceding siblings the release deletes), and
    :meth:`finish` at the end. A document that breaks them is refused with the same
    message and the line of the same element, only later: when the enclosing element is
    released rather than at the offending start tag (libxml2 stops at 2048 levels
    itself, so a deep document cannot grow unchecked meanwhile). The root element must
    be one of ``tags`` (see :func:`root_local_name`): the caller passes it to
    :meth:`start_root` at its start event, for the DOCTYPE checks.

    Iterate :attr:`events` directly (no generator in between): it yields ``("start",
    element)``, ``("end", element)`` and ``("start-ns", (prefix, uri))``, the last to be
    passed to :meth:`declared`. ``lxml.etree.XMLSyntaxError`` is for the caller to turn
    into :func:`syntax_error`.

    With ``tags=None`` it is :func:`iter_events` (every element, each checked at its start
    tag) with the same interface; :meth:`before_release` then only keeps what
    :meth:`last_started_line` needs.
    """

    def __init__(
        self,
        stream: BinaryIO | SanitizingReader,
        path: str,
        tags: tuple[str, ...] | None,
        *,
        on_root: Callable[[etree._Element], None] | None = None,
    ) -> None:
        self.path = path
        self.filtered = tags is not None
        self._on_root = on_root
        self.events: Iterator[tuple[str, Any]]
        if tags is not None:
            self.events = etree.iterparse(
                stream, events=("start", "end", "start-ns"), tag=tags, **SAFE_XML_OPTIONS
            )
        else:
            self.events = iter_events(stream, path, on_root=self._keep_root)
        #: the XInclude namespace was declared: element names are checked
        self.xinclude_declared = False
        self._root: etree._Element | None = None
        self._parent: etree._Element | None = None  # the last parent whose depth is known
        self._parent_depth = 0
        self._released: etree._Element | None = None  # the last element released...
        self._released_leaf: etree._Element | None = None  # ...and its last descendant
        self._stream = stream

    def _keep_root(self, root: etree._Element) -> None:
        self._root = root
        if self._on_root is not None:
            self._on_root(root)

    def start_root(self, root: etree._Element) -> None:
        """The root's start event (filtered mode): DOCTYPE checks, then ``on_root``."""
        if self.filtered:
            _check_doctype(self.path, root)
            self.check_name(root)
            if isinstance(self._stream, SanitizingReader):
                self._stream.watch(root, self.path)
            self._keep_root(root)

    def declared(self, namespace: tuple[str, str]) -> None:
        """A ``start-ns`` event: an XInclude declaration turns on the name checks."""
        if namespace[1].startswith(XINCLUDE_NS):
            self.xinclude_declared = True

    def check_name(self, element: etree._Element) -> None:
        """Refuse an XInclude element (only once the namespace has been declared)."""
        if self.xinclude_declared:
            tag = element.tag
            if isinstance(tag, str) and tag.startswith("{" + XINCLUDE_NS):
                raise InputError(
                    self.path,
                    "XInclude is not allowed in a report; refused",
                    line=element.sourceline,
                )

    def _too_deep(self, element: etree._Element) -> InputError:
        return InputError(
            self.path,
            f"elements nested deeper than {MAX_DEPTH} levels; refused",
            line=element.sourceline,
        )

    def _depth(self, element: etree._Element) -> tuple[etree._Element | None, int]:
        """The parent of ``element`` and the depth of ``element`` (the root's is 1)."""
        parent = element.getparent()
        if parent is None:
            return None, 1
        if parent is not self._parent:
            self._parent = parent
            self._parent_depth = 1 + sum(1 for _ in parent.iterancestors())
        return parent, self._parent_depth + 1

    def _too_deep_at(self, element: etree._Element, depth: int) -> InputError:
        """The refusal for ``element`` at ``depth`` > MAX_DEPTH: the first element too deep
        is its ancestor at MAX_DEPTH + 1."""
        ancestors = [element, *element.iterancestors()]
        return self._too_deep(ancestors[depth - MAX_DEPTH - 1])

    def check_start(self, element: etree._Element) -> None:
        """Check the depth of an element at its start event (filtered mode; for suites,
        which nest: a nesting bomb of them is refused where iter_events refuses it)."""
        if self.filtered:
            _, depth = self._depth(element)
            if depth > MAX_DEPTH:
                raise self._too_deep_at(element, depth)

    def syntax_error(self, error: etree.XMLSyntaxError) -> InputError:
        """:func:`syntax_error`, unless what was read before the error breaks a check:
        iter_events would have refused that first (and libxml2's own limit of 2048
        levels, which a chain of unseen elements can reach before any check of ours, is
        then refused in our words)."""
        if self.filtered and self._root is not None:
            try:
                self._check_subtree(self._root, 1)
            except InputError as refusal:
                return refusal
        return syntax_error(self.path, error)

    def _check_subtree(self, element: etree._Element, depth: int) -> None:
        """``element`` at ``depth`` and everything in it, in document order."""
        if depth > MAX_DEPTH:
            raise self._too_deep(element)
        self.check_name(element)
        if not len(element):
            return
        depths = {element: depth}
        for node in element.iterdescendants():
            parent = node.getparent()
            level = depths[parent] + 1
            if level > MAX_DEPTH:
                raise self._too_deep(node)
            self.check_name(node)
            if len(node):
                depths[node] = level

    def before_release(
        self, element: etree._Element, children: list[etree._Element] | None = None
    ) -> None:
        """Check what releasing ``element`` frees: its preceding siblings (deleted with
        it) and its own subtree (cleared). Call it just before the release; pass
        ``list(element)`` as ``children`` if you have it (a test case's are read anyway).
        """
        if children is None:
            children = list(element)
        if self.filtered:
            parent, depth = self._depth(element)
            if depth > MAX_DEPTH:
                raise self._too_deep_at(element, depth)
            if parent is not None:
                released = self._released
                for sibling in element.itersiblings(preceding=True):
                    if sibling is not released:
                        # In document order: the siblings were read back to front.
                        for earlier in reversed([sibling, *sibling.itersiblings(preceding=True)]):
                            if earlier is not released:
                                self._check_subtree(earlier, depth)
                    break
            self.check_name(element)
            if children:
                if depth >= MAX_DEPTH:
                    raise self._too_deep(children[0])
                check_names = self.xinclude_declared
                for child in children:
                    if check_names or len(child):
                        self._check_subtree(child, depth + 1)
        # What the salvage of a truncated report needs: the last element started.
        node = children[-1] if children else element
        while True:
            if node is self._released:
                node = self._released_leaf
                break
            if not len(node):
                break
            node = node[-1]
        self._released, self._released_leaf = element, node

    def finish(self) -> None:
        """Check what is left of the tree at the end of the document."""
        if self.filtered and self._root is not None:
            self._check_subtree(self._root, 1)

    def last_started_line(self) -> int | None:
        """The line of the last element whose start tag was read (for a truncated
        report): the last element in document order, or, when that one was released
        (cleared), the last element it held."""
        if self._root is None:
            return None
        node = self._root
        while True:
            if node is self._released:
                node = self._released_leaf
                break
            if not len(node):
                break
            node = node[-1]
        return node.sourceline if node is not None else None

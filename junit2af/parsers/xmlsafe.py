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

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

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

# Characters XML 1.0 forbids, as raw text: C0 controls but tab, LF and CR, the
# non-characters U+FFFE/U+FFFF, and the lone surrogates that stand for bytes that were not
# UTF-8 (decoded with ``surrogateescape``).
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\udc80-\udcff]")
# ...and the same written as character references (``&#x1B;`` from escaped ANSI colours).
_CHAR_REF = re.compile(r"&\#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
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

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.replaced = 0  # characters replaced, for the warning
        self.bom_conflict: str | None = None  # the declared encoding a BOM overrides
        self._carry = b""  # bytes held back: a UTF-8 sequence or char reference may be split
        self._out: list[bytes] = []
        self._eof = False
        head = raw.read(_CHUNK)
        self._passthrough = self._is_foreign_encoding(head)
        self.bom_conflict = _bom_conflict(head)
        self._head: bytes | None = head

    @staticmethod
    def _is_foreign_encoding(head: bytes) -> bool:
        if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
            return True
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

    def _fill(self) -> None:
        chunk = self._head if self._head is not None else self._raw.read(_CHUNK)
        self._head = None
        if self._passthrough:
            if chunk:
                self._out.append(chunk)
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


#: The bytes XML 1.0 forbids in a UTF-8 document: C0 controls but tab, LF and CR.
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
_CHAR_REF_BYTES = re.compile(rb"&\#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _is_clean(data: bytes) -> bool:
    """True when ``data`` needs no replacement: valid UTF-8, no control characters, no
    U+FFFE/U+FFFF, and no character reference to a code point XML forbids."""
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        return False
    if not data.isascii():
        try:
            data.decode("utf-8")  # lone surrogates (CESU-8) are refused here too
        except UnicodeDecodeError:
            return False
        if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:  # U+FFFE, U+FFFF
            return False
    if b"&#" in data:
        for match in _CHAR_REF_BYTES.finditer(data):
            hex_digits, dec_digits = match.groups()
            value = int(hex_digits, 16) if hex_digits else int(dec_digits)
            if not _valid_xml_code_point(value):
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
    stream: BinaryIO,
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

"""Hardened JSON reading shared by the pytest-json-report and reportlog parsers.

Python's ``json`` accepts things a report must not carry: ``NaN``/``Infinity`` (not JSON,
and not storable by the API), duplicate keys (the last one silently wins, so two tools
can read two different reports from one file), integers of any length, and nesting deep
enough to exhaust the interpreter's stack. :class:`SafeJSON` refuses each of them with an
:class:`~junit2af.errors.InputError` that names the file and the line.

Nesting depth is measured *before* ``json`` recurses: strings are blanked out with one
linear regex pass and the brackets left are counted at C speed, so a ``[[[[…`` bomb is
refused without ever being parsed.
"""

from __future__ import annotations

import contextlib
import json
import json.decoder
import json.scanner
import math
import re
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, BinaryIO

import orjson

from junit2af.errors import InputError

#: Deepest nesting of arrays/objects accepted (pytest reports need about 10).
MAX_DEPTH = 200
#: Largest single-document report (pytest-json-report, Jest, Playwright...) read. Such a
#: report is loaded whole and costs about three times its size at the peak (bytes, text,
#: objects): 80 MB keeps that under 300 MB. Bigger suites have streamed formats (JUnit XML,
#: pytest-reportlog, go test -json, Cucumber messages) that are read in constant memory.
MAX_DOCUMENT_BYTES = 80 * 1024 * 1024
#: Longest line of a JSON Lines report (reportlog).
MAX_LINE_BYTES = 32 * 1024 * 1024
#: What a JSON text may cost once decoded, estimated before decoding from its size (its
#: bytes, text and strings: about 3x) and its values (commas and openers counted: an
#: empty object costs ~70 bytes, 30 MB of ``{},`` decoded to 1 GB before this budget).
MAX_DECODED_BYTES = 256 * 1024 * 1024
BYTES_PER_VALUE = 100
#: Longest integer literal accepted (Python refuses more than 4300 digits anyway).
MAX_INT_DIGITS = 1000

_CHUNK = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"

# A JSON string, closing quote optional: an unterminated string then swallows the rest of
# its line instead of making the regex engine retry from every later quote (quadratic on
# hostile input). JSON strings cannot hold a raw newline, so stopping there loses nothing.
_STRING = rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?'
_ESCAPE_RE = re.compile(rb"\\.", re.DOTALL)
_QUOTED_RE = re.compile(rb'"[^"]*(?:"|$)')
_NOT_SKELETON = bytes(b for b in range(256) if b not in b'"[]{}')
_BRACKET_TOKEN = re.compile(_STRING + rb"|[\[\]{}]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Digits to "0", every other byte to " ": a run of 19 zeros in the translation is a run
#: of 19 digits in the input (see _fast_loads).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_DELTA = [0] * 256
_DELTA[ord("[")] = _DELTA[ord("{")] = 1
_DELTA[ord("]")] = _DELTA[ord("}")] = -1


class _Refused(Exception):
    """Raised from inside a ``json`` hook; :class:`SafeJSON` adds the path and line."""

    def __init__(self, reason: str, literal: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.literal = literal  # the offending literal, to find its line afterwards


class _Found(Exception):
    """Stops the pure-Python decoder at the duplicate key it was run to find."""


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON (non-finite numbers are refused)", name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"number {literal[:40]} overflows a double", literal)
    return value


def _bounded_int(literal: str) -> int:
    if len(literal) > MAX_INT_DIGITS:
        raise _Refused(f"integer literal of {len(literal)} digits refused", literal)
    return int(literal)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        key = _first_duplicate([key for key, _ in pairs])
        # Cut the key, not its JSON spelling: a cut there can split an escape (\u00).
        shown = json.dumps(key if len(key) <= 60 else key[:60] + "...")
        raise _Refused(f"duplicate key {shown} in one object")
    return result


def _first_duplicate(keys: list[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise ValueError("no duplicate")


def _line_at(data: bytes | bytearray, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _max_depth(brackets: bytes | bytearray) -> int:
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def too_deep_at(data: bytes | bytearray, limit: int = MAX_DEPTH) -> int | None:
    """The offset of the first bracket nested deeper than ``limit``, or None.

    Brackets inside strings do not count. Each step runs at C speed and is only taken when
    the cheaper one before it could not rule the document out:

    1. no more opening brackets in all than the limit;
    2. the depth counting every bracket, even those inside strings (an upper bound);
    3. the depth with escapes and then quoted text removed (exact for valid JSON);
    4. only for a document that really is too deep: a token walk to say where.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    if _max_depth(data.translate(None, _NOT_BRACKETS)) <= limit:
        return None
    # Escapes go first so that every quote left delimits a string; then only quotes and
    # brackets are kept, and the quoted runs of that short skeleton are dropped.
    skeleton = _ESCAPE_RE.sub(b"", data).translate(None, _NOT_SKELETON)
    if _max_depth(_QUOTED_RE.sub(b"", skeleton)) <= limit:
        return None
    depth = 0
    for match in _BRACKET_TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"]", b"}"):
            depth -= 1
    # The skeleton over-counted invalid JSON (escapes outside strings); the walk lexes as
    # json does up to json's first error, so json itself will refuse the document.
    return None


def _literal_line(text: str, literal: str) -> int | None:
    """The line of the first ``literal`` outside strings (for a refused number)."""
    pattern = re.compile(_STRING.decode("ascii") + "|" + re.escape(literal))
    for match in pattern.finditer(text):
        if not match.group().startswith('"'):
            return text.count("\n", 0, match.start()) + 1
    return None


#: json's private pure-Python decoder pieces (not in its type stubs)
_json_decoder_module: Any = json.decoder
_json_scanner_module: Any = json.scanner


def _duplicate_line(text: str) -> int | None:
    """The line of the first duplicate key, found with the pure-Python decoder.

    Only runs after the fast decoder refused a duplicate; nesting is already bounded by
    :data:`MAX_DEPTH`, so the pure-Python recursion is safe.
    """
    found: list[int] = []

    def parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, *_: Any) -> Any:
        text_, start = s_and_end
        pairs, end = _json_decoder_module.JSONObject(s_and_end, strict, scan_once, None, list)
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            duplicate = _first_duplicate(keys)
            encoded = json.dumps(duplicate)
            first = text_.find(encoded, start, end)
            second = text_.find(encoded, first + 1, end) if first != -1 else -1
            position = second if second != -1 else start
            found.append(text_.count("\n", 0, position) + 1)
            raise _Found
        return dict(pairs), end

    # The pure-Python scanner's hooks are undocumented attributes: typed as Any.
    decoder: Any = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.parse_constant = lambda name: None
    decoder.scan_once = _json_scanner_module.py_make_scanner(decoder)
    with contextlib.suppress(_Found, ValueError):
        decoder.decode(text)
    return found[0] if found else None


class SafeJSON:
    """Decodes JSON text from one report file with every hardening check.

    ``warn`` gets one warning per file for bytes that are not UTF-8 (replaced by U+FFFD
    rather than refusing a whole report for one stray byte of captured output).
    """

    def __init__(self, path: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self._warn = warn
        self._warned_utf8 = False
        self._decoder = json.JSONDecoder(
            object_pairs_hook=_unique_keys,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )

    def _text(self, data: bytes | bytearray, first_line: int) -> str:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(self.path, "UTF-16 encoded JSON; save the report as UTF-8")
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            if not self._warned_utf8:
                self._warned_utf8 = True
                line = first_line + _line_at(data, error.start) - 1
                self._warn(
                    f"{self.path}:{line}: bytes that are not UTF-8 replaced with U+FFFD "
                    "(first of possibly several)"
                )
            return data.decode("utf-8", "replace")

    def load_stream(self, stream: BinaryIO, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
        """Read and decode a whole document; its bytes are freed before it is parsed."""
        data = read_document(stream, self.path, max_bytes=max_bytes)
        self._check_depth(data, 1)
        value = _fast_loads(data)
        if value is not _SLOW:
            return value
        text = self._text(data, 1)
        del data
        return self._parse(text, 1)

    def loads(self, data: bytes | bytearray, *, first_line: int = 1) -> Any:
        """Decode ``data`` (a whole document, or one line starting at ``first_line``)."""
        self._check_depth(data, first_line)
        value = _fast_loads(data)
        if value is not _SLOW:
            return value
        return self._parse(self._text(data, first_line), first_line)

    def _check_depth(self, data: bytes | bytearray, first_line: int) -> None:
        values = data.count(b",") + data.count(b"{") + data.count(b"[")  # an upper bound
        needed = 3 * len(data) + BYTES_PER_VALUE * values
        if needed > MAX_DECODED_BYTES:
            raise InputError(
                self.path,
                f"JSON would take about {needed >> 20} MB in memory to read ({values} values "
                f"in {len(data)} bytes; at most {MAX_DECODED_BYTES >> 20} MB); refused "
                "(a report written as a stream, e.g. JUnit XML or JSON Lines, is read in "
                "constant memory)",
                line=first_line,
            )
        deep = too_deep_at(data)
        if deep is not None:
            raise InputError(
                self.path,
                f"JSON nested deeper than {MAX_DEPTH} levels; refused",
                line=first_line - 1 + _line_at(data, deep),
            )

    def _parse(self, text: str, first_line: int) -> Any:
        offset = first_line - 1
        if not text.strip():
            raise InputError(self.path, "empty JSON document", line=first_line)
        try:
            return self._decoder.decode(text)
        except _Refused as refused:
            if refused.literal is not None:
                line = _literal_line(text, refused.literal)
            else:
                line = _duplicate_line(text)
            raise InputError(
                self.path, refused.reason, line=offset + line if line else None
            ) from None
        except json.JSONDecodeError as error:
            # "Unterminated string" is only raised when the string runs to the end.
            if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
                reason = f"JSON truncated: unexpected end of data ({error.msg})"
            else:
                reason = f"invalid JSON: {error.msg}"
            raise InputError(
                self.path, reason, line=offset + error.lineno, column=error.colno
            ) from None
        except (ValueError, RecursionError) as error:
            # Belt and braces: the depth scan should make RecursionError impossible.
            raise InputError(self.path, f"invalid JSON: {error}", line=first_line) from None


#: :func:`_fast_loads` could not vouch for the document: decode it the exact way.
_SLOW = object()


def _fast_loads(data: bytes | bytearray) -> Any:
    """``data`` decoded by orjson (C, several times faster than json with the hooks),
    when that is certainly what :meth:`SafeJSON._parse` would return; else :data:`_SLOW`.

    orjson refuses everything the hooks refuse except duplicate keys (NaN and Infinity,
    numbers that overflow a double, lone surrogates, bytes that are not UTF-8, a BOM,
    control characters in strings): any refusal goes the exact way, which says why in
    its own words. It reads an integer beyond 64 bits as a float: a run of 19 digits
    anywhere (even in a string) goes the exact way too.

    Duplicate keys: every colon of a JSON text is either a key's (outside strings) or a
    character of a string. orjson writes every colon of a string as it is, so its output
    has one colon per key kept plus the colons of the strings kept. The input has one
    per key read plus the colons of all its strings -- as many, or more when a
    duplicate dropped a key with its value -- unless it wrote some as ``\\u003a``, which
    goes the exact way. Equal counts: no key was dropped.
    """
    if _LONG_DIGIT_RUN in data.translate(_DIGITS_ONLY):
        return _SLOW
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _SLOW
    colons = data.count(b":")
    if colons and (b"\\u003" in data or colons != orjson.dumps(value).count(b":")):
        return _SLOW
    return value


def read_document(stream: BinaryIO, path: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytearray:
    """All of ``stream``, refusing more than ``max_bytes`` before reading it all.

    Chunks go into one bytearray (no final copy): the document is read once, decoded
    once and parsed once, so memory is about three times the file size at the peak.
    """
    data = bytearray()
    while True:
        chunk = stream.read(min(_CHUNK, max_bytes + 1 - len(data)))
        if not chunk:
            return data
        data += chunk
        if len(data) > max_bytes:
            raise InputError(
                path,
                f"JSON document larger than {max_bytes} bytes; refused "
                "(a pytest-json-report file is one document and is loaded whole; "
                "pytest-reportlog or JUnit XML are read as streams, at any size)",
            )


def iter_lines(
    stream: BinaryIO, path: str, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a JSON Lines stream, one line in memory at a time.

    Blank lines are skipped; a line longer than ``max_line_bytes`` is refused without
    reading the rest of it.
    """
    number = 0
    while True:
        # Two bytes over the limit: room for the line's own CR LF.
        line = stream.readline(max_line_bytes + 2)
        if not line:
            return
        number += 1
        if len(line.rstrip(b"\r\n")) > max_line_bytes:
            raise InputError(path, f"line longer than {max_line_bytes} bytes; refused", line=number)
        if line.strip():
            yield number, line

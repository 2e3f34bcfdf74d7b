"""Helpers shared by the native JSON formats (Go, Jest/Vitest, mocha, Playwright, Cucumber).

Each of those reports holds text written by the code under test (console output, failure
messages, stack traces) and times in its own units; what every one of them needs is here:
bounded text buffers, time parsing that never invents a date, and the loader of
one-document JSON reports under the documented size cap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_DOCUMENT_BYTES, SafeJSON
from junit2af.records import ERROR_MESSAGE_MAX, TextArtifact, clip_code_points

#: Epoch milliseconds accepted as a time: 2000-01-01 .. 2999-12-31 (anything else is a
#: counter, a zero, or garbage, and is no timestamp).
_EPOCH_MS_MIN = 946_684_800_000
_EPOCH_MS_MAX = 32_503_680_000_000


class CappedText:
    """Text appended piece by piece, keeping at most ``limit`` bytes (UTF-8) of it.

    What does not fit is counted, not kept, and :meth:`text` ends with a
    ``[truncated N bytes]`` marker, so a test that prints gigabytes costs ``limit``.
    """

    __slots__ = ("_parts", "_size", "_dropped", "_limit")

    def __init__(self, limit: int) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0
        self._limit = limit

    def append(self, text: str) -> None:
        if not text:
            return
        size = len(text.encode("utf-8", "surrogatepass"))
        room = self._limit - self._size
        if size <= room:
            self._parts.append(text)
            self._size += size
            return
        if room > 0:
            head = text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
            self._parts.append(head)
            kept = len(head.encode("utf-8", "surrogatepass"))
            self._size += kept
            size -= kept
        self._dropped += size

    def __bool__(self) -> bool:
        return bool(self._parts)

    @property
    def truncated_bytes(self) -> int:
        return self._dropped

    def text(self) -> str:
        text = "".join(self._parts)
        if self._dropped:
            text += f"\n[truncated {self._dropped} bytes]\n"
        return text

    def artifact(self, label: str) -> TextArtifact:
        return TextArtifact(label=label, text=self.text(), truncated_bytes=self._dropped)


def capped(text: str, options: ParseOptions) -> str:
    """``text`` cut at ``options.max_text_bytes`` with a ``[truncated N bytes]`` marker."""
    if len(text) <= options.max_text_bytes // 4:
        return text  # cheap path: four bytes a code point at most
    buffer = CappedText(options.max_text_bytes)
    buffer.append(text)
    return buffer.text()


def text_artifact(label: str, text: str, options: ParseOptions) -> TextArtifact:
    buffer = CappedText(options.max_text_bytes)
    buffer.append(text)
    return buffer.artifact(label)


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string (hostile reports put anything anywhere)."""
    return value if isinstance(value, str) and value else None


def as_number(value: Any) -> float | None:
    """A finite non-negative number, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e15 else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def ms(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def message_of(text: str | None) -> str | None:
    """The API's ``error_message``: the first non-blank line, clipped to its limit."""
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return clip_code_points(line.strip(), ERROR_MESSAGE_MAX)
    return None


def clip(text: str | None) -> str | None:
    return clip_code_points(text, ERROR_MESSAGE_MAX) if text else None


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def iso_time(value: Any, options: ParseOptions) -> datetime | None:
    """A timestamp from an ISO 8601 string with a full date; naive ones get
    ``options.timezone``. None for anything else (a time without a date is no time)."""
    if not isinstance(value, str) or not _ISO.match(value) or len(value) > 64:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go and .NET write nanoseconds; Python takes at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=options.timezone)
    if not 2000 <= parsed.year <= 2999:
        return None
    return parsed


def epoch_ms_time(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch milliseconds (JavaScript's ``Date.now()``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not _EPOCH_MS_MIN <= value <= _EPOCH_MS_MAX:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=float(value))


def load_document(stream: BinaryIO, path: str, options: ParseOptions, what: str) -> Any:
    """A one-document JSON report, loaded whole through :class:`SafeJSON`.

    The document is refused beyond :data:`~junit2af.parsers.jsonsafe.MAX_DOCUMENT_BYTES`
    (the reason names the format, so that the user knows why it is loaded whole).
    """
    try:
        return SafeJSON(path, options.warn).load_stream(stream, max_bytes=MAX_DOCUMENT_BYTES)
    except InputError as error:
        if error.reason.startswith("JSON document larger than"):
            raise InputError(
                path,
                f"JSON document larger than {MAX_DOCUMENT_BYTES} bytes; refused "
                f"(a {what} report is one document and is loaded whole; "
                "its JUnit XML output is read as a stream, at any size)",
            ) from None
        raise


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def listing(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


class WarnOnce:
    """``options.warn`` with the report's name in front, each key said once."""

    def __init__(self, report: str, warn: Callable[[str], None]) -> None:
        self.report = report
        self._warn = warn
        self._said: set[str] = set()

    def __call__(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self._warn(f"{self.report}: {message}")


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (Jest, Vitest and Playwright keep them in
    failure messages when the run had a TTY or FORCE_COLOR)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def common_directory(paths: list[str]) -> str:
    """The deepest directory holding every one of ``paths`` ('' when they share none)."""
    split = [p.replace("\\", "/").split("/")[:-1] for p in paths if p]
    if not split:
        return ""
    prefix = split[0]
    for parts in split[1:]:
        length = 0
        for a, b in zip(prefix, parts, strict=False):
            if a != b:
                break
            length += 1
        prefix = prefix[:length]
    return "/".join(prefix)


def relative_to(path: str, directory: str) -> str:
    path = path.replace("\\", "/")
    if directory and path.startswith(directory + "/"):
        return path[len(directory) + 1 :]
    return path

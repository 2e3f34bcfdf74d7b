"""What every parser shares: its options, its warnings sink, and its calling convention.

A parser is a generator ``parse(stream, source, options) -> Iterator[TestRecord]`` over an
open binary stream (parsers never open files themselves: the input layer does, so that
archives, stdin and gzip work the same everywhere and lxml never sees a file name).
It raises :class:`junit2af.errors.InputError` (with the line where known) for input it
refuses, and reports recoverable oddities through ``options.warn``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from junit2af.records import SourceRef

#: Largest captured text kept whole in memory; the rest is cut with an explicit marker.
MAX_TEXT_BYTES = 32 * 1024 * 1024


def _print_warning(message: str) -> None:  # pragma: no cover - replaced by the CLI
    import sys

    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class ParseOptions:
    """Options shared by every parser.

    ``timezone`` is applied to naive timestamps. ``fallback_start`` is when the report was
    written (file modification time) for reports that carry no timestamps at all.
    ``salvage`` keeps the complete test cases of a truncated report.
    """

    timezone: tzinfo = UTC
    fallback_start: datetime | None = None
    salvage: bool = False
    warn: Callable[[str], None] = field(default=_print_warning)
    max_text_bytes: int = MAX_TEXT_BYTES


class FileContext:
    """Per-file state shared by the parsers of one report: its options, display name and
    format, warnings said once, and text capped at ``options.max_text_bytes``."""

    def __init__(self, source: SourceRef, options: ParseOptions, fmt: str) -> None:
        self.source = source
        self.options = options
        self.format = fmt
        self.report = source.display()
        self.warned: set[str] = set()

    def warn(self, message: str) -> None:
        self.options.warn(f"{self.report}: {message}")

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.warn(message)

    def cap(self, text: str, line: int | None, what: str) -> str:
        """``text`` cut to ``options.max_text_bytes`` with a ``[truncated N bytes]`` marker
        (one warning a file, naming ``what`` and its line)."""
        limit = self.options.max_text_bytes
        if len(text) > limit:  # code points approximate bytes well enough for a cap
            cut = len(text.encode("utf-8", "surrogatepass")) - limit
            text = text[:limit] + f"\n[truncated {cut} bytes]\n"
            self.warn_once(
                "truncated-text",
                f"line {line}: {what} larger than {limit} bytes; "
                "cut with a [truncated N bytes] marker",
            )
        return text

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

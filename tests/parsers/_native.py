"""Helpers for the C/C++ native format tests: parse inline reports with one parser."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, TestRecord

MTIME = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

Parser = Callable[[BinaryIO, SourceRef, ParseOptions], Iterator[TestRecord]]


def run(
    parser: Parser,
    text: str | bytes,
    warnings: list[str] | None = None,
    **options: object,
) -> list[TestRecord]:
    data = text.encode() if isinstance(text, str) else text
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)  # type: ignore[arg-type]
    return list(parser(io.BytesIO(data), SourceRef("r.xml"), opts))


def statuses(records: list[TestRecord]) -> list[tuple[str, str]]:
    return [(r.test_name, str(r.status)) for r in records]


def deep(open_tag: str, close_tag: str, depth: int = 300) -> str:
    return open_tag * depth + close_tag * depth

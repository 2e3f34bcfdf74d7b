"""Generated JUnit reports for upload tests (deterministic for a given size)."""

from __future__ import annotations

from pathlib import Path


def write_report(path: Path, cases: int, *, output_every: int = 5, fail_every: int = 7) -> Path:
    """A report of ``cases`` test cases in suites of 100: some failing, some with stdout."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="generated">\n']
    for start in range(0, cases, 100):
        parts.append(
            f'<testsuite name="gen.Suite{start // 100}" timestamp="2025-06-01T10:00:00Z">\n'
        )
        for i in range(start, min(start + 100, cases)):
            parts.append(
                f'<testcase classname="gen.Suite{start // 100}" name="test_{i}" time="0.{i % 10}2">'
            )
            if i % fail_every == 3:
                parts.append(f'<failure message="case {i} failed">Traceback {i}\n  line</failure>')
            if i % output_every == 1:
                parts.append(f"<system-out>output of case {i}\n</system-out>")
            parts.append("</testcase>\n")
        parts.append("</testsuite>\n")
    parts.append("</testsuites>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path

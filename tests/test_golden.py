"""Golden files: each fixture's exact JSON Lines output is checked in beside it.

Regenerate after a deliberate change with ``JUNIT2AF_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from junit2af.console import json_line
from junit2af.reports import ReportSet
from junit2af.settings import ReadSettings

REPO = Path(__file__).resolve().parents[1]
#: Every folder of fixtures/ holds reports of one format family, except generate/ (the
#: scripts and sample suites that wrote them).
FORMAT_DIRS = sorted(
    p.name for p in (REPO / "fixtures").iterdir() if p.is_dir() and p.name != "generate"
)
#: Reports without timestamps start at their file's mtime, which a checkout changes.
FIXED_MTIME = datetime(2026, 1, 1, tzinfo=UTC)
UPDATE = os.environ.get("JUNIT2AF_UPDATE_GOLDEN") == "1"


def _fixtures() -> list[Path]:
    """Every report file of every fixture folder, and every folder inside one (a results
    directory such as Allure's, given to junit2af as a directory)."""
    found = []
    for name in FORMAT_DIRS:
        for path in sorted((REPO / "fixtures" / name).glob("*")):
            folder = path.is_dir() and not path.name.startswith(".")
            report = path.is_file() and ".expected." not in path.name and path.suffix != ".md"
            if folder or report:
                found.append(path)
    return found


def render(path: Path) -> str:
    """The fixture as ``junit2af parse`` prints it: one JSON line per record."""
    relative = path.relative_to(REPO)
    cwd = os.getcwd()
    os.chdir(REPO)  # names in metadata are relative, as a CI job would pass them
    try:
        read = ReadSettings(attachment_roots=(str(REPO),), fallback_start=FIXED_MTIME)
        reports = ReportSet([str(relative)], read)
        lines = []
        for item in reports.records():
            fields = item.record.api_fields()
            fields["artifacts"] = [artifact.describe() for artifact in item.artifacts]
            lines.append(json_line(fields))
    finally:
        os.chdir(cwd)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_output(path: Path):
    expected_path = path.with_name(path.name + ".expected.jsonl")
    actual = render(path)
    if UPDATE or not expected_path.exists():
        if not UPDATE:
            pytest.fail(f"no golden file {expected_path.name}; run with JUNIT2AF_UPDATE_GOLDEN=1")
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8")

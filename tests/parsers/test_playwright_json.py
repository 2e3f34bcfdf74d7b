"""Playwright JSON in the awkward modes of the real tool (see also test_js_json.py)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from junit2af.parsers import playwright_json
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, TestRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)


def fixture(relative: str) -> list[TestRecord]:
    data = (FIXTURES / relative).read_bytes()
    options = ParseOptions(warn=[].append, fallback_start=MTIME)
    return list(playwright_json.parse(io.BytesIO(data), SourceRef(relative), options))


def test_max_failures_run_is_interrupted():
    """@playwright/test 1.65.1, maxFailures: 1, 4 workers: '1 failed, 3 interrupted,
    1 did not run, 1 error was not a part of any test'. The interrupted tests fail, the one
    that did not run is skipped, and the stop itself is a synthetic record whose reason
    says the run was interrupted (which marks the run ``interrupted``)."""
    records = fixture("playwright-json/playwright-max-failures.json")
    assert Counter(str(r.status) for r in records) == {"Failed": 5, "Skipped": 1}
    assert sum(r.error_message == "test interrupted" for r in records) == 3
    (stop,) = [r for r in records if r.metadata.get("synthetic")]
    assert stop.test_name == "playwright run (stopped early)"
    assert stop.error_message == "Testing stopped early after 1 maximum allowed failures."
    assert "interrupted" in stop.metadata["reason"]

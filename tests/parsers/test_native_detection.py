"""Detection of the native formats by content, and the refusals that name a console log
and the way to write the report instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from junit2af.parsers import detect

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


@pytest.mark.parametrize(
    ("directory", "name"),
    [
        ("go-test-json", "go-test-json"),
        ("jest-json", "jest-json"),
        ("mocha-json", "mocha-json"),
        ("playwright-json", "playwright-json"),
        ("cucumber-json", "cucumber-json"),
        ("cucumber-messages", "cucumber-messages"),
    ],
)
def test_every_fixture_is_detected_as_its_format(directory, name):
    reports = [
        p
        for p in sorted((FIXTURES / directory).iterdir())
        if p.is_file() and ".expected." not in p.name and p.suffix != ".md"
    ]
    assert reports
    for report in reports:
        detection = detect(report.read_bytes()[:8192])
        assert detection.format is not None, report.name
        assert detection.format.name == name, report.name


@pytest.mark.parametrize(
    ("text", "title", "advice"),
    [
        (
            b"PASS src/a.test.js\nFAIL src/b.test.ts\n\nTest Suites: 1 failed, 1 passed\n",
            "a Jest console log",
            "--json --outputFile",
        ),
        (
            b" RUN  v4.1.12 /w\n\n Test Files  1 failed (1)\n"
            b"      Tests  1 failed | 4 passed (5)\n",
            "a Vitest console log",
            "--reporter=json",
        ),
        (
            b"  sample\n    \xe2\x9c\x94 ok\n\n  5 passing (29ms)\n  1 failing\n",
            "a mocha console log",
            "--reporter json",
        ),
        (
            b"\nRunning 22 tests using 2 workers\n\n  \xe2\x9c\x93 1 ...\n",
            "a Playwright console log",
            "--reporter=json",
        ),
        (
            b"12 scenarios (2 failed, 10 passed)\n31 steps (31 passed)\n",
            "a Cucumber console log",
            "json:",
        ),
        (
            b"1 feature passed, 0 failed, 0 skipped\n4 scenarios passed, 2 failed\n",
            "a behave console log",
            "-f json",
        ),
        (
            b"=== RUN   TestA\n--- FAIL: TestA (0.00s)\nFAIL\n",
            "`go test` text output",
            "go test -json",
        ),
        (  # its "ok  <tab>package" lines are no TAP test points
            b"=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\nok  \texample.com/m\t0.002s\n",
            "`go test` text output",
            "go test -json",
        ),
        (
            b"FAIL\texample.com/x\t0.1s\n\nDONE 3 runs, 34 tests, 16 failures in 10.4s\n",
            "a gotestsum console log",
            "--jsonfile",
        ),
    ],
)
def test_console_logs_are_named_with_the_way_to_write_the_report(text, title, advice):
    detection = detect(text)
    assert detection.format is None
    assert detection.looks_like is not None
    assert detection.looks_like.title == title
    assert advice in detection.looks_like.message()

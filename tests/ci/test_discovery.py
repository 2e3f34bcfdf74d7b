"""`junit2af run` finds the reports a command wrote where the tools write them (issue #18,
item 5): the fixtures the real tools wrote (``fixtures/<format>/``) are copied by the
wrapped command to the places and names each tool uses by convention, or to names nobody
can predict (``--report-log=build/log.jsonl``), beside the noise a build leaves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from junit2af.globs import name_matcher
from junit2af.wrapper import (
    DEFAULT_REPORT_PATTERNS,
    discover_reports,
    start_time_ns,
    tree_snapshot,
    walk_tree,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

#: (fixture written by the real tool, where that tool writes it by convention)
CONVENTIONAL = [
    ("junit/surefire.xml", "target/surefire-reports/TEST-com.example.AppTest.xml"),
    # Gradle writes the same Ant JUnit schema (no Gradle fixture: Surefire's file, Gradle's place)
    ("junit/surefire.xml", "build/test-results/test/TEST-com.example.GradleTest.xml"),
    ("junit/pytest-xunit2.xml", "junit.xml"),  # pytest --junitxml=junit.xml
    ("junit/jest-junit.xml", "reports/junit.xml"),  # jest-junit (JEST_JUNIT_OUTPUT_DIR)
    ("junit/cargo-nextest.xml", "target/nextest/ci/junit.xml"),
    ("reportlog/pytest-reportlog.jsonl", "report-log.jsonl"),
    ("reportlog/pytest9-subtests.jsonl", "build/log.jsonl"),  # issue #18's example
    ("pytest-json/pytest-json-report.json", ".report.json"),
    ("trx/dorny-xunit.trx", "TestResults/runner_fv-az123_2024-05-01_10_00_00.trx"),
    ("nunit/nunit3-console-setup-teardown.xml", "TestResult.xml"),
    ("robot/robot7-output.xml", "results/output.xml"),
    ("go-test-json/go-test.json", "report.json"),  # go test -json > report.json
    ("go-test-json/gotestsum.json", "gotest.json"),  # gotestsum --jsonfile gotest.json
    ("cucumber-json/cucumber-js.json", "cucumber.json"),
    ("cucumber-messages/cucumber-js.ndjson", "reports/cucumber-messages.ndjson"),
    ("googletest-json/googletest.json", "test_detail.json"),
    ("playwright-json/playwright.json", "results.json"),
    ("rspec/rspec.json", "rspec.json"),
    ("jest-json/jest.json", "jest-results.json"),  # jest --json --outputFile=...
    ("mocha-json/mocha.json", "mocha.json"),
    ("libtest/cargo-test.json", "cargo-test.json"),
    ("tap/node-test.tap", "test.tap"),
    ("catch2-xml/catch2.xml", "build/catch2-results.xml"),
]
ALLURE = ("allure/pytest-results", "allure-results")


def expected_records(fixture: str) -> int:
    return len((FIXTURES / f"{fixture}.expected.jsonl").read_text("utf-8").splitlines())


def lay_out(source: Path) -> int:
    """Copy every fixture to ``source/<conventional name>``; the records they hold."""
    for fixture, name in CONVENTIONAL:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, target)
    shutil.copytree(FIXTURES / ALLURE[0], source / ALLURE[1])
    return sum(expected_records(f) for f, _ in CONVENTIONAL) + expected_records(ALLURE[0])


def noise(tree: Path) -> None:
    """What builds write beside reports: none of it may be uploaded or warned about."""
    files = {
        "package.json": '{"name": "app", "scripts": {"test": "jest"}}',
        "coverage/coverage-final.json": '{"/src/a.js": {"path": "/src/a.js"}}',
        "coverage.xml": '<?xml version="1.0"?><coverage line-rate="0.9"></coverage>',
        "build/reports/tests/test/index.html": "<html></html>",
        "pom.xml": "<project><modelVersion>4.0.0</modelVersion></project>",
        ".pytest_cache/v/cache/lastfailed": "{}",
        "test-results/.last-run.json": '{"status": "passed", "failedTests": []}',
    }
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # Reports that are not this project's, written during the build all the same:
    # dependencies' own, and test resources copied into build outputs.
    report = (FIXTURES / "junit" / "surefire.xml").read_text("utf-8")
    for name in (
        "node_modules/dep/junit.xml",
        "target/test-classes/fixtures/TEST-copied.xml",
        "build/resources/test/junit.xml",
        "build/lib/pkg/data/report.json",
        ".venv/lib/python3.11/site-packages/pkg/TEST-x.xml",
        "obj/Debug/TestResult.xml",
    ):
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report)


def test_every_tools_reports_are_found_where_the_tool_writes_them(local_server, tmp_path):
    source = tmp_path / "source"
    work = tmp_path / "work"
    work.mkdir()
    total = lay_out(source)
    noise_tree = tmp_path / "noise"
    noise(noise_tree)
    stale = work / "old-build" / "TEST-old.xml"
    stale.parent.mkdir()
    shutil.copyfile(FIXTURES / "junit" / "surefire.xml", stale)
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))

    script = (
        "import shutil, sys\n"
        f"shutil.copytree({str(source)!r}, '.', dirs_exist_ok=True)\n"
        f"shutil.copytree({str(noise_tree)!r}, '.', dirs_exist_ok=True)\n"
        "sys.exit(1)\n"
    )
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        AF_API_URL=local_server.base_url,
        AF_API_KEY=local_server.api_key,
        AF_PROJECT_ID=local_server.project_id,
        JUNIT2AF_STATE_DIR=str(tmp_path / "state"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "junit2af", "run", "--json", "--", sys.executable, "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # the command's exit code
    summary = json.loads(result.stdout)
    assert summary["results_total"] == total, result.stderr
    assert len(local_server.admin.results(run_id=summary["run_id"])) == total
    # Only the stale report is worth a word: no "skipped" line for package.json & co.
    assert "skipped" not in result.stderr, result.stderr
    assert "ignored 1 report(s) not written by this command" in result.stderr
    assert "old-build/TEST-old.xml" in result.stderr


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: str, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


REPORT = (FIXTURES / "junit" / "surefire.xml").read_text("utf-8")


def test_content_decides_and_only_conventional_names_earn_a_warning(in_tmp):
    before = tree_snapshot()
    started = start_time_ns()
    write("out/anything.xml", REPORT)  # no conventional name: found by content
    write("TEST-broken.xml", "<configuration/>")  # conventional name, no report: said
    write("settings.json", '{"a": 1}')  # neither: silent
    skipped: list[tuple[str, str]] = []
    found = discover_reports(before, started, on_skip=lambda *item: skipped.append(item))
    assert [r.display for r in found.fresh] == ["out/anything.xml"]
    assert skipped == [
        ("TEST-broken.xml", "XML whose root element is <configuration>, not a test report")
    ]
    assert found.stale == [] and found.recent_unmatched == []


def test_a_rewrite_is_seen_even_when_the_timestamp_did_not_move(in_tmp):
    # File systems with 1-2 s timestamps: a rewrite within the same tick keeps the mtime.
    report = write("junit.xml", REPORT)
    old = os.stat(report)
    stamp = (old.st_atime_ns, old.st_mtime_ns - 5_000_000_000)
    os.utime(report, ns=stamp)
    before = tree_snapshot()
    started = start_time_ns()
    report.write_text(REPORT + "\n")  # one byte longer
    os.utime(report, ns=stamp)
    found = discover_reports(before, started)
    assert [r.display for r in found.fresh] == ["junit.xml"]
    untouched = discover_reports(tree_snapshot(), start_time_ns())
    assert untouched.fresh == [] and untouched.stale == ["junit.xml"]


def test_no_report_found_lists_the_newest_files_the_command_wrote(in_tmp):
    write("old.txt", "before")
    os.utime("old.txt", (time.time() - 60, time.time() - 60))
    before = tree_snapshot()
    started = start_time_ns()
    write("results/tap-output.txt", "1..1\nok 1 - it works\n")
    time.sleep(0.01)
    write("results/summary.log", "done")
    write("node_modules/.cache/x.json", "{}")  # pruned: not offered
    found = discover_reports(before, started)
    assert found.fresh == []
    assert found.recent_unmatched == ["results/summary.log", "results/tap-output.txt"]


def test_the_newest_files_include_those_written_at_once(in_tmp):
    # Linux stamps an empty file with its coarse clock, a tick behind time.time_ns(): one
    # the command creates in its first milliseconds still counts as written since.
    started = start_time_ns()
    for number in range(5):
        Path(f"out/{number}.txt").parent.mkdir(exist_ok=True)
        with open(f"out/{number}.txt", "w"):
            pass
    found = discover_reports(tree_snapshot(), started)
    assert sorted(found.recent_unmatched) == [f"out/{number}.txt" for number in range(5)]


def test_no_report_found_is_said_with_the_files_written(tmp_path):
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["JUNIT2AF_STATE_DIR"] = str(tmp_path / "state")
    result = subprocess.run(
        [sys.executable, "-m", "junit2af", "run", "--dry-run", "--"]
        + [sys.executable, "-c", "open('tap-output.txt', 'w').write('1..1\\nok 1\\n')"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing uploaded" in result.stderr
    assert "files it wrote that no pattern matched: tap-output.txt" in result.stderr


def test_the_walk_is_breadth_first_and_stops_at_its_budget(in_tmp):
    write("a/b/c/d/deep.xml", REPORT)
    write("z.xml", REPORT)
    for i in range(20):
        write(f"m/n{i:02}.xml", REPORT)
    files, truncated = walk_tree(".", budget=10)
    assert truncated
    names = [path for path, _ in files]
    assert "z.xml" in names and "a/b/c/d/deep.xml" not in names
    files, truncated = walk_tree(".")
    assert not truncated and len(files) == 22


def test_a_truncated_first_walk_does_not_make_old_reports_new(in_tmp):
    for i in range(30):
        write(f"deep/er/r{i:02}.xml", REPORT)
    hour_ago = time.time() - 3600
    for path in Path("deep/er").iterdir():
        os.utime(path, (hour_ago, hour_ago))
    before = tree_snapshot(budget=5)
    assert before.truncated
    found = discover_reports(before, start_time_ns())
    assert found.fresh == []


def test_default_patterns_cover_the_conventional_names():
    conventional = name_matcher(DEFAULT_REPORT_PATTERNS)
    unconventional = {"build/log.jsonl", "gotest.json", "jest-results.json", "mocha.json"}
    unconventional |= {"cargo-test.json", "build/catch2-results.xml"}
    for _, name in CONVENTIONAL:
        assert conventional(name) == (name not in unconventional), name
    assert conventional("allure-results/0a-result.json")
    assert not conventional("package.json") and not conventional("coverage/x.json")

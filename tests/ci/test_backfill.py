"""`junit2af backfill`: a year of CI artifacts (plain files, a .zip and a .tar.gz) replayed
oldest first, interrupted by a failing server, resumed, then re-run over a grown archive."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.backfill import backfill, collect_groups, parse_when
from junit2af.cli import main
from junit2af.errors import ConfigError
from junit2af.localserver import FaultConfig
from junit2af.settings import ReadSettings, Secret, UploadSettings
from junit2af.uploader import Uploader

FIRST = datetime(2024, 1, 3, 8, 0, tzinfo=UTC)
QUIET = ReadSettings()


def build_report(number: int, when: datetime) -> tuple[str, Counter[str]]:
    """A JUnit report of build ``number`` run at ``when``, and its counts by status."""
    counts: Counter[str] = Counter()
    cases = []
    for case in range(2 + number % 4):
        body = ""
        if case % 3 == 1:
            body, status = '<failure message="no">trace</failure>', "Failed"
        elif case == 3:
            body, status = "<skipped/>", "Skipped"
        else:
            status = "Passed"
        counts[status] += 1
        cases.append(
            f'<testcase classname="api.Build{number}" name="test_{case}" time="1.5">'
            f"{body}</testcase>"
        )
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    xml = (
        f'<?xml version="1.0"?>\n<testsuite name="api" timestamp="{stamp}Z">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )
    return xml, counts


class Archive:
    """A directory of CI artifacts as a CI system keeps them, built report by report."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.expected: dict[str, Counter[str]] = {}  # original start (ISO) -> counts
        root.mkdir()

    def when(self, number: int) -> datetime:
        # Builds every 12 days over a year; the file names do not follow the dates.
        return FIRST + timedelta(days=12 * number, hours=number % 7)

    def _report(self, number: int) -> str:
        xml, counts = build_report(number, self.when(number))
        self.expected[self.when(number).strftime("%Y-%m-%dT%H:%M:%S.000Z")] = counts
        return xml

    def add_files(self, numbers: list[int]) -> None:
        for number in numbers:
            folder = self.root / f"job-{(number * 7919) % 1000:03d}"
            folder.mkdir()
            (folder / "TEST-api.xml").write_text(self._report(number))

    def add_zip(self, name: str, numbers: list[int]) -> None:
        with zipfile.ZipFile(self.root / name, "w", zipfile.ZIP_DEFLATED) as archive:
            for number in numbers:
                archive.writestr(f"build-{number}/TEST-api.xml", self._report(number))

    def add_tar(self, name: str, numbers: list[int]) -> None:
        with tarfile.open(self.root / name, "w:gz") as archive:
            for number in numbers:
                data = self._report(number).encode()
                info = tarfile.TarInfo(f"build-{number}/report.xml")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


def settings_for(server, journal: Path, **overrides) -> UploadSettings:
    values = dict(
        api_url=server.base_url,
        api_key=Secret(server.api_key),
        project_id=server.project_id,
        journal_path=journal,
        backoff_factor=0.001,
        retry_deadline_s=0.5,
    )
    values.update(overrides)
    return UploadSettings(**values)


def cli_backfill(server, *args):
    env = {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
    }
    return CliRunner().invoke(main, ["backfill", *map(str, args)], env=env, catch_exceptions=False)


def check_runs(server, archive: Archive, count: int) -> list[dict]:
    runs = server.admin.runs()
    assert len(runs) == count
    starts = [run["metadata"]["original_start"] for run in runs]
    assert starts == sorted(starts), "runs were not created oldest first"
    assert sorted(starts) == sorted(archive.expected)
    for run in runs:
        start = run["metadata"]["original_start"]
        expected = archive.expected[start]
        assert run["status"] == "Completed"
        assert {s: n for s, n in run["result_counts"].items() if n and s != "total"} == expected
        assert run["label"].endswith(f"{start[:10]} {start[11:16]} UTC")
        assert run["metadata"]["original_end"] > start
        results = server.admin.results(run_id=run["test_run_id"])
        assert len(results) == sum(expected.values())
        first = min(r["started_at"] for r in results)
        assert first.replace("Z", "+00:00").startswith(start[:19]), (first, start)
    return runs


def test_a_year_of_reports_interrupted_resumed_and_grown(local_server, tmp_path):
    archive = Archive(tmp_path / "ci-artifacts")
    archive.add_files([3, 17, 0, 25, 8, 12, 21, 5, 29, 14, 1, 19, 10, 27, 6, 23, 16, 2, 11, 28])
    archive.add_zip("old-builds.zip", [4, 9, 13, 18, 22, 26])
    archive.add_tar("more-builds.tar.gz", [7, 15, 20, 24])
    assert len(archive.expected) == 30
    span = max(archive.expected)[:10], min(archive.expected)[:10]
    assert span == ("2024-12-16", "2024-01-03")  # a year apart
    journal = tmp_path / "journal.sqlite3"

    # 1. The server starts failing after 12 runs: the backfill stops there.
    groups = collect_groups([str(archive.root)], QUIET)
    assert len(groups) == 30
    starts = [group.start for group in groups]
    assert starts == sorted(starts)

    def break_server(index, group, label):
        if index == 12:
            local_server.set_faults(FaultConfig(error_rate=1.0))

    with Uploader(settings_for(local_server, journal)) as uploader:
        result = backfill(groups, uploader, on_group=break_server)
    assert result.stopped is not None
    assert [o.state for o in result.outcomes] == ["uploaded"] * 12 + ["failed"]
    assert len(local_server.admin.runs()) == 12

    # 2. The server is back: the same command finishes the job, without redoing any run.
    local_server.set_faults(None)
    done = cli_backfill(local_server, "--json", "--journal", journal, archive.root)
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["states"] == {"already": 12, "uploaded": 18}
    check_runs(local_server, archive, 30)

    # 3. Five more builds arrive (one a zip of two): only they are uploaded.
    archive.add_files([30, 32, 34])
    archive.add_zip("latest.zip", [31, 33])
    grown = cli_backfill(local_server, "--journal", journal, archive.root)
    assert grown.exit_code == 0, grown.stderr
    assert grown.stdout.splitlines()[-1] == "30 already, 5 uploaded"
    assert "[35/35]" in grown.stderr  # progress over the files
    runs = check_runs(local_server, archive, 35)
    table = grown.stdout.splitlines()
    assert table[0].split() == ["date", "label", "results", "failed", "skipped", "run", "state"]
    assert runs[-1]["test_run_id"] in table[-2]
    assert table[-2].startswith(archive.when(34).strftime("%Y-%m-%d %H:%M"))

    # 4. And once more: nothing at all to do.
    again = cli_backfill(local_server, "--json", "--journal", journal, archive.root)
    assert json.loads(again.stdout)["states"] == {"already": 35}
    assert len(local_server.admin.runs()) == 35


def test_since_until_and_group_by_dir(tmp_path):
    archive = Archive(tmp_path / "artifacts")
    archive.add_files(list(range(10)))  # every 12 days from 2024-01-03, one folder each
    archive.add_zip("bundle.zip", [10, 11])
    # Both ends are included: the first report of 02-08, the last report of 03-27.
    since, until = parse_when("2024-02-08"), parse_when("2024-03-27", end_of_day=True)
    groups = collect_groups([str(archive.root)], QUIET, since=since, until=until)
    assert [g.start.date().isoformat() for g in groups] == [
        "2024-02-08",
        "2024-02-20",
        "2024-03-03",
        "2024-03-15",
        "2024-03-27",
    ]
    by_dir = collect_groups([str(archive.root)], QUIET, group_by="dir")
    assert len(by_dir) == 12  # one folder per plain build, one per folder in the zip
    assert by_dir[-1].name == "bundle.zip!build-11"
    assert by_dir[0].label() == "job-000 2024-01-03 08:00 UTC"
    for group in groups + by_dir:  # backfill() closes them; groups only looked at are closed here
        group.reports.close()


def test_parse_when_refuses_what_is_no_date():
    assert parse_when("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert parse_when("2024-05-01", end_of_day=True).hour == 23
    with pytest.raises(ConfigError, match="not a date"):
        parse_when("last tuesday")


def test_dry_run_lists_the_runs_it_would_create(local_server, tmp_path):
    archive = Archive(tmp_path / "artifacts")
    archive.add_files([2, 0, 1])
    result = cli_backfill(
        local_server,
        "--dry-run",
        "--label",
        "nightly",
        "--journal",
        tmp_path / "j.sqlite3",
        archive.root,
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["2024-01-03", "2024-01-15", "2024-01-27"]
    assert "nightly TEST-api.xml 2024-01-03 08:00 UTC" in lines[1]
    assert lines[-1] == "3 dry-run"
    assert local_server.admin.runs() == []


def test_a_bad_report_is_skipped_and_fails_the_exit_code(local_server, tmp_path):
    archive = Archive(tmp_path / "artifacts")
    archive.add_files([0])
    (archive.root / "TEST-broken.xml").write_text('<testsuite name="x"><testcase name=')
    result = cli_backfill(local_server, "--json", "--journal", tmp_path / "j.sqlite3", archive.root)
    assert result.exit_code == 3
    assert "TEST-broken.xml" in result.stderr and "(skipped)" in result.stderr
    assert json.loads(result.stdout)["states"] == {"uploaded": 1}
    assert len(local_server.admin.runs()) == 1

"""Never lose a result, never upload one twice: faults, kills, resumes and the journal lock.

The invariant checked everywhere: the server holds every record of the report, and the
duplicates it holds never exceed the in-doubt count that the summary reports.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from reportgen import write_report

from junit2af.artifacts import AttachmentRoots
from junit2af.errors import ExitStatus, JournalLockedError
from junit2af.inputs import expand_inputs
from junit2af.journal import Journal
from junit2af.localserver import FaultConfig, LocalServer
from junit2af.parsers.base import ParseOptions
from junit2af.settings import Secret, UploadSettings
from junit2af.uploader import UploadFailed, upload

REPO = Path(__file__).resolve().parents[2]
FAULTS = dict(error_rate=0.10, rate_429=0.05, retry_after=0, lost_response_rate=0.02,
              storage_failure_rate=0.05)


def settings_for(server, journal: Path, **overrides) -> UploadSettings:
    values = dict(api_url=server.base_url, api_key=Secret(server.api_key),
                  project_id=server.project_id, journal_path=journal, backoff_factor=0.001,
                  retry_total=10, label="exactly once")
    values.update(overrides)
    return UploadSettings(**values)


def upload_until_done(server, report: Path, journal: Path, attempts: int = 6, **overrides):
    """Run the upload again after each partial failure, as a user re-running the command."""
    reports = list(expand_inputs([str(report)]))
    retries = 0
    for _ in range(attempts):
        try:
            summary = upload(reports, settings_for(server, journal, **overrides),
                             options=ParseOptions(warn=lambda m: None),
                             roots=AttachmentRoots([REPO]))
        except UploadFailed as failure:
            retries += failure.report.retries
            continue
        summary.retries += retries  # the whole job's retries, for the assertions
        return summary
    raise AssertionError("the upload did not complete")


def check_invariant(server, cases: int, in_doubt: int) -> tuple[int, int]:
    """Every record is there; duplicates (results, runs) never exceed ``in_doubt``."""
    results = server.admin.results()
    names = Counter(r["test_name"] for r in results)
    assert len(names) == cases, f"missing results: {cases - len(names)}"
    duplicate_results = len(results) - len(names)
    runs = server.admin.runs()
    duplicate_runs = len(runs) - 1
    completed = [r for r in runs if r["status"] == "Completed"]
    assert len(completed) == 1
    assert completed[0]["result_counts"]["total"] >= cases
    confirmed = Counter(
        (a["test_result_id"], a["label"]) for a in server.admin.artifacts() if a.get("uploaded_at")
    )
    assert all(count == 1 for count in confirmed.values())
    assert duplicate_results + duplicate_runs <= in_doubt
    return duplicate_results, duplicate_runs


@pytest.mark.parametrize("seed", [11, 12])
def test_faults_lose_nothing_and_duplicates_stay_within_the_in_doubt_count(tmp_path, seed):
    report = write_report(tmp_path / "report.xml", 400)
    with LocalServer(tmp_path / "server", faults=FaultConfig(seed=seed, **FAULTS)) as server:
        summary = upload_until_done(server, report, tmp_path / "journal.sqlite3")
        assert summary.retries > 0
        duplicates = check_invariant(server, 400, summary.in_doubt)
        assert summary.possible_duplicates == summary.in_doubt
        lost = [r for r in server.request_log if r.fault == "lost_response"]
        assert lost, "the seed must exercise lost responses"
        assert summary.in_doubt >= len(lost) - 0  # each lost create was resent once
        assert sum(duplicates) <= summary.in_doubt


def test_a_504_after_the_create_happened_is_counted_in_doubt(tmp_path):
    # A gateway can give up after the backend created the object: 504 is no proof that
    # nothing happened, so it must never be retried silently.
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(tmp_path / "server",
                     faults=FaultConfig(seed=7, gateway_timeout_rate=0.1)) as server:
        summary = upload_until_done(server, report, tmp_path / "journal.sqlite3")
        late = [r for r in server.request_log if r.fault == "gateway_timeout"]
        assert late
        duplicates = check_invariant(server, 100, summary.in_doubt)
        assert sum(duplicates) > 0  # the 504'd creates did happen...
        assert summary.in_doubt >= len(late)  # ...and every one was counted


def test_on_uncertain_fail_also_stops_on_an_artifact_left_in_doubt(tmp_path, monkeypatch):
    from junit2af.client import APIClient, UncertainOutcome

    report = write_report(tmp_path / "report.xml", 20, output_every=2)
    reports = list(expand_inputs([str(report)]))
    journal = tmp_path / "journal.sqlite3"
    real_create = APIClient.create_artifact

    def lost_for_test_3(self, body, key):
        if body["test_result_id"] == lost_for_test_3.result_id:
            raise UncertainOutcome("POST /artifact/", "connection dropped (test)")
        return real_create(self, body, key)

    with LocalServer(tmp_path / "server") as server:
        real_result = APIClient.create_result

        def remember(self, body, key):
            result_id = real_result(self, body, key)
            if body["test_name"] == "gen.Suite0.test_3":
                lost_for_test_3.result_id = result_id
            return result_id

        lost_for_test_3.result_id = None
        monkeypatch.setattr(APIClient, "create_result", remember)
        monkeypatch.setattr(APIClient, "create_artifact", lost_for_test_3)
        with pytest.raises(UploadFailed):
            upload(reports, settings_for(server, journal),
                   options=ParseOptions(warn=lambda m: None))
        monkeypatch.undo()
        with pytest.raises(Exception, match="--on-uncertain fail"):
            upload(reports, settings_for(server, journal, on_uncertain="fail"),
                   options=ParseOptions(warn=lambda m: None))
        summary = upload(reports, settings_for(server, journal),
                         options=ParseOptions(warn=lambda m: None))
        assert summary.in_doubt == 2  # resent in run 1, resent again in run 3


def test_no_op_rerun_still_reports_the_in_doubt_count(tmp_path):
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(tmp_path / "server",
                     faults=FaultConfig(seed=11, lost_response_rate=0.1)) as server:
        summary = upload_until_done(server, report, tmp_path / "journal.sqlite3")
        assert summary.in_doubt > 0
        again = upload_until_done(server, report, tmp_path / "journal.sqlite3")
        assert again.already_complete
        assert again.in_doubt == summary.in_doubt


def test_with_idempotency_keys_honoured_there_are_no_duplicates(tmp_path):
    report = write_report(tmp_path / "report.xml", 400)
    with LocalServer(tmp_path / "server", faults=FaultConfig(seed=11, **FAULTS),
                     honour_idempotency_keys=True) as server:
        summary = upload_until_done(server, report, tmp_path / "journal.sqlite3")
        assert summary.in_doubt > 0
        assert check_invariant(server, 400, summary.in_doubt) == (0, 0)


def test_on_uncertain_fail_stops_instead_of_resending(tmp_path):
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(tmp_path / "server",
                     faults=FaultConfig(seed=5, lost_response_rate=0.2)) as server:
        reports = list(expand_inputs([str(report)]))
        with pytest.raises(Exception) as caught:
            upload(reports, settings_for(server, tmp_path / "j.sqlite3", on_uncertain="fail"),
                   options=ParseOptions(warn=lambda m: None))
        assert "--on-uncertain fail" in str(caught.value)
        names = Counter(r["test_name"] for r in server.admin.results())
        assert all(count == 1 for count in names.values())


def test_second_process_on_the_same_journal_stops_at_once(tmp_path):
    journal_path = tmp_path / "journal.sqlite3"
    with Journal(journal_path):
        with pytest.raises(JournalLockedError, match="another junit2af process"):
            Journal(journal_path)
        env = {**os.environ, "AF_API_KEY": "k", "AF_PROJECT_ID": "p",
               "AF_API_URL": "http://127.0.0.1:9/v1/test"}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "junit2af", "upload", "--journal", str(journal_path),
             str(REPO / "fixtures" / "junit" / "jest-junit.xml")],
            capture_output=True, text=True, env=env, cwd=REPO, check=False,
        )
        assert done.returncode == ExitStatus.LOCKED, done.stderr
        assert "another junit2af process" in done.stderr
        assert time.monotonic() - started < 10
    assert (journal_path.stat().st_mode & 0o777) == 0o600


def test_journal_never_holds_the_key_or_upload_urls(tmp_path):
    report = write_report(tmp_path / "report.xml", 50)
    with LocalServer(tmp_path / "server") as server:
        upload_until_done(server, report, tmp_path / "journal.sqlite3")
        key = server.api_key
    for path in tmp_path.glob("journal.sqlite3*"):
        data = path.read_bytes()
        assert key.encode() not in data
        assert b"/_storage/" not in data  # the local server's presigned URL path


@pytest.mark.slow
@pytest.mark.parametrize("honour_keys", [False, True], ids=["plain", "idempotency-keys"])
def test_kill_minus_nine_at_seeded_moments_then_resume(tmp_path, honour_keys):
    """SIGKILL an upload at 24 seeded points, re-running after each: nothing lost, and
    duplicates within the in-doubt count reported at the end.

    A kill point is a number of requests the server has seen from that process (drawn
    from a fixed seed), so the points spread over the whole upload whatever the speed
    of the machine.
    """
    cases = 300
    report = write_report(tmp_path / "report.xml", cases, output_every=3)
    journal = tmp_path / "journal.sqlite3"
    rng = random.Random(20261128)
    with LocalServer(tmp_path / "server", faults=FaultConfig(seed=1, latency_ms=2),
                     honour_idempotency_keys=honour_keys) as server:
        env = {**os.environ, "AF_API_URL": server.base_url, "AF_API_KEY": server.api_key,
               "AF_PROJECT_ID": server.project_id, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "junit2af", "upload", "-q", "--json", "--label",
                   "kill test", "--journal", str(journal), str(report)]
        killed_mid_upload = 0
        for _ in range(24):
            kill_after = rng.randint(1, 70)
            before = len(server.request_log)
            process = subprocess.Popen(command, env=env, cwd=tmp_path,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 30
            while process.poll() is None and time.monotonic() < deadline:
                if len(server.request_log) - before >= kill_after:
                    process.send_signal(signal.SIGKILL)
                    killed_mid_upload += 1
                    break
                time.sleep(0.0005)
            process.communicate()
        final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True,
                               text=True, check=False)
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert killed_mid_upload >= 20
        duplicates = check_invariant(server, cases, summary["in_doubt"])
        assert summary["possible_duplicates"] == summary["in_doubt"]
        if honour_keys:
            assert duplicates == (0, 0)
        print(f"kills={killed_mid_upload} in_doubt={summary['in_doubt']} "
              f"duplicates={duplicates}")

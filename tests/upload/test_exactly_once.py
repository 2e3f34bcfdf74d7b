"""Never lose a result, never upload one twice: faults, kills, stops, resumes, the journal.

The invariant checked everywhere: the server holds every record of the report, and the
duplicates it holds never exceed the possible duplicates that the summary reports.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from reportgen import write_report

from junit2af.errors import (
    ChangedInputsError,
    ExitStatus,
    InDoubtError,
    JournalError,
    JournalLockedError,
    UncertainOutcome,
    UploadFailed,
)
from junit2af.journal import Journal
from junit2af.localserver import FaultConfig, LocalServer
from junit2af.reports import ReportSet
from junit2af.settings import ReadSettings, Secret, UploadSettings
from junit2af.uploader import Uploader, UploadReport

REPO = Path(__file__).resolve().parents[2]
#: The turbulence of issue 14: 10% 5xx, 5% 429, 3% lost responses, 5% storage errors.
FAULTS = dict(
    error_rate=0.10,
    rate_429=0.05,
    retry_after=0,
    lost_response_rate=0.03,
    storage_failure_rate=0.05,
)


def settings_for(server, journal: Path, **overrides) -> UploadSettings:
    values = dict(
        api_url=server.base_url,
        api_key=Secret(server.api_key),
        project_id=server.project_id,
        journal_path=journal,
        backoff_factor=0.001,
        label="exactly once",
        retry_deadline_s=60,
    )
    values.update(overrides)
    return UploadSettings(**values)


def upload_once(server, report: Path, journal: Path, **overrides) -> UploadReport:
    with (
        ReportSet([str(report)], ReadSettings(attachment_roots=(str(REPO),))) as reports,
        Uploader(settings_for(server, journal, **overrides)) as uploader,
    ):
        return uploader.upload(reports)


def cli_upload(server, journal: Path, report: Path, *options: str, **env_more: str):
    """The environment and command of ``junit2af upload`` in a process of its own."""
    env = {
        **os.environ,
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
        "PYTHONPATH": str(REPO),
        **env_more,
    }
    command = [
        sys.executable,
        "-m",
        "junit2af",
        "upload",
        *options,
        "--journal",
        str(journal),
        str(report),
    ]
    return env, command


def check_invariant(server, cases: int, possible: int) -> tuple[int, int]:
    """Every record is there once or more; duplicates (results, runs) within ``possible``."""
    results = server.admin.results()
    names = Counter(r["test_name"] for r in results)
    assert len(names) == cases, f"missing results: {cases - len(names)}"
    duplicate_results = len(results) - len(names)
    runs = server.admin.runs()
    completed = [r for r in runs if r["status"] == "Completed"]
    assert len(completed) == 1
    assert completed[0]["result_counts"]["total"] >= cases
    confirmed = Counter(
        (a["test_result_id"], a["label"]) for a in server.admin.artifacts() if a.get("confirmed_at")
    )
    assert all(count == 1 for count in confirmed.values())
    duplicates = (duplicate_results, len(runs) - 1)
    assert sum(duplicates) <= possible, (duplicates, possible)
    return duplicates


@pytest.mark.parametrize("seed", [11, 12])
def test_turbulence_finishes_in_one_invocation(tmp_path, seed):
    report = write_report(tmp_path / "report.xml", 200)
    with LocalServer(tmp_path / "server", faults=FaultConfig(seed=seed, **FAULTS)) as server:
        summary = upload_once(server, report, tmp_path / "journal.sqlite3")
        assert summary.results_uploaded == summary.results_total == 200
        assert summary.retries > 0
        duplicates = check_invariant(server, 200, summary.possible_duplicates)
        lost_creates = [
            r
            for r in server.request_log
            if r.fault == "lost_response"
            and r.method == "POST"
            and r.path.rstrip("/").endswith(("/run", "/result", "/artifact"))
        ]
        assert lost_creates, "the seed must exercise lost responses"
        # Each lost create is in doubt; each doubtful send counted once at most once.
        assert summary.in_doubt >= len(lost_creates)
        assert summary.possible_duplicates >= summary.in_doubt
        assert sum(duplicates) <= summary.possible_duplicates


def test_a_504_after_the_create_happened_is_counted_in_doubt(tmp_path):
    # A gateway can give up after the backend created the object: 504 is no proof that
    # nothing happened, so it must never be retried silently.
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(
        tmp_path / "server", faults=FaultConfig(seed=7, gateway_timeout_rate=0.1)
    ) as server:
        summary = upload_once(server, report, tmp_path / "journal.sqlite3")
        late = [r for r in server.request_log if r.fault == "gateway_timeout"]
        assert late
        duplicates = check_invariant(server, 100, summary.possible_duplicates)
        assert sum(duplicates) > 0  # the 504'd creates did happen...
        assert summary.possible_duplicates >= len(late)  # ...and every one was counted


def test_an_outage_within_the_deadline_finishes_in_one_invocation(tmp_path):
    report = write_report(tmp_path / "report.xml", 150)
    with LocalServer(tmp_path / "server", faults=FaultConfig(latency_ms=2)) as server:

        def outage() -> None:
            while len(server.request_log) < 60:
                time.sleep(0.001)
            server.set_faults(FaultConfig(database_down=True))
            time.sleep(4)
            server.set_faults(FaultConfig())

        breaker = threading.Thread(target=outage)
        breaker.start()
        # Four jobs: the upload lasts long enough for the outage to land in its middle
        # however fast the machine (with 64 it could end before the breaker woke up).
        summary = upload_once(server, report, tmp_path / "journal.sqlite3", jobs=4)
        breaker.join()
        assert summary.results_uploaded == 150
        assert summary.retries > 0
        check_invariant(server, 150, summary.possible_duplicates)


def test_a_dead_service_is_given_up_on_at_the_deadline(tmp_path):
    report = write_report(tmp_path / "report.xml", 20)
    with LocalServer(tmp_path / "server") as server:
        server.set_faults(FaultConfig(database_down=True))
        started = time.monotonic()
        with pytest.raises(UploadFailed) as failed:
            upload_once(
                server, report, tmp_path / "journal.sqlite3", retry_deadline_s=1.5, preflight=False
            )
        assert time.monotonic() - started < 20
        assert "HTTP 500" in str(failed.value)
        assert failed.value.exit_status == ExitStatus.UPLOAD_FAILED


def test_accounting_is_per_create_and_bounded_by_its_doubtful_sends(tmp_path, monkeypatch):
    from junit2af.client import APIClient

    report = write_report(tmp_path / "report.xml", 10, output_every=100)
    real = APIClient.create_result
    failures = {"gen.Suite0.test_4": 2}

    def flaky(self, body, key):
        left = failures.get(body["test_name"], 0)
        if left:
            failures[body["test_name"]] = left - 1
            real(self, body, key)  # it did happen...
            raise UncertainOutcome("POST /result/", "HTTP 500: test", status=500)
        return real(self, body, key)

    monkeypatch.setattr(APIClient, "create_result", flaky)
    with LocalServer(tmp_path / "server") as server:
        summary = upload_once(server, report, tmp_path / "journal.sqlite3")
        # One create in doubt, two of its sends may have created a result: both did.
        assert (summary.in_doubt, summary.possible_duplicates) == (1, 2)
        assert check_invariant(server, 10, summary.possible_duplicates) == (2, 0)


def test_on_uncertain_fail_stops_instead_of_resending(tmp_path):
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(
        tmp_path / "server", faults=FaultConfig(seed=5, lost_response_rate=0.2)
    ) as server:
        with pytest.raises(UploadFailed, match="--on-uncertain fail") as caught:
            upload_once(server, report, tmp_path / "j.sqlite3", on_uncertain="fail")
        assert isinstance(caught.value.__cause__, InDoubtError)
        names = Counter(r["test_name"] for r in server.admin.results())
        assert all(count == 1 for count in names.values())


def test_no_op_rerun_still_reports_the_doubt(tmp_path):
    report = write_report(tmp_path / "report.xml", 100)
    with LocalServer(
        tmp_path / "server", faults=FaultConfig(seed=11, lost_response_rate=0.1)
    ) as server:
        summary = upload_once(server, report, tmp_path / "journal.sqlite3")
        assert summary.in_doubt > 0
        again = upload_once(server, report, tmp_path / "journal.sqlite3")
        assert again.already_complete
        assert (again.in_doubt, again.possible_duplicates) == (
            summary.in_doubt,
            summary.possible_duplicates,
        )
        assert again.results_uploaded == 100


def test_with_idempotency_keys_honoured_there_are_no_duplicates(tmp_path):
    report = write_report(tmp_path / "report.xml", 200)
    with LocalServer(
        tmp_path / "server", faults=FaultConfig(seed=11, **FAULTS), honour_idempotency_keys=True
    ) as server:
        summary = upload_once(server, report, tmp_path / "journal.sqlite3")
        assert summary.in_doubt > 0
        assert check_invariant(server, 200, summary.possible_duplicates) == (0, 0)


def test_changed_inputs_after_an_interruption_stop_with_what_to_do(tmp_path, monkeypatch):
    report = write_report(tmp_path / "report.xml", 40)
    journal = tmp_path / "journal.sqlite3"
    with LocalServer(tmp_path / "server") as server:
        from junit2af.client import APIClient

        real = APIClient.create_result
        calls = {"n": 0}

        def dies(self, body, key):
            calls["n"] += 1
            if calls["n"] > 15:
                raise KeyboardInterrupt
            return real(self, body, key)

        monkeypatch.setattr(APIClient, "create_result", dies)
        with pytest.raises(Exception):  # noqa: B017 - the interruption, whatever its form
            upload_once(server, report, journal, jobs=1)
        monkeypatch.undo()
        write_report(report, 41)  # the report changed: one more test
        with pytest.raises(ChangedInputsError, match="--resume-changed") as caught:
            upload_once(server, report, journal)
        assert caught.value.exit_status == ExitStatus.USAGE
        run_id = server.admin.runs()[0]["test_run_id"]
        assert run_id in str(caught.value)
        summary = upload_once(server, report, journal, resume_changed=True)
        assert summary.run_id == run_id
        check_invariant(server, 41, summary.possible_duplicates)


def test_sigterm_drains_journals_and_the_rerun_has_no_unreported_duplicates(tmp_path):
    report = write_report(tmp_path / "report.xml", 200, output_every=2)
    journal = tmp_path / "journal.sqlite3"
    with LocalServer(tmp_path / "server", faults=FaultConfig(latency_ms=5)) as server:
        env, command = cli_upload(server, journal, report, "--json", "--label", "term")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while len(server.request_log) < 150 and process.poll() is None:
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == ExitStatus.TERMINATED, err
        assert "SIGTERM" in err and "Traceback" not in err
        assert len([line for line in err.splitlines() if "error" in line]) == 1
        stopped = json.loads(out)
        assert stopped["exit_status"] == 143
        final = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert summary["results_uploaded"] == 200
        duplicates = check_invariant(server, 200, summary["possible_duplicates"])
        assert duplicates == (0, 0)  # drained: nothing was left in doubt


def test_a_journal_copied_without_its_sidecars_after_a_kill_never_undercounts(tmp_path):
    report = write_report(tmp_path / "report.xml", 200, output_every=3)
    journal = tmp_path / "journal.sqlite3"
    with LocalServer(tmp_path / "server", faults=FaultConfig(latency_ms=2)) as server:
        env, command = cli_upload(server, journal, report, "--json", "--label", "cache")
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while len(server.request_log) < 200 and process.poll() is None:
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # What a CI cache restores: the .sqlite3 file only, in a fresh place.
        restored = tmp_path / "restored" / "journal.sqlite3"
        restored.parent.mkdir()
        shutil.copy(journal, restored)
        final = subprocess.run(
            [*command[:-2], str(restored), str(report)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        check_invariant(server, 200, summary["possible_duplicates"])


def test_a_damaged_or_unwritable_journal_is_one_line_and_exit_2(tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    with pytest.raises(JournalError, match="damaged|another version"):
        Journal(damaged)
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user that can write anywhere")
        with pytest.raises(JournalError, match="--journal"):
            Journal(locked / "journal.sqlite3")
    finally:
        locked.chmod(0o700)


def test_second_process_on_the_same_journal_stops_at_once(tmp_path):
    journal_path = tmp_path / "journal.sqlite3"
    with Journal(journal_path):
        with pytest.raises(JournalLockedError, match="another junit2af process"):
            Journal(journal_path)
        with LocalServer(tmp_path / "server") as server:
            env, command = cli_upload(
                server, journal_path, REPO / "fixtures" / "junit" / "jest-junit.xml"
            )
            started = time.monotonic()
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                check=False,
            )
        assert done.returncode == ExitStatus.LOCKED, done.stderr
        assert "another junit2af process" in done.stderr
        assert time.monotonic() - started < 10
    assert (journal_path.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob("journal.sqlite3-*")), "no sidecar left between uploads"


def test_journal_never_holds_the_key_or_upload_urls(tmp_path):
    report = write_report(tmp_path / "report.xml", 50)
    with LocalServer(tmp_path / "server") as server:
        upload_once(server, report, tmp_path / "journal.sqlite3")
        key = server.api_key
    for path in tmp_path.glob("journal.sqlite3*"):
        data = path.read_bytes()
        assert key.encode() not in data
        assert b"/_storage/" not in data  # the local server's presigned URL path


@pytest.mark.slow
@pytest.mark.parametrize("honour_keys", [False, True], ids=["plain", "idempotency-keys"])
def test_kill_minus_nine_at_seeded_moments_then_resume(tmp_path, honour_keys):
    """SIGKILL an upload at 5 seeded points, re-running after each: nothing lost, and
    duplicates within the possible duplicates reported at the end.

    A kill point is a number of requests the server has seen from that process (drawn
    from a fixed seed), so the points spread over the whole upload whatever the speed
    of the machine.
    """
    cases = 200
    report = write_report(tmp_path / "report.xml", cases, output_every=3)
    journal = tmp_path / "journal.sqlite3"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    rng = random.Random(20261128)
    with LocalServer(
        tmp_path / "server",
        faults=FaultConfig(seed=1, latency_ms=2),
        honour_idempotency_keys=honour_keys,
    ) as server:
        env, command = cli_upload(
            server,
            journal,
            report,
            *("-q", "--json", "--label", "kill test"),
            TMPDIR=str(temporary),  # where the spool of each killed process would be
        )
        killed_mid_upload = 0
        for _ in range(5):
            kill_after = rng.randint(1, 90)
            before = len(server.request_log)
            process = subprocess.Popen(
                command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            deadline = time.monotonic() + 30
            while process.poll() is None and time.monotonic() < deadline:
                if len(server.request_log) - before >= kill_after:
                    process.send_signal(signal.SIGKILL)
                    killed_mid_upload += 1
                    break
                time.sleep(0.0005)
            process.communicate()
        final = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert killed_mid_upload >= 4
        assert list(temporary.iterdir()) == []  # the spool has no name: killed, it is gone
        duplicates = check_invariant(server, cases, summary["possible_duplicates"])
        assert summary["possible_duplicates"] >= summary["in_doubt"]
        if honour_keys:
            assert duplicates == (0, 0)


def test_a_resume_after_the_seven_day_rule_leaves_artifacts_out_and_completes(tmp_path):
    from junit2af.localserver import ManualClock

    report = write_report(tmp_path / "report.xml", 30, output_every=3)
    journal = tmp_path / "journal.sqlite3"
    clock = ManualClock()
    with LocalServer(
        tmp_path / "server", clock=clock, faults=FaultConfig(storage_failure_rate=1.0)
    ) as server:
        with pytest.raises(UploadFailed):
            upload_once(server, report, journal, retry_deadline_s=0.2)
        assert server.admin.runs()[0]["status"] == "Running"
        server.set_faults(None)
        clock.advance(days=8)  # the results are now older than the API's 7 days
        summary = upload_once(server, report, journal)
        assert summary.results_uploaded == 30
        # 10 stdout logs and 4 failure texts: the server takes none of them any more.
        assert summary.artifacts_left_out == 14
        left = [w for w in summary.warnings if "left out" in w]
        assert len(left) == 14 and all("7 days" in w for w in left), left[:2]
        assert server.admin.runs()[0]["status"] == "Completed"
        again = upload_once(server, report, journal)
        assert again.already_complete


def test_background_journal_writes_are_grouped_and_reach_the_disk_unwaited(tmp_path):
    """Ids and later states are committed in groups (one fsync for many, not one per
    response), yet each reaches the disk without anybody waiting for it, and a wait for
    one commits it at once rather than after the group's linger."""
    import sqlite3

    from junit2af.journal import Kind, op_key

    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        journal.open_upload("identity", "scope", {"inputs": []})
        keys = [op_key("result", f"test {n}") for n in range(40)]
        journal.intents((key, Kind.RESULT, 0) for key in keys)
        commits: list[str] = []
        journal._db.set_trace_callback(  # the writer's connection: count its commits
            lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
        )
        for number, key in enumerate(keys):  # responses a few ms apart, as at 8 jobs
            journal.created(key, f"id-{number}")
            time.sleep(0.002)
        reader = sqlite3.connect(path, timeout=10)
        deadline = time.monotonic() + 10
        stored = 0
        while time.monotonic() < deadline:  # nobody waits: the linger ends by itself
            stored = reader.execute(
                "SELECT COUNT(*) FROM ops WHERE server_id IS NOT NULL"
            ).fetchone()[0]
            if stored == len(keys):
                break
            time.sleep(0.01)
        assert stored == len(keys)
        assert 1 <= len(commits) <= 15, commits  # grouped, not one commit per id

        last = journal.created(keys[0], "id-again")
        started = time.monotonic()
        journal.wait(last)  # a waited write does not sit out the linger
        assert time.monotonic() - started < 5
        assert (
            reader.execute("SELECT server_id FROM ops WHERE key=?", (keys[0],)).fetchone()[0]
            == "id-again"
        )
        reader.close()

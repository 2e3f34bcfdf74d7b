"""`junit2af run -- CMD` as a CI job runs it: a real process around a real command.

The wrapped commands are small ``python -c`` programs that write reports, exit with a
chosen code, or wait for a signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from junit2af.wrapper import exit_code, find_reports, snapshot, start_time_ns

REPORT = """<?xml version="1.0"?>
<testsuite name="wrapped" timestamp="2024-05-01T10:00:00Z">
  <testcase classname="w" name="test_one" time="0.1"/>
  <testcase classname="w" name="test_two" time="0.2"><failure message="boom">x</failure></testcase>
</testsuite>
"""


def clean_env(server=None, **extra: str) -> dict[str, str]:
    """A CI-free environment: only what Python needs, plus the server's settings."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    if server is not None:
        env.update(
            AF_API_URL=server.base_url, AF_API_KEY=server.api_key, AF_PROJECT_ID=server.project_id
        )
    env.update(extra)
    return env


def junit2af_run(
    cwd: Path, *args: str, env: dict[str, str], script: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "junit2af", "run", "--journal", str(cwd / "j.sqlite3"), *args]
    if script is not None:
        command += ["--", sys.executable, "-c", textwrap.dedent(script)]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_exit_code_passes_through_and_no_report_is_a_warning(tmp_path):
    result = junit2af_run(
        tmp_path,
        env=clean_env(),
        script="""
        print("output of the tests")
        raise SystemExit(7)
    """,
    )
    assert result.returncode == 7
    assert result.stdout == "output of the tests\n"  # untouched, not captured
    assert "wrote no test report among the .xml/.json/.jsonl/.ndjson/.trx/.tap files" in (
        result.stderr
    )
    assert "nothing uploaded" in result.stderr


def test_reports_written_by_the_command_are_uploaded(local_server, tmp_path):
    result = junit2af_run(
        tmp_path,
        "--json",
        env=clean_env(local_server),
        script=f"""
        from pathlib import Path
        Path("build/test-results").mkdir(parents=True)
        Path("build/test-results/TEST-wrapped.xml").write_text({REPORT!r})
        raise SystemExit(1)  # the tests failed
    """,
    )
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"Passed": 1, "Failed": 1}
    runs = local_server.admin.runs()
    assert [run["test_run_id"] for run in runs] == [summary["run_id"]]
    assert len(local_server.admin.results(run_id=summary["run_id"])) == 2


REWRITTEN = REPORT.replace('classname="w"', 'classname="rewritten"')


def test_stale_reports_of_an_earlier_build_are_left_out(local_server, tmp_path):
    old = tmp_path / "old-build" / "TEST-old.xml"
    old.parent.mkdir()
    old.write_text(REPORT.replace('classname="w"', 'classname="stale"'))
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    rewritten = tmp_path / "junit-rewritten.xml"  # also old, but the command rewrites it
    rewritten.write_text(REWRITTEN)
    os.utime(rewritten, (hour_ago, hour_ago))

    result = junit2af_run(
        tmp_path,
        "--json",
        env=clean_env(local_server),
        script=f"""
        from pathlib import Path
        Path("junit.xml").write_text({REPORT!r})
        Path("junit-rewritten.xml").write_text({REWRITTEN!r})
    """,
    )
    assert result.returncode == 0, result.stderr
    assert "ignored 1 report(s) not written by this command" in result.stderr
    assert "old-build/TEST-old.xml" in result.stderr
    summary = json.loads(result.stdout)
    names = {r["test_name"] for r in local_server.admin.results(run_id=summary["run_id"])}
    assert len(names) == 4
    assert not any("stale" in name for name in names)
    assert any("rewritten" in name for name in names)


def test_find_reports_ignores_non_reports_and_unchanged_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("TEST-unchanged.xml").write_text(REPORT)
    patterns = ["**/TEST-*.xml", "**/*junit*.xml", "missing/*.xml"]
    before = snapshot(patterns)
    started = start_time_ns()
    Path("TEST-new.xml").write_text(REPORT)
    Path("junit-config.xml").write_text("<configuration/>")  # no report: not offered
    Path("node_modules/dep").mkdir(parents=True)
    Path("node_modules/dep/TEST-dep.xml").write_text(REPORT)
    found = find_reports(patterns, before, started)
    assert [r.display for r in found.fresh] == ["TEST-new.xml"]
    assert found.stale == ["TEST-unchanged.xml"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_are_forwarded_to_the_command(tmp_path, signum):
    script = textwrap.dedent(f"""
        import signal, sys, time
        from pathlib import Path
        def stop(signum, frame):
            Path("got-signal").write_text(str(signum))
            sys.exit(3)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        Path("ready").write_text("{os.getpid()}")
        time.sleep(20)
        sys.exit(0)
    """)
    process = subprocess.Popen(
        [sys.executable, "-m", "junit2af", "run", "--", sys.executable, "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not (tmp_path / "ready").exists():
            assert time.monotonic() < deadline, "the wrapped command never started"
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        started = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (tmp_path / "got-signal").read_text() == str(int(signum))
    assert process.returncode == 3, stderr
    assert time.monotonic() - started < 10  # not the command's 20 s sleep


def test_a_command_killed_by_a_signal_exits_128_plus_the_signal(tmp_path):
    result = junit2af_run(
        tmp_path,
        env=clean_env(),
        script="""
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    """,
    )
    assert result.returncode == 128 + signal.SIGKILL
    assert exit_code(-15) == 143 and exit_code(4) == 4


def test_a_missing_command_is_an_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "junit2af", "run", "--", "no-such-command-junit2af"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3
    assert "cannot run the command" in result.stderr


@pytest.mark.parametrize(("strict", "expected"), [(False, 0), (True, 4)])
def test_upload_failure_is_reported_and_strict_changes_the_exit_code(
    local_server, tmp_path, strict, expected
):
    env = clean_env(local_server, AF_API_KEY="not-the-key")
    args = ["--strict-upload"] if strict else []
    result = junit2af_run(
        tmp_path,
        *args,
        env=env,
        script=f"""
        from pathlib import Path
        Path("junit.xml").write_text({REPORT!r})
    """,
    )
    assert result.returncode == expected, result.stderr
    # The key is checked before the command runs; the command runs anyway.
    assert "junit2af: error: GET /project/: HTTP 401" in result.stderr
    assert "the command runs, nothing is sent" in result.stderr
    assert result.stderr.count("junit2af: error:") == 1
    assert local_server.admin.runs() == []


def test_strict_upload_keeps_a_failing_commands_code(local_server, tmp_path):
    env = clean_env(local_server, AF_API_KEY="not-the-key")
    result = junit2af_run(
        tmp_path,
        "--strict-upload",
        env=env,
        script=f"""
        from pathlib import Path
        Path("junit.xml").write_text({REPORT!r})
        raise SystemExit(2)
    """,
    )
    assert result.returncode == 2
    assert "HTTP 401" in result.stderr and "nothing is sent" in result.stderr

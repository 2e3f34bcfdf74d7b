"""Bad settings fail fast, before large inputs are read (issue #18, item 2).

Each case is one ``junit2af upload`` of a 70 MB report (so large that the settings are
checked before it is read: a dry run, which reads it, took 233 s on this 2-core machine
under load) with one thing
wrong: one line on stderr within about 10 s, exit 2 (4 for the key). The cases that wait
on a silent server run while the others run one by one: the whole file costs about the
slowest case (the check's 8 s read timeout).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reportgen import write_report

from junit2af.localserver import FaultConfig, LocalServer

REPORT_BYTES = 70 * 1024 * 1024


@pytest.fixture(scope="module")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 70 MB JUnit report (700 suites of 1000 cases), written in well under a second."""
    path = tmp_path_factory.mktemp("large") / "TEST-large.xml"
    cases = "".join(
        f'<testcase classname="big.Suite" name="test_case_number_{i:04d}" time="0.001">'
        f"<system-out>output line of case {i}</system-out></testcase>\n"
        for i in range(1000)
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        written = 0
        suite = 0
        while written < REPORT_BYTES:
            block = f'<testsuite name="big.Suite{suite}">\n{cases}</testsuite>\n'
            handle.write(block)
            written += len(block)
            suite += 1
        handle.write("</testsuites>\n")
    assert path.stat().st_size > 64 * 1024 * 1024  # over the uploader's PRESCAN_BYTES
    return path


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(tmp_path_factory.mktemp("af")) as running:
        yield running


def _env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "LANG", "TMPDIR") if k in os.environ}
    env.update(HOME=str(tmp), JUNIT2AF_STATE_DIR=str(tmp / "state"), **settings)
    return env


class Case:
    def __init__(self, name: str, env: dict[str, str], *args: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "junit2af", "upload", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = self.stderr = ""
        self.seconds = 0.0
        self.returncode: int | None = None
        # Its own thread waits, so that each case's time is its own.
        self.waiter = threading.Thread(target=self._wait, daemon=True)
        self.waiter.start()

    def _wait(self) -> None:
        self.stdout, self.stderr = self.process.communicate(timeout=60)
        self.seconds = time.monotonic() - self.started
        self.returncode = self.process.returncode

    def wait(self) -> Case:
        self.waiter.join(90)
        return self


@pytest.fixture(scope="module")
def outcomes(large_report, silent_port, closed_port, server, tmp_path_factory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp("cases")
    report = str(large_report)
    good = {"AF_API_KEY": server.api_key, "AF_PROJECT_ID": server.project_id}
    specs = [
        (
            "closed port",
            _env(tmp, AF_API_URL=f"http://127.0.0.1:{closed_port}/v1/test", **good),
            report,
        ),
        (
            "unknown host",
            _env(tmp, AF_API_URL="https://junit2af-ci-test.invalid/v1/test", **good),
            report,
        ),
        (
            "never answers",
            _env(tmp, AF_API_URL=f"http://127.0.0.1:{silent_port}/v1/test", **good),
            report,
        ),
        (
            "never answers, --timeout 1",
            _env(tmp, AF_API_URL=f"http://127.0.0.1:{silent_port}/v1/test", **good),
            "--timeout",
            "1",
            report,
        ),
        (
            "wrong project",
            _env(
                tmp,
                AF_API_URL=server.base_url,
                AF_API_KEY=server.api_key,
                AF_PROJECT_ID="no-such-project",
            ),
            report,
        ),
        (
            "wrong key",
            _env(
                tmp,
                AF_API_URL=server.base_url,
                AF_API_KEY="not-the-key",
                AF_PROJECT_ID=server.project_id,
            ),
            report,
        ),
        (
            "not the API",
            _env(tmp, AF_API_URL=server.base_url + "/nothing-here", **good),
            report,
        ),
    ]
    # The two that wait on a silent server run in the background; the others one after
    # the other, so that each one's time is its own, not 2 cores shared by 7 startups.
    waiting = [Case(*spec) for spec in specs if spec[0].startswith("never answers")]
    busy = [Case(*spec).wait() for spec in specs if not spec[0].startswith("never answers")]
    cases = waiting + busy
    return {case.name: case.wait() for case in cases}


EXPECTED = {
    # name: (exit status, what the one line says, at most this many seconds)
    "closed port": (2, r"cannot reach the API: .*cannot connect to \S+: refused", 10),
    "unknown host": (2, r"cannot reach the API: .*junit2af-ci-test\.invalid", 10),
    "never answers": (2, r"cannot reach the API: .*no answer within 8 s", 12),
    "never answers, --timeout 1": (2, r"cannot reach the API: .*no answer within 1 s", 5),
    "wrong project": (
        2,
        r"project 'no-such-project' is not one this API key can see; it sees: ",
        10,
    ),
    "wrong key": (4, r"HTTP 401: .*the API key was refused: check AF_API_KEY", 10),
    "not the API": (2, r"does not answer like the Automated Future API .*check AF_API_URL", 10),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bad_settings_are_one_line_within_seconds_before_the_reports_are_read(outcomes, name):
    case = outcomes[name]
    status, pattern, seconds = EXPECTED[name]
    lines = case.stderr.splitlines()
    assert case.returncode == status, case.stderr
    assert len(lines) == 1, case.stderr
    assert lines[0].startswith("junit2af: error: "), lines
    assert re.search(pattern, lines[0]), lines[0]
    assert case.seconds < seconds, (case.seconds, case.stderr)
    assert case.stdout == ""


def test_the_wrong_project_message_names_the_projects_the_key_sees(outcomes, server):
    line = outcomes["wrong project"].stderr
    assert server.project_id in line
    assert "check AF_PROJECT_ID or --project" in line


def _upload_against(tmp_path: Path, faults: FaultConfig, *args: str) -> str:
    report = write_report(tmp_path / "TEST-small.xml", 6, output_every=1000)
    with LocalServer(tmp_path / "af", faults=faults) as flaky:
        env = _env(
            tmp_path,
            AF_API_URL=flaky.base_url,
            AF_API_KEY=flaky.api_key,
            AF_PROJECT_ID=flaky.project_id,
        )
        result = subprocess.run(
            [sys.executable, "-m", "junit2af", "upload", *args, str(report)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_retries_are_visible_while_they_happen(tmp_path):
    stderr = _upload_against(tmp_path, FaultConfig(seed=3, error_rate=0.3), "-j", "2")
    retry_lines = [line for line in stderr.splitlines() if "retrying" in line]
    assert retry_lines, stderr
    assert re.match(r"junit2af: retrying: (GET|POST|PATCH|PUT) /\S*: HTTP 50[03]", retry_lines[0])


def test_a_resent_create_says_its_attempt(tmp_path):
    # 504 after the create happened: only creates fail, and they are resent by the uploader.
    stderr = _upload_against(tmp_path, FaultConfig(seed=3, gateway_timeout_rate=0.5), "-j", "1")
    retry_lines = [line for line in stderr.splitlines() if "retrying: POST" in line]
    assert retry_lines, stderr
    assert re.match(r"junit2af: retrying: POST /\S+: HTTP 504.*, attempt [2-9]", retry_lines[0])

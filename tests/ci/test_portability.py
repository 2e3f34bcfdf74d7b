"""junit2af on a platform without POSIX-only modules (issue #18, item 4).

Windows has no ``fcntl`` (nor ``termios``, ``pwd``, ``grp``, ``resource``), and its ``os``
lacks ``O_NONBLOCK``, ``getpgrp``/``tcgetpgrp``, ``mkfifo``, ``getuid`` (and, before
Python 3.12, ``set_blocking``); its ``signal`` has no ``SIGKILL``/``SIGHUP``/``SIGQUIT``.
A ``sitecustomize`` makes this Python look like that (imports of those modules fail,
those names are gone), then the real commands run in it against a local server.

On Linux without ``fcntl``, ``filelock`` falls back to its soft lock and says so with a
``UserWarning`` ("only soft file lock is available"); on Windows it uses ``msvcrt``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

NO_FCNTL = """
import sys

BLOCKED = {"fcntl", "termios"}


class _Missing:
    # A meta path finder: ``import fcntl`` and importlib.import_module("fcntl") both fail.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


for _name in list(sys.modules):
    if _name.split(".")[0] in BLOCKED:
        del sys.modules[_name]
sys.meta_path.insert(0, _Missing)
"""

WINDOWS_LIKE = (
    NO_FCNTL.replace('{"fcntl", "termios"}', '{"fcntl", "termios", "pwd", "grp", "resource"}')
    + """
import os
import signal

for _name in ("O_NONBLOCK", "set_blocking", "getpgrp", "tcgetpgrp", "mkfifo", "getuid",
              "geteuid", "getgid", "killpg", "setsid"):
    if hasattr(os, _name):
        delattr(os, _name)
for _name in ("SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
    if hasattr(signal, _name):
        delattr(signal, _name)
"""
)


def environment(tmp_path: Path, site: str, server=None) -> dict[str, str]:
    custom = tmp_path / "site"
    custom.mkdir(exist_ok=True)
    (custom / "sitecustomize.py").write_text(textwrap.dedent(site))
    env = {k: os.environ[k] for k in ("PATH", "LANG", "HOME") if k in os.environ}
    env.update(PYTHONPATH=str(custom), JUNIT2AF_STATE_DIR=str(tmp_path / "state"))
    if server is not None:
        env.update(
            AF_API_URL=server.base_url, AF_API_KEY=server.api_key, AF_PROJECT_ID=server.project_id
        )
    return env


def junit2af(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "junit2af", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr


def test_the_simulation_removes_fcntl(tmp_path):
    env = environment(tmp_path, NO_FCNTL)
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib; importlib.import_module('fcntl')"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 1 and "No module named 'fcntl'" in probe.stderr


def test_upload_parse_and_run_work_without_fcntl(local_server, tmp_path):
    env = environment(tmp_path, NO_FCNTL, local_server)
    report = tmp_path / "pytest-xunit2.xml"
    report.write_bytes((FIXTURES / "junit" / "pytest-xunit2.xml").read_bytes())
    records = (
        len((FIXTURES / "junit" / "pytest-xunit2.xml.expected.jsonl").read_text().split("\n")) - 1
    )

    parsed = junit2af(tmp_path, env, "parse", str(report))
    no_traceback(parsed)
    assert parsed.returncode == 0
    assert len(parsed.stdout.splitlines()) == records

    uploaded = junit2af(tmp_path, env, "upload", "--json", str(report))
    no_traceback(uploaded)
    assert uploaded.returncode == 0, uploaded.stderr
    summary = json.loads(uploaded.stdout)
    assert summary["results_uploaded"] == records
    again = junit2af(tmp_path, env, "upload", "--json", str(report))  # the journal works
    assert json.loads(again.stdout)["already_complete"] is True

    script = f"import shutil; shutil.copy({str(report)!r}, 'junit.xml')"
    ran = junit2af(
        tmp_path, env, "run", "--json", "--label", "wrapped", "--", sys.executable, "-c", script
    )
    no_traceback(ran)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["results_uploaded"] == records


ATTACHING_REPORT = """<?xml version="1.0"?>
<testsuite name="shots" timestamp="2024-05-01T10:00:00Z">
  <testcase classname="ui" name="test_screen" time="0.2">
    <failure message="looks wrong">diff</failure>
    <system-out>[[ATTACHMENT|screen.png]]</system-out>
  </testcase>
</testsuite>
"""


def test_upload_with_attachments_works_with_a_windows_like_os(local_server, tmp_path):
    env = environment(tmp_path, WINDOWS_LIKE, local_server)
    (tmp_path / "screen.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    (tmp_path / "TEST-shots.xml").write_text(ATTACHING_REPORT)
    uploaded = junit2af(tmp_path, env, "upload", "--json", "TEST-shots.xml")
    no_traceback(uploaded)
    assert uploaded.returncode == 0, uploaded.stderr
    summary = json.loads(uploaded.stdout)
    assert summary["artifacts_uploaded"] >= 1


def test_parse_and_run_work_with_a_windows_like_os(local_server, tmp_path):
    env = environment(tmp_path, WINDOWS_LIKE, local_server)
    report = FIXTURES / "tap" / "node-test.tap"
    parsed = junit2af(tmp_path, env, "parse", "--summary", str(report))
    no_traceback(parsed)
    assert parsed.returncode == 0
    script = f"import shutil; shutil.copy({str(report)!r}, 'test.tap')"
    ran = junit2af(tmp_path, env, "run", "--json", "--", sys.executable, "-c", script)
    no_traceback(ran)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["results_uploaded"] > 0


def test_a_windows_runners_piped_stdout_encoding_prints_any_test_name(tmp_path):
    """A Windows runner's pipes use the ANSI code page (cp1252): PYTHONIOENCODING gives
    this Python the same, and node-test.tap holds a name outside cp1252."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "HOME") if k in os.environ}
    env["PYTHONIOENCODING"] = "cp1252"
    parsed = subprocess.run(
        [sys.executable, "-m", "junit2af", "parse", str(FIXTURES / "tap" / "node-test.tap")],
        env=env,
        capture_output=True,
        encoding="cp1252",
        errors="replace",
        timeout=60,
    )
    no_traceback(parsed)
    assert parsed.returncode == 0, parsed.stderr
    assert len(parsed.stdout.splitlines()) == 11


def test_run_resolves_cmd_and_bat_commands_on_windows(monkeypatch, tmp_path):
    """CreateProcess finds ``npm`` only as ``npm.exe``; npm, gradlew and mvn are .cmd/.bat
    files that a shell finds through PATHEXT: junit2af run resolves them the same way."""
    from junit2af import wrapper

    npm = tmp_path / "npm.cmd"
    monkeypatch.setattr(wrapper.sys, "platform", "win32")
    monkeypatch.setattr(wrapper.shutil, "which", lambda name: str(npm) if name == "npm" else None)
    assert wrapper._resolved(["npm", "test"]) == [str(npm), "test"]
    assert wrapper._resolved(["nothing-like-it", "x"]) == ["nothing-like-it", "x"]
    monkeypatch.setattr(wrapper.sys, "platform", "linux")
    assert wrapper._resolved(["npm", "test"]) == ["npm", "test"]

"""The README's commands work when copy-pasted: its local try-out in bash, its library
example in Python, and the commands it names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from junit2af.localserver import LocalServer

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def block_after(marker: str, language: str) -> str:
    """The first fenced ``language`` block after ``marker`` in the README."""
    start = README.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match is not None, marker
    return match.group(1)


def env_with_junit2af(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AF_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["JUNIT2AF_STATE_DIR"] = str(tmp_path / "state")
    return env


def test_the_local_try_out_runs_in_bash(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(REPO / "fixtures" / "junit", work / "fixtures" / "junit")
    script = block_after("To try everything locally", "sh")
    # The README leaves the server running for the reader; the test stops it.
    script += '\nstatus=$?\nkill %1\nwait\nexit "$status"\n'
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=work,
        env=env_with_junit2af(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^run run_\w+ \(", done.stdout, re.M), done.stdout
    assert "  link: http://127.0.0.1:" in done.stdout


def test_the_library_example_runs(tmp_path):
    code = block_after("## Library", "python")
    reports = tmp_path / "build" / "test-results"
    reports.mkdir(parents=True)
    shutil.copy(REPO / "fixtures" / "junit" / "surefire.xml", reports / "TEST-x.xml")
    with LocalServer(tmp_path / "server") as server:
        env = {
            **env_with_junit2af(tmp_path),
            "AF_API_URL": server.base_url,
            "AF_API_KEY": server.api_key,
            "AF_PROJECT_ID": server.project_id,
        }
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.split()[0]
        assert server.admin.run(run_id)["label"] == "nightly"
        assert server.admin.run(run_id)["status"] == "Completed"


def test_the_commands_the_readme_names_exist():
    commands = set(re.findall(r"`junit2af (\w+)", README))
    done = subprocess.run(
        [str(BIN / "junit2af"), "--help"], capture_output=True, text=True, check=True
    )
    listed = set(re.findall(r"^  (\w+)  ", done.stdout, re.M))
    assert commands <= listed, commands - listed

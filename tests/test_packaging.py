"""junit2af installs the ways the CI snippets show (issue #18, item 3).

* ``action.yml``: its install step's script, run as the GitHub runner would run it (the
  ``${{ }}`` expressions of its ``env:`` filled in, bash, a fresh venv under "runner.temp")
  from a ``git clone`` of this repository, with no HOME; then the installed ``junit2af``
  and the action's upload step against a local server.
* ``make dist``: the wheel it builds, installed in a fresh venv, runs the demo and serves
  the web view (templates and sample reports are package data).

Both test what is committed (a clone), not the working tree's uncommitted changes.

Speed: the action's install is the real thing (``python -m venv`` with pip, then
``pip install <checkout>`` resolving every dependency through the registry, served from
pip's cache), ~25 s here. The wheel's venv is made ``--without-pip``, the wheel installed
into it ``--no-deps`` by this venv's pip (``pip --python``), and the dependencies come from
this venv's site-packages through a ``.pth`` file: what is checked there is the wheel's
content (package data, entry point), the dependencies being checked by the action's
install. ``make dist`` runs in a second clone while the action installs, so the two
overlap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from junit2af import __version__
from junit2af.localserver import ServerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
FIXTURES = ROOT / "fixtures"


def _runner_env(**extra: str) -> dict[str, str]:
    """A runner-like environment: the base Python first on PATH, pip's settings, no HOME
    (nothing may depend on a home folder), and nothing of this venv."""
    env = {
        "PATH": os.pathsep.join([str(BASE_PYTHON.parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") or k == "TMPDIR"})
    env.update(extra)
    return env


def _clone(destination: Path) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    subprocess.run(
        ["git", "clone", "--quiet", str(ROOT), str(destination)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return destination


@pytest.fixture(scope="session")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as ``uses: OWNER/junit2af@REF`` checks it out."""
    return _clone(tmp_path_factory.mktemp("action") / "junit2af")


@dataclass
class DistBuild:
    """``make dist`` running in its own clone; :meth:`wait` gives the dist folder."""

    process: subprocess.Popen[str]
    checkout: Path
    started: float
    seconds: float = 0.0

    def wait(self) -> Path:
        out, _ = self.process.communicate(timeout=300)
        assert self.process.returncode == 0, out
        self.seconds = time.monotonic() - self.started
        return self.checkout / "dist"


@pytest.fixture(scope="session")
def dist_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistBuild]:
    """Starts ``make dist`` in a clone, with this venv as the Makefile's (not rebuilt)."""
    checkout = _clone(tmp_path_factory.mktemp("dist") / "junit2af")
    venv = Path(sys.prefix)
    process = subprocess.Popen(
        ["make", "-C", str(checkout), "dist", f"VENV={venv}", "-o", f"{venv}/bin/junit2af"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_runner_env(),
    )
    build = DistBuild(process, checkout, time.monotonic())
    yield build
    if process.poll() is None:
        process.kill()
    process.communicate()


# -- action.yml ------------------------------------------------------------------------------


def _action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def _step(step_id: str) -> dict[str, Any]:
    steps = _action()["runs"]["steps"]
    return next(step for step in steps if step.get("id") == step_id)


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _step_env(step: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The step's ``env:`` with each ``${{ expr }}`` replaced from ``values`` (an
    expression the test does not know fails it: a new one needs a new test value)."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in values, f"unexpected expression in action.yml: {expression}"
        return values[expression]

    return {name: _EXPRESSION.sub(value, str(text)) for name, text in step["env"].items()}


def _run_step(
    step_id: str, values: dict[str, str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run one step's script as the runner does (``bash -e {0}`` with ``shell: bash``) and
    return it with the outputs it wrote to ``$GITHUB_OUTPUT``."""
    step = _step(step_id)
    assert step["shell"] == "bash"
    script = cwd / f"{step_id}.sh"
    script.write_text(step["run"], encoding="utf-8")
    outputs = cwd / f"{step_id}.outputs"
    outputs.write_text("")
    full_env = {**env, **_step_env(step, values), "GITHUB_OUTPUT": str(outputs)}
    result = subprocess.run(
        ["/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    written = dict(
        line.split("=", 1) for line in outputs.read_text("utf-8").splitlines() if "=" in line
    )
    return result, written


def test_action_declares_the_inputs_and_keeps_expressions_out_of_scripts():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {
        "paths",
        "label",
        "project",
        "api-url",
        "api-key",
        "fail-on-test-failures",
        "json",
        "results-file",
    } <= set(action["inputs"])
    assert action["inputs"]["paths"]["required"] is True
    for step in action["runs"]["steps"]:
        # Inputs reach scripts through env only: a label holding `"; rm -rf ~` stays text.
        assert "${{" not in step["run"], step["id"]
        assert step["shell"] == "bash", step["id"]
        assert "set -x" not in step["run"]  # would print the key


@pytest.fixture(scope="session")
def installed_action(
    action_checkout: Path, dist_build: DistBuild, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The install step run once (``make dist`` builds meanwhile): its outputs."""
    runner_temp = tmp_path_factory.mktemp("runner-temp")
    started = time.monotonic()
    result, outputs = _run_step(
        "install",
        {
            "github.action_path": str(action_checkout),
            "runner.temp": str(runner_temp),
            "inputs.python": "",
        },
        _runner_env(),
        runner_temp,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"junit2af, version {__version__}" in result.stdout
    outputs["install_seconds"] = f"{time.monotonic() - started:.1f}"
    outputs["runner_temp"] = str(runner_temp)
    return outputs


def test_action_install_step_installs_from_its_checkout(installed_action, tmp_path):
    junit2af = Path(installed_action["junit2af"])
    runner_temp = Path(installed_action["runner_temp"])
    assert junit2af.is_relative_to(runner_temp / "junit2af-venv")
    # The package comes from the venv (site-packages), not from the checkout.
    python = installed_action["python"]
    where = subprocess.run(
        [python, "-c", "import junit2af; print(junit2af.__file__)"],
        capture_output=True,
        text=True,
        env=_runner_env(),
        cwd=tmp_path,
        check=True,
    ).stdout
    assert "site-packages" in where and str(runner_temp) in where

    version = subprocess.run(
        [str(junit2af), "--version"], capture_output=True, text=True, env=_runner_env()
    )
    assert version.stdout.strip() == f"junit2af, version {__version__}"

    demo = subprocess.run(
        [str(junit2af), "demo", "--no-serve", "--json"],
        capture_output=True,
        text=True,
        env=_runner_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    summary = json.loads(demo.stdout)  # exactly one JSON document, nothing else
    assert isinstance(summary, dict)
    assert summary["results_total"] > 0
    assert summary["results_uploaded"] == summary["results_total"]


def _write_reports(workspace: Path) -> None:
    nested = workspace / "build" / "test-results" / "test" / "nested"
    nested.mkdir(parents=True)
    shutil.copy(FIXTURES / "junit" / "surefire.xml", nested / "TEST-com.example.SurefireTest.xml")
    flat = workspace / "build" / "test-results" / "TEST-flat.xml"
    flat.write_text(
        '<testsuite name="flat"><testcase classname="flat" name="test_ok"/></testsuite>\n'
    )
    spaced = workspace / "Test Results"
    spaced.mkdir()
    (spaced / "more.tap").write_text("TAP version 13\n1..2\nok 1 - first\nnot ok 2 - second\n")


def test_action_upload_step_uploads_quoted_globs(installed_action, local_server, tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    _write_reports(workspace)
    values = {
        "steps.install.outputs.junit2af": installed_action["junit2af"],
        "steps.install.outputs.python": installed_action["python"],
        "steps.install.outputs.temp": installed_action["temp"],
        "inputs.paths": "build/test-results/**/*.xml\n'Test Results/*.tap'\n",
        "inputs.label": 'CI "#1"; $(touch pwned)',
        "inputs.fail-on-test-failures": "true",
        "inputs.json": "false",
        "inputs.results-file": "results.jsonl",
        "inputs.metadata": "branch=main\r\ncommit=abc123\n",
        "inputs.api-key || env.AF_API_KEY": local_server.api_key,
        "inputs.api-url || env.AF_API_URL": local_server.base_url,
        "inputs.project || env.AF_PROJECT_ID": local_server.project_id,
    }
    env = _runner_env(
        GITHUB_STEP_SUMMARY=str(tmp_path / "step-summary.md"),
        JUNIT2AF_STATE_DIR=str(tmp_path / "state"),
    )
    result, outputs = _run_step("upload", values, env, workspace, timeout=120)

    # The TAP report holds a failed test: --fail-on-test-failures makes the step fail.
    assert result.returncode == 1, result.stdout + result.stderr
    assert not (workspace / "pwned").exists()
    assert local_server.api_key not in result.stdout + result.stderr
    run_id = outputs["run-id"]
    assert run_id
    [run] = local_server.admin.runs()
    assert run["test_run_id"] == run_id
    assert run["label"] == 'CI "#1"; $(touch pwned)'
    assert run["metadata"]["branch"] == "main" and run["metadata"]["commit"] == "abc123"
    results = local_server.admin.results(run_id=run_id)
    fixture_cases = len(
        (FIXTURES / "junit" / "surefire.xml.expected.jsonl").read_text().splitlines()
    )
    assert len(results) == fixture_cases + 1 + 2  # nested, flat and the spaced folder's TAP
    assert f"junit2af: run {run_id}" in result.stdout
    assert (workspace / "results.jsonl").read_text().count("\n") == len(results)
    assert json.loads(Path(outputs["summary-file"]).read_text())["run_id"] == run_id
    assert run_id in (tmp_path / "step-summary.md").read_text()


def test_action_refuses_a_python_older_than_3_11(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in ("python3", "python"):
        fake = fake_bin / name
        fake.write_text('#!/bin/sh\necho "Python 3.10.12"\nexit 1\n')
        fake.chmod(0o755)
    result, outputs = _run_step(
        "install",
        {"github.action_path": str(ROOT), "runner.temp": str(tmp_path), "inputs.python": ""},
        {"PATH": str(fake_bin)},
        tmp_path,
        timeout=30,
    )
    assert result.returncode == 1
    line = result.stdout.strip()
    assert line.startswith("::error title=junit2af::junit2af needs Python 3.11 or newer")
    assert "python3: Python 3.10.12" in line and "actions/setup-python" in line
    assert outputs == {}
    assert not (tmp_path / "junit2af-venv").exists()


# -- make dist --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wheel(dist_build: DistBuild) -> Path:
    dist = dist_build.wait()
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    assert [w.name for w in wheels] == [f"junit2af-{__version__}-py3-none-any.whl"]
    assert [s.name for s in sdists] == [f"junit2af-{__version__}.tar.gz"]
    return wheels[0]


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel (its dependencies seen from this venv)."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        env=_runner_env(),
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_ships_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"junit2af/demo_reports/{n}" for n in ("surefire.xml", "node-test.tap")} <= names
    assert "junit2af/localserver/templates/run.html" in names
    assert "junit2af/localserver/static/web.css" in names
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)


def test_wheel_runs_the_demo_in_a_fresh_venv(wheel_venv, tmp_path):
    junit2af = wheel_venv / "bin" / "junit2af"
    where = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", "import junit2af; print(junit2af.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert where.startswith(str(wheel_venv))  # the wheel's copy, not this checkout
    demo = subprocess.run(
        [str(junit2af), "demo", "--no-serve", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_runner_env(),
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    summary = json.loads(demo.stdout)
    assert summary["results_total"] == summary["results_uploaded"] > 0
    assert summary["result_read_back"]["test_result_id"]


def test_wheel_serves_the_web_view(wheel_venv, tmp_path):
    server = ServerProcess(tmp_path / "data")
    server.args[:3] = [str(wheel_venv / "bin" / "junit2af")]
    with server:
        with urllib.request.urlopen(server.root_url + "/", timeout=10) as response:
            page = response.read().decode("utf-8")
            assert response.status == 200
        assert "<html" in page.lower() and "runs" in page.lower()

"""The CI snippets (docs/ci/, the README's CI section) are valid and work as shown
(issue #18, item 3): YAML that parses, the action's inputs, every glob quoted, and the
local try-out run in a fresh bash against ``junit2af serve``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "ci"
FIXTURES = ROOT / "fixtures"


def _unquoted_globs(paths: list[Path]) -> tuple[list[str], int]:
    """Globs given to junit2af without quotes in ``paths`` (and how many were checked)."""
    bad: list[str] = []
    checked = 0
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            command = line  # commented-out examples count too
            if not re.search(r"junit2af (upload|run|parse|backfill)\b", command):
                continue
            for word in re.findall(r"""'[^']*'|"[^"]*"|`[^`]*`|\S+""", command):
                if any(ch in word for ch in "*?") and not word.startswith(("'", '"', "`")):
                    bad.append(f"{path.name}: {word} in: {line.strip()}")
                checked += "*" in word
    return bad, checked


def test_every_glob_in_the_snippets_and_notes_is_quoted():
    bad, checked = _unquoted_globs([*sorted(DOCS.iterdir()), ROOT / "notes" / "ci-fit.md"])
    assert bad == []
    assert checked >= 4


def test_every_glob_in_the_readme_is_quoted():
    bad, _ = _unquoted_globs([ROOT / "README.md"])
    assert bad == []


def test_the_github_workflow_uses_the_actions_inputs():
    action = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    workflow = yaml.safe_load((DOCS / "github-actions.yml").read_text("utf-8"))
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    [upload] = [s for s in steps if str(s.get("uses", "")).endswith("/junit2af@REF")]
    assert set(upload["with"]) <= set(action["inputs"])
    assert upload["if"] == "${{ !cancelled() }}"
    assert upload["with"]["api-key"] == "${{ secrets.AF_API_KEY }}"
    words = shlex.split(upload["with"]["paths"])
    assert words == ["build/test-results/**/*.xml"]
    assert "#" in upload["with"]["label"]  # quoted in YAML: not cut as a comment


def test_the_gitlab_job_installs_from_a_ref_and_its_upload_line_runs(local_server, tmp_path):
    pipeline = yaml.safe_load((DOCS / "gitlab-ci.yml").read_text("utf-8"))
    job = pipeline["upload-test-results"]
    assert job["when"] == "always"
    install, upload = job["script"][1], job["script"][2]
    assert '"git+${JUNIT2AF_REPO}@${JUNIT2AF_REF}"' in install
    # The upload line, as GitLab's shell runs it, with this venv's junit2af.
    line = upload.replace("/tmp/junit2af/bin/junit2af", shlex.quote(_junit2af()))
    reports = tmp_path / "build" / "test-results" / "nested" / "deeper"
    reports.mkdir(parents=True)
    (reports / "pytest.xml").write_bytes((FIXTURES / "junit" / "pytest-xunit2.xml").read_bytes())
    (tmp_path / "build" / "test-results" / "top.xml").write_bytes(
        (FIXTURES / "junit" / "jest-junit.xml").read_bytes()
    )
    env = _env(tmp_path, CI_PIPELINE_IID="7")
    env.update(
        AF_API_URL=local_server.base_url,
        AF_API_KEY=local_server.api_key,
        AF_PROJECT_ID=local_server.project_id,
    )
    result = subprocess.run(
        ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    [run] = local_server.admin.runs()
    assert run["label"] == "pipeline 7"
    expected = sum(
        len((FIXTURES / "junit" / f"{n}.expected.jsonl").read_text().splitlines())
        for n in ("pytest-xunit2.xml", "jest-junit.xml")
    )
    assert len(local_server.admin.results(run_id=run["test_run_id"])) == expected


def _junit2af() -> str:
    return str(Path(sys.executable).parent / "junit2af")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("LANG",) if k in os.environ}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        HOME=str(tmp_path),
        JUNIT2AF_STATE_DIR=str(tmp_path / "state"),
        **extra,
    )
    return env


def test_the_local_try_out_runs_in_a_fresh_shell(tmp_path):
    reports = tmp_path / "build" / "test-results"
    (reports / "test").mkdir(parents=True)
    (reports / "test" / "TEST-a.xml").write_bytes(
        (FIXTURES / "junit" / "surefire.xml").read_bytes()
    )
    (reports / "integration" / "nested").mkdir(parents=True)
    (reports / "integration" / "nested" / "TEST-b.xml").write_bytes(
        (FIXTURES / "junit" / "pytest-xunit1.xml").read_bytes()
    )
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", str(DOCS / "try-locally.sh")],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + (tmp_path / "af.log").read_text()
    expected = sum(
        len((FIXTURES / "junit" / f"{n}.expected.jsonl").read_text().splitlines())
        for n in ("surefire.xml", "pytest-xunit1.xml")
    )
    assert f"results: {expected} " in result.stdout  # both depths: the glob was quoted
    assert "CI #1" in result.stdout
    assert "# stopped" in (tmp_path / "af.log").read_text()

"""What an upload leaves for people and scripts: the run's link and a results file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from click.testing import CliRunner
from reportgen import write_report

from junit2af.cli import main
from junit2af.journal import Journal, op_key, sweep
from junit2af.localserver import FaultConfig, LocalServer

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "fixtures" / "junit" / "pytest-xunit1.xml"


def env_for(server, **extra):
    return {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
        **extra,
    }


def test_the_local_servers_link_is_printed_and_in_the_json(local_server, tmp_path):
    result = CliRunner().invoke(
        main,
        ["upload", "--json", "--journal", str(tmp_path / "j"), str(REPORT)],
        env=env_for(local_server),
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run_url"] == local_server.run_url(summary["run_id"])
    text = CliRunner().invoke(
        main,
        ["upload", "--new-run", "--journal", str(tmp_path / "j"), str(REPORT)],
        env=env_for(local_server),
    )
    assert "  link: http://127.0.0.1:" in text.stdout


def test_an_upload_already_complete_still_prints_its_link(local_server, tmp_path):
    """A re-run that sends nothing (not even the status probe the link's template comes
    from) prints the link the upload completed with."""
    args = ["upload", "--json", "--journal", str(tmp_path / "j"), str(REPORT)]
    first = json.loads(CliRunner().invoke(main, args, env=env_for(local_server)).stdout)
    again = CliRunner().invoke(main, args, env=env_for(local_server))
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["already_complete"] is True and summary["requests"] == 0
    assert summary["run_url"] == first["run_url"] == local_server.run_url(first["run_id"])
    text = CliRunner().invoke(main, args[:1] + args[2:], env=env_for(local_server))
    assert f"  link: {first['run_url']}" in text.stdout


def test_the_template_of_the_environment_wins_and_quotes_the_id(local_server, tmp_path):
    env = env_for(local_server, AF_RUN_URL_TEMPLATE="https://app.example/runs/{run_id}?x=1")
    result = CliRunner().invoke(
        main, ["upload", "--json", "--journal", str(tmp_path / "j"), str(REPORT)], env=env
    )
    summary = json.loads(result.stdout)
    assert summary["run_url"] == f"https://app.example/runs/{summary['run_id']}?x=1"
    bad = CliRunner().invoke(
        main,
        ["upload", str(REPORT)],
        env=env_for(local_server, AF_RUN_URL_TEMPLATE="https://x/runs"),
    )
    assert bad.exit_code == 2 and "{run_id}" in bad.stderr


def test_the_results_file_has_every_result_with_its_ids_even_after_a_resume(tmp_path):
    report = write_report(tmp_path / "report.xml", 40, output_every=4)
    results = tmp_path / "results.jsonl"
    journal = tmp_path / "journal.sqlite3"
    with LocalServer(tmp_path / "server") as server:
        env = env_for(server)
        server.set_faults(FaultConfig(seed=3, storage_failure_rate=1.0))
        args = ["upload", "--json", "--journal", str(journal), "--results-file", str(results)]
        first = CliRunner().invoke(main, [*args, "--retry-deadline", "0.2", str(report)], env=env)
        assert first.exit_code == 5
        partial = [json.loads(line) for line in results.read_text().splitlines()]
        assert len(partial) == 40  # written on failure too: what is there, and what is not
        assert all(line["test_result_id"] for line in partial)
        assert not any(line["artifacts"] for line in partial)
        server.set_faults(None)
        done = CliRunner().invoke(main, [*args, str(report)], env=env)
        assert done.exit_code == 0, done.stderr
        lines = [json.loads(line) for line in results.read_text().splitlines()]
        stored = {r["test_result_id"]: r for r in server.admin.results()}
        assert {line["test_result_id"] for line in lines} == set(stored)
        for line in lines:
            row = stored[line["test_result_id"]]
            assert (line["test_name"], line["status"]) == (row["test_name"], row["status"])
            assert line["source"].startswith(str(report))
            ids = {a["artifact_id"] for a in server.admin.artifacts(line["test_result_id"])}
            assert {a["artifact_id"] for a in line["artifacts"]} == ids
        assert (
            sum(len(line["artifacts"]) for line in lines)
            == json.loads(done.stdout)["artifacts_uploaded"]
        )


def test_completed_uploads_are_compacted_and_old_journals_swept(tmp_path, monkeypatch):
    report = write_report(tmp_path / "report.xml", 20)
    state = tmp_path / "state"
    with LocalServer(tmp_path / "server") as server:
        env = env_for(server, JUNIT2AF_STATE_DIR=str(state))
        result = CliRunner().invoke(main, ["upload", "-v", str(report)], env=env)
        assert result.exit_code == 0, result.stderr
        journals = list((state / "journals").glob("*.sqlite3"))
        assert len(journals) == 1
        assert f"journal: {journals[0]}" in result.stderr  # -v says where it is
        assert not list(Path.cwd().glob(".junit2af-journal*"))  # nothing in the repository
        with Journal(journals[0]) as journal:
            assert journal.compact(older_than_days=0) == 1
            assert journal._read("SELECT COUNT(*) FROM ops")[0][0] == 0
        again = CliRunner().invoke(main, ["upload", str(report)], env=env)
        assert "already uploaded" in again.stdout  # the compacted upload is still known
        old = time.time() - 40 * 86400
        os.utime(journals[0], (old, old))
        assert sweep(state / "journals") == 1
        assert not list((state / "journals").glob("*"))


def test_op_keys_do_not_collide_between_kinds():
    assert op_key("result", "a") != op_key("artifact", "a", "")

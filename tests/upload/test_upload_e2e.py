"""`junit2af upload` end to end against the local server, over real HTTP: what the server
stored is compared with the reports field by field."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.artifacts import AttachmentPolicy, plan_artifacts
from junit2af.cli import main
from junit2af.errors import ExitStatus
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

REPO = Path(__file__).resolve().parents[2]
FIXTURES = [
    REPO / "fixtures" / "junit" / "pytest-xunit1.xml",
    REPO / "fixtures" / "junit" / "surefire.xml",
    REPO / "fixtures" / "junit" / "catch2.xml",
]


def env_for(server, **overrides):
    env = {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
    }
    env.update(overrides)
    return env


def upload(server, tmp_path, *args, env=None):
    runner = CliRunner()
    return runner.invoke(
        main,
        ["upload", "--journal", str(tmp_path / "journal.sqlite3"), *map(str, args)],
        env=env or env_for(server),
        catch_exceptions=False,
    )


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def expected_records(paths):
    records = list(
        read_records(
            list(expand_inputs([str(p) for p in paths])), ParseOptions(warn=lambda m: None)
        )
    )
    return {r.test_name: r for r in records}


def test_upload_stores_every_field_of_every_record(local_server, tmp_path):
    result = upload(local_server, tmp_path, "--json", *FIXTURES)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    expected = expected_records(FIXTURES)

    run = local_server.admin.run(summary["run_id"])
    assert run["status"] == "Completed"
    stored = local_server.admin.results(run_id=summary["run_id"])
    assert len(stored) == len(expected) == summary["results_uploaded"]
    counts = {
        s: sum(1 for r in expected.values() if r.status.value == s)
        for s in ("Passed", "Failed", "Skipped", "KnownFail")
    }
    for status, number in counts.items():
        assert run["result_counts"][status] == number
        assert summary["counts"].get(status, 0) == number

    roots = AttachmentPolicy([REPO])
    artifacts_seen = 0
    for row in stored:
        record = expected[row["test_name"]]
        assert row["status"] == record.status.value
        assert when(row["started_at"]) == record.started_at
        assert when(row["finished_at"]) == record.finished_at
        assert row["execution_time_ms"] == record.execution_time_ms
        assert row["error_message"] == record.error_message
        metadata = dict(row["metadata"])
        assert metadata.pop("idempotency_key").startswith("j2a-")
        assert metadata == json.loads(json.dumps(dict(record.metadata)))
        plan = plan_artifacts(record, roots)
        stored_artifacts = {
            a["label"]: a for a in local_server.admin.artifacts(row["test_result_id"])
        }
        assert set(stored_artifacts) == {a.label for a in plan.artifacts}
        for planned in plan.artifacts:
            got = stored_artifacts[planned.label]
            assert got["kind"] == planned.kind.value
            assert got["content_type"] == planned.content_type
            assert got["confirmed"] if "confirmed" in got else got["uploaded_at"]
            data = local_server.admin.artifact_bytes(got["artifact_id"])
            assert hashlib.sha256(data).hexdigest() == hashlib.sha256(planned.data).hexdigest()
            artifacts_seen += 1
    assert artifacts_seen == summary["artifacts_uploaded"] > 0

    puts = [r for r in local_server.request_log if r.method == "PUT"]
    assert len(puts) == artifacts_seen
    assert not any(r.has_authorization for r in puts)
    api_calls = [
        r for r in local_server.request_log if r.method != "PUT" and not r.path.endswith("/status")
    ]
    assert all(r.key_kind == "read-write" for r in api_calls)
    assert summary["requests"] == len(local_server.request_log)


def test_run_metadata_names_inputs_with_digests_and_the_reports_time_span(local_server, tmp_path):
    result = upload(
        local_server,
        tmp_path,
        "--json",
        "--label",
        "CI #42",
        "--metadata",
        "branch=main",
        FIXTURES[0],
    )
    summary = json.loads(result.stdout)
    run = local_server.admin.run(summary["run_id"])
    assert run["label"] == "CI #42"
    metadata = run["metadata"]
    assert metadata["branch"] == "main"
    assert metadata["inputs"] == [
        {
            "name": str(FIXTURES[0]),
            "sha256": hashlib.sha256(FIXTURES[0].read_bytes()).hexdigest(),
            "format": "junit",
        }
    ]
    first_start = min(r.started_at for r in expected_records([FIXTURES[0]]).values())
    assert when(metadata["report_time_span"]["start"]) == first_start
    assert metadata["junit2af_version"] and metadata["host"]


def test_rerun_is_a_no_op_and_new_run_uploads_again(local_server, tmp_path):
    first = json.loads(upload(local_server, tmp_path, "--json", FIXTURES[1]).stdout)
    requests_after_first = len(local_server.request_log)
    again = upload(local_server, tmp_path, FIXTURES[1])
    assert again.exit_code == 0
    assert f"already uploaded: run {first['run_id']}" in again.stdout
    assert len(local_server.request_log) == requests_after_first
    fresh = json.loads(upload(local_server, tmp_path, "--json", "--new-run", FIXTURES[1]).stdout)
    assert fresh["run_id"] != first["run_id"]
    assert len(local_server.admin.runs()) == 2


def test_failed_tests_change_the_exit_code_only_when_asked(local_server, tmp_path):
    result = upload(local_server, tmp_path, "-q", "--fail-on-test-failures", FIXTURES[0])
    assert result.exit_code == ExitStatus.TEST_FAILURES


def test_bad_input_stops_before_any_request(local_server, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuite><testcase name='x'>")
    result = upload(local_server, tmp_path, FIXTURES[0], bad)
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.startswith(f"junit2af: error: {bad}:1:")
    assert local_server.request_log == []


@pytest.mark.parametrize(
    ("key_attr", "status_text"),
    [("wrong", "HTTP 401"), ("readonly_key", "HTTP 403")],
)
def test_auth_errors_name_the_call_and_never_the_key(local_server, tmp_path, key_attr, status_text):
    key = "af_wrong_key_123456" if key_attr == "wrong" else getattr(local_server, key_attr)
    result = upload(local_server, tmp_path, FIXTURES[1], env=env_for(local_server, AF_API_KEY=key))
    assert result.exit_code == ExitStatus.AUTH
    line = result.stderr.strip().splitlines()[-1]
    # A wrong key is refused by the check before the upload; a read-only one when it
    # tries to write.
    call = "GET /project/: " if key_attr == "wrong" else "POST /run/: "
    assert line.startswith("junit2af: error: " + call + status_text), line
    assert key not in result.stderr + result.stdout
    if key_attr == "readonly_key":
        # Running it again cannot help until the key is fixed; and no run was made.
        assert line.endswith("once that is fixed, the same command finishes the upload"), line
        assert "run None" not in result.stdout + result.stderr


def test_missing_settings_are_usage_errors(local_server, tmp_path):
    result = upload(
        local_server,
        tmp_path,
        FIXTURES[1],
        env={"AF_API_URL": "", "AF_API_KEY": "", "AF_PROJECT_ID": "p"},
    )
    assert result.exit_code == ExitStatus.USAGE
    assert "no API key" in result.stderr
    insecure = upload(
        local_server,
        tmp_path,
        FIXTURES[1],
        env=env_for(local_server, AF_API_URL="http://example.com/v1/test"),
    )
    assert insecure.exit_code == ExitStatus.USAGE
    assert "plain http" in insecure.stderr


def test_dry_run_sends_nothing(local_server, tmp_path):
    result = upload(local_server, tmp_path, "--dry-run", "--json", FIXTURES[0])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["dry_run"] is True and summary["results_total"] == 15
    assert local_server.request_log == []


def test_expired_upload_urls_are_renewed(local_server, tmp_path):
    from junit2af.localserver import FaultConfig

    local_server.set_faults(FaultConfig(seed=3, expired_url_rate=0.3))
    result = upload(local_server, tmp_path, "--json", FIXTURES[0])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    stored = local_server.admin.artifacts()
    live = [a for a in stored if a.get("uploaded_at")]
    assert len(live) == summary["artifacts_uploaded"]
    assert any(r.status == 403 for r in local_server.request_log if r.method == "PUT")
    assert all(a.get("uploaded_at") for a in stored)  # expired ones were deleted

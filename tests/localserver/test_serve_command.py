"""`junit2af serve`: what it prints, that it serves, and that Ctrl-C stops it cleanly."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import requests
from click.testing import CliRunner

from junit2af.cli import main
from junit2af.localserver import ServerProcess


def test_serve_prints_eval_able_settings_and_stops_on_ctrl_c(server_process, tmp_path):
    process = server_process(tmp_path / "data")
    # start() returns at the third export; the comment lines follow it.
    deadline = time.monotonic() + 10
    while not process.output[-1].startswith("# Ctrl-C") and time.monotonic() < deadline:
        time.sleep(0.01)
    exports, comments = process.output[:3], process.output[3:]
    assert [line.split("=", 1)[0] for line in exports] == [
        "export AF_API_URL",
        "export AF_API_KEY",
        "export AF_PROJECT_ID",
    ]
    assert process.base_url.startswith("http://127.0.0.1:")
    assert process.base_url.endswith("/v1/test")
    assert comments and all(line.startswith("# ") for line in comments)

    # what a shell gets from eval
    shell = subprocess.run(
        [
            "bash",
            "-c",
            'eval "$1"; echo "$AF_API_URL|$AF_API_KEY|$AF_PROJECT_ID"',
            "-",
            "\n".join(process.output),
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    url, key, project = shell.stdout.strip().split("|")
    response = requests.get(f"{url}/project/", headers={"Authorization": key}, timeout=5)
    assert [p["project_id"] for p in response.json()["projects"]] == [project]

    process.interrupt()
    assert process.wait() == 0, process.stderr_text()
    assert "# stopped" in process.stderr_text()
    assert "Traceback" not in process.stderr_text()
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # no longer listening


def test_serve_stops_cleanly_on_sigterm(server_process):
    process = server_process()
    process.terminate()
    assert process.wait() == 0, process.stderr_text()
    assert "# stopped" in process.stderr_text()


def test_serve_keeps_keys_and_records_across_restarts_and_kills(server_process, tmp_path):
    data = tmp_path / "data"
    first = server_process(data)
    headers = {"Authorization": first.api_key}
    body = {"project_id": first.project_id, "test_name": "test_kept", "status": "Failed"}
    created = requests.post(first.base_url + "/result/", json=body, headers=headers, timeout=5)
    result_id = created.json()["test_result_id"]
    first.kill()  # SIGKILL: no clean shutdown
    assert first.returncode == -9

    second = server_process(data)
    assert (second.api_key, second.project_id) == (first.api_key, first.project_id)
    assert second.admin.result(result_id)["status"] == "Failed"
    assert second.readonly_key.startswith("afk_")


def test_serve_reports_a_busy_port(local_server, tmp_path):
    result = CliRunner().invoke(
        main, ["serve", "--port", str(local_server.port), "--data", str(tmp_path / "d")]
    )
    assert result.exit_code == 2  # a settings problem, not failed tests
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"junit2af: error: cannot serve on 127.0.0.1:{local_server.port}")


def test_server_process_reports_a_failed_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    process = ServerProcess(blocker)
    with pytest.raises(RuntimeError, match=r"(?s)exited with status 2.*is a file"):
        process.start()
    assert process.returncode == 2  # click's usage error

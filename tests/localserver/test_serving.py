"""The server as a server: keep-alive, latency, concurrency, restarts, logs, the admin API."""

from __future__ import annotations

import http.client
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from junit2af.localserver import AdminClient, FaultConfig, LocalServer


def _connection(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)


def test_connections_are_kept_alive(server):
    conn = _connection(server)
    try:
        conn.request("GET", "/v1/test/status")
        first = conn.getresponse()
        assert first.status == 200 and first.read()
        assert first.getheader("Connection") is None
        sock = conn.sock
        for _ in range(3):
            conn.request("GET", "/v1/test/project/", headers={"Authorization": server.api_key})
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            assert conn.sock is sock  # the same TCP connection answered every request
    finally:
        conn.close()


def test_connection_kept_after_an_error_with_an_unread_body(server):
    conn = _connection(server)
    try:
        # 401 is decided before the body is read; the server drains it to keep the connection.
        conn.request("POST", "/v1/test/run/", body=b'{"project_id": "p"}' * 100)
        response = conn.getresponse()
        assert response.status == 401 and response.read()
        sock = conn.sock
        conn.request("GET", "/v1/test/status")
        response = conn.getresponse()
        assert response.status == 200 and response.read()
        assert conn.sock is sock
    finally:
        conn.close()


def test_http_10_clients_are_answered(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/test/status HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in data
    # No Host header: the run_url_template names the address the server is bound to.
    root = f"http://127.0.0.1:{server.port}".encode()
    assert data.endswith(
        b'{"status": "ok", "version": "0.1.0", "run_url_template": "%s/runs/{run_id}"}' % root
    )


def test_bad_content_length_is_400(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/test/run/ HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n")
        data = sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 400")
    assert b"invalid Content-Length" in data


def test_small_requests_take_about_a_millisecond(local_server):
    """Median latency of small requests over one kept-alive connection.

    A server that writes a response's head and body separately without TCP_NODELAY waits
    for the client's delayed ACK: 44 ms per request here (measured by breaking the
    gateway on purpose). The bound leaves room for a loaded CI machine and still catches it.
    """
    with requests.Session() as session:
        session.headers["Authorization"] = local_server.api_key
        url = local_server.base_url
        body = {"project_id": local_server.project_id, "test_name": "tt", "status": "Passed"}
        session.get(url + "/project/", timeout=5)  # open the connection
        reads, writes = [], []
        for _ in range(200):
            began = time.perf_counter()
            assert session.get(url + "/project/", timeout=5).status_code == 200
            reads.append(time.perf_counter() - began)
            began = time.perf_counter()
            assert session.post(url + "/result/", json=body, timeout=5).status_code == 200
            writes.append(time.perf_counter() - began)
    read_ms, write_ms = statistics.median(reads) * 1000, statistics.median(writes) * 1000
    print(f"median GET /project/ {read_ms:.2f} ms, POST /result/ {write_ms:.2f} ms")
    assert read_ms < 10
    assert write_ms < 10


def test_many_concurrent_keep_alive_clients(local_server):
    url = local_server.base_url

    def worker(n: int) -> list[str]:
        ids = []
        with requests.Session() as session:
            session.headers["Authorization"] = local_server.api_key
            for i in range(10):
                response = session.post(
                    url + "/result/",
                    json={
                        "project_id": local_server.project_id,
                        "test_name": f"test_{n}_{i}",
                        "status": "Passed",
                    },
                    timeout=10,
                )
                assert response.status_code == 200
                ids.append(response.json()["test_result_id"])
        return ids

    with ThreadPoolExecutor(32) as pool:
        ids = [i for batch in pool.map(worker, range(32)) for i in batch]
    assert len(set(ids)) == 320
    assert len(local_server.admin.results()) == 320


def test_stop_ends_idle_kept_alive_connections(tmp_path):
    server = LocalServer(tmp_path).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/v1/test/status")
        conn.getresponse().read()
        began = time.perf_counter()
        server.stop()
        assert time.perf_counter() - began < 2
        assert not [t for t in threading.enumerate() if t.name.startswith("localserver-conn")]
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", "/v1/test/status")
            conn.getresponse()
    finally:
        conn.close()
    server.stop()  # idempotent


def test_records_and_files_survive_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    with LocalServer(data_dir) as server, requests.Session() as session:
        session.headers["Authorization"] = server.api_key
        keys = (server.api_key, server.readonly_key, server.project_id)
        result_id = session.post(
            server.base_url + "/result/",
            json={"project_id": server.project_id, "test_name": "test_a", "status": "Passed"},
            timeout=5,
        ).json()["test_result_id"]
        created = session.post(
            server.base_url + "/artifact/",
            json={
                "test_result_id": result_id,
                "label": "a.log",
                "kind": "Log",
                "content_type": "text/plain",
                "size_bytes": 4,
            },
            timeout=5,
        ).json()
        first_port = server.port
    # The upload URL of the first instance is honoured by the next (same secret), once
    # its port is rewritten to the new one.
    with LocalServer(data_dir) as server, requests.Session() as session:
        assert (server.api_key, server.readonly_key, server.project_id) == keys
        session.headers["Authorization"] = server.api_key
        url = created["upload_url"].replace(f":{first_port}/", f":{server.port}/")
        put = requests.put(url, data=b"data", headers={"Content-Type": "text/plain"}, timeout=5)
        assert put.status_code == 200
        response = session.get(f"{server.base_url}/result/{result_id}", timeout=5)
        assert response.json()["test_result"]["test_name"] == "test_a"
        assert server.admin.artifact_bytes(created["artifact_id"]) == b"data"
    assert (data_dir / "records.sqlite3").exists()


def test_bind_failure_raises_oserror(local_server, tmp_path):
    with pytest.raises(OSError):
        LocalServer(tmp_path / "second", port=local_server.port).start()


# -- request log ---------------------------------------------------------------------------


def test_request_log_never_holds_the_key(api, server):
    api.get("/project/", headers={"Idempotency-Key": "k1", "User-Agent": "test/1"})
    api.get("/project/", key="wrong")
    api.get("/status", key=None)
    api.get("/project/", key=server.readonly_key)
    api.get("/project/", key=None)
    log = server.request_log
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/v1/test/project/", 200),
        ("GET", "/v1/test/project/", 401),
        ("GET", "/v1/test/status", 200),
        ("GET", "/v1/test/project/", 200),
        ("GET", "/v1/test/project/", 401),
    ]
    assert [r.key_kind for r in log] == ["read-write", "invalid", None, "read-only", None]
    assert [r.has_authorization for r in log] == [True, True, False, True, False]
    assert log[0].headers["Idempotency-Key"] == "k1"
    assert log[0].headers["User-Agent"] == "test/1"
    assert log[0].headers["Authorization"] == "[redacted]"
    dumped = repr([r.to_json() for r in log])
    assert server.api_key not in dumped and server.readonly_key not in dumped
    assert "wrong" not in dumped
    server.clear_request_log()
    assert server.request_log == []


def test_admin_calls_are_not_logged(api, server):
    admin = AdminClient(server.root_url, server.api_key)
    admin.runs()
    assert server.request_log == []


# -- the admin HTTP API --------------------------------------------------------------------


def test_admin_api_needs_the_bootstrap_key(server):
    for key in [None, server.readonly_key, "nope"]:
        headers = {} if key is None else {"Authorization": key}
        response = requests.get(server.root_url + "/_admin/runs", headers=headers, timeout=5)
        assert response.status_code == 401
    team = server.admin.create_team()
    response = requests.get(
        server.root_url + "/_admin/runs", headers={"Authorization": team.api_key}, timeout=5
    )
    assert response.status_code == 401


def test_admin_client_mirrors_the_admin_view(api, server, clock):
    admin = AdminClient(server.root_url, server.api_key)
    run_id = api.create_run(metadata={"k": "v"})
    result_id = api.create_result(test_run_id=run_id)
    artifact_id = api.add_artifact(result_id, b"bytes!")
    assert admin.info()["project_id"] == server.project_id
    assert admin.runs() == server.admin.runs()
    assert admin.run(run_id)["metadata"] == {"k": "v"}
    assert admin.run("run_nope") is None
    assert admin.results(run_id=run_id) == server.admin.results(run_id=run_id)
    assert admin.result(result_id)["test_name"] == "test_login"
    assert admin.artifacts(result_id) == server.admin.artifacts(result_id)
    assert admin.artifact_bytes(artifact_id) == b"bytes!"
    assert admin.artifact_sha256(artifact_id) == server.admin.artifact_sha256(artifact_id)
    assert admin.artifact_bytes("art_nope") is None
    assert [r.path for r in admin.request_log()] == [r.path for r in server.request_log]
    admin.clear_request_log()
    assert server.request_log == []

    team = admin.create_team("team b")
    assert {t["team_id"] for t in admin.teams()} == {server.team_id, team.team_id}
    project_id = admin.create_project("extra", team_id=team.team_id, status="Inactive")
    assert {p["project_id"] for p in admin.projects(team.team_id)} == {
        team.project_id,
        project_id,
    }

    admin.set_faults(FaultConfig(rate_429=1.0, retry_after=3))
    assert server.faults == FaultConfig(rate_429=1.0, retry_after=3)
    assert admin.faults() == server.faults
    assert api.get("/status").status_code == 429
    admin.set_faults(None)
    assert api.get("/status").status_code == 200

    assert admin.advance_clock(60) == "2025-01-15T10:31:00Z"
    assert server.clock().minute == 31


def test_admin_api_refuses_bad_settings(server):
    headers = {"Authorization": server.api_key}
    root = server.root_url + "/_admin"
    bad_faults = requests.put(root + "/faults", json={"error_rat": 1}, headers=headers, timeout=5)
    assert bad_faults.status_code == 400
    assert "error_rat" in bad_faults.json()["message"]
    bad_clock = requests.post(
        root + "/clock", json={"advance_seconds": -1}, headers=headers, timeout=5
    )
    assert bad_clock.status_code == 400
    bad_project = requests.post(root + "/projects", json={"name": "x"}, headers=headers, timeout=5)
    assert bad_project.status_code == 400
    assert requests.get(root + "/nothing", headers=headers, timeout=5).status_code == 404

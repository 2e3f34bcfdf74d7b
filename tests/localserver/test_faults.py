"""Fault injection (seeded, per instance) and the optional Idempotency-Key support."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from junit2af.localserver import FaultConfig, LocalServer


def _statuses(api, n, path="/project/"):
    return [api.get(path).status_code for _ in range(n)]


def test_faults_are_off_by_default(api, server):
    assert server.faults == FaultConfig()
    assert set(_statuses(api, 20)) == {200}
    assert all(r.fault is None for r in server.request_log)


def test_error_rate_answers_500_and_503_before_doing_anything(api, server):
    server.set_faults(FaultConfig(seed=1, error_rate=1.0))
    statuses = []
    for n in range(30):
        response = api.post(
            "/result/",
            json={"project_id": server.project_id, "test_name": f"test_{n}", "status": "Passed"},
        )
        statuses.append(response.status_code)
        assert "injected" in response.json()["message"]
    assert set(statuses) == {500, 503}
    assert server.admin.results() == []  # nothing was done
    assert {r.fault for r in server.request_log} == {"500", "503"}
    server.set_faults(None)
    assert api.get("/project/").status_code == 200


def test_error_rate_is_a_fraction(api, server):
    server.set_faults(FaultConfig(seed=7, error_rate=0.3))
    statuses = Counter(_statuses(api, 400))
    failed = statuses[500] + statuses[503]
    assert 80 <= failed <= 160, statuses


def test_same_seed_same_sequence(api, server):
    server.set_faults(FaultConfig(seed=42, error_rate=0.5, rate_429=0.2))
    first = _statuses(api, 60)
    server.set_faults(FaultConfig(seed=42, error_rate=0.5, rate_429=0.2))
    second = _statuses(api, 60)
    server.set_faults(FaultConfig(seed=43, error_rate=0.5, rate_429=0.2))
    third = _statuses(api, 60)
    assert first == second
    assert first != third
    assert {200, 429} <= set(first)


def test_429_carries_retry_after(api, server):
    server.set_faults(FaultConfig(rate_429=1.0, retry_after=7))
    response = api.get("/status")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["message"].startswith("rate limit exceeded")


def test_latency_is_added_to_each_request(api, server):
    server.set_faults(FaultConfig(latency_ms=60))
    began = time.perf_counter()
    assert api.get("/status").status_code == 200
    assert time.perf_counter() - began >= 0.06


def test_lost_response_commits_then_drops_the_connection(api, server):
    server.set_faults(FaultConfig(lost_response_rate=1.0))
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/run/", json={"project_id": server.project_id, "label": "lost"})
    (run,) = server.admin.runs()
    assert run["label"] == "lost"  # the create happened
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post(
            "/result/",
            json={"project_id": server.project_id, "test_name": "test_x", "status": "Passed"},
        )
    assert len(server.admin.results()) == 1
    record = server.request_log[-1]
    assert (record.status, record.fault) == (None, "lost_response")
    # reads are not creates: they are answered
    assert api.get("/project/").status_code == 200


def test_storage_failures_store_nothing(api, server):
    artifact_id, url = api.create_artifact(api.create_result(), 3)
    server.set_faults(FaultConfig(storage_failure_rate=1.0, seed=3))
    statuses = {api.put(url, b"abc", "text/plain").status_code for _ in range(10)}
    assert statuses == {500, 503}
    assert server.admin.artifact_bytes(artifact_id) is None
    assert api.get("/project/").status_code == 200  # the API itself is fine
    server.set_faults(None)
    assert api.put(url, b"abc", "text/plain").status_code == 200  # the same URL works


def test_expired_upload_urls(api, server):
    server.set_faults(FaultConfig(expired_url_rate=1.0))
    artifact_id, url = api.create_artifact(api.create_result(), 3)
    response = api.put(url, b"abc", "text/plain")
    assert response.status_code == 403
    assert "expired" in response.json()["message"]
    server.set_faults(None)
    # a new artifact gets a fresh URL
    _, fresh = api.create_artifact(api.create_result(test_name="test_2"), 3)
    assert api.put(fresh, b"abc", "text/plain").status_code == 200


def test_database_down(api, server):
    server.set_faults(FaultConfig(database_down=True))
    status = api.get("/status", key=None)
    assert status.status_code == 503
    assert status.json() == {"message": "database unreachable"}
    assert api.get("/project/").status_code == 500
    server.set_faults(None)
    assert api.get("/status").status_code == 200


def test_faults_from_the_constructor(tmp_path):
    with (
        LocalServer(tmp_path, faults=FaultConfig(rate_429=1.0)) as server,
        requests.Session() as session,
    ):
        response = session.get(server.base_url + "/status", timeout=5)
        assert response.status_code == 429


@pytest.mark.parametrize(
    "bad",
    [{"error_rate": 1.5}, {"latency_ms": -1}, {"rate_429": -0.1}, {"expired_url_rate": 2}],
)
def test_fault_config_is_validated(bad):
    with pytest.raises(ValueError):
        FaultConfig(**bad)


# -- Idempotency-Key --------------------------------------------------------------------------


def test_idempotency_key_is_stored_but_not_honoured_by_default(api, server):
    headers = {"Idempotency-Key": "run-1"}
    body = {"project_id": server.project_id, "label": "CI"}
    first = api.ok(api.post("/run/", json=body, headers=headers))["test_run_id"]
    second = api.ok(api.post("/run/", json=body, headers=headers))["test_run_id"]
    assert first != second
    assert [r["idempotency_key"] for r in server.admin.runs()] == ["run-1", "run-1"]


def test_idempotency_keys_honoured_when_enabled(tmp_path):
    with LocalServer(tmp_path, honour_idempotency_keys=True) as server:
        with requests.Session() as session:
            session.headers["Authorization"] = server.api_key

            def create(path, body, key):
                response = session.post(
                    server.base_url + path, json=body, headers={"Idempotency-Key": key}, timeout=5
                )
                assert response.status_code == 200, response.text
                return response.json()

            run = {"project_id": server.project_id}
            assert create("/run/", run, "r1") == create("/run/", run, "r1")
            assert create("/run/", run, "r2") != create("/run/", run, "r1")
            result = {"project_id": server.project_id, "test_name": "test_a", "status": "Passed"}
            result_id = create("/result/", result, "x")["test_result_id"]
            assert create("/result/", result, "x")["test_result_id"] == result_id
            artifact = {
                "test_result_id": result_id,
                "label": "l",
                "kind": "Log",
                "content_type": "text/plain",
                "size_bytes": 2,
            }
            first = create("/artifact/", artifact, "a")
            again = create("/artifact/", artifact, "a")
            assert first["artifact_id"] == again["artifact_id"]
            # a repeat hands out a fresh, working upload URL
            put = session.put(
                again["upload_url"],
                data=b"ok",
                headers={"Content-Type": "text/plain", "Authorization": None},
                timeout=5,
            )
            assert put.status_code == 200
        assert len(server.admin.runs()) == 2
        assert len(server.admin.results()) == 1
        assert len(server.admin.artifacts()) == 1


def test_idempotency_key_length_is_checked(api, server):
    response = api.post(
        "/run/", json={"project_id": server.project_id}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert server.admin.runs() == []

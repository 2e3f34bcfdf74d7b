"""The API endpoints against af-api.md and its reading notes: answers, validation, errors."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from junit2af.localserver.storage import Store

# -- status, auth, error format ------------------------------------------------------------


def test_status_needs_no_key(api):
    response = api.get("/status", key=None)
    assert response.status_code == 200
    # run_url_template is the local server's own addition: where its web view shows a run
    assert response.json() == {
        "status": "ok",
        "version": "0.1.0",
        "run_url_template": api.server.root_url + "/runs/{run_id}",
    }
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "missing API key"),
        ("", "missing API key"),
        ("afk_not_a_key", "invalid API key"),
    ],
)
def test_missing_or_invalid_key_is_401(api, key, message):
    response = api.get("/project/", key=key)
    assert response.status_code == 401
    assert message in response.json()["message"]


def test_bearer_scheme_is_refused_with_a_hint(api, server):
    response = api.get("/project/", key=f"Bearer {server.api_key}")
    assert response.status_code == 401
    assert "raw key" in response.json()["message"]


WRITES = [
    ("POST", "/run/", {"project_id": "P", "label": "CI"}),
    ("POST", "/run/RUN", {"status": "Running"}),
    ("POST", "/result/", {"project_id": "P", "test_name": "tt", "status": "Passed"}),
    ("POST", "/result/RES", {"status": "Failed"}),
    ("POST", "/result/RES/start", None),
    ("POST", "/result/RES/finish", None),
    ("DELETE", "/result/RES", None),
    (
        "POST",
        "/artifact/",
        {"test_result_id": "RES", "label": "l", "kind": "Log", "content_type": "a/b"},
    ),
    ("POST", "/artifact/ART/confirm", None),
    ("DELETE", "/artifact/ART", None),
]


def _fill(api, text):
    run_id = api.create_run()
    result_id = api.create_result(test_run_id=run_id)
    artifact_id, _ = api.create_artifact(result_id, 3)
    project = api.server.project_id
    return text.replace("RUN", run_id).replace("RES", result_id).replace("ART", artifact_id), {
        "P": project,
        "RES": result_id,
    }


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_readonly_key_gets_403_on_every_write(api, readonly_api, server, method, path, body):
    path, ids = _fill(api, path)
    if body is not None:
        body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = (len(server.admin.runs()), len(server.admin.results()))
    response = readonly_api.call(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["message"] == "this API key is read-only"
    assert (len(server.admin.runs()), len(server.admin.results())) == before


def test_readonly_key_can_read(api, readonly_api):
    result_id = api.create_result()
    assert readonly_api.get(f"/result/{result_id}").status_code == 200
    assert readonly_api.get("/project/").status_code == 200
    assert readonly_api.get(f"/artifact/?test_result_id={result_id}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/result/RES"),
        ("POST", "/result/RES"),
        ("POST", "/result/RES/start"),
        ("POST", "/result/RES/finish"),
        ("DELETE", "/result/RES"),
        ("GET", "/artifact/?test_result_id=RES"),
        ("POST", "/run/RUN"),
        ("POST", "/artifact/ART/confirm"),
        ("GET", "/artifact/ART/download"),
        ("DELETE", "/artifact/ART"),
    ],
)
def test_another_teams_resources_are_404(api, other_api, server, method, path):
    path, _ = _fill(api, path)
    response = other_api.call(method, path, json={})
    assert response.status_code == 404, response.text
    assert response.json()["message"].endswith("not found")


def test_another_teams_project_and_run_are_404_on_create(api, other_api, server):
    run_id = api.create_run()
    response = other_api.post("/run/", json={"project_id": server.project_id})
    assert response.status_code == 404
    body = {
        "project_id": other_api.other_project_id,
        "test_run_id": run_id,
        "test_name": "test_x",
        "status": "Passed",
    }
    assert other_api.post("/result/", json=body).status_code == 404
    result_id = api.create_result()
    body = {
        "test_result_id": result_id,
        "label": "x",
        "kind": "Log",
        "content_type": "text/plain",
        "size_bytes": 1,
    }
    assert other_api.post("/artifact/", json=body).status_code == 404
    assert server.admin.artifacts() == []


def test_unknown_ids_are_404(api):
    for method, path in [
        ("GET", "/result/res_nope"),
        ("POST", "/run/run_nope"),
        ("DELETE", "/artifact/art_nope"),
        ("GET", "/artifact/art_nope/download"),
    ]:
        response = api.call(method, path, json={})
        assert response.status_code == 404
        assert set(response.json()) == {"message"}


def test_paths_are_exact(api):
    # note 1: /project/ keeps its slash; no redirect that a client would follow by accident
    response = api.get("/project", allow_redirects=False)
    assert response.status_code == 404
    assert "message" in response.json()
    assert api.get("/nothing/here").status_code == 404
    assert api.post("//run/", json={}).status_code == 404


def test_wrong_method_is_405_with_json(api):
    response = api.call("PUT", "/result/")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "not allowed" in response.json()["message"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"],
)
def test_create_body_must_be_a_json_object(api, raw):
    response = api.post("/run/", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"]


# -- projects ------------------------------------------------------------------------------


def test_projects_list_has_the_documented_fields(api, server):
    data = api.ok(api.get("/project/"))
    assert data["page_token"] is None
    (project,) = data["projects"]
    assert project == {
        "project_id": server.project_id,
        "name": "Local project",
        "description": None,
        "status": "Active",
        "created_at": "2025-01-15T10:30:00Z",
    }


def test_projects_are_paginated_with_opaque_tokens(api, server):
    for n in range(44):
        status = "Inactive" if n % 7 == 0 else "Active"
        server.admin.create_project(f"project {n:02}", description="d", status=status)
    seen, token, pages = [], None, 0
    while True:
        params = {"page_size": 20, **({"page_token": token} if token else {})}
        data = api.ok(api.get("/project/", params=params))
        pages += 1
        seen += [p["project_id"] for p in data["projects"]]
        token = data["page_token"]
        if token is None:
            break
        assert "after" not in token  # opaque, not a visible offset
    assert pages == 3
    assert len(seen) == len(set(seen)) == 45
    assert {p["project_id"] for p in server.admin.projects(server.team_id)} == set(seen)


def test_projects_default_page_size_is_20(api, server):
    for n in range(25):
        server.admin.create_project(f"project {n:02}")
    data = api.ok(api.get("/project/"))
    assert len(data["projects"]) == 20
    assert data["page_token"]


@pytest.mark.parametrize("size", ["0", "101", "-1", "ten", "1.5"])
def test_page_size_out_of_range_is_400(api, size):
    response = api.get("/project/", params={"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()["message"]


def test_page_size_bounds_are_accepted(api):
    assert api.get("/project/", params={"page_size": 1}).status_code == 200
    assert api.get("/project/", params={"page_size": 100}).status_code == 200


def test_forged_page_token_is_400(api, server):
    for n in range(3):
        server.admin.create_project(f"project {n}")
    token = api.ok(api.get("/project/", params={"page_size": 1}))["page_token"]
    payload, mac = token.split(".")
    for bad in ["garbage", payload + ".0000", "eyJhZnRlciI6IDB9." + mac, "é"]:
        response = api.get("/project/", params={"page_token": bad})
        assert response.status_code == 400
        assert response.json()["message"] == "invalid page_token"


def test_projects_of_other_teams_are_not_listed(api, other_api, server):
    mine = {p["project_id"] for p in api.ok(api.get("/project/"))["projects"]}
    theirs = {p["project_id"] for p in other_api.ok(other_api.get("/project/"))["projects"]}
    assert mine == {server.project_id}
    assert theirs == {other_api.other_project_id}


# -- runs ----------------------------------------------------------------------------------


def test_create_run_stores_what_was_sent(api, server):
    metadata = {"ci": {"job": 42}, "zeta": 1, "alpha": [1, "two"]}
    response = api.post(
        "/run/",
        json={"project_id": server.project_id, "label": "Nightly tests", "metadata": metadata},
    )
    run_id = api.ok(response)["test_run_id"]
    assert run_id.startswith("run_")
    run = server.admin.run(run_id)
    assert run["label"] == "Nightly tests"
    assert run["status"] == "Pending"
    assert run["metadata"] == metadata
    assert list(run["metadata"]) == ["ci", "zeta", "alpha"]  # key order kept
    assert run["started_at"] is None and run["finished_at"] is None
    assert run["created_at"] == "2025-01-15T10:30:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "project_id"),
        ({"project_id": None}, "project_id"),
        ({"project_id": 7}, "project_id"),
        ({"label": "x"}, "label"),
        ({"label": "x" * 256}, "label"),
        ({"label": 12}, "label"),
        ({"metadata": [1]}, "metadata"),
        ({"metadata": "text"}, "metadata"),
        ({"label": "\ud800ab"}, "label"),
    ],
)
def test_create_run_validation(api, server, body, field):
    if field != "project_id":
        body = {"project_id": server.project_id, **body}
    response = api.post("/run/", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]
    assert server.admin.runs() == []


def test_labels_count_code_points_not_bytes(api, server):
    # 255 emoji are 1020 UTF-8 bytes and 510 UTF-16 units, but 255 code points.
    assert api.post("/run/", json={"project_id": server.project_id, "label": "😀" * 255}).ok
    too_long = {"project_id": server.project_id, "label": "😀" * 256}
    assert api.post("/run/", json=too_long).status_code == 400
    assert api.post("/run/", json={"project_id": server.project_id, "label": "ab"}).ok


def test_unknown_project_is_404(api):
    response = api.post("/run/", json={"project_id": "project_nope"})
    assert response.status_code == 404
    assert response.json() == {"message": "project not found"}


def test_run_update_answers_204_and_stamps_times(api, server, clock):
    run_id = api.create_run()
    passed = [api.create_result(test_run_id=run_id, test_name=f"test_{n}") for n in range(3)]
    api.create_result(test_run_id=run_id, status="Failed")
    api.create_result(status="Skipped")  # not in the run: not counted
    assert passed

    clock.advance(5)
    response = api.post(f"/run/{run_id}", json={"status": "Running"})
    assert response.status_code == 204
    assert response.content == b""
    run = server.admin.run(run_id)
    assert (run["status"], run["started_at"]) == ("Running", "2025-01-15T10:30:05Z")
    assert run["result_counts"] is None

    clock.advance(60)
    response = api.post(f"/run/{run_id}", json={"status": "Completed", "label": "CI #2"})
    assert response.status_code == 204
    run = server.admin.run(run_id)
    assert run["status"] == "Completed"
    assert run["label"] == "CI #2"
    assert run["started_at"] == "2025-01-15T10:30:05Z"
    assert run["finished_at"] == "2025-01-15T10:31:05Z"
    assert run["result_counts"] == {
        "Pending": 0,
        "Running": 0,
        "Passed": 3,
        "Failed": 1,
        "Skipped": 0,
        "KnownFail": 0,
        "total": 4,
    }


def test_run_update_validation(api, server):
    run_id = api.create_run(metadata={"a": 1})
    for body in [{"status": "Done"}, {"status": None}, {"label": "x"}, {"metadata": 3}]:
        response = api.post(f"/run/{run_id}", json=body)
        assert response.status_code == 400, body
    assert server.admin.run(run_id)["status"] == "Pending"
    # an empty body is a valid no-op; metadata is replaced by what is sent
    assert api.post(f"/run/{run_id}").status_code == 204
    assert api.post(f"/run/{run_id}", json={"metadata": {"b": 2}}).status_code == 204
    assert server.admin.run(run_id)["metadata"] == {"b": 2}


# -- results -------------------------------------------------------------------------------


def test_result_create_and_get(api, server):
    run_id = api.create_run(label="Nightly tests")
    body = {
        "project_id": server.project_id,
        "test_run_id": run_id,
        "test_name": "test_user_login",
        "status": "Passed",
        "started_at": "2025-01-15T10:31:00Z",
        "execution_time_ms": 1250,
        "metadata": {"suite": "auth"},
    }
    result_id = api.ok(api.post("/result/", json=body))["test_result_id"]
    assert result_id.startswith("res_")
    assert api.ok(api.get(f"/result/{result_id}")) == {
        "test_result": {
            "test_result_id": result_id,
            "project_id": server.project_id,
            "test_run_id": run_id,
            "test_name": "test_user_login",
            "status": "Passed",
            "error_message": None,
            "metadata": {"suite": "auth"},
            "started_at": "2025-01-15T10:31:00Z",
            "finished_at": None,
            "execution_time_ms": 1250,
            "test_run_label": "Nightly tests",
        }
    }


def test_result_create_ignores_undocumented_fields(api, server):
    # note 2: error_message and finished_at are lost on create
    result_id = api.create_result(
        status="Failed",
        error_message="boom",
        finished_at="2025-01-15T10:31:00Z",
        colour="blue",
    )
    stored = server.admin.result(result_id)
    assert stored["error_message"] is None
    assert stored["finished_at"] is None
    assert "colour" not in stored
    assert stored["create_request"]["error_message"] == "boom"  # the admin view keeps it


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2025-01-15T10:31:00Z", "2025-01-15T10:31:00Z"),
        ("2025-01-15T12:31:00+02:00", "2025-01-15T10:31:00Z"),
        ("2025-01-15T10:31:00.250Z", "2025-01-15T10:31:00.250000Z"),
        ("2025-01-15T10:31:00", "2025-01-15T10:31:00Z"),  # no offset: UTC (note 6)
    ],
)
def test_result_times_are_iso_8601(api, server, sent, stored):
    result_id = api.create_result(started_at=sent)
    assert api.ok(api.get(f"/result/{result_id}"))["test_result"]["started_at"] == stored


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"test_name": None}, "test_name"),
        ({"test_name": "x"}, "test_name"),
        ({"test_name": "x" * 256}, "test_name"),
        ({"status": "Passing"}, "status"),
        ({"status": None}, "status"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": "2025-01-15"}, "started_at"),
        ({"started_at": 1736937060}, "started_at"),
        ({"metadata": [1]}, "metadata"),
        ({"execution_time_ms": -1}, "execution_time_ms"),
        ({"execution_time_ms": 1.5}, "execution_time_ms"),
        ({"execution_time_ms": "12"}, "execution_time_ms"),
        ({"execution_time_ms": True}, "execution_time_ms"),
        ({"test_run_id": "run_nope"}, "test run"),
    ],
)
def test_result_create_validation(api, server, fields, field):
    body = {"project_id": server.project_id, "test_name": "test_x", "status": "Passed", **fields}
    response = api.post("/result/", json=body)
    assert response.status_code in (400, 404), response.text
    assert field in response.json()["message"]
    assert server.admin.results() == []


def test_result_names_at_the_bounds(api):
    assert api.create_result(test_name="ab")
    assert api.create_result(test_name="n" * 255)


def test_result_run_must_be_in_the_same_project(api, server):
    other_project = server.admin.create_project("second project")
    run_id = api.create_run(project_id=other_project)
    body = {
        "project_id": server.project_id,
        "test_run_id": run_id,
        "test_name": "test_x",
        "status": "Passed",
    }
    response = api.post("/result/", json=body)
    assert response.status_code == 400
    assert "another project" in response.json()["message"]


@pytest.mark.parametrize(
    "status", ["Pending", "Running", "Passed", "Failed", "Skipped", "KnownFail"]
)
def test_every_result_status_is_accepted(api, status):
    result_id = api.create_result(status=status)
    assert api.ok(api.get(f"/result/{result_id}"))["test_result"]["status"] == status


def test_result_update_changes_only_what_is_sent(api, server):
    result_id = api.create_result(metadata={"a": 1}, execution_time_ms=5)
    response = api.post(
        f"/result/{result_id}",
        json={"status": "Failed", "error_message": "Assertion failed", "execution_time_ms": 3200},
    )
    assert response.status_code == 200
    assert response.json() == {}
    view = api.ok(api.get(f"/result/{result_id}"))["test_result"]
    assert (view["status"], view["error_message"]) == ("Failed", "Assertion failed")
    assert view["execution_time_ms"] == 3200
    assert view["metadata"] == {"a": 1}
    assert view["test_name"] == "test_login"

    api.ok(
        api.post(
            f"/result/{result_id}",
            json={"finished_at": "2025-01-15T10:40:00Z", "started_at": "2025-01-15T10:39:00Z"},
        )
    )
    view = api.ok(api.get(f"/result/{result_id}"))["test_result"]
    assert (view["started_at"], view["finished_at"]) == (
        "2025-01-15T10:39:00Z",
        "2025-01-15T10:40:00Z",
    )
    assert view["status"] == "Failed"


def test_error_message_limit_is_1024_code_points(api, server):
    result_id = api.create_result()
    ok = api.post(f"/result/{result_id}", json={"error_message": "é" * 1024})
    assert ok.status_code == 200
    too_long = api.post(f"/result/{result_id}", json={"error_message": "é" * 1025})
    assert too_long.status_code == 400
    assert "error_message" in too_long.json()["message"]
    assert server.admin.result(result_id)["error_message"] == "é" * 1024
    finish = api.post(f"/result/{result_id}/finish", json={"error_message": "x" * 1025})
    assert finish.status_code == 400


def test_start_and_finish_use_the_server_clock(api, server, clock):
    result_id = api.create_result(status="Running")
    clock.advance(1)
    assert api.post(f"/result/{result_id}/start").status_code == 200
    clock.advance(seconds=2, milliseconds=345)
    response = api.post(
        f"/result/{result_id}/finish", json={"status": "Passed", "metadata": {"retries": 1}}
    )
    assert response.status_code == 200
    view = api.ok(api.get(f"/result/{result_id}"))["test_result"]
    assert view["started_at"] == "2025-01-15T10:30:01Z"
    assert view["finished_at"] == "2025-01-15T10:30:03.345000Z"
    assert view["execution_time_ms"] == 2345
    assert view["status"] == "Passed"
    assert view["metadata"] == {"retries": 1}


def test_finish_without_start_leaves_the_duration_alone(api, clock):
    result_id = api.create_result(execution_time_ms=77)
    api.ok(api.post(f"/result/{result_id}/finish"))
    view = api.ok(api.get(f"/result/{result_id}"))["test_result"]
    assert view["finished_at"] == "2025-01-15T10:30:00Z"
    assert view["execution_time_ms"] == 77


def test_finish_rejects_bad_fields(api, server):
    result_id = api.create_result()
    assert api.post(f"/result/{result_id}/finish", json={"status": "Nope"}).status_code == 400
    assert server.admin.result(result_id)["finished_at"] is None


def test_delete_result_deletes_its_artifacts(api, server):
    result_id = api.create_result()
    keep = api.create_result(test_name="test_other")
    artifact_id = api.add_artifact(result_id, b"log text")
    kept_artifact = api.add_artifact(keep, b"other")
    pending, _ = api.create_artifact(result_id, 10)  # never uploaded
    response = api.delete(f"/result/{result_id}")
    assert response.status_code == 200
    assert api.get(f"/result/{result_id}").status_code == 404
    assert server.admin.artifact(artifact_id) is None
    assert server.admin.artifact(pending) is None
    assert server.admin.artifact_bytes(artifact_id) is None
    assert not (server.data_dir / "artifacts" / artifact_id[-2:] / artifact_id).exists()
    assert server.admin.artifact_bytes(kept_artifact) == b"other"
    assert api.delete(f"/result/{result_id}").status_code == 404


def test_unknown_non_ascii_id_is_404(api):
    response = api.get("/result/%C3%A9%20x")
    assert response.status_code == 404


def test_requests_over_plain_requests_without_session_work(server):
    # A fresh connection per request (no keep-alive) is answered as well.
    response = requests.get(server.base_url + "/status", timeout=5)
    assert response.json()["status"] == "ok"


def test_unexpected_errors_are_500_with_a_json_message(api, monkeypatch):
    result_id = api.create_result()

    def broken(self, run_id):
        raise RuntimeError("bug")

    monkeypatch.setattr(Store, "run_label", broken)
    response = api.get(f"/result/{result_id}")
    assert response.status_code == 500
    assert response.json() == {"message": "internal server error"}
    assert api.get("/status").status_code == 200  # the server carries on


def test_status_is_503_when_the_database_does_not_answer(api, monkeypatch):
    def unreachable(self):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "ping", unreachable)
    response = api.get("/status", key=None)
    assert response.status_code == 503
    assert response.json() == {"message": "database unreachable"}


def test_a_chunked_json_body_is_read(api, server):
    body = b'{"project_id": "%s", "label": "chunked"}' % server.project_id.encode()
    response = api.post("/run/", data=iter([body[:10], body[10:]]))
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200
    assert server.admin.runs()[0]["label"] == "chunked"

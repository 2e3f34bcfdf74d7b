"""Artifacts: the three-step upload, presigned URL rules, visibility, and the limits."""

from __future__ import annotations

import hashlib
import http.client
from urllib.parse import urlsplit

import pytest

MB = 1024 * 1024


def test_three_step_upload_then_list_and_download(api, server):
    result_id = api.create_result()
    data = b"line 1\nline 2\n"
    artifact_id, url = api.create_artifact(
        result_id, len(data), test_step="login", metadata={"source": "stdout"}
    )
    assert artifact_id.startswith("art_")
    # absolute, presigned, on this same server
    assert url.startswith(server.root_url + "/_storage/artifacts/" + artifact_id + "?")
    assert "signature=" in url and "expires=" in url

    # not visible until confirmed
    listed = api.ok(api.get("/artifact/", params={"test_result_id": result_id}))
    assert listed == {"artifacts": []}
    assert api.get(f"/artifact/{artifact_id}/download").status_code == 404

    put = api.put(url, data, "text/plain")
    assert put.status_code == 200
    assert put.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert api.post(f"/artifact/{artifact_id}/confirm").status_code == 200

    (artifact,) = api.ok(api.get("/artifact/", params={"test_result_id": result_id}))["artifacts"]
    assert artifact == {
        "artifact_id": artifact_id,
        "test_result_id": result_id,
        "project_id": server.project_id,
        "label": "output.log",
        "kind": "Log",
        "content_type": "text/plain",
        "size_bytes": len(data),
        "test_step": "login",
        "metadata": {"source": "stdout"},
        "expires_at": "2025-02-14T10:30:00Z",
        "created_at": "2025-01-15T10:30:00Z",
    }
    download = api.ok(api.get(f"/artifact/{artifact_id}/download"))
    assert download["content_type"] == "text/plain"
    fetched = api.call("GET", download["download_url"], key=None)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["Content-Type"] == "text/plain"
    assert server.admin.artifact_bytes(artifact_id) == data
    assert server.admin.artifact_sha256(artifact_id) == hashlib.sha256(data).hexdigest()


def test_listing_needs_a_result_id(api):
    response = api.get("/artifact/")
    assert response.status_code == 400
    assert "test_result_id" in response.json()["message"]
    assert api.get("/artifact/", params={"test_result_id": "res_nope"}).status_code == 404


def test_confirm_before_upload_is_refused(api, server):
    artifact_id, _ = api.create_artifact(api.create_result(), 5)
    response = api.post(f"/artifact/{artifact_id}/confirm")
    assert response.status_code == 400
    assert "not been uploaded" in response.json()["message"]
    assert server.admin.artifact(artifact_id)["confirmed_at"] is None


def test_confirm_twice_is_harmless(api, server, clock):
    artifact_id = api.add_artifact(api.create_result(), b"abc")
    confirmed = server.admin.artifact(artifact_id)["confirmed_at"]
    clock.advance(10)
    assert api.post(f"/artifact/{artifact_id}/confirm").status_code == 200
    assert server.admin.artifact(artifact_id)["confirmed_at"] == confirmed


def test_put_overwrites(api, server):
    result_id = api.create_result()
    artifact_id, url = api.create_artifact(result_id, 5)
    assert api.put(url, b"first", "text/plain").status_code == 200
    assert api.put(url, b"again", "text/plain").status_code == 200
    stored = server.admin.artifact(artifact_id)
    assert stored["upload_count"] == 2
    assert server.admin.artifact_bytes(artifact_id) == b"again"


def test_delete_artifact_removes_record_and_file(api, server):
    result_id = api.create_result()
    artifact_id = api.add_artifact(result_id, b"bytes")
    path = server.data_dir / "artifacts" / artifact_id[-2:] / artifact_id
    assert path.read_bytes() == b"bytes"
    assert api.delete(f"/artifact/{artifact_id}").status_code == 200
    assert not path.exists()
    assert server.admin.artifact(artifact_id) is None
    assert api.ok(api.get("/artifact/", params={"test_result_id": result_id})) == {"artifacts": []}
    assert api.delete(f"/artifact/{artifact_id}").status_code == 404


# -- presigned URL rules (note 8) ---------------------------------------------------------


@pytest.fixture
def pending(api):
    """An artifact created for 10 bytes of text/plain, not uploaded yet."""
    artifact_id, url = api.create_artifact(api.create_result(), 10)
    return artifact_id, url


def test_put_with_authorization_header_is_refused(api, server, pending):
    artifact_id, url = pending
    response = api.call(
        "PUT", url, data=b"0123456789", headers={"Content-Type": "text/plain"}
    )  # the session adds the key
    assert response.status_code == 400
    assert "Authorization" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) is None
    (record,) = [r for r in server.request_log if r.method == "PUT"]
    assert record.has_authorization is True
    assert record.headers["Authorization"] == "[redacted]"


@pytest.mark.parametrize(
    "content_type", ["text/plain; charset=utf-8", "Text/Plain", "application/octet-stream", None]
)
def test_put_content_type_must_be_exactly_the_declared_one(api, server, pending, content_type):
    artifact_id, url = pending
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = api.call("PUT", url, key=None, data=b"0123456789", headers=headers)
    assert response.status_code == 400
    assert "Content-Type must be exactly" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) is None


@pytest.mark.parametrize("body", [b"012345678", b"0123456789A", b""])
def test_put_must_carry_exactly_size_bytes(api, server, pending, body):
    artifact_id, url = pending
    response = api.put(url, body, "text/plain")
    assert response.status_code == 400
    assert "size_bytes=10" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) is None


def test_put_must_not_be_chunked(api, server, pending):
    artifact_id, url = pending
    response = api.put(url, iter([b"01234", b"56789"]), "text/plain")
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 400
    assert "chunked" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) is None


def test_tampered_urls_are_403(api, server, pending):
    artifact_id, url = pending
    other_id, _ = api.create_artifact(api.create_result(test_name="test_two"), 10)
    signature = url.rsplit("signature=", 1)[1]
    expires = int(url.split("expires=")[1].split("&")[0])
    tampered = [
        url.replace(signature, "0" * len(signature)),
        url.replace(f"expires={expires}", f"expires={expires + 3600}"),
        url.replace(artifact_id, other_id),  # one artifact's signature for another
        url.split("?")[0],
        url.replace(signature, "é"),
    ]
    for bad in tampered:
        response = api.put(bad, b"0123456789", "text/plain")
        assert response.status_code == 403, bad
        assert "signature" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) is None


def test_a_download_url_cannot_upload(api, server):
    artifact_id = api.add_artifact(api.create_result(), b"0123456789")
    url = api.ok(api.get(f"/artifact/{artifact_id}/download"))["download_url"]
    response = api.put(url, b"XXXXXXXXXX", "text/plain")
    assert response.status_code == 403
    assert server.admin.artifact_bytes(artifact_id) == b"0123456789"


def test_upload_url_expires_after_15_minutes(api, server, clock, pending):
    artifact_id, url = pending
    clock.advance(minutes=15)
    assert api.put(url, b"0123456789", "text/plain").status_code == 200  # at the limit: valid
    clock.advance(seconds=1)
    response = api.put(url, b"9876543210", "text/plain")
    assert response.status_code == 403
    assert "expired" in response.json()["message"]
    assert server.admin.artifact_bytes(artifact_id) == b"0123456789"


def test_url_ttl_is_configurable(api, server, clock):
    server.url_ttl_seconds = 60
    _, url = api.create_artifact(api.create_result(), 3)
    clock.advance(61)
    assert api.put(url, b"abc", "text/plain").status_code == 403


def test_download_url_rules(api, server, clock):
    artifact_id = api.add_artifact(api.create_result(), b"abc")
    url = api.ok(api.get(f"/artifact/{artifact_id}/download"))["download_url"]
    with_key = api.call("GET", url)
    assert with_key.status_code == 400
    clock.advance(901)
    assert api.call("GET", url, key=None).status_code == 403


def test_put_to_a_deleted_artifact_is_404(api, pending):
    artifact_id, url = pending
    api.ok(api.delete(f"/artifact/{artifact_id}"))
    assert api.put(url, b"0123456789", "text/plain").status_code == 404


def test_large_upload_is_streamed_to_disk(api, server):
    data = bytes(range(256)) * (12 * MB // 256)
    result_id = api.create_result()
    artifact_id = api.add_artifact(result_id, data, "application/octet-stream")
    stored = server.admin.artifact(artifact_id)
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size_bytes"] == len(data)
    url = api.ok(api.get(f"/artifact/{artifact_id}/download"))["download_url"]
    assert api.call("GET", url, key=None).content == data


def test_refused_put_with_expect_continue_gets_its_answer_without_sending(server, api, pending):
    # A client that waits for "100 Continue" learns the refusal before sending 10 bytes,
    # let alone 100 MB.
    _, url = pending
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.putrequest("PUT", f"{parts.path}?{parts.query}")
        conn.putheader("Content-Type", "application/json")  # wrong type
        conn.putheader("Content-Length", "10")
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 400
        assert response.getheader("Connection") == "close"
        assert b"Content-Type" in response.read()
    finally:
        conn.close()


def test_accepted_put_with_expect_continue(server, api, pending):
    artifact_id, url = pending
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.putrequest("PUT", f"{parts.path}?{parts.query}")
        conn.putheader("Content-Type", "text/plain")
        conn.putheader("Content-Length", "10")
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        conn.sock.settimeout(5)
        interim = conn.sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.send(b"0123456789")
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    finally:
        conn.close()
    assert server.admin.artifact_bytes(artifact_id) == b"0123456789"


# -- limits (note 5) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"size_bytes": 0}, "size_bytes"),
        ({"size_bytes": 100 * MB + 1}, "size_bytes"),
        ({"size_bytes": "10"}, "size_bytes"),
        ({"size_bytes": None}, "size_bytes"),
        ({"size_bytes": 1.0}, "size_bytes"),
        ({"kind": "Text"}, "kind"),
        ({"kind": None}, "kind"),
        ({"label": ""}, "label"),
        ({"label": "l" * 256}, "label"),
        ({"content_type": ""}, "content_type"),
        ({"content_type": "text"}, "content_type"),
        ({"content_type": "t/" + "x" * 254}, "content_type"),
        ({"content_type": "text/plain\r\nX-Evil: 1"}, "content_type"),
        ({"test_step": "s" * 256}, "test_step"),
        ({"metadata": "x"}, "metadata"),
    ],
)
def test_artifact_create_validation(api, server, fields, field):
    body = {
        "test_result_id": api.create_result(),
        "label": "output.log",
        "kind": "Log",
        "content_type": "text/plain",
        "size_bytes": 10,
        **fields,
    }
    response = api.post("/artifact/", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]
    assert server.admin.artifacts() == []


@pytest.mark.parametrize("kind", ["Log", "Image", "Video", "Other"])
def test_artifact_bounds_are_accepted(api, kind):
    result_id = api.create_result()
    assert api.create_artifact(result_id, 1, label="l", kind=kind)
    assert api.create_artifact(result_id, 100 * MB, label="l" * 255, content_type="video/mp4")


def test_at_most_50_artifacts_per_result_counting_unconfirmed(api, server):
    result_id = api.create_result()
    other_result = api.create_result(test_name="test_other")
    for n in range(50):
        api.create_artifact(result_id, 1, label=f"a{n}")  # none uploaded or confirmed
    response = api.post(
        "/artifact/",
        json={
            "test_result_id": result_id,
            "label": "one too many",
            "kind": "Log",
            "content_type": "text/plain",
            "size_bytes": 1,
        },
    )
    assert response.status_code == 400
    assert "at most 50 artifacts" in response.json()["message"]
    assert len(server.admin.artifacts(result_id)) == 50
    assert api.create_artifact(other_result, 1)  # the limit is per result
    # deleting one makes room again
    api.ok(api.delete(f"/artifact/{server.admin.artifacts(result_id)[0]['artifact_id']}"))
    assert api.create_artifact(result_id, 1)


def test_no_artifact_on_a_result_older_than_7_days(api, server, clock):
    result_id = api.create_result(started_at="2020-01-01T00:00:00Z")  # started_at is irrelevant
    clock.advance(days=7)
    assert api.create_artifact(result_id, 1)  # exactly 7 days: still allowed
    clock.advance(seconds=1)
    response = api.post(
        "/artifact/",
        json={
            "test_result_id": result_id,
            "label": "late.log",
            "kind": "Log",
            "content_type": "text/plain",
            "size_bytes": 1,
        },
    )
    assert response.status_code == 400
    assert "older than 7 days" in response.json()["message"]
    assert len(server.admin.artifacts(result_id)) == 1
    fresh = api.create_result(test_name="test_fresh")
    assert api.create_artifact(fresh, 1)

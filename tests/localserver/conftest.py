"""Helpers of the local-server tests: a server with a hand-driven clock, and a tiny client.

The client is deliberately dumb (raw requests, no retries): these tests check what the
server answers, not how junit2af's own client behaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from junit2af.localserver import LocalServer, ManualClock

TIMEOUT = (5, 30)
DEFAULT_KEY = object()


class Api:
    """Raw calls to one server with one key, over one kept-alive session."""

    def __init__(self, server: LocalServer, key: str) -> None:
        self.server = server
        self.base = server.base_url
        self.key = key
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def call(
        self, method: str, path: str, *, key: Any = DEFAULT_KEY, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        key = self.key if key is DEFAULT_KEY else key
        if key is not None:
            headers["Authorization"] = key
        url = path if path.startswith("http") else self.base + path
        return self.session.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def put(self, url: str, data: bytes, content_type: str, **kwargs: Any) -> requests.Response:
        """A storage PUT as a well-behaved client sends it: no key."""
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return self.call("PUT", url, key=None, data=data, headers=headers, **kwargs)

    # -- shortcuts that must succeed ------------------------------------------------------

    def ok(self, response: requests.Response, status: int = 200) -> Any:
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    def create_run(self, **fields: Any) -> str:
        body = {"project_id": self.server.project_id, "label": "CI #1", **fields}
        return self.ok(self.post("/run/", json=body))["test_run_id"]

    def create_result(self, **fields: Any) -> str:
        body = {
            "project_id": self.server.project_id,
            "test_name": "test_login",
            "status": "Passed",
            **fields,
        }
        return self.ok(self.post("/result/", json=body))["test_result_id"]

    def create_artifact(
        self, result_id: str, size: int, content_type: str = "text/plain", **fields: Any
    ) -> tuple[str, str]:
        body = {
            "test_result_id": result_id,
            "label": "output.log",
            "kind": "Log",
            "content_type": content_type,
            "size_bytes": size,
            **fields,
        }
        data = self.ok(self.post("/artifact/", json=body))
        return data["artifact_id"], data["upload_url"]

    def add_artifact(self, result_id: str, data: bytes, content_type: str = "text/plain") -> str:
        """Create, upload and confirm; returns the artifact id."""
        artifact_id, url = self.create_artifact(result_id, len(data), content_type)
        self.ok(self.put(url, data, content_type))
        self.ok(self.post(f"/artifact/{artifact_id}/confirm"))
        return artifact_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[LocalServer]:
    """A server whose time only moves when the test says so."""
    with LocalServer(tmp_path / "data", clock=clock) as server:
        yield server


@pytest.fixture
def api(server: LocalServer) -> Iterator[Api]:
    client = Api(server, server.api_key)
    yield client
    client.close()


@pytest.fixture
def readonly_api(server: LocalServer) -> Iterator[Api]:
    client = Api(server, server.readonly_key)
    yield client
    client.close()


@pytest.fixture
def other_api(server: LocalServer) -> Iterator[Api]:
    """A client of another team (its own key and project)."""
    team = server.admin.create_team()
    client = Api(server, team.api_key)
    client.other_project_id = team.project_id  # type: ignore[attr-defined]
    yield client
    client.close()

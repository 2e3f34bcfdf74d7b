"""The admin side: what was stored, as tests (and curious users) want to see it.

:class:`AdminView` reads the store directly (in-process tests); :class:`AdminApi` serves
the same data over HTTP under ``/_admin/`` (a server in a subprocess), plus the controls a
test needs: create another team or project, set faults, move the clock, read or clear the
request log. Every admin call needs the bootstrap team's read-write key, since it shows
all teams' data; admin calls are not themselves written to the request log.
"""

from __future__ import annotations

import hmac
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from junit2af.localserver import validation as v
from junit2af.localserver.apierrors import ApiError, bad_request, not_found
from junit2af.localserver.app import error_response, json_response
from junit2af.localserver.blobs import BlobStore
from junit2af.localserver.clock import Clock, OffsetClock, format_time
from junit2af.localserver.faults import FaultConfig, FaultInjector
from junit2af.localserver.requestlog import RequestLog
from junit2af.localserver.storage import Store, TeamKeys, decode_row


class AdminView:
    """Read the stored records; every field as stored, JSON decoded, times in API form."""

    def __init__(self, store: Store, blobs: BlobStore, keys: TeamKeys, clock: Clock) -> None:
        self._store = store
        self._blobs = blobs
        self._keys = keys
        self._clock = clock

    def info(self) -> dict[str, Any]:
        """The bootstrap team, its keys and project."""
        return self._keys.to_json()

    def teams(self) -> list[dict[str, Any]]:
        return self._store.teams()

    def create_team(self, name: str = "another team") -> TeamKeys:
        """A new team with its own keys and project (to test cross-team 404s)."""
        return self._store.create_team(name, self._clock(), project_name="Project of " + name)

    def create_project(
        self,
        name: str,
        *,
        team_id: str | None = None,
        description: str | None = None,
        status: str = "Active",
    ) -> str:
        if not v.NAME_MIN <= len(name) <= v.NAME_MAX:
            raise ValueError(f"project name must be {v.NAME_MIN}-{v.NAME_MAX} characters")
        if description is not None and len(description) > v.DESCRIPTION_MAX:
            raise ValueError(f"description must be at most {v.DESCRIPTION_MAX} characters")
        if status not in v.PROJECT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(v.PROJECT_STATUSES)}")
        team = team_id or self._keys.team_id
        if not any(t["team_id"] == team for t in self.teams()):
            raise ValueError(f"no team {team}")
        return self._store.create_project(team, name, description, status, self._clock())

    def projects(self, team_id: str | None = None) -> list[dict[str, Any]]:
        return self._store.admin_list("project", team_id=team_id)

    def runs(self, project_id: str | None = None) -> list[dict[str, Any]]:
        return self._store.admin_list("run", project_id=project_id)

    def run(self, run_id: str) -> dict[str, Any] | None:
        return decode_row(self._store.get("run", run_id))

    def results(
        self, run_id: str | None = None, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        return self._store.admin_list("result", test_run_id=run_id, project_id=project_id)

    def result(self, result_id: str) -> dict[str, Any] | None:
        return decode_row(self._store.get("result", result_id))

    def artifacts(self, result_id: str | None = None) -> list[dict[str, Any]]:
        """All artifacts, confirmed or not (``confirmed_at`` tells)."""
        return self._store.admin_list("artifact", test_result_id=result_id)

    def artifact(self, artifact_id: str) -> dict[str, Any] | None:
        return decode_row(self._store.get("artifact", artifact_id))

    def artifact_bytes(self, artifact_id: str) -> bytes | None:
        """The uploaded bytes, or ``None`` if nothing was uploaded (or it was deleted)."""
        if self._store.get("artifact", artifact_id) is None:
            return None
        if not self._blobs.exists(artifact_id):
            return None
        return self._blobs.read(artifact_id)

    def artifact_sha256(self, artifact_id: str) -> str | None:
        row = self.artifact(artifact_id)
        return None if row is None else row["sha256"]


class AdminApi:
    """``/_admin/...`` over HTTP (see the module docstring and notes/localserver.md)."""

    def __init__(
        self,
        view: AdminView,
        *,
        admin_key: str,
        request_log: RequestLog,
        faults: FaultInjector,
        clock: OffsetClock,
    ) -> None:
        self.view = view
        self._admin_key = admin_key
        self._log = request_log
        self._faults = faults
        self._clock = clock
        rules = [
            ("/", "index", ["GET"]),
            ("/teams", "teams", ["GET"]),
            ("/teams", "create_team", ["POST"]),
            ("/projects", "projects", ["GET"]),
            ("/projects", "create_project", ["POST"]),
            ("/runs", "runs", ["GET"]),
            ("/runs/<object_id>", "run", ["GET"]),
            ("/results", "results", ["GET"]),
            ("/results/<object_id>", "result", ["GET"]),
            ("/artifacts", "artifacts", ["GET"]),
            ("/artifacts/<object_id>", "artifact", ["GET"]),
            ("/artifacts/<object_id>/bytes", "artifact_bytes", ["GET"]),
            ("/requests", "requests", ["GET"]),
            ("/requests", "clear_requests", ["DELETE"]),
            ("/faults", "faults", ["GET"]),
            ("/faults", "set_faults", ["PUT"]),
            ("/clock", "clock", ["GET"]),
            ("/clock", "advance_clock", ["POST"]),
        ]
        self.url_map = Map(
            [Rule("/_admin" + path, endpoint=name, methods=m) for path, name, m in rules],
            strict_slashes=False,
        )

    def __call__(self, request: Request) -> Response:
        try:
            key = request.headers.get("Authorization", "")
            if not hmac.compare_digest(key.encode(), self._admin_key.encode()):
                raise ApiError(401, "the admin view needs the bootstrap read-write key")
            try:
                endpoint, args = self.url_map.bind_to_environ(request.environ).match()
            except HTTPException as error:
                raise ApiError(error.code or 404, error.description or "not found") from None
            return getattr(self, "on_" + endpoint)(request, **args)
        except ApiError as error:
            return error_response(error)

    @staticmethod
    def _found(data: Any, what: str) -> Response:
        if data is None:
            raise not_found(what)
        return json_response(data)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        return v.parse_json_object(request.get_data(cache=False), required=False)

    def on_index(self, request: Request) -> Response:
        return json_response({**self.view.info(), "now": format_time(self._clock())})

    def on_teams(self, request: Request) -> Response:
        return json_response({"teams": self.view.teams()})

    def on_create_team(self, request: Request) -> Response:
        name = self._body(request).get("name") or "another team"
        return json_response(self.view.create_team(str(name)).to_json())

    def on_projects(self, request: Request) -> Response:
        return json_response({"projects": self.view.projects(request.args.get("team_id"))})

    def on_create_project(self, request: Request) -> Response:
        body = self._body(request)
        try:
            project_id = self.view.create_project(
                body.get("name", ""),
                team_id=body.get("team_id"),
                description=body.get("description"),
                status=body.get("status", "Active"),
            )
        except (TypeError, ValueError) as error:
            raise bad_request(str(error)) from None
        return json_response({"project_id": project_id})

    def on_runs(self, request: Request) -> Response:
        return json_response({"runs": self.view.runs(request.args.get("project_id"))})

    def on_run(self, request: Request, object_id: str) -> Response:
        return self._found(self.view.run(object_id), "test run")

    def on_results(self, request: Request) -> Response:
        results = self.view.results(
            run_id=request.args.get("run_id"), project_id=request.args.get("project_id")
        )
        return json_response({"results": results})

    def on_result(self, request: Request, object_id: str) -> Response:
        return self._found(self.view.result(object_id), "test result")

    def on_artifacts(self, request: Request) -> Response:
        return json_response({"artifacts": self.view.artifacts(request.args.get("result_id"))})

    def on_artifact(self, request: Request, object_id: str) -> Response:
        return self._found(self.view.artifact(object_id), "artifact")

    def on_artifact_bytes(self, request: Request, object_id: str) -> Response:
        data = self.view.artifact_bytes(object_id)
        if data is None:
            raise not_found("uploaded file")
        return Response(data, content_type="application/octet-stream")

    def on_requests(self, request: Request) -> Response:
        records = [record.to_json() for record in self._log.snapshot()]
        return json_response({"requests": records})

    def on_clear_requests(self, request: Request) -> Response:
        self._log.clear()
        return json_response({})

    def on_faults(self, request: Request) -> Response:
        return json_response(self._faults.config.to_json())

    def on_set_faults(self, request: Request) -> Response:
        try:
            config = FaultConfig.from_json(self._body(request))
        except (TypeError, ValueError) as error:
            raise bad_request(f"invalid fault settings: {error}") from None
        self._faults.configure(config)
        return json_response(config.to_json())

    def on_clock(self, request: Request) -> Response:
        return json_response({"now": format_time(self._clock())})

    def on_advance_clock(self, request: Request) -> Response:
        seconds = self._body(request).get("advance_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise bad_request("advance_seconds must be a non-negative number")
        return json_response({"now": format_time(self._clock.advance(float(seconds)))})

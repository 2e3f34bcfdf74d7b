"""The API as a WSGI app: routing, auth, faults, the request log, and one handler per endpoint.

Every rule of af-api.md and its reading notes is enforced here or in :mod:`.validation`;
the comments name the note where the reference itself is silent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from werkzeug.exceptions import ClientDisconnected, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import FileWrapper

from junit2af.localserver import validation as v
from junit2af.localserver.apierrors import ApiError, bad_request, forbidden, not_found
from junit2af.localserver.blobs import BlobStore, ShortBody
from junit2af.localserver.clock import Clock, format_time, parse_stored, storage_time
from junit2af.localserver.faults import FaultInjector
from junit2af.localserver.gateway import DROP_CONNECTION
from junit2af.localserver.requestlog import RequestLog, RequestRecord, redact_headers
from junit2af.localserver.signing import Signer
from junit2af.localserver.storage import Store, new_id

log = logging.getLogger("junit2af.localserver")

API_PREFIX = "/v1/test"
#: the web view's page of a run (web.py), as a template for str.format(run_id=...)
RUN_PAGE_PATH = "/runs/{run_id}"
#: the API's version as /status reports it (the reference's example value)
API_VERSION = "0.1.0"
#: artifacts expire this long after creation (the reference's example: 30 days)
ARTIFACT_RETENTION = timedelta(days=30)
IDEMPOTENCY_KEY_MAX = 255
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

RESULT_VIEW = (
    "test_result_id",
    "project_id",
    "test_run_id",
    "test_name",
    "status",
    "error_message",
    "metadata",
    "started_at",
    "finished_at",
    "execution_time_ms",
)
ARTIFACT_VIEW = (
    "artifact_id",
    "test_result_id",
    "project_id",
    "label",
    "kind",
    "content_type",
    "size_bytes",
    "test_step",
    "metadata",
    "expires_at",
    "created_at",
)


def _rules() -> list[Rule]:
    api = [
        ("/status", "status", ["GET"]),
        ("/project/", "list_projects", ["GET"]),
        ("/run/", "create_run", ["POST"]),
        ("/run/<object_id>", "update_run", ["POST"]),
        ("/result/", "create_result", ["POST"]),
        ("/result/<object_id>", "get_result", ["GET"]),
        ("/result/<object_id>", "update_result", ["POST"]),
        ("/result/<object_id>", "delete_result", ["DELETE"]),
        ("/result/<object_id>/start", "start_result", ["POST"]),
        ("/result/<object_id>/finish", "finish_result", ["POST"]),
        ("/artifact/", "list_artifacts", ["GET"]),
        ("/artifact/", "create_artifact", ["POST"]),
        ("/artifact/<object_id>", "delete_artifact", ["DELETE"]),
        ("/artifact/<object_id>/confirm", "confirm_artifact", ["POST"]),
        ("/artifact/<object_id>/download", "download_artifact", ["GET"]),
    ]
    rules = [Rule(API_PREFIX + path, endpoint=name, methods=m) for path, name, m in api]
    rules.append(Rule("/_storage/artifacts/<object_id>", endpoint="storage_put", methods=["PUT"]))
    rules.append(Rule("/_storage/artifacts/<object_id>", endpoint="storage_get", methods=["GET"]))
    return rules


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, headers=headers, content_type="application/json")


def error_response(error: ApiError) -> Response:
    return json_response({"message": error.message}, error.status, error.headers)


@dataclass(slots=True)
class Call:
    """What one request did, for its request-log record."""

    endpoint: str | None = None
    team_id: str | None = None
    can_write: bool = False
    key_kind: str | None = None
    fault: str | None = None
    drop_connection: bool = False
    #: answer this status although the create was committed (a gateway that gave up)
    late_error: int | None = None


class ApiApp:
    """The WSGI application of one server instance (admin routes are delegated)."""

    def __init__(
        self,
        *,
        store: Store,
        blobs: BlobStore,
        signer: Signer,
        faults: FaultInjector,
        request_log: RequestLog,
        clock: Clock,
        admin: Callable[[Request], Response],
        honour_idempotency_keys: bool,
        url_ttl_seconds: int,
        web: Callable[[Request], Response | None] | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.signer = signer
        self.faults = faults
        self.request_log = request_log
        self.clock = clock
        self.admin = admin
        self.honour_idempotency_keys = honour_idempotency_keys
        self.url_ttl_seconds = url_ttl_seconds
        self.web = web
        # Paths are exact (note 1): no redirect from /project to /project/, no merging
        # of "//"; a near miss is a 404, as a client must learn.
        self.url_map = Map(_rules(), strict_slashes=True, merge_slashes=False)
        # Bound once: the routes depend on nothing but the path and the method, and
        # binding to each request's environ was a tenth of the server's time a request.
        self._routes = self.url_map.bind("localhost")

    # -- the WSGI entry point --------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/_admin" or request.path.startswith("/_admin/"):
            return self.admin(request)(environ, start_response)
        if self.web is not None and not request.path.startswith(("/v1/", "/_storage/")):
            # The web view's pages: like the admin view, not in the request log, no faults.
            page = self.web(request)
            if page is not None:
                return page(environ, start_response)
        seq = self.request_log.next_seq()
        began = time.perf_counter()
        call = Call()
        try:
            response = self._handle(request, call)
        except ApiError as error:
            response = error_response(error)
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            response = error_response(ApiError(500, "internal server error"))
        if call.late_error is not None:
            response = error_response(ApiError(call.late_error, "gateway timeout (injected)"))
        if call.drop_connection:
            environ[DROP_CONNECTION] = True
        authorization = request.headers.get("Authorization")
        self.request_log.append(
            RequestRecord(
                seq=seq,
                time=format_time(self.clock()) or "",
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                status=None if call.drop_connection else response.status_code,
                has_authorization=authorization is not None,
                key_kind=self._key_kind(call, authorization),
                headers=redact_headers(request.headers),
                fault=call.fault,
                duration_ms=round((time.perf_counter() - began) * 1000, 3),
            )
        )
        return response(environ, start_response)

    @staticmethod
    def _key_kind(call: Call, authorization: str | None) -> str | None:
        if authorization is None or call.key_kind is not None:
            return call.key_kind
        # Storage never looks at a key; the API refused this one (or failed first).
        if call.endpoint is not None and call.endpoint.startswith("storage_"):
            return "unchecked"
        return "invalid" if call.fault is None else "unchecked"

    def _handle(self, request: Request, call: Call) -> Response:
        refused, queued = self.faults.enter()
        try:
            if refused is not None:
                call.fault = "over_capacity"
                raise refused
            latency = self.faults.latency_seconds + queued
            if latency:
                time.sleep(latency)
            return self._route(request, call)
        finally:
            self.faults.leave()

    def _route(self, request: Request, call: Call) -> Response:
        try:
            endpoint, args = self._routes.match(request.path, request.method)
        except RequestRedirect:
            raise not_found(f"endpoint {request.path}") from None
        except MethodNotAllowed as error:
            allowed = ", ".join(error.valid_methods or ())
            raise ApiError(
                405, f"{request.method} is not allowed on {request.path}", {"Allow": allowed}
            ) from None
        except NotFound:
            raise not_found(f"endpoint {request.method} {request.path}") from None
        call.endpoint = endpoint
        if endpoint.startswith("storage_"):
            return getattr(self, endpoint)(request, call, **args)

        injected = self.faults.before_api_call()
        if injected is not None:
            call.fault = str(injected.status)
            raise injected
        if self.faults.database_down:
            call.fault = "database_down"
            if endpoint == "status":
                raise ApiError(503, "database unreachable")
            raise ApiError(500, "internal server error: database unreachable")
        if endpoint != "status":
            self._authenticate(request, call)
        return getattr(self, endpoint)(request, call, **args)

    def _authenticate(self, request: Request, call: Call) -> None:
        raw = request.headers.get("Authorization")
        if raw is None or not raw.strip():
            raise ApiError(401, "missing API key: send it in the Authorization header")
        found = self.store.lookup_key(raw.strip())
        if found is None:
            hint = " (send the raw key, without a scheme)" if " " in raw.strip() else ""
            raise ApiError(401, f"invalid API key{hint}")
        call.team_id, call.can_write = found
        call.key_kind = "read-write" if call.can_write else "read-only"
        if request.method in WRITE_METHODS and not call.can_write:
            raise forbidden("this API key is read-only")

    # -- helpers ---------------------------------------------------------------------------

    def _body(self, request: Request, *, required: bool = True) -> dict[str, Any]:
        length = request.content_length
        if length is not None and length > v.MAX_JSON_BODY:
            raise bad_request(f"request body too large (over {v.MAX_JSON_BODY} bytes)")
        try:
            raw = request.get_data(cache=False)
        except ClientDisconnected:
            raise bad_request("request body ended early") from None
        return v.parse_json_object(raw, required=required)

    def _idempotency_key(self, request: Request) -> str | None:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
            raise bad_request(f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} characters")
        return key

    def _owned(self, kind: str, object_id: str, call: Call, what: str) -> Any:
        # Another team's object is "not found", never "forbidden" (note 4).
        row = self.store.get(kind, object_id, call.team_id)
        if row is None:
            raise not_found(what)
        return row

    def _create(
        self,
        request: Request,
        call: Call,
        kind: str,
        body: dict[str, Any],
        build: Callable[[], dict[str, Any]],
    ) -> tuple[Any, bool]:
        """Insert the row ``build()`` returns, or find the earlier one with the same key.

        Returns the stored row and whether it is new. The Idempotency-Key header is
        stored either way, so that tests can count duplicates (note 9).
        """
        key = self._idempotency_key(request)
        assert call.team_id is not None
        with self.store.transaction():
            if key is not None and self.honour_idempotency_keys:
                earlier = self.store.by_idempotency_key(kind, call.team_id, key)
                if earlier is not None:
                    return earlier, False
            values = build()
            values.update(team_id=call.team_id, idempotency_key=key, create_request=body)
            self.store.insert(kind, values)
            id_column = {"run": "test_run_id", "result": "test_result_id"}.get(kind, "artifact_id")
            row = self.store.get(kind, values[id_column])
        return row, True

    def _maybe_lose_response(self, call: Call) -> None:
        # The create is committed; the client will never hear about it.
        if self.faults.lose_response():
            call.fault = "lost_response"
            call.drop_connection = True
        elif self.faults.gateway_timeout():
            call.fault = "gateway_timeout"
            call.late_error = 504

    def _now(self) -> datetime:
        return self.clock()

    # -- status and projects ---------------------------------------------------------------

    def status(self, request: Request, call: Call) -> Response:
        try:
            self.store.ping()
        except Exception:
            raise ApiError(503, "database unreachable") from None
        # Not in the reference: where this server shows a run (the CLI prints the link).
        template = request.host_url.rstrip("/") + RUN_PAGE_PATH
        return json_response({"status": "ok", "version": API_VERSION, "run_url_template": template})

    def list_projects(self, request: Request, call: Call) -> Response:
        size = v.page_size(request.args.get("page_size"))
        after = 0
        token = request.args.get("page_token")
        if token:
            state = self.signer.read_page_token(token)
            if state is None or not isinstance(state.get("after"), int):
                raise bad_request("invalid page_token")
            after = int(state["after"])  # type: ignore[call-overload]
        assert call.team_id is not None
        rows = self.store.list_projects(call.team_id, after, size + 1)
        page, more = rows[:size], len(rows) > size
        projects = [
            {
                "project_id": row["project_id"],
                "name": row["name"],
                "description": row["description"],
                "status": row["status"],
                "created_at": format_time(parse_stored(row["created_at"])),
            }
            for row in page
        ]
        next_token = self.signer.page_token({"after": page[-1]["seq"]}) if more else None
        return json_response({"projects": projects, "page_token": next_token})

    # -- runs ------------------------------------------------------------------------------

    def create_run(self, request: Request, call: Call) -> Response:
        body = self._body(request)
        project_id = v.string(body, "project_id", required=True)
        label = v.string(body, "label", min_len=v.NAME_MIN, max_len=v.NAME_MAX)
        metadata = v.metadata(body)
        self._owned("project", project_id, call, "project")
        now = storage_time(self._now())

        def build() -> dict[str, Any]:
            return {
                "test_run_id": new_id("run"),
                "project_id": project_id,
                "label": label if v.present(label) else None,
                "status": "Pending",
                "metadata": metadata if v.present(metadata) else None,
                "created_at": now,
                "updated_at": now,
            }

        row, _ = self._create(request, call, "run", body, build)
        self._maybe_lose_response(call)
        return json_response({"test_run_id": row["test_run_id"]})

    def update_run(self, request: Request, call: Call, object_id: str) -> Response:
        body = self._body(request, required=False)
        label = v.string(body, "label", min_len=v.NAME_MIN, max_len=v.NAME_MAX)
        status = v.enum(body, "status", v.RUN_STATUSES, required=False)
        metadata = v.metadata(body)
        now = self._now()
        with self.store.transaction():
            self._owned("run", object_id, call, "test run")
            changes: dict[str, Any] = {"updated_at": storage_time(now)}
            if v.present(label):
                changes["label"] = label
            if v.present(metadata):
                changes["metadata"] = metadata
            if v.present(status):
                changes["status"] = status
                # The server stamps run times itself (note 7), every time the status is set.
                if status == "Running":
                    changes["started_at"] = storage_time(now)
                elif status == "Completed":
                    changes["finished_at"] = storage_time(now)
                    counts = dict.fromkeys(v.RESULT_STATUSES, 0)
                    counts.update(self.store.result_counts(object_id))
                    counts["total"] = sum(counts.values())
                    changes["result_counts"] = counts
            self.store.update("run", object_id, changes)
        return Response(status=204)

    # -- results ---------------------------------------------------------------------------

    def create_result(self, request: Request, call: Call) -> Response:
        body = self._body(request)
        project_id = v.string(body, "project_id", required=True)
        run_id = v.string(body, "test_run_id")
        test_name = v.string(
            body, "test_name", required=True, min_len=v.NAME_MIN, max_len=v.NAME_MAX
        )
        status = v.enum(body, "status", v.RESULT_STATUSES, required=True)
        started_at = v.timestamp(body, "started_at")
        metadata = v.metadata(body)
        # Not in the create table, but in its example (note 2); error_message and
        # finished_at are ignored here like any other undocumented field.
        execution_time_ms = v.integer(body, "execution_time_ms", minimum=0, maximum=v.MAX_INT)
        self._owned("project", project_id, call, "project")
        if v.present(run_id) and run_id is not None:
            run = self._owned("run", run_id, call, "test run")
            if run["project_id"] != project_id:
                raise bad_request("test_run_id belongs to another project")
        now = storage_time(self._now())

        def build() -> dict[str, Any]:
            return {
                "test_result_id": new_id("res"),
                "project_id": project_id,
                "test_run_id": run_id if v.present(run_id) else None,
                "test_name": test_name,
                "status": status,
                "started_at": storage_time(started_at)
                if isinstance(started_at, datetime)
                else None,
                "metadata": metadata if v.present(metadata) else None,
                "execution_time_ms": execution_time_ms if v.present(execution_time_ms) else None,
                "created_at": now,
                "updated_at": now,
            }

        row, _ = self._create(request, call, "result", body, build)
        self._maybe_lose_response(call)
        return json_response({"test_result_id": row["test_result_id"]})

    def get_result(self, request: Request, call: Call, object_id: str) -> Response:
        row = self._owned("result", object_id, call, "test result")
        view = {name: row[name] for name in RESULT_VIEW}
        view["metadata"] = None if row["metadata"] is None else json.loads(row["metadata"])
        for name in ("started_at", "finished_at"):
            view[name] = format_time(parse_stored(row[name]))
        view["test_run_label"] = self.store.run_label(row["test_run_id"])
        return json_response({"test_result": view})

    def _result_changes(self, body: dict[str, Any], *, full: bool) -> dict[str, Any]:
        """The fields of an update (``full``) or a finish body that were sent."""
        changes: dict[str, Any] = {}
        status = v.enum(body, "status", v.RESULT_STATUSES, required=False)
        if v.present(status):
            changes["status"] = status
        message = v.string(body, "error_message", max_len=v.ERROR_MESSAGE_MAX)
        if v.present(message):
            changes["error_message"] = message
        metadata = v.metadata(body)
        if v.present(metadata):
            changes["metadata"] = metadata
        if full:
            for name in ("started_at", "finished_at"):
                value = v.timestamp(body, name)
                if v.present(value):
                    changes[name] = None if value is None else storage_time(value)
            elapsed = v.integer(body, "execution_time_ms", minimum=0, maximum=v.MAX_INT)
            if v.present(elapsed):
                changes["execution_time_ms"] = elapsed
        return changes

    def update_result(self, request: Request, call: Call, object_id: str) -> Response:
        changes = self._result_changes(self._body(request, required=False), full=True)
        changes["updated_at"] = storage_time(self._now())
        with self.store.transaction():
            self._owned("result", object_id, call, "test result")
            self.store.update("result", object_id, changes)
        return json_response({})

    def start_result(self, request: Request, call: Call, object_id: str) -> Response:
        # Only started_at changes: the reference says nothing of the status here.
        now = storage_time(self._now())
        with self.store.transaction():
            self._owned("result", object_id, call, "test result")
            self.store.update("result", object_id, {"started_at": now, "updated_at": now})
        return json_response({})

    def finish_result(self, request: Request, call: Call, object_id: str) -> Response:
        changes = self._result_changes(self._body(request, required=False), full=False)
        now = self._now()
        changes.update(finished_at=storage_time(now), updated_at=storage_time(now))
        with self.store.transaction():
            row = self._owned("result", object_id, call, "test result")
            started = parse_stored(row["started_at"])
            if started is not None:
                # A started_at the client sent may be ahead of the server clock; a
                # negative duration would only be noise, so it floors at zero.
                elapsed = (now - started) / timedelta(milliseconds=1)
                changes["execution_time_ms"] = max(0, round(elapsed))
            self.store.update("result", object_id, changes)
        return json_response({})

    def delete_result(self, request: Request, call: Call, object_id: str) -> Response:
        with self.store.transaction():
            self._owned("result", object_id, call, "test result")
            artifacts = self.store.artifacts_of(object_id, confirmed_only=False)
            for artifact in artifacts:
                self.store.delete("artifact", artifact["artifact_id"])
            self.store.delete("result", object_id)
        for artifact in artifacts:
            self.blobs.delete(artifact["artifact_id"])
        return json_response({})

    # -- artifacts -------------------------------------------------------------------------

    def _storage_url(self, request: Request, method: str, artifact_id: str, expires: int) -> str:
        # Absolute, on this server, as the client reached it (the Host header).
        root = request.host_url.rstrip("/")
        query = self.signer.storage_query(method, artifact_id, expires)
        return f"{root}{self.signer.storage_path(artifact_id)}?{query}"

    def list_artifacts(self, request: Request, call: Call) -> Response:
        result_id = request.args.get("test_result_id")
        if not result_id:
            raise bad_request("test_result_id is required")
        self._owned("result", result_id, call, "test result")
        rows = self.store.artifacts_of(result_id, confirmed_only=True)
        return json_response({"artifacts": [self._artifact_view(row) for row in rows]})

    @staticmethod
    def _artifact_view(row: Any) -> dict[str, Any]:
        view = {name: row[name] for name in ARTIFACT_VIEW}
        view["metadata"] = None if row["metadata"] is None else json.loads(row["metadata"])
        for name in ("expires_at", "created_at"):
            view[name] = format_time(parse_stored(row[name]))
        return view

    def create_artifact(self, request: Request, call: Call) -> Response:
        body = self._body(request)
        result_id = v.string(body, "test_result_id", required=True)
        label = v.string(
            body, "label", required=True, min_len=v.ARTIFACT_LABEL_MIN, max_len=v.NAME_MAX
        )
        kind = v.enum(body, "kind", v.ARTIFACT_KINDS, required=True)
        content_type = v.content_type(body)
        size = v.integer(body, "size_bytes", required=True, minimum=v.SIZE_MIN, maximum=v.SIZE_MAX)
        # The reference gives test_step no limit; it is held to a name's 255.
        test_step = v.string(body, "test_step", max_len=v.NAME_MAX)
        metadata = v.metadata(body)
        now = self._now()
        stamp = storage_time(now)

        def build() -> dict[str, Any]:
            return {
                "artifact_id": new_id("art"),
                "project_id": result["project_id"],
                "test_result_id": result_id,
                "label": label,
                "kind": kind,
                "content_type": content_type,
                "size_bytes": size,
                "test_step": test_step if v.present(test_step) else None,
                "metadata": metadata if v.present(metadata) else None,
                "created_at": stamp,
                "expires_at": storage_time(now + ARTIFACT_RETENTION),
            }

        with self.store.transaction():
            result = self._owned("result", result_id, call, "test result")
            # Limits (note 5): the result's creation on the server clock, not its
            # started_at; unconfirmed artifacts count towards the 50.
            created = parse_stored(result["created_at"])
            assert created is not None
            if now - created > timedelta(days=v.ARTIFACT_MAX_RESULT_AGE_DAYS):
                raise bad_request(
                    f"test result is older than {v.ARTIFACT_MAX_RESULT_AGE_DAYS} days:"
                    " artifacts can no longer be added"
                )
            key = self._idempotency_key(request)
            repeat = (
                key is not None
                and self.honour_idempotency_keys
                and self.store.by_idempotency_key("artifact", call.team_id or "", key)
            )
            if not repeat and self.store.artifact_count(result_id) >= v.ARTIFACTS_PER_RESULT:
                raise bad_request(
                    f"limit exceeded: at most {v.ARTIFACTS_PER_RESULT} artifacts per test result"
                )
            row, _ = self._create(request, call, "artifact", body, build)

        expires = int(now.timestamp()) + self.url_ttl_seconds
        if self.faults.expire_url():
            call.fault = "expired_url"
            expires = int(now.timestamp()) - 1
        url = self._storage_url(request, "PUT", row["artifact_id"], expires)
        self._maybe_lose_response(call)
        return json_response({"artifact_id": row["artifact_id"], "upload_url": url})

    def confirm_artifact(self, request: Request, call: Call, object_id: str) -> Response:
        with self.store.transaction():
            row = self._owned("artifact", object_id, call, "artifact")
            if not row["upload_count"]:
                raise bad_request("the file has not been uploaded: PUT it to upload_url first")
            if row["confirmed_at"] is None:
                self.store.update(
                    "artifact", object_id, {"confirmed_at": storage_time(self._now())}
                )
        return json_response({})

    def download_artifact(self, request: Request, call: Call, object_id: str) -> Response:
        row = self._owned("artifact", object_id, call, "artifact")
        if row["confirmed_at"] is None:
            raise not_found("artifact")  # not visible until confirmed
        expires = int(self._now().timestamp()) + self.url_ttl_seconds
        url = self._storage_url(request, "GET", object_id, expires)
        return json_response({"download_url": url, "content_type": row["content_type"]})

    def delete_artifact(self, request: Request, call: Call, object_id: str) -> Response:
        with self.store.transaction():
            self._owned("artifact", object_id, call, "artifact")
            self.store.delete("artifact", object_id)
        self.blobs.delete(object_id)
        return json_response({})

    # -- the storage side of presigned URLs ------------------------------------------------

    def _check_presigned(self, request: Request, method: str, artifact_id: str) -> Any:
        if "Authorization" in request.headers:
            # Note 8: storage refuses it, and a client sending it leaks its key.
            raise bad_request("a presigned URL takes no Authorization header")
        expires = self.signer.check_storage(
            method, artifact_id, request.args.get("expires"), request.args.get("signature")
        )
        if expires is None:
            raise forbidden("signature does not match: not a valid presigned URL")
        if self._now().timestamp() > expires:
            raise forbidden("presigned URL expired: ask the API for a new one")
        row = self.store.get("artifact", artifact_id)
        if row is None:
            raise not_found("artifact")
        return row

    def storage_put(self, request: Request, call: Call, object_id: str) -> Response:
        injected = self.faults.before_storage_put()
        if injected is not None:
            call.fault = f"storage_{injected.status}"
            raise injected
        row = self._check_presigned(request, "PUT", object_id)
        if request.headers.get("Transfer-Encoding"):
            raise bad_request("send the file with Content-Length, not chunked")
        length = request.content_length
        if length is None:
            raise bad_request("Content-Length is required")
        declared_type = row["content_type"]
        if request.headers.get("Content-Type") != declared_type:
            raise bad_request(f"Content-Type must be exactly the declared {declared_type!r}")
        if length != row["size_bytes"]:
            raise bad_request(
                f"body is {length} bytes, the artifact declared size_bytes={row['size_bytes']}"
            )
        try:
            sha256 = self.blobs.write(object_id, request.stream, length)  # type: ignore[arg-type]
        except (ShortBody, ClientDisconnected):
            raise bad_request("request body ended early") from None
        with self.store.transaction():
            current = self.store.get("artifact", object_id)
            if current is not None:
                self.store.update(
                    "artifact",
                    object_id,
                    {
                        "upload_count": current["upload_count"] + 1,
                        "uploaded_at": storage_time(self._now()),
                        "sha256": sha256,
                    },
                )
        if current is None:  # deleted while the bytes were arriving
            self.blobs.delete(object_id)
            raise not_found("artifact")
        return Response(b"", status=200, headers={"ETag": f'"{sha256}"'})

    def storage_get(self, request: Request, call: Call, object_id: str) -> Response:
        row = self._check_presigned(request, "GET", object_id)
        if row["confirmed_at"] is None or not self.blobs.exists(object_id):
            raise not_found("artifact")
        handle = self.blobs.open(object_id)
        response = Response(
            FileWrapper(handle, 1024 * 1024),
            content_type=row["content_type"],
            direct_passthrough=True,
        )
        response.content_length = row["size_bytes"]
        return response

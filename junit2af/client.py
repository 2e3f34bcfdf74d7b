"""A thin typed wrapper over the Automated Future REST API: one method per endpoint.

Built on urllib3's connection pool directly: on the upload's hot path a request through
``requests`` cost about three times the CPU (measured: 1.42 vs 0.48 ms a request), and
everything ``requests`` would add is settled once here from the settings: requests' CA
bundle convention (``REQUESTS_CA_BUNDLE``, else certifi's bundle, as requests does) and
its proxy variables (resolved in :mod:`junit2af.settings`, never for this machine).

Two pools: the API pool carries the key in ``Authorization`` (only to the API's origin;
redirects are never followed, so the key cannot be carried elsewhere), the storage pool
for presigned URLs carries no key at all. Retries are urllib3 :class:`Retry` policies
(:mod:`junit2af.retries`): which calls may be repeated, and when, is decided there.
Every message that leaves this module has the key and presigned signatures redacted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import orjson
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from junit2af import __version__
from junit2af.errors import APIError, UncertainOutcome, UploadURLExpired
from junit2af.retries import OnRetry, retry_policies
from junit2af.settings import UploadSettings

log = logging.getLogger("junit2af.http")

_SIGNATURE = re.compile(
    r"([?&](?:sig|signature|expires|token|X-Amz-Signature|X-Amz-Security-Token|"
    r"X-Amz-Credential|X-Goog-Signature|X-Goog-Credential)=)[^&#\s\"']+",
    re.IGNORECASE,
)
_AUTH_ECHO = re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A presigned URL with its signature replaced, for messages and logs."""
    return _SIGNATURE.sub(r"\1REDACTED", url)


class Redactor:
    """Removes the key's exact value (and its URL-quoted and JSON-escaped forms),
    ``Authorization`` echoes and presigned signatures from a text before it is printed,
    logged or journaled."""

    def __init__(self, *secrets: str) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4:
                # A key may hold '"' or '\\' (a header carries them): inside a JSON text,
                # as a server's error or ``--json`` shows it, it is escaped.
                escaped = json.dumps(secret)[1:-1]
                forms.update({secret, quote(secret, safe=""), quote(secret), escaped})
        self._secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[REDACTED]")
        return _AUTH_ECHO.sub(r"\1[REDACTED]", redact_url(text))


class RedactingFilter(logging.Filter):
    """Applies a :class:`Redactor` to every log record (the -vv HTTP debug log)."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redact or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._redact(record.getMessage()), None
        return True


@dataclass
class CallStats:
    """Counters shared by every worker thread: requests sent (retries included)."""

    requests: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self) -> None:
        with self._lock:
            self.requests += 1

    def count_retry(self) -> None:
        with self._lock:
            self.requests += 1
            self.retries += 1


def _ca_arguments(ca_bundle: str | None) -> dict[str, str]:
    if ca_bundle:
        key = "ca_cert_dir" if os.path.isdir(ca_bundle) else "ca_certs"
        return {key: ca_bundle}
    import certifi  # requests' own default bundle (requests depends on certifi)

    return {"ca_certs": certifi.where()}


def _pool(settings: UploadSettings, url: str, size: int) -> urllib3.PoolManager:
    """A pool for ``url``'s origin, through the proxy the settings give for it."""
    common: dict[str, Any] = {
        "num_pools": 4,
        "maxsize": size,
        "block": False,
        **_ca_arguments(settings.ca_bundle),
    }
    proxy = settings.proxies.for_url(url)
    if proxy is None:
        return urllib3.PoolManager(**common)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    headers = {}
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=credentials)
    bare = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib3.ProxyManager(bare, proxy_headers=headers, **common)


def _provably_not_sent(reason: BaseException | None) -> bool:
    """True when the request never reached the server (refused, DNS, connect timeout)."""
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)


class APIClient:
    """One method per API endpoint. Errors become :class:`APIError` naming the call.

    Creates raise :class:`UncertainOutcome` when the request may have reached the server
    but its answer was lost or broken (a read error, 500, 502, 504): the uploader decides,
    with the journal, whether to resend it.
    """

    def __init__(
        self,
        settings: UploadSettings,
        stats: CallStats | None = None,
        *,
        on_retry: OnRetry | None = None,
        on_latency: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.base = settings.base_url
        self.stats = stats or CallStats()
        self.redact = Redactor(settings.api_key.reveal())
        self._on_latency = on_latency
        self._key = settings.api_key.reveal()
        parts = urlsplit(self.base)
        self._origin = (parts.scheme, parts.hostname, parts.port)
        size = max(2 * (settings.jobs or 64), 16)
        self._api = _pool(settings, self.base, size)
        # The hot path: without a proxy, requests go to the API origin's connection pool
        # directly, with a path, skipping the manager's URL parsing and pool lookup per
        # request (a tenth of a request's CPU).
        self._direct = (
            self._api.connection_from_url(self.base)
            if settings.proxies.for_url(self.base) is None
            else None
        )
        self._base_path = urlsplit(self.base).path.rstrip("/")
        agent = f"junit2af/{__version__} urllib3/{urllib3.__version__}"
        self._anonymous = {"User-Agent": agent}
        self._headers = {"User-Agent": agent, "Authorization": self._key}
        self._storage_pools: dict[tuple[str, str], urllib3.PoolManager] = {}
        self._storage_lock = threading.Lock()
        self._pool_size = size

        def retried(call: str, reason: str, attempt: int) -> None:
            self.stats.count_retry()
            if on_retry is not None:
                on_retry(call, reason, attempt)

        self._safe, self._create, self._put = retry_policies(settings, retried)
        self._timeout = urllib3.Timeout(
            connect=settings.connect_timeout, read=settings.read_timeout
        )
        #: the local server's link template for runs, learnt from GET /status
        self.run_url_template: str | None = None

    def close(self) -> None:
        self._api.clear()
        for pool in self._storage_pools.values():
            pool.clear()

    def __enter__(self) -> APIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------

    def _call(
        self,
        call: str,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        create: bool = False,
        idempotency_key: str | None = None,
        auth: bool = True,
    ) -> Any:
        headers = dict(self._headers if auth else self._anonymous)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        query = f"?{urlencode(params)}" if params else ""
        retry = self._create if create else self._safe
        opener: Callable[..., urllib3.BaseHTTPResponse]
        if self._direct is not None:
            target, opener = self._base_path + path + query, self._direct.urlopen
        else:
            target, opener = self.base + path + query, self._api.urlopen
        began = time.monotonic()
        try:
            response = opener(
                method,
                target,
                body=orjson.dumps(body) if body is not None else None,
                headers=headers,
                retries=retry,
                timeout=self._timeout,
                redirect=False,
                assert_same_host=False,
                preload_content=True,
            )
        except MaxRetryError as error:
            self.stats.count()
            reason = error.reason
            if create and not _provably_not_sent(reason) and not isinstance(reason, SSLError):
                raise UncertainOutcome(call, self._reason(reason)) from None
            raise APIError(call, None, self._connection_message(reason)) from None
        except (ReadTimeoutError, HTTPError) as error:
            self.stats.count()
            if create and not isinstance(error, ConnectTimeoutError | NewConnectionError):
                raise UncertainOutcome(call, self._reason(error)) from None
            raise APIError(call, None, self._connection_message(error)) from None
        self.stats.count()
        if self._on_latency is not None:
            self._on_latency(time.monotonic() - began)
        status = response.status
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).hostname or "(none)"
            raise APIError(
                call,
                status,
                f"the API answered with a redirect to {target}; junit2af does not follow "
                "redirects with the API key (check AF_API_URL)",
            )
        if status >= 400:
            message = self._server_message(response)
            if create and status in (500, 502, 504):
                raise UncertainOutcome(call, f"HTTP {status}: {message}", status=status)
            raise APIError(call, status, message)
        data = response.data
        if status == 204 or not data:
            return {}
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return {}

    def _server_message(self, response: urllib3.BaseHTTPResponse) -> str:
        try:
            body = orjson.loads(response.data or b"")
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            text = body["message"]
        else:
            text = response.reason or "error"
        # Redact, then cut: cut first, a key straddling the cut would leave its prefix.
        return self.redact(" ".join(text.split()))[:500]

    def _reason(self, error: BaseException | None) -> str:
        return self.redact(str(error))[:300] if error else "no reason given"

    def _connection_message(self, reason: BaseException | None) -> str:
        if isinstance(reason, NameResolutionError):
            return f"cannot resolve the host of {self.base} (check AF_API_URL)"
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            # urllib3 2's NewConnectionError is a ConnectTimeoutError too: refused first.
            what = "refused" if isinstance(reason, NewConnectionError) else "timed out"
            return f"cannot connect to {self.base}: {what} (check AF_API_URL)"
        if isinstance(reason, ReadTimeoutError):
            return f"no answer within {self.settings.read_timeout:g} s (see --timeout)"
        if isinstance(reason, SSLError):
            return f"TLS failed: {self._reason(reason)} (see REQUESTS_CA_BUNDLE)"
        if isinstance(reason, ProxyError):
            return f"the proxy failed: {self._reason(reason)}"
        return f"connection failed: {self._reason(reason)}"

    # -- endpoints --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        answer = self._call("GET /status", "GET", "/status", auth=False)  # needs no key
        template = answer.get("run_url_template") if isinstance(answer, dict) else None
        if isinstance(template, str) and "{run_id}" in template:
            scheme = urlsplit(template).scheme
            if scheme in ("http", "https"):
                self.run_url_template = template
        return answer if isinstance(answer, dict) else {}

    def list_projects(self, page_token: str | None = None) -> tuple[list[dict[str, Any]], Any]:
        params = {"page_size": "100"}
        if page_token:
            params["page_token"] = page_token
        answer = self._call("GET /project/", "GET", "/project/", params=params)
        projects = answer.get("projects") if isinstance(answer, dict) else None
        token = answer.get("page_token") if isinstance(answer, dict) else None
        return (list(projects) if isinstance(projects, list) else []), token

    def create_run(self, body: Mapping[str, Any], idempotency_key: str) -> str:
        answer = self._call(
            "POST /run/", "POST", "/run/", body=body, create=True, idempotency_key=idempotency_key
        )
        return _id(answer, "test_run_id", "POST /run/")

    def update_run(self, run_id: str, body: Mapping[str, Any]) -> None:
        self._call(f"POST /run/{run_id}", "POST", f"/run/{quote(run_id)}", body=body)

    def create_result(self, body: Mapping[str, Any], idempotency_key: str) -> str:
        answer = self._call(
            "POST /result/",
            "POST",
            "/result/",
            body=body,
            create=True,
            idempotency_key=idempotency_key,
        )
        return _id(answer, "test_result_id", "POST /result/")

    def update_result(self, result_id: str, body: Mapping[str, Any]) -> None:
        self._call(f"POST /result/{result_id}", "POST", f"/result/{quote(result_id)}", body=body)

    def get_result(self, result_id: str) -> dict[str, Any]:
        answer = self._call(f"GET /result/{result_id}", "GET", f"/result/{quote(result_id)}")
        return answer.get("test_result", answer) if isinstance(answer, dict) else {}

    def create_artifact(self, body: Mapping[str, Any], idempotency_key: str) -> tuple[str, str]:
        answer = self._call(
            "POST /artifact/",
            "POST",
            "/artifact/",
            body=body,
            create=True,
            idempotency_key=idempotency_key,
        )
        artifact_id = _id(answer, "artifact_id", "POST /artifact/")
        url = answer.get("upload_url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise APIError("POST /artifact/", 200, "the answer holds no http(s) upload_url")
        return artifact_id, url

    def confirm_artifact(self, artifact_id: str) -> None:
        path = f"/artifact/{quote(artifact_id)}/confirm"
        self._call(f"POST /artifact/{artifact_id}/confirm", "POST", path)

    def delete_artifact(self, artifact_id: str) -> None:
        path = f"/artifact/{quote(artifact_id)}"
        self._call(f"DELETE /artifact/{artifact_id}", "DELETE", path)

    def list_artifacts(self, result_id: str) -> list[dict[str, Any]]:
        answer = self._call(
            "GET /artifact/", "GET", "/artifact/", params={"test_result_id": result_id}
        )
        artifacts = answer.get("artifacts") if isinstance(answer, dict) else None
        return list(artifacts) if isinstance(artifacts, list) else []

    def download_url(self, artifact_id: str) -> str:
        path = f"/artifact/{quote(artifact_id)}/download"
        answer = self._call(f"GET /artifact/{artifact_id}/download", "GET", path)
        return str(answer.get("download_url", "")) if isinstance(answer, dict) else ""

    # -- storage (presigned URLs: never the key) --------------------------------

    def _storage_pool(self, url: str) -> urllib3.PoolManager:
        # Storage may live on another host than the API: its own proxy decision.
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        same_as_api = (parts.scheme, parts.hostname, parts.port) == self._origin
        with self._storage_lock:
            pool = self._storage_pools.get(origin)
            if pool is None:
                pool = (
                    self._api
                    if same_as_api and not self.settings.proxies.for_url(url)
                    else _pool(self.settings, url, self._pool_size)
                )
                self._storage_pools[origin] = pool
        return pool

    def put_upload(self, url: str, body: IO[bytes] | bytes, content_type: str, size: int) -> None:
        """PUT exactly ``size`` bytes of ``body`` to a presigned URL, without the key."""
        call = "PUT upload URL"
        pool = self._storage_pool(url)
        opener: Callable[..., urllib3.BaseHTTPResponse]
        if pool is self._api and self._direct is not None:
            parts = urlsplit(url)
            opener, target = (
                self._direct.urlopen,
                parts.path + (f"?{parts.query}" if parts.query else ""),
            )
        else:
            opener, target = pool.urlopen, url
        try:
            response = opener(
                "PUT",
                target,
                body=body,
                headers={
                    **self._anonymous,
                    "Content-Type": content_type,
                    "Content-Length": str(size),
                },
                retries=self._put,
                timeout=self._timeout,
                redirect=False,
                assert_same_host=False,
                preload_content=True,
                chunked=False,
            )
        except MaxRetryError as error:
            self.stats.count()
            raise APIError(call, None, self._connection_message(error.reason)) from None
        except HTTPError as error:
            self.stats.count()
            raise APIError(call, None, self._connection_message(error)) from None
        self.stats.count()
        if response.status == 403:
            raise UploadURLExpired(self._server_message(response))
        if response.status >= 300:
            raise APIError(call, response.status, self._server_message(response))

    def download(self, url: str) -> bytes:
        response = self._storage_pool(url).urlopen(
            "GET", url, retries=self._safe, timeout=self._timeout, redirect=False
        )
        self.stats.count()
        if response.status != 200:
            raise APIError("GET download URL", response.status, self._server_message(response))
        return bytes(response.data)


def _id(answer: Any, name: str, call: str) -> str:
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise APIError(call, 200, f"the answer holds no {name}")
    return value


__all__ = [
    "APIClient",
    "CallStats",
    "Redactor",
    "RedactingFilter",
    "redact_url",
]

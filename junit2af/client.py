"""A thin typed wrapper over the Automated Future REST API: one method per endpoint.

Two ``requests`` sessions, set up once: the API session carries the key (as an auth
object, so a ``~/.netrc`` entry cannot replace it) and never follows redirects; the
storage session, for presigned URLs, carries no key at all. Proxy and CA settings are
read from the environment once, here, instead of on every request (``requests`` re-reads
them per call when ``trust_env`` is on, which costs more CPU than the request itself).

Retries are urllib3 :class:`Retry` policies mounted on the adapters; which calls may be
repeated, and when, is decided by :mod:`junit2af.retries`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from junit2af import __version__
from junit2af.errors import APIError
from junit2af.retries import CreateRetry, SafeRetry, retry_policies
from junit2af.settings import UploadSettings

log = logging.getLogger("junit2af.http")

_SIGNATURE = re.compile(
    r"([?&](?:sig|signature|expires|token|X-Amz-Signature|X-Amz-Security-Token|"
    r"X-Amz-Credential|X-Goog-Signature|X-Goog-Credential)=)[^&#\s]+",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """A presigned URL with its signature replaced, for messages and logs."""
    return _SIGNATURE.sub(r"\1REDACTED", url)


class RedactingFilter(logging.Filter):
    """Redacts presigned URL signatures and Authorization values in HTTP debug logs."""

    _AUTH = re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        message = self._AUTH.sub(r"\1REDACTED", redact_url(message))
        record.msg, record.args = message, None
        return True


class _KeyAuth(requests.auth.AuthBase):
    """The raw key in ``Authorization``, as the API wants, only for the API's origin."""

    def __init__(self, key: str, origin: tuple[str, str, int | None]) -> None:
        self._key = key
        self._origin = origin

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.url or "")
        if (parts.scheme, parts.hostname, parts.port) == self._origin:
            request.headers["Authorization"] = self._key
        return request

    def __repr__(self) -> str:
        return "_KeyAuth(***)"


class UncertainOutcome(Exception):
    """A create whose request may have reached the server but whose answer was lost."""

    def __init__(self, call: str, reason: str) -> None:
        super().__init__(f"{call}: outcome unknown ({reason})")
        self.call = call
        self.reason = reason


class UploadURLExpired(Exception):
    """The storage refused a presigned URL (403): ask for a new one."""


@dataclass
class CallStats:
    """Counters shared by every worker thread."""

    requests: int = 0
    retries: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def count(self, response: requests.Response | None) -> None:
        retried = 0
        if response is not None and response.raw is not None:
            history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
            retried = len(history)
        with self._lock:
            self.requests += 1 + retried
            self.retries += retried


def _proxies_for(url: str) -> dict[str, str]:
    """The environment's proxies for ``url``, read once; none for this machine."""
    host = urlsplit(url).hostname or ""
    from junit2af.settings import is_loopback

    if is_loopback(host):
        return {}
    return dict(requests.utils.get_environ_proxies(url))


def _session(settings: UploadSettings, retry: Any, pool: int) -> requests.Session:
    session = requests.Session()
    # Read the environment once: proxies and CA bundle, then stop requests re-reading it.
    session.proxies.update(_proxies_for(settings.base_url))
    session.verify = (
        requests.utils.os.environ.get(  # type: ignore[attr-defined]
            "REQUESTS_CA_BUNDLE"
        )
        or requests.utils.os.environ.get("CURL_CA_BUNDLE")
        or True
    )  # type: ignore[attr-defined]
    session.trust_env = False
    session.headers["User-Agent"] = f"junit2af/{__version__} requests/{requests.__version__}"
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class APIClient:
    """One method per API endpoint. Errors become :class:`APIError` naming the call."""

    def __init__(self, settings: UploadSettings, stats: CallStats | None = None) -> None:
        self.settings = settings
        self.base = settings.base_url
        self.stats = stats or CallStats()
        parts = urlsplit(self.base)
        origin = (parts.scheme, parts.hostname or "", parts.port)
        self._auth = _KeyAuth(settings.api_key.reveal(), origin)
        pool = max(settings.jobs * 2, 10)
        safe, create, storage = retry_policies(settings)
        self._safe = _session(settings, safe, pool)
        self._create = _session(settings, create, pool)
        self._storage = _session(settings, storage, pool)
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._proxy_cache: dict[tuple[str, str], dict[str, str]] = {}

    def close(self) -> None:
        for session in (self._safe, self._create, self._storage):
            session.close()

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
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        create: bool = False,
        idempotency_key: str | None = None,
    ) -> Any:
        session = self._create if create else self._safe
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            response = session.request(
                method,
                self.base + path,
                json=json,
                params=params,
                headers=headers,
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RetryError as error:
            self.stats.count(None)
            raise APIError(call, None, f"gave up after retries: {_reason(error)}") from None
        except requests.exceptions.ConnectionError as error:
            self.stats.count(None)
            if create and not _provably_not_sent(error):
                raise UncertainOutcome(call, _reason(error)) from None
            raise APIError(call, None, f"connection failed: {_reason(error)}") from None
        except requests.exceptions.Timeout as error:
            self.stats.count(None)
            if create and not isinstance(error, requests.exceptions.ConnectTimeout):
                raise UncertainOutcome(call, "read timeout") from None
            raise APIError(call, None, f"timed out: {_reason(error)}") from None
        self.stats.count(response)
        if 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("Location", "")).hostname or "(none)"
            raise APIError(
                call,
                response.status_code,
                f"the API answered with a redirect to {target}; junit2af does not follow "
                "redirects with the API key (check AF_API_URL)",
            )
        if response.status_code >= 400:
            message = _server_message(response)
            if create and response.status_code in (500, 502, 504):
                raise UncertainOutcome(call, f"HTTP 500: {message}")
            raise APIError(call, response.status_code, message)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    # -- endpoints --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._call("GET /status", "GET", "/status")

    def create_run(self, body: Mapping[str, Any], idempotency_key: str) -> str:
        answer = self._call(
            "POST /run/", "POST", "/run/", json=body, create=True, idempotency_key=idempotency_key
        )
        return _id(answer, "test_run_id", "POST /run/")

    def update_run(self, run_id: str, body: Mapping[str, Any]) -> None:
        self._call(f"POST /run/{run_id}", "POST", f"/run/{run_id}", json=body)

    def create_result(self, body: Mapping[str, Any], idempotency_key: str) -> str:
        answer = self._call(
            "POST /result/",
            "POST",
            "/result/",
            json=body,
            create=True,
            idempotency_key=idempotency_key,
        )
        return _id(answer, "test_result_id", "POST /result/")

    def update_result(self, result_id: str, body: Mapping[str, Any]) -> None:
        self._call(f"POST /result/{result_id}", "POST", f"/result/{result_id}", json=body)

    def get_result(self, result_id: str) -> dict[str, Any]:
        answer = self._call(f"GET /result/{result_id}", "GET", f"/result/{result_id}")
        return answer.get("test_result", answer)

    def create_artifact(self, body: Mapping[str, Any], idempotency_key: str) -> tuple[str, str]:
        answer = self._call(
            "POST /artifact/",
            "POST",
            "/artifact/",
            json=body,
            create=True,
            idempotency_key=idempotency_key,
        )
        artifact_id = _id(answer, "artifact_id", "POST /artifact/")
        url = answer.get("upload_url")
        if not isinstance(url, str) or not url:
            raise APIError("POST /artifact/", 200, "the answer holds no upload_url")
        return artifact_id, url

    def confirm_artifact(self, artifact_id: str) -> None:
        self._call(
            f"POST /artifact/{artifact_id}/confirm", "POST", f"/artifact/{artifact_id}/confirm"
        )

    def delete_artifact(self, artifact_id: str) -> None:
        self._call(f"DELETE /artifact/{artifact_id}", "DELETE", f"/artifact/{artifact_id}")

    def list_artifacts(self, result_id: str) -> list[dict[str, Any]]:
        answer = self._call(
            "GET /artifact/", "GET", "/artifact/", params={"test_result_id": result_id}
        )
        return list(answer.get("artifacts", []))

    def download_url(self, artifact_id: str) -> str:
        answer = self._call(
            f"GET /artifact/{artifact_id}/download", "GET", f"/artifact/{artifact_id}/download"
        )
        return str(answer.get("download_url", ""))

    # -- storage (presigned URLs: never the key) --------------------------------

    def put_upload(self, url: str, body: IO[bytes], content_type: str, size: int) -> None:
        """PUT exactly ``size`` bytes of ``body`` to a presigned URL, without the key."""
        call = "PUT upload URL"
        try:
            response = self._storage.put(
                url,
                proxies=self._storage_proxies(url),
                data=body,
                headers={"Content-Type": content_type, "Content-Length": str(size)},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            self.stats.count(None)
            raise APIError(call, None, f"storage upload failed: {_reason(error)}") from None
        except requests.exceptions.RetryError as error:
            self.stats.count(None)
            raise APIError(call, None, f"storage upload failed: {_reason(error)}") from None
        self.stats.count(response)
        if response.status_code == 403:
            raise UploadURLExpired(_server_message(response))
        if response.status_code >= 300:
            raise APIError(call, response.status_code, _server_message(response))

    def _storage_proxies(self, url: str) -> dict[str, str]:
        # Storage may live on another host than the API: its own NO_PROXY decision.
        origin = urlsplit(url)[:2]
        if origin not in self._proxy_cache:
            self._proxy_cache[origin] = _proxies_for(url)
        return self._proxy_cache[origin]

    def download(self, url: str) -> bytes:
        response = self._storage.get(
            url, timeout=self._timeout, allow_redirects=False, proxies=self._storage_proxies(url)
        )
        self.stats.count(response)
        if response.status_code != 200:
            raise APIError("GET download URL", response.status_code, _server_message(response))
        return response.content


def _id(answer: Any, field: str, call: str) -> str:
    value = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise APIError(call, 200, f"the answer holds no {field}")
    return value


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"][:500]
    return (response.reason or "error")[:200]


def _reason(error: BaseException) -> str:
    cause: Any = error.args[0] if error.args else error
    reason = getattr(cause, "reason", cause)
    return redact_url(str(reason))[:300]


def _provably_not_sent(error: requests.exceptions.ConnectionError) -> bool:
    """True when the request never reached the server (refused, DNS, connect timeout)."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    cause: Any = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)


__all__ = [
    "APIClient",
    "CallStats",
    "CreateRetry",
    "SafeRetry",
    "UncertainOutcome",
    "UploadURLExpired",
    "redact_url",
]

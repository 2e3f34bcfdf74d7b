"""Which calls may be repeated, and how: urllib3 :class:`Retry` policies.

Three policies, one per kind of call:

* safe calls (GETs, updates, confirms, deletes) change nothing when repeated: retried on
  connection errors, read errors and 429/500/502/503/504;
* creates (``POST /run/``, ``/result/``, ``/artifact/``) make a new object on every call:
  retried here only when the request provably had no effect -- connection refused or
  connect timeout, 429, 503. A 500, 502, 504 or a lost answer is left to the uploader,
  which knows from the journal what it may resend (same ``Idempotency-Key``, counted);
* storage PUTs overwrite: retried like safe calls (urllib3 rewinds the body).

All of them back off exponentially with jitter, honour ``Retry-After`` up to a cap, and
give up once the retry deadline has passed since a call's first failure. Every retry is
told to an ``on_retry`` hook (the CLI shows them; the counters count them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from urllib3.util.retry import Retry

from junit2af.settings import UploadSettings

_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
#: (call, reason, attempt): ``POST /result/``, ``HTTP 503``, 2
OnRetry = Callable[[str, str, int], None]


class DeadlineRetry(Retry):
    """Retry that gives up once ``max_seconds`` have passed since a call's first failure,
    caps ``Retry-After``, and reports each retry to ``on_retry``.

    urllib3 derives a new Retry from the policy on every failure (``increment`` ->
    ``new``); the start time and the hook travel with it, so each call has its own
    deadline.
    """

    def __init__(
        self,
        *args: Any,
        max_seconds: float | None = None,
        started: float | None = None,
        retry_after_cap: float = 60.0,
        on_retry: OnRetry | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_seconds = max_seconds
        self.started = started
        self.retry_after_cap = retry_after_cap
        self.on_retry = on_retry

    def new(self, **kwargs: Any) -> DeadlineRetry:
        kwargs.setdefault("max_seconds", self.max_seconds)
        kwargs.setdefault("started", self.started if self.started is not None else time.monotonic())
        kwargs.setdefault("retry_after_cap", self.retry_after_cap)
        kwargs.setdefault("on_retry", self.on_retry)
        return super().new(**kwargs)

    def sleep(self, response: Any = None) -> None:
        # ``Retry-After: 0`` (or a short one) must not turn a retry into an immediate
        # resend: the longer of what the server asks and our own back-off.
        asked = self.get_retry_after(response) if response is not None else None
        if asked is not None and self.respect_retry_after_header:
            time.sleep(max(asked, self.get_backoff_time()))
        else:
            self._sleep_backoff()

    def parse_retry_after(self, retry_after: str) -> float:
        # A server may ask for hours; past the cap the deadline decides instead.
        return min(super().parse_retry_after(retry_after), self.retry_after_cap)

    def increment(  # type: ignore[override]
        self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any
    ) -> Retry:
        new_retry = super().increment(method, url, *args, **kwargs)
        if self.on_retry is not None:
            response = kwargs.get("response")
            error = kwargs.get("error")
            if response is not None:
                reason = f"HTTP {response.status}"
            else:
                reason = type(error).__name__ if error is not None else "error"
            path = urlsplit(url or "").path if url and "://" in url else (url or "")
            self.on_retry(f"{method} {path}", reason, len(new_retry.history) + 1)
        return new_retry

    def is_exhausted(self) -> bool:
        if (
            self.max_seconds is not None
            and self.started is not None
            and time.monotonic() - self.started > self.max_seconds
        ):
            return True
        return super().is_exhausted()


class SafeRetry(DeadlineRetry):
    """For calls that are safe to repeat."""


class CreateRetry(DeadlineRetry):
    """For creates: only what provably had no effect is repeated (``read=0``)."""


def retry_policies(
    settings: UploadSettings, on_retry: OnRetry | None = None
) -> tuple[Retry, Retry, Retry]:
    """(safe, create, storage) policies for one upload.

    The count limit is high on purpose: the deadline (``--retry-deadline``) is what ends
    retrying, so a long outage is ridden out and a dead service is given up on in time.
    """
    common: dict[str, Any] = {
        "backoff_factor": settings.backoff_factor,
        "backoff_jitter": settings.backoff_factor,
        "backoff_max": 30.0,
        "respect_retry_after_header": True,
        "raise_on_status": False,
        "raise_on_redirect": False,
        "redirect": 0,
        "allowed_methods": _METHODS,
        "max_seconds": settings.retry_deadline_s,
        "retry_after_cap": settings.retry_after_cap_s,
        "on_retry": on_retry,
    }
    total = 10_000
    safe = SafeRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        status_forcelist=(429, 500, 502, 503, 504),
        **common,
    )
    # 502 and 504 are not in this list: a gateway answers them when the backend took the
    # request and broke off or did not answer in time, so the create may have happened.
    # The uploader treats them as in doubt (journaled, counted) instead.
    create = CreateRetry(
        total=total,
        connect=total,
        read=0,
        status=total,
        other=0,
        status_forcelist=(429, 503),
        **common,
    )
    storage = SafeRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        status_forcelist=(429, 500, 502, 503, 504),
        **common,
    )
    return safe, create, storage

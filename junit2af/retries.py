"""Which calls may be repeated, and how: urllib3 :class:`Retry` policies.

Three policies, one per kind of call:

* safe calls (GETs, updates, confirms, deletes) change nothing when repeated: retried on
  connection errors, read errors and 429/500/502/503/504;
* creates (``POST /run/``, ``/result/``, ``/artifact/``) make a new object on every call:
  retried only when the request provably had no effect -- connection refused or connect
  timeout, 429, 503. A 500, 502, 504 or a lost answer is left to the uploader, which
  knows from the journal what it may resend (once, counted as in doubt);
* storage PUTs overwrite: retried like safe calls (urllib3 rewinds the body).

All of them back off exponentially with jitter, honour ``Retry-After`` up to a cap, and
give up at an overall deadline.
"""

from __future__ import annotations

import time
from typing import Any

from urllib3.util.retry import Retry

from junit2af.settings import UploadSettings

_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})


class DeadlineRetry(Retry):
    """Retry that gives up once ``max_seconds`` have passed since a call's first failure.

    urllib3 derives a new Retry from the adapter's on every failure (``increment`` ->
    ``new``); the start time travels with it, so each call has its own deadline.
    """

    def __init__(
        self,
        *args: Any,
        max_seconds: float | None = None,
        started: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_seconds = max_seconds
        self.started = started

    def new(self, **kwargs: Any) -> DeadlineRetry:
        kwargs.setdefault("max_seconds", self.max_seconds)
        kwargs.setdefault("started", self.started if self.started is not None else time.monotonic())
        return super().new(**kwargs)  # type: ignore[return-value]

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


def retry_policies(settings: UploadSettings) -> tuple[Retry, Retry, Retry]:
    """(safe, create, storage) policies for one upload."""
    common: dict[str, Any] = {
        "backoff_factor": settings.backoff_factor,
        "backoff_jitter": settings.backoff_factor,
        "backoff_max": 30.0,
        "respect_retry_after_header": True,
        "raise_on_status": False,
        "raise_on_redirect": False,
        "redirect": 0,
        "allowed_methods": _METHODS,
        "retry_after_max": int(settings.retry_after_cap_s),
        "max_seconds": settings.retry_deadline_s,
    }
    total = settings.retry_total
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

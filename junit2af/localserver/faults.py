"""Fault injection, off by default: what the uploader's retry and resume logic must survive.

All decisions come from one ``random.Random(seed)`` under a lock, so a given seed gives
the same sequence of decisions in the order requests arrive (exactly the same outcome
with one client thread; the same mix, assigned by arrival order, with several).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from junit2af.localserver.apierrors import ApiError


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to break, and how often. Rates are fractions of calls, 0.0 to 1.0."""

    seed: int = 0
    #: added to every API and storage request before it is handled
    latency_ms: float = 0.0
    #: API calls answered 500 or 503 (a coin decides which) before doing anything
    error_rate: float = 0.0
    #: API calls answered 429 with ``Retry-After: retry_after`` before doing anything
    rate_429: float = 0.0
    retry_after: int = 1
    #: creates (run, result, artifact) committed, then the connection closed unanswered
    lost_response_rate: float = 0.0
    #: creates committed, then answered 504 (a gateway that stopped waiting)
    gateway_timeout_rate: float = 0.0
    #: storage PUTs answered 500 or 503 without storing anything
    storage_failure_rate: float = 0.0
    #: upload URLs handed out already expired (the PUT gets 403)
    expired_url_rate: float = 0.0
    #: the database is "unreachable": /status answers 503, every other API call 500
    database_down: bool = False
    #: requests handled at once (0: no limit); past it, 429 with ``Retry-After: 0``
    capacity: int = 0
    #: added to a request's latency for every request already in flight (a queue)
    queue_latency_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "rate_429",
            "lost_response_rate",
            "gateway_timeout_rate",
            "storage_failure_rate",
            "expired_url_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.latency_ms < 0 or self.retry_after < 0 or self.capacity < 0:
            raise ValueError("latency_ms and retry_after must not be negative")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from the admin API's JSON; unknown names are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        return cls(**data)


class FaultInjector:
    """Draws the fault decisions for one server instance."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Switch to ``config`` and restart its random sequence from its seed."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._in_flight = getattr(self, "_in_flight", 0)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def _hit(self, rate: float) -> bool:
        # A rate of 0 draws nothing, so enabling one fault leaves the others' sequence alone.
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def before_api_call(self) -> ApiError | None:
        """An injected 429/500/503 answer for this API call, if any."""
        config = self._config
        if self._hit(config.rate_429):
            return ApiError(
                429,
                "rate limit exceeded (injected fault)",
                {"Retry-After": str(config.retry_after)},
            )
        if config.error_rate > 0.0:
            with self._lock:
                if self._rng.random() < config.error_rate:
                    status = self._rng.choice((500, 503))
                    return ApiError(status, f"injected server error {status}")
        return None

    def before_storage_put(self) -> ApiError | None:
        config = self._config
        if config.storage_failure_rate > 0.0:
            with self._lock:
                if self._rng.random() < config.storage_failure_rate:
                    status = self._rng.choice((500, 503))
                    return ApiError(status, f"injected storage failure {status}")
        return None

    def lose_response(self) -> bool:
        return self._hit(self._config.lost_response_rate)

    def gateway_timeout(self) -> bool:
        return self._hit(self._config.gateway_timeout_rate)

    def expire_url(self) -> bool:
        return self._hit(self._config.expired_url_rate)

    @property
    def latency_seconds(self) -> float:
        return self._config.latency_ms / 1000.0

    def enter(self) -> tuple[ApiError | None, float]:
        """A request starts: (429 when over capacity, the extra latency of the queue)."""
        config = self._config
        with self._lock:
            self._in_flight += 1
            in_flight = self._in_flight
        if config.capacity and in_flight > config.capacity:
            error = ApiError(429, "over capacity (injected fault)", {"Retry-After": "0"})
            return error, 0.0
        return None, config.queue_latency_ms * (in_flight - 1) / 1000.0

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def database_down(self) -> bool:
        return self._config.database_down

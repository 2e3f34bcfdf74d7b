"""Upload settings: one validated, keyword-only object. Every environment variable junit2af
reads is named here and nowhere else -- except the CI providers' own variables, read only
to describe the build (junit2af/ci.py lists them, beside each provider's reader)."""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from junit2af.errors import ConfigError

ENV_API_URL = "AF_API_URL"
ENV_API_KEY = "AF_API_KEY"
ENV_PROJECT_ID = "AF_PROJECT_ID"
DEFAULT_API_URL = "https://api.automatedfuture.co/v1/test"
DEFAULT_JOURNAL = ".junit2af-journal.sqlite3"


class Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class UploadSettings:
    """Everything an upload needs. Build it with :meth:`from_options` from CLI/env."""

    api_url: str
    api_key: Secret
    project_id: str
    label: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    jobs: int = 8
    dry_run: bool = False
    journal_path: Path | None = Path(DEFAULT_JOURNAL)
    new_run: bool = False
    on_uncertain: str = "resend"  # or "fail"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry_total: int = 8
    retry_deadline_s: float = 300.0
    retry_after_cap_s: float = 60.0
    backoff_factor: float = 0.25
    allow_insecure_http: bool = False
    verbose: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"API URL must be an http(s) URL, not {self.api_url!r}")
        if parts.username or parts.password:
            raise ConfigError("API URL must not carry credentials; use AF_API_KEY")
        if (
            parts.scheme == "http"
            and not is_loopback(parts.hostname)
            and not self.allow_insecure_http
        ):
            raise ConfigError(
                f"refusing to send the API key over plain http to {parts.hostname}; "
                "use https or --allow-insecure-http"
            )
        if not self.dry_run:
            if not self.api_key:
                raise ConfigError(
                    f"no API key: set {ENV_API_KEY} or use --api-key-file "
                    "(or try `junit2af demo` with no account)"
                )
            if not self.project_id:
                raise ConfigError(f"no project: set {ENV_PROJECT_ID} or use --project")
        if not 1 <= self.jobs <= 64:
            raise ConfigError(f"--jobs must be between 1 and 64, not {self.jobs}")
        if self.on_uncertain not in ("resend", "fail"):
            raise ConfigError("--on-uncertain must be 'resend' or 'fail'")
        if self.label is not None and not 2 <= len(self.label) <= 255:
            raise ConfigError("--label must be 2 to 255 characters")

    @property
    def base_url(self) -> str:
        return self.api_url.rstrip("/")

    @classmethod
    def from_options(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
        api_key_file: str | None = None,
        project_id: str | None = None,
        warn: Callable[[str], None] = lambda message: None,
        **others: Any,
    ) -> UploadSettings:
        """Settings from explicit options, falling back to the environment."""
        env = os.environ if environ is None else environ
        key = ""
        if api_key:
            warn(
                "an API key on the command line is visible to other users of this machine; "
                f"prefer {ENV_API_KEY} or --api-key-file"
            )
            key = api_key
        elif api_key_file:
            key = read_key_file(api_key_file, warn)
        else:
            key = env.get(ENV_API_KEY, "")
        return cls(
            api_url=api_url or env.get(ENV_API_URL) or DEFAULT_API_URL,
            api_key=Secret(key.strip()),
            project_id=project_id or env.get(ENV_PROJECT_ID, ""),
            **others,
        )


def read_key_file(path: str, warn: Callable[[str], None]) -> str:
    try:
        info = os.stat(path)
        with open(path, encoding="utf-8") as handle:
            key = handle.read().strip()
    except OSError as error:
        raise ConfigError(f"cannot read the API key file {path}: {error.strerror}") from None
    if info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        warn(f"the API key file {path} is readable by other users (chmod 600 it)")
    if not key:
        raise ConfigError(f"the API key file {path} is empty")
    return key

"""Settings: two validated, keyword-only objects, and the only reader of the environment.

:class:`UploadSettings` says where and how to upload; :class:`ReadSettings` how to read the
reports. :meth:`UploadSettings.from_environment` is the one place that reads environment
variables (junit2af's own ``AF_*``/``JUNIT2AF_*``, requests' CA bundle and proxy
conventions, and, through :func:`junit2af.ci.detect_ci`, the CI provider's variables), so a
library user who builds settings by hand gets exactly what the CLI gets, and nothing
below this module looks at ``os.environ``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from junit2af.ci import CIInfo, default_label, detect_ci
from junit2af.errors import ConfigError
from junit2af.parsers.base import MAX_TEXT_BYTES, ParseOptions

#: Environment variables junit2af reads (the README lists them; so does --help).
ENV_API_URL = "AF_API_URL"
ENV_API_KEY = "AF_API_KEY"
ENV_PROJECT_ID = "AF_PROJECT_ID"
ENV_RUN_URL_TEMPLATE = "AF_RUN_URL_TEMPLATE"
ENV_DEBUG = "JUNIT2AF_DEBUG"
ENV_STATE_DIR = "JUNIT2AF_STATE_DIR"
#: requests' conventions for a CA bundle, first match wins.
ENV_CA_BUNDLE = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
#: proxy variables (lower case wins over upper case, as in curl and requests).
ENV_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

DEFAULT_API_URL = "https://api.automatedfuture.co/v1/test"
#: How long an upload keeps retrying what failed before it gives up (``--retry-deadline``).
DEFAULT_RETRY_DEADLINE_S = 600.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_READ_TIMEOUT_S = 60.0
MAX_JOBS = 64

#: Environment variables each command documents in its --help.
ENVIRONMENT_HELP = (
    (ENV_API_URL, "API base URL (default https://api.automatedfuture.co/v1/test)"),
    (ENV_API_KEY, "the API key (or --api-key-file)"),
    (ENV_PROJECT_ID, "the project (or --project)"),
    (ENV_RUN_URL_TEMPLATE, "link printed for a run, e.g. https://app.example/runs/{run_id}"),
    (ENV_STATE_DIR, "where journals are kept (default: the per-user state directory)"),
    ("HTTPS_PROXY, NO_PROXY", "proxies, as curl and requests read them"),
    ("REQUESTS_CA_BUNDLE", "CA bundle for https (also CURL_CA_BUNDLE)"),
    (ENV_DEBUG, "set to 1 to see the traceback of an internal error"),
)

# A header value must be visible ASCII: a key holding CR/LF would forge headers.
_HEADER_SAFE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``JUNIT2AF_DEBUG`` asks for the traceback of an internal error."""
    return bool((os.environ if environ is None else environ).get(ENV_DEBUG))


def state_directory(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user directory where journals live (``$JUNIT2AF_STATE_DIR`` overrides it)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_STATE_DIR):
        return Path(env[ENV_STATE_DIR])
    import platformdirs

    return Path(platformdirs.user_state_dir("junit2af", appauthor=False))


@dataclass(frozen=True)
class Proxies:
    """The proxy variables as requests reads them, captured once."""

    http: str | None = None
    https: str | None = None
    all: str | None = None
    no_proxy: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Proxies:
        def get(name: str) -> str | None:
            return environ.get(name) or environ.get(name.upper()) or None

        return cls(get("http_proxy"), get("https_proxy"), get("all_proxy"), get("no_proxy"))

    def for_url(self, url: str) -> str | None:
        """The proxy for ``url``, or None: never one for this machine, or past NO_PROXY."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if is_loopback(host) or _bypassed(host, parts.port, self.no_proxy):
            return None
        chosen = self.https if parts.scheme == "https" else self.http
        return chosen or self.all


def _bypassed(host: str, port: int | None, no_proxy: str | None) -> bool:
    """curl's NO_PROXY rules: ``*``, host suffixes (``.example.com``/``example.com``),
    ``host:port``, and IP networks (``10.0.0.0/8``)."""
    if not no_proxy:
        return False
    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and port is not None and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True, kw_only=True)
class UploadSettings:
    """Everything an upload needs. Build it with :meth:`from_environment` (or by hand)."""

    api_url: str = DEFAULT_API_URL
    api_key: Secret = field(default_factory=lambda: Secret(""))
    project_id: str = ""
    label: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: requests in flight; None adapts to the service (AIMD), a number fixes it
    jobs: int | None = None
    dry_run: bool = False
    #: None: a journal per (API, project, label) in the per-user state directory
    journal_path: Path | None = None
    state_dir: Path | None = None
    new_run: bool = False
    resume_changed: bool = False
    on_uncertain: str = "resend"  # or "fail"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout: float = DEFAULT_READ_TIMEOUT_S
    retry_deadline_s: float = DEFAULT_RETRY_DEADLINE_S
    retry_after_cap_s: float = 60.0
    backoff_factor: float = 0.25
    allow_insecure_http: bool = False
    verbose: int = 0
    #: CA bundle for https (requests' REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE)
    ca_bundle: str | None = None
    proxies: Proxies = field(default_factory=Proxies)
    run_url_template: str | None = None
    #: the CI build junit2af runs in, if any (its details are in ``metadata`` already)
    ci: CIInfo | None = None
    #: where the key was read from: never uploaded as an attachment
    api_key_file: Path | None = None
    results_file: Path | None = None
    #: check the URL, key and project with one cheap round trip before reading reports
    preflight: bool = True

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
            if not _HEADER_SAFE.match(self.api_key.reveal()):
                raise ConfigError(
                    "the API key holds characters an HTTP header cannot carry "
                    "(a line break, a control character or non-ASCII); check how it was set"
                )
            if not self.project_id:
                raise ConfigError(f"no project: set {ENV_PROJECT_ID} or use --project")
        if self.jobs is not None and not 1 <= self.jobs <= MAX_JOBS:
            raise ConfigError(f"--jobs must be between 1 and {MAX_JOBS}, not {self.jobs}")
        if self.on_uncertain not in ("resend", "fail"):
            raise ConfigError("--on-uncertain must be 'resend' or 'fail'")
        if self.label is not None and not 2 <= len(self.label) <= 255:
            raise ConfigError("--label must be 2 to 255 characters")
        if self.retry_deadline_s < 0:
            raise ConfigError("--retry-deadline must not be negative")
        if not (0 < self.connect_timeout <= 3600 and 0 < self.read_timeout <= 3600):
            raise ConfigError("--timeout must be between 0 and 3600 seconds")
        if self.run_url_template is not None and "{run_id}" not in self.run_url_template:
            raise ConfigError(f"{ENV_RUN_URL_TEMPLATE} must contain {{run_id}}")

    @property
    def base_url(self) -> str:
        return self.api_url.rstrip("/")

    def journal_file(self, label: str) -> Path:
        """The journal of an upload with ``label``: ``--journal``, else one per
        (API, project, label) in the state directory, so that unrelated uploads never
        wait for each other and an unfinished upload is found by its label."""
        if self.journal_path is not None:
            return self.journal_path
        key = "\x00".join((self.base_url, self.project_id, label))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        directory = self.state_dir or state_directory({})
        return directory / "journals" / f"{digest}.sqlite3"

    def private_paths(self) -> tuple[Path, ...]:
        """Files and folders no report may make junit2af upload: the key file, the
        journals and their sidecars."""
        paths: list[Path] = []
        if self.api_key_file is not None:
            paths.append(self.api_key_file)
        if self.journal_path is not None:
            paths.append(self.journal_path)
        if self.state_dir is not None:
            paths.append(self.state_dir)
        return tuple(paths)

    def run_url(self, run_id: str | None, template: str | None = None) -> str | None:
        """The link to a run: ``AF_RUN_URL_TEMPLATE``, else ``template`` (the server's)."""
        chosen = self.run_url_template or template
        if not run_id or not chosen or "{run_id}" not in chosen:
            return None
        return chosen.replace("{run_id}", quote(run_id, safe=""))

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        *,
        api_url: str | None = None,
        api_key: str | None = None,
        api_key_file: str | os.PathLike[str] | None = None,
        project_id: str | None = None,
        label: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        detect_build: bool = True,
        warn: Callable[[str], None] = lambda message: None,
        **options: Any,
    ) -> UploadSettings:
        """Settings from explicit options, falling back to the environment.

        ``None`` means "not given". Inside a CI system (``detect_build``) the build's
        details go into the run metadata (``ci_*`` keys, which ``metadata`` overrides)
        and the default label names the build, e.g. ``GitHub Actions #42 (main)``.
        """
        key = ""
        key_path: Path | None = None
        if api_key:
            warn(
                "an API key on the command line is visible to other users of this machine; "
                f"prefer {ENV_API_KEY} or --api-key-file"
            )
            key = api_key
        elif api_key_file:
            key_path = Path(api_key_file)
            key = read_key_file(key_path, warn)
        else:
            key = environ.get(ENV_API_KEY, "")
        ci = detect_ci(environ) if detect_build else None
        merged = {**(ci.metadata() if ci else {}), **(metadata or {})}
        ca_bundle = next((environ[n] for n in ENV_CA_BUNDLE if environ.get(n)), None)
        options = {k: v for k, v in options.items() if v is not None}
        options.setdefault("state_dir", state_directory(environ))
        return cls(
            api_url=api_url or environ.get(ENV_API_URL) or DEFAULT_API_URL,
            api_key=Secret(key.strip()),
            project_id=project_id or environ.get(ENV_PROJECT_ID, ""),
            label=label or default_label(ci),
            metadata=merged,
            ci=ci,
            ca_bundle=ca_bundle,
            proxies=Proxies.from_environment(environ),
            run_url_template=environ.get(ENV_RUN_URL_TEMPLATE) or None,
            api_key_file=key_path,
            **options,
        )


def read_key_file(path: Path, warn: Callable[[str], None]) -> str:
    try:
        info = os.stat(path)
        with open(path, encoding="utf-8") as handle:
            key = handle.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read the API key file {path}: {reason}") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        warn(f"the API key file {path} is readable by other users (chmod 600 it)")
    if not key:
        raise ConfigError(f"the API key file {path} is empty")
    return key


def parse_metadata(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--metadata``) as a dict; :class:`ConfigError` otherwise."""
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--metadata: {pair!r} is not KEY=VALUE")
        metadata[key.strip()] = value
    return metadata


_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_timezone(value: str) -> tzinfo:
    """A zone for timestamps written without an offset: ``Europe/Paris``, ``+02:00``,
    ``-0500``, ``Z`` or ``UTC``. Raises :class:`ConfigError` for anything else."""
    from dateutil import tz

    text = value.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise ConfigError(f"--timezone: {value!r} is not a valid offset")
        seconds = (hours * 3600 + minutes * 60) * (-1 if sign == "-" else 1)
        return tz.tzoffset(text, seconds)
    zone = tz.gettz(text) if text and not text.startswith(("/", ".")) else None
    if zone is None:
        raise ConfigError(
            f"--timezone: unknown time zone {value!r} (use an IANA name such as "
            "Europe/Paris, or an offset such as +02:00)"
        )
    return zone


@dataclass(frozen=True, kw_only=True)
class ReadSettings:
    """How to read reports: the format (None: detect), salvage of truncated reports, the
    zone of naive timestamps, and where attachment references may point."""

    format: str | None = None
    salvage: bool = False
    timezone: tzinfo = UTC
    #: directories attachments may come from; empty: the working directory
    attachment_roots: tuple[str, ...] = ()
    max_text_bytes: int = MAX_TEXT_BYTES
    #: where reports without any time start (default: each report's modification time)
    fallback_start: datetime | None = None

    def __post_init__(self) -> None:
        if self.format is not None:
            from junit2af.parsers import format_names

            if self.format not in format_names():
                raise ConfigError(
                    f"--format: unknown format {self.format!r} "
                    f"(one of: {', '.join(format_names())})"
                )

    @classmethod
    def from_options(
        cls,
        *,
        format: str | None = None,
        salvage: bool = False,
        attachment_roots: Sequence[str] = (),
        timezone: str | None = None,
    ) -> ReadSettings:
        """Read settings from option values as typed (``timezone`` a name or offset)."""
        zone = parse_timezone(timezone) if timezone else UTC
        return cls(
            format=format,
            salvage=salvage,
            attachment_roots=tuple(attachment_roots),
            timezone=zone,
        )

    def parse_options(self, warn: Callable[[str], None]) -> ParseOptions:
        return ParseOptions(
            timezone=self.timezone,
            salvage=self.salvage,
            warn=warn,
            max_text_bytes=self.max_text_bytes,
            fallback_start=self.fallback_start,
        )

"""The read-only web view: a project's runs, a run's results, a result and its artifacts.

Server-side rendered HTML (Jinja2, autoescape on for every template), one stylesheet served
from the package, no build step and nothing fetched from elsewhere: the pages work offline.
It is served on the API's port, outside ``/v1/test``; its requests are not written to the
API's request log and no fault is applied to them.

Who sees what (notes/webview.md): a server bound to a loopback address shows the bootstrap
team to a browser that reached it under a loopback name (``localhost``, ``127.0.0.1``,
``[::1]``) without any key. Bound to another interface, or reached under another name (a
DNS-rebinding page), every page needs a key of the team to show: HTTP Basic with the key
as the password (any user name), or the raw key in ``Authorization`` as the API takes it.

Everything a report sent is untrusted: names, messages, metadata and artifact bytes.
Templates escape every value (attributes and URLs too); artifacts are served only as
images of a fixed list of types, as ``text/plain``, or as attachment downloads, always with
``nosniff`` and a sandboxing Content-Security-Policy, so an uploaded HTML file never becomes
a page of this origin.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import ipaddress
import json
import logging
import math
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import FileWrapper

from junit2af.localserver.blobs import BlobStore
from junit2af.localserver.clock import parse_stored
from junit2af.localserver.storage import RESULT_ORDERS, Store, TeamKeys

log = logging.getLogger("junit2af.localserver")

RUNS_PER_PAGE = 25
RESULTS_PER_PAGE = 100
SLOWEST_SHOWN = 10
#: a text artifact is shown inline up to this many bytes (the rest: download it)
INLINE_TEXT_BYTES = 256 * 1024
#: and the inline texts of one result page add up to at most this much
INLINE_TEXT_PAGE_BUDGET = 1024 * 1024
#: a name filter longer than a name can be matches nothing: it is cut here
QUERY_MAX = 255
#: images shown inline with their own type; SVG is not one (it can carry script)
INLINE_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"}
)
#: non-text/* types whose bytes are text worth showing inline (as text/plain)
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/javascript",
        "application/x-sh",
    }
)
#: duration histogram bucket edges in ms (a 1-2-5 series up to 10 s, then 30 s, 1, 5 min)
DURATION_EDGES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000)
#: horizontal room of one histogram bar and its label, in px
HISTOGRAM_PITCH = 44
#: a result's metadata longer than this many lines starts folded
METADATA_FOLD_LINES = 40
#: result statuses in the order the pages list them (problems first after Passed)
STATUS_ORDER = ("Passed", "Failed", "KnownFail", "Skipped", "Running", "Pending")
#: the run metadata junit2af writes (junit2af/ci.py, backfill.py), with their labels
RUN_FIELDS = (
    ("ci_provider", "CI"),
    ("ci_repository", "Repository"),
    ("ci_branch", "Branch"),
    ("ci_tag", "Tag"),
    ("ci_pull_request", "Pull request"),
    ("ci_commit", "Commit"),
    ("ci_build_number", "Build number"),
    ("ci_build_id", "Build id"),
    ("ci_build_url", "Build URL"),
    ("ci_job", "Job"),
    ("ci_attempt", "Attempt"),
    ("original_start", "Original start"),
    ("original_end", "Original end"),
)
LINK_FIELDS = frozenset({"ci_build_url"})
#: ANSI colour/cursor sequences test runners write into captured output
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: the stylesheet and icon, served from the package (no CDN: works offline)
STATIC_FILES = {"web.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: what a served artifact may do as a document: nothing (it is never a page of this origin)
ARTIFACT_CSP = "default-src 'none'; sandbox"
BASIC_REALM = 'Basic realm="junit2af local server", charset="UTF-8"'


def page_csp(nonce: str) -> str:
    """The pages' policy: only this origin's stylesheet and images, one inline script."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


# -- formatting (Jinja filters) ----------------------------------------------------------------


def format_when(stored: str | None) -> str:
    """A stored or API time as ``2025-01-15 10:30:00 UTC`` (``—`` when there is none)."""
    try:
        value = parse_stored(stored) if stored else None
    except ValueError:
        return str(stored)
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_when_short(stored: str | None) -> str:
    """``2025-01-15 10:30:00``: for tables (the footer says times are UTC)."""
    text = format_when(stored)
    return text[: -len(" UTC")] if text.endswith(" UTC") else text


def format_duration(ms: int | float | None) -> str:
    """``420 ms``, ``3.20 s``, ``2 min 05 s``, ``1 h 02 min``; ``—`` when unknown."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def compact_ms(ms: int) -> str:
    """``200ms``, ``2s``, ``1m``: a histogram label (bucket edges are round numbers)."""
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:g}s"
    return f"{ms / 60_000:g}m"


def format_size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def span_ms(start: str | None, end: str | None) -> int | None:
    """Milliseconds from one stored/API time to another (``None`` if either is missing)."""
    try:
        first, last = parse_stored(start), parse_stored(end)
    except (TypeError, ValueError):
        return None
    if first is None or last is None:
        return None
    return max(0, round((last - first).total_seconds() * 1000))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def http_link(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL, else ``None`` (never a javascript: link)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def first_line(text: str | None, limit: int = 200) -> str:
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- who is asking -----------------------------------------------------------------------------


def is_loopback_address(host: str) -> bool:
    """Whether a bound address (``127.0.0.1``, ``::1``) only listens on this machine."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


def is_loopback_host(host_header: str) -> bool:
    """Whether the Host a browser used names this machine (``localhost:8080``, ``[::1]``)."""
    try:
        name = urlsplit("//" + host_header).hostname
    except ValueError:
        return False
    if not name:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def presented_key(request: Request) -> str | None:
    """The key in ``Authorization``: a Basic password (user name ignored), a Bearer token,
    or a raw key as the API takes it."""
    raw = (request.headers.get("Authorization") or "").strip()
    if not raw:
        return None
    scheme, _, rest = raw.partition(" ")
    if scheme.lower() == "basic" and rest.strip():
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""  # present but unreadable: a wrong key, not "no key"
        return decoded.partition(":")[2]
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return raw


class WebError(Exception):
    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail


# -- paging and links --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pager:
    page: int
    pages: int
    total: int
    size: int

    @classmethod
    def of(cls, requested: str | None, total: int, size: int) -> Pager:
        pages = max(1, math.ceil(total / size))
        try:
            page = int(requested or 1)
        except ValueError:
            page = 1
        return cls(min(max(page, 1), pages), pages, total, size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first_shown(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_shown(self) -> int:
        return min(self.offset + self.size, self.total)


def link(path: str, params: Iterable[tuple[str, Any]] = ()) -> str:
    """``path?query`` with the empty parameters left out (the template escapes it)."""
    kept = [(name, value) for name, value in params if value is not None and value != ""]
    return path + ("?" + urlencode(kept) if kept else "")


def content_disposition(kind: str, label: str) -> str:
    """``attachment; filename="x.log"; filename*=UTF-8''x.log`` from an untrusted label."""
    name = "".join(c if c.isprintable() and c not in '/\\"' else "_" for c in label).strip()
    name = name.lstrip(".") or "artifact"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in "%;" else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def media_type(content_type: str) -> tuple[str, str | None]:
    """``("text/plain", "utf-8")`` from ``text/plain; charset=UTF-8``.

    The charset is kept only if Python knows it (it decodes the inline view).
    """
    main, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            try:
                charset = codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                charset = None
    return main.strip().lower(), charset


def is_text_type(main: str) -> bool:
    """Text worth showing inline (not SVG: an image/* is shown as an image or downloaded)."""
    if main.startswith("text/") or main in TEXT_TYPES:
        return True
    return main.endswith(("+json", "+xml")) and not main.startswith("image/")


# -- the view ----------------------------------------------------------------------------------


class WebView:
    """The pages, as a callable that answers a request or returns ``None`` (not a page)."""

    def __init__(self, store: Store, blobs: BlobStore, bootstrap: TeamKeys) -> None:
        self.store = store
        self.blobs = blobs
        self.bootstrap = bootstrap
        #: set by LocalServer once bound: pages are open without a key only on loopback
        self.open_without_key = False
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("junit2af.localserver", "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            when=format_when,
            when_short=format_when_short,
            duration=format_duration,
            size=format_size,
            first_line=first_line,
            pretty_json=pretty_json,
        )
        self.env.globals.update(STATUS_ORDER=STATUS_ORDER)
        self.static = {
            name: (resources.files("junit2af.localserver").joinpath("static", name).read_bytes())
            for name in STATIC_FILES
        }
        rules = [
            ("/", "runs"),
            ("/runs/<run_id>", "run"),
            ("/results/<result_id>", "result"),
            ("/artifacts/<artifact_id>/inline", "artifact_inline"),
            ("/artifacts/<artifact_id>/download", "artifact_download"),
            ("/static/<name>", "static_file"),
        ]
        self.url_map = Map(
            [Rule(path, endpoint=name, methods=["GET"]) for path, name in rules],
            strict_slashes=True,
            merge_slashes=False,
        )

    def __call__(self, request: Request) -> Response | None:
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException:
            return None  # not a page: the API answers (its 404s are JSON)
        nonce = secrets.token_urlsafe(16)
        try:
            self.store.ensure_web_indexes()
            if endpoint == "static_file":
                response = self.static_file(request, **args)
            else:
                team_id = self._viewer(request)
                handler: Callable[..., Response] = getattr(self, endpoint)
                response = handler(request, team_id, nonce, **args)
        except WebError as error:
            response = self._error_page(error, nonce)
        except Exception:
            log.exception("error rendering %s", request.path)
            failure = WebError(500, "Internal error", "The server's log has the details.")
            response = self._error_page(failure, nonce)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def _error_page(self, error: WebError, nonce: str) -> Response:
        context = {"title": error.title, "detail": error.detail}
        response = self._render("error.html", nonce, context, status=error.status)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = BASIC_REALM
        return response

    # -- access ----------------------------------------------------------------------------

    def _viewer(self, request: Request) -> str:
        """The team whose data this request may see (or a 401)."""
        key = presented_key(request)
        if key is not None:
            found = self.store.lookup_key(key) if key else None
            if found is None:
                raise WebError(401, "Wrong key", "That key is not a key of this server.")
            return found[0]
        if self.open_without_key and is_loopback_host(request.host):
            return self.bootstrap.team_id
        raise WebError(
            401,
            "A key is needed",
            "This server is not bound to a loopback address (or was reached under another"
            " name): sign in with any user name and an API key of the team as the password.",
        )

    # -- rendering -------------------------------------------------------------------------

    def _render(
        self, template: str, nonce: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        html = self.env.get_template(template).render(nonce=nonce, **context)
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = page_csp(nonce)
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _counts(counts: dict[str, int]) -> list[tuple[str, int]]:
        return [(status, counts.get(status, 0)) for status in STATUS_ORDER if counts.get(status)]

    def _run_counts(self, run: Any) -> dict[str, int]:
        # A Completed run carries the snapshot the API took (cheap for a list of runs);
        # any other run is counted now.
        if run["status"] == "Completed" and run["result_counts"]:
            stored = json.loads(run["result_counts"])
            return {k: int(n) for k, n in stored.items() if k in STATUS_ORDER}
        return self.store.status_counts(run["test_run_id"], STATUS_ORDER)

    # -- pages -----------------------------------------------------------------------------

    def runs(self, request: Request, team_id: str, nonce: str) -> Response:
        projects = self.store.projects_of(team_id)
        if not projects:
            raise WebError(404, "No project", "This team has no project yet.")
        wanted = request.args.get("project")
        project = next((p for p in projects if p["project_id"] == wanted), projects[0])
        project_id = project["project_id"]
        pager = Pager.of(request.args.get("page"), self.store.run_count(project_id), RUNS_PER_PAGE)
        runs = []
        for row in self.store.runs_of(project_id, pager.size, pager.offset):
            counts = self._run_counts(row)
            runs.append(
                {
                    "run_id": row["test_run_id"],
                    "label": row["label"],
                    "status": row["status"],
                    "created_at": row["created_at"],
                    "started_at": row["started_at"],
                    "finished_at": row["finished_at"],
                    "duration_ms": span_ms(row["started_at"], row["finished_at"]),
                    "counts": self._counts(counts),
                    "total": sum(counts.values()),
                }
            )
        keep = [("project", project_id if len(projects) > 1 else None)]
        return self._render(
            "runs.html",
            nonce,
            {
                "projects": projects,
                "project": project,
                "runs": runs,
                "pager": pager,
                "page_link": lambda page: link("/", [*keep, ("page", page if page > 1 else None)]),
            },
        )

    def run(self, request: Request, team_id: str, nonce: str, run_id: str) -> Response:
        run = self.store.get("run", run_id, team_id)
        if run is None:
            raise WebError(404, "No such run", f"There is no run {run_id!r} in this team.")
        args = request.args
        statuses = tuple(dict.fromkeys(s for s in args.getlist("status") if s in STATUS_ORDER))
        name_part = (args.get("q") or "").strip()[:QUERY_MAX]
        order = args.get("sort") or ""
        if order not in RESULT_ORDERS:
            order = ""
        counts = self.store.status_counts(run_id, STATUS_ORDER)
        total = sum(counts.values())
        if statuses or name_part:
            shown = self.store.results_count(run_id, statuses=statuses, name_part=name_part)
        else:
            shown = total
        pager = Pager.of(args.get("page"), shown, RESULTS_PER_PAGE)
        results = self.store.results_page(
            run_id,
            statuses=statuses,
            name_part=name_part,
            order=order,
            limit=pager.size,
            offset=pager.offset,
        )
        metadata = json.loads(run["metadata"]) if run["metadata"] else {}
        if not isinstance(metadata, dict):
            metadata = {"metadata": metadata}
        path = f"/runs/{quote(run_id, safe='')}"
        filters = [*(("status", s) for s in statuses), ("q", name_part)]

        def results_link(sort: str = order, page: int = 1) -> str:
            return link(path, [*filters, ("sort", sort), ("page", page if page > 1 else None)])

        def status_link(status: str | None) -> str:
            return link(path, [("status", status), ("q", name_part), ("sort", order)])

        return self._render(
            "run.html",
            nonce,
            {
                "run": run,
                "run_id": run_id,
                "project": self.store.get("project", run["project_id"]),
                "duration_ms": span_ms(run["started_at"], run["finished_at"]),
                "original_ms": span_ms(
                    metadata.get("original_start"), metadata.get("original_end")
                ),
                "counts": self._counts(counts),
                "all_counts": counts,
                "total": total,
                "known_fields": self._run_fields(metadata),
                "other_metadata": {k: v for k, v in metadata.items() if k not in dict(RUN_FIELDS)},
                "statuses": statuses,
                "name_part": name_part,
                "order": order,
                "results": results,
                "pager": pager,
                "results_link": results_link,
                "page_link": lambda page: results_link(order, page),
                "status_link": status_link,
                "histogram": self._histogram(run_id),
                "slowest": self.store.slowest_results(run_id, SLOWEST_SHOWN),
            },
        )

    @staticmethod
    def _run_fields(metadata: dict[str, Any]) -> list[tuple[str, str, str | None]]:
        """``(label, text, href)`` of the known run metadata that is there."""
        fields = []
        for key, label in RUN_FIELDS:
            if key not in metadata or metadata[key] in (None, ""):
                continue
            value = metadata[key]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            if key.startswith("original_"):
                text = format_when(text)
            href = http_link(value) if key in LINK_FIELDS else None
            fields.append((label, text, href))
        return fields

    def _histogram(self, run_id: str) -> dict[str, Any] | None:
        counts = self.store.duration_histogram(run_id, DURATION_EDGES)
        timed = {bucket: n for bucket, n in counts.items() if bucket >= 0}
        if not timed:
            return None
        low, high = min(timed), max(timed)
        tallest = max(timed.values())
        bars = []
        for bucket in range(low, high + 1):
            n = timed.get(bucket, 0)
            lower = 0 if bucket == 0 else DURATION_EDGES[bucket - 1]
            if bucket < len(DURATION_EDGES):
                label = f"<{compact_ms(DURATION_EDGES[bucket])}"
                title = f"{format_duration(lower)} to {format_duration(DURATION_EDGES[bucket])}"
            else:
                label = f"≥{compact_ms(lower)}"
                title = f"{format_duration(lower)} or more"
            # Heights on a square-root scale: one slow outlier still shows next to 10k fast.
            height = 0 if not n else max(2, round(80 * math.sqrt(n / tallest)))
            bars.append({"label": label, "title": title, "count": n, "height": height})
        return {
            "bars": bars,
            "untimed": counts.get(-1, 0),
            "pitch": HISTOGRAM_PITCH,
            "width": HISTOGRAM_PITCH * len(bars),
        }

    def result(self, request: Request, team_id: str, nonce: str, result_id: str) -> Response:
        row = self.store.get("result", result_id, team_id)
        if row is None:
            raise WebError(404, "No such result", f"There is no result {result_id!r} in this team.")
        metadata = json.loads(row["metadata"]) if row["metadata"] else None
        attempts = metadata.get("attempts") if isinstance(metadata, dict) else None
        metadata_text = None if metadata is None else pretty_json(metadata)
        run = self.store.get("run", row["test_run_id"]) if row["test_run_id"] else None
        budget = INLINE_TEXT_PAGE_BUDGET
        artifacts = []
        unconfirmed = 0
        for artifact in self.store.artifacts_of(result_id, confirmed_only=False):
            if artifact["confirmed_at"] is None or not self.blobs.exists(artifact["artifact_id"]):
                unconfirmed += 1
                continue
            main, charset = media_type(artifact["content_type"])
            view: dict[str, Any] = {
                "row": artifact,
                "image": main in INLINE_IMAGE_TYPES,
                "text": None,
                "truncated": False,
                "shown_bytes": 0,
                "skipped_text": False,
            }
            if is_text_type(main):
                if budget > 0:
                    limit = min(INLINE_TEXT_BYTES, budget)
                    text, cut = self._read_text(artifact["artifact_id"], charset, limit)
                    budget -= limit
                    view.update(text=text, truncated=cut, shown_bytes=limit)
                else:
                    view["skipped_text"] = True
            artifacts.append(view)
        return self._render(
            "result.html",
            nonce,
            {
                "row": row,
                "run": run,
                "project": self.store.get("project", row["project_id"]),
                "metadata": metadata,
                "metadata_text": metadata_text,
                "metadata_folded": metadata_text is not None
                and metadata_text.count("\n") >= METADATA_FOLD_LINES,
                "attempts": attempts,
                "artifacts": artifacts,
                "unconfirmed": unconfirmed,
                "page_budget": INLINE_TEXT_PAGE_BUDGET,
            },
        )

    def _read_text(self, artifact_id: str, charset: str | None, limit: int) -> tuple[str, bool]:
        """The first ``limit`` bytes as text (ANSI colours removed), and whether it was cut."""
        with self.blobs.open(artifact_id) as handle:
            data = handle.read(limit + 1)
        cut = len(data) > limit
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
        # final=False when cut: a character split at the limit is dropped, not mangled.
        text = decoder.decode(data[:limit], final=not cut)
        return _ANSI.sub("", text), cut

    # -- artifact bytes and static files ---------------------------------------------------

    def _artifact(self, team_id: str, artifact_id: str) -> Any:
        row = self.store.get("artifact", artifact_id, team_id)
        if row is None or row["confirmed_at"] is None or not self.blobs.exists(artifact_id):
            raise WebError(404, "No such artifact", f"There is no artifact {artifact_id!r}.")
        return row

    def _serve_artifact(self, row: Any, content_type: str, disposition: str) -> Response:
        handle = self.blobs.open(row["artifact_id"])
        response = Response(
            FileWrapper(handle, 1024 * 1024), content_type=content_type, direct_passthrough=True
        )
        response.content_length = row["size_bytes"]
        response.headers["Content-Disposition"] = content_disposition(disposition, row["label"])
        response.headers["Content-Security-Policy"] = ARTIFACT_CSP
        response.headers["Cache-Control"] = "private, no-cache"
        return response

    def artifact_inline(
        self, request: Request, team_id: str, nonce: str, artifact_id: str
    ) -> Response:
        """Images (of a safe type) as themselves, text as text/plain, the rest downloaded."""
        row = self._artifact(team_id, artifact_id)
        main, charset = media_type(row["content_type"])
        if main in INLINE_IMAGE_TYPES:
            return self._serve_artifact(row, main, "inline")
        if is_text_type(main):
            # Never the declared type: text/html (or an XML with script) would be a page.
            return self._serve_artifact(row, f"text/plain; charset={charset or 'utf-8'}", "inline")
        return self._serve_artifact(row, "application/octet-stream", "attachment")

    def artifact_download(
        self, request: Request, team_id: str, nonce: str, artifact_id: str
    ) -> Response:
        row = self._artifact(team_id, artifact_id)
        return self._serve_artifact(row, "application/octet-stream", "attachment")

    def static_file(self, request: Request, name: str) -> Response:
        if name not in STATIC_FILES:
            raise WebError(404, "Not found")
        response = Response(self.static[name], content_type=STATIC_FILES[name])
        response.headers["Cache-Control"] = "no-cache"
        response.add_etag()
        return response.make_conditional(request)

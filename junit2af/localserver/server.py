"""LocalServer: one instance of the local API, served from a background thread."""

from __future__ import annotations

import shlex
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from junit2af.localserver.admin import AdminApi, AdminView
from junit2af.localserver.app import API_PREFIX, RUN_PAGE_PATH, ApiApp
from junit2af.localserver.blobs import BlobStore
from junit2af.localserver.clock import Clock, OffsetClock, system_clock
from junit2af.localserver.faults import FaultConfig, FaultInjector
from junit2af.localserver.gateway import KeepAliveServer
from junit2af.localserver.requestlog import RequestLog, RequestRecord
from junit2af.localserver.signing import Signer
from junit2af.localserver.storage import Store, TeamKeys
from junit2af.localserver.web import WebView, is_loopback_address

DATABASE_NAME = "records.sqlite3"
ARTIFACTS_DIR = "artifacts"


def default_data_dir() -> Path:
    """The per-user data directory of ``junit2af serve``.

    ``$XDG_DATA_HOME/junit2af/localserver`` (``~/.local/share/...``) on Linux and other
    Unix systems, ``~/Library/Application Support/junit2af/localserver`` on macOS,
    ``%LOCALAPPDATA%\\junit2af\\localserver`` on Windows.
    """
    import platformdirs  # the environment (XDG_DATA_HOME, LOCALAPPDATA) is its to read

    return Path(platformdirs.user_data_dir("junit2af", appauthor=False)) / "localserver"


class LocalServer:
    """The bundled Automated Future API, in-process, on a real socket.

    Example::

        with LocalServer() as server:                 # a temporary data dir, a free port
            client = make_client(server.base_url, server.api_key)
            ...
            assert server.admin.runs()[0]["status"] == "Completed"

    ``data_dir=None`` uses a temporary directory removed at :meth:`stop`; give a path to
    keep the records across restarts. ``clock`` (a callable returning an aware datetime,
    e.g. :class:`ManualClock`) drives every time the server stamps or checks.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        faults: FaultConfig | None = None,
        honour_idempotency_keys: bool = False,
        clock: Clock | None = None,
        url_ttl_seconds: int = 900,
    ) -> None:
        self._requested_dir = Path(data_dir) if data_dir is not None else None
        self.host = host
        self._requested_port = port
        self._faults = FaultInjector(faults)
        self._honour_idempotency_keys = honour_idempotency_keys
        self.clock = OffsetClock(clock or system_clock)
        self._url_ttl_seconds = url_ttl_seconds
        self._request_log = RequestLog()
        self._serving = threading.Event()  # set when the serving loop has ended
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._store: Store | None = None
        self._httpd: KeepAliveServer | None = None
        self._thread: threading.Thread | None = None
        self._app: ApiApp | None = None
        self._keys: TeamKeys | None = None
        self._admin: AdminView | None = None
        self.data_dir: Path | None = self._requested_dir

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalServer:
        """Open the data directory, bind the port and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("LocalServer already started")
        if self._requested_dir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="junit2af-localserver-")
            self.data_dir = Path(self._tmpdir.name)
        else:
            self.data_dir = self._requested_dir
        assert self.data_dir is not None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._store = Store(self.data_dir / DATABASE_NAME)
            self._keys, secret = self._store.bootstrap(self.clock())
            blobs = BlobStore(self.data_dir / ARTIFACTS_DIR)
            self._admin = AdminView(self._store, blobs, self._keys, self.clock)
            admin_api = AdminApi(
                self._admin,
                admin_key=self._keys.api_key,
                request_log=self._request_log,
                faults=self._faults,
                clock=self.clock,
            )
            web = WebView(self._store, blobs, self._keys)
            self._app = ApiApp(
                store=self._store,
                blobs=blobs,
                signer=Signer(secret),
                faults=self._faults,
                request_log=self._request_log,
                clock=self.clock,
                admin=admin_api,
                honour_idempotency_keys=self._honour_idempotency_keys,
                url_ttl_seconds=self._url_ttl_seconds,
                web=web,
            )
            self._httpd = KeepAliveServer(self.host, self._requested_port, self._app)
            # The pages need no key only where nobody else can reach them.
            web.open_without_key = is_loopback_address(str(self._httpd.server_address[0]))
        except BaseException:
            self._close_resources()
            raise
        self._serving.clear()
        self._thread = threading.Thread(
            target=self._serve,
            args=(self._httpd,),
            name=f"junit2af-localserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _serve(self, httpd: KeepAliveServer) -> None:
        try:
            # A short poll keeps stop() fast; an idle loop costs nothing measurable.
            httpd.serve_forever(poll_interval=0.02)
        finally:
            self._serving.set()

    def stop(self) -> None:
        """Stop accepting, end open connections, close the database. Idempotent."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None
        self._close_resources()

    def _close_resources(self) -> None:
        if self._httpd is not None:
            self._httpd.server_close()
            self._httpd = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        # An Event, not Thread.join(): on Python 3.11 a KeyboardInterrupt inside join()
        # marks the still-running thread as stopped (bpo-45274's fix). The timeout keeps
        # the main thread responsive to signals on every platform.
        while self._thread is not None and not self._serving.wait(0.5):
            pass

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and who -------------------------------------------------------------------------

    def _running(self) -> KeepAliveServer:
        if self._httpd is None:
            raise RuntimeError("LocalServer is not started")
        return self._httpd

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def root_url(self) -> str:
        """``http://host:port``, with a reachable host for a wildcard bind."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API's base URL, ``http://host:port/v1/test``."""
        return self.root_url + API_PREFIX

    @property
    def web_url(self) -> str:
        """The web view's first page (a project's runs), ``http://host:port/``."""
        return self.root_url + "/"

    def _web_is_open(self) -> bool:
        return self._app is not None and getattr(self._app.web, "open_without_key", False)

    def run_url(self, run_id: str) -> str:
        """The web view's page of one run."""
        return self.root_url + RUN_PAGE_PATH.format(run_id=quote(run_id, safe=""))

    def _team(self) -> TeamKeys:
        self._running()
        assert self._keys is not None
        return self._keys

    @property
    def api_key(self) -> str:
        """The bootstrap team's read-write key (also the admin key)."""
        return self._team().api_key

    @property
    def readonly_key(self) -> str:
        return self._team().readonly_key

    @property
    def project_id(self) -> str:
        return self._team().project_id

    @property
    def team_id(self) -> str:
        return self._team().team_id

    @property
    def admin(self) -> AdminView:
        """Read what was stored (and create other teams and projects)."""
        self._running()
        assert self._admin is not None
        return self._admin

    # -- test controls -------------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every API and storage request so far (admin calls excluded), in arrival order."""
        return self._request_log.snapshot()

    def clear_request_log(self) -> None:
        self._request_log.clear()

    @property
    def faults(self) -> FaultConfig:
        return self._faults.config

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Switch fault injection (``None``: off); the seed's sequence restarts."""
        self._faults.configure(faults or FaultConfig())

    @property
    def url_ttl_seconds(self) -> int:
        return self._url_ttl_seconds

    @url_ttl_seconds.setter
    def url_ttl_seconds(self, seconds: int) -> None:
        self._url_ttl_seconds = seconds
        if self._app is not None:
            self._app.url_ttl_seconds = seconds

    def shell_exports(self) -> list[str]:
        """The lines ``junit2af serve`` prints: exports for eval, then ``# `` comments."""
        return [
            f"export AF_API_URL={shlex.quote(self.base_url)}",
            f"export AF_API_KEY={shlex.quote(self.api_key)}",
            f"export AF_PROJECT_ID={shlex.quote(self.project_id)}",
            f"# junit2af local server on {self.root_url}, data in {self.data_dir}",
            f"# web view: {self.web_url}"
            + ("" if self._web_is_open() else " (user: any, password: a key of the team)"),
            f"# read-only key: {self.readonly_key}; stored records: "
            f'curl -H "Authorization: $AF_API_KEY" {self.root_url}/_admin/runs',
        ]

"""``junit2af serve`` in a subprocess, and the admin view over HTTP.

For the tests that kill the server mid-upload and start it again on the same data
directory: :class:`ServerProcess` runs the real command and reads what it prints;
:class:`AdminClient` offers the methods of :class:`AdminView` over ``/_admin/``.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from junit2af.localserver.faults import FaultConfig
from junit2af.localserver.requestlog import RequestRecord
from junit2af.localserver.storage import TeamKeys


class AdminClient:
    """The admin view of a server reached over HTTP (same method names as AdminView)."""

    def __init__(self, root_url: str, api_key: str, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # One short-lived session per call: nothing stays open between test steps.
        response = requests.request(
            method,
            f"{self.root_url}/_admin{path}",
            headers={"Authorization": self._api_key},
            timeout=self._timeout,
            **kwargs,
        )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def info(self) -> dict[str, Any]:
        return self._json("GET", "/")

    def teams(self) -> list[dict[str, Any]]:
        return self._json("GET", "/teams")["teams"]

    def create_team(self, name: str = "another team") -> TeamKeys:
        data = self._json("POST", "/teams", json={"name": name})
        return TeamKeys(**data)

    def create_project(
        self,
        name: str,
        *,
        team_id: str | None = None,
        description: str | None = None,
        status: str = "Active",
    ) -> str:
        body = {"name": name, "team_id": team_id, "description": description, "status": status}
        return self._json("POST", "/projects", json=body)["project_id"]

    def projects(self, team_id: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/projects", params={"team_id": team_id})["projects"]

    def runs(self, project_id: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/runs", params={"project_id": project_id})["runs"]

    def run(self, run_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/runs/{run_id}")

    def results(
        self, run_id: str | None = None, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"run_id": run_id, "project_id": project_id}
        return self._json("GET", "/results", params=params)["results"]

    def result(self, result_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/results/{result_id}")

    def artifacts(self, result_id: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/artifacts", params={"result_id": result_id})["artifacts"]

    def artifact(self, artifact_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/artifacts/{artifact_id}")

    def artifact_bytes(self, artifact_id: str) -> bytes | None:
        response = self._call("GET", f"/artifacts/{artifact_id}/bytes")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content

    def artifact_sha256(self, artifact_id: str) -> str | None:
        row = self.artifact(artifact_id)
        return None if row is None else row["sha256"]

    def request_log(self) -> list[RequestRecord]:
        return [RequestRecord(**r) for r in self._json("GET", "/requests")["requests"]]

    def clear_request_log(self) -> None:
        self._json("DELETE", "/requests")

    def faults(self) -> FaultConfig:
        return FaultConfig.from_json(self._json("GET", "/faults"))

    def set_faults(self, faults: FaultConfig | None) -> None:
        self._json("PUT", "/faults", json=(faults or FaultConfig()).to_json())

    def advance_clock(self, seconds: float) -> str:
        """Move the server's clock forward; returns its new time."""
        return self._json("POST", "/clock", json={"advance_seconds": seconds})["now"]


class ServerProcess:
    """``junit2af serve --port 0 --data DIR`` as a child process.

    Example::

        with ServerProcess(tmp_path / "data") as server:
            upload(server.base_url, server.api_key, ...)
            server.kill()                    # SIGKILL mid-upload
        with ServerProcess(tmp_path / "data") as server:   # same records, new port
            ...
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 30.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args = [
            sys.executable,
            "-m",
            "junit2af",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--data",
            str(self.data_dir),
            *extra_args,
        ]
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self.output: list[str] = []
        self.exports: dict[str, str] = {}

    def start(self) -> ServerProcess:
        # Kept open for the child's lifetime and closed in stop(), not a with-block.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        if not self._ready.wait(self._startup_timeout):
            self.kill()
            self._fail("did not start in time")
        if not self._ready_exports():
            # stdout ended before the three exports: the command failed.
            self.wait()
            self._fail(f"exited with status {self.returncode}")
        return self

    def _fail(self, what: str) -> None:
        stderr = self.stderr_text()
        self.stop()  # closes the pipes and the stderr file: no ResourceWarning later
        raise RuntimeError(f"junit2af serve {what}: {stderr}")

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                self.exports[name] = shlex.split(value)[0] if value else ""
                if self._ready_exports():
                    self._ready.set()
        self._ready.set()  # exited: let start() see it

    def _ready_exports(self) -> bool:
        return {"AF_API_URL", "AF_API_KEY", "AF_PROJECT_ID"} <= self.exports.keys()

    # -- what it printed --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.exports["AF_API_URL"]

    @property
    def root_url(self) -> str:
        return self.base_url.rsplit("/v1/test", 1)[0]

    @property
    def api_key(self) -> str:
        return self.exports["AF_API_KEY"]

    @property
    def project_id(self) -> str:
        return self.exports["AF_PROJECT_ID"]

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.root_url, self.api_key)

    @property
    def readonly_key(self) -> str:
        return self.admin.info()["readonly_key"]

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    # -- ending it --------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT, which serve answers by stopping cleanly."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)

    def terminate(self) -> None:
        """SIGTERM, which serve also answers by stopping cleanly."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        """SIGKILL: no chance to clean up (what a crash looks like)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.wait()

    def wait(self, timeout: float = 15.0) -> int:
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        return code

    def stop(self) -> int:
        """Interrupt and wait; the exit status (0 after a clean stop)."""
        if self._proc is None:
            return 0
        self.interrupt()
        code = self.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

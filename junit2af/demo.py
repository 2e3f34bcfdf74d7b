"""``junit2af demo`` and ``junit2af serve``: the bundled local server put to use.

The demo uploads the sample reports shipped with junit2af (or the user's) exactly as a
user would (settings from an environment, a report set, an :class:`Uploader`, a results
file), then reads one stored result back through the API, as any client could.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from junit2af.client import APIClient
from junit2af.console import Console, ProgressPrinter, print_demo
from junit2af.errors import ConfigError
from junit2af.localserver import LocalServer, default_data_dir
from junit2af.reports import ReportSet
from junit2af.settings import ReadSettings, UploadSettings
from junit2af.signals import wait_for_stop
from junit2af.uploader import Progress, Uploader, UploadReport

#: The sample reports shipped as package data (written by the real tools).
SAMPLES = (
    "pytest-xunit1.xml",
    "surefire.xml",
    "jest-junit.xml",
    "node-test.tap",
    "pytest-json-report.json",
)


@contextmanager
def sample_reports() -> Iterator[list[str]]:
    """Paths of the shipped sample reports (from the installed package)."""
    folder = resources.files("junit2af") / "demo_reports"
    with resources.as_file(folder) as path:
        yield [str(Path(path) / name) for name in SAMPLES]


@dataclass
class DemoOutcome:
    """The upload's report, and one result read back through ``GET /result/{id}``."""

    report: UploadReport
    server_url: str
    result: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def demo_server() -> Iterator[LocalServer]:
    """A local server on a free loopback port, with its data in a temporary folder."""
    with (
        tempfile.TemporaryDirectory(prefix="junit2af-demo-") as workdir,
        LocalServer(Path(workdir) / "server") as server,
    ):
        yield server


def upload_samples(
    server: LocalServer,
    paths: Sequence[str],
    *,
    workdir: Path,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> DemoOutcome:
    """Upload ``paths`` to ``server`` as one run, then read a result back."""
    environ = {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
    }
    results_file = workdir / "results.jsonl"
    settings = UploadSettings.from_environment(
        environ,
        metadata={"source": "junit2af demo"},
        detect_build=False,
        journal_path=workdir / "journal.sqlite3",
        results_file=results_file,
    )
    with (
        ReportSet(paths, ReadSettings(), warn=warn) as reports,
        Uploader(settings, progress=progress) as uploader,
    ):
        report = uploader.upload(reports)
        report.results_file = None  # read here, then gone with the demo's folder
        outcome = DemoOutcome(report, server.base_url)
        lines = [json.loads(line) for line in results_file.read_text("utf-8").splitlines()]
        chosen = next(
            (line for line in lines if line["status"] == "Failed" and line["artifacts"]),
            next((line for line in lines if line["test_result_id"]), None),
        )
        if chosen is not None:
            client: APIClient = uploader.client
            outcome.result = client.get_result(chosen["test_result_id"])
            outcome.artifacts = client.list_artifacts(chosen["test_result_id"])
    return outcome


def run_demo(console: Console, paths: list[str], *, as_json: bool, keep_serving: bool) -> None:
    """``junit2af demo``: start a server, upload, print, and keep serving if asked."""
    with (
        demo_server() as server,
        sample_reports() as samples,
        tempfile.TemporaryDirectory(prefix="junit2af-demo-") as workdir,
    ):
        console.note(f"local Automated Future API at {server.base_url}")
        outcome = upload_samples(
            server,
            paths or samples,
            workdir=Path(workdir),
            progress=ProgressPrinter(Console(quiet=as_json)),
            warn=console.warn,
        )
        if as_json:
            console.json({**outcome.report.as_dict(), "result_read_back": outcome.result})
            return
        print_demo(console, outcome)
        if keep_serving:
            link = outcome.report.run_url or server.base_url
            console.print()
            console.print(f"open {link} (Ctrl-C stops the server)")
            wait_for_stop(server.wait)


def serve_locally(console: Console, host: str, port: int, data_dir: Path | None) -> None:
    """``junit2af serve``: print the settings as shell exports, serve until stopped."""
    server = LocalServer(data_dir or default_data_dir(), host=host, port=port)
    try:
        server.start()
    except OSError as error:
        raise ConfigError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None

    def announce_then_wait() -> None:
        # Printed once the stop signals are ours, so a SIGTERM right after the exports
        # (a script that read them and stops the server) is a clean stop too.
        for line in server.shell_exports():
            console.line(line)
        if host not in ("127.0.0.1", "::1", "localhost"):
            console.line(f"# warning: listening on {host}, not only on this machine")
            console.line("# the web view asks for an API key there (user: any)")
        console.line("# Ctrl-C stops the server")
        server.wait()

    try:
        wait_for_stop(announce_then_wait)
    finally:
        server.stop()
    console.err.write("# stopped\n")

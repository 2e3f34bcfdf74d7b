"""Helpers of the web-view tests: the data the session's server holds, and Chromium.

The server holds two runs made once: the junit fixtures uploaded through the real upload
path (``junit2af upload`` via CliRunner), and a hostile run made through the API whose
names, messages, metadata and artifacts try to become markup.

Chromium is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$JUNIT2AF_CHROMIUM``) driven
by Playwright for Python; Playwright's own browser download is never used. Without either,
the browser tests skip and say why; the HTML-level tests in ``test_pages.py`` still run.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from junit2af.localserver import LocalServer

REPO = Path(__file__).resolve().parents[2]
JUNIT_FIXTURES = sorted(p for p in (REPO / "fixtures" / "junit").glob("*.xml"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT = 10

#: what the hostile run tries: script tags, an injected element, attribute break-outs
HOSTILE_NAMES = (
    "<script>alert('name')</script>",
    '<img src=x onerror="alert(1)">',
    "\"><svg onload=alert(2)> ' onmouseover='alert(3)",
)
HOSTILE_MESSAGE = '</td><script>alert("message")</script><img src=x onerror=alert(4)>'
HOSTILE_LOG = "<script>alert('log')</script>\n\x1b[31mred\x1b[0m line two\n"
HOSTILE_HTML = b"<html><body><script>alert('artifact')</script><h1>owned</h1></body></html>"


def chromium_path() -> str | None:
    """Debian's Chromium, or the one named by $JUNIT2AF_CHROMIUM."""
    for candidate in (os.environ.get("JUNIT2AF_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG (red pixels) without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Api:
    """Just enough of the API to make a run by hand (no retries: a failure is a bug)."""

    def __init__(self, server: LocalServer, key: str) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = key

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.post(self.server.base_url + path, json=body, timeout=TIMEOUT)
        assert response.status_code in (200, 204), (path, response.status_code, response.text)
        return response.json() if response.content else None

    def artifact(
        self, result_id: str, label: str, data: bytes, content_type: str, kind: str = "Log"
    ) -> str:
        created = self.post(
            "/artifact/",
            {
                "test_result_id": result_id,
                "label": label,
                "kind": kind,
                "content_type": content_type,
                "size_bytes": len(data),
            },
        )
        put = requests.put(
            created["upload_url"],
            data=data,
            headers={"Content-Type": content_type},
            timeout=TIMEOUT,
        )
        assert put.status_code == 200, put.text
        self.post(f"/artifact/{created['artifact_id']}/confirm")
        return created["artifact_id"]

    def close(self) -> None:
        self.session.close()


@dataclass
class Seeded:
    """What the session's server holds."""

    server: LocalServer
    upload: dict[str, Any]  # the --json summary of the upload of the junit fixtures
    hostile_run: str
    hostile_results: dict[str, str] = field(default_factory=dict)  # name -> result id
    artifacts: dict[str, str] = field(default_factory=dict)  # label -> artifact id
    log_result: str = ""  # a result with a text log, an image, an HTML file and a PDF
    big_log_result: str = ""  # a result whose log is over the inline limit

    @property
    def run_id(self) -> str:
        return self.upload["run_id"]


def make_hostile_run(server: LocalServer) -> tuple[str, dict[str, str], dict[str, str], str, str]:
    api = Api(server, server.api_key)
    try:
        run = api.post(
            "/run/",
            {
                "project_id": server.project_id,
                "label": "<b>hostile</b> run <script>alert('label')</script>",
                "metadata": {
                    "ci_provider": "<i>CI</i>",
                    "ci_commit": "abc123",
                    "ci_branch": "<script>alert('branch')</script>",
                    "ci_build_url": "javascript:alert('build')",
                    "original_start": "2024-05-01T10:00:00Z",
                    "original_end": "2024-05-01T10:05:30Z",
                    "x-note": '"><img src=x onerror=alert(5)>',
                },
            },
        )["test_run_id"]
        api.post(f"/run/{run}", {"status": "Running"})
        results: dict[str, str] = {}
        for index, name in enumerate(HOSTILE_NAMES):
            result_id = api.post(
                "/result/",
                {
                    "project_id": server.project_id,
                    "test_run_id": run,
                    "test_name": name,
                    "status": "Failed" if index else "Passed",
                    "execution_time_ms": 10 + index,
                    "metadata": {"file": '<img src=x onerror="alert(6)">', "attempts": 2},
                },
            )["test_result_id"]
            if index:
                api.post(f"/result/{result_id}", {"error_message": HOSTILE_MESSAGE})
            results[name] = result_id
        log_result = results[HOSTILE_NAMES[1]]
        artifacts = {
            "output.log": api.artifact(
                log_result, "output.log", HOSTILE_LOG.encode(), "text/plain"
            ),
            "screen.png": api.artifact(log_result, "screen.png", tiny_png(), "image/png", "Image"),
            "page.html": api.artifact(log_result, "page.html", HOSTILE_HTML, "text/html"),
            "drawing.svg": api.artifact(
                log_result,
                "drawing.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(7)"/>',
                "image/svg+xml",
                "Image",
            ),
            "report.pdf": api.artifact(
                log_result, '../../"evil"\r\nname.pdf', b"%PDF-1.4\n", "application/pdf", "Other"
            ),
        }
        big = api.post(
            "/result/",
            {
                "project_id": server.project_id,
                "test_run_id": run,
                "test_name": "test with a big log",
                "status": "Passed",
            },
        )["test_result_id"]
        # 300 KiB of numbered lines, a multi-byte character straddling the 256 KiB cut.
        text = "".join(f"line {n:06d} ünïcödé\n" for n in range(14_000))
        artifacts["big.log"] = api.artifact(
            big, "big.log", text.encode()[: 300 * 1024], "text/plain"
        )
        api.post(f"/run/{run}", {"status": "Completed"})
    finally:
        api.close()
    return run, results, artifacts, log_result, big


class Page:
    """A fresh browser page that records every dialog (an alert means a script ran)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("console", self._on_console)
        page.set_default_timeout(TIMEOUT * 1000)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)

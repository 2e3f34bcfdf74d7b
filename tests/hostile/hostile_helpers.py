"""Helpers shared by the hostile tests: running the CLI, checking what it printed, and an
'API' that echoes every request (its line and headers, the key included) in its errors."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from junit2af.cli import main

#: Characters that must never reach a terminal raw: C0/C1 controls (but the newline that
#: ends each line), DEL, bidi controls, zero-width and invisible characters, separators.
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ud800-\udfff]"
)
#: A line a hostile input tries to forge.
FORGED = "junit2af: error: forged"


def invoke(args: Sequence[str], env: dict[str, str] | None = None, **kw: Any) -> Result:
    """The real CLI in this process (stdout and stderr apart)."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env, **kw)


def server_env(server: Any, key: str | None = None) -> dict[str, str]:
    return {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": key or server.api_key,
        "AF_PROJECT_ID": server.project_id,
    }


def assert_clean_output(result: Result) -> None:
    """Nothing raw a terminal obeys, no forged line, no traceback."""
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        found = sorted(set(RAW_CONTROL.findall(text)))
        assert not found, f"raw {found!r} in {name}: {text[-2000:]!r}"
        forged = [line for line in text.splitlines() if line.lstrip().startswith(FORGED)]
        assert not forged, f"a forged line in {name}: {forged}"
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code != 70, result.stderr


def one_error_line(result: Result) -> str:
    """The single stderr line of a refusal (and nothing else on stderr)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("junit2af: error: "), lines[0]
    return lines[0]


class EchoingGateway:
    """A gateway in front of the local server that answers chosen calls with an error
    whose JSON ``message`` (and reason phrase) echoes the whole request: its line and every
    header, ``Authorization`` included, as a careless proxy or debug endpoint would.

    ``rules`` maps (method, path prefix) to the status to answer; everything else is
    forwarded to ``target`` (the local server's root), with the answer's presigned URLs
    pointing back through the gateway (the local server builds them from the Host header).
    """

    def __init__(
        self,
        target: str,
        rules: dict[tuple[str, str], int] | None = None,
        *,
        bare_at: int | None = None,
        message: str | None = None,
    ) -> None:
        """``bare_at``: the message is the key alone, unlabelled, starting at that offset
        (where a client that cuts long messages would cut it in two). ``message``: a fixed
        message instead (a hostile server's text)."""
        self.rules = dict(rules or {})
        self.echoed = 0
        gateway, fixed = self, message

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                for (method, prefix), status in gateway.rules.items():
                    if self.command == method and self.path.startswith(prefix):
                        gateway.echoed += 1
                        self._echo(status, body)
                        return
                request = urllib.request.Request(
                    target + self.path,
                    data=body,
                    method=self.command,
                    headers={
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("connection", "content-length")
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                        status, data, headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, data, headers = error.code, error.read(), error.headers
                self.send_response(status)
                self.send_header("Content-Type", headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _echo(self, status: int, body: bytes | None) -> None:
                seen = f"{self.requestline}\n{self.headers}"
                if body:
                    seen += "\n" + body[:2000].decode("utf-8", "replace")
                message = f"request refused: {seen}"
                if bare_at is not None:
                    key = str(self.headers.get("Authorization", ""))
                    message = "." * bare_at + key + " is not a key we know"
                if fixed is not None:
                    message = fixed
                data = json.dumps({"message": message, "request": seen}).encode()
                # The reason phrase carries the key too (what a non-JSON error shows).
                reason = "echo " + str(self.headers.get("Authorization", ""))
                self.send_response(status, reason)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Echo-Authorization", str(self.headers.get("Authorization")))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.root_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> EchoingGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_everything(*paths: Path) -> str:
    """The bytes of files (missing ones skipped) as one text, for a canary search."""
    text = ""
    for path in paths:
        if path.is_file():
            text += path.read_bytes().decode("latin-1")
    return text


#: Runs junit2af in its own process and writes its peak RSS (VmHWM, the process's own:
#: ru_maxrss would keep the forked parent's peak) and its seconds to a file at exit.
_MEASURE = """
import atexit, os, sys, time
start = time.monotonic()
def _report():
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    with open(os.environ["JUNIT2AF_MEASURE_OUT"], "w") as out:
        out.write(f"{int(status) / 1024:.1f} {time.monotonic() - start:.2f}")
atexit.register(_report)
from junit2af.cli import main
sys.argv[0] = "junit2af"
main()
"""


class Measured:
    """What a measured run did: exit code, output, peak RSS (MB) and seconds."""

    def __init__(self, returncode: int, stdout: str, stderr: str, rss_mb: float, seconds: float):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.rss_mb, self.seconds = rss_mb, seconds

    def __repr__(self) -> str:
        return (
            f"exit {self.returncode}, {self.rss_mb} MB, {self.seconds} s, "
            f"stderr {self.stderr[-600:]!r}"
        )


def measure(
    args: Sequence[str],
    tmp_path: Path,
    *,
    stdin_command: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Measured:
    """Run ``junit2af ARGS`` (stdin from the shell pipeline ``stdin_command``, if given) in
    a process group of its own, killed whole if it outlives ``timeout``."""
    import os
    import shlex
    import signal
    import subprocess
    import sys

    script = tmp_path / "measure_junit2af.py"
    script.write_text(_MEASURE)
    out = tmp_path / "measured.txt"
    out.unlink(missing_ok=True)
    command = " ".join(shlex.quote(str(a)) for a in [sys.executable, script, *args])
    if stdin_command:
        command = f"{stdin_command} | {command}"
    full_env = {**os.environ, **(env or {}), "JUNIT2AF_MEASURE_OUT": str(out)}
    process = subprocess.Popen(
        ["bash", "-c", command],  # a pipeline's status is its last command's: junit2af's
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"junit2af {' '.join(map(str, args))} ran over {timeout} s") from None
    finally:
        if process.poll() is None:  # pragma: no cover - the group is already gone
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    rss, seconds = (float(x) for x in out.read_text().split()) if out.exists() else (-1, -1)
    return Measured(process.returncode, stdout, stderr, rss, seconds)

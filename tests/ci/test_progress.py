"""Progress in CI logs (issue #18, item 1): with stderr not a terminal, ``junit2af upload``
prints ``junit2af: progress:`` lines at a steady pace while a slow upload runs; ``-q``
hides them (and the summary) but not warnings; on a terminal the bar leaves no stray
characters. The server is slowed down with injected latency."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reportgen import write_report

from junit2af.console import Console, ProgressPrinter
from junit2af.localserver import FaultConfig, LocalServer

LINE = re.compile(
    r"^junit2af: progress: (\d+)/(\d+) results \((\d+)%\), (\d+)/s, ETA (\S+), (\d+) retries$"
)
CASES = 20
LATENCY_MS = 120


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory):
    faults = FaultConfig(latency_ms=LATENCY_MS)
    with LocalServer(tmp_path_factory.mktemp("af"), faults=faults) as server:
        yield server


class Upload:
    """``junit2af upload`` in a subprocess, each stderr line stamped when it arrived."""

    def __init__(self, server: LocalServer, tmp: Path, *args: str) -> None:
        report = write_report(tmp / "TEST-slow.xml", CASES, output_every=10_000, fail_every=10_000)
        env = {k: os.environ[k] for k in ("PATH", "LANG") if k in os.environ}
        env.update(
            HOME=str(tmp),
            JUNIT2AF_STATE_DIR=str(tmp / "state"),
            AF_API_URL=server.base_url,
            AF_API_KEY=server.api_key,
            AF_PROJECT_ID=server.project_id,
        )
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "junit2af", "upload", "-j", "1", *args, str(report)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def wait(self) -> tuple[int, str]:
        stdout = self.process.stdout.read() if self.process.stdout else ""
        code = self.process.wait(120)
        self.reader.join(10)
        if self.process.stdout:
            self.process.stdout.close()
        if self.process.stderr:
            self.process.stderr.close()
        return code, stdout


def test_ci_logs_get_progress_lines_at_a_steady_pace_and_q_hides_them(slow_server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # Both at once: the same slow server, two runs (their labels differ).
    shown = Upload(slow_server, tmp_path / "a", "--label", "progress shown")
    quiet = Upload(
        slow_server,
        tmp_path / "b",
        "-q",
        "--label",
        "progress hidden",
        "--api-key",
        slow_server.api_key,
    )
    code, stdout = shown.wait()
    quiet_code, quiet_stdout = quiet.wait()

    assert code == 0, shown.lines
    assert f"results: {CASES}" in stdout
    progress = [(at, LINE.match(text)) for at, text in shown.lines if "progress:" in text]
    assert all(match for _, match in progress), shown.lines
    done = [int(match.group(1)) for _, match in progress if match]
    assert len(done) >= 3, shown.lines  # two requests per result: 40 x 120 ms at least
    assert done == sorted(done) and done[-1] == CASES
    assert all(int(m.group(2)) == CASES for _, m in progress if m)
    elapsed = shown.lines[-1][0]
    assert elapsed > 2 * CASES * LATENCY_MS / 1000
    # Steady: no gap between two lines (nor before the first) is a large part of the run.
    stamps = [at for at, _ in progress]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) < 3.0, stamps
    rates = [int(m.group(4)) for _, m in progress if m]
    assert all(0 < rate <= 1000 / LATENCY_MS for rate in rates), rates

    assert quiet_code == 0, quiet.lines
    assert quiet_stdout == ""  # no summary
    texts = [text for _, text in quiet.lines]
    assert not any("progress:" in text for text in texts), texts
    assert any(
        text.startswith("junit2af: warning: an API key on the command line") for text in texts
    )
    assert slow_server.api_key not in "\n".join(texts)


def test_a_stalled_upload_still_prints_a_line_every_period():
    """When nothing settles (an outage, a long first request), a line still comes every
    ``every`` seconds: silence in a CI log is never progress."""
    err = io.StringIO()
    printer = ProgressPrinter(Console(err=err), every=1.0, tty=False)
    printer.start(total=200, done=50)  # a resumed upload: 50 done earlier
    time.sleep(2.5)
    printer.advance(51)
    printer.finish()
    lines = err.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert all(LINE.match(line) for line in lines), lines
    assert lines[0].startswith("junit2af: progress: 50/200 results (25%), 0/s, ETA -,")
    time.sleep(1.1)
    assert err.getvalue().splitlines() == lines  # finish() stopped the ticker


def test_short_uploads_print_no_progress_line():
    err = io.StringIO()
    printer = ProgressPrinter(Console(err=err), tty=False)
    printer.start(total=10, done=0)
    for done in range(1, 11):
        printer.advance(done)
    printer.finish()
    assert err.getvalue() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_the_bar_leaves_no_stray_characters(slow_server, tmp_path):
    import pty

    report = write_report(tmp_path / "TEST-tty.xml", 8, output_every=10_000, fail_every=10_000)
    env = {k: os.environ[k] for k in ("PATH", "LANG") if k in os.environ}
    env.update(
        HOME=str(tmp_path),
        TERM="xterm",
        JUNIT2AF_STATE_DIR=str(tmp_path / "state"),
        AF_API_URL=slow_server.base_url,
        AF_API_KEY=slow_server.api_key,
        AF_PROJECT_ID=slow_server.project_id,
    )
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "junit2af", "upload", "-j", "1", "--label", "tty", str(report)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=child,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    stdout = process.stdout.read().decode() if process.stdout else ""
    assert process.wait(60) == 0
    if process.stdout:
        process.stdout.close()
    terminal = b"".join(chunks).decode()
    assert "results" in terminal  # a bar was drawn
    # Every drawing starts by clearing the line, and the last one is cleared: nothing of
    # the bar remains once the summary is printed.
    assert terminal.endswith("\r\x1b[K"), repr(terminal[-120:])
    drawings = terminal.split("\r\x1b[K")
    assert all(part.startswith("[") or part == "" for part in drawings), drawings[:3]
    assert "run " in stdout and "\x1b" not in stdout

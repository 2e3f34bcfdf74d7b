"""Issue #11 item 7: stdin is refused from its first bytes, and capped like a file.

A stream of garbage is refused within seconds, before any request and without being
spooled; a valid report on stdin uploads; a valid-looking stream that never ends is
stopped at the report cap (tested with the cap lowered: the logic is the same at 4 GB).
"""

from __future__ import annotations

import io
import json

from hostile_helpers import invoke, measure, one_error_line, server_env

from junit2af import reports
from junit2af.errors import ExitStatus

REPORT = b'<testsuite name="s"><testcase classname="c" name="a"/><testcase classname="c" name="b"/></testsuite>'  # noqa: E501


def test_gigabytes_of_nul_on_stdin_are_refused_from_the_first_bytes(local_server, tmp_path):
    result = measure(
        ["upload", "--journal", tmp_path / "j", "-"],
        tmp_path,
        stdin_command="head -c 1500M /dev/zero",
        env=server_env(local_server),
        timeout=30,
    )
    assert result.returncode == ExitStatus.BAD_INPUT, result
    assert result.stderr.strip() == (
        "junit2af: error: <stdin>:1: not a recognised test report "
        "(`junit2af formats` lists what is read)"
    )
    assert result.seconds < 10, result
    assert result.rss_mb < 150, result
    assert local_server.request_log == []


def test_a_valid_report_on_stdin_uploads(local_server, tmp_path):
    result = invoke(
        ["upload", "--json", "--journal", tmp_path / "j", "-"],
        server_env(local_server),
        input=REPORT,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results_uploaded"] == 2
    assert sorted(r["test_name"] for r in local_server.admin.results()) == ["c.a", "c.b"]


class EndlessTap(io.RawIOBase):
    """A TAP stream that never ends (a test point, then comment lines: what a test that
    loops printing writes), counting what was read of it."""

    def __init__(self) -> None:
        self.served = 0
        self._pending = b"TAP version 13\nok 1 - loops\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while len(self._pending) < len(buffer):
            self._pending += b"# still printing " + b"." * 1000 + b"\n"
        count = len(buffer)
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.served += count
        return count


def test_an_endless_stream_on_stdin_stops_at_the_report_cap(local_server, tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "MAX_REPORT_BYTES", 2 * 1024 * 1024)
    stream = EndlessTap()
    result = invoke(
        ["upload", "--json", "--journal", tmp_path / "j", "-"],
        server_env(local_server),
        input=io.BufferedReader(stream),
    )
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert one_error_line(result) == (
        f"junit2af: error: <stdin>: larger than {2 * 1024 * 1024} bytes; refused"
    )
    assert json.loads(result.stdout)["exit_status"] == 3
    assert stream.served < 4 * 1024 * 1024  # read up to the cap, not on and on
    assert local_server.admin.runs() == []
    assert all(r.method == "GET" for r in local_server.request_log)


def test_a_file_past_the_report_cap_is_refused_the_same_way(local_server, tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "MAX_REPORT_BYTES", 1024 * 1024)
    big = tmp_path / "big.tap"
    big.write_bytes(b"TAP version 13\nok 1 - t\n" + b"# " + b"." * 2_000_000 + b"\n")
    result = invoke(["upload", "--journal", tmp_path / "j", big], server_env(local_server))
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert one_error_line(result) == f"junit2af: error: {big}: larger than 1048576 bytes; refused"
    assert local_server.request_log == []

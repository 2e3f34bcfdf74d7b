"""The canary key: uploads that succeed, fail on auth, fail on 500s, meet a redirect and
log HTTP at -vv; the key and presigned signatures appear nowhere junit2af writes."""

from __future__ import annotations

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_helpers import EchoingGateway, read_everything

from junit2af.cli import main
from junit2af.errors import ExitStatus
from junit2af.localserver import FaultConfig

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "fixtures" / "junit" / "pytest-xunit1.xml"
SIGNATURE = re.compile(r"signature=[0-9a-f]{16,}")


class Redirector:
    """An 'API' that answers every call with a 307 to another origin, and records
    whether any request it (or its target) saw carried an Authorization header."""

    def __init__(self, target: str) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append(("Authorization" in self.headers, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _answer

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/test"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def invoke(args, env, home):
    return CliRunner().invoke(main, args, env={**env, "HOME": str(home)})


def test_canary_key_never_leaks(local_server, tmp_path):
    team = local_server.admin.create_team("canary team")
    canary = team.api_key
    home = tmp_path / "home"
    home.mkdir()
    # A netrc entry for the API host must not replace the key.
    (home / ".netrc").write_text("machine 127.0.0.1 login x password NETRC-PASSWORD\n")
    journal = tmp_path / "journal.sqlite3"
    env = {
        "AF_API_URL": local_server.base_url,
        "AF_API_KEY": canary,
        "AF_PROJECT_ID": team.project_id,
    }
    outputs: list[str] = []

    def run(*args, extra_env=None):
        result = invoke(
            ["upload", "--journal", str(journal), *args, str(REPORT)],
            {**env, **(extra_env or {})},
            home,
        )
        outputs.extend([result.stdout, result.stderr])
        return result

    ok = run("-vv", "--label", "canary ok")
    assert ok.exit_code == 0, ok.stderr
    assert "PUT /_storage/" in ok.stderr  # -vv really logged the storage calls
    api = [
        r for r in local_server.request_log if r.method != "PUT" and not r.path.endswith("/status")
    ]
    assert api and all(r.key_kind == "read-write" for r in api)
    status = [r for r in local_server.request_log if r.path.endswith("/status")]
    assert status and not any(r.has_authorization for r in status)  # it needs no key

    wrong = run("--label", "canary 401", extra_env={"AF_API_KEY": canary + "x"})
    assert wrong.exit_code == ExitStatus.AUTH

    local_server.set_faults(FaultConfig(seed=1, error_rate=1.0))
    failing = run("-vv", "--retry-deadline", "0.5", "--label", "canary 500")
    assert failing.exit_code == ExitStatus.UPLOAD_FAILED
    local_server.set_faults(None)

    redirector = Redirector(local_server.root_url)
    try:
        redirected = run("--label", "canary redirect", extra_env={"AF_API_URL": redirector.url})
    finally:
        redirector.close()
    # The check before the upload meets the redirect: a settings problem, said at once.
    assert redirected.exit_code == ExitStatus.USAGE
    assert "redirect to 127.0.0.1" in redirected.stderr
    after_redirect = [r for r in local_server.request_log if "canary redirect" in str(r)]
    assert after_redirect == []  # the redirect was not followed

    everything = "\n".join(outputs)
    for path in tmp_path.glob("journal.sqlite3*"):
        everything += path.read_bytes().decode("latin-1")
    for run_row in local_server.admin.runs():
        everything += json.dumps(run_row)
    for result_row in local_server.admin.results():
        everything += json.dumps(result_row)
    for artifact in local_server.admin.artifacts():
        everything += json.dumps(artifact)
        everything += (local_server.admin.artifact_bytes(artifact["artifact_id"]) or b"").decode(
            "latin-1"
        )
    assert canary not in everything
    assert "NETRC-PASSWORD" not in everything
    assert not SIGNATURE.search(everything)
    assert "signature=REDACTED" in "\n".join(outputs)


def test_key_file_readable_by_others_warns_and_command_line_key_warns(local_server, tmp_path):
    report = tmp_path / "small.xml"
    report.write_text(SMALL_REPORT)  # one result: the key handling is what is tested
    key_file = tmp_path / "key"
    key_file.write_text(local_server.api_key + "\n")
    os.chmod(key_file, 0o644)
    env = {"AF_API_URL": local_server.base_url, "AF_PROJECT_ID": local_server.project_id}
    result = invoke(
        [
            "upload",
            "-q",
            "--journal",
            str(tmp_path / "j1"),
            "--api-key-file",
            str(key_file),
            str(report),
        ],
        env,
        tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    assert "readable by other users" in result.stderr
    os.chmod(key_file, 0o600)
    quiet = invoke(
        [
            "upload",
            "--journal",
            str(tmp_path / "j2"),
            "--new-run",
            "--api-key-file",
            str(key_file),
            str(report),
        ],
        env,
        tmp_path,
    )
    assert "readable" not in quiet.stderr
    inline = invoke(
        [
            "upload",
            "--journal",
            str(tmp_path / "j3"),
            "--api-key",
            local_server.api_key,
            str(report),
        ],
        env,
        tmp_path,
    )
    assert inline.exit_code == 0
    assert "visible to other users" in inline.stderr
    assert local_server.api_key not in inline.stdout + inline.stderr


@pytest.mark.parametrize("url", ["http://example.com/v1/test", "http://10.0.0.5/v1/test"])
def test_plain_http_to_another_host_is_refused(url, tmp_path):
    result = invoke(
        ["upload", str(REPORT)],
        {"AF_API_URL": url, "AF_API_KEY": "k", "AF_PROJECT_ID": "p"},
        tmp_path,
    )
    assert result.exit_code == ExitStatus.USAGE
    assert "--allow-insecure-http" in result.stderr


# -- issue 11 item 4: a server that echoes the key in its errors -----------------------------

#: One failing test with output: a run, a result, an artifact and its PUT.
SMALL_REPORT = (
    '<testsuite name="s"><testcase classname="c" name="fails">'
    '<failure message="no">trace</failure><system-out>some output</system-out>'
    "</testcase></testsuite>"
)
#: (method, path prefix) answered with (status) and the request echoed; the exit expected.
ECHOES = {
    "preflight 401": ({("GET", "/v1/test/project/"): 401}, None, ExitStatus.AUTH),
    "preflight 403 cut": ({("GET", "/v1/test/project/"): 403}, 470, ExitStatus.AUTH),
    "create run 400": ({("POST", "/v1/test/run/"): 400}, None, ExitStatus.UPLOAD_FAILED),
    "create result 500": ({("POST", "/v1/test/result/"): 500}, None, ExitStatus.UPLOAD_FAILED),
    "create result 400 cut": ({("POST", "/v1/test/result/"): 400}, 480, ExitStatus.UPLOAD_FAILED),
    "artifact 400": ({("POST", "/v1/test/artifact/"): 400}, None, ExitStatus.OK),
    "storage PUT 403": ({("PUT", "/_storage/"): 403}, None, ExitStatus.AUTH),
}


def leaked(secret: str, text: str, window: int = 10) -> str | None:
    """A piece of ``secret`` (any ``window`` characters of it) found in ``text``."""
    for start in range(len(secret) - window + 1):
        if secret[start : start + window] in text:
            return secret[start : start + window]
    return None


@pytest.mark.parametrize("case", list(ECHOES))
def test_a_key_echoed_by_the_server_is_never_shown_or_kept(local_server, tmp_path, case):
    rules, bare_at, expected = ECHOES[case]
    team = local_server.admin.create_team("canary team")
    canary = team.api_key
    report = tmp_path / "report.xml"
    report.write_text(SMALL_REPORT)
    journal, results = tmp_path / "journal.sqlite3", tmp_path / "results.jsonl"
    outputs: list[str] = []
    with EchoingGateway(local_server.root_url, rules, bare_at=bare_at) as gateway:
        env = {
            "AF_API_URL": gateway.root_url + "/v1/test",
            "AF_API_KEY": canary,
            "AF_PROJECT_ID": team.project_id,
        }
        for extra in (["-vv", "--json"],):
            result = invoke(
                [
                    "upload",
                    "--retry-deadline",
                    "0.5",
                    "--journal",
                    str(journal),
                    "--results-file",
                    str(results),
                    *extra,
                    str(report),
                ],
                env,
                tmp_path,
            )
            outputs += [result.stdout, result.stderr]
            assert result.exit_code == expected, result.stderr
            assert "Traceback" not in result.stderr
        assert gateway.echoed  # the server did echo the key
    # ... and junit2af showed the message (or the -vv log the URL), redacted
    assert "REDACTED" in "".join(outputs)
    everything = "\n".join(outputs) + read_everything(
        journal, results, Path(f"{journal}.lock"), Path(f"{journal}-journal")
    )
    for row in local_server.admin.runs() + local_server.admin.results():
        everything += json.dumps(row)
    for artifact in local_server.admin.artifacts():
        everything += json.dumps(artifact)
        data = local_server.admin.artifact_bytes(artifact["artifact_id"]) or b""
        everything += data.decode("latin-1")
    assert leaked(canary, everything) is None
    assert not SIGNATURE.search(everything)


def test_the_key_is_redacted_in_every_form_a_message_carries():
    from junit2af.client import Redactor

    key = "afk_0123456789abcdef0123456789abcdef"
    redact = Redactor(key)
    assert key not in redact(f"x{key}y")
    assert redact(json.dumps({"k": 'a"b\\' + key})).count("[REDACTED]") == 1
    quoted = 'afk_"quoted\\key'
    assert "quoted" not in Redactor(quoted)(json.dumps({"message": f"bad {quoted}"}))


BAD_KEYS = {
    "CRLF header injection": "afk_abc\r\nX-Evil: 1",
    "LF": "afk_abc\ndef",
    "NUL": "afk_\x00abc",
    "non-ASCII": "afk_\u00e9abc",
    "ESC": "afk_\x1b[2Jabc",
    "DEL": "afk_abc\x7f",
    "line separator": "afk_\u2028abc",
}


@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
@pytest.mark.parametrize("source", ["file", "env", "option"])
def test_a_key_a_header_cannot_carry_is_exit_2_in_one_line(tmp_path, key, source):
    if source != "file" and "\x00" in key:
        pytest.skip("the environment and argv cannot hold a NUL")
    env = {"AF_API_URL": "http://127.0.0.1:9/v1/test", "AF_PROJECT_ID": "p"}
    args = ["upload", "--journal", str(tmp_path / "j.sqlite3")]
    if source == "file":
        key_file = tmp_path / "key"
        key_file.write_bytes(key.encode())
        key_file.chmod(0o600)
        args += ["--api-key-file", str(key_file)]
    elif source == "env":
        env["AF_API_KEY"] = key
    else:
        args += ["--api-key", key]
    result = invoke([*args, str(REPORT)], env, tmp_path)
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("junit2af: error:")]
    assert errors == [
        "junit2af: error: the API key holds characters an HTTP header cannot carry "
        "(a line break, a control character or non-ASCII); check how it was set"
    ]
    assert "X-Evil" not in result.stderr and "Traceback" not in result.stderr
    assert leaked(key.replace("\n", "").replace("\r", ""), result.stderr, 6) is None

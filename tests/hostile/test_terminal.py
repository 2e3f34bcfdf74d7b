"""Issue #11 item 3: untrusted text never reaches the terminal raw.

Test names, report file names, archive member names, labels, failure messages, attachment
references and server messages carry a newline that forges a ``junit2af: error:`` line,
ESC sequences (set the title, clear the screen), C1 controls, bidi overrides and
zero-width characters. Whatever the command (``parse``, ``parse --summary``, ``upload``
with ``-v``, ``-vv``, ``--json``), nothing of it is printed raw and no forged line stands
on its own.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from hostile_helpers import EchoingGateway, assert_clean_output, invoke, server_env

#: Every trick at once: a forged line, a title and a clear-screen sequence, C1 CSI and NEL,
#: a bidi override, a zero-width space, a line separator, a DEL and a lone surrogate.
NASTY = (
    "a\n junit2af: error: forged\r\x1b]0;title\x07\x1b[2J\u202eevil\u200bzw\u009b2J\x85"
    "\u2028\x7f\ud800"
)
#: What XML can carry (no C0 controls but the newline; no surrogates), as references.
NASTY_XML = "a&#10; junit2af: error: forged&#x9b;2J&#x202e;evil&#x200b;zw&#x85;&#x2028;"
#: The file and member names: no '/' and no NUL (a file name cannot hold them).
NASTY_NAME = "r\n junit2af: error: forged\x1b[2J\u202e\u200b"


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]  # JSON's own \uXXXX for what a file must not hold raw


def pytest_json(name: str) -> str:
    """A pytest-json-report report whose test name, crash message and longrepr are nasty."""
    test = {
        "nodeid": f"t.py::test_{name}",
        "lineno": 1,
        "outcome": "failed",
        "keywords": [],
        "setup": {"duration": 0.1, "outcome": "passed"},
        "call": {
            "duration": 0.1,
            "outcome": "failed",
            "longrepr": f"long {name}",
            "crash": {"path": "/x/t.py", "lineno": 2, "message": f"boom {name}"},
            "stdout": f"out {name}\n[[ATTACHMENT|{name}.png]]\n",
        },
        "teardown": {"duration": 0.1, "outcome": "passed"},
    }
    report = {
        "created": 1700000000.0,
        "duration": 1.0,
        "exitcode": 1,
        "root": "/x",
        "environment": {},
        "summary": {"failed": 1, "total": 1, "collected": 1},
        "tests": [test],
    }
    return json.dumps(report).replace("\\\\ud800", "\\ud800")


@pytest.fixture
def reports(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """One report per carrier of untrusted text, in the cwd."""
    monkeypatch.chdir(tmp_path)
    made: dict[str, Path] = {}
    named = tmp_path / f"{NASTY_NAME}.json"  # the file name itself is hostile
    named.write_text(pytest_json(_json_escaped(NASTY)))
    made["pytest-json, hostile file name"] = named
    # A TAP line cannot hold a newline: the rest of the tricks, raw.
    tap_name = NASTY.replace("\n", " ").replace("\ud800", "")
    tap = tmp_path / "t.tap"
    tap.write_text(
        f"TAP version 13\n1..2\nnot ok 1 - {tap_name}\n  ---\n  message: "
        f"'{tap_name}'\n  ...\nok 2 - \u202eok\u200b\x1b[2J # SKIP {tap_name}\n",
        encoding="utf-8",
        errors="surrogatepass",
    )
    made["tap"] = tap
    member = tmp_path / "members.tar"
    data = b'<testsuite name="s"><testcase classname="c" name="ok"/></testsuite>'
    with tarfile.open(member, "w") as archive:
        info = tarfile.TarInfo(f"{NASTY_NAME}.xml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    made["tar member name"] = member
    xml = tmp_path / "x.xml"
    xml.write_text(
        f'<testsuite name="s{NASTY_XML}"><testcase classname="c" name="n{NASTY_XML}">'
        f'<failure message="m{NASTY_XML}" type="T{NASTY_XML}">trace{NASTY_XML}</failure>'
        f"<system-out>[[ATTACHMENT|x{NASTY_XML}.png]]</system-out>"
        f'<properties><property name="attachment" value="p{NASTY_XML}"/></properties>'
        "</testcase></testsuite>"
    )
    made["junit xml"] = xml
    return made


CASES = ["pytest-json, hostile file name", "tap", "tar member name", "junit xml"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("summary", [False, True], ids=["records", "summary"])
def test_parse_prints_nothing_raw(reports, case, summary):
    args = ["parse", *(["--summary"] if summary else []), reports[case]]
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    assert_clean_output(result)
    if not summary:  # each record is still one JSON object per line, readable back
        for line in result.stdout.splitlines():
            assert isinstance(json.loads(line), dict)


@pytest.mark.parametrize("case", CASES)
def test_upload_prints_nothing_raw(reports, case, local_server):
    env = server_env(local_server)
    for extra in ([], ["-v"], ["-vv"], ["--json"]):
        result = invoke(
            ["upload", "--new-run", "--label", f"L{NASTY[:40]}", *extra, reports[case]], env
        )
        assert result.exit_code in (0, 5), result.stderr  # 5: the lead's item 6 (surrogate)
        assert_clean_output(result)
        if extra == ["--json"]:
            assert isinstance(json.loads(result.stdout), dict)


def test_a_refused_report_with_a_hostile_name_is_one_escaped_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / NASTY_NAME).write_text("garbage, no report\n")
    folder = tmp_path / "ci"
    folder.mkdir()
    (folder / f"{NASTY_NAME}.txt").write_text("not a report either\n")
    (folder / f"{NASTY_NAME}.xml").write_text("<test-run><test-suite/></test-run>")
    for args in (
        ["parse", NASTY_NAME],
        ["parse", f"missing{NASTY_NAME}"],
        ["parse", "--summary", NASTY_NAME, folder],
    ):
        result = invoke(args)
        assert result.exit_code == 3, result.stderr
        assert_clean_output(result)
        errors = [
            line for line in result.stderr.splitlines() if line.startswith("junit2af: error:")
        ]
        assert len(errors) == 1 and "\\n junit2af: error: forged\\x1b[2J\\u202e" in errors[0]


def test_a_hostile_server_message_is_escaped(reports, local_server, tmp_path):
    rules = {("POST", "/v1/test/result/"): 400, ("GET", "/v1/test/project/"): 403}
    for rule, status in rules.items():
        with EchoingGateway(local_server.root_url, {rule: status}, message=NASTY) as gateway:
            env = {**server_env(local_server), "AF_API_URL": gateway.root_url + "/v1/test"}
            for extra in ([], ["--json"], ["-vv"]):
                result = invoke(
                    ["upload", "--new-run", "--retry-deadline", "1", *extra, reports["junit xml"]],
                    env,
                )
                assert result.exit_code in (4, 5), result.stderr
                assert_clean_output(result)
                assert "forged" in result.stdout + result.stderr  # the message was shown
            assert gateway.echoed


def test_escape_shows_every_unsafe_character():
    from junit2af.console import escape, json_line

    shown = escape(NASTY)
    assert shown == (
        "a\\n junit2af: error: forged\\r\\x1b]0;title\\x07\\x1b[2J\\u202eevil\\u200bzw"
        "\\x9b2J\\x85\\u2028\\x7f\\ud800"
    )
    line = json_line({"name": NASTY})
    assert json.loads(line)["name"] == NASTY  # JSON keeps the value, escaped
    assert line.isascii() or not any(ch in line for ch in "\x1b\x9b\u202e\u200b\ud800")
    line.encode("utf-8")  # a lone surrogate would make the write fail

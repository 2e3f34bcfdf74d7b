"""Hostile reports: each attack has a fixture; each is refused (or sanitized) with a clear
line, a distinct exit code, no traceback, no file read and no connection made."""

from __future__ import annotations

import gzip
import io
import json
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.cli import main
from junit2af.errors import ExitStatus

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Listener:
    """A loopback port that records whether anybody connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    """One probe for the module (closing one waits out its accept timeout)."""
    probe = Listener()
    yield probe
    probe.close()


def with_port(name: str, port: int, tmp_path: Path) -> Path:
    """The fixture with its PORT placeholder pointing at the listener."""
    target = tmp_path / name
    target.write_bytes((FIXTURES / name).read_bytes().replace(b"PORT", str(port).encode()))
    return target


def upload(server, tmp_path, *paths, extra=()):
    env = {
        "AF_API_URL": server.base_url,
        "AF_API_KEY": server.api_key,
        "AF_PROJECT_ID": server.project_id,
    }
    return CliRunner().invoke(
        main,
        ["upload", "--journal", str(tmp_path / "j.sqlite3"), *extra, *map(str, paths)],
        env=env,
    )


REFUSED = [
    ("billion-laughs.xml", "declares entities"),
    ("quadratic-blowup.xml", "declares entities"),
    ("xxe-file.xml", "declares entities"),
    ("xxe-http.xml", "declares entities"),
    ("external-dtd.xml", "external DTD"),
    ("parameter-entity.xml", "declares entities"),
    ("xinclude.xml", "XInclude"),
    ("deep-nesting.xml", "nested deeper than 256"),
    ("truncated.xml", "report truncated"),
    ("nan.report.json", "NaN is not valid JSON"),
    ("infinity.report.json", "Infinity is not valid JSON"),
    ("duplicate-keys.report.json", 'duplicate key "exitcode"'),
    ("nesting-bomb.report.json", "nested deeper than 200"),
    ("nan.reportlog.jsonl", "NaN is not valid JSON"),
    ("nesting-bomb.reportlog.jsonl", "nested deeper than 200"),
]


@pytest.mark.parametrize(("name", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_input_is_refused_before_any_request(local_server, listener, tmp_path, name, words):
    path = with_port(name, listener.port, tmp_path)
    connections_before = listener.connections
    result = upload(local_server, tmp_path, path)
    assert result.exit_code == ExitStatus.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"junit2af: error: {path}:")
    assert words in lines[0]
    assert "Traceback" not in result.stderr
    assert "root:" not in result.stdout + result.stderr  # /etc/passwd never read
    assert local_server.request_log == []
    assert listener.connections == connections_before


def test_truncated_report_with_salvage_uploads_a_failed_record_and_a_partial_run(
    local_server, tmp_path
):
    result = upload(
        local_server, tmp_path, FIXTURES / "truncated.xml", extra=("--salvage", "--json")
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    results = {r["test_name"]: r for r in local_server.admin.results()}
    assert results["t.a"]["status"] == results["t.b"]["status"] == "Passed"
    cut = [r for r in results.values() if r["metadata"].get("synthetic")]
    assert len(cut) == 1 and cut[0]["status"] == "Failed"
    assert "truncated" in cut[0]["error_message"]
    assert local_server.admin.run(summary["run_id"])["metadata"]["partial"] is True


@pytest.mark.parametrize(
    ("name", "expected_text", "count"),
    [
        ("control-characters.xml", "\ufffd[31mred\ufffd[0m \ufffd nul \ufffd ref ok", 4),
        ("wrong-encoding.xml", "d\ufffdj\ufffd vu", 4),
    ],
)
def test_invalid_characters_are_sanitized_with_a_warning(name, expected_text, count):
    result = CliRunner().invoke(main, ["parse", str(FIXTURES / name)])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert f"replaced {count} invalid character(s)" in result.stderr
    if name == "control-characters.xml":
        sizes = {a["label"]: a["size_bytes"] for a in record["artifacts"]}
        assert sizes["stdout.log"] == len(expected_text.encode())
    else:
        assert record["error_message"] == "caf\ufffd cr\ufffdme"


def test_bom_that_contradicts_the_declaration_is_read_with_a_warning():
    result = CliRunner().invoke(main, ["parse", str(FIXTURES / "bom-contradicts-declaration.xml")])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["test_name"] == "bom.x"
    assert "byte order mark contradicts encoding='UTF-16'" in result.stderr


def test_cdata_split_keeps_the_text_whole():
    from junit2af.inputs import expand_inputs
    from junit2af.parsers.base import ParseOptions
    from junit2af.reports import read_records

    records = list(
        read_records(list(expand_inputs([str(FIXTURES / "cdata-split.xml")])), ParseOptions())
    )
    assert records[0].outputs[0].text == "before ]]> after"


@pytest.mark.slow
def test_a_30_mb_system_out_is_kept_whole(tmp_path):
    """Up to 32 MB a captured text is kept whole (beyond it, it is cut: memory bound)."""
    from junit2af.inputs import expand_inputs
    from junit2af.parsers.base import ParseOptions
    from junit2af.reports import read_records

    big = tmp_path / "big-output.xml"
    line = "x" * 99 + "\n"
    with open(big, "w") as out:
        out.write('<testsuite name="big"><testcase name="chatty"><system-out>')
        out.write(line * 300_000)  # 30 MB of text in one node
        out.write("</system-out></testcase></testsuite>")
    warnings: list[str] = []
    records = list(
        read_records(list(expand_inputs([str(big)])), ParseOptions(warn=warnings.append))
    )
    assert len(records[0].outputs[0].text) == 30_000_000
    assert not any("truncated" in w for w in warnings)


def test_zip_bomb_member_is_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    payload = b'<testsuite name="z"><testcase name="a"><system-out>' + b"0" * 30_000_000
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("TEST-bomb.xml", payload + b"</system-out></testcase></testsuite>")
    assert bomb.stat().st_size < 100_000
    result = CliRunner().invoke(main, ["parse", "--summary", str(bomb)])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "compression bomb" in result.stderr
    assert "Traceback" not in result.stderr


def test_gzip_bomb_is_refused(tmp_path):
    bomb = tmp_path / "report.xml.gz"
    # 30 MB of spaces deflate to about 30 KB: past both the ratio and the 10 MB floor.
    bomb.write_bytes(gzip.compress(b"<testsuite>" + b" " * 30_000_000 + b"</testsuite>", 9))
    result = CliRunner().invoke(main, ["parse", str(bomb)])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "compression bomb" in result.stderr


def test_archive_member_paths_never_escape(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    report = b'<testsuite name="e"><testcase name="a"/></testsuite>'
    with tarfile.open(evil, "w:gz") as archive:
        for name in ("../../escaped.xml", "/abs/escaped.xml"):
            info = tarfile.TarInfo(name)
            info.size = len(report)
            archive.addfile(info, io.BytesIO(report))
    result = CliRunner().invoke(main, ["parse", str(evil)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["metadata"]["archive_member"] for line in lines} == {
        "../../escaped.xml",
        "/abs/escaped.xml",
    }
    assert not (tmp_path.parent / "escaped.xml").exists()
    assert not Path("/abs/escaped.xml").exists()


@pytest.mark.parametrize("unit", ["é&amp;", "x&#x1F600;", "€ab"])
def test_a_long_text_run_is_cut_where_no_character_or_entity_is_split(unit):
    """The reader drops the middle of a run of bytes without ``<`` past its cap; what is
    left is well-formed XML with the head, a marker and the tail of the text."""
    from lxml import etree

    from junit2af.parsers import xmlsafe

    cap = 2 * xmlsafe._CHUNK
    text = (unit * (3 * cap // len(unit.encode()))).encode()
    document = (
        b"<testsuite><testcase name='t'><system-out>" + text + b"</system-out></testcase>"
        b"</testsuite>"
    )
    reader = xmlsafe.SanitizingReader(io.BytesIO(document), max_run_bytes=cap)
    cut = reader.read(-1)
    assert reader.cut_runs == 1 and reader.cut_bytes > len(text) // 2
    output = etree.fromstring(cut).find(".//system-out").text
    assert "[junit2af: text cut here" in output
    # the cap counts the report's bytes: "&amp;" is 5 of them and one character read
    assert cap // 5 < len(output.encode()) < cap + xmlsafe._CHUNK + 100
    head, _, tail = output.partition("\n[junit2af: text cut here")
    assert "\ufffd" not in head and "\ufffd" not in tail  # no split UTF-8 sequence
    assert any("cut from their middle" in note for note in reader.notes())

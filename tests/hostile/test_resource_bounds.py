"""Issue #11, "done when": hostile inputs of shapes the project had not seen end in exit 0
(sanitized) or 3 (refused), never 70, with a peak RSS under 300 MB and under 60 s each.

Each shape runs in a process of its own (peak RSS from /proc/self/status VmHWM). Sizes
are those of the issue where a test can afford them, and scaled down where the
behaviour is the same (a quadratic cost shows at 20 000 attributes as at 1 000 000).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from hostile_helpers import assert_clean_output, invoke, measure

RSS_MB = 300
SECONDS = 60
REPORT = b'<testsuite name="s"><testcase classname="c" name="t"/></testsuite>'


def write_stream(path: Path, head: str, filler: bytes, size: int, tail: str) -> Path:
    """``head``, ``size`` bytes of ``filler`` repeated, ``tail``: written in 1 MB blocks."""
    block = filler * (1024 * 1024 // len(filler))
    with open(path, "wb") as out:
        out.write(head.encode())
        for _ in range(size // len(block)):
            out.write(block)
        out.write(tail.encode())
    return path


def assert_bounded(result, allowed=(0, 3)) -> None:
    assert result.returncode in allowed, result
    assert "Traceback" not in result.stderr, result
    assert 0 < result.rss_mb < RSS_MB, result
    assert result.seconds < SECONDS, result


# -- sizes ---------------------------------------------------------------------------------


def test_a_50_mb_line_of_tap(tmp_path):
    report = write_stream(
        tmp_path / "line.tap", "TAP version 13\n1..1\nok 1 - ", b"a", 50 << 20, "\n"
    )
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result)
    assert "a line over" in result.stderr


def test_a_huge_json_string_in_a_pytest_json_report(tmp_path):
    """200 MB in the issue: refused past 80 MB (loaded whole, it would cost 3x)."""
    head = (
        '{"created": 1.7e9, "duration": 1, "exitcode": 1, "root": "/x", "environment": {}, '
        '"summary": {"failed": 1, "total": 1, "collected": 1}, "tests": [{"nodeid": '
        '"t.py::test_a", "lineno": 1, "outcome": "failed", "keywords": [], "call": '
        '{"duration": 0.1, "outcome": "failed", "longrepr": "'
    )
    report = write_stream(tmp_path / "r.json", head, b"x", 96 << 20, '"}}]}')
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result, allowed=(3,))
    assert "JSON document larger than" in result.stderr, result


def test_a_huge_text_node_in_junit_xml(tmp_path):
    """200 MB in the issue; 72 MB is cut the same way (held whole, 120 MB cost 390 MB)."""
    head = '<testsuite name="s"><testcase classname="c" name="t"><system-out>'
    tail = "</system-out></testcase></testsuite>"
    report = write_stream(tmp_path / "r.xml", head, b"y", 72 << 20, tail)
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result, allowed=(0,))
    assert "bytes cut from their middle" in result.stderr, result


def test_an_element_with_a_great_many_attributes(tmp_path):
    attributes = " ".join(f'a{i}="v"' for i in range(20_000))
    report = tmp_path / "attrs.xml"
    report.write_text(f'<testsuite name="s"><testcase classname="c" name="t" {attributes}/>'
                      "</testsuite>")  # fmt: skip
    started = time.monotonic()
    result = invoke(["parse", "--summary", report])
    assert result.exit_code == 3, result.stderr
    assert "an element with 20002 attributes (more than 1000); refused" in result.stderr
    assert time.monotonic() - started < 1.0  # linear: 20 000 attributes take ~40 ms


# -- nesting -------------------------------------------------------------------------------

DEPTH = 1_000_000
NESTED = {
    "jest": (
        '{"numFailedTestSuites":0,"numFailedTests":0,"numPassedTestSuites":1,'
        '"numPassedTests":1,"numPendingTests":0,"numTotalTestSuites":1,"numTotalTests":1,'
        '"startTime":1700000000000,"success":true,"testResults":',
        ',"wasInterrupted":false}',
    ),
    "playwright": ('{\n  "config": {"rootDir": "/x", "projects": []},\n  "suites": ', "}"),
    "cucumber": (
        '[{"keyword": "Feature", "name": "f", "uri": "f.feature", "id": "f", "elements": ',
        "}]",
    ),
}


def test_deeply_nested_arrays_in_native_json_reports(tmp_path):
    reports = []
    for shape, (head, tail) in NESTED.items():
        report = tmp_path / f"{shape}.json"
        report.write_text(head + "[" * DEPTH + "]" * DEPTH + tail)
        reports.append(report)
    result = measure(["parse", *reports], tmp_path)  # one process: each refused in turn
    assert_bounded(result, allowed=(3,))
    for report in reports:
        assert f"{report}:" in result.stderr and "nested deeper than" in result.stderr, result
    assert result.stderr.count("junit2af: error:") == len(reports)


# -- archives ------------------------------------------------------------------------------


def test_a_zip_of_many_tiny_members_is_read_in_linear_time(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for i in range(5_000):
            out.writestr(f"m{i:05}.txt", b"x")  # not reports: each sniffed and skipped
        out.writestr("zz-report.xml", REPORT)
    result = measure(["parse", "--summary", archive], tmp_path, timeout=SECONDS)
    assert_bounded(result)
    assert result.stderr.count("skipped: not a test report") == 5_000
    assert "many.zip!zz-report.xml" in result.stdout


def test_an_archive_is_opened_once_not_once_per_member(tmp_path, monkeypatch):
    """Reopening an archive for each member read its whole directory again: O(n^2)."""
    opened = {"zip": 0, "tar": 0}
    real_zip_init, real_tar_open = zipfile.ZipFile.__init__, tarfile.open

    def zip_init(self, *args, **kw):
        opened["zip"] += 1
        real_zip_init(self, *args, **kw)

    def tar_open(*args, **kw):
        opened["tar"] += 1
        return real_tar_open(*args, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", zip_init)
    monkeypatch.setattr(tarfile, "open", tar_open)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as out:
        for i in range(300):
            out.writestr(f"r{i}.xml", REPORT)
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as out:
        for i in range(300):
            info = tarfile.TarInfo(f"r{i}.xml")
            info.size = len(REPORT)
            out.addfile(info, io.BytesIO(REPORT))
    opened.update(zip=0, tar=0)
    result = invoke(["parse", "--summary", tmp_path / "a.zip", tmp_path / "a.tar.gz"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[-1] == "600"
    assert opened["zip"] <= 2 and opened["tar"] <= 2, opened


def test_a_tar_with_escaping_names_links_and_devices(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as out:

        def add(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            info.size = len(REPORT) if kind == tarfile.REGTYPE else 0
            out.addfile(info, io.BytesIO(REPORT) if kind == tarfile.REGTYPE else None)

        add("../../etc/passwd")
        add("/etc/shadow")
        add("dev-zero", tarfile.CHRTYPE)
        add("dev-sda", tarfile.BLKTYPE)
        add("fifo", tarfile.FIFOTYPE)
        add("sym.xml", tarfile.SYMTYPE, "/etc/passwd")
        add("hard.xml", tarfile.LNKTYPE, "/etc/passwd")
        add("hard-in.xml", tarfile.LNKTYPE, "../../etc/passwd")
    result = measure(["parse", archive], tmp_path)
    assert_bounded(result, allowed=(0,))
    members = [
        json.loads(line)["metadata"]["archive_member"] for line in result.stdout.splitlines()
    ]
    assert sorted(members) == ["../../etc/passwd", "/etc/shadow"]  # only the regular files
    assert "root:" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar", "measure_junit2af.py",
                                                          "measured.txt"]  # fmt: skip


def test_a_hostile_archive_member_name_is_escaped(tmp_path):
    archive = tmp_path / "names.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("a\n junit2af: error: forged\x1b[2J\u202e.xml", REPORT)
        out.writestr("b\x1b]0;title\x07.txt", b"not a report")
    for args in (["parse", archive], ["parse", "--summary", archive]):
        result = invoke(args)
        assert result.exit_code == 0, result.stderr
        assert_clean_output(result)


# -- breadth -------------------------------------------------------------------------------

CHILDREN = {
    # libxml2 holds an element's children until the parser frees the element: ~400 bytes
    # each, so 10 MB of <x/> cost 460 MB before the cap.
    "unknown children of a test case": (
        '<testsuite name="s"><testcase classname="c" name="t">',
        "<x a='1'/>",
        "</testcase></testsuite>",
    ),
    "suite properties": (
        '<testsuite name="s"><properties>',
        "<property name='p' value='v'/>",
        "</properties><testcase classname='c' name='t'/></testsuite>",
    ),
    "NUnit test case children": (
        '<test-run id="2"><test-suite type="Assembly" name="a"><test-case id="1" name="t" '
        'fullname="t" result="Passed">',
        "<x/>",
        "</test-case></test-suite></test-run>",
    ),
}


@pytest.mark.parametrize("shape", list(CHILDREN))
def test_an_element_with_a_million_children_is_refused_in_bounded_memory(tmp_path, shape):
    head, child, tail = CHILDREN[shape]
    report = tmp_path / "wide.xml"
    report.write_text(head + child * 1_000_000 + tail)
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result, allowed=(3,))
    assert "elements held at once" in result.stderr, result


WIDE_JSON = {
    # 30 MB of "{}," decoded to 1 GB before the estimate (an empty object is ~70 bytes)
    "pytest-json-report": (
        '{"created": 1.7e9, "duration": 1, "exitcode": 0, "root": "/x", "environment": {}, '
        '"summary": {"total": 0, "collected": 0}, "tests": [], "junk": [',
        "{},",
        "{}]}",
    ),
    "go test -json line": ('{"Action":"output","Test":"T","Output":"x","X":[', "{},", "{}]}\n"),
}


@pytest.mark.parametrize("shape", list(WIDE_JSON))
def test_json_of_many_tiny_values_is_refused_before_it_is_decoded(tmp_path, shape):
    head, item, tail = WIDE_JSON[shape]
    report = tmp_path / "wide.json"
    report.write_text(head + item * (10 << 20) + tail)
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result, allowed=(3,))
    assert "MB in memory to read" in result.stderr, result


def test_a_huge_text_node_in_a_utf16_report_is_cut_as_it_streams(tmp_path):
    """UTF-16 is decoded to UTF-8 as it is read, so the same streaming cut applies."""
    head = '<?xml version="1.0" encoding="UTF-16"?><testsuite name="s"><testcase name="t">'
    report = tmp_path / "utf16.xml"
    with open(report, "wb") as out:
        out.write((head + "<system-out>").encode("utf-16"))  # with its byte order mark
        block = ("y" * (1 << 20)).encode("utf-16-le")
        for _ in range(36):
            out.write(block)
        out.write("</system-out></testcase></testsuite>".encode("utf-16-le"))
    result = measure(["parse", "--summary", report], tmp_path)
    assert_bounded(result, allowed=(0,))
    assert "bytes cut from their middle" in result.stderr, result

"""`junit2af parse`: JSON Lines, --summary, and how bad input is reported."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.cli import main
from junit2af.errors import ExitStatus

REPO = Path(__file__).resolve().parents[2]
PYTEST_XML = REPO / "fixtures" / "junit" / "pytest-xunit2.xml"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_parse_prints_one_json_object_per_record_with_api_fields(tmp_path):
    result = run("parse", str(PYTEST_XML))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 15  # 18 test cases, of which 3 are reruns
    assert set(lines[0]) == {
        "test_name",
        "status",
        "started_at",
        "finished_at",
        "execution_time_ms",
        "error_message",
        "metadata",
        "artifacts",
    }
    failed = [line for line in lines if line["status"] == "Failed"]
    assert failed and all(line["artifacts"][0]["label"] == "failure.txt" for line in failed)
    assert failed[0]["artifacts"][0]["kind"] == "Log"
    assert failed[0]["artifacts"][0]["size_bytes"] > 0


def test_summary_counts_by_status_per_file():
    result = run("parse", "--summary", str(PYTEST_XML))
    assert result.exit_code == 0
    header, row, total = result.stdout.splitlines()
    assert header.split()[:5] == ["file", "Passed", "Failed", "Skipped", "KnownFail"]
    assert row.split()[1:] == ["8", "4", "2", "1", "15"]
    assert total.split()[0] == "total"


def test_summary_leaves_out_what_a_refused_report_yielded_before_its_error(tmp_path):
    cut = tmp_path / "cut.xml"  # two complete test cases, then the file is cut off
    cut.write_text(
        '<testsuite name="s"><testcase classname="c" name="a"/>\n'
        '<testcase classname="c" name="b"/>\n<testcase classname="c" name="x"><fail'
    )
    result = run("parse", "--summary", str(cut), str(PYTEST_XML))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert f"{cut}:3" in result.stderr
    rows = result.stdout.splitlines()
    assert not any(str(cut) in row for row in rows)  # not "2 Passed" for a refused file
    assert rows[-2].split()[-1] == "15" and rows[-2].split()[0] == "total"
    assert rows[-1] == "not counted: 1 refused report(s), named above"


def test_a_bad_file_does_not_stop_the_others_and_sets_the_exit_code(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<testsuite><testcase name='a'>\n<oops")
    result = run("parse", str(bad), str(PYTEST_XML))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert len(result.stdout.splitlines()) == 15
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(f"junit2af: error: {bad}:2:")
    assert "Traceback" not in result.stderr


def test_missing_empty_and_foreign_files_each_get_one_line(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    foreign = tmp_path / "suites.xml"
    foreign.write_text('<?xml version="1.0"?><suites><suite><case/></suite></suites>')
    result = run("parse", str(tmp_path / "missing.xml"), str(empty), str(foreign))
    assert result.exit_code == ExitStatus.BAD_INPUT
    lines = result.stderr.strip().splitlines()
    assert "no such file" in lines[0]
    assert "empty file" in lines[1]
    assert "not supported: looks like a JUnit-like but non-JUnit schema" in lines[2]


def test_directories_globs_gzip_and_zip_archives(tmp_path):
    data = PYTEST_XML.read_bytes()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "TEST-x.xml").write_bytes(data)
    (tmp_path / "a" / "notes.txt").write_text("not a report")
    (tmp_path / "r.xml.gz").write_bytes(gzip.compress(data))
    with zipfile.ZipFile(tmp_path / "ci.zip", "w") as archive:
        archive.writestr("reports/TEST-y.xml", data)
    result = run(
        "parse", "--summary", str(tmp_path / "a"), str(tmp_path / "*.gz"), str(tmp_path / "ci.zip")
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[-1] == str(15 * 3)
    lines = run("parse", str(tmp_path / "ci.zip")).stdout.splitlines()
    assert json.loads(lines[0])["metadata"]["archive_member"] == "reports/TEST-y.xml"


def test_names_are_unique_across_files(tmp_path):
    result = run("parse", str(PYTEST_XML), str(PYTEST_XML.with_name("pytest-xunit1.xml")))
    names = [json.loads(line)["test_name"] for line in result.stdout.splitlines()]
    assert len(names) == len(set(names)) == 30


def test_python_dash_m_works_and_stdin_is_read():
    result = subprocess.run(
        [sys.executable, "-m", "junit2af", "parse", "--summary", "-"],
        input=PYTEST_XML.read_bytes(),
        capture_output=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert b"<stdin>" in result.stdout or b"-" in result.stdout


def test_formats_are_detected_by_content_not_by_name(tmp_path):
    repo_fixtures = REPO / "fixtures"
    disguised = {
        "results.xml": repo_fixtures / "tap" / "prove.tap",
        "report.txt": repo_fixtures / "pytest-json" / "pytest-json-report.json",
        "log.xml": repo_fixtures / "reportlog" / "pytest-reportlog.jsonl",
        "tests.tap": PYTEST_XML,
    }
    for name, source in disguised.items():
        (tmp_path / name).write_bytes(source.read_bytes())
    for name in disguised:
        result = run("parse", str(tmp_path / name))
        assert result.exit_code == 0, (name, result.stderr)
        formats = {json.loads(line)["metadata"]["format"] for line in result.stdout.splitlines()}
        expected = {
            "results.xml": "tap",
            "report.txt": "pytest-json",
            "log.xml": "reportlog",
            "tests.tap": "junit",
        }[name]
        assert formats == {expected}


def test_format_option_overrides_detection(tmp_path):
    odd = tmp_path / "odd.txt"
    odd.write_text("# a TAP stream that starts with a comment only\n\n\nok 1 - works\n1..1\n")
    result = run("parse", "--format", "tap", str(odd))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["test_name"] == "works"


def test_jenkins_output_is_named_and_robot_output_is_read(tmp_path):
    jenkins = tmp_path / "junitResult.xml"
    jenkins.write_text("<?xml version='1.1' encoding='UTF-8'?><result><suites/></result>")
    robot = tmp_path / "output.xml"
    robot.write_text(
        '<?xml version="1.0"?><robot generator="Robot 6.1"><suite name="S"><test name="T">'
        '<status status="PASS" starttime="20240101 12:00:00.000" endtime="20240101 12:00:01.000"/>'
        "</test></suite></robot>"
    )
    result = run("parse", str(jenkins), str(robot))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "not supported: looks like Jenkins junitResult.xml" in result.stderr
    assert json.loads(result.stdout)["test_name"] == "S > T"


def test_a_folder_of_many_files_that_are_no_reports_is_a_count_not_a_line_each(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for number in range(130):
        (folder / f"empty{number}.xml").write_bytes(b"")
    (folder / "report.xml").write_bytes(PYTEST_XML.read_bytes())
    result = run("parse", "--summary", str(folder))
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert sum("skipped: an empty file" in line for line in lines) == 100
    assert lines[-1] == (
        "junit2af: warning: 30 more file(s) skipped (not listed): not reports junit2af reads"
    )
    assert result.stdout.splitlines()[-1].split()[-1] == "15"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_report_in_utf16_or_utf32_with_its_byte_order_mark_is_read(tmp_path, codec):
    text = (
        '<?xml version="1.0"?><testsuite name="s"><testcase classname="c" name="tést"/></testsuite>'
    )
    path = tmp_path / "report.xml"
    path.write_bytes(
        "\ufeff".encode(codec)
        + text.replace('"1.0"', f'"1.0" encoding="{codec[:6].upper()}"').encode(codec)
    )
    result = run("parse", str(path))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["test_name"] == "c.tést"

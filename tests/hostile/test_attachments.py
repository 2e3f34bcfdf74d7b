"""Attachment references are resolved only to regular files inside the allowed roots."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.artifacts import AttachmentPolicy, plan_artifacts
from junit2af.cli import main
from junit2af.errors import AttachmentError
from junit2af.records import AttachmentRef, SourceRef, Status, TestRecord

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A CI workspace ``ws`` (the cwd) with a sibling ``ws-evil`` and files outside."""
    ws = tmp_path / "ws"
    (ws / "shots").mkdir(parents=True)
    (ws / "shots" / "ok.png").write_bytes(PNG)
    (ws / "subdir").mkdir()
    (tmp_path / "outside.txt").write_text("SECRET-OUTSIDE")
    (tmp_path / "ws-evil").mkdir()
    (tmp_path / "ws-evil" / "secret.txt").write_text("SECRET-PREFIX")
    os.symlink(tmp_path / "outside.txt", ws / "link-out.txt")
    os.mkfifo(ws / "fifo")
    with open(ws / "huge.bin", "wb") as handle:
        handle.truncate(101 * 1024 * 1024)  # sparse: no disk used
    (ws / "empty.txt").write_bytes(b"")
    monkeypatch.chdir(ws)
    return ws


MARKERS = {
    "absolute outside": "{tmp}/outside.txt",
    "dot-dot escape": "../outside.txt",
    "prefix trick": "{tmp}/ws-evil/secret.txt",
    "symlink out": "link-out.txt",
    "fifo": "fifo",
    "device": "/dev/zero",
    "proc file": "/proc/self/environ",
    "directory": "subdir",
    "over 100 MB": "huge.bin",
    "empty": "empty.txt",
    "missing": "nope.png",
}


def report_with_markers(ws: Path) -> Path:
    tmp = str(ws.parent)
    lines = "\n".join(f"[[ATTACHMENT|{m.format(tmp=tmp)}]]" for m in MARKERS.values())
    report = ws / "report.xml"
    report.write_text(
        f'<testsuite name="s"><testcase name="shots"><system-out>see\n{lines}\n'
        "[[ATTACHMENT|shots/ok.png]]\n</system-out></testcase></testsuite>"
    )
    return report


def test_only_the_regular_file_inside_the_root_is_attached(workspace):
    report = report_with_markers(workspace)
    result = CliRunner().invoke(main, ["parse", str(report)])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    labels = [a["label"] for a in record["artifacts"]]
    assert labels == ["stdout.log", "ok.png"]
    ok = record["artifacts"][1]
    assert (ok["kind"], ok["content_type"], ok["size_bytes"]) == ("Image", "image/png", len(PNG))
    warnings = [line for line in result.stderr.splitlines() if "attachment" in line]
    assert len(warnings) == len(MARKERS)
    for marker in MARKERS.values():
        text = f"[[ATTACHMENT|{marker.format(tmp=workspace.parent)}]]"
        assert sum(text in w for w in warnings) == 1, marker
    assert "SECRET" not in result.stderr + result.stdout


def test_attachments_root_option_widens_what_is_allowed(workspace):
    report = report_with_markers(workspace)
    result = CliRunner().invoke(
        main, ["parse", "--attachments-root", str(workspace.parent / "ws-evil"), str(report)]
    )
    labels = [a["label"] for a in json.loads(result.stdout)["artifacts"]]
    assert "secret.txt" in labels and "ok.png" not in labels


def _record(ref: str) -> TestRecord:
    return TestRecord(test_name="t.x", status=Status.PASSED, source=SourceRef("r.xml"),
                      attachments=(AttachmentRef(ref, f"[[ATTACHMENT|{ref}]]"),))


def test_a_file_that_grows_sends_the_bytes_measured_at_open(workspace):
    path = workspace / "growing.log"
    path.write_bytes(b"0123456789")
    planned = plan_artifacts(_record("growing.log"), AttachmentPolicy()).artifacts[0]
    with open(path, "ab") as handle:
        handle.write(b"MORE DATA WRITTEN LATER")
    with planned.open(AttachmentPolicy()) as body:
        assert body.read() == b"0123456789"


def test_a_file_swapped_for_a_symlink_after_the_check_is_refused(workspace):
    path = workspace / "swap.log"
    path.write_text("fine")
    planned = plan_artifacts(_record("swap.log"), AttachmentPolicy()).artifacts[0]
    path.unlink()
    os.symlink(workspace.parent / "outside.txt", path)
    with pytest.raises(AttachmentError, match="outside the allowed"), \
            planned.open(AttachmentPolicy()):
        pass


def test_upload_attaches_only_the_allowed_file(workspace, local_server):
    report = report_with_markers(workspace)
    env = {"AF_API_URL": local_server.base_url, "AF_API_KEY": local_server.api_key,
           "AF_PROJECT_ID": local_server.project_id}
    result = CliRunner().invoke(main, ["upload", "--json", str(report)], env=env)
    assert result.exit_code == 0, result.stderr
    stored = local_server.admin.artifacts()
    assert sorted(a["label"] for a in stored) == ["ok.png", "stdout.log"]
    png = next(a for a in stored if a["label"] == "ok.png")
    assert local_server.admin.artifact_bytes(png["artifact_id"]) == PNG
    assert len(json.loads(result.stdout)["warnings"]) == len(MARKERS)

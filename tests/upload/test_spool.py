"""The spool an upload reads back: what the one pass over the reports produced."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reportgen import write_report

from junit2af import ReadSettings, ReportSet


def test_the_spool_has_no_name_and_two_readers_keep_their_own_place(tmp_path, monkeypatch):
    report = write_report(tmp_path / "report.xml", 60, output_every=3)
    spool_folder = tmp_path / "tmp"
    spool_folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_folder))
    with ReportSet([str(report)], ReadSettings()) as reports:
        scan = reports.scan()
        assert scan.records == 60
        # Nothing to clean up, even for a process killed now.
        assert list(spool_folder.iterdir()) == []
        first, second = reports.planned(), reports.planned()
        pairs = [
            (a.record.test_name, b.record.test_name) for a, b in zip(first, second, strict=True)
        ]
        assert len(pairs) == 60
        assert all(a == b for a, b in pairs)
        assert len({a for a, _ in pairs}) == 60
        # Read again from the start, as a results file is written after the upload.
        assert sum(1 for _ in reports.planned()) == 60
    assert list(spool_folder.iterdir()) == []


def test_a_spooled_record_keeps_its_artifacts_but_not_its_texts(tmp_path: Path):
    report = write_report(tmp_path / "report.xml", 9, output_every=3)
    with ReportSet([str(report)], ReadSettings()) as reports:
        items = list(reports.planned())
    with_output = [item for item in items if item.artifacts]
    assert with_output, "the generated report has output every 3 cases"
    for item in items:
        assert item.record.outputs == () and item.record.failure_text is None
    assert all(artifact.size_bytes > 0 for item in with_output for artifact in item.artifacts)

"""Peak memory of an upload does not grow with the number of records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reportgen import write_report

from junit2af.localserver import LocalServer

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, resource, sys
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.settings import Secret, UploadSettings
from junit2af.uploader import upload
url, key, project, report, journal = sys.argv[1:6]
settings = UploadSettings(api_url=url, api_key=Secret(key), project_id=project,
                          journal_path=journal, label="memory " + report[-12:])
summary = upload(list(expand_inputs([report])), settings,
                 options=ParseOptions(warn=lambda m: None))
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "results": summary.results_uploaded}))
"""


def peak_rss_kb(server, report: Path, journal: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, server.base_url, server.api_key, server.project_id,
         str(report), str(journal)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["rss_kb"], answer["results"]


@pytest.mark.slow
def test_peak_memory_is_flat_in_the_record_count(tmp_path):
    small = write_report(tmp_path / "small.xml", 500)
    large = write_report(tmp_path / "large.xml", 5000)
    with LocalServer(tmp_path / "server") as server:
        small_rss, small_count = peak_rss_kb(server, small, tmp_path / "j1.sqlite3")
        large_rss, large_count = peak_rss_kb(server, large, tmp_path / "j2.sqlite3")
    assert (small_count, large_count) == (500, 5000)
    # Ten times the records: at most a few MB more (name digests, journal cache).
    assert large_rss - small_rss < 12 * 1024, (small_rss, large_rss)

"""Peak memory of an upload does not grow with the number of records.

Measured as growth between two small sizes (200 and 800 records) in fresh processes:
what grows per record (the journal's page cache, the name digests) must stay within a
few kB a record, so that 100,000 records cost tens of MB, not gigabytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reportgen import write_report

from junit2af.localserver import LocalServer

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, resource, sys
from junit2af import ReadSettings, ReportSet, Secret, UploadSettings, Uploader
url, key, project, report, journal = sys.argv[1:6]
settings = UploadSettings(api_url=url, api_key=Secret(key), project_id=project,
                          journal_path=journal, label="memory " + report[-12:], jobs=16)
with ReportSet([report], ReadSettings()) as reports, Uploader(settings) as uploader:
    summary = uploader.upload(reports)
# VmHWM, not ru_maxrss: the latter keeps the peak of the forked copy of the parent
# (the test process, with its in-process server) from before exec.
peak = next((int(line.split()[1]) for line in open("/proc/self/status")
             if line.startswith("VmHWM")), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps({"rss_kb": peak, "results": summary.results_uploaded}))
"""


def peak_rss_kb(server, report: Path, journal: Path) -> tuple[int, int]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            server.base_url,
            server.api_key,
            server.project_id,
            str(report),
            str(journal),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["rss_kb"], answer["results"]


def test_peak_memory_grows_by_little_per_record(tmp_path):
    small = write_report(tmp_path / "small.xml", 200, output_every=4)
    large = write_report(tmp_path / "large.xml", 800, output_every=4)
    with LocalServer(tmp_path / "server") as server:
        small_rss, small_count = peak_rss_kb(server, small, tmp_path / "j1.sqlite3")
        large_rss, large_count = peak_rss_kb(server, large, tmp_path / "j2.sqlite3")
    assert (small_count, large_count) == (200, 800)
    per_record_kb = (large_rss - small_rss) / 600
    assert per_record_kb < 2.0, (small_rss, large_rss)

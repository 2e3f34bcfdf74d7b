"""Upload throughput against the local server with 20 ms of injected latency per request.

Uploads 2,000 results (20% with stdout) at the default jobs, and the same with one
request at a time, in the same run, each into its own server process (so the client's
CPU time is its own). Prints elapsed time as a ratio of the ideal
(requests x latency / jobs), the speed-up over the one-at-a-time client, and the client's
CPU time per request.

    python benchmarks/upload_bench.py [--results 2000] [--latency-ms 20] [--jobs 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from reportgen import write_report  # noqa: E402

from junit2af.inputs import expand_inputs  # noqa: E402
from junit2af.localserver import FaultConfig, ServerProcess  # noqa: E402
from junit2af.parsers.base import ParseOptions  # noqa: E402
from junit2af.settings import Secret, UploadSettings  # noqa: E402
from junit2af.uploader import upload  # noqa: E402


def one_upload(report: Path, workdir: Path, jobs: int, latency_ms: float, tag: str):
    server = ServerProcess(workdir / f"server-{tag}").start()
    try:
        server.admin.set_faults(FaultConfig(latency_ms=latency_ms))
        settings = UploadSettings(
            api_url=server.base_url, api_key=Secret(server.api_key),
            project_id=server.project_id, jobs=jobs, label=f"bench {tag}",
            journal_path=workdir / f"journal-{tag}.sqlite3",
        )
        reports = list(expand_inputs([str(report)]))
        wall, cpu = time.perf_counter(), time.process_time()
        summary = upload(reports, settings, options=ParseOptions(warn=lambda m: None))
        return time.perf_counter() - wall, time.process_time() - cpu, summary
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--serial-results", type=int, default=300,
                        help="results for the one-at-a-time client (scaled to --results)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        report = write_report(workdir / "bench.xml", args.results, output_every=5)
        small = write_report(workdir / "serial.xml", args.serial_results, output_every=5)
        walls, cpus = [], []
        summary = None
        for number in range(args.repeat):
            wall, cpu, summary = one_upload(report, workdir, args.jobs, args.latency_ms,
                                            f"jobs-{number}")
            walls.append(wall)
            cpus.append(cpu)
        serial_wall, _, serial = one_upload(small, workdir, 1, args.latency_ms, "serial")
        assert summary is not None
        wall = statistics.median(walls)
        cpu = statistics.median(cpus)
        ideal = summary.requests * args.latency_ms / 1000 / args.jobs
        serial_scaled = serial_wall * summary.requests / serial.requests
        print(f"results={summary.results_uploaded} artifacts={summary.artifacts_uploaded} "
              f"requests={summary.requests} jobs={args.jobs} latency={args.latency_ms}ms")
        print(f"elapsed {wall:.2f}s (median of {args.repeat}); ideal {ideal:.2f}s; "
              f"ratio to ideal {wall / ideal:.2f}x")
        print(f"one-at-a-time client: {serial_wall:.2f}s for {serial.requests} requests, "
              f"scaled {serial_scaled:.2f}s; speed-up {serial_scaled / wall:.1f}x")
        print(f"client CPU {cpu:.2f}s = {cpu / summary.requests * 1000:.2f} ms per request "
              "(parse, plan, journal and HTTP included)")


if __name__ == "__main__":
    main()

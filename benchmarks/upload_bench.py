"""Upload throughput and client CPU against the local server with injected latency.

Every upload goes to its own ``junit2af serve`` process (so the client's CPU is its own)
with ``latency_ms`` added to every request, and is compared with the ideal for its
concurrency, ``requests x latency / jobs``, measured in the same run:

* ``--scenario fixed`` (default): 2,000 results (20% with stdout) at 20 ms, with 1 job
  (a smaller report, scaled), 8 jobs and 32 jobs; prints each ratio to its ideal, the
  speed-up of 8 jobs over 1, and the client's CPU per request (whole process: reading,
  journal, HTTP, every thread; the one-time imports are done before the clock starts).
* ``--scenario adaptive``: 10,000 results at 50 ms, fixed 16, 32 and 64 jobs, then the
  default (adaptive) concurrency; prints the adaptive run's elapsed time against the
  best fixed run and its ideal.

A baseline measured in the same run: a bare urllib3 loop (8 threads, one pool, nothing
but the requests), the CPU any urllib3 client pays per request on this machine.

Targets (issue 15): CPU per request <= 0.6 ms; 8 jobs within 1.15x of ideal, 32 jobs
within 1.5x; 8 jobs >= 10x faster than 1; adaptive >= 0.8x the best fixed.

    python benchmarks/upload_bench.py [--scenario fixed|adaptive] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from reportgen import write_report  # noqa: E402

from junit2af import ReadSettings, ReportSet, Secret, Uploader, UploadSettings  # noqa: E402
from junit2af.localserver import FaultConfig, ServerProcess  # noqa: E402


@dataclass
class Outcome:
    wall: float
    cpu: float
    requests: int
    results: int

    def ideal(self, latency_ms: float, jobs: int) -> float:
        return self.requests * latency_ms / 1000 / jobs


def warm_imports() -> None:
    """Import what an upload imports lazily (every parser, for detection) before the
    clock starts: a process does it once, and this checkout may run without bytecode
    caching (PYTHONDONTWRITEBYTECODE), where compiling them costs about 0.3 s a run."""
    from junit2af.parsers import formats

    formats()


def one_upload(
    report: Path, workdir: Path, jobs: int | None, latency_ms: float, tag: str
) -> Outcome:
    server = ServerProcess(workdir / f"server-{tag}").start()
    try:
        server.admin.set_faults(FaultConfig(latency_ms=latency_ms))
        settings = UploadSettings(
            api_url=server.base_url,
            api_key=Secret(server.api_key),
            project_id=server.project_id,
            jobs=jobs,
            label=f"bench {tag}",
            journal_path=workdir / f"journal-{tag}.sqlite3",
        )
        warm_imports()
        wall, cpu = time.perf_counter(), time.process_time()
        with ReportSet([str(report)], ReadSettings()) as reports, Uploader(settings) as up:
            summary = up.upload(reports)
        return Outcome(
            time.perf_counter() - wall,
            time.process_time() - cpu,
            summary.requests,
            summary.results_uploaded,
        )
    finally:
        server.stop()


#: The HTTP stack alone, as a baseline measured in the same run: ``jobs`` threads send
#: ``POST /result/`` (a small JSON body, its JSON answer read) through one urllib3 pool,
#: with nothing else (no report, no journal, no retries). What a Python client on urllib3
#: pays per request on this machine before doing anything of its own.
def bare_urllib3(workdir: Path, jobs: int, latency_ms: float, requests: int) -> float:
    """Client CPU (ms) per request of the bare loop."""
    import threading
    from urllib.parse import urlsplit

    import orjson
    import urllib3

    server = ServerProcess(workdir / f"server-bare-{jobs}").start()
    try:
        server.admin.set_faults(FaultConfig(latency_ms=latency_ms))
        url = urlsplit(server.base_url)
        pool = urllib3.HTTPConnectionPool(url.hostname, url.port, maxsize=jobs, block=True)
        headers = {"Authorization": server.api_key, "Content-Type": "application/json"}
        answer = pool.urlopen(
            "POST",
            url.path + "/run/",
            body=orjson.dumps({"project_id": server.project_id, "label": "bare"}),
            headers=headers,
        )
        run_id = orjson.loads(answer.data)["test_run_id"]
        left = iter(range(requests))
        lock = threading.Lock()

        def send() -> None:
            while True:
                with lock:
                    number = next(left, None)
                if number is None:
                    return
                body = {
                    "project_id": server.project_id,
                    "test_run_id": run_id,
                    "test_name": f"bare.test_{number}",
                    "status": "Passed",
                }
                response = pool.urlopen(
                    "POST", url.path + "/result/", body=orjson.dumps(body), headers=headers
                )
                orjson.loads(response.data)

        cpu = time.process_time()
        threads = [threading.Thread(target=send) for _ in range(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return (time.process_time() - cpu) / requests * 1000
    finally:
        server.stop()


def median_of(repeat: int, *args: object) -> Outcome:
    runs = [one_upload(*args[:-1], f"{args[-1]}-{n}") for n in range(repeat)]  # type: ignore
    walls = sorted(r.wall for r in runs)
    best = runs[0]
    return Outcome(
        statistics.median(walls),
        statistics.median(r.cpu for r in runs),
        best.requests,
        best.results,
    )


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def fixed(args: argparse.Namespace, workdir: Path) -> None:
    report = write_report(workdir / "bench.xml", args.results, output_every=5)
    small = write_report(workdir / "serial.xml", args.serial_results, output_every=5)
    latency = args.latency_ms
    serial = one_upload(small, workdir, 1, latency, "serial")
    rows = {}
    cpu_per_request = []
    for jobs in (8, 32):
        runs = [
            one_upload(report, workdir, jobs, latency, f"jobs{jobs}-{n}")
            for n in range(args.repeat)
        ]
        rows[jobs] = runs
        cpu_per_request += [r.cpu / r.requests * 1000 for r in runs]
    first = rows[8][0]
    print(
        f"{first.results} results, {first.requests} requests, latency {latency:g} ms, "
        f"median of {args.repeat} (spread in brackets)"
    )
    targets = {8: 1.15, 32: 1.5}
    for jobs, runs in rows.items():
        ratios = [r.wall / r.ideal(latency, jobs) for r in runs]
        ratio = statistics.median(ratios)
        verdict = "met" if ratio <= targets[jobs] else "NOT met"
        print(
            f"  jobs={jobs:<2}  elapsed {statistics.median(r.wall for r in runs):6.2f}s  "
            f"ideal {runs[0].ideal(latency, jobs):6.2f}s  ratio {ratio:.2f}x "
            f"[{spread(ratios)}]  target <= {targets[jobs]}x: {verdict}"
        )
    serial_scaled = serial.wall * first.requests / serial.requests
    speedups = [serial_scaled / r.wall for r in rows[8]]
    speedup = statistics.median(speedups)
    print(
        f"  jobs=1   {serial.wall:.2f}s for {serial.requests} requests, scaled "
        f"{serial_scaled:.2f}s; jobs=8 is {speedup:.1f}x faster [{spread(speedups)}] "
        f"(target >= 10x: {'met' if speedup >= 10 else 'NOT met'})"
    )
    cpu = statistics.median(cpu_per_request)
    print(
        f"  client CPU {cpu:.3f} ms per request [{spread(cpu_per_request)}] "
        f"(target <= 0.6: {'met' if cpu <= 0.6 else 'NOT met'}); reading, journal and "
        "HTTP included"
    )
    floors = [bare_urllib3(workdir, 8, latency, first.requests // 2) for _ in range(args.repeat)]
    floor = statistics.median(floors)
    print(
        f"  bare urllib3 loop (8 threads, POST /result/, nothing else) {floor:.3f} ms CPU per "
        f"request [{spread(floors)}]: junit2af is {cpu / floor:.2f}x the HTTP stack alone"
    )


def adaptive(args: argparse.Namespace, workdir: Path) -> None:
    report = write_report(workdir / "bench.xml", args.adaptive_results, output_every=5)
    latency = args.adaptive_latency_ms
    best: tuple[float, int] | None = None
    for jobs in (16, 32, 64):
        run = one_upload(report, workdir, jobs, latency, f"fixed{jobs}")
        ratio = run.wall / run.ideal(latency, jobs)
        print(f"  jobs={jobs:<2}  elapsed {run.wall:6.2f}s  ratio to its ideal {ratio:.2f}x")
        if best is None or run.wall < best[0]:
            best = (run.wall, jobs)
    assert best is not None
    runs = [one_upload(report, workdir, None, latency, f"adaptive-{n}") for n in range(args.repeat)]
    walls = [r.wall for r in runs]
    wall = statistics.median(walls)
    share = best[0] / wall
    print(
        f"  adaptive elapsed {wall:.2f}s [{spread(walls)}]; best fixed jobs={best[1]} "
        f"{best[0]:.2f}s: adaptive reaches {share:.2f}x of it "
        f"(target >= 0.8x: {'met' if share >= 0.8 else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=["fixed", "adaptive"], default="fixed")
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--serial-results", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--adaptive-results", type=int, default=10000)
    parser.add_argument("--adaptive-latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario == "fixed":
            fixed(args, Path(tmp))
        else:
            adaptive(args, Path(tmp))


if __name__ == "__main__":
    main()

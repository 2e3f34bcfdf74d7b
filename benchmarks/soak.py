"""Soak: one invocation of `junit2af upload` against a fault-injecting server, per seed.

The turbulence of issue 14: 10% 5xx, 5% 429, 3% lost responses, 5% storage errors
(optionally a database outage of --outage-s seconds in the middle). For each seed it
prints the first invocation's exit code, the results missing on the server, the real
duplicates, and what the summary reported (creates in doubt, possible duplicates).

    python benchmarks/soak.py [--results 3000] [--seeds 1,2,3] [--outage-s 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from reportgen import write_report  # noqa: E402

from junit2af.localserver import FaultConfig, LocalServer  # noqa: E402

FAULTS = dict(
    error_rate=0.10,
    rate_429=0.05,
    retry_after=0,
    lost_response_rate=0.03,
    storage_failure_rate=0.05,
)


def soak(seed: int, results: int, outage_s: float, workdir: Path) -> dict:
    report = write_report(workdir / f"report-{seed}.xml", results, output_every=3)
    faults = FaultConfig(seed=seed, **FAULTS)
    with LocalServer(workdir / f"server-{seed}", faults=faults) as server:
        if outage_s:

            def outage() -> None:
                while len(server.request_log) < results:  # about a third of the way
                    time.sleep(0.05)
                server.set_faults(FaultConfig(database_down=True))
                time.sleep(outage_s)
                server.set_faults(faults)

            threading.Thread(target=outage, daemon=True).start()
        env = {
            **os.environ,
            "AF_API_URL": server.base_url,
            "AF_API_KEY": server.api_key,
            "AF_PROJECT_ID": server.project_id,
        }
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "junit2af",
                "upload",
                "--json",
                "-q",
                "--label",
                f"soak {seed}",
                "--journal",
                str(workdir / f"journal-{seed}.sqlite3"),
                str(report),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
        summary = json.loads(done.stdout) if done.stdout.strip() else {}
        names = Counter(r["test_name"] for r in server.admin.results())
    return {
        "seed": seed,
        "exit": done.returncode,
        "missing": results - len(names),
        "duplicates": sum(names.values()) - len(names),
        "in_doubt": summary.get("in_doubt"),
        "possible_duplicates": summary.get("possible_duplicates"),
        "retries": summary.get("retries"),
        "elapsed_s": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=3000)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--outage-s", type=float, default=0.0)
    args = parser.parse_args()
    print(f"{args.results} results; faults {FAULTS}; outage {args.outage_s:g} s")
    print(
        f"{'seed':>4} {'exit':>4} {'missing':>7} {'dups':>5} {'in doubt':>8} "
        f"{'bound':>5} {'retries':>7} {'time':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            row = soak(seed, args.results, args.outage_s, Path(tmp))
            print(
                f"{row['seed']:>4} {row['exit']:>4} {row['missing']:>7} "
                f"{row['duplicates']:>5} {row['in_doubt']!s:>8} "
                f"{row['possible_duplicates']!s:>5} {row['retries']!s:>7} "
                f"{row['elapsed_s']:>5}s"
            )


if __name__ == "__main__":
    main()

"""Parse throughput and memory of the JUnit parser on generated reports.

Prints, for 10k, 100k and 500k test cases (10% failing with a stack, 20% with captured
output): junit2af's time as a ratio of a bare ``lxml.etree.iterparse`` loop over the same
file (measured in the same run), records per second, and the peak RSS of a separate
process that parses the file (``/usr/bin/time -v`` when present, else getrusage).

    python benchmarks/parse_bench.py [--sizes 10000,100000,500000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]


def generate(path: Path, cases: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n')
        per_suite = 1000
        for start in range(0, cases, per_suite):
            out.write(
                f'<testsuite name="pkg.Suite{start // per_suite}" '
                f'timestamp="2025-01-01T00:00:00" tests="{per_suite}">\n'
            )
            for i in range(start, min(start + per_suite, cases)):
                out.write(f'<testcase classname="pkg.Suite{start // per_suite}" '
                          f'name="test_case_{i}" time="0.0{i % 10}">')
                if i % 10 == 3:
                    out.write('<failure message="assert 1 == 2" type="AssertionError">'
                              + "Traceback (most recent call last):\n  File x.py, line 1\n" * 5
                              + "</failure>")
                if i % 5 == 1:
                    out.write("<system-out>" + f"log line {i}\n" * 10 + "</system-out>")
                out.write("</testcase>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


def bare_iterparse(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        for _, element in etree.iterparse(handle, events=("end",), tag="testcase"):
            count += 1
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def junit2af_parse(path: Path) -> int:
    from junit2af.inputs import expand_inputs
    from junit2af.parsers.base import ParseOptions
    from junit2af.reports import read_records

    options = ParseOptions(warn=lambda message: None)
    return sum(1 for _ in read_records(list(expand_inputs([str(path)])), options))


def peak_rss_mb(path: Path) -> float:
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "from benchmarks.parse_bench import junit2af_parse; "
        f"junit2af_parse(__import__('pathlib').Path({str(path)!r}))"
    )
    if os.path.exists("/usr/bin/time"):
        done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code],
                              capture_output=True, text=True, check=True)
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        assert match, done.stderr
        return int(match.group(1)) / 1024
    probe = ("import resource;" + code +
             ";print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1]) / 1024


def median_time(function, path: Path, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = function(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'cases':>8} {'MB':>6} {'bare s':>8} {'junit2af s':>10} {'ratio':>6} "
          f"{'records/s':>10} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory() as workdir:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(workdir) / f"bench-{size}.xml"
            generate(path, size)
            megabytes = path.stat().st_size / 1e6
            bare, bare_count = median_time(bare_iterparse, path, args.repeat)
            ours, our_count = median_time(junit2af_parse, path, args.repeat)
            assert bare_count == our_count == size, (bare_count, our_count)
            rss = peak_rss_mb(path)
            print(f"{size:>8} {megabytes:>6.0f} {bare:>8.2f} {ours:>10.2f} "
                  f"{ours / bare:>5.1f}x {size / ours:>10.0f} {rss:>11.0f}")


if __name__ == "__main__":
    main()

"""Streaming holds for TAP and reportlog: parse a generated ~200 MB stream of each and
print records/s and the peak RSS of the parsing process, next to the peak RSS of a bare
``python -c pass``-sized baseline (the same interpreter importing junit2af, parsing a
tiny stream) measured in the same run.

    python benchmarks/formats_bench.py [--megabytes 200]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[1]


def _tap_group(out: TextIO, number: int) -> None:
    """One subtest of two points (one failing, with YAML), output, and its own point."""
    out.write(f"# Subtest: group {number}\n")
    out.write(f"    ok 1 - child a of {number}\n    not ok 2 - child b of {number}\n")
    out.write(
        "      ---\n      message: values differ\n      duration_ms: 1.5\n"
        "      at: {file: t.js, line: 12}\n      ...\n    1..2\n"
    )
    out.write(f"console output line for {number}\n" * 3)
    out.write(f"not ok {number} - group {number} # time=3ms\n")


def write_tap(path: Path, megabytes: int) -> int:
    """A TAP 14 stream of about ``megabytes``; returns its records (2 a subtest: the
    subtest's own failing point is explained by its failing child)."""
    count = 0
    with open(path, "w") as out:
        out.write("TAP version 14\n")
        while out.tell() < megabytes * 1_000_000:
            count += 1
            _tap_group(out, count)
        out.write(f"1..{count}\n")
    return count * 2


def write_tap_records(path: Path, records: int) -> int:
    """The same stream, of ``records`` records (rounded down to an even number)."""
    groups = records // 2
    with open(path, "w") as out:
        out.write("TAP version 14\n")
        for number in range(1, groups + 1):
            _tap_group(out, number)
        out.write(f"1..{groups}\n")
    return groups * 2


def _reportlog_test(out: TextIO, count: int) -> None:
    """setup, call and teardown reports of one passing test, with captured output."""
    nodeid = f"tests/test_mod.py::test_case_{count}"
    for when in ("setup", "call", "teardown"):
        sections = [["Captured stdout call", f"output of {count}\n" * 5]] if when != "setup" else []
        out.write(
            json.dumps(
                {
                    "$report_type": "TestReport",
                    "nodeid": nodeid,
                    "when": when,
                    "outcome": "passed",
                    "duration": 0.001,
                    "start": 1.7e9 + count,
                    "stop": 1.7e9 + count + 0.001,
                    "location": ["tests/test_mod.py", count, "x"],
                    "keywords": {"test_mod.py": 1},
                    "longrepr": None,
                    "sections": sections,
                    "user_properties": [],
                }
            )
            + "\n"
        )


def _reportlog_ends(out: TextIO, start: bool) -> None:
    if start:
        out.write(json.dumps({"pytest_version": "8.4.2", "$report_type": "SessionStart"}) + "\n")
    else:
        out.write(json.dumps({"exitstatus": 0, "$report_type": "SessionFinish"}) + "\n")


def write_reportlog(path: Path, megabytes: int) -> int:
    """A pytest-reportlog stream of about ``megabytes``; returns its records (tests)."""
    count = 0
    with open(path, "w") as out:
        _reportlog_ends(out, start=True)
        while out.tell() < megabytes * 1_000_000:
            count += 1
            _reportlog_test(out, count)
        _reportlog_ends(out, start=False)
    return count


def write_reportlog_records(path: Path, records: int) -> int:
    """The same stream, of ``records`` tests."""
    with open(path, "w") as out:
        _reportlog_ends(out, start=True)
        for count in range(1, records + 1):
            _reportlog_test(out, count)
        _reportlog_ends(out, start=False)
    return records


CHILD = (
    "import sys, time; sys.path.insert(0, {repo!r});"
    "from junit2af.inputs import expand_inputs;"
    "from junit2af.parsers.base import ParseOptions;"
    "from junit2af.reports import read_records;"
    "t = time.perf_counter();"
    "n = sum(1 for _ in read_records(list(expand_inputs([{path!r}])),"
    " ParseOptions(warn=lambda m: None), fmt={fmt!r}));"
    "print(n, time.perf_counter() - t)"
)


def measure(path: Path, fmt: str) -> tuple[int, float, float]:
    code = CHILD.format(repo=str(REPO), path=str(path), fmt=fmt)
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    records, seconds = done.stdout.split()
    return int(records), float(seconds), rss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, writer, suffix in (
            ("tap", write_tap, "tap"),
            ("reportlog", write_reportlog, "jsonl"),
        ):
            small = Path(tmp) / f"small.{suffix}"
            big = Path(tmp) / f"big.{suffix}"
            writer(small, 1)
            writer(big, args.megabytes)
            _, _, base_rss = measure(small, fmt)
            records, seconds, rss = measure(big, fmt)
            size = big.stat().st_size / 1e6
            print(
                f"{fmt:10} {size:6.0f} MB  {records:8d} records  {records / seconds:8.0f}/s  "
                f"peak RSS {rss:5.0f} MB (1 MB stream: {base_rss:.0f} MB; "
                f"ratio {rss / base_rss:.2f}x)"
            )
            big.unlink()


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f}s")

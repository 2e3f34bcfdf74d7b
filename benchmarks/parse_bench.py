"""Parse speed and memory of ``junit2af parse``, as whole processes, against bare lxml.

Every figure is a ratio or a rate measured in the same run, on the same files:

1. CPU ratio. ``junit2af parse FILE > out.jsonl`` (the whole command: interpreter start,
   imports, reading, records, artifact plans, JSON lines) against a bare
   ``lxml.etree.iterparse(tag="testcase")`` loop over the same file, also a whole process.
   CPU is user + sys of the child (``os.wait4``), in paired runs (bare, ours, bare, ours,
   ...); the median of each with the min-max spread, their ratio, and whether it meets
   the 2.0x target. Also a minimal Python loop (attributes, texts, one orjson line a
   test case, no rules): what any Python parser pays before its rules. Two report shapes
   of 100,000 test cases:

   - ``gradle``: like Gradle's ``outputPerTestCase`` reports, about 126 MB: every test
     case has about 1 KB of ``<system-out>`` (CDATA) and an empty ``<system-err>``,
     10% fail with a 20-frame stack trace;
   - ``sparse``: the earlier shape of this benchmark: 10% failing with a short
     traceback, 20% with 10 lines of output (about 17 MB).

2. Peak RSS (``ru_maxrss`` of the same child) of ``junit2af parse`` on the gradle shape
   for each of ``--sizes`` (the target: at most 50 MB from 10k to 500k test cases).

3. Records per CPU second of ``junit2af parse`` for JUnit (both shapes), TAP and
   pytest-reportlog streams of the same number of records (TAP and reportlog: the
   streams of ``benchmarks/formats_bench.py``).

Children run with bytecode caching on (into a private ``PYTHONPYCACHEPREFIX``, warmed
once), as an installed junit2af runs: compiling 140 modules from source costs about
0.3 s a process.

    python benchmarks/parse_bench.py [--cases 100000] [--sizes 10000,100000,500000]
                                     [--repeat 5] [--skip-rss] [--skip-formats]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.formats_bench import write_reportlog_records, write_tap_records  # noqa: E402

TARGET_RATIO = 2.0
TARGET_RSS_MB = 50

BARE_LOOP = """
import sys
from lxml import etree
count = 0
with open(sys.argv[1], "rb") as handle:
    for _, element in etree.iterparse(handle, events=("end",), tag="testcase"):
        count += 1
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
print(count)
"""


#: The least a Python parser of these reports does per test case on top of the bare loop:
#: read its attributes and its children's texts, build a dict, write one JSON line
#: (orjson). No rules: it shows how much of the 2.0x budget is left for them.
MINIMAL_LOOP = """
import sys, orjson
from lxml import etree
write = sys.stdout.buffer.write
with open(sys.argv[1], "rb") as handle:
    for _, element in etree.iterparse(handle, events=("end",), tag="testcase"):
        get = element.get
        record = {"name": get("classname", "") + "." + get("name", ""),
                  "time": get("time"), "line": element.sourceline}
        for child in element:
            record[child.tag] = [child.get("message"), len(child.text or "")]
        write(orjson.dumps(record) + b"\\n")
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
"""


def generate_gradle(path: Path, cases: int) -> None:
    """Gradle's shape with output per test case: about 1.26 KB of XML a test case."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        per_suite = 100
        for start in range(0, cases, per_suite):
            number = start // per_suite
            suite = f"com.example.pkg{number % 50}.Suite{number}Test"
            count = min(per_suite, cases - start)
            out.write(
                f'  <testsuite name="{suite}" tests="{count}" skipped="0" '
                f'failures="{sum(1 for i in range(start, start + count) if i % 10 == 3)}" '
                f'errors="0" timestamp="2025-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}" '
                f'hostname="ci-runner" time="1.5">\n  <properties/>\n'
            )
            for i in range(start, start + count):
                out.write(
                    f'  <testcase name="shouldDoThing{i}WhenCondition()" classname="{suite}" '
                    f'time="0.0{i % 10}{i % 7}">\n'
                )
                if i % 10 == 3:
                    message = (
                        f"org.opentest4j.AssertionFailedError: expected: &lt;{i}&gt; "
                        f"but was: &lt;{i + 1}&gt;"
                    )
                    frames = "".join(
                        "\tat org.junit.jupiter.api.AssertionUtils.fail"
                        f"(AssertionUtils.java:{k}{i % 100})\n"
                        for k in range(20)
                    )
                    out.write(
                        f'    <failure message="{message}" '
                        f'type="org.opentest4j.AssertionFailedError">{message}\n{frames}'
                        "</failure>\n"
                    )
                lines = "".join(
                    f"2025-01-01 00:00:{k:02d}.123 INFO  [main] c.e.Service{k} - "
                    f"handling request {i}-{k} ok\n"
                    for k in range(11)
                )
                out.write(f"    <system-out><![CDATA[{lines}]]></system-out>\n")
                out.write("    <system-err><![CDATA[]]></system-err>\n  </testcase>\n")
            out.write("  </testsuite>\n")
        out.write("</testsuites>\n")


def generate_sparse(path: Path, cases: int) -> None:
    """The benchmark's earlier shape: little output (about 170 bytes a test case)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n')
        per_suite = 1000
        for start in range(0, cases, per_suite):
            out.write(
                f'<testsuite name="pkg.Suite{start // per_suite}" '
                f'timestamp="2025-01-01T00:00:00" tests="{per_suite}">\n'
            )
            for i in range(start, min(start + per_suite, cases)):
                out.write(
                    f'<testcase classname="pkg.Suite{start // per_suite}" '
                    f'name="test_case_{i}" time="0.0{i % 10}">'
                )
                if i % 10 == 3:
                    out.write(
                        '<failure message="assert 1 == 2" type="AssertionError">'
                        + "Traceback (most recent call last):\n  File x.py, line 1\n" * 5
                        + "</failure>"
                    )
                if i % 5 == 1:
                    out.write("<system-out>" + f"log line {i}\n" * 10 + "</system-out>")
                out.write("</testcase>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


@dataclass
class Run:
    cpu: float  # user + sys seconds of the child
    rss_mb: float  # peak RSS of the child
    lines: int  # what it printed: records (junit2af) or the count (bare loop)


#: Runs a command and writes its exit status, user and sys CPU seconds and peak RSS (KB).
#: The measuring process is this small one, not the benchmark: Linux counts the RSS a
#: process had when it forked into its child's ``ru_maxrss``.
MEASURE = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime} {usage.ru_stime} "
                 f"{usage.ru_maxrss}")
"""


class Runner:
    """Runs children with a warm private bytecode cache; measures them with wait4."""

    def __init__(self, workdir: Path) -> None:
        self.env = dict(os.environ)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
        self.out = workdir / "out.jsonl"
        self.junit2af = [sys.executable, "-m", "junit2af", "parse"]

    def run(self, command: list[str]) -> Run:
        usage = self.out.with_suffix(".usage")
        with open(self.out, "wb") as sink:
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, str(usage), *command],
                stdout=sink,
                stderr=subprocess.PIPE,
                env=self.env,
                check=False,
            )
        status, user, system, rss = usage.read_text().split()
        if done.returncode != 0 or status != "0":
            raise SystemExit(f"{command} failed ({status}): {done.stderr.decode()}")
        lines = 0
        with open(self.out, "rb") as output:
            for block in iter(lambda: output.read(1 << 20), b""):
                lines += block.count(b"\n")
        if command[:3] == [sys.executable, "-c", BARE_LOOP]:
            lines = int(self.out.read_text())
        return Run(float(user) + float(system), int(rss) / 1024, lines)

    def ours(self, path: Path) -> Run:
        return self.run([*self.junit2af, str(path)])

    def bare(self, path: Path) -> Run:
        return self.run([sys.executable, "-c", BARE_LOOP, str(path)])

    def minimal(self, path: Path) -> Run:
        return self.run([sys.executable, "-c", MINIMAL_LOOP, str(path)])


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def compare(runner: Runner, path: Path, cases: int, repeat: int) -> tuple[float, float]:
    """Paired runs; prints the medians, spreads and ratio. Returns (our CPU, ratio)."""
    bare, ours, minimal = [], [], []
    for _ in range(repeat):
        run = runner.bare(path)
        assert run.lines == cases, (run.lines, cases)
        bare.append(run.cpu)
        run = runner.minimal(path)
        assert run.lines == cases, (run.lines, cases)
        minimal.append(run.cpu)
        run = runner.ours(path)
        assert run.lines == cases, (run.lines, cases)
        ours.append(run.cpu)
    ratio = statistics.median(ours) / statistics.median(bare)
    pairs = sorted(o / b for o, b in zip(ours, bare, strict=True))
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"  bare iterparse loop CPU   {spread(bare)}")
    print(
        f"  minimal Python loop CPU   {spread(minimal)}  "
        f"{statistics.median(minimal) / statistics.median(bare):.2f}x the bare loop "
        "(attributes, texts, one orjson line a case; no rules)"
    )
    print(f"  junit2af parse CPU        {spread(ours)}")
    print(
        f"  ratio {ratio:.2f}x (paired runs {pairs[0]:.2f}-{pairs[-1]:.2f}x): "
        f"{verdict} the {TARGET_RATIO:.1f}x target"
    )
    return statistics.median(ours), ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="for the CPU ratio")
    parser.add_argument("--sizes", default="10000,100000,500000", help="for peak RSS")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-formats", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="junit2af-bench-") as tmp:
        workdir = Path(tmp)
        runner = Runner(workdir)
        rates: dict[str, float] = {}
        for shape, generate in (("gradle", generate_gradle), ("sparse", generate_sparse)):
            path = workdir / f"{shape}-{args.cases}.xml"
            generate(path, args.cases)
            runner.ours(path)  # warms the bytecode cache (and the page cache)
            megabytes = path.stat().st_size / 1e6
            print(f"JUnit, {shape} shape: {args.cases} test cases, {megabytes:.0f} MB")
            cpu, _ = compare(runner, path, args.cases, args.repeat)
            rates[f"junit ({shape})"] = args.cases / cpu
            path.unlink()
        if not args.skip_rss:
            print("Peak RSS of junit2af parse (gradle shape):")
            for size in (int(s) for s in args.sizes.split(",")):
                path = workdir / f"rss-{size}.xml"
                generate_gradle(path, size)
                run = runner.ours(path)
                assert run.lines == size, (run.lines, size)
                verdict = "meets" if run.rss_mb <= TARGET_RSS_MB else "MISSES"
                print(
                    f"  {size:>7} test cases {path.stat().st_size / 1e6:5.0f} MB: "
                    f"{run.rss_mb:5.1f} MB ({verdict} the {TARGET_RSS_MB} MB target; "
                    f"{run.cpu:.1f} s CPU)"
                )
                path.unlink()
        if not args.skip_formats:
            for name, write, suffix in (
                ("tap", write_tap_records, "tap"),
                ("reportlog", write_reportlog_records, "jsonl"),
            ):
                path = workdir / f"records.{suffix}"
                records = write(path, args.cases)
                cpus = []
                for _ in range(max(1, args.repeat // 2)):
                    run = runner.ours(path)
                    assert run.lines == records, (run.lines, records)
                    cpus.append(run.cpu)
                rates[name] = records / statistics.median(cpus)
                path.unlink()
        print("Records per CPU second of junit2af parse (whole process):")
        junit = rates["junit (gradle)"]
        for name, rate in rates.items():
            note = ""
            if name in ("tap", "reportlog"):
                verdict = "meets" if rate >= junit else "MISSES"
                note = f"  {rate / junit:.2f}x JUnit (gradle): {verdict} the 1.0x target"
            print(f"  {name:16} {rate:8.0f}/s{note}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

"""Time and peak memory of the .NET parsers (TRX, NUnit 3, xUnit.net v2) on big reports.

Generates a report of about ``--mb`` megabytes per format (10% failing with a stack, every
test with captured output; TRX writes its definitions after its results, as VSTest does),
then parses it in a separate process and prints records, seconds, MB/s and peak RSS.

    python benchmarks/dotnet_bench.py [--mb 500] [--formats trx,nunit3,xunit2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

OUTPUT = "line of captured output from the test, long enough to matter\n" * 16
STACK = "   at Ns.Fixture.Test() in C:\\src\\Fixture.cs:line 42\n" * 8


def _trx(out: TextIO, count: int) -> None:
    ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"
    out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<TestRun name="bench" xmlns="{ns}">\n')
    out.write("<Results>\n")
    for i in range(count):
        failed = i % 10 == 3
        error = (
            f"<ErrorInfo><Message>Assert failed {i}</Message><StackTrace>{STACK}</StackTrace>"
            "</ErrorInfo>"
            if failed
            else ""
        )
        out.write(
            f'<UnitTestResult executionId="e{i}" testId="t{i:08d}" testName="Test_{i}" '
            f'duration="00:00:00.0100000" startTime="2025-01-01T00:00:00.0000000+00:00" '
            f'outcome="{"Failed" if failed else "Passed"}"><Output><StdOut>{OUTPUT}</StdOut>'
            f"{error}</Output></UnitTestResult>\n"
        )
    out.write("</Results>\n<TestDefinitions>\n")
    for i in range(count):
        out.write(
            f'<UnitTest name="Test_{i}" storage="c:\\b\\Tests.dll" id="t{i:08d}">'
            f'<TestMethod className="Ns.Fixture{i // 100}" name="Test_{i}"/></UnitTest>\n'
        )
    out.write("</TestDefinitions>\n</TestRun>\n")


def _nunit3(out: TextIO, count: int) -> None:
    out.write('<?xml version="1.0"?>\n<test-run start-time="2025-01-01 00:00:00Z">\n')
    out.write('<test-suite type="Assembly" name="Tests.dll">\n')
    for i in range(count):
        if i % 100 == 0:
            if i:
                out.write("</test-suite>\n")
            out.write(f'<test-suite type="TestFixture" fullname="Ns.F{i // 100}" name="F">\n')
        failed = i % 10 == 3
        failure = (
            f"<failure><message>boom {i}</message><stack-trace>{STACK}</stack-trace></failure>"
            if failed
            else ""
        )
        out.write(
            f'<test-case fullname="Ns.F{i // 100}.T{i}" name="T{i}" duration="0.01" '
            f'result="{"Failed" if failed else "Passed"}">{failure}'
            f"<output><![CDATA[{OUTPUT}]]></output></test-case>\n"
        )
    out.write("</test-suite>\n</test-suite>\n</test-run>\n")


def _xunit2(out: TextIO, count: int) -> None:
    out.write('<?xml version="1.0"?>\n<assemblies><assembly name="Tests.dll" ')
    out.write('run-date="2025-01-01" run-time="00:00:00">\n<collection name="c">\n')
    for i in range(count):
        failed = i % 10 == 3
        failure = (
            f"<failure><message>boom {i}</message><stack-trace>{STACK}</stack-trace></failure>"
            if failed
            else ""
        )
        out.write(
            f'<test name="Ns.C.T{i}" type="Ns.C" method="T{i}" time="0.01" '
            f'result="{"Fail" if failed else "Pass"}">{failure}<output>{OUTPUT}</output></test>\n'
        )
    out.write("</collection>\n</assembly></assemblies>\n")


WRITERS: dict[str, tuple[Callable[[TextIO, int], None], int]] = {
    # bytes a test costs in each format, to reach the size asked for
    "trx": (_trx, 1460),
    "nunit3": (_nunit3, 1250),
    "xunit2": (_xunit2, 1200),
}

CHILD = """
import sys, time, resource
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records
start = time.perf_counter()
count = sum(1 for _ in read_records(list(expand_inputs([sys.argv[1]])), ParseOptions(warn=print)))
seconds = time.perf_counter() - start
print(count, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--formats", default="trx,nunit3,xunit2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.formats.split(","):
            writer, per_test = WRITERS[name]
            path = Path(tmp) / f"bench.{name}.xml"
            started = time.perf_counter()
            with open(path, "w", encoding="utf-8") as out:
                writer(out, args.mb * 1024 * 1024 // per_test)
            size_mb = path.stat().st_size / 1024 / 1024
            written = time.perf_counter() - started
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
            )
            count, seconds, rss_kb = done.stdout.split()[-3:]
            print(
                f"{name:7} {size_mb:7.0f} MB  {int(count):8d} records  {float(seconds):6.1f} s "
                f"({size_mb / float(seconds):5.1f} MB/s)  peak RSS {int(rss_kb) // 1024} MB  "
                f"(written in {written:.0f} s)"
            )
            path.unlink()


if __name__ == "__main__":
    main()

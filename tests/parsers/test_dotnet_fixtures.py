"""Every .NET fixture read with the counts its producer (or the repository it comes from)
expects. The golden files hold the full records; this table says where each count is from,
so a golden refresh cannot quietly change one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# fixture: (records, Passed, Failed, Skipped, synthetic records, where the counts come from)
EXPECTED = {
    "trx/dorny-xunit.trx": (11, 5, 5, 1, 0, "dorny's __outputs__/dotnet-trx.md; <Counters>"),
    "trx/mstest-vs2010-pickles.trx": (4, 3, 1, 0, 0, "<Counters total=4 passed=3 failed=1>"),
    "trx/dorny-run-aborted.trx": (2, 1, 1, 0, 1, "<Counters total=1 passed=1>, outcome Failed"),
    "nunit/dorny-dotnet-nunit.xml": (9, 3, 5, 1, 0, "<test-run total=9 passed=3 failed=5>"),
    # 3 skipped + 1 inconclusive are Skipped
    "nunit/nunit3-mock-assembly.xml": (18, 12, 2, 4, 0, "<test-run total=18 passed=12 ...>"),
    # 30 passed + 2 warnings; 14 failed + 2 OneTimeTearDown failures; 6 skipped (2 explicit)
    # + 6 inconclusive; total=56 leaves the 2 explicit tests out
    "nunit/nunit3-console-setup-teardown.xml": (60, 32, 16, 12, 2, "<test-run> totals"),
    "nunit/nunit2-mono-failure.xml": (3, 2, 1, 0, 0, "EnricoMi NUnit-failure.results.json"),
    "nunit/nunit2-ignored.xml": (3, 1, 0, 2, 0, "EnricoMi NUnit-ignored.results.json"),
    "nunit/nunit2-unicode.xml": (1, 0, 1, 0, 0, "the one test case (header copied: total=4)"),
    "nunit/nunit2-ieunit-us-date.xml": (6, 6, 0, 0, 0, "<test-results total=6 failures=0>"),
    "nunit/nunit2-6-categories-trimmed.xml": (2, 2, 0, 0, 0, "2 cases left of total=75"),
    "xunit-net/xunit-plugin-simple.xml": (3, 1, 1, 1, 0, "<assembly total=3 passed=1 ...>"),
    "xunit-net/v2-invalid-run-date.xml": (1, 0, 1, 0, 0, "<assembly total=1 failed=1>"),
    "xunit-net/xunit1-pickles.xml": (4, 3, 1, 0, 0, "<assembly total=4 passed=3 failed=1>"),
    "xunit-net/go2xunit-v1-fail.xml": (4, 3, 1, 0, 0, "<assembly total=4 passed=3 failed=1>"),
    "xunit-net/go2xunit-v1-subtests.xml": (7, 6, 1, 0, 0, "<assembly total=7 passed=6>"),
    "xunit-net/go2xunit-v1-setup-miss.xml": (3, 0, 1, 2, 0, "<assembly failed=1 skipped=2>"),
}


def test_every_dotnet_fixture_has_an_expectation():
    found = {
        f"{d}/{p.name}"
        for d in ("trx", "nunit", "xunit-net")
        for p in (FIXTURES / d).iterdir()
        if p.is_file() and ".expected." not in p.name and p.suffix != ".md"
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("relpath", sorted(EXPECTED))
def test_fixture_counts(relpath):
    records, passed, failed, skipped, synthetic, _source = EXPECTED[relpath]
    path = FIXTURES / relpath
    got = list(read_records(list(expand_inputs([str(path)])), ParseOptions(warn=lambda m: None)))
    counts = Counter(r.status.value for r in got)
    assert len(got) == records
    assert (counts["Passed"], counts["Failed"], counts["Skipped"]) == (passed, failed, skipped)
    assert sum(r.synthetic for r in got) == synthetic

"""The .NET reports of the shared corpus (TRX, NUnit): parsed with the counts the source
repositories expect (their ``.results.json`` / ``.md`` outputs, recorded in INDEX.tsv)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from junit2af.inputs import expand_inputs
from junit2af.parsers import detect
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")

#: corpus producers read by the .NET parsers, and the format each must be detected as
DOTNET = {
    "NUnit 3 (native test-run XML)": ("nunit2", "nunit3"),
    "dotnet test (TRX logger)": ("trx",),
}


def _rows() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "INDEX.tsv", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [r for r in rows if r["producer"] in DOTNET]


def _int(value: str) -> int:
    return int(value) if value.strip() else 0


def test_the_corpus_has_dotnet_reports():
    if CORPUS.is_dir():
        assert len(_rows()) >= 2


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["relpath"])
def test_dotnet_corpus_file(row):
    path = CORPUS / row["relpath"]
    # NUnit-simple.xml sits in an "nunit3" folder upstream but is NUnit 2 (<test-results>).
    assert detect(path.read_bytes()[:8192]).format.name in DOTNET[row["producer"]]
    warnings: list[str] = []
    records = list(
        read_records(list(expand_inputs([str(path)])), ParseOptions(warn=warnings.append))
    )
    counts = Counter(r.status.value for r in records)
    assert "counts_from=expected" in row["notes"]
    assert len(records) == _int(row["tests"])
    assert counts["Failed"] == _int(row["failures"]) + _int(row["errors"])
    assert counts["Skipped"] + counts["KnownFail"] == _int(row["skipped"])
    assert all(2 <= len(r.test_name) <= 255 for r in records)

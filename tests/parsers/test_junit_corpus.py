"""Every JUnit (and other-XML) report of the shared corpus: parsed with the expected counts
where the corpus has an expected result, or refused with a clear error where it is broken."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")

BROKEN_MARKS = ("NOT WELL-FORMED", "TRUNCATED", "EMPTY FILE", "NOT XML")

#: Where junit2af's per-test rules knowingly differ from the corpus's expected counts.
#: (tests, Failed, Skipped + KnownFail) as junit2af counts them, and why.
DELIBERATE_DIFFERENCES = {
    # The expected result counts every result element ("runs"); junit2af makes one record
    # per test case: error wins, and <skipped/> + <failure> is an expected failure.
    "junit/publish-unit-test-result-action/junit.multiresult.xml": (4, 1, 2),
    # The header claims 6 tests but holds no test case: one synthetic Failed record says
    # so instead of inventing six.
    "junit/publish-unit-test-result-action/no-cases-but-tests.xml": (1, 1, 0),
    # status="disabled" test cases did not run: Skipped, where the expected result counts
    # them as passed.
    "junit/publish-unit-test-result-action/tst/disabled.xml": (31, 20, 5),
}


def _rows(*formats: str) -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "INDEX.tsv", newline="") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r["format"] in formats]


def _read(path: Path):
    return list(read_records(list(expand_inputs([str(path)])), ParseOptions(warn=lambda m: None)))


def _int(value: str) -> int:
    return int(value) if value.strip() else 0


@pytest.mark.parametrize("row", _rows("junit"), ids=lambda r: r["relpath"])
def test_junit_corpus_file(row):
    path = CORPUS / row["relpath"]
    notes = row["notes"]
    if any(mark in notes for mark in BROKEN_MARKS):
        with pytest.raises(InputError) as caught:
            _read(path)
        message = str(caught.value)
        assert message.startswith(str(path))
        if "EMPTY FILE" not in notes:
            assert caught.value.line is not None, message
        return

    records = _read(path)
    counts = Counter(r.status.value for r in records)
    got = (len(records), counts["Failed"], counts["Skipped"] + counts["KnownFail"])
    if row["relpath"] in DELIBERATE_DIFFERENCES:
        assert got == DELIBERATE_DIFFERENCES[row["relpath"]]
        return
    if "counts_from=expected" not in notes:
        # Header counts are the producer's claims, sometimes wrong on purpose: the file
        # must parse, and every record must be valid for the API.
        assert all(2 <= len(r.test_name) <= 255 for r in records)
        return
    assert got[0] == _int(row["tests"]), got
    assert got[1] == _int(row["failures"]) + _int(row["errors"]), got
    if row["skipped"].strip():
        assert got[2] == _int(row["skipped"]), got


@pytest.mark.parametrize(
    ("relpath", "looks_like"),
    [
        ("other/publish-unit-test-result-action/non-junit.xml", "<suites>"),
    ],
)
def test_other_formats_are_refused_by_name(relpath, looks_like):
    with pytest.raises(UnsupportedFormatError) as caught:
        _read(CORPUS / relpath)
    assert looks_like in str(caught.value)
    assert "not supported: looks like" in str(caught.value)

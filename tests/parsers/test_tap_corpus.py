"""Every TAP stream of the shared corpus against the counts tap-parser gave (INDEX.tsv).

Counted: top-level (``tap_depth`` 0), non-synthetic records, and the Failed among them.
Where junit2af's documented rules (notes/tap.md) knowingly differ from tap-parser, the
table below says what junit2af gives and why. Synthetic records are checked for every
file: each one a report gets must be one this table expects, and no other.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from junit2af.errors import InputError
from junit2af.parsers import tap
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

# <repo>/../shared/corpus: the corpus sits beside the repository, not in it.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "INDEX.tsv").is_file(), reason=f"no shared corpus at {CORPUS}"
)

#: relpath -> (top-level points, Failed among them) where junit2af differs, and why.
DELIBERATE_DIFFERENCES = {
    # tap-parser fails the points numbered past the plan; junit2af keeps them as they
    # are and adds one "plan exceeded" record.
    "tap/tapjs/bignum.tap": (4, 0),
    "tap/tapjs/duplicates.tap": (11, 0),
    # A missing test or plan is one synthetic record, not a failure of a test point.
    "tap/tapjs/die_unfinished.tap": (3, 0),
    "tap/tapjs/missing.tap": (5, 0),
    "tap/tapjs/no-plan.tap": (4, 0),
    # 'not ok # TODO' is KnownFail (todo_passed false), not Failed.
    "tap/tapjs/not-ok-todo.tap": (4, 0),
    # The plan sits mid-stream; junit2af keeps the 5 points after it (tap-parser stops).
    "tap/tapjs/out_of_order.tap": (15, 0),
    # 'pragma +strict' is not enforced: non-TAP lines are output, never failures.
    "tap/tapjs/pragma-mid-child-strict.tap": (1, 0),
    # Catch2's plan (2281) counts lines it does not print as test points ('warning N'
    # and others): 2271 points, and a "missing tests" record.
    "tap/Catch2/tap.sw.approved.tap": (2271, 165),
}

#: relpath -> the synthetic records' reasons (every other file: none).
SYNTHETIC = {
    "tap/Catch2/tap.sw.approved.tap": ["missing tests"],
    "tap/tapjs/bailout.tap": ["bail out"],
    "tap/tapjs/bignum.tap": ["plan exceeded"],
    "tap/tapjs/die_unfinished.tap": ["missing tests"],
    "tap/tapjs/duplicates.tap": ["plan exceeded"],
    "tap/tapjs/missing.tap": ["missing tests"],
    "tap/tapjs/no-plan.tap": ["no plan"],
    "tap/tapjs/skipall.tap": ["skip all"],
}


def _rows() -> list[dict[str, str]]:
    if not (CORPUS / "INDEX.tsv").is_file():
        return []
    with open(CORPUS / "INDEX.tsv", newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r["format"] == "tap"]


def _parse(relpath: str) -> list:
    with open(CORPUS / relpath, "rb") as stream:
        return list(tap.parse(stream, SourceRef(relpath), ParseOptions(warn=lambda m: None)))


def test_every_tap_file_of_the_corpus_has_a_row():
    files = {
        str(p.relative_to(CORPUS))
        for p in (CORPUS / "tap").rglob("*")
        if p.is_file() and ".expected." not in p.name
    }
    assert files == {r["relpath"] for r in _rows()}


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["relpath"])
def test_tap_corpus_file(row):
    relpath = row["relpath"]
    if "EMPTY FILE" in row["notes"] or "BROKEN" in row["notes"]:
        with pytest.raises(InputError, match="empty file|not a TAP stream"):
            _parse(relpath)
        return
    records = _parse(relpath)
    top = [r for r in records if r.metadata.get("tap_depth") == 0 and not r.synthetic]
    got = (len(top), sum(r.status is Status.FAILED for r in top))
    assert [r.metadata["reason"] for r in records if r.synthetic] == SYNTHETIC.get(relpath, [])
    assert all(2 <= len(r.test_name) <= 255 for r in records)
    if relpath in DELIBERATE_DIFFERENCES:
        assert got == DELIBERATE_DIFFERENCES[relpath]
        return
    if "counts_from=expected" in row["notes"] or row["tests"].strip():
        assert got[0] == int(row["tests"])
    if row["failures"].strip():
        assert got[1] == int(row["failures"])

"""Every TAP stream of the shared corpus against the counts tap-parser gave.

Two figures per file. The top-level test points (and the failed ones among them), as the
parser's :class:`TapSummary` says, against INDEX.tsv (tap-parser's FinalResults count
top-level points only). And the records, which are the leaves (a point whose subtest held
points is a group, not a test: notes/tap.md), against :data:`LEAVES`, the leaf counts
tap-parser 18.3.4 gives (``fixtures/generate/tap-parser-leaves/run.sh``). Where
junit2af's documented rules knowingly differ from tap-parser, the tables below say what
junit2af gives and why. Synthetic records are checked for every file: each one a report
gets must be one this table expects, and no other.
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

#: relpath -> (leaves, failed leaves) by tap-parser 18.3.4, for files with subtests or
#: where they differ from the top-level figures (every other file: the INDEX.tsv ones).
LEAVES = {
    "tap/tapjs/buffered-nested-failure-top-ok.tap": (1, 1),  # a failing child, parent ok
    "tap/tapjs/indented-stdout-noise.tap": (1, 0),  # the group failed, its one test passed
    "tap/tapjs/perl-test2-buffered.tap": (9, 1),
    "tap/tapjs/subtest-buffer.tap": (6, 0),
    "tap/tapjs/subtest-unfinished.tap": (2, 0),
    "tap/tapjs/todo.tap": (9, 0),
    # tap-parser stops at the mid-stream plan (see DELIBERATE_DIFFERENCES); 15 read.
    "tap/tapjs/out_of_order.tap": (15, 0),
    # tap-parser's own failures here are plan problems, one synthetic record each.
    "tap/tapjs/bignum.tap": (4, 0),
    "tap/tapjs/duplicates.tap": (11, 0),
    "tap/tapjs/die_unfinished.tap": (3, 0),
    "tap/tapjs/missing.tap": (5, 0),
    "tap/tapjs/no-plan.tap": (4, 0),
    "tap/tapjs/not-ok-todo.tap": (4, 0),
    "tap/tapjs/pragma-mid-child-strict.tap": (1, 0),
    "tap/Catch2/tap.sw.approved.tap": (2271, 165),
}

#: relpath -> the synthetic records' reasons (every other file: none).
SYNTHETIC = {
    "tap/Catch2/tap.sw.approved.tap": ["missing tests"],
    "tap/tapjs/bailout.tap": ["bail out"],
    "tap/tapjs/bignum.tap": ["plan exceeded"],
    "tap/tapjs/die_unfinished.tap": ["missing tests"],
    "tap/tapjs/duplicates.tap": ["plan exceeded"],
    # 'not ok 1 - index.js' (a timeout, per its YAML) whose one test passed: the group's
    # own failure is one record, so the run is not green.
    "tap/tapjs/indented-stdout-noise.tap": ["group failed"],
    "tap/tapjs/missing.tap": ["missing tests"],
    "tap/tapjs/no-plan.tap": ["no plan"],
    "tap/tapjs/skipall.tap": ["skip all"],
}


def _rows() -> list[dict[str, str]]:
    if not (CORPUS / "INDEX.tsv").is_file():
        return []
    with open(CORPUS / "INDEX.tsv", newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r["format"] == "tap"]


def _parse(relpath: str, summary: tap.TapSummary | None = None) -> list:
    with open(CORPUS / relpath, "rb") as stream:
        options = ParseOptions(warn=lambda m: None)
        return list(tap.parse(stream, SourceRef(relpath), options, summary=summary))


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
    summary = tap.TapSummary()
    records = _parse(relpath, summary)
    top = (summary.top_level, summary.top_level_failed)
    assert [r.metadata["reason"] for r in records if r.synthetic] == SYNTHETIC.get(relpath, [])
    assert all(2 <= len(r.test_name) <= 255 for r in records)
    leaves = [r for r in records if not r.synthetic]
    got_leaves = (len(leaves), sum(r.status is Status.FAILED for r in leaves))
    if relpath in DELIBERATE_DIFFERENCES:
        assert top == DELIBERATE_DIFFERENCES[relpath]
    else:
        if "counts_from=expected" in row["notes"] or row["tests"].strip():
            assert top[0] == int(row["tests"])
        if row["failures"].strip():
            assert top[1] == int(row["failures"])
    assert got_leaves == LEAVES.get(relpath, top)

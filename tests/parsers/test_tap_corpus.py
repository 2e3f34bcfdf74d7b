"""Every TAP stream of the shared corpus: top-level test points and failures as tap-parser
counted them (INDEX.tsv), except where junit2af's documented rules knowingly differ."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from junit2af.errors import InputError
from junit2af.inputs import expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.reports import read_records

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")

#: (top-level points, failures) as junit2af counts them, where tap-parser differs, and why.
#: junit2af's failures: Failed points, `not ok # TODO` points, and synthetic Failed records.
DELIBERATE_DIFFERENCES = {
    # 'Bail out!' is never green: one synthetic Failed record (tap-parser: bail, 0 failures).
    "tap/tapjs/bailout.tap": (3, 1),
    # Points numbered past the plan: one "plan exceeded" record (tap-parser: one per point).
    "tap/tapjs/bignum.tap": (4, 1),
    # The plan sits mid-stream; junit2af keeps the 5 points after it (tap-parser stops).
    "tap/tapjs/out_of_order.tap": (15, 0),
    # 'pragma +strict' is not enforced: non-TAP lines are output, never failures.
    "tap/tapjs/pragma-mid-child-strict.tap": (1, 0),
    # Catch2 numbers its warnings too: 2281 planned, 2271 test points, one synthetic record.
    "tap/Catch2/tap.sw.approved.tap": (2271, 166),
}


def _rows() -> list[dict[str, str]]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "INDEX.tsv", newline="") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r["format"] == "tap"]


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["relpath"])
def test_tap_corpus_file(row):
    path = CORPUS / row["relpath"]
    if "EMPTY FILE" in row["notes"]:
        with pytest.raises(InputError, match="empty file"):
            list(read_records(list(expand_inputs([str(path)])), ParseOptions()))
        return
    records = list(
        read_records(list(expand_inputs([str(path)])), ParseOptions(warn=lambda m: None), fmt="tap")
    )
    top = [r for r in records if r.metadata.get("tap_depth") == 0 and not r.synthetic]
    failures = sum(
        1
        for r in top
        if r.status.value == "Failed"
        or (r.status.value == "KnownFail" and r.metadata.get("todo_passed") is False)
    ) + sum(1 for r in records if r.synthetic and r.status.value == "Failed")
    got = (len(top), failures)
    if row["relpath"] in DELIBERATE_DIFFERENCES:
        assert got == DELIBERATE_DIFFERENCES[row["relpath"]]
        return
    assert got[0] == int(row["tests"])
    if row["failures"].strip():
        assert got[1] == int(row["failures"])
    assert all(2 <= len(r.test_name) <= 255 for r in records)

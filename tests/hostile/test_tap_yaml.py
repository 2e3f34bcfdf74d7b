"""YAML bombs in TAP diagnostic blocks (issue #11 item 2): refused before PyYAML builds
anything, in well under a second, with a warning, the block kept as text."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from junit2af.cli import main
from junit2af.parsers import tap
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOMBS = {
    # nine levels of ten aliases: 10^9 nodes from 579 bytes
    "tap-yaml-alias-bomb.tap": "expand to more than",
    # merge keys '<<: [*m, *m]' 24 levels deep: PyYAML < 6.0.3 copies pairs exponentially
    "tap-yaml-merge-bomb.tap": "expand to more than",
    # '&l [a, *l]': a node holding itself
    "tap-yaml-self-alias.tap": "refers to a node that holds it",
}


@pytest.fixture
def no_construction(monkeypatch):
    """Fail the test if PyYAML is asked to construct anything."""
    calls = []

    def refuse(self, node):
        calls.append(node)
        raise AssertionError("a YAML bomb reached the constructor")

    monkeypatch.setattr(tap._SafeLoader, "construct_document", refuse)
    return calls


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_yaml_bomb_is_refused_before_construction(name, no_construction):
    warnings: list[str] = []
    data = (FIXTURES / name).read_bytes()
    started = time.perf_counter()
    records = list(tap.parse(io.BytesIO(data), SourceRef(name), ParseOptions(warn=warnings.append)))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{name} took {elapsed:.2f}s"
    assert no_construction == []
    (record,) = records
    assert "yaml" not in record.metadata
    assert "  ---" not in record.failure_text and "&" in record.failure_text  # kept as text
    assert len(warnings) == 1 and BOMBS[name] in warnings[0]
    assert warnings[0].startswith(f"{name}:3: YAML diagnostics kept as text")


def test_ordinary_aliases_within_the_budget_are_still_parsed():
    text = (
        "1..1\nnot ok 1 - x\n  ---\n  base: &b {k: 1}\n  copy: *b\n  more: {<<: *b, j: 2}\n  ...\n"
    )
    warnings: list[str] = []
    (record,) = tap.parse(
        io.BytesIO(text.encode()), SourceRef("r.tap"), ParseOptions(warn=warnings.append)
    )
    assert record.metadata["yaml"] == {"base": {"k": 1}, "copy": {"k": 1}, "more": {"k": 1, "j": 2}}
    assert warnings == []


def test_many_bomb_blocks_give_one_warning_and_a_count(no_construction):
    block = (FIXTURES / "tap-yaml-alias-bomb.tap").read_text().split("\n", 3)[3]
    text = "TAP version 13\n1..200\n" + "".join(
        f"not ok {i} - laughs\n{block}" for i in range(1, 201)
    )
    warnings: list[str] = []
    started = time.perf_counter()
    records = list(
        tap.parse(io.BytesIO(text.encode()), SourceRef("r.tap"), ParseOptions(warn=warnings.append))
    )
    assert time.perf_counter() - started < 2
    assert len(records) == 200 and no_construction == []
    assert len(warnings) == 2 and "200 YAML diagnostic blocks kept as text" in warnings[1]


def test_cli_parse_of_a_yaml_bomb_exits_0_with_the_warning():
    result = CliRunner().invoke(main, ["parse", str(FIXTURES / "tap-yaml-alias-bomb.tap")])
    assert result.exit_code == 0, result.output
    assert "YAML diagnostics kept as text" in result.output
    assert '"test_name": "laughs"' in result.output

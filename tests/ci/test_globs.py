"""A ``**`` pattern the shell expanded before junit2af saw it (issue #18, item 3d).

The argument lists are made by a real bash, as a user's unquoted pattern gives them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from junit2af.globs import shell_expansion_warning

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REPORT = (FIXTURES / "junit" / "surefire.xml").read_text("utf-8")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def bash_expands(cwd: Path, words: str, *, globstar: bool = False) -> list[str]:
    """What bash passes to a command for ``junit2af upload <words>``."""
    options = "shopt -s globstar; " if globstar else ""
    script = f"{options}printf '%s\\0' {words}"
    out = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script], cwd=cwd, capture_output=True, check=True
    ).stdout
    return [word.decode() for word in out.split(b"\0") if word]


def write(root: Path, *names: str, text: str = REPORT) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readmes_one_of_three_is_said(tree):
    write(
        tree,
        "build/test-results/test/TEST-a.xml",
        "build/test-results/integrationTest/nested/TEST-b.xml",
        "build/test-results/integrationTest/nested/TEST-c.xml",
    )
    args = bash_expands(tree, "build/test-results/**/*.xml")
    assert args == ["build/test-results/test/TEST-a.xml"]  # what bash passed
    message = shell_expansion_warning(args)
    assert message == (
        "1 report(s) given from build/test-results/*/ but not "
        "build/test-results/integrationTest/nested/TEST-b.xml and 1 more: was a ** pattern "
        "expanded by the shell? Quote it ('build/test-results/**/*.xml') so that junit2af "
        "expands it"
    )


def test_several_files_teach_the_name_prefix_and_a_report_at_the_top_counts(tree):
    write(tree, "reports/unit/TEST-a.xml", "reports/unit/TEST-b.xml", "reports/TEST-top.xml")
    write(tree, "reports/unit/other.xml")  # not TEST-*: not what the pattern named
    args = bash_expands(tree, "reports/**/TEST-*.xml")
    assert args == ["reports/unit/TEST-a.xml", "reports/unit/TEST-b.xml"]
    message = shell_expansion_warning(args)
    assert message is not None
    assert "but not reports/TEST-top.xml:" in message
    assert "('reports/**/TEST-*.xml')" in message


@pytest.mark.parametrize(
    "words",
    [
        "'reports/**/*.xml'",  # quoted: junit2af expands it itself
        "reports/**/*.xml",  # with globstar (zsh, bash -O globstar): every depth given
    ],
)
def test_patterns_that_reach_junit2af_or_lose_nothing_are_left_alone(tree, words):
    write(tree, "reports/a/TEST-1.xml", "reports/a/b/TEST-2.xml")
    args = bash_expands(tree, words, globstar=True)
    assert shell_expansion_warning(args) is None


def test_a_hand_picked_report_among_others_of_its_depth_is_left_alone(tree):
    write(tree, "reports/a/TEST-1.xml", "reports/a/TEST-2.xml", "reports/a/b/TEST-3.xml")
    assert shell_expansion_warning(["reports/a/TEST-1.xml"]) is None


def test_deeper_files_that_are_no_reports_are_left_alone(tree):
    write(tree, "out/a/results.xml")
    write(tree, "out/a/b/config.xml", text="<configuration/>")
    write(tree, "out/node_modules/dep/x/results.xml")  # dependencies are never searched
    args = bash_expands(tree, "out/**/*.xml")
    assert args == ["out/a/results.xml"]
    assert shell_expansion_warning(args) is None


def test_absolute_paths_are_named_absolute(tree):
    write(tree, "r/a/TEST-1.xml", "r/d/TEST-3.xml", "r/a/b/c/TEST-2.xml")
    args = bash_expands(tree, f"{tree}/r/**/*.xml")
    assert len(args) == 2
    message = shell_expansion_warning(args)
    assert message is not None
    assert f"but not {tree}/r/a/b/c/TEST-2.xml:" in message


def test_the_search_is_bounded(tree):
    write(tree, "r/a/TEST-0.xml", *(f"r/a/b/TEST-{i}.xml" for i in range(1, 6)))
    args = ["r/a/TEST-0.xml"]
    assert shell_expansion_warning(args) is not None
    assert shell_expansion_warning(args, sniffs=2) is None  # not sure: say nothing
    assert shell_expansion_warning(args, budget=3) is None


@pytest.mark.parametrize("given", ["results.xml", "./results.xml"])
def test_a_file_of_the_current_folder_is_left_alone(tree, given):
    # From ci/reports, the folder above holds reports deeper than this one: none of them
    # was named, and no pattern expands to a bare file name.
    write(tree, "ci/reports/results.xml", "ci/archive/2024/jan/old.xml")
    os.chdir(tree / "ci" / "reports")
    assert shell_expansion_warning([given]) is None


def test_globs_stdin_and_missing_paths_are_ignored(tree):
    write(tree, "r/a/TEST-0.xml", "r/a/b/TEST-1.xml")
    assert shell_expansion_warning(["-", "r/**/*.xml", "missing.xml"]) is None


def test_one_absolute_path_is_a_file_a_script_knows(tree):
    # A single absolute path is how scripts and tests name a file: no warning, even when
    # reports lie at other depths beside it.
    write(tree, "r/a/TEST-1.xml", "r/a/b/c/TEST-2.xml")
    assert shell_expansion_warning([f"{tree}/r/a/TEST-1.xml"]) is None

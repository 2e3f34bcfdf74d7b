"""Globs and the working tree: what ``junit2af run`` walks, and whether a ``**`` pattern
reached junit2af already expanded by the shell.

An unquoted ``dir/**/x.xml`` is expanded by bash (without ``globstar``, its default) as
``dir/*/x.xml``: only the reports exactly one folder below ``dir`` reach junit2af, the
others are silently left out (issue #18: 1 of 3 reports in the README's own example).
:func:`shell_expansion_warning` recognises the trace this leaves, conservatively.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Sequence

from junit2af.inputs import _what_it_looks_like
from junit2af.parsers import SNIFF_BYTES, detect

#: Suffixes of the files the default discovery reads the start of (lower case).
REPORT_SUFFIXES = (".xml", ".json", ".jsonl", ".ndjson", ".trx", ".tap")

#: Directories never searched for reports: dependencies ship test reports of their own,
#: virtualenvs and VCS data hold none, and build outputs copy test resources (a project
#: whose test data are reports would see them "written" by every build).
PRUNED_DIRECTORIES = frozenset(
    {
        "node_modules",
        "site-packages",
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".gradle",
        ".idea",
        ".vscode",
        "bower_components",
        ".yarn",
        ".pnpm-store",
        ".next",
        ".nuxt",
        ".terraform",
        "obj",
    }
)
#: (parent, name) pairs of copied build outputs: Maven/Gradle classes and resources,
#: setuptools' build/lib, Android intermediates, .NET bin/Debug|Release.
PRUNED_PAIRS = frozenset(
    {
        ("target", "classes"),
        ("target", "test-classes"),
        ("build", "classes"),
        ("build", "resources"),
        ("build", "lib"),
        ("build", "intermediates"),
        ("bin", "Debug"),
        ("bin", "Release"),
    }
)
#: Directory entries a walk looks at, breadth first, before it stops.
WALK_BUDGET = 200_000


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A glob (``**/`` any folders, ``*``/``?`` within a name) as a regex on ``/`` paths."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def name_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    regexes = [pattern_regex(p.replace(os.sep, "/")) for p in patterns]
    return lambda path: any(r.match(path.replace(os.sep, "/")) for r in regexes)


def pruned(parent: str, name: str) -> bool:
    return (
        name in PRUNED_DIRECTORIES or (parent, name) in PRUNED_PAIRS or name.endswith(".egg-info")
    )


def walk_tree(
    root: str = ".", *, budget: int = WALK_BUDGET, every_file: bool = False
) -> tuple[list[tuple[str, os.stat_result]], bool]:
    """The files under ``root`` (paths relative to it, ``/``-separated) with their stat,
    breadth first so that a budget cut leaves out the deepest folders; only the ones with
    a report suffix unless ``every_file``. Returns them and whether the budget ran out."""
    found: list[tuple[str, os.stat_result]] = []
    queue: deque[str] = deque([""])
    seen = 0
    while queue:
        relative = queue.popleft()
        parent = relative.rsplit("/", 1)[-1]
        try:
            with os.scandir(os.path.join(root, relative) if relative else root) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:
            continue  # unreadable, or removed meanwhile
        for entry in listed:
            seen += 1
            if seen > budget:
                return found, True
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not pruned(parent, entry.name):
                        queue.append(path)
                    continue
                if not every_file and not entry.name.lower().endswith(REPORT_SUFFIXES):
                    continue
                if entry.is_file():
                    found.append((path, entry.stat()))
            except OSError:
                continue
    return found, False


def sniff(path: str) -> str | None:
    """None when ``path`` starts like a report junit2af reads, else what it looks like."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as error:
        return f"cannot read it ({error.strerror})"
    detection = detect(head)
    return None if detection.format is not None else _what_it_looks_like(detection, head)


#: Files a shell-expansion check looks at below a folder, and reports it reads the start of.
EXPANSION_BUDGET = 20_000
EXPANSION_SNIFFS = 200
_GLOB_CHARS = frozenset("*?[")


def shell_expansion_warning(
    paths: Sequence[str], *, budget: int = EXPANSION_BUDGET, sniffs: int = EXPANSION_SNIFFS
) -> str | None:
    """One warning line when ``paths`` look like a ``**`` pattern the shell expanded, else
    None.

    The trace an unquoted ``A/**/F`` leaves in bash: plain file paths (no glob
    character) exactly two levels below a folder ``A`` (``A/<dir>/<file>``), being *every*
    report of that depth below ``A`` with their suffix (and their common name prefix),
    while other such reports lie at other depths below ``A`` (``A/x.xml``,
    ``A/d/e/x.xml``) and were not given. Anything else is left alone: a pattern that
    reached junit2af (quoted, or matching nothing), zsh's recursive expansion (the deeper
    reports are given too), a hand-picked subset of the reports of one depth, files that
    are no reports. The search below ``A`` is bounded (``budget`` entries, ``sniffs``
    files read).
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        if path == "-" or _GLOB_CHARS & set(path) or not os.path.isfile(path):
            continue
        if not os.path.dirname(os.path.normpath(path)):
            # A bare name (``results.xml``, ``./results.xml``) is no ``A/<dir>/<file>``:
            # no ``**`` pattern expands to it, and the folder above would be the one
            # above the current folder, which the user never named.
            continue
        full = os.path.normpath(os.path.abspath(path))
        groups.setdefault(os.path.dirname(os.path.dirname(full)), []).append((path, full))
    given = {os.path.normcase(full) for group in groups.values() for _, full in group}
    for folder, files in groups.items():
        if len(files) == 1 and (os.path.isabs(files[0][0]) or files[0][0].startswith("..")):
            # One absolute (or outside) path is how a script names a file it knows; a
            # shell's expansion of a pattern typed in a CI step is relative.
            continue
        message = _check_group(folder, files, given, budget, sniffs)
        if message:
            return message
    return None


def _check_group(
    folder: str, files: list[tuple[str, str]], given: set[str], budget: int, sniffs: int
) -> str | None:
    names = [os.path.basename(full) for _, full in files]
    suffixes = {os.path.splitext(n)[1].lower() for n in names}
    if len(suffixes) != 1 or not next(iter(suffixes)):
        return None  # mixed kinds: several arguments, not one pattern
    suffix = suffixes.pop()
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    if prefix.lower().endswith(suffix):
        prefix = ""  # the same name everywhere (junit.xml): no prefix to learn from

    found, truncated = walk_tree(folder, budget=budget, every_file=True)
    if truncated:
        return None  # a tree too large to be sure
    missed: list[str] = []
    left = sniffs
    for relative, _info in found:  # breadth first: depth 1, then 2 (the given), then more
        parts = relative.split("/")
        full = os.path.join(folder, *parts)
        name = parts[-1]
        if not (name.startswith(prefix) and name.lower().endswith(suffix)):
            continue
        if os.path.normcase(full) in given:
            continue
        if left <= 0:
            return None  # too many candidates to be sure
        left -= 1
        if sniff(full) is not None:
            continue  # not a report: nothing was lost
        if len(parts) == 2:
            return None  # a report beside the given ones was not given: a chosen list
        missed.append(relative)
    if not missed:
        return None
    first = files[0][0]
    shown = os.path.dirname(os.path.dirname(os.path.normpath(first))) or "."
    if not os.path.isabs(first):
        shown = shown.replace(os.sep, "/")
    more = f" and {len(missed) - 1} more" if len(missed) > 1 else ""
    return (
        f"{len(files)} report(s) given from {shown}/*/ but not {shown}/{missed[0]}{more}: "
        f"was a ** pattern expanded by the shell? Quote it ('{shown}/**/{prefix}*{suffix}') "
        "so that junit2af expands it"
    )

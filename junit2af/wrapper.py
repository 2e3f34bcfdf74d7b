"""``junit2af run -- CMD``: run a test command, pass signals on, find the reports it wrote.

The command's output is never captured (it goes straight to the terminal or CI log), and
SIGINT/SIGTERM sent to junit2af are passed to it so that a cancelled CI job still lets the
tests stop cleanly and write their reports.

Which files are the command's reports (README "junit2af run"):

* By default, one walk of the working tree (breadth first, at most
  :data:`WALK_BUDGET` entries, skipping :data:`PRUNED_DIRECTORIES`: dependencies,
  virtualenvs, VCS data, build outputs that copy test resources) lists the files whose
  suffix is one of :data:`REPORT_SUFFIXES` before the command starts, and again after it
  ends; every such file the command created or changed is read when its content is a
  report junit2af reads (content decides, not the name: ``--report-log=build/log.jsonl``
  or ``go test -json > gotest.json`` are found as surely as ``TEST-*.xml``). The
  conventional names of :data:`DEFAULT_REPORT_PATTERNS` only narrow what is worth a word:
  a file with such a name that the command wrote but junit2af cannot read is warned
  about, and an unchanged one is named as left by an earlier build; other files are
  passed over silently.
* With ``--reports GLOB``, only the files matching the globs count.

Either way a file is the command's when it was not there before it started, when it
changed since (time, size or inode), or when its modification time is at or after the
start, whatever the file system's timestamp granularity. When nothing is found, the
newest files the command wrote are listed (``FoundReports.recent_unmatched``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType

from junit2af.errors import ExitStatus, InputError, Junit2AFError, exit_status_for
from junit2af.globs import (
    WALK_BUDGET,
    name_matcher,
    sniff,
    walk_tree,
)
from junit2af.inputs import OnSkip, ReportInput, expand_inputs
from junit2af.reports import ReportSet
from junit2af.settings import ReadSettings
from junit2af.uploader import Uploader, UploadReport

#: Where the supported tools write reports by convention (README "junit2af run"). The
#: default discovery finds any report the command wrote whatever its name; these names
#: decide which unreadable or unchanged files are worth a warning. ``junit2af formats``
#: lists the tools; each line names the ones that write there.
DEFAULT_REPORT_PATTERNS = (
    # Maven Surefire/Failsafe (target/surefire-reports/TEST-*.xml), Gradle, Ant, sbt
    "**/TEST-*.xml",
    # Gradle build/test-results/<task>/, CircleCI and Jenkins conventions
    "**/test-results/**/*.xml",
    "**/test-reports/**/*.xml",
    # jest-junit and vitest (junit.xml), pytest --junitxml=junit.xml, mocha-junit-reporter
    # (test-results.xml), cargo-nextest (target/nextest/<profile>/junit.xml), gotestsum
    "**/*junit*.xml",
    # dotnet test --logger trx (TestResults/*.trx), its NUnit/xUnit loggers, nunit3-console
    "**/TestResults/*.trx",
    "**/TestResults/*.xml",
    "**/TestResult.xml",
    # Robot Framework, googletest's --gtest_output default names
    "**/output.xml",
    "**/test_detail.xml",
    "**/test_detail.json",
    # TAP files (node:test, tape, prove -a, bats, pytest-tap)
    "**/*.tap",
    # pytest-json-report (.report.json), go test -json > report.json, pytest-reportlog
    "**/.report.json",
    "**/report.json",
    "**/*report*.jsonl",
    # Allure (allure-results/*-result.json), Cucumber JSON and messages, Playwright, RSpec
    "**/allure-results/*-result.json",
    "**/cucumber*.json",
    "**/*.ndjson",
    "**/results.json",
    "**/test-results.json",
    "**/rspec*.json",
)

SKIPPED_DIRECTORIES = frozenset({"node_modules", "site-packages", "__pycache__"})

#: How many of the newest unmatched files "no report found" names.
RECENT_UNMATCHED = 10

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_Signature = tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino)


def _signature(path: str) -> _Signature | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _skipped(path: str) -> bool:
    return any(part in SKIPPED_DIRECTORIES for part in path.replace(os.sep, "/").split("/"))


def _glob(pattern: str) -> Iterator[str]:
    for path in sorted(glob.glob(pattern, recursive=True)):
        if not _skipped(path) and os.path.isfile(path):
            yield path


def snapshot(patterns: Sequence[str]) -> dict[str, _Signature]:
    """Every file matching ``patterns`` now, with what tells a rewrite apart."""
    seen: dict[str, _Signature] = {}
    for pattern in patterns:
        for path in _glob(pattern):
            real = os.path.realpath(path)
            signature = _signature(real)
            if signature is not None:
                seen[real] = signature
    return seen


@dataclass
class FoundReports:
    """The reports after the command: written by it (``fresh``), or left by an earlier
    build (``stale``); when none was written, the newest files it did write
    (``recent_unmatched``, newest first) so that the user can name them."""

    fresh: list[ReportInput] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    recent_unmatched: list[str] = field(default_factory=list)
    #: the walk stopped at :data:`WALK_BUDGET` entries: deeper files were not looked at
    truncated: bool = False


def find_reports(
    patterns: Sequence[str],
    before: dict[str, _Signature],
    started_ns: int,
    *,
    on_skip: OnSkip | None = None,
) -> FoundReports:
    """The reports matching ``patterns`` that the command wrote.

    A file is the command's when it was not there before it started (``before`` is the
    :func:`snapshot` taken then), when it changed since (time, size or inode), or when its
    modification time is at or after ``started_ns``. Files whose content is not a test
    report are ignored, as when a directory is uploaded.
    """
    found = FoundReports()
    seen: set[tuple[str, str | None]] = set()

    def fresh_skip(name: str, why: str) -> None:
        # Only what the command wrote is worth a word; old files were never candidates.
        path = os.path.realpath(name.split("!", 1)[0])
        now, old = _signature(path), before.get(path)
        if on_skip is not None and (old is None or now != old or (now and now[0] >= started_ns)):
            on_skip(name, why)

    for pattern in patterns:
        if not any(ch in pattern for ch in "*?[") and not os.path.exists(pattern):
            continue
        try:
            reports = list(expand_inputs([pattern], on_skip=fresh_skip))
        except InputError:
            continue  # nothing matches this pattern
        for report in reports:
            real = os.path.realpath(report.path)
            if _skipped(report.path) or (real, report.member) in seen:
                continue
            seen.add((real, report.member))
            now = _signature(real)
            old = before.get(real)
            if old is None or now is None or now != old or now[0] >= started_ns:
                found.fresh.append(report)
            else:
                found.stale.append(report.display)
    if not found.fresh:
        found.recent_unmatched = recent_files(".", started_ns)
    return found


@dataclass
class TreeSnapshot:
    """The files of a working tree: ``files`` maps each report-suffixed file (relative
    path) to its signature; ``truncated`` when the walk stopped at its budget."""

    root: str
    files: dict[str, _Signature] = field(default_factory=dict)
    truncated: bool = False


def tree_snapshot(root: str = ".", *, budget: int = WALK_BUDGET) -> TreeSnapshot:
    """The report-suffixed files under ``root`` now (the default discovery's "before")."""
    files, truncated = walk_tree(root, budget=budget)
    return TreeSnapshot(
        root,
        {path: (info.st_mtime_ns, info.st_size, info.st_ino) for path, info in files},
        truncated,
    )


def _written_since(path: str, info: os.stat_result, before: TreeSnapshot, started_ns: int) -> bool:
    old = before.files.get(path)
    if info.st_mtime_ns >= started_ns:
        return True
    if old is None:
        # Not there before, unless the first walk stopped short of it.
        return not before.truncated
    return old != (info.st_mtime_ns, info.st_size, info.st_ino)


def discover_reports(
    before: TreeSnapshot,
    started_ns: int,
    *,
    patterns: Sequence[str] = DEFAULT_REPORT_PATTERNS,
    on_skip: OnSkip | None = None,
    budget: int = WALK_BUDGET,
) -> FoundReports:
    """The reports the command wrote under ``before.root`` (the default discovery).

    Every report-suffixed file created or changed since ``before`` whose content is a
    report is taken; one the command wrote that is no report is passed to ``on_skip``
    only when its name matches ``patterns`` (a ``TEST-x.xml`` that is not JUnit is worth a
    word, a ``package.json`` is not). Unchanged reports with conventional names are
    ``stale``. The paths are relative to the root when the root is the working folder.
    """
    root = before.root
    conventional = name_matcher(patterns)
    files, truncated = walk_tree(root, budget=budget)
    found = FoundReports(truncated=truncated or before.truncated)
    for path, info in files:
        full = path if root in (".", "") else os.path.join(root, path)
        if _written_since(path, info, before, started_ns):
            why = sniff(full)
            if why is None:
                found.fresh.extend(expand_inputs([full]))
            elif on_skip is not None and conventional(path):
                on_skip(full, why)
        elif conventional(path) and sniff(full) is None:
            found.stale.append(full)
    if not found.fresh:
        found.recent_unmatched = recent_files(root, started_ns, budget=budget)
    return found


#: How far a file's time can lag behind ``time.time_ns()``: Linux stamps some writes (an
#: empty file created) with its coarse clock, a tick (4-10 ms) behind, so a file written
#: in the command's first milliseconds would look older than its start. For the list of
#: the newest files only: what is a report is decided by the snapshots, not by this.
STAMP_SLACK_NS = 50_000_000


def recent_files(
    root: str, started_ns: int, *, budget: int = WALK_BUDGET, limit: int = RECENT_UNMATCHED
) -> list[str]:
    """The newest files under ``root`` modified at or after ``started_ns`` (any name),
    give or take the clock files are stamped with (:data:`STAMP_SLACK_NS`)."""
    files, _ = walk_tree(root, budget=budget, every_file=True)
    since = started_ns - STAMP_SLACK_NS
    recent = sorted(
        ((info.st_mtime_ns, path) for path, info in files if info.st_mtime_ns >= since),
        reverse=True,
    )
    return [path if root in (".", "") else os.path.join(root, path) for _, path in recent[:limit]]


def exit_code(returncode: int) -> int:
    """The shell's convention: a command killed by signal N exits 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def _terminal_delivers_sigint() -> bool:
    """True when a Ctrl-C at the terminal already reaches the child.

    The child shares junit2af's process group; when that group is the terminal's
    foreground group the terminal sends SIGINT to both, and forwarding it again would make
    the test runner see two interrupts (pytest would cut its own clean-up short).
    """
    if sys.platform == "win32":
        # A console's Ctrl-C reaches every process attached to it, and Popen.send_signal
        # knows no SIGINT there (only CTRL_C_EVENT): never forward it.
        return True
    if not hasattr(os, "tcgetpgrp"):
        return False
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except (AttributeError, OSError, ValueError):
            continue
    return False


def run_command(
    command: Sequence[str],
    *,
    on_signal: Callable[[int], None] = lambda signum: None,
) -> int:
    """Run ``command`` with inherited stdin/stdout/stderr and return its exit code.

    SIGINT and SIGTERM received meanwhile are passed on to it (SIGINT only when the
    terminal did not already deliver it); ``on_signal`` is told of each. Raises
    :class:`InputError` when the command cannot be started.
    """
    pending: list[int] = []
    child: subprocess.Popen[bytes] | None = None
    terminal_sigint = _terminal_delivers_sigint()

    def forward(signum: int, frame: FrameType | None) -> None:
        on_signal(signum)
        if child is None:
            pending.append(signum)
        elif not (signum == signal.SIGINT and terminal_sigint):
            _send(child, signum)

    previous = {signum: signal.getsignal(signum) for signum in FORWARDED_SIGNALS}
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    try:
        try:
            child = subprocess.Popen(_resolved(command))
        except OSError as error:
            raise InputError(command[0], f"cannot run the command: {error.strerror}") from None
        for early in pending:
            _send(child, early)
        return exit_code(child.wait())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _resolved(command: Sequence[str]) -> list[str]:
    """The command as the OS can start it. On Windows, CreateProcess only appends ``.exe``:
    ``npm``, ``gradlew`` and ``mvn`` are ``.cmd``/``.bat`` files found through PATHEXT, as
    a shell would find them."""
    args = list(command)
    if sys.platform == "win32" and args:
        found = shutil.which(args[0])
        if found:
            args[0] = found
    return args


def _send(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        child.send_signal(signum)


def start_time_ns() -> int:
    """Now, in the units of ``st_mtime_ns``."""
    return time.time_ns()


@dataclass
class WrappedRun:
    """What ``junit2af run`` did: the command's exit code, the reports, the upload."""

    command_exit: int
    found: FoundReports
    report: UploadReport | None = None
    error: Junit2AFError | None = None
    #: the settings were refused before the command ran: nothing was uploaded
    preflight_error: Junit2AFError | None = None

    def exit_status(self, *, strict_upload: bool, fail_on_test_failures: bool) -> int:
        """The command's exit code; when it succeeded, a failed upload (with
        ``strict_upload``) or failed tests (with ``fail_on_test_failures``) change it."""
        code = self.command_exit
        if code != 0:
            return code
        problem = self.preflight_error or self.error
        if strict_upload and problem is not None:
            return int(exit_status_for(problem))
        if fail_on_test_failures and self.report is not None:
            return int(exit_status_for(self.report, fail_on_test_failures=True))
        return int(ExitStatus.OK)


def run_and_upload(
    command: Sequence[str],
    patterns: Sequence[str],
    uploader: Uploader | None,
    read: ReadSettings,
    *,
    settings_error: Junit2AFError | None = None,
    private_paths: Sequence[str | os.PathLike[str]] = (),
    warn: Callable[[str], None] = lambda message: None,
    on_skip: OnSkip | None = None,
    on_preflight_error: Callable[[Junit2AFError], None] = lambda error: None,
    on_reports: Callable[[FoundReports], None] = lambda found: None,
    discover: bool | None = None,
) -> WrappedRun:
    """Run ``command``, then upload the reports it wrote as one run.

    The settings are checked first (one round trip): when they are wrong (or could not
    be built: ``uploader`` None and ``settings_error``) the command still runs (the
    tests matter more than their upload) and nothing is uploaded.

    ``discover`` (default: when ``patterns`` are :data:`DEFAULT_REPORT_PATTERNS`) finds
    any report the command wrote in the working tree (:func:`discover_reports`); else
    only files matching ``patterns`` count (:func:`find_reports`).
    """
    if discover is None:
        discover = tuple(patterns) == DEFAULT_REPORT_PATTERNS
    preflight_error = settings_error
    if uploader is not None:
        try:
            uploader.check()
        except Junit2AFError as error:
            preflight_error = error
            on_preflight_error(error)
    tree = tree_snapshot() if discover else None
    before = {} if discover else snapshot(patterns)
    started = start_time_ns()
    code = run_command(command)
    if tree is not None:
        found = discover_reports(tree, started, patterns=patterns, on_skip=on_skip)
        if found.truncated:
            warn(
                f"the working folder holds more than {WALK_BUDGET} files: the deepest "
                "folders were not searched for reports (name them with --reports)"
            )
    else:
        found = find_reports(patterns, before, started, on_skip=on_skip)
    outcome = WrappedRun(code, found, preflight_error=preflight_error)
    on_reports(found)
    if not found.fresh or preflight_error is not None or uploader is None:
        return outcome
    try:
        with ReportSet(
            read=read, inputs=found.fresh, private_paths=private_paths, warn=warn
        ) as reports:
            outcome.report = uploader.upload(reports)
    except Junit2AFError as error:
        outcome.error = error
        outcome.report = getattr(error, "report", None)
    return outcome

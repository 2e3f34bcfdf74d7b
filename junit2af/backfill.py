"""``junit2af backfill``: replay an archive of old reports as one run per build, oldest first.

Each group of reports (one file, or one directory with ``group_by="dir"``) becomes one
upload with a label built from its name and the reports' own start time
(``TEST-api.xml 2024-05-01 10:00 UTC``) and the metadata ``original_start`` and
``original_end``: the server stamps its runs with the time of the upload, so the original
dates live there. The label and the reports' digests make each group's upload identity,
so one journal file holds them all: a re-run skips the groups already complete, resumes
the one that was cut short, and uploads only what the archive gained since.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from junit2af.errors import ConfigError, ExitStatus, InputError, Junit2AFError, exit_status_for
from junit2af.inputs import OnSkip, ReportInput, expand_inputs
from junit2af.records import format_time
from junit2af.reports import ReportScan, ReportSet
from junit2af.settings import ReadSettings
from junit2af.uploader import Uploader, UploadReport

GROUP_BY = ("file", "dir")
LABEL_MAX = 255


@dataclass
class BackfillGroup:
    """Reports that become one run, read once (their scan) and spooled for the upload."""

    name: str  # short, for the label
    source: str  # the file, archive member or directory, in full
    reports: ReportSet
    scan: ReportScan

    @property
    def start(self) -> datetime | None:
        """When the reports say the build ran (their first test; else the file's time)."""
        when = self.scan.first_start or self.scan.last_finish
        if when is None:
            times = [r.mtime for r in self.reports.inputs if r.mtime is not None]
            when = min(times) if times else None
        return when.astimezone(UTC) if when else None

    @property
    def end(self) -> datetime | None:
        when = self.scan.last_finish or self.scan.first_start
        return when.astimezone(UTC) if when else self.start

    def label(self, prefix: str | None = None) -> str:
        """``<name> <original date and time> UTC``, after ``prefix`` when given."""
        when = f" {self.start:%Y-%m-%d %H:%M} UTC" if self.start else ""
        head = f"{prefix} " if prefix else ""
        room = LABEL_MAX - len(head) - len(when)
        name = self.name if len(self.name) <= room else self.name[: max(room - 1, 0)] + "…"
        label = f"{head}{name}{when}"
        return label if len(label) >= 2 else f"backfill {label}"

    def metadata(self) -> dict[str, Any]:
        """What the run's metadata adds to the usual: where and when it came from."""
        return {
            "original_start": format_time(self.start),
            "original_end": format_time(self.end),
            "backfill_source": self.source,
        }


@dataclass
class BackfillOutcome:
    """One group's upload: ``state`` is uploaded, resumed, already, dry-run or failed."""

    group: BackfillGroup
    label: str
    state: str
    report: UploadReport | None = None
    error: str | None = None

    @property
    def scan(self) -> ReportScan:
        return self.group.scan

    @property
    def start(self) -> datetime | None:
        return self.group.start

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "source": self.group.source,
            "label": self.label,
            "original_start": format_time(self.group.start),
            "original_end": format_time(self.group.end),
            "state": self.state,
            "run_id": report.run_id if report else None,
            "run_url": report.run_url if report else None,
            "counts": dict(self.group.scan.counts),
            "results_total": self.group.scan.records,
            "results_uploaded": report.results_uploaded if report else 0,
            "error": self.error,
        }


@dataclass
class BackfillResult:
    """Every group's outcome, in upload order; ``stopped`` is the error that ended it."""

    outcomes: list[BackfillOutcome] = field(default_factory=list)
    stopped: Junit2AFError | None = None
    skipped: list[InputError] = field(default_factory=list)

    def exit_status(self, *, fail_on_test_failures: bool) -> ExitStatus:
        """The error that stopped it; else 3 when a report was skipped; else 1 for failed
        tests with ``fail_on_test_failures``; else 0."""
        if self.stopped is not None:
            return exit_status_for(self.stopped)
        if self.skipped:
            return ExitStatus.BAD_INPUT
        failed = any(o.scan.counts.get("Failed") for o in self.outcomes)
        return ExitStatus.TEST_FAILURES if failed and fail_on_test_failures else ExitStatus.OK

    def as_dict(self) -> dict[str, Any]:
        states: dict[str, int] = {}
        for outcome in self.outcomes:
            states[outcome.state] = states.get(outcome.state, 0) + 1
        return {
            "runs": [o.as_dict() for o in self.outcomes],
            "states": states,
            "skipped": [str(error) for error in self.skipped],
            "error": str(self.stopped) if self.stopped else None,
        }


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """``2024-05-01`` or an ISO date-time (UTC unless it says otherwise).

    A bare date given as ``--until`` means the end of that day, so the day is included.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date (use 2024-05-01 or 2024-05-01T10:00:00+02:00)"
        ) from None
    is_date_only = len(text.strip()) == 10
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if is_date_only and end_of_day:
        value = datetime.combine(value.date(), time.max, UTC)
    return value


def _group_key(report: ReportInput, group_by: str) -> tuple[str, str]:
    """(source, name) of the group ``report`` belongs to."""
    if group_by == "file":
        if report.member is not None:
            base = posixpath.basename(report.member)
            return report.display, f"{base} ({os.path.basename(report.path)})"
        return report.display, os.path.basename(report.path) or report.path
    if report.member is not None:
        folder = posixpath.dirname(report.member)
        archive = os.path.basename(report.path)
        source = f"{report.path}!{folder}" if folder else report.path
        return source, f"{archive}!{folder}" if folder else archive
    folder = os.path.dirname(report.path) or "."
    return folder, os.path.basename(os.path.abspath(folder)) or folder


def collect_groups(
    paths: Iterable[str],
    read: ReadSettings,
    *,
    group_by: str = "file",
    since: datetime | None = None,
    until: datetime | None = None,
    on_error: Callable[[InputError], None] | None = None,
    on_skip: OnSkip | None = None,
    private_paths: Sequence[str | os.PathLike[str]] = (),
    warn: Callable[[str], None] = lambda message: None,
) -> list[BackfillGroup]:
    """The groups to upload, oldest first, within ``since``..``until`` (both included).

    Every report is read once here (to check, date and count it, and spool what the
    upload will send); a group with a bad report is passed to ``on_error`` and left out,
    or raises without ``on_error``. Close the groups' report sets when done
    (:func:`backfill` closes each after its upload).
    """
    if group_by not in GROUP_BY:
        raise ConfigError(f"--group-by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
    grouped: dict[str, tuple[str, list[ReportInput]]] = {}
    for path in paths:
        try:
            found = list(expand_inputs([path], on_skip=on_skip))
        except InputError as error:
            if on_error is None:
                raise
            on_error(error)
            continue
        for report in found:
            source, name = _group_key(report, group_by)
            grouped.setdefault(source, (name, []))[1].append(report)
    groups = []
    for source, (name, inputs) in grouped.items():
        reports = ReportSet(read=read, inputs=inputs, private_paths=private_paths, warn=warn)
        try:
            scan = reports.scan()
        except InputError as error:
            reports.close()
            if on_error is None:
                raise
            on_error(error)
            continue
        group = BackfillGroup(name=name, source=source, reports=reports, scan=scan)
        start = group.start
        if (since is not None and (start is None or start < since)) or (
            until is not None and (start is None or start > until)
        ):
            reports.close()
            continue
        groups.append(group)
    far_future = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
    groups.sort(key=lambda g: (g.start or far_future, g.source))
    return groups


def backfill(
    groups: list[BackfillGroup],
    uploader: Uploader,
    *,
    label_prefix: str | None = None,
    on_group: Callable[[int, BackfillGroup, str], None] | None = None,
    on_outcome: Callable[[BackfillOutcome], None] | None = None,
) -> BackfillResult:
    """Upload ``groups`` in order, one run each, through one :class:`Uploader`.

    ``on_group(index, group, label)`` is called before each upload and ``on_outcome``
    after it. The first upload that fails stops the backfill (its error is
    ``result.stopped``): the groups after it would meet the same server, and uploading
    them first would break the oldest-first order. Running it again resumes.
    """
    result = BackfillResult()
    try:
        for index, group in enumerate(groups):
            label = group.label(label_prefix)
            if on_group is not None:
                on_group(index, group, label)
            try:
                report = uploader.upload(group.reports, label=label, metadata=group.metadata())
            except Junit2AFError as error:
                partial = getattr(error, "report", None)
                outcome = BackfillOutcome(group, label, "failed", partial, str(error))
                result.outcomes.append(outcome)
                result.stopped = error
                if on_outcome is not None:
                    on_outcome(outcome)
                break
            finally:
                group.reports.close()
            if report.dry_run:
                state = "dry-run"
            elif report.already_complete:
                state = "already"
            else:
                state = "resumed" if report.resumed else "uploaded"
            outcome = BackfillOutcome(group, label, state, report)
            result.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        for group in groups:
            group.reports.close()
    return result


def backfill_paths(
    paths: Iterable[str],
    uploader: Uploader,
    read: ReadSettings,
    *,
    group_by: str = "file",
    since: str | None = None,
    until: str | None = None,
    label_prefix: str | None = None,
    on_error: Callable[[InputError], None] = lambda error: None,
    on_skip: OnSkip | None = None,
    on_group: Callable[[str], None] | None = None,
    warn: Callable[[str], None] = lambda message: None,
) -> BackfillResult:
    """``junit2af backfill``: collect the groups of ``paths`` and upload them oldest
    first through ``uploader``. Bad reports are passed to ``on_error`` and skipped (the
    result's ``skipped``); ``on_group`` gets a line before each upload."""
    skipped: list[InputError] = []

    def bad(error: InputError) -> None:
        skipped.append(error)
        on_error(error)

    groups = collect_groups(
        paths,
        read,
        group_by=group_by,
        since=parse_when(since) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
        on_error=bad,
        on_skip=on_skip,
        private_paths=uploader.settings.private_paths(),
        warn=warn,
    )

    def announce(index: int, group: BackfillGroup, label: str) -> None:
        if on_group is not None:
            on_group(f"[{index + 1}/{len(groups)}] {label}: {group.scan.records} results")

    result = backfill(groups, uploader, label_prefix=label_prefix, on_group=announce)
    result.skipped = skipped
    return result

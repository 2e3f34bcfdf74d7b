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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from junit2af.artifacts import AttachmentRoots
from junit2af.errors import ConfigError, InputError, Junit2AFError
from junit2af.inputs import ReportInput, expand_inputs
from junit2af.parsers.base import ParseOptions
from junit2af.records import format_time
from junit2af.settings import UploadSettings
from junit2af.uploader import Progress, UploadPlan, UploadReport, plan_upload, upload

GROUP_BY = ("file", "dir")
LABEL_MAX = 255


@dataclass
class BackfillGroup:
    """Reports that become one run, and what their first reading found."""

    name: str  # short, for the label
    source: str  # the file, archive member or directory, in full
    reports: list[ReportInput]
    plan: UploadPlan

    @property
    def start(self) -> datetime | None:
        """When the reports say the build ran (their first test; else the file's time)."""
        when = self.plan.first_start or self.plan.last_finish
        if when is None:
            times = [r.mtime for r in self.reports if r.mtime is not None]
            when = min(times) if times else None
        return when.astimezone(UTC) if when else None

    @property
    def end(self) -> datetime | None:
        when = self.plan.last_finish or self.plan.first_start
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

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "source": self.group.source,
            "label": self.label,
            "original_start": format_time(self.group.start),
            "original_end": format_time(self.group.end),
            "state": self.state,
            "run_id": report.run_id if report else None,
            "counts": dict(self.group.plan.counts),
            "results_total": self.group.plan.records,
            "results_uploaded": report.results_uploaded if report else 0,
            "error": self.error,
        }


@dataclass
class BackfillResult:
    """Every group's outcome, in upload order; ``stopped`` is the error that ended it."""

    outcomes: list[BackfillOutcome] = field(default_factory=list)
    stopped: Junit2AFError | None = None
    skipped: list[InputError] = field(default_factory=list)


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
    options: ParseOptions,
    *,
    group_by: str = "file",
    fmt: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> list[BackfillGroup]:
    """The groups to upload, oldest first, within ``since``..``until`` (both included).

    Every report is read through once here (to date and count it); a group with a bad
    report is passed to ``on_error`` and left out, or raises without ``on_error``.
    """
    if group_by not in GROUP_BY:
        raise ConfigError(f"--group-by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
    grouped: dict[str, tuple[str, list[ReportInput]]] = {}
    for path in paths:
        try:
            found = list(expand_inputs([path]))
        except InputError as error:
            if on_error is None:
                raise
            on_error(error)
            continue
        for report in found:
            source, name = _group_key(report, group_by)
            grouped.setdefault(source, (name, []))[1].append(report)
    groups = []
    for source, (name, reports) in grouped.items():
        try:
            plan = plan_upload(reports, options, fmt=fmt)
        except InputError as error:
            if on_error is None:
                raise
            on_error(error)
            continue
        group = BackfillGroup(name=name, source=source, reports=reports, plan=plan)
        start = group.start
        if since is not None and (start is None or start < since):
            continue
        if until is not None and (start is None or start > until):
            continue
        groups.append(group)
    far_future = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
    groups.sort(key=lambda g: (g.start or far_future, g.source))
    return groups


def backfill(
    groups: list[BackfillGroup],
    settings: UploadSettings,
    *,
    options: ParseOptions | None = None,
    roots: AttachmentRoots | None = None,
    fmt: str | None = None,
    label_prefix: str | None = None,
    progress: Progress | None = None,
    on_group: Callable[[int, BackfillGroup, str], None] | None = None,
    on_outcome: Callable[[BackfillOutcome], None] | None = None,
) -> BackfillResult:
    """Upload ``groups`` in order, one run each, through the journal of ``settings``.

    ``on_group(index, group, label)`` is called before each upload and ``on_outcome``
    after it. The first upload that fails stops the backfill (its error is
    ``result.stopped``): the groups after it would meet the same server, and uploading
    them first would break the oldest-first order. Running it again resumes.
    """
    result = BackfillResult()
    for index, group in enumerate(groups):
        label = group.label(label_prefix)
        if on_group is not None:
            on_group(index, group, label)
        try:
            report = upload(
                group.reports,
                replace(settings, label=label),
                options=options,
                roots=roots,
                fmt=fmt,
                progress=progress,
                run_metadata_extra=group.metadata(),
            )
        except Junit2AFError as error:
            partial = getattr(error, "report", None)
            outcome = BackfillOutcome(group, label, "failed", partial, str(error))
            result.outcomes.append(outcome)
            result.stopped = error
            if on_outcome is not None:
                on_outcome(outcome)
            break
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
    return result

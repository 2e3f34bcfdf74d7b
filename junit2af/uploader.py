"""Replays reports into the service as one test run: concurrency, ordering, artifacts,
and exactly-once through the journal.

The reports are read twice: once to check every file and plan the run (a bad file stops
the upload before any request, so there is never a half-uploaded run because of bad
input), then again, streamed through a bounded queue to the workers, so memory stays flat
whatever the report's size. Each record is one worker's job: create the result, update
what create ignores, then create, upload and confirm its artifacts, in that order.
"""

from __future__ import annotations

import platform
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from junit2af import __version__
from junit2af.artifacts import AttachmentError, AttachmentRoots, PlannedArtifact, plan_artifacts
from junit2af.client import APIClient, CallStats, UncertainOutcome, UploadURLExpired
from junit2af.errors import APIError, ExitStatus, Junit2AFError
from junit2af.inputs import ReportInput
from junit2af.journal import Journal, idempotency_key, upload_identity
from junit2af.parsers.base import ParseOptions
from junit2af.records import Status, TestRecord, format_time
from junit2af.reports import read_records
from junit2af.settings import UploadSettings

#: How many times an artifact is recreated after its upload URL expired.
MAX_URL_RENEWALS = 5


class UploadFailed(Junit2AFError):
    """Some results could not be uploaded; the journal lets a re-run finish the job."""

    exit_status = ExitStatus.UPLOAD_FAILED


class InDoubtError(Junit2AFError):
    """A create's outcome is unknown and ``--on-uncertain fail`` forbids resending it."""

    exit_status = ExitStatus.UPLOAD_FAILED


@dataclass
class UploadPlan:
    """What the first pass learned: counts, time span and input digests."""

    inputs: list[dict[str, str]]
    counts: Counter[str]
    records: int
    first_start: datetime | None
    last_finish: datetime | None
    partial: bool


@dataclass
class UploadReport:
    """The outcome of an upload, as the summary and ``--json`` show it."""

    run_id: str | None = None
    label: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    results_total: int = 0
    results_uploaded: int = 0
    artifacts_uploaded: int = 0
    artifacts_left_out: int = 0
    requests: int = 0
    retries: int = 0
    in_doubt: int = 0
    possible_duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    resumed: bool = False
    already_complete: bool = False
    dry_run: bool = False
    #: how many of ``warnings`` were already shown as they happened (reading the reports)
    warnings_shown: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "label": self.label,
            "counts": self.counts,
            "results_total": self.results_total,
            "results_uploaded": self.results_uploaded,
            "artifacts_uploaded": self.artifacts_uploaded,
            "artifacts_left_out": self.artifacts_left_out,
            "requests": self.requests,
            "retries": self.retries,
            "in_doubt": self.in_doubt,
            "possible_duplicates": self.possible_duplicates,
            "warnings": self.warnings,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "resumed": self.resumed,
            "already_complete": self.already_complete,
            "dry_run": self.dry_run,
        }


class Progress:
    """Hooks for progress display; the default does nothing."""

    def start(self, total: int) -> None:
        """Called once the plan is known."""

    def advance(self, done: int) -> None:
        """Called after each record settles."""

    def finish(self) -> None:
        """Called at the end, whatever happened."""


def plan_upload(
    reports: list[ReportInput], options: ParseOptions, *, fmt: str | None = None
) -> UploadPlan:
    """First pass: read every report through (errors stop here), count and digest."""
    counts: Counter[str] = Counter()
    total = 0
    first: datetime | None = None
    last: datetime | None = None
    partial = False
    for record in read_records(reports, options, fmt=fmt):
        total += 1
        counts[record.status.value] += 1
        if record.started_at and (first is None or record.started_at < first):
            first = record.started_at
        end = record.finished_at or record.started_at
        if end and (last is None or end > last):
            last = end
        partial = partial or record.metadata.get("reason") == "report truncated"
    inputs = [{"name": r.display, "sha256": r.sha256()} for r in reports]
    return UploadPlan(inputs, counts, total, first, last, partial)


def default_label(reports: list[ReportInput], plan: UploadPlan) -> str:
    """A label from the report files and their own date (stable across re-runs)."""
    names = [r.display.rsplit("/", 1)[-1] for r in reports] or ["reports"]
    head = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1} more"
    when = plan.first_start or plan.last_finish
    label = f"{head} {when.date().isoformat()}" if when else head
    label = label[:255]
    return label if len(label) >= 2 else f"junit2af {label}"


class _Uploader:
    def __init__(
        self,
        settings: UploadSettings,
        client: APIClient,
        journal: Journal,
        roots: AttachmentRoots | None,
        report: UploadReport,
    ) -> None:
        self.settings = settings
        self.client = client
        self.journal = journal
        self.roots = roots
        self.report = report
        self.known = journal.load_all()
        self._lock = threading.Lock()

    # -- exactly-once creates ------------------------------------------------------

    def create(self, op_key: str, send: Callable[[str], str], attempt: int = 0) -> str:
        """Create the object of ``op_key`` once: reuse a journaled id, else send.

        An intent left by an earlier process without an id means the first send may
        have worked: that create is in doubt; it is resent (with the same idempotency
        key) and counted as a possible duplicate, or refused with --on-uncertain fail.
        """
        known = self.known.get(op_key)
        if known is not None and known.server_id and known.attempt == attempt:
            return known.server_id
        if known is not None and known.state == "intent" and known.attempt == attempt:
            self._in_doubt(op_key, "an earlier run sent it and stopped before the answer")
        key = idempotency_key(self.journal.upload or "", op_key, attempt)
        self.journal.intent(op_key, attempt)
        try:
            server_id = send(key)
        except UncertainOutcome as error:
            self._in_doubt(op_key, error.reason)
            self.journal.intent(op_key, attempt)
            try:
                server_id = send(key)
            except UncertainOutcome as again:
                raise APIError(again.call, None, f"outcome unknown twice: {again.reason}") from None
        self.journal.record(op_key, "done", server_id)
        self.known.pop(op_key, None)
        return server_id

    def _in_doubt(self, op_key: str, reason: str) -> None:
        if self.settings.on_uncertain == "fail":
            raise InDoubtError(
                f"{op_key}: the create's outcome is unknown ({reason}); not resending it "
                "because of --on-uncertain fail"
            )

    def state(self, op_key: str) -> str | None:
        known = self.known.get(op_key)
        if known is None:
            return None
        return known.state

    # -- the run ---------------------------------------------------------------------

    def open_run(self, label: str, metadata: dict[str, Any]) -> str:
        def send(key: str) -> str:
            body = {
                "project_id": self.settings.project_id,
                "label": label,
                "metadata": {**metadata, "idempotency_key": key},
            }
            return self.client.create_run(body, key)

        run_id = self.create("run", send)
        self.journal.set_run(run_id)
        if self.state("run:running") != "done":
            self.client.update_run(run_id, {"status": "Running"})
            self.journal.record("run:running", "done")
        return run_id

    def complete_run(self, run_id: str) -> None:
        if self.state("run:completed") != "done":
            self.client.update_run(run_id, {"status": "Completed"})
            self.journal.record("run:completed", "done")
        self.journal.mark_complete()

    # -- one record --------------------------------------------------------------------

    def upload_record(self, run_id: str, record: TestRecord) -> tuple[int, int, list[str]]:
        """Create, update and attach one record. Returns (results, artifacts, warnings)."""
        name = record.test_name
        plan = plan_artifacts(record, self.roots)
        results = 0
        result_key = f"result:{name}"
        if self.state(result_key) != "done":
            results = 1

        def send(key: str) -> str:
            body: dict[str, Any] = {
                "project_id": self.settings.project_id,
                "test_run_id": run_id,
                "test_name": name,
                "status": record.status.value,
                "metadata": {**record.metadata, "idempotency_key": key},
            }
            if record.started_at is not None:
                body["started_at"] = format_time(record.started_at)
            if record.execution_time_ms is not None:
                body["execution_time_ms"] = record.execution_time_ms
            return self.client.create_result(body, key)

        result_id = self.create(result_key, send)

        # Create ignores finished_at and error_message (reading note 2): update them.
        update: dict[str, Any] = {}
        if record.finished_at is not None:
            update["finished_at"] = format_time(record.finished_at)
        if record.error_message:
            update["error_message"] = record.error_message
        update_key = f"update:{name}"
        if update and self.state(update_key) != "done":
            self.client.update_result(result_id, update)
            self.journal.record(update_key, "done")

        artifacts = 0
        for artifact in plan.artifacts:
            artifacts += self.upload_artifact(result_id, name, artifact)
        warnings = list(plan.warnings)
        if plan.left_out:
            with self._lock:
                self.report.artifacts_left_out += plan.left_out
        return results, artifacts, warnings

    def upload_artifact(self, result_id: str, name: str, artifact: PlannedArtifact) -> int:
        op_key = f"artifact:{name}:{artifact.label}"
        known = self.known.get(op_key)
        if known is not None and known.state == "confirmed":
            return 0
        attempt = known.attempt if known is not None else 0
        if known is not None and known.state == "uploaded" and known.server_id:
            self.client.confirm_artifact(known.server_id)
            self.journal.record(op_key, "confirmed")
            return 1
        if known is not None and known.state == "done" and known.server_id:
            # Created by an earlier run whose upload URL is gone: start that one over.
            self._delete_quietly(known.server_id)
            attempt += 1
        for _renewal in range(MAX_URL_RENEWALS + 1):
            url_holder: dict[str, str] = {}

            def send(key: str, url_holder: dict[str, str] = url_holder) -> str:
                body = {
                    "test_result_id": result_id,
                    "label": artifact.label,
                    "kind": artifact.kind.value,
                    "content_type": artifact.content_type,
                    "size_bytes": artifact.size_bytes,
                    "metadata": {"idempotency_key": key, "role": artifact.role},
                }
                artifact_id, url = self.client.create_artifact(body, key)
                url_holder["url"] = url
                return artifact_id

            artifact_id = self.create(op_key, send, attempt)
            if "url" not in url_holder:  # reused from the journal: no URL to upload to
                self._delete_quietly(artifact_id)
                attempt += 1
                continue
            try:
                with artifact.open(self.roots) as body:
                    self.client.put_upload(
                        url_holder["url"], body, artifact.content_type, artifact.size_bytes
                    )
            except (AttachmentError, OSError) as error:
                # The file changed since it was checked: leave it out, say so, and do not
                # leave an unconfirmed artifact counting against the result's 50.
                self._delete_quietly(artifact_id)
                self.journal.record(op_key, "confirmed")  # nothing more to do for it
                with self._lock:
                    self.report.warnings.append(
                        f"{name}: attachment {artifact.label} left out: {error}"
                    )
                return 0
            except UploadURLExpired:
                self._delete_quietly(artifact_id)
                attempt += 1
                continue
            self.journal.record(op_key, "uploaded")
            self.client.confirm_artifact(artifact_id)
            self.journal.record(op_key, "confirmed")
            return 1
        raise APIError(
            "PUT upload URL",
            None,
            f"the storage refused {MAX_URL_RENEWALS + 1} fresh upload URLs in a row (403)",
        )

    def _delete_quietly(self, artifact_id: str) -> None:
        try:
            self.client.delete_artifact(artifact_id)
        except APIError as error:
            if error.status != 404:
                raise


def run_metadata(
    plan: UploadPlan, settings: UploadSettings, extra: dict[str, Any]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "junit2af_version": __version__,
        "inputs": plan.inputs,
        "report_time_span": {
            "start": format_time(plan.first_start),
            "end": format_time(plan.last_finish),
        },
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "records": plan.records,
    }
    if plan.partial:
        metadata["partial"] = True
    metadata.update(settings.metadata)
    metadata.update(extra)
    return metadata


def upload(
    reports: list[ReportInput],
    settings: UploadSettings,
    *,
    options: ParseOptions | None = None,
    roots: AttachmentRoots | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    run_metadata_extra: dict[str, Any] | None = None,
) -> UploadReport:
    """Upload ``reports`` as one test run and return what happened.

    Raises :class:`~junit2af.errors.InputError` before any request when a report is bad,
    :class:`~junit2af.errors.APIError` for a refusal that stops everything (401/403 on
    the run), :class:`UploadFailed` when some results could not be uploaded (the report
    of what did go through is on the exception), and
    :class:`~junit2af.errors.JournalLockedError` when another process holds the journal.
    """
    started = time.monotonic()
    options = options or ParseOptions()
    progress = progress or Progress()
    warnings: list[str] = []
    warn_before = options.warn

    def collect(message: str) -> None:
        warnings.append(message)
        warn_before(message)

    from dataclasses import replace

    plan = plan_upload(reports, replace(options, warn=collect), fmt=fmt)
    quiet = replace(options, warn=lambda message: None)  # said once, in the first pass
    label = settings.label or default_label(reports, plan)
    report = UploadReport(label=label, counts=dict(plan.counts), results_total=plan.records)
    report.warnings = warnings
    report.warnings_shown = len(warnings)
    if settings.dry_run:
        report.dry_run = True
        report.elapsed_s = time.monotonic() - started
        return report

    identity = upload_identity(
        settings.base_url, settings.project_id, label, [i["sha256"] for i in plan.inputs]
    )
    assert settings.journal_path is not None
    stats = CallStats()
    with Journal(settings.journal_path) as journal:
        run_id, state = journal.open_upload(
            identity,
            {
                "api_url": settings.base_url,
                "project_id": settings.project_id,
                "label": label,
                "inputs": plan.inputs,
            },
            new_run=settings.new_run,
        )
        if state == "complete":
            report.run_id = run_id
            report.already_complete = True
            report.in_doubt = report.possible_duplicates = journal.resent_creates()
            report.elapsed_s = time.monotonic() - started
            return report
        report.resumed = run_id is not None
        with APIClient(settings, stats) as client:
            uploader = _Uploader(settings, client, journal, roots, report)
            try:
                run_id = uploader.open_run(
                    label, run_metadata(plan, settings, run_metadata_extra or {})
                )
                report.run_id = run_id
                progress.start(plan.records)
                _upload_all(
                    uploader,
                    run_id,
                    read_records(reports, quiet, fmt=fmt),
                    settings.jobs,
                    report,
                    progress,
                )
                if not report.errors:
                    uploader.complete_run(run_id)
            finally:
                progress.finish()
                # Cumulative over every run of this upload (killed ones included): the
                # journal counts each create sent more than once.
                report.in_doubt = report.possible_duplicates = journal.resent_creates()
                report.requests = stats.requests
                report.retries = stats.retries
                report.elapsed_s = time.monotonic() - started
    if report.errors:
        failure = UploadFailed(
            f"{len(report.errors)} result(s) could not be uploaded (first: {report.errors[0]}); "
            "run the same command again to finish the upload"
        )
        failure.report = report  # type: ignore[attr-defined]
        raise failure
    return report


def _upload_all(
    uploader: _Uploader,
    run_id: str,
    records: Iterator[TestRecord],
    jobs: int,
    report: UploadReport,
    progress: Progress,
) -> None:
    """Feed records to ``jobs`` workers through a bounded window (flat memory)."""
    window = threading.BoundedSemaphore(jobs * 4)
    lock = threading.Lock()
    done = 0
    fatal: list[BaseException] = []

    def settle(future: Future[tuple[int, int, list[str]]], record: TestRecord) -> None:
        nonlocal done
        try:
            results, artifacts, warnings = future.result()
        except (Junit2AFError, OSError) as error:
            with lock:
                report.errors.append(f"{record.test_name}: {error}")
                if isinstance(error, APIError) and error.status in (401, 403):
                    fatal.append(error)
                if isinstance(error, InDoubtError):
                    fatal.append(error)
            results, artifacts, warnings = 0, 0, []
        except BaseException as error:  # a bug: keep the others going, report it
            with lock:
                report.errors.append(f"{record.test_name}: {type(error).__name__}: {error}")
            results, artifacts, warnings = 0, 0, []
        finally:
            window.release()
        with lock:
            report.results_uploaded += results
            report.artifacts_uploaded += artifacts
            report.warnings.extend(warnings)
            done += 1
            progress.advance(done)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="junit2af-upload") as pool:
        for record in records:
            if fatal:
                break
            window.acquire()
            future = pool.submit(uploader.upload_record, run_id, record)
            future.add_done_callback(lambda f, r=record: settle(f, r))
    if fatal:
        raise fatal[0]


__all__ = [
    "Progress",
    "UploadFailed",
    "UploadPlan",
    "UploadReport",
    "plan_upload",
    "upload",
    "Status",
]

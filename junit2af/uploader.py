"""Replays a :class:`~junit2af.reports.ReportSet` into the service as one test run.

An :class:`Uploader` owns one API client and the journal for its lifetime (twine's
upload session); :meth:`Uploader.upload` takes a report set whose one pass has checked
every report (a bad file stops the upload before any request, so there is never a run
left half-made because of bad input) and sends what that pass spooled.

Each record is one job: create the result, update what create ignores, then create,
upload and confirm its artifacts, in that order. Jobs run on worker threads, as many at
once as the concurrency limit allows: fixed by ``--jobs``, or adapted to the service
(start at 8, double while all is well, halve on 429/503 or rising latency, then grow by
one a round: AIMD). Before a batch of jobs is handed out, the creates it will send are
journaled in one durable commit; a create whose outcome is unknown is resent with the
same ``Idempotency-Key`` after a back-off until it settles or the retry deadline passes,
each unknown send counted as a possible duplicate.
"""

from __future__ import annotations

import json
import math
import platform
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from junit2af import __version__, bodies
from junit2af.artifacts import PlannedArtifact
from junit2af.client import APIClient, CallStats
from junit2af.errors import (
    APIError,
    ConfigError,
    ExitStatus,
    InDoubtError,
    Junit2AFError,
    Stopped,
    UncertainOutcome,
    UploadFailed,
    UploadURLExpired,
)
from junit2af.journal import (
    Journal,
    Kind,
    Op,
    State,
    op_key,
    sweep,
    upload_identity,
    upload_scope,
)
from junit2af.records import format_time
from junit2af.reports import PlannedRecord, ReportScan, ReportSet
from junit2af.settings import UploadSettings

#: How many times an artifact is recreated after its upload URL expired.
MAX_URL_RENEWALS = 5
#: How long a stop (SIGINT/SIGTERM) waits for the requests in flight.
DRAIN_SECONDS = 5.0
#: Inputs up to this size are read whole before the settings are checked.
PRESCAN_BYTES = 64 * 1024 * 1024
#: Adaptive concurrency: where it starts and its bounds.
START_JOBS = 8
MAX_ADAPTIVE_JOBS = 64
_RUN = op_key("run")


@dataclass
class UploadReport:
    """The outcome of an upload, as the summary and ``--json`` show it.

    ``results_uploaded``, ``artifacts_uploaded`` and the doubt figures are cumulative over
    every invocation of the same upload (a resumed upload adds up to the report's total);
    ``results_sent`` is this invocation's share.
    """

    run_id: str | None = None
    run_url: str | None = None
    label: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    results_total: int = 0
    results_uploaded: int = 0
    results_sent: int = 0
    artifacts_uploaded: int = 0
    artifacts_left_out: int = 0
    requests: int = 0
    retries: int = 0
    #: creates whose outcome was unknown at least once (each resent with its key)
    in_doubt: int = 0
    #: at most this many duplicates on the server: one per send of unknown outcome
    possible_duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    resumed: bool = False
    already_complete: bool = False
    dry_run: bool = False
    journal: str | None = None
    results_file: str | None = None
    #: how many of ``warnings`` were already shown as they happened (reading the reports)
    warnings_shown: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_url": self.run_url,
            "label": self.label,
            "counts": self.counts,
            "results_total": self.results_total,
            "results_uploaded": self.results_uploaded,
            "results_sent": self.results_sent,
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
            "journal": self.journal,
            "results_file": self.results_file,
        }


class Progress(Protocol):
    """What an upload tells about its progress (the CLI prints it; the default is silent)."""

    def start(self, total: int, done: int) -> None:
        """The plan is known: ``total`` results, ``done`` of them by earlier invocations."""

    def advance(self, done: int) -> None:
        """``done`` results settled so far (earlier invocations included)."""

    def finish(self) -> None:
        """Called at the end, whatever happened."""


class _Silent:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


def default_label(reports: ReportSet, scan: ReportScan) -> str:
    """A label from the report files and their own date (stable across re-runs)."""
    names = [item.name.rsplit("/", 1)[-1] for item in scan.inputs] or ["reports"]
    head = names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1} more"
    when = scan.first_start or scan.last_finish
    label = f"{head} {when.date().isoformat()}" if when else head
    label = label[:255]
    return label if len(label) >= 2 else f"junit2af {label}"


def run_metadata(scan: ReportScan, settings: UploadSettings, extra: Mapping[str, Any]) -> dict:
    """The run's metadata: where it came from, and the reports' own time span."""
    metadata: dict[str, Any] = {
        "junit2af_version": __version__,
        "inputs": [item.as_dict() for item in scan.inputs[:100]],
        "report_time_span": {
            "start": format_time(scan.first_start),
            "end": format_time(scan.last_finish),
        },
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "records": scan.records,
    }
    if len(scan.inputs) > 100:
        metadata["inputs_total"] = len(scan.inputs)
    if scan.partial:
        metadata["partial"] = True
    if scan.interrupted:
        metadata["interrupted"] = True
    metadata.update(settings.metadata)
    metadata.update(extra)
    return bodies.fit_metadata(metadata, bodies.Fitting())


class ConcurrencyLimit:
    """How many jobs may run at once: fixed, or adapted to the service (AIMD).

    Adaptive: starts at :data:`START_JOBS`, doubles after each round without trouble
    (slow start), then grows by one a round; halves when the service says it is
    overloaded (429, 503) and steps down when latency climbs past twice the best seen,
    at most once a round either way (a round: as many finished jobs as the limit, or a
    few round trips). ``--jobs N`` fixes it at N.
    """

    def __init__(self, fixed: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.fixed = fixed
        self.limit = float(fixed or START_JOBS)
        self.maximum = fixed or MAX_ADAPTIVE_JOBS
        self.in_flight = 0
        self._clock = clock
        self._cond = threading.Condition()
        self._slow_start = fixed is None
        self._round_left = int(self.limit)
        self._best_latency = math.inf
        self._typical = 0.05
        self._recent: deque[float] = deque(maxlen=16)
        self._last_cut = -math.inf

    def acquire(self, stop: threading.Event) -> bool:
        with self._cond:
            while self.in_flight >= int(self.limit):
                if stop.is_set():
                    return False
                self._cond.wait(0.2)
            self.in_flight += 1
            if self.in_flight < int(self.limit):
                self._cond.notify()  # room left (the limit grew): the next waiter too
            return True

    def release(self) -> None:
        with self._cond:
            self._finished_one()
            self._cond.notify()

    def give_back(self) -> None:
        """Return a place taken for a job that did not happen (nothing was left to do):
        not a finished job, so it does not count toward a round."""
        with self._cond:
            self.in_flight -= 1
            self._cond.notify()

    def next_turn(self, stop: threading.Event) -> bool:
        """:meth:`release` then :meth:`acquire` for a thread that goes on to its next
        job: it keeps its place while the limit allows, without waking another thread to
        take it (and then waking no one, or only one when the limit grew)."""
        with self._cond:
            self._finished_one()
            if self.in_flight < int(self.limit):
                self.in_flight += 1
                room = int(self.limit) - self.in_flight
                if room:
                    self._cond.notify(room)  # the limit grew: wake as many as it allows
                return True
        return self.acquire(stop)

    def _finished_one(self) -> None:
        self.in_flight -= 1
        if self.fixed is None:
            self._round_left -= 1
            if self._round_left <= 0:
                if self._slow_start:
                    self.limit = min(self.maximum, self.limit * 2)
                else:
                    self.limit = min(self.maximum, self.limit + 1)
                self._round_left = int(self.limit)

    def _may_cut(self) -> bool:
        # Once a round: the requests already in flight when the service complained were
        # sent under the old limit; punishing each of them again would collapse it.
        now = self._clock()
        if now - self._last_cut < max(4 * self._typical, 0.05):
            return False
        self._last_cut = now
        self._slow_start = False
        self._round_left = max(1, int(self.limit))
        return True

    def congested(self) -> None:
        """The service said it is overloaded (429, 503)."""
        if self.fixed is not None:
            return
        with self._cond:
            if self._may_cut():
                self.limit = max(1.0, self.limit / 2)

    def latency(self, seconds: float) -> None:
        """A request took ``seconds``: rising latency is the first sign of a queue."""
        if self.fixed is not None:
            return
        with self._cond:
            self._best_latency = min(self._best_latency, seconds)
            self._recent.append(seconds)
            if len(self._recent) < (self._recent.maxlen or 0):
                return
            self._typical = sorted(self._recent)[len(self._recent) // 2]
            if self._typical > 2 * self._best_latency + 0.005 and self._may_cut():
                self.limit = max(1.0, self.limit * 0.8)
                self._recent.clear()


class _Outcome:
    __slots__ = ("results", "artifacts", "left_out", "warnings")

    def __init__(self) -> None:
        self.results = 0
        self.artifacts = 0
        self.left_out = 0
        self.warnings: list[str] = []


class Uploader:
    """One upload session: one API client, one journal at a time, for its lifetime.

    Example::

        settings = UploadSettings.from_environment(os.environ)
        with ReportSet(["build/test-results"], ReadSettings()) as reports:
            with Uploader(settings) as uploader:
                report = uploader.upload(reports)   # or raises UploadFailed(report=...)
    """

    def __init__(
        self,
        settings: UploadSettings,
        *,
        progress: Progress | None = None,
        on_retry: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.progress: Progress = progress or _Silent()
        self.stats = CallStats()
        self._on_retry = on_retry
        self.limit = ConcurrencyLimit(settings.jobs)
        self.client = APIClient(
            settings, self.stats, on_retry=self._retried, on_latency=self.limit.latency
        )
        self._journal: Journal | None = None
        self._stop = threading.Event()
        self._stop_reason: Stopped | None = None
        self._checked = False
        self._swept = False
        self._planned_left_out = 0

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
        finally:
            self.client.close()

    def _retried(self, call: str, reason: str, attempt: int) -> None:
        if reason in ("HTTP 429", "HTTP 503"):
            self.limit.congested()
        if self._on_retry is not None:
            self._on_retry(call, reason, attempt)

    def stop(self, reason: Stopped) -> None:
        """Ask a running upload to stop: what is in flight is finished and journaled."""
        self._stop_reason = reason
        self._stop.set()

    # -- before anything is read --------------------------------------------------------

    def check(self) -> None:
        """One cheap round trip that proves the URL, the key and the project.

        Raises :class:`ConfigError` (exit 2) for a URL that does not answer or a project
        the key cannot see, :class:`APIError` 401/403 (exit 4) for the key. A service
        answering 5xx is left to the upload's retries.
        """
        if self.settings.dry_run or self._checked:
            return
        quick = replace(
            self.settings,
            connect_timeout=min(self.settings.connect_timeout, 5.0),
            read_timeout=min(self.settings.read_timeout, 8.0),
            retry_deadline_s=0,
        )
        with APIClient(quick, self.stats) as probe:
            try:
                probe.status()
            except APIError as error:
                if error.status is None:
                    raise ConfigError(f"cannot reach the API: {error}") from None
                if error.status not in (500, 502, 503, 504, 429):
                    raise ConfigError(
                        f"{self.settings.base_url} does not answer like the Automated Future "
                        f"API ({error}); check AF_API_URL"
                    ) from None
            self.client.run_url_template = probe.run_url_template
            self._check_project(probe)
        self._checked = True

    def _check_project(self, probe: APIClient) -> None:
        seen: list[str] = []
        token = None
        for _page in range(50):
            try:
                projects, token = probe.list_projects(token)
            except APIError as error:
                if error.status in (401, 403):
                    raise APIError(
                        error.call,
                        error.status,
                        f"{error.server_message} (the API key was refused: check AF_API_KEY)",
                    ) from None
                if error.status is None or error.status >= 500:
                    return  # a struggling service: the upload's retries decide
                raise
            for project in projects:
                if isinstance(project, dict):
                    if project.get("project_id") == self.settings.project_id:
                        return
                    seen.append(f"{project.get('project_id')} ({project.get('name')})")
            if not token:
                break
        shown = ", ".join(seen[:10]) + (f" and {len(seen) - 10} more" if len(seen) > 10 else "")
        raise ConfigError(
            f"project {self.settings.project_id!r} is not one this API key can see; "
            f"it sees: {shown or 'no project'} (check AF_PROJECT_ID or --project)"
        )

    # -- the upload ----------------------------------------------------------------------

    def _journal_for(self, path: Path) -> Journal:
        if self._journal is not None and self._journal.path == path:
            return self._journal
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._journal = Journal(path)
        self._journal.compact()
        if self.settings.journal_path is None and not self._swept:
            self._swept = True
            sweep(path.parent)  # old journals of finished uploads in the state folder
        return self._journal

    def upload(
        self,
        reports: ReportSet,
        *,
        label: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> UploadReport:
        """Upload ``reports`` as one test run and return what happened.

        Raises :class:`~junit2af.errors.InputError` before any request when a report is
        bad, :class:`~junit2af.errors.APIError` when the key is refused,
        :class:`UploadFailed` (with ``.report``) when the upload could not finish, and
        :class:`~junit2af.errors.Stopped` after a SIGINT/SIGTERM (what was in flight is
        journaled: the same command resumes).
        """
        started = time.monotonic()
        # Refuse what is no report before any request; then, for small inputs, read them
        # all first (a bad one never costs a request); for large ones, check the settings
        # first (a wrong key is said in seconds, not after reading gigabytes).
        reports.check_formats()
        if reports.size_hint() > PRESCAN_BYTES:
            self.check()
        scan = reports.scan()
        label = label or self.settings.label or default_label(reports, scan)
        report = UploadReport(
            label=label,
            counts=dict(scan.counts),
            results_total=scan.records,
            warnings=list(scan.warnings),
            warnings_shown=len(scan.warnings),
            artifacts_left_out=scan.artifacts_left_out,
        )
        self._planned_left_out = scan.artifacts_left_out
        if self.settings.dry_run:
            report.dry_run = True
            report.elapsed_s = time.monotonic() - started
            return report
        settings = self.settings
        journal = self._journal_for(settings.journal_file(label))
        report.journal = str(journal.path)
        identity = upload_identity(settings.base_url, settings.project_id, label, scan.digests)
        entry = journal.open_upload(
            identity,
            upload_scope(settings.base_url, settings.project_id, label),
            {
                "api_url": settings.base_url,
                "project_id": settings.project_id,
                "label": label,
                "inputs": [item.as_dict() for item in scan.inputs],
            },
            new_run=settings.new_run,
            resume_changed=settings.resume_changed,
        )
        report.resumed = entry.resumed and not entry.complete and entry.run_id is not None
        if not entry.complete:
            self.check()
        if entry.complete:
            report.already_complete = True
            report.run_id = entry.run_id
            # No request is made (the template comes from the service's status): the link
            # printed when the upload completed was kept for this.
            report.run_url = journal.stored_run_url()
        else:
            session = _Session(self, journal, reports, report)
            stopped_by: Junit2AFError | None = None
            try:
                session.run(label, run_metadata(scan, settings, metadata or {}))
            except Junit2AFError as error:
                stopped_by = error
            finally:
                self.progress.finish()
                self._finish_report(journal, report, started)
                if settings.results_file is not None:
                    report.results_file = str(settings.results_file)
                    write_results_file(journal, reports, settings.results_file)
            if stopped_by is not None:
                # Running it again helps after an outage; after a refused key or a wrong
                # setting, only once that is fixed.
                again = "run the same command again to finish the upload"
                if stopped_by.exit_status in (ExitStatus.AUTH, ExitStatus.USAGE):
                    again = "once that is fixed, the same command finishes the upload"
                raise UploadFailed(
                    f"{stopped_by}; {again}",
                    report,
                    exit_status=stopped_by.exit_status,
                ) from stopped_by
            if report.errors:
                raise UploadFailed(
                    f"{len(report.errors)} result(s) could not be uploaded (first: "
                    f"{report.errors[0]}); run the same command again to finish the upload",
                    report,
                )
            return report
        self._finish_report(journal, report, started)
        if settings.results_file is not None:
            report.results_file = str(settings.results_file)
            write_results_file(journal, reports, settings.results_file)
        return report

    def _finish_report(self, journal: Journal, report: UploadReport, started: float) -> None:
        totals = journal.totals()
        report.results_uploaded = totals.results_done
        report.artifacts_uploaded = totals.artifacts_done
        # Left out by the plan (this reading) plus by the server (journaled, every run).
        report.artifacts_left_out = self._planned_left_out + totals.artifacts_left_out
        report.in_doubt = totals.creates_in_doubt
        report.possible_duplicates = totals.possible_duplicates
        report.requests = self.stats.requests
        report.retries = self.stats.retries
        report.elapsed_s = time.monotonic() - started
        report.run_id = report.run_id or journal.upload.run_id
        report.run_url = (
            self.settings.run_url(report.run_id, self.client.run_url_template) or report.run_url
        )


class _Session:
    """One invocation of one upload: the run, the jobs, the accounting."""

    def __init__(
        self, uploader: Uploader, journal: Journal, reports: ReportSet, report: UploadReport
    ) -> None:
        self.uploader = uploader
        self.settings = uploader.settings
        self.client = uploader.client
        self.journal = journal
        self.reports = reports
        self.report = report
        self.limit = uploader.limit
        self.stop = uploader._stop
        self.ops: dict[bytes, Op] = {}
        self.lock = threading.Lock()
        #: intents journaled by this invocation and not sent yet (revoked at the end)
        self.unsent: set[bytes] = set()
        self.fatal: list[BaseException] = []

    # -- exactly-once creates ------------------------------------------------------------

    def create(
        self, key: bytes, kind: Kind, send: Callable[[str], str], attempt: int = 0
    ) -> tuple[str, Any]:
        """Send the create of ``key`` (its intent is journaled) until its outcome is known.

        A lost answer, or a 500/502/504, leaves the outcome unknown: the send is counted
        (durably) as a possible duplicate, then the create is resent with the same
        ``Idempotency-Key`` after a back-off, until it settles or the retry deadline
        passes. ``--on-uncertain fail`` stops instead.
        """
        with self.lock:
            if key not in self.unsent:
                pending_intent = False
            else:
                self.unsent.discard(key)
                pending_intent = True
        if not pending_intent:
            self.journal.intents([(key, kind, attempt)])
        idempotency = self.journal.idempotency_key(key, attempt)
        first_failure: float | None = None
        delay = self.settings.backoff_factor
        sends = 1
        while True:
            try:
                server_id = send(idempotency)
            except UncertainOutcome as error:
                self.journal.doubt(key)
                if self.settings.on_uncertain == "fail":
                    raise InDoubtError(
                        f"{error.call}: the outcome is unknown ({error.reason}); not resending "
                        "it because of --on-uncertain fail"
                    ) from None
                now = time.monotonic()
                first_failure = first_failure or now
                if now - first_failure > self.settings.retry_deadline_s or self.stop.is_set():
                    raise APIError(
                        error.call,
                        error.status,
                        f"outcome still unknown after {now - first_failure:.0f} s of resends: "
                        f"{error.reason}",
                    ) from None
                sends += 1
                self.uploader._retried(error.call, error.reason, sends)
                time.sleep(min(30.0, delay) * (0.5 + random.random()))
                delay *= 2
                continue
            return server_id, self.journal.created(key, server_id)

    # -- the run ---------------------------------------------------------------------------

    def open_run(self, label: str, metadata: dict[str, Any]) -> str:
        run_op = self.ops.get(_RUN)
        if run_op is not None and run_op.server_id:
            run_id = run_op.server_id
        else:

            def send(key: str) -> str:
                body = {
                    "project_id": self.settings.project_id,
                    "label": label,
                    "metadata": {**metadata, "idempotency_key": key},
                }
                return self.client.create_run(body, key)

            run_id, _ = self.create(_RUN, Kind.RUN, send)
            self.journal.set_run(run_id)
            run_op = None
        if run_op is None or run_op.state < State.UPLOADED:
            self.client.update_run(run_id, {"status": "Running"})
            self.journal.set_state(_RUN, Kind.RUN, State.UPLOADED, run_id)
        return run_id

    def complete_run(self, run_id: str) -> None:
        self.client.update_run(run_id, {"status": "Completed"})
        self.journal.set_state(_RUN, Kind.RUN, State.DONE, run_id)
        self.journal.mark_complete(self.report.run_url)

    def run(self, label: str, metadata: dict[str, Any]) -> None:
        # An intent left by an earlier process: its last send may have created the object.
        self.journal.count_left_intents()
        self.ops = self.journal.load_ops()
        run_id = self.open_run(label, metadata)
        self.report.run_id = run_id
        self.report.run_url = self.settings.run_url(run_id, self.client.run_url_template)
        done_before = sum(
            1 for op in self.ops.values() if op.kind == Kind.RESULT and op.state == State.DONE
        )
        self.uploader.progress.start(self.report.results_total, done_before)
        try:
            self.send_all(run_id, done_before)
        finally:
            self.journal.revoke(self.unsent)
            self.unsent.clear()
            self.journal.flush()
        if self.fatal:
            raise self.fatal[0]
        if not self.report.errors:
            self.complete_run(run_id)

    # -- the jobs ----------------------------------------------------------------------------

    def _batch_size(self) -> int:
        # About one round of jobs, journaled just before they are taken: a kill leaves
        # few intents that were journaled but never sent (each counted in doubt).
        return max(4, int(self.limit.limit))

    def _batches(self, size: Callable[[], int]) -> Iterator[list[PlannedRecord]]:
        batch: list[PlannedRecord] = []
        for item in self.reports.planned():
            batch.append(item)
            if len(batch) >= size():
                yield batch
                batch = []
        if batch:
            yield batch

    def _journal_intents(self, batch: list[PlannedRecord]) -> None:
        """One durable commit for the creates this batch will send."""
        intents: list[tuple[bytes, Kind, int]] = []
        for item in batch:
            name = item.record.test_name
            key = op_key("result", name)
            op = self.ops.get(key)
            if op is None or op.state == State.INTENT:
                intents.append((key, Kind.RESULT, 0))
            for artifact in item.artifacts:
                akey = op_key("artifact", name, artifact.label)
                aop = self.ops.get(akey)
                if aop is None or aop.state == State.INTENT:
                    intents.append((akey, Kind.ARTIFACT, aop.attempt if aop else 0))
        if intents:
            self.journal.intents(intents)
            with self.lock:
                self.unsent.update(key for key, _, _ in intents)

    def send_all(self, run_id: str, done_before: int) -> None:
        done = done_before
        done_lock = threading.Lock()
        # Each worker takes its next record itself: no feeder thread hands records over
        # (a hand-over cost two thread wake-ups a record: about 6% of the client's CPU
        # at 8 jobs). The worker that finds the current batch used up journals the next
        # batch's intents (one durable commit) before taking from it.
        feed_lock = threading.Lock()
        batches = self._batches(self._batch_size)
        current: deque[PlannedRecord] = deque()

        def take() -> PlannedRecord | None:
            with feed_lock:
                if not current:
                    batch = next(batches, None)  # None again once they are all out
                    if batch is None or self.stop.is_set() or self.fatal:
                        return None
                    self._journal_intents(batch)
                    current.extend(batch)
                return current.popleft()

        def worker() -> None:
            nonlocal done
            turn = self.limit.acquire(self.stop)
            try:
                while turn and not (self.stop.is_set() or self.fatal):
                    try:
                        item = take()
                    except BaseException as error:  # noqa: BLE001 - the spool or journal failed
                        with self.lock:
                            self.fatal.append(error)
                            self.stop.set()
                        break
                    if item is None:
                        break
                    self.job(run_id, item)
                    with done_lock:
                        done += 1
                        self.uploader.progress.advance(done)
                    turn = self.limit.next_turn(self.stop)
            finally:
                if turn:
                    self.limit.give_back()

        threads = [
            threading.Thread(target=worker, name=f"junit2af-upload-{i}", daemon=True)
            for i in range(self.limit.maximum)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()  # a signal still reaches this thread (SIGINT, SIGTERM)
        except (KeyboardInterrupt, Stopped) as interruption:
            reason = (
                interruption
                if isinstance(interruption, Stopped)
                else Stopped("SIGINT", ExitStatus.INTERRUPTED)
            )
            self.uploader.stop(reason)
        finally:
            # On a stop, what is in flight finishes; records not taken were never sent
            # (their intents are revoked by run()).
            deadline = time.monotonic() + (DRAIN_SECONDS if self.stop.is_set() else 1e9)
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        if self.fatal:
            raise self.fatal[0]
        if self.stop.is_set():
            raise self.uploader._stop_reason or Stopped("a signal", ExitStatus.INTERRUPTED)

    def job(self, run_id: str, item: PlannedRecord) -> None:
        """One record: create, update, attach. Errors are recorded, not raised."""
        outcome = _Outcome()
        name = item.record.test_name
        try:
            self.upload_record(run_id, item, outcome)
        except (Junit2AFError, OSError) as error:
            message = f"{name}: {self.client.redact(str(error))}"
            with self.lock:
                self.report.errors.append(message)
                if isinstance(error, APIError) and error.status in (401, 403):
                    self.fatal.append(error)
                    self.stop.set()
                if isinstance(error, InDoubtError):
                    self.fatal.append(error)
                    self.stop.set()
        except BaseException as error:  # a bug: keep the others going, report it
            with self.lock:
                self.report.errors.append(f"{name}: {type(error).__name__}: {error}")
        with self.lock:
            self.report.results_sent += outcome.results
            self.report.warnings.extend(outcome.warnings)

    def upload_record(self, run_id: str, item: PlannedRecord, outcome: _Outcome) -> None:
        record = item.record
        name = record.test_name
        key = op_key("result", name)
        op = self.ops.get(key)
        if op is not None and op.state == State.DONE and op.server_id:
            result_id = op.server_id
        else:
            if op is not None and op.server_id:
                result_id = op.server_id
            else:

                def send(idempotency: str) -> str:
                    body = bodies.result_create(
                        record,
                        project_id=self.settings.project_id,
                        run_id=run_id,
                        idempotency_key=idempotency,
                    )
                    return self.client.create_result(body, idempotency)

                result_id, _ = self.create(key, Kind.RESULT, send)
                outcome.results = 1
            # Create ignores finished_at and error_message (reading note 2): update them.
            update = bodies.result_update(record)
            if update:
                self.client.update_result(result_id, update)
            self.journal.advance(key, State.DONE)
        for artifact in item.artifacts:
            self.upload_artifact(result_id, name, artifact, outcome)

    def upload_artifact(
        self, result_id: str, name: str, artifact: PlannedArtifact, outcome: _Outcome
    ) -> None:
        key = op_key("artifact", name, artifact.label)
        op = self.ops.get(key)
        if op is not None and op.state in (State.DONE, State.LEFT_OUT):
            return
        attempt = op.attempt if op is not None else 0
        if op is not None and op.state == State.UPLOADED and op.server_id:
            self.client.confirm_artifact(op.server_id)
            self.journal.advance(key, State.DONE)
            return
        if op is not None and op.state == State.CREATED and op.server_id:
            # Created by an earlier run whose upload URL is gone: start that one over.
            self._delete_quietly(op.server_id)
            attempt += 1
            with self.lock:
                self.unsent.discard(key)
        for _renewal in range(MAX_URL_RENEWALS + 1):
            url_holder: dict[str, str] = {}

            def send(idempotency: str, url_holder: dict[str, str] = url_holder) -> str:
                body = {
                    "test_result_id": result_id,
                    "label": artifact.label,
                    "kind": artifact.kind.value,
                    "content_type": artifact.content_type,
                    "size_bytes": artifact.size_bytes,
                    "metadata": {"idempotency_key": idempotency, "role": artifact.role},
                }
                artifact_id, url = self.client.create_artifact(body, idempotency)
                url_holder["url"] = url
                return artifact_id

            try:
                artifact_id, journaled = self.create(key, Kind.ARTIFACT, send, attempt)
            except APIError as error:
                if error.status == 400:
                    # The server will not take it (e.g. a result older than 7 days on a
                    # resume): leave it out, say so, and let the run complete.
                    self.journal.advance(key, State.LEFT_OUT)
                    outcome.left_out += 1
                    outcome.warnings.append(
                        f"{name}: attachment {artifact.label} left out: {error.server_message}"
                    )
                    return
                raise
            try:
                with artifact.open(self.reports.policy) as body:
                    self.client.put_upload(
                        url_holder["url"], body, artifact.content_type, artifact.size_bytes
                    )
            except (Junit2AFError, OSError) as error:
                if isinstance(error, UploadURLExpired):
                    self._delete_quietly(artifact_id)
                    attempt += 1
                    continue
                if isinstance(error, APIError):
                    raise
                # The file changed since it was checked: leave it out, say so, and do not
                # leave an unconfirmed artifact counting against the result's 50.
                self._delete_quietly(artifact_id)
                self.journal.advance(key, State.LEFT_OUT)
                outcome.left_out += 1
                outcome.warnings.append(f"{name}: attachment {artifact.label} left out: {error}")
                return
            # Its id is on the disk before it is confirmed (the PUT gave the commit time):
            # a confirmed artifact is always known, so a resume never confirms a second.
            self.journal.wait(journaled)
            self.journal.advance(key, State.UPLOADED)
            self.client.confirm_artifact(artifact_id)
            self.journal.advance(key, State.DONE)
            outcome.artifacts += 1
            return
        raise APIError(
            "PUT upload URL",
            403,
            f"the storage refused {MAX_URL_RENEWALS + 1} fresh upload URLs in a row",
        )

    def _delete_quietly(self, artifact_id: str) -> None:
        try:
            self.client.delete_artifact(artifact_id)
        except APIError as error:
            if error.status != 404:
                raise


def write_results_file(journal: Journal, reports: ReportSet, path: Path) -> None:
    """One JSON line per result of the run, with the ids the server gave (from the
    journal, so it is complete after a resumed upload too); null where not uploaded."""
    ops = journal.load_ops()
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        for item in reports.planned():
            record = item.record
            name = record.test_name
            result = ops.get(op_key("result", name))
            artifact_ids = []
            for artifact in item.artifacts:
                aop = ops.get(op_key("artifact", name, artifact.label))
                if aop is not None and aop.state == State.DONE and aop.server_id:
                    artifact_ids.append({"label": artifact.label, "artifact_id": aop.server_id})
            line = {
                "test_name": name,
                "status": record.status.value,
                "test_result_id": result.server_id if result else None,
                "artifacts": artifact_ids,
                "source": record.source.display(),
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    temporary.replace(path)


__all__ = [
    "ConcurrencyLimit",
    "Progress",
    "UploadReport",
    "Uploader",
    "default_label",
    "run_metadata",
    "write_results_file",
]

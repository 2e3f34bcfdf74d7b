"""Reports to records: detection, parsing, run-wide names, artifact plans, and the one pass.

:func:`read_records` turns report inputs into one stream of :class:`TestRecord` whose names
are distinct across the whole run. :class:`ReportSet` owns the passes an upload makes over
its inputs: one :meth:`~ReportSet.scan` reads every report once (a bad one stops it before
anything is sent), computes the digests, counts and time span, plans each record's
artifacts, and writes what it produced to a compact spool; the upload then reads the spool
(:meth:`~ReportSet.planned`), not the reports again. stdin therefore needs no copy of its
own, and a report that changes after the scan cannot change what is sent.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import BinaryIO

from junit2af.artifacts import AttachmentPolicy, PlannedArtifact, plan_artifacts
from junit2af.bodies import Fitting, fit_record
from junit2af.errors import InputError, UnsupportedFormatError
from junit2af.inputs import OnSkip, ReportInput, expand_inputs
from junit2af.parsers import SNIFF_BYTES, Format, detect, get_format
from junit2af.parsers.base import ParseOptions
from junit2af.records import NameRegistry, SourceRef, TestRecord, pickled_positionally
from junit2af.settings import ReadSettings

_PROTOCOL = pickle.HIGHEST_PROTOCOL
#: Largest report stream read (a file, an archive member, stdin), after decompression.
MAX_REPORT_BYTES = 4 * 1024**3


def choose_format(report: ReportInput, head: bytes, forced: str | None) -> Format:
    """The format to read ``report`` as: ``forced``, else what its first bytes show.

    Raises :class:`InputError` naming what the file looks like when it is no report
    junit2af reads.
    """
    if forced:
        return get_format(forced)
    detection = detect(head)
    if detection.format is not None:
        return detection.format
    if detection.looks_like is not None:
        raise UnsupportedFormatError(report.display, detection.looks_like.message(), line=1)
    root = detection.xml_root
    if root is not None:
        where = f" in namespace {root.namespace}" if root.namespace else ""
        raise InputError(
            report.display,
            f"not a test report junit2af reads: XML whose root element is <{root.local}>{where}",
            line=_line_of(head, b"<" + root.local.encode()),
        )
    if not head.strip():
        raise InputError(report.display, "empty file: no test report in it")
    raise InputError(
        report.display,
        "not a recognised test report (`junit2af formats` lists what is read)",
        line=1,
    )


def _line_of(head: bytes, needle: bytes) -> int:
    position = head.find(needle)
    return head.count(b"\n", 0, position) + 1 if position >= 0 else 1


class _MeteredReader(io.RawIOBase):
    """Replays the sniffed head, then the rest; hashes every byte and enforces the cap."""

    def __init__(self, head: bytes, rest: BinaryIO, digest: hashlib._Hash, display: str) -> None:
        self._head = head
        self._rest = rest
        self._digest = digest
        self._display = display
        self.size = len(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        self._take(data)
        buffer[: len(data)] = data
        return len(data)

    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_REPORT_BYTES:
            raise InputError(self._display, f"larger than {MAX_REPORT_BYTES} bytes; refused")
        self._digest.update(data)

    def drain(self) -> None:
        """Hash what the parser did not read (a stream that stops at ``Bail out!``)."""
        self._head = b""
        for chunk in iter(lambda: self._rest.read(1024 * 1024), b""):
            self._take(chunk)


@dataclass
class ReportDigest:
    """One input as the run's metadata and the upload's identity know it."""

    name: str
    sha256: str
    format: str
    size: int

    def as_dict(self) -> dict[str, str | int]:
        return {"name": self.name, "sha256": self.sha256, "format": self.format}


def parse_report(
    report: ReportInput,
    options: ParseOptions,
    *,
    fmt: str | None = None,
    on_digest: Callable[[ReportDigest], None] | None = None,
) -> Iterator[TestRecord]:
    """Yield the records of one report, its format detected from its content.

    When the report has been read to its end, ``on_digest`` gets its sha256 and size.
    """
    source = SourceRef(report.path, report.member)
    options = replace(options, fallback_start=options.fallback_start or report.mtime)
    digest = hashlib.sha256()
    with report.open() as stream:
        try:
            head = stream.read(SNIFF_BYTES)
        except (OSError, EOFError) as error:
            raise InputError(report.display, f"cannot read: {error}") from None
        digest.update(head)
        chosen = choose_format(report, head, fmt)
        metered = _MeteredReader(head, stream, digest, report.display)
        replay = io.BufferedReader(metered, 256 * 1024)
        in_archive = report.member is not None
        for record in chosen.load()(replay, source, options):
            if in_archive and "archive_member" not in record.metadata:
                record = replace(
                    record,
                    metadata={
                        **record.metadata,
                        "archive": report.path,
                        "archive_member": report.member,
                    },
                )
            yield record
        try:
            metered.drain()
        except (OSError, EOFError) as error:
            raise InputError(report.display, f"cannot read: {error}") from None
    if on_digest is not None:
        on_digest(ReportDigest(report.display, digest.hexdigest(), chosen.name, metered.size))


def read_records(
    reports: Iterable[ReportInput],
    options: ParseOptions,
    *,
    fmt: str | None = None,
    on_error: Callable[[InputError], None] | None = None,
    on_digest: Callable[[ReportDigest], None] | None = None,
) -> Iterator[TestRecord]:
    """The records of every report, fitted to the API's limits (:mod:`junit2af.bodies`)
    and with names made distinct across all of them.

    Without ``on_error`` the first bad report raises; with it, the error is passed on and
    the other reports are still read.
    """
    from junit2af.parsers.allure import merge_attempts

    def every_record() -> Iterator[TestRecord]:
        for report in reports:
            fitting = Fitting()
            try:
                try:
                    for record in parse_report(report, options, fmt=fmt, on_digest=on_digest):
                        yield fit_record(record, fitting)
                except OverflowError as error:
                    # A number a parser did not bound (a duration of 10**30 ns, a date
                    # past 9999): the report is refused, naming it, not an internal error.
                    raise InputError(
                        report.display, f"a time or number out of range ({error})"
                    ) from None
            except InputError as error:
                if on_error is None:
                    raise
                on_error(error)
            said = fitting.message()
            if said:
                options.warn(f"{report.display}: {said}")

    # Fitted to the API before naming (two names fitted alike still come out distinct);
    # Allure's retries, one file per attempt, folded into one record per test first.
    yield from NameRegistry().unique(merge_attempts(every_record()))


@pickled_positionally
@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """A record as the upload sends it: its API fields and its planned artifacts."""

    record: TestRecord
    artifacts: tuple[PlannedArtifact, ...]


@dataclass
class ReportScan:
    """What the one pass over the reports learned."""

    inputs: list[ReportDigest] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    records: int = 0
    artifacts: int = 0
    artifacts_left_out: int = 0
    first_start: datetime | None = None
    last_finish: datetime | None = None
    #: a report was cut short (salvaged), or its test session was interrupted
    partial: bool = False
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)

    def add(self, record: TestRecord) -> None:
        self.records += 1
        self.counts[record.status.value] += 1
        started = record.started_at
        if started is not None and (self.first_start is None or started < self.first_start):
            self.first_start = started
        end = record.finished_at or started
        if end is not None and (self.last_finish is None or end > self.last_finish):
            self.last_finish = end
        if record.metadata.get("synthetic"):
            reason = str(record.metadata.get("reason", ""))
            self.partial = self.partial or reason == "report truncated"
            self.interrupted = self.interrupted or "interrupted" in reason

    @property
    def digests(self) -> list[str]:
        return [item.sha256 for item in self.inputs]


class ReportSet:
    """The reports of one run, read once.

    ``paths`` are what the user named (files, directories, globs, archives, ``-``), or
    pass already expanded ``inputs``. Use it as a context manager: the spool is closed
    on exit (it has no name on disk, so nothing is left behind, even by a killed process).

    Example::

        with ReportSet(["build/test-results"], ReadSettings()) as reports:
            scan = reports.scan()          # raises InputError on the first bad report
            for item in reports.planned(): # what an upload sends, from the spool
                ...
    """

    def __init__(
        self,
        paths: Sequence[str] = (),
        read: ReadSettings | None = None,
        *,
        inputs: Sequence[ReportInput] | None = None,
        private_paths: Sequence[os.PathLike[str] | str] = (),
        warn: Callable[[str], None] = lambda message: None,
        on_skip: OnSkip | None = None,
    ) -> None:
        self.read = read or ReadSettings()
        self.paths = list(paths)
        self._inputs = list(inputs) if inputs is not None else None
        self.policy = AttachmentPolicy(self.read.attachment_roots, private_paths)
        self._warn = warn
        self._on_skip = on_skip or (lambda name, why: warn(f"{name}: skipped: {why}"))
        self._spool: BinaryIO | None = None
        self.scanned: ReportScan | None = None

    def __enter__(self) -> ReportSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    @property
    def inputs(self) -> list[ReportInput]:
        """The report inputs (expanding ``paths`` on first use)."""
        if self._inputs is None:
            self._inputs = list(expand_inputs(self.paths, on_skip=self._on_skip))
            if not self._inputs:
                raise InputError(" ".join(self.paths) or "(no path)", "no test report found")
        return self._inputs

    def check_formats(self) -> None:
        """Refuse, from their first bytes, the inputs that are no report junit2af reads
        (cheap: no report is parsed). Raises :class:`InputError` naming the first."""
        for report in self.inputs:
            choose_format(report, report.peek(SNIFF_BYTES), self.read.format)

    def size_hint(self) -> int:
        """The inputs' total size on disk; stdin counts as large (its size is unknown)."""
        total = 0
        for report in self.inputs:
            if report.size is None:
                return MAX_REPORT_BYTES
            total += report.size
        return total

    def records(
        self, on_error: Callable[[InputError], None] | None = None
    ) -> Iterator[PlannedRecord]:
        """Stream every record with its artifact plan, without spooling (``junit2af parse``).

        Warnings about attachments are said as each record is planned.
        """
        options = self.read.parse_options(self._warn)
        for record in read_records(self.inputs, options, fmt=self.read.format, on_error=on_error):
            plan = plan_artifacts(record, self.policy)
            for warning in plan.warnings:
                self._warn(warning)
            yield PlannedRecord(record, tuple(plan.artifacts))

    def scan(self) -> ReportScan:
        """Read every report once: check it, count it, plan its artifacts, spool it.

        Raises :class:`InputError` on the first bad report, before anything is sent.
        Warnings are passed to ``warn`` as they come and kept in the result.
        """
        if self.scanned is not None:
            return self.scanned
        scan = ReportScan()

        def warn(message: str) -> None:
            scan.warnings.append(message)
            self._warn(message)

        options = self.read.parse_options(warn)
        # The spool is ours: a file without a name (unlinked at once where the system
        # allows, O_TMPFILE on Linux), written and read by this process only, so pickle is
        # safe here (several times faster than JSON for these objects), and a process
        # killed with SIGKILL leaves nothing behind in the temporary folder.
        self.close()
        spool = self._spool = tempfile.TemporaryFile(prefix="junit2af-spool-")  # noqa: SIM115
        for record in read_records(
            self.inputs, options, fmt=self.read.format, on_digest=scan.inputs.append
        ):
            scan.add(record)
            plan = plan_artifacts(record, self.policy)
            for warning in plan.warnings:
                warn(warning)
            scan.artifacts += len(plan.artifacts)
            scan.artifacts_left_out += plan.left_out
            # What the upload needs: the API fields and the planned artifacts (the
            # texts now live in the artifacts, not twice).
            slim = replace(record, outputs=(), failure_text=None, attachments=())
            # One pickle per record: a shared Pickler's memo would keep every record.
            spool.write(pickle.dumps(PlannedRecord(slim, tuple(plan.artifacts)), _PROTOCOL))
        if scan.records == 0 and not any("no test" in w for w in scan.warnings):
            warn("the reports hold no test result")
        self.scanned = scan
        return scan

    def planned(self) -> Iterator[PlannedRecord]:
        """The records the scan spooled, in order (scans first if needed)."""
        if self.scanned is None:
            self.scan()
        spool = self._spool
        assert spool is not None
        spool.flush()
        # Each reader keeps its own place in the one file (a seek within the read buffer
        # is only a pointer move), so two readers of the same spool never mix records.
        position = 0
        while True:
            spool.seek(position)
            try:
                item: PlannedRecord = pickle.load(spool)
            except EOFError:
                return
            position = spool.tell()
            yield item

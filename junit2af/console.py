"""What junit2af prints: escaped warnings and errors, progress, summaries, JSON lines.

Everything printed passes through :func:`escape` (and the key's redaction): test names,
file names, archive members, labels and server messages come from untrusted reports and
services, and a newline would forge a ``junit2af: error:`` line, an ESC sequence would set
the terminal's title or clear it, a bidi override would spoof a name. JSON output is
escaped by JSON, plus the few characters JSON leaves raw that a terminal still obeys.
This module does not import click: the CLI hands it its streams.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

#: Characters never printed raw: C0 and C1 controls, DEL, bidi controls, zero-width and
#: invisible formatting characters, line/paragraph separators, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
#: What JSON leaves raw that a terminal still obeys (or that cannot be written as UTF-8:
#: a lone surrogate from a JSON report's ``"\\ud800"`` would make the write itself fail).
_UNSAFE_IN_JSON = re.compile(
    "[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(code, f"\\x{code:02x}")
    return f"\\u{code:04x}"


def escape(text: object) -> str:
    """``text`` safe for a terminal on one line: controls shown as ``\\x1b``, ``\\n``,
    bidi and zero-width characters as ``\\u202e``; backslashes are left as they are."""
    value = str(text)
    return _UNSAFE.sub(_shown, value) if _UNSAFE.search(value) else value


#: ``json.dumps(value, ensure_ascii=False)`` without building an encoder for every line
#: (and without its check for circular references: records are trees)
_JSON_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def json_line(value: Any) -> str:
    """One JSON line, readable (non-ASCII kept) but with nothing a terminal obeys."""
    text = _JSON_ENCODE(value)
    if text.isascii() and "\x7f" not in text:  # _UNSAFE_IN_JSON's only ASCII is DEL
        return text
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Console:
    """Prints for one command: ``out`` for results, ``err`` for everything else."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        redact: Callable[[str], str] = lambda text: text,
        quiet: bool = False,
        verbose: int = 0,
    ) -> None:
        self._out = out
        self._err = err
        self.redact = redact
        self.quiet = quiet
        self.verbose = verbose
        self.lock = threading.RLock()
        self.bar_visible = False
        self._terminal: bool | None = None

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def _safe(self, text: str) -> str:
        return escape(self.redact(text))

    def print(self, text: str = "") -> None:
        """A line of the summary (hidden by -q)."""
        if not self.quiet:
            self.line(text)

    def line(self, text: str) -> None:
        with self.lock:
            self.out.write(self._safe(text) + "\n")
            self.out.flush()

    def json(self, value: Any, *, flush: bool = True) -> None:
        """``value`` as one JSON line on ``out``; ``flush=False`` leaves it in the buffer
        unless ``out`` is a terminal (a stream of many lines, flushed by its writer)."""
        with self.lock:
            out = self.out
            out.write(self.redact(json_line(value)) + "\n")
            if flush or self._out_is_terminal():
                out.flush()

    def flush(self) -> None:
        with self.lock:
            self.out.flush()

    def _out_is_terminal(self) -> bool:
        terminal = self._terminal
        if terminal is None:
            try:
                terminal = self._terminal = self.out.isatty()
            except (AttributeError, ValueError):
                terminal = self._terminal = False
        return terminal

    def diagnostic(self, kind: str, message: str) -> None:
        """``junit2af: <kind>: <message>`` on stderr, one line, whatever -q says."""
        with self.lock:
            self._clear_bar()
            self.err.write(f"junit2af: {kind}: {self._safe(message)}\n")
            self.err.flush()

    def warn(self, message: str) -> None:
        self.diagnostic("warning", message)

    def warn_shell_expansion(self, paths: Sequence[str]) -> None:
        """Say so when ``paths`` look like a ``**`` pattern the shell already expanded."""
        from junit2af.globs import shell_expansion_warning

        warning = shell_expansion_warning(paths) if paths else None
        if warning:
            self.warn(warning)

    def error(self, message: str) -> None:
        self.diagnostic("error", message)

    def note(self, message: str) -> None:
        """Informational stderr line (hidden by -q)."""
        if not self.quiet:
            self.diagnostic("note", message)

    def some(self, lines: Sequence[str], kind: str, limit: int = 20) -> None:
        """The first ``limit`` lines (all with -v), then how many more."""
        shown = lines if self.verbose else lines[:limit]
        for text in shown:
            self.diagnostic(kind, text)
        if len(lines) > len(shown):
            self.diagnostic(kind, f"... and {len(lines) - len(shown)} more (-v shows all)")

    def _clear_bar(self) -> None:
        if self.bar_visible:
            self.err.write("\r\x1b[K")
            self.bar_visible = False


def help_epilog(environment: bool = True) -> str:
    """The end of a command's --help: the environment variables and the exit codes."""
    from junit2af.errors import EXIT_HELP
    from junit2af.settings import ENVIRONMENT_HELP

    lines = ["\b"]
    if environment:
        lines += ["Environment:", *(f"  {name:<22} {text}" for name, text in ENVIRONMENT_HELP)]
    return "\n".join([*lines, "Exit codes:", f"  {EXIT_HELP}"])


def safe_streams() -> None:
    """Let stdout and stderr print any character: a stream that is not UTF-8 (a Windows
    runner's cp1252 pipe) shows what it cannot encode as ``\\u`` escapes, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        if (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


class SkipCounter:
    """Files left out of folders, globs and archives: one warning each (the report-like
    ones) up to :attr:`shown`, then one count line for the rest; only the count with -q."""

    #: skip lines printed before the rest are only counted (a folder of 100,000 files
    #: that are no reports is one count line, not 100,000 lines of a CI log)
    SHOWN = 100

    def __init__(self, console: Console) -> None:
        self.console = console
        self.count = 0
        self.shown = 0

    def __call__(self, name: str, why: str) -> None:
        self.count += 1
        if not self.console.quiet and self.shown < self.SHOWN:
            self.shown += 1
            self.console.warn(f"{name}: skipped: {why}")

    def finish(self) -> None:
        if self.console.quiet and self.count:
            self.console.warn(f"{self.count} file(s) skipped: not reports junit2af reads")
        elif self.count > self.shown:
            self.console.warn(
                f"{self.count - self.shown} more file(s) skipped (not listed): not reports "
                "junit2af reads"
            )


class ProgressPrinter:
    """Upload progress: a bar on a terminal; in CI logs a line every ``every`` seconds or
    10%, whichever comes first, even while nothing settles (an outage is not silence)."""

    def __init__(self, console: Console, *, every: float = 10.0, tty: bool | None = None) -> None:
        self.console = console
        self.every = every
        self.tty = console.err.isatty() if tty is None else tty
        self.enabled = not console.quiet
        self.total = 0
        self.done = 0
        self.done_at_start = 0
        self.started = 0.0
        self.retries = 0
        self._last_line = 0.0
        self._last_tenth = 0
        self._last_draw = 0.0
        self._last_retry_line = 0.0
        self._retries_unshown = 0
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the Progress protocol of junit2af.uploader ---------------------------------------

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.done_at_start = total, done, done
        self.started = self._last_line = time.monotonic()
        self._last_tenth = self._tenth(done)
        self._stop.clear()
        if self.enabled and not self.tty:
            self._ticker = threading.Thread(target=self._tick, name="junit2af-progress")
            self._ticker.daemon = True
            self._ticker.start()

    def advance(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= 0.1 or done == self.total:
                self._draw(now)
            return
        tenth = self._tenth(done)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            # A short upload says nothing until its summary; a long one every 10%.
            if now - self.started >= 2.0:
                self._log_line(now)

    def finish(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(1)
            self._ticker = None
        with self.console.lock:
            if self.tty and self.console.bar_visible:
                self.console.err.write("\r\x1b[K")
                self.console.err.flush()
                self.console.bar_visible = False

    # -- retries ----------------------------------------------------------------------------

    def retry(self, call: str, reason: str, attempt: int) -> None:
        """A retry happened: shown at most every few seconds, so an outage is visible
        without flooding the log."""
        self.retries += 1
        if self.console.quiet:
            return
        now = time.monotonic()
        if now - self._last_retry_line < 5.0:
            self._retries_unshown += 1
            return
        self._last_retry_line = now
        more = f" (+{self._retries_unshown} more retries)" if self._retries_unshown else ""
        self._retries_unshown = 0
        where = f", attempt {attempt}" if attempt else ""
        self.console.diagnostic("retrying", f"{call}: {reason}{where}{more}")

    # -- drawing ----------------------------------------------------------------------------

    def _tenth(self, done: int) -> int:
        return (10 * done) // self.total if self.total else 10

    def _rate(self, now: float) -> float:
        # Only this invocation's work counts: a resumed upload's earlier results do not.
        elapsed = max(now - self.started, 1e-6)
        return (self.done - self.done_at_start) / elapsed

    def _eta(self, rate: float) -> str:
        left = self.total - self.done
        if rate <= 0 or left <= 0:
            return "-"
        seconds = int(left / rate)
        return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"

    def _draw(self, now: float) -> None:
        self._last_draw = now
        width = 28
        filled = int(width * self.done / self.total) if self.total else width
        rate = self._rate(now)
        text = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} results "
            f"{rate:.0f}/s ETA {self._eta(rate)}"
        )
        if self.retries:
            text += f" {self.retries} retries"
        with self.console.lock:
            self.console.err.write("\r\x1b[K" + text)
            self.console.err.flush()
            self.console.bar_visible = True

    def _log_line(self, now: float) -> None:
        self._last_line = now
        rate = self._rate(now)
        percent = (100 * self.done // self.total) if self.total else 100
        self.console.diagnostic(
            "progress",
            f"{self.done}/{self.total} results ({percent}%), {rate:.0f}/s, "
            f"ETA {self._eta(rate)}, {self.retries} retries",
        )

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            if now - self._last_line >= self.every and self.done < self.total:
                self._log_line(now)


def print_upload_report(console: Console, report: Any) -> None:
    """The human summary of an upload (:class:`~junit2af.uploader.UploadReport`)."""
    if report.dry_run:
        console.print(
            f"dry run: would upload {report.results_total} results as run {report.label!r}"
        )
    elif report.already_complete:
        console.print(
            f"already uploaded: run {report.run_id} (nothing to do; --new-run to upload again)"
        )
    elif report.run_id is None:
        console.print(f"no run created ({report.label})")
    else:
        resumed = " resumed" if report.resumed else ""
        console.print(f"run {report.run_id} ({report.label}){resumed}")
    if report.run_url:
        console.print(f"  link: {report.run_url}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
    console.print(f"  results: {report.results_total} ({counts})")
    if not report.dry_run and not report.already_complete:
        console.print(
            f"  uploaded: {report.results_uploaded}/{report.results_total} results, "
            f"{report.artifacts_uploaded} artifacts ({report.results_sent} results sent now, "
            f"{report.requests} requests, {report.retries} retried, {report.elapsed_s:.1f}s)"
        )
    if report.in_doubt:
        console.print(
            f"  in doubt: {report.in_doubt} creates in doubt, at most "
            f"{report.possible_duplicates} possible duplicates"
        )
    if report.artifacts_left_out:
        console.print(f"  attachments left out: {report.artifacts_left_out}")
    if report.results_file:
        console.print(f"  results file: {report.results_file}")
    if report.warnings:
        console.print(f"  warnings: {len(report.warnings)}")
    if console.verbose and report.journal:
        console.note(f"journal: {report.journal}")
    # Warnings of the upload itself (attachments left out...) were not shown yet.
    console.some(report.warnings[report.warnings_shown :], "warning")
    console.some(report.errors, "failed")


def print_status_table(console: Console, counts: dict[str, Counter[str]]) -> None:
    """``junit2af parse --summary``: counts by status per report, and the total."""
    statuses = ["Passed", "Failed", "Skipped", "KnownFail"]
    rows = [["file", *statuses, "total"]]
    totals: Counter[str] = Counter()
    for name, counter in counts.items():
        totals.update(counter)
        rows.append([name, *(str(counter.get(s, 0)) for s in statuses), str(counter.total())])
    rows.append(["total", *(str(totals.get(s, 0)) for s in statuses), str(totals.total())])
    _table(console, rows, numeric=set(range(1, len(rows[0]))))


def print_backfill(console: Console, outcomes: Iterable[Any]) -> None:
    """``junit2af backfill``: one row per run, oldest first, then the states."""
    outcomes = list(outcomes)
    if not outcomes:
        console.print("no report to backfill")
        return
    rows = [["date", "label", "results", "failed", "skipped", "run", "state"]]
    for o in outcomes:
        counts = o.scan.counts
        start = o.start
        rows.append(
            [
                f"{start:%Y-%m-%d %H:%M}" if start else "-",
                o.label,
                str(o.scan.records),
                str(counts.get("Failed", 0)),
                str(counts.get("Skipped", 0)),
                (o.report.run_id if o.report else None) or "-",
                o.state,
            ]
        )
    _table(console, rows, numeric={2, 3, 4})
    states = Counter(o.state for o in outcomes)
    console.print(", ".join(f"{n} {state}" for state, n in sorted(states.items())))


def _table(console: Console, rows: list[list[str]], numeric: set[int]) -> None:
    rows = [[escape(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        console.print(
            "  ".join(
                cell.rjust(w) if i in numeric else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )


def print_upload(console: Console, report: Any, as_json: bool) -> None:
    """An upload's outcome: its JSON object, or the human summary."""
    if as_json:
        console.json(report.as_dict())
    else:
        print_upload_report(console, report)


@contextmanager
def printing_failures(console: Console, as_json: bool) -> Iterator[None]:
    """A failed upload still prints its summary; ``--json`` prints an object on every
    exit code (with ``error`` and ``exit_status``)."""
    from junit2af.errors import Junit2AFError, UploadFailed

    try:
        yield
    except UploadFailed as failure:
        if as_json:
            console.json(
                {
                    **failure.report.as_dict(),
                    "error": console.redact(str(failure)),
                    "exit_status": int(failure.exit_status),
                }
            )
        else:
            print_upload_report(console, failure.report)
        raise
    except Junit2AFError as error:
        if as_json:
            console.json(
                {"error": console.redact(str(error)), "exit_status": int(error.exit_status)}
            )
        raise


@contextmanager
def http_log(verbose: int, console: Console) -> Iterator[None]:
    """-vv: urllib3's and junit2af's debug log on stderr, redacted, for this command only."""
    if verbose < 2:
        yield
        return
    from junit2af.client import RedactingFilter

    class _Redact(RedactingFilter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = escape(console.redact(record.getMessage())), None
            return True

    handler = logging.StreamHandler(console.err)
    handler.addFilter(_Redact())
    loggers = [logging.getLogger(name) for name in ("urllib3", "junit2af")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def print_demo(console: Console, outcome: Any) -> None:
    """The demo's summary, then the result it read back through the API."""
    print_upload_report(console, outcome.report)
    if not outcome.result:
        return
    console.print()
    console.print("one result read back through GET /result/{id}:")
    for key in (
        "test_result_id",
        "test_name",
        "status",
        "started_at",
        "finished_at",
        "execution_time_ms",
        "error_message",
        "test_run_label",
    ):
        value = outcome.result.get(key)
        text = str(value).splitlines()[0][:100] if value is not None else "null"
        console.print(f"  {key}: {text}")
    for artifact in outcome.artifacts:
        console.print(
            f"  artifact: {artifact['label']} ({artifact['kind']}, {artifact['size_bytes']} bytes)"
        )


def print_found_reports(
    console: Console, found: Any, patterns: Sequence[str], *, discovered: bool = False
) -> None:
    """What ``junit2af run`` found after the command: stale reports, or none at all."""
    if found.stale and not console.quiet:
        shown = ", ".join(found.stale[:5])
        more = f" and {len(found.stale) - 5} more" if len(found.stale) > 5 else ""
        console.warn(
            f"ignored {len(found.stale)} report(s) not written by this command "
            f"(left by an earlier build?): {shown}{more}"
        )
    if not found.fresh:
        where = (
            "among the .xml/.json/.jsonl/.ndjson/.trx/.tap files it wrote"
            if discovered
            else f"matching {' '.join(patterns)}"
        )
        console.warn(f"the command wrote no test report {where}; nothing uploaded")
        recent = getattr(found, "recent_unmatched", [])
        if recent:
            console.warn(
                f"files it wrote that no pattern matched: {', '.join(recent)} "
                "(use --reports to name them)"
            )


def print_backfill_result(console: Console, result: Any, as_json: bool) -> None:
    """``junit2af backfill``'s outcome: its JSON object, or the table and the error."""
    if as_json:
        console.json(result.as_dict())
    else:
        print_backfill(console, result.outcomes)
    if result.stopped is not None:
        console.error(f"{result.stopped}; run the same command again to resume")


def print_formats(console: Console) -> None:
    """``junit2af formats``: every format read, and what writes it."""
    from junit2af.parsers import formats

    for entry in formats():
        producers = f"  ({entry.producers})" if entry.producers else ""
        console.line(f"{entry.name:<20} {entry.title}{producers}")


def print_parsed(console: Console, paths: Sequence[str], read: Any, *, summary: bool) -> int:
    """``junit2af parse``: each record as a JSON line (or counts per report); returns the
    exit status (3 when a report was refused; the others are still read)."""
    from junit2af.errors import ExitStatus, InputError
    from junit2af.inputs import ReportInput, expand_inputs
    from junit2af.reports import ReportSet

    failed: list[InputError] = []

    def on_error(error: InputError) -> None:
        failed.append(error)
        console.error(str(error))

    skips = SkipCounter(console)
    inputs: list[ReportInput] = []
    for path in paths:  # a bad path does not stop the others
        try:
            inputs.extend(expand_inputs([path], on_skip=skips))
        except InputError as error:
            on_error(error)
    counts: dict[str, Counter[str]] = {}
    reports = ReportSet(read=read, inputs=inputs, warn=console.warn)
    for item in reports.records(on_error=on_error):
        record = item.record
        if summary:
            name = str(record.metadata.get("report") or record.source.display())
            counts.setdefault(name, Counter())[record.status.value] += 1
        else:
            fields = record.api_fields()
            fields["artifacts"] = [artifact.describe() for artifact in item.artifacts]
            # One write system call per buffer, not per line (with two smaller trims, 7-9%
            # less CPU on a large report); a terminal still sees each line as it is read.
            console.json(fields, flush=False)
    console.flush()  # here, where a reader that went away (``| head``) ends quietly
    skips.finish()
    if summary:
        # What a refused report yielded before its error would not be uploaded (an upload
        # sends nothing when a report is refused): it is not counted as if it were.
        refused = {error.path for error in failed}
        for name in refused:
            counts.pop(name, None)
        if counts:
            print_status_table(console, counts)
        if refused:
            console.print(f"not counted: {len(refused)} refused report(s), named above")
    return int(ExitStatus.BAD_INPUT) if failed else 0

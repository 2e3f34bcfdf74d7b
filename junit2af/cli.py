"""The command line: click commands only, and the one place where errors become exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import Any, NoReturn

import click

from junit2af import __version__
from junit2af.errors import ExitStatus, InputError, Junit2AFError
from junit2af.records import Status


def _fail(error: Junit2AFError) -> NoReturn:
    click.echo(f"junit2af: error: {error}", err=True)
    sys.exit(int(error.exit_status))


def _warn(message: str) -> None:
    click.echo(f"junit2af: warning: {message}", err=True)


def _parse_timezone(value: str | None) -> tzinfo | None:
    if value is None:
        return None
    from dateutil import tz

    zone = tz.gettz(value)
    if zone is None:
        raise click.BadParameter(f"unknown time zone {value!r} (use e.g. Europe/Paris or +02:00)")
    return zone


def _format_names() -> list[str]:
    from junit2af.parsers import format_names

    return format_names()


def _timezone_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--timezone",
        metavar="TZ",
        help="Zone of timestamps written without an offset (default UTC), e.g. Europe/Paris.",
    )(function)


def _input_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(_format_names()),
            help="Read every input as this format instead of detecting it.",
        ),
        click.option(
            "--salvage",
            is_flag=True,
            help="Keep the complete tests of a truncated report; the cut-off one fails.",
        ),
        click.option(
            "--attachments-root",
            "attachments_roots",
            multiple=True,
            type=click.Path(file_okay=False),
            help="Directory attachment references may point into (repeatable; default: cwd).",
        ),
        _timezone_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


class _Group(click.Group):
    """Turns junit2af's errors into one line and an exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Junit2AFError as error:
            _fail(error)
        except KeyboardInterrupt:
            click.echo("junit2af: interrupted", err=True)
            sys.exit(int(ExitStatus.INTERRUPTED))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: say so in one line, and how to see more
            if os.environ.get("JUNIT2AF_DEBUG"):
                raise
            click.echo(
                f"junit2af: internal error: {type(error).__name__}: {error} "
                "(set JUNIT2AF_DEBUG=1 for the traceback)",
                err=True,
            )
            sys.exit(int(ExitStatus.INTERNAL))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="junit2af")
def main() -> None:
    """Replay test reports (JUnit XML, TAP, pytest JSON) into Automated Future."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--summary", is_flag=True, help="Print counts by status per file instead.")
@_input_options
def parse(
    paths: tuple[str, ...],
    summary: bool,
    fmt: str | None,
    salvage: bool,
    attachments_roots: tuple[str, ...],
    timezone: str | None,
) -> None:
    """Print the records an upload would send, one JSON object per line.

    Each line holds the API's fields (test_name, status, started_at, finished_at,
    execution_time_ms, error_message, metadata) and the artifacts that would be attached.
    This is the dry run of an upload: exactly what would be sent.

    \b
    Example:
        junit2af parse build/test-results/**/*.xml
        junit2af parse --summary report.xml results.tap
    """
    from junit2af.artifacts import AttachmentRoots
    from junit2af.dryrun import record_lines
    from junit2af.inputs import expand_inputs
    from junit2af.parsers.base import ParseOptions
    from junit2af.reports import read_records

    zone = _parse_timezone(timezone)
    options = ParseOptions(warn=_warn, salvage=salvage, **({"timezone": zone} if zone else {}))
    roots = AttachmentRoots(attachments_roots or None)
    failed: list[InputError] = []

    def on_error(error: InputError) -> None:
        failed.append(error)
        click.echo(f"junit2af: error: {error}", err=True)

    reports = list(_expand_reporting(paths, expand_inputs, on_error))
    counts: dict[str, Counter[str]] = {}
    out = sys.stdout
    records = read_records(reports, options, fmt=fmt, on_error=on_error)
    if summary:
        for record in records:
            name = record.metadata.get("report") or record.source.path
            counts.setdefault(str(name), Counter())[record.status] += 1
        if counts:
            _print_summary(counts)
    else:
        for line in record_lines(records, roots, _warn):
            out.write(line + "\n")
    if failed:
        sys.exit(int(ExitStatus.BAD_INPUT))


def _expand_reporting(
    paths: tuple[str, ...],
    expand: Callable[..., Iterator[Any]],
    on_error: Callable[[InputError], None],
) -> Iterator[Any]:
    for path in paths:
        try:
            yield from expand([path])
        except InputError as error:
            on_error(error)


def _print_summary(counts: dict[str, Counter[str]]) -> None:
    statuses = [s.value for s in Status if s not in (Status.PENDING, Status.RUNNING)]
    rows = [["file", *statuses, "total"]]
    totals: Counter[str] = Counter()
    for name, counter in counts.items():
        totals.update(counter)
        rows.append([name, *(str(counter.get(s, 0)) for s in statuses), str(sum(counter.values()))])
    rows.append(["total", *(str(totals.get(s, 0)) for s in statuses), str(sum(totals.values()))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        click.echo("  ".join(cells))


class _ProgressPrinter:
    """A progress bar on a terminal, a plain line every few seconds otherwise, or nothing."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.last = 0.0
        self.started = 0.0

    def start(self, total: int) -> None:
        import time

        self.total = total
        self.started = self.last = time.monotonic()

    def advance(self, done: int) -> None:
        import time

        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last < 0.1 and done != self.total:
                return
            width = 30
            filled = int(width * done / self.total) if self.total else width
            rate = done / max(now - self.started, 1e-6)
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                f"results ({rate:.0f}/s)"
            )
            sys.stderr.flush()
        elif now - self.last >= 5 or done == self.total:
            sys.stderr.write(f"junit2af: {done}/{self.total} results settled\n")
        self.last = now

    def finish(self) -> None:
        if self.tty and not self.quiet and self.total:
            sys.stderr.write("\n")


def _upload_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--api-url", envvar=None, help="API base URL [env AF_API_URL]."),
        click.option(
            "--api-key-file",
            type=click.Path(dir_okay=False),
            help="File holding the API key [default: env AF_API_KEY].",
        ),
        click.option(
            "--api-key",
            hidden=True,
            help="The API key itself (visible to other users: prefer the file or env).",
        ),
        click.option("--project", "project_id", help="Project id [env AF_PROJECT_ID]."),
        click.option("--label", help="Run label (2-255 characters) [default: from the reports]."),
        click.option(
            "--metadata",
            "metadata_pairs",
            multiple=True,
            metavar="KEY=VALUE",
            help="Extra run metadata (repeatable).",
        ),
        click.option(
            "--jobs",
            "-j",
            type=int,
            default=8,
            show_default=True,
            help="Requests in flight at once.",
        ),
        click.option("--dry-run", is_flag=True, help="Parse and plan; send nothing."),
        click.option(
            "--journal",
            "journal_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Journal file that makes the upload resumable "
            "[default: .junit2af-journal.sqlite3 in the working directory].",
        ),
        click.option("--new-run", is_flag=True, help="Upload again as a new run even if done."),
        click.option(
            "--on-uncertain",
            type=click.Choice(["resend", "fail"]),
            default="resend",
            show_default=True,
            help="A create whose outcome is unknown: resend it once (and count it as a "
            "possible duplicate) or stop.",
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Allow http:// to a host that is not this machine.",
        ),
        click.option(
            "--fail-on-test-failures",
            is_flag=True,
            help="Exit 1 when the reports hold failed tests.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
        click.option("-q", "--quiet", is_flag=True, help="No progress and no summary text."),
        click.option(
            "-v",
            "--verbose",
            count=True,
            help="-v: every warning and error, not the first 20; -vv: also the HTTP debug log.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _metadata_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--metadata")
        metadata[key.strip()] = value
    return metadata


def _print_report(report: Any, as_json: bool, quiet: bool, verbose: int = 0) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    if quiet:
        return
    if report.dry_run:
        click.echo(f"dry run: would upload {report.results_total} results as run {report.label!r}")
    elif report.already_complete:
        click.echo(
            f"already uploaded: run {report.run_id} (nothing to do; --new-run to upload again)"
        )
    else:
        click.echo(f"run {report.run_id} ({report.label}){' resumed' if report.resumed else ''}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
    click.echo(f"  results: {report.results_total} ({counts})")
    if not report.dry_run and not report.already_complete:
        click.echo(
            f"  uploaded: {report.results_uploaded} results, "
            f"{report.artifacts_uploaded} artifacts in {report.requests} requests "
            f"({report.retries} retried) in {report.elapsed_s:.1f}s"
        )
        if report.in_doubt:
            click.echo(
                f"  in doubt: {report.in_doubt} create(s) resent; possible duplicates: "
                f"{report.possible_duplicates}"
            )
    if report.warnings:
        click.echo(f"  warnings: {len(report.warnings)}")
    # Warnings of the upload itself (attachments left out...) were not shown yet.
    _echo_some(report.warnings[report.warnings_shown :], "warning", verbose)
    _echo_some(report.errors, "failed", verbose)


def _echo_some(lines: list[str], kind: str, verbose: int, limit: int = 20) -> None:
    shown = lines if verbose else lines[:limit]
    for line in shown:
        click.echo(f"junit2af: {kind}: {line}", err=True)
    if len(lines) > len(shown):
        click.echo(f"junit2af: ... and {len(lines) - len(shown)} more (-v shows all)", err=True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (tests swap it), with secrets redacted."""

    def __init__(self) -> None:
        super().__init__()
        from junit2af.client import RedactingFilter

        self.addFilter(RedactingFilter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


@contextmanager
def _http_debug(verbose: int) -> Iterator[None]:
    """-vv: urllib3's and junit2af's debug log on stderr, for this command only."""
    if verbose < 2:
        yield
        return
    handler = _StderrHandler()
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


def _run_upload(
    paths: tuple[str, ...],
    *,
    fmt: str | None,
    salvage: bool,
    attachments_roots: tuple[str, ...],
    timezone: str | None,
    api_url: str | None,
    api_key_file: str | None,
    api_key: str | None,
    project_id: str | None,
    label: str | None,
    metadata_pairs: tuple[str, ...],
    jobs: int,
    dry_run: bool,
    journal_path: str | None,
    new_run: bool,
    on_uncertain: str,
    allow_insecure_http: bool,
    fail_on_test_failures: bool,
    as_json: bool,
    quiet: bool,
    verbose: int,
    environ: dict[str, str] | None = None,
    run_metadata_extra: dict[str, Any] | None = None,
    reports: list[Any] | None = None,
) -> Any:
    """Upload ``paths`` (or the already expanded ``reports``) as one run.

    Outside a CI system the label comes from the reports; inside one (junit2af/ci.py)
    the build's details go into the run metadata (``ci_*`` keys, which ``--metadata``
    overrides) and the default label names the build, e.g. ``GitHub Actions #42 (main)``.
    """
    from pathlib import Path

    from junit2af.artifacts import AttachmentRoots
    from junit2af.ci import default_label, detect_ci
    from junit2af.inputs import expand_inputs
    from junit2af.parsers.base import ParseOptions
    from junit2af.settings import DEFAULT_JOURNAL, UploadSettings
    from junit2af.uploader import UploadFailed, upload

    warn = (lambda message: None) if quiet else _warn
    ci_info = detect_ci(os.environ if environ is None else environ)
    settings = UploadSettings.from_options(
        environ=environ,
        api_url=api_url,
        api_key=api_key,
        api_key_file=api_key_file,
        project_id=project_id,
        warn=_warn,  # about the key: said even with -q
        label=label or default_label(ci_info),
        metadata={
            **(ci_info.metadata() if ci_info else {}),
            **_metadata_pairs(metadata_pairs),
        },
        jobs=jobs,
        dry_run=dry_run,
        journal_path=Path(journal_path or DEFAULT_JOURNAL),
        new_run=new_run,
        on_uncertain=on_uncertain,
        allow_insecure_http=allow_insecure_http,
        verbose=verbose,
    )
    zone = _parse_timezone(timezone)
    options = ParseOptions(warn=warn, salvage=salvage, **({"timezone": zone} if zone else {}))
    if reports is None:
        reports = list(expand_inputs(list(paths)))
    if not reports:
        raise InputError(" ".join(paths), "no test report found")
    try:
        with _http_debug(verbose):
            report = upload(
                reports,
                settings,
                options=options,
                roots=AttachmentRoots(attachments_roots or None),
                fmt=fmt,
                progress=_ProgressPrinter(quiet or as_json),
                run_metadata_extra=run_metadata_extra,
            )
    except UploadFailed as failure:
        _print_report(failure.report, as_json, quiet, verbose)  # type: ignore[attr-defined]
        raise
    _print_report(report, as_json, quiet, verbose)
    if fail_on_test_failures and report.counts.get("Failed"):
        sys.exit(int(ExitStatus.TEST_FAILURES))
    return report


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_input_options
@_upload_options
def upload(paths: tuple[str, ...], **kwargs: Any) -> None:
    """Upload test reports to Automated Future as one test run.

    Reads JUnit XML, TAP, pytest-json-report and reportlog files (or directories, globs,
    archives, - for stdin), checks them all, then replays every test as a result with its
    times, failure message and captured output as artifacts. Re-running the same command
    after a failure or a kill resumes the same run; after a complete upload it does
    nothing.

    \b
    Environment:
        AF_API_URL     API base URL (default https://api.automatedfuture.co/v1/test)
        AF_API_KEY     the API key (or --api-key-file)
        AF_PROJECT_ID  the project (or --project)

    \b
    Example:
        junit2af upload --label "CI #42" build/test-results/**/*.xml
    """
    _run_upload(paths, **kwargs)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(paths: tuple[str, ...], as_json: bool) -> None:
    """Upload sample reports to a local server started for the occasion: no account needed.

    Starts the bundled local API on a free port, uploads the fixtures shipped with
    junit2af (or PATHS), prints the summary, then reads one stored result back through
    the API.

    \b
    Example:
        junit2af demo
    """
    import tempfile
    from pathlib import Path

    from junit2af.localserver import LocalServer

    reports = list(paths) or [str(p) for p in _demo_reports()]
    with (
        tempfile.TemporaryDirectory(prefix="junit2af-demo-") as workdir,
        LocalServer(Path(workdir) / "server") as server,
    ):
        click.echo(f"local Automated Future API at {server.base_url}")
        env = {
            "AF_API_URL": server.base_url,
            "AF_API_KEY": server.api_key,
            "AF_PROJECT_ID": server.project_id,
        }
        journal = str(Path(workdir) / "journal.sqlite3")
        report = _run_upload(
            tuple(reports),
            fmt=None,
            salvage=False,
            attachments_roots=(),
            timezone=None,
            api_url=None,
            api_key_file=None,
            api_key=None,
            project_id=None,
            label=None,
            metadata_pairs=("source=junit2af demo",),
            jobs=8,
            dry_run=False,
            journal_path=journal,
            new_run=False,
            on_uncertain="resend",
            allow_insecure_http=False,
            fail_on_test_failures=False,
            as_json=as_json,
            quiet=False,
            verbose=0,
            environ=env,
        )
        if not as_json:
            _show_one_result(server, report, journal)


def _demo_reports() -> list[Any]:
    from pathlib import Path

    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    chosen = [
        fixtures / "junit" / "pytest-xunit1.xml",
        fixtures / "junit" / "surefire.xml",
        fixtures / "junit" / "jest-junit.xml",
        fixtures / "tap" / "node-test.tap",
        fixtures / "pytest-json" / "pytest-json-report.json",
    ]
    found = [path for path in chosen if path.exists()]
    if not found:
        raise click.UsageError("no sample reports found; pass report files to upload")
    return found


def _show_one_result(server: Any, report: Any, journal_path: str) -> None:
    from junit2af.client import APIClient
    from junit2af.journal import Journal
    from junit2af.settings import Secret, UploadSettings

    with Journal(journal_path) as journal:
        row = journal._db.execute(
            "SELECT op_key, server_id FROM ops WHERE op_key LIKE 'result:%' "
            "AND server_id IS NOT NULL ORDER BY rowid LIMIT 40"
        ).fetchall()
    if not row:
        return
    settings = UploadSettings(
        api_url=server.base_url,
        api_key=Secret(server.api_key),
        project_id=server.project_id,
        journal_path=None,
    )
    with APIClient(settings) as client:
        stored = [client.get_result(result_id) for _, result_id in row]
        chosen = next((r for r in stored if r.get("status") == "Failed"), stored[0])
        artifacts = client.list_artifacts(chosen["test_result_id"])
    click.echo("\none result read back through GET /result/{id}:")
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
        value = chosen.get(key)
        text = str(value).splitlines()[0][:100] if value is not None else "null"
        click.echo(f"  {key}: {text}")
    for artifact in artifacts:
        click.echo(
            f"  artifact: {artifact['label']} ({artifact['kind']}, {artifact['size_bytes']} bytes)"
        )


# --- ci commands (CI detection, `run` and `backfill`; owned by the CI work) ---
@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--reports",
    "report_patterns",
    multiple=True,
    metavar="GLOB",
    help="Where the command writes its reports (repeatable) [default: common locations, "
    "see the README].",
)
@click.option(
    "--strict-upload",
    is_flag=True,
    help="A failed upload changes the exit code (when the command itself succeeded).",
)
@_input_options
@_upload_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    command: tuple[str, ...],
    report_patterns: tuple[str, ...],
    strict_upload: bool,
    **kwargs: Any,
) -> None:
    """Run a test command, then upload the reports it wrote; exit with its exit code.

    The command's output passes through untouched and SIGINT/SIGTERM are passed on to
    it. Afterwards the reports matching --reports (or the usual locations) that the
    command created or changed are uploaded as one run; older ones, left by an earlier
    build, are ignored and listed in a warning. An upload failure is reported but keeps
    the command's exit code unless --strict-upload is given.

    \b
    Example:
        junit2af run -- pytest --junitxml=junit.xml
        junit2af run --reports 'build/test-results/**/*.xml' -- ./gradlew test
    """
    from junit2af.wrapper import (
        DEFAULT_REPORT_PATTERNS,
        find_reports,
        run_command,
        snapshot,
        start_time_ns,
    )

    quiet = kwargs["quiet"]
    patterns = list(report_patterns or DEFAULT_REPORT_PATTERNS)
    before = snapshot(patterns)
    started = start_time_ns()
    code = run_command(command)
    found = find_reports(patterns, before, started)
    if found.stale and not quiet:
        shown = ", ".join(found.stale[:5])
        more = f" and {len(found.stale) - 5} more" if len(found.stale) > 5 else ""
        _warn(
            f"ignored {len(found.stale)} report(s) not written by this command "
            f"(left by an earlier build?): {shown}{more}"
        )
    if not found.fresh:
        _warn(f"the command wrote no test report matching {' '.join(patterns)}; nothing uploaded")
        sys.exit(code)
    fail_on_test_failures = kwargs.pop("fail_on_test_failures")
    try:
        report = _run_upload((), reports=found.fresh, fail_on_test_failures=False, **kwargs)
    except Junit2AFError as error:
        click.echo(f"junit2af: error: upload failed: {error}", err=True)
        if strict_upload and code == 0:
            sys.exit(int(error.exit_status))
        sys.exit(code)
    if fail_on_test_failures and code == 0 and report.counts.get("Failed"):
        code = int(ExitStatus.TEST_FAILURES)
    sys.exit(code)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--group-by",
    type=click.Choice(["file", "dir"]),
    default="file",
    show_default=True,
    help="One run per report file, or per directory of reports.",
)
@click.option("--since", metavar="DATE", help="Only reports from this date on (2024-05-01).")
@click.option("--until", metavar="DATE", help="Only reports up to this date, included.")
@_input_options
@_upload_options
def backfill(
    paths: tuple[str, ...], group_by: str, since: str | None, until: str | None, **kwargs: Any
) -> None:
    """Upload an archive of old reports: one run per file (or directory), oldest first.

    Reads files, directories and .zip/.tar.gz archives of CI artifacts. Each run's label
    is the report's name and its own date (after --label, used as a prefix) and its
    metadata holds original_start and original_end; each result keeps its original
    start time. One journal holds every run: run the same command again after an
    interruption to resume, or after the archive grew to upload only the new reports.
    CI detection does not apply: these builds are not the current one.

    \b
    Example:
        junit2af backfill --since 2024-01-01 ci-artifacts/
        junit2af backfill --group-by dir --json nightly-*.tar.gz
    """
    from junit2af.backfill import backfill as run_backfill
    from junit2af.backfill import collect_groups, parse_when

    quiet, as_json = kwargs["quiet"], kwargs["as_json"]
    settings, options, roots = _backfill_settings(kwargs)
    skipped: list[InputError] = []

    def on_error(error: InputError) -> None:
        skipped.append(error)
        click.echo(f"junit2af: error: {error} (skipped)", err=True)

    groups = collect_groups(
        paths,
        options,
        group_by=group_by,
        fmt=kwargs["fmt"],
        since=parse_when(since) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
        on_error=on_error,
    )
    show_progress = not (quiet or as_json)

    def on_group(index: int, group: Any, label: str) -> None:
        if show_progress:
            click.echo(
                f"junit2af: [{index + 1}/{len(groups)}] {label}: {group.plan.records} results",
                err=True,
            )

    with _http_debug(kwargs["verbose"]):
        result = run_backfill(
            groups,
            settings,
            options=options,
            roots=roots,
            fmt=kwargs["fmt"],
            label_prefix=kwargs["label"],
            progress=_ProgressPrinter(not show_progress),
            on_group=on_group,
        )
    _print_backfill(result, as_json, quiet)
    if result.stopped is not None:
        click.echo(
            f"junit2af: error: {result.stopped}; run the same command again to resume",
            err=True,
        )
        sys.exit(int(result.stopped.exit_status))
    if skipped:
        sys.exit(int(ExitStatus.BAD_INPUT))
    if kwargs["fail_on_test_failures"] and any(
        o.group.plan.counts.get("Failed") for o in result.outcomes
    ):
        sys.exit(int(ExitStatus.TEST_FAILURES))


def _backfill_settings(kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    from pathlib import Path

    from junit2af.artifacts import AttachmentRoots
    from junit2af.parsers.base import ParseOptions
    from junit2af.settings import DEFAULT_JOURNAL, UploadSettings

    warn = (lambda message: None) if kwargs["quiet"] else _warn
    settings = UploadSettings.from_options(
        api_url=kwargs["api_url"],
        api_key=kwargs["api_key"],
        api_key_file=kwargs["api_key_file"],
        project_id=kwargs["project_id"],
        warn=_warn,
        metadata=_metadata_pairs(kwargs["metadata_pairs"]),
        jobs=kwargs["jobs"],
        dry_run=kwargs["dry_run"],
        journal_path=Path(kwargs["journal_path"] or DEFAULT_JOURNAL),
        new_run=kwargs["new_run"],
        on_uncertain=kwargs["on_uncertain"],
        allow_insecure_http=kwargs["allow_insecure_http"],
        verbose=kwargs["verbose"],
    )
    zone = _parse_timezone(kwargs["timezone"])
    options = ParseOptions(
        warn=warn, salvage=kwargs["salvage"], **({"timezone": zone} if zone else {})
    )
    return settings, options, AttachmentRoots(kwargs["attachments_roots"] or None)


def _print_backfill(result: Any, as_json: bool, quiet: bool) -> None:
    outcomes = result.outcomes
    states = Counter(o.state for o in outcomes)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "runs": [o.as_dict() for o in outcomes],
                    "states": dict(states),
                    "error": str(result.stopped) if result.stopped else None,
                },
                ensure_ascii=False,
            )
        )
        return
    if quiet:
        return
    if not outcomes:
        click.echo("no report to backfill")
        return
    rows = [["date", "label", "results", "failed", "skipped", "run", "state"]]
    for o in outcomes:
        counts = o.group.plan.counts
        start = o.group.start
        rows.append(
            [
                f"{start:%Y-%m-%d %H:%M}" if start else "-",
                o.label,
                str(o.group.plan.records),
                str(counts.get("Failed", 0)),
                str(counts.get("Skipped", 0)),
                (o.report.run_id if o.report else None) or "-",
                o.state,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {2, 3, 4}
    for row in rows:
        click.echo(
            "  ".join(
                cell.rjust(w) if i in numeric else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    click.echo(", ".join(f"{n} {state}" for state, n in sorted(states.items())))


# --- end ci commands ---


# --- serve (owned by the local-server work; edit this block only) ---
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, writable=True),
    default=None,
    help="Where records and artifact files are kept [default: a per-user data directory].",
)
def serve(host: str, port: int, data_dir: str | None) -> None:
    """Run the bundled local Automated Future API until Ctrl-C.

    On first start it creates a team, a read-write and a read-only key and a project,
    and keeps them (with everything uploaded) in the data directory. Once listening it
    prints the settings of junit2af as shell exports, then comment lines.

    Example:

    \b
        junit2af serve                    # then paste the three export lines
        junit2af serve --port 0 --data ./af-data > af.env &
        . ./af.env                        # once af.env has its lines
    """
    from pathlib import Path

    from junit2af.localserver import LocalServer, default_data_dir

    directory = Path(data_dir) if data_dir else default_data_dir()
    server = LocalServer(directory, host=host, port=port)
    try:
        server.start()
    except OSError as error:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {error.strerror or error}"
        ) from None
    restore = _stop_on_signals()
    try:
        for line in server.shell_exports():
            click.echo(line)
        if host not in ("127.0.0.1", "::1", "localhost"):
            click.echo(f"# warning: listening on {host}, not only on this machine")
        click.echo("# Ctrl-C stops the server")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        restore()
    click.echo("# stopped", err=True)


def _stop_on_signals() -> Callable[[], None]:
    """Make SIGINT and SIGTERM stop ``serve`` cleanly; returns what undoes it.

    A non-interactive shell starts a background job (``junit2af serve &``) with SIGINT
    ignored, and Python then leaves it ignored: Ctrl-C-style stops would be lost. SIGTERM
    (``kill``, ``docker stop``) gets the same clean stop as Ctrl-C.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers can only be set from the main thread

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {
        signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


# --- end serve ---

"""The command line: click commands only. Each command builds settings, calls the
library, prints through :mod:`junit2af.console`, and returns; :class:`_Group` is the one
place where an outcome becomes an exit code (:func:`junit2af.errors.exit_status_for`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click

from junit2af import __version__
from junit2af import console as ui
from junit2af.console import Console, ProgressPrinter, SkipCounter
from junit2af.errors import ConfigError, Junit2AFError, exit_status_for
from junit2af.settings import ENV_DEBUG, ReadSettings, UploadSettings, debug_requested


class _Group(click.Group):
    """Maps what a command returned or raised to one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        ui.safe_streams()  # a cp1252 pipe (Windows runners) must not make exit 70
        console: Console = ctx.ensure_object(dict).setdefault("console", Console())
        try:
            outcome = super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError as error:  # the reader stopped (``| head``): end quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(exit_status_for(error)))
        except Junit2AFError as error:
            if not ctx.obj.get("stop_said"):
                console.error(str(error))
            sys.exit(int(exit_status_for(error)))
        except KeyboardInterrupt as error:
            console.error("interrupted")
            sys.exit(int(exit_status_for(error)))
        except Exception as error:  # a bug: say so in one line, and how to see more
            if debug_requested():
                raise
            console.error(
                f"internal error: {type(error).__name__}: {error} "
                f"(set {ENV_DEBUG}=1 for the traceback)"
            )
            sys.exit(int(exit_status_for(error)))
        sys.exit(int(outcome or 0))


def _options(*decorators: Callable[..., Any]) -> Callable[..., Any]:
    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _flag(name: str, help: str, *more: str) -> Callable[..., Any]:
    return click.option(name, *more, is_flag=True, help=help)


def _value(name: str, help: str, *more: str, **kw: Any) -> Callable[..., Any]:
    return click.option(name, *more, help=help, **kw)


_read_options = _options(
    _value("--format", "Read every input as this format (`junit2af formats`).", "fmt"),
    _flag("--salvage", "Keep the complete tests of a truncated report; the cut one fails."),
    _value(
        "--attachments-root",
        "Folder attachments may come from.",
        "attachments_roots",
        multiple=True,
    ),
    _value("--timezone", "Zone of naive timestamps: UTC (default), Europe/Paris, +02:00."),
)
_output_options = _options(
    _flag("--json", "Print the summary as JSON (on every exit code).", "as_json"),
    _flag("--quiet", "No progress and no summary (warnings and errors still shown).", "-q"),
    click.option("-v", "--verbose", count=True, help="-v: every warning; -vv: the HTTP log."),
)
_upload_options = _options(
    _value("--api-url", "API base URL [env AF_API_URL]."),
    _value("--api-key-file", "File holding the API key [default: env AF_API_KEY]."),
    click.option("--api-key", hidden=True, help="The key itself (visible to other users)."),
    _value("--project", "Project id [env AF_PROJECT_ID].", "project_id"),
    _value("--label", "Run label [default: the CI build, else the reports' names and date]."),
    _value("--metadata", "Extra run metadata KEY=VALUE.", "metadata_pairs", multiple=True),
    _value("--jobs", "Requests in flight [default: adapts to the service].", "-j", type=int),
    _flag("--dry-run", "Read and plan; send nothing."),
    _value("--journal", "Journal file [default: in the user's state folder].", "journal_path"),
    _flag("--new-run", "Upload again as a new run even if done."),
    _flag("--resume-changed", "Reports changed since an interrupted upload: resume its run."),
    _value(
        "--on-uncertain",
        "A create of unknown outcome: resend it (counted) or stop.",
        type=click.Choice(["resend", "fail"]),
        default="resend",
        show_default=True,
    ),
    _value("--retry-deadline", "Seconds a failing call is retried [default: 300].", type=float),
    _value("--timeout", "Connect and read timeout in seconds [default: 10, 60].", type=float),
    _flag("--allow-insecure-http", "Allow http:// to a host that is not this machine."),
    _flag("--fail-on-test-failures", "Exit 1 when the reports hold failed tests."),
    _value("--results-file", "Write a JSON line per result with its server ids."),
)
_UPLOAD_KEYS = ("api_url", "api_key", "api_key_file", "project_id", "label", "jobs")
_UPLOAD_FLAGS = ("dry_run", "new_run", "resume_changed", "on_uncertain", "allow_insecure_http")


def _console(ctx: click.Context, options: dict[str, Any], paths: Any = ()) -> Console:
    console = Console(quiet=options.get("quiet", False), verbose=options.get("verbose", 0))
    ctx.ensure_object(dict)["console"] = console
    console.warn_shell_expansion(paths)  # an unquoted ** the shell expanded one level only
    return console


def _read_settings(options: dict[str, Any]) -> ReadSettings:
    return ReadSettings.from_options(
        format=options.get("fmt"),
        salvage=options.get("salvage", False),
        attachment_roots=options.get("attachments_roots") or (),
        timezone=options.get("timezone"),
    )


def _upload_settings(options: dict[str, Any], console: Console, **extra: Any) -> UploadSettings:
    from junit2af.client import Redactor
    from junit2af.settings import parse_metadata

    paths: dict[str, Any] = {
        k: Path(options[k]) if options[k] else None for k in ("journal_path", "results_file")
    }
    settings = UploadSettings.from_environment(
        os.environ,
        metadata=parse_metadata(options["metadata_pairs"]),
        warn=console.warn,
        connect_timeout=options["timeout"],
        read_timeout=options["timeout"],
        retry_deadline_s=options["retry_deadline"],
        **{key: options[key] for key in (*_UPLOAD_KEYS, *_UPLOAD_FLAGS, "verbose")},
        **paths,
        **extra,
    )
    console.redact = Redactor(settings.api_key.reveal())
    return settings


@contextmanager
def _session(ctx: click.Context, settings: UploadSettings, console: Console) -> Iterator[Any]:
    """An :class:`Uploader` with progress, the -vv HTTP log, and SIGTERM as a clean stop."""
    from junit2af.console import http_log
    from junit2af.signals import sigterm_stops
    from junit2af.uploader import Uploader

    quiet = console.quiet or ctx.params.get("as_json", False)
    progress = ProgressPrinter(Console(quiet=quiet, redact=console.redact))

    def said() -> None:
        ctx.obj["stop_said"] = True
        console.error("SIGTERM: finishing what is in flight, then stopping (run again to resume)")

    with (
        http_log(settings.verbose, console),
        sigterm_stops(said),
        Uploader(settings, progress=progress, on_retry=progress.retry) as uploader,
    ):
        yield uploader


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=ui.help_epilog()
)
@click.version_option(__version__, prog_name="junit2af")
def main() -> None:
    """Replay test reports (JUnit XML, TAP, pytest JSON and the native formats of Go,
    JavaScript, .NET, Robot, Cucumber, C/C++...) into Automated Future as test runs.

    Shell completion: eval "$(_JUNIT2AF_COMPLETE=bash_source junit2af)" (or zsh_source,
    fish_source).
    """


@main.command(epilog=ui.help_epilog(environment=False))
@click.argument("paths", nargs=-1, required=True)
@_flag("--summary", "Print counts by status per file instead.")
@_read_options
@click.pass_context
def parse(ctx: click.Context, paths: tuple[str, ...], summary: bool, **options: Any) -> int:
    """Print the records an upload would send, one JSON object per line (a dry run).

    \b
    Example:
        junit2af parse 'build/test-results/**/*.xml'
        junit2af parse --summary report.xml results.tap
    """
    from junit2af.console import print_parsed

    console = _console(ctx, options, paths)
    return print_parsed(console, paths, _read_settings(options), summary=summary)


@main.command(epilog=ui.help_epilog())
@click.argument("paths", nargs=-1, required=True)
@_read_options
@_upload_options
@_output_options
@click.pass_context
def upload(ctx: click.Context, paths: tuple[str, ...], **options: Any) -> int:
    """Upload test reports to Automated Future as one test run.

    Reads every supported format (files, folders, quoted globs, archives, - for stdin),
    checks them all, then replays every test as a result with its times, failure message
    and captured output as artifacts. Re-running the same command after a failure or a
    kill resumes the same run; after a complete upload it does nothing.

    \b
    Example:
        junit2af upload --label "CI #42" 'build/test-results/**/*.xml'
    """
    from junit2af.console import printing_failures
    from junit2af.reports import ReportSet

    console = _console(ctx, options, paths)
    settings = _upload_settings(options, console)
    skips = SkipCounter(console)
    with (
        printing_failures(console, options["as_json"]),
        _session(ctx, settings, console) as uploader,
    ):
        private = settings.private_paths()
        read = _read_settings(options)
        with ReportSet(paths, read, warn=console.warn, on_skip=skips, private_paths=private) as rs:
            report = uploader.upload(rs)
        skips.finish()
    ui.print_upload(console, report, options["as_json"])
    return exit_status_for(report, fail_on_test_failures=options["fail_on_test_failures"])


@main.command(epilog=ui.help_epilog(environment=False))
@click.argument("paths", nargs=-1)
@_flag("--json", "Print the summary as JSON.", "as_json")
@click.option(
    "--serve/--no-serve",
    default=None,
    help="Keep the server running after the "
    "upload, so its link can be opened [default: when stdout is a terminal].",
)
@click.pass_context
def demo(ctx: click.Context, paths: tuple[str, ...], as_json: bool, serve: bool | None) -> int:
    """Upload sample reports to a local server started for the occasion: no account needed.

    Starts the bundled local API and web view on a free port, uploads the reports shipped
    with junit2af (or PATHS), prints the summary and the run's link, then reads one stored
    result back through the API.

    \b
    Example:
        junit2af demo
    """
    from junit2af.demo import run_demo

    console = _console(ctx, {})
    keep = serve if serve is not None else sys.stdout.isatty() and not as_json
    run_demo(console, list(paths), as_json=as_json, keep_serving=keep)
    return 0


@main.command()
def formats() -> int:
    """List the report formats junit2af reads (detected by content; --format forces one)."""
    from junit2af.console import print_formats

    print_formats(Console())
    return 0


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    epilog=ui.help_epilog(),
)
@_value(
    "--reports",
    "Where the command writes its reports (repeatable) [default: where the "
    "supported tools write them].",
    "report_patterns",
    multiple=True,
    metavar="GLOB",
)
@_flag("--strict-upload", "A failed upload changes the exit code (when the command passed).")
@_read_options
@_upload_options
@_output_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    command: tuple[str, ...],
    report_patterns: tuple[str, ...],
    strict_upload: bool,
    **options: Any,
) -> int:
    """Run a test command, then upload the reports it wrote; exit with its exit code.

    The command's output passes through untouched and SIGINT/SIGTERM are passed on to
    it. Afterwards the reports matching --reports (or the usual places) that the command
    created or changed are uploaded as one run. An upload failure is reported but keeps
    the command's exit code unless --strict-upload is given.

    \b
    Example:
        junit2af run -- pytest --junitxml=junit.xml
        junit2af run --reports 'build/test-results/**/*.xml' -- ./gradlew test
    """
    from junit2af.console import print_found_reports
    from junit2af.wrapper import DEFAULT_REPORT_PATTERNS, run_and_upload

    console = _console(ctx, options)
    settings, problem = None, None
    try:
        settings = _upload_settings(options, console)
    except ConfigError as error:  # the tests still run; nothing is uploaded
        problem = error
        console.error(f"{error}; the command runs, nothing is sent")
    patterns = list(report_patterns or DEFAULT_REPORT_PATTERNS)
    skips = SkipCounter(console)
    with _session(ctx, settings, console) if settings else nullcontext() as uploader:
        outcome = run_and_upload(
            command,
            patterns,
            uploader,
            _read_settings(options),
            settings_error=problem,
            private_paths=settings.private_paths() if settings else (),
            warn=console.warn,
            on_skip=skips,
            on_preflight_error=lambda e: console.error(f"{e}; the command runs, nothing is sent"),
            on_reports=lambda found: print_found_reports(
                console, found, patterns, discovered=not report_patterns
            ),
            discover=not report_patterns,
        )
    skips.finish()
    if outcome.error is not None:
        console.error(f"upload failed: {outcome.error}")
    if outcome.report is not None:
        ui.print_upload(console, outcome.report, options["as_json"])
    return outcome.exit_status(
        strict_upload=strict_upload, fail_on_test_failures=options["fail_on_test_failures"]
    )


@main.command(epilog=ui.help_epilog())
@click.argument("paths", nargs=-1, required=True)
@_value(
    "--group-by",
    "One run per report file, or per folder of reports.",
    type=click.Choice(["file", "dir"]),
    default="file",
    show_default=True,
)
@_value("--since", "Only reports from this date on (2024-05-01).", metavar="DATE")
@_value("--until", "Only reports up to this date, included.", metavar="DATE")
@_read_options
@_upload_options
@_output_options
@click.pass_context
def backfill(
    ctx: click.Context,
    paths: tuple[str, ...],
    group_by: str,
    since: str | None,
    until: str | None,
    **options: Any,
) -> int:
    """Upload an archive of old reports: one run per file (or folder), oldest first.

    Reads files, folders and .zip/.tar.gz archives of CI artifacts. Each run's label is
    the report's name and its own date (after --label, used as a prefix) and its metadata
    holds original_start and original_end; each result keeps its original start time.
    Run the same command again after an interruption to resume, or after the archive
    grew to upload only the new reports. CI detection does not apply.

    \b
    Example:
        junit2af backfill --since 2024-01-01 ci-artifacts/
        junit2af backfill --group-by dir --json 'nightly-*.tar.gz'
    """
    from junit2af.backfill import backfill_paths
    from junit2af.console import print_backfill_result

    console = _console(ctx, options, paths)
    prefix = options.pop("label")
    settings = _upload_settings({**options, "label": None}, console, detect_build=False)
    skips = SkipCounter(console)
    with _session(ctx, settings, console) as uploader:
        uploader.check()
        result = backfill_paths(
            paths,
            uploader,
            _read_settings(options),
            group_by=group_by,
            since=since,
            until=until,
            label_prefix=prefix,
            on_error=lambda error: console.error(f"{error} (skipped)"),
            on_skip=skips,
            on_group=None if options["quiet"] or options["as_json"] else console.note,
            warn=console.warn,
        )
        skips.finish()
    print_backfill_result(console, result, options["as_json"])
    return result.exit_status(fail_on_test_failures=options["fail_on_test_failures"])


@main.command(epilog=ui.help_epilog(environment=False))
@_value("--host", "Interface to bind.", default="127.0.0.1", show_default=True)
@_value(
    "--port",
    "Port to listen on; 0 picks a free one.",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
)
@_value(
    "--data",
    "Where records and artifact files are kept [default: a per-user folder].",
    "data_dir",
    type=click.Path(file_okay=False),
)
def serve(host: str, port: int, data_dir: str | None) -> int:
    """Run the bundled local Automated Future API (and its web view) until Ctrl-C.

    On first start it creates a team, a read-write and a read-only key and a project,
    and keeps them (with everything uploaded) in the data folder. Once listening it
    prints the settings of junit2af as shell exports, then comment lines.

    \b
    Example:
        junit2af serve                    # then paste the three export lines
        junit2af serve --port 0 --data ./af-data > af.env &
    """
    from junit2af.demo import serve_locally

    serve_locally(Console(), host, port, Path(data_dir) if data_dir else None)
    return 0

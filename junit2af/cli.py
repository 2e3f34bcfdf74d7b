"""The command line: click commands only, and the one place where errors become exit codes."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
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
            type=click.Choice(["junit", "tap", "pytest-json", "reportlog"]),
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

        eval "$(junit2af serve --port 8080 | head -n 3)" &   # or paste the lines
        junit2af serve --port 0 --data /tmp/af-data
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
    click.echo("# stopped", err=True)


# --- end serve ---

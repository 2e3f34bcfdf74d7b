"""The command line: click commands only, and the one place where errors become exit codes."""

from __future__ import annotations

import click

from junit2af import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="junit2af")
def main() -> None:
    """Replay test reports (JUnit XML, TAP, pytest JSON) into Automated Future."""


# --- serve (owned by the local-server work; edit this block only) ---
# --- end serve ---

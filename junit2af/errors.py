"""One error hierarchy for junit2af, and the exit codes the CLI maps them to.

Every error builds its message where it is raised and carries what a user needs to act
(the file and line of bad input, the API call and status of a refused request). The CLI
turns them into one line on stderr and an :class:`ExitStatus`; nothing else does.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes (documented in the README)."""

    OK = 0
    #: the report has failed tests and --fail-on-test-failures was given
    TEST_FAILURES = 1
    #: bad command line or configuration (click also uses 2 for usage errors)
    USAGE = 2
    #: an input file was refused (not a report, broken, hostile)
    BAD_INPUT = 3
    #: the API refused the key (401) or its permissions (403)
    AUTH = 4
    #: the upload failed (network, server errors, rejected requests)
    UPLOAD_FAILED = 5
    #: another junit2af process holds the journal of this upload
    LOCKED = 6
    #: a bug in junit2af (reported in one line; JUNIT2AF_DEBUG=1 shows the traceback)
    INTERNAL = 70
    #: interrupted by the user (Ctrl-C)
    INTERRUPTED = 130


class Junit2AFError(Exception):
    """Base class of every error junit2af raises on purpose."""

    exit_status: ExitStatus = ExitStatus.UPLOAD_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(Junit2AFError):
    """Missing or invalid settings (no API key, bad URL, bad option value)."""

    exit_status = ExitStatus.USAGE


class InputError(Junit2AFError):
    """A report that cannot be read: names the file, and the line/column where known."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {reason}")


class UnsupportedFormatError(InputError):
    """A well-formed file in a format junit2af does not read (NUnit, TRX, ...)."""


class APIError(Junit2AFError):
    """The API answered an error: names the call, the status and the server's message."""

    def __init__(self, call: str, status: int | None, server_message: str) -> None:
        self.call = call
        self.status = status
        self.server_message = server_message
        shown = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{call}: {shown}: {server_message}")
        if status in (401, 403):
            self.exit_status = ExitStatus.AUTH


class JournalLockedError(Junit2AFError):
    """Another process is uploading with the same journal."""

    exit_status = ExitStatus.LOCKED

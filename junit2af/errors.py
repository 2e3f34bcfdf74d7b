"""One error hierarchy for junit2af, its exit codes, and the one mapping between them.

Every error builds its message where it is raised and carries what a user needs to act
(the file and line of bad input, the API call and status of a refused request). The CLI
prints it as one line and exits with :func:`exit_status_for`; nothing else decides an
exit code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from junit2af.uploader import UploadReport


class ExitStatus(IntEnum):
    """Process exit codes (documented in the README and in every command's help)."""

    OK = 0
    #: the reports hold failed tests and --fail-on-test-failures was given
    TEST_FAILURES = 1
    #: bad command line, settings or journal (click also uses 2 for usage errors)
    USAGE = 2
    #: an input file was refused (not a report, broken, hostile)
    BAD_INPUT = 3
    #: the API refused the key (401) or its permissions (403)
    AUTH = 4
    #: the upload did not finish (network, server errors past the retry deadline)
    UPLOAD_FAILED = 5
    #: another junit2af process holds the journal of this upload
    LOCKED = 6
    #: a bug in junit2af (reported in one line; JUNIT2AF_DEBUG=1 shows the traceback)
    INTERNAL = 70
    #: interrupted by Ctrl-C (SIGINT)
    INTERRUPTED = 130
    #: stopped by SIGTERM (a cancelled CI job)
    TERMINATED = 143


#: The exit codes as every command's --help and the README list them.
EXIT_HELP = (
    "0 ok; 1 failed tests (--fail-on-test-failures); 2 bad settings or journal; "
    "3 a report refused; 4 key refused; 5 upload did not finish (run again to resume); "
    "6 journal in use; 130 Ctrl-C; 143 SIGTERM; 70 a bug"
)


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


class JournalError(Junit2AFError):
    """The journal cannot be used (corrupt, unreadable, read-only, from another version)."""

    exit_status = ExitStatus.USAGE


class JournalLockedError(Junit2AFError):
    """Another process is uploading with the same journal."""

    exit_status = ExitStatus.LOCKED


class ChangedInputsError(Junit2AFError):
    """An unfinished upload of the same API, project and label had other inputs."""

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
    """A well-formed file in a format junit2af does not read."""


class AttachmentError(Junit2AFError):
    """An attachment reference that is refused (outside the roots, a secret, a device)."""


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


class UncertainOutcome(Junit2AFError):
    """A create that may have reached the server but whose answer was lost or broken.

    ``status`` is the HTTP status when there was an answer (500, 502, 504), else None.
    """

    def __init__(self, call: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{call}: outcome unknown ({reason})")
        self.call = call
        self.reason = reason
        self.status = status


class UploadURLExpired(Junit2AFError):
    """The storage refused a presigned URL (403): ask for a new one."""


class InDoubtError(Junit2AFError):
    """A create's outcome is unknown and ``--on-uncertain fail`` forbids resending it."""


class UploadFailed(Junit2AFError):
    """The upload did not finish; ``report`` says what did go through.

    The journal keeps everything done so far: running the same command again finishes
    the job without duplicates.
    """

    def __init__(
        self,
        message: str,
        report: UploadReport,
        *,
        exit_status: ExitStatus = ExitStatus.UPLOAD_FAILED,
    ) -> None:
        super().__init__(message)
        self.report = report
        self.exit_status = exit_status


class Stopped(Junit2AFError):
    """The user or the CI system stopped junit2af (SIGINT or SIGTERM)."""

    def __init__(self, signal_name: str, exit_status: ExitStatus) -> None:
        super().__init__(f"stopped by {signal_name}")
        self.signal_name = signal_name
        self.exit_status = exit_status


def exit_status_for(outcome: Any, *, fail_on_test_failures: bool = False) -> ExitStatus:
    """The exit status for what a command ended with: an exception or an upload report.

    * a junit2af error: its own status (bad input 3, settings 2, auth 4, upload 5...);
    * ``KeyboardInterrupt``: 130; a closed stdout (``BrokenPipeError``): 0, as ``cat``
      behaves when ``head`` stops reading;
    * any other exception: 70, a bug;
    * a report (anything with ``counts``): 1 when ``fail_on_test_failures`` and it holds
      failed tests, else 0.
    """
    if isinstance(outcome, Junit2AFError):
        return outcome.exit_status
    if isinstance(outcome, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    if isinstance(outcome, BrokenPipeError):
        return ExitStatus.OK
    if isinstance(outcome, BaseException):
        return ExitStatus.INTERNAL
    counts = getattr(outcome, "counts", None) or {}
    if fail_on_test_failures and counts.get("Failed"):
        return ExitStatus.TEST_FAILURES
    return ExitStatus.OK

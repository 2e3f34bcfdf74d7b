"""junit2af: replay test reports into the Automated Future test-results service.

The library behind the ``junit2af`` command, for CI plugins and scripts::

    import os
    from junit2af import ReadSettings, ReportSet, UploadSettings, Uploader

    settings = UploadSettings.from_environment(os.environ, label="nightly")
    with ReportSet(["build/test-results"], ReadSettings()) as reports:
        with Uploader(settings) as uploader:
            report = uploader.upload(reports)   # or raises UploadFailed(report=...)
    print(report.run_id, report.counts)

Reading only (no network): ``for record in read_records(expand_inputs(paths), options)``.
"""

from typing import TYPE_CHECKING

__version__ = "0.2.0"

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from junit2af.errors import (
        APIError,
        ConfigError,
        ExitStatus,
        InputError,
        Junit2AFError,
        UploadFailed,
        exit_status_for,
    )
    from junit2af.inputs import ReportInput, expand_inputs
    from junit2af.parsers import detect, format_names
    from junit2af.parsers.base import ParseOptions
    from junit2af.records import Status, TestRecord
    from junit2af.reports import PlannedRecord, ReportScan, ReportSet, read_records
    from junit2af.settings import ReadSettings, Secret, UploadSettings
    from junit2af.uploader import Uploader, UploadReport

#: Where each public name lives: imported on first use (PEP 562), so that a command that
#: only reads reports (junit2af parse) does not import the upload machinery (urllib3, the
#: journal): 9 MB less resident memory and a tenth of a second less to start.
_LAZY = {
    **dict.fromkeys(
        (
            "APIError",
            "ConfigError",
            "ExitStatus",
            "InputError",
            "Junit2AFError",
            "UploadFailed",
            "exit_status_for",
        ),
        "junit2af.errors",
    ),
    **dict.fromkeys(("ReportInput", "expand_inputs"), "junit2af.inputs"),
    **dict.fromkeys(("detect", "format_names"), "junit2af.parsers"),
    "ParseOptions": "junit2af.parsers.base",
    **dict.fromkeys(("Status", "TestRecord"), "junit2af.records"),
    **dict.fromkeys(
        ("PlannedRecord", "ReportScan", "ReportSet", "read_records"), "junit2af.reports"
    ),
    **dict.fromkeys(("ReadSettings", "Secret", "UploadSettings"), "junit2af.settings"),
    **dict.fromkeys(("Uploader", "UploadReport"), "junit2af.uploader"),
}


def __getattr__(name: str) -> object:
    """The public names, imported when first used (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'junit2af' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "APIError",
    "ConfigError",
    "ExitStatus",
    "InputError",
    "Junit2AFError",
    "ParseOptions",
    "PlannedRecord",
    "ReadSettings",
    "ReportInput",
    "ReportScan",
    "ReportSet",
    "Secret",
    "Status",
    "TestRecord",
    "UploadFailed",
    "UploadReport",
    "UploadSettings",
    "Uploader",
    "__version__",
    "detect",
    "expand_inputs",
    "exit_status_for",
    "format_names",
    "read_records",
]

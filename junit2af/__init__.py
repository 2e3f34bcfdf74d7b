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

__version__ = "0.2.0"

from junit2af.errors import (  # noqa: E402
    APIError,
    ConfigError,
    ExitStatus,
    InputError,
    Junit2AFError,
    UploadFailed,
    exit_status_for,
)
from junit2af.inputs import ReportInput, expand_inputs  # noqa: E402
from junit2af.parsers import detect, format_names  # noqa: E402
from junit2af.parsers.base import ParseOptions  # noqa: E402
from junit2af.records import Status, TestRecord  # noqa: E402
from junit2af.reports import PlannedRecord, ReportScan, ReportSet, read_records  # noqa: E402
from junit2af.settings import ReadSettings, Secret, UploadSettings  # noqa: E402
from junit2af.uploader import Uploader, UploadReport  # noqa: E402

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

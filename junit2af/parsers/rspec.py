"""RSpec ``--format json`` (RSpec 3): one JSON document, loaded whole under the size cap.

RSpec's JSON formatter writes the document once, at the end of the run: ``version``,
``messages`` (load errors and notices), ``seed``, ``examples`` (one object each),
``summary`` and ``summary_line``. The mapping rules are in the README ("How RSpec JSON
maps").

Quirks of the real tool that shaped the rules:

* ``pending`` covers three things RSpec tells apart on the console but not in the JSON:
  ``skip``/``xit``/an example without a body (not run), and ``pending "reason"`` whose
  body failed as expected. The JSON carries no exception for either (the formatter writes
  ``example.exception``, which is nil for pending examples), so all are Skipped, with the
  ``pending_message`` as the message.
* A ``pending`` example that passes is a failure in RSpec 3
  (``RSpec::Core::Pending::PendingExampleFixedError``): ``status: "failed"``.
* A spec file that does not load runs no example at all: ``examples`` is empty,
  ``errors_outside_of_examples_count`` is 1 and the error is in ``messages``. That is a
  synthetic Failed record, never an empty report.
* ``rspec --format json > file`` puts whatever the examples printed on stdout before the
  document: that leading text is skipped with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._capped_log import capped_artifact, clip_text
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_DOCUMENT_BYTES, SafeJSON, read_document
from junit2af.records import (
    ERROR_MESSAGE_MAX,
    SourceRef,
    Status,
    TestRecord,
    clip_code_points,
    fit_name,
)

FORMATS = (Format("rspec", "RSpec JSON", "rspec", producers="RSpec 3 (--format json)"),)

# The document's first key: RSpec writes "version" first, always.
_START = re.compile(rb'\{\s*"version"\s*:\s*"\d+\.\d+[^"]*"\s*,\s*"(?:examples|messages|seed)"')


def sniff(head: Head) -> str | None:
    """RSpec JSON: an object whose first keys are ``version`` then ``examples``,
    ``messages`` or ``seed`` -- also after console lines printed before it."""
    text = head.text
    if text.startswith(b"{"):
        return "rspec" if _START.match(text) else None
    at = text.find(b'{"version":')
    if at > 0 and text[at - 1 : at] in (b"\n", b"\r") and _START.match(text, at):
        return "rspec"
    return None


STATUSES = {"passed": Status.PASSED, "failed": Status.FAILED, "pending": Status.SKIPPED}
#: Backtrace lines kept in the failure text, at most.
MAX_BACKTRACE = 200
#: Exception classes whose name says nothing the message does not (RSpec's own failures).
_QUIET_CLASSES = ("RSpec::Expectations::", "RSpec::Core::Pending::", "RSpec::Mocks::")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= 0 else None


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.warned: set[str] = set()

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.options.warn(f"{self.path}: {message}")

    def load(self, stream: BinaryIO) -> Any:
        data = read_document(stream, self.path, max_bytes=MAX_DOCUMENT_BYTES)
        skip = 0
        stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not stripped.startswith(b"{"):
            # Console output of the examples printed before the document (stdout redirect).
            match = re.search(rb'(?:^|\n)(\{"version":)', data)
            if match is None:
                raise InputError(self.path, "not an RSpec JSON document", line=1)
            skip = match.start(1)
            lines = data.count(b"\n", 0, skip)
            self.options.warn(
                f"{self.path}: {lines} line(s) of console output before the JSON document "
                "skipped (write the report with `--out FILE` to avoid it)"
            )
        decoder = SafeJSON(self.path, self.options.warn)
        if not skip:
            return decoder.loads(data)
        first_line = data.count(b"\n", 0, skip) + 1
        del data[:skip]
        return decoder.loads(data, first_line=first_line)

    def records(self, document: Any) -> Iterator[TestRecord]:
        if not isinstance(document, Mapping):
            raise InputError(self.path, "an RSpec JSON report is a JSON object", line=1)
        examples = document.get("examples")
        if examples is None:
            examples = []
        if not isinstance(examples, list):
            raise InputError(self.path, '"examples" is not a list', line=1)
        summary = document.get("summary")
        summary = summary if isinstance(summary, Mapping) else {}
        version = _str(document.get("version"))
        base: dict[str, Any] = {"format": "rspec", "report": self.path}
        if version:
            base["rspec_version"] = version
        seed = _count(document.get("seed"))
        if seed is not None:
            base["seed"] = seed

        total = sum(_number(e.get("run_time")) or 0.0 for e in examples if isinstance(e, Mapping))
        duration = _number(summary.get("duration"))
        start = self.options.fallback_start
        if start is not None:
            # The file was written when the run ended: count back the run's duration.
            start -= timedelta(seconds=max(duration or 0.0, total))
        offset = 0.0
        counts = {"passed": 0, "failed": 0, "pending": 0}
        for index, example in enumerate(examples):
            if not isinstance(example, Mapping):
                raise InputError(self.path, f"example #{index + 1} is not a JSON object")
            record = self._example(example, index, base, start, offset)
            offset += _number(example.get("run_time")) or 0.0
            word = _str(example.get("status")) or ""
            if word in counts:
                counts[word] += 1
            yield record

        outside = _count(summary.get("errors_outside_of_examples_count")) or 0
        messages = document.get("messages")
        messages = [m for m in messages if isinstance(m, str)] if isinstance(messages, list) else []
        if outside:
            yield self._outside(outside, messages, base, start, offset)
        self._check_summary(summary, counts, len(examples))
        if not examples and not outside:
            self.options.warn(f"{self.path}: the report holds no examples")

    def _example(
        self,
        example: Mapping[str, Any],
        index: int,
        base: dict[str, Any],
        start: datetime | None,
        offset: float,
    ) -> TestRecord:
        word = _str(example.get("status")) or ""
        status = STATUSES.get(word)
        if status is None:
            self.warn_once("status", f"unknown example status {word!r}; reported as Failed")
            status = Status.FAILED
        full = _str(example.get("full_description")) or _str(example.get("description"))
        example_id = _str(example.get("id"))
        metadata: dict[str, Any] = {**base, "status": word}
        if example_id:
            metadata["id"] = example_id
        description = _str(example.get("description"))
        if description:
            metadata["description"] = clip_code_points(description, 500)
        file_path = _str(example.get("file_path"))
        if file_path:
            metadata["file"] = file_path
        line = _count(example.get("line_number"))
        if line is not None:
            metadata["line"] = line
        pending = _str(example.get("pending_message"))
        if pending:
            metadata["pending_message"] = clip_code_points(pending, ERROR_MESSAGE_MAX)

        message, failure_text = None, None
        exception = example.get("exception")
        if isinstance(exception, Mapping):
            message, failure_text = self._exception(exception)
            kind = _str(exception.get("class"))
            if kind:
                metadata["exception_class"] = clip_code_points(kind, 200)
        if status is Status.SKIPPED and pending:
            message = pending
        elif status is Status.FAILED and not message:
            message = "example failed (no exception in the report)"
        run_time = _number(example.get("run_time"))
        duration_ms = round(run_time * 1000) if run_time is not None else None
        started_at = start + timedelta(seconds=offset) if start is not None else None
        if started_at is not None:
            metadata["time_source"] = "file_mtime"
        name = full or example_id or f"example {index + 1}"
        return TestRecord(
            test_name=fit_name(name, pad_with=file_path),
            status=status,
            source=SourceRef(self.source.path, self.source.member),
            started_at=started_at,
            finished_at=started_at + timedelta(milliseconds=duration_ms)
            if started_at is not None and duration_ms is not None
            else None,
            execution_time_ms=duration_ms,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=failure_text,
        )

    def _exception(self, exception: Mapping[str, Any]) -> tuple[str | None, str | None]:
        kind = _str(exception.get("class")) or ""
        text = _str(exception.get("message")) or ""
        limit = self.options.max_text_bytes
        text, cut = clip_text(text, limit)
        if cut:
            text += f"\n[truncated {cut} bytes]"
        body = text.strip("\n")
        message: str | None
        if kind and not kind.startswith(_QUIET_CLASSES):
            message = f"{kind}: {body}" if body else kind
        else:
            message = body or kind or None
        lines = [f"{kind}:" if kind else "", *("  " + line for line in body.splitlines())]
        backtrace = exception.get("backtrace")
        if isinstance(backtrace, list):
            frames = [f for f in backtrace if isinstance(f, str)]
            shown = frames[:MAX_BACKTRACE]
            lines.extend(f"# {frame}" for frame in shown)
            if len(frames) > len(shown):
                lines.append(f"# ... {len(frames) - len(shown)} more lines")
        failure_text = "\n".join(line for line in lines if line) or None
        if failure_text is not None:
            failure_text = capped_artifact("failure.txt", failure_text, limit).text
        return message, failure_text

    def _outside(
        self,
        count: int,
        messages: list[str],
        base: dict[str, Any],
        start: datetime | None,
        offset: float,
    ) -> TestRecord:
        """Errors outside of examples (a spec file that failed to load): never a pass."""
        errors = [m for m in messages if "error occurred" in m.lower()] or messages
        text = "\n".join(m.strip("\n") for m in errors) or None
        if text is not None:
            text = capped_artifact("failure.txt", text, self.options.max_text_bytes).text
        first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
        what = first.rstrip(".") if first else "errors outside of examples"
        metadata = {
            **base,
            "synthetic": True,
            "reason": "errors outside of examples",
            "errors_outside_of_examples": count,
        }
        when = start + timedelta(seconds=offset) if start is not None else None
        if when is not None:
            metadata["time_source"] = "file_mtime"
        message = f"{count} error(s) occurred outside of examples"
        if text:
            message += ": " + " ".join(text.split())
        return TestRecord(
            test_name=fit_name(what),
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member),
            started_at=when,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX),
            metadata=metadata,
            failure_text=text,
        )

    def _check_summary(
        self, summary: Mapping[str, Any], counts: dict[str, int], examples: int
    ) -> None:
        claims = {
            "examples": (_count(summary.get("example_count")), examples),
            "failures": (_count(summary.get("failure_count")), counts["failed"]),
            "pending": (_count(summary.get("pending_count")), counts["pending"]),
        }
        wrong = [
            f"{what} {claimed} (read {found})"
            for what, (claimed, found) in claims.items()
            if claimed is not None and claimed != found
        ]
        if wrong:
            self.options.warn(
                f"{self.path}: the summary disagrees with the examples: " + ", ".join(wrong)
            )


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per example of an RSpec JSON report (and one synthetic
    Failed record when errors occurred outside of examples)."""
    reader = _Reader(source, options)
    document = reader.load(stream)
    yield from reader.records(document)

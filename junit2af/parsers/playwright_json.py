"""Playwright Test ``--reporter=json`` parser.

The report is one JSON document ``{"config", "suites", "errors", "stats"}``, loaded whole
under the documented size cap. Suites nest (file, then ``describe`` blocks); each spec
has one test per project, and each test one result per attempt (``retry`` 0, 1, ...).
A record is one test of one project. The mapping rules are in ``notes/native-js.md``.

Quirks of Playwright that shaped the rules:

* ``status`` is the test's outcome against its ``expectedStatus``: ``expected``,
  ``unexpected``, ``flaky`` (failed, then passed on a retry) or ``skipped``. A
  ``test.fail()`` test that failed is ``expected`` with ``expectedStatus: "failed"``
  (KnownFail here; Playwright counts it as passed).
* Errors and snippets keep terminal colour codes: they are stripped.
* Attachments are a ``path`` (a file next to the report: an attachment reference, never
  read here) or a base64 ``body`` (text bodies become artifacts; binary ones cannot be
  carried as text and are counted in ``metadata.binary_attachments_skipped``).
* ``stdout``/``stderr`` are lists of ``{"text"}`` or ``{"buffer"}`` (base64) chunks.
* A file that fails to load stops the whole run: ``suites`` is empty and the error is in
  the top-level ``errors``; each such error is a synthetic Failed record.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native import (
    WarnOnce,
    as_int,
    as_number,
    as_str,
    clip,
    iso_time,
    listing,
    load_document,
    mapping,
    message_of,
    relative_to,
    strip_ansi,
    text_artifact,
)
from junit2af.parsers.base import ParseOptions
from junit2af.records import AttachmentRef, SourceRef, Status, TestRecord, TextArtifact, fit_name

FORMATS = (
    Format(
        "playwright-json",
        "Playwright JSON reporter",
        "playwright_json",
        producers="playwright test --reporter=json",
    ),
)


def sniff(head: Head) -> str | None:
    """Playwright: one object that starts with ``"config"`` holding its ``rootDir``."""
    text = head.text
    if (
        head.is_json_object
        and re.match(rb'\{\s*"config"\s*:', text)
        and (b'"rootDir"' in text or b'"configFile"' in text or b'"projects"' in text)
    ):
        return "playwright-json"
    return None


SEPARATOR = " › "
#: The run-level error of ``--max-failures`` (``maxFailures`` in the config).
_STOPPED_EARLY = re.compile(r"\s*Testing stopped early after \d+ maximum allowed failures")
#: Nested describe levels followed (Playwright suites nest as deep as the code does).
MAX_SUITE_DEPTH = 64
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-ndjson")
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/html": ".html",
    "text/csv": ".csv",
    "application/json": ".json",
    "application/xml": ".xml",
}


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test and project of a Playwright JSON report,
    plus a synthetic Failed record per run-level error."""
    path = source.display()
    document = load_document(stream, path, options, "Playwright JSON")
    if not isinstance(document, Mapping) or not isinstance(document.get("suites"), list):
        raise InputError(path, 'not a Playwright JSON report: no "suites" list')
    warn = WarnOnce(path, options.warn)
    stats = mapping(document.get("stats"))
    run_start = iso_time(stats.get("startTime"), options)
    base = {"format": "playwright-json", "report": path}
    context = _Context(path, source, options, warn, base, run_start)
    context.root = as_str(mapping(document.get("config")).get("rootDir")) or ""
    count = 0
    for file_suite in document["suites"]:
        for titles, spec in _specs(file_suite, [], 0, warn):
            for test in listing(spec.get("tests")):
                if isinstance(test, Mapping):
                    count += 1
                    yield context.record(titles, spec, test)
    errors = [e for e in listing(document.get("errors")) if isinstance(e, Mapping)]
    for number, error in enumerate(errors, 1):
        yield context.run_error(error, number, len(errors))
    if count == 0 and not errors:
        warn("empty", "the report holds no tests (the run selected none)")


def _specs(
    suite: Any, titles: list[str], depth: int, warn: WarnOnce
) -> Iterator[tuple[list[str], Mapping[str, Any]]]:
    if not isinstance(suite, Mapping):
        return
    if depth > MAX_SUITE_DEPTH:
        warn("depth", f"suites nested deeper than {MAX_SUITE_DEPTH} levels are not read")
        return
    title = as_str(suite.get("title"))
    here = [*titles, title] if title else titles
    for spec in listing(suite.get("specs")):
        if isinstance(spec, Mapping):
            yield here, spec
    for child in listing(suite.get("suites")):
        yield from _specs(child, here, depth + 1, warn)


class _Context:
    def __init__(
        self,
        path: str,
        source: SourceRef,
        options: ParseOptions,
        warn: WarnOnce,
        base: dict[str, Any],
        run_start: datetime | None,
    ) -> None:
        self.path = path
        self.source = source
        self.options = options
        self.warn = warn
        self.base = base
        self.run_start = run_start
        self.root = ""

    def record(
        self, titles: list[str], spec: Mapping[str, Any], test: Mapping[str, Any]
    ) -> TestRecord:
        results = [r for r in listing(test.get("results")) if isinstance(r, Mapping)]
        final = results[-1] if results else {}
        project = as_str(test.get("projectName")) or ""
        title = as_str(spec.get("title")) or "(untitled test)"
        file = as_str(spec.get("file")) or (titles[0] if titles else "")
        path_titles = titles[1:] if titles and titles[0] == file else titles
        parts = [p for p in (file, *path_titles, title) if p]
        name = SEPARATOR.join(parts)
        if project:
            name = f"[{project}]{SEPARATOR}{name}"

        outcome = as_str(test.get("status")) or ""
        expected = as_str(test.get("expectedStatus")) or "passed"
        final_status = as_str(final.get("status")) or ""
        annotations = [a for a in listing(test.get("annotations")) if isinstance(a, Mapping)]
        status, message = _status(outcome, expected, final_status, annotations)

        metadata: dict[str, Any] = {**self.base}
        if project:
            metadata["project"] = project
        metadata["file"] = file
        if as_int(spec.get("line")) is not None:
            metadata["line"] = spec["line"]
        if path_titles:
            metadata["suite_path"] = path_titles
        metadata["playwright_status"] = outcome
        if expected != "passed":
            metadata["expected_status"] = expected
        tags = [t for t in listing(spec.get("tags")) if isinstance(t, str)]
        if tags:
            metadata["tags"] = tags[:64]
        kept = [{k: a[k] for k in ("type", "description") if as_str(a.get(k))} for a in annotations]
        if kept:
            metadata["annotations"] = kept[:32]

        failure_text = None
        if status in (Status.FAILED, Status.KNOWN_FAIL):
            text = _error_text(final)
            failure_text = text
            if message is None:
                message = message_of(text) if text else "failed (no error in the report)"
        outputs: list[TextArtifact] = []
        attachments: list[AttachmentRef] = []
        skipped_binary = 0
        for number, result in enumerate(results, 1):
            prefix = "" if result is final else f"attempt{number}-"
            for stream in ("stdout", "stderr"):
                text = _chunks(result.get(stream))
                if text:
                    outputs.append(text_artifact(f"{prefix}{stream}.log", text, self.options))
            got, refs, binary = self._attachments(result, prefix)
            outputs.extend(got)
            attachments.extend(refs)
            skipped_binary += binary
        if skipped_binary:
            metadata["binary_attachments_skipped"] = skipped_binary
        if len(results) > 1:
            metadata["attempts"] = len(results)
            metadata["flaky"] = outcome == "flaky"
            outputs.append(TextArtifact("attempts.txt", _history(results)))

        starts = [iso_time(r.get("startTime"), self.options) for r in results]
        known = [s for s in starts if s is not None]
        durations = [as_number(r.get("duration")) for r in results]
        total = sum(d for d in durations if d is not None)
        duration_ms = int(round(total)) if any(d is not None for d in durations) else None
        started_at = known[0] if known else None
        finished_at = None
        if known and starts[-1] is not None and durations[-1] is not None:
            finished_at = starts[-1] + timedelta(milliseconds=round(durations[-1]))
        if started_at is not None:
            metadata["time_source"] = "report"
        else:
            started_at, time_source = self._fallback()
            finished_at = started_at
            if time_source:
                metadata["time_source"] = time_source
        order = {"stdout.log": 0, "stderr.log": 1}
        outputs.sort(key=lambda a: order.get(a.label, 2))
        return TestRecord(
            test_name=fit_name(name),
            status=status,
            source=self.source,
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=duration_ms,
            error_message=clip(message),
            metadata=metadata,
            failure_text=failure_text,
            outputs=tuple(outputs),
            attachments=tuple(dict.fromkeys(attachments)),
        )

    def _fallback(self) -> tuple[datetime | None, str | None]:
        if self.run_start is not None:
            return self.run_start, "suite"
        if self.options.fallback_start is not None:
            return self.options.fallback_start, "file_mtime"
        return None, None

    def _attachments(
        self, result: Mapping[str, Any], prefix: str
    ) -> tuple[list[TextArtifact], list[AttachmentRef], int]:
        texts: list[TextArtifact] = []
        refs: list[AttachmentRef] = []
        binary = 0
        for item in listing(result.get("attachments")):
            if not isinstance(item, Mapping):
                continue
            name = as_str(item.get("name")) or "attachment"
            content_type = as_str(item.get("contentType")) or "application/octet-stream"
            path = as_str(item.get("path"))
            body = as_str(item.get("body"))
            if path:
                refs.append(AttachmentRef(path, f'"{name}" ({content_type})', name, content_type))
            elif body is not None:
                text = _decode_text(body, content_type)
                if text is None:
                    binary += 1
                    continue
                artifact = text_artifact(prefix + _label(name, content_type), text, self.options)
                texts.append(
                    TextArtifact(
                        artifact.label,
                        artifact.text,
                        content_type=content_type,
                        truncated_bytes=artifact.truncated_bytes,
                    )
                )
        return texts, refs, binary

    def run_error(self, error: Mapping[str, Any], number: int, count: int) -> TestRecord:
        location = mapping(error.get("location"))
        file = relative_to(as_str(location.get("file")) or "", self.root)
        text = strip_ansi(as_str(error.get("stack")) or as_str(error.get("message")) or "")
        label = file or "playwright run"
        suffix = f" (error {number})" if count > 1 else " (error)"
        reason = "error outside any test (a file failed to load, global setup...)"
        if not file and _STOPPED_EARLY.match(text):
            # --max-failures: the tests not started are "did not run" (skipped).
            reason = "run interrupted (stopped early after --max-failures)"
            suffix = " (stopped early)"
        metadata: dict[str, Any] = {**self.base, "synthetic": True, "reason": reason}
        if file:
            metadata["file"] = file
        if as_int(location.get("line")) is not None:
            metadata["line"] = location["line"]
        started_at, time_source = self._fallback()
        if time_source:
            metadata["time_source"] = time_source
        return TestRecord(
            test_name=fit_name(label + suffix),
            status=Status.FAILED,
            source=self.source,
            started_at=started_at,
            finished_at=started_at,
            execution_time_ms=0 if started_at else None,
            error_message=clip(message_of(text) or "error outside any test"),
            metadata=metadata,
            failure_text=text or None,
        )


def _status(
    outcome: str, expected: str, final: str, annotations: list[Mapping[str, Any]]
) -> tuple[Status, str | None]:
    def annotation(*types: str) -> str | None:
        for item in annotations:
            if item.get("type") in types:
                return as_str(item.get("description")) or str(item.get("type"))
        return None

    if outcome == "flaky":
        return Status.PASSED, None
    if outcome == "skipped":
        if final in ("interrupted", "failed", "timedOut"):
            return Status.FAILED, f"test {final}"
        return Status.SKIPPED, annotation("skip", "fixme")
    if outcome == "expected":
        if expected == "failed":
            return Status.KNOWN_FAIL, annotation("fail")
        if expected == "skipped":
            return Status.SKIPPED, annotation("skip", "fixme")
        return Status.PASSED, None
    if outcome == "unexpected":
        if expected == "failed" and final == "passed":
            reason = annotation("fail")
            return Status.FAILED, "expected to fail (test.fail) but passed" + (
                f": {reason}" if reason and reason != "fail" else ""
            )
        return Status.FAILED, None
    # No outcome (an older or a cut report): the last attempt says it.
    mapped = {
        "passed": Status.PASSED,
        "skipped": Status.SKIPPED,
        "failed": Status.FAILED,
        "timedOut": Status.FAILED,
        "interrupted": Status.FAILED,
    }.get(final)
    if mapped is None:
        return Status.FAILED, f"no result for this test (status {outcome or 'missing'})"
    return mapped, None


def _error_text(result: Mapping[str, Any]) -> str | None:
    messages = [
        strip_ansi(as_str(e.get("message")) or as_str(e.get("stack")) or "")
        for e in listing(result.get("errors"))
        if isinstance(e, Mapping)
    ]
    messages = [m for m in messages if m]
    if not messages:
        error = mapping(result.get("error"))
        single = as_str(error.get("stack")) or as_str(error.get("message"))
        messages = [strip_ansi(single)] if single else []
    return "\n\n".join(messages) or None


def _chunks(value: Any) -> str:
    parts = []
    for chunk in listing(value):
        if isinstance(chunk, str):
            parts.append(chunk)
        elif isinstance(chunk, Mapping):
            if isinstance(chunk.get("text"), str):
                parts.append(chunk["text"])
            elif isinstance(chunk.get("buffer"), str):
                decoded = _decode_text(chunk["buffer"], "text/plain")
                if decoded is not None:
                    parts.append(decoded)
    return "".join(parts)


def _decode_text(body: str, content_type: str) -> str | None:
    """A base64 body as text when its type is text and it decodes as UTF-8."""
    if not content_type.lower().startswith(_TEXT_TYPES):
        return None
    try:
        return base64.b64decode(body, validate=False).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _label(name: str, content_type: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80] or "attachment"
    extension = _EXTENSIONS.get(content_type.split(";", 1)[0].strip().lower(), ".txt")
    return safe if "." in safe else safe + extension


def _history(results: list[Mapping[str, Any]]) -> str:
    blocks = []
    for number, result in enumerate(results, 1):
        head = f"attempt {number}: {as_str(result.get('status')) or 'unknown'}"
        duration = as_number(result.get("duration"))
        if duration is not None:
            head += f" ({int(round(duration))} ms)"
        text = _error_text(result)
        blocks.append(head + (f"\n{text}" if text else ""))
    return "\n\n".join(blocks) + "\n"

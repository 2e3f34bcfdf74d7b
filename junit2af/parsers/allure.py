"""Allure results (``allure-results/``): one ``*-result.json`` file a test (attempt).

An Allure results directory holds ``<uuid>-result.json`` (one test result each),
``<uuid>-container.json`` (fixtures: ``befores``/``afters`` around their ``children``) and
``<uuid>-attachment.<ext>`` files that results point at by file name. Each result file is
one small JSON document, loaded whole under the documented cap. The mapping rules are in
the README ("How Allure results map").

Quirks of the real tools that shaped the rules:

* A retried test (pytest-rerunfailures, allure-java's retries, Playwright) is several
  result files with the same ``historyId``; Allure shows the one that stopped last and
  lists the others as retries. A parser sees one file, so every file gives its own record
  (with ``metadata.history_id``), and :func:`merge_attempts` -- run over the records of a
  whole directory -- folds them into one record with ``attempts`` and ``flaky``.
* Container files carry no test: allure-pytest writes a failing fixture into the test's
  own result (``broken``, with the fixture's error), and Allure's report counts only
  results. A container is recognised and gives no record.
* allure-pytest writes an xfail as ``skipped`` with ``XFAIL reason`` as its message (an
  expected failure: KnownFail), and an xpass as ``passed`` with ``XPASS reason``.
* ``attachments[].source`` is a file name in the results directory: it becomes an
  :class:`~junit2af.records.AttachmentRef` that the uploader resolves relative to the
  report's folder, under the attachment rules. This parser never reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._capped_log import CappedLog, capped_artifact
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import SafeJSON
from junit2af.records import (
    ARTIFACTS_PER_RESULT,
    ERROR_MESSAGE_MAX,
    AttachmentRef,
    SourceRef,
    Status,
    TestRecord,
    TextArtifact,
    clip_code_points,
    fit_name,
)

FORMATS = (
    Format(
        "allure",
        "Allure result (*-result.json)",
        "allure",
        producers="allure-pytest, allure-java (JUnit 4/5, TestNG), allure-js, allure-behave, ...",
    ),
)

#: A single result file larger than this is refused (a real one is a few KB).
MAX_RESULT_BYTES = 16 * 1024 * 1024

_FIRST_KEY = re.compile(rb'^\{\s*"([A-Za-z]+)"\s*:')
_KEY = re.compile(
    rb'"(uuid|historyId|testCaseId|fullName|status|stage|statusDetails|steps|labels|'
    rb'children|befores|afters|attachments|parameters)"\s*:'
)
_RESULT_KEYS = {
    b"uuid",
    b"historyId",
    b"testCaseId",
    b"fullName",
    b"stage",
    b"statusDetails",
    b"labels",
    b"steps",
}


def sniff(head: Head) -> str | None:
    """An Allure result or container file: a JSON object starting with one of Allure's
    keys, with ``status`` and two more result keys (or ``children`` for a container)."""
    if not head.is_json_object:
        return None
    first = _FIRST_KEY.match(head.text)
    if first is None or first.group(1) not in (
        b"uuid",
        b"name",
        b"historyId",
        b"fullName",
        b"testCaseId",
        b"status",
    ):
        return None
    keys = set(_KEY.findall(head.text))
    container = {b"children", b"befores", b"afters"}
    if keys & container and b"uuid" in keys and not keys & {b"historyId", b"fullName", b"labels"}:
        return "allure"  # a container (fixtures), with or without children
    if b"status" in keys and len(keys & _RESULT_KEYS) >= 2:
        return "allure"
    return None


STATUSES = {
    "passed": Status.PASSED,
    "failed": Status.FAILED,
    "broken": Status.FAILED,
    "skipped": Status.SKIPPED,
    "unknown": Status.FAILED,
}
#: Labels kept in metadata (what a user searches for); ``tag`` may repeat.
KEPT_LABELS = (
    "parentSuite",
    "suite",
    "subSuite",
    "epic",
    "feature",
    "story",
    "severity",
    "owner",
    "package",
    "testClass",
    "testMethod",
    "framework",
    "language",
    "host",
    "AS_ID",
)
MAX_TAGS = 100
MAX_PARAMETERS = 50
MAX_LINKS = 20
MAX_VALUE = 200  # code points of a kept label/parameter value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch_ms(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 32503680000000:  # before year 3000
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


class _Reader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.attachments: list[AttachmentRef] = []
        self.dropped_attachments = 0

    def record(self, result: Mapping[str, Any]) -> TestRecord:
        word = _str(result.get("status")) or "unknown"
        status = STATUSES.get(word)
        if status is None:
            self.options.warn(f"{self.path}: unknown Allure status {word!r}; reported as Failed")
            status = Status.FAILED
        details = result.get("statusDetails")
        details = details if isinstance(details, Mapping) else {}
        message = (_str(details.get("message")) or "").strip("\n")
        trace = _str(details.get("trace"))
        labels = self._labels(result.get("labels"))
        metadata: dict[str, Any] = {"format": "allure", "report": self.path, "allure_status": word}
        for key, out in (
            ("fullName", "full_name"),
            ("historyId", "history_id"),
            ("testCaseId", "test_case_id"),
            ("uuid", "uuid"),
        ):
            value = _str(result.get(key))
            if value:
                metadata[out] = clip_code_points(value, 500)
        if labels:
            metadata["labels"] = labels
        parameters = self._parameters(result.get("parameters"))
        if parameters:
            metadata["parameters"] = parameters
        links = self._links(result.get("links"))
        if links:
            metadata["links"] = links
        for flag in ("known", "muted", "flaky"):
            if details.get(flag) is True:
                metadata[flag] = True

        # allure-pytest's spelling of xfail/xpass; Allure's known/muted failures.
        if status is Status.SKIPPED and message.startswith("XFAIL"):
            status = Status.KNOWN_FAIL
            metadata["xfail"] = True
        elif status is Status.PASSED and message.startswith("XPASS"):
            metadata["xpassed"] = True
        elif status is Status.FAILED and (
            details.get("known") is True or details.get("muted") is True
        ):
            status = Status.KNOWN_FAIL
        if word == "unknown" and not message:
            message = "Allure status unknown: the test did not report a result"

        started_at = _epoch_ms(result.get("start"))
        finished_at = _epoch_ms(result.get("stop"))
        duration = None
        if started_at is not None and finished_at is not None and finished_at >= started_at:
            duration = round((finished_at - started_at).total_seconds() * 1000)
        elif finished_at is not None and started_at is None:
            started_at = finished_at
        if started_at is not None:
            metadata["time_source"] = "report"
        elif self.options.fallback_start is not None:
            started_at = self.options.fallback_start
            metadata["time_source"] = "file_mtime"
            finished_at = None

        self._attachments(result.get("attachments"))
        steps_log = CappedLog(self.options.max_text_bytes)
        self._steps(result.get("steps"), 0, steps_log)
        outputs: tuple[TextArtifact, ...] = ()
        steps = steps_log.artifact("steps.txt")
        if steps is not None:
            outputs = (steps,)
        if self.dropped_attachments:
            self.options.warn(
                f"{self.path}: {self.dropped_attachments} attachment(s) past the first "
                f"{ARTIFACTS_PER_RESULT} not uploaded"
            )

        failure_text = None
        if trace and status in (Status.FAILED, Status.KNOWN_FAIL):
            text = f"{message}\n\n{trace}" if message else trace
            failure_text = capped_artifact("f", text, self.options.max_text_bytes).text
        elif len(message) > ERROR_MESSAGE_MAX:
            failure_text = capped_artifact("f", message, self.options.max_text_bytes).text
        return TestRecord(
            test_name=self._name(result, labels),
            status=status,
            source=SourceRef(self.source.path, self.source.member),
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=duration,
            error_message=clip_code_points(message, ERROR_MESSAGE_MAX) if message else None,
            metadata=metadata,
            failure_text=failure_text,
            outputs=outputs,
            attachments=tuple(self.attachments),
        )

    def _name(self, result: Mapping[str, Any], labels: dict[str, Any]) -> str:
        name = (_str(result.get("name")) or _str(result.get("fullName")) or "").strip()
        path = [labels[key] for key in ("parentSuite", "suite", "subSuite") if key in labels]
        if not path:
            title_path = result.get("titlePath")
            if isinstance(title_path, list):
                path = [p for p in title_path if isinstance(p, str) and p][:20]
        parameters = result.get("parameters")
        if isinstance(parameters, list) and parameters and "[" not in name:
            # allure-java names every run of a parametrised test alike; pytest adds [id].
            shown = [
                f"{p.get('name')}={p.get('value')}"
                for p in parameters[:MAX_PARAMETERS]
                if isinstance(p, Mapping)
                and p.get("excluded") is not True
                and p.get("mode") not in ("hidden", "masked")
            ]
            if shown:
                name += " [" + ", ".join(shown) + "]"
        full = " > ".join([*path, name]) if name else " > ".join(path)
        return fit_name(full or _str(result.get("uuid")) or "allure result", pad_with="allure")

    def _labels(self, raw: Any) -> dict[str, Any]:
        labels: dict[str, Any] = {}
        tags: list[str] = []
        if not isinstance(raw, list):
            return labels
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            name, value = _str(item.get("name")), _str(item.get("value"))
            if name is None or value is None:
                continue
            value = clip_code_points(value, MAX_VALUE)
            if name == "tag":
                if len(tags) < MAX_TAGS:
                    tags.append(value)
            elif name in KEPT_LABELS and name not in labels:
                labels[name] = value
        if tags:
            labels["tag"] = tags
        return labels

    def _parameters(self, raw: Any) -> list[str]:
        if not isinstance(raw, list):
            return []
        kept = []
        for item in raw[:MAX_PARAMETERS]:
            if not isinstance(item, Mapping) or _str(item.get("name")) is None:
                continue
            value = "***" if item.get("mode") == "masked" else str(item.get("value", ""))
            kept.append(clip_code_points(f"{item['name']}={value}", MAX_VALUE))
        return kept

    def _links(self, raw: Any) -> list[str]:
        if not isinstance(raw, list):
            return []
        urls = [_str(item.get("url")) for item in raw[:MAX_LINKS] if isinstance(item, Mapping)]
        return [clip_code_points(url, 500) for url in urls if url]

    def _attachments(self, raw: Any) -> None:
        if not isinstance(raw, list):
            return
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            source = _str(item.get("source"))
            if source is None:
                continue
            if "/" in source or "\\" in source or source in (".", ".."):
                # Allure writes a bare file name in the results directory; anything else
                # is not an Allure attachment (and might point anywhere).
                self.options.warn(
                    f"{self.path}: attachment source {source[:100]!r} is not a file name "
                    "in the results directory; ignored"
                )
                continue
            if len(self.attachments) >= ARTIFACTS_PER_RESULT:
                self.dropped_attachments += 1
                continue
            name = _str(item.get("name")) or source
            extension = os.path.splitext(source)[1]
            label = name if name.endswith(extension) or not extension else name + extension
            self.attachments.append(
                AttachmentRef(
                    path=source,
                    marker=f"attachment {clip_code_points(name, 100)!r} ({source})",
                    label=label,
                    content_type=_str(item.get("type")),
                )
            )

    def _steps(self, raw: Any, depth: int, log: CappedLog) -> None:
        """Steps as an indented outline; their attachments join the record's."""
        if not isinstance(raw, list):
            return
        for step in raw:
            if not isinstance(step, Mapping):
                continue
            name = _str(step.get("name")) or "(unnamed step)"
            word = _str(step.get("status")) or "unknown"
            line = f"{'  ' * depth}{word:<7} {name}"
            start, stop = _epoch_ms(step.get("start")), _epoch_ms(step.get("stop"))
            if start is not None and stop is not None and stop >= start:
                line += f" ({round((stop - start).total_seconds() * 1000)} ms)"
            details = step.get("statusDetails")
            message = _str(details.get("message")) if isinstance(details, Mapping) else None
            if message and word not in ("passed",):
                line += ": " + " ".join(message.split())[:500]
            log.append(line + "\n")
            self._attachments(step.get("attachments"))
            self._steps(step.get("steps"), depth + 1, log)


def parse(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield the record of one Allure ``*-result.json`` file (nothing for a container)."""
    path = source.display()
    document = SafeJSON(path, options.warn).load_stream(stream, max_bytes=MAX_RESULT_BYTES)
    if not isinstance(document, Mapping):
        raise InputError(path, "an Allure result is a JSON object", line=1)
    if "status" not in document and any(k in document for k in ("children", "befores", "afters")):
        return  # a container: fixtures around results that carry their own outcome
    if "status" not in document and "name" not in document:
        raise InputError(path, "not an Allure result: no status and no name", line=1)
    yield _Reader(source, options).record(document)


# ---------------------------------------------------------------- retries


def _directory(record: TestRecord) -> tuple[str, str]:
    member = record.source.member
    return (
        (record.source.path, os.path.dirname(member))
        if member
        else (
            os.path.dirname(record.source.path),
            "",
        )
    )


def merge_attempts(records: Iterable[TestRecord]) -> Iterator[TestRecord]:
    """Fold the Allure records of one results directory that share a ``historyId`` into
    one record: the attempt that stopped last, with ``attempts`` and ``flaky``.

    Run over the records of all the reports, in the order the inputs were expanded (the
    files of one directory come together): Allure records are held until a record from
    another directory (or the end) arrives; every other record passes straight through.
    """
    held: dict[str, list[TestRecord]] = {}
    directory: tuple[str, str] | None = None
    for record in records:
        history = (
            record.metadata.get("history_id") if record.metadata.get("format") == "allure" else None
        )
        if history is None:
            yield record
            continue
        where = _directory(record)
        if directory is not None and where != directory:
            yield from _flush(held)
        directory = where
        held.setdefault(str(history), []).append(record)
    yield from _flush(held)


def _flush(held: dict[str, list[TestRecord]]) -> Iterator[TestRecord]:
    for attempts in held.values():
        yield attempts[0] if len(attempts) == 1 else _merged(attempts)
    held.clear()


def _stop_key(record: TestRecord) -> tuple[int, datetime]:
    when = record.finished_at or record.started_at
    return (0, datetime.min.replace(tzinfo=UTC)) if when is None else (1, when)


def _merged(attempts: list[TestRecord]) -> TestRecord:
    ordered = sorted(attempts, key=_stop_key)  # stable: file order breaks ties
    final = ordered[-1]
    earlier = ordered[:-1]
    metadata = dict(final.metadata)
    metadata["attempts"] = len(ordered)
    metadata["flaky"] = final.status is Status.PASSED and any(
        a.status is Status.FAILED for a in earlier
    )
    lines = []
    for number, attempt in enumerate(ordered, start=1):
        head = f"attempt {number}: {attempt.status}"
        if attempt.execution_time_ms is not None:
            head += f" ({attempt.execution_time_ms} ms)"
        if attempt.error_message:
            head += f": {attempt.error_message.splitlines()[0]}"
        lines.append(head)
        if attempt is not final and attempt.failure_text:
            lines.append(attempt.failure_text.rstrip("\n"))
    outputs = list(final.outputs) + [
        TextArtifact(label="attempts.txt", text="\n".join(lines) + "\n")
    ]
    attachments = list(final.attachments)
    for attempt in reversed(earlier):
        attachments.extend(attempt.attachments)
    starts = [a.started_at for a in ordered if a.started_at is not None]
    stops = [a.finished_at for a in ordered if a.finished_at is not None]
    durations = [a.execution_time_ms for a in ordered if a.execution_time_ms is not None]
    return replace(
        final,
        started_at=min(starts) if starts else final.started_at,
        finished_at=max(stops) if stops else final.finished_at,
        execution_time_ms=sum(durations) if durations else None,
        metadata=metadata,
        outputs=tuple(outputs),
        attachments=tuple(dict.fromkeys(attachments))[:ARTIFACTS_PER_RESULT],
    )

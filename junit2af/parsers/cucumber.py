"""Cucumber JSON and Cucumber messages (NDJSON) parsers.

Cucumber JSON is one document, an array of features, written by cucumber-js
(``--format json``), behave (``-f json``), Cucumber-JVM (the ``json`` plugin) and
cucumber-ruby; it is loaded whole under the documented size cap. Cucumber messages
(``--format message``) are JSON Lines, read one line at a time. In both, a scenario (or
one example row of a scenario outline) is a test, named ``Feature > Scenario``. The
mapping rules are in ``notes/native-js.md``.

Decisions, and the quirks of the real tools that forced them:

* A scenario's status is its worst step or hook result, in Cucumber's own order
  (failed > ambiguous > undefined > pending > skipped > passed). ``failed``, ``ambiguous``
  (two step definitions match: the suite is broken) and ``undefined`` (no step
  definition: a typo or a missing import at least as often as a plan) are Failed: every
  Cucumber fails the run for them in its default strict mode. ``pending`` (a step that
  says "not implemented yet" on purpose) is KnownFail, the todo of Cucumber. A scenario
  whose steps were all skipped is Skipped.
* Durations: cucumber-js, Cucumber-JVM and cucumber-ruby write nanoseconds (integers),
  behave writes seconds (floats). behave's report is recognised by its features'
  ``location``/``status`` keys; any non-integral duration also means seconds.
* Backgrounds: Cucumber-JVM and cucumber-ruby write a ``background`` element with its own
  results before each scenario (merged into that scenario here); cucumber-js and behave
  repeat the background steps inside each scenario (behave's background element has no
  results and is skipped).
* Hooks: cucumber-js writes them as hidden steps (``"keyword": "Before"``), JVM/ruby in
  ``before``/``after`` arrays of the element and of each step. A failing hook fails the
  scenario.
* Embeddings (``this.attach``, ``scenario.attach``) are base64. Text ones become
  artifacts (cucumber-js ``this.log`` lines and JVM/ruby ``output`` lines go to
  ``log.txt``); binary ones (screenshots) cannot be carried as text: they are counted in
  ``metadata.binary_embeddings_skipped`` and left out.
* Cucumber JSON keeps only the last attempt of a retried scenario; Cucumber messages keep
  every attempt (``willBeRetried``), which become one record with ``attempts``.
* Only Cucumber-JVM writes timestamps (``start_timestamp``, and its own test suite
  writes 1970 ones, which are no timestamps). Otherwise scenarios are placed one after
  another, ending at the report's modification time (``time_source: file_mtime``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from junit2af.errors import InputError
from junit2af.parsers import Format, Head
from junit2af.parsers._native import (
    CappedText,
    WarnOnce,
    as_int,
    as_str,
    clip,
    iso_time,
    listing,
    load_document,
    mapping,
    message_of,
    strip_ansi,
    text_artifact,
)
from junit2af.parsers.base import ParseOptions
from junit2af.parsers.jsonsafe import MAX_LINE_BYTES, SafeJSON, iter_lines
from junit2af.records import SourceRef, Status, TestRecord, TextArtifact, add_ms, fit_name

FORMATS = (
    Format(
        "cucumber-json",
        "Cucumber JSON",
        "cucumber",
        parser="parse_json",
        producers="cucumber-js --format json, behave -f json, Cucumber-JVM json plugin, "
        "cucumber-ruby",
    ),
    Format(
        "cucumber-messages",
        "Cucumber messages (NDJSON)",
        "cucumber",
        parser="parse_messages",
        producers="cucumber-js --format message, Cucumber-JVM message plugin",
    ),
)

_MESSAGE_KEYS = (
    b'{"meta":',
    b'{"source":',
    b'{"gherkinDocument":',
    b'{"pickle":',
    b'{"testRunStarted":',
)


def sniff(head: Head) -> str | None:
    """Cucumber messages: the first line is a ``meta``/``source``/... envelope.
    Cucumber JSON: an array of features (``"keyword"`` plus ``"elements"`` or
    ``"Feature"``)."""
    first = head.first_line.replace(b" ", b"")
    if first.startswith(_MESSAGE_KEYS):
        return "cucumber-messages"
    if head.is_json_array:
        text = head.text
        feature = re.search(rb'"keyword"\s*:\s*"', text) and (
            b'"elements"' in text or re.search(rb'"keyword"\s*:\s*"Feature"', text)
        )
        if feature and (b'"steps"' in text or b'"uri"' in text or b'"location"' in text):
            return "cucumber-json"
    return None


# Cucumber's order of step results, best to worst.
_RANK = {
    "passed": 0,
    "unknown": 1,
    "skipped": 1,
    "untested": 1,  # behave: not run after a failure
    "pending": 2,
    "undefined": 3,
    "ambiguous": 4,
    "failed": 5,
    "error": 5,  # behave: an exception other than an assertion
    "hook_error": 5,  # behave
    "cleanup_error": 5,  # behave
}
_STATUS = {
    "passed": Status.PASSED,
    "skipped": Status.SKIPPED,
    "unknown": Status.SKIPPED,
    "untested": Status.SKIPPED,
    "pending": Status.KNOWN_FAIL,
    "undefined": Status.FAILED,
    "ambiguous": Status.FAILED,
    "failed": Status.FAILED,
    "error": Status.FAILED,
    "hook_error": Status.FAILED,
    "cleanup_error": Status.FAILED,
}
_LOG_TYPE = "text/x.cucumber.log+plain"
_TEXT_TYPES = ("text/", "application/json", "application/xml")
NAME_SEPARATOR = " > "


@dataclass
class _Step:
    """One step or hook result, in the order it ran."""

    label: str  # 'When a failing step', 'Before hook (setup database)'
    status: str
    seconds: float
    error: str | None
    line: int | None = None


@dataclass
class _Outcome:
    """What a scenario's steps and hooks say, with its texts."""

    steps: list[_Step] = field(default_factory=list)
    logs: CappedText | None = None
    texts: list[TextArtifact] = field(default_factory=list)
    binary: int = 0


def _verdict(steps: list[_Step], declared: str | None) -> tuple[Status, str, _Step | None]:
    """Status, Cucumber's status word and the step that decided it."""
    worst: _Step | None = None
    for step in steps:
        if worst is None or _RANK.get(step.status, 5) > _RANK.get(worst.status, 5):
            worst = step
    word = worst.status if worst is not None else (declared or "unknown")
    if (
        declared
        and _RANK.get(declared, 0) > _RANK.get(word, 0)
        and _STATUS.get(word) is not Status.FAILED
    ):
        word, worst = declared, None  # behave: a hook error the steps do not show
    if worst is None and not steps and declared is None:
        return Status.SKIPPED, "no steps", None
    status = _STATUS.get(word)
    if status is None:
        return Status.FAILED, word, worst
    return status, word, worst


def _message(status: Status, word: str, step: _Step | None) -> tuple[str | None, str | None]:
    """(error message, failure text) for the deciding step."""
    if status is Status.PASSED:
        return None, None
    if step is None:
        if status is Status.SKIPPED:
            return None, None
        return f"scenario {word}", None
    error = strip_ansi(step.error) if step.error else None
    if status is Status.SKIPPED:
        return None, None
    head = {
        "undefined": f"undefined step: {step.label}",
        "ambiguous": f"ambiguous step: {step.label}",
        "pending": f"pending step: {step.label}",
    }.get(word)
    if head is not None:
        detail = message_of(error)
        message = f"{head} ({detail})" if detail and word != "undefined" else head
        return message, f"{head}\n{error}" if error else None
    message = message_of(error) or f"{word}: {step.label}"
    text = f"{step.label} ({word})\n{error}" if error else None
    return message, text


def _to_text(data: str, mime: str) -> str | None:
    if not mime.lower().startswith(_TEXT_TYPES) and mime != _LOG_TYPE:
        return None
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _label_for(name: str | None, mime: str, number: int) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "").strip("_")[:80]
    if not base:
        base = f"embedding-{number}"
    if "." not in base:
        base += ".json" if "json" in mime else ".txt"
    return base


# ====================================================================== Cucumber JSON


def parse_json(stream: BinaryIO, source: SourceRef, options: ParseOptions) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per scenario (outline example) of a Cucumber JSON
    report read from ``stream``."""
    path = source.display()
    document = load_document(stream, path, options, "Cucumber JSON")
    if not isinstance(document, list):
        raise InputError(path, "not a Cucumber JSON report: the top level is not an array")
    if not document:
        raise InputError(path, "Cucumber JSON report with no features (an empty array)")
    reader = _JsonReader(path, source, options, document)
    yield from reader.records()


class _JsonReader:
    def __init__(
        self, path: str, source: SourceRef, options: ParseOptions, features: list[Any]
    ) -> None:
        self.path = path
        self.source = source
        self.options = options
        self.features = features
        self.warn = WarnOnce(path, options.warn)
        first = mapping(features[0])
        self.producer: str | None = None
        if "location" in first and "status" in first:
            self.producer = "behave"
        elif str(first.get("uri", "")).startswith(("classpath:", "file:")):
            self.producer = "cucumber-jvm"
        self.seconds = self.producer == "behave" or self._float_durations()
        self.names = Counter(
            self._name(mapping(f), mapping(e))
            for f in features
            for e in listing(mapping(f).get("elements"))
            if self._is_scenario(mapping(e))
        )

    def _float_durations(self) -> bool:
        """True when some duration has a fraction: seconds, not nanoseconds."""
        for feature in self.features:
            for element in listing(mapping(feature).get("elements")):
                for step in listing(mapping(element).get("steps")):
                    value = mapping(mapping(step).get("result")).get("duration")
                    if isinstance(value, float) and not value.is_integer():
                        return True
        return False

    @staticmethod
    def _is_scenario(element: Mapping[str, Any]) -> bool:
        kind = element.get("type")
        return kind != "background" and (
            kind in ("scenario", "scenario_outline") or element.get("keyword") != "Background"
        )

    def _name(self, feature: Mapping[str, Any], element: Mapping[str, Any]) -> str:
        feature_name = (
            as_str(feature.get("name")) or as_str(feature.get("uri")) or "(unnamed feature)"
        )
        scenario = as_str(element.get("name")) or f"line {self._line(element) or '?'}"
        return f"{feature_name}{NAME_SEPARATOR}{scenario}"

    @staticmethod
    def _line(item: Mapping[str, Any]) -> int | None:
        line = as_int(item.get("line"))
        if line is None:
            location = as_str(item.get("location")) or ""
            tail = location.rsplit(":", 1)[-1]
            line = int(tail) if tail.isdigit() else None
        return line

    def _seconds(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return 0.0
        return float(value) if self.seconds else value / 1e9

    def records(self) -> Iterator[TestRecord]:
        scenarios = []
        for index, feature in enumerate(self.features):
            if not isinstance(feature, Mapping):
                raise InputError(self.path, f"feature {index} is not an object")
            background: list[_Step] | None = None
            background_outcome: _Outcome | None = None
            for element in listing(feature.get("elements")):
                if not isinstance(element, Mapping):
                    continue
                if not self._is_scenario(element):
                    outcome = self._outcome(element)
                    # JVM/ruby: the background ran, with results, for the next scenario.
                    ran = any(
                        mapping(mapping(s).get("result")).get("status")
                        for s in listing(element.get("steps"))
                    )
                    background = outcome.steps if ran else None
                    background_outcome = outcome if ran else None
                    continue
                outcome = self._outcome(element)
                if background is not None and background_outcome is not None:
                    outcome.steps[:0] = background
                    outcome.texts[:0] = background_outcome.texts
                    outcome.binary += background_outcome.binary
                    if background_outcome.logs:
                        logs = CappedText(self.options.max_text_bytes)
                        logs.append(background_outcome.logs.text())
                        if outcome.logs:
                            logs.append(outcome.logs.text())
                        outcome.logs = logs
                    background = background_outcome = None
                scenarios.append((feature, element, outcome))
            self.features[index] = None  # its scenarios are read: let the rest go
        durations = [_ms(o) for _, _, o in scenarios]
        # add_ms: a hostile duration (10**30 ns) leaves the clock unknown, not an error
        clock = add_ms(self.options.fallback_start, -sum(durations))
        for (feature, element, outcome), duration_ms in zip(scenarios, durations, strict=True):
            yield self._record(feature, element, outcome, clock)
            clock = add_ms(clock, duration_ms)

    def _outcome(self, element: Mapping[str, Any]) -> _Outcome:
        outcome = _Outcome()
        for hook in listing(element.get("before")):
            self._take(outcome, mapping(hook), "Before hook")
        for step in listing(element.get("steps")):
            step = mapping(step)
            for hook in listing(step.get("before")):
                self._take(outcome, mapping(hook), "BeforeStep hook")
            keyword = (as_str(step.get("keyword")) or "").strip()
            hidden = step.get("hidden") is True or keyword in ("Before", "After")
            label = f"{keyword} hook" if hidden else f"{keyword} {step.get('name', '')}".strip()
            self._take(outcome, step, label, line=as_int(step.get("line")))
            for hook in listing(step.get("after")):
                self._take(outcome, mapping(hook), "AfterStep hook")
        for hook in listing(element.get("after")):
            self._take(outcome, mapping(hook), "After hook")
        return outcome

    def _take(
        self, outcome: _Outcome, item: Mapping[str, Any], label: str, line: int | None = None
    ) -> None:
        result = mapping(item.get("result"))
        status = (as_str(result.get("status")) or "untested").lower()
        error = result.get("error_message")
        if isinstance(error, list):  # behave < 1.2.7 writes the lines as a list
            error = "\n".join(str(part) for part in error)
        outcome.steps.append(
            _Step(
                label=label,
                status=status,
                seconds=self._seconds(result.get("duration")),
                error=error if isinstance(error, str) and error else None,
                line=line,
            )
        )
        for text in listing(item.get("output")):
            if isinstance(text, str):
                self._log(outcome, text)
        for embedding in listing(item.get("embeddings")):
            embedding = mapping(embedding)
            data = as_str(embedding.get("data")) or ""
            mime = as_str(embedding.get("mime_type")) or as_str(embedding.get("media_type"))
            mime = mime or "application/octet-stream"
            decoded = _to_text(data, mime)
            if decoded is None:
                outcome.binary += 1
            elif mime == _LOG_TYPE:
                self._log(outcome, decoded)
            else:
                label_ = _label_for(as_str(embedding.get("name")), mime, len(outcome.texts) + 1)
                artifact = text_artifact(label_, decoded, self.options)
                outcome.texts.append(
                    TextArtifact(
                        artifact.label,
                        artifact.text,
                        content_type=mime if "/" in mime else artifact.content_type,
                        truncated_bytes=artifact.truncated_bytes,
                    )
                )

    def _log(self, outcome: _Outcome, text: str) -> None:
        if outcome.logs is None:
            outcome.logs = CappedText(self.options.max_text_bytes)
        outcome.logs.append(text if text.endswith("\n") else text + "\n")

    def _record(
        self,
        feature: Mapping[str, Any],
        element: Mapping[str, Any],
        outcome: _Outcome,
        clock: datetime | None,
    ) -> TestRecord:
        declared = as_str(element.get("status"))  # behave only
        status, word, deciding = _verdict(outcome.steps, declared.lower() if declared else None)
        message, failure_text = _message(status, word, deciding)
        name = self._name(feature, element)
        line = self._line(element)
        if self.names[name] > 1:
            name = f"{name} (line {line})" if line else name
        uri = (
            as_str(feature.get("uri")) or (as_str(feature.get("location")) or "").rsplit(":", 1)[0]
        )
        metadata: dict[str, Any] = {"format": "cucumber-json", "report": self.path}
        if self.producer:
            metadata["producer"] = self.producer
        metadata["feature"] = as_str(feature.get("name")) or ""
        if uri:
            metadata["file"] = uri
        if line is not None:
            metadata["line"] = line
        keyword = as_str(element.get("keyword"))
        if keyword:
            metadata["keyword"] = keyword.strip()
        tags = _tags(element.get("tags"))
        if tags:
            metadata["tags"] = tags
        metadata["cucumber_status"] = word
        if deciding is not None and status is not Status.PASSED:
            metadata["step"] = deciding.label
        metadata["steps"] = sum(1 for s in outcome.steps if not s.label.endswith(" hook"))
        if outcome.binary:
            metadata["binary_embeddings_skipped"] = outcome.binary
        duration_ms = _ms(outcome)
        started_at = iso_time(element.get("start_timestamp"), self.options)
        if started_at is not None:
            metadata["time_source"] = "report"
        elif clock is not None:
            started_at = clock
            metadata["time_source"] = "file_mtime"
        outputs = list(outcome.texts)
        if outcome.logs:
            outputs.insert(0, outcome.logs.artifact("log.txt"))
        return TestRecord(
            test_name=fit_name(name),
            status=status,
            source=self.source,
            started_at=started_at,
            finished_at=add_ms(started_at, duration_ms),
            execution_time_ms=duration_ms,
            error_message=clip(message),
            metadata=metadata,
            failure_text=failure_text,
            outputs=tuple(outputs),
        )


def _ms(outcome: _Outcome) -> int:
    return int(round(sum(s.seconds for s in outcome.steps) * 1000))


def _tags(value: Any) -> list[str]:
    names = []
    for tag in listing(value):
        if isinstance(tag, str):
            names.append(tag if tag.startswith("@") else f"@{tag}")
        elif isinstance(tag, Mapping) and as_str(tag.get("name")):
            names.append(tag["name"])
    return list(dict.fromkeys(names))[:64]


# ====================================================================== messages

#: Test cases started and not finished that are kept; beyond, the oldest is incomplete.
MAX_OPEN = 10_000


@dataclass
class _Pickle:
    name: str
    uri: str
    line: int | None
    tags: list[str]
    steps: dict[str, str]  # pickle step id -> 'When text'


@dataclass
class _Attempt:
    number: int
    started_at: datetime | None
    finished_at: datetime | None = None
    outcome: _Outcome = field(default_factory=_Outcome)


def _timestamp(value: Any) -> datetime | None:
    stamp = mapping(value)
    seconds = as_int(stamp.get("seconds"))
    if seconds is None or not 946_684_800 <= seconds <= 32_503_680_000:
        return None
    nanos = as_int(stamp.get("nanos")) or 0
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)


def _duration(value: Any) -> float:
    stamp = mapping(value)
    seconds = as_int(stamp.get("seconds")) or 0
    nanos = as_int(stamp.get("nanos")) or 0
    return max(0.0, seconds + nanos / 1e9)


class _MessageReader:
    def __init__(self, source: SourceRef, options: ParseOptions) -> None:
        self.source = source
        self.options = options
        self.path = source.display()
        self.warn = WarnOnce(self.path, options.warn)
        self.producer: str | None = None
        self.features: dict[str, str] = {}  # uri -> feature name
        self.node_lines: dict[str, int] = {}  # scenario / example row id -> line
        self.step_keywords: dict[str, str] = {}  # gherkin step id -> keyword
        self.pickles: dict[str, _Pickle] = {}
        self.names: Counter[str] = Counter()
        self.hooks: dict[str, str] = {}
        self.test_cases: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
        self.open: OrderedDict[str, tuple[str, _Attempt]] = OrderedDict()
        self.retried: dict[str, list[_Attempt]] = {}
        self.envelopes = 0
        self.finished = False
        self.emitted_failure = False
        self.line = 0  # the last line read
        self.clock: datetime | None = None

    def feed(self, line: int, envelope: Any) -> Iterator[TestRecord]:
        if not isinstance(envelope, Mapping) or len(envelope) != 1:
            raise InputError(self.path, "not a Cucumber message envelope", line=line)
        self.envelopes += 1
        self.line = line
        ((kind, body),) = envelope.items()
        body = mapping(body)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            result = handler(body, line)
            if result is not None:
                yield from self._noted(result)

    def _noted(self, records: Iterator[TestRecord]) -> Iterator[TestRecord]:
        for record in records:
            self.emitted_failure = self.emitted_failure or record.status is Status.FAILED
            yield record

    # -- definitions ----------------------------------------------------------------

    def _on_meta(self, body: Mapping[str, Any], line: int) -> None:
        implementation = mapping(body.get("implementation"))
        name = as_str(implementation.get("name"))
        if name:
            version = as_str(implementation.get("version"))
            self.producer = f"{name} {version}" if version else name

    def _on_gherkinDocument(self, body: Mapping[str, Any], line: int) -> None:  # noqa: N802
        uri = as_str(body.get("uri")) or ""
        feature = mapping(body.get("feature"))
        self.features[uri] = as_str(feature.get("name")) or uri
        self._walk(listing(feature.get("children")), 0)

    def _walk(self, children: list[Any], depth: int) -> None:
        if depth > 4:
            return
        for child in children:
            child = mapping(child)
            rule = mapping(child.get("rule"))
            if rule:
                self._walk(listing(rule.get("children")), depth + 1)
            node = mapping(child.get("scenario")) or mapping(child.get("background"))
            if not node:
                continue
            self._remember(node)
            for step in listing(node.get("steps")):
                step = mapping(step)
                if as_str(step.get("id")):
                    self.step_keywords[step["id"]] = (as_str(step.get("keyword")) or "").strip()
            for examples in listing(node.get("examples")):
                for row in listing(mapping(examples).get("tableBody")):
                    self._remember(mapping(row))

    def _remember(self, node: Mapping[str, Any]) -> None:
        node_id = as_str(node.get("id"))
        line = as_int(mapping(node.get("location")).get("line"))
        if node_id and line is not None:
            self.node_lines[node_id] = line

    def _on_pickle(self, body: Mapping[str, Any], line: int) -> None:
        pickle_id = as_str(body.get("id"))
        if not pickle_id:
            return
        ast = [a for a in listing(body.get("astNodeIds")) if isinstance(a, str)]
        where = as_int(mapping(body.get("location")).get("line"))
        if where is None and ast:
            where = self.node_lines.get(ast[-1])
        steps = {}
        for step in listing(body.get("steps")):
            step = mapping(step)
            ids = [a for a in listing(step.get("astNodeIds")) if isinstance(a, str)]
            keyword = self.step_keywords.get(ids[0], "") if ids else ""
            if as_str(step.get("id")):
                steps[step["id"]] = f"{keyword} {step.get('text', '')}".strip()[:500]
        uri = as_str(body.get("uri")) or ""
        pickle = _Pickle(
            name=as_str(body.get("name")) or f"line {where or '?'}",
            uri=uri,
            line=where,
            tags=_tags(body.get("tags")),
            steps=steps,
        )
        self.pickles[pickle_id] = pickle
        self.names[self._name(pickle)] += 1

    def _name(self, pickle: _Pickle) -> str:
        feature = self.features.get(pickle.uri) or pickle.uri or "(unnamed feature)"
        return f"{feature}{NAME_SEPARATOR}{pickle.name}"

    def _on_hook(self, body: Mapping[str, Any], line: int) -> None:
        hook_id = as_str(body.get("id"))
        if not hook_id:
            return
        kind = as_str(body.get("type")) or ""
        word = "After" if kind.startswith("AFTER") else ""
        word = "Before" if kind.startswith("BEFORE") else word
        if "STEP" in kind:
            word += "Step"
        name = as_str(body.get("name"))
        label = f"{word} hook".strip() + (f" ({name})" if name else "")
        self.hooks[hook_id] = label[:200]

    def _on_testCase(self, body: Mapping[str, Any], line: int) -> None:  # noqa: N802
        case_id = as_str(body.get("id"))
        pickle_id = as_str(body.get("pickleId"))
        if not case_id or not pickle_id:
            return
        pickle = self.pickles.get(pickle_id)
        steps: dict[str, tuple[str, str]] = {}
        for step in listing(body.get("testSteps")):
            step = mapping(step)
            step_id = as_str(step.get("id"))
            if not step_id:
                continue
            if as_str(step.get("hookId")):
                steps[step_id] = ("hook", self.hooks.get(step["hookId"], "hook"))
            else:
                pickle_step = as_str(step.get("pickleStepId")) or ""
                text = pickle.steps.get(pickle_step, "") if pickle else ""
                steps[step_id] = ("step", text or "step")
        self.test_cases[case_id] = (pickle_id, steps)

    # -- the run --------------------------------------------------------------------

    def _on_testRunStarted(self, body: Mapping[str, Any], line: int) -> None:  # noqa: N802
        self.clock = _timestamp(body.get("timestamp")) or self.clock

    def _on_testCaseStarted(  # noqa: N802
        self, body: Mapping[str, Any], line: int
    ) -> Iterator[TestRecord]:
        started_id = as_str(body.get("id"))
        case_id = as_str(body.get("testCaseId"))
        if not started_id or not case_id:
            return
        attempt = _Attempt(
            number=as_int(body.get("attempt")) or 0, started_at=_timestamp(body.get("timestamp"))
        )
        self.open[started_id] = (case_id, attempt)
        if len(self.open) > MAX_OPEN:
            self.warn("open", f"more than {MAX_OPEN} test cases running at once")
            old_id, (old_case, old_attempt) = self.open.popitem(last=False)
            yield self._record(old_case, [*self.retried.pop(old_case, []), old_attempt], True)

    def _on_testStepFinished(self, body: Mapping[str, Any], line: int) -> None:  # noqa: N802
        entry = self.open.get(as_str(body.get("testCaseStartedId")) or "")
        if entry is None:
            return
        case_id, attempt = entry
        _, steps = self.test_cases.get(case_id, ("", {}))
        kind, label = steps.get(as_str(body.get("testStepId")) or "", ("step", "step"))
        result = mapping(body.get("testStepResult"))
        exception = mapping(result.get("exception"))
        error = as_str(result.get("message")) or as_str(exception.get("message"))
        stack = as_str(exception.get("stackTrace"))
        if stack and (not error or error not in stack):
            error = f"{error}\n{stack}" if error else stack
        attempt.outcome.steps.append(
            _Step(
                label=label,
                status=(as_str(result.get("status")) or "unknown").lower(),
                seconds=_duration(result.get("duration")),
                error=error,
            )
        )

    def _on_attachment(self, body: Mapping[str, Any], line: int) -> None:
        entry = self.open.get(as_str(body.get("testCaseStartedId")) or "")
        if entry is None:
            return
        outcome = entry[1].outcome
        media = as_str(body.get("mediaType")) or "application/octet-stream"
        data = as_str(body.get("body")) or ""
        if body.get("contentEncoding") == "BASE64":
            text = _to_text(data, media)
        else:
            text = data if media.lower().startswith(_TEXT_TYPES) or media == _LOG_TYPE else None
        if text is None:
            outcome.binary += 1
        elif media == _LOG_TYPE:
            if outcome.logs is None:
                outcome.logs = CappedText(self.options.max_text_bytes)
            outcome.logs.append(text if text.endswith("\n") else text + "\n")
        else:
            name = _label_for(as_str(body.get("fileName")), media, len(outcome.texts) + 1)
            artifact = text_artifact(name, text, self.options)
            outcome.texts.append(
                TextArtifact(artifact.label, artifact.text, media, artifact.truncated_bytes)
            )

    def _on_testCaseFinished(  # noqa: N802
        self, body: Mapping[str, Any], line: int
    ) -> Iterator[TestRecord]:
        entry = self.open.pop(as_str(body.get("testCaseStartedId")) or "", None)
        if entry is None:
            return
        case_id, attempt = entry
        attempt.finished_at = _timestamp(body.get("timestamp"))
        if attempt.finished_at is not None:
            self.clock = attempt.finished_at
        if body.get("willBeRetried") is True:
            self.retried.setdefault(case_id, []).append(attempt)
            return
        yield self._record(case_id, [*self.retried.pop(case_id, []), attempt], False)

    def _on_testRunHookFinished(  # noqa: N802
        self, body: Mapping[str, Any], line: int
    ) -> Iterator[TestRecord]:
        result = mapping(body.get("result"))
        if (as_str(result.get("status")) or "").upper() != "FAILED":
            return
        error = as_str(result.get("message"))
        error = error or as_str(mapping(result.get("exception")).get("message"))
        yield self._synthetic("a BeforeAll/AfterAll hook failed", error, line, "run hook failed")

    def _on_testRunFinished(  # noqa: N802
        self, body: Mapping[str, Any], line: int
    ) -> Iterator[TestRecord]:
        self.finished = True
        exception = mapping(body.get("exception"))
        error = as_str(body.get("message")) or as_str(exception.get("message"))
        if body.get("success") is False and error:
            yield self._synthetic("the test run failed", error, line, "run failed")

    def _on_parseError(self, body: Mapping[str, Any], line: int) -> Iterator[TestRecord]:  # noqa: N802
        where = mapping(body.get("source"))
        uri = as_str(where.get("uri")) or "feature file"
        error = as_str(body.get("message")) or "Gherkin parse error"
        yield self._synthetic(f"{uri} (parse error)", error, line, "parse error", name=uri)

    # -- records --------------------------------------------------------------------

    def _synthetic(
        self, what: str, error: str | None, line: int, reason: str, name: str | None = None
    ) -> TestRecord:
        text = strip_ansi(error) if error else None
        metadata: dict[str, Any] = {
            "format": "cucumber-messages",
            "report": self.path,
            "synthetic": True,
            "reason": reason,
            "report_line": line,
        }
        if self.producer:
            metadata["producer"] = self.producer
        when = self.clock or self.options.fallback_start
        if when is not None:
            metadata["time_source"] = "report" if self.clock else "file_mtime"
        return TestRecord(
            test_name=fit_name(f"{name} ({reason})" if name else f"cucumber ({reason})"),
            status=Status.FAILED,
            source=SourceRef(self.source.path, self.source.member, line),
            started_at=when,
            finished_at=when,
            execution_time_ms=0 if when else None,
            error_message=clip(message_of(text) or what),
            metadata=metadata,
            failure_text=text,
        )

    def _record(self, case_id: str, attempts: list[_Attempt], incomplete: bool) -> TestRecord:
        pickle_id, _ = self.test_cases.pop(case_id, ("", {}))
        pickle = self.pickles.pop(pickle_id, None)
        if pickle is None:
            pickle = _Pickle("(unknown scenario)", "", None, [], {})
        final = attempts[-1]
        status, word, deciding = _verdict(final.outcome.steps, None)
        message, failure_text = _message(status, word, deciding)
        if incomplete:
            status, word = Status.FAILED, "incomplete"
            message = "the test case did not finish (the run stopped or the log was cut)"
        name = self._name(pickle)
        if self.names[name] > 1 and pickle.line:
            name = f"{name} (line {pickle.line})"
        metadata: dict[str, Any] = {"format": "cucumber-messages", "report": self.path}
        if self.producer:
            metadata["producer"] = self.producer
        metadata["feature"] = self.features.get(pickle.uri, "")
        if pickle.uri:
            metadata["file"] = pickle.uri
        if pickle.line is not None:
            metadata["line"] = pickle.line
        if pickle.tags:
            metadata["tags"] = pickle.tags
        metadata["cucumber_status"] = word
        if deciding is not None and status is not Status.PASSED:
            metadata["step"] = deciding.label
        metadata["steps"] = sum(1 for s in final.outcome.steps if " hook" not in s.label)
        if incomplete:
            metadata["incomplete"] = True
        binary = sum(a.outcome.binary for a in attempts)
        if binary:
            metadata["binary_embeddings_skipped"] = binary
        outputs: list[TextArtifact] = []
        for number, attempt in enumerate(attempts, 1):
            prefix = "" if attempt is final else f"attempt{number}-"
            if attempt.outcome.logs:
                outputs.append(attempt.outcome.logs.artifact(f"{prefix}log.txt"))
            for text in attempt.outcome.texts:
                label = prefix + text.label
                outputs.append(
                    TextArtifact(label, text.text, text.content_type, text.truncated_bytes)
                )
        if len(attempts) > 1:
            metadata["attempts"] = len(attempts)
            metadata["flaky"] = status is Status.PASSED
            outputs.append(TextArtifact("attempts.txt", _history(attempts)))
        seconds = sum(sum(s.seconds for s in a.outcome.steps) for a in attempts)
        started_at = attempts[0].started_at
        finished_at = final.finished_at
        if started_at is not None:
            metadata["time_source"] = "report"
        elif self.options.fallback_start is not None:
            started_at = finished_at = self.options.fallback_start
            metadata["time_source"] = "file_mtime"
        return TestRecord(
            test_name=fit_name(name),
            status=status,
            source=self.source,
            started_at=started_at,
            finished_at=finished_at,
            execution_time_ms=int(round(seconds * 1000)),
            error_message=clip(message),
            metadata=metadata,
            failure_text=failure_text,
            outputs=tuple(outputs),
        )

    def finish(self) -> Iterator[TestRecord]:
        if self.envelopes == 0:
            raise InputError(self.path, "no Cucumber messages in it")
        yield from self._noted(self._leftovers())
        if not self.finished:
            self.warn(
                "unfinished",
                "no testRunFinished message: the run did not finish or the log was cut",
            )
            if not self.emitted_failure:
                # cucumber-js 12 exits on a failed BeforeAll/AfterAll hook before its
                # message stream is flushed: the stream stops after the sources, and
                # the failure would vanish with no record at all.
                yield self._synthetic(
                    "the run did not finish",
                    "no testRunFinished message: the test run stopped before it finished "
                    "(a failed BeforeAll/AfterAll hook, a crash) or the log was cut",
                    self.line,
                    "run interrupted",
                )

    def _leftovers(self) -> Iterator[TestRecord]:
        while self.open:
            _, (case_id, attempt) = self.open.popitem(last=False)
            yield self._record(case_id, [*self.retried.pop(case_id, []), attempt], True)
        for case_id in list(self.retried):
            # Retried, and the retry never came: the last attempt stands.
            yield self._record(case_id, self.retried.pop(case_id), False)


def _history(attempts: list[_Attempt]) -> str:
    blocks = []
    for number, attempt in enumerate(attempts, 1):
        status, word, deciding = _verdict(attempt.outcome.steps, None)
        message, text = _message(status, word, deciding)
        head = f"attempt {number}: {word}"
        blocks.append(head + (f"\n{text or message}" if (text or message) else ""))
    return "\n\n".join(blocks) + "\n"


def parse_messages(
    stream: BinaryIO, source: SourceRef, options: ParseOptions
) -> Iterator[TestRecord]:
    """Yield one :class:`TestRecord` per test case (with its attempts) of a Cucumber
    messages NDJSON stream, one line at a time."""
    reader = _MessageReader(source, options)
    decoder = SafeJSON(reader.path, options.warn)
    for number, raw in iter_lines(stream, reader.path, max_line_bytes=MAX_LINE_BYTES):
        try:
            envelope = decoder.loads(raw, first_line=number)
        except InputError:
            if options.salvage and not raw.endswith(b"\n"):
                options.warn(f"{reader.path}:{number}: last line truncated; ignored (--salvage)")
                break
            raise
        yield from reader.feed(number, envelope)
    yield from reader.finish()

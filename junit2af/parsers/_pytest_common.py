"""Helpers shared by the two pytest formats (pytest-json-report and reportlog).

Both formats carry the same pytest objects (``longrepr``, ``sections``, node ids, 0-based
``location`` lines); what they mean is decided once, here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from junit2af.parsers.base import ParseOptions
from junit2af.records import ERROR_MESSAGE_MAX, TextArtifact, clip_code_points

PHASES = ("setup", "call", "teardown")
#: pytest-xdist's ``when`` for the report it writes when a worker dies in a test
#: (``worker 'gw1' crashed while running 'nodeid'``); junit2af calls that phase "crash".
XDIST_CRASH_WHEN = "???"
CRASH_PHASE = "crash"
#: What pytest's exit codes mean (``pytest.ExitCode``).
EXIT_MEANING = {
    0: "ok",
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}
#: A test with setup and teardown but no call: pytest --setup-only/--setup-plan (pytest
#: prints "no tests ran"). Its body did not run: Skipped, never Passed.
SETUP_ONLY_MESSAGE = (
    "the test body did not run: setup and teardown only (pytest --setup-only or --setup-plan)"
)
#: Keywords kept in metadata (markers, parameter ids); the rest is noise.
MAX_KEYWORDS = 64

# The repr of pytest's skip location tuple: ('path', 50, 'Skipped: reason').
_SKIP_TUPLE = re.compile(
    r"""^\((?P<q1>['"]).*?(?P=q1),\ \d+,\ (?P<reason>(?P<q2>['"]).*(?P=q2))\)$""", re.S
)


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string (hostile reports put anything anywhere)."""
    return value if isinstance(value, str) and value else None


def as_seconds(value: Any) -> float | None:
    """A non-negative finite duration in seconds, or None."""
    cls = value.__class__
    if (cls is not float and cls is not int) and (  # the common cases first
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        return None
    return float(value) if 0 <= value < 1e9 else None


def to_ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def epoch_time(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds; None for missing or absurd values."""
    if not is_epoch(value):
        return None
    return datetime.fromtimestamp(value, UTC)


def is_epoch(value: Any) -> TypeGuard[int | float]:
    """Whether :func:`epoch_time` takes ``value`` (without making the datetime)."""
    cls = value.__class__
    if (cls is not float and cls is not int) and (  # the common cases first
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        return False
    return 0 < value < 32503680000  # before year 3000


def skip_reason(longrepr: Any) -> str | None:
    """The reason of a skip: pytest stores ``(path, line, "Skipped: reason")``.

    reportlog writes it as a JSON list, pytest-json-report as the tuple's Python repr.
    """
    reason: str | None = None
    if isinstance(longrepr, list) and len(longrepr) == 3:
        reason = as_str(longrepr[2])
    elif isinstance(longrepr, str):
        match = _SKIP_TUPLE.match(longrepr)
        if match:
            try:
                # Only the string literal is evaluated: a flat literal, never code.
                value = ast.literal_eval(match.group("reason"))
            except (ValueError, SyntaxError):
                value = None
            reason = value if isinstance(value, str) else None
        else:
            reason = first_line(longrepr)
    if reason and reason.startswith("Skipped: "):
        reason = reason[len("Skipped: ") :]
    return reason or None


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


# pytest-xdist's first line of a longrepr relayed from a worker: "[gw1] linux -- Python 3.11.7
# /venv/bin/python3" (pytest-json-report keeps it in front of the text).
_XDIST_HEADER = re.compile(r"\A\[gw\d+\] [^\n]* -- Python [^\n]*\n")


def failure_message(crash_message: str | None, longrepr_text: str | None) -> str | None:
    """The API's error message: pytest's crash line, else the traceback's ``E`` line
    (an xdist worker's ``[gw0] linux -- Python …`` header is no message)."""
    message = crash_message
    if not message and longrepr_text:
        longrepr_text = _XDIST_HEADER.sub("", longrepr_text, count=1)
        for line in longrepr_text.splitlines():
            if line.startswith("E "):
                message = line[1:].strip()
                break
        message = message or first_line(longrepr_text)
    return clip_code_points(message, ERROR_MESSAGE_MAX) if message else None


_NODEID_PARTS = re.compile(r"::|/")


def keywords_of(keywords: Iterable[Any], nodeid: str) -> list[str]:
    """Markers and parameter ids; the node id's own parts (file, class, name) dropped."""
    own = set(_NODEID_PARTS.split(nodeid)) | {nodeid.split("[", 1)[0].rsplit("::", 1)[-1]}
    own.add("pytestmark")  # pytest's internal marker attribute, not a keyword anyone set
    kept = [k for k in keywords if isinstance(k, str) and k and k not in own]
    return list(dict.fromkeys(kept))[:MAX_KEYWORDS]


def format_log_records(records: Any) -> str | None:
    """pytest-json-report's ``log`` (logging records as dicts) in pytest's log format."""
    if not isinstance(records, list):
        return None
    lines = []
    for item in records:
        if not isinstance(item, Mapping):
            continue
        level = as_str(item.get("levelname")) or "LOG"
        where = f"{item.get('name', '')}:{item.get('filename', '')}:{item.get('lineno', '')}"
        lines.append(f"{level:<8} {where} {item.get('msg', '')}")
    return "\n".join(lines) + "\n" if lines else None


def join_phases(parts: list[tuple[str, str]]) -> str:
    """One text from per-phase texts, with a ``--- phase ---`` header when several."""
    if len(parts) == 1:
        return parts[0][1]
    return "".join(
        f"--- {phase} ---\n{text}{'' if text.endswith(chr(10)) else chr(10)}"
        for phase, text in parts
    )


def text_artifact(label: str, text: str, options: ParseOptions) -> TextArtifact:
    """A text artifact cut at ``options.max_text_bytes`` with an explicit marker."""
    limit = options.max_text_bytes
    if len(text) > limit:  # code points approximate bytes well enough for a cap
        cut = len(text.encode("utf-8", "surrogatepass")) - limit
        return TextArtifact(
            label=label,
            text=text[:limit] + f"\n[truncated {cut} bytes]\n",
            truncated_bytes=cut,
        )
    return TextArtifact(label=label, text=text)


def output_label(stream: str) -> str:
    """Artifact label for a captured stream (pytest section key)."""
    if stream in ("stdout", "stderr"):
        return f"{stream}.log"
    if stream == "log":
        return "log.txt"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stream).strip("_") or "output"
    return f"{safe[:60]}.txt"


def sorted_outputs(outputs: list[TextArtifact]) -> tuple[TextArtifact, ...]:
    order = {"stdout.log": 0, "stderr.log": 1, "log.txt": 2}
    return tuple(sorted(outputs, key=lambda a: order.get(a.label, 3)))


def file_and_line(nodeid: str, path: Any, lineno: Any) -> dict[str, Any]:
    """``file``/``line`` metadata; pytest's location line is 0-based."""
    meta: dict[str, Any] = {}
    file = as_str(path) or (nodeid.split("::", 1)[0] if "::" in nodeid else None)
    if file:
        meta["file"] = file
    if isinstance(lineno, int) and not isinstance(lineno, bool) and lineno >= 0:
        meta["line"] = lineno + 1
    return meta


def is_exit_code(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def abnormal_exit(code: Any) -> TypeGuard[int]:
    """An exit code that says the session did not run to its end and is not said
    otherwise: 3 (internal error), 4 (usage error), any code pytest does not define.

    2 (interrupted) has its own synthetic record; 5 (no tests collected) is the
    "no test result" warning.
    """
    return is_exit_code(code) and code not in (0, 1, 2, 5)


def exit_words(code: int, term: str) -> str:
    """``pytest exit code 3 (internal error)``; ``term`` is "code" or "status"."""
    meaning = EXIT_MEANING.get(code)
    return f"pytest exit {term} {code}" + (f" ({meaning})" if meaning else "")


def abnormal_exit_record(code: int, term: str) -> tuple[str, str, str]:
    """Name, reason and message of the synthetic Failed record of an abnormal exit
    when no test failed: without it the run would look green."""
    meaning = EXIT_MEANING.get(code)
    name = f"pytest ({meaning})" if meaning else f"pytest (exit {term} {code})"
    message = (
        f"the test session ended abnormally with {exit_words(code, term)} and no test "
        "failed: the results may be incomplete"
    )
    return name, meaning or "abnormal exit", message


def unfinished_message(done: str, cause: str) -> str:
    """The message of a test that started and never finished (``incomplete``)."""
    return f"test did not finish: {done} reported, then nothing ({cause})"


def session_ended_first(code: Any, term: str) -> str:
    """Why a test did not finish although the session ended (its exit code known)."""
    # Exit code 0 with a test cut short: pytest.exit("…", returncode=0) is the known way;
    # 1 and 5 ("tests failed", "no tests collected") would not explain it.
    if not is_exit_code(code):
        return "the session ended first"
    meaning = (
        "pytest.exit()" if code == 0 else EXIT_MEANING.get(code) if code in (2, 3, 4) else None
    )
    return f"the session ended first, with pytest exit {term} {code}" + (
        f": {meaning}" if meaning else ""
    )

"""Field validation of request bodies, with the contract's rules (af-api.md note 5).

The limits are spelled out here rather than imported from :mod:`junit2af.records`: the
server is the client's opponent in tests, and sharing constants would let a wrong limit
pass on both sides unnoticed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from junit2af.localserver.apierrors import bad_request

NAME_MIN, NAME_MAX = 2, 255
ARTIFACT_LABEL_MIN = 1
CONTENT_TYPE_MAX = 255
ERROR_MESSAGE_MAX = 1024
DESCRIPTION_MAX = 1024
SIZE_MIN, SIZE_MAX = 1, 100 * 1024 * 1024
ARTIFACTS_PER_RESULT = 50
ARTIFACT_MAX_RESULT_AGE_DAYS = 7
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 20, 100
#: JSON bodies larger than this are refused before they are read.
MAX_JSON_BODY = 10 * 1024 * 1024
#: execution_time_ms must fit SQLite's signed 64-bit INTEGER.
MAX_INT = 2**63 - 1

RUN_STATUSES = ("Pending", "Running", "Completed")
RESULT_STATUSES = ("Pending", "Running", "Passed", "Failed", "Skipped", "KnownFail")
ARTIFACT_KINDS = ("Log", "Image", "Video", "Other")
PROJECT_STATUSES = ("Active", "Inactive")

# type "/" subtype, then optional parameters: RFC 6838 token characters, loosely.
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?")
_MISSING = object()


def parse_json_object(raw: bytes, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}`` unless ``required``."""
    if not raw.strip():
        if required:
            raise bad_request("request body must be a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad_request(f"request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def _has_surrogates(text: str) -> bool:
    # JSON may spell lone surrogates ("\ud800"); they are not Unicode text and SQLite's
    # UTF-8 would reject them later, so they are refused here as invalid values.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def string(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    nullable: bool = True,
    min_len: int = 0,
    max_len: int | None = None,
) -> Any:
    """A string field whose length in code points is within bounds.

    Returns the value, ``None`` for an explicit null, or ``_MISSING`` when absent
    (test with :func:`present`).
    """
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise bad_request(f"{name} is required")
        if value is None and not nullable:
            raise bad_request(f"{name} must be a string")
        return value
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    if _has_surrogates(value):
        raise bad_request(f"{name} is not valid Unicode text")
    # len() counts code points, which is what the contract's limits count.
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        bounds = f"{min_len}-{max_len}" if max_len is not None else f"at least {min_len}"
        raise bad_request(f"{name} must be {bounds} characters long (got {len(value)})")
    return value


def enum(body: dict[str, Any], name: str, allowed: tuple[str, ...], *, required: bool) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING and not required:
        return value
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}")
    return value


def integer(
    body: dict[str, Any], name: str, *, required: bool = False, minimum: int, maximum: int
) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise bad_request(f"{name} is required")
        return value
    # bool is an int subclass in Python, but true is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name} must be an integer")
    if not minimum <= value <= maximum:
        raise bad_request(f"{name} must be between {minimum} and {maximum} (got {value})")
    return value


def metadata(body: dict[str, Any], name: str = "metadata") -> Any:
    """A JSON object, kept as sent (null clears it)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return value
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be a JSON object")
    try:
        json.dumps(value).encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(f"{name} is not valid Unicode text") from None
    return value


def timestamp(body: dict[str, Any], name: str) -> Any:
    """An ISO 8601 date and time; one without an offset is taken as UTC (note 6)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return value
    if not isinstance(value, str) or len(value) > 64:
        raise bad_request(f"{name} must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"{name} is not an ISO 8601 timestamp: {value!r}") from None
    # fromisoformat also takes a bare date; a timestamp needs its time of day.
    if len(value) <= 10:
        raise bad_request(f"{name} needs a time of day: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)  # 9999-12-31T23:59:59-23:59 is in the year 10000 in UTC
    except (OverflowError, ValueError):
        raise bad_request(f"{name} is out of range in UTC: {value!r}") from None
    return parsed


def content_type(body: dict[str, Any]) -> str:
    value = string(body, "content_type", required=True, min_len=1, max_len=CONTENT_TYPE_MAX)
    if not _MIME.fullmatch(value) or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise bad_request(f"content_type is not a MIME type: {value!r}")
    return value


def present(value: Any) -> bool:
    """Whether a field was in the body at all (null counts as present)."""
    return value is not _MISSING


def page_size(raw: str | None) -> int:
    if raw is None:
        return PAGE_SIZE_DEFAULT
    try:
        size = int(raw)
    except ValueError:
        raise bad_request("page_size must be an integer") from None
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise bad_request(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
    return size

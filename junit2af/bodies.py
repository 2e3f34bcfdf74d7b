"""The request bodies an upload sends, built in one place for the scan and the sender.

The scan (:meth:`junit2af.reports.ReportSet.scan`) fits every record to what the API
takes, with the same functions the uploader later uses to build and encode its bodies,
so an input the scan accepts can always be sent: no run is ever created and then left
Running because a record turned out to be unsendable (a lone surrogate from a JSON
report, a 100 MB attribute, 300,000 suite properties copied into every record).

Caps (documented in the README): a string value in metadata keeps at most
:data:`MAX_VALUE_CHARS` code points; a record's metadata at most :data:`MAX_METADATA_BYTES`
bytes of JSON; both are cut with a visible marker and reported in one warning per report.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from junit2af.records import ERROR_MESSAGE_MAX, TestRecord, fit_name, format_time, usable_time

#: Longest string kept in metadata, in code points.
MAX_VALUE_CHARS = 4096
#: Largest metadata object of one record (and of a run), as JSON bytes.
MAX_METADATA_BYTES = 64 * 1024
#: Deepest nesting kept in metadata; deeper values become a marker.
MAX_METADATA_DEPTH = 16
#: Most items kept in one metadata list or object.
MAX_ITEMS = 1000
_MAX_INT = 2**63 - 1

# Lone surrogates (from surrogateescape'd bytes, or a JSON "\ud800") cannot be encoded as
# UTF-8, and NUL is refused by many servers' databases: both become U+FFFD.
_UNSENDABLE = re.compile("[\ud800-\udfff\x00]")


class Fitting:
    """What fitting records changed, for one warning per report."""

    def __init__(self) -> None:
        self.values_cut = 0
        self.metadata_cut = 0
        self.characters_replaced = 0
        self.times_dropped = 0

    def message(self) -> str | None:
        parts = []
        if self.metadata_cut:
            parts.append(
                f"the metadata of {self.metadata_cut} record(s) was truncated to "
                f"{MAX_METADATA_BYTES // 1024} KiB"
            )
        if self.values_cut:
            parts.append(
                f"{self.values_cut} metadata value(s) longer than {MAX_VALUE_CHARS} characters "
                "were truncated"
            )
        if self.characters_replaced:
            parts.append(
                f"{self.characters_replaced} character(s) no JSON API can carry (lone "
                "surrogates, NUL) were replaced with U+FFFD"
            )
        said = "; ".join(parts) + " (marked in the data)" if parts else ""
        if self.times_dropped:
            said += "; " if said else ""
            said += (
                f"{self.times_dropped} record(s) had a start or finish time the service "
                "cannot store (before 1900 or past 9998 in UTC, or an offset of a day or "
                "more): sent without it"
            )
        return said or None


def _text(value: str, fitting: Fitting) -> str:
    if _UNSENDABLE.search(value):
        count = len(_UNSENDABLE.findall(value))
        fitting.characters_replaced += count
        value = _UNSENDABLE.sub("\ufffd", value)
    return value


def _value(value: Any, fitting: Fitting, depth: int = 0) -> Any:
    if isinstance(value, str):
        value = _text(value, fitting)
        if len(value) > MAX_VALUE_CHARS:
            fitting.values_cut += 1
            cut = len(value) - MAX_VALUE_CHARS
            return value[:MAX_VALUE_CHARS] + f"…[cut {cut} characters]"
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -_MAX_INT <= value <= _MAX_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_METADATA_DEPTH:
        fitting.values_cut += 1
        return "…[nested too deep]"
    if isinstance(value, Mapping):
        fitted = {
            _text(str(k), fitting)[:MAX_VALUE_CHARS]: _value(v, fitting, depth + 1)
            for k, v in itertools.islice(value.items(), MAX_ITEMS)
        }
        if len(value) > MAX_ITEMS:
            fitting.values_cut += 1
            fitted["…"] = f"[cut {len(value) - MAX_ITEMS} more keys]"
        return fitted
    if isinstance(value, list | tuple):
        fitted_list = [_value(v, fitting, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            fitting.values_cut += 1
            fitted_list.append(f"…[cut {len(value) - MAX_ITEMS} more items]")
        return fitted_list
    return _text(str(value), fitting)


#: Metadata that encodes (orjson, strictly) to at most this many bytes holds no value
#: over MAX_VALUE_CHARS characters and no container of over MAX_ITEMS items.
_FAST_BYTES = min(MAX_VALUE_CHARS, 2 * MAX_ITEMS, MAX_METADATA_BYTES)
#: Types orjson would write its own way (datetimes, subclasses, dataclasses) go to the
#: slow path instead (no ``default``: a TypeError), as do ints past 53 bits.
_FAST_OPTIONS = (
    orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


#: a tuple, not ``dict | list | tuple``: the union is built again at every call
_CONTAINERS = (dict, list, tuple)


def _already_fit(metadata: Mapping[str, Any]) -> bool:
    """Whether :func:`fit_metadata` would change nothing, decided from one C encoding.

    True only for a plain dict that orjson encodes strictly (no lone surrogate, no
    non-string key, no foreign type) into a few KB, with no NUL, no ``null`` (a NaN
    reads so), and so few containers that none can be nested too deep. Every record of a
    large report takes this path; anything else is walked value by value.
    """
    if type(metadata) is not dict or len(metadata) > MAX_ITEMS:
        return False
    for value in metadata.values():  # a huge nested value: do not encode it whole
        if isinstance(value, _CONTAINERS) and len(value) > MAX_ITEMS:
            return False
    try:
        encoded = orjson.dumps(metadata, option=_FAST_OPTIONS)
    except TypeError:
        return False
    return (
        len(encoded) <= _FAST_BYTES
        and b"\\u0000" not in encoded
        and b"null" not in encoded
        and encoded.count(b"{") + encoded.count(b"[") <= MAX_METADATA_DEPTH
    )


def fit_metadata(metadata: Mapping[str, Any], fitting: Fitting) -> dict[str, Any]:
    """``metadata`` made JSON-safe and within :data:`MAX_METADATA_BYTES`: values capped
    first, then the largest keys replaced by a marker until it fits."""
    if _already_fit(metadata):
        return metadata  # type: ignore[return-value]  # a dict: checked above
    fitted: dict[str, Any] = _value(dict(metadata), fitting)
    size = len(encode(fitted))
    if size <= MAX_METADATA_BYTES:
        return fitted
    fitting.metadata_cut += 1
    sizes = sorted(((len(encode(v)), k) for k, v in fitted.items()), reverse=True)
    for item_size, key in sizes:
        if size <= MAX_METADATA_BYTES - 200:
            break
        marker = f"…[cut: {item_size} bytes]"
        fitted[key] = marker
        size -= item_size - len(marker)
    if len(encode(fitted)) > MAX_METADATA_BYTES:  # many small keys: keep the first ones
        kept: dict[str, Any] = {}
        for key, value in fitted.items():
            kept[key] = value
            if len(encode(kept)) > MAX_METADATA_BYTES - 200:
                del kept[key]
                break
        kept["…"] = f"[cut {len(fitted) - len(kept)} keys]"
        fitted = kept
    return fitted


def fit_record(record: TestRecord, fitting: Fitting) -> TestRecord:
    """``record`` as the API will take it: name, message and metadata within limits."""
    name = fit_name(_text(record.test_name, fitting))
    message = record.error_message
    if message is not None:
        message = _text(message, fitting)[:ERROR_MESSAGE_MAX] or None
    metadata = fit_metadata(record.metadata, fitting)
    started, finished = record.started_at, record.finished_at
    if (started is not None and not usable_time(started)) or (
        finished is not None and not usable_time(finished)
    ):
        # Never sent, and never compared or printed (an offset of 99 hours raises there).
        fitting.times_dropped += 1
        if started is not None and not usable_time(started):
            started = finished = None  # an end without its start says nothing
        else:
            finished = None
        record = replace(record, started_at=started, finished_at=finished)
    if name == record.test_name and message == record.error_message:
        if metadata is record.metadata:
            return record
        return replace(record, metadata=metadata)
    return replace(record, test_name=name, error_message=message, metadata=metadata)


def result_create(
    record: TestRecord, *, project_id: str, run_id: str, idempotency_key: str
) -> dict[str, Any]:
    """``POST /result/``: what create takes (af-api.md reading note 2)."""
    body: dict[str, Any] = {
        "project_id": project_id,
        "test_run_id": run_id,
        "test_name": record.test_name,
        "status": record.status.value,
        "metadata": {**record.metadata, "idempotency_key": idempotency_key},
    }
    if record.started_at is not None:
        body["started_at"] = format_time(record.started_at)
    if record.execution_time_ms is not None:
        body["execution_time_ms"] = record.execution_time_ms
    return body


def result_update(record: TestRecord) -> dict[str, Any]:
    """``POST /result/{id}``: what create ignores (finished_at, error_message)."""
    update: dict[str, Any] = {}
    if record.finished_at is not None:
        update["finished_at"] = format_time(record.finished_at)
    if record.error_message:
        update["error_message"] = record.error_message
    return update


def encode(body: Any) -> bytes:
    """The JSON bytes of a body (orjson: what the client sends)."""
    return orjson.dumps(body)


def check_sendable(record: TestRecord) -> None:
    """Encode the record's bodies as the sender will (raises if it could not)."""
    encode(result_create(record, project_id="p", run_id="r", idempotency_key="k"))
    encode(result_update(record))

"""The dry run of an upload: each record as the JSON object ``junit2af parse`` prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from junit2af.artifacts import AttachmentRoots, plan_artifacts
from junit2af.records import TestRecord


def record_lines(
    records: Iterable[TestRecord],
    roots: AttachmentRoots | None,
    warn: Callable[[str], None],
) -> Iterator[str]:
    """One JSON line per record: the API's fields plus the artifacts that would be sent."""
    for record in records:
        plan = plan_artifacts(record, roots)
        for warning in plan.warnings:
            warn(warning)
        fields = record.api_fields()
        fields["artifacts"] = [artifact.describe() for artifact in plan.artifacts]
        yield json.dumps(fields, ensure_ascii=False)

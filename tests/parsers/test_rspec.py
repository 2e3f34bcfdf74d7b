"""RSpec JSON: the real reports against the counts RSpec printed, the mapping rules on
small inline documents, and hostile input."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from junit2af.errors import InputError
from junit2af.parsers import detect, rspec
from junit2af.parsers.base import ParseOptions
from junit2af.records import SourceRef, Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rspec"
MTIME = datetime(2026, 1, 1, tzinfo=UTC)


def parse(
    document: Any = None, warnings: list[str] | None = None, raw: bytes | None = None, **options
):
    if raw is None:
        raw = json.dumps(document).encode()
    sink = warnings if warnings is not None else []
    opts = ParseOptions(warn=sink.append, fallback_start=MTIME, **options)
    return list(rspec.parse(io.BytesIO(raw), SourceRef("rspec.json"), opts))


def example(name: str, status: str = "passed", **extra: Any) -> dict[str, Any]:
    base = {
        "id": f"./a_spec.rb[1:{len(name)}]",
        "description": name.split()[-1],
        "full_description": name,
        "status": status,
        "file_path": "./a_spec.rb",
        "line_number": 4,
        "run_time": 0.25,
        "pending_message": None,
    }
    base.update(extra)
    return base


def report(*examples: dict[str, Any], **extra: Any) -> dict[str, Any]:
    counts = Counter(e["status"] for e in examples)
    document = {
        "version": "3.12.0",
        "examples": list(examples),
        "summary": {
            "duration": 1.0,
            "example_count": len(examples),
            "failure_count": counts["failed"],
            "pending_count": counts["pending"],
            "errors_outside_of_examples_count": 0,
        },
        "summary_line": "",
    }
    document.update(extra)
    return document


# ---------------------------------------------------------------- real reports

# "11 examples, 5 failures, 4 pending" for the sample; the load error run printed
# "0 examples, 0 failures, 1 error occurred outside of examples".
PRINTED = {
    "rspec.json": {"Passed": 2, "Failed": 5, "Skipped": 4},
    "rspec-stdout.json": {"Passed": 2, "Failed": 5, "Skipped": 4},
    "rspec-load-error.json": {"Failed": 1},
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_real_report_counts_equal_what_rspec_printed(name):
    warnings: list[str] = []
    records = parse(raw=(FIXTURES / name).read_bytes(), warnings=warnings)
    assert dict(Counter(str(r.status) for r in records)) == PRINTED[name]
    assert not [w for w in warnings if "summary disagrees" in w]


def test_real_report_mapping():
    records = {r.test_name: r for r in parse(raw=(FIXTURES / "rspec.json").read_bytes())}
    failed = records["Calculator fails an assertion"]
    assert failed.error_message == "expected: 5\n     got: 4\n\n(compared using ==)"
    assert failed.metadata["exception_class"] == "RSpec::Expectations::ExpectationNotMetError"
    assert "# /tmp/fx/rspec/sample_spec.rb:11" in failed.failure_text
    assert failed.metadata["file"] == "./sample_spec.rb" and failed.metadata["line"] == 9
    error = records["Calculator raises an error"]
    assert error.error_message == "ArgumentError: boom from the code under test"
    fixed = records["Calculator is pending but passes unexpectedly"]
    assert fixed.status is Status.FAILED
    assert records["Calculator is pending and still fails"].error_message == "bug #42 not fixed yet"
    assert records["Calculator is disabled with xit"].status is Status.SKIPPED
    assert "Calculator with nested groups and deeper grüße ünïcödé 名前" in records


def test_real_load_error_is_a_synthetic_failure():
    (record,) = parse(raw=(FIXTURES / "rspec-load-error.json").read_bytes())
    assert record.test_name == "An error occurred while loading ./broken_spec.rb"
    assert record.metadata["synthetic"] is True
    assert "cannot load such file -- this_library_does_not_exist" in record.failure_text


def test_console_text_before_the_document_is_skipped_with_a_warning():
    warnings: list[str] = []
    parse(raw=(FIXTURES / "rspec-stdout.json").read_bytes(), warnings=warnings)
    assert any("1 line(s) of console output" in w for w in warnings)


def test_sniff():
    assert detect(b'{"version":"3.12.0","examples":[]}').format.name == "rspec"
    assert detect(b'{"version":"3.12.0","seed":42,"examples":[]}').format.name == "rspec"
    assert detect(b'noise\n{"version":"3.12.0","messages":["x"]}').format.name == "rspec"
    assert detect(b'{"version":"1.0","data":[]}').format is None


# ---------------------------------------------------------------- rules


def test_statuses_and_times():
    records = parse(
        report(
            example("A a"),
            example("A b", "failed"),
            example("A c", "pending", pending_message="later"),
        )
    )
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED, Status.SKIPPED]
    assert records[1].error_message == "example failed (no exception in the report)"
    assert records[2].error_message == "later"
    # counted back from the file's mtime by the run's duration
    assert records[0].started_at == datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert records[1].started_at == datetime(2025, 12, 31, 23, 59, 59, 250000, tzinfo=UTC)
    assert records[0].execution_time_ms == 250
    assert records[0].metadata["time_source"] == "file_mtime"


def test_unknown_status_is_failed_with_a_warning():
    warnings: list[str] = []
    (record,) = parse(report(example("A x", "exploded")), warnings)
    assert record.status is Status.FAILED
    assert any("unknown example status" in w for w in warnings)


def test_backtrace_is_capped():
    exception = {
        "class": "RuntimeError",
        "message": "m",
        "backtrace": [f"f{i}.rb:1" for i in range(500)],
    }
    (record,) = parse(report(example("A x", "failed", exception=exception)))
    assert record.failure_text.count("\n# f") == rspec.MAX_BACKTRACE
    assert record.failure_text.endswith("# ... 300 more lines")


def test_summary_disagreement_is_warned():
    document = report(example("A a"))
    document["summary"]["example_count"] = 3
    warnings: list[str] = []
    parse(document, warnings)
    assert any("examples 3 (read 1)" in w for w in warnings)


def test_errors_outside_of_examples_without_messages():
    document = report(example("A a"))
    document["summary"]["errors_outside_of_examples_count"] = 2
    records = parse(document)
    assert [r.status for r in records] == [Status.PASSED, Status.FAILED]
    assert records[1].error_message == "2 error(s) occurred outside of examples"


def test_empty_report_warns():
    warnings: list[str] = []
    assert parse(report(), warnings) == []
    assert any("no examples" in w for w in warnings)


# ---------------------------------------------------------------- hostile input


def test_truncated_document_is_refused():
    raw = json.dumps(report(example("A a"))).encode()[:-10]
    with pytest.raises(InputError, match="truncated"):
        parse(raw=raw)


def test_deep_nesting_is_refused():
    raw = b'{"version":"3.12.0","examples":' + b"[" * 500 + b"]" * 500 + b"}"
    with pytest.raises(InputError, match="nested deeper"):
        parse(raw=raw)


def test_duplicate_keys_are_refused():
    raw = b'{"version":"3.12.0","examples":[],"examples":[{"status":"passed"}]}'
    with pytest.raises(InputError, match="duplicate key"):
        parse(raw=raw)


def test_huge_exception_message_is_capped():
    exception = {"class": "RuntimeError", "message": "x" * 100_000, "backtrace": None}
    (record,) = parse(report(example("A x", "failed", exception=exception)), max_text_bytes=5000)
    assert len(record.error_message) == 1024
    assert len(record.failure_text) < 5200 and "[truncated" in record.failure_text


def test_examples_must_be_objects_in_a_list():
    with pytest.raises(InputError, match="not a list"):
        parse({"version": "3.12.0", "examples": {"a": 1}})
    with pytest.raises(InputError, match="not a JSON object"):
        parse({"version": "3.12.0", "examples": [1]})


def test_console_text_without_a_document_is_refused():
    with pytest.raises(InputError, match="not an RSpec JSON document"):
        parse(raw=b"just console output\n")

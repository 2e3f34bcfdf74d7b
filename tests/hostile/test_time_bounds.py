"""Times a report can hold that no calendar can: never an internal error, never a run
left Running, never a time the service cannot store."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner

from junit2af.cli import main
from junit2af.errors import ExitStatus
from junit2af.records import usable_time

SUITE = '<testsuite name="s" timestamp="{stamp}"><testcase classname="c" name="t" time="{time}"/>'
CASES = {
    # a duration of 31,700 years, past float range, past timedelta's range
    "time 1e12": SUITE.format(stamp="2024-01-01T00:00:00Z", time="1e12"),
    "time 1e308": SUITE.format(stamp="2024-01-01T00:00:00Z", time="1e308"),
    # the last second of the calendar, plus the test's one second
    "year 9999": SUITE.format(stamp="9999-12-31T23:59:59", time="1"),
    # in the year 10000 in UTC (the local server answered 500 to every result)
    "year 10000 in UTC": SUITE.format(stamp="9999-12-31T23:59:59-23:59", time="1"),
    # an offset of 99 hours: every use of that tzinfo raises
    "offset +99:00": SUITE.format(stamp="2024-01-01 00:00:00 +99:00", time="1"),
}


def parse(tmp_path, xml: str):
    path = tmp_path / "report.xml"
    path.write_text(xml + "</testsuite>")
    return path, CliRunner().invoke(main, ["parse", str(path)])


@pytest.mark.parametrize("xml", CASES.values(), ids=CASES.keys())
def test_an_impossible_time_is_left_out_with_a_warning(tmp_path, xml):
    path, result = parse(tmp_path, xml)
    assert result.exit_code == 0, result.stderr
    assert "internal error" not in result.stderr
    assert str(path) in result.stderr  # the warning names the report
    record = json.loads(result.stdout)
    assert record["status"] == "Passed"
    for field in ("started_at", "finished_at"):
        value = record[field]
        assert value is None or value.startswith(("19", "20")), record


def test_durations_that_overflow_other_parsers_are_no_internal_error(tmp_path):
    cucumber = [
        {
            "uri": "f.feature",
            "name": "F",
            "elements": [
                {
                    "type": "scenario",
                    "name": "S",
                    "steps": [
                        {
                            "name": "s",
                            "keyword": "Given ",
                            "result": {"status": "passed", "duration": 10**30},
                        }
                    ],
                }
            ],
        }
    ]
    path = tmp_path / "cucumber.json"
    path.write_text(json.dumps(cucumber))
    result = CliRunner().invoke(main, ["parse", str(path)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "Passed"


def test_a_time_in_the_year_10000_uploads_and_completes_the_run(local_server, tmp_path):
    path = tmp_path / "report.xml"
    path.write_text(CASES["year 10000 in UTC"] + "</testsuite>")
    result = CliRunner().invoke(
        main,
        ["upload", "--retry-deadline", "10", "--journal", str(tmp_path / "j.sqlite3"), str(path)],
        env={
            "AF_API_URL": local_server.base_url,
            "AF_API_KEY": local_server.api_key,
            "AF_PROJECT_ID": local_server.project_id,
        },
    )
    assert result.exit_code == 0, result.stderr
    (run,) = local_server.admin.runs()
    assert run["status"] == "Completed"


def test_the_local_server_refuses_a_time_it_cannot_store_with_400(local_server):
    headers = {"Authorization": local_server.api_key}
    run = requests.post(
        f"{local_server.base_url}/run/",
        json={"project_id": local_server.project_id, "label": "times"},
        headers=headers,
        timeout=10,
    ).json()
    answer = requests.post(
        f"{local_server.base_url}/result/",
        json={
            "project_id": local_server.project_id,
            "test_run_id": run["test_run_id"],
            "test_name": "a test",
            "status": "Passed",
            "started_at": "9999-12-31T23:59:59-23:59",
        },
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert "out of range" in answer.text


def test_usable_time_bounds():
    from datetime import UTC, datetime, timedelta, timezone

    assert usable_time(datetime(2024, 1, 1, tzinfo=UTC))
    assert not usable_time(datetime(1, 1, 1, tzinfo=UTC))
    assert not usable_time(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=23))))
    assert not usable_time(datetime(2024, 1, 1))  # naive: no offset
    assert ExitStatus.BAD_INPUT == 3

"""A run of many results: every page of the run view stays fast (indexes, not sorts).

The results are written straight into the server's SQLite file by a second connection
(one INSERT ... SELECT, where as many API calls would take minutes), then pages are fetched
over HTTP. The suite uses 20,000 results (a few seconds); notes/webview.md quotes the
figures of ``JUNIT2AF_WEB_SCALE=100000 pytest -s tests/web/test_scale.py``. That the
orders come from indexes is checked on the query plans, which do not depend on the load
of the machine.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from junit2af.localserver import LocalServer
from junit2af.localserver.server import DATABASE_NAME
from junit2af.localserver.storage import RESULT_ORDERS, SCHEMA, WEB_INDEXES, Store

RESULTS = int(os.environ.get("JUNIT2AF_WEB_SCALE", "20000"))
#: generous for a shared, loaded 2-core machine (see notes/webview.md for real figures)
PAGE_BUDGET_S = 2.0


def fill(db: sqlite3.Connection, team_id: str, project_id: str, run_id: str) -> None:
    now = "2025-01-15T10:30:00.000000Z"
    with db:
        db.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
            INSERT INTO results (test_result_id, team_id, project_id, test_run_id, test_name,
                status, error_message, execution_time_ms, started_at, created_at, updated_at)
            SELECT printf('res_%016x', i), ?, ?, ?,
                printf('tests/test_mod%03d.py::TestThing::test_case_%06d', i % 300,
                       (i * 7919) % 100000),
                CASE WHEN i % 50 = 0 THEN 'Failed' WHEN i % 37 = 0 THEN 'Skipped'
                     ELSE 'Passed' END,
                CASE WHEN i % 50 = 0 THEN 'AssertionError: expected ' || i END,
                CASE WHEN i % 101 = 0 THEN NULL ELSE (i * 2654435761) % 5000 END,
                ?, ?, ?
            FROM n
            """,
            (RESULTS, team_id, project_id, run_id, now, now, now),
        )


def test_a_run_of_many_results_renders_every_page_quickly(tmp_path: Path):
    with LocalServer(tmp_path / "data") as server, requests.Session() as session:
        session.headers["Authorization"] = server.api_key
        run_id = session.post(
            server.base_url + "/run/",
            json={"project_id": server.project_id, "label": "100k"},
            timeout=10,
        ).json()["test_run_id"]
        began = time.perf_counter()
        with sqlite3.connect(server.data_dir / DATABASE_NAME) as db:
            fill(db, server.team_id, server.project_id, run_id)
        db.close()
        filled_s = time.perf_counter() - began
        began = time.perf_counter()
        first = session.get(server.run_url(run_id), timeout=60)  # builds the indexes
        first_view_s = time.perf_counter() - began
        assert first.status_code == 200
        last = RESULTS // 100
        queries = {
            "first page": "",
            "last page": f"?page={last}",
            "by name, last page": f"?sort=name&page={last}",
            "slowest first, last page": f"?sort=-duration&page={last}",
            "Failed by name, last page": f"?status=Failed&sort=name&page={RESULTS // 5000}",
            "Passed fastest first, deep": f"?status=Passed&sort=duration&page={last * 9 // 10}",
            "name contains, slowest first": "?q=MOD01&sort=-duration&page=3",
        }
        figures = {}
        for label, query in queries.items():
            timings = []
            for _ in range(2):
                start = time.perf_counter()
                response = session.get(server.run_url(run_id) + query, timeout=30)
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200
            figures[label] = min(timings)
            assert response.text.count('<tr class="result"') == 100, label
            assert f"{RESULTS} results" in response.text or "results" in response.text
        start = time.perf_counter()
        runs = session.get(server.web_url, timeout=30)
        figures["runs list"] = time.perf_counter() - start
        assert runs.status_code == 200 and "100k" in runs.text
        page = session.get(server.run_url(run_id) + "?status=Failed", timeout=30).text
        assert re.search(rf"results 1–100 of {RESULTS // 50}\b", page)
        assert f'data-total="{RESULTS}"' in page
        print(f"\n{RESULTS} results written in {filled_s:.2f} s; the first page view (which")
        print(f"builds the web view's indexes) took {first_view_s:.2f} s; then (best of 2):")
        for label, seconds in figures.items():
            print(f"  {label:32} {seconds * 1000:7.1f} ms")
        slow = {label: s for label, s in figures.items() if s > PAGE_BUDGET_S}
        assert not slow, slow


@pytest.mark.parametrize("order", sorted(RESULT_ORDERS))
@pytest.mark.parametrize("statuses", [(), ("Failed",), ("Failed", "Skipped")])
def test_every_order_of_a_page_is_read_from_an_index(order, statuses):
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA + WEB_INDEXES)
    where, params = Store._result_filter("run_1", statuses, "")
    plan = db.execute(
        f"EXPLAIN QUERY PLAN SELECT seq FROM results WHERE {where}"
        f" ORDER BY {RESULT_ORDERS[order]} LIMIT 100 OFFSET 1000",
        params,
    ).fetchall()
    db.close()
    steps = [row[3] for row in plan]
    assert not any("TEMP B-TREE" in step for step in steps), steps
    assert any("COVERING INDEX" in step or "INDEX results_by_run" in step for step in steps)

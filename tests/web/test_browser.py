"""The web view in a real browser (headless Chromium): what a person sees and clicks.

One browser and one server per session (conftest.py); each test gets a fresh page. A test
fails if any page opens a dialog: every hostile value in the seeded data calls alert().
Set JUNIT2AF_UPDATE_SCREENSHOTS=1 to refresh docs/run-page.png and docs/result-page.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from webseed import HOSTILE_LOG, HOSTILE_NAMES, REPO, Seeded

from junit2af.localserver import LocalServer

pytestmark = pytest.mark.browser

#: the README's screenshots stay small
SCREENSHOT_MAX_BYTES = 200 * 1024


def shown_counts(page) -> dict[str, int]:
    cells = page.locator("#counts .count")
    return {
        cells.nth(i).get_attribute("data-status"): int(cells.nth(i).get_attribute("data-count"))
        for i in range(cells.count())
    }


def test_the_run_page_shows_the_counts_of_the_upload_summary(page, seeded: Seeded):
    page.goto(seeded.server.run_url(seeded.run_id))
    assert page.title().startswith("junit fixtures")
    assert shown_counts(page) == seeded.upload["counts"]
    # and what a person reads says the same
    text = page.locator("#counts").inner_text()
    for status, n in seeded.upload["counts"].items():
        assert f"{n} {status}" in text
    assert int(page.locator("#total").inner_text()) == seeded.upload["results_total"]
    assert page.locator("tr.result").count() == min(100, seeded.upload["results_total"])
    assert page.dialogs == [] and page.console_errors == []


def test_the_status_filter_hides_passed_results(page, seeded: Seeded):
    page.goto(seeded.server.run_url(seeded.run_id))
    assert page.locator('tr.result[data-status="Passed"]').count() > 0
    # Ticking a box submits the form (the page's one small script) ...
    with page.expect_navigation():
        page.locator('input[name="status"][value="Failed"]').check()
    assert "status=Failed" in page.url
    rows = page.locator("tr.result")
    assert rows.count() == seeded.upload["counts"]["Failed"]
    assert page.locator('tr.result[data-status="Passed"]').count() == 0
    assert {rows.nth(i).get_attribute("data-status") for i in range(rows.count())} == {"Failed"}
    # ... and the name filter narrows it further, by the submit button as without script.
    page.fill('input[name="q"]', "assert")
    with page.expect_navigation():
        page.click('form.filters button[type="submit"]')
    names = page.locator("tr.result td.name").all_inner_texts()
    assert names and all("assert" in name.lower() for name in names)
    assert page.locator('tr.result[data-status="Passed"]').count() == 0


def test_sorting_by_duration_from_the_column_header(page, seeded: Seeded):
    page.goto(seeded.server.run_url(seeded.run_id))
    with page.expect_navigation():
        page.click("th a:has-text('Duration')")
    assert "sort=-duration" in page.url
    ids = [
        href.rsplit("/", 1)[1]
        for href in page.locator("tr.result td.name a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    durations = [seeded.server.admin.result(i)["execution_time_ms"] or 0 for i in ids]
    assert durations == sorted(durations, reverse=True)
    assert durations[0] > 0


def test_an_artifacts_text_is_shown_on_the_result_page(page, seeded: Seeded):
    server = seeded.server
    # a real uploaded result with a failure text, found through the run page
    page.goto(server.run_url(seeded.run_id) + "?status=Failed&sort=name")
    with page.expect_navigation():
        page.locator("tr.result td.name a").first.click()
    result_id = page.url.rsplit("/", 1)[1]
    artifacts = [
        a for a in server.admin.artifacts(result_id) if a["content_type"].startswith("text/")
    ]
    assert artifacts, "a failed fixture result has a text artifact"
    logs = page.locator("pre.log").all_inner_texts()
    for artifact in artifacts:
        text = server.admin.artifact_bytes(artifact["artifact_id"]).decode()
        assert any(text.strip()[:200] in log for log in logs), artifact["label"]
    assert page.dialogs == []


def test_hostile_names_messages_and_logs_are_inert(page, seeded: Seeded):
    server = seeded.server
    page.goto(server.root_url + "/")  # the runs list shows the hostile label
    page.goto(f"{server.root_url}/results/{seeded.hostile_results[HOSTILE_NAMES[2]]}")
    page.goto(server.run_url(seeded.hostile_run))
    assert page.dialogs == []
    # no element a report asked for: only the page's own script, no injected img/svg/b
    assert page.locator("script").count() == 1
    assert page.locator("img, main svg[onload], b").count() == 0
    names = page.locator("tr.result td.name").all_inner_texts()
    assert set(HOSTILE_NAMES) <= set(names)  # shown as text, exactly
    assert "javascript:" not in " ".join(
        page.locator("a").evaluate_all("links => links.map(a => a.href)")
    )
    page.goto(f"{server.root_url}/results/{seeded.log_result}")
    assert page.locator("#test-name").inner_text() == HOSTILE_NAMES[1]
    assert "<script>alert('log')</script>" in page.locator("pre.log").first.inner_text()
    assert HOSTILE_LOG.splitlines()[0] in page.content().replace("&lt;", "<").replace("&gt;", ">")
    assert page.dialogs == []


def test_an_uploaded_html_file_opened_directly_runs_nothing(page, seeded: Seeded):
    url = f"{seeded.server.root_url}/artifacts/{seeded.artifacts['page.html']}/inline"
    response = page.goto(url)
    assert response.headers["content-type"].startswith("text/plain")
    assert page.locator("h1").count() == 0  # shown as text, not parsed as HTML
    assert "<h1>owned</h1>" in page.inner_text("body")
    assert page.dialogs == []


def test_images_load(page, seeded: Seeded):
    page.goto(f"{seeded.server.root_url}/results/{seeded.log_result}")
    image = page.locator("img.shot")
    assert image.count() == 1
    image.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.shot').complete")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [3, 2]
    assert page.console_errors == []


def test_off_loopback_the_browser_asks_for_a_key(browser, tmp_path: Path):
    with LocalServer(tmp_path / "data", host="0.0.0.0") as server:
        context = browser.new_context()
        try:
            # A headed browser prompts for a user and password; a headless one gives up.
            with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
                context.new_page().goto(server.web_url)
        finally:
            context.close()
        credentials = {"username": "me", "password": server.readonly_key}
        context = browser.new_context(http_credentials=credentials)
        try:
            page = context.new_page()
            response = page.goto(server.web_url)
            assert response.status == 200
            assert page.locator("h1").inner_text() == "Runs of Local project"
            assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # CSS came
        finally:
            context.close()


def telling_failure(seeded: Seeded) -> str:
    """A failed result with a message and a text artifact: what the README should show."""
    admin = seeded.server.admin
    for result in admin.results(run_id=seeded.run_id):
        if (
            result["status"] == "Failed"
            and "failing_assertion" in result["test_name"]
            and result["error_message"]
            and len(str(result["metadata"])) < 600
            and admin.artifacts(result["test_result_id"])
        ):
            return result["test_result_id"]
    raise AssertionError("no failed fixture result with a message and an artifact")


def test_screenshots_of_a_run_and_a_result(page, seeded: Seeded, tmp_path: Path):
    """Takes the README's screenshots (kept when JUNIT2AF_UPDATE_SCREENSHOTS=1)."""
    server = seeded.server
    page.set_viewport_size({"width": 1200, "height": 860})
    page.goto(server.run_url(seeded.run_id) + "?status=Failed&status=Passed&sort=-duration")
    run_png = tmp_path / "run-page.png"
    page.screenshot(path=str(run_png))
    page.goto(f"{server.root_url}/results/{telling_failure(seeded)}")
    result_png = tmp_path / "result-page.png"
    page.screenshot(path=str(result_png))
    for shot in (run_png, result_png):
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < SCREENSHOT_MAX_BYTES, len(data)
    if os.environ.get("JUNIT2AF_UPDATE_SCREENSHOTS"):
        docs = REPO / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copy(run_png, docs / "run-page.png")
        shutil.copy(result_png, docs / "result-page.png")

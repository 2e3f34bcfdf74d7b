"""Fixtures of the web-view tests: one local server and one headless Chromium per session.

See webseed.py for what the server holds. Without Chromium or Playwright the browser tests
skip and say why; the HTML-level tests in ``test_pages.py`` still run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from webseed import (
    CHROMIUM_ARGS,
    JUNIT_FIXTURES,
    REPO,
    Page,
    Seeded,
    chromium_path,
    make_hostile_run,
)

from junit2af.cli import main
from junit2af.localserver import LocalServer


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    workdir = tmp_path_factory.mktemp("web")
    with LocalServer(workdir / "data") as server:
        env = {
            "AF_API_URL": server.base_url,
            "AF_API_KEY": server.api_key,
            "AF_PROJECT_ID": server.project_id,
        }
        # From the repository, with relative paths: the results' metadata names
        # fixtures/junit/x.xml, not this machine's checkout (the README shows it).
        previous = os.getcwd()
        os.chdir(REPO)
        try:
            outcome = CliRunner().invoke(
                main,
                [
                    "upload",
                    "--json",
                    "--label",
                    "junit fixtures",
                    "--journal",
                    str(workdir / "journal.sqlite3"),
                    *(str(path.relative_to(REPO)) for path in JUNIT_FIXTURES),
                ],
                env=env,
                catch_exceptions=False,
            )
        finally:
            os.chdir(previous)
        assert outcome.exit_code == 0, outcome.output
        summary = json.loads(outcome.stdout.strip().splitlines()[-1])
        hostile_run, results, artifacts, log_result, big = make_hostile_run(server)
        yield Seeded(server, summary, hostile_run, results, artifacts, log_result, big)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: install Debian's chromium (or set $JUNIT2AF_CHROMIUM)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (the test extra)"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser_context(browser: Any) -> Iterator[Any]:
    # One context for the session (a context costs a second; a page a tenth of that).
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Page]:
    raw = browser_context.new_page()
    try:
        yield Page(raw)
    finally:
        raw.close()

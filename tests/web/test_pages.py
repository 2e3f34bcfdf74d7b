"""The web view over plain HTTP: escaping, headers, access, artifacts, paging and filters.

What a browser does with the pages is in test_browser.py; these read the HTML and headers.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pytest
import requests
from webseed import HOSTILE_HTML, HOSTILE_MESSAGE, HOSTILE_NAMES, TIMEOUT, Seeded

from junit2af.localserver import LocalServer
from junit2af.localserver.storage import Store
from junit2af.localserver.web import (
    INLINE_TEXT_BYTES,
    content_disposition,
    format_duration,
    http_link,
    is_loopback_host,
    presented_key,
)


def get(server: LocalServer, path: str, **kwargs) -> requests.Response:
    return requests.get(server.root_url + path, timeout=TIMEOUT, **kwargs)


def basic(key: str, user: str = "me") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def escaped(text: str) -> str:
    """``text`` as the templates escape it (MarkupSafe: quotes as decimal entities)."""
    for raw, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&#34;"),
        ("'", "&#39;"),
    ):
        text = text.replace(raw, entity)
    return text


def scripts_in(page: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", page)


# -- links for the CLI ---------------------------------------------------------------------


def test_status_of_the_local_server_gives_the_run_url_template(seeded: Seeded):
    server = seeded.server
    status = requests.get(server.base_url + "/status", timeout=TIMEOUT).json()
    assert status["run_url_template"] == server.root_url + "/runs/{run_id}"
    url = status["run_url_template"].format(run_id=seeded.run_id)
    assert url == server.run_url(seeded.run_id)
    assert get(server, url[len(server.root_url) :]).status_code == 200


def test_serve_prints_the_web_view_url(seeded: Seeded):
    lines = seeded.server.shell_exports()
    assert f"# web view: {seeded.server.root_url}/" in lines


# -- escaping --------------------------------------------------------------------------------


def test_hostile_values_are_escaped_in_text_and_attributes(seeded: Seeded):
    page = get(seeded.server, f"/runs/{seeded.hostile_run}").text
    # Only the page's own nonce'd script; no element a report asked for.
    assert len(scripts_in(page)) == 1 and 'nonce="' in scripts_in(page)[0]
    assert "<img src=x" not in page and "<svg onload" not in page and "<b>hostile" not in page
    for name in HOSTILE_NAMES:
        assert escaped(name) in page
    # The error message in a title attribute cannot close it: quotes are entities.
    assert 'title="&lt;/td&gt;&lt;script&gt;alert(&#34;message&#34;)' in page
    assert escaped(HOSTILE_MESSAGE) in page  # the message cell (its first line)
    # A javascript: build URL is text, never a link; the other metadata is escaped too.
    assert "javascript:alert(&#39;build&#39;)" in page
    assert 'href="javascript' not in page.lower()
    assert "&lt;script&gt;alert(&#39;branch&#39;)&lt;/script&gt;" in page


def test_hostile_values_are_escaped_on_the_result_page(seeded: Seeded):
    result_id = seeded.hostile_results[HOSTILE_NAMES[1]]
    page = get(seeded.server, f"/results/{result_id}").text
    assert scripts_in(page) == []
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page  # name and metadata
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in page  # the log, inline
    assert "\x1b[31m" not in page and "red line two" in page  # ANSI colours removed
    # the label of an artifact is escaped in alt="..." as well
    assert 'alt="screen.png"' in page


def test_a_build_url_is_a_link_only_when_it_is_http():
    assert http_link("https://ci.example/build/42") == "https://ci.example/build/42"
    assert http_link(" http://ci.example/x ") == "http://ci.example/x"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "//host/x", "ci/42"):
        assert http_link(bad) is None
    assert http_link(42) is None


# -- headers -----------------------------------------------------------------------------


def test_pages_send_a_strict_content_security_policy(seeded: Seeded):
    for path in ("/", f"/runs/{seeded.run_id}", f"/results/{seeded.log_result}", "/runs/nope"):
        response = get(seeded.server, path)
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["style-src"] == "'self'" and directives["img-src"] == "'self'"
        assert directives["script-src"].startswith("'nonce-")
        assert directives["frame-ancestors"] == "'none'"
        assert "http" not in csp and "*" not in csp and "unsafe" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        # the nonce is fresh per page and is the one in the page's script tag
        nonce = directives["script-src"][len("'nonce-") : -1]
        assert all(f'nonce="{nonce}"' in tag for tag in scripts_in(response.text))


def test_the_stylesheet_is_served_from_the_package(seeded: Seeded):
    response = get(seeded.server, "/static/web.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert ".badge" in response.text
    again = get(
        seeded.server, "/static/web.css", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert get(seeded.server, "/static/../server.py").status_code == 404
    assert get(seeded.server, "/static/nothing.css").status_code == 404


# -- artifacts -------------------------------------------------------------------------------


def test_an_uploaded_html_file_is_never_served_as_a_page(seeded: Seeded):
    artifact = seeded.artifacts["page.html"]
    inline = get(seeded.server, f"/artifacts/{artifact}/inline")
    assert inline.status_code == 200
    assert inline.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    assert inline.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert inline.content == HOSTILE_HTML
    download = get(seeded.server, f"/artifacts/{artifact}/download")
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="page.html"')
    assert download.content == HOSTILE_HTML


def test_images_are_inline_with_their_type_but_svg_is_a_download(seeded: Seeded):
    png = get(seeded.server, f"/artifacts/{seeded.artifacts['screen.png']}/inline")
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline;")
    assert png.content.startswith(b"\x89PNG")
    svg = get(seeded.server, f"/artifacts/{seeded.artifacts['drawing.svg']}/inline")
    assert svg.headers["Content-Type"] == "application/octet-stream"
    assert svg.headers["Content-Disposition"].startswith("attachment;")
    page = get(seeded.server, f"/results/{seeded.log_result}").text
    assert f'<img class="shot" src="/artifacts/{seeded.artifacts["screen.png"]}/inline"' in page
    assert f'src="/artifacts/{seeded.artifacts["drawing.svg"]}' not in page


def test_a_download_name_cannot_escape_its_header():
    header = content_disposition("attachment", '../../"evil"\r\nname.pdf')
    assert "\r" not in header and "\n" not in header and "/" not in header.split("''")[0]
    assert header.startswith('attachment; filename="_.._')  # leading dots gone
    assert header.count('"') == 2
    assert content_disposition("inline", "résumé.txt").endswith(
        "filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )


def test_a_long_log_is_cut_with_a_note_and_the_whole_is_downloadable(seeded: Seeded):
    page = get(seeded.server, f"/results/{seeded.big_log_result}").text
    assert "Truncated: only the first 256.0 KiB are shown" in page
    log = re.search(r'<pre class="log">(.*?)</pre>', page, re.S)
    assert log is not None
    shown = html.unescape(log.group(1))
    assert shown.startswith("line 000000 ünïcödé\n")
    assert len(shown.encode()) <= INLINE_TEXT_BYTES
    assert "\ufffd" not in shown  # the character cut at the limit is dropped, not mangled
    whole = get(seeded.server, f"/artifacts/{seeded.artifacts['big.log']}/download")
    assert len(whole.content) == 300 * 1024


def test_artifacts_of_another_team_are_not_found(seeded: Seeded):
    other = seeded.server.admin.create_team("web other")
    artifact = seeded.artifacts["output.log"]
    response = get(seeded.server, f"/artifacts/{artifact}/download", headers=basic(other.api_key))
    assert response.status_code == 404
    assert (
        get(seeded.server, f"/runs/{seeded.run_id}", headers=basic(other.readonly_key)).status_code
        == 404
    )
    mine = get(seeded.server, "/", headers=basic(other.readonly_key)).text
    assert "Project of web other" in mine


# -- access -----------------------------------------------------------------------------------


def test_on_loopback_a_browser_needs_no_key_but_another_host_name_does(seeded: Seeded):
    server = seeded.server
    assert get(server, "/").status_code == 200
    for host in ("localhost", f"localhost:{server.port}", "[::1]:80", "127.0.0.2"):
        assert get(server, "/", headers={"Host": host}).status_code == 200, host
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: it gets no data.
    refused = get(server, "/", headers={"Host": "evil.example"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    assert "Local project" not in refused.text
    allowed = get(server, "/", headers={"Host": "evil.example", **basic(server.readonly_key)})
    assert allowed.status_code == 200
    wrong = get(server, "/", headers=basic("afk_wrong"))
    assert wrong.status_code == 401 and "Wrong key" in wrong.text


def test_off_loopback_every_page_needs_a_key(tmp_path: Path):
    with LocalServer(tmp_path / "data", host="0.0.0.0") as server:
        assert server.root_url.startswith("http://127.0.0.1:")
        for path in ("/", "/runs/run_x", "/static/web.css"):
            response = get(server, path)
            expected = 200 if path.startswith("/static/") else 401
            assert response.status_code == expected, path
        assert get(server, "/", headers=basic(server.readonly_key)).status_code == 200
        assert get(server, "/", headers=basic(server.api_key, user="")).status_code == 200
        assert get(server, "/", headers={"Authorization": server.readonly_key}).status_code == 200
        assert get(server, "/", headers={"Authorization": "Basic !!!"}).status_code == 401
        assert any("password: a key of the team" in line for line in server.shell_exports())


def test_the_key_is_read_from_basic_or_raw_authorization():
    class Fake:
        def __init__(self, header: str | None) -> None:
            self.headers = {"Authorization": header} if header is not None else {}

    assert presented_key(Fake(None)) is None  # type: ignore[arg-type]
    assert presented_key(Fake(basic("afk_1")["Authorization"])) == "afk_1"  # type: ignore[arg-type]
    assert presented_key(Fake(basic("a:b", user="u")["Authorization"])) == "a:b"  # type: ignore[arg-type]
    assert presented_key(Fake("afk_raw")) == "afk_raw"  # type: ignore[arg-type]
    assert presented_key(Fake("Bearer afk_2")) == "afk_2"  # type: ignore[arg-type]
    assert presented_key(Fake("Basic %%%")) == ""  # type: ignore[arg-type]
    assert is_loopback_host("127.0.0.1:8080") and is_loopback_host("[::1]:1")
    assert not is_loopback_host("127.0.0.1.evil.example") and not is_loopback_host("")


def test_web_requests_stay_out_of_the_request_log(seeded: Seeded):
    before = len(seeded.server.request_log)
    get(seeded.server, f"/runs/{seeded.run_id}")
    get(seeded.server, f"/artifacts/{seeded.artifacts['screen.png']}/inline")
    assert len(seeded.server.request_log) == before


def test_the_api_still_answers_json_404_beside_the_pages(seeded: Seeded):
    response = get(seeded.server, "/v1/test/nothing")
    assert response.status_code == 404 and response.json()["message"]
    assert get(seeded.server, "/runs/").headers["Content-Type"] == "application/json"


# -- pages -----------------------------------------------------------------------------------


def test_the_run_page_shows_the_runs_metadata_and_backfilled_times(seeded: Seeded):
    page = get(seeded.server, f"/runs/{seeded.hostile_run}").text
    assert "<th>Commit</th><td>abc123</td>" in page
    assert "<th>Original start</th><td>2024-05-01 10:00:00 UTC</td>" in page
    assert "<th>Original end</th><td>2024-05-01 10:05:30 UTC</td>" in page
    assert "5 min 30 s" in page  # the original duration
    assert "x-note" in page  # other metadata, folded


def test_filters_sorting_and_paging(seeded: Seeded):
    server, run = seeded.server, seeded.run_id
    counts = seeded.upload["counts"]

    def names(query: str) -> list[tuple[str, str]]:
        page = get(server, f"/runs/{run}?{query}").text
        rows = re.findall(
            r'<tr class="result" data-status="(\w+)">\s*<td class="name"><a [^>]*>([^<]*)</a>',
            page,
        )
        return [(status, html.unescape(name)) for status, name in rows]

    failed = names("status=Failed")
    assert len(failed) == counts["Failed"] and {s for s, _ in failed} == {"Failed"}
    two = names("status=Failed&status=Skipped")  # the first page of them
    assert len(two) == min(100, counts["Failed"] + counts["Skipped"])
    assert {s for s, _ in two} == {"Failed", "Skipped"}
    by_name = names("sort=name")
    assert [n for _, n in by_name] == sorted(n for _, n in by_name)
    assert len(by_name) == 100  # the first page
    total = seeded.upload["results_total"]
    assert total > 100
    second = names("sort=name&page=2")
    assert len(second) == min(100, total - 100)
    assert by_name[-1][1] <= second[0][1]
    part = names("q=PASS")  # case-insensitive (ASCII)
    assert part and all("pass" in n.lower() for _, n in part)
    assert names("q=%25") == [] or all("%" in n for _, n in names("q=%25"))  # no wildcard
    last_page = (total + 99) // 100
    assert names("page=999") == names(f"page={last_page}")  # clamped to the last page
    assert 1 <= len(names(f"page={last_page}")) <= 100
    assert names("status=Bogus&sort=bogus")[:5] == names("")[:5]  # ignored


def test_the_duration_histogram_and_slowest_list(seeded: Seeded):
    page = get(seeded.server, f"/runs/{seeded.hostile_run}").text
    assert "Slowest tests" in page and 'aria-label="histogram of test durations"' in page
    slowest = page.split("Slowest tests", 1)[1].split("</ol>", 1)[0]
    order = [html.unescape(n) for n in re.findall(r"<a [^>]*>([^<]*)</a>", slowest)]
    assert order == [HOSTILE_NAMES[2], HOSTILE_NAMES[1], HOSTILE_NAMES[0]]
    assert re.search(r"<title>3 results, 10 ms to 20 ms</title>", page)
    assert ">&lt;20ms</text>" in page


def test_the_runs_page_lists_newest_first_with_counts(seeded: Seeded):
    page = get(seeded.server, "/").text
    first, second = page.index(seeded.hostile_run), page.index(seeded.run_id)
    assert first < second
    row = page[second:].split("</tr>", 1)[0]
    for status, n in seeded.upload["counts"].items():
        assert f'data-status="{status}" data-count="{n}"' in row


def test_unknown_ids_are_html_404s(seeded: Seeded):
    for path in ("/runs/run_nope", "/results/res_nope", "/artifacts/art_nope/inline"):
        response = get(seeded.server, path)
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "—"), (0, "0 ms"), (999, "999 ms"), (3200, "3.20 s"), (65_000, "1 min 05 s")],
)
def test_durations_read_as_a_person_says_them(ms, text):
    assert format_duration(ms) == text


def test_a_project_selector_when_the_team_has_several(seeded: Seeded):
    server = seeded.server
    other = server.admin.create_project("Second <project>")
    page = get(server, "/").text
    assert '<select id="project" name="project"' in page
    assert f'<option value="{other}">Second &lt;project&gt;</option>' in page
    assert seeded.run_id in page  # the first project stays the default
    chosen = get(server, f"/?project={other}").text
    assert 'Runs of <span class="name">Second &lt;project&gt;</span>' in chosen
    assert seeded.run_id not in chosen and "No run in this project yet" in chosen


def test_a_failure_while_rendering_is_an_html_500(seeded: Seeded, monkeypatch):
    def broken(self, run_id, limit):
        raise RuntimeError("boom <b>")

    monkeypatch.setattr(Store, "slowest_results", broken)
    response = get(seeded.server, f"/runs/{seeded.run_id}")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Internal error" in response.text and "boom" not in response.text

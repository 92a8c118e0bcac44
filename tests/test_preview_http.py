"""Preview server over real HTTP on 127.0.0.1: security checks, pages, actions, live reload."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from preview_site import (
    DAY,
    EDITION,
    draft_path,
    opened,
    request,
    wait_page,
    wait_version,
)

from pipeline.config import Config
from pipeline.draft import parse_draft
from pipeline.edition import issue_dir
from pipeline.preview import PreviewServer
from pipeline.store import open_store

H, B = "g1000000000000002", "g1000000000000003"


def form(srv: PreviewServer, page: str) -> dict[str, str]:
    token = re.search(r'name="token" value="([^"]+)"', page)
    sha = re.search(r'name="sha" value="([^"]+)"', page)
    assert token and sha
    return {"token": token.group(1), "sha": sha.group(1)}


def test_binds_loopback_and_refuses_a_foreign_host(server: PreviewServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1:1", ""):
        status, _, body = request(server, "GET", "/", host=host)
        assert status == 421, host
        assert "Newsletter" not in body and "Test Ledger" not in body
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        assert request(server, "GET", "/", host=host)[0] == 200


def test_pages_carry_a_strict_content_security_policy(server: PreviewServer) -> None:
    status, headers, page = request(server, "GET", f"/issue/{DAY}")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src")[0]
    assert headers["x-content-type-options"] == "nosniff"
    # every email frame is sandboxed without scripts
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 3
    for frame in frames:
        assert 'sandbox="' in frame and "allow-scripts" not in frame
    _, email_headers, _ = request(server, "GET", f"/issue/{DAY}/email.html")
    assert "sandbox" in email_headers["content-security-policy"]
    assert "script-src" not in email_headers["content-security-policy"]


def test_feed_markup_is_escaped_in_the_page(server: PreviewServer) -> None:
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert "<script>document.title" not in page
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert "<img src=x onerror" not in page


def _story_item(page: str, story: str) -> str:
    start = page.rindex("<li", 0, page.index(f'id="story-{story}"'))
    return page[start : page.index("</li>", start)]


def test_the_desk_shows_nut_graf_context_and_a_fallback_badge(
    server: PreviewServer, site: Config
) -> None:
    page = request(server, "GET", f"/issue/{DAY}")[2]
    stories = parse_draft(draft_path(site).read_text(encoding="utf-8")).stories
    for story in stories:
        item = _story_item(page, story.id)
        assert f"<p>{story.nut_graf}</p>".replace("&", "&amp;") in item
        assert f"<p>{story.context}</p>".replace("&", "&amp;") in item
        assert ("Fallback</span>" in item) == bool(story.fallback), story.id
    fallback = _story_item(page, B)
    assert 'class="story is-fallback"' in fallback
    assert "rejected (the answer named a figure its source lacks)" in fallback
    # the editor checks the story and deletes the note: the badge goes
    path = draft_path(site)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(t for t in text.splitlines() if not t.startswith("> **Fallback:**")) + "\n",
        encoding="utf-8",
    )
    wait_page(server, lambda p: "is-fallback" not in p and "Fallback</span>" not in p)


def test_index_lists_issues_with_their_state(server: PreviewServer, site: Config) -> None:
    _, _, page = request(server, "GET", "/")
    assert f'data-date="{DAY}" data-state="draft"' in page
    path = draft_path(site)
    path.write_text(
        path.read_text(encoding="utf-8").replace("Two grocers", "Three grocers"), encoding="utf-8"
    )
    _, _, page = request(server, "GET", "/")
    assert f'data-date="{DAY}" data-state="edited"' in page


def test_post_needs_the_session_token_and_our_origin(server: PreviewServer, site: Config) -> None:
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    good = form(server, page)
    before = draft_path(site).read_text(encoding="utf-8")
    path = f"/issue/{DAY}/story/{H}/drop"
    assert request(server, "POST", path, body={"sha": good["sha"]})[0] == 403
    assert request(server, "POST", path, body={**good, "token": "x" * 43})[0] == 403
    assert (
        request(server, "POST", path, body=good, headers={"Origin": "http://evil.example"})[0]
        == 403
    )
    assert request(server, "POST", path, body=good, host="evil.example")[0] == 421
    assert draft_path(site).read_text(encoding="utf-8") == before

    status, headers, _ = request(
        server, "POST", path, body=good, headers={"Origin": f"http://127.0.0.1:{server.port}"}
    )
    assert status == 303 and headers["location"] == f"/issue/{DAY}"
    assert H not in [s.id for s in parse_draft(draft_path(site).read_text()).stories]
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert "dropped story" in page and "backups/draft-1.md" in page


def test_an_action_from_a_stale_page_is_refused(server: PreviewServer, site: Config) -> None:
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    stale = form(server, page)
    path = draft_path(site)
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    status, _, _ = request(server, "POST", f"/issue/{DAY}/story/{H}/drop", body=stale)
    assert status == 303
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert "changed on disk" in page
    assert H in [s.id for s in parse_draft(path.read_text(encoding="utf-8")).stories]


def test_a_broken_draft_shows_file_and_line_over_the_last_good_render(
    server: PreviewServer, site: Config
) -> None:
    good_html = (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8")
    opened(server)
    path = draft_path(site)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("status: draft", "status: maybe"), encoding="utf-8")
    page = wait_page(server, lambda p: 'id="render-error"' in p)
    assert f"{path}:" in page and "status" in page
    assert (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8") == good_html
    index = request(server, "GET", "/")[2]
    assert f'data-date="{DAY}" data-state="broken"' in index and "status must be one of" in index
    path.write_text(text.replace("Two grocers", "Four grocers"), encoding="utf-8")
    wait_page(server, lambda p: 'id="render-error"' not in p)
    assert "Four grocers" in (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8")


def test_a_broken_config_is_shown_and_the_last_good_one_kept(
    server: PreviewServer, site: Config
) -> None:
    opened(server)
    cfg = Path(site.file)
    good = cfg.read_text(encoding="utf-8")
    cfg.write_text(good.replace("timezone: UTC", "timezone: Mars/Olympus"), encoding="utf-8")
    page = wait_page(server, lambda p: 'id="config-error"' in p)
    assert "config.yaml:" in page and "newsletter.timezone" in page
    cfg.write_text(good, encoding="utf-8")
    wait_page(server, lambda p: 'id="config-error"' not in p)


def test_unknown_routes_and_dates(server: PreviewServer) -> None:
    assert request(server, "GET", "/issue/2020-01-01")[0] == 404
    assert request(server, "GET", "/static/../config.yaml")[0] == 404
    assert request(server, "GET", "/issue/2026-13-45")[0] == 404


def test_approve_from_the_page(server: PreviewServer, site: Config) -> None:
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert 'action="/issue/2026-11-28/approve"' in page
    assert request(server, "POST", f"/issue/{DAY}/approve", body=form(server, page))[0] == 303
    assert parse_draft(draft_path(site).read_text(encoding="utf-8")).status == "approved"
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert 'id="state">approved<' in page and "/approve" not in page
    assert f'data-date="{DAY}" data-state="approved"' in request(server, "GET", "/")[2]


def test_regenerate_from_the_page_keeps_an_edited_story_beside_the_new_one(
    server: PreviewServer, site: Config
) -> None:
    path = draft_path(site)
    text = path.read_text(encoding="utf-8")
    old = parse_draft(text).stories[1].headline
    mine = "Halvorsen Swallows Nordmarket Whole. Editors Wrote This By Hand."
    path.write_text(text.replace(old, mine), encoding="utf-8")
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    status, _, _ = request(
        server, "POST", f"/issue/{DAY}/story/{H}/regenerate", body=form(server, page)
    )
    assert status == 303
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert "side by side" in page and f'id="story-{H}-regenerated"' in page
    stories = parse_draft(path.read_text(encoding="utf-8")).stories
    assert [s.id for s in stories][1:3] == [H, H + "-regenerated"]
    assert stories[1].headline == mine
    assert (issue_dir(site, EDITION) / "backups" / "draft-1.md").is_file()


def test_the_index_version_changes_when_a_draft_is_saved(
    server: PreviewServer, site: Config
) -> None:
    before = json.loads(request(server, "GET", "/api/version")[2])["version"]
    time.sleep(0.01)
    path = draft_path(site)
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert json.loads(request(server, "GET", "/api/version")[2])["version"] != before


def test_a_broken_template_shows_its_name_and_line_then_recovers(
    server: PreviewServer, site: Config
) -> None:
    template = site.templates_path / "issue.mjml.j2"
    good = template.read_text(encoding="utf-8")
    html_before = (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8")
    opened(server)
    template.write_text(good + "\n{% if unfinished\n", encoding="utf-8")
    page = wait_page(server, lambda p: 'id="render-error"' in p)
    error = re.search(r'id="render-error">(.*?)</div>', page, re.S)
    assert error and re.search(r"issue\.mjml\.j2:\d+", error.group(1)), page[:2000]
    assert (issue_dir(site, EDITION) / "issue.html").read_text(encoding="utf-8") == html_before
    template.write_text(good, encoding="utf-8")
    wait_page(server, lambda p: 'id="render-error"' not in p)


def test_saving_the_house_style_re_renders(server: PreviewServer, site: Config) -> None:
    style = site.templates_path / "house-style.yaml"
    version = opened(server)
    style.write_text(
        style.read_text(encoding="utf-8") + "\n# touched by the editor\n", encoding="utf-8"
    )
    wait_version(server, version)


def test_a_sent_issue_is_shown_as_sent_and_cannot_change(
    server: PreviewServer, site: Config
) -> None:
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    stale_form = form(server, page)
    with open_store(site.state_path) as store:
        store.record_issue(EDITION, status="sent")
    assert f'data-date="{DAY}" data-state="sent"' in request(server, "GET", "/")[2]
    _, _, page = request(server, "GET", f"/issue/{DAY}")
    assert 'id="state">sent<' in page and 'class="action' not in page
    before = draft_path(site).read_text(encoding="utf-8")
    request(server, "POST", f"/issue/{DAY}/story/{H}/drop", body=stale_form)
    assert draft_path(site).read_text(encoding="utf-8") == before
    assert "was sent" in request(server, "GET", f"/issue/{DAY}")[2]

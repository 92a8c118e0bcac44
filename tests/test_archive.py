"""The static web archive: pages where the email links, index, Atom feed, signup form,
atomic and incremental writes, retraction, hostile story text and the config's checks."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from archive_site import HOSTILE, LISTMONK, edition, hostile_issue, newsletter
from lxml import etree, html
from render_samples import fixed_issue

from pipeline.archive import publish_archive
from pipeline.archive._site import Layout, layout_for
from pipeline.config import Config
from pipeline.errors import ConfigError, OutboxError
from pipeline.ingest import ingest
from pipeline.ingest._feeds import parse_feed
from pipeline.render import render
from pipeline.store import open_store

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
ATOM = "{http://www.w3.org/2005/Atom}"


def _layout(folder: Path, web_url: str, base_url: str = "") -> Layout:
    return layout_for(newsletter(folder, web_url=web_url, archive={"base_url": base_url}))


@pytest.mark.parametrize(
    ("web_url", "base_url", "file", "url", "href"),
    [
        (
            "https://n.example/issues/{date}",
            "",
            "issues/2026-03-04/index.html",
            "https://n.example/issues/2026-03-04/",
            "/issues/2026-03-04/",
        ),
        (
            "https://n.example/news/archive/{date}.html",
            "https://n.example/news",
            "archive/2026-03-04.html",
            "https://n.example/news/archive/2026-03-04.html",
            "/news/archive/2026-03-04.html",
        ),
        (
            "https://n.example/{date}/",
            "",
            "2026-03-04/index.html",
            "https://n.example/2026-03-04/",
            "/2026-03-04/",
        ),
    ],
)
def test_pages_sit_where_web_url_points(
    tmp_path: Path, web_url: str, base_url: str, file: str, url: str, href: str
) -> None:
    layout = _layout(tmp_path, web_url, base_url)
    assert layout.page_file(WED) == file
    assert layout.url(layout.page_path(WED)) == url
    assert layout.href(layout.page_path(WED)) == href


@pytest.mark.parametrize(
    ("web_url", "base_url", "key", "words"),
    [
        ("https://n.example/issues/{date}", "https://other.example/", "archive.base_url", "start"),
        ("https://n.example/{date}/{date}", "", "newsletter.web_url", "once"),
        ("https://n.example/a/../{date}", "", "newsletter.web_url", "once"),
        ("https://n.example/issues?d={date}", "", "newsletter.web_url", "letters"),
        ("", "", "archive.base_url", "web_url"),
    ],
)
def test_a_site_address_that_cannot_work_is_a_config_error(
    tmp_path: Path, web_url: str, base_url: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _layout(tmp_path, web_url, base_url)
    assert caught.value.key == key and words in str(caught.value)


def test_without_web_url_pages_go_under_issues(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "", "https://n.example/letters/")
    assert layout.url(layout.page_path(WED)) == "https://n.example/letters/issues/2026-03-04/"


def _page(path: Path) -> html.HtmlElement:
    return html.fromstring(path.read_bytes())


def _meta(page: html.HtmlElement) -> dict[str, str]:
    return {m.get("property"): m.get("content") for m in page.iter("meta") if m.get("property")}


def _files(site: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(site).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def three(tmp_path: Path) -> Config:
    """Monday approved in its draft, Tuesday sent (the store says so), Wednesday a draft."""
    config = newsletter(tmp_path)
    edition(config, MON, "approved")
    edition(config, TUE, "draft", sent=True)
    edition(config, WED, "draft")
    return config


def test_a_page_per_approved_or_sent_issue_where_the_email_links(three: Config) -> None:
    result = publish_archive(three)
    site = three.archive_path
    assert result.issues == (TUE, MON)
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")) == [
        "index.html",
        "issues/2026-03-02/index.html",
        "issues/2026-03-03/index.html",
    ]
    assert (site / "feed.atom").is_file() and (site / "style.css").is_file()

    # the email's "View in your browser" link names the page's folder
    issue = replace(fixed_issue(), date=MON)
    email = html.fromstring(render(issue, three).html)
    (link,) = email.xpath("//a[text()='View in your browser']/@href")
    path = urlsplit(link).path  # /issues/2026-03-02
    assert (site / path.lstrip("/") / "index.html").is_file()

    page = _page(site / "issues/2026-03-02/index.html")
    canonical = page.xpath("//link[@rel='canonical']/@href")
    assert canonical == ["https://morningtape.example/issues/2026-03-02/"]
    stories = fixed_issue().stories
    assert _meta(page) == {
        "og:site_name": "The Morning Tape",
        "og:title": "The Tape for 2026-03-02",
        "og:description": stories[0].dek,
        "og:url": canonical[0],
        "og:type": "article",
        "og:image": "https://img.morningtape.example/photo.svg",
        "article:published_time": "2026-03-02T06:00:00-06:00",
    }
    assert [h.text_content() for h in page.iter("h2")] == [s.headline for s in stories]
    body = page.text_content()
    assert all(b in body for s in stories for b in s.bullets)
    assert "More stories worth a look" in body

    index = _page(site / "index.html")
    assert index.xpath("//ol[@class='issues']//a/@href") == [
        "/issues/2026-03-03/",
        "/issues/2026-03-02/",
    ]
    assert index.xpath("//link[@rel='canonical']/@href") == ["https://morningtape.example/"]


def test_a_second_publish_touches_nothing_and_an_edit_only_its_page(three: Config) -> None:
    publish_archive(three)
    site = three.archive_path
    before = _files(site)
    again = publish_archive(three)
    assert again.written == () and again.removed == ()
    assert _files(site) == before

    draft = three.outbox_path / MON.isoformat() / "draft.md"
    draft.write_text(
        draft.read_text(encoding="utf-8").replace(
            "Remember when a shipping container", "Remember, not long ago, when a container"
        ),
        encoding="utf-8",
    )
    edited = publish_archive(three)
    assert set(edited.written) == {"issues/2026-03-02/index.html", "feed.atom"}
    after = _files(site)
    for rel in ("issues/2026-03-03/index.html", "index.html", "style.css"):
        assert after[rel] == before[rel], rel
    assert b"Remember, not long ago" in after["issues/2026-03-02/index.html"][0]
    assert not [p for p in site.rglob("*") if p.name.startswith(".tmp-")]


def test_a_retracted_approval_takes_the_page_down(three: Config) -> None:
    publish_archive(three)
    edition(three, MON, "draft")
    result = publish_archive(three)
    site = three.archive_path
    assert result.removed == ("issues/2026-03-02/index.html",)
    assert not (site / "issues" / "2026-03-02").exists()
    assert "/issues/2026-03-02/" not in (site / "index.html").read_text(encoding="utf-8")


def test_an_unreadable_draft_is_reported_and_its_page_kept(three: Config) -> None:
    publish_archive(three)
    draft = three.outbox_path / MON.isoformat() / "draft.md"
    draft.write_text("---\nstatus: [broken\n", encoding="utf-8")
    result = publish_archive(three)
    assert len(result.warnings) == 1 and str(draft) in result.warnings[0]
    assert (three.archive_path / "issues/2026-03-02/index.html").is_file()
    assert result.issues == (TUE,)


def test_hostile_story_text_stays_text_on_the_page_and_in_the_feed(tmp_path: Path) -> None:
    config = newsletter(tmp_path)
    edition(config, MON, issue=hostile_issue())
    publish_archive(config)
    raw = (config.archive_path / "issues/2026-03-02/index.html").read_text(encoding="utf-8")
    page = html.fromstring(raw)
    assert not page.xpath("//script | //*[@onerror] | //a[starts-with(@href, 'javascript')]")
    assert page.xpath("//h2")[0].text_content() == HOSTILE
    assert "https://good.example/a%20b" in page.xpath("//a/@href")
    assert not [s for s in page.xpath("//img/@src") if not s.startswith("https://")]

    feed = etree.parse(str(config.archive_path / "feed.atom"))
    content = feed.findtext(f"{ATOM}entry/{ATOM}content")
    assert content is not None and HOSTILE not in content
    body = html.fromstring(content)
    assert not body.xpath("//script | //*[@onerror] | //a[starts-with(@href, 'javascript')]")
    assert body.xpath("//h2")[0].text_content() == HOSTILE


def test_the_atom_feed_is_valid_and_reads_back_through_ingest(three: Config) -> None:
    publish_archive(three)
    data = (three.archive_path / "feed.atom").read_bytes()
    feed = etree.fromstring(data)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author/" + ATOM + "name"):
        assert feed.findtext(ATOM + tag), tag
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == (
        "https://morningtape.example/feed.atom"
    )
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        for tag in ("id", "title", "updated", "published", "summary", "content"):
            assert entry.findtext(ATOM + tag), tag

    parsed = parse_feed(data, url="https://morningtape.example/feed.atom")
    assert [(e.title, e.link) for e in parsed.entries] == [
        ("The Tape for 2026-03-03", "https://morningtape.example/issues/2026-03-03/"),
        ("The Tape for 2026-03-02", "https://morningtape.example/issues/2026-03-02/"),
    ]
    with open_store(three.state_path) as store:
        result = ingest(three, store, sources=[str(three.archive_path / "feed.atom")])
    (source,) = result.sources
    assert source.status == "ok" and source.new == 2
    item = source.items[1]
    assert item.url == "https://morningtape.example/issues/2026-03-02/"
    assert item.published is not None and item.published.isoformat() == "2026-03-02T12:00:00+00:00"
    assert fixed_issue().stories[1].kicker in item.text


def test_the_feed_carries_the_latest_issues_only(tmp_path: Path) -> None:
    config = newsletter(tmp_path, archive={"feed_issues": 1})
    edition(config, MON)
    edition(config, TUE)
    publish_archive(config)
    entries = etree.parse(str(config.archive_path / "feed.atom")).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["The Tape for 2026-03-03"]
    index = (config.archive_path / "index.html").read_text(encoding="utf-8")
    assert "/issues/2026-03-02/" in index  # the index keeps every issue


@pytest.mark.parametrize(
    ("mailing", "fields"),
    [
        (LISTMONK, {"email": None, "nonce": "", "l": LISTMONK["subscribe_lists"][0]}),
        (
            {
                "provider": "buttondown",
                "subscribe_url": "https://buttondown.example/api/emails/embed-subscribe/tape",
            },
            {"email": None, "embed": "1"},
        ),
        (
            {
                "provider": "mailchimp",
                "subscribe_url": "https://tape.us1.list-manage.example/subscribe/post?u=ab12&id=cd34",
            },
            {"EMAIL": None, "b_ab12_cd34": ""},
        ),
    ],
)
def test_the_signup_page_posts_to_the_list_provider(
    tmp_path: Path, mailing: dict[str, object], fields: dict[str, str | None]
) -> None:
    config = newsletter(tmp_path, mailing_list=mailing)
    edition(config, MON)
    publish_archive(config)
    page = _page(config.archive_path / "signup" / "index.html")
    (form,) = page.forms
    assert form.method == "POST" and form.action == mailing["subscribe_url"]
    found = {i.get("name"): i.get("value") for i in form.inputs if i.get("name")}
    assert found == fields
    assert not page.xpath("//script")
    issue_page = _page(config.archive_path / "issues/2026-03-02/index.html")
    assert "/signup/" in issue_page.xpath("//footer//a/@href")


def test_without_a_list_there_is_no_signup_page(tmp_path: Path) -> None:
    config = newsletter(tmp_path, mailing_list=LISTMONK)
    edition(config, MON)
    publish_archive(config)
    assert (config.archive_path / "signup" / "index.html").is_file()
    config = newsletter(tmp_path)  # the list section taken out
    result = publish_archive(config)
    assert "signup/index.html" in result.removed
    assert not (config.archive_path / "signup").exists()
    page = _page(config.archive_path / "issues/2026-03-02/index.html")
    assert "https://morningtape.example/join" in page.xpath("//footer//a/@href")


def test_list_and_archive_sections_are_checked(tmp_path: Path) -> None:
    bad = {"provider": "listmonk", "subscribe_url": "https://lists.example/subscription/form"}
    with pytest.raises(ConfigError, match=r"subscribe_lists"):
        newsletter(tmp_path, mailing_list=bad)
    mailchimp = {"provider": "mailchimp", "subscribe_url": "https://x.example/subscribe/post"}
    with pytest.raises(ConfigError, match=r"list.subscribe_url.*u=\.\.\.&id="):
        newsletter(tmp_path, mailing_list=mailchimp)
    with pytest.raises(ConfigError, match=r"archive\.base_url.*http"):
        newsletter(tmp_path, archive={"base_url": "ftp://x.example/"})


def test_an_unwritable_site_is_one_error(tmp_path: Path) -> None:
    config = newsletter(tmp_path)
    edition(config, MON)
    config.archive_path.mkdir()
    (config.archive_path / "index.html").mkdir()  # a folder in the way
    with pytest.raises(OutboxError, match=r"index\.html"):
        publish_archive(config)
    assert os.path.isdir(config.archive_path / "index.html")


def test_one_list_block_serves_the_signup_form_and_campaigns(tmp_path: Path) -> None:
    signup_only = {"provider": "buttondown", "subscribe_url": "https://b.example/embed/tape"}
    config = newsletter(tmp_path / "a", mailing_list=signup_only)
    assert config.mailing_list.signup and not config.mailing_list.campaigns
    both = {**signup_only, "api_key_env": "BUTTONDOWN_API_KEY"}
    config = newsletter(tmp_path / "b", mailing_list=both)
    assert config.mailing_list.signup and config.mailing_list.campaigns
    # a campaign key without its credential is a config error, with or without a form
    with pytest.raises(ConfigError, match="api_key_env"):
        newsletter(tmp_path / "c", mailing_list={**signup_only, "base_url": "https://b.example"})

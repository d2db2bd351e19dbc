"""Every page of the demo community renders for every kind of person, in both languages,
without a server error, and stays inside the layout rules (no inline script)."""

from __future__ import annotations

import re

import pytest

from deliberation.demo import DEMO_PASSWORD, load_demo

PAGES = [
    "/", "/login", "/register", "/account", "/account/password", "/notifications/",
    "/c/yangguang/", "/c/yangguang/join", "/c/yangguang/items", "/c/yangguang/items?sort=supported&q=停车",
    "/c/yangguang/items/1", "/c/yangguang/items/2", "/c/yangguang/items/4", "/c/yangguang/items/new",
    "/c/yangguang/members", "/c/yangguang/members?status=verified", "/c/yangguang/members?status=rejected",
    "/c/yangguang/units", "/c/yangguang/units?q=3-2", "/c/yangguang/units/1", "/c/yangguang/units/import",
    "/c/yangguang/people/new", "/c/yangguang/people/2", "/c/yangguang/audit/", "/c/yangguang/moderation",
    "/c/yangguang/settings", "/c/yangguang/reviews/mine", "/c/yangguang/reviews/overview",
    "/c/yangguang/measures/1", "/c/yangguang/measures/1/results", "/c/yangguang/measures/1/board",
    "/c/yangguang/records", "/c/yangguang/records?year=2025&outcome=adopted", "/c/yangguang/records/1",
    "/c/yangguang/records/4", "/c/yangguang/records/1/print", "/c/yangguang/records/verify",
    "/c/yangguang/meetings", "/c/yangguang/meetings/1", "/c/yangguang/meetings/1/minutes",
    "/c/yangguang/meetings/2", "/c/yangguang/meetings/2/projector", "/c/yangguang/meetings/2/console",
    "/c/yangguang/meetings/2/attendance", "/c/yangguang/meetings/2/edit", "/c/yangguang/meetings/new",
    "/c/yangguang/conventions", "/c/yangguang/conventions/1", "/c/yangguang/conventions/1/print",
    "/c/yangguang/conventions/1/versions", "/c/yangguang/conventions/1/compare?a=1&b=adopted",
    "/c/yangguang/conventions/2", "/c/yangguang/conventions/2/edit", "/c/yangguang/conventions/2/compare?a=base&b=2",
    "/c/yangguang/conventions/2/amendments/new", "/c/yangguang/conventions/2/votes",
    "/c/heping/", "/healthz", "/readyz",
    # Residents without phones: the staff list, 钱奶奶's "act for" page (user 13), the claim page.
    "/c/yangguang/residents", "/c/yangguang/residents/13", "/c/yangguang/claim", "/c/yangguang/items/11",
]
PEOPLE = [None, "13800000001", "13800000002", "13800000003", "13800000004", "13800000005", "13800000010",
          "13800000013", "13800000020", "13800000021", "resident@example.com", "13900000001"]


@pytest.fixture
def demo(app):
    with app.test_request_context("/"):
        load_demo()


@pytest.mark.parametrize("contact", PEOPLE, ids=lambda c: c or "anonymous")
def test_every_page_renders_for_everyone(app, demo, contact):
    client = app.test_client()
    if contact:
        assert client.post("/login", data={"contact": contact, "password": DEMO_PASSWORD}).status_code == 303
    for page in PAGES:
        for language in ("zh-CN", "en"):
            response = client.get(page, headers={"Accept-Language": language})
            assert response.status_code in (200, 302, 403, 404), (page, language, response.status_code)
            if response.mimetype == "text/html":
                html = response.get_data(as_text=True)
                assert "Traceback" not in html
                # No inline script anywhere: every <script> has a src (the CSP forbids the rest).
                assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), page


def test_pages_are_valid_html_with_unique_ids(app, demo):
    """An HTML5 parser finds no error on any page (as an admin sees it, in both languages), and
    no id is used twice (labels, skip links and live updates rely on them)."""
    import html5lib

    client = app.test_client()
    assert client.post("/login", data={"contact": "13800000001", "password": DEMO_PASSWORD}).status_code == 303
    problems = {}
    for page in PAGES:
        for language in ("zh-CN", "en"):
            response = client.get(page, headers={"Accept-Language": language})
            if response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            parser = html5lib.HTMLParser(namespaceHTMLElements=False)
            parser.parse(html)
            ids = re.findall(r'\sid="([^"]+)"', html)
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if parser.errors or duplicates:
                problems[(page, language)] = (parser.errors[:3], duplicates)
    assert problems == {}

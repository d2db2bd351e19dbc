"""axe-core (vendored, pinned: tests/browser/vendor/axe-4.10.3.min.js, MPL-2.0) finds no WCAG 2.1
A/AA violation on the main pages, at phone and projector widths, in both languages, as a
visitor and as an admin who sees every control."""

from __future__ import annotations

import pytest

from deliberation.demo import DEMO_PASSWORD, load_demo
from deliberation.extensions import db
from tests.browser.conftest import AXE, RUN_AXE, shoot

# Ids are looked up after the demo is loaded (other browser tests share the database).
PAGES = ["/", "/login", "/register", "/c/yangguang/", "/c/yangguang/items", "/c/yangguang/items/{parking}",
         "/c/yangguang/items/{dogs}", "/c/yangguang/members", "/c/yangguang/units", "/c/yangguang/audit/",
         "/c/yangguang/reviews/overview", "/c/yangguang/items/new", "/c/yangguang/measures/{ranked}/results",
         "/c/yangguang/measures/{open}", "/c/yangguang/measures/{open}/paper", "/c/yangguang/measures/{ranked}/board",
         "/c/yangguang/settings", "/c/yangguang/records", "/c/yangguang/records/1", "/c/yangguang/records/1/print",
         "/c/yangguang/records/verify", "/c/yangguang/meetings", "/c/yangguang/meetings/{past}",
         "/c/yangguang/meetings/{past}/minutes", "/c/yangguang/meetings/{next}", "/c/yangguang/meetings/{next}/edit",
         "/c/yangguang/meetings/{next}/console", "/c/yangguang/meetings/{next}/attendance",
         "/c/yangguang/meetings/{next}/projector", "/c/yangguang/conventions", "/c/yangguang/conventions/{adopted}",
         "/c/yangguang/conventions/{adopted}/print", "/c/yangguang/conventions/{draft}",
         "/c/yangguang/conventions/{draft}/compare?a=base&b=2", "/c/yangguang/conventions/{draft}/amendments/new",
         # Residents without phones: the staff list, acting for 钱奶奶, her item, the claim page.
         "/c/yangguang/residents", "/c/yangguang/residents/{grandma}", "/c/yangguang/items/{grandma_item}",
         "/c/yangguang/claim",
         "/c/yangguang/attachments/{plan}", "/c/yangguang/attachments/meeting/{next}/new",
         "/missing-page"]


@pytest.fixture(scope="session")
def demo(live_app):
    """Load the demo once; return the ids the page list needs."""
    from deliberation.accounts.models import User
    from deliberation.agenda.models import AgendaItem
    from deliberation.attachments.models import Attachment
    from deliberation.communities.models import Community
    from deliberation.conventions.models import Convention
    from deliberation.meetings.models import Meeting
    from deliberation.voting.models import Measure

    with live_app.app_context(), live_app.test_request_context("/"):
        load_demo()
        community = db.session.scalar(db.select(Community).where(Community.slug == "yangguang"))

        def first(query):
            return db.session.scalar(query.limit(1))

        ids = {
            "parking": first(db.select(AgendaItem.id).where(AgendaItem.community_id == community.id,
                                                             AgendaItem.title.startswith("东侧消防通道"))),
            "dogs": first(db.select(AgendaItem.id).where(AgendaItem.community_id == community.id,
                                                          AgendaItem.title.startswith("制定《阳光社区文明养犬公约》"))),
            "open": first(db.select(Measure.id).where(Measure.community_id == community.id, Measure.status == "open")
                          .order_by(Measure.id)),
            "ranked": first(db.select(Measure.id).where(Measure.community_id == community.id, Measure.kind == "ranked")
                            .order_by(Measure.id.desc())),
            "past": first(db.select(Meeting.id).where(Meeting.community_id == community.id, Meeting.status == "ended")),
            "next": first(db.select(Meeting.id).where(Meeting.community_id == community.id,
                                                      Meeting.status == "scheduled")),
            "adopted": first(db.select(Convention.id).where(Convention.community_id == community.id,
                                                            Convention.state == "adopted")),
            "draft": first(db.select(Convention.id).where(Convention.community_id == community.id,
                                                          Convention.state == "drafting")),
            "grandma": first(db.select(User.id).where(User.display_name == "钱奶奶")),
            "grandma_item": first(db.select(AgendaItem.id).where(AgendaItem.community_id == community.id,
                                                                  AgendaItem.entered_by_id.is_not(None))),
            "plan": first(db.select(Attachment.id).where(Attachment.community_id == community.id,
                                                         Attachment.name.startswith("东门空地平面图"))),
        }
        db.session.remove()
    assert all(ids.values()), ids
    return ids


@pytest.mark.parametrize("text_size", ["normal", "large"])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("width", [360, 1920])
def test_main_pages_have_no_accessibility_violations(demo, live_server, browser, locale, width, text_size):
    context = browser.new_context(viewport={"width": width, "height": 1080 if width > 1000 else 800}, locale=locale,
                                  extra_http_headers={"Accept-Language": locale}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("#contact", "13800000001")
        page.fill("#password", DEMO_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        if text_size == "large":  # the remembered large-text switch in the header
            page.locator("form[action$='/preferences/text-size'] button[value=large]").click()
            page.locator("html.text-large").wait_for(state="attached")
        problems = {}
        for template in PAGES:
            path = template.format(**demo)
            page.goto(live_server + path)
            page.add_script_tag(content=AXE)  # bypass_csp lets the test inject it; the app never does
            violations = page.evaluate(RUN_AXE)
            if violations:
                problems[path] = violations
            if template != "/missing-page":  # every page really is the page meant, not an error page
                assert page.locator(".error-page, .error-code").count() == 0, path
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            if wide > width:  # nothing may push the page sideways on a phone
                problems.setdefault(path, []).append(f"page is {wide} px wide at {width} px")
            name = path.strip("/").replace("/", "-") or "home"
            shoot(page, f"{name}-{width}-{locale}" + ("-large" if text_size == "large" else ""))
        assert problems == {}, problems
    finally:
        context.close()

"""axe-core (vendored, pinned: tests/browser/vendor/axe-4.10.3.min.js, MPL-2.0) finds no WCAG 2.1
A/AA violation on the main pages, at phone and projector widths, in both languages, as a
visitor and as an admin who sees every control."""

from __future__ import annotations

import pytest

from deliberation.demo import DEMO_PASSWORD, load_demo
from deliberation.extensions import db
from tests.browser.conftest import AXE, RUN_AXE, shoot

PAGES = ["/", "/login", "/register", "/c/yangguang/", "/c/yangguang/items", "/c/yangguang/items/1",
         "/c/yangguang/items/2", "/c/yangguang/members", "/c/yangguang/units", "/c/yangguang/audit/",
         "/c/yangguang/reviews/overview", "/c/yangguang/items/new", "/c/yangguang/measures/1/results",
         "/c/yangguang/measures/5", "/c/yangguang/measures/5/paper", "/c/yangguang/measures/6/board",
         "/c/yangguang/settings",
         "/c/yangguang/records", "/c/yangguang/records/1", "/c/yangguang/records/1/print",
         "/c/yangguang/records/verify", "/c/yangguang/meetings", "/c/yangguang/meetings/1",
         "/c/yangguang/meetings/1/minutes", "/c/yangguang/meetings/2", "/c/yangguang/meetings/2/edit",
         "/c/yangguang/meetings/2/console", "/c/yangguang/meetings/2/attendance",
         "/c/yangguang/meetings/2/projector", "/missing-page"]


@pytest.fixture(scope="session")
def demo(live_app):
    with live_app.app_context(), live_app.test_request_context("/"):
        load_demo()
        db.session.remove()


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
        for path in PAGES:
            page.goto(live_server + path)
            page.add_script_tag(content=AXE)  # bypass_csp lets the test inject it; the app never does
            violations = page.evaluate(RUN_AXE)
            if violations:
                problems[path] = violations
            name = path.strip("/").replace("/", "-") or "home"
            shoot(page, f"{name}-{width}-{locale}" + ("-large" if text_size == "large" else ""))
        assert problems == {}, problems
    finally:
        context.close()

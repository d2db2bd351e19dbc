"""Residents who cannot or do not use a mouse or JavaScript still take part: with JavaScript
off, reading, commenting and voting work (plain forms, redirects); with the keyboard alone, a
resident logs in and casts a ballot, and the focused control is always visible."""

from __future__ import annotations

from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.extensions import db
from tests.factories import PASSWORD, make_community, make_item, make_measure, make_member


def _setup(live_app, slug: str):
    with live_app.app_context():
        community = make_community(slug=slug)
        chair = make_member(community, Role.CHAIR)
        voter = make_member(community, name="王阿姨")
        item = make_item(community, title="楼下垃圾桶挪个位置")  # submitted: discussed, not yet on the agenda
        discussion.post_comment(actor=chair, community=community, item_id=item.id, body="先听听大家的意见。",
                                stance=None)
        measure = make_measure(community, chair=chair, question="是否同意把垃圾桶挪到东侧？")
        data = {"slug": community.slug, "item": item.id, "measure": measure.id, "contact": voter.contact}
        db.session.remove()
    return data


def test_reading_commenting_and_voting_work_without_javascript(live_app, live_server, browser):
    data = _setup(live_app, "no-js")
    context = browser.new_context(java_script_enabled=False, locale="zh-CN",
                                  extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("#contact", data["contact"])
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/c/{data['slug']}/items/{data['item']}")
        page.locator(".comment", has_text="先听听大家的意见。").wait_for()
        page.fill("#comment-form-new-body", "我同意挪到东侧，离楼门远一点。")
        page.click("#comment-form-new button[type=submit]")
        page.locator(".comment", has_text="我同意挪到东侧，离楼门远一点。").wait_for()

        page.goto(f"{live_server}/c/{data['slug']}/measures/{data['measure']}")
        page.check("input[name=choice][value=yes]")
        page.locator("form[action$='/vote'] button[type=submit]").first.click()
        page.locator(".ballot-summary").wait_for()
        page.locator(".confirm form[method=post] button[type=submit]").click()
        assert len(page.locator(".receipt-code").inner_text()) == 14
    finally:
        context.close()


def test_a_resident_logs_in_and_votes_with_the_keyboard_alone(live_app, live_server, browser):
    data = _setup(live_app, "keyboard")
    context = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()

    def tab_to(selector: str, limit: int = 60) -> None:
        """Press Tab until the focus is on ``selector``; the focus must always be visible."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate("""(selector) => {
                const el = document.activeElement, style = getComputedStyle(el);
                return {match: el.matches(selector), outline: style.outlineStyle, shadow: style.boxShadow};
            }""", selector)
            if focused["match"]:
                assert focused["outline"] != "none" or focused["shadow"] != "none", f"focus not visible on {selector}"
                return
        raise AssertionError(f"Tab never reached {selector}")

    try:
        page.goto(f"{live_server}/login")
        tab_to("#contact")
        page.keyboard.type(data["contact"])
        tab_to("#password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/c/{data['slug']}/measures/{data['measure']}")
        tab_to("input[name=choice]")
        page.keyboard.press("ArrowDown")  # yes -> no, as a radio group moves
        assert page.evaluate("() => document.activeElement.value") == "no"
        tab_to("form[action$='/vote'] button[type=submit]")
        page.keyboard.press("Enter")
        page.locator(".ballot-summary").wait_for()
        tab_to(".confirm form[method=post] button[type=submit]")
        page.keyboard.press("Enter")
        page.locator(".receipt-code").wait_for()
    finally:
        context.close()
    with live_app.app_context():
        from deliberation.voting import services as voting
        from deliberation.voting.models import BallotEnvelope, Measure

        # A secret ballot waits sealed in its envelope until the mixer or the close moves it.
        measure = db.session.get(Measure, data["measure"])
        sealed = list(db.session.scalars(db.select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
        assert [b["content"] for b in voting._opened(measure, sealed)] == [{"choice": "no"}]
        db.session.remove()

"""A chair runs a meeting from the console; an open projector page (1920×1080) follows the
agenda and the speakers' queue live, without a reload, and catches up after a network drop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deliberation.agenda import services as agenda
from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.meetings import services as meetings
from deliberation.timeutil import utcnow
from tests.browser.conftest import log_in, shoot
from tests.factories import admin_of, make_community, make_item, make_member


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_projector_follows_the_chair_without_a_reload(live_app, live_server, new_page, locale):
    lang = locale[:2]
    with live_app.app_context():
        community = make_community(slug=f"meeting-test-{lang}")
        chair = make_member(community, Role.CHAIR, name="陈主持")
        start = utcnow() + timedelta(minutes=5)
        meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
            title="十二月居民议事会", place="活动中心", starts_at=start, ends_at=start + timedelta(hours=2)))
        for title in ("东门夜间共享停车", "楼道堆放杂物"):
            item = make_item(community, title=title)
            agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
            meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id,
                                   minutes=15)
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
        base = f"{live_server}/c/{community.slug}/meetings/{meeting.id}"
        screen = meetings.issue_projector_link(actor=chair, community=community, meeting_id=meeting.id).projector_token
        contact = chair.contact
        db.session.remove()

    projector = new_page(locale=locale, width=1920, height=1080)
    projector.goto(f"{base}/screen/{screen}")  # the chair's projector link: no login on the projector
    projector.locator("html[data-live=connected]").wait_for(state="attached")
    projector.locator(".projector-qr svg").wait_for()  # before the start: the check-in code
    projector.evaluate("() => { window.__loadedOnce = true; }")  # gone if the page reloads

    console = new_page(locale=locale)
    log_in(console, live_server, contact)
    console.goto(f"{base}/console")
    console.locator("form:has(input[value=start]) button").click()
    console.locator("form:has(input[value=next]) button").click()
    projector.locator(".projector-item", has_text="东门夜间共享停车").wait_for(timeout=10000)

    console.fill("#speaker-name", "物业周经理")
    console.locator("#speaker-name").press("Enter")
    console.locator(".console-queue", has_text="物业周经理").wait_for()
    console.fill("#speaker-name", "王阿姨")
    console.locator("#speaker-name").press("Enter")
    projector.locator(".projector-queue li", has_text="王阿姨").wait_for(timeout=10000)
    console.locator("form:has(input[value=call]) button").click()
    projector.locator(".projector-name", has_text="物业周经理").wait_for(timeout=10000)
    projector.locator(".projector-name .timer").wait_for()
    shoot(projector, f"projector-1920-speaker-{lang}")
    shoot(console, f"console-1280-{lang}")

    # The projector loses the network; the chair moves on; it catches up when it is back.
    projector.context.set_offline(True)
    projector.locator("html[data-live=offline]").wait_for(state="attached", timeout=30000)
    console.locator("form:has(input[value=next]) button").click()
    console.locator(".meeting-agenda li.is-current", has_text="楼道堆放杂物").wait_for()
    projector.context.set_offline(False)
    projector.locator(".projector-item", has_text="楼道堆放杂物").wait_for(timeout=30000)
    assert projector.evaluate("() => window.__loadedOnce") is True  # no reload happened
    shoot(projector, f"projector-1920-item-{lang}")
    # A reconnect attempt made while the network was deliberately off is not an error of the app.
    errors = [e for e in projector.errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert errors == [] and console.errors == [], (projector.errors, console.errors)

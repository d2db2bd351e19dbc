"""The end of a decision's path in real browsers: in a live meeting residents vote on their
phones (ballot, confirmation, receipt), staff enter a paper ballot for a resident without a
phone, the chair closes the vote from the console, the projector shows the result bars live,
and the resolution appears in the public archive, whose chain check passes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deliberation.agenda import services as agenda
from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.meetings import services as meetings
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from tests.browser.conftest import assert_accessible, log_in, shoot
from tests.factories import admin_of, make_community, make_item, make_member


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_vote_in_a_meeting_to_the_archive(live_app, live_server, new_page, locale):
    lang = locale[:2]
    with live_app.app_context():
        community = make_community(slug=f"journey-vote-{lang}")
        chair = make_member(community, Role.CHAIR, name="陈主持")
        staff = make_member(community, Role.STAFF, name="社工小林")
        wang, li = make_member(community, name="王阿姨"), make_member(community, name="李建国")
        grandma = make_member(community, name="钱奶奶")
        item = make_item(community, title="东门夜间共享停车")
        agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
        measure = voting.create_measure(actor=chair, community=community, item_id=item.id, draft=voting.MeasureDraft(
            question="是否同意划出 12 个夜间共享车位？", closes_at=utcnow() + timedelta(hours=3),
            secret=False))  # roll call: the projector's turnout follows every ballot (a secret one moves in steps)
        start = utcnow() + timedelta(minutes=5)
        meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
            title="议事会", place="活动中心", starts_at=start, ends_at=start + timedelta(hours=2)))
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=20)
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
        for person in (wang, li, grandma):
            meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=person.id)
        meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
        contacts = {u.display_name: u.contact for u in (chair, staff, wang, li)}
        base = f"{live_server}/c/{community.slug}"
        meeting_url, measure_id = f"{base}/meetings/{meeting.id}", measure.id
        screen = meetings.issue_projector_link(actor=chair, community=community, meeting_id=meeting.id).projector_token
        db.session.remove()

    projector = new_page(locale=locale, width=1920, height=1080)
    projector.goto(f"{meeting_url}/screen/{screen}")
    projector.locator("html[data-live=connected]").wait_for(state="attached")
    console = new_page(locale=locale)
    log_in(console, live_server, contacts["陈主持"])
    console.goto(f"{meeting_url}/console")
    assert_accessible(console)
    console.locator(f"form:has(input[value=open_vote]):has(input[value='{measure_id}']) button").click()
    projector.locator(".projector-vote .turnout", has_text="0").wait_for(timeout=10000)
    assert_accessible(projector)

    for name, choice in (("王阿姨", "yes"), ("李建国", "no")):
        phone = new_page(locale=locale, width=360)
        log_in(phone, live_server, contacts[name])
        phone.goto(meeting_url)
        assert_accessible(phone)
        phone.locator(".live-vote a.button").click()  # "Vote" from the meeting page
        assert_accessible(phone)
        phone.check(f"input[name=choice][value={choice}]")
        phone.locator("form[action$='/vote'] button[type=submit]").first.click()
        phone.locator(".ballot-summary").wait_for()  # the confirmation step shows the ballot back
        assert_accessible(phone)
        phone.locator(".confirm form[method=post] button[type=submit]").click()
        code = phone.locator(".receipt-code").inner_text()
        assert_accessible(phone)
        assert len(code) == 14, code
        assert phone.errors == [], phone.errors
        if name == "王阿姨":
            shoot(phone, f"vote-receipt-360-{lang}")
    projector.locator(".projector-vote .turnout", has_text="2").wait_for(timeout=10000)

    desk = new_page(locale=locale)
    log_in(desk, live_server, contacts["社工小林"])
    desk.goto(f"{base}/measures/{measure_id}/paper")
    assert_accessible(desk)
    desk.select_option("#voter_id", label="钱奶奶")
    desk.check("input[name=choice][value=yes]")
    desk.locator("form:has(#voter_id) button[type=submit]").click()
    assert_accessible(desk)
    desk.locator(".confirm form button[type=submit]").first.click()
    desk.locator(".receipt-code").wait_for()
    projector.locator(".projector-vote .turnout", has_text="3").wait_for(timeout=10000)

    console.locator(f"form:has(input[value=close_vote]):has(input[value='{measure_id}']) button").click()
    # Irreversible: a dialog says who has not voted and that the record is permanent; nothing
    # happens until the chair says yes.
    dialog = console.locator("dialog.confirm-dialog")
    dialog.wait_for()
    assert "permanent" in dialog.inner_text() or "永久记录" in dialog.inner_text()
    shoot(console, f"console-close-vote-dialog-{lang}")
    dialog.locator("button[value=ok]").click()
    projector.locator(".projector-outcome").wait_for(timeout=10000)
    projector.locator(".projector-vote .result-bars").wait_for()
    shoot(projector, f"projector-1920-result-{lang}")
    assert_accessible(projector)

    archive = new_page(locale=locale, width=360)
    archive.goto(f"{base}/records")
    archive.locator(".record-card a", has_text="是否同意划出 12 个夜间共享车位？").click()
    archive.locator(".outcome-banner").wait_for()
    shoot(archive, f"record-360-{lang}")
    assert_accessible(archive)
    archive.goto(f"{base}/records/verify")
    assert archive.locator(".outcome-banner.outcome-passed").count() == 1  # the chain is intact
    for page in (projector, console, desk, archive):
        assert page.errors == [], page.errors
    with live_app.app_context():
        checked = live_app.test_cli_runner().invoke(args=["records", "verify", "--community", f"journey-vote-{lang}"])
        db.session.remove()
    assert checked.exit_code == 0 and "intact, 1 record(s)" in checked.output, checked.output

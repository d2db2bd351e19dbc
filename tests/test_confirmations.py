"""Irreversible buttons ask first: closing a vote early and ending a meeting. Without the
dialog's confirmation (no JavaScript) the server shows a confirmation page and changes nothing."""

from __future__ import annotations

from deliberation.extensions import db
from deliberation.meetings import services as meetings
from deliberation.meetings.models import Meeting
from deliberation.voting import services as voting
from deliberation.voting.models import Measure, MeasureStatus
from tests.factories import make_measure
from tests.test_meetings import _login, _meeting, hall  # noqa: F401 (the fixture)

YES = {"choice": "yes"}


def test_closing_a_vote_early_without_confirmation_asks_and_changes_nothing(hall, client):  # noqa: F811
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    url = f"/c/{community.slug}/measures/{measure.id}"
    _login(client, chair)
    page = client.get(url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    missing = voting.turnout(measure).eligible - 1
    assert missing > 1
    # The button carries what the dialog says.
    assert f'data-confirm="名册上还有 {missing} 人尚未投票，结束后他们将无法再投票。 这项表决原定于' in page and "永久记录" in page and "js/confirm.js" in page
    asked = client.post(f"{url}/close", headers={"Accept-Language": "en"})
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Close the vote now?" in body
    assert f"{missing} voters on the roll have not voted yet" in body and "permanent record" in body
    assert 'name="confirmed" value="1"' in body
    assert db.session.get(Measure, measure.id).status == MeasureStatus.OPEN
    done = client.post(f"{url}/close", data={"confirmed": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Measure, measure.id).status == MeasureStatus.CLOSED


def test_the_close_confirmation_page_is_for_those_who_run_votes(hall, client):  # noqa: F811
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])
    refused = client.post(f"/c/{community.slug}/measures/{measure.id}/close", headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and "Who can do this:" in refused.get_data(as_text=True)
    assert db.session.get(Measure, measure.id).status == MeasureStatus.OPEN


def test_ending_a_meeting_asks_first_with_and_without_javascript(hall, client):  # noqa: F811
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, start=True, items=3)
    url = f"/c/{community.slug}/meetings/{meeting.id}/console"
    _login(client, chair)
    console = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-confirm="Ending the meeting cannot be undone' in console
    assert "2 agenda items were not taken up in this meeting." in console
    # No JavaScript: the plain post is sent to the confirmation page.
    plain = client.post(url, data={"action": "end"})
    assert plain.status_code == 303 and "/console/confirm?action=end" in plain.headers["Location"]
    page = client.get(plain.headers["Location"], headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "确定现在结束会议吗？" in page and "不能再次开始" in page and 'value="end"' in page
    # htmx without the dialog's flag: redirected there too, never ended.
    fragment = client.post(url, data={"action": "end"}, headers={"HX-Request": "true"})
    assert "/console/confirm?action=end" in fragment.headers["HX-Redirect"]
    assert db.session.get(Meeting, meeting.id).status == "live"
    assert client.post(url, data={"action": "end", "confirmed": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "ended"


def test_closing_a_meeting_vote_from_the_console_asks_with_the_missing_count(hall, client):  # noqa: F811
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, start=True)
    for r in residents:
        meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=r.id)
    measure = make_measure(community, meeting.current.item, chair=chair, open_now=False)
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    url = f"/c/{community.slug}/meetings/{meeting.id}/console"
    _login(client, chair)
    asked = client.post(url, data={"action": "close_vote", "measure_id": measure.id})
    page = client.get(asked.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "3 voters on the roll have not voted yet" in page and measure.question in page
    assert db.session.get(Measure, measure.id).status == MeasureStatus.OPEN
    client.post(url, data={"action": "close_vote", "measure_id": measure.id, "confirmed": "1"})
    db.session.expire_all()
    assert db.session.get(Measure, measure.id).status == MeasureStatus.CLOSED

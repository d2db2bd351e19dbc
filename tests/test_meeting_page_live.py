"""The meeting page on a phone follows the meeting: the viewer's own part (header, RSVP, their
request to speak, the vote button) is fetched again whenever the meeting's state changes."""

from __future__ import annotations

from deliberation.meetings import services as meetings
from tests.factories import make_measure
from tests.test_meetings import _login, _meeting, hall  # noqa: F401 (the fixture)


def _mine(client, community, meeting) -> str:
    response = client.get(f"/c/{community.slug}/meetings/{meeting.id}",
                          headers={"HX-Request": "true", "Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="meeting-me"') and "<html" not in html
    return html


def test_the_page_refetches_itself_on_every_meeting_state_change(hall, client):  # noqa: F811
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair)
    me = residents[0]
    _login(client, me)
    full = client.get(f"/c/{community.slug}/meetings/{meeting.id}").get_data(as_text=True)
    assert 'hx-trigger="live-meeting-state from:body"' in full  # the event live.js sends for meeting.state
    before = _mine(client, community, meeting)
    assert "I will come" in before and "said they will come" in before
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=me.id)
    started = _mine(client, community, meeting)
    # The header follows: no "about to start", no RSVP count or button once it is under way.
    assert "status-meeting-live" in started and "I will come" not in started and "said they will come" not in started
    assert "Request to speak" in started
    # The proxy form is below taking part, folded away.
    assert started.index("take-part-title") < started.index("proxy-title")
    assert "<details><summary id=\"proxy-title\">" in started
    meetings.request_to_speak(actor=me, community=community, meeting_id=meeting.id)
    waiting = _mine(client, community, meeting)
    assert "Withdraw my request to speak" in waiting and "Request to speak</button>" not in waiting
    meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    meetings.finish_speaker(actor=chair, community=community, meeting_id=meeting.id)
    spoke = _mine(client, community, meeting)
    assert "Withdraw my request to speak" not in spoke and "Request to speak" in spoke
    # A vote opened in the meeting shows with its ballot button.
    measure = make_measure(community, meeting.current.item, chair=chair, open_now=False)
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    voting = _mine(client, community, meeting)
    assert measure.question in voting and f'href="/c/{community.slug}/measures/{measure.id}"' in voting

"""Meetings as calendar files: one meeting's .ics, and a personal feed behind a secret token
that the person can reset. Times are in the community's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar

from deliberation.agenda import services as agenda
from deliberation.communities.models import MembershipStatus, Role
from deliberation.meetings import services as meetings
from deliberation.timeutil import local_to_utc
from tests.factories import admin_of, make_community, make_item, make_member


def _meeting(community, chair, *, publish=True, title="居民议事会"):
    start = local_to_utc(datetime(2099, 5, 6, 19, 30))
    meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
        title=title, mode="hybrid", place="活动中心二楼", starts_at=start, ends_at=start + timedelta(hours=2),
        speaking_minutes=3))
    if publish:
        item = make_item(community)
        agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=10)
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    return meeting


def test_a_meeting_downloads_as_ics_in_the_community_time_zone(app, client):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    meeting = _meeting(community, chair)
    answer = client.get(f"/c/{community.slug}/meetings/{meeting.id}.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    calendar = Calendar.from_ical(answer.data)
    [event] = calendar.walk("VEVENT")
    start = event.decoded("dtstart")
    assert (start.hour, start.minute) == (19, 30) and str(start.tzinfo) == "Asia/Shanghai"
    assert event.decoded("dtend") - start == timedelta(hours=2)
    assert "居民议事会" in str(event["summary"]) and str(event["location"]) == "活动中心二楼"
    assert calendar.walk("VTIMEZONE")  # the zone travels with the file
    assert "TZID=Asia/Shanghai" in answer.get_data(as_text=True)


def test_a_draft_meeting_has_no_ics_for_others(app, client):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    draft = _meeting(community, chair, publish=False)
    assert client.get(f"/c/{community.slug}/meetings/{draft.id}.ics").status_code == 404
    other = make_community()
    assert client.get(f"/c/{other.slug}/meetings/{draft.id}.ics").status_code == 404


def test_the_personal_feed_lists_my_communities_meetings_and_can_be_reset(app, client, auth):
    mine, theirs = make_community(), make_community()
    chair, their_chair = make_member(mine, Role.CHAIR), make_member(theirs, Role.CHAIR)
    me = make_member(mine)
    _meeting(mine, chair, title="我们的会")
    _meeting(theirs, their_chair, title="别人的会")
    _meeting(mine, chair, publish=False, title="草稿会")
    auth.login(me)
    page = client.get("/account/calendar").get_data(as_text=True)
    import re

    url = re.search(r'value="(http[^"]+/calendar/[^"]+\.ics)"', page).group(1)
    path = url.split("localhost", 1)[-1]
    auth.logout()
    feed = client.get(path)  # calendar apps fetch without logging in: the token is the key
    assert feed.status_code == 200 and "private" in feed.headers["Cache-Control"]
    titles = [str(e["summary"]) for e in Calendar.from_ical(feed.data).walk("VEVENT")]
    assert len(titles) == 1 and titles[0].startswith("我们的会")

    auth.login(me)
    assert client.post("/account/calendar/reset").status_code == 303
    assert client.get(path).status_code == 404  # the old address stops working
    new_page = client.get("/account/calendar").get_data(as_text=True)
    new_path = re.search(r'value="http[^"]+?(/calendar/[^"]+\.ics)"', new_page).group(1)
    assert new_path != path and client.get(new_path).status_code == 200


def test_a_feed_shows_nothing_of_a_community_one_is_not_verified_in(app, client, auth):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    waiting = make_member(community, status=MembershipStatus.PENDING)
    _meeting(community, chair)
    auth.login(waiting)
    import re

    page = client.get("/account/calendar").get_data(as_text=True)
    path = re.search(r'value="http[^"]+?(/calendar/[^"]+\.ics)"', page).group(1)
    assert Calendar.from_ical(client.get(path).data).walk("VEVENT") == []

"""Calendar files. Times are written in the community's time zone (with its VTIMEZONE), so a
phone set to another zone still shows the meeting at the right moment.

The personal feed lists the meetings (not drafts) of every community the person is a verified
member of, from 90 days back. Its URL carries a random token; resetting it makes the old URL
stop working at once (for a feed that was shared by mistake)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext
from icalendar import Calendar, Event
from sqlalchemy import select

from ..accounts.models import User
from ..communities.models import Community, Membership, MembershipStatus
from ..extensions import db
from ..meetings.models import Meeting, MeetingStatus
from ..timeutil import LOCAL_TZ, utcnow
from ..urls import link
from .models import CalendarFeed

FEED_PAST = timedelta(days=90)


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Deliberation Hall//yishi//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", LOCAL_TZ.key)
    return calendar


def _event(meeting: Meeting, community: Community) -> Event:
    url = current_app.config.get("PUBLIC_URL", "") + link("meetings.show", slug=community.slug,
                                                          meeting_id=meeting.id)
    event = Event()
    host = current_app.config.get("PUBLIC_URL", "").split("://")[-1] or "localhost"
    event.add("uid", f"meeting-{meeting.id}@{host}")
    event.add("dtstamp", utcnow().replace(tzinfo=UTC))
    event.add("dtstart", _local(meeting.starts_at))
    event.add("dtend", _local(meeting.ends_at))
    event.add("summary", f"{meeting.title} · {community.name}")
    if meeting.place:
        event.add("location", meeting.place)
    event.add("description", gettext("Agenda, attendance and minutes: %(url)s", url=url))
    event.add("url", url)
    if meeting.status == MeetingStatus.ENDED:
        event.add("status", "CONFIRMED")
    return event


def _finish(calendar: Calendar) -> bytes:
    calendar.add_missing_timezones()
    return calendar.to_ical()


def meeting_ics(*, meeting: Meeting, community: Community) -> bytes:
    calendar = _calendar(f"{meeting.title} · {community.name}")
    calendar.add_component(_event(meeting, community))
    return _finish(calendar)


def feed_of(user: User) -> CalendarFeed:
    """The person's feed, made on first use."""
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token=secrets.token_urlsafe(32))
        db.session.add(feed)
        db.session.commit()
    return feed


def reset_feed(*, actor: User) -> CalendarFeed:
    """A new secret address; the old one stops working."""
    feed = db.session.get(CalendarFeed, actor.id)
    if feed is None:
        return feed_of(actor)
    feed.token = secrets.token_urlsafe(32)
    feed.created_at = utcnow()
    db.session.commit()
    return feed


def feed_ics(token: str) -> bytes | None:
    """The feed behind ``token``, or None if no feed has it (any more)."""
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token == token))
    if feed is None:
        return None
    user = db.session.get(User, feed.user_id)
    if user is None or not user.is_active:
        return None
    rows = db.session.execute(
        select(Meeting, Community).join(Community, Community.id == Meeting.community_id)
        .join(Membership, Membership.community_id == Community.id)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.VERIFIED,
               Meeting.status != MeetingStatus.DRAFT, Meeting.starts_at >= utcnow() - FEED_PAST)
        .order_by(Meeting.starts_at)
    ).all()
    calendar = _calendar(gettext("Deliberation Hall meetings"))
    for meeting, community in rows:
        calendar.add_component(_event(meeting, community))
    return _finish(calendar)

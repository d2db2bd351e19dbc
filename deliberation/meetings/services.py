"""Meetings: scheduling and publishing with an agenda, attendance and check-in, the chair's
actions while live (items, the speakers' queue, in-meeting votes, notes), the minutes, and the
live state sent to the meeting's room (projectors and online followers).

Every change commits, then ``_announce`` sends the rendered public state to ``meeting:<id>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import realtime
from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus
from ..audit.services import record
from ..communities.models import Community, Membership, MembershipStatus
from ..communities.permissions import can, require
from ..communities.services import member_in
from ..errors import Conflict, InvalidTransition, NotFound, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..timeutil import utcnow
from ..urls import link
from ..voting import services as voting
from ..voting.models import Channel, Measure, MeasureStatus, Participation, Proxy, ProxyStatus
from .models import (
    AgendaEntry,
    Attendance,
    CheckIn,
    Meeting,
    MeetingMode,
    MeetingProxy,
    MeetingStatus,
    MinuteEntry,
    Presence,
    Speaker,
    SpeakerStatus,
)

TITLE_MAX = 120
PLACE_MAX = 200
NOTE_MAX = 2000
NAME_MAX = 60
MINUTES_MAX = 50_000
# The check-in code on the projector changes every minute; the one before still works for a
# minute, for someone who scanned just before it changed. Codes work from an hour before the
# start until the meeting ends, never from a link someone took home yesterday.
CHECKIN_PERIOD = 60
CHECKIN_OPENS = timedelta(hours=1)
# Items a meeting can take: on the agenda, not yet decided.
SCHEDULABLE = frozenset({ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED, ItemStatus.VOTING})


@realtime.room_reader("meeting")
def _meeting_room_reader(user, meeting_id: int) -> bool:
    meeting = db.session.get(Meeting, meeting_id)
    return meeting is not None and meeting.status != MeetingStatus.DRAFT


# ---------------------------------------------------------------- reading


def meeting_in(community: Community, meeting_id: int, viewer: User | None = None) -> Meeting:
    """A meeting of this community; drafts only for those who run meetings."""
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id,
                                                      Meeting.community_id == community.id))
    if meeting is None or (meeting.status == MeetingStatus.DRAFT and not can(viewer, community, "meetings.run")):
        raise NotFound(_l("That meeting does not exist in this community."))
    return meeting


def meetings_of(community: Community, viewer: User | None) -> tuple[list[Meeting], list[Meeting]]:
    """(upcoming and live, oldest first; past, newest first). Drafts for those who run meetings."""
    shown = [MeetingStatus.SCHEDULED, MeetingStatus.LIVE]
    if can(viewer, community, "meetings.run"):
        shown.append(MeetingStatus.DRAFT)
    upcoming = list(db.session.scalars(select(Meeting).where(
        Meeting.community_id == community.id, Meeting.status.in_(shown)).order_by(Meeting.starts_at)))
    past = list(db.session.scalars(select(Meeting).where(
        Meeting.community_id == community.id, Meeting.status == MeetingStatus.ENDED)
        .order_by(Meeting.starts_at.desc())))
    return upcoming, past


def invited_to(community: Community, user: User) -> list[tuple[Meeting, bool]]:
    """Published meetings still to come or under way (every member is invited), with whether
    ``user`` said they will come."""
    meetings = list(db.session.scalars(select(Meeting).where(
        Meeting.community_id == community.id, Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.LIVE]))
        .order_by(Meeting.starts_at)))
    coming = set(db.session.scalars(select(Attendance.meeting_id).where(
        Attendance.user_id == user.id, Attendance.meeting_id.in_([m.id for m in meetings]))))
    return [(m, m.id in coming) for m in meetings]


def entry_in(meeting: Meeting, entry_id: int) -> AgendaEntry:
    entry = db.session.scalar(select(AgendaEntry).where(AgendaEntry.id == entry_id,
                                                        AgendaEntry.meeting_id == meeting.id))
    if entry is None:
        raise NotFound(_l("That item is not on this meeting's agenda."))
    return entry


def schedulable_items(community: Community, meeting: Meeting) -> list[AgendaItem]:
    taken = select(AgendaEntry.item_id).where(AgendaEntry.meeting_id == meeting.id)
    return list(db.session.scalars(select(AgendaItem).where(
        AgendaItem.community_id == community.id, AgendaItem.status.in_(SCHEDULABLE),
        ~AgendaItem.id.in_(taken)).order_by(AgendaItem.id)))


def attending(meeting: Meeting, user: User | None) -> bool:
    return user is not None and db.session.scalar(select(Attendance.id).where(
        Attendance.meeting_id == meeting.id, Attendance.user_id == user.id)) is not None


def attendance_count(meeting: Meeting) -> int:
    return db.session.scalar(select(func.count(Attendance.id)).where(Attendance.meeting_id == meeting.id)) or 0


def check_in_of(meeting: Meeting, user: User | None) -> CheckIn | None:
    if user is None:
        return None
    return db.session.scalar(select(CheckIn).where(CheckIn.meeting_id == meeting.id, CheckIn.user_id == user.id))


@dataclass(frozen=True)
class Present:
    room: int
    online: int

    @property
    def total(self) -> int:
        return self.room + self.online


def present(meeting: Meeting) -> Present:
    counts = dict(db.session.execute(select(CheckIn.presence, func.count(CheckIn.id))
                                     .where(CheckIn.meeting_id == meeting.id).group_by(CheckIn.presence)).all())
    return Present(room=counts.get(Presence.ROOM, 0), online=counts.get(Presence.ONLINE, 0))


def check_ins(meeting: Meeting) -> list[CheckIn]:
    return list(db.session.scalars(select(CheckIn).where(CheckIn.meeting_id == meeting.id).order_by(CheckIn.id)
                                   .options(selectinload(CheckIn.user))))


def queue(meeting: Meeting) -> tuple[Speaker | None, list[Speaker]]:
    """(who is speaking, who waits in order) for the current item."""
    if meeting.current_id is None:
        return None, []
    rows = list(db.session.scalars(select(Speaker).where(
        Speaker.meeting_id == meeting.id, Speaker.entry_id == meeting.current_id,
        Speaker.status.in_([SpeakerStatus.WAITING, SpeakerStatus.SPEAKING]))
        .order_by(Speaker.position, Speaker.id)))
    speaking = next((s for s in rows if s.status == SpeakerStatus.SPEAKING), None)
    return speaking, [s for s in rows if s.status == SpeakerStatus.WAITING]


def my_request(meeting: Meeting, user: User | None) -> Speaker | None:
    if user is None or meeting.current_id is None:
        return None
    return db.session.scalar(select(Speaker).where(
        Speaker.meeting_id == meeting.id, Speaker.entry_id == meeting.current_id, Speaker.user_id == user.id,
        Speaker.status.in_([SpeakerStatus.WAITING, SpeakerStatus.SPEAKING])))


def current_measures(meeting: Meeting) -> list[Measure]:
    if meeting.current is None:
        return []
    return voting.measures_of(meeting.current.item)


def minute_entries(meeting: Meeting) -> list[MinuteEntry]:
    return list(db.session.scalars(select(MinuteEntry).where(MinuteEntry.meeting_id == meeting.id)
                                   .order_by(MinuteEntry.id)))


def meetings_of_item(item: AgendaItem) -> list[Meeting]:
    """Meetings (not drafts) whose agenda holds this item, for links from the item page."""
    return list(db.session.scalars(select(Meeting).join(AgendaEntry, AgendaEntry.meeting_id == Meeting.id).where(
        AgendaEntry.item_id == item.id, Meeting.status != MeetingStatus.DRAFT).order_by(Meeting.starts_at)))


def minutes_link(measure: Measure) -> str | None:
    """Where a measure's minutes are (or will be published): the meeting it was voted in, or
    else the latest meeting that took its item."""
    meeting = db.session.get(Meeting, measure.meeting_id) if measure.meeting_id else None
    if meeting is None:
        meeting = db.session.scalar(select(Meeting).join(AgendaEntry, AgendaEntry.meeting_id == Meeting.id).where(
            AgendaEntry.item_id == measure.item_id, AgendaEntry.started_at.is_not(None))
            .order_by(Meeting.starts_at.desc()).limit(1))
    if meeting is None:
        return None
    community = db.session.get(Community, meeting.community_id)
    return link("meetings.minutes", slug=community.slug, meeting_id=meeting.id)


# ---------------------------------------------------------------- scheduling


@dataclass
class MeetingDraft:
    title: str = ""
    mode: str = MeetingMode.HYBRID
    place: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    speaking_minutes: int | float | None = 3


def _checked(draft: MeetingDraft) -> dict:
    title = (draft.title or "").strip()
    if not title:
        raise ValidationError(_l("Please give the meeting a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(_l("Please keep the title under %(n)d characters.", n=TITLE_MAX), field="title")
    if draft.mode not in set(MeetingMode):
        raise ValidationError(_l("Please choose how people take part."), field="mode")
    place = (draft.place or "").strip()
    if len(place) > PLACE_MAX:
        raise ValidationError(_l("Please keep the place under %(n)d characters.", n=PLACE_MAX), field="place")
    if draft.mode != MeetingMode.ONLINE and not place:
        raise ValidationError(_l("Please say where the meeting is held."), field="place")
    if draft.starts_at is None:
        raise ValidationError(_l("Please choose when the meeting starts."), field="starts_at")
    if draft.ends_at is None or draft.ends_at <= draft.starts_at:
        raise ValidationError(_l("The meeting must end after it starts."), field="ends_at")
    if draft.ends_at - draft.starts_at > timedelta(hours=12):
        raise ValidationError(_l("A meeting can last at most 12 hours."), field="ends_at")
    try:
        seconds = int(round(float(draft.speaking_minutes or 0) * 60))
    except (TypeError, ValueError):
        raise ValidationError(_l("Please enter the speaking time in minutes."), field="speaking_minutes") from None
    if not 30 <= seconds <= 1800:
        raise ValidationError(_l("Speaking time must be between half a minute and 30 minutes."),
                              field="speaking_minutes")
    return {"title": title, "mode": draft.mode, "place": place, "starts_at": draft.starts_at,
            "ends_at": draft.ends_at, "speaking_seconds": seconds}


def schedule_meeting(*, actor: User, community: Community, draft: MeetingDraft) -> Meeting:
    """A chair prepares a meeting (a draft, until published)."""
    require(actor, community, "meetings.run")
    values = _checked(draft)
    if values["starts_at"] < utcnow() - timedelta(hours=1):
        raise ValidationError(_l("The start is in the past. Please choose a later time."), field="starts_at")
    meeting = Meeting(community_id=community.id, chair_id=actor.id, checkin_token=secrets.token_urlsafe(16),
                      **values)
    db.session.add(meeting)
    db.session.flush()
    record(actor=actor, action="meeting.scheduled", community=community, meeting_id=meeting.id)
    db.session.commit()
    return meeting


def update_meeting(*, actor: User, community: Community, meeting_id: int, draft: MeetingDraft) -> Meeting:
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
        raise InvalidTransition(_l("A meeting that has started can no longer be changed."))
    for key, value in _checked(draft).items():
        setattr(meeting, key, value)
    record(actor=actor, action="meeting.updated", community=community, meeting_id=meeting.id)
    db.session.commit()
    _announce(meeting)
    return meeting


def _editable_agenda(actor: User, community: Community, meeting_id: int) -> Meeting:
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status == MeetingStatus.ENDED:
        raise InvalidTransition(_l("The meeting has ended; its agenda is part of the minutes."))
    return meeting


def add_to_agenda(*, actor: User, community: Community, meeting_id: int, item_id: int, minutes) -> AgendaEntry:
    meeting = _editable_agenda(actor, community, meeting_id)
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.id == item_id,
                                                      AgendaItem.community_id == community.id))
    if item is None:
        raise NotFound(_l("That agenda item does not exist in this community."))
    if item.status not in SCHEDULABLE:
        raise InvalidTransition(
            _l("Only items accepted onto the agenda and not yet decided can be taken at a meeting."))
    minutes = _time_box(minutes)
    position = (db.session.scalar(select(func.max(AgendaEntry.position))
                                  .where(AgendaEntry.meeting_id == meeting.id)) or 0) + 1
    entry = AgendaEntry(meeting_id=meeting.id, item_id=item.id, position=position, minutes=minutes)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("That item is already on this meeting's agenda.")) from None
    if meeting.status != MeetingStatus.DRAFT:
        _schedule_item(item, actor)
    db.session.commit()
    _announce(meeting)
    return entry


def _time_box(minutes) -> int:
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise ValidationError(_l("Please give the time box in whole minutes."), field="minutes") from None
    if not 1 <= minutes <= 240:
        raise ValidationError(_l("A time box is between 1 and 240 minutes."), field="minutes")
    return minutes


def set_time_box(*, actor: User, community: Community, meeting_id: int, entry_id: int, minutes) -> AgendaEntry:
    meeting = _editable_agenda(actor, community, meeting_id)
    entry = entry_in(meeting, entry_id)
    entry.minutes = _time_box(minutes)
    db.session.commit()
    _announce(meeting)
    return entry


def move_on_agenda(*, actor: User, community: Community, meeting_id: int, entry_id: int, direction: str) -> None:
    meeting = _editable_agenda(actor, community, meeting_id)
    _move(list(meeting.agenda), entry_in(meeting, entry_id), direction)
    db.session.commit()
    _announce(meeting)


def _move(rows: list, row, direction: str) -> None:
    """Swap ``row`` with its neighbour ("up" or "down") and renumber the positions 1, 2, ..."""
    index = rows.index(row)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
        for position, each in enumerate(rows, start=1):
            each.position = position


def remove_from_agenda(*, actor: User, community: Community, meeting_id: int, entry_id: int) -> None:
    meeting = _editable_agenda(actor, community, meeting_id)
    entry = entry_in(meeting, entry_id)
    if entry.started_at is not None:
        raise InvalidTransition(_l("This item has already been taken in the meeting."))
    db.session.delete(entry)
    db.session.commit()
    _announce(meeting)


def _schedule_item(item: AgendaItem, actor: User) -> None:
    """A published meeting puts its items on the schedule (their timeline says so)."""
    if item.status in (ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW):
        agenda.move_item(item, ItemStatus.SCHEDULED, actor=actor)


def publish_meeting(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    """Members see the meeting and are told; its items are scheduled."""
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.DRAFT:
        raise InvalidTransition(_l("This meeting is already published."))
    if not meeting.agenda:
        raise InvalidTransition(_l("Please put at least one item on the agenda first."))
    meeting.status = MeetingStatus.SCHEDULED
    for entry in meeting.agenda:
        _schedule_item(entry.item, actor)
    members = db.session.scalars(select(Membership.user_id).where(
        Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED))
    sent = notifications.notify(
        recipients=members, kind="meeting.scheduled", actor=actor, community_id=community.id,
        link=link("meetings.show", slug=community.slug, meeting_id=meeting.id), title=meeting.title)
    record(actor=actor, action="meeting.published", community=community, meeting_id=meeting.id)
    db.session.commit()
    notifications.announce_to(sent)
    for entry in meeting.agenda:
        agenda.announce_status(entry.item)
    return meeting


def attend(*, actor: User, community: Community, meeting_id: int, on: bool, on_behalf_of: int | None = None) -> bool:
    """A member says they will come (or no longer will). Staff may answer for a managed
    resident (``on_behalf_of``); her reply shows it was entered by staff."""
    require(actor, community, "community.participate")
    member = agenda.participant(actor, community, on_behalf_of, "community.participate")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.LIVE):
        raise InvalidTransition(_l("You can only reply to a meeting that has not ended."))
    existing = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                          Attendance.user_id == member.id))
    if on and existing is None:
        db.session.add(Attendance(meeting_id=meeting.id, user_id=member.id,
                                  entered_by_id=actor.id if member is not actor else None))
    elif not on and existing is not None:
        db.session.delete(existing)
    if member is not actor:
        record(actor=actor, action="meeting.rsvp_for", community=community, subject=member, meeting_id=meeting.id,
               coming=bool(on))
    try:
        db.session.commit()
    except IntegrityError:  # a double click: one reply is kept
        db.session.rollback()
    return on


# ---------------------------------------------------------------- running the meeting


def _note(meeting: Meeting, kind: str, *, actor: User | None = None, text: str = "", **data) -> None:
    db.session.add(MinuteEntry(meeting_id=meeting.id, entry_id=meeting.current_id, kind=kind, text=text,
                               data=data, author_id=actor.id if actor else None))


def _live(actor: User, community: Community, meeting_id: int, action: str = "meetings.run") -> Meeting:
    require(actor, community, action)
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id, Meeting.community_id == community.id)
                                .with_for_update())
    if meeting is None:
        raise NotFound(_l("That meeting does not exist in this community."))
    if meeting.status != MeetingStatus.LIVE:
        raise InvalidTransition(_l("The meeting is not in progress."))
    return meeting


def start_meeting(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise InvalidTransition(_l("Only a published meeting that has not started can be started."))
    if not meeting.agenda:
        raise InvalidTransition(_l("Please put at least one item on the agenda first."))
    changed = db.session.execute(update(Meeting).where(Meeting.id == meeting.id,
                                                       Meeting.status == MeetingStatus.SCHEDULED)
                                 .values(status=MeetingStatus.LIVE, started_at=utcnow())).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict()
    db.session.refresh(meeting)
    _note(meeting, "started", actor=actor)
    record(actor=actor, action="meeting.started", community=community, meeting_id=meeting.id)
    db.session.commit()
    _announce(meeting)
    return meeting


def _finish_speaker(meeting: Meeting, now: datetime) -> None:
    speaking, _ = queue(meeting)
    if speaking is not None:
        speaking.status = SpeakerStatus.DONE
        speaking.ended_at = now
        seconds = int((now - speaking.started_at).total_seconds()) if speaking.started_at else 0
        _note(meeting, "spoke", text=speaking.name, seconds=seconds, over=max(seconds - meeting.speaking_seconds, 0))


def _leave_current(meeting: Meeting, now: datetime) -> None:
    if meeting.current is None:
        return
    _finish_speaker(meeting, now)
    db.session.execute(update(Speaker).where(Speaker.entry_id == meeting.current_id,
                                             Speaker.status == SpeakerStatus.WAITING)
                       .values(status=SpeakerStatus.WITHDRAWN, ended_at=now))
    meeting.current.ended_at = now


def take_item(*, actor: User, community: Community, meeting_id: int, entry_id: int | None = None) -> Meeting:
    """Move to an agenda item (``None``: the next one in order)."""
    meeting = _live(actor, community, meeting_id)
    entries = list(meeting.agenda)
    if entry_id is None:
        position = entries.index(meeting.current) + 1 if meeting.current in entries else 0
        if position >= len(entries):
            raise InvalidTransition(_l("This was the last item on the agenda."))
        target = entries[position]
    else:
        target = entry_in(meeting, entry_id)
    if target.id == meeting.current_id:
        return meeting
    now = utcnow()
    _leave_current(meeting, now)
    meeting.current_id = target.id
    meeting.current = target
    target.started_at = target.started_at or now
    target.ended_at = None
    _note(meeting, "item", text=target.item.title, item_id=target.item_id)
    db.session.commit()
    _announce(meeting)
    return meeting


def end_meeting(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    meeting = _live(actor, community, meeting_id)
    if any(m.status == MeasureStatus.OPEN and m.meeting_id == meeting.id for m in _meeting_measures(meeting)):
        raise InvalidTransition(_l("A vote of this meeting is still open. Please close it first."))
    now = utcnow()
    _leave_current(meeting, now)
    meeting.current_id = None
    meeting.status = MeetingStatus.ENDED
    meeting.ended_at = now
    _note(meeting, "ended", actor=actor)
    db.session.flush()
    meeting.minutes_text = draft_minutes(meeting)
    record(actor=actor, action="meeting.ended", community=community, meeting_id=meeting.id)
    db.session.commit()
    _announce(meeting)
    return meeting


def _meeting_measures(meeting: Meeting) -> list[Measure]:
    return list(db.session.scalars(select(Measure).where(Measure.meeting_id == meeting.id)))


# ---------------------------------------------------------------- check-in


def _check_in(meeting: Meeting, user: User, presence: str, how: str, by: User | None) -> CheckIn:
    existing = check_in_of(meeting, user)
    if existing is not None:
        if existing.presence == Presence.ONLINE and presence == Presence.ROOM:
            # They arrived after following online: count them in the room, once.
            existing.presence, existing.how = Presence.ROOM, how
            existing.by_id = by.id if by else None
            db.session.commit()
            _announce(meeting)
        return existing
    check_in = CheckIn(meeting_id=meeting.id, user_id=user.id, presence=presence, how=how,
                       by_id=by.id if by else None)
    db.session.add(check_in)
    try:
        db.session.commit()
    except IntegrityError:  # checked in twice at once: the first one stands
        db.session.rollback()
        return check_in_of(meeting, user)
    _announce(meeting)
    return check_in


def _checkin_meeting(community: Community, meeting_id: int) -> Meeting:
    meeting = meeting_in(community, meeting_id)
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.LIVE):
        raise InvalidTransition(_l("Check-in is open while the meeting is about to start or in progress."))
    return meeting


def checkin_open(meeting: Meeting, now: datetime | None = None) -> bool:
    """Codes on the projector work while the meeting runs and in the hour before its start."""
    now = now or utcnow()
    return meeting.status == MeetingStatus.LIVE or (
        meeting.status == MeetingStatus.SCHEDULED and now >= meeting.starts_at - CHECKIN_OPENS)


def _code_of(meeting: Meeting, period: int) -> str:
    # Keyed with the app's secret as well as the meeting's own token: a copy of the database
    # alone does not give the codes.
    key = f"{current_app.config['SECRET_KEY']}:{meeting.checkin_token}".encode()
    mac = hmac.new(key, f"checkin:{meeting.id}:{period}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode().lower()


def _period(now: datetime) -> int:
    """Which minute-long period a (naive UTC) moment falls in."""
    return int((now - datetime(1970, 1, 1)).total_seconds()) // CHECKIN_PERIOD


def checkin_code(meeting: Meeting, now: datetime | None = None) -> str | None:
    """The code the projector shows now; None while check-in by code is closed."""
    now = now or utcnow()
    return _code_of(meeting, _period(now)) if checkin_open(meeting, now) else None


def check_in_with_code(*, actor: User, community: Community, meeting_id: int, token: str) -> CheckIn:
    """A member in the room scanned the QR code on the projector (and confirmed)."""
    require(actor, community, "community.participate")
    meeting = meeting_in(community, meeting_id, actor)
    now = utcnow()
    if not checkin_open(meeting, now):
        raise InvalidTransition(_l("Check-in with the code on the screen opens an hour before the start and "
                                   "closes when the meeting ends."))
    if meeting.mode == MeetingMode.ONLINE:
        raise InvalidTransition(_l("This meeting is held online only: press \"join online\" on the meeting page."))
    period = _period(now)
    given = str(token or "")
    if not any(secrets.compare_digest(given, _code_of(meeting, p)) for p in (period, period - 1)):
        raise ValidationError(_l("This check-in code is not valid. Please scan the code on the screen again."))
    return _check_in(meeting, actor, Presence.ROOM, "qr", None)


def check_in_member(*, actor: User, community: Community, meeting_id: int, user_id: int) -> CheckIn:
    """Staff (or the chair) tick off someone in the room, e.g. a resident without a phone."""
    require(actor, community, "meetings.checkin")
    meeting = _checkin_meeting(community, meeting_id)
    member = member_in(community, int(user_id))
    check_in = _check_in(meeting, member, Presence.ROOM, "staff", actor)
    record(actor=actor, action="meeting.checked_in", community=community, subject=member, meeting_id=meeting.id)
    db.session.commit()
    return check_in


def undo_check_in(*, actor: User, community: Community, meeting_id: int, user_id: int) -> None:
    """Staff or the chair take back a wrong check-in (audited): they are no longer present."""
    require(actor, community, "meetings.checkin")
    meeting = _checkin_meeting(community, meeting_id)
    existing = db.session.scalar(select(CheckIn).where(CheckIn.meeting_id == meeting.id,
                                                       CheckIn.user_id == int(user_id)))
    if existing is None:
        return
    subject = db.session.get(User, existing.user_id)
    db.session.delete(existing)
    record(actor=actor, action="meeting.check_in_undone", community=community, subject=subject,
           meeting_id=meeting.id)
    db.session.commit()
    _announce(meeting)


def join_online(*, actor: User, community: Community, meeting_id: int) -> CheckIn:
    """A member follows the live meeting online and is counted as present online."""
    require(actor, community, "community.participate")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.LIVE:
        raise InvalidTransition(_l("The meeting is not in progress."))
    if meeting.mode == MeetingMode.IN_PERSON:
        raise InvalidTransition(_l("This meeting is held in person only."))
    return _check_in(meeting, actor, Presence.ONLINE, "online", None)


# ---------------------------------------------------------------- the projector link


def may_project(viewer: User | None, community: Community, meeting: Meeting, key: str | None) -> bool:
    """The projector (with its check-in code) opens for a chair or staff who is logged in, or
    through the chair's projector link while it is not revoked."""
    if can(viewer, community, "meetings.run") or can(viewer, community, "meetings.checkin"):
        return True
    return bool(meeting.projector_token and key and secrets.compare_digest(str(key), meeting.projector_token))


def issue_projector_link(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    """A new unguessable projector link; any earlier one stops working."""
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status == MeetingStatus.ENDED:
        raise InvalidTransition(_l("The meeting has ended."))
    meeting.projector_token = secrets.token_urlsafe(24)
    record(actor=actor, action="meeting.projector_link_issued", community=community, meeting_id=meeting.id)
    db.session.commit()
    return meeting


def revoke_projector_link(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    meeting.projector_token = None
    record(actor=actor, action="meeting.projector_link_revoked", community=community, meeting_id=meeting.id)
    db.session.commit()
    return meeting


# ---------------------------------------------------------------- the speakers' queue


def _next_position(meeting: Meeting) -> int:
    return (db.session.scalar(select(func.max(Speaker.position)).where(
        Speaker.meeting_id == meeting.id, Speaker.entry_id == meeting.current_id)) or 0) + 1


def request_to_speak(*, actor: User, community: Community, meeting_id: int) -> Speaker:
    """A member (online, or in the room on their phone) asks to speak on the current item."""
    meeting = _live(actor, community, meeting_id, "community.participate")
    if meeting.current_id is None:
        raise InvalidTransition(_l("No item is being discussed yet."))
    if my_request(meeting, actor) is not None:
        raise Conflict(_l("You are already in the queue for this item."))
    check_in = check_in_of(meeting, actor)
    speaker = Speaker(meeting_id=meeting.id, entry_id=meeting.current_id, user_id=actor.id,
                      name=actor.display_name[:NAME_MAX], position=_next_position(meeting),
                      source=check_in.presence if check_in else Presence.ONLINE)
    db.session.add(speaker)
    db.session.commit()
    _announce(meeting)
    return speaker


def withdraw_request(*, actor: User, community: Community, meeting_id: int) -> None:
    meeting = _live(actor, community, meeting_id, "community.participate")
    mine = my_request(meeting, actor)
    if mine is None or mine.status != SpeakerStatus.WAITING:
        raise InvalidTransition(_l("You are not waiting to speak."))
    mine.status, mine.ended_at = SpeakerStatus.WITHDRAWN, utcnow()
    db.session.commit()
    _announce(meeting)


def add_speaker(*, actor: User, community: Community, meeting_id: int, name: str) -> Speaker:
    """The chair adds someone in the room by name."""
    meeting = _live(actor, community, meeting_id)
    if meeting.current_id is None:
        raise InvalidTransition(_l("No item is being discussed yet."))
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(_l("Please write the speaker's name."), field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(_l("Please keep the name under %(n)d characters.", n=NAME_MAX), field="name")
    speaker = Speaker(meeting_id=meeting.id, entry_id=meeting.current_id, name=name, source=Presence.ROOM,
                      position=_next_position(meeting))
    db.session.add(speaker)
    db.session.commit()
    _announce(meeting)
    return speaker


def _waiting(meeting: Meeting, speaker_id: int) -> Speaker:
    speaker = db.session.scalar(select(Speaker).where(
        Speaker.id == speaker_id, Speaker.meeting_id == meeting.id, Speaker.entry_id == meeting.current_id))
    if speaker is None or speaker.status != SpeakerStatus.WAITING:
        raise NotFound(_l("That person is not waiting to speak."))
    return speaker


def move_speaker(*, actor: User, community: Community, meeting_id: int, speaker_id: int, direction: str) -> None:
    meeting = _live(actor, community, meeting_id)
    speaker = _waiting(meeting, speaker_id)
    _move(queue(meeting)[1], speaker, direction)
    db.session.commit()
    _announce(meeting)


def remove_speaker(*, actor: User, community: Community, meeting_id: int, speaker_id: int) -> None:
    meeting = _live(actor, community, meeting_id)
    speaker = _waiting(meeting, speaker_id)
    speaker.status, speaker.ended_at = SpeakerStatus.WITHDRAWN, utcnow()
    db.session.commit()
    _announce(meeting)


def call_next(*, actor: User, community: Community, meeting_id: int) -> Speaker | None:
    """The current speaker is done; the first in the queue speaks and their timer starts."""
    meeting = _live(actor, community, meeting_id)
    now = utcnow()
    _finish_speaker(meeting, now)
    _, waiting = queue(meeting)
    following = waiting[0] if waiting else None
    if following is not None:
        following.status, following.started_at = SpeakerStatus.SPEAKING, now
    elif meeting.current_id is None:
        raise InvalidTransition(_l("No item is being discussed yet."))
    db.session.commit()
    _announce(meeting)
    return following


def finish_speaker(*, actor: User, community: Community, meeting_id: int) -> None:
    meeting = _live(actor, community, meeting_id)
    _finish_speaker(meeting, utcnow())
    db.session.commit()
    _announce(meeting)


# ---------------------------------------------------------------- votes and notes


def _current_measure(meeting: Meeting, measure_id: int) -> Measure:
    measure = next((m for m in current_measures(meeting) if m.id == int(measure_id)), None)
    if measure is None:
        raise NotFound(_l("That measure does not belong to the item being discussed."))
    return measure


def open_vote(*, actor: User, community: Community, meeting_id: int, measure_id: int) -> Measure:
    """Open one of the current item's measures in the meeting: those present (in the room or
    online) and eligible are its roll."""
    meeting = _live(actor, community, meeting_id)
    measure = _current_measure(meeting, measure_id)
    present_ids = set(db.session.scalars(select(CheckIn.user_id).where(CheckIn.meeting_id == meeting.id)))
    # A member who gave a meeting proxy to someone present takes part through them.
    carried = [p for p in active_meeting_proxies(meeting) if p.delegate_id in present_ids]
    proxies = [(p.grantor_id, p.delegate_id, p.channel, p.entered_by_id) for p in carried]
    db.session.commit()  # release the meeting row before the voting service's own transaction
    measure = voting.open_measure(actor=actor, community=community, measure_id=measure.id, meeting_id=meeting.id,
                                  present=present_ids | {p[0] for p in proxies}, proxies=proxies)
    _note(meeting, "vote_opened", text=measure.question, measure_id=measure.id,
          eligible=voting.turnout(measure).eligible)
    db.session.commit()
    # The voting service's measure_changed signal has already sent the new state to the room.
    return measure


def close_vote(*, actor: User, community: Community, meeting_id: int, measure_id: int) -> Measure:
    meeting = _live(actor, community, meeting_id)
    measure = _current_measure(meeting, measure_id)
    db.session.commit()
    measure = voting.close_measure(actor=actor, community=community, measure_id=measure.id)
    _note_result(meeting, measure)
    db.session.commit()
    # The voting service's measure_changed signal has already sent the new state to the room.
    return measure


def record_hands(*, actor: User, community: Community, meeting_id: int, measure_id: int, counts: dict,
                 note: str = "") -> Measure:
    """A show of hands in the room on a vote opened in the meeting, counted against everyone
    present and eligible."""
    meeting = _live(actor, community, meeting_id)
    measure = _current_measure(meeting, measure_id)
    db.session.commit()
    # Everyone on the vote's roll is present (the roll was taken from who checked in).
    measure = voting.record_show_of_hands(actor=actor, community=community, measure_id=measure.id, counts=counts,
                                          present=voting.turnout(measure).eligible, note=note)
    _note_result(meeting, measure)
    db.session.commit()
    # The voting service's measure_changed signal has already sent the new state to the room.
    return measure


def _note_result(meeting: Meeting, measure: Measure) -> None:
    result = measure.result or {}
    _note(meeting, "vote_closed", text=measure.question, measure_id=measure.id, outcome=result.get("outcome"),
          winner=result.get("winner"), counts=result.get("counts"), cast=(result.get("cast") or {}).get("count"),
          eligible=(result.get("eligible") or {}).get("count"), method=measure.method)


def add_note(*, actor: User, community: Community, meeting_id: int, text: str) -> MinuteEntry:
    meeting = _live(actor, community, meeting_id)
    text = (text or "").strip()
    if not text:
        raise ValidationError(_l("Please write the note."), field="text")
    if len(text) > NOTE_MAX:
        raise ValidationError(_l("Please keep the note under %(n)d characters.", n=NOTE_MAX), field="text")
    _note(meeting, "note", actor=actor, text=text)
    db.session.commit()
    _announce(meeting)
    return minute_entries(meeting)[-1]


# ---------------------------------------------------------------- proxies for the whole meeting


def active_meeting_proxies(meeting: Meeting) -> list[MeetingProxy]:
    return list(db.session.scalars(select(MeetingProxy).where(
        MeetingProxy.meeting_id == meeting.id, MeetingProxy.status == "active").order_by(MeetingProxy.id)))


def meeting_proxy_from(meeting: Meeting, user: User | None) -> MeetingProxy | None:
    if user is None:
        return None
    return db.session.scalar(select(MeetingProxy).where(
        MeetingProxy.meeting_id == meeting.id, MeetingProxy.grantor_id == user.id, MeetingProxy.status == "active"))


def meeting_proxies_held(meeting: Meeting, user: User | None) -> list[MeetingProxy]:
    if user is None:
        return []
    return list(db.session.scalars(select(MeetingProxy).where(
        MeetingProxy.meeting_id == meeting.id, MeetingProxy.delegate_id == user.id, MeetingProxy.status == "active")
        .order_by(MeetingProxy.id)))


def grant_meeting_proxy(*, actor: User, community: Community, meeting_id: int, delegate_id: int,
                        grantor_id: int | None = None) -> MeetingProxy:
    """A member authorises another to vote for them on every measure voted in this meeting
    (where the member is entitled to vote). Staff may enter a paper authorisation."""
    on_paper = grantor_id is not None and int(grantor_id) != actor.id
    if on_paper:
        require(actor, community, "votes.paper")
        grantor = member_in(community, int(grantor_id))
    else:
        require(actor, community, "community.participate")
        grantor = actor
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.LIVE):
        raise InvalidTransition(_l("A proxy can be given for a meeting that has not ended."))
    delegate = voting.proxy_delegate(community, delegate_id)
    if delegate.id == grantor.id:
        raise ValidationError(_l("Choose someone else to vote for you."), field="delegate_id")
    # Lock both memberships: two grants by one member, or for one delegate, take turns.
    db.session.scalars(select(Membership).where(
        Membership.community_id == community.id, Membership.user_id.in_([grantor.id, delegate.id]))
        .order_by(Membership.user_id).with_for_update()).all()
    if meeting_proxy_from(meeting, grantor) is not None:
        raise InvalidTransition(_l("There is already a proxy for this meeting. Revoke it first to choose someone "
                                   "else."))
    if len(meeting_proxies_held(meeting, delegate)) >= community.max_proxies:
        raise InvalidTransition(_l("%(name)s already holds the most proxies allowed here (%(n)d).",
                                   name=delegate.display_name, n=community.max_proxies), field="delegate_id")
    proxy = MeetingProxy(meeting_id=meeting.id, grantor_id=grantor.id, delegate_id=delegate.id,
                         channel=Channel.PAPER if on_paper else Channel.ONLINE,
                         entered_by_id=actor.id if on_paper else None)
    db.session.add(proxy)
    record(actor=actor, action="proxy.granted", community=community, subject=grantor, meeting_id=meeting.id,
           delegate_id=delegate.id)
    sent = notifications.notify(recipients=[delegate.id], kind="proxy.granted", actor=None,
                                community_id=community.id,
                                link=link("meetings.show", slug=community.slug, meeting_id=meeting.id),
                                name=grantor.display_name, question=meeting.title)
    db.session.commit()
    notifications.announce_to(sent)
    return proxy


def revoke_meeting_proxy(*, actor: User, community: Community, meeting_id: int, proxy_id: int) -> MeetingProxy:
    """The member (or staff, for a paper authorisation) takes a meeting proxy back, until it
    has voted; open votes' proxies from it are revoked too."""
    meeting = meeting_in(community, meeting_id, actor)
    proxy = db.session.scalar(select(MeetingProxy).where(MeetingProxy.id == proxy_id,
                                                         MeetingProxy.meeting_id == meeting.id).with_for_update())
    if proxy is None:
        raise NotFound(_l("That proxy does not exist in this community."))
    if proxy.grantor_id != actor.id:
        require(actor, community, "votes.paper")
    if proxy.status != "active":
        raise InvalidTransition(_l("This proxy was already revoked."))
    used = db.session.scalar(select(Participation.id).join(Measure, Measure.id == Participation.measure_id).where(
        Measure.meeting_id == meeting.id, Participation.voter_id == proxy.grantor_id,
        Participation.channel == Channel.PROXY).limit(1))
    if used is not None:
        raise InvalidTransition(_l("The proxy has already voted; the ballot is final."))
    proxy.status, proxy.revoked_at = "revoked", utcnow()
    record(actor=actor, action="proxy.revoked", community=community, meeting_id=meeting.id, proxy_id=proxy.id)
    db.session.commit()
    # Votes open now: their copy of this proxy goes too (the voting service checks again).
    for measure_proxy in db.session.scalars(select(Proxy).join(Measure, Measure.id == Proxy.measure_id).where(
            Measure.meeting_id == meeting.id, Measure.status == MeasureStatus.OPEN,
            Proxy.grantor_id == proxy.grantor_id, Proxy.delegate_id == proxy.delegate_id,
            Proxy.status == ProxyStatus.ACTIVE)).all():
        voting.revoke_proxy(actor=actor, community=community, proxy_id=measure_proxy.id)
    return proxy


# ---------------------------------------------------------------- minutes


def draft_minutes(meeting: Meeting) -> str:
    """The minutes written from what happened (Markdown), for the chair to edit."""
    from flask_babel import gettext as _

    from ..timeutil import utc_to_local

    def at(moment: datetime | None) -> str:
        return utc_to_local(moment).strftime("%H:%M") if moment else ""

    lines = [f"# {meeting.title}", ""]
    start, end = meeting.started_at or meeting.starts_at, meeting.ended_at or meeting.ends_at
    lines.append(_("%(day)s, %(start)s–%(end)s, %(place)s", day=utc_to_local(start).strftime("%Y-%m-%d"),
                   start=at(start), end=at(end), place=meeting.place or _("online")))
    counts = present(meeting)
    lines.append(_("Present: %(room)d in the room, %(online)d online. Chair: %(chair)s.", room=counts.room,
                   online=counts.online, chair=meeting.chair.display_name))
    by_entry: dict[int | None, list[MinuteEntry]] = {}
    for entry in minute_entries(meeting):
        by_entry.setdefault(entry.entry_id, []).append(entry)
    for number, entry in enumerate(meeting.agenda, start=1):
        lines += ["", f"## {number}. {entry.item.title}"]
        if entry.started_at is None:
            lines.append(_("Not taken at this meeting."))
            continue
        lines.append(_("Taken %(start)s–%(end)s (time box %(n)d min).", start=at(entry.started_at),
                       end=at(entry.ended_at), n=entry.minutes))
        for line in by_entry.get(entry.id, []):
            if line.kind == "spoke":
                minutes, seconds = divmod(line.data.get("seconds", 0), 60)
                lines.append("- " + _("%(name)s spoke (%(m)d:%(s)02d).", name=line.text, m=minutes, s=seconds))
            elif line.kind == "vote_opened":
                lines.append("- " + _("Vote opened: %(q)s", q=line.text))
            elif line.kind == "vote_closed":
                lines.append("- " + _("Vote closed: %(q)s — %(outcome)s (%(cast)s of %(eligible)s took part).",
                                      q=line.text, outcome=_outcome_words(line.data),
                                      cast=line.data.get("cast", "?"), eligible=line.data.get("eligible", "?")))
            elif line.kind == "note":
                lines.append("- " + line.text)
    return "\n".join(lines) + "\n"


def _outcome_words(data: dict) -> str:
    from ..voting.labels import OUTCOME_LABELS

    words = str(OUTCOME_LABELS.get(data.get("outcome"), data.get("outcome") or ""))
    return f"{words}: {data['winner']}" if data.get("winner") else words


def save_minutes(*, actor: User, community: Community, meeting_id: int, text: str, publish: bool = False) -> Meeting:
    """Save the edited minutes; with ``publish``, publish them in the same transaction."""
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.ENDED:
        raise InvalidTransition(_l("Minutes are written after the meeting ends."))
    if meeting.minutes_published_at is not None:
        raise InvalidTransition(_l("The minutes are published and can no longer be changed."))
    text = (text or "").strip()
    if not text:
        raise ValidationError(_l("The minutes cannot be empty."), field="text")
    if len(text) > MINUTES_MAX:
        raise ValidationError(_l("The minutes are too long."), field="text")
    meeting.minutes_text = text + "\n"
    if publish:
        _publish_minutes(actor, community, meeting)
    db.session.commit()
    return meeting


def publish_minutes(*, actor: User, community: Community, meeting_id: int) -> Meeting:
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.ENDED:
        raise InvalidTransition(_l("Minutes are written after the meeting ends."))
    _publish_minutes(actor, community, meeting)
    db.session.commit()
    db.session.refresh(meeting)
    return meeting


def _publish_minutes(actor: User, community: Community, meeting: Meeting) -> None:
    """Publish once: conditional on not being published, so two racing publishes do not both."""
    changed = db.session.execute(update(Meeting).where(Meeting.id == meeting.id,
                                                       Meeting.minutes_published_at.is_(None))
                                 .values(minutes_published_at=utcnow())).rowcount
    if changed != 1:
        db.session.rollback()
        raise InvalidTransition(_l("The minutes are already published."))
    record(actor=actor, action="meeting.minutes_published", community=community, meeting_id=meeting.id)


# ---------------------------------------------------------------- live


def live_context(meeting: Meeting) -> dict:
    community = db.session.get(Community, meeting.community_id)
    speaking, waiting = queue(meeting)
    measures = current_measures(meeting)
    return {"community": community, "meeting": meeting, "speaking": speaking, "waiting": waiting,
            "present": present(meeting), "measures": measures,
            "turnouts": {m.id: voting.turnout(m) for m in measures if m.status != MeasureStatus.DRAFT},
            "results": {m.id: voting.current_result(m) for m in measures if m.status != MeasureStatus.DRAFT},
            "now": utcnow()}


def _announce(meeting: Meeting) -> None:
    """The meeting's public state to its room: the projector's stage and the followers' panel."""
    if meeting.status == MeetingStatus.DRAFT:
        return
    db.session.refresh(meeting)
    realtime.announce(f"meeting:{meeting.id}", "meeting.projector",
                      render=lambda: render_template("meetings/_projector_state.html", **live_context(meeting)),
                      target=f"#projector-{meeting.id}", replaces=True)
    realtime.announce(f"meeting:{meeting.id}", "meeting.state",
                      render=lambda: render_template("meetings/_live_state.html", **live_context(meeting)),
                      target=f"#meeting-live-{meeting.id}", replaces=True)


@voting.measure_changed.connect
def _follow_votes(measure: Measure) -> None:
    """Turnout and results of a vote on the current item reach the projector live."""
    for meeting in db.session.scalars(select(Meeting).join(AgendaEntry, AgendaEntry.id == Meeting.current_id).where(
            Meeting.status == MeetingStatus.LIVE, AgendaEntry.item_id == measure.item_id)):
        _announce(meeting)

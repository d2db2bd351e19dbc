"""Reminders to the people who have not acted yet: a vote closing soon and they have not voted,
a meeting they said they would come to starting soon and they have not checked in, a review due
soon and not submitted. Each person is reminded once per vote, meeting or review (the
``reminders`` table's unique key), however often this runs and in however many processes."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..communities.models import Community
from ..extensions import db
from ..meetings.models import Attendance, CheckIn, Meeting, MeetingStatus
from ..review.models import RequestStatus, ReviewRequest
from ..timeutil import local_today, utc_to_local, utcnow
from ..urls import link
from ..voting.models import Eligibility, Measure, MeasureStatus, Participation
from .models import Reminder
from .services import plan_messages


def _when(moment: datetime) -> str:
    return utc_to_local(moment).strftime("%Y-%m-%d %H:%M")


def _remind(*, kind: str, subject_id: int, user_id: int, community_id: int, link_to: str, now: datetime,
            **params) -> bool:
    """Record the reminder and plan its messages in one savepoint: a reminder already recorded
    (by another process, or an earlier run) is skipped."""
    user = db.session.get(User, user_id)
    if user is None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Reminder(kind=kind, subject_id=subject_id, user_id=user_id, created_at=now))
            db.session.flush()
            plan_messages(user=user, kind=kind, params=params, link=link_to, community_id=community_id, now=now)
    except IntegrityError:
        return False
    return True


def _already(kind: str):
    return select(Reminder.user_id).where(Reminder.kind == kind)


def send_reminders(*, now: datetime | None = None) -> int:
    """Plan every reminder that is due now; returns how many people were reminded."""
    now = now or utcnow()
    config = current_app.config
    sent = 0

    horizon = now + timedelta(hours=int(config.get("REMIND_VOTE_HOURS", 24)))
    measures = db.session.scalars(select(Measure).where(
        Measure.status == MeasureStatus.OPEN, Measure.closes_at.is_not(None), Measure.closes_at > now,
        Measure.closes_at <= horizon))
    for measure in list(measures):
        community = db.session.get(Community, measure.community_id)
        waiting = db.session.scalars(
            select(Eligibility.user_id)
            .outerjoin(Participation, and_(Participation.measure_id == Eligibility.measure_id,
                                           Participation.voter_id == Eligibility.user_id))
            .where(Eligibility.measure_id == measure.id, Participation.id.is_(None),
                   Eligibility.user_id.not_in(_already("reminder.vote_closing").where(
                       Reminder.subject_id == measure.id))))
        for user_id in list(waiting):
            sent += _remind(kind="reminder.vote_closing", subject_id=measure.id, user_id=user_id,
                            community_id=measure.community_id, now=now, item=measure.item.title,
                            when=_when(measure.closes_at),
                            link_to=link("voting.show", slug=community.slug, measure_id=measure.id))

    horizon = now + timedelta(hours=int(config.get("REMIND_MEETING_HOURS", 24)))
    meetings = db.session.scalars(select(Meeting).where(
        Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now, Meeting.starts_at <= horizon))
    for meeting in list(meetings):
        community = db.session.get(Community, meeting.community_id)
        coming = db.session.scalars(
            select(Attendance.user_id).where(
                Attendance.meeting_id == meeting.id,
                Attendance.user_id.not_in(select(CheckIn.user_id).where(CheckIn.meeting_id == meeting.id)),
                Attendance.user_id.not_in(_already("reminder.meeting_starting").where(
                    Reminder.subject_id == meeting.id))))
        for user_id in list(coming):
            sent += _remind(kind="reminder.meeting_starting", subject_id=meeting.id, user_id=user_id,
                            community_id=meeting.community_id, now=now, title=meeting.title,
                            when=_when(meeting.starts_at),
                            link_to=link("meetings.show", slug=community.slug, meeting_id=meeting.id))

    due_by = local_today() + timedelta(days=int(config.get("REMIND_REVIEW_DAYS", 1)))
    requests = db.session.scalars(select(ReviewRequest).where(
        ReviewRequest.status.in_([RequestStatus.PENDING, RequestStatus.ACCEPTED]), ReviewRequest.due_on <= due_by,
        ReviewRequest.due_on >= local_today(),
        ReviewRequest.reviewer_id.not_in(_already("reminder.review_due").where(
            Reminder.subject_id == ReviewRequest.id))))
    for request in list(requests):
        community = request.item.community
        sent += _remind(kind="reminder.review_due", subject_id=request.id, user_id=request.reviewer_id,
                        community_id=community.id, now=now, item=request.item.title,
                        when=request.due_on.isoformat(), link_to=link("review.mine", slug=community.slug))
    db.session.commit()
    return sent

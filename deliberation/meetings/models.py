"""Models of meetings (会议): the meeting and its agenda with time boxes, who said they would
come, who is present (in the room or online), the speakers' queue, and the minutes as they
build themselves during the meeting."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..agenda.models import AgendaItem
from ..extensions import db
from ..timeutil import utcnow


class MeetingStatus(StrEnum):
    DRAFT = "draft"  # being prepared by the chair
    SCHEDULED = "scheduled"  # published: members see it and say they will come
    LIVE = "live"
    ENDED = "ended"


class MeetingMode(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class Presence(StrEnum):
    ROOM = "room"
    ONLINE = "online"


class SpeakerStatus(StrEnum):
    WAITING = "waiting"
    SPEAKING = "speaking"
    DONE = "done"
    WITHDRAWN = "withdrawn"  # by themself, removed by the chair, or the item moved on


class Meeting(db.Model):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(10), default=MeetingMode.HYBRID)
    place: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    speaking_seconds: Mapped[int] = mapped_column(default=180)  # each speaker's time
    status: Mapped[str] = mapped_column(String(10), default=MeetingStatus.DRAFT)
    # The agenda entry being taken now (while live).
    current_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_agenda.id", use_alter=True))
    # The check-in QR code carries this: knowing it means having seen the projector.
    checkin_token: Mapped[str] = mapped_column(String(32))
    # The chair's projector link (revocable); None when there is none.
    projector_token: Mapped[str | None] = mapped_column(String(48))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    minutes_text: Mapped[str] = mapped_column(Text, default="")
    minutes_published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chair: Mapped[User] = relationship()
    agenda: Mapped[list[AgendaEntry]] = relationship(
        order_by="AgendaEntry.position", foreign_keys="AgendaEntry.meeting_id", back_populates="meeting")
    current: Mapped[AgendaEntry | None] = relationship(foreign_keys=[current_id], post_update=True)


class AgendaEntry(db.Model):
    """An accepted agenda item on a meeting's agenda, in order, with its time box."""

    __tablename__ = "meeting_agenda"
    __table_args__ = (UniqueConstraint("meeting_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[int] = mapped_column(default=15)  # the time box
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    meeting: Mapped[Meeting] = relationship(foreign_keys=[meeting_id], back_populates="agenda")
    item: Mapped[AgendaItem] = relationship()


class Attendance(db.Model):
    """A member said they will come."""

    __tablename__ = "meeting_rsvps"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Staff who answered for a member without a phone.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckIn(db.Model):
    """A member present at a live meeting, in the room or online; once each."""

    __tablename__ = "meeting_checkins"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    presence: Mapped[str] = mapped_column(String(8))
    how: Mapped[str] = mapped_column(String(8))  # qr / staff / online
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # staff who ticked them off
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Speaker(db.Model):
    """A place in the speakers' queue of one agenda entry: a member online, or someone in the
    room the chair added by name."""

    __tablename__ = "meeting_speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("meeting_agenda.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(8))  # online / room
    status: Mapped[str] = mapped_column(String(10), default=SpeakerStatus.WAITING)
    position: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class MeetingProxy(db.Model):
    """A member's authorisation (委托) for another member to vote for them on every measure
    voted in this meeting. When a vote opens in the meeting, it becomes that measure's proxy
    (the voting service's ``Proxy``), so the delegate casts each ballot separately."""

    __tablename__ = "meeting_proxies"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    grantor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(8), default="active")  # active / revoked
    channel: Mapped[str] = mapped_column(String(8), default="online")  # online / paper (entered by staff)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    grantor: Mapped[User] = relationship(foreign_keys=[grantor_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])


class MinuteEntry(db.Model):
    """One line of the minutes as the meeting happens: an item taken, a speaker, a vote and its
    result, a chair's note. The published minutes are written from these."""

    __tablename__ = "minute_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_agenda.id"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

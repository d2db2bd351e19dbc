"""The outbox: one row per message to one person on one channel, written in the same
transaction as the change that caused it, and the log of every attempt to deliver it."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Mode(StrEnum):
    """How a person wants one kind of message on one channel."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    NEVER = "never"


class MessageStatus(StrEnum):
    PENDING = "pending"    # waiting for its time (coalescing window, digest, quiet hours, retry)
    SENDING = "sending"    # claimed by a worker
    SENT = "sent"
    MERGED = "merged"      # delivered as part of another message (coalesced or digest)
    FAILED = "failed"      # gave up after the last retry, or the provider refused it for good
    SKIPPED = "skipped"    # nowhere to send it (no address, channel not configured)


class OutboundMessage(db.Model):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_due", "status", "due_at"),
        Index("ix_outbound_messages_community", "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    # The address at the time the message was written; kept for the delivery log.
    address: Mapped[str] = mapped_column(String(254), default="")
    digest: Mapped[bool] = mapped_column(default=False)
    # Messages with the same key (kind and subject) that are due together go out as one.
    coalesce_key: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=MessageStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class DeliveryAttempt(db.Model):
    """One try at handing a message to the mail server or SMS provider, kept for staff."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(default=False)
    provider: Mapped[str] = mapped_column(String(20), default="")
    reference: Mapped[str | None] = mapped_column(String(120))  # the provider's id (BizId, Message-ID)
    error: Mapped[str | None] = mapped_column(Text)


class DeliveryPreference(db.Model):
    """A person's choice for one kind of message on one channel; absent means the default."""

    __tablename__ = "delivery_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))


class QuietHours(db.Model):
    """When a person does not want text messages (local time; may span midnight)."""

    __tablename__ = "quiet_hours"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    starts: Mapped[time] = mapped_column()
    ends: Mapped[time] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)


class Reminder(db.Model):
    """A reminder already sent, so each person is reminded once per vote, meeting or review."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""The notification: what happened, for whom, and where to look. The text is rendered at
read time in the reader's language from ``kind`` and ``params``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

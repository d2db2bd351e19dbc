"""The audit log entry. Rows are only ever inserted: the migration installs triggers that
make the database refuse UPDATE and DELETE on this table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_community_created", "community_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The person the action was done for or to, when there is one.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])

"""Models of the permanent record: resolutions (决议) and corrections in one hash chain per
community, implementation updates, and who follows a resolution.

A resolution's whole content lives in ``canonical``: the exact JSON text that was hashed. The
other columns repeat parts of it so the archive can filter and sort; verification checks that
they agree with it, so changing any stored field is detected.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow

GENESIS = "0" * 64  # the "previous hash" of a community's first record


class RecordKind(StrEnum):
    RESOLUTION = "resolution"  # written when a measure closes
    CORRECTION = "correction"  # a later record that corrects an earlier one


class Outcome(StrEnum):
    ADOPTED = "adopted"  # passed, or an option won
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"
    TIE = "tie"
    NONE = "none"  # a correction has no outcome of its own


class Progress(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    DONE = "done"


class Resolution(db.Model):
    __tablename__ = "resolutions"
    __table_args__ = (
        UniqueConstraint("community_id", "seq"),
        Index("ix_resolutions_archive", "community_id", "year", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    seq: Mapped[int]  # position in the community's chain, 1, 2, 3, ... (its permanent URL)
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(20))  # "2026-003": the number people cite
    # One resolution per measure, enforced by the database: closing twice cannot write two.
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("resolutions.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    year: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    canonical: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    corrects: Mapped[Resolution | None] = relationship(remote_side=[id])


class ImplementationUpdate(db.Model):
    """Staff report how an adopted resolution is being carried out. Kept as a record: the
    database refuses to change or delete an update; a mistake is corrected by a newer one."""

    __tablename__ = "implementation_updates"
    __table_args__ = (CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(ForeignKey("resolutions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12))
    percent: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    on_date: Mapped[date]  # the day the report is about (may be before it was posted)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class Follow(db.Model):
    """A member who wants to hear about a resolution's implementation."""

    __tablename__ = "resolution_follows"
    __table_args__ = (UniqueConstraint("resolution_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(ForeignKey("resolutions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Models of agenda items, their categories, supports and status timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..communities.models import Community
from ..extensions import db
from ..timeutil import utcnow


class ItemStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    SCHEDULED = "scheduled"
    VOTING = "voting"
    DECIDED = "decided"
    IMPLEMENTING = "implementing"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    MERGED = "merged"


# The whole lifecycle in one table: from -> the statuses it may move to.
TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.DRAFT: frozenset({ItemStatus.SUBMITTED, ItemStatus.WITHDRAWN}),
    ItemStatus.SUBMITTED: frozenset(
        {ItemStatus.ACCEPTED, ItemStatus.WITHDRAWN, ItemStatus.REJECTED, ItemStatus.MERGED}
    ),
    ItemStatus.ACCEPTED: frozenset(
        {ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED, ItemStatus.VOTING, ItemStatus.WITHDRAWN,
         ItemStatus.REJECTED, ItemStatus.MERGED}
    ),
    ItemStatus.IN_REVIEW: frozenset({ItemStatus.ACCEPTED, ItemStatus.SCHEDULED, ItemStatus.VOTING}),
    ItemStatus.SCHEDULED: frozenset({ItemStatus.IN_REVIEW, ItemStatus.VOTING, ItemStatus.ACCEPTED}),
    ItemStatus.VOTING: frozenset({ItemStatus.DECIDED}),
    ItemStatus.DECIDED: frozenset({ItemStatus.IMPLEMENTING, ItemStatus.CLOSED}),
    ItemStatus.IMPLEMENTING: frozenset({ItemStatus.CLOSED}),
    ItemStatus.CLOSED: frozenset(),
    ItemStatus.WITHDRAWN: frozenset(),
    ItemStatus.REJECTED: frozenset(),
    ItemStatus.MERGED: frozenset(),
}

# Statuses anyone may read; a draft is its author's alone.
PUBLIC_STATUSES = frozenset(ItemStatus) - {ItemStatus.DRAFT}
# Statuses in which the item still gathers supports and discussion is open.
DISCUSSABLE = frozenset(
    {ItemStatus.SUBMITTED, ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED,
     ItemStatus.VOTING, ItemStatus.DECIDED, ItemStatus.IMPLEMENTING}
)


class Category(db.Model):
    """A community's own list of topics (parking, environment, ...)."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("community_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    key: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)


class AgendaItem(db.Model):
    __tablename__ = "agenda_items"
    __table_args__ = (
        Index("ix_agenda_items_list", "community_id", "status", "id"),
        Index("ix_agenda_items_supports", "community_id", "support_count", "id"),
        Index("ix_agenda_items_comments", "community_id", "comment_count", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.DRAFT)
    # Kept in step by the services in the same transaction (atomic increments) so the list
    # can sort and show them without counting 100,000 comments on every request.
    support_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # Staff who wrote it for an author without a phone (shown as "entered by staff").
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Community] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    category: Mapped[Category] = relationship()
    merged_into: Mapped[AgendaItem | None] = relationship(remote_side=[id])
    events: Mapped[list[ItemEvent]] = relationship(back_populates="item", order_by="ItemEvent.id")

    @property
    def is_public(self) -> bool:
        return self.status != ItemStatus.DRAFT


class ItemEvent(db.Model):
    """One step of an item's timeline: who moved it from what to what, when, and why."""

    __tablename__ = "item_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system (threshold)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[AgendaItem] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Support(db.Model):
    """A member's support (联名) for an item; the unique constraint makes it once each."""

    __tablename__ = "supports"
    __table_args__ = (UniqueConstraint("item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Staff who recorded it for a member without a phone.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ItemRevision(db.Model):
    """One version of a submitted item's title and description. The first revision keeps the
    text as it was submitted (number 1); each later one is a new row. Append-only in the
    database, like the other records people rely on."""

    __tablename__ = "item_revisions"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # why it changed, in the reviser's words
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who saved it (author, or staff for them)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()

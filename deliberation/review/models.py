"""Models of review requests, reviews (with their earlier versions) and answers to objections."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..agenda.models import AgendaItem
from ..extensions import db
from ..timeutil import local_today, utcnow


class RequestStatus(StrEnum):
    PENDING = "pending"  # asked, no answer yet
    ACCEPTED = "accepted"  # the reviewer will write a review
    DECLINED = "declined"
    DONE = "done"  # the review is submitted


class Verdict(StrEnum):
    SUPPORTS = "supports"
    CONDITIONS = "conditions"  # supports with conditions
    CONCERNS = "concerns"
    LEGAL_OBJECTION = "legal_objection"


class ObjectionState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  # the author or chair answered; the adviser has not resolved it yet
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


OPEN_OBJECTION_STATES = (ObjectionState.OPEN, ObjectionState.ANSWERED)


class ReviewRequest(db.Model):
    __tablename__ = "review_requests"
    __table_args__ = (UniqueConstraint("item_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The role the reviewer is asked in: "expert" or "legal".
    role: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.PENDING)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]

    item: Mapped[AgendaItem] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    review: Mapped[Review | None] = relationship(back_populates="request", uselist=False)

    @property
    def is_open(self) -> bool:
        return self.status in (RequestStatus.PENDING, RequestStatus.ACCEPTED)

    def is_overdue(self, today: date | None = None) -> bool:
        """Due dates are days in the community's time zone, so compare with the local date
        (a UTC date is still yesterday until 08:00 in Shanghai)."""
        return self.is_open and self.due_on < (today or local_today())


class Review(db.Model):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("review_requests.id"), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(10))
    verdict: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    # The passages of the item the review is about, quoted one per line.
    passages: Mapped[str] = mapped_column(Text, default="")
    # On a convention: the clause the review is about (None: the whole text).
    clause_key: Mapped[str | None] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(default=1)
    objection_state: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ReviewRequest] = relationship(back_populates="review")
    reviewer: Mapped[User] = relationship()
    versions: Mapped[list[ReviewVersion]] = relationship(order_by="ReviewVersion.version.desc()")
    answers: Mapped[list[ObjectionAnswer]] = relationship(order_by="ObjectionAnswer.id")

    @property
    def blocks_vote(self) -> bool:
        return self.verdict == Verdict.LEGAL_OBJECTION and self.objection_state in OPEN_OBJECTION_STATES


class ReviewVersion(db.Model):
    """An earlier version of a review, kept when the reviewer revises it."""

    __tablename__ = "review_versions"
    __table_args__ = (UniqueConstraint("review_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    version: Mapped[int]
    verdict: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    passages: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class ObjectionAnswer(db.Model):
    """The author's or chair's answer to a legal objection, and the adviser's steps on it."""

    __tablename__ = "objection_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10), default="answer")  # answer / resolved / withdrawn
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()

"""Models of community conventions (社区公约): the convention attached to an agenda item, its
co-authors, every saved version of its text, amendments with their supports, and which
measures vote on it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..agenda.models import AgendaItem
from ..extensions import db
from ..timeutil import utcnow


class ConventionState(StrEnum):
    DRAFTING = "drafting"  # authors edit, members comment and propose amendments
    FROZEN = "frozen"  # the chair fixed the text; votes are being prepared
    VOTING = "voting"  # votes are open (clause and amendment votes, then the final vote)
    ADOPTED = "adopted"  # in force (until a newer version is adopted)
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # was adopted; a newer adopted version replaced it


class AmendmentKind(StrEnum):
    REPLACE = "replace"
    INSERT_AFTER = "insert_after"
    DELETE = "delete"


class AmendmentStatus(StrEnum):
    PROPOSED = "proposed"  # gathers supports; goes to the vote unless accepted or withdrawn
    ACCEPTED = "accepted"  # the authors took it into the draft
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"  # its clause left the text before the vote
    VOTING = "voting"
    ADOPTED = "adopted"  # passed and is in the adopted text
    REJECTED = "rejected"  # the vote failed
    SUPERSEDED = "superseded"  # passed, but another passed change of the same clause won more support


class VoteRole(StrEnum):
    WHOLE = "whole"  # the one vote on the whole text
    CLAUSE = "clause"  # keep this clause?
    AMENDMENT = "amendment"  # adopt this amendment?
    FINAL = "final"  # the whole text as amended


class Convention(db.Model):
    __tablename__ = "conventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(12), default=ConventionState.DRAFTING)
    # "residents": a 居民公约, binding every resident, adopted by a residents' meeting;
    # "management": an owners' 管理规约, an art. 278 ordinary matter.
    kind: Mapped[str] = mapped_column(String(12), default="residents", server_default="residents")
    # The adopted convention this one amends (a new version of it).
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("conventions.id"), index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("conventions.id"))
    version_count: Mapped[int] = mapped_column(default=0)
    # Clause keys are c1, c2, ...: the next number, so a key is never used twice.
    next_clause: Mapped[int] = mapped_column(default=1)
    frozen_version: Mapped[int | None]
    # Set when the votes are opened: the rule and the date the text takes effect.
    effective_on: Mapped[date | None]
    # The text put to the final vote, then (when adopted) the text in force, numbered.
    voted_clauses: Mapped[list | None] = mapped_column(JSON)
    adopted_clauses: Mapped[list | None] = mapped_column(JSON)
    adopted_text: Mapped[str | None] = mapped_column(Text)
    adopted_at: Mapped[datetime | None]
    # Which clause changed by which amendment and resolution (written when adopted).
    history: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[AgendaItem] = relationship()
    based_on: Mapped[Convention | None] = relationship(foreign_keys=[based_on_id], remote_side=[id])
    superseded_by: Mapped[Convention | None] = relationship(foreign_keys=[superseded_by_id], remote_side=[id])


class ConventionAuthor(db.Model):
    """A co-author: may edit the draft like the item's author."""

    __tablename__ = "convention_authors"
    __table_args__ = (UniqueConstraint("convention_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("conventions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ConventionVersion(db.Model):
    """One saved version of the draft; never changed once written."""

    __tablename__ = "convention_versions"
    __table_args__ = (UniqueConstraint("convention_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("conventions.id"), index=True)
    number: Mapped[int]
    clauses: Mapped[list] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when the version is an amendment the authors accepted.
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class Amendment(db.Model):
    __tablename__ = "amendments"
    __table_args__ = (UniqueConstraint("convention_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("conventions.id"), index=True)
    # Per convention: amendment 1, 2, ... as people refer to them in a meeting.
    number: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    clause_key: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")
    # The clause as it read when the amendment was proposed (what the proposer saw).
    clause_text: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=AmendmentStatus.PROPOSED)
    support_count: Mapped[int] = mapped_column(default=0)
    version_number: Mapped[int]  # the version it was proposed against
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    author: Mapped[User] = relationship()


class AmendmentSupport(db.Model):
    __tablename__ = "amendment_supports"
    __table_args__ = (UniqueConstraint("amendment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConventionVote(db.Model):
    """A measure that votes on (part of) a convention, and on what."""

    __tablename__ = "convention_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(ForeignKey("conventions.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    clause_key: Mapped[str | None] = mapped_column(String(12))
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"))

    amendment: Mapped[Amendment | None] = relationship()

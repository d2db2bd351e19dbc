"""Models of comments, their earlier versions and the flags members raise on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from markupsafe import Markup
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class Stance(StrEnum):
    FOR = "for"
    AGAINST = "against"
    QUESTION = "question"
    NEUTRAL = "neutral"


class CommentState(StrEnum):
    VISIBLE = "visible"
    REMOVED = "removed"  # by its author: a placeholder keeps the replies in place
    HIDDEN = "hidden"  # by staff, with a reason


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # A retried or double-clicked submit carries the same token: one comment.
        UniqueConstraint("author_id", "client_token"),
        Index("ix_comments_item_id_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    # Where it shows: replies nest three levels; deeper ones sit under the third level.
    display_parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    depth: Mapped[int] = mapped_column(default=0)
    stance: Mapped[str | None] = mapped_column(String(10))
    # On a convention: the clause this comment is about (its key survives renumbering).
    clause_key: Mapped[str | None] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    # The body rendered and sanitised once, when written (Markdown + mentions + nh3).
    body_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[str] = mapped_column(String(10), default=CommentState.VISIBLE)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_token: Mapped[str | None] = mapped_column(String(64))
    # Staff who wrote it down for an author without a phone (shown as "entered by staff").
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    open_flags: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    parent: Mapped[Comment | None] = relationship(foreign_keys=[parent_id], remote_side=[id])
    revisions: Mapped[list[CommentRevision]] = relationship(order_by="CommentRevision.id")

    @property
    def is_visible(self) -> bool:
        return self.state == CommentState.VISIBLE

    @property
    def html(self) -> Markup | None:
        """The stored, already sanitised rendering (None for rows written before it existed)."""
        return Markup(self.body_html) if self.body_html else None  # noqa: S704 - cleaned by nh3 on write


class CommentRevision(db.Model):
    """Text a comment had before an edit or removal, kept for moderators."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommentFlag(db.Model):
    __tablename__ = "comment_flags"
    __table_args__ = (UniqueConstraint("comment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

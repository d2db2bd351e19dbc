"""Models of people and their login sessions."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class User(UserMixin, db.Model):
    """A person. Managed accounts (no phone, no email, no password) are run by staff; deleted
    accounts keep only a pseudonym."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "is_managed OR deleted_at IS NOT NULL"
            " OR (password_hash IS NOT NULL AND (phone IS NOT NULL OR email IS NOT NULL))",
            name="login_or_managed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_managed: Mapped[bool] = mapped_column(default=False)
    # The community whose staff created and look after a managed account.
    managed_by_community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person deleted their account: the row stays, pseudonymised, because ballots
    # and records refer to it (privacy.services.delete_account).
    deleted_at: Mapped[datetime | None]

    sessions: Mapped[list[AuthSession]] = relationship(back_populates="user")

    @property
    def contact(self) -> str:
        return self.phone or self.email or ""

    @property
    def is_active(self) -> bool:  # Flask-Login: managed and deleted accounts never log in
        return not self.is_managed and self.deleted_at is None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class AuthSession(db.Model):
    """One login on one device. The cookie carries its random id; logout revokes it, so a
    copied cookie stops working, and a password change revokes every other one."""

    __tablename__ = "auth_sessions"

    # The SHA-256 of the cookie's token (accounts.services.session_key), never the token itself.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship(back_populates="sessions")

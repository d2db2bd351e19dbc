"""Claiming a managed account: staff start it with a one-time code, the resident asks with her
own phone number and password, staff confirm. Until then the account stays managed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class ClaimStatus(StrEnum):
    STARTED = "started"  # staff gave her a code
    REQUESTED = "requested"  # she entered the code with her phone number and password
    CONFIRMED = "confirmed"  # staff confirmed: the account is hers and no longer managed
    CANCELLED = "cancelled"  # replaced by a newer code, or cancelled by staff


class AccountClaim(db.Model):
    __tablename__ = "account_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    # Only the code's SHA-256 is kept: the code is shown once, to staff, to hand her.
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=ClaimStatus.STARTED)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # What she asked for; copied to her account only when staff confirm.
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    requested_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

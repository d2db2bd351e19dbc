"""One code sent to one phone number or email address, for one step a person is taking."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class CodePurpose(StrEnum):
    REGISTER = "register"
    RESET = "reset"      # a forgotten password
    CONTACT = "contact"  # a new phone number or email for an account


class VerificationCode(db.Model):
    __tablename__ = "verification_codes"
    __table_args__ = (
        Index("ix_verification_codes_address", "address", "created_at"),
        Index("ix_verification_codes_client", "requested_from", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The pending step's address (/register/confirm/<token>); useless without the code.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(5))  # "sms" or "email"
    address: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Registration: the name and the password's hash, until the code proves the number.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # HMAC of the code; None when no code was sent (e.g. the number already has an account),
    # so no code can ever match while the page looks the same.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    requested_from: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]

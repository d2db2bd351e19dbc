"""Models of communities, their units, memberships, ownership and role grants."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class Role(StrEnum):
    """Roles within one community. ``resident`` comes with a verified membership and
    ``owner`` with holding a unit; the others are granted by an admin."""

    RESIDENT = "resident"
    OWNER = "owner"
    CHAIR = "chair"
    EXPERT = "expert"
    LEGAL = "legal"
    STAFF = "staff"
    ADMIN = "admin"


GRANTABLE_ROLES = (Role.CHAIR, Role.EXPERT, Role.LEGAL, Role.STAFF, Role.ADMIN)


class MembershipStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Community(db.Model):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    # Supports (联名) an agenda item needs to be accepted onto the agenda automatically.
    support_threshold: Mapped[int] = mapped_column(default=10, server_default="10")
    # Proxies (委托) one member may hold on one measure.
    max_proxies: Mapped[int] = mapped_column(default=2, server_default="2")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Community {self.slug}>"


class Unit(db.Model):
    """A dwelling (户): building / unit (entrance) / room, with its exclusive floor area."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("community_id", "building", "entrance", "room"),
        CheckConstraint("floor_area > 0", name="floor_area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    building: Mapped[str] = mapped_column(String(20))
    entrance: Mapped[str] = mapped_column(String(20), default="")
    room: Mapped[str] = mapped_column(String(20))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # The owner's name as staff recorded it from the register, for an owner with no account:
    # the unit is on every owners' roll either way (Civil Code art. 278 counts the register).
    owner_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    # Not yet sold or delivered: all such units count together as one owner (法释〔2009〕7号 art. 9).
    developer_held: Mapped[bool] = mapped_column(default=False, server_default="0")

    community: Mapped[Community] = relationship()
    ownerships: Mapped[list[Ownership]] = relationship(back_populates="unit")

    @property
    def label(self) -> str:
        return "-".join(p for p in (self.building, self.entrance, self.room) if p)


class Membership(db.Model):
    """A person's place in a community: requested, then verified or rejected by staff."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("community_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=MembershipStatus.PENDING)
    # What the person told us about where they live, as typed.
    claimed_building: Mapped[str] = mapped_column(String(20), default="")
    claimed_entrance: Mapped[str] = mapped_column(String(20), default="")
    claimed_room: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # The registered unit staff matched the claim to, when there is one.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    community: Mapped[Community] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    unit: Mapped[Unit | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def claimed_label(self) -> str:
        return "-".join(p for p in (self.claimed_building, self.claimed_entrance, self.claimed_room) if p)

    @property
    def is_verified(self) -> bool:
        return self.status == MembershipStatus.VERIFIED


class Ownership(db.Model):
    """An owner (业主) holds a unit; one person may hold several, a unit may have co-owners."""

    __tablename__ = "ownerships"
    __table_args__ = (UniqueConstraint("unit_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="ownerships")
    user: Mapped[User] = relationship()


class RoleGrant(db.Model):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("community_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

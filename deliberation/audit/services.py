"""Writing to and reading from the audit log. Other services call ``record`` inside their
own transaction, so the entry commits (or rolls back) together with the action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, select

from ..accounts.models import User
from ..communities.models import Community
from ..communities.permissions import require
from ..extensions import db
from ..timeutil import local_midnight_utc
from .models import AuditEntry


def record(
    *, actor: User, action: str, community: Community | None = None, subject: User | None = None, **details
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id,
        action=action,
        community_id=community.id if community else None,
        subject_id=subject.id if subject else None,
        details={k: v for k, v in details.items() if v is not None},
    )
    db.session.add(entry)
    return entry


@dataclass
class AuditFilter:
    actor_id: int | None = None
    subject_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


def audit_query(*, actor: User, community: Community, filters: AuditFilter) -> Select:
    """Entries of one community, newest first, for an admin."""
    require(actor, community, "audit.read")
    query = select(AuditEntry).where(AuditEntry.community_id == community.id)
    if filters.actor_id:
        query = query.where(AuditEntry.actor_id == filters.actor_id)
    if filters.subject_id:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since:
        query = query.where(AuditEntry.created_at >= local_midnight_utc(filters.since))
    if filters.until:
        query = query.where(AuditEntry.created_at < local_midnight_utc(filters.until + timedelta(days=1)))
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())

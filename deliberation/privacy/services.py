"""Privacy rules.

- ``NOTICE_VERSION`` names the privacy notice in force (templates/privacy/notice_body.html).
  Changing the notice means changing the version: everyone is asked again at their next login.
- ``export_data`` gathers every row that refers to the person, table by table, following the
  foreign keys to ``users`` — so tables added later are included without changing this file.
  Secrets (password hash, session ids, code hashes) are left out; so are secret ballots, which
  carry no user by design.
- ``delete_account`` pseudonymises: the name becomes "已注销用户 #n", contacts and password go,
  sessions end, preferences, codes, notifications, the calendar feed and queued messages are
  removed. Ballots,
  participation, resolutions and the hash chain stay as they are: they are the public record
  of decisions (and the chain would break), and they now point to the pseudonym.
- ``prune`` deletes what is kept only for a while (``RETENTION``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from ..accounts import services as accounts
from ..accounts.models import AuthSession, User
from ..audit.services import record as audit
from ..communities.models import Community
from ..errors import ValidationError
from ..extensions import db
from ..timeutil import utcnow
from .models import PrivacyConsent

NOTICE_VERSION = "2026-11"

# How long things are kept (days), and what prunes them.
RETENTION = {
    "auth_sessions": 90,        # ended or idle login sessions
    "outbound_messages": 180,   # sent, merged, failed or skipped messages (and their delivery log)
    "verification_codes": 7,
    "live_events": 2,           # realtime.py also prunes these as it goes (KEEP_EVENTS)
}

# Columns never copied into a person's export.
SECRET_COLUMNS = {"password_hash", "code_hash", "payload", "checkin_token", "token"}
SECRET_TABLES = {"auth_sessions"}  # exported without the session id (see below)

DELETED_NAME = "已注销用户 #%(n)d"


# ---------------------------------------------------------------- consent


def has_current_consent(user: User) -> bool:
    return db.session.scalar(select(PrivacyConsent.id).where(
        PrivacyConsent.user_id == user.id, PrivacyConsent.version == NOTICE_VERSION)) is not None


def record_consent(*, actor: User, version: str = NOTICE_VERSION) -> None:
    """The person agreed to this version of the notice (idempotent)."""
    if version != NOTICE_VERSION:
        raise ValidationError(_l("The privacy notice has changed meanwhile. Please read it again."))
    if not has_current_consent(actor):
        db.session.add(PrivacyConsent(user_id=actor.id, version=version))
        db.session.commit()


# ---------------------------------------------------------------- a copy of my data


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_data(*, actor: User) -> dict:
    """Everything about ``actor``: their account and every row of every table that refers to
    them, grouped by table and the column that names them."""
    metadata = db.metadata
    users = metadata.tables["users"]
    found: dict[str, list[dict]] = {}
    me = db.session.execute(select(users).where(users.c.id == actor.id)).mappings().one()
    account = {k: _plain(v) for k, v in me.items() if k not in SECRET_COLUMNS}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        if table.name == "users":
            continue
        columns = [fk.parent for fk in table.foreign_keys if fk.column.table is users]
        if not columns:
            continue
        rows = db.session.execute(select(table).where(or_(*[c == actor.id for c in columns]))).mappings().all()
        if not rows:
            continue
        found[table.name] = [
            {k: _plain(v) for k, v in row.items()
             if k not in SECRET_COLUMNS and not (table.name in SECRET_TABLES and k == "id")}
            for row in rows
        ]
    consents = found.get("privacy_consents", [])
    return {"exported_at": utcnow().isoformat() + "Z", "privacy_notice_version": NOTICE_VERSION,
            "account": account, "consents": consents, "records": found}


# ---------------------------------------------------------------- deleting an account


def delete_account(*, actor: User, password: str, confirmation: str, expected_confirmation: str) -> User:
    """Pseudonymise ``actor`` (they confirm with their password and by typing the phrase)."""
    try:
        accounts._hasher.verify(actor.password_hash or accounts._DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError(_l("The password is not right."), field="password") from None
    if (confirmation or "").strip() != expected_confirmation:
        raise ValidationError(_l("Please type the words exactly as shown."), field="confirmation")
    from ..calendar.models import CalendarFeed
    from ..notifications.models import Notification
    from ..outbox.models import DeliveryPreference, OutboundMessage, QuietHours
    from ..verification.models import VerificationCode

    audit(actor=actor, action="account.deleted", subject=actor)
    actor.display_name = DELETED_NAME % {"n": actor.id}
    actor.phone = None
    actor.email = None
    actor.password_hash = None
    actor.locale = None
    actor.deleted_at = utcnow()
    db.session.execute(update(AuthSession).where(AuthSession.user_id == actor.id, AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    db.session.execute(update(AuthSession).where(AuthSession.user_id == actor.id).values(user_agent=None))
    for model in (DeliveryPreference, QuietHours, VerificationCode, Notification, CalendarFeed):
        db.session.execute(delete(model).where(model.user_id == actor.id))
    db.session.execute(delete(OutboundMessage).where(OutboundMessage.user_id == actor.id,
                                                     OutboundMessage.status == "pending"))
    db.session.execute(update(OutboundMessage).where(OutboundMessage.user_id == actor.id).values(address=""))
    db.session.commit()
    return actor


# ---------------------------------------------------------------- staff reads, retention


def record_staff_read(*, actor: User, community: Community, what: str, **details) -> None:
    """Staff looked at personal data (a member list with contacts, ...): audited, committed."""
    audit(actor=actor, action="personal_data.read", community=community, what=what, **details)
    db.session.commit()


def prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its keeping time; returns how many rows went, per table."""
    from ..outbox.models import DeliveryAttempt, OutboundMessage
    from ..verification.models import VerificationCode

    now = now or utcnow()
    gone = {}
    sessions_before = now - timedelta(days=RETENTION["auth_sessions"])
    gone["auth_sessions"] = db.session.execute(delete(AuthSession).where(
        or_(AuthSession.revoked_at < sessions_before, AuthSession.created_at < sessions_before))).rowcount
    messages_before = now - timedelta(days=RETENTION["outbound_messages"])
    old = select(OutboundMessage.id).where(OutboundMessage.status != "pending",
                                           OutboundMessage.created_at < messages_before)
    gone["delivery_attempts"] = db.session.execute(
        delete(DeliveryAttempt).where(DeliveryAttempt.message_id.in_(old))).rowcount
    # Merged messages point at the one they went with: clear that first.
    db.session.execute(update(OutboundMessage).where(OutboundMessage.merged_into_id.in_(old)).values(
        merged_into_id=None))
    gone["outbound_messages"] = db.session.execute(delete(OutboundMessage).where(
        OutboundMessage.status != "pending", OutboundMessage.created_at < messages_before)).rowcount
    gone["verification_codes"] = db.session.execute(delete(VerificationCode).where(
        VerificationCode.created_at < now - timedelta(days=RETENTION["verification_codes"]))).rowcount
    from ..realtime import LiveEvent

    gone["live_events"] = db.session.execute(delete(LiveEvent).where(
        LiveEvent.created_at < now - timedelta(days=RETENTION["live_events"]))).rowcount
    db.session.commit()
    return gone

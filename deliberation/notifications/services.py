"""Creating and reading notifications. ``notify`` adds rows to the caller's transaction; the
caller commits, then ``announce_to`` tells each recipient's open pages to refresh their bell."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from .. import realtime
from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow
from .models import Notification

MESSAGES = {
    "mention": _l("%(actor)s mentioned you in “%(item)s”"),
    "reply": _l("%(actor)s replied to you in “%(item)s”"),
    "review_requested": _l("%(actor)s asks you to review “%(item)s”"),
    "review_submitted": _l("%(actor)s published a review of “%(item)s”"),
    "objection_answered": _l("%(actor)s answered your objection on “%(item)s”"),
    "vote.opened": _l("A vote is open on “%(item)s”"),
    "proxy.granted": _l("%(name)s authorised you to vote for them on “%(question)s”"),
    "proxy.revoked": _l("%(name)s took back their proxy on “%(question)s”"),
    "meeting.scheduled": _l("A meeting is scheduled: “%(title)s”"),
    "resolution.progress": _l("Progress on resolution No. %(number)s: %(percent)s%% done"),
    "convention.coauthor": _l("%(actor)s added you as a co-author of “%(title)s”"),
    "convention.amendment": _l("%(actor)s proposed amendment %(n)s to “%(title)s”"),
    "convention.accepted": _l("%(actor)s took your amendment %(n)s into “%(title)s”"),
}


def notify(
    *, recipients: Iterable[int], kind: str, actor: User | None, link: str, community_id: int | None = None,
    **params,
) -> list[int]:
    """Queue notifications (not to the actor themself); returns the recipients' ids."""
    sent = []
    for user_id in dict.fromkeys(recipients):
        if actor is not None and user_id == actor.id:
            continue
        db.session.add(Notification(user_id=user_id, actor_id=actor.id if actor else None, kind=kind,
                                    params=params, link=link, community_id=community_id))
        sent.append(user_id)
    return sent


def announce_to(user_ids: Iterable[int]) -> None:
    for user_id in user_ids:
        # Personal content is never broadcast: the event only says "look again".
        realtime.announce(f"user:{user_id}", "notification.created")


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit)
        )
    )


def mark_all_read(*, actor: User) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()


def message(notification: Notification) -> str:
    template = MESSAGES.get(notification.kind)
    if template is None:
        return notification.kind
    params = dict(notification.params)
    params.setdefault("actor", notification.actor.display_name if notification.actor else "")
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)

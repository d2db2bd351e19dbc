"""Creating and reading notifications. ``notify`` adds rows to the caller's transaction; the
caller commits, then ``announce_to`` tells each recipient's open pages to refresh their bell."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
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
    "membership.verified": _l("You are now a verified member of %(community)s"),
    "membership.rejected": _l("Your request to join %(community)s was not accepted: %(reason)s"),
    "item.accepted": _l("Your item “%(item)s” is on the agenda"),
    "item.rejected": _l("Your item “%(item)s” was not accepted: %(reason)s"),
    "item.merged": _l("Your item “%(item)s” was merged into “%(into)s”"),
    "item.revised": _l("“%(item)s” was revised (version %(version)s): see what changed"),
}


# A coalesced notification says how often it happened instead of repeating itself.
PLURAL_MESSAGES = {
    "vote.opened": lambda n, p: ngettext("%(num)d vote is open on “%(item)s”",
                                         "%(num)d votes are open on “%(item)s”", n, item=p.get("item", "")),
}


def notify(
    *, recipients: Iterable[int], kind: str, actor: User | None, link: str, community_id: int | None = None,
    group_link: str | None = None, **params,
) -> list[int]:
    """Queue notifications (not to the actor themself); returns the recipients' ids.

    One that would read exactly like an unread one the person already has (same kind, actor,
    community and words) is coalesced into it: its count goes up, it moves to the top, and it
    links to ``group_link`` (the page that shows them all, e.g. the item of four votes) or else
    to the newest place. Four identical "a vote is open" lines help nobody."""
    wanted = [user_id for user_id in dict.fromkeys(recipients) if actor is None or user_id != actor.id]
    if group_link:
        # Two items may share a title: only notifications about the same group coalesce.
        params = {**params, "group": group_link}
    actor_id = actor.id if actor else None
    unread: dict[int, Notification] = {}
    if wanted:
        for earlier in db.session.scalars(
                select(Notification).where(
                    Notification.user_id.in_(wanted), Notification.kind == kind, Notification.read_at.is_(None),
                    Notification.actor_id.is_(None) if actor_id is None else Notification.actor_id == actor_id,
                    Notification.community_id.is_(None) if community_id is None
                    else Notification.community_id == community_id)
                .order_by(Notification.id.desc())):
            if _same_words(earlier.params, params):
                unread.setdefault(earlier.user_id, earlier)
    now = utcnow()
    for user_id in wanted:
        earlier = unread.get(user_id)
        if earlier is None:
            db.session.add(Notification(user_id=user_id, actor_id=actor_id, kind=kind, params=params, link=link,
                                        community_id=community_id))
            continue
        # JSON columns are not change-tracked in place: assign a new dict.
        earlier.params = {**params, "count": int(earlier.params.get("count", 1)) + 1}
        earlier.created_at = now
        earlier.link = group_link or link
    return wanted


def _same_words(stored: dict, params: dict) -> bool:
    return {k: v for k, v in (stored or {}).items() if k != "count"} == params


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
    count = int(params.pop("count", 1) or 1)
    if count > 1 and notification.kind in PLURAL_MESSAGES:
        return PLURAL_MESSAGES[notification.kind](count, params)
    text = _safe(str(template), params)
    return ngettext("%(text)s (%(num)d time)", "%(text)s (%(num)d times)", count, text=text) if count > 1 else text


def _safe(template: str, params: dict) -> str:
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return template

"""Writing messages into the outbox and delivering them.

``plan_messages`` runs inside the transaction that creates in-app notifications (a session
hook, see ``hooks.py``), so a message exists exactly when its notification does. ``deliver_due``
claims due messages (a conditional UPDATE, so two workers never send one message twice),
merges identical ones and digests, sends them, and records every attempt; a failure is retried
later with exponential backoff until ``OUTBOX_MAX_ATTEMPTS``."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..accounts.models import User
from ..audit.services import record as audit
from ..communities.models import Community
from ..communities.permissions import require
from ..errors import InvalidTransition, NotFound, ValidationError
from ..extensions import db
from ..notifications.models import Notification
from ..notifications.services import MESSAGES
from ..timeutil import local_to_utc, utc_to_local, utcnow
from . import channels
from .models import Channel, DeliveryAttempt, DeliveryPreference, MessageStatus, Mode, OutboundMessage, QuietHours

log = logging.getLogger(__name__)

# A claimed message whose worker died is handed out again after this long.
STALE_CLAIM = timedelta(minutes=10)

# What people get when they have chosen nothing. Text messages cost money and attention:
# by default only what needs doing soon goes by SMS.
SMS_BY_DEFAULT = frozenset({"vote.opened", "meeting.scheduled", "review_requested", "reminder.vote_closing",
                            "reminder.meeting_starting", "reminder.review_due"})

# "3 votes opened on 共享停车方案": the words for several messages of one kind on one subject.
COALESCED = {
    "vote.opened": lambda n, p: ngettext("%(num)d vote opened on “%(item)s”", "%(num)d votes opened on “%(item)s”",
                                         n, item=p.get("item", "")),
    "mention": lambda n, p: ngettext("You were mentioned %(num)d time in “%(item)s”",
                                     "You were mentioned %(num)d times in “%(item)s”", n, item=p.get("item", "")),
    "reply": lambda n, p: ngettext("%(num)d reply to you in “%(item)s”", "%(num)d replies to you in “%(item)s”",
                                   n, item=p.get("item", "")),
    "review_submitted": lambda n, p: ngettext("%(num)d review published on “%(item)s”",
                                              "%(num)d reviews published on “%(item)s”", n, item=p.get("item", "")),
}

# Reminder texts live here (the in-app bell does not show reminders).
REMINDER_MESSAGES = {
    "reminder.vote_closing": _l("The vote on “%(item)s” closes %(when)s and you have not voted yet"),
    "reminder.meeting_starting": _l("The meeting “%(title)s” starts %(when)s"),
    "reminder.review_due": _l("Your review of “%(item)s” is due %(when)s"),
}


# ---------------------------------------------------------------- preferences and timing


def default_mode(kind: str, channel: str) -> Mode:
    if channel == Channel.SMS:
        return Mode.IMMEDIATE if kind in SMS_BY_DEFAULT else Mode.NEVER
    return Mode.IMMEDIATE


def modes_for(user_id: int) -> dict[tuple[str, str], Mode]:
    rows = db.session.scalars(select(DeliveryPreference).where(DeliveryPreference.user_id == user_id))
    return {(p.kind, p.channel): Mode(p.mode) for p in rows}


def mode_for(user_id: int, kind: str, channel: str, chosen: dict | None = None) -> Mode:
    from .labels import KIND_FOLLOWS

    chosen = modes_for(user_id) if chosen is None else chosen
    kind = KIND_FOLLOWS.get(kind, kind)
    return chosen.get((kind, channel), default_mode(kind, channel))


def set_delivery_choices(
    *, actor: User, choices: dict[tuple[str, str], str], quiet_enabled: bool, quiet_starts: str, quiet_ends: str,
) -> None:
    """Save how ``actor`` wants each kind of message on each channel, and their quiet hours.
    Anything not on the page (a forged kind, channel or mode) is refused whole."""
    from .labels import KIND_LABELS

    for (kind, channel), mode in choices.items():
        if kind not in KIND_LABELS or channel not in set(Channel) or mode not in set(Mode):
            raise ValidationError(_l("That choice is not on the list. Please choose again."))
    try:
        starts, ends = time.fromisoformat(quiet_starts.strip()), time.fromisoformat(quiet_ends.strip())
    except ValueError:
        raise ValidationError(_l("Please give the quiet hours as times, e.g. 21:00 and 08:00."),
                              field="quiet_starts") from None
    if quiet_enabled and starts == ends:
        raise ValidationError(_l("Quiet hours must start and end at different times."), field="quiet_starts")
    existing = {(p.kind, p.channel): p for p in db.session.scalars(
        select(DeliveryPreference).where(DeliveryPreference.user_id == actor.id))}
    for (kind, channel), mode in choices.items():
        row = existing.get((kind, channel))
        if row is None:
            db.session.add(DeliveryPreference(user_id=actor.id, kind=kind, channel=channel, mode=mode))
        else:
            row.mode = mode
    quiet = db.session.get(QuietHours, actor.id)
    if quiet is None:
        quiet = QuietHours(user_id=actor.id)
        db.session.add(quiet)
    quiet.starts, quiet.ends, quiet.enabled = starts, ends, quiet_enabled
    db.session.commit()


def delivery_choices(user: User) -> dict:
    """What the preferences page shows: each kind's mode per channel, and the quiet hours."""
    from .labels import KIND_LABELS

    chosen = modes_for(user.id)
    quiet = db.session.get(QuietHours, user.id)
    if quiet is None:
        configured = current_app.config.get("QUIET_HOURS") or "21:00-08:00"
        starts, ends = _parse_hours(configured)
        enabled = bool(current_app.config.get("QUIET_HOURS"))
    else:
        starts, ends, enabled = quiet.starts, quiet.ends, quiet.enabled
    return {
        "modes": {(kind, channel.value): mode_for(user.id, kind, channel, chosen).value
                  for kind in KIND_LABELS for channel in Channel},
        "quiet_enabled": enabled, "quiet_starts": starts.strftime("%H:%M"), "quiet_ends": ends.strftime("%H:%M"),
    }


def _parse_hours(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_hours_of(user_id: int) -> tuple[time, time] | None:
    row = db.session.get(QuietHours, user_id)
    if row is not None:
        return (row.starts, row.ends) if row.enabled else None
    configured = current_app.config.get("QUIET_HOURS") or ""
    return _parse_hours(configured) if configured else None


def after_quiet_hours(moment: datetime, hours: tuple[time, time] | None) -> datetime:
    """``moment`` (naive UTC), or the end of the quiet hours it falls in."""
    if hours is None:
        return moment
    starts, ends = hours
    local = utc_to_local(moment)
    now = local.time()
    quiet = (starts <= now < ends) if starts < ends else (now >= starts or now < ends)
    if not quiet or starts == ends:
        return moment
    end_day = local.date() if (starts < ends or now < ends) else local.date() + timedelta(days=1)
    return local_to_utc(datetime.combine(end_day, ends))


def next_digest_time(moment: datetime) -> datetime:
    hour = int(current_app.config.get("DIGEST_HOUR", 8))
    local = utc_to_local(moment)
    target = datetime.combine(local.date(), time(hour))
    if target <= local:
        target += timedelta(days=1)
    return local_to_utc(target)


def channel_enabled(channel: str) -> bool:
    if channel == Channel.EMAIL:
        return channels.email_enabled()
    return bool(current_app.config.get("SMS_PROVIDER"))


def address_of(user: User, channel: str) -> str | None:
    return user.email if channel == Channel.EMAIL else user.phone


# ---------------------------------------------------------------- writing messages


def _coalesce_key(kind: str, community_id: int | None, params: dict, link: str) -> str:
    subject = params.get("item") or params.get("title") or params.get("question") or link
    return f"{kind}|{community_id or ''}|{subject}"[:200]


def plan_messages(
    *, user: User, kind: str, params: dict, link: str, community_id: int | None,
    notification_id: int | None = None, now: datetime | None = None,
) -> list[OutboundMessage]:
    """Add this person's outbound copies of one message to the current transaction, by their
    choices: nothing, at once (after a short window that lets identical ones merge), or in the
    next daily digest; text messages wait for the end of the quiet hours."""
    if user.is_managed:
        return []  # staff reach residents without phones in person
    now = now or utcnow()
    chosen = modes_for(user.id)
    planned = []
    for channel in Channel:
        address = address_of(user, channel)
        if not address or not channel_enabled(channel):
            continue
        mode = mode_for(user.id, kind, channel, chosen)
        if mode == Mode.NEVER:
            continue
        if mode == Mode.DIGEST:
            due = next_digest_time(now)
        else:
            due = now + timedelta(seconds=int(current_app.config.get("OUTBOX_COALESCE_SECONDS", 60)))
        if channel == Channel.SMS:
            due = after_quiet_hours(due, quiet_hours_of(user.id))
        message = OutboundMessage(
            user_id=user.id, community_id=community_id, notification_id=notification_id, channel=channel.value,
            kind=kind, params=params, link=link, address=address, digest=mode == Mode.DIGEST,
            coalesce_key=_coalesce_key(kind, community_id, params, link), status=MessageStatus.PENDING,
            due_at=due, created_at=now,
        )
        db.session.add(message)
        planned.append(message)
    return planned


def plan_for_notifications(notifications: Iterable[Notification]) -> list[OutboundMessage]:
    planned = []
    for notification in notifications:
        user = db.session.get(User, notification.user_id)
        if user is None:
            continue
        params = dict(notification.params or {})
        params.pop("count", None)  # the in-app count of absorbed repeats; the outbox counts its own
        if notification.actor_id and "actor" not in params:
            actor = db.session.get(User, notification.actor_id)
            params["actor"] = actor.display_name if actor else ""
        planned += plan_messages(user=user, kind=notification.kind, params=params, link=notification.link or "",
                                 community_id=notification.community_id, notification_id=notification.id)
    return planned


# ---------------------------------------------------------------- rendering


def message_text(kind: str, params: dict) -> str:
    template = MESSAGES.get(kind) or REMINDER_MESSAGES.get(kind)
    if template is None:
        return kind
    values = {"actor": "", **params}
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(template)


def _url(link: str) -> str:
    if not link:
        return current_app.config.get("PUBLIC_URL", "")
    return current_app.config.get("PUBLIC_URL", "") + link if link.startswith("/") else link


def compose(group: list[OutboundMessage], locale: str) -> tuple[str, str]:
    """(subject, body) of the message that delivers ``group`` in the reader's language."""
    with force_locale(locale):
        lead = group[0]
        if lead.digest:
            lines = [f"· {message_text(m.kind, m.params)}\n  {_url(m.link)}" for m in group]
            subject = ngettext("Deliberation Hall: %(num)d new message", "Deliberation Hall: %(num)d new messages",
                               len(group))
            body = "\n".join(lines)
        elif len(group) > 1:
            words = COALESCED.get(lead.kind)
            if words is not None:
                subject = words(len(group), lead.params)
            else:
                subject = ngettext("%(message)s (%(num)d message)", "%(message)s (%(num)d similar messages)",
                                   len(group), message=message_text(lead.kind, lead.params))
            body = f"{subject}\n{_url(lead.link)}"
        else:
            subject = message_text(lead.kind, lead.params)
            body = f"{subject}\n{_url(lead.link)}"
        footer = gettext("Choose what you receive: %(url)s", url=_url("/account/messages"))
        return subject, f"{body}\n\n{footer}"


def sms_text(subject: str, group: list[OutboundMessage], locale: str) -> str:
    # Text messages are short: the summary and one link, never the whole digest.
    lead = group[0]
    with force_locale(locale):
        if lead.digest:
            return f"{subject} {_url('/notifications/')}"
        return f"{subject} {_url(lead.link)}"


# ---------------------------------------------------------------- delivering


def _groups(messages: list[OutboundMessage]) -> list[list[OutboundMessage]]:
    grouped: dict[tuple, list[OutboundMessage]] = defaultdict(list)
    for message in messages:
        key = (message.user_id, message.channel, "digest") if message.digest else (
            message.user_id, message.channel, message.coalesce_key)
        grouped[key].append(message)
    return list(grouped.values())


def _claim(ids: list[int], now: datetime) -> bool:
    """Take these messages for sending, all or none, in one short transaction."""
    result = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == MessageStatus.PENDING)
        .values(status=MessageStatus.SENDING, claimed_at=now)
    )
    if result.rowcount != len(ids):
        db.session.rollback()  # another worker took some of them: leave the group to it
        return False
    db.session.commit()
    return True


def backoff(attempts: int) -> timedelta:
    base = int(current_app.config.get("OUTBOX_RETRY_BASE", 30))
    return timedelta(seconds=base * 4 ** max(attempts - 1, 0))


def _send(group: list[OutboundMessage], user: User) -> channels.Sent:
    lead = group[0]
    locale = user.locale or "zh_CN"
    subject, body = compose(group, locale)
    if lead.channel == Channel.EMAIL:
        return channels.send_email(to=lead.address, subject=subject, body=body)
    return channels.sms_provider().send(phone=lead.address, text=sms_text(subject, group, locale))


def deliver_group(group: list[OutboundMessage], now: datetime) -> bool:
    """Send one group (already claimed) and record the outcome. True if it went out."""
    ids = [m.id for m in group]
    user = db.session.get(User, group[0].user_id)
    try:
        sent = _send(group, user)
        error = None
    except channels.DeliveryError as failure:
        sent, error = None, failure
    except Exception as failure:  # a bug in one message must not stop the others
        log.exception("delivering messages %s failed", ids)
        sent, error = None, channels.DeliveryError(f"{type(failure).__name__}: {failure}")
    lead = db.session.get(OutboundMessage, ids[0])
    db.session.add(DeliveryAttempt(message_id=lead.id, attempted_at=now, ok=sent is not None,
                                   provider=sent.provider if sent else "", reference=sent.reference if sent else None,
                                   error=str(error)[:2000] if error else None))
    attempts = lead.attempts + 1
    if sent is not None:
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id == lead.id).values(
            status=MessageStatus.SENT, sent_at=now, attempts=attempts, last_error=None))
        if len(ids) > 1:
            db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids[1:])).values(
                status=MessageStatus.MERGED, merged_into_id=lead.id, sent_at=now, attempts=attempts))
    else:
        give_up = error.permanent or attempts >= int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", 6))
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(
            status=MessageStatus.FAILED if give_up else MessageStatus.PENDING, attempts=attempts,
            due_at=now + backoff(attempts), last_error=str(error)[:2000], claimed_at=None))
    db.session.commit()
    return sent is not None


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Deliver every message that is due; returns how many messages went out (merged ones
    included). Safe to run in several processes at once."""
    now = now or utcnow()
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == MessageStatus.SENDING, OutboundMessage.claimed_at < now - STALE_CLAIM)
        .values(status=MessageStatus.PENDING, claimed_at=None)
    )
    db.session.commit()
    due = list(db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.status == MessageStatus.PENDING, OutboundMessage.due_at <= now)
        .order_by(OutboundMessage.id).limit(limit)
    ))
    # A message waiting for the digest also leaves with it if it is due; an immediate
    # message due now takes along identical ones still in their window, so they merge.
    delivered = 0
    for group in _groups(due):
        group = _with_waiting_twins(group)
        ids = [m.id for m in group]
        if not _claim(ids, now):
            continue
        group = [db.session.get(OutboundMessage, i) for i in ids]
        if deliver_group(group, now):
            delivered += len(group)
    return delivered


def _with_waiting_twins(group: list[OutboundMessage]) -> list[OutboundMessage]:
    lead = group[0]
    if lead.digest:
        return group
    twins = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.status == MessageStatus.PENDING, OutboundMessage.user_id == lead.user_id,
            OutboundMessage.channel == lead.channel, OutboundMessage.coalesce_key == lead.coalesce_key,
            OutboundMessage.digest.is_(False), OutboundMessage.attempts == 0,
            OutboundMessage.id.not_in([m.id for m in group]),
        )
    )
    return sorted([*group, *twins], key=lambda m: m.id)


def next_due_at() -> datetime | None:
    return db.session.scalar(
        select(OutboundMessage.due_at).where(OutboundMessage.status == MessageStatus.PENDING)
        .order_by(OutboundMessage.due_at).limit(1)
    )


# ---------------------------------------------------------------- staff


def community_messages(*, actor: User, community: Community, status: str | None = None,
                       limit: int = 200) -> list[OutboundMessage]:
    """The community's outbound messages, newest first, for staff."""
    require(actor, community, "outbox.read")
    query = select(OutboundMessage).where(OutboundMessage.community_id == community.id)
    if status:
        query = query.where(OutboundMessage.status == status)
    return list(db.session.scalars(query.order_by(OutboundMessage.id.desc()).limit(limit)))


def attempts_of(message_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    if message_ids:
        for attempt in db.session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id.in_(message_ids))
                                          .order_by(DeliveryAttempt.id)):
            found[attempt.message_id].append(attempt)
    return found


def retry_message(*, actor: User, community: Community, message_id: int) -> OutboundMessage:
    """Staff send a message that failed once more, now."""
    require(actor, community, "outbox.read")
    message = db.session.get(OutboundMessage, message_id)
    if message is None or message.community_id != community.id:
        raise NotFound()
    if message.status != MessageStatus.FAILED:
        raise InvalidTransition(_l("Only a message that failed can be sent again."))
    message.status = MessageStatus.PENDING
    message.due_at = utcnow()
    message.attempts = 0
    audit(actor=actor, action="outbox.retry", community=community, subject=message.user, message_id=message.id)
    db.session.commit()
    return message

"""Agenda item operations. The lifecycle lives here and only here: every status change goes
through ``_move``, which checks ``TRANSITIONS``, records a timeline event and announces it."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import realtime
from ..accounts.models import User
from ..audit.services import record
from ..communities.models import Community
from ..communities.permissions import acting_for, can, require
from ..errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..timeutil import utcnow
from ..urls import link
from .models import (
    DISCUSSABLE,
    PUBLIC_STATUSES,
    TRANSITIONS,
    AgendaItem,
    Category,
    ItemEvent,
    ItemRevision,
    ItemStatus,
    Support,
)

TITLE_MAX = 120
BODY_MAX = 20000
REASON_MAX = 1000

DEFAULT_CATEGORIES = [
    ("parking", "停车"),
    ("environment", "环境"),
    ("safety", "安全"),
    ("facilities", "设施"),
    ("conventions", "公约"),
    ("other", "其他"),
]

SORTS = ("newest", "supported", "discussed")


# ---------------------------------------------------------------- reading


def categories(community: Community) -> list[Category]:
    """The community's categories; the default six are created the first time they are needed."""
    found = list(
        db.session.scalars(select(Category).where(Category.community_id == community.id).order_by(Category.position))
    )
    if found:
        return found
    for position, (key, name) in enumerate(DEFAULT_CATEGORIES):
        db.session.add(Category(community_id=community.id, key=key, name=name, position=position))
    try:
        db.session.commit()
    except IntegrityError:  # another request created them first
        db.session.rollback()
    return list(
        db.session.scalars(select(Category).where(Category.community_id == community.id).order_by(Category.position))
    )


def can_read(user: User | None, item: AgendaItem) -> bool:
    if item.status in PUBLIC_STATUSES:
        return True
    return user is not None and getattr(user, "id", None) == item.author_id


@realtime.room_reader("item")
def _item_room_reader(user, item_id: int) -> bool:
    item = db.session.get(AgendaItem, item_id)
    return item is not None and can_read(user, item)


def get_item(*, community: Community, item_id: int, viewer: User | None) -> AgendaItem:
    item = db.session.scalar(
        select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.community_id == community.id)
    )
    if item is None or not can_read(viewer, item):
        raise NotFound(_l("That agenda item does not exist in this community."))
    return item


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_items(
    *,
    community: Community,
    viewer: User | None,
    status: str | None = None,
    category_key: str | None = None,
    sort: str = "newest",
    q: str = "",
    page: int = 1,
    per_page: int = 20,
    mine: bool = False,
    author_id: int | None = None,
):
    """Public items (and the viewer's own drafts when ``mine``), filtered, sorted, paginated.
    Search is a substring match, which is what finds Chinese words without a tokenizer."""
    query = select(AgendaItem).where(AgendaItem.community_id == community.id)
    if mine and viewer is not None and getattr(viewer, "id", None):
        query = query.where(AgendaItem.author_id == viewer.id)
    else:
        query = query.where(AgendaItem.status != ItemStatus.DRAFT)
    if author_id is not None:
        query = query.where(AgendaItem.author_id == author_id)
    if status and status in ItemStatus.__members__.values():
        query = query.where(AgendaItem.status == status)
    if category_key:
        query = query.join(Category, Category.id == AgendaItem.category_id).where(Category.key == category_key)
    q = (q or "").strip()
    if q:
        like = f"%{_escape_like(q)}%"
        query = query.where(or_(AgendaItem.title.like(like, escape="\\"), AgendaItem.body.like(like, escape="\\")))
    # "Newest" is by the date the list shows (submitted, or created for a draft), not by id:
    # items written with an earlier date (a history imported or entered late) get higher ids.
    newest = (func.coalesce(AgendaItem.submitted_at, AgendaItem.created_at).desc(), AgendaItem.id.desc())
    order = {
        "supported": (AgendaItem.support_count.desc(), *newest),
        "discussed": (AgendaItem.comment_count.desc(), *newest),
    }.get(sort, newest)
    query = query.options(selectinload(AgendaItem.author), selectinload(AgendaItem.category))
    return db.paginate(query.order_by(*order), page=page, per_page=per_page, error_out=False, count=True)


def status_counts(community: Community) -> dict[str, int]:
    rows = db.session.execute(
        select(AgendaItem.status, func.count(AgendaItem.id))
        .where(AgendaItem.community_id == community.id, AgendaItem.status != ItemStatus.DRAFT)
        .group_by(AgendaItem.status)
    )
    return dict(rows.all())


def has_supported(user: User | None, item: AgendaItem) -> bool:
    if user is None or not getattr(user, "id", None):
        return False
    return db.session.scalar(
        select(Support.id).where(Support.item_id == item.id, Support.user_id == user.id)
    ) is not None


def recent_supporters(item: AgendaItem, limit: int = 12) -> list[User]:
    return list(
        db.session.scalars(
            select(User).join(Support, Support.user_id == User.id).where(Support.item_id == item.id)
            .order_by(Support.id.desc()).limit(limit)
        )
    )


# ---------------------------------------------------------------- writing


def _item_in(community: Community, item_id: int) -> AgendaItem:
    item = db.session.scalar(
        select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.community_id == community.id)
    )
    if item is None:
        raise NotFound(_l("That agenda item does not exist in this community."))
    return item


def _clean_item_fields(community: Community, title: str, body: str, category_id) -> tuple[str, str, Category]:
    title = " ".join((title or "").split())
    body = (body or "").strip()
    if not title:
        raise ValidationError(_l("Please give the item a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(_l("The title must be at most %(n)d characters.", n=TITLE_MAX), field="title")
    if len(body) > BODY_MAX:
        raise ValidationError(_l("The description must be at most %(n)d characters.", n=BODY_MAX), field="body")
    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        category_id = None
    category = db.session.scalar(
        select(Category).where(Category.id == category_id, Category.community_id == community.id)
    ) if category_id else None
    if category is None:
        raise ValidationError(_l("Please choose a category."), field="category_id")
    return title, body, category


def participant(actor: User, community: Community, on_behalf_of: int | None, action: str) -> User:
    """Who takes part: the actor, or the managed resident staff act for (``on_behalf_of``)."""
    person = actor if on_behalf_of is None else acting_for(actor, community, on_behalf_of)
    require(person, community, action)
    return person


def save_draft(
    *, actor: User, community: Community, title: str, body: str, category_id, item_id: int | None = None,
    on_behalf_of: int | None = None, submit: bool = False,
) -> AgendaItem:
    """Create a draft, or update the author's own draft; with ``submit``, submit it in the same
    transaction (the form's "Submit" button), so a refused submission saves nothing. Staff may
    write one for a managed resident (``on_behalf_of``): she is the author, and the item shows it
    was entered by staff."""
    require(actor, community, "items.propose")
    author = participant(actor, community, on_behalf_of, "items.propose")
    title, body, category = _clean_item_fields(community, title, body, category_id)
    if item_id is None:
        item = AgendaItem(community_id=community.id, author_id=author.id, status=ItemStatus.DRAFT,
                          title=title, body=body, category_id=category.id,
                          entered_by_id=actor.id if author is not actor else None)
        db.session.add(item)
        db.session.flush()
        db.session.add(ItemEvent(item_id=item.id, actor_id=author.id, from_status=None, to_status=ItemStatus.DRAFT))
    else:
        item = _item_in(community, item_id)
        if item.author_id != author.id:
            raise PermissionDenied(_l("Only the author can edit this draft."))
        if item.status != ItemStatus.DRAFT:
            raise InvalidTransition(_l("A submitted item can no longer be edited."))
    item.title, item.body, item.category_id = title, body, category.id
    item.updated_at = utcnow()
    if author is not actor:
        record(actor=actor, action="item.drafted_for", community=community, subject=author, item_id=item.id)
    if submit:
        _move(item, ItemStatus.SUBMITTED, actor=author)
    db.session.commit()
    if submit:
        _announce_status(item)
    return item


# Statuses in which the text may still change: discussed or reviewed, no vote announced yet
# (opening a vote moves the item to "voting", and the text then stays as voted on).
REVISABLE = frozenset({ItemStatus.SUBMITTED, ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED})


def may_revise(user: User | None, community: Community, item: AgendaItem) -> bool:
    """The author may revise their item while it is discussed or reviewed, before a vote; staff
    may for a managed resident (who cannot log in)."""
    if user is None or not getattr(user, "id", None) or item.status not in REVISABLE:
        return False
    if item.author_id == user.id:
        return can(user, community, "items.propose")
    return bool(item.author and item.author.is_managed and can(user, community, "accounts.manage"))


def revisions_of(item: AgendaItem) -> list[ItemRevision]:
    return list(db.session.scalars(select(ItemRevision).where(ItemRevision.item_id == item.id)
                                   .order_by(ItemRevision.number)))


def revise_item(*, actor: User, community: Community, item_id: int, title: str, body: str,
                note: str = "") -> ItemRevision:
    """Change a submitted item's title and description (after an objection, say). Every
    version is kept: the first revision also stores the text as it was. Supporters are told."""
    item = _item_in(community, item_id)
    if item.status not in REVISABLE:
        raise InvalidTransition(_l("The text can be revised while the item is discussed or reviewed, until a vote "
                                   "opens."))
    if not may_revise(actor, community, item):
        raise PermissionDenied(_l("Only the item's author can revise it (or staff, for a resident without a phone)."),
                               allowed=[_l("The item's author"), _l("Community staff, for a managed account")])
    title, body, _category = _clean_item_fields(community, title, body, item.category_id)
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        raise ValidationError(_l("The note must be at most %(n)d characters.", n=REASON_MAX), field="note")
    if (title, body) == (item.title, item.body):
        raise ValidationError(_l("Nothing changed: edit the title or the description."), field="body")
    earlier = revisions_of(item)
    if not earlier:  # the text as submitted becomes version 1
        db.session.add(ItemRevision(item_id=item.id, number=1, title=item.title, body=item.body,
                                    author_id=item.author_id, created_at=item.submitted_at or item.created_at))
    number = (earlier[-1].number if earlier else 1) + 1
    revision = ItemRevision(item_id=item.id, number=number, title=title, body=body, note=note, author_id=actor.id)
    db.session.add(revision)
    item.title, item.body, item.updated_at = title, body, utcnow()
    if actor.id != item.author_id:
        record(actor=actor, action="item.revised", community=community, subject=item.author, item_id=item.id,
               version=number)
    supporters = db.session.scalars(select(Support.user_id).where(Support.item_id == item.id))
    told = notifications.notify(recipients=[item.author_id, *supporters], kind="item.revised", actor=actor,
                                community_id=community.id, item=title, version=number,
                                link=link("agenda.versions", slug=community.slug, item_id=item.id,
                                          a=number - 1, b=number))
    try:
        db.session.commit()
    except IntegrityError:  # two revisions of one version at once: one is kept, nothing is lost silently
        db.session.rollback()
        raise Conflict() from None
    notifications.announce_to(told)
    _announce_status(item)
    return revision


def _move(item: AgendaItem, to: ItemStatus, *, actor: User | None, note: str = "") -> None:
    """The one place an item's status changes. Conditional on the status we read, so two
    racing changes cannot both apply."""
    if to not in TRANSITIONS[ItemStatus(item.status)]:
        raise InvalidTransition(_l("This item cannot move from “%(a)s” to “%(b)s”.",
                                   a=STATUS_LABELS[item.status], b=STATUS_LABELS[to]))
    now = utcnow()
    values = {"status": to, "updated_at": now}
    if to == ItemStatus.SUBMITTED:
        values["submitted_at"] = now
    changed = db.session.execute(
        update(AgendaItem).where(AgendaItem.id == item.id, AgendaItem.status == item.status).values(**values)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict()
    db.session.add(ItemEvent(item_id=item.id, actor_id=actor.id if actor else None, from_status=item.status,
                             to_status=to, note=note))


def move_item(item: AgendaItem, to: ItemStatus, *, actor: User | None, note: str = "") -> None:
    """For other services moving an item inside their own transaction (they commit, then call
    ``announce_status``)."""
    _move(item, to, actor=actor, note=note)


def _announce_status(item: AgendaItem) -> None:
    db.session.refresh(item)
    realtime.announce(
        f"item:{item.id}", "item.status_changed",
        render=lambda: render_template("agenda/_status.html", item=item),
        target=f"#item-status-{item.id}",
    )


def submit_item(*, actor: User, community: Community, item_id: int, on_behalf_of: int | None = None) -> AgendaItem:
    """The author submits the draft; staff may submit a managed resident's draft for her."""
    require(actor, community, "items.propose")
    author = participant(actor, community, on_behalf_of, "items.propose")
    item = _item_in(community, item_id)
    if item.author_id != author.id:
        raise PermissionDenied(_l("Only the author can submit this item."))
    _move(item, ItemStatus.SUBMITTED, actor=author)
    if author is not actor:
        record(actor=actor, action="item.submitted_for", community=community, subject=author, item_id=item.id)
    db.session.commit()
    _announce_status(item)
    return item


def withdraw_item(*, actor: User, community: Community, item_id: int, reason: str = "") -> AgendaItem:
    item = _item_in(community, item_id)
    if item.author_id != actor.id:
        raise PermissionDenied(_l("Only the author can withdraw this item."))
    _move(item, ItemStatus.WITHDRAWN, actor=actor, note=(reason or "").strip()[:REASON_MAX])
    item.status_reason = (reason or "").strip()[:REASON_MAX]
    db.session.commit()
    _announce_status(item)
    return item


def support_item(*, actor: User, community: Community, item_id: int, on_behalf_of: int | None = None) -> AgendaItem:
    """Support an item once. Reaching the community's threshold accepts it automatically.
    Staff may record the support of a managed resident (``on_behalf_of``), shown as entered by staff."""
    require(actor, community, "items.support")
    supporter = participant(actor, community, on_behalf_of, "items.support")
    for_someone = supporter is not actor
    item = _item_in(community, item_id)
    if item.status != ItemStatus.SUBMITTED:
        raise InvalidTransition(_l("Supports are collected only while an item waits to be accepted."))
    if item.author_id == supporter.id:
        raise InvalidTransition(_l("%(name)s proposed this item; their support is already counted as its author.",
                                   name=supporter.display_name) if for_someone else
                                _l("You proposed this item; your support is already counted as its author."))
    db.session.add(Support(item_id=item.id, user_id=supporter.id, entered_by_id=actor.id if for_someone else None))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("%(name)s already supports this item.", name=supporter.display_name) if for_someone
                       else _l("You already support this item.")) from None
    if for_someone:
        record(actor=actor, action="item.supported_for", community=community, subject=supporter, item_id=item.id)
    db.session.execute(
        update(AgendaItem).where(AgendaItem.id == item.id).values(support_count=AgendaItem.support_count + 1)
    )
    db.session.commit()
    db.session.refresh(item)
    accepted = False
    if item.support_count >= community.support_threshold and item.status == ItemStatus.SUBMITTED:
        try:
            _move(item, ItemStatus.ACCEPTED, actor=None,
                  note=system_note("threshold", n=community.support_threshold))
            told = _tell_author(item, "item.accepted", actor=None)
            db.session.commit()
            notifications.announce_to(told)
            accepted = True
        except (Conflict, InvalidTransition):
            db.session.rollback()  # a racing support (or staff) accepted it first
    realtime.announce(
        f"item:{item.id}", "item.supported",
        render=lambda: render_template("agenda/_support_count.html", item=item),
        target=f"#support-count-{item.id}",
    )
    if accepted:
        _announce_status(item)
    return item


def _tell_author(item: AgendaItem, kind: str, *, actor: User | None, **params) -> list[int]:
    """Queue a notification to the item's author about what happened to it (in this transaction)."""
    return notifications.notify(recipients=[item.author_id], kind=kind, actor=actor, community_id=item.community_id,
                                link=link("agenda.show", slug=item.community.slug, item_id=item.id),
                                item=item.title, **params)


def accept_item(*, actor: User, community: Community, item_id: int, note: str = "") -> AgendaItem:
    require(actor, community, "items.moderate")
    item = _item_in(community, item_id)
    _move(item, ItemStatus.ACCEPTED, actor=actor, note=(note or "").strip()[:REASON_MAX])
    told = _tell_author(item, "item.accepted", actor=actor)
    db.session.commit()
    notifications.announce_to(told)
    _announce_status(item)
    return item


def reject_item(*, actor: User, community: Community, item_id: int, reason: str) -> AgendaItem:
    require(actor, community, "items.moderate")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Please give the reason; it stays visible on the item."), field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(_l("The reason must be at most %(n)d characters.", n=REASON_MAX), field="reason")
    item = _item_in(community, item_id)
    _move(item, ItemStatus.REJECTED, actor=actor, note=reason)
    item.status_reason = reason
    told = _tell_author(item, "item.rejected", actor=actor, reason=reason)
    db.session.commit()
    notifications.announce_to(told)
    _announce_status(item)
    return item


def merge_item(*, actor: User, community: Community, item_id: int, into_id, note: str = "") -> AgendaItem:
    require(actor, community, "items.moderate")
    item = _item_in(community, item_id)
    try:
        into_id = int(into_id)
    except (TypeError, ValueError):
        raise ValidationError(_l("Please give the number of the item to merge into."), field="into_id") from None
    if into_id == item.id:
        raise ValidationError(_l("An item cannot be merged into itself."), field="into_id")
    target = db.session.scalar(
        select(AgendaItem).where(AgendaItem.id == into_id, AgendaItem.community_id == community.id)
    )
    if target is None or target.status not in DISCUSSABLE:
        raise ValidationError(_l("Merge into an open item of this community."), field="into_id")
    _move(item, ItemStatus.MERGED, actor=actor, note=(note or "").strip()[:REASON_MAX])
    item.merged_into_id = target.id
    told = _tell_author(item, "item.merged", actor=actor, into=target.title)
    db.session.commit()
    notifications.announce_to(told)
    _announce_status(item)
    return item


def advance_item(*, actor: User | None, community: Community, item_id: int, to: str, note: str = "",
                 system: bool = False) -> AgendaItem:
    """Move an accepted item along (review, meeting, vote, decision, implementation).
    Later components call this; ``system`` is for moves the app makes itself (a vote closing)."""
    if not system:
        require(actor, community, "items.advance")
    try:
        target = ItemStatus(to)
    except ValueError:
        raise ValidationError(_l("Unknown status.")) from None
    if target in (ItemStatus.SUBMITTED, ItemStatus.WITHDRAWN, ItemStatus.REJECTED, ItemStatus.MERGED):
        raise InvalidTransition(_l("Use the matching action for that change."))
    item = _item_in(community, item_id)
    if target == ItemStatus.VOTING:
        from ..review.services import require_no_open_objection  # review builds on agenda

        require_no_open_objection(item.id)
    _move(item, target, actor=actor, note=(note or "").strip()[:REASON_MAX])
    db.session.commit()
    _announce_status(item)
    return item


def supports_entered_by_staff(item: AgendaItem) -> set[int]:
    """Supporters whose support staff recorded for them, to label them publicly."""
    return set(db.session.scalars(select(Support.user_id).where(
        Support.item_id == item.id, Support.entered_by_id.is_not(None))))


def may_support(user: User | None, community: Community, item: AgendaItem) -> bool:
    return (
        item.status == ItemStatus.SUBMITTED
        and user is not None
        and getattr(user, "id", None) != item.author_id
        and can(user, community, "items.support")
    )


STATUS_LABELS = {
    ItemStatus.DRAFT: _l("Draft"),
    ItemStatus.SUBMITTED: _l("Collecting supports"),
    ItemStatus.ACCEPTED: _l("On the agenda"),
    ItemStatus.IN_REVIEW: _l("Being reviewed"),
    ItemStatus.SCHEDULED: _l("Scheduled for a meeting"),
    ItemStatus.VOTING: _l("Voting"),
    ItemStatus.DECIDED: _l("Decided"),
    ItemStatus.IMPLEMENTING: _l("Being carried out"),
    ItemStatus.CLOSED: _l("Closed"),
    ItemStatus.WITHDRAWN: _l("Withdrawn"),
    ItemStatus.REJECTED: _l("Not accepted"),
    ItemStatus.MERGED: _l("Merged"),
}

# Notes the app writes on the timeline itself are stored as keys and translated when shown,
# so each reader sees them in their own language; people's notes are shown as written.
SYSTEM_NOTES = {
    "threshold": lambda n: ngettext("Reached %(num)d support.", "Reached %(num)d supports.", n),
    "review_requested": _l("Review requested."),
    "vote_closed": _l("Voting closed on every measure."),
    "implemented": _l("Every adopted resolution is carried out."),
}


def system_note(key: str, **params) -> str:
    return "system:" + key + "".join(f":{k}={v}" for k, v in params.items())


def timeline_note(note: str) -> str:
    if not note.startswith("system:"):
        return note
    key, *pairs = note[len("system:"):].split(":")
    template = SYSTEM_NOTES.get(key)
    if template is None:
        return ""
    params = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        params[name] = int(value) if value.isdigit() else value
    if callable(template):  # a note with a count, said in the right plural form
        return template(**params)
    return str(template) % params if params else str(template)


CATEGORY_LABELS = {
    "parking": _l("Parking"),
    "environment": _l("Environment"),
    "safety": _l("Safety"),
    "facilities": _l("Facilities"),
    "conventions": _l("Conventions"),
    "other": _l("Other"),
}


announce_status = _announce_status

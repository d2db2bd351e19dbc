"""Discussion operations: post, reply, edit (15 minutes), remove, flag, hide and restore.

Every change commits first, then announces the public fragment of the comment (and the new
thread header) to the item's room, so everyone on the page sees it without reloading.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import realtime
from ..accounts.models import User
from ..agenda.models import DISCUSSABLE, AgendaItem, ItemEvent, Support
from ..agenda.services import get_item, participant
from ..audit.services import record
from ..communities.models import Community, Membership, MembershipStatus
from ..communities.permissions import can, require
from ..errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..text import render_markdown
from ..timeutil import utcnow
from ..urls import link
from .models import Comment, CommentFlag, CommentRevision, CommentState, Stance

BODY_MAX = 5000
EDIT_WINDOW = timedelta(minutes=15)
MAX_SHOWN_DEPTH = 2  # 0, 1, 2: three levels
_MENTION = re.compile(r"@([\w\u00b7\u3400-\u9fff.-]{1,30})")
_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"<(/?)\s*([a-zA-Z0-9]+)")
_NO_MENTIONS = frozenset({"a", "code", "pre"})


# ---------------------------------------------------------------- reading


def thread(item: AgendaItem) -> tuple[list[Comment], dict[int | None, list[Comment]]]:
    """All comments of an item in order, and the children of each shown parent."""
    comments = list(
        db.session.scalars(
            select(Comment).where(Comment.item_id == item.id).order_by(Comment.id)
            .options(selectinload(Comment.author), selectinload(Comment.parent).selectinload(Comment.author),
                     selectinload(Comment.revisions))
        )
    )
    children: dict[int | None, list[Comment]] = {}
    for comment in comments:
        children.setdefault(comment.display_parent_id, []).append(comment)
    return comments, children


def stance_counts(item_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Comment.stance, func.count(Comment.id))
        .where(Comment.item_id == item_id, Comment.state == CommentState.VISIBLE, Comment.stance.is_not(None))
        .group_by(Comment.stance)
    )
    counts = {s.value: 0 for s in Stance}
    counts.update(dict(rows.all()))
    return counts


def comment_in(community: Community, comment_id: int) -> Comment:
    comment = db.session.scalar(
        select(Comment).join(AgendaItem, AgendaItem.id == Comment.item_id)
        .where(Comment.id == comment_id, AgendaItem.community_id == community.id)
    )
    if comment is None:
        raise NotFound(_l("That comment does not exist in this community."))
    return comment


def can_edit(user: User | None, comment: Comment) -> bool:
    return (
        user is not None
        and getattr(user, "id", None) == comment.author_id
        and comment.state == CommentState.VISIBLE
        and utcnow() - comment.created_at <= EDIT_WINDOW
    )


def may_read_text(viewer: User | None, community: Community, comment: Comment) -> bool:
    """A hidden or removed comment's text reaches only its author and this community's staff."""
    if comment.state == CommentState.VISIBLE:
        return True
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return viewer.id == comment.author_id or can(viewer, community, "comments.moderate")


def comment_to_moderate(*, actor: User, community: Community, comment_id: int) -> Comment:
    """The comment a moderator is about to hide: only staff of this community see the form."""
    require(actor, community, "comments.moderate")
    return comment_in(community, comment_id)


def comment_permissions(viewer: User | None, community: Community) -> dict[str, bool]:
    """What the viewer may do to comments, worked out once per page rather than per comment."""
    return {"post": can(viewer, community, "comments.post"), "moderate": can(viewer, community, "comments.moderate")}


def flag_queue(*, actor: User, community: Community) -> list[Comment]:
    require(actor, community, "comments.moderate")
    return list(
        db.session.scalars(
            select(Comment).join(AgendaItem, AgendaItem.id == Comment.item_id)
            .where(AgendaItem.community_id == community.id, Comment.open_flags > 0)
            .order_by(Comment.open_flags.desc(), Comment.id)
        )
    )


def open_flags(comment: Comment) -> list[CommentFlag]:
    return list(
        db.session.scalars(
            select(CommentFlag).where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
        )
    )


# ---------------------------------------------------------------- mentions


def _members_named(community: Community, names: set[str]) -> dict[str, list[User]]:
    if not names:
        return {}
    found: dict[str, list[User]] = {}
    for user in db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.community_id == community.id,
            Membership.status == MembershipStatus.VERIFIED,
            User.display_name.in_(names),
        )
    ):
        found.setdefault(user.display_name, []).append(user)
    return found


def mentioned(community: Community, body: str) -> dict[str, list[User]]:
    return _members_named(community, set(_MENTION.findall(body or "")))


def render_comment_body(community: Community, body: str) -> Markup:
    """Markdown with @name turned into links to the member's page."""
    people = mentioned(community, body)

    def link_mentions(html: str) -> str:
        def replace(match: re.Match) -> str:
            users = people.get(match.group(1))
            if not users:
                return match.group(0)
            href = link("agenda.person", slug=community.slug, user_id=users[0].id)
            return f'<a href="{escape(href)}" class="mention">@{escape(match.group(1))}</a>'

        # Only in text: never inside a tag (a link's title or address) nor inside a link's own
        # text or code, where a second link would nest or change what the author wrote.
        parts = _TAG.split(html)
        inside = 0
        for n, part in enumerate(parts):
            if n % 2:  # a tag
                name = _TAG_NAME.match(part)
                if name and name.group(2).lower() in _NO_MENTIONS:
                    inside += -1 if name.group(1) else 1
            elif not inside:
                parts[n] = re.sub(r"(?<![\w/])@([\w\u00b7\u3400-\u9fff.-]{1,30})", replace, part)
        return "".join(parts)

    return render_markdown(body, link_mentions=link_mentions)


# ---------------------------------------------------------------- writing


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError(_l("Please write something first."), field="body")
    if len(body) > BODY_MAX:
        raise ValidationError(_l("A comment can be at most %(n)d characters.", n=BODY_MAX), field="body")
    return body


def _clean_stance(stance: str | None) -> str | None:
    if not stance:
        return None
    if stance not in {s.value for s in Stance}:
        raise ValidationError(_l("Choose for, against, question or neutral."), field="stance")
    return stance


def _clause(item_id: int, clause_key: str | None) -> str | None:
    from ..conventions.services import clause_key_checked  # conventions build on the discussion

    return clause_key_checked(item_id, clause_key)


def post_comment(
    *, actor: User, community: Community, item_id: int, body: str, stance: str | None = None,
    parent_id: int | None = None, client_token: str | None = None, clause_key: str | None = None,
    on_behalf_of: int | None = None,
) -> Comment:
    """Post a comment or reply. Staff may write down what a managed resident says
    (``on_behalf_of``): she is the author, and the comment shows it was entered by staff."""
    require(actor, community, "comments.post")
    author = participant(actor, community, on_behalf_of, "comments.post")
    item = get_item(community=community, item_id=item_id, viewer=actor)
    if item.status not in DISCUSSABLE:
        raise InvalidTransition(_l("The discussion of this item is closed."))
    body = _clean_body(body)
    stance = _clean_stance(stance)
    token = (client_token or "").strip()[:64] or None
    if token:
        existing = db.session.scalar(select(Comment).where(Comment.author_id == author.id,
                                                           Comment.client_token == token))
        if existing is not None:
            return existing  # the same submit again: nothing new
    parent = None
    if parent_id:
        parent = db.session.scalar(select(Comment).where(Comment.id == parent_id, Comment.item_id == item.id))
        if parent is None:
            raise NotFound(_l("The comment you are replying to is not in this discussion."))
    # A reply stays on its parent's clause (even one the text has since dropped).
    clause_key = _clause(item.id, clause_key) if clause_key else (parent.clause_key if parent else None)
    comment = Comment(
        item_id=item.id, author_id=author.id, body=body, stance=stance, client_token=token,
        clause_key=clause_key, entered_by_id=actor.id if author is not actor else None,
        body_html=str(render_comment_body(community, body)),
        parent_id=parent.id if parent else None,
        depth=(parent.depth + 1) if parent else 0,
    )
    if parent is not None:
        comment.display_parent_id = parent.id if parent.depth < MAX_SHOWN_DEPTH else parent.display_parent_id
    db.session.add(comment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(Comment).where(Comment.author_id == author.id,
                                                           Comment.client_token == token))
        if existing is not None:
            return existing  # a concurrent duplicate won the race
        raise
    db.session.execute(
        update(AgendaItem).where(AgendaItem.id == item.id).values(comment_count=AgendaItem.comment_count + 1)
    )
    if author is not actor:
        record(actor=actor, action="comment.posted_for", community=community, subject=author, item_id=item.id,
               comment_id=comment.id)
    where = link("agenda.show", slug=community.slug, item_id=item.id, _anchor=f"comment-{comment.id}")
    recipients = [u.id for users in mentioned(community, body).values() for u in users]
    told = notifications.notify(recipients=recipients, kind="mention", actor=author, link=where,
                                community_id=community.id, item=item.title)
    if parent is not None and parent.author_id not in told:
        told += notifications.notify(recipients=[parent.author_id], kind="reply", actor=author, link=where,
                                     community_id=community.id, item=item.title)
    db.session.commit()
    _announce_comment(community, item, comment, new=True)
    notifications.announce_to(told)
    return comment


def _fragment_renders(community: Community, item: AgendaItem, comment: Comment) -> dict:
    return {
        "comment.posted": lambda: render_template("discussion/_comment.html", community=community, item=item,
                                                  c=comment, children={}, viewer=None, live=True),
        "comment.updated": lambda: render_template("discussion/_comment_body.html", community=community,
                                                   c=comment),
    }


def _restate_stored(community: Community, comment: Comment) -> None:
    """Stored events of this comment now show what it shows today: a replay after an edit,
    removal or hiding must not bring back the earlier text."""
    item = db.session.get(AgendaItem, comment.item_id)
    realtime.restate(f"item:{item.id}", _fragment_renders(community, item, comment), key="comment_id",
                     value=comment.id)


def _announce_comment(community: Community, item: AgendaItem, comment: Comment, *, new: bool) -> None:
    renders = _fragment_renders(community, item, comment)
    if new:
        target = f"#replies-{comment.display_parent_id}" if comment.display_parent_id else f"#comments-{item.id}"
        realtime.announce(f"item:{item.id}", "comment.posted", render=renders["comment.posted"], target=target,
                          swap="beforeend", data={"comment_id": comment.id})
    else:
        realtime.announce(f"item:{item.id}", "comment.updated", render=renders["comment.updated"],
                          target=f"#comment-{comment.id}-body", swap="outerHTML",
                          data={"comment_id": comment.id})
    counts = stance_counts(item.id)
    db.session.refresh(item)
    realtime.announce(
        f"item:{item.id}", "thread.counted",
        render=lambda: render_template("discussion/_header.html", item=item, counts=counts),
        target=f"#thread-header-{item.id}",
    )


def edit_comment(*, actor: User, community: Community, comment_id: int, body: str) -> Comment:
    comment = comment_in(community, comment_id)
    if comment.author_id != actor.id:
        raise PermissionDenied(_l("Only the author can edit a comment."))
    if comment.state != CommentState.VISIBLE:
        raise InvalidTransition(_l("This comment can no longer be edited."))
    if utcnow() - comment.created_at > EDIT_WINDOW:
        raise InvalidTransition(_l("Comments can be edited for 15 minutes after posting."))
    body = _clean_body(body)
    if body == comment.body:
        return comment
    db.session.add(CommentRevision(comment_id=comment.id, body=comment.body))
    comment.body = body
    comment.body_html = str(render_comment_body(community, body))
    comment.edited_at = utcnow()
    _restate_stored(community, comment)
    db.session.commit()
    _announce_comment(community, db.session.get(AgendaItem, comment.item_id), comment, new=False)
    return comment


def remove_comment(*, actor: User, community: Community, comment_id: int) -> Comment:
    """The author removes their comment; a placeholder keeps the replies in place."""
    comment = comment_in(community, comment_id)
    if comment.author_id != actor.id:
        raise PermissionDenied(_l("Only the author can remove a comment."))
    if comment.state == CommentState.REMOVED:
        return comment
    db.session.add(CommentRevision(comment_id=comment.id, body=comment.body))
    comment.state = CommentState.REMOVED
    _restate_stored(community, comment)
    db.session.commit()
    _announce_comment(community, db.session.get(AgendaItem, comment.item_id), comment, new=False)
    return comment


def flag_comment(*, actor: User, community: Community, comment_id: int, reason: str = "") -> Comment:
    require(actor, community, "comments.flag")
    comment = comment_in(community, comment_id)
    if comment.author_id == actor.id:
        raise InvalidTransition(_l("You cannot flag your own comment."))
    if comment.state != CommentState.VISIBLE:
        raise InvalidTransition(_l("This comment is no longer shown; there is nothing to flag."))
    db.session.add(CommentFlag(comment_id=comment.id, user_id=actor.id, reason=(reason or "").strip()[:500]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return comment  # flagged before: once is enough
    db.session.execute(update(Comment).where(Comment.id == comment.id).values(open_flags=Comment.open_flags + 1))
    db.session.commit()
    return comment


def hide_comment(*, actor: User, community: Community, comment_id: int, reason: str) -> Comment:
    require(actor, community, "comments.moderate")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Please give the reason; it is shown in place of the comment."), field="reason")
    comment = comment_in(community, comment_id)
    comment.state = CommentState.HIDDEN
    comment.hidden_reason = reason[:500]
    comment.hidden_by_id = actor.id
    _resolve_flags(comment)


    record(actor=actor, action="comment.hidden", community=community, subject=comment.author, reason=reason[:500],
           comment=comment.id)
    _restate_stored(community, comment)
    db.session.commit()
    _announce_comment(community, db.session.get(AgendaItem, comment.item_id), comment, new=False)
    return comment


def restore_comment(*, actor: User, community: Community, comment_id: int) -> Comment:
    require(actor, community, "comments.moderate")
    comment = comment_in(community, comment_id)
    if comment.state != CommentState.HIDDEN:
        raise InvalidTransition(_l("Only a hidden comment can be restored."))
    comment.state = CommentState.VISIBLE
    comment.hidden_reason = ""
    _resolve_flags(comment)


    record(actor=actor, action="comment.restored", community=community, subject=comment.author, comment=comment.id)
    _restate_stored(community, comment)
    db.session.commit()
    _announce_comment(community, db.session.get(AgendaItem, comment.item_id), comment, new=False)
    return comment


def dismiss_flags(*, actor: User, community: Community, comment_id: int) -> Comment:
    require(actor, community, "comments.moderate")
    comment = comment_in(community, comment_id)
    _resolve_flags(comment)
    db.session.commit()
    return comment


def _resolve_flags(comment: Comment) -> None:
    db.session.execute(
        update(CommentFlag).where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )
    comment.open_flags = 0


# ---------------------------------------------------------------- what a member follows


NEWS_DAYS = 14


def followed_with_news(community: Community, user: User, *,
                       days: int = NEWS_DAYS) -> list[tuple[AgendaItem, ItemEvent]]:
    """Items ``user`` follows (wrote, supported or discussed) whose status moved in the last
    ``days`` days, by someone else or by the app, with the latest move; newest first."""
    since = utcnow() - timedelta(days=days)
    followed = (select(AgendaItem.id).where(AgendaItem.author_id == user.id)
                .union(select(Support.item_id).where(Support.user_id == user.id),
                       select(Comment.item_id).where(Comment.author_id == user.id)))
    events = db.session.scalars(
        select(ItemEvent).join(AgendaItem, AgendaItem.id == ItemEvent.item_id)
        .where(AgendaItem.community_id == community.id, ItemEvent.item_id.in_(followed),
               ItemEvent.created_at >= since, or_(ItemEvent.actor_id.is_(None), ItemEvent.actor_id != user.id))
        .order_by(ItemEvent.created_at.desc(), ItemEvent.id.desc()))
    latest: dict[int, ItemEvent] = {}
    for event in events:
        latest.setdefault(event.item_id, event)
    items = {i.id: i for i in db.session.scalars(select(AgendaItem).where(AgendaItem.id.in_(latest)))}
    return [(items[item_id], event) for item_id, event in latest.items()]

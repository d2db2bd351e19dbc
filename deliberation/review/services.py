"""Review operations: asking experts and legal advisers, their answers and reviews, and the
legal-objection rule.

The rule that protects a vote is ``open_objections`` / ``require_no_open_objection``: while a
legal objection on an item is open (not yet resolved or withdrawn by the adviser), no vote on
the item may be opened. The voting service calls ``require_no_open_objection``.
"""

from __future__ import annotations

from datetime import date

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import realtime
from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus, Support
from ..communities.models import Community, Role
from ..communities.permissions import can, require, roles_of
from ..communities.services import member_in
from ..discussion.models import Comment
from ..errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..timeutil import local_today, utcnow
from ..urls import link
from .models import (
    OPEN_OBJECTION_STATES,
    ObjectionAnswer,
    ObjectionState,
    RequestStatus,
    Review,
    ReviewRequest,
    ReviewVersion,
    Verdict,
)

QUESTION_MAX = 2000
BODY_MAX = 20000
REVIEWABLE = frozenset({ItemStatus.SUBMITTED, ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED})


# ---------------------------------------------------------------- reading


def reviews_of(item: AgendaItem) -> list[Review]:
    return list(db.session.scalars(select(Review).where(Review.item_id == item.id).order_by(Review.id)))


def requests_of(item: AgendaItem) -> list[ReviewRequest]:
    return list(
        db.session.scalars(select(ReviewRequest).where(ReviewRequest.item_id == item.id).order_by(ReviewRequest.id))
    )


def open_objections(item_id: int) -> list[Review]:
    return list(
        db.session.scalars(
            select(Review).where(
                Review.item_id == item_id,
                Review.verdict == Verdict.LEGAL_OBJECTION,
                Review.objection_state.in_(OPEN_OBJECTION_STATES),
            )
        )
    )


def require_no_open_objection(item_id: int) -> None:
    """Raise InvalidTransition while a legal objection on the item is open."""
    if open_objections(item_id):
        raise InvalidTransition(
            _l("A vote cannot be opened while a legal objection on this item is open. "
               "It must be answered and then resolved or withdrawn by the legal adviser.")
        )


def my_requests(*, actor: User, community: Community) -> list[ReviewRequest]:
    return list(
        db.session.scalars(
            select(ReviewRequest)
            .join(AgendaItem, AgendaItem.id == ReviewRequest.item_id)
            .where(ReviewRequest.reviewer_id == actor.id, AgendaItem.community_id == community.id)
            .order_by(ReviewRequest.due_on, ReviewRequest.id)
        )
    )


def open_requests_for(community: Community, user: User) -> list[ReviewRequest]:
    """Review requests waiting for ``user``'s answer or review, soonest due first."""
    return [r for r in my_requests(actor=user, community=community)
            if r.status in (RequestStatus.PENDING, RequestStatus.ACCEPTED)]


def text_changed_since(review: Review) -> tuple[int, int] | None:
    """(the version of the item's text the reviewer read, the version now) when the author
    revised the text after the review was last written; None when it has not changed."""
    revisions = agenda.revisions_of(db.session.get(AgendaItem, review.item_id))
    if not revisions:
        return None
    read = max((r.number for r in revisions if r.created_at <= review.updated_at), default=1)
    return (read, revisions[-1].number) if revisions[-1].number > read else None


def all_open_requests(*, actor: User, community: Community) -> list[ReviewRequest]:
    require(actor, community, "reviews.overview")
    return list(
        db.session.scalars(
            select(ReviewRequest)
            .join(AgendaItem, AgendaItem.id == ReviewRequest.item_id)
            .where(
                AgendaItem.community_id == community.id,
                ReviewRequest.status.in_((RequestStatus.PENDING, RequestStatus.ACCEPTED)),
            )
            .order_by(ReviewRequest.created_at, ReviewRequest.id)
        )
    )


def reviewers(community: Community) -> list[tuple[User, str]]:
    """Members holding the expert or legal-adviser role, with that role."""
    from ..communities.models import RoleGrant

    rows = db.session.execute(
        select(User, RoleGrant.role)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.community_id == community.id, RoleGrant.role.in_((Role.EXPERT, Role.LEGAL)))
        .order_by(RoleGrant.role, User.display_name)
    )
    return [(user, role) for user, role in rows if Role(role) in roles_of(user, community)]


def my_queue(*, actor: User, community: Community, today: date | None = None) -> dict[str, list[ReviewRequest]]:
    """A reviewer's queue split the way their page shows it: overdue, due, done (local days)."""
    today = today or local_today()
    requests = my_requests(actor=actor, community=community)
    open_requests = [r for r in requests if r.is_open]
    return {
        "overdue": [r for r in open_requests if r.is_overdue(today)],
        "due": [r for r in open_requests if not r.is_overdue(today)],
        "done": [r for r in requests if not r.is_open],
    }


def request_in(community: Community, request_id: int) -> ReviewRequest:
    found = db.session.scalar(
        select(ReviewRequest).join(AgendaItem, AgendaItem.id == ReviewRequest.item_id)
        .where(ReviewRequest.id == request_id, AgendaItem.community_id == community.id)
    )
    if found is None:
        raise NotFound(_l("That review request does not exist in this community."))
    return found


def review_in(community: Community, review_id: int) -> Review:
    found = db.session.scalar(
        select(Review).join(AgendaItem, AgendaItem.id == Review.item_id)
        .where(Review.id == review_id, AgendaItem.community_id == community.id)
    )
    if found is None:
        raise NotFound(_l("That review does not exist in this community."))
    return found


def followers(item: AgendaItem) -> set[int]:
    """Who hears about reviews: the author, the supporters and everyone who commented."""
    people = {item.author_id}
    people.update(db.session.scalars(select(Support.user_id).where(Support.item_id == item.id)))
    people.update(db.session.scalars(select(Comment.author_id).where(Comment.item_id == item.id)))
    return people


# ---------------------------------------------------------------- writing


def _announce(item: AgendaItem) -> None:
    community = item.community
    realtime.announce(
        f"item:{item.id}", "review.changed",
        render=lambda: render_template("review/_section.html", community=community, item=item,
                                       reviews=reviews_of(item), requests=requests_of(item),
                                       objections=open_objections(item.id), viewer=None, live=True),
        target=f"#reviews-{item.id}",
    )


def _item_link(item: AgendaItem) -> str:
    return link("agenda.show", slug=item.community.slug, item_id=item.id, _anchor="reviews")


def request_review(
    *, actor: User, community: Community, item_id: int, reviewer_ids: list[int], question: str, due_on: date | None,
) -> list[ReviewRequest]:
    """Ask one or more experts / legal advisers to review an item by a due date."""
    require(actor, community, "reviews.request")
    item = agenda.get_item(community=community, item_id=item_id, viewer=actor)
    if item.status not in REVIEWABLE:
        raise InvalidTransition(_l("Reviews can be asked for while an item is open, before the vote."))
    question = (question or "").strip()
    if not question:
        raise ValidationError(_l("Please write the question for the reviewers."), field="question")
    if len(question) > QUESTION_MAX:
        raise ValidationError(_l("The question must be at most %(n)d characters.", n=QUESTION_MAX), field="question")
    if due_on is None:
        raise ValidationError(_l("Please choose a due date."), field="due_on")
    if due_on < local_today():
        raise ValidationError(_l("The due date cannot be in the past."), field="due_on")
    if not reviewer_ids:
        raise ValidationError(_l("Please choose at least one reviewer."), field="reviewer_ids")
    created = []
    for reviewer_id in dict.fromkeys(reviewer_ids):
        reviewer = member_in(community, int(reviewer_id))
        held = roles_of(reviewer, community)
        role = Role.LEGAL if Role.LEGAL in held else Role.EXPERT if Role.EXPERT in held else None
        if role is None:
            raise ValidationError(_l("%(name)s is not an expert or legal adviser of this community.",
                                     name=reviewer.display_name), field="reviewer_ids")
        request = ReviewRequest(item_id=item.id, reviewer_id=reviewer.id, requested_by_id=actor.id, role=role,
                                question=question, due_on=due_on)
        db.session.add(request)
        created.append(request)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("One of these people has already been asked to review this item.")) from None
    told = notifications.notify(recipients=[r.reviewer_id for r in created], kind="review_requested", actor=actor,
                                link=link("review.mine", slug=community.slug), community_id=community.id,
                                item=item.title)
    db.session.commit()
    if item.status == ItemStatus.ACCEPTED:
        agenda.advance_item(actor=actor, community=community, item_id=item.id, to=ItemStatus.IN_REVIEW,
                            note=agenda.system_note("review_requested"), system=True)
    _announce(item)
    notifications.announce_to(told)
    return created


def respond(*, actor: User, community: Community, request_id: int, accept: bool, reason: str = "") -> ReviewRequest:
    """The reviewer accepts or declines (with a reason) a request made to them."""
    request = request_in(community, request_id)
    if request.reviewer_id != actor.id:
        raise PermissionDenied(_l("This request was made to someone else."))
    if request.status != RequestStatus.PENDING:
        raise InvalidTransition(_l("You have already answered this request."))
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationError(_l("Please say why you decline, so the chair can ask someone else."), field="reason")
    request.status = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    request.decline_reason = "" if accept else reason[:1000]
    request.responded_at = utcnow()
    db.session.commit()
    _announce(request.item)
    return request


def _clean_review(community: Community, actor: User, role: str, verdict: str, body: str, passages: str):
    try:
        verdict = Verdict(verdict)
    except ValueError:
        raise ValidationError(_l("Please choose a verdict."), field="verdict") from None
    if verdict == Verdict.LEGAL_OBJECTION and (role != Role.LEGAL or not can(actor, community, "reviews.object")):
        raise PermissionDenied(_l("Only a legal adviser can raise a legal objection."))
    body = (body or "").strip()
    if not body:
        raise ValidationError(_l("Please write your review."), field="body")
    if len(body) > BODY_MAX:
        raise ValidationError(_l("The review must be at most %(n)d characters.", n=BODY_MAX), field="body")
    passages = "\n".join(line.strip() for line in (passages or "").splitlines() if line.strip())[:5000]
    return verdict, body, passages


def _clause(item_id: int, clause_key: str | None) -> str | None:
    from ..conventions.services import clause_key_checked  # conventions build on review

    return clause_key_checked(item_id, clause_key)


def submit_review(
    *, actor: User, community: Community, request_id: int, verdict: str, body: str, passages: str = "",
    clause_key: str | None = None,
) -> Review:
    require(actor, community, "reviews.write")
    request = request_in(community, request_id)
    if request.reviewer_id != actor.id:
        raise PermissionDenied(_l("This request was made to someone else."))
    if request.status not in (RequestStatus.PENDING, RequestStatus.ACCEPTED):
        raise InvalidTransition(_l("This request is already answered."))
    verdict, body, passages = _clean_review(community, actor, request.role, verdict, body, passages)
    review = Review(
        request_id=request.id, item_id=request.item_id, reviewer_id=actor.id, role=request.role, verdict=verdict,
        body=body, passages=passages, clause_key=_clause(request.item_id, clause_key),
        objection_state=ObjectionState.OPEN if verdict == Verdict.LEGAL_OBJECTION else None,
    )
    db.session.add(review)
    request.status = RequestStatus.DONE
    request.responded_at = request.responded_at or utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("You have already submitted this review; revise it instead.")) from None
    item = request.item
    told = notifications.notify(recipients=followers(item), kind="review_submitted", actor=actor,
                                link=_item_link(item), community_id=community.id, item=item.title)
    db.session.commit()
    _announce(item)
    notifications.announce_to(told)
    return review


def revise_review(*, actor: User, community: Community, review_id: int, verdict: str, body: str,
                  passages: str = "", clause_key: str | None = None) -> Review:
    """The reviewer revises a submitted review; the earlier version stays in its history."""
    review = review_in(community, review_id)
    if review.reviewer_id != actor.id:
        raise PermissionDenied(_l("Only the reviewer can revise this review."))
    require(actor, community, "reviews.write")
    verdict, body, passages = _clean_review(community, actor, review.role, verdict, body, passages)
    clause_key = _clause(review.item_id, clause_key)
    if (verdict, body, passages, clause_key) == (review.verdict, review.body, review.passages, review.clause_key):
        return review
    db.session.add(ReviewVersion(review_id=review.id, version=review.version, verdict=review.verdict,
                                 body=review.body, passages=review.passages, created_at=review.updated_at))
    was_objection = review.verdict == Verdict.LEGAL_OBJECTION
    review.verdict, review.body, review.passages, review.clause_key = verdict, body, passages, clause_key
    review.version += 1
    review.updated_at = utcnow()
    if verdict == Verdict.LEGAL_OBJECTION and not was_objection:
        review.objection_state = ObjectionState.OPEN
    elif verdict != Verdict.LEGAL_OBJECTION and was_objection:
        # Changing the verdict away from an objection withdraws it, on the record.
        if review.objection_state in OPEN_OBJECTION_STATES:
            db.session.add(ObjectionAnswer(review_id=review.id, author_id=actor.id, kind="withdrawn",
                                           body=str(_l("Verdict changed in a revision."))))
        review.objection_state = ObjectionState.WITHDRAWN
    db.session.commit()
    _announce(db.session.get(AgendaItem, review.item_id))
    return review


def answer_objection(*, actor: User, community: Community, review_id: int, body: str) -> ObjectionAnswer:
    """The item's author or a chair answers a legal objection."""
    review = review_in(community, review_id)
    item = db.session.get(AgendaItem, review.item_id)
    if actor.id != item.author_id and Role.CHAIR not in roles_of(actor, community):
        raise PermissionDenied(_l("Only the item's author or a meeting chair can answer an objection."))
    if review.verdict != Verdict.LEGAL_OBJECTION or review.objection_state not in OPEN_OBJECTION_STATES:
        raise InvalidTransition(_l("There is no open objection to answer."))
    body = (body or "").strip()
    if not body:
        raise ValidationError(_l("Please write your answer."), field="body")
    answer = ObjectionAnswer(review_id=review.id, author_id=actor.id, kind="answer", body=body[:BODY_MAX])
    db.session.add(answer)
    review.objection_state = ObjectionState.ANSWERED
    told = notifications.notify(recipients=[review.reviewer_id], kind="objection_answered", actor=actor,
                                link=_item_link(item), community_id=community.id, item=item.title)
    db.session.commit()
    _announce(item)
    notifications.announce_to(told)
    return answer


def close_objection(*, actor: User, community: Community, review_id: int, withdraw: bool = False,
                    note: str = "") -> Review:
    """The legal adviser who raised it marks an objection resolved (after an answer) or withdraws it."""
    review = review_in(community, review_id)
    if review.reviewer_id != actor.id:
        raise PermissionDenied(_l("Only the legal adviser who raised the objection can close it."))
    require(actor, community, "reviews.object")
    if review.verdict != Verdict.LEGAL_OBJECTION or review.objection_state not in OPEN_OBJECTION_STATES:
        raise InvalidTransition(_l("There is no open objection to close."))
    if not withdraw and review.objection_state != ObjectionState.ANSWERED:
        raise InvalidTransition(_l("An objection can be marked resolved once it has been answered."))
    review.objection_state = ObjectionState.WITHDRAWN if withdraw else ObjectionState.RESOLVED
    db.session.add(ObjectionAnswer(review_id=review.id, author_id=actor.id,
                                   kind="withdrawn" if withdraw else "resolved", body=(note or "").strip()[:2000]))
    db.session.commit()
    _announce(db.session.get(AgendaItem, review.item_id))
    return review


VERDICT_LABELS = {
    Verdict.SUPPORTS: _l("Supports the proposal"),
    Verdict.CONDITIONS: _l("Supports with conditions"),
    Verdict.CONCERNS: _l("Has concerns"),
    Verdict.LEGAL_OBJECTION: _l("Legal objection"),
}

REQUEST_LABELS = {
    RequestStatus.PENDING: _l("Waiting for an answer"),
    RequestStatus.ACCEPTED: _l("Accepted, review in progress"),
    RequestStatus.DECLINED: _l("Declined"),
    RequestStatus.DONE: _l("Review submitted"),
}

OBJECTION_LABELS = {
    ObjectionState.OPEN: _l("Open: waiting for an answer"),
    ObjectionState.ANSWERED: _l("Answered: waiting for the legal adviser"),
    ObjectionState.RESOLVED: _l("Resolved"),
    ObjectionState.WITHDRAWN: _l("Withdrawn"),
}

"""Convention operations: drafting clause by clause with versions, co-authors, amendments and
their supports, freezing the text, the votes (one on the whole, or one per contested clause and
amendment followed by a final vote on the text as amended), assembling the adopted text, and
amending an adopted convention.

The votes are ordinary measures of the convention's agenda item, so roll, secrecy, proxies,
legal objections and the hash-chained record all work as for any vote. Two voting signals tie
them back here: ``measure_guard`` (a clause vote is changed only from here; the final vote opens
only after the clause votes closed, and receives the text as amended) and ``measure_closing``
(inside the closing transaction: amendment outcomes, adoption, and the consolidated text added
to the resolution).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus
from ..audit.services import record
from ..communities.models import Community, Membership, MembershipStatus
from ..communities.permissions import can, require
from ..discussion.models import Comment, CommentState
from ..errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..review.models import Review
from ..review.services import require_no_open_objection
from ..timeutil import local_today, utc_to_local, utcnow
from ..urls import link
from ..voting import services as voting
from ..voting.models import Electorate, Measure, MeasureStatus
from ..voting.rules import PRESETS
from . import document
from .models import (
    Amendment,
    AmendmentKind,
    AmendmentStatus,
    AmendmentSupport,
    Convention,
    ConventionAuthor,
    ConventionState,
    ConventionVersion,
    ConventionVote,
    VoteRole,
)

TITLE_MAX = 120
NOTE_MAX = 500
REASON_MAX = 2000
# While the item is in one of these, its authors may still edit the draft.
EDITABLE = frozenset({ItemStatus.DRAFT, ItemStatus.SUBMITTED, ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW,
                      ItemStatus.SCHEDULED})
OPEN_TO_AMEND = frozenset(EDITABLE - {ItemStatus.DRAFT})
# Items that will never be voted on: their drafts are not "in progress".
ENDED = (ItemStatus.WITHDRAWN, ItemStatus.REJECTED, ItemStatus.MERGED)
LIVE_STATES = (ConventionState.DRAFTING, ConventionState.FROZEN, ConventionState.VOTING)

DOCUMENT_ERRORS = {
    "empty": _l("Please write at least one clause (one clause per line)."),
    "too_many": _l("A convention can have at most %(n)d clauses."),
    "clause_too_long": _l("Clause %(number)d is longer than %(n)d characters. Please split it."),
    "chapter_too_long": _l("A chapter title can be at most %(n)d characters."),
}


# ---------------------------------------------------------------- reading


def convention_of_item(item_id: int) -> Convention | None:
    return db.session.scalar(select(Convention).where(Convention.item_id == item_id))


def convention_in(community: Community, convention_id: int, viewer: User | None = None) -> Convention:
    """A convention of this community whose item the viewer may read, or NotFound."""
    convention = db.session.scalar(select(Convention).where(
        Convention.id == convention_id, Convention.community_id == community.id))
    if convention is None or not agenda.can_read(viewer, convention.item):
        raise NotFound(_l("That convention does not exist in this community."))
    return convention


def versions_of(convention: Convention) -> list[ConventionVersion]:
    return list(db.session.scalars(select(ConventionVersion).where(
        ConventionVersion.convention_id == convention.id).order_by(ConventionVersion.number.desc())))


def version_of(convention: Convention, number: int) -> ConventionVersion:
    version = db.session.scalar(select(ConventionVersion).where(
        ConventionVersion.convention_id == convention.id, ConventionVersion.number == number))
    if version is None:
        raise NotFound(_l("That version does not exist."))
    return version


def current_clauses(convention: Convention) -> list[dict]:
    """The text as it stands: the adopted text once adopted, else the newest version."""
    if convention.adopted_clauses is not None:
        return convention.adopted_clauses
    return version_of(convention, convention.version_count).clauses if convention.version_count else []


def text_under_vote(convention: Convention) -> list[dict] | None:
    """The clauses a final (or whole-text) vote is on, once it is set: the frozen text with the
    changes the clause votes passed. None when no such vote is prepared or open."""
    if convention.state in (ConventionState.FROZEN, ConventionState.VOTING) and convention.voted_clauses:
        return convention.voted_clauses
    return None


def frozen_clauses(convention: Convention) -> list[dict]:
    return version_of(convention, convention.frozen_version).clauses if convention.frozen_version else []


def is_author(user: User | None, convention: Convention) -> bool:
    if user is None or not getattr(user, "id", None):
        return False
    if convention.item.author_id == user.id:
        return True
    return db.session.scalar(select(ConventionAuthor.id).where(
        ConventionAuthor.convention_id == convention.id, ConventionAuthor.user_id == user.id)) is not None


def coauthors_of(convention: Convention) -> list[ConventionAuthor]:
    return list(db.session.scalars(select(ConventionAuthor).where(
        ConventionAuthor.convention_id == convention.id).order_by(ConventionAuthor.id)))


def may_edit(user: User | None, convention: Convention) -> bool:
    return (convention.state == ConventionState.DRAFTING and convention.item.status in EDITABLE
            and is_author(user, convention))


def may_amend(user: User | None, convention: Convention) -> bool:
    return (convention.state == ConventionState.DRAFTING and convention.item.status in OPEN_TO_AMEND
            and can(user, convention.item.community, "comments.post"))


def may_unfreeze(user: User | None, convention: Convention) -> bool:
    """Back to drafting: a chair, while the text is frozen and none of its votes has opened."""
    return (convention.state in (ConventionState.FROZEN, ConventionState.VOTING)
            and can(user, convention.item.community, "votes.run")
            and all(m.status == MeasureStatus.DRAFT for _v, m in votes_of(convention)))


def amendments_of(convention: Convention) -> list[Amendment]:
    return list(db.session.scalars(select(Amendment).where(Amendment.convention_id == convention.id)
                                   .order_by(Amendment.number)))


def amendment_in(community: Community, amendment_id: int, viewer: User | None = None) -> Amendment:
    amendment = db.session.get(Amendment, amendment_id)
    if amendment is None:
        raise NotFound(_l("That amendment does not exist."))
    convention_in(community, amendment.convention_id, viewer)
    return amendment


def supported_by(user: User | None, amendments: list[Amendment]) -> set[int]:
    if user is None or not getattr(user, "id", None) or not amendments:
        return set()
    return set(db.session.scalars(select(AmendmentSupport.amendment_id).where(
        AmendmentSupport.user_id == user.id, AmendmentSupport.amendment_id.in_([a.id for a in amendments]))))


@dataclass
class ClauseActivity:
    """What is going on around one clause: comments by stance, amendments, reviews."""

    comments: int = 0
    stances: Counter = field(default_factory=Counter)
    amendments: list[Amendment] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    @property
    def objection(self) -> bool:
        return any(r.blocks_vote for r in self.reviews)


def clause_activity(convention: Convention) -> dict[str, ClauseActivity]:
    activity: dict[str, ClauseActivity] = {}
    rows = db.session.execute(
        select(Comment.clause_key, Comment.stance, func.count(Comment.id))
        .where(Comment.item_id == convention.item_id, Comment.clause_key.is_not(None),
               Comment.state == CommentState.VISIBLE)
        .group_by(Comment.clause_key, Comment.stance))
    for key, stance, count in rows:
        entry = activity.setdefault(key, ClauseActivity())
        entry.comments += count
        if stance:
            entry.stances[stance] += count
    for amendment in amendments_of(convention):
        activity.setdefault(amendment.clause_key, ClauseActivity()).amendments.append(amendment)
    for review in db.session.scalars(select(Review).where(Review.item_id == convention.item_id,
                                                          Review.clause_key.is_not(None))):
        activity.setdefault(review.clause_key, ClauseActivity()).reviews.append(review)
    return activity


def clause_choices(item_id: int) -> list[tuple[str, str]]:
    """(key, "Art. 3 …") for the clause pickers of comments and reviews; empty without a convention."""
    convention = convention_of_item(item_id)
    if convention is None:
        return []
    return [(c["key"], _("Art. %(n)d: %(text)s", n=n, text=_short(c["text"])))
            for n, c in enumerate(current_clauses(convention), start=1)]


def clause_key_checked(item_id: int, key: str | None) -> str | None:
    """A clause key of the item's convention, or None; ValidationError for a key it does not have."""
    if not key:
        return None
    if key not in {k for k, _label in clause_choices(item_id)}:
        raise ValidationError(_l("That clause is not in the convention's current text."), field="clause_key")
    return key


def clause_number(item_id: int, key: str | None) -> int | None:
    convention = convention_of_item(item_id) if key else None
    if convention is None:
        return None
    return document.numbers(current_clauses(convention)).get(key)


def _short(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def votes_of(convention: Convention) -> list[tuple[ConventionVote, Measure]]:
    return list(db.session.execute(
        select(ConventionVote, Measure).join(Measure, Measure.id == ConventionVote.measure_id)
        .where(ConventionVote.convention_id == convention.id).order_by(Measure.position, Measure.id)).all())


def final_vote_ready(convention: Convention) -> Measure | None:
    """The final vote, when it is still a draft and every clause and amendment vote has closed."""
    votes = votes_of(convention)
    final = next((m for v, m in votes if v.role == VoteRole.FINAL), None)
    if final is None or final.status != MeasureStatus.DRAFT:
        return None
    if any(m.status != MeasureStatus.CLOSED for v, m in votes if v.role in (VoteRole.CLAUSE, VoteRole.AMENDMENT)):
        return None
    return final


def deciding_measure_id(convention: Convention) -> int | None:
    """The measure whose vote adopted (or rejected) the whole text."""
    return db.session.scalar(select(ConventionVote.measure_id).where(
        ConventionVote.convention_id == convention.id, ConventionVote.role.in_((VoteRole.WHOLE, VoteRole.FINAL))))


def lineage(convention: Convention) -> list[Convention]:
    """This convention and the versions it amends, newest first."""
    chain = [convention]
    while chain[-1].based_on is not None and len(chain) < 100:
        chain.append(chain[-1].based_on)
    return chain


def in_force(convention: Convention) -> Convention:
    """The newest adopted version of this convention."""
    seen = 0
    while convention.superseded_by is not None and seen < 100:
        convention = convention.superseded_by
        seen += 1
    return convention


def revision_in_progress(convention: Convention) -> Convention | None:
    return db.session.scalar(select(Convention).where(Convention.based_on_id == convention.id,
                                                      Convention.state.in_(LIVE_STATES)))


def adopted_conventions(community: Community) -> list[Convention]:
    return list(db.session.scalars(select(Convention).where(
        Convention.community_id == community.id, Convention.state == ConventionState.ADOPTED)
        .order_by(Convention.adopted_at.desc())))


def conventions_in_progress(community: Community, viewer: User | None) -> list[Convention]:
    rows = db.session.scalars(select(Convention).join(AgendaItem, AgendaItem.id == Convention.item_id).where(
        Convention.community_id == community.id, Convention.state.in_(LIVE_STATES),
        AgendaItem.status.not_in(ENDED)).order_by(Convention.id.desc()))
    return [c for c in rows if agenda.can_read(viewer, c.item)]


# ---------------------------------------------------------------- drafting


def _locked(community: Community, convention_id: int) -> Convention:
    convention = db.session.scalar(select(Convention).where(
        Convention.id == convention_id, Convention.community_id == community.id).with_for_update())
    if convention is None:
        raise NotFound(_l("That convention does not exist in this community."))
    return convention


def _key_maker(convention: Convention):
    def new_key() -> str:
        key = f"c{convention.next_clause}"
        convention.next_clause += 1
        return key
    return new_key


def _parsed(text: str) -> list[tuple[str, str]]:
    try:
        return document.parse(text)
    except document.DocumentError as err:
        raise ValidationError(DOCUMENT_ERRORS[err.code] % err.params, field="text") from None


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError(_l("Please give the convention a title."), field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(_l("The title must be at most %(n)d characters.", n=TITLE_MAX), field="title")
    return title


def _add_version(convention: Convention, clauses: list[dict], *, author: User, note: str,
                 amendment_id: int | None = None) -> ConventionVersion:
    convention.version_count += 1
    version = ConventionVersion(convention_id=convention.id, number=convention.version_count, clauses=clauses,
                                note=note, author_id=author.id, amendment_id=amendment_id)
    db.session.add(version)
    return version


# The two kinds of convention and the rule each is adopted by. A 居民公约 binds every resident, so
# a residents' meeting adopts it (Urban Residents' Committee Organization Law art. 15), tenants
# included; a 管理规约 binds the owners and is an art. 278 ordinary matter. "custom" rules stay
# possible for both (a chair sets them by hand), but not the other kind's presets.
KIND_PRESETS = {
    "residents": ("residents_households", "residents_persons"),
    "management": ("art278_ordinary",),
}


def default_preset(convention: Convention) -> str:
    return KIND_PRESETS.get(convention.kind, KIND_PRESETS["residents"])[0]


def start_convention(*, actor: User, community: Community, item_id: int, title: str, text: str,
                     kind: str = "residents") -> Convention:
    """The item's author starts the convention's text on their item (version 1). ``kind``:
    "residents" (居民公约) or "management" (管理规约), which decides the rule it is adopted by."""
    require(actor, community, "items.propose")
    if kind not in KIND_PRESETS:
        raise ValidationError(_l("Please choose the kind of convention."), field="kind")
    item = agenda.get_item(community=community, item_id=item_id, viewer=actor)
    if item.author_id != actor.id:
        raise PermissionDenied(_l("Only the item's author can start its convention text."))
    if item.status not in EDITABLE:
        raise InvalidTransition(_l("A convention text can only be written before the item is voted on."))
    if convention_of_item(item.id) is not None:
        raise InvalidTransition(_l("This item already has a convention text."))
    title = _clean_title(title)
    parsed = _parsed(text)
    convention = Convention(community_id=community.id, item_id=item.id, title=title, kind=kind)
    db.session.add(convention)
    db.session.flush()
    _add_version(convention, document.keep_identity([], parsed, _key_maker(convention)), author=actor, note="")
    record(actor=actor, action="convention.started", community=community, item_id=item.id, title=title)
    try:
        db.session.commit()
    except IntegrityError:  # a second start at the same moment
        db.session.rollback()
        raise InvalidTransition(_l("This item already has a convention text.")) from None
    return convention


def save_version(*, actor: User, community: Community, convention_id: int, text: str, note: str = "",
                 title: str | None = None, base_version: int | None = None) -> ConventionVersion:
    """A new version of the draft by an author. ``base_version`` is the version the author
    edited: if someone saved since, nothing is lost or overwritten (Conflict, text kept)."""
    convention = _locked(community, convention_id)
    if not is_author(actor, convention):
        raise PermissionDenied(_l("Only the convention's author and co-authors can edit the draft."))
    if convention.state != ConventionState.DRAFTING or convention.item.status not in EDITABLE:
        raise InvalidTransition(_l("The text is frozen for the vote and can no longer be edited."))
    if base_version is not None and base_version != convention.version_count:
        raise Conflict(_l("%(name)s saved version %(n)d while you were editing. Your text is kept below: compare "
                          "it with the newest version and save again.",
                          name=version_of(convention, convention.version_count).author.display_name,
                          n=convention.version_count))
    note = " ".join((note or "").split())[:NOTE_MAX]
    old = current_clauses(convention)
    clauses = document.keep_identity(old, _parsed(text), _key_maker(convention))
    new_title = _clean_title(title) if title is not None else convention.title
    if clauses == old and new_title == convention.title:
        raise ValidationError(_l("Nothing has changed since the last version."), field="text")
    convention.title = new_title
    version = _add_version(convention, clauses, author=actor, note=note)
    record(actor=actor, action="convention.edited", community=community, item_id=convention.item_id,
           version=version.number)
    db.session.commit()
    return version


def add_coauthor(*, actor: User, community: Community, convention_id: int, name: str) -> ConventionAuthor:
    """The item's author adds a co-author by the name members see in the app."""
    convention = _locked(community, convention_id)
    if convention.item.author_id != actor.id:
        raise PermissionDenied(_l("Only the item's author can add co-authors."))
    name = " ".join((name or "").split())
    found = list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED,
        User.display_name == name).limit(2)))
    if not found:
        raise ValidationError(_l("No verified member of this community is called “%(name)s”.", name=name),
                              field="name")
    if len(found) > 1:
        raise ValidationError(_l("Several members are called “%(name)s”. Ask community staff to add the right "
                                 "one.", name=name), field="name")
    user = found[0]
    if is_author(user, convention):
        raise ValidationError(_l("%(name)s is already an author.", name=user.display_name), field="name")
    coauthor = ConventionAuthor(convention_id=convention.id, user_id=user.id, added_by_id=actor.id)
    db.session.add(coauthor)
    notifications.notify(recipients=[user.id], kind="convention.coauthor", actor=actor, community_id=community.id,
                         link=link("conventions.show", slug=community.slug, convention_id=convention.id),
                         title=convention.title)
    record(actor=actor, action="convention.coauthor_added", community=community, subject=user,
           item_id=convention.item_id)
    db.session.commit()
    return coauthor


def remove_coauthor(*, actor: User, community: Community, convention_id: int, user_id: int) -> None:
    convention = _locked(community, convention_id)
    if convention.item.author_id != actor.id:
        raise PermissionDenied(_l("Only the item's author can remove co-authors."))
    row = db.session.scalar(select(ConventionAuthor).where(ConventionAuthor.convention_id == convention.id,
                                                           ConventionAuthor.user_id == user_id))
    if row is None:
        raise NotFound(_l("That person is not a co-author."))
    db.session.delete(row)
    db.session.commit()


# ---------------------------------------------------------------- amendments


def propose_amendment(*, actor: User, community: Community, convention_id: int, clause_key: str, kind: str,
                      text: str = "", reason: str = "") -> Amendment:
    require(actor, community, "comments.post")
    convention = _locked(community, convention_id)
    if convention.state != ConventionState.DRAFTING or convention.item.status not in OPEN_TO_AMEND:
        raise InvalidTransition(_l("Amendments can be proposed while the text is being drafted and the item "
                                   "is public."))
    clause = next((c for c in current_clauses(convention) if c["key"] == clause_key), None)
    if clause is None:
        raise ValidationError(_l("Please choose a clause of the current text."), field="clause_key")
    if kind not in set(AmendmentKind):
        raise ValidationError(_l("Please choose what the amendment does."), field="kind")
    text = " ".join((text or "").split())
    if kind == AmendmentKind.DELETE:
        text = ""
    elif not text:
        raise ValidationError(_l("Please write the clause's new text."), field="text")
    elif len(text) > document.CLAUSE_MAX:
        raise ValidationError(_l("A clause can be at most %(n)d characters.", n=document.CLAUSE_MAX), field="text")
    elif kind == AmendmentKind.REPLACE and text == clause["text"]:
        raise ValidationError(_l("The new text is the same as the clause's text."), field="text")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Please say why, so others can weigh it."), field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(_l("The reason can be at most %(n)d characters.", n=REASON_MAX), field="reason")
    number = (db.session.scalar(select(func.max(Amendment.number)).where(
        Amendment.convention_id == convention.id)) or 0) + 1
    amendment = Amendment(convention_id=convention.id, number=number, author_id=actor.id, clause_key=clause_key,
                          kind=kind, text=text, clause_text=clause["text"], reason=reason,
                          version_number=convention.version_count)
    db.session.add(amendment)
    db.session.flush()
    authors = [convention.item.author_id] + [a.user_id for a in coauthors_of(convention)]
    notifications.notify(recipients=authors, kind="convention.amendment", actor=actor, community_id=community.id,
                         link=_amendment_link(community, convention, amendment), title=convention.title, n=number)
    record(actor=actor, action="amendment.proposed", community=community, item_id=convention.item_id, number=number)
    db.session.commit()
    return amendment


def _amendment_link(community: Community, convention: Convention, amendment: Amendment) -> str:
    return link("conventions.show", slug=community.slug, convention_id=convention.id,
                _anchor=f"amendment-{amendment.number}")


def _locked_amendment(community: Community, amendment_id: int) -> tuple[Convention, Amendment]:
    amendment = db.session.get(Amendment, amendment_id)
    if amendment is None:
        raise NotFound(_l("That amendment does not exist."))
    convention = _locked(community, amendment.convention_id)
    db.session.refresh(amendment)
    return convention, amendment


def support_amendment(*, actor: User, community: Community, amendment_id: int) -> Amendment:
    require(actor, community, "items.support")
    convention, amendment = _locked_amendment(community, amendment_id)
    if amendment.status != AmendmentStatus.PROPOSED:
        raise InvalidTransition(_l("Only a proposed amendment can be supported."))
    if amendment.author_id == actor.id:
        raise InvalidTransition(_l("You proposed this amendment; your support is already counted."))
    db.session.add(AmendmentSupport(amendment_id=amendment.id, user_id=actor.id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidTransition(_l("You already support this amendment.")) from None
    db.session.execute(update(Amendment).where(Amendment.id == amendment.id)
                       .values(support_count=Amendment.support_count + 1))
    db.session.commit()
    db.session.refresh(amendment)
    return amendment


def withdraw_amendment(*, actor: User, community: Community, amendment_id: int) -> Amendment:
    convention, amendment = _locked_amendment(community, amendment_id)
    if amendment.author_id != actor.id:
        raise PermissionDenied(_l("Only the member who proposed the amendment can withdraw it."))
    if amendment.status != AmendmentStatus.PROPOSED or convention.state != ConventionState.DRAFTING:
        raise InvalidTransition(_l("Only a proposed amendment can be withdrawn before the text is frozen."))
    amendment.status = AmendmentStatus.WITHDRAWN
    amendment.decided_at = utcnow()
    db.session.commit()
    return amendment


def accept_amendment(*, actor: User, community: Community, amendment_id: int) -> ConventionVersion:
    """An author takes the amendment into the draft: a new version with it applied."""
    convention, amendment = _locked_amendment(community, amendment_id)
    if not is_author(actor, convention):
        raise PermissionDenied(_l("Only the convention's author and co-authors can accept an amendment."))
    if convention.state != ConventionState.DRAFTING or convention.item.status not in EDITABLE:
        raise InvalidTransition(_l("The text is frozen for the vote and can no longer be edited."))
    if amendment.status != AmendmentStatus.PROPOSED:
        raise InvalidTransition(_l("Only a proposed amendment can be accepted."))
    clauses = current_clauses(convention)
    change = document.Change(kind=amendment.kind, clause_key=amendment.clause_key, text=amendment.text,
                             amendment_id=amendment.id)
    applied = document.apply_changes(clauses, [change])
    if applied.lapsed:
        raise InvalidTransition(_l("The clause this amendment changes is no longer in the text."))
    version = _add_version(convention, applied.clauses, author=actor, amendment_id=amendment.id,
                           note=_("Amendment %(n)d accepted", n=amendment.number))
    amendment.status = AmendmentStatus.ACCEPTED
    amendment.decided_at = utcnow()
    notifications.notify(recipients=[amendment.author_id], kind="convention.accepted", actor=actor,
                         community_id=community.id, link=_amendment_link(community, convention, amendment),
                         title=convention.title, n=amendment.number)
    record(actor=actor, action="amendment.accepted", community=community, item_id=convention.item_id,
           number=amendment.number)
    db.session.commit()
    return version


# ---------------------------------------------------------------- freezing and voting


def freeze(*, actor: User, community: Community, convention_id: int) -> Convention:
    """The chair fixes the text for the vote. Amendments whose clause left the text lapse."""
    require(actor, community, "votes.run")
    convention = _locked(community, convention_id)
    if convention.state != ConventionState.DRAFTING:
        raise InvalidTransition(_l("Only a draft can be frozen."))
    if convention.item.status not in voting.VOTABLE:
        raise InvalidTransition(_l("The text can be frozen once the item is on the agenda."))
    convention.state = ConventionState.FROZEN
    convention.frozen_version = convention.version_count
    keys = {c["key"] for c in current_clauses(convention)}
    for amendment in amendments_of(convention):
        if amendment.status == AmendmentStatus.PROPOSED and amendment.clause_key not in keys:
            amendment.status = AmendmentStatus.LAPSED
    record(actor=actor, action="convention.frozen", community=community, item_id=convention.item_id,
           version=convention.frozen_version)
    db.session.commit()
    return convention


def unfreeze(*, actor: User, community: Community, convention_id: int) -> Convention:
    """Back to drafting, while no vote on the text has been opened: votes prepared but not
    opened (e.g. for a meeting) are removed, and amendments waiting for them wait again."""
    require(actor, community, "votes.run")
    convention = _locked(community, convention_id)
    votes = votes_of(convention)
    if not may_unfreeze(actor, convention):
        raise InvalidTransition(_l("Only a frozen text whose votes have not been opened can go back to drafting."))
    for vote, _measure in votes:
        db.session.delete(vote)
    db.session.flush()  # the links go before the measures they point to
    for _vote, measure in votes:
        db.session.delete(measure)
    for amendment in amendments_of(convention):
        if amendment.status == AmendmentStatus.VOTING:
            amendment.status = AmendmentStatus.PROPOSED
    convention.state = ConventionState.DRAFTING
    convention.frozen_version = None
    convention.voted_clauses = None
    convention.effective_on = None
    record(actor=actor, action="convention.unfrozen", community=community, item_id=convention.item_id,
           removed_votes=len(votes))
    db.session.commit()
    return convention


@dataclass
class VotePlan:
    """What the chair chose: one vote on the whole text, or ("clauses") a vote on every pending
    amendment and on each chosen clause, then a final vote; and the rules all of them use."""

    mode: str = "whole"
    clause_keys: list[str] = field(default_factory=list)
    preset: str = "residents_households"
    electorate: str = "owners"
    weighting: str = "area"
    threshold: str = "majority"
    secret: bool = False  # the art. 278 preset counts floor area, which a secret board cannot show
    closes_at: datetime | None = None
    effective_on: date | None = None
    open_now: bool = True


def _draft(plan: VotePlan, *, kind: str, question: str, text: str) -> voting.MeasureDraft:
    return voting.MeasureDraft(
        kind=kind, question=question[:voting.QUESTION_MAX], text=text, preset=plan.preset,
        electorate=plan.electorate, weighting=plan.weighting, threshold=plan.threshold, secret=plan.secret,
        results_live=False, closes_at=plan.closes_at)


def amendment_words(amendment: Amendment, number: int) -> str:
    if amendment.kind == AmendmentKind.REPLACE:
        return _("Replace Art. %(n)d with: %(text)s", n=number, text=amendment.text)
    if amendment.kind == AmendmentKind.INSERT_AFTER:
        return _("Insert after Art. %(n)d: %(text)s", n=number, text=amendment.text)
    return _("Delete Art. %(n)d", n=number)


def open_votes(*, actor: User, community: Community, convention_id: int, plan: VotePlan) -> list[Measure]:
    """Prepare the convention's votes as measures of its item (in one transaction) and, unless
    the chair will open them in a meeting, open them now. The final vote of a clause-by-clause
    plan stays a draft until the clause and amendment votes have closed."""
    require(actor, community, "votes.run")
    convention = _locked(community, convention_id)
    if convention.state != ConventionState.FROZEN:
        raise InvalidTransition(_l("Freeze the text first; then the votes can be prepared."))
    item = convention.item
    if item.status not in voting.VOTABLE:
        raise InvalidTransition(_l("A vote can only be opened on an item that is on the agenda."))
    clauses = frozen_clauses(convention)
    number_of = document.numbers(clauses)
    pending = [a for a in amendments_of(convention) if a.status == AmendmentStatus.PROPOSED]
    if plan.mode not in ("whole", "clauses"):
        raise ValidationError(_l("Please choose how to vote."), field="mode")
    chosen = [k for k in dict.fromkeys(plan.clause_keys) if k]
    if any(k not in number_of for k in chosen):
        raise ValidationError(_l("Please choose clauses of the frozen text."), field="clause_keys")
    if plan.mode == "whole" and pending:
        raise ValidationError(lazy_ngettext(
            "%(num)d amendment is waiting for a vote. Vote clause by clause, or the authors accept it / its "
            "proposer withdraws it first.",
            "%(num)d amendments are waiting for a vote. Vote clause by clause, or the authors accept them / their "
            "proposers withdraw them first.", len(pending)),
                              field="mode")
    if plan.mode == "clauses" and not (pending or chosen):
        raise ValidationError(_l("There is no amendment to vote on: choose the contested clauses to vote on "
                                 "separately, or vote on the whole text."), field="clause_keys")
    if plan.closes_at is not None and plan.effective_on is not None \
            and plan.effective_on < utc_to_local(plan.closes_at).date():
        raise ValidationError(_l("The convention cannot take effect before the vote closes."), field="effective_on")
    if plan.preset in PRESETS and plan.preset not in KIND_PRESETS.get(convention.kind, ()):
        raise ValidationError(_l("A residents' convention (居民公约) binds every resident and is adopted by a "
                                 "residents' meeting; an owners' management convention (管理规约) by the owners under "
                                 "Civil Code art. 278. Please choose a rule preset for this kind."), field="preset")
    if plan.open_now:  # refuse before anything is created
        require_no_open_objection(item.id)
        preset = PRESETS.get(plan.preset)
        if preset is not None:
            nobody = not voting.register_roll(community, preset.roll)
        else:
            nobody = plan.electorate in {e.value for e in Electorate} and not voting.eligible_voters(
                community, plan.electorate, plan.weighting)
        if nobody:
            raise ValidationError(_l("No one is eligible to vote under these rules yet (for owners' votes, register "
                                     "the units and their owners first)."), field="preset")
    text = document.plain_text(convention.title, clauses)
    made: list[tuple[Measure, ConventionVote]] = []

    def add(role: VoteRole, *, kind: str, question: str, body: str = "", clause_key: str | None = None,
            amendment: Amendment | None = None) -> None:
        measure = voting.build_measure(actor=actor, community=community, item_id=item.id,
                                       draft=_draft(plan, kind=kind, question=question, text=body))
        vote = ConventionVote(convention_id=convention.id, measure_id=measure.id, role=role, clause_key=clause_key,
                              amendment_id=amendment.id if amendment else None)
        db.session.add(vote)
        made.append((measure, vote))

    if plan.mode == "whole":
        add(VoteRole.WHOLE, kind="convention", question=_("Adopt “%(title)s”?", title=convention.title), body=text)
        convention.voted_clauses = clauses
    else:
        for amendment in pending:
            n = number_of[amendment.clause_key]
            add(VoteRole.AMENDMENT, kind="yes_no", clause_key=amendment.clause_key, amendment=amendment,
                question=_("Amendment %(a)d to Art. %(n)d: adopt it?", a=amendment.number, n=n),
                body=_("Art. %(n)d now reads: %(old)s", n=n, old=next(c["text"] for c in clauses
                                                                     if c["key"] == amendment.clause_key))
                + "\n\n" + amendment_words(amendment, n) + "\n\n" + _("Reason: %(reason)s", reason=amendment.reason))
            amendment.status = AmendmentStatus.VOTING
        for key in sorted(chosen, key=number_of.get):
            clause_text = next(c["text"] for c in clauses if c["key"] == key)
            add(VoteRole.CLAUSE, kind="yes_no", clause_key=key,
                question=_("Keep Art. %(n)d in the convention?", n=number_of[key]),
                body=_("Art. %(n)d: %(text)s", n=number_of[key], text=clause_text))
        add(VoteRole.FINAL, kind="convention", body=text,
            question=_("Adopt “%(title)s” as amended by the votes on its clauses?", title=convention.title))
    convention.state = ConventionState.VOTING
    convention.effective_on = plan.effective_on
    record(actor=actor, action="convention.votes_prepared", community=community, item_id=item.id, mode=plan.mode,
           measures=len(made))
    db.session.commit()
    measures = [m for m, _v in made]
    if plan.open_now:
        for measure, vote in made:
            if vote.role != VoteRole.FINAL:
                voting.open_measure(actor=actor, community=community, measure_id=measure.id)
    return measures


def open_final_vote(*, actor: User, community: Community, convention_id: int,
                    closes_at: datetime | None = None) -> Measure:
    """Open the final vote on the text as amended (the measure guard assembles that text)."""
    convention = convention_in(community, convention_id, actor)
    final = final_vote_ready(convention)
    if final is None:
        raise InvalidTransition(_l("The final vote opens after the votes on clauses and amendments have closed."))
    if closes_at is not None and closes_at != final.closes_at:
        final.closes_at = closes_at
        db.session.commit()
    return voting.open_measure(actor=actor, community=community, measure_id=final.id)


def _vote_of(measure: Measure) -> ConventionVote | None:
    return db.session.scalar(select(ConventionVote).where(ConventionVote.measure_id == measure.id))


def _support(measure: Measure) -> float:
    return float((measure.result or {}).get("counts", {}).get("yes", 0) or 0)


def _passed(measure: Measure) -> bool:
    return (measure.result or {}).get("outcome") == "passed"


def assemble(convention: Convention) -> document.Applied:
    """The frozen text with the outcome of the clause and amendment votes applied."""
    changes = []
    for vote, measure in votes_of(convention):
        if measure.status != MeasureStatus.CLOSED:
            continue
        if vote.role == VoteRole.AMENDMENT and _passed(measure):
            a = vote.amendment
            changes.append(document.Change(kind=a.kind, clause_key=a.clause_key, text=a.text, amendment_id=a.id,
                                           support=_support(measure)))
        elif vote.role == VoteRole.CLAUSE and not _passed(measure):
            changes.append(document.Change(kind="delete", clause_key=vote.clause_key))
    return document.apply_changes(frozen_clauses(convention), changes)


@voting.measure_guard.connect
def _guard(measure: Measure, action: str) -> None:
    vote = _vote_of(measure)
    if vote is None:
        return
    if action in ("update", "delete"):
        raise InvalidTransition(_l("This vote belongs to a convention and is prepared from the convention's page."))
    if action == "open" and vote.role == VoteRole.FINAL:
        convention = db.session.get(Convention, vote.convention_id)
        if final_vote_ready(convention) is None:
            raise InvalidTransition(_l("The final vote opens after the votes on clauses and amendments have closed."))
        applied = assemble(convention)
        if not applied.clauses:
            raise InvalidTransition(_l("The votes removed every clause: there is no text left to adopt."))
        for change in applied.superseded:
            db.session.execute(update(Amendment).where(Amendment.id == change.amendment_id)
                               .values(status=AmendmentStatus.SUPERSEDED))
        convention.voted_clauses = applied.clauses
        measure.text = document.plain_text(convention.title, applied.clauses)


def _history(convention: Convention, final: Measure) -> list[dict]:
    """Each clause that changed against the text in force before (or, for a first convention,
    against its first draft), with the amendments behind it and the measures that decided it."""
    base = (convention.based_on.adopted_clauses if convention.based_on is not None
            else version_of(convention, 1).clauses)
    by_key: dict[str, list[tuple[int, int]]] = {}
    for vote, measure in votes_of(convention):
        if vote.role == VoteRole.AMENDMENT and vote.amendment.status == AmendmentStatus.ADOPTED:
            amendment = vote.amendment
            key = (document.inserted_key(amendment.id) if amendment.kind == AmendmentKind.INSERT_AFTER
                   else amendment.clause_key)
            by_key.setdefault(key, []).append((amendment.number, measure.id))
        elif vote.role == VoteRole.CLAUSE and not _passed(measure):
            by_key.setdefault(vote.clause_key, []).append((0, measure.id))
    entries = []
    accepted = {a.number: a for a in amendments_of(convention) if a.status == AmendmentStatus.ACCEPTED}
    for row in document.compare(base, convention.voted_clauses or []).rows:
        if row.kind == "same":
            continue
        decided = by_key.get(row.key, [])
        drafted = [n for n, a in accepted.items()
                   if row.key == (document.inserted_key(a.id) if a.kind == AmendmentKind.INSERT_AFTER
                                  else a.clause_key)]
        entries.append({
            "key": row.key, "change": row.kind, "moved": row.moved,
            "old_number": row.old[0] if row.old else None, "number": row.new[0] if row.new else None,
            "text": row.new[1]["text"] if row.new else row.old[1]["text"],
            "amendments": [a for a, _m in decided if a], "accepted": drafted,
            "measures": sorted({m for _a, m in decided} | {final.id}),
        })
    return entries


@voting.measure_closing.connect
def _closing(measure: Measure, now: datetime) -> dict | None:
    vote = _vote_of(measure)
    if vote is None:
        return None
    convention = db.session.scalar(select(Convention).where(Convention.id == vote.convention_id).with_for_update())
    community = convention.item.community
    page = link("conventions.show", slug=community.slug, convention_id=convention.id)
    number_of = document.numbers(frozen_clauses(convention))
    if vote.role in (VoteRole.AMENDMENT, VoteRole.CLAUSE):
        part = {"convention": convention.title, "page": page, "role": vote.role,
                "clause": number_of.get(vote.clause_key)}
        if vote.role == VoteRole.AMENDMENT:
            amendment = vote.amendment
            amendment.status = AmendmentStatus.ADOPTED if _passed(measure) else AmendmentStatus.REJECTED
            amendment.decided_at = now
            part.update(amendment=amendment.number, kind=amendment.kind, text=amendment.text,
                        clause_text=amendment.clause_text, reason=amendment.reason)
        return {"convention_part": part}
    clauses = convention.voted_clauses or frozen_clauses(convention)
    text = document.plain_text(convention.title, clauses)
    effective_on = convention.effective_on or (utc_to_local(now).date() + timedelta(days=1))
    consolidated = {
        "title": convention.title, "page": page, "version": convention.frozen_version,
        "clauses": [{"number": n, "chapter": c["chapter"], "text": c["text"]}
                    for n, c in enumerate(clauses, start=1)],
        "text": text, "sha256": document.sha256(text), "effective_on": effective_on.isoformat(),
        "amends": None,
    }
    if _passed(measure):
        convention.state = ConventionState.ADOPTED
        convention.adopted_clauses = clauses
        convention.adopted_text = text
        convention.adopted_at = now
        convention.effective_on = effective_on
        convention.history = _history(convention, measure)
        consolidated["changes"] = convention.history
        previous = convention.based_on
        if previous is not None:
            previous.state = ConventionState.SUPERSEDED
            previous.superseded_by_id = convention.id
            consolidated["amends"] = {"title": previous.title, "page": link(
                "conventions.show", slug=community.slug, convention_id=previous.id)}
    else:
        convention.state = ConventionState.REJECTED
    return {"consolidated": consolidated}


# ---------------------------------------------------------------- amending an adopted convention


def revise(*, actor: User, community: Community, convention_id: int, item_id: int | None = None) -> Convention:
    """Start amending an adopted convention: a new draft agenda item (or the actor's own item
    ``item_id`` that has no text yet) whose convention begins as the text in force, with the
    same clause keys, so the comparison and the history follow each clause."""
    require(actor, community, "items.propose")
    convention = convention_in(community, convention_id, actor)
    if convention.state != ConventionState.ADOPTED:
        raise InvalidTransition(_l("Only the convention in force can be amended."))
    running = revision_in_progress(convention)
    if running is not None:
        raise InvalidTransition(_l("An amendment of this convention is already under way: item #%(n)d.",
                                   n=running.item_id))
    if item_id is None:
        item = agenda.save_draft(
            actor=actor, community=community, category_id=convention.item.category_id,
            title=_("Amend “%(title)s”", title=convention.title)[:agenda.TITLE_MAX],
            body=_("Proposal to amend the convention in force (adopted %(day)s). The draft starts from its "
                   "current text.", day=utc_to_local(convention.adopted_at).date()))
    else:
        item = agenda.get_item(community=community, item_id=item_id, viewer=actor)
        if item.author_id != actor.id:
            raise PermissionDenied(_l("Only the item's author can start its convention text."))
        if item.status not in EDITABLE or convention_of_item(item.id) is not None:
            raise InvalidTransition(_l("This item already has a convention text."))
    revision = Convention(community_id=community.id, item_id=item.id, title=convention.title, kind=convention.kind,
                          based_on_id=convention.id, next_clause=convention.next_clause)
    db.session.add(revision)
    db.session.flush()
    _add_version(revision, [dict(c) for c in convention.adopted_clauses], author=actor,
                 note=_("The text in force"))
    record(actor=actor, action="convention.revision_started", community=community, item_id=item.id,
           amends=convention.id)
    db.session.commit()
    return revision


def effective_today(convention: Convention) -> bool:
    return convention.effective_on is not None and convention.effective_on <= local_today()

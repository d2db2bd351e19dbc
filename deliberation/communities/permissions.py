"""Who may do what in a community: the one table every service checks against.

Later components add their own actions here, so a rule about roles lives in exactly one place.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from .models import Community, Membership, MembershipStatus, Ownership, Role, RoleGrant, Unit

ANY_MEMBER = frozenset(Role)

# action -> roles that may take it (roles only count while the membership is verified)
POLICY: dict[str, frozenset[Role]] = {
    "community.participate": ANY_MEMBER,
    "members.review": frozenset({Role.STAFF, Role.ADMIN}),
    "members.list": frozenset({Role.STAFF, Role.ADMIN}),
    "units.manage": frozenset({Role.STAFF, Role.ADMIN}),
    "accounts.manage": frozenset({Role.STAFF, Role.ADMIN}),
    "members.act_for": frozenset({Role.STAFF, Role.ADMIN}),
    "roles.grant": frozenset({Role.ADMIN}),
    "audit.read": frozenset({Role.ADMIN}),
    "community.settings": frozenset({Role.STAFF, Role.ADMIN}),
    "items.propose": ANY_MEMBER,
    "items.support": ANY_MEMBER,
    "items.moderate": frozenset({Role.STAFF, Role.ADMIN}),
    "items.advance": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "comments.post": ANY_MEMBER,
    "comments.flag": ANY_MEMBER,
    "comments.moderate": frozenset({Role.STAFF, Role.ADMIN}),
    "reviews.request": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "reviews.overview": frozenset({Role.STAFF, Role.ADMIN}),
    "reviews.write": frozenset({Role.EXPERT, Role.LEGAL}),
    "reviews.object": frozenset({Role.LEGAL}),
    "measures.manage": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "votes.run": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "votes.paper": frozenset({Role.STAFF, Role.ADMIN}),
    "records.correct": frozenset({Role.STAFF, Role.ADMIN}),
    "records.progress": frozenset({Role.STAFF, Role.ADMIN}),
    "meetings.run": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "meetings.checkin": frozenset({Role.CHAIR, Role.STAFF, Role.ADMIN}),
    "outbox.read": frozenset({Role.STAFF, Role.ADMIN}),
}

DENIED_MESSAGES = {
    "community.participate": _l("Only verified members of this community can do that."),
    "members.review": _l("Only community staff can review membership requests."),
    "members.list": _l("Only community staff can see the member list."),
    "units.manage": _l("Only community staff can manage units and owners."),
    "accounts.manage": _l("Only community staff can create accounts for residents."),
    "members.act_for": _l("Only community staff can act for a resident without a phone."),
    "roles.grant": _l("Only a community admin can change roles."),
    "audit.read": _l("Only a community admin can read the audit log."),
    "community.settings": _l("Only community staff can change the community's settings."),
    "items.propose": _l("Only verified members of this community can propose agenda items."),
    "items.support": _l("Only verified members of this community can support agenda items."),
    "items.moderate": _l("Only community staff can accept, reject or merge agenda items."),
    "items.advance": _l("Only a meeting chair or staff can move an item along."),
    "comments.post": _l("Only verified members of this community can take part in the discussion."),
    "comments.flag": _l("Only verified members of this community can flag comments."),
    "comments.moderate": _l("Only community staff can hide or restore comments."),
    "reviews.request": _l("Only a meeting chair or staff can ask for a review."),
    "reviews.overview": _l("Only community staff can see all review requests."),
    "reviews.write": _l("Only experts and legal advisers of this community write reviews."),
    "reviews.object": _l("Only a legal adviser can raise a legal objection."),
    "measures.manage": _l("Only a meeting chair or staff can define measures."),
    "votes.run": _l("Only a meeting chair or staff can open and close votes."),
    "votes.paper": _l("Only community staff can enter paper ballots and proxies."),
    "records.correct": _l("Only community staff can add a correction to the record."),
    "records.progress": _l("Only community staff can report how a resolution is carried out."),
    "meetings.run": _l("Only a meeting chair or staff can schedule and run meetings."),
    "meetings.checkin": _l("Only a meeting chair or staff can check people in."),
    "outbox.read": _l("Only community staff can see the messages sent to members."),
}


def membership_of(user: User | None, community: Community) -> Membership | None:
    if user is None or not getattr(user, "id", None):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.community_id == community.id, Membership.user_id == user.id)
    )


def roles_of(user: User | None, community: Community) -> frozenset[Role]:
    """The roles a person holds now. Nothing at all unless their membership is verified."""
    membership = membership_of(user, community)
    if membership is None or membership.status != MembershipStatus.VERIFIED:
        return frozenset()
    roles = {Role.RESIDENT}
    owns = db.session.scalar(
        select(Ownership.id)
        .join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id, Ownership.user_id == user.id)
        .limit(1)
    )
    if owns is not None:
        roles.add(Role.OWNER)
    granted = db.session.scalars(
        select(RoleGrant.role).where(RoleGrant.community_id == community.id, RoleGrant.user_id == user.id)
    )
    roles.update(Role(r) for r in granted)
    return frozenset(roles)


def can(user: User | None, community: Community, action: str) -> bool:
    return bool(roles_of(user, community) & POLICY[action])


def require(user: User | None, community: Community, action: str) -> None:
    if not can(user, community, action):
        raise PermissionDenied(DENIED_MESSAGES.get(action), allowed=who_may(action))


def who_may(action: str) -> list:
    """Who may take ``action``, as role labels to show a person who was refused."""
    roles = POLICY[action]
    if roles == ANY_MEMBER:
        return [_l("Every verified member of this community")]
    return [ROLE_LABELS[role] for role in Role if role in roles]


def acting_for(actor: User | None, community: Community, member_id) -> User:
    """The managed resident staff act for: the actor must be staff here, and the member a
    verified member whose account this community manages (she has no phone and cannot log
    in). Every service that takes ``on_behalf_of`` starts here, then records both people."""
    require(actor, community, "members.act_for")
    try:
        member_id = int(member_id)
    except (TypeError, ValueError):
        member_id = 0
    member = db.session.get(User, member_id) if member_id else None
    membership = membership_of(member, community)
    if member is None or membership is None or membership.status != MembershipStatus.VERIFIED:
        raise NotFound(_l("That person is not a verified member of this community."))
    if not member.is_managed or member.managed_by_community_id != community.id:
        raise PermissionDenied(_l("Staff act only for residents without a phone whose account this community "
                                  "manages. This person takes part themselves."))
    return member


ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.OWNER: _l("Owner"),
    Role.CHAIR: _l("Meeting chair"),
    Role.EXPERT: _l("Expert reviewer"),
    Role.LEGAL: _l("Legal adviser"),
    Role.STAFF: _l("Community staff"),
    Role.ADMIN: _l("Community admin"),
}

STATUS_LABELS = {
    MembershipStatus.PENDING: _l("Waiting for staff"),
    MembershipStatus.VERIFIED: _l("Verified member"),
    MembershipStatus.REJECTED: _l("Not accepted"),
}

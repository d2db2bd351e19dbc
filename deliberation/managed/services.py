"""Residents without phones (managed accounts): what staff see when they act for one, and
claiming the account once she has a phone of her own.

The acts themselves are the ordinary services (supporting, submitting, commenting, replying to a
meeting, check-in, proxies, paper ballots) called with the staff member as ``actor`` and her as
``on_behalf_of`` (or the existing paper paths); each checks ``permissions.acting_for`` and audits
who acted for whom. This module only gathers them for one page and owns the claim.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts import services as accounts
from ..accounts.models import User
from ..agenda.models import DISCUSSABLE, AgendaItem, ItemStatus, Support
from ..audit.models import AuditEntry
from ..audit.services import record
from ..communities.models import Community, Membership, MembershipStatus
from ..communities.permissions import acting_for, membership_of, require
from ..errors import Conflict, InvalidTransition, ValidationError
from ..extensions import db
from ..meetings import services as meetings
from ..meetings.models import Attendance, CheckIn, Meeting, MeetingStatus
from ..notifications import services as notifications
from ..timeutil import utcnow
from ..voting import services as voting
from ..voting.models import Eligibility, Measure, MeasureStatus
from .models import AccountClaim, ClaimStatus

CLAIM_DAYS = 14
# No 0/O, 1/I/L: the code is read aloud and typed by an older person.
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECENT_ITEMS = 40


def managed_residents(*, actor: User, community: Community) -> list:
    """The residents whose accounts this community's staff manage, by name."""
    require(actor, community, "members.act_for")
    return list(db.session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id).where(
            Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED,
            User.is_managed.is_(True), User.managed_by_community_id == community.id,
        ).order_by(User.display_name)).all())


@dataclass
class MeetingRow:
    meeting: Meeting
    coming: bool
    coming_entered_by_staff: bool
    checked_in: CheckIn | None
    proxy: object | None


@dataclass
class MeasureRow:
    measure: Measure
    voted: bool
    proxy: object | None
    accepting: bool


@dataclass
class ResidentPage:
    member: User
    membership: Membership
    to_support: list[tuple[AgendaItem, bool]] = field(default_factory=list)
    drafts: list[AgendaItem] = field(default_factory=list)
    own_items: list[AgendaItem] = field(default_factory=list)
    discussable: list[AgendaItem] = field(default_factory=list)
    meetings: list[MeetingRow] = field(default_factory=list)
    measures: list[MeasureRow] = field(default_factory=list)
    claim: AccountClaim | None = None
    acts: list[AuditEntry] = field(default_factory=list)
    # Replies, mentions and proxies for her: she cannot read them, so staff tell her.
    news: list = field(default_factory=list)


def resident_page(*, actor: User, community: Community, member_id: int) -> ResidentPage:
    """Everything staff can do for one managed resident, with where she stands on each."""
    member = acting_for(actor, community, member_id)
    page = ResidentPage(member=member, membership=membership_of(member, community))
    supported = set(db.session.scalars(select(Support.item_id).where(Support.user_id == member.id)))
    waiting = db.session.scalars(select(AgendaItem).where(
        AgendaItem.community_id == community.id, AgendaItem.status == ItemStatus.SUBMITTED,
        AgendaItem.author_id != member.id).order_by(AgendaItem.id.desc()).limit(RECENT_ITEMS))
    page.to_support = [(item, item.id in supported) for item in waiting]
    mine = list(db.session.scalars(select(AgendaItem).where(
        AgendaItem.community_id == community.id, AgendaItem.author_id == member.id).order_by(AgendaItem.id.desc())))
    page.drafts = [i for i in mine if i.status == ItemStatus.DRAFT]
    page.own_items = [i for i in mine if i.status != ItemStatus.DRAFT]
    page.discussable = list(db.session.scalars(select(AgendaItem).where(
        AgendaItem.community_id == community.id, AgendaItem.status.in_(list(DISCUSSABLE)))
        .order_by(AgendaItem.updated_at.desc(), AgendaItem.id.desc()).limit(RECENT_ITEMS)))
    for meeting in db.session.scalars(select(Meeting).where(
            Meeting.community_id == community.id,
            Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.LIVE])).order_by(Meeting.starts_at)):
        rsvp = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                          Attendance.user_id == member.id))
        page.meetings.append(MeetingRow(
            meeting=meeting, coming=rsvp is not None, coming_entered_by_staff=bool(rsvp and rsvp.entered_by_id),
            checked_in=meetings.check_in_of(meeting, member), proxy=meetings.meeting_proxy_from(meeting, member)))
    for measure in db.session.scalars(select(Measure).join(Eligibility, Eligibility.measure_id == Measure.id).where(
            Measure.community_id == community.id, Measure.status == MeasureStatus.OPEN,
            Eligibility.user_id == member.id).order_by(Measure.id)):
        page.measures.append(MeasureRow(measure=measure, voted=voting.has_voted(measure, member.id),
                                        proxy=voting.active_proxy_from(measure, member.id),
                                        accepting=voting.is_accepting(measure)))
    page.claim = open_claim(member)
    page.news = [n for n in notifications.recent(member, limit=40) if n.community_id == community.id][:10]
    page.acts = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.community_id == community.id, AuditEntry.subject_id == member.id)
        .order_by(AuditEntry.id.desc()).limit(20)))
    return page


# ---------------------------------------------------------------- claiming the account


def _code_hash(code: str) -> str:
    normalised = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def open_claim(member: User) -> AccountClaim | None:
    """Her claim that is waiting for her (started) or for staff (requested), if any."""
    claim = db.session.scalar(select(AccountClaim).where(
        AccountClaim.user_id == member.id,
        AccountClaim.status.in_([ClaimStatus.STARTED, ClaimStatus.REQUESTED])).order_by(AccountClaim.id.desc()))
    if claim is not None and claim.status == ClaimStatus.STARTED and claim.expires_at <= utcnow():
        return None
    return claim


def _cancel_open_claims(member: User) -> None:
    for claim in db.session.scalars(select(AccountClaim).where(
            AccountClaim.user_id == member.id,
            AccountClaim.status.in_([ClaimStatus.STARTED, ClaimStatus.REQUESTED]))).all():
        claim.status = ClaimStatus.CANCELLED


def start_claim(*, actor: User, community: Community, member_id: int) -> str:
    """Staff give a managed resident a one-time code to claim her account with her own phone.
    Returns the code (shown once; only its hash is kept). An earlier code stops working."""
    member = acting_for(actor, community, member_id)
    _cancel_open_claims(member)
    raw = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(8))
    now = utcnow()
    db.session.add(AccountClaim(user_id=member.id, community_id=community.id, code_sha256=_code_hash(raw),
                                started_by_id=actor.id, started_at=now, expires_at=now + timedelta(days=CLAIM_DAYS)))
    record(actor=actor, action="account.claim_started", community=community, subject=member)
    db.session.commit()
    return f"{raw[:4]}-{raw[4:]}"


def request_claim(*, community: Community, code: str, phone: str, password: str) -> AccountClaim:
    """She enters the code staff gave her, her phone number and a password of her choice.
    Nothing changes on her account until staff confirm it is really her phone."""
    claim = db.session.scalar(select(AccountClaim).where(AccountClaim.code_sha256 == _code_hash(code),
                                                         AccountClaim.community_id == community.id)
                              .with_for_update())
    if claim is None or claim.status != ClaimStatus.STARTED or claim.expires_at <= utcnow():
        raise ValidationError(_l("This code is not valid or has expired. Please ask the community staff for a new "
                                 "one."), field="code")
    kind, number = accounts.normalise_contact(phone)
    if kind != "phone":
        raise ValidationError(_l("Please enter your mobile phone number."), field="phone")
    accounts.check_password(password)
    if db.session.scalar(select(User.id).where(User.phone == number)) is not None:
        raise ValidationError(_l("An account with this phone number already exists. Please ask the community "
                                 "staff."), field="phone")
    claim.phone, claim.password_hash = number, accounts.hash_password(password)
    claim.status, claim.requested_at = ClaimStatus.REQUESTED, utcnow()
    # She is both who acted and whom it is about: she is not logged in, and the code was hers.
    record(actor=claim.user, action="account.claim_requested", community=community, subject=claim.user)
    db.session.commit()
    return claim


def confirm_claim(*, actor: User, community: Community, member_id: int) -> User:
    """Staff confirm (e.g. by calling the number while she is there) that the phone is hers.
    From now on she logs in herself and the account is no longer managed."""
    member = acting_for(actor, community, member_id)
    claim = db.session.scalar(select(AccountClaim).where(
        AccountClaim.user_id == member.id, AccountClaim.community_id == community.id,
        AccountClaim.status == ClaimStatus.REQUESTED).with_for_update())
    if claim is None:
        raise InvalidTransition(_l("%(name)s has not asked to take over the account yet.", name=member.display_name))
    member.phone, member.password_hash = claim.phone, claim.password_hash
    member.is_managed, member.managed_by_community_id = False, None
    claim.status, claim.decided_by_id, claim.decided_at = ClaimStatus.CONFIRMED, actor.id, utcnow()
    record(actor=actor, action="account.claimed", community=community, subject=member,
           phone_ending=(claim.phone or "")[-4:])
    try:
        db.session.commit()
    except IntegrityError:  # the number was registered by someone else in the meantime
        db.session.rollback()
        raise Conflict(_l("An account with this phone number already exists. Please ask the community "
                          "staff.")) from None
    return member


def cancel_claim(*, actor: User, community: Community, member_id: int) -> None:
    """Staff stop a claim (a lost code, or a number that is not hers)."""
    member = acting_for(actor, community, member_id)
    if open_claim(member) is None:
        raise InvalidTransition(_l("There is no claim to cancel."))
    _cancel_open_claims(member)
    record(actor=actor, action="account.claim_cancelled", community=community, subject=member)
    db.session.commit()

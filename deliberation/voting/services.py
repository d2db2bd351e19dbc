"""Measure and voting operations. Every rule that protects a vote is enforced here or by the
database: who is on the roll (fixed when the vote is announced), one ballot per voter (the
unique constraint on participation), the voting window, proxies, paper ballots, secrecy
(participation and ballot stored apart) and the append-only result written at close.

Concurrency: casting takes a shared lock on the measure row and an exclusive lock on the
voter's roll entry (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE). Closing takes
the exclusive lock on the measure row, so it waits for ballots in flight and later ballots see it
closed. Everything that changes what one voter may do locks that voter's roll entry first.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from blinker import Namespace
from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import realtime
from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus
from ..audit.services import record
from ..communities.models import Community, Membership, MembershipStatus, Ownership, Unit
from ..communities.permissions import can, require
from ..communities.services import member_in, verified_members
from ..errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..records import services as records
from ..review.services import require_no_open_objection
from ..timeutil import utcnow
from ..urls import link
from . import envelopes
from .models import (
    Ballot,
    BallotEnvelope,
    BallotSheet,
    Channel,
    Electorate,
    Eligibility,
    HandCount,
    Measure,
    MeasureKind,
    MeasureOption,
    MeasureStatus,
    Participation,
    Proxy,
    ProxyStatus,
    RegisterVote,
    RegisterVoter,
    Weighting,
)
from .rules import PRESETS, THRESHOLDS, YES_NO_CHOICES, BallotRow, MeasureRules, count_measure, dec

QUESTION_MAX = 300
OPTION_MAX = 200
TEXT_MAX = 50000
MAX_OPTIONS = 10
OPTION_KEYS = "ABCDEFGHIJ"
# Item statuses from which a vote may be opened (the item moves to "voting").
VOTABLE = frozenset({ItemStatus.ACCEPTED, ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED, ItemStatus.VOTING})
_signals = Namespace()
# Sent before a draft measure is opened, changed or removed (``action``): a component that
# manages the measure (a convention's clause votes) may refuse by raising a DomainError, or,
# for "open", prepare it (the convention puts the text as amended into it).
measure_guard = _signals.signal("measure-guard")
# Sent inside the closing transaction, before the resolution is written: receivers update their
# own state and return a dict added to the resolution's recorded body.
measure_closing = _signals.signal("measure-closing")
# Receipt alphabet: no 0/O, 1/I/L, so a code read aloud or copied by hand survives.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


# ---------------------------------------------------------------- reading


def measures_of(item: AgendaItem) -> list[Measure]:
    return list(db.session.scalars(
        select(Measure).where(Measure.item_id == item.id).order_by(Measure.position, Measure.id)))


def measure_in(community: Community, measure_id: int, viewer: User | None = None) -> Measure:
    measure = db.session.scalar(
        select(Measure).where(Measure.id == measure_id, Measure.community_id == community.id))
    if measure is None or (measure.status == MeasureStatus.DRAFT and not can(viewer, community, "measures.manage")):
        raise NotFound(_l("That measure does not exist in this community."))
    agenda.get_item(community=community, item_id=measure.item_id, viewer=viewer)
    return measure


def is_accepting(measure: Measure, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (measure.status == MeasureStatus.OPEN and measure.method == "ballots"
            and (measure.opens_at is None or measure.opens_at <= now)
            and (measure.closes_at is None or now < measure.closes_at))


def results_visible(measure: Measure) -> bool:
    return measure.status == MeasureStatus.CLOSED or (measure.status == MeasureStatus.OPEN and measure.results_live)


def roll_entry(measure: Measure, user_id: int) -> Eligibility | None:
    return db.session.scalar(
        select(Eligibility).where(Eligibility.measure_id == measure.id, Eligibility.user_id == user_id))


def on_register(measure: Measure) -> bool:
    """Whether the measure's roll is counted over the unit register (every preset)."""
    return measure.preset in PRESETS


@dataclass(frozen=True)
class RollAbsence:
    """Why someone is not on a measure's roll, so the page can tell them rather than just say
    no. ``reason``: "not_member" (not a verified member now), "verified_after" (verified after
    the roll was fixed), "not_owner" (owners' vote, no unit linked), "owner_after" (unit linked
    after the roll was fixed), "not_present" (opened in a meeting, not checked in then), or
    "unknown"."""

    reason: str
    fixed_at: datetime | None
    since: datetime | None = None


def roll_absence(measure: Measure, user_id: int) -> RollAbsence:
    """Why ``user_id`` is not on the roll of ``measure`` (which was opened: the roll is fixed)."""
    fixed_at = measure.opened_at
    membership = db.session.scalar(select(Membership).where(
        Membership.community_id == measure.community_id, Membership.user_id == user_id))
    if membership is None or membership.status != MembershipStatus.VERIFIED:
        return RollAbsence("not_member", fixed_at)
    if fixed_at is not None and membership.decided_at is not None and membership.decided_at > fixed_at:
        return RollAbsence("verified_after", fixed_at, membership.decided_at)
    if measure.electorate == Electorate.OWNERS:
        linked = db.session.scalar(
            select(func.min(Ownership.created_at)).join(Unit, Unit.id == Ownership.unit_id)
            .where(Ownership.user_id == user_id, Unit.community_id == measure.community_id))
        if linked is None:
            return RollAbsence("not_owner", fixed_at)
        if fixed_at is not None and linked > fixed_at:
            return RollAbsence("owner_after", fixed_at, linked)
    if measure.meeting_id is not None:
        return RollAbsence("not_present", fixed_at)
    return RollAbsence("unknown", fixed_at)


def awaiting_ballot(community: Community, user: User) -> list[Measure]:
    """Open votes taking ballots now on whose roll ``user`` is and who has not voted (nor given a
    proxy for), soonest closing first: what their community home asks them to do."""
    now = utcnow()
    voted = select(Participation.measure_id).where(Participation.voter_id == user.id)
    delegated = select(Proxy.measure_id).where(Proxy.grantor_id == user.id, Proxy.status == ProxyStatus.ACTIVE)
    measures = db.session.scalars(
        select(Measure).join(Eligibility, Eligibility.measure_id == Measure.id)
        .where(Measure.community_id == community.id, Eligibility.user_id == user.id,
               Measure.status == MeasureStatus.OPEN, Measure.id.not_in(voted), Measure.id.not_in(delegated))
        .order_by(Measure.closes_at, Measure.id))
    return [m for m in measures if is_accepting(m, now)]


def has_voted(measure: Measure, user_id: int) -> bool:
    """Whether this person's vote is cast. On a register roll that is their place's one vote,
    whoever cast it (a co-owner, staff from a paper sheet, a proxy)."""
    if on_register(measure):
        return place_vote_of(measure, user_id) is not None
    return db.session.scalar(
        select(Participation.id).where(Participation.measure_id == measure.id, Participation.voter_id == user_id)
    ) is not None


def place_vote_of(measure: Measure, user_id: int) -> RegisterVote | None:
    """The vote cast for this person's place on a register roll, if any."""
    return db.session.scalar(select(RegisterVote).join(
        Eligibility, Eligibility.register_voter_id == RegisterVote.register_voter_id).where(
        Eligibility.measure_id == measure.id, Eligibility.user_id == user_id))


def register_places(measure: Measure) -> list[RegisterVoter]:
    return list(db.session.scalars(
        select(RegisterVoter).where(RegisterVoter.measure_id == measure.id).order_by(RegisterVoter.position)))


def places_waiting(measure: Measure) -> list[RegisterVoter]:
    """The places on a register roll whose vote is not cast yet (for staff entering sheets)."""
    return list(db.session.scalars(select(RegisterVoter).where(
        RegisterVoter.measure_id == measure.id,
        ~RegisterVoter.id.in_(select(RegisterVote.register_voter_id).where(RegisterVote.measure_id == measure.id)))
        .order_by(RegisterVoter.position)))


def register_totals(places: list[RegisterVoter]) -> dict:
    """The register the roll was taken from, as stored with the result and in the record."""
    return {
        "voters": len(places),
        "units": sum(p.unit_count for p in places),
        "area": dec(sum((Fraction(p.area) for p in places), Fraction(0))),
        "developer_units": sum(p.unit_count for p in places if p.developer),
    }


def active_proxy_from(measure: Measure, grantor_id: int) -> Proxy | None:
    return db.session.scalar(select(Proxy).where(
        Proxy.measure_id == measure.id, Proxy.grantor_id == grantor_id, Proxy.status == ProxyStatus.ACTIVE))


def proxies_held(measure: Measure, delegate_id: int) -> list[Proxy]:
    return list(db.session.scalars(select(Proxy).where(
        Proxy.measure_id == measure.id, Proxy.delegate_id == delegate_id, Proxy.status == ProxyStatus.ACTIVE
    ).order_by(Proxy.id)))


@dataclass
class Turnout:
    eligible: int
    eligible_area: Decimal
    cast: int
    cast_area: Decimal
    by_channel: dict[str, int] = field(default_factory=dict)
    # Register rolls: the register totals the roll was taken from when the vote opened.
    register: dict | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.cast / self.eligible) if self.eligible else 0

    @property
    def area_percent(self) -> int:
        return round(100 * self.cast_area / self.eligible_area) if self.eligible_area else 0


# A secret measure's public turnout and live count move only in steps of this many ballots, so
# nobody can pair a change of the figures with the one person who just took part.
SECRET_STEP = 5


def _roll_size(measure: Measure) -> tuple[int, Decimal]:
    if on_register(measure) and measure.method == "ballots":  # the register roll: its places
        eligible, eligible_area = db.session.execute(
            select(func.count(RegisterVoter.id), func.coalesce(func.sum(RegisterVoter.area), 0))
            .where(RegisterVoter.measure_id == measure.id)).one()
        return eligible, Decimal(eligible_area)
    eligible, eligible_area = db.session.execute(
        select(func.count(Eligibility.id), func.coalesce(func.sum(Eligibility.area), 0))
        .where(Eligibility.measure_id == measure.id)).one()
    return eligible, Decimal(eligible_area)


def _stepped(measure: Measure) -> bool:
    return measure.secret and measure.status == MeasureStatus.OPEN and measure.method == "ballots"


def turnout(measure: Measure) -> Turnout:
    """Turnout as everyone sees it: a secret measure's, while open, as of its last step."""
    if _stepped(measure):
        figures = measure.live_figures or {}
        eligible, eligible_area = _roll_size(measure)
        return Turnout(eligible, eligible_area, int(figures.get("cast", 0)), Decimal(figures.get("cast_area", "0")),
                       dict(figures.get("by_channel", {})),
                       register_totals(register_places(measure)) if on_register(measure) else None)
    return exact_turnout(measure)


def _publish_step(measure: Measure) -> bool:
    """After a ballot of a secret measure: publish its figures once ``SECRET_STEP`` more ballots
    came in since the last step. True when the public figures changed."""
    exact = exact_turnout(measure)
    if exact.cast < (measure.live_cast or 0) + SECRET_STEP:
        return False
    result = tally(measure) if measure.results_live else None
    cast = result["cast"]["count"] if result else exact.cast  # the count the tally saw
    figures = {"cast": cast, "cast_area": str(exact.cast_area), "by_channel": exact.by_channel,
               "result": _plain(result) if result else None}
    changed = db.session.execute(
        update(Measure).where(Measure.id == measure.id, Measure.status == MeasureStatus.OPEN,
                              Measure.live_cast <= cast - SECRET_STEP)
        .values(live_cast=cast, live_figures=figures)).rowcount
    db.session.commit()
    db.session.refresh(measure)
    return changed == 1


def exact_turnout(measure: Measure) -> Turnout:
    """The exact figures (for closing and counting; for a secret open measure, not for showing)."""
    if on_register(measure) and measure.method == "ballots":
        eligible, eligible_area = db.session.execute(
            select(func.count(RegisterVoter.id), func.coalesce(func.sum(RegisterVoter.area), 0))
            .where(RegisterVoter.measure_id == measure.id)).one()
        cast, cast_area = db.session.execute(
            select(func.count(RegisterVote.id), func.coalesce(func.sum(RegisterVoter.area), 0))
            .join(RegisterVoter, RegisterVoter.id == RegisterVote.register_voter_id)
            .where(RegisterVote.measure_id == measure.id)).one()
        channels = dict(db.session.execute(
            select(RegisterVote.channel, func.count(RegisterVote.id))
            .where(RegisterVote.measure_id == measure.id).group_by(RegisterVote.channel)).all())
        return Turnout(eligible, Decimal(eligible_area), cast, Decimal(cast_area), channels,
                       register_totals(register_places(measure)))
    eligible, eligible_area = db.session.execute(
        select(func.count(Eligibility.id), func.coalesce(func.sum(Eligibility.area), 0))
        .where(Eligibility.measure_id == measure.id)).one()
    channels = dict(db.session.execute(
        select(Participation.channel, func.count(Participation.id))
        .where(Participation.measure_id == measure.id).group_by(Participation.channel)).all())
    cast_area = db.session.scalar(
        select(func.coalesce(func.sum(Eligibility.area), 0))
        .join(Participation, (Participation.voter_id == Eligibility.user_id)
              & (Participation.measure_id == Eligibility.measure_id))
        .where(Eligibility.measure_id == measure.id))
    if measure.method == "hands" and measure.result:
        present = measure.result["cast"]["count"]
        return Turnout(eligible, Decimal(eligible_area), present, Decimal(0), {"hands": present})
    return Turnout(eligible, Decimal(eligible_area), sum(channels.values()), Decimal(cast_area), channels)


def rules_of(measure: Measure) -> MeasureRules:
    return MeasureRules(
        kind=measure.kind, options=[o.key for o in measure.options], preset=measure.preset,
        threshold=measure.threshold, abstentions_count=measure.abstentions_count,
        quorum_headcount=Decimal(measure.quorum_headcount or 0), quorum_area=Decimal(measure.quorum_area or 0),
    )


def board(measure: Measure) -> list[Ballot]:
    """Every ballot of a closed measure, in receipt order (which says nothing about who or when)."""
    if measure.status != MeasureStatus.CLOSED:
        return []
    return list(db.session.scalars(select(Ballot).where(Ballot.measure_id == measure.id).order_by(Ballot.receipt)))


def _register_roll_figures(measure: Measure) -> dict:
    """The keyword arguments of ``count_measure`` for a register roll: its size, the areas of
    the places that did not vote, those present (a residents' meeting held in a meeting) and
    the register totals."""
    places = register_places(measure)
    voted = set(db.session.scalars(select(RegisterVote.register_voter_id).where(RegisterVote.measure_id == measure.id)))
    present = None
    if measure.meeting_id is not None and PRESETS[measure.preset].counting == "residents_meeting":
        # Present in the meeting (on the roll of who checked in) or voted: silence counts as "no".
        present = len(voted | set(db.session.scalars(select(Eligibility.register_voter_id).where(
            Eligibility.measure_id == measure.id))))
    return {
        "roll_count": len(places), "roll_weight": sum((Decimal(p.weight) for p in places), Decimal(0)),
        "roll_area": sum((Decimal(p.area) for p in places), Decimal(0)),
        "absent_areas": sorted(Decimal(p.area) for p in places if p.id not in voted),
        "present": present, "register": register_totals(places),
    }


# Characters the receipt alphabet never uses: typed, they are a misreading of the printed code.
_NOT_IN_RECEIPTS = frozenset("01ILO")
RECEIPT_LENGTH = 12


@dataclass(frozen=True)
class ReceiptLookup:
    """What a typed receipt code found on a board. ``code`` is the typed code normalised
    (``XXXX-XXXX-XXXX``); ``problem`` says why nothing could be looked up ("length" or
    "characters", with the offending characters in ``misread``); ``guess`` is set when the code
    had characters receipts never use and exactly one ballot matches all the others."""

    code: str
    found: Ballot | None = None
    guess: Ballot | None = None
    problem: str | None = None
    misread: str = ""


def normalise_receipt(typed: str) -> str:
    """The typed code as the receipt prints it: full-width forms folded (phone keyboards in
    Chinese mode type them), case ignored, spaces, hyphens and any other separators dropped."""
    folded = unicodedata.normalize("NFKC", typed or "").upper()
    bare = "".join(ch for ch in folded if ch.isascii() and ch.isalnum())
    if len(bare) != RECEIPT_LENGTH:
        return bare
    return f"{bare[:4]}-{bare[4:8]}-{bare[8:]}"


def find_receipt(measure: Measure, typed: str) -> ReceiptLookup:
    """Look a voter's typed receipt up on the measure's board. Telling a voter their ballot is
    missing is the worst thing this page can say wrongly, so only a well-formed code that is
    really absent gets that answer; a misread or mistyped code gets told what is wrong with it."""
    code = normalise_receipt(typed)
    bare = code.replace("-", "")
    ballots = board(measure)
    if len(bare) != RECEIPT_LENGTH:
        return ReceiptLookup(code=code, problem="length")
    misread = "".join(sorted({ch for ch in bare if ch in _NOT_IN_RECEIPTS}))
    if misread:
        # A misread character (O for D or Q, 1 for T or J, ...) is a wildcard: if exactly one
        # ballot agrees on every other position it is very probably the voter's, and we say so
        # as a guess for them to check, never as a certain match.
        matches = [b for b in ballots
                   if all(t in _NOT_IN_RECEIPTS or t == r for t, r in zip(bare, b.receipt.replace("-", ""),
                                                                          strict=True))]
        unknown = sum(ch in _NOT_IN_RECEIPTS for ch in bare)
        guess = matches[0] if len(matches) == 1 and unknown <= 2 else None
        return ReceiptLookup(code=code, guess=guess, problem="characters", misread=misread)
    return ReceiptLookup(code=code, found=next((b for b in ballots if b.receipt == code), None))


def tally(measure: Measure) -> dict:
    """Count the measure from its roll and its ballots (what ``close_measure`` stores)."""
    if on_register(measure):
        ballots = [BallotRow(b.id, b.content, Decimal(b.weight), Decimal(b.area)) for b in db.session.scalars(
            select(Ballot).where(Ballot.measure_id == measure.id).order_by(Ballot.id))]
        return count_measure(rules_of(measure), ballots=ballots, **_register_roll_figures(measure))
    roll = db.session.execute(
        select(func.count(Eligibility.id), func.coalesce(func.sum(Eligibility.weight), 0),
               func.coalesce(func.sum(Eligibility.area), 0)).where(Eligibility.measure_id == measure.id)).one()
    ballots = [BallotRow(b.id, b.content, Decimal(b.weight), Decimal(b.area)) for b in db.session.scalars(
        select(Ballot).where(Ballot.measure_id == measure.id).order_by(Ballot.id))]
    sealed = list(db.session.scalars(select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
    ballots += [BallotRow(row.id, ballot["content"], Decimal(ballot["weight"]))
                for row, ballot in zip(sealed, _opened(measure, sealed), strict=True)]
    ballots.sort(key=lambda b: b.id)
    absent = [Decimal(a) for a in db.session.scalars(
        select(Eligibility.area).where(
            Eligibility.measure_id == measure.id,
            ~Eligibility.user_id.in_(select(Participation.voter_id).where(Participation.measure_id == measure.id))))]
    return count_measure(rules_of(measure), roll_count=roll[0], roll_weight=Decimal(roll[1]),
                         roll_area=Decimal(roll[2]), ballots=ballots, absent_areas=absent)


def _plain(value) -> object:
    """A result as the record holds it (JSON), so two copies compare equal when they say the same."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclass(frozen=True)
class ResultCheck:
    """A closed measure's result as its record holds it, and whether the rest agrees."""

    result: dict | None  # what pages show: the record's result (the measure's own if unrecorded)
    recorded: bool
    stored_agrees: bool  # measures.result says the same as the record
    board_agrees: bool  # recounting the public board gives the record's result

    @property
    def ok(self) -> bool:
        return self.recorded and self.stored_agrees and self.board_agrees


def checked_result(measure: Measure) -> ResultCheck:
    """A closed measure's result from its record, checked against the stored result and a
    recount of its board (what ``flask records verify`` and the results page rely on)."""
    resolution = records.resolution_of(measure)
    if resolution is None:
        return ResultCheck(result=measure.result, recorded=False, stored_agrees=False, board_agrees=False)
    recorded = records.content_of(resolution)["body"].get("result")
    board_agrees = True
    if measure.method == "ballots":
        board_agrees = _plain(recount(board_export(measure))) == _plain(recorded)
    return ResultCheck(result=recorded, recorded=True, stored_agrees=_plain(measure.result) == _plain(recorded),
                       board_agrees=board_agrees)


def result_disagreements(community: Community) -> list[tuple[int, str]]:
    """Every closed measure of the community whose stored result or board does not match its
    record, with what disagrees (for ``flask records verify``; plain words, for operators)."""
    found = []
    for measure in db.session.scalars(select(Measure).where(
            Measure.community_id == community.id, Measure.status == MeasureStatus.CLOSED).order_by(Measure.id)):
        check = checked_result(measure)
        if not check.recorded:
            continue  # records.verify names closed measures without a record
        if not check.stored_agrees:
            found.append((measure.id, "the stored result differs from the record"))
        if not check.board_agrees:
            found.append((measure.id, "recounting the board does not give the recorded result"))
    return found


def current_result(measure: Measure) -> dict | None:
    """The result of a closed measure as its record holds it, the live count of an open one that
    shows results live, otherwise None (hidden until close)."""
    if measure.status == MeasureStatus.CLOSED:
        resolution = records.resolution_of(measure)
        return records.content_of(resolution)["body"].get("result") if resolution is not None else measure.result
    if measure.status == MeasureStatus.OPEN and measure.results_live:
        if _stepped(measure):
            return (measure.live_figures or {}).get("result")
        return tally(measure)
    return None


def register_roll_call(measure: Measure) -> list[tuple[RegisterVoter, Ballot | None, RegisterVote | None]]:
    """Open (roll-call) measures on a register roll: every place with what it chose and how."""
    if measure.secret or not on_register(measure):
        return []
    ballots = {b.register_voter_id: b for b in db.session.scalars(
        select(Ballot).where(Ballot.measure_id == measure.id))}
    votes = {v.register_voter_id: v for v in db.session.scalars(
        select(RegisterVote).where(RegisterVote.measure_id == measure.id))}
    return [(p, ballots.get(p.id), votes.get(p.id)) for p in register_places(measure)]


def roll_call(measure: Measure) -> list[tuple[Eligibility, Ballot | None, Participation | None]]:
    """Open (roll-call) measures: every person on the roll with what they chose."""
    if measure.secret or on_register(measure):
        return []
    entries = list(db.session.scalars(select(Eligibility).where(Eligibility.measure_id == measure.id)))
    ballots = {b.voter_id: b for b in db.session.scalars(select(Ballot).where(Ballot.measure_id == measure.id))}
    parts = {p.voter_id: p for p in db.session.scalars(
        select(Participation).where(Participation.measure_id == measure.id))}
    rows = [(e, ballots.get(e.user_id), parts.get(e.user_id)) for e in entries]
    return sorted(rows, key=lambda row: row[0].user.display_name)


def eligible_voters(community: Community, electorate: str, weighting: str) -> list[tuple[int, Decimal, Decimal, str]]:
    """(user id, weight, area, unit labels) for everyone who may vote under these rules now.
    Owners: a co-owned unit's vote and area are shared equally among its owners; an owner of
    several units appears once with all their area."""
    verified = select(Membership.user_id).where(
        Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED)
    if electorate == Electorate.RESIDENTS:
        rows = db.session.execute(
            select(Membership.user_id, Unit).outerjoin(Unit, Unit.id == Membership.unit_id)
            .where(Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED)
            .order_by(Membership.user_id)).all()
        return [(user_id, Decimal(1), Decimal(0), unit.label if unit else "") for user_id, unit in rows]
    owners_per_unit = dict(db.session.execute(
        select(Ownership.unit_id, func.count(Ownership.id)).join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id).group_by(Ownership.unit_id)).all())
    holdings: dict[int, list[Unit]] = {}
    for user_id, unit in db.session.execute(
        select(Ownership.user_id, Unit).join(Unit, Unit.id == Ownership.unit_id)
        .where(Unit.community_id == community.id, Ownership.user_id.in_(verified))
        .order_by(Ownership.user_id, Unit.building, Unit.entrance, Unit.room)
    ).all():
        holdings.setdefault(user_id, []).append(unit)
    voters = []
    for user_id, units in holdings.items():
        unit_share = sum((Decimal(1) / owners_per_unit[u.id] for u in units), Decimal(0))
        area = sum((Decimal(u.floor_area) / owners_per_unit[u.id] for u in units), Decimal(0))
        area = area.quantize(Decimal("0.0001"))
        weight = {Weighting.PERSON: Decimal(1), Weighting.UNIT: unit_share.quantize(Decimal("0.000001")),
                  Weighting.AREA: area}[Weighting(weighting)]
        voters.append((user_id, weight, area, "、".join(u.label for u in units)[:400]))
    return voters


@dataclass
class RollPlace:
    """One place on a register roll before it is stored (see models.RegisterVoter)."""

    units: list[Unit] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)  # verified accounts that may cast its vote
    developer: bool = False

    @property
    def area(self) -> Decimal:
        return sum((Decimal(u.floor_area) for u in self.units), Decimal(0))


def register_roll(community: Community, roll: str) -> list[RollPlace]:
    """The roll of a preset measure, counted over the whole unit register as it is now.

    "owners" (Civil Code art. 278, 法释〔2009〕7号 arts. 8-9): every unit is on it, with or without
    an account; an owner of several units counts once with all their area (units that share an
    owner are one place, so co-owners of a unit share its one vote), and the units the developer
    still holds count together as one. "households": every unit is one household, represented by
    a verified member living there (or, when none does, a verified owner). "residents": every
    verified member, one each. Each account is in at most one place."""
    verified = dict(db.session.execute(
        select(Membership.user_id, Membership.unit_id).where(
            Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED)).all())
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(list(verified)))).all())
    units = list(db.session.scalars(select(Unit).where(Unit.community_id == community.id)
                                    .order_by(Unit.building, Unit.entrance, Unit.room, Unit.id)))
    if roll == "residents":
        by_id = {u.id: u for u in units}
        return [RollPlace(units=[by_id[unit_id]] if unit_id in by_id else [], names=[names[user_id]],
                          user_ids=[user_id])
                for user_id, unit_id in sorted(verified.items(), key=lambda row: names[row[0]])]
    owners: dict[int, list[int]] = {}
    for unit_id, user_id in db.session.execute(
            select(Ownership.unit_id, Ownership.user_id).join(Unit, Unit.id == Ownership.unit_id)
            .where(Unit.community_id == community.id).order_by(Ownership.id)).all():
        owners.setdefault(unit_id, []).append(user_id)
    if roll == "households":
        places, taken = [], set()
        for unit in units:
            living = [u for u, home in verified.items() if home == unit.id and u not in taken]
            reps = living or [u for u in owners.get(unit.id, ()) if u in verified and u not in taken
                              and verified[u] is None]
            taken.update(reps)
            place_names = [names[u] for u in reps] or ([unit.owner_name] if unit.owner_name else [])
            places.append(RollPlace(units=[unit], names=place_names, user_ids=reps))
        return places
    # Owners: join units that share an owner (union-find over units), the developer's apart.
    developer = [u for u in units if u.developer_held]
    parent = {u.id: u.id for u in units if not u.developer_held}

    def root(unit_id: int) -> int:
        while parent[unit_id] != unit_id:
            parent[unit_id] = parent[parent[unit_id]]
            unit_id = parent[unit_id]
        return unit_id

    first_unit_of: dict[int, int] = {}
    for unit in units:
        if unit.developer_held:
            continue
        for user_id in owners.get(unit.id, ()):
            if user_id in first_unit_of:
                parent[root(unit.id)] = root(first_unit_of[user_id])
            else:
                first_unit_of[user_id] = unit.id
    groups: dict[int, RollPlace] = {}
    for unit in units:
        if unit.developer_held:
            continue
        place = groups.setdefault(root(unit.id), RollPlace())
        place.units.append(unit)
        for user_id in owners.get(unit.id, ()):
            if user_id in names and user_id not in place.user_ids:
                place.user_ids.append(user_id)
                place.names.append(names[user_id])
        if not owners.get(unit.id) and unit.owner_name and unit.owner_name not in place.names:
            place.names.append(unit.owner_name)
    places = list(groups.values())
    if developer:
        # A developer's account (rare) may not cast the unsold units' vote online: staff enter it.
        places.append(RollPlace(units=developer, developer=True))
    return places


# ---------------------------------------------------------------- defining measures


@dataclass
class MeasureDraft:
    """What a chair fills in to define a measure; the service checks it all."""

    kind: str = MeasureKind.YES_NO
    question: str = ""
    options: list[str] = field(default_factory=list)
    text: str = ""
    preset: str = "custom"
    electorate: str = Electorate.RESIDENTS
    weighting: str = Weighting.PERSON
    quorum_headcount: Decimal | None = None  # percent, 0-100
    quorum_area: Decimal | None = None  # percent, 0-100
    threshold: str = "majority"
    abstentions_count: bool = False
    secret: bool | None = None  # None: the preset's default (roll call for art. 278, else secret)
    results_live: bool = False
    opens_at: datetime | None = None  # UTC
    closes_at: datetime | None = None  # UTC


def _percent(value, field_name: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        share = Decimal(str(value))
    except ArithmeticError:
        raise ValidationError(_l("Please give a percentage between 0 and 100."), field=field_name) from None
    if not share.is_finite() or share < 0 or share > 100:
        raise ValidationError(_l("Please give a percentage between 0 and 100."), field=field_name)
    return (share / 100).quantize(Decimal("0.0001"))


def _checked(draft: MeasureDraft) -> dict:
    """The measure's columns from a draft, or ValidationError naming the field."""
    try:
        kind = MeasureKind(draft.kind)
    except ValueError:
        raise ValidationError(_l("Please choose what kind of vote this is."), field="kind") from None
    question = (draft.question or "").strip()
    if not question:
        raise ValidationError(_l("Please write the question voters answer."), field="question")
    if len(question) > QUESTION_MAX:
        raise ValidationError(_l("The question must be at most %(n)d characters.", n=QUESTION_MAX), field="question")
    options = [o.strip() for o in draft.options if o and o.strip()]
    if kind in (MeasureKind.SINGLE, MeasureKind.APPROVAL, MeasureKind.RANKED):
        if len(options) < 2:
            raise ValidationError(_l("Please give at least two options, one per line."), field="options")
        if len(options) > MAX_OPTIONS:
            raise ValidationError(_l("At most %(n)d options.", n=MAX_OPTIONS), field="options")
        if len(set(options)) != len(options):
            raise ValidationError(_l("Two options are the same."), field="options")
        if any(len(o) > OPTION_MAX for o in options):
            raise ValidationError(_l("Each option must be at most %(n)d characters.", n=OPTION_MAX), field="options")
    else:
        options = []
    text = (draft.text or "").strip()
    if kind == MeasureKind.CONVENTION and not text:
        raise ValidationError(_l("Please paste the full text of the convention voters adopt."), field="text")
    if len(text) > TEXT_MAX:
        raise ValidationError(_l("The text must be at most %(n)d characters.", n=TEXT_MAX), field="text")
    preset = draft.preset or "custom"
    electorate, weighting, threshold = draft.electorate, draft.weighting, draft.threshold
    if preset != "custom":
        rule = PRESETS.get(preset)
        if rule is None:
            raise ValidationError(_l("Unknown rule preset."), field="preset")
        if kind not in rule.kinds:
            raise ValidationError(_l("The Civil Code art. 278 presets are for yes / no votes and conventions."),
                                  field="preset")
        electorate, weighting, threshold = rule.electorate, rule.weighting, "majority"
    if electorate not in set(Electorate):
        raise ValidationError(_l("Please choose who may vote."), field="electorate")
    if weighting not in set(Weighting):
        raise ValidationError(_l("Please choose how votes are weighted."), field="weighting")
    if weighting != Weighting.PERSON and electorate != Electorate.OWNERS:
        raise ValidationError(_l("Weighting by unit or by floor area is for owners' votes."), field="weighting")
    if threshold not in THRESHOLDS:
        raise ValidationError(_l("Please choose the threshold."), field="threshold")
    if threshold == "plurality" and kind not in (MeasureKind.SINGLE, MeasureKind.APPROVAL):
        raise ValidationError(_l("“Most votes wins” is for votes between options."), field="threshold")
    if kind == MeasureKind.RANKED:
        threshold = "majority"  # instant runoff always ends with a majority of the ballots still counting
    quorum_area = Decimal(0) if preset != "custom" else _percent(draft.quorum_area, "quorum_area")
    secret = (PRESETS[preset].secret if preset in PRESETS else True) if draft.secret is None else bool(draft.secret)
    if secret and (weighting != Weighting.PERSON or quorum_area):
        # Each ballot on the public board would carry its floor area or its number of units,
        # which names the flat (or the owner of several) to anyone who knows the register.
        raise ValidationError(_l("A secret ballot cannot count floor area or units: each ballot's area or weight "
                                 "on the public board would show whose it is. Untick “secret ballot” for a "
                                 "roll-call vote, or count one vote per person."), field="secret")
    if draft.closes_at is None:
        raise ValidationError(_l("Please choose when voting closes."), field="closes_at")
    if draft.opens_at is not None and draft.closes_at <= draft.opens_at:
        raise ValidationError(_l("Voting must close after it opens."), field="closes_at")
    return {
        "kind": kind, "question": question, "text": text, "preset": preset, "electorate": electorate,
        "weighting": weighting, "threshold": threshold, "abstentions_count": bool(draft.abstentions_count),
        "quorum_headcount": Decimal(0) if preset != "custom" else _percent(draft.quorum_headcount, "quorum_headcount"),
        "quorum_area": quorum_area,
        "secret": secret, "results_live": bool(draft.results_live),
        "opens_at": draft.opens_at, "closes_at": draft.closes_at, "_options": options,
    }


def _set_options(measure: Measure, labels: list[str]) -> None:
    measure.options.clear()
    db.session.flush()
    for position, label in enumerate(labels):
        measure.options.append(MeasureOption(key=OPTION_KEYS[position], label=label, position=position))


def build_measure(*, actor: User, community: Community, item_id: int, draft: MeasureDraft) -> Measure:
    """A new draft measure, checked and added to the session but not committed (the caller may
    add more in the same transaction, as conventions do for their clause votes)."""
    require(actor, community, "measures.manage")
    item = agenda.get_item(community=community, item_id=item_id, viewer=actor)
    if item.status not in VOTABLE:
        raise InvalidTransition(_l("Measures can be added once the item is on the agenda and before it is decided."))
    values = _checked(draft)
    options = values.pop("_options")
    position = db.session.scalar(select(func.count(Measure.id)).where(Measure.item_id == item.id))
    measure = Measure(item_id=item.id, community_id=community.id, created_by_id=actor.id, position=position, **values)
    db.session.add(measure)
    _set_options(measure, options)
    db.session.flush()
    record(actor=actor, action="measure.created", community=community, item_id=item.id, question=measure.question)
    return measure


def create_measure(*, actor: User, community: Community, item_id: int, draft: MeasureDraft) -> Measure:
    measure = build_measure(actor=actor, community=community, item_id=item_id, draft=draft)
    db.session.commit()
    return measure


def update_measure(*, actor: User, community: Community, measure_id: int, draft: MeasureDraft) -> Measure:
    require(actor, community, "measures.manage")
    measure = measure_in(community, measure_id, actor)
    if measure.status != MeasureStatus.DRAFT:
        raise InvalidTransition(_l("A measure cannot be changed once its vote is announced."))
    measure_guard.send(measure, action="update")
    values = _checked(draft)
    options = values.pop("_options")
    for key, value in values.items():
        setattr(measure, key, value)
    _set_options(measure, options)
    db.session.commit()
    return measure


def delete_measure(*, actor: User, community: Community, measure_id: int) -> None:
    require(actor, community, "measures.manage")
    measure = measure_in(community, measure_id, actor)
    if measure.status != MeasureStatus.DRAFT:
        raise InvalidTransition(_l("A measure cannot be removed once its vote is announced."))
    measure_guard.send(measure, action="delete")
    record(actor=actor, action="measure.deleted", community=community, item_id=measure.item_id,
           question=measure.question)
    db.session.delete(measure)
    db.session.commit()


# ---------------------------------------------------------------- opening and closing


def open_measure(*, actor: User, community: Community, measure_id: int, meeting_id: int | None = None,
                 present: set[int] | None = None, proxies: list[tuple[int, int, str, int | None]] = ()) -> Measure:
    """Announce the vote: take the roll, freeze a convention's text, move the item to voting.
    Voting itself starts at ``opens_at`` (now when none was set). Refused while a legal
    objection on the item is open. In a meeting (``meeting_id``), the roll is those of the
    eligible who are ``present`` (the meetings service passes who checked in and the grantors
    of meeting proxies), and ``proxies`` (grantor, delegate, channel, entered by) become this
    measure's proxies for the grantors on the roll."""
    require(actor, community, "votes.run")
    measure = measure_in(community, measure_id, actor)
    if measure.status != MeasureStatus.DRAFT:
        raise InvalidTransition(_l("This vote has already been opened."))
    item = measure.item
    require_no_open_objection(item.id)
    measure_guard.send(measure, action="open")
    if item.status not in VOTABLE:
        raise InvalidTransition(_l("A vote can only be opened on an item that is on the agenda."))
    now = utcnow()
    if measure.closes_at is None or measure.closes_at <= now:
        raise ValidationError(_l("The closing time has passed. Please edit the measure and choose a later one."))
    preset = PRESETS.get(measure.preset)
    places: list[RollPlace] = []
    if preset is not None:
        # The roll is the whole register; accounts only say who may cast a place's vote online.
        places = register_roll(community, preset.roll)
        if not places:
            raise InvalidTransition(_l("The unit register is empty. Import the units first, then open the vote."))
        voters = [(user_id, Decimal(1), place.area, "、".join(u.label for u in place.units)[:400], index)
                  for index, place in enumerate(places) for user_id in place.user_ids]
    else:
        voters = [(*v, None) for v in eligible_voters(community, measure.electorate, measure.weighting)]
    if present is not None:
        voters = [v for v in voters if v[0] in present]
        if not voters:
            raise InvalidTransition(_l("No one present is eligible to vote under these rules."))
    if not voters and not places:
        raise InvalidTransition(_l("No one is eligible to vote under these rules yet (for owners' votes, register "
                                   "the units and their owners first)."))
    changed = db.session.execute(
        update(Measure).where(Measure.id == measure.id, Measure.status == MeasureStatus.DRAFT)
        .values(status=MeasureStatus.OPEN, opened_at=now, opens_at=now if meeting_id else (measure.opens_at or now),
                meeting_id=meeting_id)).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict()
    if measure.kind == MeasureKind.CONVENTION:
        measure.frozen_text = measure.text
        measure.frozen_text_sha256 = hashlib.sha256(measure.text.encode()).hexdigest()
    stored = []
    for position, place in enumerate(places):
        weight = place.area if preset.weighting == Weighting.AREA else Decimal(1)
        stored.append(RegisterVoter(
            measure_id=measure.id, position=position, units="、".join(u.label for u in place.units),
            unit_count=len(place.units), area=place.area, weight=weight, names="、".join(place.names)[:400],
            developer=place.developer, building=place.units[0].building if place.units else ""))
    db.session.add_all(stored)
    db.session.flush()
    db.session.add_all(Eligibility(measure_id=measure.id, user_id=user_id,
                                   weight=stored[index].weight if index is not None else weight,
                                   area=area, units=units,
                                   register_voter_id=stored[index].id if index is not None else None)
                       for user_id, weight, area, units, index in voters)
    on_roll = {user_id for user_id, *_rest in voters}
    db.session.add_all(Proxy(measure_id=measure.id, grantor_id=grantor_id, delegate_id=delegate_id, channel=channel,
                             entered_by_id=entered_by_id)
                       for grantor_id, delegate_id, channel, entered_by_id in proxies if grantor_id in on_roll)
    if item.status != ItemStatus.VOTING:
        agenda.move_item(item, ItemStatus.VOTING, actor=actor)
    record(actor=actor, action="measure.opened", community=community, measure_id=measure.id,
           eligible=len(places) if preset is not None else len(voters))
    notifications.notify(
        recipients=[user_id for user_id, *_ in voters], kind="vote.opened", actor=actor, community_id=community.id,
        link=link("voting.show", slug=community.slug, measure_id=measure.id), item=item.title,
        group_link=link("agenda.show", slug=community.slug, item_id=item.id))
    db.session.commit()
    db.session.refresh(measure)
    agenda.announce_status(item)
    _announce(measure)
    return measure


def close_measure(*, actor: User | None, community: Community, measure_id: int) -> Measure:
    """Close the vote and write its result (once; it never changes after). ``actor`` None:
    the closing time passed and the app closes it. When every measure of the item is closed,
    the item is decided."""
    if actor is not None:
        require(actor, community, "votes.run")
    measure = db.session.scalar(
        select(Measure).where(Measure.id == measure_id, Measure.community_id == community.id).with_for_update())
    if measure is None:
        raise NotFound(_l("That measure does not exist in this community."))
    if measure.status != MeasureStatus.OPEN:
        raise InvalidTransition(_l("Only an open vote can be closed."))
    now = utcnow()
    if actor is None and (measure.closes_at is None or measure.closes_at > now):
        raise InvalidTransition(_l("This vote is not due to close yet."))
    changed = db.session.execute(
        update(Measure).where(Measure.id == measure.id, Measure.status == MeasureStatus.OPEN)
        .values(status=MeasureStatus.CLOSED, closed_at=now)).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict()
    if measure.method == "ballots":
        mix_envelopes(measure, final=True)  # every sealed ballot is public before the count
        measure.result = tally(measure)
    _finish(measure, actor, community, now)
    return measure


def _finish(measure: Measure, actor: User | None, community: Community, now: datetime) -> None:
    item = measure.item
    record_actor = actor or measure.created_by
    record(actor=record_actor, action="measure.closed", community=community, measure_id=measure.id,
           outcome=measure.result.get("outcome"), automatic=actor is None or None)
    extra: dict = {}
    for _receiver, part in measure_closing.send(measure, now=now):
        extra.update(part or {})
    records.write_resolution(measure, closed_by=actor, now=now, extra=extra)
    still_open = db.session.scalar(select(func.count(Measure.id)).where(
        Measure.item_id == item.id, Measure.status != MeasureStatus.CLOSED, Measure.id != measure.id))
    decided = not still_open and item.status == ItemStatus.VOTING
    if decided:
        agenda.move_item(item, ItemStatus.DECIDED, actor=actor, note=agenda.system_note("vote_closed"))
    db.session.commit()
    db.session.refresh(measure)
    if decided:
        agenda.announce_status(item)
    _announce(measure)


def close_due_measures(now: datetime | None = None) -> int:
    """Close every open measure whose closing time has passed (pages call this lazily; the CLI
    ``flask votes close-due`` can run it from cron). Returns how many closed."""
    now = now or utcnow()
    due = list(db.session.execute(select(Measure.id, Measure.community_id).where(
        Measure.status == MeasureStatus.OPEN, Measure.closes_at <= now)).all())
    db.session.rollback()  # end the read so the writes below can take the SQLite write lock
    closed = 0
    for measure_id, community_id in due:
        try:
            close_measure(actor=None, community=db.session.get(Community, community_id), measure_id=measure_id)
            closed += 1
        except (InvalidTransition, Conflict):  # closed meanwhile by a chair or another request
            db.session.rollback()
    return closed


# ---------------------------------------------------------------- casting


def _clean_content(measure: Measure, content: dict) -> dict:
    """Check a ballot against the measure; only the shape the measure allows is stored."""
    keys = [o.key for o in measure.options]
    if measure.kind in (MeasureKind.YES_NO, MeasureKind.CONVENTION):
        choice = content.get("choice")
        if choice not in YES_NO_CHOICES:
            raise ValidationError(_l("Please choose yes, no or abstain."), field="choice")
        return {"choice": choice}
    if measure.kind == MeasureKind.SINGLE:
        choice = content.get("choice")
        if choice not in keys:
            raise ValidationError(_l("Please choose one of the options."), field="choice")
        return {"choice": choice}
    if measure.kind == MeasureKind.APPROVAL:
        chosen = content.get("choices") or []
        if isinstance(chosen, str) or any(c not in keys for c in chosen):
            raise ValidationError(_l("Please tick the options you approve."), field="choices")
        # An empty approval ballot is a valid blank ballot: the voter took part, approving none.
        return {"choices": sorted(set(chosen))}
    ranking = content.get("ranking") or []
    if isinstance(ranking, str) or any(c not in keys for c in ranking) or len(set(ranking)) != len(ranking):
        raise ValidationError(_l("Please give each option a different rank, or leave it unranked."), field="ranking")
    if not ranking:
        raise ValidationError(_l("Please rank at least one option."), field="ranking")
    return {"ranking": list(ranking)}


def _new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def plan_receipt() -> str:
    """A fresh receipt code for the confirmation step: the voter sees it before casting, and the
    ballot is stored with it, so a voter whose ballot was stored always holds its receipt, even
    when the answer after the commit never reached them."""
    return _new_receipt()


_RECEIPT_FORM = re.compile(rf"^[{RECEIPT_ALPHABET}]{{4}}-[{RECEIPT_ALPHABET}]{{4}}-[{RECEIPT_ALPHABET}]{{4}}$")


def receipt_counted(measure: Measure, receipt: str | None) -> bool:
    """Whether a ballot with this receipt is stored on this measure (for a voter who retries)."""
    if not receipt or not _RECEIPT_FORM.match(receipt):
        return False
    if db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.measure_id == measure.id, Ballot.receipt == receipt)
    ):
        return True
    # A secret ballot may still wait sealed for the mixer: its receipt is inside the envelope.
    waiting = list(db.session.scalars(select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
    return any(opened["receipt"] == receipt for opened in _opened(measure, waiting))


def _lock_open_measure(community: Community, measure_id: int, *, for_ballots: bool = True) -> Measure:
    """The measure, share-locked, if it takes ballots now. Proxies (``for_ballots`` False) may
    also be given between the announcement and the opening time, and on any open measure."""
    measure = db.session.scalar(
        select(Measure).where(Measure.id == measure_id, Measure.community_id == community.id)
        .with_for_update(read=True))
    if measure is None or measure.status == MeasureStatus.DRAFT:
        raise NotFound(_l("That measure does not exist in this community."))
    now = utcnow()
    if measure.status == MeasureStatus.CLOSED or (measure.closes_at is not None and now >= measure.closes_at):
        raise InvalidTransition(_l("This vote has closed. No more ballots can be cast."))
    if not for_ballots:
        return measure
    if measure.method != "ballots":
        raise InvalidTransition(_l("This vote was decided by a show of hands in the meeting."))
    if measure.opens_at is not None and now < measure.opens_at:
        raise InvalidTransition(_l("This vote has not opened yet."))
    return measure


def _lock_roll_entry(measure: Measure, voter_id: int, *, own: bool) -> Eligibility:
    entry = db.session.scalar(select(Eligibility).where(
        Eligibility.measure_id == measure.id, Eligibility.user_id == voter_id).with_for_update())
    if entry is None:
        raise PermissionDenied(_l("You are not on the roll for this vote.") if own
                               else _l("That person is not on the roll for this vote."))
    return entry


def _refuse_second_ballot(measure: Measure, entry: Eligibility) -> None:
    """One ballot per voter; on a register roll, one per place, whoever casts it first."""
    if entry.register_voter_id is not None:
        vote = db.session.scalar(select(RegisterVote).where(RegisterVote.register_voter_id == entry.register_voter_id))
        if vote is not None:
            raise Conflict(_already_cast(db.session.get(RegisterVoter, entry.register_voter_id), vote))
        if db.session.scalar(select(BallotSheet.id).where(BallotSheet.register_voter_id == entry.register_voter_id,
                                                          BallotSheet.status.in_(("returned", "counted")))):
            raise Conflict(_l("The paper ballot sheet of %(units)s came back and is being entered. A unit has one "
                              "vote, so it cannot also vote online.", units=entry.units))
    elif has_voted(measure, entry.user_id):
        raise Conflict(_l("A ballot has already been cast for this voter. Each voter has one ballot."))


def _already_cast(place: RegisterVoter, vote: RegisterVote):
    if vote.channel == Channel.PAPER:
        return _l("The vote of %(units)s was already cast on a paper ballot sheet. A unit has one vote, so it "
                  "cannot also vote online.", units=place.units)
    who = vote.voter.display_name if vote.voter else "—"
    return _l("The vote of %(units)s was already cast by %(name)s. Co-owners share one vote: the first ballot "
              "counts, and a paper sheet for it is no longer accepted.", units=place.units, name=who)


def _claim_place(measure: Measure, place: RegisterVoter, *, channel: str, voter_id: int | None,
                 cast_by: User | None) -> None:
    """Take the place's one vote; the unique constraint refuses a second, even a racing one."""
    db.session.add(RegisterVote(measure_id=measure.id, register_voter_id=place.id, channel=channel,
                                voter_id=voter_id, cast_by_id=cast_by.id if cast_by else None))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        vote = db.session.scalar(select(RegisterVote).where(RegisterVote.register_voter_id == place.id))
        raise Conflict(_already_cast(place, vote) if vote else
                       _l("A ballot has already been cast for this voter. Each voter has one ballot.")) from None


def _store(measure: Measure, entry: Eligibility, content: dict, *, channel: str, cast_by: User | None,
           receipt: str | None = None) -> str:
    """Participation and ballot in one transaction, linked by nothing. ``receipt`` is the code
    the voter was shown on the confirmation step (a malformed one is replaced)."""
    place = None
    if entry.register_voter_id is not None:
        place = db.session.scalar(select(RegisterVoter).where(RegisterVoter.id == entry.register_voter_id)
                                  .with_for_update())
        _claim_place(measure, place, channel=channel, voter_id=entry.user_id, cast_by=cast_by)
    db.session.add(Participation(measure_id=measure.id, voter_id=entry.user_id, channel=channel,
                                 cast_by_id=cast_by.id if cast_by else None))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("A ballot has already been cast for this voter. Each voter has one ballot.")) from None
    return _add_ballot(measure, content, weight=place.weight if place else entry.weight,
                       area=place.area if place else entry.area, voter_id=entry.user_id, place=place,
                       receipt=receipt)


def _add_ballot(measure: Measure, content: dict, *, weight: Decimal, area: Decimal, voter_id: int | None,
                place: RegisterVoter | None, receipt: str | None = None) -> str:
    if not receipt or not _RECEIPT_FORM.match(receipt):
        receipt = _new_receipt()
    if measure.secret:
        # Sealed beside the participation; the mixer moves it to the ballots later, with others.
        db.session.add(BallotEnvelope(id=secrets.token_hex(16), measure_id=measure.id, sealed=envelopes.seal(
            _envelope_secret(), measure.id, {"receipt": receipt, "content": content, "weight": str(weight)})))
        return receipt
    db.session.add(Ballot(id=secrets.token_hex(16), measure_id=measure.id, receipt=receipt, content=content,
                          weight=weight, area=area, voter_id=voter_id,
                          register_voter_id=place.id if place is not None else None))
    try:
        db.session.flush()
    except IntegrityError:  # receipts are unique: a code already on the board is never reused
        db.session.rollback()
        raise Conflict(_l("That receipt code is already taken. Please confirm your ballot again.")) from None
    return receipt


def enter_place_ballot(*, actor: User, community: Community, measure_id: int, register_voter_id: int,
                       content: dict) -> str:
    """Staff enter the paper ballot sheet of a place on a register roll (a unit, an owner's units,
    the developer's units), whether or not anyone of it has an account. The audit log records
    who entered it for which units, never what it says; nobody of the place can vote online
    afterwards, and a sheet for a place that already voted is refused."""
    require(actor, community, "votes.paper")
    measure = _lock_open_measure(community, measure_id)
    place = db.session.scalar(select(RegisterVoter).where(
        RegisterVoter.id == register_voter_id, RegisterVoter.measure_id == measure.id).with_for_update())
    if place is None:
        raise NotFound(_l("That unit is not on the roll of this vote."))
    holders = list(db.session.scalars(select(Eligibility.user_id).where(
        Eligibility.register_voter_id == place.id)))
    if holders and db.session.scalar(select(Proxy.id).where(
            Proxy.measure_id == measure.id, Proxy.grantor_id.in_(holders), Proxy.status == ProxyStatus.ACTIVE)):
        raise InvalidTransition(_l("An owner of these units has authorised a proxy for this vote; the proxy votes "
                                   "for them, or the owner revokes the proxy first."))
    if db.session.scalar(select(BallotSheet.id).where(BallotSheet.register_voter_id == place.id)):
        raise InvalidTransition(_l("A ballot sheet was printed for these units: enter it by its code, twice, on the "
                                   "ballot sheets page."))
    clean = _clean_content(measure, content)
    _claim_place(measure, place, channel=Channel.PAPER, voter_id=None, cast_by=actor)
    receipt = _add_ballot(measure, clean, weight=place.weight, area=place.area, voter_id=None, place=place)
    record(actor=actor, action="vote.paper_entered", community=community, measure_id=measure.id, units=place.units)
    db.session.commit()
    _mix_after_cast(measure)
    _announce_turnout(measure)
    return receipt


# Envelopes move to the public ballots in batches of at least this many, and this many always
# stay sealed until the close, so the last batch mixes at least as many ballots as any other.
MIX_BATCH = 5


def _envelope_secret() -> str:
    return str(current_app.config.get("BALLOT_ENVELOPE_KEY") or current_app.config["SECRET_KEY"])


def _opened(measure: Measure, rows: list[BallotEnvelope]) -> list[dict]:
    secret = _envelope_secret()
    return [envelopes.open_sealed(secret, measure.id, row.sealed) for row in rows]


def mix_envelopes(measure: Measure, *, final: bool) -> int:
    """Move sealed ballots of a secret measure into ``ballots`` in a shuffled batch: all of them
    (``final``, at the close, in the closing transaction), else, once ``2 × MIX_BATCH`` wait,
    a random choice of all but ``MIX_BATCH``. The caller commits. Returns how many moved."""
    pending = list(db.session.scalars(select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
    if not final and len(pending) < 2 * MIX_BATCH:
        return 0
    chance = secrets.SystemRandom()
    chance.shuffle(pending)
    moving = pending if final else pending[:len(pending) - MIX_BATCH]
    for envelope, ballot in zip(moving, _opened(measure, moving), strict=True):
        db.session.add(Ballot(id=secrets.token_hex(16), measure_id=measure.id, receipt=ballot["receipt"],
                              content=ballot["content"], weight=Decimal(ballot["weight"]), area=Decimal(0)))
        db.session.delete(envelope)
    db.session.flush()
    return len(moving)


def _mix_after_cast(measure: Measure) -> None:
    """A batch of its own, after the casting transaction committed (so it shares nothing with it)."""
    if not measure.secret:
        return
    try:
        locked = db.session.scalar(select(Measure).where(Measure.id == measure.id).with_for_update())
        if locked is not None and locked.status == MeasureStatus.OPEN and mix_envelopes(locked, final=False):
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:
        # The ballot is cast (committed, sealed); a batch that fails is simply tried again by the
        # next ballot, and the close mixes whatever is left.
        db.session.rollback()
        current_app.logger.exception("Mixing the envelopes of measure %s failed", measure.id)


def cast_ballot(*, actor: User, community: Community, measure_id: int, content: dict,
                for_voter_id: int | None = None, receipt: str | None = None) -> str:
    """Cast the actor's own ballot, or (``for_voter_id``) a ballot as someone's proxy.
    Returns the receipt code (``receipt``, the one shown on the confirmation step, when given).
    Final: there is no second ballot and no change."""
    measure = _lock_open_measure(community, measure_id)
    if for_voter_id is None or int(for_voter_id) == actor.id:
        entry = _lock_roll_entry(measure, actor.id, own=True)
        proxy = active_proxy_from(measure, actor.id)
        if proxy is not None:
            raise InvalidTransition(_l("You authorised %(name)s to vote for you on this measure. Revoke that "
                                       "first if you want to vote yourself.", name=proxy.delegate.display_name))
        channel = Channel.ONLINE
    else:
        entry = _lock_roll_entry(measure, int(for_voter_id), own=False)
        proxy = db.session.scalar(select(Proxy).where(
            Proxy.measure_id == measure.id, Proxy.grantor_id == entry.user_id, Proxy.delegate_id == actor.id,
            Proxy.status == ProxyStatus.ACTIVE).with_for_update())
        if proxy is None:
            raise PermissionDenied(_l("You do not hold a proxy from that person for this vote."))
        channel = Channel.PROXY
    _refuse_second_ballot(measure, entry)
    receipt = _store(measure, entry, _clean_content(measure, content), channel=channel, cast_by=actor,
                     receipt=receipt)
    db.session.commit()
    _mix_after_cast(measure)
    _announce_turnout(measure)
    return receipt


def enter_paper_ballot(*, actor: User, community: Community, measure_id: int, voter_id: int, content: dict) -> str:
    """Staff enter a member's paper ballot. The audit log records who entered it for whom (never
    what it says); the member's online vote is then refused like any second ballot."""
    require(actor, community, "votes.paper")
    measure = _lock_open_measure(community, measure_id)
    voter = member_in(community, int(voter_id))
    entry = _lock_roll_entry(measure, voter.id, own=False)
    if active_proxy_from(measure, voter.id) is not None:
        raise InvalidTransition(_l("This member has authorised a proxy for this vote; the proxy votes for them, "
                                   "or the member revokes the proxy first."))
    _refuse_second_ballot(measure, entry)
    receipt = _store(measure, entry, _clean_content(measure, content), channel=Channel.PAPER, cast_by=actor)
    record(actor=actor, action="vote.paper_entered", community=community, subject=voter, measure_id=measure.id)
    db.session.commit()
    _mix_after_cast(measure)
    _announce_turnout(measure)
    return receipt


@dataclass
class PaperSlip:
    measure: Measure
    voter: User
    content: dict
    receipt: str
    units: str
    entered_by: User | None
    entered_at: datetime


def paper_slip(*, actor: User, community: Community, measure_id: int, voter_id: int, receipt: str) -> PaperSlip:
    """What goes on the receipt slip staff print and hand to a member whose paper ballot they
    entered: read only. The receipt comes from the entry just made (the app cannot tell which
    ballot of a secret vote is hers), so the slip can be printed only then, by staff."""
    require(actor, community, "votes.paper")
    measure = db.session.scalar(select(Measure).where(Measure.id == measure_id, Measure.community_id == community.id))
    if measure is None:
        raise NotFound(_l("That measure does not exist in this community."))
    voter = member_in(community, int(voter_id))
    taken = db.session.scalar(select(Participation).where(
        Participation.measure_id == measure.id, Participation.voter_id == voter.id,
        Participation.channel == Channel.PAPER))
    ballot = db.session.scalar(select(Ballot).where(Ballot.measure_id == measure.id,
                                                    Ballot.receipt == (receipt or "").strip().upper()))
    # A roll-call ballot names its voter, so a receipt of someone else's is refused too.
    if taken is None or ballot is None or (ballot.voter_id is not None and ballot.voter_id != voter.id):
        raise NotFound(_l("There is no paper ballot with that receipt for this member."))
    entry = roll_entry(measure, voter.id)
    return PaperSlip(measure=measure, voter=voter, content=ballot.content, receipt=ballot.receipt,
                     units=entry.units if entry else "", entered_by=taken.cast_by, entered_at=taken.created_at)


def record_show_of_hands(*, actor: User, community: Community, measure_id: int, counts: dict[str, int],
                         present: int, note: str = "") -> Measure:
    """A chair records a show of hands in the meeting as counts (an analog vote). It decides
    the measure and closes it; it is only possible before any ballot was cast."""
    require(actor, community, "votes.run")
    measure = db.session.scalar(
        select(Measure).where(Measure.id == measure_id, Measure.community_id == community.id).with_for_update())
    if measure is None or measure.status != MeasureStatus.OPEN:
        raise InvalidTransition(_l("A show of hands can be recorded on an open vote only."))
    if measure.preset != "custom" or measure.weighting != Weighting.PERSON:
        raise InvalidTransition(_l("A weighted vote cannot be decided by a show of hands."))
    if measure.kind == MeasureKind.RANKED:
        raise InvalidTransition(_l("A ranked vote cannot be decided by a show of hands."))
    if db.session.scalar(select(func.count(Participation.id)).where(Participation.measure_id == measure.id)):
        raise InvalidTransition(_l("Ballots have already been cast on this measure."))
    keys = list(YES_NO_CHOICES) if measure.kind in (MeasureKind.YES_NO, MeasureKind.CONVENTION) \
        else [o.key for o in measure.options]
    try:
        clean = {k: int(counts.get(k) or 0) for k in keys}
        present = int(present)
    except (TypeError, ValueError):
        raise ValidationError(_l("Please enter whole numbers."), field="present") from None
    if present <= 0 or any(v < 0 for v in clean.values()):
        raise ValidationError(_l("Please enter whole numbers, and how many were present."), field="present")
    hands = sum(clean.values())
    if measure.kind != MeasureKind.APPROVAL and hands > present:
        raise ValidationError(_l("More hands were counted than people present."), field="present")
    eligible = db.session.scalar(select(func.count(Eligibility.id)).where(Eligibility.measure_id == measure.id))
    if present > eligible:
        raise ValidationError(_l("More people present than are on the roll (%(n)d).", n=eligible), field="present")
    now = utcnow()
    db.session.add(HandCount(measure_id=measure.id, counts=clean, present=present, note=(note or "")[:1000],
                             recorded_by_id=actor.id))
    # Each person present counts as one "ballot" of weight one for the quorum and threshold.
    rows = []
    for key, n in clean.items():
        content = {"choices": [key]} if measure.kind == MeasureKind.APPROVAL else {"choice": key}
        rows += [BallotRow(f"{key}{i}", content, Decimal(1)) for i in range(n)]
    if measure.kind != MeasureKind.APPROVAL:
        rows += [BallotRow(f"x{i}", {"choice": None}, Decimal(1)) for i in range(present - hands)]
    result = count_measure(rules_of(measure), roll_count=eligible, roll_weight=Decimal(eligible),
                           roll_area=Decimal(0), ballots=rows)
    result["hands"] = {"counts": clean, "present": present, "not_voting": max(present - hands, 0)}
    measure.method = "hands"
    measure.result = result
    measure.status = MeasureStatus.CLOSED
    measure.closed_at = now
    _finish(measure, actor, community, now)
    return measure


# ---------------------------------------------------------------- proxies


def proxy_delegate(community: Community, delegate_id) -> User:
    """The member a proxy names to vote. A managed resident cannot: she has no phone and no
    login, so she could never cast the ballots she holds (her own vote is entered by staff)."""
    try:
        delegate = member_in(community, int(delegate_id))
    except (TypeError, ValueError):
        raise ValidationError(_l("Please choose a member."), field="delegate_id") from None
    if delegate.is_managed:
        raise ValidationError(_l("%(name)s has no phone and cannot vote for others. Please choose another member.",
                                 name=delegate.display_name), field="delegate_id")
    return delegate


def proxy_delegates(community: Community) -> list[User]:
    """The members a proxy may name: verified members who can log in and vote."""
    return [u for u in verified_members(community) if not u.is_managed]


def grant_proxy(*, actor: User, community: Community, measure_id: int, delegate_id: int,
                grantor_id: int | None = None) -> Proxy:
    """A voter authorises another member to vote for them on this measure. Staff may enter a
    paper authorisation (``grantor_id``) for a member without a phone."""
    on_paper = grantor_id is not None and int(grantor_id) != actor.id
    if on_paper:
        require(actor, community, "votes.paper")
        grantor = member_in(community, int(grantor_id))
    else:
        require(actor, community, "community.participate")
        grantor = actor
    measure = _lock_open_measure(community, measure_id, for_ballots=False)
    _lock_roll_entry(measure, grantor.id, own=not on_paper)
    delegate = proxy_delegate(community, delegate_id)
    if delegate.id == grantor.id:
        raise ValidationError(_l("Choose someone else to vote for you."), field="delegate_id")
    if has_voted(measure, grantor.id):
        raise InvalidTransition(_l("A ballot has already been cast for this voter; a proxy is no longer possible."))
    if active_proxy_from(measure, grantor.id) is not None:
        raise InvalidTransition(_l("There is already a proxy for this vote. Revoke it first to choose someone else."))
    # Lock the delegate's membership so two grants cannot both take the last place.
    db.session.scalar(select(Membership).where(
        Membership.community_id == community.id, Membership.user_id == delegate.id).with_for_update())
    if len(proxies_held(measure, delegate.id)) >= community.max_proxies:
        raise InvalidTransition(_l("%(name)s already holds the most proxies allowed here (%(n)d).",
                                   name=delegate.display_name, n=community.max_proxies), field="delegate_id")
    proxy = Proxy(measure_id=measure.id, grantor_id=grantor.id, delegate_id=delegate.id,
                  channel=Channel.PAPER if on_paper else Channel.ONLINE, entered_by_id=actor.id if on_paper else None)
    db.session.add(proxy)
    record(actor=actor, action="proxy.granted", community=community, subject=grantor, measure_id=measure.id,
           delegate_id=delegate.id)
    notifications.notify(recipients=[delegate.id], kind="proxy.granted", actor=None, community_id=community.id,
                         link=link("voting.show", slug=community.slug, measure_id=measure.id),
                         name=grantor.display_name, question=measure.question)
    db.session.commit()
    return proxy


def revoke_proxy(*, actor: User, community: Community, proxy_id: int) -> Proxy:
    """The voter (or staff, for a paper authorisation) takes a proxy back, until it was used."""
    proxy = db.session.scalar(select(Proxy).join(Measure, Measure.id == Proxy.measure_id).where(
        Proxy.id == proxy_id, Measure.community_id == community.id))
    if proxy is None:
        raise NotFound(_l("That proxy does not exist in this community."))
    if proxy.grantor_id != actor.id:
        require(actor, community, "votes.paper")
    measure = _lock_open_measure(community, proxy.measure_id, for_ballots=False)
    _lock_roll_entry(measure, proxy.grantor_id, own=proxy.grantor_id == actor.id)
    db.session.refresh(proxy, with_for_update=True)
    if proxy.status != ProxyStatus.ACTIVE:
        raise InvalidTransition(_l("This proxy was already revoked."))
    if has_voted(measure, proxy.grantor_id):
        raise InvalidTransition(_l("The proxy has already voted; the ballot is final."))
    proxy.status = ProxyStatus.REVOKED
    proxy.revoked_at = utcnow()
    record(actor=actor, action="proxy.revoked", community=community, measure_id=measure.id, proxy_id=proxy.id)
    notifications.notify(recipients=[proxy.delegate_id], kind="proxy.revoked", actor=None, community_id=community.id,
                         link=link("voting.show", slug=community.slug, measure_id=measure.id),
                         name=proxy.grantor.display_name, question=measure.question)
    db.session.commit()
    return proxy


# ---------------------------------------------------------------- live


def _announce(measure: Measure) -> None:
    community = db.session.get(Community, measure.community_id)
    realtime.announce(
        f"item:{measure.item_id}", "vote.changed",
        render=lambda: render_template("voting/_measure_card.html", community=community, measure=measure, live=True),
        target=f"#measure-{measure.id}", replaces=True, data={"measure_id": measure.id},
    )
    _announce_turnout(measure, state_changed=True)


# Sent after a measure's turnout or state changed (and was announced to its item's room), so
# other components (a live meeting's projector) can follow without voting knowing them.
measure_changed = Namespace().signal("measure-changed")


def _announce_turnout(measure: Measure, *, state_changed: bool = False) -> None:
    """Turnout (and live results, when the measure shows them) to everyone viewing the item or
    the measure: its pages follow the item's room. A secret measure's figures go out only when
    they moved a step; announcements of one measure are coalesced to at most one a second; each
    replaces the one before, so a replay carries the current state and not the sequence."""
    if not state_changed and _stepped(measure) and not _publish_step(measure):
        return  # nothing the public may see has changed
    measure_id = measure.id
    realtime.coalesce(f"turnout:{measure_id}", lambda: _announce_turnout_now(measure_id),
                      every=current_app.config.get("LIVE_COALESCE_SECONDS", 1.0))


def _announce_turnout_now(measure_id: int) -> None:
    measure = db.session.get(Measure, measure_id)
    if measure is None:
        return
    community = db.session.get(Community, measure.community_id)
    figures, result = turnout(measure), current_result(measure)
    realtime.announce(
        f"item:{measure.item_id}", "vote.turnout",
        render=lambda: render_template("voting/_turnout.html", community=community, measure=measure,
                                       turnout=figures, result=result),
        target=f"#turnout-{measure.id}", replaces=True, data={"measure_id": measure.id},
    )
    measure_changed.send(measure)


def close_if_due(measure: Measure) -> Measure:
    """Pages call this: an open measure past its closing time is closed now (by the app)."""
    if measure.status != MeasureStatus.OPEN or measure.closes_at is None or measure.closes_at > utcnow():
        return measure
    from ..extensions import writing

    community = db.session.get(Community, measure.community_id)
    with writing():
        try:
            close_measure(actor=None, community=community, measure_id=measure.id)
        except (InvalidTransition, Conflict):
            db.session.rollback()  # someone else closed it first
    return db.session.get(Measure, measure.id)


def check_ballot(measure: Measure, content: dict) -> dict:
    """The ballot as it would be stored, or ValidationError (for the confirmation step)."""
    return _clean_content(measure, content)


def board_export(measure: Measure) -> dict:
    """Everything a recount needs, as published after close: rules, roll size, every ballot."""
    if on_register(measure):
        figures = _register_roll_figures(measure)
        roll_part = {"count": figures["roll_count"], "weight": str(figures["roll_weight"]),
                     "area": str(figures["roll_area"]), "absent_areas": [str(a) for a in figures["absent_areas"]],
                     "present": figures["present"], "register": figures["register"]}
        return _export(measure, roll_part)
    roll = db.session.execute(
        select(func.count(Eligibility.id), func.coalesce(func.sum(Eligibility.weight), 0),
               func.coalesce(func.sum(Eligibility.area), 0)).where(Eligibility.measure_id == measure.id)).one()
    absent = [str(Decimal(a)) for a in db.session.scalars(
        select(Eligibility.area).where(
            Eligibility.measure_id == measure.id,
            ~Eligibility.user_id.in_(select(Participation.voter_id).where(Participation.measure_id == measure.id)))
        .order_by(Eligibility.area))]
    return _export(measure, {"count": roll[0], "weight": str(Decimal(roll[1])), "area": str(Decimal(roll[2])),
                             "absent_areas": absent})


def _export(measure: Measure, roll: dict) -> dict:
    return {
        "measure": {
            "id": measure.id, "question": measure.question, "kind": measure.kind, "preset": measure.preset,
            "threshold": measure.threshold, "abstentions_count": measure.abstentions_count,
            "quorum_headcount": str(measure.quorum_headcount), "quorum_area": str(measure.quorum_area),
            "secret": measure.secret, "options": [{"key": o.key, "label": o.label} for o in measure.options],
            "frozen_text_sha256": measure.frozen_text_sha256,
        },
        "roll": roll,
        "ballots": [
            {"receipt": b.receipt, "content": b.content, "weight": str(b.weight), "area": str(b.area),
             **({} if measure.secret else {"voter": b.voter.display_name if b.voter else None})}
            for b in board(measure)
        ],
        "result": measure.result,
    }


def recount(export: dict) -> dict:
    """Recount a published board (what anyone can do with board.json)."""
    m = export["measure"]
    rules = MeasureRules(kind=m["kind"], options=[o["key"] for o in m["options"]], preset=m["preset"],
                         threshold=m["threshold"], abstentions_count=m["abstentions_count"],
                         quorum_headcount=Decimal(m["quorum_headcount"]), quorum_area=Decimal(m["quorum_area"]))
    ballots = sorted((BallotRow(b["receipt"], b["content"], Decimal(b["weight"]), Decimal(b["area"]))
                      for b in export["ballots"]), key=lambda b: b.id)
    return count_measure(rules, roll_count=export["roll"]["count"], roll_weight=Decimal(export["roll"]["weight"]),
                         roll_area=Decimal(export["roll"]["area"]), ballots=ballots,
                         absent_areas=[Decimal(a) for a in export["roll"]["absent_areas"]],
                         present=export["roll"].get("present"), register=export["roll"].get("register"))

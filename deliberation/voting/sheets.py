"""Paper ballot sheets at the scale of an owners' assembly (业主大会书面表决): one printed sheet per
place of a roll-call register roll, carried door to door (delivered, returned, refused,
unreachable, and who collected it), and entered by its code twice, by two different staff
members. Two alike entries count the sheet; two different ones wait for a third staff member,
who reads the sheet again and decides. A place votes once: a sheet that came back stops its
owners voting online, and a place that voted online cannot be counted again from a sheet.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..communities.models import Community
from ..communities.permissions import require
from ..communities.services import member_in
from ..errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..timeutil import utcnow
from .models import (
    BallotSheet,
    Channel,
    Measure,
    MeasureStatus,
    RegisterVote,
    RegisterVoter,
    Scrutineer,
    SheetStatus,
)
from .services import (
    RECEIPT_ALPHABET,
    _add_ballot,
    _announce_turnout,
    _claim_place,
    _clean_content,
    _lock_open_measure,
    measure_closing,
    measure_in,
    on_register,
)

# What a collector may report about a sheet; "counted" is reached by entering it.
COLLECTION = (SheetStatus.DELIVERED, SheetStatus.RETURNED, SheetStatus.REFUSED, SheetStatus.UNREACHABLE)
# Sheets not back yet: what the list "still out, by building" shows.
OUT = (SheetStatus.PRINTED, SheetStatus.DELIVERED, SheetStatus.UNREACHABLE)


def _code() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


def normalise_code(code: str) -> str:
    """A code as typed or read from the QR code: case, spaces and dashes do not matter."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw


def sheets_of(measure: Measure) -> list[BallotSheet]:
    return list(db.session.scalars(
        select(BallotSheet).join(RegisterVoter, RegisterVoter.id == BallotSheet.register_voter_id)
        .where(BallotSheet.measure_id == measure.id).order_by(RegisterVoter.position)))


def issue_sheets(*, actor: User, community: Community, measure_id: int) -> list[BallotSheet]:
    """Give every place of the roll that has not voted and has no sheet yet a sheet with its own
    code (printing again reprints the same sheets). Roll-call register votes only: a secret
    vote needs unnamed sheets, which this does not make."""
    require(actor, community, "votes.paper")
    measure = measure_in(community, measure_id, actor)
    if not on_register(measure) or measure.secret:
        raise InvalidTransition(_l("Ballot sheets per unit are printed for signed (roll-call) votes counted over "
                                   "the unit register only."))
    if measure.status != MeasureStatus.OPEN:
        raise InvalidTransition(_l("Sheets can be printed while the vote is open."))
    have = set(db.session.scalars(select(BallotSheet.register_voter_id).where(BallotSheet.measure_id == measure.id)))
    voted = set(db.session.scalars(select(RegisterVote.register_voter_id).where(
        RegisterVote.measure_id == measure.id)))
    places = db.session.scalars(select(RegisterVoter).where(RegisterVoter.measure_id == measure.id)
                                .order_by(RegisterVoter.position))
    new = [BallotSheet(measure_id=measure.id, register_voter_id=p.id, code=_code())
           for p in places if p.id not in have and p.id not in voted]
    db.session.add_all(new)
    if new:
        record(actor=actor, action="sheets.issued", community=community, measure_id=measure.id, sheets=len(new))
    db.session.commit()
    return sheets_of(measure)


def _sheet(measure: Measure, code: str, *, lock: bool = False) -> BallotSheet:
    query = select(BallotSheet).where(BallotSheet.measure_id == measure.id, BallotSheet.code == normalise_code(code))
    sheet = db.session.scalar(query.with_for_update() if lock else query)
    if sheet is None:
        raise NotFound(_l("No ballot sheet of this vote has that code. Please check the code on the sheet."))
    return sheet


def record_collection(*, actor: User, community: Community, measure_id: int, code: str, status: str) -> BallotSheet:
    """A collector reports what happened to a sheet at the door; they are named on it."""
    require(actor, community, "votes.paper")
    measure = _lock_open_measure(community, measure_id, for_ballots=False)
    if status not in {s.value for s in COLLECTION}:
        raise ValidationError(_l("Please choose what happened to the sheet."), field="status")
    sheet = _sheet(measure, code, lock=True)
    if sheet.status == SheetStatus.COUNTED:
        raise InvalidTransition(_l("This sheet is already counted."))
    if sheet.first_entry is not None and status != SheetStatus.RETURNED:
        raise InvalidTransition(_l("This sheet came back and is being entered."))
    sheet.status = status
    sheet.collected_by_id = actor.id
    sheet.status_at = utcnow()
    record(actor=actor, action="sheet.collection", community=community, measure_id=measure.id,
           units=sheet.place.units, status=status)
    db.session.commit()
    return sheet


def enter_sheet(*, actor: User, community: Community, measure_id: int, code: str, content: dict) -> BallotSheet:
    """Enter what a returned sheet says. The first entry waits for a second one by another
    staff member; alike, the sheet is counted; different, it waits for a third staff member
    (neither of the two), whose reading counts. The audit log never records the choice."""
    require(actor, community, "votes.paper")
    measure = _lock_open_measure(community, measure_id)
    sheet = _sheet(measure, code, lock=True)
    clean = _clean_content(measure, content)
    if sheet.status == SheetStatus.COUNTED:
        raise Conflict(_l("This sheet is already entered twice and counted."))
    if sheet.first_entry is None:
        sheet.first_entry, sheet.first_by_id = clean, actor.id
        if sheet.status != SheetStatus.RETURNED:
            sheet.status, sheet.status_at = SheetStatus.RETURNED, utcnow()
        step = "first"
    elif sheet.second_entry is None:
        if actor.id == sheet.first_by_id:
            raise InvalidTransition(_l("You entered this sheet already. A second staff member enters it again, "
                                       "so that a slip of one hand is caught."))
        sheet.second_entry, sheet.second_by_id = clean, actor.id
        step = "second"
        if clean == sheet.first_entry:
            _count(measure, sheet, clean, actor)
    else:
        if actor.id in (sheet.first_by_id, sheet.second_by_id):
            raise InvalidTransition(_l("The two entries of this sheet differ. A third staff member, who entered "
                                       "neither, reads the sheet again and enters it."))
        sheet.third_by_id = actor.id
        step = "third"
        _count(measure, sheet, clean, actor)
    record(actor=actor, action="sheet.entered", community=community, measure_id=measure.id,
           units=sheet.place.units, step=step)
    db.session.commit()
    if sheet.status == SheetStatus.COUNTED:
        _announce_turnout(measure)
    return sheet


def _count(measure: Measure, sheet: BallotSheet, content: dict, actor: User) -> None:
    place = db.session.scalar(select(RegisterVoter).where(RegisterVoter.id == sheet.register_voter_id)
                              .with_for_update())
    _claim_place(measure, place, channel=Channel.PAPER, voter_id=None, cast_by=actor)
    _add_ballot(measure, content, weight=place.weight, area=place.area, voter_id=None, place=place)
    sheet.status = SheetStatus.COUNTED


def reconciliation(measure: Measure) -> dict:
    """Sheets returned against sheets entered: every returned sheet is counted, waiting for its
    second entry, waiting for a third look, or not entered yet."""
    sheets = sheets_of(measure)
    returned = [s for s in sheets if s.status in (SheetStatus.RETURNED, SheetStatus.COUNTED)]
    return {
        "printed": len(sheets),
        "returned": len(returned),
        "counted": sum(1 for s in sheets if s.status == SheetStatus.COUNTED),
        "once": [s for s in returned if s.first_entry is not None and s.second_entry is None],
        "mismatches": [s for s in sheets if s.mismatch],
        "not_entered": [s for s in returned if s.first_entry is None],
        "out_by_building": _out_by_building(sheets),
    }


def _out_by_building(sheets: list[BallotSheet]) -> dict[str, list[BallotSheet]]:
    out: dict[str, list[BallotSheet]] = {}
    for sheet in sheets:
        if sheet.status in OUT:
            out.setdefault(sheet.place.building, []).append(sheet)
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- scrutineers (监票人, 计票人)

SCRUTINEER_ROLES = ("monitor", "counter")


def scrutineers_of(measure: Measure) -> list[Scrutineer]:
    return list(db.session.scalars(select(Scrutineer).where(Scrutineer.measure_id == measure.id)
                                   .order_by(Scrutineer.role, Scrutineer.id)))


def name_scrutineer(*, actor: User, community: Community, measure_id: int, user_id: int, role: str) -> Scrutineer:
    """The chair names a member as 监票人 (monitor) or 计票人 (counter) of a vote not yet closed."""
    require(actor, community, "votes.run")
    measure = measure_in(community, measure_id, actor)
    if measure.status == MeasureStatus.CLOSED:
        raise InvalidTransition(_l("Scrutineers are named before the vote closes."))
    if role not in SCRUTINEER_ROLES:
        raise ValidationError(_l("Please choose monitor (监票人) or counter (计票人)."), field="role")
    person = member_in(community, int(user_id))
    if db.session.scalar(select(Scrutineer.id).where(Scrutineer.measure_id == measure.id,
                                                     Scrutineer.user_id == person.id)):
        raise Conflict(_l("%(name)s is already a scrutineer of this vote.", name=person.display_name))
    scrutineer = Scrutineer(measure_id=measure.id, user_id=person.id, role=role, named_by_id=actor.id)
    db.session.add(scrutineer)
    record(actor=actor, action="scrutineer.named", community=community, subject=person, measure_id=measure.id,
           role=role)
    db.session.commit()
    return scrutineer


def sign_count(*, actor: User, community: Community, measure_id: int) -> Scrutineer:
    """A scrutineer signs off the paper count: only once every sheet that came back is counted
    (nothing entered once, no mismatch, nothing unentered), and before the vote closes."""
    measure = _lock_open_measure(community, measure_id, for_ballots=False)
    scrutineer = db.session.scalar(select(Scrutineer).where(Scrutineer.measure_id == measure.id,
                                                            Scrutineer.user_id == actor.id).with_for_update())
    if scrutineer is None:
        raise PermissionDenied(_l("Only the scrutineers named on this vote sign off its count."))
    if scrutineer.signed_at is not None:
        raise InvalidTransition(_l("You have signed off this count already."))
    report = reconciliation(measure)
    if report["returned"] != report["counted"]:
        raise InvalidTransition(_l("Not every sheet that came back is counted yet: %(n)d still to finish.",
                                   n=report["returned"] - report["counted"]))
    scrutineer.signed_at = utcnow()
    record(actor=actor, action="scrutineer.signed", community=community, measure_id=measure.id,
           role=scrutineer.role, sheets=report["counted"])
    db.session.commit()
    return scrutineer


@measure_closing.connect
def _scrutineers_into_the_record(measure: Measure, now, **_kwargs) -> dict:
    """The scrutineers' names, and whether and when each signed, go into the resolution."""
    named = scrutineers_of(measure)
    sheets = sheets_of(measure)
    if not named and not sheets:
        return {}
    return {"scrutiny": {
        "scrutineers": [{"name": s.user.display_name, "role": s.role,
                         "signed_at": s.signed_at.replace(microsecond=0).isoformat() + "Z" if s.signed_at else None}
                        for s in named],
        "sheets": {"printed": len(sheets),
                   "returned": sum(1 for s in sheets if s.status in (SheetStatus.RETURNED, SheetStatus.COUNTED)),
                   "counted": sum(1 for s in sheets if s.status == SheetStatus.COUNTED)},
    }}

"""Community operations: joining, verifying members, units and owners, roles, managed accounts.

Every operation that staff or an admin take for or on someone else writes an audit entry in
the same transaction. Ids coming from a request are always looked up *within* the community
the actor is working in, so another community's ids lead to NotFound, never to its data.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from pypinyin import lazy_pinyin
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..accounts.services import clean_display_name
from ..audit.services import record
from ..errors import Conflict, InvalidTransition, NotFound, ValidationError
from ..extensions import db, reading
from ..notifications import services as notifications
from ..timeutil import utcnow
from ..urls import link
from .models import (
    GRANTABLE_ROLES,
    Community,
    Membership,
    MembershipStatus,
    Ownership,
    Role,
    RoleGrant,
    Unit,
)
from .permissions import membership_of, require

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
PART_MAX = 20


def _clean_part(value: str | None, *, label, field_name: str, required: bool) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise ValidationError(_l("Please enter the %(what)s.", what=label), field=field_name)
    if len(text) > PART_MAX:
        raise ValidationError(_l("The %(what)s is too long.", what=label), field=field_name)
    return text


# ---------------------------------------------------------------- communities


def create_community(*, name: str, slug: str, description: str = "", admin: User | None = None) -> Community:
    """Create a community (from the CLI); ``admin`` becomes its first verified admin."""
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise ValidationError(_l("A community needs a name of at most 80 characters."), field="name")
    if not _SLUG_RE.match(slug or ""):
        raise ValidationError(_l("The short name may use a-z, 0-9 and '-' (3 to 40 characters)."), field="slug")
    community = Community(name=name, slug=slug, description=description or "")
    db.session.add(community)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError(_l("That short name is taken."), field="slug") from None
    if admin is not None:
        db.session.add(
            Membership(community_id=community.id, user_id=admin.id, status=MembershipStatus.VERIFIED,
                       decided_at=utcnow())
        )
        db.session.add(RoleGrant(community_id=community.id, user_id=admin.id, role=Role.ADMIN))
    db.session.commit()
    return community


def get_community(slug: str) -> Community:
    community = db.session.scalar(select(Community).where(Community.slug == slug))
    if community is None:
        raise NotFound(_l("There is no community at this address."))
    return community


def list_communities() -> list[Community]:
    return list(db.session.scalars(select(Community).order_by(Community.name)))


# ---------------------------------------------------------------- membership


def request_membership(
    *, actor: User, community: Community, building: str, entrance: str, room: str, note: str = "",
    not_listed: bool = False,
) -> Membership:
    """Ask to join, naming the unit one lives in. A rejected person may ask again. Where the
    community has a unit register the unit is one of it, unless the person says theirs is not
    listed (and then should say why in the note, for staff to check)."""
    building = _clean_part(building, label=_l("building"), field_name="building", required=True)
    entrance = _clean_part(entrance, label=_l("unit (entrance)"), field_name="entrance", required=False)
    room = _clean_part(room, label=_l("room"), field_name="room", required=True)
    note = (note or "").strip()[:500]
    if not not_listed and has_register(community) and find_unit(community, building, entrance, room) is None:
        raise ValidationError(_l("%(unit)s is not in this community's unit register. Please choose your building, "
                                 "unit and room from the lists, or tick “My unit is not in the list”.",
                                 unit="-".join(p for p in (building, entrance, room) if p)), field="room")
    membership = membership_of(actor, community)
    if membership is not None and membership.status != MembershipStatus.REJECTED:
        raise InvalidTransition(
            _l("You are already a member of this community.")
            if membership.is_verified
            else _l("Your request to join is already waiting for staff.")
        )
    if membership is None:
        membership = Membership(community_id=community.id, user_id=actor.id)
        db.session.add(membership)
    membership.status = MembershipStatus.PENDING
    membership.claimed_building, membership.claimed_entrance, membership.claimed_room = building, entrance, room
    membership.note = note
    membership.rejection_reason = ""
    membership.requested_at = utcnow()
    membership.decided_at = membership.decided_by_id = None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Your request to join is already waiting for staff.")) from None
    return membership


def has_register(community: Community) -> bool:
    return db.session.scalar(select(Unit.id).where(Unit.community_id == community.id).limit(1)) is not None


def _natural(text: str) -> tuple:
    """"2" before "10", and "3号楼" next to "3"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text or ""))


def unit_choices(community: Community, building: str = "", entrance: str | None = None) -> dict:
    """The register as the join form offers it, step by step: every building; the entrances of
    the chosen building; the rooms of the chosen building and entrance. Natural order."""
    buildings = sorted(set(db.session.scalars(select(Unit.building).where(Unit.community_id == community.id))),
                       key=_natural)
    entrances: list[str] = []
    rooms: list[str] = []
    if building in buildings:
        entrances = sorted(set(db.session.scalars(select(Unit.entrance).where(
            Unit.community_id == community.id, Unit.building == building))), key=_natural)
        if entrance is None and entrances == [""]:
            entrance = ""
        if entrance in entrances:
            rooms = sorted(db.session.scalars(select(Unit.room).where(
                Unit.community_id == community.id, Unit.building == building, Unit.entrance == entrance)),
                key=_natural)
    return {"buildings": buildings, "entrances": entrances, "rooms": rooms}


def membership_in(community: Community, membership_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.community_id == community.id)
    )
    if membership is None:
        raise NotFound(_l("That membership request does not exist in this community."))
    return membership


def find_unit(community: Community, building: str, entrance: str, room: str) -> Unit | None:
    return db.session.scalar(
        select(Unit).where(
            Unit.community_id == community.id,
            Unit.building == building,
            Unit.entrance == entrance,
            Unit.room == room,
        )
    )


def verify_membership(*, actor: User, community: Community, membership_id: int,
                      as_owner: bool = False) -> Membership:
    """Verify a request. ``as_owner``: staff checked the deed too, so the person is linked as an
    owner of the unit they named, in the same step (it must be in the register)."""
    require(actor, community, "members.review")
    membership = membership_in(community, membership_id)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_l("This request was already decided."))
    membership.status = MembershipStatus.VERIFIED
    membership.decided_at = utcnow()
    membership.decided_by_id = actor.id
    membership.unit = find_unit(
        community, membership.claimed_building, membership.claimed_entrance, membership.claimed_room
    )
    record(actor=actor, action="membership.verified", community=community, subject=membership.user,
           unit=membership.claimed_label)
    if as_owner:
        require(actor, community, "units.manage")
        if membership.unit is None:
            db.session.rollback()
            raise ValidationError(_l("%(unit)s is not in the unit register, so no owner can be linked to it. Verify "
                                     "without linking, or import the unit first.", unit=membership.claimed_label))
        if db.session.scalar(select(Ownership.id).where(Ownership.unit_id == membership.unit.id,
                                                        Ownership.user_id == membership.user_id)) is None:
            db.session.add(Ownership(unit_id=membership.unit.id, user_id=membership.user_id))
            record(actor=actor, action="owner.linked", community=community, subject=membership.user,
                   unit=membership.unit.label)
    told = notifications.notify(recipients=[membership.user_id], kind="membership.verified", actor=actor,
                                community_id=community.id, link=link("communities.show", slug=community.slug),
                                community=community.name)
    db.session.commit()
    notifications.announce_to(told)
    return membership


def reject_membership(*, actor: User, community: Community, membership_id: int, reason: str) -> Membership:
    require(actor, community, "members.review")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Please give the reason, so the person knows what to do."), field="reason")
    if len(reason) > 500:
        raise ValidationError(_l("The reason must be at most 500 characters."), field="reason")
    membership = membership_in(community, membership_id)
    if membership.status != MembershipStatus.PENDING:
        raise InvalidTransition(_l("This request was already decided."))
    membership.status = MembershipStatus.REJECTED
    membership.rejection_reason = reason
    membership.decided_at = utcnow()
    membership.decided_by_id = actor.id
    record(actor=actor, action="membership.rejected", community=community, subject=membership.user, reason=reason)
    told = notifications.notify(recipients=[membership.user_id], kind="membership.rejected", actor=actor,
                                community_id=community.id, link=link("communities.show", slug=community.slug),
                                community=community.name, reason=reason)
    db.session.commit()
    notifications.announce_to(told)
    return membership


def memberships(*, actor: User, community: Community, status: str | None = None, query: str = "") -> list[Membership]:
    """Membership requests. Waiting ones stay in the order they came (newest first, a queue);
    decided ones are a list of people, in pinyin order. ``query`` finds by name, phone tail or unit."""
    require(actor, community, "members.list")
    select_rows = select(Membership).where(Membership.community_id == community.id)
    if status:
        select_rows = select_rows.where(Membership.status == status)
    rows = list(db.session.scalars(select_rows.order_by(Membership.requested_at.desc(), Membership.id.desc())))
    if status and status != MembershipStatus.PENDING:
        rows.sort(key=lambda m: name_sort_key(m.user.display_name))
    if (query or "").strip():
        units = _units_by_member(community)
        rows = [m for m in rows if person_matches(m.user, units.get(m.user_id, []), query)]
    return rows


def member_in(community: Community, user_id: int) -> User:
    """A verified member of this community by id, or NotFound (also for other communities' people)."""
    user = db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.id == user_id,
            Membership.community_id == community.id,
            Membership.status == MembershipStatus.VERIFIED,
        )
    )
    if user is None:
        raise NotFound(_l("That person is not a verified member of this community."))
    return user


def name_sort_key(name: str) -> tuple[str, str]:
    """Chinese names in pinyin order (李 before 王 before 张), mixed with Latin names by their
    letters; code-point order would scatter them. The name itself breaks ties."""
    return (" ".join(lazy_pinyin(name or "")).casefold(), name or "")


def _pinyin_forms(name: str) -> tuple[str, str]:
    syllables = [s.casefold() for s in lazy_pinyin(name or "")]
    return "".join(syllables), "".join(s[:1] for s in syllables)


def _digits(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def person_matches(user: User, units: list[str], query: str) -> bool:
    """Does ``query`` find this person? By name (characters or pinyin, full or initials: "wang",
    "wayi"), by the last digits of their phone (3 or more), or by a unit ("1-1-302", "1号楼1单元302")."""
    query = (query or "").strip().casefold()
    if not query:
        return True
    if query in (user.display_name or "").casefold():
        return True
    bare = query.replace(" ", "")
    if bare.isascii() and bare.isalpha():
        full, initials = _pinyin_forms(user.display_name)
        if bare in full or initials.startswith(bare):
            return True
    digits = _digits(query)
    if bare.isdigit() and len(digits) >= 3 and _digits(user.contact or "").endswith(digits):
        return True
    wanted = _unit_words(query)
    return bool(wanted) and any(wanted in _unit_words(label) for label in units)


def _unit_words(text: str) -> str:
    """A unit written any way people write it, as "1-1-302"."""
    for word in ("号楼", "栋", "幢", "单元", "室", "号"):
        text = text.replace(word, "-")
    parts = [p for p in text.replace(" ", "-").replace("－", "-").split("-") if p]
    return "-".join(parts)


def verified_members(community: Community) -> list[User]:
    return sorted(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED)
        ),
        key=lambda u: name_sort_key(u.display_name),
    )


def search_members(community: Community, query: str = "") -> list[User]:
    """Verified members in pinyin order, those ``query`` finds (see ``person_matches``)."""
    members = verified_members(community)
    if not (query or "").strip():
        return members
    units = _units_by_member(community)
    return [u for u in members if person_matches(u, units.get(u.id, []), query)]


def _units_by_member(community: Community) -> dict[int, list[str]]:
    """Each member's units as labels: the ones linked to them and the one they named on joining."""
    found: dict[int, list[str]] = {}
    for user_id, unit in db.session.execute(
            select(Ownership.user_id, Unit).join(Unit, Unit.id == Ownership.unit_id)
            .where(Unit.community_id == community.id)):
        found.setdefault(user_id, []).append(unit.label)
    for membership in db.session.scalars(select(Membership).where(Membership.community_id == community.id)):
        found.setdefault(membership.user_id, []).append(membership.claimed_label)
    return found


# ---------------------------------------------------------------- units and owners


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


_HEADERS = {
    "building": "building", "楼栋": "building", "楼号": "building",
    "unit": "entrance", "entrance": "entrance", "单元": "entrance",
    "room": "room", "室": "room", "房号": "room", "门牌": "room",
    "area": "floor_area", "floor_area": "floor_area", "面积": "floor_area", "建筑面积": "floor_area",
    "专有面积": "floor_area",
}


def import_units(*, actor: User, community: Community, data: bytes) -> ImportResult:
    """Import units from CSV (building, unit, room, area). All rows or none: any bad row is
    reported with its line number and nothing is written. Checking reads only, so it holds no
    write lock however long the register; the rows are then written in one short transaction."""
    with reading():
        result, new_units = _checked_units(actor=actor, community=community, data=data)
    db.session.rollback()  # end the read; the write below takes the lock only for itself
    if result.errors:
        return result
    try:
        db.session.execute(insert(Unit), new_units)
        record(actor=actor, action="units.imported", community=community, count=len(new_units))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        result.errors.append((1, str(_l("Someone else imported some of these units at the same time. "
                                       "Please reload and try again."))))
        return result
    result.created = len(new_units)
    return result


def _checked_units(*, actor: User, community: Community, data: bytes) -> tuple[ImportResult, list[dict]]:
    """Every row checked (read only); the rows to insert, or the errors by line number."""
    require(actor, community, "units.manage")
    result = ImportResult()
    new_units: list[dict] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # what Excel on a Chinese Windows saves
        except UnicodeDecodeError:
            result.errors.append((1, str(_l("The file is not a text (CSV) file."))))
            return result, new_units
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:  # e.g. a field over the csv module's 128 KiB limit: no register has one
        result.errors.append((1, str(_l("The file could not be read as CSV (a field is far too long, or quotes "
                                        "do not match)."))))
        return result, new_units
    if not rows:
        result.errors.append((1, str(_l("The file is empty."))))
        return result, new_units
    header = [_HEADERS.get(h.strip().lower()) for h in rows[0]]
    missing = {"building", "room", "floor_area"} - set(header)
    if missing:
        result.errors.append(
            (1, str(_l("The first line must name the columns: building, unit, room, area (or 楼栋, 单元, 室, 面积).")))
        )
        return result, new_units

    existing = {
        (u.building, u.entrance, u.room)
        for u in db.session.scalars(select(Unit).where(Unit.community_id == community.id))
    }
    seen: dict[tuple[str, str, str], int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {name: row[i].strip() if i < len(row) else "" for i, name in enumerate(header) if name}
        building, entrance, room = values.get("building", ""), values.get("entrance", ""), values.get("room", "")
        area_text = values.get("floor_area", "")
        problems = []
        if not building or not room:
            problems.append(str(_l("building and room are required")))
        if any(len(p) > PART_MAX for p in (building, entrance, room)):
            problems.append(str(_l("a building, unit or room name is too long")))
        try:
            area = Decimal(area_text)
            if not area.is_finite() or area <= 0 or area >= Decimal("100000") or area != area.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            area = None
            problems.append(str(_l("the area must be a positive number of m² with at most 2 decimals")))
        key = (building, entrance, room)
        if building and room:
            if key in seen:
                problems.append(str(_l("the same unit is on line %(n)d too", n=seen[key])))
            elif key in existing:
                problems.append(str(_l("this unit is already registered")))
            seen.setdefault(key, line_no)
        if problems:
            result.errors.append((line_no, "; ".join(problems)))
        elif area is not None:
            new_units.append({"community_id": community.id, "building": building, "entrance": entrance,
                              "room": room, "floor_area": area})
    if not new_units and not result.errors:
        result.errors.append((2, str(_l("The file has no units in it."))))
    return result, new_units


def units(*, actor: User, community: Community, search: str = "", page: int = 1, per_page: int = 50):
    require(actor, community, "units.manage")
    query = select(Unit).where(Unit.community_id == community.id)
    if search:
        like = f"%{search.strip()}%"
        query = query.where((Unit.building + "-" + Unit.entrance + "-" + Unit.room).like(like))
    return db.paginate(
        query.order_by(Unit.building, Unit.entrance, Unit.room), page=page, per_page=per_page, error_out=False
    )


def unit_totals(community: Community) -> tuple[int, Decimal]:
    count, area = db.session.execute(
        select(func.count(Unit.id), func.coalesce(func.sum(Unit.floor_area), 0)).where(
            Unit.community_id == community.id
        )
    ).one()
    return count, Decimal(area)


def unit_in(community: Community, unit_id: int) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.id == unit_id, Unit.community_id == community.id))
    if unit is None:
        raise NotFound(_l("That unit does not exist in this community."))
    return unit


def link_owner(*, actor: User, community: Community, unit_id: int, user_id: int) -> Ownership:
    require(actor, community, "units.manage")
    unit = unit_in(community, unit_id)
    owner = member_in(community, user_id)
    ownership = Ownership(unit_id=unit.id, user_id=owner.id)
    db.session.add(ownership)
    record(actor=actor, action="owner.linked", community=community, subject=owner, unit=unit.label)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("This person is already an owner of this unit.")) from None
    return ownership


OWNER_NAME_MAX = 80


def record_unit_holder(*, actor: User, community: Community, unit_id: int, owner_name: str,
                       developer_held: bool) -> Unit:
    """Staff write down who holds a unit as the register says: the owner's name when the owner
    has no account (the unit is on every owners' roll either way), or that the developer still
    holds it unsold or undelivered. Votes already open keep the roll they took."""
    require(actor, community, "units.manage")
    unit = unit_in(community, unit_id)
    name = " ".join((owner_name or "").split())
    if len(name) > OWNER_NAME_MAX:
        raise ValidationError(_l("The name must be at most %(n)d characters.", n=OWNER_NAME_MAX), field="owner_name")
    if developer_held and name:
        raise ValidationError(_l("A unit the developer still holds has no owner's name; clear one of the two."),
                              field="owner_name")
    unit.owner_name = name
    unit.developer_held = bool(developer_held)
    record(actor=actor, action="unit.holder_recorded", community=community, unit=unit.label,
           owner_name=name or None, developer_held=bool(developer_held))
    db.session.commit()
    return unit


def unlink_owner(*, actor: User, community: Community, unit_id: int, user_id: int) -> None:
    require(actor, community, "units.manage")
    unit = unit_in(community, unit_id)
    ownership = db.session.scalar(
        select(Ownership).where(Ownership.unit_id == unit.id, Ownership.user_id == user_id)
    )
    if ownership is None:
        raise NotFound(_l("This person is not an owner of this unit."))
    record(actor=actor, action="owner.unlinked", community=community, subject=ownership.user, unit=unit.label)
    db.session.delete(ownership)
    db.session.commit()


def units_owned(community: Community, user: User) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .join(Ownership, Ownership.unit_id == Unit.id)
            .where(Unit.community_id == community.id, Ownership.user_id == user.id)
            .order_by(Unit.building, Unit.entrance, Unit.room)
        )
    )


# ---------------------------------------------------------------- roles


def _parse_role(role: str) -> Role:
    try:
        parsed = Role(role)
    except ValueError:
        parsed = None
    if parsed not in GRANTABLE_ROLES:
        raise ValidationError(_l("That role cannot be granted."), field="role")
    return parsed


def grant_role(*, actor: User, community: Community, user_id: int, role: str) -> RoleGrant:
    require(actor, community, "roles.grant")
    parsed = _parse_role(role)
    member = member_in(community, user_id)
    grant = RoleGrant(community_id=community.id, user_id=member.id, role=parsed, granted_by_id=actor.id)
    db.session.add(grant)
    record(actor=actor, action="role.granted", community=community, subject=member, role=str(parsed))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("This person already has that role.")) from None
    return grant


def revoke_role(*, actor: User, community: Community, user_id: int, role: str) -> None:
    require(actor, community, "roles.grant")
    parsed = _parse_role(role)
    grant = db.session.scalar(
        select(RoleGrant).where(
            RoleGrant.community_id == community.id, RoleGrant.user_id == user_id, RoleGrant.role == parsed
        )
    )
    if grant is None:
        raise NotFound(_l("This person does not have that role."))
    if parsed == Role.ADMIN:
        admins = db.session.scalar(
            select(func.count(RoleGrant.id)).where(
                RoleGrant.community_id == community.id, RoleGrant.role == Role.ADMIN
            )
        )
        if admins <= 1:
            raise InvalidTransition(_l("A community must keep at least one admin."))
    record(actor=actor, action="role.revoked", community=community, subject=grant.user, role=str(parsed))
    db.session.delete(grant)
    db.session.commit()


def role_holders(community: Community) -> dict[int, set[str]]:
    holders: dict[int, set[str]] = {}
    for user_id, role in db.session.execute(
        select(RoleGrant.user_id, RoleGrant.role).where(RoleGrant.community_id == community.id)
    ):
        holders.setdefault(user_id, set()).add(role)
    return holders


# ---------------------------------------------------------------- managed accounts


def create_managed_account(
    *, actor: User, community: Community, display_name: str, building: str, entrance: str, room: str, note: str = ""
) -> User:
    """Staff register a resident who has no phone or email. The account cannot log in;
    staff act for it, and every such act is audited."""
    require(actor, community, "accounts.manage")
    name = clean_display_name(display_name)
    building = _clean_part(building, label=_l("building"), field_name="building", required=True)
    entrance = _clean_part(entrance, label=_l("unit (entrance)"), field_name="entrance", required=False)
    room = _clean_part(room, label=_l("room"), field_name="room", required=True)
    user = User(display_name=name, is_managed=True, managed_by_community_id=community.id)
    db.session.add(user)
    db.session.flush()
    membership = Membership(
        community_id=community.id,
        user_id=user.id,
        status=MembershipStatus.VERIFIED,
        claimed_building=building,
        claimed_entrance=entrance,
        claimed_room=room,
        note=(note or "").strip()[:500],
        decided_at=utcnow(),
        decided_by_id=actor.id,
        unit=find_unit(community, building, entrance, room),
    )
    db.session.add(membership)
    record(actor=actor, action="account.managed_created", community=community, subject=user,
           unit=membership.claimed_label)
    db.session.commit()
    return user


def my_memberships(user: User) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.requested_at.desc())
        )
    )


def community_stats(community: Community) -> dict[str, int]:
    members = db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED
        )
    )
    pending = db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.community_id == community.id, Membership.status == MembershipStatus.PENDING
        )
    )
    unit_count, _area = unit_totals(community)
    return {"members": members or 0, "pending": pending or 0, "units": unit_count}


# ---------------------------------------------------------------- settings

THRESHOLD_MAX = 10000
MAX_PROXIES_LIMIT = 20


def _whole_number(value, low: int, high: int, field: str, message) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(message, field=field) from None
    if not low <= number <= high:
        raise ValidationError(message, field=field)
    return number


def update_settings(*, actor: User, community: Community, support_threshold, max_proxies) -> Community:
    """Staff settings of a community, saved together: the supports that put an item on the
    agenda, and how many proxies one member may hold."""
    require(actor, community, "community.settings")
    threshold = _whole_number(support_threshold, 1, THRESHOLD_MAX, "threshold",
                              _l("Enter a whole number from 1 to %(n)d.", n=THRESHOLD_MAX))
    proxies = _whole_number(max_proxies, 0, MAX_PROXIES_LIMIT, "max_proxies",
                            _l("Please enter a whole number from 0 to 20."))
    if threshold != community.support_threshold:
        community.support_threshold = threshold
        record(actor=actor, action="community.threshold_set", community=community, threshold=threshold)
    if proxies != community.max_proxies:
        community.max_proxies = proxies
        record(actor=actor, action="community.max_proxies", community=community, value=proxies)
    db.session.commit()
    return community

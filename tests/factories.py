"""Make people, communities, units and memberships for tests, through the services."""

from __future__ import annotations

import itertools
from decimal import Decimal

from deliberation.accounts import services as accounts
from deliberation.accounts.models import User
from deliberation.communities import services as communities
from deliberation.communities.models import Community, Membership, MembershipStatus, Role, RoleGrant, Unit
from deliberation.extensions import db

PASSWORD = "password123"
_seq = itertools.count(1)


def make_user(name: str | None = None, contact: str | None = None, password: str = PASSWORD) -> User:
    n = next(_seq)
    return accounts.register(
        display_name=name or f"居民{n}", contact=contact or f"1390000{n:04d}", password=password
    )


def make_community(slug: str | None = None, name: str | None = None, admin: User | None = None) -> Community:
    n = next(_seq)
    admin = admin or make_user(f"管理员{n}")
    return communities.create_community(name=name or f"测试社区{n}", slug=slug or f"test-{n}", admin=admin)


def admin_of(community: Community) -> User:
    grant = db.session.scalar(
        db.select(RoleGrant).where(RoleGrant.community_id == community.id, RoleGrant.role == Role.ADMIN)
    )
    return db.session.get(User, grant.user_id)


def make_unit(community: Community, label: str = "1-1-101", area: str = "90.00") -> Unit:
    building, entrance, room = label.split("-")
    unit = Unit(community_id=community.id, building=building, entrance=entrance, room=room, floor_area=Decimal(area))
    db.session.add(unit)
    db.session.commit()
    return unit


def make_member(
    community: Community,
    *roles: Role | str,
    name: str | None = None,
    owns: tuple[Unit, ...] = (),
    status: str = MembershipStatus.VERIFIED,
) -> User:
    """A member with the given granted roles (chair, expert, legal, staff, admin) and units."""
    user = make_user(name)
    membership = Membership(
        community_id=community.id, user_id=user.id, status=status,
        claimed_building="1", claimed_entrance="1", claimed_room="101",
    )
    db.session.add(membership)
    db.session.commit()
    admin = admin_of(community)
    for role in roles:
        communities.grant_role(actor=admin, community=community, user_id=user.id, role=str(role))
    for unit in owns:
        communities.link_owner(actor=admin, community=community, unit_id=unit.id, user_id=user.id)
    return user


def make_item(community: Community, author: User | None = None, *, title: str = "东侧夜间共享停车方案",
              body: str = "把东门空地改为夜间停车。", submit: bool = True, category_key: str = "parking"):
    from deliberation.agenda import services as agenda

    author = author or make_member(community)
    category = next(c for c in agenda.categories(community) if c.key == category_key)
    item = agenda.save_draft(actor=author, community=community, title=title, body=body, category_id=category.id)
    if submit:
        agenda.submit_item(actor=author, community=community, item_id=item.id)
    return item


# ---------------------------------------------------------------- helpers for community and audit tests


def request_to_join(community: Community, person: User | None = None, label: str = "1-1-101",
                    note: str = "", not_listed: bool = False) -> Membership:
    """``person`` (a new user if none) asks to join, claiming the unit ``label`` (building-entrance-room);
    ``not_listed``: they say it is not in the register (where there is one)."""
    building, entrance, room = label.split("-")
    return communities.request_membership(actor=person or make_user(), community=community, building=building,
                                          entrance=entrance, room=room, note=note, not_listed=not_listed)


def audit_entries(community: Community | None = None, action: str | None = None) -> list:
    """Audit entries, oldest first, optionally of one community and one action."""
    from deliberation.audit.models import AuditEntry

    query = db.select(AuditEntry).order_by(AuditEntry.id)
    if community is not None:
        query = query.where(AuditEntry.community_id == community.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def count_rows(model, *where) -> int:
    """How many rows of ``model`` match ``where``, read fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def make_measure(community: Community, item=None, *, chair: User | None = None, open_now: bool = True, **rules):
    """A measure on an accepted item (made if none), opened unless ``open_now`` is False.
    ``rules`` are MeasureDraft fields; by default a secret yes/no vote of residents closing in a day."""
    from datetime import timedelta

    from deliberation.agenda import services as agenda
    from deliberation.timeutil import utcnow
    from deliberation.voting import services as voting

    chair = chair or make_member(community, Role.CHAIR)
    if item is None:
        item = make_item(community)
        agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    rules.setdefault("question", "是否通过共享停车方案？")
    rules.setdefault("closes_at", utcnow() + timedelta(days=1))
    measure = voting.create_measure(actor=chair, community=community, item_id=item.id,
                                    draft=voting.MeasureDraft(**rules))
    if open_now:
        voting.open_measure(actor=chair, community=community, measure_id=measure.id)
    return measure


def race(app, workers) -> list[str]:
    """Run each worker in its own thread and app context, all released at once; returns
    "ok" or "refused" (a rule said no: InvalidTransition or Conflict) per worker."""
    import threading

    from deliberation.errors import Conflict, InvalidTransition

    barrier = threading.Barrier(len(workers))
    outcomes: list[str] = []

    def run(work):
        with app.app_context():
            try:
                barrier.wait()
                work()
                outcomes.append("ok")
            except (InvalidTransition, Conflict):
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return outcomes

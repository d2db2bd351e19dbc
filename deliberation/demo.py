"""The demo community 阳光社区: units, people in every role, and sample content.

Everything is made through the services, so the demo also shows a realistic audit log.
Later capabilities extend ``load_demo`` with their own sample content.
"""

from __future__ import annotations

import io
from decimal import Decimal

from .accounts import services as accounts
from .accounts.models import User
from .communities import services as communities
from .communities.models import Community, Role

DEMO_PASSWORD = "demo1234"  # noqa: S105 - the published demo password (README)

# (contact, name, roles granted, units owned)
PEOPLE = [
    ("13800000001", "周主任", [Role.ADMIN, Role.STAFF], []),
    ("13800000002", "社工小林", [Role.STAFF], []),
    ("13800000003", "陈主持", [Role.CHAIR], ["2-1-501"]),
    ("13800000004", "吴工程师", [Role.EXPERT], []),
    ("13800000005", "郑律师", [Role.LEGAL], []),
    ("13800000010", "王阿姨", [], ["1-1-302", "1-2-101"]),
    ("13800000011", "李建国", [], ["1-1-601"]),
    ("13800000012", "刘芳", [], ["3-2-402"]),
    ("13800000013", "张伟", [], []),  # a tenant: resident, not an owner
    ("resident@example.com", "Anna Müller", [], ["4-1-201"]),
]
PENDING = ("13800000020", "赵小明", ("2", "2", "302"))
REJECTED = ("13800000021", "孙丽", ("9", "1", "101"), "本社区没有9号楼，请核对楼号后重新申请。")
MANAGED = ("钱奶奶", ("1", "1", "102"), "不用手机；由女儿周末陪同，电话见纸质登记表。")


def _unit_csv() -> bytes:
    rows = ["楼栋,单元,室,面积"]
    for building in range(1, 5):
        for entrance in range(1, 3):
            for floor in range(1, 7):
                for door in (1, 2):
                    area = Decimal(68 + (building * 7 + entrance * 5 + floor * 3 + door * 11) % 75) + Decimal("0.50")
                    rows.append(f"{building},{entrance},{floor}0{door},{area}")
    return "\n".join(rows).encode()


def _register(contact: str, name: str) -> User:
    return accounts.register(display_name=name, contact=contact, password=DEMO_PASSWORD)


def _join(user: User, community: Community, building: str, entrance: str, room: str, note: str = ""):
    return communities.request_membership(
        actor=user, community=community, building=building, entrance=entrance, room=room, note=note
    )


def load_demo() -> str:
    admin = _register(*PEOPLE[0][:2])
    sunshine = communities.create_community(
        name="阳光社区",
        slug="yangguang",
        description="阳光社区共有4栋楼、96户。这里是居民提出议题、讨论、请专家把关并表决的地方。",
        admin=admin,
    )
    communities.grant_role(actor=admin, community=sunshine, user_id=admin.id, role=Role.STAFF)
    result = communities.import_units(actor=admin, community=sunshine, data=_unit_csv())
    assert not result.errors, result.errors

    people: dict[str, User] = {"13800000001": admin}
    for contact, name, roles, owned in PEOPLE[1:]:
        user = _register(contact, name)
        people[contact] = user
        first_unit = (owned[0] if owned else "3-1-202").split("-")
        membership = _join(user, sunshine, *first_unit)
        communities.verify_membership(actor=admin, community=sunshine, membership_id=membership.id)
        for role in roles:
            communities.grant_role(actor=admin, community=sunshine, user_id=user.id, role=role)
        for label in owned:
            unit = communities.find_unit(sunshine, *label.split("-"))
            communities.link_owner(actor=people["13800000002"], community=sunshine, unit_id=unit.id, user_id=user.id)

    pending = _register(PENDING[0], PENDING[1])
    _join(pending, sunshine, *PENDING[2], note="刚搬来，房产证还在办理中。")
    rejected = _register(REJECTED[0], REJECTED[1])
    membership = _join(rejected, sunshine, *REJECTED[2])
    communities.reject_membership(actor=people["13800000002"], community=sunshine, membership_id=membership.id,
                                  reason=REJECTED[3])
    grandma = communities.create_managed_account(
        actor=people["13800000002"], community=sunshine, display_name=MANAGED[0],
        building=MANAGED[1][0], entrance=MANAGED[1][1], room=MANAGED[1][2], note=MANAGED[2],
    )
    unit = communities.find_unit(sunshine, *MANAGED[1])
    communities.link_owner(actor=people["13800000002"], community=sunshine, unit_id=unit.id, user_id=grandma.id)

    # A second community on the same deployment, with its own admin and units.
    heping_admin = _register("13900000001", "和平社区管理员")
    heping = communities.create_community(
        name="和平社区", slug="heping", description="和平社区：2栋楼。", admin=heping_admin
    )
    communities.import_units(
        actor=heping_admin, community=heping,
        data=io.BytesIO(b"building,unit,room,area\nA,1,101,88.00\nA,1,102,92.50\nB,1,101,120.00\n").read(),
    )
    return (
        f"Loaded {sunshine.name} (/c/{sunshine.slug}/) and {heping.name} (/c/{heping.slug}/). "
        f"Log in as 13800000001 (admin) … 13800000013, password {DEMO_PASSWORD}."
    )

"""The demo community 阳光社区: units, people in every role, and sample content.

Everything is made through the services, so the demo also shows a realistic audit log.
Later capabilities extend ``load_demo`` with their own sample content.
"""

from __future__ import annotations

import io
from decimal import Decimal

from flask_babel import force_locale

from .accounts import services as accounts
from .accounts.models import User
from .agenda import services as agenda
from .attachments.demo import add_parking_evidence
from .communities import services as communities
from .communities.models import Community, Role
from .discussion import services as discussion
from .review import services as review

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


def _join(user: User, community: Community, building: str, entrance: str, room: str, note: str = "",
          not_listed: bool = False):
    return communities.request_membership(
        actor=user, community=community, building=building, entrance=entrance, room=room, note=note,
        not_listed=not_listed,  # issue 19: a unit outside the register is asked for explicitly
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
    membership = _join(rejected, sunshine, *REJECTED[2], not_listed=True)
    communities.reject_membership(actor=people["13800000002"], community=sunshine, membership_id=membership.id,
                                  reason=REJECTED[3])
    grandma = communities.create_managed_account(
        actor=people["13800000002"], community=sunshine, display_name=MANAGED[0],
        building=MANAGED[1][0], entrance=MANAGED[1][1], room=MANAGED[1][2], note=MANAGED[2],
    )
    unit = communities.find_unit(sunshine, *MANAGED[1])
    communities.link_owner(actor=people["13800000002"], community=sunshine, unit_id=unit.id, user_id=grandma.id)

    people["grandma"] = grandma
    _demo_register(sunshine, people)
    _demo_agenda(sunshine, people)
    _demo_history(sunshine, people)
    with force_locale("zh_CN"):
        _demo_dog_draft(sunshine, people)
    _demo_votes(sunshine, people)
    _demo_next_meeting(sunshine, people)
    _demo_staff_for_grandma(sunshine, people)

    # A second community on the same deployment, with its own admin and units.
    heping_admin = _register("13900000001", "和平社区管理员")
    heping = communities.create_community(
        name="和平社区", slug="heping", description="和平社区：2栋楼。", admin=heping_admin
    )
    communities.import_units(
        actor=heping_admin, community=heping,
        data=io.BytesIO(b"building,unit,room,area\nA,1,101,88.00\nA,1,102,92.50\nB,1,101,120.00\n").read(),
    )
    _demo_consents()  # issue 20
    return (
        f"Loaded {sunshine.name} (/c/{sunshine.slug}/) and {heping.name} (/c/{heping.slug}/). "
        f"Log in as 13800000001 (admin) … 13800000013, password {DEMO_PASSWORD}."
    )


# ---- register: owners without accounts, developer units (issue 17) ----
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["秀英", "桂兰", "建华", "志强", "玉梅", "国庆", "淑珍", "海燕", "卫东", "春生", "丽华", "德明", "凤英", "永刚",
         "晓东", "红梅", "振华", "金花", "立新", "慧敏"]
# Not yet sold: the developer holds them, and they count together as one owner.
DEVELOPER_UNITS = ("4-2-601", "4-2-602")


def _demo_register(community: Community, people: dict[str, User]) -> None:
    """Staff write the unit register's owner names on the units whose owners have no account
    (most of them, as in a real community) and mark the developer's unsold units: every unit
    is on the roll of an owners' vote either way."""
    from sqlalchemy import select

    from .communities.models import Unit
    from .extensions import db

    staff = people["13800000002"]
    units = list(db.session.scalars(select(Unit).where(Unit.community_id == community.id)
                                    .order_by(Unit.building, Unit.entrance, Unit.room)))
    for n, unit in enumerate(units):
        if unit.ownerships:
            continue
        developer = unit.label in DEVELOPER_UNITS
        name = "" if developer else SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[(n * 3) % len(GIVEN)]
        communities.record_unit_holder(actor=staff, community=community, unit_id=unit.id, owner_name=name,
                                       developer_held=developer)
# ---- end register ----


def _demo_consents() -> None:
    """Issue 20: the demo's people agreed to the privacy notice when they signed up (everyone
    who can log in), so logging in as them goes straight to the app."""
    from .extensions import db
    from .privacy.services import record_consent

    for person in list(db.session.scalars(db.select(User).where(User.is_managed.is_(False)))):
        record_consent(actor=person)


ITEMS = [
    # (author, category, title, body, supporters, status action)
    ("13800000010", "parking", "东侧消防通道旁的空地改为夜间共享停车",
     "小区车位紧张，晚上很多车停在消防通道上。\n\n**建议**：把东门内侧的空地划出 12 个夜间共享车位"
     "（19:00—次日 7:00），白天恢复为活动场地。\n\n- 需要画线和安装 2 块指示牌\n- 费用从公共收益中支出",
     ["13800000011", "13800000012", "13800000013", "resident@example.com", "13800000003"], None),
    ("13800000012", "conventions", "制定《阳光社区文明养犬公约》",
     "最近几次有大型犬未牵绳在儿童游乐区附近活动。建议大家一起制定养犬公约：遛狗牵绳、及时清理粪便、"
     "早晚高峰避开游乐区。", ["13800000010", "13800000011"], None),
    ("13800000011", "environment", "垃圾分类投放点增加洗手池",
     "投放厨余垃圾后没有地方洗手，建议在 2 号楼和 4 号楼投放点各加一个洗手池。", ["13800000013"], None),
    ("13800000013", "safety", "3号楼楼道灯经常不亮", "晚上老人上下楼很危险，希望尽快检修并改成声控灯。",
     [], "reject"),
    ("resident@example.com", "facilities", "Add a bench near the north gate",
     "Older neighbours wait for the bus at the north gate. A bench in the shade would help.", [], None),
]


def _demo_agenda(community: Community, people: dict[str, User]) -> None:
    community.support_threshold = 5
    cats = {c.key: c for c in agenda.categories(community)}
    staff = people["13800000002"]
    items = []
    for author_key, cat, title, body, supporters, action in ITEMS:
        author = people[author_key]
        item = agenda.save_draft(actor=author, community=community, title=title, body=body,
                                 category_id=cats[cat].id)
        agenda.submit_item(actor=author, community=community, item_id=item.id)
        for key in supporters:
            agenda.support_item(actor=people[key], community=community, item_id=item.id)
        if action == "reject":
            agenda.reject_item(actor=staff, community=community, item_id=item.id,
                               reason="楼道照明属于物业日常维修，已转物业处理（工单 2026-118），不需要上会表决。")
        items.append(item)
    draft_author = people["13800000011"]
    agenda.save_draft(actor=draft_author, community=community, title="电动车充电桩收费标准（草稿）",
                      body="还在整理各小区的收费对比……", category_id=cats["facilities"].id)

    parking = items[0]
    c1 = discussion.post_comment(actor=people["13800000011"], community=community, item_id=parking.id,
                                 body="赞成。晚上消防通道被堵太危险了。", stance="for")
    c2 = discussion.post_comment(actor=people["13800000013"], community=community, item_id=parking.id,
                                 body="租户能不能也用这些车位？", stance="question")
    discussion.post_comment(actor=people["13800000010"], community=community, item_id=parking.id,
                            body="@张伟 可以的，按先到先停，不区分业主和租户。", stance=None, parent_id=c2.id)
    discussion.post_comment(actor=people["13800000012"], community=community, item_id=parking.id,
                            body="白天孩子们在那里玩，**早上 7 点**前一定要把车开走。", stance="neutral",
                            parent_id=c1.id)
    discussion.post_comment(actor=people["13800000004"], community=community, item_id=parking.id,
                            body="从消防角度看，车位与消防通道之间要留出至少 4 米。", stance="neutral")
    discussion.post_comment(actor=people["resident@example.com"], community=community, item_id=parking.id,
                            body="I support this, as long as the night lighting is improved too.", stance="for")
    # --- issue 18: moderation — one comment flagged by a neighbour and hidden by staff with a reason.
    rude = discussion.post_comment(actor=people["13800000013"], community=community, item_id=parking.id,
                                   body="3 栋那几家天天乱停车，门牌号我都记下了，谁再停就把他家电话贴出来！",
                                   stance="against")
    discussion.flag_comment(actor=people["13800000012"], community=community, comment_id=rude.id,
                            reason="要公开别人的电话号码")
    discussion.hide_comment(actor=people["13800000002"], community=community, comment_id=rude.id,
                            reason="涉及他人隐私（电话号码），请就事论事。")
    # --- end issue 18
    _demo_reviews(community, people, parking)


def _demo_reviews(community: Community, people: dict[str, User], parking) -> None:
    from datetime import timedelta

    from .timeutil import utcnow

    chair, expert = people["13800000003"], people["13800000004"]
    due = utcnow().date() + timedelta(days=10)
    (parking_request,) = review.request_review(
        actor=chair, community=community, item_id=parking.id, reviewer_ids=[expert.id],
        question="夜间停车是否影响消防通道的通行宽度？需要哪些安全措施？", due_on=due)
    expert_review = review.submit_review(
        actor=expert, community=community, request_id=parking_request.id, verdict="conditions",
        body="可行，但有两个条件：\n\n1. 车位外沿与消防通道保持 **4 米**以上净宽；\n2. 每晚 22:00 由保安巡查一次。",
        passages="把东门内侧的空地划出 12 个夜间共享车位")
    # Evidence (issue 21): a site plan and a photo on the item, the survey report on the review.
    add_parking_evidence(community=community, author=people["13800000010"], expert=expert, item=parking,
                         expert_review=expert_review)



def _demo_history(community: Community, people: dict[str, User]) -> None:
    """Decisions of 2025 and 2026 with their resolutions, made through the real services with
    the clock set back: a parking plan chosen by ranked choice, a dog-walking convention under
    the art. 278 major-matter preset, a rejected measure, a correction, and implementation
    reports (one resolution stalled)."""
    from datetime import datetime, timedelta

    from .records import services as records
    from .timeutil import local_to_utc, travel_to
    from .voting import services as voting
    from .voting.services import MeasureDraft

    staff, chair = people["13800000002"], people["13800000003"]
    cats = {c.key: c for c in agenda.categories(community)}
    voters = [people[k] for k in ("13800000003", "13800000004", "13800000005", "13800000010", "13800000011",
                                  "13800000012", "13800000013", "resident@example.com")]

    def at(*when: int) -> datetime:
        return local_to_utc(datetime(*when))

    def decided(author: str, category: str, title: str, body: str, when: datetime, close: datetime, *,
                ballots, by_chair: bool = True, **rules):
        with travel_to(when):
            item = agenda.save_draft(actor=people[author], community=community, title=title, body=body,
                                     category_id=cats[category].id)
            agenda.submit_item(actor=people[author], community=community, item_id=item.id)
            agenda.accept_item(actor=staff, community=community, item_id=item.id)
        with travel_to(when + timedelta(days=14)):
            measure = voting.create_measure(actor=chair, community=community, item_id=item.id,
                                            draft=MeasureDraft(closes_at=close, **rules))
            voting.open_measure(actor=chair, community=community, measure_id=measure.id)
            for who, content in ballots:
                if who is people["grandma"]:
                    voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id,
                                              voter_id=who.id, content=content)
                else:
                    voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content=content)
        if by_chair:
            with travel_to(close - timedelta(minutes=5)):
                voting.close_measure(actor=chair, community=community, measure_id=measure.id)
        else:  # nobody closed it: the app did, at its closing time
            with travel_to(close + timedelta(seconds=30)):
                voting.close_due_measures()
        return records.resolution_of(measure)

    def report(resolution, when: datetime, status: str, percent: int, note: str) -> None:
        with travel_to(when):
            records.post_update(actor=staff, community=community, seq=resolution.seq, status=status,
                                percent=percent, note=note, on_date=None)

    parking = _demo_parking_2025(community, people, at)
    report(parking, at(2025, 5, 10, 10), "in_progress", 30, "已与写字楼物业签订夜间租用协议（草案）。")
    report(parking, at(2025, 6, 15, 10), "in_progress", 70, "地面车位画线完成 16 个，指示牌已订购。")
    report(parking, at(2025, 7, 30, 10), "done", 100, "两部分都已启用，夜间车位共 46 个。")

    owners = [people[k] for k in ("13800000003", "13800000010", "13800000011", "13800000012",
                                  "resident@example.com")] + [people["grandma"]]
    with force_locale("zh_CN"):  # the questions and notes the services write are in the community's language
        dogs = _demo_dog_convention(community, people, owners, at)
    report(dogs, at(2025, 6, 20, 10), "done", 100, "公约已在各楼栋公告栏张贴，并发到业主群。")

    decided("13800000013", "facilities", "快递柜超时收费", "快递柜运营方提出超时收费，请大家表决是否同意。",
            at(2025, 9, 1, 19), at(2025, 9, 25, 20), question="是否同意快递柜超时收费（每 12 小时 0.5 元）？",
            ballots=[(who, {"choice": c}) for who, c in zip(voters, ["yes", "no", "no", "no", "no", "yes", "no",
                                                                        "abstain"], strict=True)])
    with travel_to(at(2025, 10, 9, 9)):
        records.write_correction(
            actor=staff, community=community, seq=parking.seq,
            text=f"第 {parking.number} 号决议的表决事项写作“地面划线增加 20 个车位”，公示的方案原文为“增加 16 个车位”"
                 "（消防间距限制）。表决结果不受影响。")

    mats = _demo_past_meeting(community, people, at)
    report(mats, at(2026, 4, 20, 10), "in_progress", 40, "已询价三家供应商，等待物业报价审批。")


def _demo_parking_2025(community: Community, people: dict[str, User], at):
    """The 2025 shared-parking plan: an owners' vote under Civil Code art. 278 (ordinary matter),
    roll call, counted over the whole unit register. Five owners voted online; staff collected
    the other sheets door to door and entered them (钱奶奶's among them). About 70 of the 95
    owners (96 units; 王阿姨 holds two, the developer's two unsold units count as one) took part."""
    from datetime import timedelta

    from .records import services as records
    from .timeutil import travel_to
    from .voting import services as voting
    from .voting.services import MeasureDraft

    staff, chair = people["13800000002"], people["13800000003"]
    cats = {c.key: c for c in agenda.categories(community)}
    with travel_to(at(2025, 3, 20, 19)):
        item = agenda.save_draft(
            actor=people["13800000011"], community=community, title="2025 年共享停车方案",
            body="夜间车位不够。物业和业委会建议：地面划线增加 20 个车位，并夜间租用隔壁写字楼车位。"
                 "这是改变共有部分用途以外的共同管理事项，按《民法典》第二百七十八条一般事项表决。",
            category_id=cats["parking"].id)
        agenda.submit_item(actor=people["13800000011"], community=community, item_id=item.id)
        agenda.accept_item(actor=staff, community=community, item_id=item.id)
    with travel_to(at(2025, 4, 3, 19)):
        measure = voting.create_measure(actor=chair, community=community, item_id=item.id, draft=MeasureDraft(
            question="是否同意共享停车方案（地面划线增加 20 个车位，夜间租用写字楼车位）？",
            preset="art278_ordinary", secret=False, closes_at=at(2025, 4, 20, 20)))
        voting.open_measure(actor=chair, community=community, measure_id=measure.id)
        for key, choice in (("13800000003", "yes"), ("13800000010", "yes"), ("13800000011", "yes"),
                            ("13800000012", "no"), ("resident@example.com", "yes")):
            voting.cast_ballot(actor=people[key], community=community, measure_id=measure.id,
                               content={"choice": choice})
    # Sheets printed for every unit that had not voted, carried door to door over two weekends,
    # and each returned one entered twice: by 社工小林, then by 周主任.
    from .voting import sheets

    admin = people["13800000001"]
    with travel_to(at(2025, 4, 5, 9)):
        issued = sheets.issue_sheets(actor=staff, community=community, measure_id=measure.id)
    pattern = "yyynyyyayyynyyyy"  # about three in four agree
    returned = [s for s in issued if not s.place.developer][:65]
    with travel_to(at(2025, 4, 12, 10)):
        for n, sheet in enumerate(issued):
            status = "returned" if sheet in returned else ("refused" if n % 3 == 0 else "unreachable")
            sheets.record_collection(actor=staff, community=community, measure_id=measure.id, code=sheet.code,
                                     status=status)
    with travel_to(at(2025, 4, 13, 10)):
        for n, sheet in enumerate(returned):
            if sheet.place.names == people["grandma"].display_name:
                content = {"choice": "yes"}
            else:
                content = {"choice": {"y": "yes", "n": "no", "a": "abstain"}[pattern[n % 16]]}
            for clerk in (staff, admin):
                sheets.enter_sheet(actor=clerk, community=community, measure_id=measure.id, code=sheet.code,
                                   content=content)
    with travel_to(at(2025, 4, 5, 9)):
        for key, role in (("13800000011", "monitor"), ("13800000012", "counter")):
            sheets.name_scrutineer(actor=chair, community=community, measure_id=measure.id,
                                   user_id=people[key].id, role=role)
    with travel_to(at(2025, 4, 19, 18)):
        for key in ("13800000011", "13800000012"):
            sheets.sign_count(actor=people[key], community=community, measure_id=measure.id)
    with travel_to(at(2025, 4, 20, 20) - timedelta(minutes=5)):
        voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    return records.resolution_of(measure)


def _demo_dog_draft(community: Community, people: dict[str, User]) -> None:
    """The 2026 convention on keeping dogs amends the 2025 dog-walking convention in force, so its
    draft starts from that text; it is still being drafted: clause comments, an amendment with
    supports, and a legal objection on the clause that sets a fine."""
    from datetime import timedelta

    from sqlalchemy import select

    from .agenda.models import AgendaItem
    from .conventions import services as conventions
    from .extensions import db
    from .timeutil import utcnow

    dogs = db.session.scalar(select(AgendaItem).where(AgendaItem.community_id == community.id,
                                                      AgendaItem.title.startswith("制定《阳光社区文明养犬公约》")))
    adopted = conventions.adopted_conventions(community)[0]
    draft = conventions.revise(actor=people["13800000012"], community=community, convention_id=adopted.id,
                               item_id=dogs.id)
    conventions.save_version(
        actor=people["13800000012"], community=community, convention_id=draft.id, title="阳光社区文明养犬公约",
        note="扩展为养犬公约：增加犬只登记、游乐区和附则", text=DOG_CONVENTION_2026)
    clauses = {c["text"][:6]: c["key"] for c in conventions.current_clauses(draft)}
    discussion.post_comment(actor=people["13800000013"], community=community, item_id=dogs.id,
                            body="反对强制规定时间段，上班族只能早晚遛狗。", stance="against",
                            clause_key=clauses["早晚高峰时段"])
    discussion.post_comment(actor=people["13800000010"], community=community, item_id=dogs.id,
                            body="牵绳和清理粪便应该是底线。", stance="for", clause_key=clauses["出门遛狗必须"])
    discussion.post_comment(actor=people["13800000011"], community=community, item_id=dogs.id,
                            body="罚款谁来收？物业没有这个权力吧。", stance="question",
                            clause_key=clauses["违反本公约的"])
    fine = conventions.propose_amendment(
        actor=people["13800000010"], community=community, convention_id=draft.id, clause_key=clauses["违反本公约的"],
        kind="replace", text="违反本公约的，由物业提醒，屡次不改的在公告栏公示。",
        reason="社区公约不能设定罚款，改为提醒和公示。")
    for key in ("13800000011", "13800000013"):
        conventions.support_amendment(actor=people[key], community=community, amendment_id=fine.id)
    conventions.propose_amendment(
        actor=people["13800000013"], community=community, convention_id=draft.id,
        clause_key=clauses["早晚高峰时段"], kind="delete", reason="上班族只能早晚遛狗，这条做不到。")
    chair, lawyer = people["13800000003"], people["13800000005"]
    due = utcnow().date() + timedelta(days=10)
    fine_clause = clauses["违反本公约的"]
    agenda.accept_item(actor=people["13800000002"], community=community, item_id=dogs.id)
    (dogs_request,) = review.request_review(
        actor=chair, community=community, item_id=dogs.id, reviewer_ids=[lawyer.id],
        question="公约中的罚款条款是否合法？", due_on=due)
    review.submit_review(
        actor=lawyer, community=community, request_id=dogs_request.id, verdict="legal_objection",
        body="社区公约不能设定罚款。建议把“罚款 200 元”改为“由物业提醒并在公告栏公示”。",
        passages="违者罚款 200 元", clause_key=fine_clause)


DOG_CONVENTION_2025 = """# 第一章 总则
为了让养犬家庭和其他居民和睦相处，制定本公约。
本公约适用于阳光社区全体居民。
# 第二章 文明遛狗
出门遛狗牵绳，绳长不超过2米。
随手清理犬只粪便。
晚上十点以后不在楼道内遛狗。"""

DOG_CONVENTION_2026 = """# 第一章 总则
为了让养犬家庭和其他居民和睦相处，制定本公约。
本公约适用于阳光社区全体居民。
# 第二章 犬只登记
养犬家庭应在物业登记犬只品种和疫苗接种情况。
# 第三章 文明遛狗
出门遛狗必须牵绳，绳长不超过1.5米。
随手清理犬只粪便。
电梯内抱起小型犬，或让其他乘客先行。
早晚高峰时段（7:00—9:00、17:00—19:00）不在儿童游乐区遛狗。
# 第四章 附则
违反本公约的，罚款200元。"""


def _demo_dog_convention(community: Community, people: dict[str, User], owners: list[User], at):
    """The 2025 dog-walking convention, through the conventions services with the clock set
    back: drafted by an author and a co-author (three versions), one amendment taken into the
    draft, two voted on (one adopted, one rejected), then the final vote; returns its
    resolution. The adopted text is the one in force that the 2026 draft amends."""
    from datetime import timedelta

    from .conventions import services as conventions
    from .records import services as records
    from .timeutil import travel_to
    from .voting import services as voting

    staff, chair = people["13800000002"], people["13800000003"]
    author, coauthor = people["13800000012"], people["13800000010"]
    cats = {c.key: c for c in agenda.categories(community)}
    with travel_to(at(2025, 4, 20, 19)):
        item = agenda.save_draft(actor=author, community=community, title="《阳光社区文明遛狗公约》（2025 年版）",
                                 body="把大家在楼道群里讨论的遛狗规矩写成公约，请逐条提意见。",
                                 category_id=cats["conventions"].id)
        agenda.submit_item(actor=author, community=community, item_id=item.id)
        draft = conventions.start_convention(actor=author, community=community, item_id=item.id,
                                             title="阳光社区文明遛狗公约", text=DOG_CONVENTION_2025)
        conventions.add_coauthor(actor=author, community=community, convention_id=draft.id,
                                 name=coauthor.display_name)
    with travel_to(at(2025, 4, 22, 20)):
        conventions.save_version(actor=coauthor, community=community, convention_id=draft.id,
                                 note="补充：清理粪便要装袋",
                                 text=DOG_CONVENTION_2025.replace(
                                     "随手清理犬只粪便。", "随手清理犬只粪便，装袋后投入其他垃圾桶。"))
    clause = {c["text"][:4]: c["key"] for c in conventions.current_clauses(draft)}
    with travel_to(at(2025, 4, 24, 19)):
        discussion.post_comment(actor=people["13800000013"], community=community, item_id=item.id,
                                body="2 米的绳还是太长，小孩会害怕。", stance="against", clause_key=clause["出门遛狗"])
        discussion.post_comment(actor=people["13800000011"], community=community, item_id=item.id,
                                body="晚上十点以后楼道里狗叫确实吵。", stance="for", clause_key=clause["晚上十点"])
        elevator = conventions.propose_amendment(
            actor=people["13800000013"], community=community, convention_id=draft.id, clause_key=clause["随手清理"],
            kind="insert_after", text="电梯内抱起小型犬，或让其他乘客先行。", reason="电梯里最容易吓到老人和孩子。")
        leash = conventions.propose_amendment(
            actor=people["13800000011"], community=community, convention_id=draft.id, clause_key=clause["出门遛狗"],
            kind="replace", text="出门遛狗必须牵绳，绳长不超过1.5米。", reason="与市里的养犬管理规定一致。")
        night = conventions.propose_amendment(
            actor=people["resident@example.com"], community=community, convention_id=draft.id,
            clause_key=clause["晚上十点"], kind="delete", reason="Some of us work late; this rule is too strict.")
        for key in ("13800000003", "13800000004", "13800000013"):
            conventions.support_amendment(actor=people[key], community=community, amendment_id=leash.id)
    with travel_to(at(2025, 4, 26, 9)):
        conventions.accept_amendment(actor=author, community=community, amendment_id=elevator.id)
    with travel_to(at(2025, 5, 6, 19)):
        agenda.accept_item(actor=staff, community=community, item_id=item.id)
        conventions.freeze(actor=chair, community=community, convention_id=draft.id)
        conventions.open_votes(actor=chair, community=community, convention_id=draft.id, plan=conventions.VotePlan(
            mode="clauses", preset="residents_households", closes_at=at(2025, 5, 20, 20),
            effective_on=at(2025, 6, 15, 12).date()))
    votes = {v.amendment_id: m for v, m in conventions.votes_of(draft) if v.amendment_id}
    # A 居民公约 binds every resident: it is adopted by a residents' meeting of household
    # representatives (tenants such as 张伟 too), most of them on sheets collected by staff.
    online = owners + [people["13800000013"]]
    with travel_to(at(2025, 5, 10, 19)):
        for who, choice in zip(online, ["yes", "yes", "yes", "yes", "no", "yes", "yes"], strict=True):
            _demo_ballot(voting, community, staff, people, votes[leash.id], who, choice)
        _demo_household_sheets(voting, community, staff, votes[leash.id], 52, "yyyynyya")
        for who, choice in zip(online, ["no", "no", "yes", "no", "yes", "no", "yes"], strict=True):
            _demo_ballot(voting, community, staff, people, votes[night.id], who, choice)
        _demo_household_sheets(voting, community, staff, votes[night.id], 52, "nnynnann")
    with travel_to(at(2025, 5, 20, 19, 55)):
        for measure in votes.values():
            voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    with travel_to(at(2025, 5, 21, 9)):
        final = conventions.open_final_vote(actor=chair, community=community, convention_id=draft.id,
                                            closes_at=at(2025, 6, 8, 20))
        for who in owners[:5] + [people["13800000013"]]:
            _demo_ballot(voting, community, staff, people, final, who, "yes")
        _demo_ballot(voting, community, staff, people, final, owners[5], "abstain")
        _demo_household_sheets(voting, community, staff, final, 50, "yyyyyyny")
    with travel_to(at(2025, 6, 8, 20) + timedelta(seconds=30)):  # nobody closed it: the app did
        voting.close_due_measures()
    return records.resolution_of(final)


def _demo_household_sheets(voting, community, staff, measure, count: int, pattern: str) -> None:
    """Staff enter ``count`` households' paper sheets (choices following ``pattern``)."""
    words = {"y": "yes", "n": "no", "a": "abstain"}
    for n, place in enumerate(voting.places_waiting(measure)[:count]):
        voting.enter_place_ballot(actor=staff, community=community, measure_id=measure.id, register_voter_id=place.id,
                                  content={"choice": words[pattern[n % len(pattern)]]})


def _demo_ballot(voting, community, staff, people, measure, who, choice: str) -> None:
    if who is people["grandma"]:  # no phone: staff enter her paper ballot
        voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id, voter_id=who.id,
                                  content={"choice": choice})
    else:
        voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content={"choice": choice})


def _demo_past_meeting(community: Community, people: dict[str, User], at):
    """The March 2026 residents' council, run through the meeting services with the clock set
    back: check-in by QR code and by staff, a speakers' queue, a vote opened in the meeting,
    and published minutes. Returns the resolution of its vote."""
    from datetime import timedelta

    from .meetings import services as meetings
    from .records import services as records
    from .timeutil import travel_to
    from .voting import services as voting
    from .voting.services import MeasureDraft

    staff, chair = people["13800000002"], people["13800000003"]
    cats = {c.key: c for c in agenda.categories(community)}
    start = at(2026, 3, 28, 19)
    with travel_to(at(2026, 3, 2, 19)):
        item = agenda.save_draft(actor=people["13800000010"], community=community, title="儿童游乐区更换地面软垫",
                                 body="旧软垫开裂，孩子容易绊倒。建议用公共收益更换。",
                                 category_id=cats["facilities"].id)
        agenda.submit_item(actor=people["13800000010"], community=community, item_id=item.id)
        agenda.accept_item(actor=staff, community=community, item_id=item.id)
    with travel_to(at(2026, 3, 10, 10)):
        measure = voting.create_measure(actor=chair, community=community, item_id=item.id, draft=MeasureDraft(
            question="是否同意用公共收益更换儿童游乐区地面软垫？", closes_at=start + timedelta(hours=2)))
        meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
            title="2026 年 3 月居民议事会", mode="hybrid", place="社区活动中心二楼会议室", starts_at=start,
            ends_at=start + timedelta(hours=2)))
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=20)
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
        for key in ("13800000010", "13800000011", "13800000012"):
            meetings.attend(actor=people[key], community=community, meeting_id=meeting.id, on=True)
    room = [people[k] for k in ("13800000003", "13800000004", "13800000010", "13800000011", "13800000012")]
    with travel_to(start - timedelta(minutes=10)):
        for who in room:
            meetings.check_in_with_code(actor=who, community=community, meeting_id=meeting.id,
                                        token=meetings.checkin_code(meeting))  # issue 18: rotating code
        meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id,
                                 user_id=people["grandma"].id)
    with travel_to(start):
        meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
        meetings.join_online(actor=people["resident@example.com"], community=community, meeting_id=meeting.id)
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
        meetings.request_to_speak(actor=people["13800000010"], community=community, meeting_id=meeting.id)
        meetings.request_to_speak(actor=people["resident@example.com"], community=community, meeting_id=meeting.id)
        meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="物业周经理")
    for minute, _who in ((2, "王阿姨"), (5, "Anna"), (9, "物业周经理")):
        with travel_to(start + timedelta(minutes=minute)):
            meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    with travel_to(start + timedelta(minutes=13, seconds=40)):
        meetings.finish_speaker(actor=chair, community=community, meeting_id=meeting.id)
        meetings.add_note(actor=chair, community=community, meeting_id=meeting.id,
                          text="物业表示三家报价在 2.8—3.5 万元之间，施工约需一周，可安排在周末。")
        meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
        for who, choice in zip(room + [people["resident@example.com"]], ["yes", "yes", "yes", "no", "yes", "yes"],
                               strict=True):
            voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content={"choice": choice})
        voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id,
                                  voter_id=people["grandma"].id, content={"choice": "yes"})
    with travel_to(start + timedelta(minutes=19)):
        meetings.close_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    with travel_to(start + timedelta(minutes=25)):
        meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    with travel_to(start + timedelta(days=1)):
        meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id,
                              text=meeting.minutes_text + "\n散会。下次议事会另行通知。\n")
        meetings.publish_minutes(actor=chair, community=community, meeting_id=meeting.id)
    return records.resolution_of(measure)


def _demo_next_meeting(community: Community, people: dict[str, User]) -> None:
    """An upcoming meeting with the parking plan, the bench and the dog convention."""
    from datetime import datetime, timedelta

    from sqlalchemy import select

    from .agenda.models import AgendaItem
    from .extensions import db
    from .meetings import services as meetings
    from .timeutil import local_to_utc, local_today

    chair = people["13800000003"]
    day = local_today() + timedelta(days=7)
    start = local_to_utc(datetime(day.year, day.month, day.day, 19, 0))
    meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
        title=f"{day.month} 月居民议事会", mode="hybrid", place="社区活动中心二楼会议室", starts_at=start,
        ends_at=start + timedelta(hours=2)))
    for title, minutes in (("东侧消防通道", 30), ("制定《阳光社区文明养犬公约》", 30), ("Add a bench", 10)):
        item = db.session.scalar(select(AgendaItem).where(AgendaItem.community_id == community.id,
                                                         AgendaItem.title.startswith(title)))
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id,
                               minutes=minutes)
    meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    for key in ("13800000010", "13800000011", "resident@example.com"):
        meetings.attend(actor=people[key], community=community, meeting_id=meeting.id, on=True)


def _demo_votes(community: Community, people: dict[str, User]) -> None:
    """Open and closed measures of every kind, including both art. 278 presets."""
    from datetime import timedelta

    from sqlalchemy import select

    from .agenda.models import AgendaItem
    from .extensions import db
    from .timeutil import utcnow
    from .voting import services as voting
    from .voting.services import MeasureDraft

    def item(title_start: str) -> AgendaItem:
        return db.session.scalar(select(AgendaItem).where(
            AgendaItem.community_id == community.id, AgendaItem.title.startswith(title_start)))

    chair, staff = people["13800000003"], people["13800000002"]
    owners = [people[k] for k in ("13800000003", "13800000010", "13800000011", "13800000012",
                                  "resident@example.com")] + [people["grandma"]]
    week = utcnow() + timedelta(days=7)

    def measure(target: AgendaItem, **rules):
        created = voting.create_measure(actor=chair, community=community, item_id=target.id,
                                        draft=MeasureDraft(closes_at=week, **rules))
        voting.open_measure(actor=chair, community=community, measure_id=created.id)
        return created

    def vote(who: User, target, content: dict) -> None:
        voting.cast_ballot(actor=who, community=community, measure_id=target.id, content=content)

    # Parking: an owners' vote under art. 278 (ordinary matter), open, roll call; and a ranked
    # choice of hours, closed.
    parking = item("东侧消防通道")
    plan = measure(parking, question="是否同意把东门内侧空地划为 12 个夜间共享车位？", preset="art278_ordinary",
                   secret=False)
    vote(owners[1], plan, {"choice": "yes"})
    vote(owners[2], plan, {"choice": "yes"})
    vote(owners[3], plan, {"choice": "no"})
    voting.enter_paper_ballot(actor=staff, community=community, measure_id=plan.id, voter_id=owners[5].id,
                              content={"choice": "yes"})
    # Sheets are printed and going door to door: some delivered, one back and entered once so far.
    from .voting import sheets

    out = sheets.issue_sheets(actor=staff, community=community, measure_id=plan.id)
    for sheet, status in zip(out[:6], ["delivered", "delivered", "unreachable", "delivered", "refused", "returned"],
                             strict=True):
        sheets.record_collection(actor=staff, community=community, measure_id=plan.id, code=sheet.code,
                                 status=status)
    sheets.enter_sheet(actor=staff, community=community, measure_id=plan.id, code=out[5].code,
                       content={"choice": "yes"})
    hours = measure(parking, kind="ranked", question="夜间共享车位的时间段选哪一个？",
                    options=["19:00—次日 7:00", "20:00—次日 7:30", "21:00—次日 6:30", "全天开放"])
    rankings = [["A", "B"], ["B", "A", "C"], ["C", "B"], ["A"], ["D", "C", "B"], ["B", "C"], ["A", "B", "C"],
                ["C", "A"]]
    voters = [people[k] for k in ("13800000003", "13800000004", "13800000005", "13800000010", "13800000011",
                                  "13800000012", "13800000013", "resident@example.com")]
    for who, ranking in zip(voters, rankings, strict=True):
        vote(who, hours, {"ranking": ranking})
    voting.close_measure(actor=chair, community=community, measure_id=hours.id)

    # Hand-washing sinks: accepted, then decided by four closed measures.
    sinks = item("垃圾分类投放点")
    agenda.accept_item(actor=staff, community=community, item_id=sinks.id)
    where = measure(sinks, kind="single", question="洗手池装在哪里？", threshold="plurality",
                    options=["2 号楼投放点", "4 号楼投放点", "两处都装"])
    for who, choice in zip(voters, "CCACBCCA", strict=True):
        vote(who, where, {"choice": choice})
    extras = measure(sinks, kind="approval", question="洗手池旁边还需要哪些设施？（可多选）",
                     options=["洗手液", "挂钩", "照明灯", "遮雨棚"])
    for who, chosen in zip(voters, [["A", "C"], ["A"], ["A", "B", "C"], [], ["C", "D"], ["A", "D"], ["A"], ["C"]],
                           strict=True):
        vote(who, extras, {"choices": chosen})
    fund = measure(sinks, question="是否同意使用专项维修资金支付安装费用（约 6000 元）？", preset="art278_major",
                   secret=False)  # issue 18: area-weighted votes are roll-call (areas would name the flats)
    for who, choice in zip(owners, ["yes", "yes", "yes", "no", "yes", "abstain"], strict=True):
        vote(who, fund, {"choice": choice})
    meeting = measure(sinks, question="是否同意由物业负责日常清洁？")
    voting.record_show_of_hands(actor=chair, community=community, measure_id=meeting.id,
                                counts={"yes": 7, "no": 1, "abstain": 1}, present=9, note="居民议事会现场举手")
    for done in (where, extras, fund):
        voting.close_measure(actor=chair, community=community, measure_id=done.id)

    # The bench: open, secret, results live; one vote by proxy.
    bench = item("Add a bench")
    agenda.accept_item(actor=staff, community=community, item_id=bench.id)
    seat = measure(bench, question="是否同意在北门公交站旁安装一张带遮阳的长椅？", results_live=True)
    vote(people["resident@example.com"], seat, {"choice": "yes"})
    vote(people["13800000013"], seat, {"choice": "yes"})
    vote(people["13800000011"], seat, {"choice": "abstain"})
    voting.grant_proxy(actor=people["13800000012"], community=community, measure_id=seat.id,
                       delegate_id=people["13800000010"].id)
    voting.cast_ballot(actor=people["13800000010"], community=community, measure_id=seat.id,
                       content={"choice": "yes"}, for_voter_id=people["13800000012"].id)

    # The dog convention is still being drafted (an amendment waits, a legal objection is open).



# ---------------------------------------------------------------- staff act for 钱奶奶 (issue 17)


def _demo_staff_for_grandma(community: Community, people: dict[str, User]) -> None:
    """社工小林 acts for 钱奶奶, who has no phone: her own item (which a neighbour supports), her
    comment on the parking plan and her reply to the upcoming meeting, each shown as entered by
    staff and in the audit log."""
    from sqlalchemy import select

    from .agenda.models import AgendaItem
    from .extensions import db
    from .meetings import services as meetings
    from .meetings.models import Meeting, MeetingStatus

    staff, grandma = people["13800000002"], people["grandma"]
    cats = {c.key: c for c in agenda.categories(community)}
    item = agenda.save_draft(actor=staff, community=community, title="3号楼楼道加装扶手",
                             body="我住3号楼，腿脚不好，上下楼要扶着墙。希望楼道两边装上扶手，老人和孩子都方便。",
                             category_id=cats["facilities"].id, on_behalf_of=grandma.id)
    agenda.submit_item(actor=staff, community=community, item_id=item.id, on_behalf_of=grandma.id)
    agenda.support_item(actor=people["13800000010"], community=community, item_id=item.id)
    parking = db.session.scalar(select(AgendaItem).where(AgendaItem.community_id == community.id,
                                                        AgendaItem.title.startswith("东侧消防通道")))
    discussion.post_comment(actor=staff, community=community, item_id=parking.id, stance="for",
                            body="晚上车停在通道上，我拄着拐杖过不去。赞成划车位。", on_behalf_of=grandma.id)
    upcoming = db.session.scalar(select(Meeting).where(Meeting.community_id == community.id,
                                                      Meeting.status == MeetingStatus.SCHEDULED))
    if upcoming is not None:
        meetings.attend(actor=staff, community=community, meeting_id=upcoming.id, on=True, on_behalf_of=grandma.id)

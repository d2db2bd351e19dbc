"""Member, check-in and owner-link lists: Chinese names in pinyin order, found by name, pinyin,
the last digits of the phone or the unit; the owner-link page is a searchable picker."""

from __future__ import annotations

from deliberation.communities import services as communities
from deliberation.communities.models import Membership, Ownership, Role
from deliberation.extensions import db
from tests.factories import admin_of, make_community, make_member, make_unit, make_user
from tests.test_meetings import _meeting


def _people(community):
    """Names whose code-point order (张 < 李 < 王 < 赵 by code point is 张 5F20, 李 674E, 王 738B,
    赵 8D75: 张 first) differs from their pinyin order (li, wang, zhang, zhao)."""
    made = {}
    for name, phone in (("张伟", "13800000013"), ("赵小明", "13800000020"), ("王阿姨", "13800000010"),
                        ("李建国", "13800000011"), ("Anna Müller", "resident@example.com")):
        user = make_user(name, contact=phone)
        db.session.add(Membership(community_id=community.id, user_id=user.id, status="verified",
                                  claimed_building="1", claimed_entrance="1", claimed_room="101"))
        made[name] = user
    db.session.commit()
    return made


def test_members_are_in_pinyin_order_not_code_point_order(app):
    community = make_community()
    _people(community)
    names = [u.display_name for u in communities.verified_members(community)]
    chinese = [n for n in names if n in ("张伟", "赵小明", "王阿姨", "李建国")]
    assert chinese == ["李建国", "王阿姨", "张伟", "赵小明"]
    assert sorted(chinese) != chinese  # code-point order would differ
    assert names.index("Anna Müller") < names.index("李建国")  # "anna" before "li"


def test_members_are_found_by_name_pinyin_phone_tail_and_unit(app):
    community = make_community()
    people = _people(community)
    unit = make_unit(community, "1-2-101")
    communities.link_owner(actor=admin_of(community), community=community, unit_id=unit.id,
                           user_id=people["王阿姨"].id)

    def found(query):
        return [u.display_name for u in communities.search_members(community, query)]

    assert found("阿姨") == ["王阿姨"]
    assert found("wang") == ["王阿姨"] and found("WAY") == ["王阿姨"]  # initials of wang a yi
    assert found("0011") == ["李建国"]
    assert found("00") == []  # two digits are too few to mean a phone
    assert found("1-2-101") == ["王阿姨"] and found("1号楼2单元101") == ["王阿姨"]
    assert found("anna") == ["Anna Müller"]
    assert len(found("")) == 6  # with the admin


def test_the_members_page_searches_and_sorts(client, auth):
    community = make_community()
    _people(community)
    auth.login(admin_of(community))
    page = client.get(f"/c/{community.slug}/members?status=verified").get_data(as_text=True)
    page = page[page.index('class="member-list"'):]  # past the search box's example
    assert page.index("李建国") < page.index("王阿姨") < page.index("张伟") < page.index("赵小明")
    found = client.get(f"/c/{community.slug}/members?status=verified&q=zhao").get_data(as_text=True)
    found = found[found.index('class="member-list"'):]
    assert "赵小明" in found and "李建国" not in found


def test_the_check_in_list_is_sorted_and_searchable(client, auth):
    community = make_community()
    _people(community)
    chair = make_member(community, Role.CHAIR, name="陈主持")
    meeting = _meeting(community, chair, items=1)
    auth.login(chair)
    url = f"/c/{community.slug}/meetings/{meeting.id}/attendance"
    page = client.get(url).get_data(as_text=True)
    roster = page[page.index('id="roster"'):]
    assert roster.index("陈主持") < roster.index("李建国") < roster.index("王阿姨") < roster.index("赵小明")
    fragment = client.get(f"{url}?q=0020", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="roster"') and "赵小明" in fragment and "王阿姨" not in fragment


def test_the_owner_link_page_is_a_searchable_picker(client, auth):
    community = make_community()
    people = _people(community)
    unit = make_unit(community, "3-1-501")
    auth.login(admin_of(community))
    url = f"/c/{community.slug}/units/{unit.id}"
    empty = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<select" not in empty and "李建国" not in empty  # no drop-down of every member
    picker = client.get(f"{url}?q=li", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert picker.lstrip().startswith('<div id="owner-picker"') and "李建国" in picker and "王阿姨" not in picker
    missing = client.post(url, data={"q": "li"}, headers={"Accept-Language": "en"})
    assert missing.status_code == 400 and "Please choose a member." in missing.get_data(as_text=True)
    done = client.post(url, data={"q": "li", "user_id": people["李建国"].id})
    assert done.status_code == 303
    assert db.session.query(Ownership).filter_by(unit_id=unit.id, user_id=people["李建国"].id).count() == 1
    # A forged id of someone in another community is refused by the service.
    elsewhere = make_community()
    stranger = make_member(elsewhere)
    forged = client.post(url, data={"q": "x", "user_id": stranger.id})
    assert forged.status_code in (400, 404)
    assert db.session.query(Ownership).filter_by(unit_id=unit.id, user_id=stranger.id).count() == 0

"""Presets counted over the whole unit register: Civil Code art. 278 (every unit on the roll,
with or without an account; an owner of several units once; the developer's units together
once; co-owners share one vote; the roll fixed at opening) and the residents' meeting
(Urban Residents' Committee Organization Law art. 15)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from deliberation.accounts.models import User
from deliberation.communities.models import Community, Membership, MembershipStatus, Role, Unit
from deliberation.errors import Conflict, NotFound
from deliberation.extensions import db
from deliberation.records.services import resolution_of
from deliberation.voting import services as voting
from deliberation.voting.models import RegisterVote, RegisterVoter
from tests.factories import make_community, make_measure, make_member, make_unit, race

YES = {"choice": "yes"}
NO = {"choice": "no"}
ABSTAIN = {"choice": "abstain"}


@pytest.fixture
def estate(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    return community, chair, staff


def _units(community, *areas, building="1"):
    return [make_unit(community, f"{building}-1-{101 + i}", str(a)) for i, a in enumerate(areas)]


def _places(measure):
    return voting.register_places(measure)


def _paper(community, staff, measure, place, content=YES):
    return voting.enter_place_ballot(actor=staff, community=community, measure_id=measure.id,
                                     register_voter_id=place.id, content=content)


def _close(community, chair, measure):
    return voting.close_measure(actor=chair, community=community, measure_id=measure.id)


def test_every_unit_of_the_register_is_on_the_roll_with_or_without_an_account(estate):
    community, chair, _staff = estate
    units = _units(community, *([100] * 10))
    owners = [make_member(community, owns=(u,)) for u in units[:2]]
    units[2].owner_name = "赵大爷"
    db.session.commit()
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    figures = voting.turnout(measure)
    assert (figures.eligible, figures.eligible_area) == (10, Decimal(1000))
    assert "赵大爷" in [p.names for p in _places(measure)]
    for owner in owners:  # every owner with an account agrees: still only 2 of 10 units
        voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    _close(community, chair, measure)
    dm = measure.result["double_majority"]
    assert (dm["owners"], dm["participating_owners"], dm["area"], dm["participating_area"]) == (10, 2, "1000", "200")
    assert measure.result["outcome"] == "no_quorum"
    assert measure.result["register"] == {"voters": 10, "units": 10, "area": "1000", "developer_units": 0}
    # The record stores the register totals it used.
    assert json.loads(resolution_of(measure).canonical)["body"]["result"]["register"]["units"] == 10


def test_participation_of_exactly_two_thirds_is_enough_and_just_below_is_not(estate):
    community, chair, staff = estate
    _units(community, 100, 100, 100)
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    first, second, _third = _places(measure)
    _paper(community, staff, measure, first, YES)
    _paper(community, staff, measure, second, NO)
    _close(community, chair, measure)
    dm = measure.result["double_majority"]
    assert dm["participation_ok"] and (dm["participating_owners"], dm["participating_area"]) == (2, "200")
    # 1 of 2 participating agrees: not more than half.
    assert measure.result["outcome"] == "rejected"

    other = make_community()
    other_chair = make_member(other, Role.CHAIR)
    other_staff = make_member(other, Role.STAFF)
    _units(other, 100, "100.01", 100)  # the two voting units hold 200 of 300.01 m²: below 2/3
    measure = make_measure(other, chair=other_chair, preset="art278_ordinary")
    places = _places(measure)
    _paper(other, other_staff, measure, next(p for p in places if p.area == Decimal(100)))
    _paper(other, other_staff, measure, [p for p in places if p.area == Decimal(100)][1])
    _close(other, other_chair, measure)
    assert measure.result["double_majority"]["participating_owners"] == 2
    assert measure.result["outcome"] == "no_quorum"


def test_an_owner_of_several_units_counts_once_with_all_their_area(estate):
    community, chair, staff = estate
    units = _units(community, 80, 120, 100, 100)
    wang = make_member(community, name="王阿姨", owns=(units[0], units[1]))
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    places = _places(measure)
    assert len(places) == 3 and voting.turnout(measure).eligible_area == Decimal(400)
    wang_place = next(p for p in places if p.names == "王阿姨")
    assert (wang_place.unit_count, wang_place.area) == (2, Decimal(200))
    voting.cast_ballot(actor=wang, community=community, measure_id=measure.id, content=YES)
    _paper(community, staff, measure, places[-1], YES)
    _close(community, chair, measure)
    dm = measure.result["double_majority"]
    assert (dm["owners"], dm["participating_owners"], dm["participating_area"], dm["yes_area"]) == (3, 2, "300", "300")
    assert measure.result["outcome"] == "passed"


def test_units_the_developer_holds_count_together_as_one(estate):
    community, chair, staff = estate
    units = _units(community, 100, 100, 100, 100, 100)
    for unit in units[2:]:
        unit.developer_held = True
    db.session.commit()
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    places = _places(measure)
    assert len(places) == 3
    developer = next(p for p in places if p.developer)
    assert (developer.unit_count, developer.area) == (3, Decimal(300))
    _paper(community, staff, measure, developer, YES)
    _paper(community, staff, measure, places[0], NO)
    _close(community, chair, measure)
    dm = measure.result["double_majority"]
    # 2 of 3 owners (2/3) and 400 of 500 m²: valid; yes = 1 of 2 owners: not more than half.
    assert dm["participation_ok"] and measure.result["outcome"] == "rejected"
    assert measure.result["register"]["developer_units"] == 3


def test_co_owners_share_one_vote_the_first_ballot_counts(estate):
    community, chair, staff = estate
    unit, *_rest = _units(community, 90, 90, 90)
    wife, husband = make_member(community, name="刘芳", owns=(unit,)), make_member(community, name="刘先生", owns=(unit,))
    measure = make_measure(community, chair=chair, preset="art278_ordinary", secret=False)
    assert voting.turnout(measure).eligible == 3
    voting.cast_ballot(actor=wife, community=community, measure_id=measure.id, content=YES)
    assert voting.has_voted(measure, husband.id)
    with pytest.raises(Conflict) as refused:
        voting.cast_ballot(actor=husband, community=community, measure_id=measure.id, content=NO)
    assert "刘芳" in str(refused.value.message)
    place = next(p for p in _places(measure) if p.unit_count and "刘芳" in p.names)
    with pytest.raises(Conflict):  # and no paper sheet for it either
        _paper(community, staff, measure, place, NO)
    assert voting.turnout(measure).cast == 1
    rows = voting.register_roll_call(measure)
    assert [(p.units, b.content if b else None) for p, b, _v in rows][0] == (unit.label, YES)


def test_racing_co_owners_store_one_ballot(app, estate):
    community, chair, _staff = estate
    unit = _units(community, 90)[0]
    owners = [make_member(community, owns=(unit,)) for _ in range(4)]
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    ids = [o.id for o in owners]
    community_id, measure_id = community.id, measure.id
    db.session.remove()

    def cast(user_id):
        def work():
            voting.cast_ballot(actor=db.session.get(User, user_id), community=db.session.get(Community, community_id),
                               measure_id=measure_id, content=YES)
        return work

    outcomes = race(app, [cast(i) for i in ids])
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]
    assert db.session.scalar(select(db.func.count(RegisterVote.id)).where(RegisterVote.measure_id == measure_id)) == 1


def test_a_unit_that_voted_on_paper_cannot_vote_online_and_the_reverse(estate):
    community, chair, staff = estate
    first, second = _units(community, 100, 100)
    li, liu = make_member(community, owns=(first,)), make_member(community, owns=(second,))
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    places = _places(measure)
    _paper(community, staff, measure, places[0])
    with pytest.raises(Conflict) as refused:
        voting.cast_ballot(actor=li, community=community, measure_id=measure.id, content=NO)
    assert "paper" in str(refused.value.message) or "纸质" in str(refused.value.message)
    voting.cast_ballot(actor=liu, community=community, measure_id=measure.id, content=NO)
    with pytest.raises(Conflict):
        _paper(community, staff, measure, places[1])
    # Staff entering a member's paper ballot the old way (by member) is refused the same way.
    with pytest.raises(Conflict):
        voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id, voter_id=liu.id,
                                  content=YES)


def test_a_place_of_another_measure_or_community_is_not_found(estate):
    community, chair, staff = estate
    _units(community, 100)
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    other = make_community()
    _units(other, 100)
    foreign = make_measure(other, chair=make_member(other, Role.CHAIR), preset="art278_ordinary")
    with pytest.raises(NotFound):
        _paper(community, staff, measure, _places(foreign)[0])
    with pytest.raises(NotFound):  # other community's staff, this community's measure
        voting.enter_place_ballot(actor=make_member(other, Role.STAFF), community=other, measure_id=measure.id,
                                  register_voter_id=_places(measure)[0].id, content=YES)


def test_units_added_after_the_vote_opened_do_not_change_its_roll(estate, client):
    community, chair, staff = estate
    _units(community, 100, 100, 100)
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    _units(community, 500, 500, building="9")
    assert voting.turnout(measure).eligible == 3 and voting.turnout(measure).eligible_area == Decimal(300)
    for place in _places(measure)[:2]:
        _paper(community, staff, measure, place)
    page = client.get(f"/c/{community.slug}/measures/{measure.id}").get_data(as_text=True)
    assert "开启表决时" in page  # the page says the roll was fixed at opening
    _close(community, chair, measure)
    assert measure.result["outcome"] == "passed"
    assert measure.result["register"] == {"voters": 3, "units": 3, "area": "300", "developer_units": 0}
    assert db.session.scalar(select(db.func.count(RegisterVoter.id)).where(RegisterVoter.measure_id == measure.id)) == 3


def test_both_denominators_are_stated_in_words(estate, client):
    community, chair, staff = estate
    _units(community, *([100] * 6))
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    for place in _places(measure)[:4]:
        _paper(community, staff, measure, place)
    _close(community, chair, measure)
    client.set_cookie("lang", "zh_CN")
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/results").get_data(as_text=True)
    assert "6 户中 4 户参与（400 m² / 600 m²）" in page
    client.set_cookie("lang", "en")
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/results").get_data(as_text=True)
    assert "4 of 6 owners took part (400 m² of 600 m²)" in page


def test_a_board_recount_gives_the_stored_result(estate):
    community, chair, staff = estate
    units = _units(community, 100, 90, 80, 70)
    units[3].developer_held = True
    db.session.commit()
    measure = make_measure(community, chair=chair, preset="art278_major")
    for place, content in zip(_places(measure), [YES, YES, NO], strict=False):
        _paper(community, staff, measure, place, content)
    _close(community, chair, measure)
    assert voting.recount(voting.board_export(measure)) == measure.result


# ---------------------------------------------------------------- residents' meeting


def _live_in(user, unit):
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    membership.unit_id = unit.id
    db.session.commit()


def test_residents_meeting_of_households_counts_those_present_not_the_votes(estate):
    community, chair, staff = estate
    units = _units(community, 100, 100, 100, 100, 100)
    tenant = make_member(community, name="张伟")  # a tenant, not an owner, represents his household
    _live_in(tenant, units[0])
    measure = make_measure(community, chair=chair, preset="residents_households")
    places = _places(measure)
    assert len(places) == 5 and places[0].names == "张伟"
    voting.cast_ballot(actor=tenant, community=community, measure_id=measure.id, content=YES)
    _paper(community, staff, measure, places[1], YES)
    _paper(community, staff, measure, places[2], ABSTAIN)
    _close(community, chair, measure)
    rm = measure.result["residents_meeting"]
    assert (rm["electorate"], rm["present"], rm["yes"]) == (5, 3, 2)
    assert measure.result["outcome"] == "passed"  # 2 of 3 present: more than half


def test_residents_meeting_needs_more_than_half_present_and_more_than_half_of_them(estate):
    community, chair, staff = estate
    _units(community, 100, 100, 100, 100)
    measure = make_measure(community, chair=chair, preset="residents_households")
    places = _places(measure)
    _paper(community, staff, measure, places[0], YES)
    _paper(community, staff, measure, places[1], YES)
    _close(community, chair, measure)
    assert measure.result["outcome"] == "no_quorum"  # 2 of 4 is not more than half
    measure = make_measure(community, chair=chair, preset="residents_households")
    places = _places(measure)
    for place, content in zip(places, [YES, NO, ABSTAIN], strict=False):
        _paper(community, staff, measure, place, content)
    _close(community, chair, measure)
    # 1 yes of 3 present: of the votes cast (yes and no) it would be half; of those present, too few.
    assert measure.result["residents_meeting"]["quorum_ok"] and measure.result["outcome"] == "rejected"


def test_residents_meeting_of_persons_counts_every_verified_resident(estate):
    community, chair, _staff = estate
    residents = [make_member(community) for _ in range(5)]
    measure = make_measure(community, chair=chair, preset="residents_persons")
    verified = db.session.scalar(select(db.func.count(Membership.id)).where(
        Membership.community_id == community.id, Membership.status == MembershipStatus.VERIFIED))
    assert voting.turnout(measure).eligible == verified >= 5
    for person in residents:
        voting.cast_ballot(actor=person, community=community, measure_id=measure.id, content=YES)
    _close(community, chair, measure)
    assert measure.result["outcome"] == "passed"
    assert measure.result["residents_meeting"]["present"] == 5  # more than half of the 9 verified


def test_opening_an_owners_vote_needs_a_register(estate):
    community, chair, _staff = estate
    from deliberation.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        make_measure(community, chair=chair, preset="art278_ordinary")
    assert db.session.scalar(select(db.func.count(Unit.id)).where(Unit.community_id == community.id)) == 0


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


def test_staff_enter_a_units_paper_sheet_through_the_page(estate, client):
    community, chair, staff = estate
    first, _second = _units(community, 100, 100)
    owner = make_member(community, name="李建国", owns=(first,))
    measure = make_measure(community, chair=chair, preset="art278_ordinary", secret=False)
    place = _places(measure)[0]
    other = make_community()
    _units(other, 100)
    foreign = _places(make_measure(other, chair=make_member(other, Role.CHAIR), preset="art278_ordinary"))[0]
    _login(client, staff)
    base = f"/c/{community.slug}/measures/{measure.id}/paper"
    page = client.get(base).get_data(as_text=True)
    assert "1-1-101" in page and "李建国" in page and "1-1-102" in page
    forged = client.post(base, data={"what": "ballot", "place_id": foreign.id, "choice": "yes"})
    assert forged.status_code == 400 and "请选择这张纸质表决票所属的房屋" in forged.get_data(as_text=True)
    assert 'value="yes" checked' in forged.get_data(as_text=True)  # the choice made is shown again
    check = client.post(base, data={"what": "ballot", "place_id": place.id, "choice": "yes"})
    assert check.status_code == 200 and "1-1-101" in check.get_data(as_text=True)
    done = client.post(base, data={"what": "ballot", "place_id": place.id, "choice": "yes", "confirm": "1"})
    assert done.status_code == 200 and "已为 1-1-101 录入纸质表决票" in done.get_data(as_text=True)
    assert "1-1-101" not in client.get(base).get_data(as_text=True).split("选择房屋")[1].split("</select>")[0]
    again = client.post(base, data={"what": "ballot", "place_id": place.id, "choice": "no", "confirm": "1"})
    assert again.status_code == 400
    # The owner sees that the unit's vote was cast on paper, and cannot vote online.
    client.post("/logout")
    _login(client, owner)
    mine = client.get(f"/c/{community.slug}/measures/{measure.id}").get_data(as_text=True)
    assert "已通过纸质表决票投票" in mine
    refused = client.post(f"/c/{community.slug}/measures/{measure.id}/vote", data={"choice": "no", "confirm": "1"})
    assert refused.status_code == 409 and "纸质表决票" in refused.get_data(as_text=True)


def test_staff_record_an_owners_name_or_the_developer_on_a_unit(estate, client):
    community, chair, staff = estate
    unit = _units(community, 88)[0]
    resident = make_member(community)
    _login(client, resident)
    url = f"/c/{community.slug}/units/{unit.id}/holder"
    assert client.post(url, data={"owner_name": "赵大爷"}).status_code == 403
    client.post("/logout")
    _login(client, staff)
    both = client.post(url, data={"owner_name": "赵大爷", "developer_held": "y"})
    assert both.status_code == 400 and "赵大爷" in both.get_data(as_text=True)
    assert client.post(url, data={"owner_name": " 赵大爷 "}).status_code == 303
    db.session.refresh(unit)
    assert unit.owner_name == "赵大爷" and not unit.developer_held
    assert "赵大爷" in client.get(f"/c/{community.slug}/units/{unit.id}").get_data(as_text=True)
    measure = make_measure(community, chair=chair, preset="art278_ordinary")
    assert _places(measure)[0].names == "赵大爷"


# ---------------------------------------------------------------- the two kinds of convention


def _convention(community, kind):
    from deliberation.agenda import services as agenda
    from deliberation.conventions import services as conventions
    from tests.factories import admin_of, make_item

    author = make_member(community, name="起草人")
    item = make_item(community, author, title="制定公约", category_key="conventions")
    convention = conventions.start_convention(actor=author, community=community, item_id=item.id, title="公约",
                                              text="第一条内容。\n第二条内容。", kind=kind)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    return convention


def test_a_residents_convention_is_adopted_by_a_residents_meeting_and_a_management_one_by_owners(estate, client):
    from datetime import timedelta

    from deliberation.conventions import services as conventions
    from deliberation.errors import ValidationError
    from deliberation.timeutil import utcnow

    community, chair, _staff = estate
    _units(community, 100, 100)
    closes = utcnow() + timedelta(days=1)
    for kind, wrong, right in (("residents", "art278_ordinary", "residents_households"),
                               ("management", "residents_households", "art278_ordinary")):
        convention = _convention(community, kind)
        conventions.freeze(actor=chair, community=community, convention_id=convention.id)
        with pytest.raises(ValidationError) as refused:
            conventions.open_votes(actor=chair, community=community, convention_id=convention.id,
                                   plan=conventions.VotePlan(preset=wrong, closes_at=closes))
        assert refused.value.field == "preset" and conventions.votes_of(convention) == []
        _login(client, chair)
        page = client.get(f"/c/{community.slug}/conventions/{convention.id}/votes").get_data(as_text=True)
        assert f'<option selected value="{right}">' in page or f'value="{right}" selected' in page
        client.post("/logout")
        [measure] = conventions.open_votes(actor=chair, community=community, convention_id=convention.id,
                                           plan=conventions.VotePlan(preset=right, closes_at=closes))
        assert measure.preset == right and voting.turnout(measure).eligible == 2
    with pytest.raises(ValidationError):
        conventions.start_convention(actor=chair, community=community, item_id=convention.item_id, title="x",
                                     text="x", kind="owners-only")


def test_the_measure_form_makes_art_278_votes_roll_call_by_default(estate, client):
    from deliberation.agenda import services as agenda
    from deliberation.voting.models import Measure
    from tests.factories import admin_of, make_item

    community, chair, _staff = estate
    item = make_item(community)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    _login(client, chair)
    form = client.get(f"/c/{community.slug}/items/{item.id}/measures/new").get_data(as_text=True)
    assert "人数占比三分之二以上" in form and "居民会议" in form
    made = {}
    for preset, ballot in (("art278_ordinary", "preset"), ("custom", "preset"), ("residents_households", "preset")):
        response = client.post(f"/c/{community.slug}/items/{item.id}/measures/new", data={
            "kind": "yes_no", "question": f"{preset} {ballot}?", "preset": preset, "electorate": "residents",
            "weighting": "person", "threshold": "majority", "ballot": ballot, "closes_at": "2030-01-01T20:00"})
        assert response.status_code == 303
        made[preset] = db.session.scalar(select(Measure).where(Measure.question == f"{preset} {ballot}?"))
    assert not made["art278_ordinary"].secret
    assert made["custom"].secret and made["residents_households"].secret
    # An art. 278 vote counts floor area, so a secret one would show each unit on the board: refused,
    # with the reason, and nothing is created (issue 18).
    refused = client.post(f"/c/{community.slug}/items/{item.id}/measures/new", data={
        "kind": "yes_no", "question": "art278_major secret?", "preset": "art278_major", "electorate": "residents",
        "weighting": "person", "threshold": "majority", "ballot": "secret", "closes_at": "2030-01-01T20:00"})
    assert refused.status_code == 400 and "art278_major secret?" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Measure).where(Measure.question == "art278_major secret?")) is None

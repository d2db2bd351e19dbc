"""Joining a community: the request, staff verifying or rejecting it, and what each status grants."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from deliberation.communities import services
from deliberation.communities.models import Membership, MembershipStatus, Ownership, Role, RoleGrant
from deliberation.communities.permissions import membership_of, roles_of
from deliberation.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.extensions import db
from tests.factories import (
    admin_of,
    count_rows,
    make_community,
    make_member,
    make_unit,
    make_user,
    request_to_join,
)


def _english(err) -> str:
    with force_locale("en"):
        return str(err.message)


# ---------------------------------------------------------------- asking to join (service)


def test_request_to_join_is_pending_with_the_claimed_unit_as_typed(app):
    community = make_community()
    person = make_user()
    membership = services.request_membership(actor=person, community=community, building=" 3号楼 ",
                                             entrance="2", room="  50  1 ", note="刚搬来")
    assert membership.status == MembershipStatus.PENDING
    assert (membership.claimed_building, membership.claimed_entrance, membership.claimed_room) == ("3号楼", "2", "50 1")
    assert membership.claimed_label == "3号楼-2-50 1"
    assert membership.note == "刚搬来"
    assert membership.unit_id is None and membership.decided_at is None


@pytest.mark.parametrize(("building", "room", "field"), [
    ("", "101", "building"),
    ("   ", "101", "building"),
    ("3", "", "room"),
    ("3", " \t ", "room"),
])
def test_request_to_join_without_building_or_room_is_refused(app, building, room, field):
    community = make_community()
    person = make_user()
    with pytest.raises(ValidationError) as refused:
        services.request_membership(actor=person, community=community, building=building, entrance="1", room=room)
    assert refused.value.field == field
    assert membership_of(person, community) is None


def test_request_to_join_without_an_entrance_is_fine(app):
    community = make_community()
    membership = request_to_join(community, label="5--101")
    assert membership.claimed_entrance == "" and membership.claimed_label == "5-101"


@pytest.mark.parametrize("field", ["building", "entrance", "room"])
def test_request_to_join_with_a_part_longer_than_20_characters_is_refused(app, field):
    community = make_community()
    person = make_user()
    parts = {"building": "1", "entrance": "1", "room": "101", field: "长" * 21}
    with pytest.raises(ValidationError) as refused:
        services.request_membership(actor=person, community=community, **parts)
    assert refused.value.field == field
    assert "too long" in _english(refused.value)
    assert membership_of(person, community) is None


def test_request_to_join_with_parts_of_exactly_20_characters_is_accepted(app):
    community = make_community()
    membership = services.request_membership(actor=make_user(), community=community, building="楼" * 20,
                                             entrance="门" * 20, room="室" * 20)
    assert membership.claimed_room == "室" * 20


def test_a_long_note_is_cut_to_500_characters(app):
    community = make_community()
    membership = request_to_join(community, note="x" * 800)
    assert len(membership.note) == 500


def test_asking_to_join_twice_while_pending_is_refused(app):
    community = make_community()
    person = make_user()
    request_to_join(community, person)
    with pytest.raises(InvalidTransition) as refused:
        request_to_join(community, person, label="2-1-201")
    assert "already waiting" in _english(refused.value)
    assert count_rows(Membership, Membership.user_id == person.id) == 1
    assert membership_of(person, community).claimed_label == "1-1-101"  # the first claim stands


def test_a_verified_member_asking_again_is_refused(app):
    community = make_community()
    member = make_member(community)
    with pytest.raises(InvalidTransition) as refused:
        request_to_join(community, member)
    assert "already a member" in _english(refused.value)
    assert membership_of(member, community).status == MembershipStatus.VERIFIED


def test_a_rejected_person_may_ask_again_and_the_old_decision_is_cleared(app):
    community = make_community()
    person = make_user()
    first = request_to_join(community, person, label="9-1-101")
    services.reject_membership(actor=admin_of(community), community=community, membership_id=first.id,
                               reason="没有9号楼")
    again = request_to_join(community, person, label="3-1-101", note="写错了楼号")
    assert again.id == first.id  # one membership per person and community
    assert again.status == MembershipStatus.PENDING
    assert again.claimed_label == "3-1-101" and again.note == "写错了楼号"
    assert again.rejection_reason == "" and again.decided_at is None and again.decided_by_id is None


def test_asking_to_join_one_community_does_not_touch_another(app):
    first, second = make_community(), make_community()
    person = make_user()
    request_to_join(first, person)
    assert membership_of(person, second) is None
    assert request_to_join(second, person).community_id == second.id


# ---------------------------------------------------------------- asking to join (pages)


def test_join_page_shows_the_form_to_a_logged_in_non_member(client, auth):
    community = make_community()
    auth.login(make_user())
    response = client.get(f"/c/{community.slug}/join")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="building"' in html and 'name="room"' in html and f'action="/c/{community.slug}/join"' in html


def test_join_page_sends_anonymous_visitors_to_log_in(client):
    community = make_community()
    response = client.get(f"/c/{community.slug}/join")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_joining_through_the_page_redirects_to_the_community_and_is_pending(english, auth):
    community = make_community()
    person = make_user()
    auth.login(person)
    response = english.post(f"/c/{community.slug}/join", data={"building": "3", "entrance": "2", "room": "501",
                                                               "note": ""})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{community.slug}/")
    assert membership_of(person, community).status == MembershipStatus.PENDING
    page = english.get(f"/c/{community.slug}/").get_data(as_text=True)
    assert "Your request was sent" in page
    assert "3-2-501" in page and "Waiting for staff" in page


def test_join_page_without_a_room_says_so_and_keeps_what_was_typed(english, auth):
    community = make_community()
    person = make_user()
    auth.login(person)
    response = english.post(f"/c/{community.slug}/join",
                            data={"building": "三号楼", "entrance": "东单元", "room": "", "note": "刚搬来，证件在办"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="三号楼"' in html and 'value="东单元"' in html and "刚搬来，证件在办" in html
    assert "Please enter the room." in html
    assert 'aria-invalid="true"' in html
    assert membership_of(person, community) is None


def test_join_page_without_a_building_is_refused_with_400(english, auth):
    community = make_community()
    auth.login(make_user())
    response = english.post(f"/c/{community.slug}/join", data={"building": "", "entrance": "", "room": "502"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please enter the building." in html and 'value="502"' in html


def test_join_page_with_a_too_long_building_is_refused_and_keeps_the_text(english, auth):
    community = make_community()
    person = make_user()
    auth.login(person)
    too_long = "很长的楼栋名称" * 3 + "号"  # 22 characters
    response = english.post(f"/c/{community.slug}/join", data={"building": too_long, "entrance": "", "room": "1"})
    assert response.status_code == 400
    assert f'value="{too_long}"' in response.get_data(as_text=True)
    assert membership_of(person, community) is None


def test_join_page_escapes_what_was_typed(english, auth):
    community = make_community()
    auth.login(make_user())
    response = english.post(f"/c/{community.slug}/join",
                            data={"building": "<script>x</script>", "room": "", "note": "<b>hi</b>"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>x</script>" not in html and "<b>hi</b>" not in html
    assert "&lt;b&gt;hi&lt;/b&gt;" in html


def test_join_page_asking_twice_is_refused_with_400_and_one_request_kept(english, auth):
    community = make_community()
    person = make_user()
    request_to_join(community, person)
    auth.login(person)
    response = english.post(f"/c/{community.slug}/join", data={"building": "2", "entrance": "", "room": "202"})
    assert response.status_code == 400
    assert "already waiting for staff" in response.get_data(as_text=True)
    assert count_rows(Membership, Membership.user_id == person.id) == 1
    assert membership_of(person, community).claimed_label == "1-1-101"


def test_join_page_for_a_rejected_person_offers_the_form_again(english, auth):
    community = make_community()
    person = make_user()
    membership = request_to_join(community, person)
    services.reject_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                               reason="请核对房号")
    auth.login(person)
    assert 'name="building"' in english.get(f"/c/{community.slug}/join").get_data(as_text=True)
    response = english.post(f"/c/{community.slug}/join", data={"building": "1", "entrance": "1", "room": "102"})
    assert response.status_code == 303
    db.session.expire_all()
    assert membership_of(person, community).status == MembershipStatus.PENDING


def test_join_for_a_community_that_does_not_exist_is_404(client, auth):
    auth.login(make_user())
    assert client.get("/c/no-such-place/join").status_code == 404
    assert client.post("/c/no-such-place/join", data={"building": "1", "room": "1"}).status_code == 404


# ---------------------------------------------------------------- staff verify


def test_verifying_a_claim_that_matches_the_unit_register_links_the_unit(app):
    community = make_community()
    unit = make_unit(community, "2-1-302")
    person = make_user()
    membership = request_to_join(community, person, label="2-1-302")
    staff = make_member(community, Role.STAFF)
    verified = services.verify_membership(actor=staff, community=community, membership_id=membership.id)
    assert verified.status == MembershipStatus.VERIFIED
    assert verified.unit_id == unit.id
    assert verified.decided_by_id == staff.id and verified.decided_at is not None
    assert roles_of(person, community) == {Role.RESIDENT}


def test_verifying_a_claim_without_an_entrance_matches_a_unit_without_one(app):
    community = make_community()
    unit = make_unit(community, "7--101")
    membership = request_to_join(community, label="7--101")
    services.verify_membership(actor=admin_of(community), community=community, membership_id=membership.id)
    assert membership.unit_id == unit.id


def test_verifying_a_claim_not_in_the_unit_register_verifies_without_a_unit(app):
    community = make_community()
    make_unit(community, "2-1-302")
    membership = request_to_join(community, label="2-1-303", not_listed=True)
    services.verify_membership(actor=admin_of(community), community=community, membership_id=membership.id)
    assert membership.status == MembershipStatus.VERIFIED and membership.unit_id is None


def test_a_unit_of_another_community_is_never_matched(app):
    community, other = make_community(), make_community()
    make_unit(other, "2-1-302")
    membership = request_to_join(community, label="2-1-302")
    services.verify_membership(actor=admin_of(community), community=community, membership_id=membership.id)
    assert membership.unit_id is None


def test_a_resident_cannot_verify_a_request(app):
    community = make_community()
    membership = request_to_join(community)
    with pytest.raises(PermissionDenied):
        services.verify_membership(actor=make_member(community), community=community, membership_id=membership.id)
    assert count_rows(Membership, Membership.id == membership.id, Membership.status == "pending") == 1


def test_staff_verify_through_the_page_and_are_sent_back_to_the_list(english, auth):
    community = make_community()
    unit = make_unit(community, "3-2-501")
    person = make_user(name="赵小明")
    membership = request_to_join(community, person, label="3-2-501")
    auth.login(make_member(community, Role.STAFF))
    response = english.post(f"/c/{community.slug}/members/{membership.id}/verify")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{community.slug}/members")
    db.session.expire_all()
    membership = db.session.get(Membership, membership.id)
    assert membership.status == MembershipStatus.VERIFIED and membership.unit_id == unit.id
    assert "赵小明 is now a verified member." in english.get(response.headers["Location"]).get_data(as_text=True)


def test_staff_see_pending_requests_with_the_register_check(english, auth):
    community = make_community()
    make_unit(community, "3-2-501")
    request_to_join(community, make_user(name="对得上"), label="3-2-501")
    request_to_join(community, make_user(name="对不上"), label="3-2-999", not_listed=True)
    auth.login(make_member(community, Role.STAFF))
    html = english.get(f"/c/{community.slug}/members").get_data(as_text=True)
    assert "对得上" in html and "对不上" in html
    assert html.count("in the unit register") == 2  # "✓ in the unit register" and "not in the unit register"
    assert "not in the unit register" in html


# ---------------------------------------------------------------- staff reject


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_rejecting_without_a_reason_is_refused(app, reason):
    community = make_community()
    membership = request_to_join(community)
    with pytest.raises(ValidationError) as refused:
        services.reject_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                                   reason=reason)
    assert refused.value.field == "reason"
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == MembershipStatus.PENDING


def test_rejecting_with_a_reason_over_500_characters_is_refused(app):
    community = make_community()
    membership = request_to_join(community)
    with pytest.raises(ValidationError):
        services.reject_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                                   reason="x" * 501)
    assert db.session.get(Membership, membership.id).status == MembershipStatus.PENDING


def test_rejecting_keeps_the_reason_and_gives_no_roles(app):
    community = make_community()
    person = make_user()
    membership = request_to_join(community, person)
    staff = make_member(community, Role.STAFF)
    services.reject_membership(actor=staff, community=community, membership_id=membership.id,
                               reason="  本社区没有9号楼  ")
    assert membership.status == MembershipStatus.REJECTED
    assert membership.rejection_reason == "本社区没有9号楼"
    assert membership.decided_by_id == staff.id
    assert roles_of(person, community) == frozenset()


def test_the_applicant_sees_the_rejection_reason_on_the_community_page(english, auth):
    community = make_community()
    person = make_user()
    membership = request_to_join(community, person)
    services.reject_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                               reason="本社区没有9号楼，请核对楼号后重新申请。<b>注意</b>")
    auth.login(person)
    html = english.get(f"/c/{community.slug}/").get_data(as_text=True)
    assert "Staff could not accept your request:" in html
    assert "本社区没有9号楼，请核对楼号后重新申请。&lt;b&gt;注意&lt;/b&gt;" in html
    assert "Ask again" in html


def test_another_person_does_not_see_someone_elses_rejection_reason(english, auth):
    community = make_community()
    membership = request_to_join(community)
    services.reject_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                               reason="私人原因：房产证名字不符")
    auth.login(make_user())
    assert "私人原因" not in english.get(f"/c/{community.slug}/").get_data(as_text=True)


def test_reject_page_without_a_reason_re_shows_the_form_with_400(english, auth):
    community = make_community()
    membership = request_to_join(community, make_user(name="孙丽"))
    auth.login(make_member(community, Role.STAFF))
    page = english.get(f"/c/{community.slug}/members/{membership.id}/reject")
    assert page.status_code == 200 and "孙丽" in page.get_data(as_text=True)
    response = english.post(f"/c/{community.slug}/members/{membership.id}/reject", data={"reason": "  "})
    assert response.status_code == 400
    assert "Please give the reason, so the person knows what to do." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == MembershipStatus.PENDING


def test_reject_page_with_a_reason_redirects_and_rejects(english, auth):
    community = make_community()
    membership = request_to_join(community)
    auth.login(make_member(community, Role.STAFF))
    response = english.post(f"/c/{community.slug}/members/{membership.id}/reject", data={"reason": "房号不存在"})
    assert response.status_code == 303
    db.session.expire_all()
    membership = db.session.get(Membership, membership.id)
    assert membership.status == MembershipStatus.REJECTED and membership.rejection_reason == "房号不存在"


# ---------------------------------------------------------------- deciding twice


@pytest.mark.parametrize(("first", "second"), [
    ("verify", "verify"), ("verify", "reject"), ("reject", "verify"), ("reject", "reject"),
])
def test_deciding_a_request_twice_is_refused(app, first, second):
    community = make_community()
    membership = request_to_join(community)
    admin = admin_of(community)

    def decide(how):
        if how == "verify":
            return services.verify_membership(actor=admin, community=community, membership_id=membership.id)
        return services.reject_membership(actor=admin, community=community, membership_id=membership.id,
                                          reason="不符")

    decide(first)
    status = membership.status
    with pytest.raises(InvalidTransition) as refused:
        decide(second)
    assert "already decided" in _english(refused.value)
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == status


def test_verifying_twice_through_the_page_is_409_and_changes_nothing(english, auth):
    community = make_community()
    membership = request_to_join(community)
    staff = make_member(community, Role.STAFF)
    auth.login(staff)
    assert english.post(f"/c/{community.slug}/members/{membership.id}/verify").status_code == 303
    again = english.post(f"/c/{community.slug}/members/{membership.id}/verify")
    assert again.status_code == 409
    assert "already decided" in again.get_data(as_text=True)


def test_rejecting_a_verified_member_through_the_page_is_refused_with_400(english, auth):
    community = make_community()
    membership = request_to_join(community)
    admin = admin_of(community)
    services.verify_membership(actor=admin, community=community, membership_id=membership.id)
    auth.login(admin)
    response = english.post(f"/c/{community.slug}/members/{membership.id}/reject", data={"reason": "改主意了"})
    assert response.status_code == 400
    assert "already decided" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == MembershipStatus.VERIFIED


# ---------------------------------------------------------------- only verified members hold roles


def test_a_pending_member_has_no_roles_even_with_grants_and_units_on_record(app):
    community = make_community()
    unit = make_unit(community)
    person = make_user()
    request_to_join(community, person)
    # Rows that only a bug (or a later un-verification) could leave behind: they must not count.
    db.session.add(RoleGrant(community_id=community.id, user_id=person.id, role=Role.ADMIN))
    db.session.add(Ownership(unit_id=unit.id, user_id=person.id))
    db.session.commit()
    assert roles_of(person, community) == frozenset()


def test_a_rejected_member_has_no_roles(app):
    community = make_community()
    person = make_member(community, status=MembershipStatus.REJECTED)
    assert roles_of(person, community) == frozenset()


def test_a_non_member_and_nobody_have_no_roles(app):
    community = make_community()
    assert roles_of(make_user(), community) == frozenset()
    assert roles_of(None, community) == frozenset()


def test_a_verified_member_is_a_resident_and_gains_granted_roles(app):
    community = make_community()
    person = make_user()
    membership = request_to_join(community, person)
    admin = admin_of(community)
    services.verify_membership(actor=admin, community=community, membership_id=membership.id)
    assert roles_of(person, community) == {Role.RESIDENT}
    services.grant_role(actor=admin, community=community, user_id=person.id, role="chair")
    assert roles_of(person, community) == {Role.RESIDENT, Role.CHAIR}


def test_roles_in_one_community_mean_nothing_in_another(app):
    home, elsewhere = make_community(), make_community()
    person = make_member(home, Role.ADMIN, Role.STAFF)
    assert roles_of(person, elsewhere) == frozenset()


def test_roles_cannot_be_granted_to_a_pending_member(app):
    community = make_community()
    person = make_user()
    request_to_join(community, person)
    with pytest.raises(NotFound):
        services.grant_role(actor=admin_of(community), community=community, user_id=person.id, role="chair")
    assert count_rows(RoleGrant, RoleGrant.user_id == person.id) == 0

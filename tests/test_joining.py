"""Joining with a unit: where there is a unit register, building, entrance and room are chosen
from it (free text only without a register, or when the person says theirs is not listed); staff
verifying a member can link the unit in the same step."""

from __future__ import annotations

import pytest

from deliberation.communities import services as communities
from deliberation.communities.models import Membership, Ownership
from deliberation.errors import ValidationError
from deliberation.extensions import db
from tests.factories import admin_of, make_community, make_unit, make_user


def _register(community):
    for label in ("3-1-502", "3-1-101", "3-2-201", "10-1-101", "2--1201"):
        make_unit(community, label)


def test_the_register_is_offered_step_by_step_in_natural_order(app):
    community = make_community()
    _register(community)
    assert communities.unit_choices(community) == {"buildings": ["2", "3", "10"], "entrances": [], "rooms": []}
    assert communities.unit_choices(community, "3")["entrances"] == ["1", "2"]
    assert communities.unit_choices(community, "3", "1")["rooms"] == ["101", "502"]
    # A building with one entrance and no entrance name goes straight to its rooms.
    assert communities.unit_choices(community, "2")["rooms"] == ["1201"]
    assert communities.unit_choices(community, "3号楼")["entrances"] == []  # not a building of the register


def test_a_unit_outside_the_register_is_refused_unless_the_person_says_it_is_not_listed(app):
    community = make_community()
    _register(community)
    person = make_user()
    with pytest.raises(ValidationError) as refused:
        communities.request_membership(actor=person, community=community, building="3号楼", entrance="1",
                                       room="502")
    assert refused.value.field == "room"
    listed = communities.request_membership(actor=person, community=community, building="3", entrance="1",
                                            room="502")
    assert communities.find_unit(community, listed.claimed_building, listed.claimed_entrance, listed.claimed_room)
    other = make_user()
    unlisted = communities.request_membership(actor=other, community=community, building="4", entrance="1",
                                              room="101", note="新楼，还没登记", not_listed=True)
    assert unlisted.claimed_label == "4-1-101"
    # Without a register, free text as before.
    bare = make_community()
    communities.request_membership(actor=make_user(), community=bare, building="3号楼", entrance="", room="502")


def test_the_join_page_offers_choices_and_htmx_narrows_them(client, auth):
    community = make_community()
    _register(community)
    auth.login(make_user())
    url = f"/c/{community.slug}/join"
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<select id="building"' in page and 'value="10"' in page and 'name="room"' not in page
    step = client.get(f"{url}?building=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert step.lstrip().startswith('<div id="unit-picker"') and '<select id="entrance"' in step
    rooms = client.get(f"{url}?building=3&entrance=1&note=刚搬来").get_data(as_text=True)  # no JavaScript
    assert '<option value="502"' in rooms and "刚搬来" in rooms
    sent = client.post(url, data={"building": "3", "entrance": "1", "room": "502"})
    assert sent.status_code == 303
    free = client.get(f"{url}?not_listed=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="not_listed"' in free and '<input' in free and '<select id="building"' not in free


def test_staff_verify_and_link_the_owner_in_one_step(app, client, auth):
    community = make_community()
    _register(community)
    staff = admin_of(community)
    person = make_user()
    membership = communities.request_membership(actor=person, community=community, building="3", entrance="1",
                                                room="502")
    auth.login(staff)
    page = client.get(f"/c/{community.slug}/members", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Also link as owner of 3-1-502" in page
    client.post(f"/c/{community.slug}/members/{membership.id}/verify", data={"as_owner": "1"})
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == "verified"
    [ownership] = db.session.query(Ownership).filter_by(user_id=person.id).all()
    assert ownership.unit.label == "3-1-502"


def test_linking_on_verify_needs_a_unit_of_the_register_and_changes_nothing_otherwise(app):
    community = make_community()
    person = make_user()
    membership = communities.request_membership(actor=person, community=community, building="9", entrance="",
                                                room="9")  # no register: free text
    with pytest.raises(ValidationError):
        communities.verify_membership(actor=admin_of(community), community=community, membership_id=membership.id,
                                      as_owner=True)
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == "pending"  # nothing half-done

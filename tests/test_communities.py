"""Communities: joining, verification, units and owners, roles and who may do what."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, text

from deliberation.audit.models import AuditEntry
from deliberation.communities import services
from deliberation.communities.models import Membership, MembershipStatus, Role, Unit
from deliberation.communities.permissions import POLICY, can, roles_of
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from tests.factories import admin_of, make_community, make_member, make_unit, make_user


def _units(db, community) -> int:
    return db.session.scalar(select(func.count(Unit.id)).where(Unit.community_id == community.id))


# ---------------------------------------------------------------- joining


def test_join_verify_and_the_unit_register_match(app, db):
    community = make_community()
    unit = make_unit(community, "2-1-302")
    person = make_user()
    membership = services.request_membership(actor=person, community=community, building="2", entrance="1",
                                             room="302")
    assert roles_of(person, community) == frozenset()  # pending: no roles at all
    staff = make_member(community, Role.STAFF)
    services.verify_membership(actor=staff, community=community, membership_id=membership.id)
    assert membership.unit_id == unit.id
    assert roles_of(person, community) == {Role.RESIDENT}
    with pytest.raises(InvalidTransition):
        services.verify_membership(actor=staff, community=community, membership_id=membership.id)


def test_rejection_needs_a_reason_that_the_person_sees_and_they_may_ask_again(app, db, client, auth):
    community = make_community()
    person = make_user()
    membership = services.request_membership(actor=person, community=community, building="9", entrance="",
                                             room="101")
    admin = admin_of(community)
    with pytest.raises(ValidationError):
        services.reject_membership(actor=admin, community=community, membership_id=membership.id, reason="  ")
    services.reject_membership(actor=admin, community=community, membership_id=membership.id,
                               reason="没有9号楼，请核对。")
    auth.login(person)
    assert "没有9号楼，请核对。" in client.get(f"/c/{community.slug}/").get_data(as_text=True)
    again = services.request_membership(actor=person, community=community, building="3", entrance="",
                                        room="101")
    assert again.id == membership.id and again.status == MembershipStatus.PENDING


def test_asking_twice_is_refused(app):
    community = make_community()
    person = make_user()
    services.request_membership(actor=person, community=community, building="1", entrance="", room="1")
    with pytest.raises(InvalidTransition):
        services.request_membership(actor=person, community=community, building="1", entrance="", room="1")


def test_join_form_keeps_what_was_typed_on_bad_input(client, auth):
    community = make_community()
    auth.login(make_user())
    response = client.post(f"/c/{community.slug}/join", data={"building": "三号楼", "entrance": "", "room": "",
                                                              "note": "刚搬来"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "三号楼" in html and "刚搬来" in html and "请填写房号" in html


# ---------------------------------------------------------------- who may do what

EXPECTED = {  # action -> roles that may take it
    action: {role.value for role in roles} for action, roles in POLICY.items()
}


@pytest.mark.parametrize("role", ["resident", "owner", "chair", "expert", "legal", "staff", "admin"])
def test_permission_matrix_for_every_role(app, role):
    community = make_community()
    unit = make_unit(community)
    granted = () if role in ("resident", "owner") else (role,)
    person = make_member(community, *granted, owns=(unit,) if role == "owner" else ())
    held = {r.value for r in roles_of(person, community)}
    for action, allowed in EXPECTED.items():
        assert can(person, community, action) == bool(held & allowed), (role, action)


@pytest.mark.parametrize("who", ["anonymous", "pending", "rejected", "other community's admin"])
def test_outsiders_may_do_nothing(app, who):
    community = make_community()
    other = make_community()
    person = {
        "anonymous": None,
        "pending": make_member(community, status=MembershipStatus.PENDING),
        "rejected": make_member(community, status=MembershipStatus.REJECTED),
        "other community's admin": admin_of(other),
    }[who]
    assert not any(can(person, community, action) for action in POLICY)


def test_staff_pages_are_forbidden_to_residents_and_open_to_staff(client, auth):
    community = make_community()
    resident = make_member(community)
    staff = make_member(community, Role.STAFF)
    pages = ["members", "units", "units/import", "people/new"]
    auth.login(resident)
    assert all(client.get(f"/c/{community.slug}/{p}").status_code == 403 for p in pages)
    assert client.get(f"/c/{community.slug}/audit/").status_code == 403
    auth.logout()
    auth.login(staff)
    assert all(client.get(f"/c/{community.slug}/{p}").status_code == 200 for p in pages)
    assert client.get(f"/c/{community.slug}/audit/").status_code == 403  # admins only
    anonymous = client.application.test_client()
    assert anonymous.get(f"/c/{community.slug}/members").status_code == 302


# ---------------------------------------------------------------- forged ids


def test_ids_from_another_community_lead_nowhere(app, db, client, auth):
    mine, theirs = make_community(), make_community()
    their_unit = make_unit(theirs)
    applicant = make_user()
    their_request = services.request_membership(actor=applicant, community=theirs, building="1", entrance="1",
                                                room="101")
    staff = make_member(mine, Role.STAFF, Role.ADMIN)
    auth.login(staff)
    assert client.post(f"/c/{mine.slug}/members/{their_request.id}/verify").status_code == 404
    assert client.get(f"/c/{mine.slug}/units/{their_unit.id}").status_code == 404
    their_member = make_member(theirs)
    assert client.post(f"/c/{mine.slug}/members/{their_member.id}/roles",
                       data={"role": "chair", "grant": "1"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, their_request.id).status == MembershipStatus.PENDING
    assert roles_of(their_member, theirs) == {Role.RESIDENT}
    with pytest.raises(NotFound):
        services.link_owner(actor=staff, community=mine, unit_id=their_unit.id, user_id=their_member.id)


def test_only_grantable_roles_and_never_the_last_admin(app):
    community = make_community()
    admin = admin_of(community)
    member = make_member(community)
    for role in ("owner", "resident", "superuser"):
        with pytest.raises(ValidationError):
            services.grant_role(actor=admin, community=community, user_id=member.id, role=role)
    services.grant_role(actor=admin, community=community, user_id=member.id, role="chair")
    with pytest.raises(Conflict):
        services.grant_role(actor=admin, community=community, user_id=member.id, role="chair")
    with pytest.raises(InvalidTransition):
        services.revoke_role(actor=admin, community=community, user_id=admin.id, role="admin")
    with pytest.raises(PermissionDenied):
        services.grant_role(actor=member, community=community, user_id=member.id, role="admin")


# ---------------------------------------------------------------- units and owners


GOOD_CSV = "楼栋,单元,室,面积\n1,1,101,89.50\n1,1,102,112\n2,,301,75.25\n"


def test_import_units_with_chinese_headers_and_excel_encodings(app, db):
    community = make_community()
    admin = admin_of(community)
    assert services.import_units(actor=admin, community=community, data=GOOD_CSV.encode("utf-8-sig")).created == 3
    other = make_community()
    gbk = GOOD_CSV.encode("gb18030")
    assert services.import_units(actor=admin_of(other), community=other, data=gbk).created == 3
    english = make_community()
    data = b"building,unit,room,area\nA,1,101,88.00\n"
    assert services.import_units(actor=admin_of(english), community=english, data=data).created == 1


def test_a_bad_row_imports_nothing_and_names_every_line(app, db):
    community = make_community()
    make_unit(community, "9-1-901")
    data = ("楼栋,单元,室,面积\n1,1,101,89.50\n1,1,,80\n1,1,103,-5\n1,1,104,abc\n1,1,105,80.123\n"
            "1,1,101,70\n9,1,901,90\n").encode()
    result = services.import_units(actor=admin_of(community), community=community, data=data)
    assert [line for line, _ in result.errors] == [3, 4, 5, 6, 7, 8]
    assert "第 2 行" in dict(result.errors)[7] or "line 2" in dict(result.errors)[7]
    assert _units(db, community) == 1  # only the one made before


def test_import_page_reports_errors_with_status_400(client, auth, db):
    community = make_community()
    auth.login(admin_of(community))
    response = client.post(f"/c/{community.slug}/units/import",
                           data={"file": (io.BytesIO(b"wrong,headers\n1,2\n"), "units.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "第 1 行" in response.get_data(as_text=True)
    assert _units(db, community) == 0


def test_owners_of_several_units_and_owner_role(app):
    community = make_community()
    a, b = make_unit(community, "1-1-101"), make_unit(community, "1-1-102")
    owner = make_member(community, owns=(a, b))
    assert Role.OWNER in roles_of(owner, community)
    assert [u.label for u in services.units_owned(community, owner)] == ["1-1-101", "1-1-102"]
    admin = admin_of(community)
    with pytest.raises(Conflict):
        services.link_owner(actor=admin, community=community, unit_id=a.id, user_id=owner.id)
    stranger = make_user()
    with pytest.raises(NotFound):
        services.link_owner(actor=admin, community=community, unit_id=a.id, user_id=stranger.id)
    services.unlink_owner(actor=admin, community=community, unit_id=a.id, user_id=owner.id)
    services.unlink_owner(actor=admin, community=community, unit_id=b.id, user_id=owner.id)
    assert Role.OWNER not in roles_of(owner, community)


# ---------------------------------------------------------------- managed accounts and the audit log


def test_staff_register_a_resident_without_a_phone_and_it_is_audited(app, db):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    grandma = services.create_managed_account(actor=staff, community=community, display_name="钱奶奶",
                                              building="1", entrance="1", room="102")
    assert grandma.is_managed and not grandma.is_active
    assert roles_of(grandma, community) == {Role.RESIDENT}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.managed_created"))
    assert (entry.actor_id, entry.subject_id) == (staff.id, grandma.id)
    with pytest.raises(PermissionDenied):
        services.create_managed_account(actor=make_member(community), community=community, display_name="x",
                                        building="1", entrance="", room="1")


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET action = 'nothing'", "DELETE FROM audit_entries"])
def test_the_database_refuses_to_change_the_audit_log(app, db, statement):
    community = make_community()
    make_member(community, Role.CHAIR)  # granting the role writes an audit entry
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEntry.id))) > 0


def test_admins_filter_the_audit_log(client, auth):
    community = make_community()
    admin = admin_of(community)
    person = make_member(community)
    services.grant_role(actor=admin, community=community, user_id=person.id, role="chair")
    auth.login(admin)
    html = client.get(f"/c/{community.slug}/audit/?action=role.granted&subject={person.id}").get_data(as_text=True)
    assert "授予了角色" in html and person.display_name in html
    none = client.get(f"/c/{community.slug}/audit/?action=membership.rejected").get_data(as_text=True)
    assert "没有符合条件的记录" in none


def test_units_list_answers_htmx_with_the_fragment_only(client, auth):
    community = make_community()
    make_unit(community, "3-2-501")
    auth.login(admin_of(community))
    full = client.get(f"/c/{community.slug}/units")
    fragment = client.get(f"/c/{community.slug}/units?q=3-2", headers={"HX-Request": "true"})
    restore = client.get(f"/c/{community.slug}/units", headers={"HX-Request": "true",
                                                                 "HX-History-Restore-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="unit-list"')
    assert "3-2-501" in fragment.get_data(as_text=True)
    assert "<html" in restore.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_flask_demo_loads_once_and_only_into_an_empty_database(app, runner):
    first = runner.invoke(args=["demo", "--if-empty"])
    assert first.exit_code == 0 and "阳光社区" in first.output, first.output
    second = runner.invoke(args=["demo", "--if-empty"])
    assert second.exit_code == 0 and "not loaded" in second.output
    third = runner.invoke(args=["demo"])
    assert third.exit_code != 0
    from deliberation.communities.services import get_community

    sunshine = get_community("yangguang")
    people = {c: accounts_find(c) for c in ("13800000001", "13800000003", "13800000004", "13800000005",
                                            "13800000010", "13800000013")}
    assert {Role.ADMIN, Role.STAFF} <= roles_of(people["13800000001"], sunshine)
    assert Role.CHAIR in roles_of(people["13800000003"], sunshine)
    assert Role.EXPERT in roles_of(people["13800000004"], sunshine)
    assert Role.LEGAL in roles_of(people["13800000005"], sunshine)
    assert Role.OWNER in roles_of(people["13800000010"], sunshine)
    assert roles_of(people["13800000013"], sunshine) == {Role.RESIDENT}
    from deliberation.discussion.models import Comment, CommentState
    from deliberation.extensions import db as _db

    hidden = _db.session.scalars(select(Comment).where(Comment.state == CommentState.HIDDEN)).all()
    assert len(hidden) == 1 and "隐私" in hidden[0].hidden_reason  # the demo shows moderation


def accounts_find(contact):
    from deliberation.accounts.services import find_by_contact

    return find_by_contact(contact)


def test_community_create_command(app, runner):
    make_user(contact="boss@example.com")
    created = runner.invoke(args=["community", "create", "new-place", "新社区", "--admin", "boss@example.com"])
    assert created.exit_code == 0, created.output
    unknown = runner.invoke(args=["community", "create", "other", "别的", "--admin", "nobody@example.com"])
    assert unknown.exit_code != 0 and "register it first" in unknown.output


def test_checking_a_large_import_holds_no_write_lock(client, auth, db, monkeypatch):
    """A 100,000-row register took SQLite's write lock for the whole check (20 s in which no one
    could vote). The check only reads now: another writer gets the lock while it runs, and the
    rows are written after, in one short transaction."""
    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES:
        pytest.skip("SQLite's write lock; PostgreSQL has row locks")
    import sqlite3

    community = make_community()
    auth.login(admin_of(community))
    probes = []
    checked = services._checked_units

    def check_then_probe(**kwargs):
        outcome = checked(**kwargs)
        # Still inside the check: another connection must be able to write right now.
        path = db.engine.url.database
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            probes.append("could write")
        except sqlite3.OperationalError as err:
            probes.append(str(err))
        finally:
            other.close()
        return outcome

    monkeypatch.setattr(services, "_checked_units", check_then_probe)
    rows = "".join(f"{b},{e},{r},{80 + r % 40}.5\n" for b in range(1, 21) for e in range(1, 6) for r in range(1, 101))
    response = client.post(f"/c/{community.slug}/units/import",
                           data={"file": (io.BytesIO(("楼栋,单元,室,面积\n" + rows).encode()), "units.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 303)
    assert probes == ["could write"]
    assert _units(db, community) == 10_000
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "units.imported",
                                                      AuditEntry.community_id == community.id)).details["count"] == 10_000

"""Paper ballot sheets at scale: printed per unit, collected door to door, entered twice by two
different staff members, mismatches settled by a third, reconciled with what came back."""

from __future__ import annotations

import pytest

from deliberation.communities.models import Role
from deliberation.errors import Conflict, InvalidTransition, NotFound
from deliberation.voting import services as voting
from deliberation.voting import sheets
from deliberation.voting.models import SheetStatus
from tests.factories import make_community, make_measure, make_member, make_unit

YES = {"choice": "yes"}
NO = {"choice": "no"}


@pytest.fixture
def assembly(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    clerks = [make_member(community, Role.STAFF, name=f"工作人员{i}") for i in range(3)]
    units = [make_unit(community, f"{b}-1-{r}", "100") for b in (1, 2) for r in (101, 102)]
    owner = make_member(community, name="李建国", owns=(units[0],))
    measure = make_measure(community, chair=chair, preset="art278_ordinary", secret=False)
    return community, chair, clerks, owner, measure


def _issue(community, clerk, measure):
    return sheets.issue_sheets(actor=clerk, community=community, measure_id=measure.id)


def _enter(community, clerk, measure, code, content=YES):
    return sheets.enter_sheet(actor=clerk, community=community, measure_id=measure.id, code=code, content=content)


def test_one_sheet_per_unit_not_yet_voted_and_none_for_secret_votes(assembly):
    community, chair, clerks, owner, measure = assembly
    voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    issued = _issue(community, clerks[0], measure)
    assert len(issued) == 3 and len({s.code for s in issued}) == 3
    assert [s.code for s in _issue(community, clerks[0], measure)] == [s.code for s in issued]  # reprint
    # A secret vote has no named sheets (a residents' meeting of households is secret by default;
    # an art. 278 vote cannot be secret at all).
    secret = make_measure(community, chair=chair, preset="residents_households")
    assert secret.secret
    with pytest.raises(InvalidTransition):
        _issue(community, clerks[0], secret)


def test_a_sheet_counts_after_two_alike_entries_by_two_staff(assembly):
    community, _chair, clerks, _owner, measure = assembly
    sheet = _issue(community, clerks[0], measure)[1]
    typed = sheet.code.lower().replace("-", " ")  # as typed on a phone
    _enter(community, clerks[0], measure, typed)
    assert voting.turnout(measure).cast == 0 and sheet.status == SheetStatus.RETURNED
    with pytest.raises(InvalidTransition):  # the same hand twice
        _enter(community, clerks[0], measure, sheet.code)
    _enter(community, clerks[1], measure, sheet.code)
    assert sheet.status == SheetStatus.COUNTED and voting.turnout(measure).cast == 1
    with pytest.raises(Conflict):
        _enter(community, clerks[2], measure, sheet.code)


def test_different_entries_wait_for_a_third_staff_member(assembly):
    community, _chair, clerks, _owner, measure = assembly
    sheet = _issue(community, clerks[0], measure)[2]
    _enter(community, clerks[0], measure, sheet.code, YES)
    _enter(community, clerks[1], measure, sheet.code, NO)
    report = sheets.reconciliation(measure)
    assert report["mismatches"] == [sheet] and voting.turnout(measure).cast == 0
    for clerk in clerks[:2]:
        with pytest.raises(InvalidTransition):
            _enter(community, clerk, measure, sheet.code, NO)
    _enter(community, clerks[2], measure, sheet.code, NO)
    assert sheet.status == SheetStatus.COUNTED and sheets.reconciliation(measure)["mismatches"] == []
    rows = {p.units: b.content for p, b, _v in voting.register_roll_call(measure) if b}
    assert rows == {sheet.place.units: NO}


def test_a_returned_sheet_stops_online_voting_and_an_online_vote_stops_the_sheet(assembly):
    community, _chair, clerks, owner, measure = assembly
    issued = _issue(community, clerks[0], measure)
    owners_sheet = next(s for s in issued if s.place.names == "李建国")
    _enter(community, clerks[0], measure, owners_sheet.code, NO)
    with pytest.raises(Conflict):
        voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    with pytest.raises(InvalidTransition):  # nor can staff bypass the two entries
        voting.enter_place_ballot(actor=clerks[1], community=community, measure_id=measure.id,
                                  register_voter_id=owners_sheet.register_voter_id, content=YES)

    other = make_community()
    chair = make_member(other, Role.CHAIR)
    a, b = (make_member(other, Role.STAFF) for _ in range(2))
    unit = make_unit(other, "1-1-101", "90")
    voter = make_member(other, owns=(unit,))
    measure = make_measure(other, chair=chair, preset="art278_ordinary", secret=False)
    (sheet,) = _issue(other, a, measure)
    voting.cast_ballot(actor=voter, community=other, measure_id=measure.id, content=YES)
    _enter(other, a, measure, sheet.code, NO)
    with pytest.raises(Conflict):
        _enter(other, b, measure, sheet.code, NO)
    assert voting.turnout(measure).cast == 1


def test_codes_of_another_vote_are_not_found(assembly):
    community, chair, clerks, _owner, measure = assembly
    make_unit(community, "3-1-101", "80")
    later = make_measure(community, chair=chair, preset="art278_ordinary", secret=False)
    foreign = _issue(community, clerks[0], later)[0]
    _issue(community, clerks[0], measure)
    with pytest.raises(NotFound):
        _enter(community, clerks[0], measure, foreign.code)
    with pytest.raises(NotFound):
        sheets.record_collection(actor=clerks[0], community=community, measure_id=measure.id, code=foreign.code,
                                 status="delivered")


def test_collection_is_tracked_per_unit_and_reconciled(assembly):
    community, _chair, clerks, _owner, measure = assembly
    issued = _issue(community, clerks[0], measure)
    for sheet, status in zip(issued, ["delivered", "refused", "returned", "unreachable"], strict=True):
        sheets.record_collection(actor=clerks[1], community=community, measure_id=measure.id, code=sheet.code,
                                 status=status)
    assert {s.status for s in issued} == {"delivered", "refused", "returned", "unreachable"}
    assert all(s.collected_by_id == clerks[1].id for s in issued)
    report = sheets.reconciliation(measure)
    assert (report["printed"], report["returned"], report["counted"]) == (4, 1, 0)
    assert report["not_entered"] == [issued[2]]
    assert {b: [s.place.units for s in out] for b, out in report["out_by_building"].items()} == {
        "1": [issued[0].place.units], "2": [issued[3].place.units]}
    from deliberation.errors import ValidationError

    with pytest.raises(ValidationError):
        sheets.record_collection(actor=clerks[1], community=community, measure_id=measure.id, code=issued[0].code,
                                 status="counted")


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


def test_the_sheet_pages_print_collect_and_enter_twice(assembly, client):
    community, _chair, clerks, owner, measure = assembly
    base = f"/c/{community.slug}/measures/{measure.id}/sheets"
    _login(client, owner)
    assert client.get(base).status_code == 403 and client.get(f"{base}/print").status_code == 403
    client.post("/logout")
    _login(client, clerks[0])
    assert client.post(f"{base}/issue").headers["Location"].endswith("/sheets/print")
    printed = client.get(f"{base}/print").get_data(as_text=True)
    codes = [s.code for s in sheets.sheets_of(measure)]
    assert all(code in printed for code in codes) and printed.count("<svg") == 4 and "业主签名" in printed
    desk = client.get(f"{base}?code={codes[1]}").get_data(as_text=True)
    assert f'value="{codes[1]}"' in desk and "尚未收回" in desk
    client.post(f"{base}/collect", data={"code": codes[1], "status": "returned"})
    refused = client.post(base, data={"code": codes[1]})  # no choice ticked: shown again with the code
    assert refused.status_code == 400 and f'value="{codes[1]}"' in refused.get_data(as_text=True)
    assert client.post(base, data={"code": codes[1], "choice": "no"}).status_code == 303
    same_hand = client.post(base, data={"code": codes[1], "choice": "no"})
    assert same_hand.status_code == 409 and "另一位工作人员" in same_hand.get_data(as_text=True)
    client.post("/logout")
    _login(client, clerks[1])
    assert client.post(base, data={"code": codes[1], "choice": "no"}).status_code == 303
    assert "已计票" in client.get(base).get_data(as_text=True)
    assert voting.turnout(measure).cast == 1
    unknown = client.post(base, data={"code": "XXXXX-XXXXX", "choice": "no"})
    assert unknown.status_code == 404 and "XXXXX-XXXXX" in unknown.get_data(as_text=True)


def test_named_scrutineers_sign_off_a_finished_count_and_go_into_the_record(assembly, client):
    import json

    from deliberation.errors import PermissionDenied
    from deliberation.records.services import resolution_of

    community, chair, clerks, owner, measure = assembly
    monitor = make_member(community, name="监票人老陈")
    with pytest.raises(PermissionDenied):  # staff cannot name scrutineers; the chair does
        sheets.name_scrutineer(actor=owner, community=community, measure_id=measure.id, user_id=monitor.id,
                               role="monitor")
    sheets.name_scrutineer(actor=chair, community=community, measure_id=measure.id, user_id=monitor.id,
                           role="monitor")
    sheets.name_scrutineer(actor=chair, community=community, measure_id=measure.id, user_id=clerks[2].id,
                           role="counter")
    with pytest.raises(Conflict):
        sheets.name_scrutineer(actor=chair, community=community, measure_id=measure.id, user_id=monitor.id,
                               role="counter")
    sheet = _issue(community, clerks[0], measure)[1]
    _enter(community, clerks[0], measure, sheet.code)
    with pytest.raises(InvalidTransition):  # a sheet is entered once only
        sheets.sign_count(actor=monitor, community=community, measure_id=measure.id)
    with pytest.raises(PermissionDenied):  # not named
        sheets.sign_count(actor=owner, community=community, measure_id=measure.id)
    _enter(community, clerks[1], measure, sheet.code)
    # The scrutineer, not staff, reads the desk and signs.
    _login(client, monitor)
    desk = client.get(f"/c/{community.slug}/measures/{measure.id}/sheets")
    assert desk.status_code == 200 and "签字确认" in desk.get_data(as_text=True)
    assert 'name="code"' not in desk.get_data(as_text=True)  # no entry form for a scrutineer
    client.post(f"/c/{community.slug}/measures/{measure.id}/scrutineers/sign")
    with pytest.raises(InvalidTransition):
        sheets.sign_count(actor=monitor, community=community, measure_id=measure.id)
    voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    scrutiny = json.loads(resolution_of(measure).canonical)["body"]["scrutiny"]
    assert {(s["name"], s["role"], s["signed_at"] is not None) for s in scrutiny["scrutineers"]} == {
        ("监票人老陈", "monitor", True), (clerks[2].display_name, "counter", False)}
    assert scrutiny["sheets"] == {"printed": 4, "returned": 1, "counted": 1}
    record_page = client.get(f"/c/{community.slug}/records/{resolution_of(measure).seq}").get_data(as_text=True)
    assert "监票人老陈" in record_page and "已签字确认计票" in record_page

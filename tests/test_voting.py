"""Measures and voting: defining and opening votes, one ballot per voter under concurrency and
attack, secrecy, receipts and the public board, paper ballots, proxies, shows of hands, the
art. 278 presets, results pages and live turnout."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from deliberation.agenda import services as agenda
from deliberation.agenda.models import AgendaItem, ItemStatus
from deliberation.audit.models import AuditEntry
from deliberation.communities.models import Role
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.review import services as review
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from deliberation.voting.models import (
    Ballot,
    BallotEnvelope,
    Eligibility,
    Measure,
    MeasureStatus,
    Participation,
    Proxy,
)
from tests.factories import admin_of, count_rows, make_community, make_item, make_measure, make_member, make_unit, race

YES = {"choice": "yes"}
NO = {"choice": "no"}
ABSTAIN = {"choice": "abstain"}


@pytest.fixture
def hall(app):
    """A community with a chair, staff and five verified residents."""
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    residents = [make_member(community, name=f"居民{i}") for i in range(5)]
    return community, chair, staff, residents


def _close(community, chair, measure):
    return voting.close_measure(actor=chair, community=community, measure_id=measure.id)


def _cast(measure) -> list[dict]:
    """Every ballot cast so far: public, or still sealed (a secret measure's wait in envelopes)."""
    from deliberation.extensions import db

    public = [{"receipt": b.receipt, "content": b.content}
              for b in db.session.scalars(select(Ballot).where(Ballot.measure_id == measure.id))]
    sealed = list(db.session.scalars(select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
    return public + [{"receipt": o["receipt"], "content": o["content"]} for o in voting._opened(measure, sealed)]


# ---------------------------------------------------------------- defining and opening


def test_measure_draft_is_checked_field_by_field(hall):
    community, chair, _, _ = hall
    item = make_item(community)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    closes = utcnow() + timedelta(days=1)
    cases = [
        ({"kind": "single", "options": ["只有一个"]}, "options"),
        ({"kind": "single", "options": ["甲", "甲"]}, "options"),
        ({"kind": "convention", "text": " "}, "text"),
        ({"question": "  "}, "question"),
        ({"weighting": "area"}, "weighting"),  # area weighting is for owners
        ({"threshold": "plurality"}, "threshold"),  # most-votes-wins needs options
        ({"preset": "art278_major", "kind": "ranked", "options": ["a", "b"]}, "preset"),
        ({"quorum_headcount": Decimal("120")}, "quorum_headcount"),
        ({"closes_at": None}, "closes_at"),
        ({"opens_at": closes + timedelta(hours=1)}, "closes_at"),
        ({"kind": "secret-weapon"}, "kind"),
    ]
    for change, field in cases:
        draft = voting.MeasureDraft(question="Q?", closes_at=closes)
        for key, value in change.items():
            setattr(draft, key, value)
        with pytest.raises(ValidationError) as refused:
            voting.create_measure(actor=chair, community=community, item_id=item.id, draft=draft)
        assert refused.value.field == field, change


def test_only_chairs_and_staff_define_and_open_measures(hall):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, open_now=False)
    with pytest.raises(PermissionDenied):
        voting.open_measure(actor=residents[0], community=community, measure_id=measure.id)
    with pytest.raises(PermissionDenied):
        voting.create_measure(actor=residents[0], community=community, item_id=measure.item_id,
                              draft=voting.MeasureDraft(question="Q", closes_at=utcnow() + timedelta(days=1)))
    # A draft is invisible to residents and to other communities' chairs.
    with pytest.raises(NotFound):
        voting.measure_in(community, measure.id, residents[0])
    other = make_community()
    with pytest.raises(NotFound):
        voting.open_measure(actor=make_member(other, Role.CHAIR), community=other, measure_id=measure.id)


def test_opening_takes_the_roll_freezes_the_text_and_moves_the_item_to_voting(hall):
    community, chair, _, residents = hall
    convention = "# 养犬公约\n\n1. 出门牵绳。"
    measure = make_measure(community, chair=chair, kind="convention", text=convention)
    assert measure.status == MeasureStatus.OPEN
    assert measure.frozen_text == convention and len(measure.frozen_text_sha256) == 64
    roll = db_count(Eligibility, Eligibility.measure_id == measure.id)
    assert roll == 2 + 5 + 1 + 1  # chair, staff, residents, the item's author, the admin
    assert measure.item.status == ItemStatus.VOTING
    # Opened measures cannot be edited: the text voted on stays the text recorded.
    with pytest.raises(InvalidTransition):
        voting.update_measure(actor=chair, community=community, measure_id=measure.id,
                              draft=voting.MeasureDraft(kind="convention", question="Q", text="另一个文本",
                                                        closes_at=utcnow() + timedelta(days=1)))
    # Someone verified after the roll was taken is not on it.
    late = make_member(community)
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=late, community=community, measure_id=measure.id, content=YES)


def test_an_open_legal_objection_blocks_opening_a_vote(hall):
    community, chair, _, _ = hall
    legal = make_member(community, Role.LEGAL)
    measure = make_measure(community, chair=chair, open_now=False)
    item_id = measure.item_id
    [request] = review.request_review(actor=chair, community=community, item_id=item_id, reviewer_ids=[legal.id],
                                      question="合法吗？", due_on=utcnow().date() + timedelta(days=3))
    review.respond(actor=legal, community=community, request_id=request.id, accept=True)
    objection = review.submit_review(actor=legal, community=community, request_id=request.id,
                                     verdict="legal_objection", body="需要业主大会表决。")
    with pytest.raises(InvalidTransition):
        voting.open_measure(actor=chair, community=community, measure_id=measure.id)
    with pytest.raises(InvalidTransition):  # nor by moving the item by hand
        agenda.advance_item(actor=chair, community=community, item_id=item_id, to="voting")
    assert db_count(Eligibility, Eligibility.measure_id == measure.id) == 0
    review.answer_objection(actor=chair, community=community, review_id=objection.id, body="改为业主表决。")
    with pytest.raises(InvalidTransition):  # answered is not enough: the adviser must resolve it
        voting.open_measure(actor=chair, community=community, measure_id=measure.id)
    review.close_objection(actor=legal, community=community, review_id=objection.id, withdraw=False, note="")
    assert voting.open_measure(actor=chair, community=community, measure_id=measure.id).status == "open"


# ---------------------------------------------------------------- casting


def db_count(model, *where) -> int:
    from deliberation.extensions import db

    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_cast_ballot_twice_is_refused(hall):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    receipt = voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", receipt)
    with pytest.raises(Conflict):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=NO)
    assert len(_cast(measure)) == 1


def test_votes_before_opening_and_after_closing_are_refused(hall):
    community, chair, _, residents = hall
    later = make_measure(community, chair=chair, opens_at=utcnow() + timedelta(hours=2))
    with pytest.raises(InvalidTransition):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=later.id, content=YES)
    draft = make_measure(community, chair=chair, open_now=False, item=later.item)
    with pytest.raises(NotFound):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=draft.id, content=YES)
    closing = make_measure(community, chair=chair, item=later.item)
    _close(community, chair, closing)
    with pytest.raises(InvalidTransition):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=closing.id, content=YES)
    assert db_count(Participation) == 0 and db_count(Ballot) == 0 and db_count(BallotEnvelope) == 0


def test_ballots_after_the_closing_time_are_refused_and_the_page_closes_the_measure(hall, client, auth):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    db.session.execute(text("UPDATE measures SET closes_at = :t WHERE id = :id"),
                       {"t": utcnow() - timedelta(minutes=1), "id": measure.id})
    db.session.commit()
    with pytest.raises(InvalidTransition):
        voting.cast_ballot(actor=residents[1], community=community, measure_id=measure.id, content=YES)
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/results")
    assert page.status_code == 200
    db.session.expire_all()
    closed = db.session.get(Measure, measure.id)
    assert closed.status == "closed" and closed.result["cast"]["count"] == 1
    assert db.session.get(AgendaItem, measure.item_id).status == ItemStatus.DECIDED


def test_forged_ballots_are_refused(hall):
    community, chair, _, residents = hall
    single = make_measure(community, chair=chair, kind="single", options=["方案一", "方案二"])
    ranked = make_measure(community, chair=chair, kind="ranked", options=["甲", "乙", "丙"], item=single.item)
    for measure, content in [(single, {"choice": "Z"}), (single, {"choice": "yes"}), (single, {}),
                             (ranked, {"ranking": ["A", "A"]}), (ranked, {"ranking": "ABC"}),
                             (ranked, {"ranking": ["A", "Q"]}), (ranked, {"ranking": []})]:
        with pytest.raises(ValidationError):
            voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=content)
    assert db_count(Participation) == 0
    # Extra keys in a ballot are not stored.
    voting.cast_ballot(actor=residents[0], community=community, measure_id=single.id,
                       content={"choice": "B", "voter": residents[0].id})
    assert len(_cast(single)) == 1

    assert [b["content"] for b in _cast(single)] == [{"choice": "B"}]


def test_outsiders_and_other_communities_cannot_vote(hall):
    community, chair, _, _ = hall
    measure = make_measure(community, chair=chair)
    other = make_community()
    stranger = make_member(other)
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=stranger, community=community, measure_id=measure.id, content=YES)
    with pytest.raises(NotFound):  # the measure id does not exist in the other community
        voting.cast_ballot(actor=stranger, community=other, measure_id=measure.id, content=YES)
    pending = make_member(community, status="pending")
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=pending, community=community, measure_id=measure.id, content=YES)


def test_owners_measure_refuses_residents_who_own_nothing(hall):
    community, chair, _, residents = hall
    unit = make_unit(community, "2-1-301", "88.50")
    owner = make_member(community, owns=(unit,))
    measure = make_measure(community, chair=chair, electorate="owners", weighting="area", secret=False)
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    assert voting.tally(measure)["cast"]["weight"] == "88.5"


def test_fifty_concurrent_submissions_by_one_voter_store_exactly_one_ballot(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        chair = make_member(community, Role.CHAIR)
        voter = make_member(community)
        measure = make_measure(community, chair=chair)
        ids = (community.id, measure.id, voter.contact)
        db.session.remove()
    clients = []
    for _ in range(50):
        c = app.test_client()
        assert c.post("/login", data={"contact": ids[2], "password": "password123"}).status_code == 303
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    answers = []

    def submit(c):
        barrier.wait()
        response = c.post(f"/c/{slug}/measures/{ids[1]}/vote", data={"choice": "yes", "confirm": "1"})
        answers.append((response.status_code, response.get_data(as_text=True)))

    with app.app_context():
        from deliberation.communities.models import Community
        from deliberation.extensions import db

        slug = db.session.get(Community, ids[0]).slug
        db.session.remove()
    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(code for code, _ in answers)
    assert codes.count(200) == 1 and codes.count(409) == 49, codes
    refused = [body for code, body in answers if code == 409]
    assert all("已经投过" in body or "already been cast" in body for body in refused)
    with app.app_context():
        from deliberation.extensions import db

        assert db.session.scalar(select(func.count(Ballot.id)).where(Ballot.measure_id == ids[1])) + \
            db.session.scalar(select(func.count(BallotEnvelope.id)).where(BallotEnvelope.measure_id == ids[1])) == 1
        assert db.session.scalar(select(func.count(Participation.id)).where(Participation.measure_id == ids[1])) == 1


def test_the_database_refuses_a_second_participation_and_changes_to_records(hall):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, secret=False)  # its ballot goes straight to the table
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    db.session.add(Participation(measure_id=measure.id, voter_id=residents[0].id, channel="online"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    for statement in ("UPDATE ballots SET content = '{\"choice\": \"no\"}'", "DELETE FROM ballots",
                      "DELETE FROM participations", "UPDATE eligibilities SET weight = 100"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert db.session.scalar(select(Ballot.content).where(Ballot.measure_id == measure.id)) == YES


# ---------------------------------------------------------------- secrecy, receipts, board


def test_secret_ballots_cannot_be_joined_to_voters(hall):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    receipts = [voting.cast_ballot(actor=r, community=community, measure_id=measure.id, content=c)
                for r, c in zip(residents, [YES, NO, YES, ABSTAIN, YES], strict=True)]
    _close(community, chair, measure)  # every sealed ballot is public now
    columns = {c["name"] for c in inspect(db.session.connection()).get_columns("ballots")}
    assert columns == {"id", "measure_id", "receipt", "content", "weight", "area", "voter_id", "register_voter_id"}
    ballots = list(db.session.scalars(select(Ballot).where(Ballot.measure_id == measure.id)))
    assert all(b.voter_id is None and b.register_voter_id is None for b in ballots)
    assert all(re.fullmatch(r"[0-9a-f]{32}", b.id) for b in ballots)
    # Neither id order nor storage order follows the order of casting.
    if db.engine.dialect.name == "sqlite":
        with pytest.raises(DBAPIError):  # WITHOUT ROWID: there is no insertion counter to read
            db.session.execute(text("SELECT rowid FROM ballots")).all()
        db.session.rollback()
    # Participation says who, not what; nothing in it names a ballot or receipt.
    part_columns = {c["name"] for c in inspect(db.session.connection()).get_columns("participations")}
    assert not part_columns & {"ballot_id", "receipt", "content"}
    assert sorted(receipts) == sorted(b.receipt for b in ballots)
    # The audit log does not record choices either.
    for entry in db.session.scalars(select(AuditEntry)):
        assert "choice" not in str(entry.details)


def test_roll_call_measures_show_who_chose_what(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, secret=False)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=NO)
    _close(community, chair, measure)
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/results", headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    assert "Roll call" in body and residents[0].display_name in body and "did not vote" in body


def test_board_lists_every_receipt_and_a_recount_equals_the_published_tally(hall, client):
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair, kind="ranked", options=["方案一", "方案二", "方案三"])
    rankings = [["A", "B"], ["B", "A", "C"], ["C"], ["B"], ["A", "C", "B"]]
    receipts = [voting.cast_ballot(actor=r, community=community, measure_id=measure.id, content={"ranking": k})
                for r, k in zip(residents, rankings, strict=True)]
    assert client.get(f"/c/{community.slug}/measures/{measure.id}/board.json").status_code == 409
    _close(community, chair, measure)
    export = client.get(f"/c/{community.slug}/measures/{measure.id}/board.json").get_json()
    assert sorted(b["receipt"] for b in export["ballots"]) == sorted(receipts)
    assert all("voter" not in b for b in export["ballots"])
    assert voting.recount(export) == export["result"]
    # Invariant: as many ballots as participations.
    assert len(export["ballots"]) == db_count(Participation, Participation.measure_id == measure.id)
    found = client.get(f"/c/{community.slug}/measures/{measure.id}/board?receipt={receipts[2].lower()}",
                       headers={"Accept-Language": "en"})
    assert "Found: " + receipts[2] in found.get_data(as_text=True)
    missing = client.get(f"/c/{community.slug}/measures/{measure.id}/board?receipt=AAAA-BBBB-CCCC",
                         headers={"Accept-Language": "en"})
    assert "No ballot has the code" in missing.get_data(as_text=True)


def test_receipt_lookup_forgives_case_spaces_hyphens_and_full_width_forms(hall, client):
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    receipts = [voting.cast_ballot(actor=r, community=community, measure_id=measure.id, content=YES)
                for r in residents[:3]]
    _close(community, chair, measure)
    code = receipts[1]
    bare = code.replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in bare)  # what a phone keyboard in Chinese mode types
    for typed in (bare.lower(), f"{bare[:4]} {bare[4:8]} {bare[8:]}", f" {code.lower()} ", f"{code[:9]}—{bare[8:]}",
                  full_width, f"{bare[:4]}.{bare[4:]}"):
        assert voting.find_receipt(measure, typed).found.receipt == code, typed
        page = client.get(f"/c/{community.slug}/measures/{measure.id}/board", query_string={"receipt": typed},
                          headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Found: " + code in page and "No ballot has the code" not in page, typed


def test_receipt_with_a_misread_character_is_told_so_not_that_the_ballot_is_missing(hall, client):
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    receipts = [voting.cast_ballot(actor=r, community=community, measure_id=measure.id, content=YES)
                for r in residents[:3]]
    _close(community, chair, measure)
    code = receipts[0]
    # The alphabet has no 0, O, 1, I or L: one such character typed in place of a real one.
    assert not set("01ILO") & set(voting.RECEIPT_ALPHABET)
    misread = "O" + code[1:]
    lookup = voting.find_receipt(measure, misread.lower())
    assert lookup.problem == "characters" and lookup.misread == "O" and lookup.found is None
    assert lookup.guess.receipt == code
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/board", query_string={"receipt": misread},
                      headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "从不使用 0、O、1、I、L" in page and code in page and "没有回执码为" not in page
    # Too short: the length is the problem, not a lost ballot.
    short = client.get(f"/c/{community.slug}/measures/{measure.id}/board", query_string={"receipt": code[:-1]},
                       headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "A receipt code has 12 letters and digits" in short and "you typed 11" in short
    assert "No ballot has the code" not in short
    # A well-formed code that really is not on the board still says so (normalised).
    absent = next(c for c in ("2222-3333-4444", "2222-3333-5555") if c not in receipts)
    missing = client.get(f"/c/{community.slug}/measures/{measure.id}/board",
                         query_string={"receipt": absent.replace("-", " ")},
                         headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"No ballot has the code {absent}" in missing


def test_someone_verified_after_the_vote_opened_is_told_why_they_are_not_on_the_roll(hall, client):
    from deliberation.communities import services as communities
    from tests.factories import request_to_join

    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    newcomer = request_to_join(community).user
    assert voting.roll_absence(measure, newcomer.id).reason == "not_member"
    membership = communities.verify_membership(
        actor=staff, community=community,
        membership_id=next(m.id for m in communities.memberships(actor=staff, community=community)
                           if m.user_id == newcomer.id))
    absence = voting.roll_absence(measure, newcomer.id)
    assert absence.reason == "verified_after" and absence.fixed_at == measure.opened_at
    assert absence.since == membership.decided_at > measure.opened_at
    _login(client, newcomer)
    page = client.get(f"/c/{community.slug}/measures/{measure.id}", headers={"Accept-Language": "zh-CN"})
    body = page.get_data(as_text=True)
    assert "投票人名册在表决开启时" in body and "之后" in body and "社区工作人员" in body
    # Casting anyway is refused by the service, whatever the page shows.
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=newcomer, community=community, measure_id=measure.id, content=YES)


def test_a_member_without_a_unit_is_told_owners_vote_and_to_ask_staff_to_link_it(hall):
    community, chair, staff, residents = hall
    unit = make_unit(community, "2-1-301")
    owner = make_member(community, owns=(unit,))
    # One vote per unit is a roll-call vote: a secret one would show each unit on the board.
    measure = make_measure(community, chair=chair, electorate="owners", weighting="unit", secret=False)
    assert voting.roll_entry(measure, owner.id) is not None
    assert voting.roll_absence(measure, residents[0].id).reason == "not_owner"


# ---------------------------------------------------------------- paper ballots, proxies, hands


def test_staff_enter_a_paper_ballot_and_the_member_cannot_vote_online_after(hall):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    with pytest.raises(PermissionDenied):
        voting.enter_paper_ballot(actor=chair, community=community, measure_id=measure.id,
                                  voter_id=residents[0].id, content=YES)
    voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id, voter_id=residents[0].id,
                              content=YES)
    with pytest.raises(Conflict):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=NO)
    part = db.session.scalar(select(Participation).where(Participation.voter_id == residents[0].id))
    assert part.channel == "paper" and part.cast_by_id == staff.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vote.paper_entered"))
    assert entry.actor_id == staff.id and entry.subject_id == residents[0].id
    # A paper ballot for someone of another community is refused.
    with pytest.raises(NotFound):
        voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id,
                                  voter_id=make_member(make_community()).id, content=YES)


def test_proxy_votes_once_for_the_owner_who_then_cannot_vote_or_revoke(hall):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    owner, delegate = residents[0], residents[1]
    measure = make_measure(community, chair=chair)
    proxy = voting.grant_proxy(actor=owner, community=community, measure_id=measure.id, delegate_id=delegate.id)
    with pytest.raises(InvalidTransition):
        voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    with pytest.raises(PermissionDenied):  # only the delegate may use it
        voting.cast_ballot(actor=residents[2], community=community, measure_id=measure.id, content=YES,
                           for_voter_id=owner.id)
    voting.cast_ballot(actor=delegate, community=community, measure_id=measure.id, content=NO, for_voter_id=owner.id)
    with pytest.raises(Conflict):
        voting.cast_ballot(actor=delegate, community=community, measure_id=measure.id, content=YES,
                           for_voter_id=owner.id)
    with pytest.raises(InvalidTransition):
        voting.revoke_proxy(actor=owner, community=community, proxy_id=proxy.id)
    # The delegate still has their own ballot.
    voting.cast_ballot(actor=delegate, community=community, measure_id=measure.id, content=YES)
    assert voting.exact_turnout(measure).by_channel == {"proxy": 1, "online": 1}
    part = db.session.scalar(select(Participation).where(Participation.voter_id == owner.id))
    assert part.channel == "proxy" and part.cast_by_id == delegate.id


def test_revoked_proxy_cannot_vote_and_the_owner_votes_again(hall):
    community, chair, _, residents = hall
    owner, delegate = residents[0], residents[1]
    measure = make_measure(community, chair=chair)
    proxy = voting.grant_proxy(actor=owner, community=community, measure_id=measure.id, delegate_id=delegate.id)
    with pytest.raises(PermissionDenied):  # not someone else's to revoke
        voting.revoke_proxy(actor=residents[3], community=community, proxy_id=proxy.id)
    voting.revoke_proxy(actor=owner, community=community, proxy_id=proxy.id)
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(actor=delegate, community=community, measure_id=measure.id, content=YES,
                           for_voter_id=owner.id)
    voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)


def test_a_member_holds_at_most_the_allowed_number_of_proxies(hall):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    community.max_proxies = 2
    db.session.commit()
    measure = make_measure(community, chair=chair)
    delegate = residents[0]
    voting.grant_proxy(actor=residents[1], community=community, measure_id=measure.id, delegate_id=delegate.id)
    voting.grant_proxy(actor=staff, community=community, measure_id=measure.id, delegate_id=delegate.id,
                       grantor_id=residents[2].id)  # on paper, entered by staff
    with pytest.raises(InvalidTransition):
        voting.grant_proxy(actor=residents[3], community=community, measure_id=measure.id, delegate_id=delegate.id)
    with pytest.raises(ValidationError):
        voting.grant_proxy(actor=residents[3], community=community, measure_id=measure.id, delegate_id=residents[3].id)
    with pytest.raises(PermissionDenied):  # paper proxies are staff's to enter
        voting.grant_proxy(actor=residents[4], community=community, measure_id=measure.id,
                           delegate_id=residents[4].id, grantor_id=residents[3].id)
    assert db_count(Proxy, Proxy.delegate_id == delegate.id) == 2


def test_concurrent_proxy_grants_never_exceed_the_limit(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        community.max_proxies = 1
        db.session.commit()
        chair = make_member(community, Role.CHAIR)
        delegate = make_member(community)
        grantors = [make_member(community).id for _ in range(8)]
        measure = make_measure(community, chair=chair)
        ids = (community.id, measure.id, delegate.id)
        db.session.remove()
    def grant(user_id):
        def work():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            user, community = db.session.get(User, user_id), db.session.get(Community, ids[0])
            voting.grant_proxy(actor=user, community=community, measure_id=ids[1], delegate_id=ids[2])
        return work

    outcomes = race(app, [grant(g) for g in grantors])
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 7
    with app.app_context():
        from deliberation.extensions import db

        assert db.session.scalar(select(func.count(Proxy.id)).where(Proxy.delegate_id == ids[2])) == 1


def test_show_of_hands_decides_the_measure(hall):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    with pytest.raises(ValidationError):
        voting.record_show_of_hands(actor=chair, community=community, measure_id=measure.id,
                                    counts={"yes": 5, "no": 3}, present=6)
    with pytest.raises(PermissionDenied):
        voting.record_show_of_hands(actor=residents[0], community=community, measure_id=measure.id,
                                    counts={"yes": 5}, present=6)
    voting.record_show_of_hands(actor=chair, community=community, measure_id=measure.id,
                                counts={"yes": 4, "no": 1, "abstain": 1}, present=7)
    assert measure.status == "closed" and measure.result["outcome"] == "passed"
    assert measure.result["hands"]["present"] == 7
    with pytest.raises(InvalidTransition):
        voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)


# ---------------------------------------------------------------- art. 278 and results


def test_art_278_preset_counts_owners_once_with_all_their_area(hall):
    community, chair, _, residents = hall
    units = [make_unit(community, f"3-1-{n}", area) for n, area in
             [(101, "100"), (102, "100"), (201, "100"), (202, "50"), (301, "50"), (302, "100")]]
    big = make_member(community, owns=(units[0], units[1]))  # two units: once in the headcount, 200 m²
    others = [make_member(community, owns=(u,)) for u in units[2:]]
    measure = make_measure(community, chair=chair, preset="art278_major", secret=False)
    assert measure.electorate == "owners" and measure.weighting == "area"
    for voter, content in [(big, YES), (others[0], YES), (others[1], YES), (others[3], ABSTAIN)]:
        voting.cast_ballot(actor=voter, community=community, measure_id=measure.id, content=content)
    _close(community, chair, measure)
    dm = measure.result["double_majority"]
    assert (dm["owners"], dm["area"]) == (5, "500")
    assert (dm["participating_owners"], dm["participating_area"]) == (4, "450")
    assert (dm["yes_owners"], dm["yes_area"]) == (3, "350")
    # 3/4 owners yes (3 of 4) but 350/450 area = 0.78 >= 0.75: passes as a major matter.
    assert measure.result["outcome"] == "passed"


def test_co_owners_share_their_unit(hall):
    community, chair, _, _ = hall
    unit = make_unit(community, "5-1-101", "90")
    a, b = make_member(community, owns=(unit,)), make_member(community, owns=(unit,))
    measure = make_measure(community, chair=chair, electorate="owners", weighting="unit", secret=False)
    entries = {e.user_id: e for e in db_entries(measure)}
    assert entries[a.id].weight == entries[b.id].weight == Decimal("0.5")
    assert entries[a.id].area == Decimal("45")


def db_entries(measure):
    from deliberation.extensions import db

    return list(db.session.scalars(select(Eligibility).where(Eligibility.measure_id == measure.id)))


def test_thresholds_and_abstentions(hall):
    community, chair, _, residents = hall
    two_thirds = make_measure(community, chair=chair, threshold="two_thirds", abstentions_count=True)
    for r, c in zip(residents, [YES, YES, NO, ABSTAIN, ABSTAIN], strict=True):
        voting.cast_ballot(actor=r, community=community, measure_id=two_thirds.id, content=c)
    assert voting.tally(two_thirds)["outcome"] == "rejected"  # 2 of 5 counted
    lenient = make_measure(community, chair=chair, item=two_thirds.item, threshold="two_thirds")
    for r, c in zip(residents, [YES, YES, NO, ABSTAIN, ABSTAIN], strict=True):
        voting.cast_ballot(actor=r, community=community, measure_id=lenient.id, content=c)
    assert voting.tally(lenient)["outcome"] == "passed"  # 2 of 3 counted, abstentions left out
    quorate = make_measure(community, chair=chair, item=two_thirds.item, quorum_headcount=Decimal("80"))
    voting.cast_ballot(actor=residents[0], community=community, measure_id=quorate.id, content=YES)
    assert voting.tally(quorate)["outcome"] == "no_quorum"


def test_results_are_hidden_until_close_unless_live(hall, client):
    community, chair, _, residents = hall
    hidden = make_measure(community, chair=chair)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=hidden.id, content=YES)
    assert voting.current_result(hidden) is None
    page = client.get(f"/c/{community.slug}/measures/{hidden.id}/results", headers={"Accept-Language": "en"})
    assert "Results are hidden until voting closes." in page.get_data(as_text=True)
    live = make_measure(community, chair=chair, item=hidden.item, results_live=True, secret=False)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=live.id, content=YES)
    assert voting.current_result(live)["counts"]["yes"] == "1"  # roll call: every ballot at once


def test_the_item_is_decided_when_its_last_measure_closes(hall):
    from deliberation.extensions import db

    community, chair, _, _ = hall
    first = make_measure(community, chair=chair)
    second = make_measure(community, chair=chair, item=first.item)
    _close(community, chair, first)
    assert db.session.get(AgendaItem, first.item_id).status == ItemStatus.VOTING
    _close(community, chair, second)
    assert db.session.get(AgendaItem, first.item_id).status == ItemStatus.DECIDED
    with pytest.raises(InvalidTransition):
        _close(community, chair, second)


# ---------------------------------------------------------------- pages


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


def test_vote_through_the_pages_with_a_confirmation_step_and_receipt(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, kind="single", options=["方案一", "方案二"])
    _login(client, residents[0])
    base = f"/c/{community.slug}/measures/{measure.id}"
    page = client.get(base)
    assert page.status_code == 200 and "方案一" in page.get_data(as_text=True)
    empty = client.post(f"{base}/vote", data={})
    assert empty.status_code == 400 and "请选择" in empty.get_data(as_text=True)
    check = client.post(f"{base}/vote", data={"choice": "B"})
    assert check.status_code == 200 and 'name="confirm"' in check.get_data(as_text=True)
    assert _cast(measure) == []  # nothing cast before confirming
    cast = client.post(f"{base}/vote", data={"choice": "B", "confirm": "1"})
    body = cast.get_data(as_text=True)
    assert cast.status_code == 200
    receipt = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", body).group(0)
    assert "回执" in body
    again = client.post(f"{base}/vote", data={"choice": "A", "confirm": "1"})
    assert again.status_code == 409

    assert [b["receipt"] for b in _cast(measure)] == [receipt]


def test_ranked_ballot_form_keeps_the_ranks_when_refused(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, kind="ranked", options=["甲", "乙", "丙"])
    _login(client, residents[0])
    response = client.post(f"/c/{community.slug}/measures/{measure.id}/vote",
                           data={"rank_A": "1", "rank_B": "1", "rank_C": "2"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'name="rank_C" value="2"' in body


def test_measure_form_reshows_input_on_error(hall, client):
    community, chair, _, _ = hall
    item = make_item(community)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    _login(client, chair)
    response = client.post(f"/c/{community.slug}/items/{item.id}/measures/new",
                           data={"kind": "single", "question": "选哪个方案？", "options": "只有一个",
                                 "preset": "custom", "electorate": "residents", "weighting": "person",
                                 "threshold": "majority", "closes_at": "2030-01-01T20:00"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "选哪个方案？" in body and "只有一个" in body
    created = client.post(f"/c/{community.slug}/items/{item.id}/measures/new",
                          data={"kind": "single", "question": "选哪个方案？", "options": "方案一\n方案二",
                                "preset": "custom", "electorate": "residents", "weighting": "person",
                                "threshold": "plurality", "secret": "y", "closes_at": "2030-01-01T20:00"})
    assert created.status_code == 303


def test_staff_paper_ballot_pages(hall, client):
    community, chair, staff, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, staff)
    base = f"/c/{community.slug}/measures/{measure.id}/paper"
    assert client.get(base).status_code == 200
    check = client.post(base, data={"what": "ballot", "voter_id": residents[2].id, "choice": "no"})
    assert check.status_code == 200 and 'name="confirm"' in check.get_data(as_text=True)
    done = client.post(base, data={"what": "ballot", "voter_id": residents[2].id, "choice": "no", "confirm": "1"})
    assert done.status_code == 200
    assert voting.has_voted(measure, residents[2].id)
    client.post("/logout")
    _login(client, residents[0])
    assert client.get(base).status_code == 403


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_measure_pages_render_for_every_kind(hall, client, lang):
    community, chair, _, residents = hall
    item = None
    kinds = [dict(kind="yes_no"), dict(kind="single", options=["一", "二"]), dict(kind="approval", options=["一", "二"]),
             dict(kind="ranked", options=["一", "二", "三"]), dict(kind="convention", text="公约全文"),
             dict(preset="art278_ordinary", secret=False)]
    unit = make_unit(community, "9-9-909", "77")
    make_member(community, owns=(unit,))
    client.set_cookie("lang", lang)
    measures = []
    for rules in kinds:
        measures.append(make_measure(community, chair=chair, item=item, **rules))
        item = measures[-1].item
    for measure in measures:
        for path in ("", "/results", "/board"):
            assert client.get(f"/c/{community.slug}/measures/{measure.id}{path}").status_code == 200
    for measure in measures:
        _close(community, chair, measure)
        for path in ("", "/results", "/board"):
            assert client.get(f"/c/{community.slug}/measures/{measure.id}{path}").status_code == 200
    assert client.get(f"/c/{community.slug}/items/{item.id}").status_code == 200


def test_turnout_is_announced_live(hall, client, socket_client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair, secret=False)  # roll call: every ballot shows
    sc = socket_client()
    from deliberation import realtime

    sc.emit("join", {"room": f"item:{measure.item_id}", "locale": "en", "last_id": realtime.last_event_id()},
            callback=True)
    sc.get_received()
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    events = [e for e in sc.get_received() if e["name"] == "vote.turnout"]
    assert events and f"turnout-{measure.id}" in events[-1]["args"][0]["target"]
    assert "1 of" in events[-1]["args"][0]["html"]


def test_flask_votes_close_due_closes_what_is_past_its_time(hall, runner):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    due = make_measure(community, chair=chair)
    later = make_measure(community, chair=chair, item=due.item)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=due.id, content=YES)
    db.session.execute(text("UPDATE measures SET closes_at = :t WHERE id = :id"),
                       {"t": utcnow() - timedelta(seconds=1), "id": due.id})
    db.session.commit()
    result = runner.invoke(args=["votes", "close-due"])
    assert result.exit_code == 0 and "Closed 1" in result.output
    db.session.expire_all()
    assert db.session.get(Measure, due.id).status == "closed"
    assert db.session.get(Measure, later.id).status == "open"


def test_a_busy_database_gives_a_readable_try_again_page(hall, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])

    def locked(**_kwargs):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(voting, "cast_ballot", locked)
    response = client.post(f"/c/{community.slug}/measures/{measure.id}/vote", data={"choice": "yes", "confirm": "1"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "Nothing was saved" in response.get_data(as_text=True)


def test_staff_set_how_many_proxies_a_member_may_hold(hall, client):
    community, chair, staff, residents = hall
    url = f"/c/{community.slug}/settings"
    _login(client, residents[0])
    assert client.post(url, data={"threshold": "5", "max_proxies": "3"}).status_code == 403
    client.post("/logout")
    _login(client, staff)
    refused = client.post(url, data={"threshold": "5", "max_proxies": "99"}, headers={"Accept-Language": "en"})
    assert refused.status_code == 400 and 'value="99"' in refused.get_data(as_text=True)
    assert client.post(url, data={"threshold": "5", "max_proxies": "0"}).status_code == 303
    from deliberation.extensions import db

    db.session.refresh(community)
    assert community.max_proxies == 0
    measure = make_measure(community, chair=chair)
    with pytest.raises(InvalidTransition):  # no proxies at all in this community now
        voting.grant_proxy(actor=residents[0], community=community, measure_id=measure.id,
                           delegate_id=residents[1].id)


# ---------------------------------------------------------------- secrecy of live figures and boards (issue 18)


def _replay(app, room: str) -> list[dict]:
    from deliberation.extensions import socketio

    anonymous = socketio.test_client(app)
    answer = anonymous.emit("join", {"room": room, "locale": "en", "last_id": 0}, callback=True)
    assert answer["ok"]
    events = [e["args"][0] for e in anonymous.get_received()]
    anonymous.disconnect()
    return events


def test_a_secret_live_vote_replays_no_ballot_by_ballot_tally(app, hall):
    """The attack: pair the stored turnout events, in order, with participations, in order."""
    community, chair, _, residents = hall
    voters = [make_member(community) for _ in range(12)]
    measure = make_measure(community, chair=chair, results_live=True)
    choices = ["yes", "no", "yes", "yes", "abstain", "no", "no", "yes", "no", "yes", "yes", "no"]
    published = []
    for who, choice in zip(voters, choices, strict=True):
        voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content={"choice": choice})
        published.append(voting.turnout(measure).cast)
        result = voting.current_result(measure)
        assert result is None or result["cast"]["count"] == published[-1]
    # The public figures moved only in steps of several ballots.
    assert published == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10]
    events = [e for e in _replay(app, f"item:{measure.item_id}") if e["name"] == "vote.turnout"]
    assert len(events) == 1  # a replay carries the current state only, not the sequence
    assert "10 of" in events[0]["html"]
    parts = count_rows(Participation, Participation.measure_id == measure.id)
    assert parts == 12  # who took part is on record; the replay cannot be paired with it one by one


def test_turnout_announcements_of_one_measure_are_coalesced(make_app):
    import time

    from deliberation import realtime
    from deliberation.extensions import db, socketio

    app = make_app(LIVE_COALESCE_SECONDS=0.5)
    with app.app_context():
        community = make_community()
        chair = make_member(community, Role.CHAIR)
        voters = [make_member(community) for _ in range(4)]
        measure = make_measure(community, chair=chair, secret=False, results_live=True)
        watcher = socketio.test_client(app)
        watcher.emit("join", {"room": f"item:{measure.item_id}", "locale": "en",
                              "last_id": realtime.last_event_id()}, callback=True)
        time.sleep(0.6)  # opening the vote announced it: let that window pass
        for who in voters:
            voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content=YES)
        first = [e for e in watcher.get_received() if e["name"] == "vote.turnout"]
        assert len(first) == 1 and "1 of" in first[0]["args"][0]["html"]  # the burst folds
        db.session.rollback()  # (end this thread's transaction: SQLite has one writer)
        time.sleep(1.0)
        later = [e for e in watcher.get_received() if e["name"] == "vote.turnout"]
        assert len(later) == 1 and "4 of" in later[0]["args"][0]["html"]  # ...into one, at the end
        watcher.disconnect()
        db.session.remove()


def test_secret_ballots_carry_no_area_and_the_form_refuses_area_with_secrecy(hall, client):
    community, chair, _, residents = hall
    for rules in ({"electorate": "owners", "weighting": "area"}, {"electorate": "owners", "weighting": "unit"},
                  {"preset": "art278_ordinary"}, {"quorum_area": 50, "electorate": "owners"}):
        with pytest.raises(ValidationError) as caught:  # asked for a secret ballot explicitly
            make_measure(community, chair=chair, open_now=False, secret=True, **rules)
        assert caught.value.field == "secret", rules
    # Left to its default, an art. 278 vote is a roll call (as signed sheets are in practice).
    assert not make_measure(community, chair=chair, open_now=False, preset="art278_ordinary").secret
    unit = make_unit(community, "3-2-601", "123.45")
    owner = make_member(community, owns=(unit,))
    measure = make_measure(community, chair=chair, electorate="owners")  # secret, one vote per person
    voting.cast_ballot(actor=owner, community=community, measure_id=measure.id, content=YES)
    _close(community, chair, measure)
    assert {str(b.area) for b in voting.board(measure)} <= {"0", "0.0000"}
    assert count_rows(Ballot, Ballot.area != 0) == 0
    board = client.get(f"/c/{community.slug}/measures/{measure.id}/board").get_data(as_text=True)
    export = client.get(f"/c/{community.slug}/measures/{measure.id}/board.json").get_json()
    assert "123.45" not in board and all(float(b["area"]) == 0 for b in export["ballots"])
    assert voting.checked_result(measure).ok  # and the board still recounts to the record


# ---------------------------------------------------------------- honest answers after a commit


def _stored_receipts(measure) -> list[str]:
    """Receipts of every stored ballot: public ones, and secret ones still sealed for the mixer."""
    from deliberation.extensions import db
    from deliberation.voting.models import BallotEnvelope

    db.session.expire_all()
    public = list(db.session.scalars(select(Ballot.receipt).where(Ballot.measure_id == measure.id)))
    sealed = list(db.session.scalars(select(BallotEnvelope).where(BallotEnvelope.measure_id == measure.id)))
    return sorted(public + [opened["receipt"] for opened in voting._opened(measure, sealed)])


def _confirm_step(client, base: str, choice: str = "yes") -> tuple[str, dict]:
    """The confirmation page's receipt code and the form it sends to cast."""
    page = client.post(f"{base}/vote", data={"choice": choice}, headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    code = re.search(r'class="receipt-preview"[^>]*>([^<]+)<', body).group(1)
    token = re.search(r'name="receipt_token" value="([^"]+)"', body).group(1)
    return code, {"choice": choice, "confirm": "1", "receipt_token": token}


def test_the_confirmation_step_shows_the_receipt_the_ballot_is_stored_with(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])
    base = f"/c/{community.slug}/measures/{measure.id}"
    code, form = _confirm_step(client, base)
    assert len(_stored_receipts(measure)) == 0
    cast = client.post(f"{base}/vote", data=form)
    assert cast.status_code == 200 and code in cast.get_data(as_text=True)

    assert _stored_receipts(measure) == [code]


def test_a_failure_after_the_commit_still_hands_out_the_receipt(hall, client, monkeypatch):
    """The re-read after the commit times out (as it did behind a rush of writers): the ballot
    is stored, so the voter gets its receipt, never "nothing was saved"."""
    from sqlalchemy.exc import OperationalError

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])
    base = f"/c/{community.slug}/measures/{measure.id}"
    code, form = _confirm_step(client, base)

    def locked(_measure):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(voting, "_announce_turnout", locked)
    cast = client.post(f"{base}/vote", data=form, headers={"Accept-Language": "en"})
    body = cast.get_data(as_text=True)
    assert cast.status_code == 200, body
    assert code in body and "Nothing was saved" not in body
    assert _stored_receipts(measure).count(code) == 1
    assert db_count(Participation, Participation.measure_id == measure.id) == 1


def test_a_voter_who_retries_is_told_the_ballot_was_already_counted(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])
    base = f"/c/{community.slug}/measures/{measure.id}"
    code, form = _confirm_step(client, base)
    assert client.post(f"{base}/vote", data=form).status_code == 200
    retry = client.post(f"{base}/vote", data=form, headers={"Accept-Language": "en"})
    body = retry.get_data(as_text=True)
    assert retry.status_code == 200 and "already counted" in body and code in body
    assert len(_stored_receipts(measure)) == 1
    # Without the confirmation's token (a fresh form), the second ballot is simply refused.
    fresh = client.post(f"{base}/vote", data={"choice": "no", "confirm": "1"})
    assert fresh.status_code == 409 and len(_stored_receipts(measure)) == 1


def test_a_receipt_token_cannot_be_forged_or_taken_from_another_voter(hall, client):
    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    base = f"/c/{community.slug}/measures/{measure.id}"
    _login(client, residents[0])
    first_code, first_form = _confirm_step(client, base)
    assert client.post(f"{base}/vote", data=first_form).status_code == 200
    client.post("/logout")
    _login(client, residents[1])
    # Another voter's signed token: neither their receipt nor "already counted" for this voter.
    stolen = client.post(f"{base}/vote", data=first_form)
    assert stolen.status_code == 200 and "already" not in stolen.get_data(as_text=True)
    assert _stored_receipts(measure).count(first_code) == 1
    assert len(_stored_receipts(measure)) == 2
    client.post("/logout")
    _login(client, residents[2])
    forged = client.post(f"{base}/vote", data={"choice": "yes", "confirm": "1", "receipt_token": "x.y"})
    assert forged.status_code == 200 and len(_stored_receipts(measure)) == 3


def test_the_busy_page_after_a_commit_does_not_say_nothing_was_saved(hall, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    _login(client, residents[0])
    base = f"/c/{community.slug}/measures/{measure.id}"

    def locked(_measure):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(voting, "_announce_turnout", locked)
    # No confirmation token (an old form): the app cannot show a receipt, but must not lie.
    response = client.post(f"{base}/vote", data={"choice": "yes", "confirm": "1"},
                           headers={"Accept-Language": "en"})
    body = response.get_data(as_text=True)
    assert response.status_code == 503 and "Nothing was saved" not in body and "was saved" in body
    assert len(_stored_receipts(measure)) == 1


# ---------------------------------------------------------------- unlinkable in the database (issue 18)


def _secret_vote(community, chair, n: int):
    voters = [make_member(community) for _ in range(n)]
    measure = make_measure(community, chair=chair)
    cast_order = []
    for n_, who in enumerate(voters):
        cast_order.append(voting.cast_ballot(actor=who, community=community, measure_id=measure.id,
                                             content=[YES, NO, ABSTAIN][n_ % 3]))
    return measure, voters, cast_order


def test_secret_ballots_wait_sealed_and_move_in_shuffled_batches(hall):
    from deliberation.extensions import db

    community, chair, _, _ = hall
    measure, voters, cast_order = _secret_vote(community, chair, 12)
    sealed = db_count(BallotEnvelope, BallotEnvelope.measure_id == measure.id)
    public = db_count(Ballot, Ballot.measure_id == measure.id)
    assert sealed + public == 12 == db_count(Participation, Participation.measure_id == measure.id)
    assert sealed >= voting.MIX_BATCH and public % voting.MIX_BATCH == 0  # whole batches only
    for row in db.session.scalars(select(BallotEnvelope)):
        assert "yes" not in row.sealed and "choice" not in row.sealed  # sealed: nothing readable
    _close(community, chair, measure)
    assert db_count(BallotEnvelope) == 0
    board = voting.board(measure)
    assert sorted(b.receipt for b in board) == sorted(cast_order) and len(board) == 12
    assert voting.checked_result(measure).ok


def test_a_failed_batch_loses_nothing_and_the_close_mixes_the_rest(hall, monkeypatch):
    community, chair, _, _ = hall
    broken = {"calls": 0}
    real = voting.envelopes.open_sealed

    def flaky(*args):
        broken["calls"] += 1
        if broken["calls"] == 3:  # dies in the middle of a batch
            raise RuntimeError("killed")
        return real(*args)

    monkeypatch.setattr(voting.envelopes, "open_sealed", flaky)
    measure, voters, cast_order = _secret_vote(community, chair, 11)
    monkeypatch.setattr(voting.envelopes, "open_sealed", real)
    assert db_count(Ballot) + db_count(BallotEnvelope) == 11 == db_count(Participation)
    _close(community, chair, measure)
    assert db_count(Ballot, Ballot.measure_id == measure.id) == 11 == len(voting.board(measure))


KILL_SCRIPT = """
import os, sys
os.environ["SECRET_KEY"] = "tests-only-secret"
from deliberation import create_app
from deliberation.accounts.models import User
from deliberation.communities.models import Community
from deliberation.extensions import db
from deliberation.voting import services as voting
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "TESTING": True, "LIVE_COALESCE_SECONDS": 0,
                  "CLOSE_DUE_EVERY": 0, "RATELIMIT_ENABLED": False})
with app.app_context():
    community = db.session.get(Community, int(sys.argv[2]))
    for uid in sys.argv[4:]:
        voting.cast_ballot(actor=db.session.get(User, int(uid)), community=community,
                           measure_id=int(sys.argv[3]), content={"choice": "yes"})
        print(uid, flush=True)
"""


def test_nothing_cast_is_lost_across_a_kill_9(hall, database_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from deliberation.extensions import db

    community, chair, _, _ = hall
    voters = [make_member(community) for _ in range(40)]
    measure = make_measure(community, chair=chair)
    ids = [str(v.id) for v in voters]
    community_id, chair_id, measure_id = community.id, chair.id, measure.id
    db.session.commit()
    db.session.remove()
    script = tmp_path / "cast.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, str(script), database_url, str(community_id), str(measure_id), *ids],
                               stdout=subprocess.PIPE, text=True, env=env)
    for done, _line in enumerate(process.stdout, start=1):
        if done == 17:  # in the middle of casting (and of mixing): no warning, no cleanup
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait()
    parts = db_count(Participation, Participation.measure_id == measure_id)
    assert parts >= 17
    assert db_count(Ballot, Ballot.measure_id == measure_id) + \
        db_count(BallotEnvelope, BallotEnvelope.measure_id == measure_id) == parts
    from deliberation.accounts.models import User
    from deliberation.communities.models import Community

    measure = db.session.get(Measure, measure_id)
    _close(db.session.get(Community, community_id), db.session.get(User, chair_id), measure)
    assert len(voting.board(measure)) == parts == voting.exact_turnout(measure).cast
    assert voting.checked_result(measure).ok


def test_a_select_only_postgres_role_cannot_link_secret_ballots(hall):
    from sqlalchemy import create_engine

    from deliberation.extensions import db
    from tests.conftest import ON_POSTGRES

    if not ON_POSTGRES:
        pytest.skip("PostgreSQL: transaction ids and physical order")
    community, chair, _, _ = hall
    measure, voters, cast_order = _secret_vote(community, chair, 12)
    _close(community, chair, measure)
    db.session.execute(text("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dh_reader') THEN "
                            "CREATE ROLE dh_reader LOGIN; END IF; END $$"))
    db.session.execute(text("GRANT USAGE ON SCHEMA public TO dh_reader"))
    db.session.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO dh_reader"))
    db.session.commit()
    url = db.engine.url.set(username="dh_reader", password=None)
    reader = create_engine(url)
    try:
        with reader.connect() as conn:
            linked = conn.execute(text(
                "SELECT p.voter_id FROM participations p JOIN ballots b ON b.xmin = p.xmin "
                "WHERE p.measure_id = :m AND b.measure_id = :m"), {"m": measure.id}).all()
            assert linked == []  # no ballot shares a transaction with a participation
            stored = [r[0] for r in conn.execute(text(
                "SELECT receipt FROM ballots WHERE measure_id = :m ORDER BY ctid"), {"m": measure.id})]
            by_id = [r[0] for r in conn.execute(text(
                "SELECT receipt FROM ballots WHERE measure_id = :m ORDER BY id"), {"m": measure.id})]
    finally:
        reader.dispose()
    assert sorted(stored) == sorted(cast_order)
    assert stored != cast_order and by_id != cast_order  # neither storage nor id order is the casting order

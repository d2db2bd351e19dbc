"""Outcome records: one resolution per close (also under concurrent closes), the hash chain and
everything that breaks it, corrections, the public archive and its exports, the printable page,
implementation tracking and who may do what."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from deliberation.agenda import services as agenda
from deliberation.agenda.models import AgendaItem, ItemStatus
from deliberation.append_only import drop_statements
from deliberation.communities.models import Role
from deliberation.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from deliberation.notifications.models import Notification
from deliberation.records import chain
from deliberation.records import services as records
from deliberation.records.models import Follow, ImplementationUpdate, Resolution
from deliberation.review import services as review
from deliberation.timeutil import travel_to, utcnow
from deliberation.voting import services as voting
from deliberation.voting.models import Measure
from tests.factories import make_community, make_item, make_measure, make_member, race

YES = {"choice": "yes"}
NO = {"choice": "no"}


@pytest.fixture
def hall(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    residents = [make_member(community, name=f"居民{i}") for i in range(4)]
    return community, chair, staff, residents


def _decide(community, chair, residents, choices=("yes", "yes", "no"), **rules) -> Resolution:
    measure = make_measure(community, chair=chair, **rules)
    for who, choice in zip(residents, choices, strict=False):
        voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content={"choice": choice})
    voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    return records.resolution_of(measure)


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


@pytest.fixture(autouse=True)
def _append_only_triggers_restored(app):
    """Some tests drop the append-only triggers, as an attacker would. On SQLite every test has a
    fresh copy of the database; on PostgreSQL the schema outlives the test, so put them back."""
    yield
    from deliberation.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    import importlib.util
    from pathlib import Path

    from deliberation.append_only import create_statements

    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0010_secrecy.py"
    spec = importlib.util.spec_from_file_location("secrecy_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in ("resolutions", "implementation_updates", "ballots", "participations"):
            for statement in drop_statements(table, "postgresql") + create_statements(table, "postgresql"):
                conn.execute(text(statement))
        conn.execute(text("DROP TRIGGER IF EXISTS measures_result_final ON measures"))
        for statement in migration.POSTGRES_RESULT_FINAL:
            conn.execute(text(statement))


def _drop_triggers(db):
    """What an attacker with the database's password could do first."""
    dialect = db.engine.dialect.name
    for table in ("resolutions", "implementation_updates"):
        for statement in drop_statements(table, dialect):
            db.session.execute(text(statement))
    db.session.commit()


# ---------------------------------------------------------------- writing resolutions


def test_closing_a_measure_writes_its_resolution(hall):
    community, chair, _, residents = hall
    legal = make_member(community, Role.LEGAL, name="律师")
    measure = make_measure(community, chair=chair, open_now=False)
    (request,) = review.request_review(actor=chair, community=community, item_id=measure.item_id,
                                       reviewer_ids=[legal.id], question="合法吗？",
                                       due_on=utcnow().date() + timedelta(days=3))
    review.submit_review(actor=legal, community=community, request_id=request.id, verdict="supports",
                         body="没有法律问题。")
    voting.open_measure(actor=chair, community=community, measure_id=measure.id)
    for who, choice in zip(residents, ["yes", "yes", "no"], strict=False):
        voting.cast_ballot(actor=who, community=community, measure_id=measure.id, content={"choice": choice})
    voting.close_measure(actor=chair, community=community, measure_id=measure.id)

    resolution = records.resolution_of(measure)
    assert resolution.seq == 1 and resolution.kind == "resolution" and resolution.outcome == "adopted"
    assert resolution.prev_hash == chain.GENESIS
    assert resolution.hash == hashlib.sha256((chain.GENESIS + resolution.canonical).encode()).hexdigest()
    content = records.content_of(resolution)
    body = content["body"]
    assert body["question"] == measure.question and body["measure_kind"] == "yes_no"
    assert body["rules"]["threshold"] == "majority" and body["rules"]["secret"] is True
    roll = voting.exact_turnout(measure)
    assert body["result"]["eligible"]["count"] == roll.eligible and body["result"]["cast"]["count"] == 3
    assert body["result"]["counts"] == {"yes": "2", "no": "1", "abstain": "0"}
    assert body["result"]["quorum"]["met"] is True and body["result"]["outcome"] == "passed"
    assert body["closed_by"] == "主持人"
    assert [(r["reviewer"], r["verdict"]) for r in body["reviews"]] == [("律师", "supports")]
    assert body["links"]["board"].endswith(f"/measures/{measure.id}/board.json")
    assert content["number"] == f"{resolution.year}-001" and content["decided_at"]
    # whoever raised the matter follows its implementation
    item = measure.item
    assert records.is_following(resolution, item.author)


def test_a_convention_record_keeps_the_frozen_text_and_a_ranked_one_its_rounds(hall):
    community, chair, _, residents = hall
    convention = _decide(community, chair, residents, kind="convention", question="是否通过养犬公约？",
                         text="1. 遛狗牵绳。\n2. 清理粪便。")
    body = records.content_of(convention)["body"]
    assert body["convention"]["text"] == "1. 遛狗牵绳。\n2. 清理粪便。"
    assert body["convention"]["sha256"] == hashlib.sha256("1. 遛狗牵绳。\n2. 清理粪便。".encode()).hexdigest()

    ranked = make_measure(community, chair=chair, kind="ranked", question="哪个方案？", options=["甲", "乙", "丙"])
    for who, ranking in zip(residents, [["A", "B"], ["B", "A"], ["C", "B"], ["A"]], strict=True):
        voting.cast_ballot(actor=who, community=community, measure_id=ranked.id, content={"ranking": ranking})
    voting.close_measure(actor=chair, community=community, measure_id=ranked.id)
    resolution = records.resolution_of(ranked)
    body = records.content_of(resolution)["body"]
    assert len(body["result"]["irv"]["rounds"]) >= 2 and body["result"]["schulze"]
    assert resolution.seq == 2 and resolution.prev_hash == convention.hash


def test_outcomes_are_recorded_for_rejected_no_quorum_and_hands(hall):
    community, chair, _, residents = hall
    rejected = _decide(community, chair, residents, choices=("no", "no", "yes"))
    assert rejected.outcome == "rejected"
    no_quorum = _decide(community, chair, residents, choices=("yes",), quorum_headcount="50")
    assert no_quorum.outcome == "no_quorum"
    hands = make_measure(community, chair=chair)
    voting.record_show_of_hands(actor=chair, community=community, measure_id=hands.id,
                                counts={"yes": 4, "no": 1, "abstain": 0}, present=5)
    resolution = records.resolution_of(hands)
    assert resolution.outcome == "adopted" and records.content_of(resolution)["body"]["method"] == "hands"


def test_closing_twice_writes_one_resolution(hall):
    community, chair, _, residents = hall
    resolution = _decide(community, chair, residents)
    with pytest.raises(InvalidTransition):
        voting.close_measure(actor=chair, community=community, measure_id=resolution.measure_id)
    assert voting.close_due_measures() == 0
    from deliberation.extensions import db

    assert db.session.scalar(select(func.count(Resolution.id))) == 1


def test_a_measure_closes_at_its_time_even_if_nobody_looks(hall, runner):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    measure = make_measure(community, chair=chair)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    db.session.execute(text("UPDATE measures SET closes_at = :t WHERE id = :id"),
                       {"t": utcnow() - timedelta(seconds=1), "id": measure.id})
    db.session.commit()
    from flask import current_app

    from deliberation.voting.sweeper import sweep_once

    assert sweep_once(current_app._get_current_object()) == 1
    db.session.expire_all()
    resolution = records.resolution_of(db.session.get(Measure, measure.id))
    assert resolution is not None and records.content_of(resolution)["body"]["closed_by"] is None


def test_the_server_sweeps_due_votes_in_the_background(make_app):
    """With CLOSE_DUE_EVERY set, the first request starts a loop that closes due votes."""
    import time

    from deliberation.voting import sweeper
    from deliberation.voting.sweeper import stop_sweeper

    app = make_app(CLOSE_DUE_EVERY=0.05)
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        measure = make_measure(community)
        db.session.execute(text("UPDATE measures SET closes_at = :t WHERE id = :id"),
                           {"t": utcnow() - timedelta(seconds=1), "id": measure.id})
        db.session.commit()
        measure_id = measure.id
        db.session.remove()
    try:
        app.test_client().get("/healthz")
        loop = sweeper._tasks[id(app)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with app.app_context():
                from deliberation.extensions import db

                found = db.session.scalar(select(Resolution.id).where(Resolution.measure_id == measure_id))
                db.session.remove()
            if found:
                break
            time.sleep(0.05)
        assert found, "the background sweep did not close the due vote"
    finally:
        stop_sweeper(app)
    # Stopped means ended: no sweep still holds the database when the next test empties it.
    assert not loop.is_alive()


def test_concurrent_closes_of_one_measure_write_one_resolution(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        chair = make_member(community, Role.CHAIR)
        measure = make_measure(community, chair=chair)
        db.session.execute(text("UPDATE measures SET closes_at = :t WHERE id = :id"),
                           {"t": utcnow() - timedelta(seconds=1), "id": measure.id})
        db.session.commit()
        ids = (community.id, chair.id, measure.id)
        db.session.remove()

    def by_chair():
        from deliberation.accounts.models import User
        from deliberation.communities.models import Community
        from deliberation.extensions import db

        voting.close_measure(actor=db.session.get(User, ids[1]), community=db.session.get(Community, ids[0]),
                             measure_id=ids[2])

    def by_the_app():
        if voting.close_due_measures() != 1:
            raise Conflict()

    outcomes = race(app, [by_chair] * 5 + [by_the_app] * 5)
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 9, outcomes
    with app.app_context():
        from deliberation.extensions import db

        assert db.session.scalar(select(func.count(Resolution.id)).where(Resolution.measure_id == ids[2])) == 1


def test_concurrent_closes_of_different_measures_keep_one_unbroken_chain(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        chair = make_member(community, Role.CHAIR)
        measures = [make_measure(community, chair=chair).id for _ in range(6)]
        ids = (community.id, chair.id)
        db.session.remove()

    def closer(measure_id):
        def work():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            voting.close_measure(actor=db.session.get(User, ids[1]), community=db.session.get(Community, ids[0]),
                                 measure_id=measure_id)
        return work

    outcomes = race(app, [closer(m) for m in measures])
    assert outcomes == ["ok"] * 6
    with app.app_context():
        from deliberation.communities.models import Community
        from deliberation.extensions import db

        seqs = sorted(db.session.scalars(select(Resolution.seq).where(Resolution.community_id == ids[0])))
        assert seqs == [1, 2, 3, 4, 5, 6]
        assert records.verify(db.session.get(Community, ids[0])).ok


# ---------------------------------------------------------------- the chain and attacks on it


def test_the_database_refuses_changes_to_records(hall):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents)
    records.post_update(actor=staff, community=community, seq=resolution.seq, status="in_progress", percent=10,
                        note="开工", on_date=None)
    for statement in ("UPDATE resolutions SET outcome = 'rejected'", "DELETE FROM resolutions",
                      "UPDATE implementation_updates SET percent = 90", "DELETE FROM implementation_updates"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert records.verify(community).ok


def _three_records(hall):
    community, chair, staff, residents = hall
    first = _decide(community, chair, residents)
    _decide(community, chair, residents, choices=("no", "no"))
    records.write_correction(actor=staff, community=community, seq=first.seq, text="第一条记录里的说明写错了一个字。")
    return community


TAMPERING = [
    ("canonical", "REPLACE(canonical, '主持人', '别人')"),
    ("outcome", "'tie'"),
    ("hash", "'" + "f" * 64 + "'"),
    ("prev_hash", "'" + "e" * 64 + "'"),
    ("number", "'1999-001'"),
    ("year", "1999"),
    ("kind", "'correction'"),
    ("decided_at", "recorded_at"),
    ("recorded_at", "decided_at"),
    ("item_id", "NULL"),
    ("category_id", "NULL"),
    ("measure_id", "NULL"),
]


@pytest.mark.parametrize(("column", "value"), TAMPERING, ids=[c for c, _ in TAMPERING])
def test_tampering_with_any_stored_field_is_detected(hall, column, value):
    from deliberation.extensions import db

    community = _three_records(hall)
    assert records.verify(community).ok
    _drop_triggers(db)
    if column in ("decided_at", "recorded_at"):  # make the two times differ first
        value = "decided_at" if column == "recorded_at" else "recorded_at"
        db.session.execute(text("UPDATE resolutions SET recorded_at = recorded_at + interval '1 hour' WHERE seq = 2"
                                if db.engine.dialect.name == "postgresql" else
                                "UPDATE resolutions SET recorded_at = datetime(recorded_at, '+1 hour') WHERE seq = 2"))
        db.session.commit()
        result = records.verify(community)
        assert not result.ok and result.check.first_break.seq == 2
        return
    db.session.execute(text(f"UPDATE resolutions SET {column} = {value} WHERE seq = 2"))  # noqa: S608 - test constants
    db.session.commit()
    result = records.verify(community)
    assert not result.ok
    assert result.check.first_break.seq == 2 and result.check.count == 1


def test_a_rewritten_record_with_a_recomputed_hash_breaks_the_next_link(hall):
    from deliberation.extensions import db

    community = _three_records(hall)
    _drop_triggers(db)
    row = db.session.scalar(select(Resolution).where(Resolution.seq == 2))
    forged = row.canonical.replace('"outcome":"rejected"', '"outcome":"adopted"')
    db.session.execute(text("UPDATE resolutions SET canonical = :c, outcome = 'adopted', hash = :h WHERE seq = 2"),
                       {"c": forged, "h": chain.link_hash(row.prev_hash, forged)})
    db.session.commit()
    result = records.verify(community)
    assert result.check.first_break.seq == 3 and result.check.first_break.reason == "link"


def test_reordering_records_is_detected(hall):
    from deliberation.extensions import db

    community = _three_records(hall)
    _drop_triggers(db)
    db.session.execute(text("UPDATE resolutions SET seq = seq + 100 WHERE seq IN (1, 2)"))
    db.session.execute(text("UPDATE resolutions SET seq = 2 WHERE seq = 101"))
    db.session.execute(text("UPDATE resolutions SET seq = 1 WHERE seq = 102"))
    db.session.commit()
    result = records.verify(community)
    assert not result.ok and result.check.first_break.seq == 1


@pytest.mark.parametrize("which", [1, 2, 3])
def test_deleting_a_record_is_detected(hall, which):
    """A gap breaks the chain; a deleted resolution leaves its closed measure without one; the
    last record removed leaves an intact but shorter chain, caught by the posted head hash."""
    from deliberation.extensions import db

    community = _three_records(hall)
    posted_head = records.head(community)[1]
    _drop_triggers(db)
    if which == 1:  # the correction (seq 3) points to seq 1: remove that reference first
        db.session.execute(text("DELETE FROM resolution_follows"))
        db.session.execute(text("UPDATE resolutions SET corrects_id = NULL"))
    db.session.execute(text("DELETE FROM resolution_follows WHERE resolution_id IN "
                            "(SELECT id FROM resolutions WHERE seq = :s)"), {"s": which})
    db.session.execute(text("DELETE FROM resolutions WHERE seq = :s"), {"s": which})
    db.session.commit()
    result = records.verify(community)
    if which == 3:
        assert result.ok and result.check.count == 2 and result.check.head != posted_head
        return
    assert not result.ok
    if which == 2:
        assert result.check.first_break.seq == 3 and result.check.first_break.reason == "missing"
        assert result.unrecorded  # its measure is closed but has no record


def test_flask_records_verify_exits_non_zero_naming_the_first_broken_record(hall, runner):
    from deliberation.extensions import db

    community = _three_records(hall)
    ok = runner.invoke(args=["records", "verify"])
    assert ok.exit_code == 0 and "intact, 3 record(s)" in ok.output
    _drop_triggers(db)
    db.session.execute(text("UPDATE resolutions SET canonical = canonical || ' ' WHERE seq = 2"))
    db.session.commit()
    broken = runner.invoke(args=["records", "verify", "--community", community.slug])
    assert broken.exit_code == 1
    number = db.session.scalar(select(Resolution.number).where(Resolution.seq == 2))
    assert f"record #2 (No. {number})" in broken.output


def test_the_public_check_page_shows_the_head_and_any_break(hall, client):
    from deliberation.extensions import db

    community = _three_records(hall)
    count, head = records.head(community)
    page = client.get(f"/c/{community.slug}/records/verify", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "intact: 3 records" in page.get_data(as_text=True)
    assert head in page.get_data(as_text=True)
    _drop_triggers(db)
    db.session.execute(text("UPDATE resolutions SET outcome = 'tie' WHERE seq = 1"))
    db.session.commit()
    page = client.get(f"/c/{community.slug}/records/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "has been altered" in page and "position 1" in page


def test_each_community_has_its_own_chain(hall, client):
    community, chair, _, residents = hall
    _decide(community, chair, residents)
    other = make_community()
    other_chair = make_member(other, Role.CHAIR)
    other_residents = [make_member(other) for _ in range(2)]
    theirs = _decide(other, other_chair, other_residents)
    assert theirs.seq == 1 and theirs.prev_hash == chain.GENESIS
    assert client.get(f"/c/{other.slug}/records/2").status_code == 404
    assert records.verify(community).ok and records.verify(other).ok


# ---------------------------------------------------------------- corrections


def test_a_correction_is_a_new_record_and_the_original_stays(hall, client):
    community, chair, staff, residents = hall
    original = _decide(community, chair, residents)
    before = (original.canonical, original.hash)
    with pytest.raises(PermissionDenied):
        records.write_correction(actor=residents[0], community=community, seq=original.seq, text="我想改一下结果。。。")
    with pytest.raises(ValidationError):
        records.write_correction(actor=staff, community=community, seq=original.seq, text="短")
    correction = records.write_correction(actor=staff, community=community, seq=original.seq,
                                          text="公示中的开放时间写错，应为 19:00 而不是 18:00。")
    assert correction.seq == 2 and correction.corrects_id == original.id and correction.kind == "correction"
    assert records.content_of(correction)["corrects"] == 1
    assert records.content_of(correction)["body"]["corrected"]["hash"] == original.hash
    assert (original.canonical, original.hash) == before
    page = client.get(f"/c/{community.slug}/records/{original.seq}", headers={"Accept-Language": "en"})
    assert f"corrected later by No. {correction.number}" in page.get_data(as_text=True)
    assert records.verify(community).ok


def test_correction_page_keeps_the_text_on_error_and_is_for_staff_only(hall, client):
    community, chair, staff, residents = hall
    original = _decide(community, chair, residents)
    _login(client, residents[0])
    assert client.get(f"/c/{community.slug}/records/{original.seq}/correct").status_code == 403
    client.post("/logout")
    _login(client, staff)
    refused = client.post(f"/c/{community.slug}/records/{original.seq}/correct", data={"text": "太短了"},
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 400 and "太短了" in refused.get_data(as_text=True)
    made = client.post(f"/c/{community.slug}/records/{original.seq}/correct",
                       data={"text": "结果公示日期写错了，应为三月二日。"})
    assert made.status_code == 303 and made.headers["Location"].endswith("/records/2")


# ---------------------------------------------------------------- archive, exports, print


def test_archive_filters_by_year_category_result_and_progress(hall, client):
    community, chair, staff, residents = hall
    adopted = _decide(community, chair, residents)
    rejected = _decide(community, chair, residents, choices=("no", "no"))
    item = make_item(community, category_key="environment", title="垃圾分类投放点加洗手池")
    agenda.accept_item(actor=staff, community=community, item_id=item.id)
    env = make_measure(community, chair=chair, item=item, question="是否安装洗手池？")
    voting.cast_ballot(actor=residents[0], community=community, measure_id=env.id, content=YES)
    voting.close_measure(actor=chair, community=community, measure_id=env.id)
    records.post_update(actor=staff, community=community, seq=adopted.seq, status="done", percent=100, note="",
                        on_date=None)

    def listed(**query):
        page = client.get(f"/c/{community.slug}/records", query_string=query).get_data(as_text=True)
        return {seq for seq in (1, 2, 3) if f"/records/{seq}\"" in page}

    assert listed() == {1, 2, 3}
    assert listed(outcome="rejected") == {rejected.seq}
    env_category = db_category(community, "environment")
    assert listed(category=env_category) == {3}
    assert listed(year=adopted.year) == {1, 2, 3} and listed(year=1999) == set()
    assert listed(progress="done") == {1} and listed(progress="not_started") == {3}
    fragment = client.get(f"/c/{community.slug}/records", query_string={"outcome": "adopted"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="record-list"')


def db_category(community, key):
    return next(c.id for c in agenda.categories(community) if c.key == key)


def test_exports_let_anyone_check_the_chain(hall, client):
    community = _three_records(hall)
    data = client.get(f"/c/{community.slug}/records.json").get_json()
    assert data["count"] == 3
    prev = "0" * 64
    for row in data["records"]:  # an outsider's check, with nothing but hashlib
        assert row["prev_hash"] == prev
        assert hashlib.sha256((prev + row["canonical"]).encode("utf-8")).hexdigest() == row["hash"]
        prev = row["hash"]
    assert prev == data["head"]

    response = client.get(f"/c/{community.slug}/records.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert rows[2]["kind"] == "correction" and rows[2]["corrects"] == "1"
    assert rows[0]["hash"] == data["records"][0]["hash"] and rows[0]["url"].endswith("/records/1")


def test_csv_cells_cannot_run_as_formulas(hall, client):
    community, chair, _, residents = hall
    _decide(community, chair, residents, question="=HYPERLINK(\"http://evil\")")
    rows = list(csv.DictReader(io.StringIO(client.get(f"/c/{community.slug}/records.csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["question"].startswith("'=")


def test_record_pages_are_public_permanent_and_printable(hall, client):
    community, chair, _, residents = hall
    resolution = _decide(community, chair, residents)
    for lang in ("zh-CN", "en"):
        page = client.get(f"/c/{community.slug}/records/{resolution.seq}", headers={"Accept-Language": lang})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert resolution.hash in html and resolution.number in html
    printable = client.get(f"/c/{community.slug}/records/{resolution.seq}/print").get_data(as_text=True)
    assert "<svg" in printable and resolution.hash in printable
    assert f"http://localhost/c/{community.slug}/records/{resolution.seq}" in printable
    assert client.get(f"/c/{community.slug}/records/999").status_code == 404
    item_page = client.get(f"/c/{community.slug}/items/{resolution.item_id}").get_data(as_text=True)
    assert f"/records/{resolution.seq}" in item_page


def test_every_archive_page_renders_in_both_languages(hall, client):
    community = _three_records(hall)
    for lang in ("zh-CN", "en"):
        for path in ("records", "records/1", "records/3", "records/1/print", "records/verify"):
            assert client.get(f"/c/{community.slug}/{path}", headers={"Accept-Language": lang}).status_code == 200


# ---------------------------------------------------------------- implementation tracking


def test_staff_report_progress_followers_hear_and_the_item_follows(hall):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents)
    follower = residents[1]
    records.follow(actor=follower, community=community, seq=resolution.seq, on=True)
    records.follow(actor=follower, community=community, seq=resolution.seq, on=True)  # twice is once
    assert db.session.scalar(select(func.count(Follow.id)).where(Follow.user_id == follower.id)) == 1
    with pytest.raises(PermissionDenied):
        records.post_update(actor=residents[0], community=community, seq=resolution.seq, status="done",
                            percent=100, note="", on_date=None)
    records.post_update(actor=staff, community=community, seq=resolution.seq, status="in_progress", percent=40,
                        note="已采购材料", on_date=None)
    item = db.session.get(AgendaItem, resolution.item_id)
    assert item.status == ItemStatus.IMPLEMENTING
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "resolution.progress")))
    assert {n.user_id for n in notes} >= {follower.id}
    records.post_update(actor=staff, community=community, seq=resolution.seq, status="done", percent=100,
                        note="完工", on_date=None)
    db.session.refresh(item)
    assert item.status == ItemStatus.CLOSED
    state = records.implementation_states([resolution])[resolution.id]
    assert state.state == "done" and state.percent == 100


def test_progress_is_checked(hall):
    community, chair, staff, residents = hall
    adopted = _decide(community, chair, residents)
    rejected = _decide(community, chair, residents, choices=("no", "no"))
    with pytest.raises(InvalidTransition):
        records.post_update(actor=staff, community=community, seq=rejected.seq, status="in_progress", percent=5,
                            note="", on_date=None)
    for status, percent, on_date in [("done", 80, None), ("in_progress", 101, None), ("in_progress", -1, None),
                                     ("finished", 10, None), ("in_progress", 10, utcnow().date() + timedelta(days=3)),
                                     ("in_progress", 10, datetime(2000, 1, 1).date())]:
        with pytest.raises(ValidationError):
            records.post_update(actor=staff, community=community, seq=adopted.seq, status=status, percent=percent,
                                note="", on_date=on_date)


def test_an_adopted_resolution_without_reports_for_sixty_days_is_stalled(hall):
    community, chair, staff, residents = hall
    with travel_to(utcnow() - timedelta(days=100)):
        old = _decide(community, chair, residents)
        records.post_update(actor=staff, community=community, seq=old.seq, status="in_progress", percent=40,
                            note="", on_date=None)
    fresh = _decide(community, chair, residents)
    states = records.implementation_states([old, fresh])
    assert states[old.id].state == "stalled" and states[fresh.id].state == "not_started"
    with travel_to(utcnow() + timedelta(days=61)):
        assert records.implementation_states([fresh])[fresh.id].state == "stalled"


def test_progress_form_reshows_what_was_typed_and_follow_needs_login(hall, client):
    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents)
    follow = client.post(f"/c/{community.slug}/records/{resolution.seq}/follow", data={"on": "1"})
    assert follow.status_code in (302, 303) and "/login" in follow.headers["Location"]
    _login(client, staff)
    refused = client.post(f"/c/{community.slug}/records/{resolution.seq}/progress",
                          data={"status": "done", "percent": "50", "note": "路面已铺好一半"},
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "路面已铺好一半" in html and "all done" in html
    posted = client.post(f"/c/{community.slug}/records/{resolution.seq}/progress",
                         data={"status": "in_progress", "percent": "50", "note": "路面已铺好一半"})
    assert posted.status_code == 303
    from deliberation.extensions import db

    assert db.session.scalar(select(func.count(ImplementationUpdate.id))) == 1
    page = client.get(f"/c/{community.slug}/records/{resolution.seq}").get_data(as_text=True)
    assert "路面已铺好一半" in page


def test_only_staff_see_the_progress_form(hall, client):
    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents)
    url = f"/c/{community.slug}/records/{resolution.seq}"
    assert 'name="percent"' not in client.get(url).get_data(as_text=True)
    _login(client, residents[0])
    assert 'name="percent"' not in client.get(url).get_data(as_text=True)
    assert client.post(url + "/progress", data={"status": "done", "percent": "100"}).status_code == 403
    client.post("/logout")
    _login(client, staff)
    assert 'name="percent"' in client.get(url).get_data(as_text=True)


def test_canonical_json_is_stable():
    record = {"b": 1, "a": {"z": "中文", "y": [1, 2]}}
    assert chain.canonical(record) == '{"a":{"y":[1,2],"z":"中文"},"b":1}'
    assert chain.verify([]).ok and chain.verify([]).head == chain.GENESIS
    assert json.loads(chain.canonical(record)) == record


def test_a_backup_taken_under_write_load_restores_an_intact_chain(make_app, tmp_path):
    """Votes keep closing (each writing a resolution) while `flask backup` runs; the backup
    restores to a database whose integrity and hash chain check out."""
    import shutil as _shutil

    from deliberation.backup import backup, restore
    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES and not _shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        chair = make_member(community, Role.CHAIR)
        voter = make_member(community)
        measures = [make_measure(community, chair=chair).id for _ in range(40)]
        ids = (community.id, chair.id, voter.id)
        url = str(db.engine.url.render_as_string(hide_password=False))
        db.session.remove()
    stop, closed = threading.Event(), []

    def write():
        with app.app_context():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            for measure_id in measures:
                if stop.is_set():
                    break
                community, chair, voter = (db.session.get(Community, ids[0]), db.session.get(User, ids[1]),
                                           db.session.get(User, ids[2]))
                voting.cast_ballot(actor=voter, community=community, measure_id=measure_id, content=YES)
                voting.close_measure(actor=chair, community=community, measure_id=measure_id)
                closed.append(measure_id)
                db.session.remove()

    writer = threading.Thread(target=write)
    writer.start()
    while len(closed) < 5:
        threading.Event().wait(0.02)
    target = tmp_path / ("under-load.dump" if ON_POSTGRES else "under-load.db")
    with app.app_context():
        backup(url, target)
    writer.join()

    restored_url = url if ON_POSTGRES else f"sqlite:///{tmp_path / 'restored.db'}"
    if not ON_POSTGRES:
        import sqlite3

        sqlite3.connect(tmp_path / "restored.db").close()
    restore(restored_url, target)
    check = make_app(SQLALCHEMY_DATABASE_URI=restored_url)
    with check.app_context():
        from deliberation.communities.models import Community
        from deliberation.extensions import db

        result = records.verify(db.session.get(Community, ids[0]))
        assert result.ok, (result.check, result.unrecorded)
        count = db.session.scalar(select(func.count(Resolution.id)))
        assert 5 <= count <= len(measures)
        closed_in_backup = db.session.scalar(select(func.count(Measure.id)).where(Measure.status == "closed"))
        assert closed_in_backup == count  # every closed vote in the copy has its resolution


# ---------------------------------------------------------------- the record covers the result (issue 18)


def _drop_ballot_triggers(db):
    """An attacker with the database's password removes the append-only triggers first."""
    for table in ("ballots", "participations"):
        for statement in drop_statements(table, db.engine.dialect.name):
            db.session.execute(text(statement))
    db.session.commit()


def test_the_database_refuses_to_change_a_closed_measures_result(hall):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents)
    passed = db.session.get(Measure, resolution.measure_id).result
    for statement in ("UPDATE measures SET result = NULL", "UPDATE measures SET status = 'open'",
                      "UPDATE measures SET result = '{\"outcome\": \"rejected\"}'"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
            db.session.commit()
        db.session.rollback()
    assert db.session.get(Measure, resolution.measure_id).result == passed
    # An open measure's other columns still change as usual (its closing time, say).
    open_one = make_measure(community, chair=chair)
    db.session.execute(text("UPDATE measures SET question = 'x' WHERE id = :id"), {"id": open_one.id})
    db.session.commit()


def test_results_page_and_board_follow_the_record_and_say_when_they_disagree(hall, client, runner):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents, choices=("no", "no", "yes"))
    measure = db.session.get(Measure, resolution.measure_id)
    assert voting.checked_result(measure).ok
    assert runner.invoke(args=["records", "verify"]).exit_code == 0
    # The stored result is rewritten to "passed" (the trigger dropped first, as an attacker would).
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        db.session.execute(text("DROP TRIGGER measures_result_final"))
    else:
        db.session.execute(text("DROP TRIGGER measures_result_final ON measures"))
    forged = {**measure.result, "outcome": "passed"}
    db.session.execute(text("UPDATE measures SET result = :r WHERE id = :id"),
                       {"r": json.dumps(forged), "id": measure.id})
    db.session.commit()
    db.session.expire_all()
    page = client.get(f"/c/{community.slug}/measures/{measure.id}/results", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Not passed" in html and ">Passed<" not in html
    assert "differs from the record" in html
    verified = runner.invoke(args=["records", "verify"])
    assert verified.exit_code == 1
    assert f"measure {measure.id}: the stored result differs from the record" in verified.output


def test_a_changed_ballot_makes_the_recount_disagree_and_verify_names_it(hall, client, runner):
    from deliberation.extensions import db

    community, chair, staff, residents = hall
    resolution = _decide(community, chair, residents, choices=("no", "no", "yes"))
    measure_id = resolution.measure_id
    _drop_ballot_triggers(db)
    db.session.execute(text("UPDATE ballots SET content = :c WHERE measure_id = :m"),
                       {"c": json.dumps({"choice": "yes"}), "m": measure_id})
    db.session.commit()
    db.session.expire_all()
    verified = runner.invoke(args=["records", "verify"])
    assert verified.exit_code == 1
    assert f"measure {measure_id}: recounting the board does not give the recorded result" in verified.output
    board = client.get(f"/c/{community.slug}/measures/{measure_id}/board", headers={"Accept-Language": "en"})
    assert "does not give the recorded result" in board.get_data(as_text=True)

"""Bad input never gives a 500 (issue 18): ids and numbers no column holds, NUL characters,
year-0001 dates, an enormous CSV field, odd socket messages, a lost database connection.
Run on SQLite and on PostgreSQL (where 2^31 and NUL used to fail)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy.exc import OperationalError

from deliberation.communities.models import Role
from deliberation.discussion.models import Comment
from deliberation.extensions import db, socketio
from tests.factories import PASSWORD, admin_of, make_community, make_item, make_measure, make_member

HUGE = (2**31, 2**63, 10**20)


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": PASSWORD}).status_code == 303


@pytest.fixture
def place(app):
    community = make_community()
    item = make_item(community)
    return community, item


def test_ids_no_column_can_hold_are_404_anonymously_and_logged_in(place, client):
    community, item = place
    for number in HUGE:
        for path in (f"/c/{community.slug}/items/{number}", f"/c/{community.slug}/meetings/{number}/projector",
                     f"/c/{community.slug}/measures/{number}/results", f"/c/{community.slug}/records/{number}"):
            assert client.get(path).status_code == 404, path
    _login(client, admin_of(community))
    for number in HUGE:
        assert client.get(f"/c/{community.slug}/items/{number}/edit").status_code == 404


def test_numbers_no_column_can_hold_in_forms_are_refused_plainly(place, client):
    community, item = place
    staff = make_member(community, Role.STAFF)
    measure = make_measure(community, chair=staff)
    _login(client, staff)
    for number in HUGE:
        answers = [
            client.post(f"/c/{community.slug}/items/{item.id}/comments", data={"body": "x", "parent_id": number}),
            client.post(f"/c/{community.slug}/measures/{measure.id}/paper",
                        data={"voter_id": number, "choice": "yes"}),
            client.post(f"/c/{community.slug}/settings", data={"support_threshold": number}),
        ]
        for answer in answers:
            assert answer.status_code < 500, (number, answer.request.path, answer.status_code)


def test_nul_characters_in_queries_and_forms_are_dropped(place, client):
    community, item = place
    assert client.get(f"/c/{community.slug}/items?q=a%00b").status_code == 200
    assert client.get(f"/c/{community.slug}/items?status=%00").status_code < 500
    author = make_member(community)
    _login(client, author)
    answer = client.post(f"/c/{community.slug}/items/{item.id}/comments", data={"body": "你好\x00世界"})
    assert answer.status_code == 303
    assert db.session.scalar(db.select(Comment.body).order_by(Comment.id.desc())) == "你好世界"


def test_year_one_dates_reshow_the_form_with_what_was_typed(place, client):
    community, item = place
    chair = make_member(community, Role.CHAIR)
    _login(client, chair)
    meeting = client.post(f"/c/{community.slug}/meetings/new", headers={"Accept-Language": "en"}, data={
        "title": "一月议事会", "mode": "hybrid", "place": "活动中心", "starts_at": "0001-01-01T00:00",
        "ends_at": "0001-01-01T02:00", "speaking_minutes": "3"})
    html = meeting.get_data(as_text=True)
    assert meeting.status_code == 400 and "between 1900 and 2999" in html and "一月议事会" in html
    from deliberation.agenda import services as agenda

    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    measure = client.post(f"/c/{community.slug}/items/{item.id}/measures/new", headers={"Accept-Language": "en"},
                          data={"kind": "yes_no", "question": "是否同意？", "preset": "custom",
                                "electorate": "residents", "weighting": "person", "threshold": "majority",
                                "closes_at": "0001-01-01T00:00"})
    assert measure.status_code == 400 and "between 1900 and 2999" in measure.get_data(as_text=True)


def test_a_csv_field_over_128_kib_is_reported_not_a_crash(place, client):
    community, _ = place
    _login(client, admin_of(community))
    data = ("楼栋,单元,室,面积\n1,1,\"" + "1" * 200_000 + "\",90\n").encode()
    answer = client.post(f"/c/{community.slug}/units/import", headers={"Accept-Language": "en"},
                         data={"file": (io.BytesIO(data), "units.csv")}, content_type="multipart/form-data")
    assert answer.status_code < 500 and "could not be read as CSV" in answer.get_data(as_text=True)


def test_odd_socket_joins_are_answered(app):
    sc = socketio.test_client(app)
    assert sc.emit("join", callback=True)["ok"] is False  # no payload at all
    for room in ("item:" + "9" * 20, "meeting:2147483648", "item:-1", "item:", 7):
        assert sc.emit("join", {"room": room, "last_id": "9" * 30}, callback=True)["ok"] is False, room
    assert sc.emit("leave", callback=True)["ok"] is True


def test_a_lost_database_connection_answers_503_try_again(place, client, monkeypatch):
    community, _ = place
    from deliberation.agenda import views as agenda_views

    def lost(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                               connection_invalidated=True)

    monkeypatch.setattr(agenda_views.services, "list_items", lost, raising=False)
    monkeypatch.setattr(agenda_views, "get_community", lost)
    answer = client.get(f"/c/{community.slug}/items", headers={"Accept-Language": "en"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"


@pytest.mark.postgres
def test_a_killed_postgres_connection_is_not_a_500(place, client):
    from sqlalchemy import create_engine, text

    from tests.conftest import ON_POSTGRES

    if not ON_POSTGRES:
        pytest.skip("PostgreSQL only")
    community, _ = place
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.commit()
    killer = create_engine(str(db.engine.url.render_as_string(hide_password=False)))
    with killer.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    answer = client.get(f"/c/{community.slug}/items")
    assert answer.status_code in (200, 503)

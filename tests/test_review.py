"""Expert and legal review: who may ask, review, answer and resolve; the objection rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from deliberation import realtime
from deliberation.agenda.models import ItemStatus
from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.extensions import socketio
from deliberation.notifications.models import Notification
from deliberation.review import services as review
from deliberation.review.models import ObjectionState, RequestStatus, ReviewVersion
from deliberation.timeutil import utcnow
from tests.factories import PASSWORD, make_community, make_item, make_member

DUE = utcnow().date() + timedelta(days=7)


@pytest.fixture
def setup(app):
    community = make_community()
    people = {
        "chair": make_member(community, Role.CHAIR, name="主持人"),
        "staff": make_member(community, Role.STAFF, name="工作人员"),
        "expert": make_member(community, Role.EXPERT, name="专家"),
        "legal": make_member(community, Role.LEGAL, name="律师"),
        "author": make_member(community, name="发起人"),
        "resident": make_member(community, name="居民"),
    }
    item = make_item(community, people["author"])
    return community, item, people


def _ask(community, item, actor, reviewer, due=DUE):
    return review.request_review(actor=actor, community=community, item_id=item.id, reviewer_ids=[reviewer.id],
                                 question="消防通道够宽吗？", due_on=due)[0]


def test_who_may_ask_for_a_review(setup):
    community, item, p = setup
    for who in ("resident", "expert", "legal", "author"):
        with pytest.raises(PermissionDenied):
            _ask(community, item, p[who], p["expert"])
    outsider = make_member(make_community(), Role.STAFF)
    with pytest.raises(PermissionDenied):
        _ask(community, item, outsider, p["expert"])
    assert _ask(community, item, p["chair"], p["expert"]).status == RequestStatus.PENDING
    assert _ask(community, item, p["staff"], p["legal"]).role == Role.LEGAL


def test_reviewers_must_hold_the_role_here_and_be_asked_once(setup):
    community, item, p = setup
    with pytest.raises(ValidationError):
        _ask(community, item, p["chair"], p["resident"])
    elsewhere = make_member(make_community(), Role.LEGAL)
    with pytest.raises(NotFound):
        _ask(community, item, p["chair"], elsewhere)
    with pytest.raises(ValidationError):
        _ask(community, item, p["chair"], p["expert"], due=utcnow().date() - timedelta(days=1))
    _ask(community, item, p["chair"], p["expert"])
    with pytest.raises(Conflict):
        _ask(community, item, p["chair"], p["expert"])


def test_asking_moves_an_accepted_item_into_review_and_notifies_live(setup, app, db):
    community, item, p = setup
    review_module_staff = p["staff"]
    from deliberation.agenda import services as agenda

    agenda.accept_item(actor=review_module_staff, community=community, item_id=item.id)
    browser = app.test_client()
    browser.post("/login", data={"contact": p["expert"].contact, "password": PASSWORD})
    socket = socketio.test_client(app, flask_test_client=browser)
    socket.emit("join", {"room": f"user:{p['expert'].id}", "locale": "zh_CN", "last_id": realtime.last_event_id()})
    _ask(community, item, p["chair"], p["expert"])
    db.session.refresh(item)
    assert item.status == ItemStatus.IN_REVIEW
    note = db.session.scalar(select(Notification).where(Notification.user_id == p["expert"].id))
    assert note.kind == "review_requested"
    assert "notification.created" in [e["name"] for e in socket.get_received()]


def test_queue_shows_due_overdue_and_done(setup, client, auth, db):
    community, item, p = setup
    late = _ask(community, item, p["chair"], p["expert"])
    late.due_on = utcnow().date() - timedelta(days=2)
    db.session.commit()
    other = make_item(community, p["author"], title="第二个议题")
    _ask(community, other, p["chair"], p["expert"])
    auth.login(p["expert"])
    html = client.get(f"/c/{community.slug}/reviews/mine").get_data(as_text=True)
    overdue, rest = html.split("已逾期", 1)[1].split("待完成", 1)
    assert item.title in overdue and "第二个议题" in rest.split("已完成")[0]


def test_accept_or_decline_with_a_reason_only_by_the_reviewer(setup):
    community, item, p = setup
    request = _ask(community, item, p["chair"], p["expert"])
    with pytest.raises(PermissionDenied):
        review.respond(actor=p["legal"], community=community, request_id=request.id, accept=True)
    with pytest.raises(ValidationError):
        review.respond(actor=p["expert"], community=community, request_id=request.id, accept=False, reason="")
    review.respond(actor=p["expert"], community=community, request_id=request.id, accept=False, reason="出差")
    assert request.status == RequestStatus.DECLINED
    with pytest.raises(InvalidTransition):
        review.respond(actor=p["expert"], community=community, request_id=request.id, accept=True)


def test_submitting_a_review(setup, client, db):
    community, item, p = setup
    supporter = make_member(community)
    from deliberation.agenda import services as agenda

    agenda.support_item(actor=supporter, community=community, item_id=item.id)
    commenter = make_member(community)
    discussion.post_comment(actor=commenter, community=community, item_id=item.id, body="关注")
    request = _ask(community, item, p["chair"], p["expert"])
    with pytest.raises(PermissionDenied):
        review.submit_review(actor=p["legal"], community=community, request_id=request.id, verdict="supports",
                             body="x")
    with pytest.raises(PermissionDenied):
        review.submit_review(actor=p["expert"], community=community, request_id=request.id,
                             verdict="legal_objection", body="x")
    with pytest.raises(ValidationError):
        review.submit_review(actor=p["expert"], community=community, request_id=request.id, verdict="supports",
                             body=" ")
    review.submit_review(actor=p["expert"], community=community, request_id=request.id, verdict="conditions",
                         body="可以，但要留 **4 米**。<script>alert(1)</script>", passages="十二个车位")
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == "review_submitted"))}
    assert told == {p["author"].id, supporter.id, commenter.id}
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert "有条件支持" in html and "专家" in html and "<strong>4 米</strong>" in html
    assert "<script>alert(1)" not in html and "十二个车位" in html
    with pytest.raises(InvalidTransition):
        review.submit_review(actor=p["expert"], community=community, request_id=request.id, verdict="supports",
                             body="again")


def test_revisions_keep_history(setup, client, db):
    community, item, p = setup
    request = _ask(community, item, p["chair"], p["expert"])
    rv = review.submit_review(actor=p["expert"], community=community, request_id=request.id, verdict="concerns",
                              body="第一版意见")
    with pytest.raises(PermissionDenied):
        review.revise_review(actor=p["legal"], community=community, review_id=rv.id, verdict="supports", body="x")
    review.revise_review(actor=p["expert"], community=community, review_id=rv.id, verdict="supports",
                         body="第二版意见")
    assert rv.version == 2
    assert [v.body for v in db.session.scalars(select(ReviewVersion))] == ["第一版意见"]
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert "第二版意见" in html and "第一版意见" in html and "历史版本（1）" in html


def test_the_legal_objection_blocks_until_answered_and_resolved(setup, client, auth):
    community, item, p = setup
    request = _ask(community, item, p["chair"], p["legal"])
    rv = review.submit_review(actor=p["legal"], community=community, request_id=request.id,
                              verdict="legal_objection", body="罚款条款不合法")
    with pytest.raises(InvalidTransition):
        review.require_no_open_objection(item.id)
    assert "暂时不能开启表决" in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    with pytest.raises(InvalidTransition):  # not answered yet
        review.close_objection(actor=p["legal"], community=community, review_id=rv.id)
    for stranger in (p["resident"], p["expert"], p["staff"]):
        with pytest.raises(PermissionDenied):
            review.answer_objection(actor=stranger, community=community, review_id=rv.id, body="x")
    review.answer_objection(actor=p["author"], community=community, review_id=rv.id, body="已删除罚款条款")
    assert rv.objection_state == ObjectionState.ANSWERED
    with pytest.raises(InvalidTransition):
        review.require_no_open_objection(item.id)  # answered is still open
    with pytest.raises(PermissionDenied):
        review.close_objection(actor=p["chair"], community=community, review_id=rv.id)
    review.close_objection(actor=p["legal"], community=community, review_id=rv.id)
    review.require_no_open_objection(item.id)
    assert "暂时不能开启表决" not in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)


def test_withdrawing_or_revising_away_an_objection_unblocks_and_revising_back_blocks(setup):
    community, item, p = setup
    request = _ask(community, item, p["chair"], p["legal"])
    rv = review.submit_review(actor=p["legal"], community=community, request_id=request.id,
                              verdict="legal_objection", body="有问题")
    review.answer_objection(actor=p["chair"], community=community, review_id=rv.id, body="chair answers")
    review.revise_review(actor=p["legal"], community=community, review_id=rv.id, verdict="concerns", body="好些了")
    review.require_no_open_objection(item.id)
    review.revise_review(actor=p["legal"], community=community, review_id=rv.id, verdict="legal_objection",
                         body="还是不行")
    with pytest.raises(InvalidTransition):
        review.require_no_open_objection(item.id)
    review.close_objection(actor=p["legal"], community=community, review_id=rv.id, withdraw=True)
    review.require_no_open_objection(item.id)


def test_forged_ids_change_nothing(setup, client, auth, db):
    community, item, p = setup
    other = make_community()
    other_legal = make_member(other, Role.LEGAL)
    other_item = make_item(other)
    other_request = _ask(other, other_item, make_member(other, Role.CHAIR), other_legal)
    auth.login(p["legal"])
    assert client.get(f"/c/{community.slug}/reviews/requests/{other_request.id}").status_code == 404
    mine = _ask(community, item, p["chair"], p["expert"])
    response = client.post(f"/c/{community.slug}/reviews/requests/{mine.id}",
                           data={"verdict": "legal_objection", "body": "冒名顶替"})
    assert response.status_code == 403
    db.session.expire_all()
    assert mine.status == RequestStatus.PENDING and mine.review is None


def test_staff_overview_lists_open_requests_with_age(setup, client, auth):
    community, item, p = setup
    _ask(community, item, p["chair"], p["expert"])
    auth.login(p["resident"])
    assert client.get(f"/c/{community.slug}/reviews/overview").status_code == 403
    auth.logout()
    auth.login(p["staff"])
    html = client.get(f"/c/{community.slug}/reviews/overview").get_data(as_text=True)
    assert item.title in html and "0 天前" in html


def test_request_form_keeps_input_on_error(setup, client, auth):
    community, item, p = setup
    auth.login(p["chair"])
    response = client.post(f"/c/{community.slug}/items/{item.id}/reviews/request",
                           data={"reviewer_ids": [str(p["expert"].id)], "question": "要保留的问题", "due_on": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "要保留的问题" in html and f'value="{p["expert"].id}" checked' in html


def test_reviews_appear_live_on_the_item_page(setup, app):
    community, item, p = setup
    watcher = socketio.test_client(app)
    watcher.emit("join", {"room": f"item:{item.id}", "locale": "zh_CN", "last_id": realtime.last_event_id()})
    request = _ask(community, item, p["chair"], p["expert"])
    review.submit_review(actor=p["expert"], community=community, request_id=request.id, verdict="supports",
                         body="很好")
    changed = [e["args"][0] for e in watcher.get_received() if e["name"] == "review.changed"]
    assert changed and changed[-1]["target"] == f"#reviews-{item.id}" and "很好" in changed[-1]["html"]


def test_due_dates_are_local_days_around_midnight(setup):
    """Shanghai is UTC+8: at 01:30 local on 1 December it is still 30 November in UTC. A review
    due on 30 November is overdue then, and asking for one due on 30 November is refused."""
    import time_machine

    community, item, p = setup
    with time_machine.travel("2026-11-30 15:59:00+00:00", tick=False):  # 23:59 local, 30 Nov
        asked = _ask(community, item, p["chair"], p["expert"], due=utcnow().date())
        assert not asked.is_overdue()
        assert review.my_queue(actor=p["expert"], community=community)["due"] == [asked]
    with time_machine.travel("2026-11-30 17:30:00+00:00", tick=False):  # 01:30 local, 1 Dec
        assert utcnow().date().isoformat() == "2026-11-30"
        assert asked.is_overdue()
        assert review.my_queue(actor=p["expert"], community=community)["overdue"] == [asked]
        with pytest.raises(ValidationError):
            _ask(community, item, p["chair"], p["legal"], due=utcnow().date())

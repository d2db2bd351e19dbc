"""Item revisions: the author (or staff for a managed resident) revises a submitted item's title
and description while it is discussed or reviewed, until a vote opens; every version is kept,
compared side by side, and supporters are told."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from deliberation.agenda import services as agenda
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.errors import InvalidTransition, PermissionDenied, ValidationError
from deliberation.extensions import db
from deliberation.notifications.models import Notification
from tests.factories import admin_of, make_community, make_item, make_measure, make_member

FEE = "违停车辆上锁，收取200元解锁费。"


def _item(community, author):
    item = make_item(community, author, title="东门违停治理", body=f"增设禁停标志。\n{FEE}\n每周巡查一次。")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    return item


def test_the_author_revises_and_every_version_is_kept_and_supporters_are_told(app):
    community = make_community()
    author, supporter = make_member(community), make_member(community)
    item = make_item(community, author, title="东门违停治理", body=f"增设禁停标志。\n{FEE}")
    agenda.support_item(actor=supporter, community=community, item_id=item.id)
    revision = agenda.revise_item(actor=author, community=community, item_id=item.id, title="东门违停治理",
                                  body="增设禁停标志。", note="按法律顾问意见删去解锁费")
    assert revision.number == 2 and item.body == "增设禁停标志。"
    first, second = agenda.revisions_of(item)
    assert FEE in first.body and first.author_id == author.id and second.note == "按法律顾问意见删去解锁费"
    told = db.session.query(Notification).filter_by(user_id=supporter.id, kind="item.revised").one()
    assert told.link.endswith(f"/items/{item.id}/versions?a=1&b=2")
    with pytest.raises(ValidationError):  # nothing changed
        agenda.revise_item(actor=author, community=community, item_id=item.id, title="东门违停治理",
                           body="增设禁停标志。")


def test_only_the_author_or_staff_for_a_managed_resident_may_revise_and_not_once_a_vote_opens(app):
    community = make_community()
    author = make_member(community)
    staff = make_member(community, Role.STAFF)
    item = _item(community, author)
    for who in (make_member(community), staff, make_member(make_community())):
        with pytest.raises(PermissionDenied):
            agenda.revise_item(actor=who, community=community, item_id=item.id, title="改", body="")
    grandma = communities.create_managed_account(actor=staff, community=community, display_name="钱奶奶",
                                                 building="1", entrance="1", room="102")
    hers = make_item(community, grandma, title="楼道加装扶手", body="三楼楼梯太陡。")
    agenda.revise_item(actor=staff, community=community, item_id=hers.id, title="楼道加装扶手",
                       body="三楼、四楼楼梯太陡。")
    assert [r.number for r in agenda.revisions_of(hers)] == [1, 2]
    make_measure(community, item, chair=make_member(community, Role.CHAIR))  # the vote opens
    with pytest.raises(InvalidTransition):
        agenda.revise_item(actor=author, community=community, item_id=item.id, title="东门违停治理", body="")


def test_revisions_cannot_be_rewritten_in_the_database(app):
    community = make_community()
    author = make_member(community)
    item = _item(community, author)
    agenda.revise_item(actor=author, community=community, item_id=item.id, title="东门违停治理", body="增设禁停标志。")
    for statement in ("UPDATE item_revisions SET body = 'x'", "DELETE FROM item_revisions"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()


def test_revising_over_http_and_the_side_by_side_comparison(app, client, auth):
    community = make_community()
    author = make_member(community)
    item = _item(community, author)
    auth.login(author)
    page = client.get(f"/c/{community.slug}/items/{item.id}", headers={"Accept-Language": "en"})
    assert "Revise the item" in page.get_data(as_text=True)
    form = client.get(f"/c/{community.slug}/items/{item.id}/edit", headers={"Accept-Language": "en"})
    assert form.status_code == 200 and FEE in form.get_data(as_text=True)
    bad = client.post(f"/c/{community.slug}/items/{item.id}/edit", data={"title": "", "body": "新正文"},
                      headers={"Accept-Language": "en"})
    assert bad.status_code == 400 and "新正文" in bad.get_data(as_text=True)  # nothing typed is lost
    done = client.post(f"/c/{community.slug}/items/{item.id}/edit",
                       data={"title": "东门违停治理", "body": "增设禁停标志。\n每周巡查一次。", "note": "删去解锁费"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/versions?a=1&b=2")
    compare = client.get(done.headers["Location"], headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "第 1 版与第 2 版对照" in compare and f"<del>{FEE}</del>" in compare and "删去解锁费" in compare
    auth.logout()
    auth.login(make_member(community))
    refused = client.get(f"/c/{community.slug}/items/{item.id}/edit", headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and "Who can do this:" in refused.get_data(as_text=True)


def test_a_reviewer_sees_what_changed_since_their_review(app, client):
    from datetime import timedelta

    from deliberation.review import services as review
    from deliberation.timeutil import utcnow

    community = make_community()
    author, chair, legal = make_member(community), make_member(community, Role.CHAIR), make_member(community, Role.LEGAL)
    item = _item(community, author)
    request = review.request_review(actor=chair, community=community, item_id=item.id, reviewer_ids=[legal.id],
                                    question="是否合法？", due_on=utcnow().date() + timedelta(days=3))[0]
    objection = review.submit_review(actor=legal, community=community, request_id=request.id,
                                     verdict="legal_objection", body="上锁收费没有法律依据")
    assert review.text_changed_since(objection) is None
    agenda.revise_item(actor=author, community=community, item_id=item.id, title="东门违停治理", body="增设禁停标志。")
    assert review.text_changed_since(objection) == (1, 2)
    page = client.get(f"/c/{community.slug}/items/{item.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "it read version 1, the text is now version 2" in page
    assert f"/items/{item.id}/versions?a=1&amp;b=2" in page

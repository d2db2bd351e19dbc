"""Notifications nobody should miss (membership decided, own item accepted, rejected or
merged) and coalescing: an unread notification that would read exactly like a new one absorbs it."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import select

from deliberation.agenda import services as agenda
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.notifications import services as notifications
from deliberation.notifications.models import Notification
from deliberation.voting import services as voting
from tests.factories import admin_of, make_community, make_item, make_measure, make_member, request_to_join


def _of(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def _words(notification, locale="en") -> str:
    with force_locale(locale):
        return notifications.message(notification)


def _pending_id(community, staff, user) -> int:
    return next(m.id for m in communities.memberships(actor=staff, community=community) if m.user_id == user.id)


def test_a_person_is_told_when_their_membership_is_verified_or_refused(app):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    accepted = request_to_join(community).user
    refused = request_to_join(community, label="1-1-102").user
    communities.verify_membership(actor=staff, community=community,
                                  membership_id=_pending_id(community, staff, accepted))
    communities.reject_membership(actor=staff, community=community,
                                  membership_id=_pending_id(community, staff, refused), reason="房号与登记册不符")
    [yes] = _of(accepted)
    assert yes.kind == "membership.verified" and yes.link == f"/c/{community.slug}/"
    with app.test_request_context():
        assert _words(yes, "zh_Hans_CN") == f"您已成为{community.name}的认证成员"
        [no] = _of(refused)
        assert "房号与登记册不符" in _words(no, "zh_Hans_CN") and "was not accepted" in _words(no)


def test_the_author_is_told_when_their_item_is_accepted_rejected_or_merged(app):
    community = make_community()
    admin = admin_of(community)
    author = make_member(community)
    by_staff, rejected, merged, target = (make_item(community, author, title=t) for t in ("甲", "乙", "丙", "丁"))
    agenda.accept_item(actor=admin, community=community, item_id=by_staff.id)
    agenda.accept_item(actor=admin, community=community, item_id=target.id)
    agenda.reject_item(actor=admin, community=community, item_id=rejected.id, reason="不属于社区事务")
    agenda.merge_item(actor=admin, community=community, item_id=merged.id, into_id=target.id)
    with app.test_request_context():
        said = [_words(n) for n in _of(author)]
    assert said == ["Your item “甲” is on the agenda", "Your item “丁” is on the agenda",
                    "Your item “乙” was not accepted: 不属于社区事务", "Your item “丙” was merged into “丁”"]
    # Accepted by reaching the support threshold: no actor, still told.
    community.support_threshold = 1
    db.session.commit()
    by_supports = make_item(community, author, title="戊")
    agenda.support_item(actor=make_member(community), community=community, item_id=by_supports.id)
    last = _of(author)[-1]
    assert last.kind == "item.accepted" and last.actor_id is None and last.params["item"] == "戊"


def test_four_votes_opening_on_one_item_make_one_notification_that_says_four(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    voter = make_member(community)
    first = make_measure(community, chair=chair)
    for n in range(3):
        make_measure(community, first.item, chair=chair, question=f"第{n}个问题？")
    [told] = _of(voter)
    assert told.params["count"] == 4 and told.link == f"/c/{community.slug}/items/{first.item_id}"
    with app.test_request_context():
        assert _words(told, "zh_Hans_CN") == f"“{first.item.title}”有 4 项表决已开始"
        assert _words(told) == f"4 votes are open on “{first.item.title}”"
    # Once read, the next one is new again (an old, read line is not revived).
    notifications.mark_all_read(actor=voter)
    make_measure(community, first.item, chair=chair, question="第五个问题？")
    assert len(_of(voter)) == 2 and "count" not in _of(voter)[-1].params


def test_notifications_that_read_differently_are_not_coalesced(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    voter = make_member(community)
    make_measure(community, chair=chair)
    make_measure(community, chair=chair)  # a second item: another "vote is open" on another title
    assert [n.params.get("count", 1) for n in _of(voter)] == [1, 1]
    # Same words from a different actor stay apart too.
    other_chair = make_member(community, Role.CHAIR)
    item = make_item(community, title="第三个议题")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    for who in (chair, other_chair):
        measure = voting.create_measure(actor=who, community=community, item_id=item.id,
                                        draft=voting.MeasureDraft(question="问题？", closes_at=_tomorrow()))
        voting.open_measure(actor=who, community=community, measure_id=measure.id)
    assert len(_of(voter)) == 4


def _tomorrow():
    from datetime import timedelta

    from deliberation.timeutil import utcnow

    return utcnow() + timedelta(days=1)

"""A member's community home shows what needs them now: votes they can cast (with the time
left), meetings they are invited to, reviews asked of them, news on items they follow, and a
button to propose an item."""

from __future__ import annotations

from datetime import timedelta

from deliberation.agenda import services as agenda
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.review import services as review
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from tests.factories import admin_of, make_community, make_item, make_measure, make_member, request_to_join
from tests.test_meetings import _login, _meeting


def test_a_newly_verified_member_sees_votes_meetings_news_and_the_propose_button(app, client):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    chair = make_member(community, Role.CHAIR)
    newcomer = request_to_join(community).user
    membership = next(m for m in communities.memberships(actor=staff, community=community)
                      if m.user_id == newcomer.id)
    communities.verify_membership(actor=staff, community=community, membership_id=membership.id)
    # After they were verified: a vote opens (they are on its roll), a meeting is published,
    # and an item they supported goes on the agenda.
    measure = make_measure(community, chair=chair, question="是否同意在东门加装路灯？",
                           closes_at=utcnow() + timedelta(days=2, hours=1))
    meeting = _meeting(community, chair, items=1, title="十二月居民议事会")
    supported = make_item(community, title="楼道堆物清理")
    agenda.support_item(actor=newcomer, community=community, item_id=supported.id)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=supported.id)
    _login(client, newcomer)
    page = client.get(f"/c/{community.slug}/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "现在需要您处理的事" in page and "发起议题" in page
    assert "是否同意在东门加装路灯？" in page and f"/measures/{measure.id}#ballot" in page and "2天后结束" in page
    assert "十二月居民议事会" in page and f"/meetings/{meeting.id}" in page
    assert "楼道堆物清理" in page and "您关注的议题有新进展" in page
    english = client.get(f"/c/{community.slug}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "closes in 2 days" in english and "Votes you can cast" in english
    # Once they voted, the vote no longer asks for them.
    voting.cast_ballot(actor=newcomer, community=community, measure_id=measure.id, content={"choice": "yes"})
    assert voting.awaiting_ballot(community, newcomer) == []


def test_an_adviser_sees_the_reviews_asked_of_them_and_a_visitor_sees_no_tasks(app, client):
    community = make_community()
    chair = make_member(community, Role.CHAIR)
    adviser = make_member(community, Role.LEGAL)
    item = make_item(community, title="电动车充电桩")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    review.request_review(actor=chair, community=community, item_id=item.id, reviewer_ids=[adviser.id],
                          question="是否合法？", due_on=utcnow().date() + timedelta(days=5))
    assert [r.item_id for r in review.open_requests_for(community, adviser)] == [item.id]
    _login(client, adviser)
    page = client.get(f"/c/{community.slug}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Reviews asked of you" in page and "电动车充电桩" in page
    client.post("/logout")
    visitor = client.get(f"/c/{community.slug}/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "What needs you now" not in visitor and "Propose an item" not in visitor


def test_news_leaves_out_the_members_own_moves_and_other_communities(app):
    community, elsewhere = make_community(), make_community()
    member = make_member(community)
    own = make_item(community, member, title="自己的议题")
    discussion.post_comment(actor=member, community=community, item_id=own.id, body="补充说明")
    assert discussion.followed_with_news(community, member) == []  # submitting it was their own move
    agenda.accept_item(actor=admin_of(community), community=community, item_id=own.id)
    assert [i.title for i, _ in discussion.followed_with_news(community, member)] == ["自己的议题"]
    assert discussion.followed_with_news(elsewhere, member) == []

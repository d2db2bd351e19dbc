"""A refused action gets a page that says the rule and who may do it, in the reader's language,
never a bare "not allowed"."""

from __future__ import annotations

from deliberation.communities.permissions import POLICY, who_may
from tests.factories import make_community, make_item, make_member


def test_a_resident_opening_staff_pages_is_told_who_may(app, client, auth):
    community = make_community()
    resident = make_member(community)
    auth.login(resident)
    page = client.get(f"/c/{community.slug}/members", headers={"Accept-Language": "zh-CN"})
    body = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "只有社区工作人员可以查看成员名单。" in body
    assert "谁可以这样做" in body and "社区工作人员" in body and "社区管理员" in body
    english = client.get(f"/c/{community.slug}/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Only community staff can change the community" in english
    assert "Who can do this:" in english and "Community staff, Community admin" in english


def test_editing_someone_elses_item_or_one_under_vote_says_why(app, client, auth):
    from deliberation.agenda import services as agenda
    from deliberation.communities.models import Role
    from tests.factories import admin_of, make_measure

    community = make_community()
    author = make_member(community)
    item = make_item(community, author)
    auth.login(make_member(community))
    other = client.get(f"/c/{community.slug}/items/{item.id}/edit", headers={"Accept-Language": "en"})
    body = other.get_data(as_text=True)
    assert other.status_code == 403 and "Only the item&#39;s author can revise it" in body
    assert "Who can do this:" in body
    auth.logout()
    auth.login(author)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    make_measure(community, item, chair=make_member(community, Role.CHAIR))
    voting = client.get(f"/c/{community.slug}/items/{item.id}/edit", headers={"Accept-Language": "zh-CN"})
    body = voting.get_data(as_text=True)
    assert voting.status_code == 403 and "表决开始前可以修改" in body and "谁可以这样做" in body


def test_every_action_in_the_policy_names_who_may_take_it(app):
    with app.test_request_context():
        for action in POLICY:
            assert who_may(action) and all(str(label) for label in who_may(action)), action

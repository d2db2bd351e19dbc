"""Discussion threads: posting, nesting, stances, edits, removal, flags, moderation, mentions."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.discussion.models import Comment, CommentFlag, CommentRevision
from deliberation.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.notifications.models import Notification
from tests.factories import count_rows, make_community, make_item, make_member


@pytest.fixture
def thread(app):
    community = make_community()
    item = make_item(community)
    return community, item


def test_post_reply_and_stance_counts(thread, client):
    community, item = thread
    a, b = make_member(community, name="甲"), make_member(community, name="乙")
    first = discussion.post_comment(actor=a, community=community, item_id=item.id, body="赞成", stance="for")
    discussion.post_comment(actor=b, community=community, item_id=item.id, body="为什么？", stance="question",
                            parent_id=first.id)
    discussion.post_comment(actor=b, community=community, item_id=item.id, body="反对", stance="against")
    assert discussion.stance_counts(item.id) == {"for": 1, "against": 1, "question": 1, "neutral": 0}
    with pytest.raises(ValidationError):
        discussion.post_comment(actor=a, community=community, item_id=item.id, body="x", stance="maybe")
    with pytest.raises(ValidationError):
        discussion.post_comment(actor=a, community=community, item_id=item.id, body="   ")
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert "为什么？" in html and f'id="replies-{first.id}"' in html


def test_deep_replies_flatten_under_the_third_level(thread):
    community, item = thread
    member = make_member(community, name="丙")
    level = discussion.post_comment(actor=member, community=community, item_id=item.id, body="0")
    chain = [level]
    for n in range(1, 5):
        chain.append(discussion.post_comment(actor=member, community=community, item_id=item.id, body=str(n),
                                             parent_id=chain[-1].id))
    assert [c.depth for c in chain] == [0, 1, 2, 3, 4]
    assert chain[2].display_parent_id == chain[1].id
    assert chain[3].display_parent_id == chain[1].id  # beside its parent, "replying to"
    assert chain[4].display_parent_id == chain[1].id


def test_only_members_post_and_not_on_closed_items(thread):
    community, item = thread
    with pytest.raises(PermissionDenied):
        discussion.post_comment(actor=make_member(make_community()), community=community, item_id=item.id, body="x")
    from deliberation.agenda import services as agenda

    agenda.withdraw_item(actor=item.author, community=community, item_id=item.id)
    with pytest.raises(InvalidTransition):
        discussion.post_comment(actor=make_member(community), community=community, item_id=item.id, body="x")


def test_same_client_token_posts_once_even_concurrently(make_app):
    app = make_app()
    with app.app_context():
        community = make_community()
        item = make_item(community)
        member = make_member(community)
        ids = (community.id, item.id, member.id)
        from deliberation.extensions import db

        db.session.remove()
    barrier = threading.Barrier(20)
    errors = []

    def post():
        with app.app_context():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            user, com = db.session.get(User, ids[2]), db.session.get(Community, ids[0])
            db.session.commit()
            barrier.wait()
            try:
                discussion.post_comment(actor=user, community=com, item_id=ids[1], body="只发一次",
                                        client_token="same-token")
            except Exception as err:  # noqa: BLE001 - any failure is what this test looks for
                errors.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with app.app_context():
        from deliberation.agenda.models import AgendaItem
        from deliberation.extensions import db

        assert errors == []
        assert db.session.scalar(select(func.count(Comment.id)).where(Comment.item_id == ids[1])) == 1
        assert db.session.get(AgendaItem, ids[1]).comment_count == 1


def test_double_submitted_form_creates_one_comment(thread, client, auth, db):
    community, item = thread
    auth.login(make_member(community))
    form = {"body": "点了两次", "stance": "for", "client_token": "tok-1"}
    assert client.post(f"/c/{community.slug}/items/{item.id}/comments", data=form).status_code == 303
    assert client.post(f"/c/{community.slug}/items/{item.id}/comments", data=form).status_code == 303
    assert db.session.scalar(select(func.count(Comment.id)).where(Comment.item_id == item.id)) == 1


def test_empty_comment_without_javascript_reshows_the_page(thread, client, auth):
    community, item = thread
    auth.login(make_member(community))
    response = client.post(f"/c/{community.slug}/items/{item.id}/comments",
                           data={"body": "", "stance": "against", "client_token": "t"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请先写点内容" in html and 'value="against" checked' in html


def test_htmx_post_answers_with_a_fresh_form(thread, client, auth):
    community, item = thread
    auth.login(make_member(community))
    response = client.post(f"/c/{community.slug}/items/{item.id}/comments",
                           data={"body": "用 htmx 发的", "client_token": "t2"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'class="comment-form"' in html


def test_edit_within_fifteen_minutes_keeps_the_earlier_text(thread, db, monkeypatch):
    community, item = thread
    author = make_member(community)
    comment = discussion.post_comment(actor=author, community=community, item_id=item.id, body="第一版")
    with pytest.raises(PermissionDenied):
        discussion.edit_comment(actor=make_member(community), community=community, comment_id=comment.id, body="x")
    discussion.edit_comment(actor=author, community=community, comment_id=comment.id, body="第二版")
    assert comment.edited_at is not None
    assert [r.body for r in db.session.scalars(select(CommentRevision))] == ["第一版"]
    comment.created_at -= timedelta(minutes=16)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        discussion.edit_comment(actor=author, community=community, comment_id=comment.id, body="第三版")


def test_removal_leaves_a_placeholder_and_keeps_replies(thread, client):
    community, item = thread
    author, replier = make_member(community), make_member(community)
    comment = discussion.post_comment(actor=author, community=community, item_id=item.id, body="要删掉的话")
    discussion.post_comment(actor=replier, community=community, item_id=item.id, body="回复还在", parent_id=comment.id)
    discussion.remove_comment(actor=author, community=community, comment_id=comment.id)
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert "要删掉的话" not in html and "这条评论已被作者删除" in html and "回复还在" in html


def test_flag_hide_restore_and_the_queue(thread, client, auth):
    community, item = thread
    author, flagger = make_member(community), make_member(community)
    staff = make_member(community, Role.STAFF)
    comment = discussion.post_comment(actor=author, community=community, item_id=item.id, body="骂人的话")
    with pytest.raises(InvalidTransition):
        discussion.flag_comment(actor=author, community=community, comment_id=comment.id)
    discussion.flag_comment(actor=flagger, community=community, comment_id=comment.id, reason="辱骂")
    discussion.flag_comment(actor=flagger, community=community, comment_id=comment.id)  # once is enough
    assert comment.open_flags == 1
    assert discussion.flag_queue(actor=staff, community=community) == [comment]
    with pytest.raises(PermissionDenied):
        discussion.hide_comment(actor=flagger, community=community, comment_id=comment.id, reason="x")
    with pytest.raises(ValidationError):
        discussion.hide_comment(actor=staff, community=community, comment_id=comment.id, reason="")
    discussion.hide_comment(actor=staff, community=community, comment_id=comment.id, reason="人身攻击")
    assert discussion.flag_queue(actor=staff, community=community) == []
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert "骂人的话" not in html and "人身攻击" in html
    auth.login(staff)
    assert "骂人的话" in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)  # staff only
    discussion.restore_comment(actor=staff, community=community, comment_id=comment.id)
    assert "骂人的话" in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert client.get(f"/c/{community.slug}/moderation").status_code == 200


def test_mentions_link_and_notify_the_member(thread, client, db):
    community, item = thread
    author = make_member(community, name="王阿姨")
    neighbour = make_member(community, name="李建国")
    comment = discussion.post_comment(actor=author, community=community, item_id=item.id,
                                      body="@李建国 你怎么看？ @不存在的人 @王阿姨")
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notes] == [(neighbour.id, "mention")]
    html = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert f'href="/c/{community.slug}/people/{neighbour.id}" class="mention"' in html and ">@李建国</a>" in html
    discussion.post_comment(actor=neighbour, community=community, item_id=item.id, body="同意", parent_id=comment.id)
    assert db.session.scalar(select(Notification).where(Notification.user_id == author.id)).kind == "reply"


def test_comment_ids_from_another_community(thread, client, auth):
    community, item = thread
    other = make_community()
    staff = make_member(other, Role.STAFF)
    comment = discussion.post_comment(actor=make_member(community), community=community, item_id=item.id, body="x")
    with pytest.raises(NotFound):
        discussion.hide_comment(actor=staff, community=other, comment_id=comment.id, reason="x")
    auth.login(staff)
    assert client.post(f"/c/{other.slug}/comments/{comment.id}/restore").status_code == 404


def test_hidden_and_removed_text_reaches_only_staff_and_the_author(thread, client, auth):
    community, item = thread
    author, neighbour = make_member(community), make_member(community)
    staff = make_member(community, Role.STAFF)
    other = make_community()
    other_admin = make_member(other, Role.ADMIN)
    hidden = discussion.post_comment(actor=author, community=community, item_id=item.id, body="隐藏的骂人话")
    removed = discussion.post_comment(actor=author, community=community, item_id=item.id, body="删掉的私事")
    discussion.hide_comment(actor=staff, community=community, comment_id=hidden.id, reason="人身攻击")
    discussion.remove_comment(actor=author, community=community, comment_id=removed.id)
    base = f"/c/{community.slug}/comments"
    for someone in (neighbour, other_admin):
        auth.login(someone)
        for comment, text in ((hidden, "隐藏的骂人话"), (removed, "删掉的私事")):
            for page in ("flag", "hide", "actions"):
                response = client.get(f"{base}/{comment.id}/{page}")
                assert response.status_code in (200, 403), page
                assert text not in response.get_data(as_text=True), (someone, page)
        # Flagging a comment nobody sees any more is refused, not stored.
        refused = client.post(f"{base}/{hidden.id}/flag", data={"reason": "x"})
        assert refused.status_code in (400, 403) and "隐藏的骂人话" not in refused.get_data(as_text=True)
        assert count_rows(CommentFlag) == 0
        assert "隐藏的骂人话" not in client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
        auth.logout()
    assert client.get(f"{base}/{hidden.id}/hide").status_code in (302, 401)  # anonymous: log in first
    auth.login(staff)
    assert "隐藏的骂人话" in client.get(f"{base}/{hidden.id}/hide").get_data(as_text=True)
    auth.logout()
    auth.login(author)
    assert "删掉的私事" in client.get(f"{base}/{removed.id}/flag").get_data(as_text=True)  # their own words


def test_a_replay_does_not_bring_back_hidden_or_edited_text(thread, app):
    from deliberation.extensions import socketio

    community, item = thread
    author, staff = make_member(community), make_member(community, Role.STAFF)
    hidden = discussion.post_comment(actor=author, community=community, item_id=item.id, body="原来的骂人话")
    edited = discussion.post_comment(actor=author, community=community, item_id=item.id, body="初稿的错字")
    discussion.edit_comment(actor=author, community=community, comment_id=edited.id, body="改好的话")
    discussion.hide_comment(actor=staff, community=community, comment_id=hidden.id, reason="人身攻击")
    for locale in ("zh_CN", "en"):
        anonymous = socketio.test_client(app)
        answer = anonymous.emit("join", {"room": f"item:{item.id}", "locale": locale, "last_id": 0}, callback=True)
        assert answer["ok"] and answer["replayed"] > 0
        replayed = " ".join(str(e["args"][0].get("html", "")) for e in anonymous.get_received())
        assert "原来的骂人话" not in replayed and "初稿的错字" not in replayed
        assert "人身攻击" in replayed and "改好的话" in replayed
        anonymous.disconnect()
    discussion.restore_comment(actor=staff, community=community, comment_id=hidden.id)
    anonymous = socketio.test_client(app)
    anonymous.emit("join", {"room": f"item:{item.id}", "locale": "zh_CN", "last_id": 0}, callback=True)
    assert "原来的骂人话" in " ".join(str(e["args"][0].get("html", "")) for e in anonymous.get_received())


def test_mentions_are_not_linked_inside_link_titles_or_link_text(thread, client):
    community, item = thread
    author = make_member(community, name="王阿姨")
    neighbour = make_member(community, name="李建国")
    comment = discussion.post_comment(
        actor=author, community=community, item_id=item.id,
        body='[通知](https://example.com/a "@李建国 看这里") 和 [@李建国](https://example.com/b) 还有 @李建国')
    html = comment.body_html
    assert 'title="@李建国 看这里"' in html  # the title is left as written
    assert html.count('class="mention"') == 1 and html.count(f"/people/{neighbour.id}") == 1
    assert "<a" not in html.split('title="', 1)[1].split('"', 1)[0]

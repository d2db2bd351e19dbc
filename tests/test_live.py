"""Live updates through Socket.IO: rooms, rendered fragments, catch-up after a drop, security."""

from __future__ import annotations

from deliberation import realtime
from deliberation.agenda import services as agenda
from deliberation.discussion import services as discussion
from deliberation.extensions import socketio
from tests.factories import PASSWORD, make_community, make_item, make_member


def _events(socket, name=None):
    return [e for e in socket.get_received() if name is None or e["name"] == name]


def _join(socket, room, locale="zh_CN", last_id=None):
    return socket.emit("join", {"room": room, "locale": locale, "last_id": last_id}, callback=True)


def test_a_comment_posted_over_http_reaches_everyone_on_the_page(app, client):
    community = make_community()
    item = make_item(community)
    author = make_member(community, name="王阿姨")
    watcher = socketio.test_client(app, flask_test_client=app.test_client())
    assert _join(watcher, f"item:{item.id}", last_id=realtime.last_event_id())["ok"]
    client.post("/login", data={"contact": author.contact, "password": PASSWORD})
    client.post(f"/c/{community.slug}/items/{item.id}/comments", data={"body": "大家好", "stance": "for",
                                                                       "client_token": "a"})
    received = watcher.get_received()
    posted = [e["args"][0] for e in received if e["name"] == "comment.posted"]
    counted = [e["args"][0] for e in received if e["name"] == "thread.counted"]
    assert len(posted) == 1 and len(counted) == 1
    assert "大家好" in posted[0]["html"] and posted[0]["target"] == f"#comments-{item.id}"
    assert posted[0]["swap"] == "beforeend"
    assert "赞成 <strong>1</strong>" in counted[0]["html"] and counted[0]["target"] == f"#thread-header-{item.id}"


def test_support_counts_and_status_changes_are_live(app, db):
    community = make_community()
    community.support_threshold = 1
    db.session.commit()
    item = make_item(community)
    watcher = socketio.test_client(app)
    _join(watcher, f"item:{item.id}", last_id=realtime.last_event_id())
    agenda.support_item(actor=make_member(community), community=community, item_id=item.id)
    names = [e["name"] for e in watcher.get_received()]
    assert names == ["item.supported", "item.status_changed"]


def test_rooms_are_per_language(app):
    community = make_community()
    item = make_item(community)
    chinese, english = socketio.test_client(app), socketio.test_client(app)
    start = realtime.last_event_id()
    _join(chinese, f"item:{item.id}", "zh_CN", start)
    _join(english, f"item:{item.id}", "en", start)
    discussion.post_comment(actor=make_member(community), community=community, item_id=item.id, body="x",
                            stance="against")
    zh = _events(chinese, "thread.counted")[0]["args"][0]["html"]
    en = _events(english, "thread.counted")[0]["args"][0]["html"]
    assert "反对" in zh and "Against" in en


def test_a_reconnecting_client_gets_exactly_what_it_missed(app):
    community = make_community()
    item = make_item(community)
    member = make_member(community)
    socket = socketio.test_client(app)
    _join(socket, f"item:{item.id}", last_id=realtime.last_event_id())
    discussion.post_comment(actor=member, community=community, item_id=item.id, body="第一条")
    seen = [e["args"][0]["id"] for e in socket.get_received()]
    socket.disconnect()
    for n in range(3):
        discussion.post_comment(actor=member, community=community, item_id=item.id, body=f"断线时的第{n}条")
    socket.connect()
    reply = _join(socket, f"item:{item.id}", last_id=max(seen))
    replayed = socket.get_received()
    ids = [e["args"][0]["id"] for e in replayed]
    assert reply["replayed"] == len(replayed) == 6  # 3 comments, each with its thread header
    assert ids == sorted(set(ids)) and min(ids) > max(seen)
    bodies = [e["args"][0]["html"] for e in replayed if e["name"] == "comment.posted"]
    assert [f"断线时的第{n}条" in html for n, html in enumerate(bodies)] == [True] * 3
    again = _join(socket, f"item:{item.id}", last_id=max(ids))
    assert again["replayed"] == 0 and socket.get_received() == []


def test_sockets_may_only_join_rooms_their_user_may_read(app):
    community = make_community()
    author = make_member(community)
    draft = make_item(community, author, submit=False)
    public = make_item(community, author)
    anonymous = socketio.test_client(app)
    assert _join(anonymous, f"item:{public.id}")["ok"]
    assert _join(anonymous, f"item:{draft.id}") == {"ok": False, "error": "forbidden"}
    assert _join(anonymous, f"user:{author.id}") == {"ok": False, "error": "forbidden"}
    assert _join(anonymous, "admin:1") == {"ok": False, "error": "unknown room"}
    logged_in = app.test_client()
    logged_in.post("/login", data={"contact": author.contact, "password": PASSWORD})
    own = socketio.test_client(app, flask_test_client=logged_in)
    assert _join(own, f"user:{author.id}")["ok"]
    assert _join(own, f"item:{draft.id}")["ok"]  # the author reads their draft
    other = make_member(community)
    assert _join(own, f"user:{other.id}") == {"ok": False, "error": "forbidden"}


def test_socket_connections_from_another_origin_are_refused(client):
    handshake = "/socket.io/?EIO=4&transport=polling"
    foreign = client.get(handshake, headers={"Origin": "http://evil.example"})
    same = client.get(handshake, headers={"Origin": "http://localhost"})
    assert foreign.status_code == 400
    assert same.status_code == 200


def test_notifications_reach_only_their_owner_live(app):
    community = make_community()
    author = make_member(community, name="张三")
    mentioned = make_member(community, name="李四")
    item = make_item(community, author)
    browser = app.test_client()
    browser.post("/login", data={"contact": mentioned.contact, "password": PASSWORD})
    socket = socketio.test_client(app, flask_test_client=browser)
    _join(socket, f"user:{mentioned.id}", last_id=realtime.last_event_id())
    discussion.post_comment(actor=author, community=community, item_id=item.id, body="@李四 请看")
    events = socket.get_received()
    assert [e["name"] for e in events] == ["notification.created"]
    assert "html" not in events[0]["args"][0]  # personal content is fetched, never broadcast
    assert "1" in browser.get("/notifications/bell").get_data(as_text=True)


def test_a_client_away_too_long_is_told_to_reload(app, monkeypatch):
    monkeypatch.setattr(realtime, "REPLAY_LIMIT", 3)
    community = make_community()
    item = make_item(community)
    socket = socketio.test_client(app)
    start = realtime.last_event_id()
    for n in range(3):
        discussion.post_comment(actor=make_member(community), community=community, item_id=item.id, body=str(n))
    reply = _join(socket, f"item:{item.id}", last_id=start)
    assert reply["reload"] is True and socket.get_received() == []


def test_a_join_with_an_absurd_last_id_is_answered_not_crashed(app):
    """A client may send any last id (a bug, or a "replay nothing" hint); on PostgreSQL a number
    past 32 bits used to break the replay query."""
    community = make_community()
    item = make_item(community)
    socket = socketio.test_client(app, flask_test_client=app.test_client())
    for last_id in (10**12, -5, "not a number", 2**63):
        reply = _join(socket, f"item:{item.id}", last_id=last_id)
        assert reply["ok"] and reply["replayed"] >= 0, (last_id, reply)


def test_a_join_that_arrives_after_its_page_went_away_is_dropped_quietly(app, monkeypatch):
    """A browser that navigates away right after sending "join" may be forgotten by the server
    while the join is being handled: it is answered "gone", not a crash in the handler thread."""
    from flask import request

    community = make_community()
    item = make_item(community)
    socket = socketio.test_client(app)
    real_join = realtime.join_room

    def join_after_the_page_left(room):
        socketio.server.manager.disconnect(request.sid, "/")  # the page left just now
        real_join(room)

    monkeypatch.setattr(realtime, "join_room", join_after_the_page_left)
    assert _join(socket, f"item:{item.id}") == {"ok": False, "error": "gone"}

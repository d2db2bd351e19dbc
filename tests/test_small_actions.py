"""Actions and views that had no test of their own: dismissing flags, changing a scheduled meeting,
marking notifications read, the audit filters, and the htmx fragments of the attendance list,
the audit log, the reply form and the comment actions; pages checked for their English text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from deliberation.audit.models import AuditEntry
from deliberation.audit.services import AuditFilter, audit_query
from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.discussion.models import CommentFlag, CommentState
from deliberation.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.extensions import db
from deliberation.meetings import services as meetings
from deliberation.notifications import services as notifications
from deliberation.notifications.models import Notification
from deliberation.timeutil import utcnow
from tests.factories import admin_of, make_community, make_item, make_member
from tests.test_meetings import _draft, _login, _meeting


@pytest.fixture
def hall(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    residents = [make_member(community, name=f"居民{i}") for i in range(3)]
    return community, chair, staff, residents


# ---------------------------------------------------------------- moderation


def test_staff_dismiss_flags_and_only_staff_of_this_community_may(hall):
    community, chair, staff, residents = hall
    item = make_item(community, residents[0])
    comment = discussion.post_comment(actor=residents[0], community=community, item_id=item.id, body="停车位太少")
    discussion.flag_comment(actor=residents[1], community=community, comment_id=comment.id, reason="离题")
    discussion.flag_comment(actor=residents[2], community=community, comment_id=comment.id, reason="")
    assert comment.open_flags == 2

    for who in (residents[1], make_member(make_community(), Role.STAFF)):
        with pytest.raises(PermissionDenied):
            discussion.dismiss_flags(actor=who, community=community, comment_id=comment.id)
    other = make_community()
    with pytest.raises(NotFound):  # a comment id from here, asked in another community
        discussion.dismiss_flags(actor=admin_of(other), community=other, comment_id=comment.id)

    discussion.dismiss_flags(actor=staff, community=community, comment_id=comment.id)
    assert comment.open_flags == 0
    flags = db.session.scalars(db.select(CommentFlag).where(CommentFlag.comment_id == comment.id)).all()
    assert len(flags) == 2 and all(f.resolved_at is not None for f in flags)
    assert comment.state == CommentState.VISIBLE  # dismissing keeps the comment as it was


# ---------------------------------------------------------------- meetings


def test_update_meeting_changes_a_scheduled_meeting_and_refuses_a_started_one(hall):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, items=1)
    later = utcnow() + timedelta(days=3)
    changed = meetings.update_meeting(actor=staff, community=community, meeting_id=meeting.id,
                                      draft=_draft(title="  四季度议事会 ", place="二楼会议室", starts_at=later,
                                                   ends_at=later + timedelta(hours=1)))
    assert (changed.title, changed.place, changed.starts_at) == ("四季度议事会", "二楼会议室", later)
    assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "meeting.updated")) is not None

    with pytest.raises(PermissionDenied):
        meetings.update_meeting(actor=residents[0], community=community, meeting_id=meeting.id, draft=_draft())
    with pytest.raises(ValidationError):
        meetings.update_meeting(actor=chair, community=community, meeting_id=meeting.id, draft=_draft(title=" "))
    assert meeting.title == "四季度议事会"  # a refused change changes nothing

    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(InvalidTransition):
        meetings.update_meeting(actor=chair, community=community, meeting_id=meeting.id, draft=_draft())


# ---------------------------------------------------------------- notifications


def test_mark_all_read_marks_only_my_notifications(app, client):
    community = make_community()
    me, neighbour = make_member(community, name="我"), make_member(community, name="邻居")
    notifications.notify(recipients=[me.id], kind="item.supported", actor=None, link="/", title="停车")
    notifications.notify(recipients=[me.id, neighbour.id], kind="item.accepted", actor=None, link="/", title="停车")
    db.session.commit()
    notifications.mark_all_read(actor=me)

    def unread(person):
        return db.session.scalar(db.select(db.func.count()).select_from(Notification).where(
            Notification.user_id == person.id, Notification.read_at.is_(None)))

    assert unread(me) == 0 and unread(neighbour) == 1


# ---------------------------------------------------------------- the audit log


def test_audit_filters_by_actor_subject_action_and_local_days(hall):
    community, chair, staff, residents = hall
    admin = admin_of(community)
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.community_id == community.id)).all()
    assert entries, "making members writes audit entries"

    def found(**filters):
        return db.session.scalars(audit_query(actor=admin, community=community, filters=AuditFilter(**filters))).all()

    everything = found()
    assert len(everything) == len(entries)
    granted = found(action="role.granted")
    assert granted and all(e.action == "role.granted" for e in granted)
    about_staff = found(subject_id=staff.id)
    assert about_staff and all(e.subject_id == staff.id for e in about_staff)
    by_admin = found(actor_id=admin.id)
    assert by_admin and all(e.actor_id == admin.id for e in by_admin)

    # An entry written at 23:30 UTC on 1 March belongs to 2 March in Shanghai (UTC+8).
    with time_machine.travel("2027-03-01 23:30:00+00:00", tick=False):
        late_member = make_member(community, Role.EXPERT, name="深夜登记")
    late = found(subject_id=late_member.id)
    assert late
    assert set(late) <= set(found(since=date(2027, 3, 2), until=date(2027, 3, 2)))
    assert not set(late) & set(found(since=date(2027, 3, 1), until=date(2027, 3, 1)))
    assert found(since=date(2099, 1, 1)) == []

    for outsider in (residents[0], chair, admin_of(make_community())):
        with pytest.raises(PermissionDenied):
            audit_query(actor=outsider, community=community, filters=AuditFilter())


def test_audit_log_fragment_and_bad_filters(hall, client):
    community, chair, staff, residents = hall
    admin = admin_of(community)
    assert client.post("/login", data={"contact": admin.contact, "password": "password123"}).status_code == 303
    url = f"/c/{community.slug}/audit/"
    page = client.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get(url + "?action=role.granted", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="audit-rows"' in body
    assert "HX-Request" in fragment.headers.get("Vary", "")
    # Nonsense in the filters is ignored, not an error.
    assert client.get(url + "?actor=abc&since=2026-13-45&page=-3").status_code == 200


# ---------------------------------------------------------------- fragments


def test_attendance_list_fragment_after_a_check_in(hall, client):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, items=1)
    _login(client, staff)
    url = f"/c/{community.slug}/meetings/{meeting.id}/attendance"
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and 'id="roster"' in fragment.get_data(as_text=True)
    # Without JavaScript a check-in answers with a redirect back to the list.
    plain = client.post(url, data={"user_id": residents[0].id, "what": "in"})
    assert plain.status_code == 303
    assert residents[0].id in {c.user_id for c in meetings.check_ins(meeting)}


def test_reply_form_fragment_and_comment_actions(hall, client):
    community, chair, staff, residents = hall
    item = make_item(community, residents[0])
    comment = discussion.post_comment(actor=residents[0], community=community, item_id=item.id, body="同意")
    _login(client, residents[1])
    base = f"/c/{community.slug}"
    reply = client.get(f"{base}/items/{item.id}/comments/{comment.id}/reply", headers={"HX-Request": "true"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "<html" not in body and f'value="{comment.id}"' in body
    whole = client.get(f"{base}/items/{item.id}/comments/{comment.id}/reply")
    assert "<html" in whole.get_data(as_text=True)
    # The reply form of a comment on another item is not there.
    other = make_item(community, residents[1], title="另一个议题")
    assert client.get(f"{base}/items/{other.id}/comments/{comment.id}/reply").status_code == 404

    # The personal controls: a neighbour may flag, not edit; the author may edit.
    actions = client.get(f"{base}/comments/{comment.id}/actions", headers={"HX-Request": "true"})
    text = actions.get_data(as_text=True)
    assert actions.status_code == 200 and "<html" not in text
    assert f"/comments/{comment.id}/flag" in text and f"/comments/{comment.id}/edit" not in text
    client.post("/logout")
    _login(client, residents[0])
    mine = client.get(f"{base}/comments/{comment.id}/actions", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"/comments/{comment.id}/edit" in mine


def test_item_actions_answer_htmx_and_plain_posts(hall, client):
    community, chair, staff, residents = hall
    item = make_item(community, residents[0])
    _login(client, residents[1])
    url = f"/c/{community.slug}/items/{item.id}"
    plain = client.post(url + "/support")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/items/{item.id}")
    client.post("/logout")
    _login(client, residents[2])
    swapped = client.post(url + "/support", headers={"HX-Request": "true"})
    assert swapped.status_code in (200, 303)
    assert "<html" not in swapped.get_data(as_text=True)
    assert item.support_count == 2


# ---------------------------------------------------------------- both languages, for real


@pytest.mark.parametrize("path, english, chinese", [
    ("/c/{slug}/meetings", "Meetings", "会议"),
    ("/c/{slug}/records", "Record of decisions", "决议档案"),
    ("/c/{slug}/items", "Agenda items", "议题"),
])
def test_pages_speak_the_language_asked_for(hall, client, path, english, chinese):
    community = hall[0]
    url = path.format(slug=community.slug)
    en = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    zh = client.get(url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en"' in en and english in en
    assert '<html lang="zh' in zh and chinese in zh and english not in zh


# ---------------------------------------------------------------- one request, one transaction


def test_saving_and_submitting_a_draft_is_one_action(hall):
    from deliberation.agenda import services as agenda
    from deliberation.agenda.models import ItemStatus

    community, chair, staff, residents = hall
    category_id = make_item(community, residents[0], submit=False).category_id
    item = agenda.save_draft(actor=residents[1], community=community, title="楼道灯", body="", category_id=category_id,
                             submit=True)
    assert item.status == ItemStatus.SUBMITTED
    # A refused change saves nothing: the title stays as it was.
    with pytest.raises(InvalidTransition):
        agenda.save_draft(actor=residents[1], community=community, title="改了", body="", category_id=category_id,
                          item_id=item.id, submit=True)
    db.session.rollback()
    assert db.session.get(type(item), item.id).title == "楼道灯"


def test_settings_are_saved_together_or_not_at_all(hall):
    from deliberation.communities.services import update_settings

    community, chair, staff, residents = hall
    before = (community.support_threshold, community.max_proxies)
    with pytest.raises(ValidationError) as refused:
        update_settings(actor=staff, community=community, support_threshold=7, max_proxies=21)
    assert refused.value.field == "max_proxies"
    db.session.rollback()
    assert (community.support_threshold, community.max_proxies) == before
    with pytest.raises(PermissionDenied):
        update_settings(actor=chair, community=community, support_threshold=7, max_proxies=3)
    update_settings(actor=staff, community=community, support_threshold=7, max_proxies=3)
    assert (community.support_threshold, community.max_proxies) == (7, 3)
    actions = set(db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.community_id == community.id)))
    assert {"community.threshold_set", "community.max_proxies"} <= actions


def test_saving_and_publishing_minutes_is_one_action(hall):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, items=1, start=True)
    meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id, text="会议纪要\n散会。",
                          publish=True)
    assert meeting.minutes_published_at is not None and meeting.minutes_text.startswith("会议纪要")
    with pytest.raises(InvalidTransition):
        meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id, text="改写", publish=True)


# ---------------------------------------------------------------- work outside HTTP


def test_work_outside_http_takes_the_write_lock_up_front(app):
    """The CLI and background tasks render in a request context of their own; their
    transactions must begin like a POST's (BEGIN IMMEDIATE on SQLite), or a concurrent writer
    makes their first write fail at once with "database is locked"."""
    from deliberation.extensions import _expects_writes, internal_request_context

    with app.test_request_context("/", method="GET"):
        assert not _expects_writes()
    with internal_request_context():
        assert _expects_writes()


def test_a_live_event_removed_meanwhile_does_not_break_the_announcement(app, monkeypatch):
    """Another thread's announcement that replaces the state may delete the stored events of
    this one between its commit and its emit; announcing must still succeed."""
    from deliberation import realtime

    sent = []

    def emit_and_delete(name, payload, to):
        with db.engine.begin() as other:  # another connection, like another thread's
            other.execute(db.delete(realtime.LiveEvent))
        sent.append((payload["id"], to))

    monkeypatch.setattr(realtime.socketio, "emit", emit_and_delete)
    ids = realtime.announce("item:1", "item.changed", data={"id": 1})
    assert len(ids) == len(realtime.LANGUAGES) and [i for i, _ in sent] == ids

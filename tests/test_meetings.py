"""Meetings: scheduling and the agenda, publishing, attendance, check-in, every chair action and
who may take it, the speakers' queue rules, in-meeting votes, minutes, the live events to the
meeting's room, and the pages (console, projector, check-in link, minutes)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation import realtime
from deliberation.agenda import services as agenda
from deliberation.agenda.models import AgendaItem, ItemStatus
from deliberation.communities.models import Role
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.meetings import services as meetings
from deliberation.meetings.models import CheckIn, Meeting, MinuteEntry, Speaker
from deliberation.notifications.models import Notification
from deliberation.records import services as records
from deliberation.timeutil import travel_to, utcnow
from deliberation.voting import services as voting
from tests.factories import admin_of, audit_entries, make_community, make_item, make_measure, make_member, race

YES = {"choice": "yes"}


@pytest.fixture
def hall(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    residents = [make_member(community, name=f"居民{i}") for i in range(4)]
    return community, chair, staff, residents


def _accepted_item(community, title="东门夜间共享停车"):
    item = make_item(community, title=title)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    return item


def _draft(**changes) -> meetings.MeetingDraft:
    start = utcnow() + timedelta(minutes=30)  # check-in by code opens an hour before
    values = {"title": "居民议事会", "mode": "hybrid", "place": "活动中心", "starts_at": start,
              "ends_at": start + timedelta(hours=2), "speaking_minutes": 3}
    return meetings.MeetingDraft(**{**values, **changes})


def _meeting(community, chair, *, items=2, publish=True, start=False, **changes) -> Meeting:
    meeting = meetings.schedule_meeting(actor=chair, community=community, draft=_draft(**changes))
    for n in range(items):
        item = _accepted_item(community, title=f"议题{n}")
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=10)
    if publish:
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    if start:
        meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    return meeting


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


# ---------------------------------------------------------------- scheduling and the agenda


def test_only_chairs_and_staff_schedule_and_the_draft_is_checked(hall):
    community, chair, staff, residents = hall
    with pytest.raises(PermissionDenied):
        meetings.schedule_meeting(actor=residents[0], community=community, draft=_draft())
    for changes, field in [({"title": " "}, "title"), ({"mode": "telepathy"}, "mode"), ({"place": ""}, "place"),
                           ({"ends_at": utcnow()}, "ends_at"), ({"speaking_minutes": 0.1}, "speaking_minutes"),
                           ({"starts_at": utcnow() - timedelta(days=2), "ends_at": utcnow() - timedelta(days=2, hours=-1)}, "starts_at")]:
        with pytest.raises(ValidationError) as caught:
            meetings.schedule_meeting(actor=chair, community=community, draft=_draft(**changes))
        assert caught.value.field == field, changes
    online = meetings.schedule_meeting(actor=staff, community=community, draft=_draft(mode="online", place=""))
    assert online.status == "draft" and online.speaking_seconds == 180


def test_the_agenda_takes_accepted_undecided_items_once(hall):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, items=0, publish=False)
    submitted = make_item(community, title="还没受理")
    with pytest.raises(InvalidTransition):
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=submitted.id,
                               minutes=10)
    other = make_community()
    theirs = make_item(other)
    with pytest.raises(NotFound):
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=theirs.id, minutes=10)
    item = _accepted_item(community)
    with pytest.raises(ValidationError):
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=0)
    first = meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id,
                                   minutes=20)
    with pytest.raises(Conflict):
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=5)
    second = meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id,
                                    item_id=_accepted_item(community, "第二个").id, minutes=5)
    meetings.move_on_agenda(actor=chair, community=community, meeting_id=meeting.id, entry_id=second.id,
                            direction="up")
    assert [e.id for e in meeting.agenda] == [second.id, first.id]
    meetings.set_time_box(actor=chair, community=community, meeting_id=meeting.id, entry_id=first.id, minutes=45)
    assert first.minutes == 45
    with pytest.raises(PermissionDenied):
        meetings.remove_from_agenda(actor=residents[0], community=community, meeting_id=meeting.id,
                                    entry_id=first.id)
    meetings.remove_from_agenda(actor=chair, community=community, meeting_id=meeting.id, entry_id=first.id)
    assert [e.id for e in meeting.agenda] == [second.id]


def test_publishing_shows_the_meeting_tells_members_and_schedules_items(hall, client):
    from deliberation.extensions import db

    community, chair, _, residents = hall
    empty = meetings.schedule_meeting(actor=chair, community=community, draft=_draft())
    with pytest.raises(InvalidTransition):
        meetings.publish_meeting(actor=chair, community=community, meeting_id=empty.id)
    meeting = _meeting(community, chair, publish=False)
    assert client.get(f"/c/{community.slug}/meetings/{meeting.id}").status_code == 404  # a draft is the chair's
    with pytest.raises(NotFound):
        meetings.meeting_in(community, meeting.id, residents[0])
    meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    assert meeting.status == "scheduled"
    assert all(e.item.status == ItemStatus.SCHEDULED for e in meeting.agenda)
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "meeting.scheduled")))
    assert {r.id for r in residents} <= told and chair.id not in told
    page = client.get(f"/c/{community.slug}/meetings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "居民议事会" in page
    item_page = client.get(f"/c/{community.slug}/items/{meeting.agenda[0].item_id}").get_data(as_text=True)
    assert f"/meetings/{meeting.id}" in item_page


def test_members_say_they_will_come_once(hall):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair)
    for _ in range(2):
        meetings.attend(actor=residents[0], community=community, meeting_id=meeting.id, on=True)
    assert meetings.attendance_count(meeting) == 1 and meetings.attending(meeting, residents[0])
    meetings.attend(actor=residents[0], community=community, meeting_id=meeting.id, on=False)
    assert meetings.attendance_count(meeting) == 0
    outsider = make_member(make_community())
    with pytest.raises(PermissionDenied):
        meetings.attend(actor=outsider, community=community, meeting_id=meeting.id, on=True)


# ---------------------------------------------------------------- running it: chair actions


def test_chair_actions_are_for_chairs_and_staff_only(hall):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair)
    for action in (meetings.start_meeting, meetings.end_meeting, meetings.take_item, meetings.call_next,
                   meetings.finish_speaker):
        with pytest.raises(PermissionDenied):
            action(actor=residents[0], community=community, meeting_id=meeting.id)
    with pytest.raises(PermissionDenied):
        meetings.add_speaker(actor=residents[0], community=community, meeting_id=meeting.id, name="某人")
    with pytest.raises(PermissionDenied):
        meetings.add_note(actor=residents[0], community=community, meeting_id=meeting.id, text="记录")
    with pytest.raises(InvalidTransition):  # not started yet
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    meetings.start_meeting(actor=staff, community=community, meeting_id=meeting.id)  # staff may run it too
    with pytest.raises(InvalidTransition):
        meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)


def test_the_chair_moves_through_the_agenda(hall):
    community, chair, _, _ = hall
    meeting = _meeting(community, chair, items=3)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    first, second, third = meeting.agenda
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    assert meeting.current_id == first.id and first.started_at is not None
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id, entry_id=third.id)
    assert meeting.current_id == third.id and first.ended_at is not None
    with pytest.raises(InvalidTransition):
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)  # third was the last
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id, entry_id=second.id)
    other = _meeting(community, chair, items=1)
    with pytest.raises(NotFound):
        meetings.take_item(actor=chair, community=community, meeting_id=meeting.id, entry_id=other.agenda[0].id)
    meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    assert meeting.status == "ended" and meeting.current_id is None
    kinds = [e.kind for e in meetings.minute_entries(meeting)]
    assert kinds[0] == "started" and kinds[-1] == "ended" and kinds.count("item") == 3


# ---------------------------------------------------------------- the speakers' queue


def test_speakers_queue_rules(hall):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair)
    with pytest.raises(InvalidTransition):  # not live
        meetings.request_to_speak(actor=residents[0], community=community, meeting_id=meeting.id)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(InvalidTransition):  # no item yet
        meetings.request_to_speak(actor=residents[0], community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    a = meetings.request_to_speak(actor=residents[0], community=community, meeting_id=meeting.id)
    with pytest.raises(Conflict):
        meetings.request_to_speak(actor=residents[0], community=community, meeting_id=meeting.id)
    b = meetings.request_to_speak(actor=residents[1], community=community, meeting_id=meeting.id)
    with pytest.raises(ValidationError):
        meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="   ")
    c = meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="  物业  经理 ")
    assert c.name == "物业 经理" and c.user_id is None and c.source == "room"
    meetings.move_speaker(actor=chair, community=community, meeting_id=meeting.id, speaker_id=c.id, direction="up")
    assert [s.id for s in meetings.queue(meeting)[1]] == [a.id, c.id, b.id]
    meetings.withdraw_request(actor=residents[1], community=community, meeting_id=meeting.id)
    assert [s.id for s in meetings.queue(meeting)[1]] == [a.id, c.id]

    with travel_to(utcnow() - timedelta(minutes=4)):
        called = meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    assert called.id == a.id and called.status == "speaking"
    with pytest.raises(InvalidTransition):  # speaking, not waiting
        meetings.withdraw_request(actor=residents[0], community=community, meeting_id=meeting.id)
    meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    speaking, waiting = meetings.queue(meeting)
    assert speaking.id == c.id and waiting == []
    spoke = [e for e in meetings.minute_entries(meeting) if e.kind == "spoke"]
    assert spoke[0].text == "居民0" and spoke[0].data["seconds"] >= 239 and spoke[0].data["over"] >= 59

    # Ids from elsewhere are refused; a resident cannot reorder.
    other = _meeting(community, chair, start=True)
    theirs = meetings.add_speaker(actor=chair, community=community, meeting_id=other.id, name="别的会")
    with pytest.raises(NotFound):
        meetings.remove_speaker(actor=chair, community=community, meeting_id=meeting.id, speaker_id=theirs.id)
    with pytest.raises(PermissionDenied):
        meetings.move_speaker(actor=residents[2], community=community, meeting_id=other.id, speaker_id=theirs.id,
                              direction="up")

    # Moving to the next item: the speaker finishes and whoever still waited is dropped.
    meetings.request_to_speak(actor=residents[2], community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    assert meetings.queue(meeting) == (None, [])
    from deliberation.extensions import db

    statuses = dict(db.session.execute(select(Speaker.name, Speaker.status)
                                       .where(Speaker.meeting_id == meeting.id)).all())
    assert statuses["物业 经理"] == "done" and statuses["居民2"] == "withdrawn"


# ---------------------------------------------------------------- check-in


def test_check_in_by_code_by_staff_and_online(hall):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, mode="hybrid")
    with pytest.raises(ValidationError):
        meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id, token="guess")
    meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    with pytest.raises(PermissionDenied):
        meetings.check_in_member(actor=residents[1], community=community, meeting_id=meeting.id,
                                 user_id=residents[2].id)
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=residents[2].id)
    with pytest.raises(NotFound):
        meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id,
                                 user_id=make_member(make_community()).id)
    with pytest.raises(InvalidTransition):  # online presence only while live
        meetings.join_online(actor=residents[1], community=community, meeting_id=meeting.id)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.join_online(actor=residents[1], community=community, meeting_id=meeting.id)
    assert meetings.present(meeting) == meetings.Present(room=2, online=1)
    # someone following online arrives and scans the code: counted once, in the room
    meetings.check_in_with_code(actor=residents[1], community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    assert meetings.present(meeting) == meetings.Present(room=3, online=0)
    meetings.undo_check_in(actor=staff, community=community, meeting_id=meeting.id, user_id=residents[2].id)
    assert meetings.present(meeting).room == 2
    in_person = _meeting(community, chair, mode="in_person", start=True)
    with pytest.raises(InvalidTransition):
        meetings.join_online(actor=residents[0], community=community, meeting_id=in_person.id)


def test_concurrent_check_ins_count_a_person_once(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        chair = make_member(community, Role.CHAIR)
        resident = make_member(community)
        meeting = _meeting(community, chair)
        ids = (community.id, meeting.id, resident.id, meetings.checkin_code(meeting))
        db.session.remove()
    barrier = threading.Barrier(12)
    errors = []

    def scan():
        with app.app_context():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            try:
                user, community = db.session.get(User, ids[2]), db.session.get(Community, ids[0])
                db.session.commit()
                barrier.wait()
                meetings.check_in_with_code(actor=user, community=community, meeting_id=ids[1], token=ids[3])
            except Exception as err:  # noqa: BLE001 - any failure fails the test below
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scan) for _ in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    with app.app_context():
        from deliberation.extensions import db

        assert db.session.scalar(select(func.count(CheckIn.id)).where(CheckIn.meeting_id == ids[1])) == 1


def test_the_check_in_link_logs_in_then_asks_before_checking_in(hall, client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair)
    url = f"/c/{community.slug}/meetings/{meeting.id}/checkin/{meetings.checkin_code(meeting)}"
    first = client.get(url)
    assert first.status_code in (302, 303) and "/login" in first.headers["Location"]
    _login(client, residents[0])
    confirm = client.get(url)  # a GET changes nothing: a confirmation page with a POST button
    assert confirm.status_code == 200 and f'action="{url}"' in confirm.get_data(as_text=True)
    assert meetings.check_in_of(meeting, residents[0]) is None
    answer = client.post(url)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/meetings/{meeting.id}#live")
    assert meetings.check_in_of(meeting, residents[0]).presence == "room"
    wrong = client.post(f"/c/{community.slug}/meetings/{meeting.id}/checkin/nope", follow_redirects=True,
                        headers={"Accept-Language": "en"})
    assert "not valid" in wrong.get_data(as_text=True)


def test_the_check_in_code_rotates_with_a_short_grace_and_only_while_open(hall, monkeypatch):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair)
    now = utcnow()
    old_code = meetings.checkin_code(meeting, now - timedelta(seconds=meetings.CHECKIN_PERIOD))
    stale_code = meetings.checkin_code(meeting, now - timedelta(seconds=2 * meetings.CHECKIN_PERIOD))
    assert len({old_code, stale_code, meetings.checkin_code(meeting, now)}) == 3  # a new code every minute
    with pytest.raises(ValidationError):  # two minutes old: scan again
        meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id, token=stale_code)
    with pytest.raises(ValidationError):  # the meeting's stored token is not a code
        meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id,
                                    token=meeting.checkin_token)
    # The code shown a moment ago still works (someone scanned as it changed).
    meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id, token=old_code)
    # A meeting days ahead, or one that has ended: no code, and none accepted.
    later = _meeting(community, chair, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=2))
    assert meetings.checkin_code(later) is None
    code_then = meetings.checkin_code(later, later.starts_at - timedelta(minutes=10))
    with pytest.raises(InvalidTransition):
        meetings.check_in_with_code(actor=residents[1], community=community, meeting_id=later.id, token=code_then)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    code = meetings.checkin_code(meeting)
    meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(InvalidTransition):
        meetings.check_in_with_code(actor=residents[1], community=community, meeting_id=meeting.id, token=code)
    assert meetings.check_in_of(meeting, residents[1]) is None


def test_the_projector_opens_only_by_the_chairs_link_or_a_staff_login(hall, client):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair)
    base = f"/c/{community.slug}/meetings/{meeting.id}"
    assert client.get(f"{base}/projector").status_code in (302, 303)  # anonymous: log in first
    assert client.get(f"{base}/projector/code").status_code == 403
    assert client.get(f"{base}/screen/guessed").status_code == 404
    _login(client, residents[0])
    assert client.get(f"{base}/projector").status_code == 403
    assert client.get(f"{base}/projector/code").status_code == 403
    client.post("/logout")
    meetings.issue_projector_link(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(PermissionDenied):
        meetings.issue_projector_link(actor=residents[0], community=community, meeting_id=meeting.id)
    screen = client.get(f"{base}/screen/{meeting.projector_token}")
    assert screen.status_code == 303 and screen.headers["Location"].endswith(f"{base}/projector")
    page = client.get(f"{base}/projector").get_data(as_text=True)
    assert "/checkin/" not in page  # the code is fetched apart, never in the page's live state
    code = client.get(f"{base}/projector/code")
    assert code.status_code == 200 and "<svg" in code.get_data(as_text=True)
    assert code.headers["Cache-Control"] == "no-store"
    meetings.revoke_projector_link(actor=chair, community=community, meeting_id=meeting.id)
    assert client.get(f"{base}/projector").status_code == 403  # the browser's remembered link is dead
    assert client.get(f"{base}/projector/code").status_code == 403
    _login(client, staff)
    assert client.get(f"{base}/projector/code").status_code == 200
    actions = [e.action for e in audit_entries(community)]
    assert "meeting.projector_link_issued" in actions and "meeting.projector_link_revoked" in actions


def test_no_stored_meeting_event_carries_a_check_in_link(hall, app):
    from deliberation.extensions import socketio

    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, start=True)
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=residents[0].id)
    meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="物业经理")
    anonymous = socketio.test_client(app)
    answer = anonymous.emit("join", {"room": f"meeting:{meeting.id}", "locale": "zh_CN", "last_id": 0}, callback=True)
    assert answer["ok"] and answer["replayed"] > 0
    replayed = " ".join(str(e["args"][0]) for e in anonymous.get_received())
    assert "/checkin/" not in replayed and meetings.checkin_code(meeting) not in replayed
    assert meeting.checkin_token not in replayed


def test_online_presence_is_refused_in_person_and_the_chair_removes_a_wrong_check_in(hall, client):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, mode="in_person", start=True)
    with pytest.raises(InvalidTransition):
        meetings.join_online(actor=residents[0], community=community, meeting_id=meeting.id)
    _login(client, residents[0])
    client.post(f"/c/{community.slug}/meetings/{meeting.id}/me", data={"what": "online"})
    assert meetings.check_in_of(meeting, residents[0]) is None
    client.post("/logout")
    meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=residents[1].id)
    _login(client, chair)
    console = client.get(f"/c/{community.slug}/meetings/{meeting.id}/console", headers={"Accept-Language": "en"})
    html = console.get_data(as_text=True)
    assert "scanned the code" in html and "ticked off by staff" in html
    removed = client.post(f"/c/{community.slug}/meetings/{meeting.id}/console",
                          data={"action": "remove_check_in", "user_id": residents[0].id})
    assert removed.status_code == 303 and meetings.check_in_of(meeting, residents[0]) is None
    entry = [e for e in audit_entries(community) if e.action == "meeting.check_in_undone"][-1]
    assert entry.actor_id == chair.id and entry.subject_id == residents[0].id
    # Someone else's id from another community is refused, not removed.
    stranger = make_member(make_community())
    refused = client.post(f"/c/{community.slug}/meetings/{meeting.id}/console",
                          data={"action": "remove_check_in", "user_id": stranger.id})
    assert refused.status_code in (303, 404) and meetings.check_in_of(meeting, residents[1]) is not None


# ---------------------------------------------------------------- votes and notes in the meeting


def test_a_vote_opened_in_the_meeting_has_those_present_as_its_roll(hall):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, items=1)
    item = meeting.agenda[0].item
    measure = make_measure(community, item=item, chair=chair, open_now=False)
    elsewhere = make_measure(community, chair=chair, open_now=False)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    for r in residents[:2]:
        meetings.check_in_with_code(actor=r, community=community, meeting_id=meeting.id, token=meetings.checkin_code(meeting))
    meetings.join_online(actor=residents[2], community=community, meeting_id=meeting.id)
    with pytest.raises(NotFound):  # not a measure of the current item
        meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=elsewhere.id)
    with pytest.raises(PermissionDenied):
        meetings.open_vote(actor=residents[0], community=community, meeting_id=meeting.id, measure_id=measure.id)
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    assert measure.meeting_id == meeting.id and voting.exact_turnout(measure).eligible == 3
    voting.cast_ballot(actor=residents[2], community=community, measure_id=measure.id, content=YES)  # online
    with pytest.raises(PermissionDenied):  # not present: not on this vote's roll
        voting.cast_ballot(actor=residents[3], community=community, measure_id=measure.id, content=YES)
    with pytest.raises(InvalidTransition):
        meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.close_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    resolution = records.resolution_of(measure)
    assert records.content_of(resolution)["body"]["minutes"] == f"/c/{community.slug}/meetings/{meeting.id}/minutes"
    closed = [e for e in meetings.minute_entries(meeting) if e.kind == "vote_closed"]
    assert closed and closed[0].data["cast"] == 1 and closed[0].data["eligible"] == 3


def test_a_show_of_hands_counts_against_those_present(hall):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, items=1)
    measure = make_measure(community, item=meeting.agenda[0].item, chair=chair, open_now=False)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    for r in residents:
        meetings.check_in_with_code(actor=r, community=community, meeting_id=meeting.id, token=meetings.checkin_code(meeting))
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    with pytest.raises(ValidationError):  # five hands, four present
        meetings.record_hands(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id,
                              counts={"yes": 5, "no": 0, "abstain": 0})
    meetings.record_hands(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id,
                          counts={"yes": 3, "no": 1, "abstain": 0})
    assert measure.status == "closed" and measure.result["hands"]["present"] == 4
    assert measure.result["outcome"] == "passed"


def test_minutes_build_themselves_then_the_chair_edits_and_publishes(hall, client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, items=2, start=True)
    meetings.request_to_speak(actor=residents[0], community=community, meeting_id=meeting.id)
    meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(ValidationError):
        meetings.add_note(actor=chair, community=community, meeting_id=meeting.id, text="  ")
    meetings.add_note(actor=chair, community=community, meeting_id=meeting.id, text="物业答应下周给出报价。")
    meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    text = meeting.minutes_text
    assert "# 居民议事会" in text and "议题0" in text and "议题1" in text
    assert "居民0" in text and "物业答应下周给出报价。" in text
    minutes_url = f"/c/{community.slug}/meetings/{meeting.id}/minutes"
    assert "物业答应" not in client.get(minutes_url).get_data(as_text=True)  # not published: not public
    with pytest.raises(PermissionDenied):
        meetings.publish_minutes(actor=residents[0], community=community, meeting_id=meeting.id)
    with pytest.raises(ValidationError):
        meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id, text=" ")
    meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id, text=text + "\n散会。")
    meetings.publish_minutes(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(InvalidTransition):
        meetings.save_minutes(actor=chair, community=community, meeting_id=meeting.id, text="改写")
    with pytest.raises(InvalidTransition):
        meetings.publish_minutes(actor=chair, community=community, meeting_id=meeting.id)
    page = client.get(minutes_url).get_data(as_text=True)
    assert "物业答应下周给出报价。" in page and "散会。" in page
    item_page = client.get(f"/c/{community.slug}/items/{meeting.agenda[0].item_id}").get_data(as_text=True)
    assert minutes_url in item_page


# ---------------------------------------------------------------- live events


def test_chair_actions_and_votes_reach_the_meeting_room_live(hall, socket_client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, items=2)
    measure = make_measure(community, item=meeting.agenda[1].item, chair=chair, secret=False)  # open online, item 2
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    sc = socket_client()
    ack = sc.emit("join", {"room": f"meeting:{meeting.id}", "locale": "en", "last_id": realtime.last_event_id()},
                  callback=True)
    assert ack["ok"]
    sc.get_received()
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    events = {e["name"]: e["args"][0] for e in sc.get_received()}
    assert events["meeting.projector"]["target"] == f"#projector-{meeting.id}"
    assert "议题0" in events["meeting.projector"]["html"]
    assert events["meeting.state"]["target"] == f"#meeting-live-{meeting.id}"
    meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="物业经理")
    meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    html = [e for e in sc.get_received() if e["name"] == "meeting.projector"][-1]["args"][0]["html"]
    assert "物业经理" in html and "timer" in html
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    sc.get_received()
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    html = [e for e in sc.get_received() if e["name"] == "meeting.projector"][-1]["args"][0]["html"]
    assert "1 of" in html  # the turnout moved on the projector


def test_a_draft_meetings_room_cannot_be_joined(hall, socket_client):
    community, chair, _, _ = hall
    meeting = _meeting(community, chair, publish=False)
    ack = socket_client().emit("join", {"room": f"meeting:{meeting.id}", "locale": "en", "last_id": 0},
                               callback=True)
    assert ack == {"ok": False, "error": "forbidden"}


# ---------------------------------------------------------------- pages


def test_console_page_actions_and_errors(hall, client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair)
    url = f"/c/{community.slug}/meetings/{meeting.id}/console"
    _login(client, residents[0])
    assert client.get(url).status_code == 403
    assert client.post(url, data={"action": "start"}).status_code == 403
    client.post("/logout")
    _login(client, chair)
    assert client.get(url).status_code == 200
    assert client.post(url, data={"action": "start"}).status_code == 303  # no JavaScript: back to the console
    fragment = client.post(url, data={"action": "next"}, headers={"HX-Request": "true", "Accept-Language": "en"})
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="console"') and "议题0" in html
    refused = client.post(url, data={"action": "add_speaker", "name": "x" * 70},
                          headers={"HX-Request": "true", "Accept-Language": "en"})
    assert refused.status_code == 400 and "x" * 70 in refused.get_data(as_text=True)
    assert client.post(url, data={"action": "nonsense"}, headers={"HX-Request": "true"}).status_code == 400
    forged = client.post(url, data={"action": "remove_speaker", "speaker_id": "99999"},
                         headers={"HX-Request": "true", "Accept-Language": "en"})
    assert forged.status_code == 404 and "not waiting" in forged.get_data(as_text=True)


def test_meeting_pages_render_in_both_languages(hall, client):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair, start=True)
    meetings.add_speaker(actor=chair, community=community, meeting_id=meeting.id, name="物业经理")
    meetings.call_next(actor=chair, community=community, meeting_id=meeting.id)
    base = f"/c/{community.slug}/meetings"
    for lang in ("zh-CN", "en"):
        for path in ("", f"/{meeting.id}", f"/{meeting.id}/minutes"):
            assert client.get(base + path, headers={"Accept-Language": lang}).status_code == 200, path
    _login(client, staff)
    projector = client.get(f"{base}/{meeting.id}/projector").get_data(as_text=True)
    assert "物业经理" in projector and "<form" not in projector  # no controls on the projector
    for path in (f"/{meeting.id}/console", f"/{meeting.id}/attendance", "/new", f"/{meeting.id}/edit"):
        assert client.get(base + path).status_code == 200, path
    roster = client.post(f"{base}/{meeting.id}/attendance", data={"user_id": residents[3].id, "what": "in"},
                         headers={"HX-Request": "true"})
    assert roster.status_code == 200 and roster.get_data(as_text=True).lstrip().startswith('<div id="roster"')
    assert meetings.check_in_of(meeting, residents[3]).how == "staff"


def test_schedule_form_keeps_what_was_typed(hall, client):
    community, chair, _, _ = hall
    _login(client, chair)
    answer = client.post(f"/c/{community.slug}/meetings/new", headers={"Accept-Language": "en"}, data={
        "title": "三月议事会", "mode": "in_person", "place": "活动中心二楼", "starts_at": "2030-03-01T19:00",
        "ends_at": "2030-03-01T18:00", "speaking_minutes": "3"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "三月议事会" in html and "活动中心二楼" in html
    assert "must end after it starts" in html
    made = client.post(f"/c/{community.slug}/meetings/new", data={
        "title": "三月议事会", "mode": "in_person", "place": "活动中心", "starts_at": "2030-03-01T19:00",
        "ends_at": "2030-03-01T21:00", "speaking_minutes": "2.5"})
    assert made.status_code == 303
    from deliberation.extensions import db

    meeting = db.session.scalar(select(Meeting).where(Meeting.title == "三月议事会"))
    assert meeting.speaking_seconds == 150 and meeting.status == "draft"


def test_members_take_part_from_the_meeting_page(hall, client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, start=True)
    _login(client, residents[0])
    url = f"/c/{community.slug}/meetings/{meeting.id}/me"
    assert client.post(url, data={"what": "online"}).status_code == 303
    assert client.post(url, data={"what": "speak"}).status_code == 303
    again = client.post(url, data={"what": "speak"}, follow_redirects=True, headers={"Accept-Language": "en"})
    assert "already in the queue" in again.get_data(as_text=True)
    assert meetings.my_request(meeting, residents[0]) is not None
    assert meetings.check_in_of(meeting, residents[0]).presence == "online"
    from deliberation.extensions import db

    assert db.session.scalar(select(func.count(MinuteEntry.id)).where(MinuteEntry.meeting_id == meeting.id)) >= 2
    assert db.session.get(AgendaItem, meeting.agenda[0].item_id).status == ItemStatus.SCHEDULED


# ---------------------------------------------------------------- proxies for a whole meeting


def test_a_meeting_proxy_votes_for_an_absent_member_on_each_measure(hall):
    community, chair, staff, residents = hall
    absent, delegate, other = residents[0], residents[1], residents[2]
    meeting = _meeting(community, chair, items=1)
    item = meeting.agenda[0].item
    first = make_measure(community, item=item, chair=chair, open_now=False, question="第一项表决？")
    second = make_measure(community, item=item, chair=chair, open_now=False, question="第二项表决？")
    with pytest.raises(ValidationError):
        meetings.grant_meeting_proxy(actor=absent, community=community, meeting_id=meeting.id, delegate_id=absent.id)
    proxy = meetings.grant_meeting_proxy(actor=absent, community=community, meeting_id=meeting.id,
                                         delegate_id=delegate.id)
    with pytest.raises(InvalidTransition):  # one proxy per member per meeting
        meetings.grant_meeting_proxy(actor=absent, community=community, meeting_id=meeting.id,
                                     delegate_id=other.id)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    meetings.check_in_with_code(actor=delegate, community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    for measure in (first, second):
        meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
        assert voting.exact_turnout(measure).eligible == 2  # the delegate, and the member they carry
    with pytest.raises(InvalidTransition):  # the member gave a proxy: they do not vote themselves
        voting.cast_ballot(actor=absent, community=community, measure_id=first.id, content=YES)
    with pytest.raises(PermissionDenied):  # someone else holds no proxy from them
        voting.cast_ballot(actor=other, community=community, measure_id=first.id, content=YES, for_voter_id=absent.id)
    voting.cast_ballot(actor=delegate, community=community, measure_id=first.id, content=YES, for_voter_id=absent.id)
    voting.cast_ballot(actor=delegate, community=community, measure_id=first.id, content={"choice": "no"})
    assert voting.exact_turnout(first).by_channel.get("proxy") == 1
    with pytest.raises(InvalidTransition):  # it has voted: too late to revoke
        meetings.revoke_meeting_proxy(actor=absent, community=community, meeting_id=meeting.id, proxy_id=proxy.id)
    # the second measure is a separate ballot, cast separately
    voting.cast_ballot(actor=delegate, community=community, measure_id=second.id, content={"choice": "no"},
                       for_voter_id=absent.id)
    assert voting.exact_turnout(second).cast == 1


def test_a_meeting_proxy_can_be_revoked_until_used_and_respects_the_limit(hall):
    community, chair, staff, residents = hall
    community.max_proxies = 1
    from deliberation.extensions import db

    db.session.commit()
    meeting = _meeting(community, chair, items=1)
    measure = make_measure(community, item=meeting.agenda[0].item, chair=chair, open_now=False)
    proxy = meetings.grant_meeting_proxy(actor=residents[0], community=community, meeting_id=meeting.id,
                                         delegate_id=residents[1].id)
    with pytest.raises(InvalidTransition):  # the delegate holds the most allowed
        meetings.grant_meeting_proxy(actor=residents[2], community=community, meeting_id=meeting.id,
                                     delegate_id=residents[1].id)
    with pytest.raises(PermissionDenied):  # a paper proxy is for staff to enter
        meetings.grant_meeting_proxy(actor=residents[3], community=community, meeting_id=meeting.id,
                                     delegate_id=residents[2].id, grantor_id=staff.id)
    paper = meetings.grant_meeting_proxy(actor=staff, community=community, meeting_id=meeting.id,
                                         delegate_id=residents[2].id, grantor_id=residents[3].id)
    assert paper.channel == "paper" and paper.entered_by_id == staff.id
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=residents[1].id)
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    # residents[2] (holding the paper proxy) is not present: that proxy does not carry
    assert voting.exact_turnout(measure).eligible == 2
    with pytest.raises(PermissionDenied):  # only the member, or staff, revokes
        meetings.revoke_meeting_proxy(actor=residents[1], community=community, meeting_id=meeting.id,
                                      proxy_id=proxy.id)
    meetings.revoke_meeting_proxy(actor=residents[0], community=community, meeting_id=meeting.id, proxy_id=proxy.id)
    assert voting.active_proxy_from(measure, residents[0].id) is None  # the open vote's copy went too
    with pytest.raises(PermissionDenied):  # and the delegate can no longer vote for them
        voting.cast_ballot(actor=residents[1], community=community, measure_id=measure.id, content=YES,
                           for_voter_id=residents[0].id)
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)  # on the roll


def test_meeting_proxy_pages(hall, client):
    community, chair, staff, residents = hall
    meeting = _meeting(community, chair)
    _login(client, residents[0])
    url = f"/c/{community.slug}/meetings/{meeting.id}"
    assert "Give my proxy" in client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert client.post(url + "/me", data={"what": "proxy", "delegate_id": residents[1].id}).status_code == 303
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "votes for you on every measure" in page and "Revoke my proxy" in page
    foreign = make_member(make_community())
    answer = client.post(url + "/me", data={"what": "proxy", "delegate_id": foreign.id})
    assert answer.status_code == 404
    client.post("/logout")
    _login(client, staff)
    roster = client.get(url + "/attendance", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Record the paper proxy" in roster and "居民0 → 居民1" in roster


def test_agenda_page_actions_refuse_residents_and_explain_refusals(hall, client):
    community, chair, _, residents = hall
    empty = meetings.schedule_meeting(actor=chair, community=community, draft=_draft())
    url = f"/c/{community.slug}/meetings/{empty.id}/agenda"
    _login(client, residents[0])
    assert client.post(url, data={"what": "publish"}).status_code == 403
    client.post("/logout")
    _login(client, chair)
    refused = client.post(url, data={"what": "publish"}, follow_redirects=True, headers={"Accept-Language": "en"})
    assert "at least one item on the agenda" in refused.get_data(as_text=True)
    assert empty.status == "draft"


def test_concurrent_meeting_proxy_grants_never_exceed_the_limit(make_app):
    app = make_app()
    with app.app_context():
        from deliberation.extensions import db

        community = make_community()
        community.max_proxies = 1
        db.session.commit()
        chair = make_member(community, Role.CHAIR)
        delegate = make_member(community)
        grantors = [make_member(community).id for _ in range(8)]
        meeting = _meeting(community, chair)
        ids = (community.id, meeting.id, delegate.id)
        db.session.remove()
    def grant(user_id):
        def work():
            from deliberation.accounts.models import User
            from deliberation.communities.models import Community
            from deliberation.extensions import db

            user, community = db.session.get(User, user_id), db.session.get(Community, ids[0])
            meetings.grant_meeting_proxy(actor=user, community=community, meeting_id=ids[1], delegate_id=ids[2])
        return work

    outcomes = race(app, [grant(g) for g in grantors])
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 7, outcomes
    with app.app_context():
        from deliberation.extensions import db
        from deliberation.meetings.models import MeetingProxy

        assert db.session.scalar(select(func.count(MeetingProxy.id)).where(
            MeetingProxy.delegate_id == ids[2], MeetingProxy.status == "active")) == 1


def test_opening_and_closing_a_vote_in_the_meeting_reach_the_projector(hall, socket_client):
    community, chair, _, residents = hall
    meeting = _meeting(community, chair, items=1, start=True)
    measure = make_measure(community, item=meeting.agenda[0].item, chair=chair, open_now=False)
    meetings.check_in_with_code(actor=residents[0], community=community, meeting_id=meeting.id,
                                token=meetings.checkin_code(meeting))
    sc = socket_client()
    sc.emit("join", {"room": f"meeting:{meeting.id}", "locale": "en", "last_id": realtime.last_event_id()},
            callback=True)
    sc.get_received()
    meetings.open_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    opened = [e["args"][0]["html"] for e in sc.get_received() if e["name"] == "meeting.projector"]
    assert opened and "0 of 1" in opened[-1]
    voting.cast_ballot(actor=residents[0], community=community, measure_id=measure.id, content=YES)
    meetings.close_vote(actor=chair, community=community, meeting_id=meeting.id, measure_id=measure.id)
    closed = [e["args"][0]["html"] for e in sc.get_received() if e["name"] == "meeting.projector"]
    assert closed and "projector-outcome" in closed[-1] and "Passed" in closed[-1]

"""Attachments on convention drafts and amendments, meeting agendas and minutes, and the picture
the chair puts on the projector beside the current item (live through the meeting's room)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from deliberation import realtime
from deliberation.agenda import services as agenda
from deliberation.attachments import services as attachments
from deliberation.attachments.models import Projection
from deliberation.communities.models import Role
from deliberation.conventions import services as conventions
from deliberation.errors import InvalidTransition, NotFound, PermissionDenied
from deliberation.meetings import projection
from deliberation.meetings import services as meetings
from deliberation.timeutil import utcnow
from tests import attachment_files as files
from tests.factories import admin_of, count_rows, make_community, make_item, make_member


@pytest.fixture
def app(make_app, tmp_path):
    app = make_app(ATTACHMENTS_DIR=str(tmp_path / "files"))
    with app.app_context():
        yield app


@pytest.fixture
def hall(app):
    community = make_community()
    chair = make_member(community, Role.CHAIR, name="主持人")
    staff = make_member(community, Role.STAFF, name="工作人员")
    resident = make_member(community, name="居民")
    return community, chair, staff, resident


def _attach(community, actor, key, thing_id, data=None, name="plan.png", alt="平面图"):
    return attachments.add_attachment(actor=actor, community=community, target_key=key, target_id=thing_id,
                                      filename=name, data=data if data is not None else files.png(), alt_text=alt)


def _meeting(community, chair, item=None, *, publish=True):
    start = utcnow() + timedelta(days=1)
    meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
        title="居民议事会", mode="hybrid", place="活动中心", starts_at=start, ends_at=start + timedelta(hours=2),
        speaking_minutes=3))
    if item is not None:
        meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=10)
    if publish:
        meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    return meeting


def _accepted(community, author=None, title="东门夜间共享停车"):
    item = make_item(community, author, title=title)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    return item


# ---------------------------------------------------------------- conventions


def test_convention_authors_attach_while_drafting_and_proposers_to_their_amendment(hall, client):
    community, chair, _staff, resident = hall
    author = make_member(community, name="起草人")
    item = make_item(community, author, title="制定文明养犬公约", category_key="conventions")
    convention = conventions.start_convention(actor=author, community=community, item_id=item.id,
                                              title="文明养犬公约", text="遛狗牵绳。\n及时清理粪便。")
    added = _attach(community, author, "convention", convention.id, alt="遛狗路线图")
    with pytest.raises(PermissionDenied):
        _attach(community, resident, "convention", convention.id)
    key = conventions.current_clauses(convention)[0]["key"]
    amendment = conventions.propose_amendment(actor=resident, community=community, convention_id=convention.id,
                                              clause_key=key, kind="replace", text="遛狗牵绳，绳长不超过2米。",
                                              reason="更具体")
    evidence = _attach(community, resident, "amendment", amendment.id, data=files.pdf(1), name="规定.pdf", alt="")
    with pytest.raises(PermissionDenied):
        _attach(community, author, "amendment", amendment.id)
    page = client.get(f"/c/{community.slug}/conventions/{convention.id}").get_data(as_text=True)
    assert 'alt="遛狗路线图"' in page and "规定.pdf" in page
    assert client.get(f"/c/{community.slug}/attachments/{evidence.id}/display").status_code == 200
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    conventions.freeze(actor=chair, community=community, convention_id=convention.id)
    with pytest.raises(InvalidTransition):  # the text is fixed for the vote
        _attach(community, author, "convention", convention.id)
    with pytest.raises(InvalidTransition):
        attachments.remove_attachment(actor=author, community=community, attachment_id=added.id)


# ---------------------------------------------------------------- meetings and minutes


def test_chair_and_staff_attach_to_the_agenda_and_a_drafts_files_stay_private(hall, client):
    community, chair, staff, resident = hall
    meeting = _meeting(community, chair, _accepted(community), publish=False)
    agenda_file = _attach(community, chair, "meeting", meeting.id, data=files.pdf(2), name="议程.pdf", alt="")
    _attach(community, staff, "meeting", meeting.id)
    with pytest.raises(NotFound):  # a draft meeting does not exist for residents
        _attach(community, resident, "meeting", meeting.id)
    url = f"/c/{community.slug}/attachments/{agenda_file.id}/display"
    assert client.get(url).status_code == 404  # the meeting is still a draft
    meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    assert client.get(url).status_code == 200
    with pytest.raises(PermissionDenied):
        _attach(community, resident, "meeting", meeting.id)
    assert "议程.pdf" in client.get(f"/c/{community.slug}/meetings/{meeting.id}").get_data(as_text=True)


def test_minutes_take_files_after_the_meeting_and_show_them_once_published(hall, client):
    community, chair, _staff, resident = hall
    meeting = _meeting(community, chair, _accepted(community))
    with pytest.raises(InvalidTransition):
        _attach(community, chair, "minutes", meeting.id)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.end_meeting(actor=chair, community=community, meeting_id=meeting.id)
    with pytest.raises(InvalidTransition):  # the agenda is closed; the minutes take them now
        _attach(community, chair, "meeting", meeting.id)
    signed = _attach(community, chair, "minutes", meeting.id, alt="签到表照片")
    with pytest.raises(NotFound):  # unpublished minutes are not there for residents
        _attach(community, resident, "minutes", meeting.id)
    url = f"/c/{community.slug}/attachments/{signed.id}/display"
    assert client.get(url).status_code == 404
    assert "签到表照片" not in client.get(f"/c/{community.slug}/meetings/{meeting.id}/minutes").get_data(as_text=True)
    meetings.publish_minutes(actor=chair, community=community, meeting_id=meeting.id)
    assert client.get(url).status_code == 200
    assert "签到表照片" in client.get(f"/c/{community.slug}/meetings/{meeting.id}/minutes").get_data(as_text=True)
    with pytest.raises(InvalidTransition):
        _attach(community, chair, "minutes", meeting.id)
    with pytest.raises(PermissionDenied):
        _attach(community, resident, "minutes", meeting.id)


# ---------------------------------------------------------------- the projector


def test_the_chair_shows_the_site_plan_beside_the_current_item_live_and_takes_it_down(hall, socket_client, client):
    community, chair, _staff, resident = hall
    author = make_member(community, name="发起人")
    item = make_item(community, author)
    plan = _attach(community, author, "item", item.id, alt="东门空地平面图")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    other = _accepted(community, author, title="另一个议题")
    elsewhere = attachments.add_attachment(actor=author, community=community, target_key="item", target_id=other.id,
                                           filename="x.png", data=files.png((30, 30)), alt_text="别的图")
    meeting = _meeting(community, chair, item)
    with pytest.raises(InvalidTransition):  # not yet in progress
        projection.project_attachment(actor=chair, community=community, meeting_id=meeting.id, attachment_id=plan.id)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    assert [a.id for a in projection.projectable(meeting)] == [plan.id]
    sc = socket_client()
    assert sc.emit("join", {"room": f"meeting:{meeting.id}", "locale": "zh_CN", "last_id": realtime.last_event_id()},
                   callback=True)["ok"]
    sc.get_received()
    with pytest.raises(PermissionDenied):
        projection.project_attachment(actor=resident, community=community, meeting_id=meeting.id,
                                      attachment_id=plan.id)
    with pytest.raises(NotFound):  # a picture of another item, by its id
        projection.project_attachment(actor=chair, community=community, meeting_id=meeting.id,
                                      attachment_id=elsewhere.id)
    projection.project_attachment(actor=chair, community=community, meeting_id=meeting.id, attachment_id=plan.id)
    (event,) = [e["args"][0] for e in sc.get_received() if e["name"] == "projection.changed"]
    assert event["target"] == f"#projection-{meeting.id}"
    assert f"/attachments/{plan.id}/display" in event["html"] and 'alt="东门空地平面图"' in event["html"]
    # The projector is opened by the chair (or through the chair's link, issue 18).
    assert client.post("/login", data={"contact": chair.contact, "password": "password123"}).status_code == 303
    page = client.get(f"/c/{community.slug}/meetings/{meeting.id}/projector").get_data(as_text=True)
    assert "projection is-on" in page and f"/attachments/{plan.id}/fallback" in page
    assert client.get(f"/c/{community.slug}/attachments/{plan.id}/display").status_code == 200  # for the room
    projection.take_down(actor=chair, community=community, meeting_id=meeting.id)
    (event,) = [e["args"][0] for e in sc.get_received() if e["name"] == "projection.changed"]
    assert "<img" not in event["html"] and count_rows(Projection) == 0


def test_the_console_puts_a_picture_up_and_takes_it_down_over_http(hall):
    community, chair, _staff, resident = hall
    author = make_member(community)
    item = make_item(community, author)
    plan = _attach(community, author, "item", item.id, alt="平面图")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    meeting = _meeting(community, chair, item)
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.take_item(actor=chair, community=community, meeting_id=meeting.id)
    from flask import current_app

    client = current_app.test_client()
    client.post("/login", data={"contact": chair.contact, "password": "password123"})
    console = client.get(f"/c/{community.slug}/meetings/{meeting.id}/console").get_data(as_text=True)
    assert f'<option value="{plan.id}"' in console
    url = f"/c/{community.slug}/meetings/{meeting.id}/projection"
    shown = client.post(url, data={"attachment_id": str(plan.id)})
    assert shown.status_code == 303 and projection.projected(meeting).id == plan.id
    assert client.post(url, data={"attachment_id": "x"}).status_code == 400
    assert client.post(url, data={}).status_code == 303 and projection.projected(meeting) is None
    intruder = current_app.test_client()
    intruder.post("/login", data={"contact": resident.contact, "password": "password123"})
    assert intruder.post(url, data={"attachment_id": str(plan.id)}).status_code == 403
    assert count_rows(Projection) == 0


def test_removing_a_projected_picture_takes_it_off_the_projector(hall):
    community, chair, _staff, _resident = hall
    meeting = _meeting(community, chair, _accepted(community))
    picture = _attach(community, chair, "meeting", meeting.id, data=files.png(), alt="会场图")
    meetings.start_meeting(actor=chair, community=community, meeting_id=meeting.id)
    projection.project_attachment(actor=chair, community=community, meeting_id=meeting.id, attachment_id=picture.id)
    attachments.remove_attachment(actor=chair, community=community, attachment_id=picture.id)
    assert projection.projected(meeting) is None and count_rows(Projection) == 0


def test_an_upload_through_the_form_reaches_the_meeting_page(hall):
    community, chair, _staff, _resident = hall
    meeting = _meeting(community, chair, _accepted(community))
    from flask import current_app

    client = current_app.test_client()
    client.post("/login", data={"contact": chair.contact, "password": "password123"})
    response = client.post(f"/c/{community.slug}/attachments/meeting/{meeting.id}/new",
                           data={"file": (io.BytesIO(files.jpeg_with_gps()), "room.jpg"), "alt_text": "会场布置"},
                           content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/meetings/{meeting.id}#attachments")
    assert 'alt="会场布置"' in client.get(f"/c/{community.slug}/meetings/{meeting.id}").get_data(as_text=True)

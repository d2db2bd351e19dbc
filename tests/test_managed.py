"""Staff act for a resident without a phone (a managed account) at every step: supporting,
proposing, commenting, meeting replies, check-in, proxies, a paper ballot with its printed slip,
and later claiming the account. Each act is hers, marked "entered by staff", and audited; the
rule is attacked with non-staff, other communities' staff, non-managed people and forged ids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from deliberation.accounts import services as accounts
from deliberation.accounts.models import User
from deliberation.agenda import services as agenda
from deliberation.agenda.models import AgendaItem, ItemStatus, Support
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.discussion import services as discussion
from deliberation.discussion.models import Comment
from deliberation.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.extensions import db
from deliberation.managed import services as managed
from deliberation.managed.models import AccountClaim, ClaimStatus
from deliberation.meetings import services as meetings
from deliberation.meetings.models import Attendance
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from deliberation.voting.models import Participation
from tests.factories import admin_of, audit_entries, make_community, make_item, make_measure, make_member

YES = {"choice": "yes"}


@pytest.fixture
def town(app):
    community = make_community()
    staff = make_member(community, Role.STAFF, name="社工小林")
    grandma = communities.create_managed_account(actor=staff, community=community, display_name="钱奶奶",
                                                 building="3", entrance="1", room="101")
    neighbour = make_member(community, name="李建国")
    other = make_community()
    other_staff = make_member(other, Role.STAFF, name="别处社工")
    return community, staff, grandma, neighbour, other, other_staff


def _login(client, user):
    assert client.post("/login", data={"contact": user.contact, "password": "password123"}).status_code == 303


def _meeting(community, staff):
    start = utcnow() + timedelta(days=1)
    meeting = meetings.schedule_meeting(actor=staff, community=community, draft=meetings.MeetingDraft(
        title="居民议事会", mode="hybrid", place="活动中心", starts_at=start, ends_at=start + timedelta(hours=2),
        speaking_minutes=3))
    item = make_item(community, title="议题一")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    meetings.add_to_agenda(actor=staff, community=community, meeting_id=meeting.id, item_id=item.id, minutes=10)
    meetings.publish_meeting(actor=staff, community=community, meeting_id=meeting.id)
    return meeting


# ---------------------------------------------------------------- each act, hers and marked


def test_staff_support_an_item_for_her_marked_and_audited(town):
    community, staff, grandma, neighbour, *_ = town
    item = make_item(community, neighbour)
    agenda.support_item(actor=staff, community=community, item_id=item.id, on_behalf_of=grandma.id)
    support = db.session.scalar(select(Support).where(Support.item_id == item.id, Support.user_id == grandma.id))
    assert support is not None and support.entered_by_id == staff.id
    assert agenda.supports_entered_by_staff(item) == {grandma.id}
    entry = audit_entries(community, "item.supported_for")[-1]
    assert (entry.actor_id, entry.subject_id, entry.details["item_id"]) == (staff.id, grandma.id, item.id)
    # Her support counts once, like anyone's; staff supporting for themselves is a separate support.
    with pytest.raises(Conflict):
        agenda.support_item(actor=staff, community=community, item_id=item.id, on_behalf_of=grandma.id)
    agenda.support_item(actor=staff, community=community, item_id=item.id)
    db.session.refresh(item)
    assert item.support_count == 2


def test_staff_write_and_submit_her_item_she_is_the_author(town):
    community, staff, grandma, *_ = town
    category = agenda.categories(community)[0]
    item = agenda.save_draft(actor=staff, community=community, title="楼道加装扶手", body="老人上下楼不便。",
                             category_id=category.id, on_behalf_of=grandma.id)
    assert (item.author_id, item.entered_by_id, item.status) == (grandma.id, staff.id, ItemStatus.DRAFT)
    # Staff cannot submit it as their own, nor can her draft be taken over by another author.
    with pytest.raises(PermissionDenied):
        agenda.submit_item(actor=staff, community=community, item_id=item.id)
    agenda.submit_item(actor=staff, community=community, item_id=item.id, on_behalf_of=grandma.id)
    db.session.refresh(item)
    assert item.status == ItemStatus.SUBMITTED
    assert item.events[-1].actor_id == grandma.id  # the timeline says she submitted it
    actions = [e.action for e in audit_entries(community) if e.subject_id == grandma.id]
    assert "item.drafted_for" in actions and "item.submitted_for" in actions
    # Her own item cannot be supported by her again through staff.
    with pytest.raises(InvalidTransition):
        agenda.support_item(actor=staff, community=community, item_id=item.id, on_behalf_of=grandma.id)


def test_staff_post_her_comment_marked_and_audited(town):
    community, staff, grandma, neighbour, *_ = town
    item = make_item(community, neighbour)
    comment = discussion.post_comment(actor=staff, community=community, item_id=item.id, body="我同意，晚上太黑了。",
                                      stance="for", client_token="t1", on_behalf_of=grandma.id)
    assert (comment.author_id, comment.entered_by_id) == (grandma.id, staff.id)
    # A double click stores one comment.
    again = discussion.post_comment(actor=staff, community=community, item_id=item.id, body="我同意，晚上太黑了。",
                                    stance="for", client_token="t1", on_behalf_of=grandma.id)
    assert again.id == comment.id
    entry = audit_entries(community, "comment.posted_for")[-1]
    assert (entry.actor_id, entry.subject_id, entry.details["comment_id"]) == (staff.id, grandma.id, comment.id)


def test_staff_answer_a_meeting_check_her_in_and_record_her_meeting_proxy(town):
    community, staff, grandma, neighbour, *_ = town
    meeting = _meeting(community, staff)
    meetings.attend(actor=staff, community=community, meeting_id=meeting.id, on=True, on_behalf_of=grandma.id)
    rsvp = db.session.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                      Attendance.user_id == grandma.id))
    assert rsvp is not None and rsvp.entered_by_id == staff.id
    assert not meetings.attending(meeting, staff)  # it was hers, not the staff member's
    meetings.check_in_member(actor=staff, community=community, meeting_id=meeting.id, user_id=grandma.id)
    assert meetings.check_in_of(meeting, grandma).by_id == staff.id
    proxy = meetings.grant_meeting_proxy(actor=staff, community=community, meeting_id=meeting.id,
                                         delegate_id=neighbour.id, grantor_id=grandma.id)
    assert (proxy.grantor_id, proxy.entered_by_id) == (grandma.id, staff.id)
    actions = {e.action for e in audit_entries(community) if e.subject_id == grandma.id}
    assert {"meeting.rsvp_for", "meeting.checked_in", "proxy.granted"} <= actions
    meetings.attend(actor=staff, community=community, meeting_id=meeting.id, on=False, on_behalf_of=grandma.id)
    assert not meetings.attending(meeting, grandma)


# ---------------------------------------------------------------- the rule, attacked


def _acts(community, staff_or_other, person_id, item, meeting, category_id):
    """Every act with on_behalf_of, as callables."""
    return [
        lambda: agenda.support_item(actor=staff_or_other, community=community, item_id=item.id,
                                    on_behalf_of=person_id),
        lambda: agenda.save_draft(actor=staff_or_other, community=community, title="t", body="", category_id=category_id,
                                  on_behalf_of=person_id),
        lambda: discussion.post_comment(actor=staff_or_other, community=community, item_id=item.id, body="x",
                                        on_behalf_of=person_id),
        lambda: meetings.attend(actor=staff_or_other, community=community, meeting_id=meeting.id, on=True,
                                on_behalf_of=person_id),
    ]


def test_a_resident_who_is_not_staff_cannot_act_for_her(town):
    community, staff, grandma, neighbour, *_ = town
    item, meeting = make_item(community), _meeting(community, staff)
    for act in _acts(community, neighbour, grandma.id, item, meeting, agenda.categories(community)[0].id):
        with pytest.raises(PermissionDenied):
            act()
    assert db.session.scalar(select(Support).where(Support.user_id == grandma.id)) is None
    assert db.session.scalar(select(Comment).where(Comment.author_id == grandma.id)) is None


def test_staff_of_another_community_cannot_act_for_her(town):
    community, staff, grandma, neighbour, other, other_staff = town
    item, meeting = make_item(community), _meeting(community, staff)
    for act in _acts(community, other_staff, grandma.id, item, meeting, agenda.categories(community)[0].id):
        with pytest.raises(PermissionDenied):
            act()
    # Nor can they in their own community, where she is not a member (a forged id).
    other_item = make_item(other)
    with pytest.raises(NotFound):
        agenda.support_item(actor=other_staff, community=other, item_id=other_item.id, on_behalf_of=grandma.id)


def test_staff_cannot_act_for_someone_who_is_not_managed(town):
    community, staff, grandma, neighbour, *_ = town
    item, meeting = make_item(community), _meeting(community, staff)
    for act in _acts(community, staff, neighbour.id, item, meeting, agenda.categories(community)[0].id):
        with pytest.raises(PermissionDenied):
            act()
    assert db.session.scalar(select(Support).where(Support.user_id == neighbour.id)) is None


def test_forged_ids_are_refused(town):
    community, staff, grandma, neighbour, other, other_staff = town
    item = make_item(community)
    stranger_managed = communities.create_managed_account(actor=other_staff, community=other, display_name="外人",
                                                          building="1", entrance="1", room="1")
    for forged in (999999, "abc", -1, stranger_managed.id):
        with pytest.raises(NotFound):
            agenda.support_item(actor=staff, community=community, item_id=item.id, on_behalf_of=forged)
    with pytest.raises(NotFound):
        managed.resident_page(actor=staff, community=community, member_id=stranger_managed.id)


def test_a_managed_resident_is_never_a_proxy_delegate(town):
    community, staff, grandma, neighbour, *_ = town
    measure = make_measure(community)
    meeting = _meeting(community, staff)
    assert grandma not in voting.proxy_delegates(community)
    assert neighbour in voting.proxy_delegates(community)
    with pytest.raises(ValidationError):
        voting.grant_proxy(actor=neighbour, community=community, measure_id=measure.id, delegate_id=grandma.id)
    with pytest.raises(ValidationError):
        voting.grant_proxy(actor=staff, community=community, measure_id=measure.id, delegate_id=grandma.id,
                           grantor_id=neighbour.id)
    with pytest.raises(ValidationError):
        meetings.grant_meeting_proxy(actor=neighbour, community=community, meeting_id=meeting.id,
                                     delegate_id=grandma.id)


def test_proxy_forms_do_not_offer_her_and_a_forged_delegate_is_refused(town, client):
    community, staff, grandma, neighbour, *_ = town
    measure = make_measure(community)
    meeting = _meeting(community, staff)
    _login(client, neighbour)
    page = client.get(f"/c/{community.slug}/measures/{measure.id}").get_data(as_text=True)
    assert "钱奶奶" not in page
    assert "钱奶奶" not in client.get(f"/c/{community.slug}/meetings/{meeting.id}").get_data(as_text=True)
    response = client.post(f"/c/{community.slug}/measures/{measure.id}/proxy", data={"delegate_id": grandma.id})
    assert response.status_code == 303
    assert voting.active_proxy_from(measure, neighbour.id) is None


# ---------------------------------------------------------------- paper ballot and slip


def test_her_paper_ballot_and_printed_slip(town, client):
    community, staff, grandma, *_ = town
    measure = make_measure(community, secret=False)
    _login(client, staff)
    base = f"/c/{community.slug}/measures/{measure.id}"
    page = client.get(f"{base}/paper?voter_id={grandma.id}").get_data(as_text=True)
    assert f'<option value="{grandma.id}" selected' in page
    response = client.post(f"{base}/paper", data={"what": "ballot", "voter_id": grandma.id, "choice": "yes",
                                                  "confirm": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "/paper/slip" in html
    receipt = html.split('name="receipt" value="')[1].split('"')[0]
    slip = client.post(f"{base}/paper/slip", data={"voter_id": grandma.id, "receipt": receipt})
    text = slip.get_data(as_text=True)
    assert slip.status_code == 200
    assert receipt in text and "钱奶奶" in text and "社工小林" in text and "<svg" in text
    # A receipt that is not hers, or someone without the right, gets nothing.
    assert client.post(f"{base}/paper/slip", data={"voter_id": grandma.id, "receipt": "AAAA-BBBB-CCCC"}
                       ).status_code == 404
    participation = db.session.scalar(select(Participation).where(Participation.voter_id == grandma.id))
    assert participation.cast_by_id == staff.id


def test_the_slip_is_for_staff_only_and_for_the_right_member(town, client):
    community, staff, grandma, neighbour, *_ = town
    measure = make_measure(community, secret=False)
    receipt = voting.enter_paper_ballot(actor=staff, community=community, measure_id=measure.id,
                                        voter_id=grandma.id, content=YES)
    with pytest.raises(PermissionDenied):
        voting.paper_slip(actor=neighbour, community=community, measure_id=measure.id, voter_id=grandma.id,
                          receipt=receipt)
    # Her receipt with the neighbour's name: refused (he voted nothing on paper).
    with pytest.raises(NotFound):
        voting.paper_slip(actor=staff, community=community, measure_id=measure.id, voter_id=neighbour.id,
                          receipt=receipt)
    slip = voting.paper_slip(actor=staff, community=community, measure_id=measure.id, voter_id=grandma.id,
                             receipt=receipt.lower())
    assert slip.content == YES and slip.entered_by.id == staff.id


# ---------------------------------------------------------------- the staff page


def test_the_act_for_page_gathers_everything_and_posts_each_act(town, client):
    community, staff, grandma, neighbour, *_ = town
    item = make_item(community, neighbour, title="东门装路灯")
    meeting = _meeting(community, staff)
    measure = make_measure(community)
    _login(client, staff)
    base = f"/c/{community.slug}/residents/{grandma.id}"
    page = client.get(base).get_data(as_text=True)
    assert "钱奶奶" in page and "东门装路灯" in page and meeting.title in page and measure.question in page
    assert client.get(f"/c/{community.slug}/residents").status_code == 200
    assert client.post(f"{base}/support", data={"item_id": item.id}).status_code == 303
    assert client.post(f"{base}/comment", data={"item_id": item.id, "stance": "for", "body": "好",
                                                "client_token": "x1"}).status_code == 303
    assert client.post(f"{base}/meetings/{meeting.id}", data={"what": "attend"}).status_code == 303
    assert client.post(f"{base}/meetings/{meeting.id}", data={"what": "checkin"}).status_code == 303
    response = client.post(f"{base}/items/new", data={"title": "加装扶手", "category_id":
                                                      agenda.categories(community)[0].id, "body": ""})
    assert response.status_code == 303
    draft = db.session.scalar(select(AgendaItem).where(AgendaItem.author_id == grandma.id))
    assert client.post(f"{base}/items/{draft.id}/submit").status_code == 303
    db.session.expire_all()
    assert draft.status == ItemStatus.SUBMITTED and draft.entered_by_id == staff.id
    # The public item page shows her support and the draft as entered by staff.
    public = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert public.count("badge-entered") >= 2  # her support and her comment
    assert "badge-entered" in client.get(f"/c/{community.slug}/items/{draft.id}").get_data(as_text=True)
    assert "badge-entered" in client.get(f"/c/{community.slug}/items").get_data(as_text=True)
    acts = client.get(base).get_data(as_text=True)
    assert "Supported ✓" in acts or "已联名 ✓" in acts


def test_the_comment_form_keeps_what_was_typed_on_an_error(town, client):
    community, staff, grandma, neighbour, *_ = town
    make_item(community, neighbour)
    _login(client, staff)
    response = client.post(f"/c/{community.slug}/residents/{grandma.id}/comment",
                           data={"item_id": 0, "body": "路灯坏了三天了"})
    assert response.status_code == 400
    assert "路灯坏了三天了" in response.get_data(as_text=True)


def test_the_act_for_pages_refuse_others(town, client):
    community, staff, grandma, neighbour, other, other_staff = town
    _login(client, neighbour)
    assert client.get(f"/c/{community.slug}/residents/{grandma.id}").status_code == 403
    assert client.get(f"/c/{community.slug}/residents").status_code == 403
    client.post("/logout")
    _login(client, staff)
    assert client.get(f"/c/{community.slug}/residents/{neighbour.id}").status_code == 403
    assert client.get(f"/c/{community.slug}/residents/999999").status_code == 404
    assert client.get(f"/c/{other.slug}/residents/{grandma.id}").status_code == 403


def test_act_for_pages_render_in_both_languages(town, client):
    community, staff, grandma, *_ = town
    _login(client, staff)
    for lang, words in (("zh_CN", "代为"), ("en", "Act for")):
        client.set_cookie("lang", lang)
        page = client.get(f"/c/{community.slug}/residents/{grandma.id}", headers={"Accept-Language": lang})
        assert page.status_code == 200 and words in page.get_data(as_text=True)


# ---------------------------------------------------------------- claiming the account


def test_she_claims_her_account_staff_confirm_then_she_logs_in(town, client):
    community, staff, grandma, *_ = town
    code = managed.start_claim(actor=staff, community=community, member_id=grandma.id)
    response = client.post(f"/c/{community.slug}/claim", data={"code": code.lower(), "phone": "139 1234 5678",
                                                               "password": "nainai2026"})
    assert response.status_code == 200
    db.session.expire_all()
    assert grandma.is_managed  # nothing changes until staff confirm
    assert client.post("/login", data={"contact": "13912345678", "password": "nainai2026"}).status_code != 303
    managed.confirm_claim(actor=staff, community=community, member_id=grandma.id)
    db.session.expire_all()
    assert not grandma.is_managed and grandma.phone == "13912345678"
    assert client.post("/login", data={"contact": "13912345678", "password": "nainai2026"}).status_code == 303
    actions = [e.action for e in audit_entries(community) if e.subject_id == grandma.id]
    assert actions[-3:] == ["account.claim_started", "account.claim_requested", "account.claimed"]
    # Staff no longer act for her.
    with pytest.raises(PermissionDenied):
        agenda.support_item(actor=staff, community=community, item_id=make_item(community).id,
                            on_behalf_of=grandma.id)


def test_claim_codes_are_one_time_and_the_rules_are_checked(town, client):
    community, staff, grandma, neighbour, other, other_staff = town
    first = managed.start_claim(actor=staff, community=community, member_id=grandma.id)
    second = managed.start_claim(actor=staff, community=community, member_id=grandma.id)
    with pytest.raises(ValidationError):  # the new code replaced the old one
        managed.request_claim(community=community, code=first, phone="13912345678", password="nainai2026")
    with pytest.raises(ValidationError):  # another community's claim page
        managed.request_claim(community=other, code=second, phone="13912345678", password="nainai2026")
    with pytest.raises(ValidationError):  # a number someone already uses
        managed.request_claim(community=community, code=second, phone=neighbour.contact, password="nainai2026")
    with pytest.raises(ValidationError):
        managed.request_claim(community=community, code=second, phone="13912345678", password="short")
    response = client.post(f"/c/{community.slug}/claim", data={"code": "XXXX-YYYY", "phone": "13912345678",
                                                               "password": "nainai2026"})
    assert response.status_code == 400 and "13912345678" in response.get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        managed.start_claim(actor=neighbour, community=community, member_id=grandma.id)
    with pytest.raises(PermissionDenied):
        managed.start_claim(actor=other_staff, community=community, member_id=grandma.id)
    with pytest.raises(InvalidTransition):  # nothing asked yet
        managed.confirm_claim(actor=staff, community=community, member_id=grandma.id)
    managed.request_claim(community=community, code=second, phone="13912345678", password="nainai2026")
    with pytest.raises(ValidationError):  # used
        managed.request_claim(community=community, code=second, phone="13912345670", password="nainai2026")
    with pytest.raises(PermissionDenied):
        managed.confirm_claim(actor=other_staff, community=community, member_id=grandma.id)


def test_an_expired_code_does_not_work(town):
    community, staff, grandma, *_ = town
    code = managed.start_claim(actor=staff, community=community, member_id=grandma.id)
    claim = db.session.scalar(select(AccountClaim).where(AccountClaim.user_id == grandma.id))
    claim.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(ValidationError):
        managed.request_claim(community=community, code=code, phone="13912345678", password="nainai2026")


def test_a_number_taken_between_request_and_confirm_is_refused(town):
    community, staff, grandma, *_ = town
    code = managed.start_claim(actor=staff, community=community, member_id=grandma.id)
    managed.request_claim(community=community, code=code, phone="13912345678", password="nainai2026")
    accounts.register(display_name="抢注的人", contact="13912345678", password="password123")
    with pytest.raises(Conflict):
        managed.confirm_claim(actor=staff, community=community, member_id=grandma.id)
    db.session.expire_all()
    assert db.session.get(User, grandma.id).is_managed
    assert db.session.scalar(select(AccountClaim.status).where(AccountClaim.user_id == grandma.id)) \
        == ClaimStatus.REQUESTED


def test_two_staff_supporting_for_her_at_once_store_one_support(make_app):
    from tests.factories import race

    app = make_app()
    with app.app_context():
        community = make_community()
        staff = [make_member(community, Role.STAFF) for _ in range(6)]
        grandma = communities.create_managed_account(actor=staff[0], community=community, display_name="钱奶奶",
                                                     building="3", entrance="1", room="101")
        item = make_item(community)
        ids = (community.id, item.id, grandma.id, [s.id for s in staff])
        db.session.remove()

    def support(staff_id):
        def work():
            from deliberation.communities.models import Community

            agenda.support_item(actor=db.session.get(User, staff_id), community=db.session.get(Community, ids[0]),
                                item_id=ids[1], on_behalf_of=ids[2])
        return work

    outcomes = race(app, [support(s) for s in ids[3]])
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 5, outcomes
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Support.id)).where(Support.user_id == ids[2])) == 1
        assert db.session.get(AgendaItem, ids[1]).support_count == 1
        assert len(audit_entries(action="item.supported_for")) == 1


def test_replies_to_her_are_listed_on_her_page_for_staff_to_tell_her(town, client):
    community, staff, grandma, neighbour, *_ = town
    item = make_item(community, neighbour)
    comment = discussion.post_comment(actor=staff, community=community, item_id=item.id, body="路灯什么时候装？",
                                      on_behalf_of=grandma.id)
    discussion.post_comment(actor=neighbour, community=community, item_id=item.id, body="下个月就装。",
                            parent_id=comment.id)
    page = managed.resident_page(actor=staff, community=community, member_id=grandma.id)
    assert [n.kind for n in page.news] == ["reply"]
    _login(client, staff)
    assert f"comment-{comment.id + 1}" in client.get(f"/c/{community.slug}/residents/{grandma.id}").get_data(
        as_text=True)

"""Privacy (PIPL): consent to a versioned notice, a person's copy of their data, deleting an
account by pseudonymising it with the record intact, audited staff reads, retention."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from deliberation.accounts.models import AuthSession, User
from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.outbox.masking import mask_contact, mask_email, mask_phone
from deliberation.outbox.models import DeliveryAttempt, DeliveryPreference, OutboundMessage
from deliberation.privacy import services
from deliberation.privacy.models import PrivacyConsent
from deliberation.timeutil import utcnow
from deliberation.verification.models import VerificationCode
from tests.factories import PASSWORD, audit_entries, count_rows, make_community, make_measure, make_member, make_user


def test_masking():
    assert mask_phone("13800000001") == "138****0001"
    assert mask_phone("+447911123456") == "+44******3456"
    assert mask_email("wang.ayi@example.com") == "w***@example.com"
    assert mask_contact("") == ""


# ---------------------------------------------------------------- consent


def test_registering_needs_an_explicit_consent_which_is_recorded(client, app):
    from tests.test_verification import last_code

    form = {"display_name": "赵小明", "contact": "13800135001", "password": "long enough"}
    refused = client.post("/register", data=form)
    assert refused.status_code == 400 and "13800135001" in refused.get_data(as_text=True)
    answer = client.post("/register", data={**form, "privacy_consent": "y"})
    assert client.post(answer.location, data={"code": last_code("13800135001")}).status_code == 303
    user = db.session.scalar(db.select(User).where(User.phone == "13800135001"))
    assert [c.version for c in db.session.scalars(db.select(PrivacyConsent).where(
        PrivacyConsent.user_id == user.id))] == [services.NOTICE_VERSION]


def test_consent_is_asked_at_login_and_again_after_a_new_version(make_app, monkeypatch):
    app = make_app(PRIVACY_CONSENT_REQUIRED=True)
    client = app.test_client()
    with app.app_context():
        person_id = make_user(contact="13800135002").id
    assert client.post("/login", data={"contact": "13800135002", "password": PASSWORD}).status_code == 303
    asked = client.get("/account")
    assert asked.status_code == 303 and "/privacy/consent" in asked.location
    assert client.post("/c/x/items/1/support").status_code == 303  # writes are held back too
    assert client.post(asked.location, data={"version": services.NOTICE_VERSION}).status_code == 400
    agreed = client.post(asked.location, data={"version": services.NOTICE_VERSION, "agree": "y"})
    assert agreed.status_code == 303 and agreed.location.rstrip("?").endswith("/account")
    assert client.get("/account").status_code == 200
    assert client.get("/privacy").status_code == 200

    monkeypatch.setattr(services, "NOTICE_VERSION", "2099-01")
    client.post("/logout")
    client.post("/login", data={"contact": "13800135002", "password": PASSWORD})
    assert "/privacy/consent" in client.get("/account").location
    # An answer to the old version (a page left open) does not count for the new one.
    assert client.post("/privacy/consent", data={"version": "2026-11", "agree": "y"}).status_code == 400
    client.post("/privacy/consent", data={"version": "2099-01", "agree": "y"})
    with app.app_context():
        assert count_rows(PrivacyConsent, PrivacyConsent.user_id == person_id) == 2


# ---------------------------------------------------------------- my data


def test_download_my_data_has_everything_about_me_and_nothing_secret(app, client, auth):
    from deliberation.discussion import services as discussion
    from deliberation.voting import services as voting

    community = make_community()
    me = make_member(community, name="王阿姨")
    neighbour = make_member(community, name="李建国")
    measure = make_measure(community, secret=True)
    voting.cast_ballot(actor=me, community=community, measure_id=measure.id, content={"choice": "yes"})
    item = measure.item
    discussion.post_comment(actor=me, community=community, item_id=item.id, body="我同意这个方案", stance="for")
    db.session.add(DeliveryPreference(user_id=me.id, kind="mention", channel="sms", mode="never"))
    db.session.commit()
    auth.login(me)
    answer = client.get("/account/data.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = json.loads(answer.get_data(as_text=True))
    assert data["account"]["display_name"] == "王阿姨" and data["account"]["phone"] == me.phone
    text = json.dumps(data, ensure_ascii=False)
    assert "password_hash" not in text and me.password_hash not in text
    records = data["records"]
    assert records["memberships"][0]["community_id"] == community.id
    assert any(c["body"] == "我同意这个方案" for c in records["comments"])
    assert records["participations"][0]["measure_id"] == measure.id
    assert "ballots" not in records  # a secret ballot carries no user: nothing ties it to me
    assert records["delivery_preferences"][0]["mode"] == "never"
    assert all("id" not in s for s in records["auth_sessions"])  # no session keys
    assert neighbour.display_name not in text and neighbour.phone not in text


# ---------------------------------------------------------------- deleting an account


def test_delete_my_account_pseudonymises_and_keeps_the_record(app, client, auth, runner):
    from deliberation.voting import services as voting

    community = make_community()
    me = make_member(community, name="王阿姨")
    chair = make_member(community, Role.CHAIR)
    measure = make_measure(community, chair=chair, secret=False)
    receipt = voting.cast_ballot(actor=me, community=community, measure_id=measure.id, content={"choice": "yes"})
    voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    phone = me.phone
    from deliberation.calendar.models import CalendarFeed
    from deliberation.calendar.services import feed_of

    feed_token = feed_of(me).token
    auth.login(me)
    assert client.get("/account/delete").status_code == 200
    wrong = client.post("/account/delete", data={"password": "not it", "confirmation": "delete my account"})
    assert wrong.status_code == 400
    words = "删除我的账户"
    typo = client.post("/account/delete", data={"password": PASSWORD, "confirmation": "删除"})
    assert typo.status_code == 400 and 'value="删除"' in typo.get_data(as_text=True)
    done = client.post("/account/delete", data={"password": PASSWORD, "confirmation": words})
    assert done.status_code == 303
    db.session.expire_all()
    gone = db.session.get(User, me.id)
    assert gone.display_name == f"已注销用户 #{me.id}" and gone.phone is None and gone.email is None
    assert gone.password_hash is None and gone.deleted_at is not None
    assert count_rows(AuthSession, AuthSession.user_id == me.id, AuthSession.revoked_at.is_(None)) == 0
    assert count_rows(CalendarFeed, CalendarFeed.user_id == me.id) == 0
    assert client.get(f"/calendar/{feed_token}.ics").status_code == 404
    assert client.get("/account").status_code == 302  # logged out
    assert client.post("/login", data={"contact": phone, "password": PASSWORD}).status_code == 400
    # The vote and its record are untouched: the ballot still counts, the chain still verifies.
    board = client.get(f"/c/{community.slug}/measures/{measure.id}/board").get_data(as_text=True)
    assert receipt in board and f"已注销用户 #{me.id}" in board
    assert runner.invoke(args=["records", "verify"]).exit_code == 0
    assert len(audit_entries(action="account.deleted")) == 1
    # The number is free for a new account.
    assert make_user(contact=phone).phone == phone


# ---------------------------------------------------------------- staff reads, retention


def test_staff_opening_the_member_list_is_audited(app, client, auth):
    community = make_community()
    staff = make_member(community, Role.STAFF)
    auth.login(staff)
    assert client.get(f"/c/{community.slug}/members").status_code == 200
    [entry] = audit_entries(community, "personal_data.read")
    assert entry.actor_id == staff.id and entry.details["what"] == "members"
    resident = make_member(community)
    auth.logout()
    auth.login(resident)
    assert client.get(f"/c/{community.slug}/members").status_code == 403
    assert len(audit_entries(community, "personal_data.read")) == 1


def test_retention_prunes_old_rows_and_keeps_recent_ones(app):
    person = make_user(contact="13800135003")
    long_ago = utcnow() - timedelta(days=400)
    old_session = AuthSession(id="old", user_id=person.id, created_at=long_ago, revoked_at=long_ago)
    new_session = AuthSession(id="new", user_id=person.id)
    db.session.add_all([old_session, new_session])
    old_message = OutboundMessage(user_id=person.id, channel="sms", kind="x", params={}, link="", address="1",
                                  status="sent", due_at=long_ago, created_at=long_ago)
    waiting = OutboundMessage(user_id=person.id, channel="sms", kind="x", params={}, link="", address="1",
                              status="pending", due_at=long_ago, created_at=long_ago)
    db.session.add_all([old_message, waiting])
    db.session.flush()
    db.session.add(DeliveryAttempt(message_id=old_message.id, attempted_at=long_ago, ok=True))
    db.session.add(VerificationCode(token="t", purpose="register", channel="sms", address="1", payload={},
                                    created_at=long_ago, expires_at=long_ago))
    db.session.commit()
    gone = services.prune()
    assert gone["auth_sessions"] == 1 and gone["outbound_messages"] == 1 and gone["delivery_attempts"] == 1
    assert gone["verification_codes"] == 1
    assert count_rows(AuthSession, AuthSession.id == "new") == 1
    assert count_rows(OutboundMessage, OutboundMessage.status == "pending") == 1  # never drop unsent messages


@pytest.mark.parametrize("path", ["/privacy", "/account/data", "/account/delete"])
def test_privacy_pages_render(app, client, auth, path):
    auth.login(make_user())
    assert client.get(path).status_code == 200

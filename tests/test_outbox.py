"""The outbox: messages written with the change that causes them, delivered by email (to a
real SMTP server started here) and SMS (to a local HTTP server that checks Alibaba Cloud's
signature), retried with backoff, merged when identical, visible to staff."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from deliberation.communities.models import Role
from deliberation.extensions import db
from deliberation.notifications.services import notify
from deliberation.outbox import channels, services
from deliberation.outbox.models import DeliveryAttempt, DeliveryPreference, MessageStatus, OutboundMessage, QuietHours
from deliberation.timeutil import local_to_utc, utcnow
from tests.factories import audit_entries, count_rows, make_community, make_member, make_user

SECRET = "test-secret-不要外传"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


class SmsGateway:
    """Stands in for dysmsapi.aliyuncs.com: recomputes the signature with the shared secret and
    answers as the real API does (Code OK and a BizId, or SignatureDoesNotMatch)."""

    def __init__(self):
        self.received: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                signature = params.pop("Signature", "")
                expected = channels.aliyun_signature("POST", params, SECRET)
                required = {"AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName",
                            "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode",
                            "TemplateParam", "Timestamp", "Version"}
                if signature != expected or not required <= params.keys():
                    status, answer = 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
                elif not params["PhoneNumbers"].isdigit():
                    status, answer = 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}
                else:
                    gateway.received.append(params)
                    status, answer = 200, {"Code": "OK", "Message": "OK", "BizId": f"biz{len(gateway.received)}",
                                           "RequestId": "r"}
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_gateway():
    gateway = SmsGateway()
    yield gateway
    gateway.close()


def aliyun_config(gateway, secret=SECRET) -> dict:
    return {"SMS_PROVIDER": "aliyun", "ALIYUN_SMS_ENDPOINT": gateway.url, "ALIYUN_ACCESS_KEY_ID": "LTAItest",
            "ALIYUN_ACCESS_KEY_SECRET": secret, "ALIYUN_SMS_SIGN_NAME": "议事厅", "ALIYUN_SMS_TEMPLATE": "SMS_1"}


def messages(*where) -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboundMessage).where(*where).order_by(OutboundMessage.id)))


def later(seconds: float = 3600) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def daytime() -> datetime:
    """A moment outside everyone's quiet hours: 12:00 local tomorrow."""
    return local_to_utc(datetime.combine((utcnow() + timedelta(days=1)).date(), time(12)))


# ---------------------------------------------------------------- signature


def test_aliyun_signature_matches_the_documented_example():
    # Alibaba Cloud's RPC signature documentation: DescribeRegions with AccessKeyId "testid" and
    # secret "testsecret" signs to OLeaidS1JvxuMvnyHOwuJ+uX5qY=.
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert channels.aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_percent_encoding_follows_the_rpc_rules():
    assert channels.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


# ---------------------------------------------------------------- writing


def test_notification_and_its_messages_commit_together(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[0])
    with app.app_context():
        person = make_user("王阿姨", contact="13800001111")
        person.email = "wang@example.com"
        db.session.commit()
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/c/x/measures/1", item="共享停车方案")
        db.session.rollback()
        assert messages() == []
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/c/x/measures/1", item="共享停车方案")
        db.session.commit()
        found = messages()
        assert {(m.channel, m.address) for m in found} == {("email", "wang@example.com"), ("sms", "13800001111")}
        assert all(m.notification_id is not None and m.status == MessageStatus.PENDING for m in found)


def test_without_mail_server_no_email_is_planned(app):
    person = make_user(contact="someone@example.com")
    notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
    db.session.commit()
    assert messages() == []  # email is off without MAIL_SERVER and the person has no phone


def test_never_means_never(app):
    person = make_user(contact="13800002222")
    db.session.add(DeliveryPreference(user_id=person.id, kind="vote.opened", channel="sms", mode="never"))
    db.session.commit()
    notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
    db.session.commit()
    assert messages() == []


# ---------------------------------------------------------------- email


def test_email_reaches_a_real_smtp_server(make_app, smtp_server):
    port, inbox = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, OUTBOX_COALESCE_SECONDS=0,
                   MAIL_DEFAULT_SENDER="议事厅 <noreply@example.org>", PUBLIC_URL="https://yishi.example")
    with app.app_context():
        person = make_user("Anna", contact="anna@example.com")
        person.locale = "en"
        db.session.commit()
        notify(recipients=[person.id], kind="meeting.scheduled", actor=None, link="/c/yg/meetings/4",
               title="Residents' council")
        db.session.commit()
        assert services.deliver_due() == 1
        assert len(inbox.messages) == 1
        envelope = inbox.messages[0]
        assert envelope.rcpt_tos == ["anna@example.com"]
        text = envelope.content.decode()
        assert "A meeting is scheduled" in text and "https://yishi.example/c/yg/meetings/4" in text
        [message] = messages()
        assert message.status == MessageStatus.SENT and message.attempts == 1
        [attempt] = db.session.scalars(db.select(DeliveryAttempt)).all()
        assert attempt.ok and attempt.provider == "smtp"
        assert services.deliver_due() == 0  # sent once only


def test_smtp_down_is_retried_with_growing_pauses_then_given_up(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), OUTBOX_COALESCE_SECONDS=0,
                   OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE=30, MAIL_TIMEOUT=2)
    with app.app_context():
        person = make_user(contact="nobody@example.com")
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
        db.session.commit()
        now = utcnow()
        assert services.deliver_due(now=now) == 0
        [message] = messages()
        assert message.status == MessageStatus.PENDING and message.attempts == 1
        assert message.due_at == now + timedelta(seconds=30)
        assert services.deliver_due(now=now + timedelta(seconds=10)) == 0  # not yet due
        assert messages()[0].attempts == 1
        services.deliver_due(now=now + timedelta(seconds=31))
        [message] = messages()
        assert message.attempts == 2 and message.due_at == now + timedelta(seconds=31 + 120)
        services.deliver_due(now=now + timedelta(hours=1))
        [message] = messages()
        assert message.status == MessageStatus.FAILED and message.attempts == 3 and "SMTP" in message.last_error
        assert count_rows(DeliveryAttempt) == 3


# ---------------------------------------------------------------- SMS


def test_sms_goes_to_the_provider_with_a_valid_signature(make_app, sms_gateway):
    app = make_app(OUTBOX_COALESCE_SECONDS=0, **aliyun_config(sms_gateway))
    with app.app_context():
        person = make_user("李建国", contact="13800003333")
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/c/yg/measures/2", item="共享停车方案")
        db.session.commit()
        assert services.deliver_due(now=daytime()) == 1
        [sent] = sms_gateway.received
        assert sent["PhoneNumbers"] == "13800003333" and sent["TemplateCode"] == "SMS_1"
        assert sent["SignName"] == "议事厅" and sent["Action"] == "SendSms"
        assert "共享停车方案" in json.loads(sent["TemplateParam"])["content"]
        [attempt] = db.session.scalars(db.select(DeliveryAttempt)).all()
        assert attempt.ok and attempt.reference == "biz1" and attempt.provider == "aliyun"


def test_a_wrong_secret_is_refused_by_the_provider_and_not_retried(make_app, sms_gateway):
    app = make_app(OUTBOX_COALESCE_SECONDS=0, **aliyun_config(sms_gateway, secret="wrong"))
    with app.app_context():
        person = make_user(contact="13800004444")
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
        db.session.commit()
        assert services.deliver_due(now=daytime()) == 0
        assert sms_gateway.received == []
        [message] = messages()
        assert message.status == MessageStatus.FAILED and "SignatureDoesNotMatch" in message.last_error


def test_provider_unreachable_is_retried(make_app, sms_gateway):
    config = aliyun_config(sms_gateway)
    config["ALIYUN_SMS_ENDPOINT"] = f"http://127.0.0.1:{free_port()}/"
    app = make_app(OUTBOX_COALESCE_SECONDS=0, **config)
    with app.app_context():
        person = make_user(contact="13800005555")
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
        db.session.commit()
        services.deliver_due(now=daytime())
        [message] = messages()
        assert message.status == MessageStatus.PENDING and message.attempts == 1


def test_no_text_messages_in_quiet_hours(app):
    person = make_user(contact="13800006666")
    db.session.add(QuietHours(user_id=person.id, starts=time(21), ends=time(8)))
    db.session.commit()
    tonight = local_to_utc(datetime.combine(utcnow().date(), time(23, 30)))
    services.plan_messages(user=person, kind="vote.opened", params={"item": "x"}, link="/", community_id=None,
                           now=tonight)
    db.session.commit()
    [message] = messages()
    assert message.due_at == local_to_utc(datetime.combine(utcnow().date() + timedelta(days=1), time(8)))
    early = local_to_utc(datetime.combine(utcnow().date(), time(6)))
    assert services.after_quiet_hours(early, (time(21), time(8))) == local_to_utc(
        datetime.combine(utcnow().date(), time(8)))
    noon = local_to_utc(datetime.combine(utcnow().date(), time(12)))
    assert services.after_quiet_hours(noon, (time(21), time(8))) == noon


# ---------------------------------------------------------------- merging, digests, workers


def test_identical_messages_are_merged_into_one(app):
    channels.LogSmsProvider.sent.clear()
    person = make_user(contact="13800007777")
    for n in range(3):
        notify(recipients=[person.id], kind="vote.opened", actor=None, link=f"/c/yg/measures/{n}",
               item="共享停车方案")
        db.session.commit()
    notify(recipients=[person.id], kind="vote.opened", actor=None, link="/c/yg/measures/9", item="长椅")
    db.session.commit()
    assert services.deliver_due(now=daytime()) == 4
    texts = sorted(m["text"] for m in channels.LogSmsProvider.sent)
    assert texts == ["“共享停车方案”有 3 项表决开始了 http://127.0.0.1:5000/c/yg/measures/0",
                     "“长椅”开始表决了 http://127.0.0.1:5000/c/yg/measures/9"]
    statuses = sorted(m.status for m in messages())
    assert statuses == ["merged", "merged", "sent", "sent"]


def test_digest_collects_a_days_messages_into_one(make_app, smtp_server):
    port, inbox = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DIGEST_HOUR=8)
    with app.app_context():
        person = make_user(contact="digest@example.com")
        for kind in ("vote.opened", "meeting.scheduled"):
            db.session.add(DeliveryPreference(user_id=person.id, kind=kind, channel="email", mode="digest"))
        db.session.commit()
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/a", item="共享停车方案")
        notify(recipients=[person.id], kind="meeting.scheduled", actor=None, link="/b", title="居民议事会")
        db.session.commit()
        found = messages()
        assert all(m.digest for m in found)
        assert services.deliver_due() == 0  # waits for the digest hour
        due = found[0].due_at
        assert services.deliver_due(now=due) == 2
        [envelope] = inbox.messages
        text = envelope.content.decode()
        assert "/a" in text and "/b" in text


def test_two_workers_never_send_a_message_twice(make_app):
    app = make_app(OUTBOX_COALESCE_SECONDS=0)
    channels.LogSmsProvider.sent.clear()
    with app.app_context():
        people = [make_user(contact=f"138000090{n:02d}") for n in range(20)]
        notify(recipients=[p.id for p in people], kind="vote.opened", actor=None, link="/", item="x")
        db.session.commit()
    moment = daytime()
    barrier = threading.Barrier(3)

    def work():
        with app.app_context():
            barrier.wait()
            try:
                services.deliver_due(now=moment)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    phones = [m["phone"] for m in channels.LogSmsProvider.sent]
    assert sorted(phones) == sorted(p for p in {f"138000090{n:02d}" for n in range(20)})
    with app.app_context():
        assert count_rows(DeliveryAttempt) == 20


def test_a_claim_left_by_a_dead_worker_is_taken_again(app):
    person = make_user(contact="13800008888")
    notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
    db.session.commit()
    [message] = messages()
    message.status = MessageStatus.SENDING
    message.claimed_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    assert services.deliver_due(now=daytime()) == 1


def test_the_rq_worker_delivers(make_app):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/6"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from rq import SimpleWorker

    from deliberation.outbox import dispatch

    queue = dispatch._queue(url)
    queue.empty()
    channels.LogSmsProvider.sent.clear()
    app = make_app(OUTBOX_REDIS_URL=url, OUTBOX_COALESCE_SECONDS=0, QUIET_HOURS="")
    with app.app_context():
        person = make_user(contact="13800009999")
        notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
        db.session.commit()
        assert queue.count == 1  # the commit enqueued a delivery job
        dispatch._worker_app = app
        try:
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
        finally:
            dispatch._worker_app = None
        assert [m["phone"] for m in channels.LogSmsProvider.sent] == ["13800009999"]
        assert messages()[0].status == MessageStatus.SENT
    queue.empty()


# ---------------------------------------------------------------- the staff page


def test_staff_see_their_communitys_messages_masked_and_can_send_a_failed_one_again(app, client, auth):
    community = make_community()
    other = make_community()
    staff = make_member(community, Role.STAFF)
    resident = make_member(community)
    services.plan_messages(user=resident, kind="vote.opened", params={"item": "共享停车方案"}, link="/",
                           community_id=community.id)
    services.plan_messages(user=resident, kind="vote.opened", params={"item": "别的社区的事"}, link="/",
                           community_id=other.id)
    db.session.commit()
    mine = messages(OutboundMessage.community_id == community.id)[0]
    mine.status = MessageStatus.FAILED
    mine.last_error = "aliyun: isv.BUSINESS_LIMIT_CONTROL"
    db.session.commit()

    auth.login(resident)
    assert client.get(f"/c/{community.slug}/outbox").status_code == 403
    auth.logout()
    auth.login(staff)
    page = client.get(f"/c/{community.slug}/outbox").get_data(as_text=True)
    assert "共享停车方案" in page and "别的社区的事" not in page
    assert resident.phone not in page and resident.phone[:3] + "****" + resident.phone[-4:] in page
    fragment = client.get(f"/c/{community.slug}/outbox?status=failed", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and "BUSINESS_LIMIT" in fragment.get_data(as_text=True)
    theirs = messages(OutboundMessage.community_id == other.id)[0]
    assert client.post(f"/c/{community.slug}/outbox/{theirs.id}/retry").status_code == 404
    assert client.post(f"/c/{community.slug}/outbox/{mine.id}/retry").status_code == 303
    assert messages(OutboundMessage.id == mine.id)[0].status == MessageStatus.PENDING
    assert len(audit_entries(community, "outbox.retry")) == 1


def test_managed_accounts_get_no_outbound_messages(app):
    from deliberation.accounts.models import User

    person = User(display_name="钱奶奶", is_managed=True, phone=None)
    db.session.add(person)
    db.session.commit()
    assert services.plan_messages(user=person, kind="vote.opened", params={}, link="/", community_id=None) == []


def test_without_redis_a_thread_in_the_server_delivers(make_app):
    import time as clock

    from deliberation.outbox import dispatch

    channels.LogSmsProvider.sent.clear()
    app = make_app(OUTBOX_EVERY=0.2, OUTBOX_COALESCE_SECONDS=0, QUIET_HOURS="")
    with app.app_context():
        person_id = make_user(contact="13800001212").id
    app.test_client().get("/healthz")  # the first request starts the deliverer
    try:
        with app.app_context():
            notify(recipients=[person_id], kind="vote.opened", actor=None, link="/", item="x")
            db.session.commit()
        deadline = clock.monotonic() + 10
        while clock.monotonic() < deadline and not channels.LogSmsProvider.sent:
            clock.sleep(0.1)
        assert [m["phone"] for m in channels.LogSmsProvider.sent] == ["13800001212"]
    finally:
        dispatch.stop_thread(app)


# ---------------------------------------------------------------- preferences


def test_a_person_chooses_channels_and_quiet_hours(app, client, auth):
    person = make_user(contact="13800002323")
    auth.login(person)
    page = client.get("/account/messages")
    assert page.status_code == 200 and "mode:vote.opened:sms" in page.get_data(as_text=True)
    answer = client.post("/account/messages", data={"mode:vote.opened:sms": "never", "mode:mention:sms": "digest",
                                                    "quiet_enabled": "on", "quiet_starts": "22:00",
                                                    "quiet_ends": "07:00"})
    assert answer.status_code == 303
    assert services.mode_for(person.id, "vote.opened", "sms") == "never"
    assert services.mode_for(person.id, "mention", "sms") == "digest"
    assert services.quiet_hours_of(person.id) == (time(22), time(7))
    notify(recipients=[person.id], kind="vote.opened", actor=None, link="/", item="x")
    db.session.commit()
    assert messages() == []


def test_forged_or_wrong_choices_are_refused_with_the_page_shown_again(app, client, auth):
    person = make_user(contact="13800002424")
    auth.login(person)
    for forged in ({"mode:evil.kind:sms": "immediate"}, {"mode:vote.opened:fax": "immediate"},
                   {"mode:vote.opened:sms": "hourly"}):
        answer = client.post("/account/messages", data={**forged, "quiet_starts": "21:00", "quiet_ends": "08:00"})
        assert answer.status_code == 400
    assert count_rows(DeliveryPreference) == 0
    answer = client.post("/account/messages", data={"mode:vote.opened:sms": "never", "quiet_enabled": "on",
                                                    "quiet_starts": "25:99", "quiet_ends": "08:00"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'value="25:99"' in body and 'aria-invalid="true"' in body
    assert count_rows(DeliveryPreference) == 0


# ---------------------------------------------------------------- reminders


def test_a_vote_closing_soon_reminds_only_those_who_have_not_voted_and_only_once(app):
    from deliberation.outbox.reminders import send_reminders
    from deliberation.voting import services as voting
    from tests.factories import make_measure

    community = make_community()
    voters = [make_member(community) for _ in range(3)]
    measure = make_measure(community, closes_at=utcnow() + timedelta(hours=6))
    voting.cast_ballot(actor=voters[0], community=community, measure_id=measure.id, content={"choice": "yes"})
    db.session.query(OutboundMessage).delete()  # the "vote opened" messages are not what this is about
    db.session.commit()
    reminded = send_reminders()
    found = messages(OutboundMessage.kind == "reminder.vote_closing")
    assert {m.user_id for m in found} >= {voters[1].id, voters[2].id}
    assert voters[0].id not in {m.user_id for m in found}
    assert reminded == len({m.user_id for m in found})
    assert send_reminders() == 0  # once only


def test_a_meeting_starting_soon_reminds_those_coming_and_a_review_due_reminds_its_reviewer(app):
    from deliberation.agenda import services as agenda
    from deliberation.meetings import services as meetings
    from deliberation.outbox.reminders import send_reminders
    from deliberation.review import services as review
    from deliberation.timeutil import local_today
    from tests.factories import admin_of, make_item

    community = make_community()
    chair = make_member(community, Role.CHAIR)
    coming, away = make_member(community), make_member(community)
    expert = make_member(community, Role.EXPERT)
    start = utcnow() + timedelta(hours=5)
    meeting = meetings.schedule_meeting(actor=chair, community=community, draft=meetings.MeetingDraft(
        title="居民议事会", mode="hybrid", place="活动中心", starts_at=start, ends_at=start + timedelta(hours=2),
        speaking_minutes=3))
    item = make_item(community)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    meetings.add_to_agenda(actor=chair, community=community, meeting_id=meeting.id, item_id=item.id, minutes=10)
    meetings.publish_meeting(actor=chair, community=community, meeting_id=meeting.id)
    meetings.attend(actor=coming, community=community, meeting_id=meeting.id, on=True)
    review.request_review(actor=chair, community=community, item_id=item.id, reviewer_ids=[expert.id],
                          question="可行吗？", due_on=local_today() + timedelta(days=1))
    send_reminders()
    meeting_reminders = messages(OutboundMessage.kind == "reminder.meeting_starting")
    assert [m.user_id for m in meeting_reminders] == [coming.id]
    assert meeting_reminders[0].params["title"] == "居民议事会"
    assert [m.user_id for m in messages(OutboundMessage.kind == "reminder.review_due")] == [expert.id]
    assert away.id not in {m.user_id for m in messages(OutboundMessage.kind.like("reminder.%"))}

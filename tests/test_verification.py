"""Codes that prove a phone number or email: registering, a forgotten password, a new phone or
email; expiry, the attempt limit, sending limits, and never revealing who is registered."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest

from deliberation.accounts.models import AuthSession, User
from deliberation.errors import ValidationError
from deliberation.extensions import db
from deliberation.outbox import channels
from deliberation.timeutil import utcnow
from deliberation.verification import services
from deliberation.verification.models import VerificationCode
from tests.factories import PASSWORD, count_rows, make_user

CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _empty_log():
    channels.LogSmsProvider.sent.clear()


def sent_to(address: str) -> list[str]:
    return [m["text"] for m in channels.LogSmsProvider.sent if m["to"] == address]


def last_code(address: str) -> str:
    return CODE.search(sent_to(address)[-1]).group(1)


def _register(client, contact="13800135000", name="赵小明"):
    return client.post("/register", data={"display_name": name, "contact": contact, "password": "long enough",
                                          "privacy_consent": "y"})


# ---------------------------------------------------------------- phone numbers


@pytest.mark.parametrize("typed,stored", [("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"),
                                          ("138-0013-8000", "13800138000"), ("+44 7911 123456", "+447911123456")])
def test_mobile_numbers_are_read_with_phonenumbers(app, typed, stored):
    from deliberation.accounts.services import normalise_contact

    assert normalise_contact(typed) == ("phone", stored)


@pytest.mark.parametrize("typed", ["1380000", "12345678901", "010-12345678", "phone", "+86"])
def test_what_is_not_a_mobile_number_is_refused(app, typed):
    from deliberation.accounts.services import normalise_contact

    with pytest.raises(ValidationError):
        normalise_contact(typed)


# ---------------------------------------------------------------- registering


def test_registering_by_sms_code(client, app):
    answer = _register(client)
    assert answer.status_code == 303
    page = client.get(answer.location).get_data(as_text=True)
    assert "138****5000" in page
    wrong = client.post(answer.location, data={"code": "000000" if last_code("13800135000") != "000000" else "111111"})
    assert wrong.status_code == 400 and count_rows(User, User.phone == "13800135000") == 0
    done = client.post(answer.location, data={"code": last_code("13800135000")})
    assert done.status_code == 303
    assert count_rows(User, User.phone == "13800135000") == 1
    again = client.post(answer.location, data={"code": last_code("13800135000")})
    assert again.status_code == 400  # a code works once


def test_registering_by_email_without_a_mail_server_writes_the_code_to_the_log(client, app):
    answer = _register(client, contact="new@example.org")
    assert client.post(answer.location, data={"code": last_code("new@example.org")}).status_code == 303
    assert count_rows(User, User.email == "new@example.org") == 1


def test_the_answer_is_the_same_whether_or_not_the_number_is_registered(client, app):
    make_user("先来的人", contact="13800136000")
    taken = _register(client, contact="13800136000")
    free = _register(client, contact="13800137000")
    assert taken.status_code == free.status_code == 303
    assert "/register/confirm/" in taken.location and "/register/confirm/" in free.location
    taken_page = client.get(taken.location).get_data(as_text=True).replace("6000", "XXXX")
    free_page = client.get(free.location).get_data(as_text=True).replace("7000", "XXXX")
    strip = re.compile(r'/register/confirm/[^"]+|/codes/[^"]+|name="csrf_token"[^>]*')
    assert strip.sub("", taken_page) == strip.sub("", free_page)
    # The owner of the taken number hears about it; no code was made that could ever work.
    assert not CODE.search(sent_to("13800136000")[-1])
    token = taken.location.rsplit("/", 1)[-1]
    assert db.session.scalar(db.select(VerificationCode).where(VerificationCode.token == token)).code_hash is None
    for guess in ("123456", "000000"):
        assert client.post(taken.location, data={"code": guess}).status_code == 400
    assert count_rows(User, User.phone == "13800136000") == 1


def test_codes_expire(client, app):
    answer = _register(client)
    token = answer.location.rsplit("/", 1)[-1]
    row = db.session.scalar(db.select(VerificationCode).where(VerificationCode.token == token))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    refused = client.post(answer.location, data={"code": last_code("13800135000")})
    assert refused.status_code == 400 and count_rows(User, User.phone == "13800135000") == 0


def test_five_wrong_codes_end_the_code_even_with_the_right_one_next(client, app):
    answer = _register(client)
    code = last_code("13800135000")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert client.post(answer.location, data={"code": wrong}).status_code == 400
    refused = client.post(answer.location, data={"code": code})
    assert refused.status_code == 400 and count_rows(User, User.phone == "13800135000") == 0


def test_parallel_guesses_cannot_exceed_the_attempt_limit(make_app):
    from tests.factories import race

    app = make_app()
    with app.app_context():
        token = services.start_registration(display_name="甲", contact="13800135000", password="long enough")
        code = last_code("13800135000")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def guess():
        with contextlib.suppress(ValidationError):
            services.confirm_registration(token=token, code=wrong)

    race(app, [guess] * 12)
    with app.app_context():
        row = db.session.scalar(db.select(VerificationCode).where(VerificationCode.token == token))
        assert row.attempts == 5
        with pytest.raises(ValidationError):
            services.confirm_registration(token=token, code=code)


def test_sending_is_limited_per_number_and_per_client(app):
    services.start_registration(display_name="甲", contact="13800135000", password="long enough", client="1.2.3.4")
    with pytest.raises(ValidationError):  # again within a minute
        services.start_registration(display_name="甲", contact="13800135000", password="long enough", client="9.9.9.9")
    app.config["CODE_INTERVAL_SECONDS"] = 0
    for _ in range(4):
        services.start_registration(display_name="甲", contact="13800135000", password="long enough")
    with pytest.raises(ValidationError):  # the sixth in a day
        services.start_registration(display_name="甲", contact="13800135000", password="long enough")
    app.config["CODES_PER_CLIENT_PER_HOUR"] = 3
    for n in range(2):
        services.start_registration(display_name="乙", contact=f"1390013{n:04d}", password="long enough",
                                    client="1.2.3.4")
    with pytest.raises(ValidationError):
        services.start_registration(display_name="乙", contact="13900139999", password="long enough",
                                    client="1.2.3.4")


def test_a_new_code_replaces_the_old_one(client, app):
    app.config["CODE_INTERVAL_SECONDS"] = 0
    answer = _register(client)
    old = last_code("13800135000")
    again = client.post(answer.location.replace("/register/confirm/", "/codes/") + "/resend")
    assert again.status_code == 303 and again.location != answer.location
    assert client.post(answer.location, data={"code": old}).status_code == 400
    assert client.post(again.location, data={"code": last_code("13800135000")}).status_code == 303


# ---------------------------------------------------------------- a forgotten password


def test_password_reset_by_sms_code_logs_out_everywhere(client, app, auth):
    person = make_user(contact="13800138111")
    auth.login(person)
    auth.logout()
    other_device = app.test_client()
    assert other_device.post("/login", data={"contact": "13800138111", "password": PASSWORD}).status_code == 303
    answer = client.post("/password/forgot", data={"contact": "13800138111"})
    assert answer.status_code == 303
    done = client.post(answer.location, data={"code": last_code("13800138111"), "new_password": "a new secret"})
    assert done.status_code == 303
    assert count_rows(AuthSession, AuthSession.user_id == person.id, AuthSession.revoked_at.is_(None)) == 0
    assert other_device.get("/account").status_code in (302, 303)
    assert client.post("/login", data={"contact": "13800138111", "password": "a new secret"}).status_code == 303


def test_password_reset_by_email_code(client, app):
    make_user(contact="forgot@example.org")
    answer = client.post("/password/forgot", data={"contact": "forgot@example.org"})
    done = client.post(answer.location, data={"code": last_code("forgot@example.org"),
                                              "new_password": "a new secret"})
    assert done.status_code == 303
    assert client.post("/login", data={"contact": "forgot@example.org", "password": "a new secret"}).status_code == 303


def test_password_reset_for_an_unknown_number_looks_the_same_and_sends_nothing(client, app):
    answer = client.post("/password/forgot", data={"contact": "13800138222"})
    assert answer.status_code == 303 and "/password/reset/" in answer.location
    assert sent_to("13800138222") == []
    assert client.post(answer.location, data={"code": "123456", "new_password": "a new secret"}).status_code == 400


# ---------------------------------------------------------------- a new phone or email


def test_changing_the_phone_needs_a_code_sent_to_the_new_one(client, app, auth):
    person = make_user(contact="13800138333")
    auth.login(person)
    answer = client.post("/account/contact", data={"contact": "13800138444"})
    assert answer.status_code == 303
    assert sent_to("13800138333") == [] and len(sent_to("13800138444")) == 1
    stranger = app.test_client()
    intruder = make_user(contact="13800138555")
    stranger.post("/login", data={"contact": intruder.contact, "password": PASSWORD})
    assert stranger.post(answer.location, data={"code": last_code("13800138444")}).status_code == 404
    assert client.post(answer.location, data={"code": last_code("13800138444")}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, person.id).phone == "13800138444"


def test_adding_an_email_needs_a_code(client, app, auth):
    person = make_user(contact="13800138666")
    auth.login(person)
    answer = client.post("/account/contact", data={"contact": "mine@example.org"})
    assert client.post(answer.location, data={"code": last_code("mine@example.org")}).status_code == 303
    db.session.expire_all()
    changed = db.session.get(User, person.id)
    assert changed.email == "mine@example.org" and changed.phone == "13800138666"

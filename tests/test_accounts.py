"""Accounts: registering, logging in and out, sessions, passwords, rate limits, CSRF."""

from __future__ import annotations

import re

from deliberation.accounts.models import AuthSession, User
from deliberation.accounts.services import ValidationError, authenticate, register, session_key
from deliberation.urls import safe_next
from tests.factories import PASSWORD, make_community, make_user


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_register_logs_in_and_stores_an_argon2id_hash(client, db):
    from tests.test_verification import last_code

    response = client.post("/register", data={"display_name": "王阿姨", "contact": "+86 138-0013-8000",
                                              "password": "long enough", "privacy_consent": "y"})
    assert response.status_code == 303 and "/register/confirm/" in response.location
    assert db.session.scalar(db.select(User).where(User.phone == "13800138000")) is None  # not before the code
    confirmed = client.post(response.location, data={"code": last_code("13800138000")})
    assert confirmed.status_code == 303
    user = db.session.scalar(db.select(User).where(User.phone == "13800138000"))
    assert user.password_hash.startswith("$argon2id$")
    assert "王阿姨" in client.get("/account").get_data(as_text=True)


def test_register_with_a_taken_contact_says_the_same_and_tells_the_owner(client, app):
    from tests.test_verification import sent_to

    make_user("先来的人", contact="someone@example.com")
    response = client.post("/register", data={"display_name": "后来的人", "contact": "Someone@Example.com",
                                              "password": "long enough", "privacy_consent": "y"})
    assert response.status_code == 303 and "/register/confirm/" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "s***@example.com" in page
    [notice] = sent_to("someone@example.com")
    assert "already has an account" in notice or "已有账户" in notice


def test_register_rejects_bad_phone_bad_email_and_short_password(client):
    for data in ({"contact": "12ab"}, {"contact": "1380000"}, {"contact": "010-12345678"},
                 {"contact": "not@an@email"}, {"password": "short"}):
        form = {"display_name": "李建国", "contact": "13900001111", "password": "long enough", "privacy_consent": "y",
                **data}
        assert client.post("/register", data=form).status_code == 400


def test_login_with_wrong_password_and_unknown_account_say_the_same(client):
    user = make_user()
    wrong = client.post("/login", data={"contact": user.contact, "password": "wrong password"})
    unknown = client.post("/login", data={"contact": "13999999999", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 400
    message = "手机号/邮箱或密码不正确"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_managed_account_cannot_log_in(app, db):
    from deliberation.communities.services import create_managed_account

    community = make_community()
    from tests.factories import admin_of

    managed = create_managed_account(actor=admin_of(community), community=community, display_name="钱奶奶",
                                     building="1", entrance="1", room="102")
    assert managed.password_hash is None
    try:
        authenticate(contact="", password="")
        raise AssertionError("an empty login must fail")
    except ValidationError:
        pass


def test_login_rotates_the_session_and_logout_revokes_it(app, client, auth, db):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(user)
    with client.session_transaction() as session:
        assert "planted" not in session
        token = session["auth_session"]
    assert db.session.get(AuthSession, session_key(token)).revoked_at is None
    stolen = client.get_cookie("session").value
    auth.logout()
    db.session.expire_all()
    assert db.session.get(AuthSession, session_key(token)).revoked_at is not None
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/account").status_code == 302  # the copied cookie no longer logs in


def test_change_password_logs_out_other_devices_but_not_this_one(app, client, auth):
    user = make_user()
    other = app.test_client()
    other.post("/login", data={"contact": user.contact, "password": PASSWORD})
    auth.login(user)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "new secret 1"})
    assert response.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert client.post("/account/password", data={"current_password": "wrong", "new_password": "x" * 10}
                       ).status_code == 400


def test_next_parameter_only_goes_to_local_paths(client, auth):
    for target in ("//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        assert safe_next(target) is None
    assert safe_next("/c/yangguang/") == "/c/yangguang/"
    user = make_user()
    response = client.post("/login?next=https://evil.example/", data={"contact": user.contact, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_login_is_rate_limited_with_a_readable_page(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for _ in range(3):
        client.post("/login", data={"contact": "13900000000", "password": "whatever1"})
    blocked = client.post("/login", data={"contact": "13900000000", "password": "whatever1"})
    assert blocked.status_code == 429
    assert "尝试次数太多" in blocked.get_data(as_text=True)
    english = client.post("/login", data={"contact": "1", "password": "2"}, headers={"Accept-Language": "en"})
    assert "Too many attempts" in english.get_data(as_text=True)


def test_registration_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="2 per minute")
    client = app.test_client()
    codes = [client.post("/register", data={"display_name": "x", "contact": f"1390000{i:04d}",
                                            "password": "long enough", "privacy_consent": "y"}).status_code for i in range(3)]
    assert codes[-1] == 429


def test_post_without_csrf_token_gets_a_readable_400(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        contact = make_user().contact
    refused = client.post("/login", data={"contact": contact, "password": PASSWORD})
    assert refused.status_code == 400
    assert "表单已过期" in refused.get_data(as_text=True)
    token = _csrf(client.get("/login").get_data(as_text=True))
    accepted = client.post("/login", data={"contact": contact, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 303


def test_register_service_normalises_contacts(app):
    assert register(display_name="A", contact="  USER@Example.COM ", password="long enough").email == "user@example.com"
    assert register(display_name="B", contact="+86 139 0000 9999", password="long enough").phone == "13900009999"


# ---------------------------------------------------------------- files, sessions, the limiter (issue 18)


def test_session_tokens_are_stored_hashed(app, client, auth, db):
    user = make_user()
    auth.login(user)
    with client.session_transaction() as session:
        token = session["auth_session"]
    assert db.session.get(AuthSession, token) is None  # a copy of the table logs nobody in
    assert db.session.get(AuthSession, session_key(token)).user_id == user.id
    assert client.get("/account").status_code in (200, 302, 303, 404)
    forged = app.test_client()
    with forged.session_transaction() as session:  # a cookie carrying the stored value itself
        session["auth_session"] = session_key(token)
        session["_user_id"] = str(user.id)
    from deliberation.accounts.services import session_user

    assert session_user(user_id=user.id, token=session_key(token)) is None
    assert session_user(user_id=user.id, token=token).id == user.id


def test_the_login_limiter_ignores_x_forwarded_for_without_a_proxy(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", PROXY_FIX=False)
    with app.app_context():
        client = app.test_client()
        answers = [client.post("/login", data={"contact": "x@example.com", "password": "wrong"},
                               headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(5)]
        assert answers[-1] == 429  # a new forged address each time does not reset the count


def test_the_database_file_and_backups_are_for_the_owner_only(app, runner, db, tmp_path, database_url):
    import stat
    from pathlib import Path

    import pytest

    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES:
        pytest.skip("files: the SQLite pass")
    db.session.execute(db.select(AuthSession)).all()  # a connection to the file
    path = Path(database_url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    target = tmp_path / "copy.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

"""The site itself: security headers, cookies, error pages, language and text-size switches."""

from __future__ import annotations

from tests.factories import make_user


def test_pages_send_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in response.headers["Vary"]


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(client, auth):
    user = make_user()
    plain = client.post("/login", data={"contact": user.contact, "password": "password123"})
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.post("/login", data={"contact": user.contact, "password": "password123"},
                         base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in secure.headers


def test_missing_page_is_readable_in_both_languages(client):
    chinese = client.get("/nowhere", headers={"Accept-Language": "zh-CN"})
    english = client.get("/nowhere", headers={"Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 404
    assert "找不到页面" in chinese.get_data(as_text=True)
    assert "Page not found" in english.get_data(as_text=True)


def test_an_unexpected_error_shows_a_page_without_traceback(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出了点问题" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_wrong_method_gets_a_readable_405(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "<html" in response.get_data(as_text=True)


def test_language_switch_overrides_the_browser_and_is_remembered(client, auth, db):
    assert 'lang="zh-Hans"' in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    response = client.post("/preferences/language", data={"lang": "en", "next": "/c/x/"})
    assert response.status_code == 303 and response.headers["Location"] == "/c/x/"
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    client.post("/preferences/language", data={"lang": "klingon"})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    user = make_user()
    auth.login(user)
    client.post("/preferences/language", data={"lang": "zh_CN", "next": "https://evil.example/"})
    db.session.refresh(user)
    assert user.locale == "zh_CN"


def test_large_text_switch_is_remembered(client):
    assert 'class="text-large"' not in client.get("/").get_data(as_text=True)
    client.post("/preferences/text-size", data={"size": "large"})
    assert 'class="text-large"' in client.get("/").get_data(as_text=True)
    client.post("/preferences/text-size", data={"size": "normal"})
    assert 'class="text-large"' not in client.get("/").get_data(as_text=True)


def test_health_checks(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_backup_and_restore_bring_the_data_back(app, runner, tmp_path, db):
    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES:
        import shutil

        import pytest

        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump is not installed")
    from deliberation.accounts.models import User

    make_user("备份前的人")
    target = tmp_path / ("backup.dump" if ON_POSTGRES else "backup.db")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    make_user("备份后的人")
    db.session.remove()
    restored = runner.invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    names = {u.display_name for u in db.session.scalars(db.select(User))}
    assert "备份前的人" in names and "备份后的人" not in names

"""Fixtures: app, db, client, runner, auth (log in as someone), socket client factory.

The database is built once per run with the real migrations (``flask db upgrade``), then each
test gets a fresh copy: a copied SQLite file, or truncated tables on PostgreSQL when
``DATABASE_URL`` points there (as CI does in its second run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="dh-tests-"))
os.environ.setdefault("INSTANCE_PATH", str(_TMP / "instance"))
os.environ.setdefault("SECRET_KEY", "tests-only-secret")

import pytest  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from deliberation import create_app  # noqa: E402
from deliberation.accounts import services as account_services  # noqa: E402
from deliberation.config import _database_url  # noqa: E402
from deliberation.extensions import db as _db  # noqa: E402

# Cheap hashes keep the suite fast; the parameters are the only difference (still Argon2id).
account_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
account_services._DUMMY_HASH = account_services._hasher.hash("dummy")

DATABASE_URL = os.environ.get("DATABASE_URL")
ON_POSTGRES = bool(DATABASE_URL and DATABASE_URL.startswith(("postgres", "postgresql")))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium through Playwright")
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL server")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + DATABASE_URL.split('@')[-1] if ON_POSTGRES else 'SQLite (files per test)'}"


def _base_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        "CLOSE_DUE_EVERY": 0,  # tests close votes explicitly (one test runs the sweeper)
        "OUTBOX_EVERY": 0,  # tests deliver outbound messages explicitly (tests/test_outbox.py)
        "LIVE_COALESCE_SECONDS": 0,  # every announcement at once (one test coalesces)
        "PRIVACY_CONSENT_REQUIRED": False,  # tests/test_privacy.py turns the consent gate on
    }


def upgrade_database(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_base_config(url))
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def database_template():
    """Migrate once. SQLite: a template file to copy. PostgreSQL: a clean schema."""
    if ON_POSTGRES:
        url = _database_url()
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
        upgrade_database(url)
        return url
    template = _TMP / "template.db"
    upgrade_database(f"sqlite:///{template}")
    return template


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'alembic_version'")
                )
            ]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    if ON_POSTGRES:
        _truncate_all(database_template)
        return database_template
    path = tmp_path / "test.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_app(database_url):
    """Build an app on this test's database, with config overrides."""
    apps = []

    def factory(**overrides):
        app = create_app({**_base_config(database_url), **overrides})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_contact, password: str = "password123"):
        contact = getattr(user_or_contact, "contact", user_or_contact)
        return self._client.post("/login", data={"contact": contact, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def socket_client(app, client):
    """A Socket.IO test client sharing the Flask test client's cookies (its login)."""
    from deliberation.extensions import socketio

    clients = []

    def factory(flask_client=None, **kwargs):
        sc = socketio.test_client(app, flask_test_client=flask_client or client, **kwargs)
        clients.append(sc)
        return sc

    yield factory
    for sc in clients:
        if sc.is_connected():
            sc.disconnect()

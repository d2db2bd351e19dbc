"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

import os
import sqlite3
import time

from flask import g, has_request_context, request
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names, so Alembic migrations can refer to (and SQLite batch mode can
# rebuild) constraints by name on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
socketio = SocketIO()
htmx = HTMX()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL for concurrent readers, a busy timeout instead of 'database is locked', FKs on."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # We emit BEGIN ourselves (below), so pysqlite must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Statistics: without them the planner guessed (the item list sorted every row). optimize
        # only analyses what the connection's queries would gain from, each table bounded to
        # a sample (analysis_limit), so it is cheap enough to run on every return to the pool.
        cursor.execute("PRAGMA analysis_limit=400")
        cursor.execute("PRAGMA optimize=0x10002")
        # The database file (and so its -wal and -shm, which SQLite creates with the same mode)
        # is for the app's own user only: it holds who took part in every vote.
        for _seq, name, path in cursor.execute("PRAGMA database_list").fetchall():
            if name == "main" and path:
                _owner_only(path)
        cursor.close()


def _owner_only(path: str) -> None:
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:  # not ours to change (read-only mount, another owner): leave it
        pass


OPTIMIZE_EVERY = 300.0  # seconds between a pooled SQLite connection's PRAGMA optimize runs


@event.listens_for(Engine, "checkin")
def _sqlite_optimize(dbapi_connection, record) -> None:
    """SQLite's advice for long-lived connections: PRAGMA optimize now and then, after the
    connection has run the app's queries (it learns from them which tables need ANALYZE)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    now = time.monotonic()
    last = record.info.get("optimized_at")
    if last is not None and now - last < OPTIMIZE_EVERY:
        return
    record.info["optimized_at"] = now
    # ANALYZE writes: never queue behind a rush of writers for it; statistics can wait.
    dbapi_connection.execute("PRAGMA busy_timeout=50")
    try:
        dbapi_connection.execute("PRAGMA optimize")
    except sqlite3.OperationalError:
        pass
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


INTERNAL = "deliberation.internal"


def internal_request_context(*, writes: bool = True):
    """A request context for work outside HTTP (CLI, background tasks) that renders templates
    and builds URLs. When it ``writes``, its transactions take the write lock up front like a
    POST's; a read-only one (``writes=False``) behaves like a GET and never holds the lock."""
    from flask import current_app

    return current_app.test_request_context("/", environ_overrides={INTERNAL: True} if writes else None)


def _expects_writes() -> bool:
    """GET and HEAD requests only read; everything else (POST, sockets, CLI, background tasks,
    tests) may write."""
    if has_request_context() and g.get("only_reading"):
        return False  # a read inside a POST (see ``reading``)
    if has_request_context() and (g.get("expect_writes") or request.environ.get(INTERNAL)):
        return True  # a GET that must write (see ``writing``), or work outside HTTP
    return not (has_request_context() and request.method in ("GET", "HEAD"))


class writing:
    """``with writing():`` around a write inside a GET request (e.g. closing a vote whose time
    has passed): the transactions it begins take the write lock up front, like a POST's."""

    def __enter__(self):
        db.session.rollback()  # end the read transaction this request already began
        if has_request_context():
            g.expect_writes = True
        return self

    def __exit__(self, *exc):
        if has_request_context():
            g.expect_writes = False
        return False


class reading:
    """``with reading():`` around what a POST only reads after its commit (showing the receipt,
    checking whether a retried ballot is stored): its transaction is a plain BEGIN, which in WAL
    mode never waits for the write lock, so a rush of writers cannot make it time out after the
    change was already saved."""

    def __enter__(self):
        db.session.rollback()  # end whatever transaction this request holds
        if has_request_context():
            g.only_reading = True
        return self

    def __exit__(self, *exc):
        if has_request_context():
            g.only_reading = False
        return False


@event.listens_for(Session, "after_flush")
def _remember_write(session, _flush_context) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "after_rollback")
def _forget_write(session) -> None:
    session.info.pop("wrote", None)


@event.listens_for(Session, "after_commit")
def _remember_commit(session) -> None:
    """A request that committed a change must never say afterwards that nothing was saved."""
    if session.info.pop("wrote", None) and has_request_context():
        g.saved_something = True


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """In WAL mode a transaction that reads first and writes later fails at once with
    SQLITE_BUSY if another writer committed in between; the busy timeout does not help.
    Transactions that may write therefore take the write lock up front (BEGIN IMMEDIATE)
    and queue behind each other for up to the busy timeout; readers stay concurrent."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _expects_writes() else "BEGIN")

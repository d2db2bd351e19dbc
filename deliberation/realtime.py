"""Live updates: the one place that emits to Socket.IO rooms.

Services call ``announce`` *after* they commit. Each event gets a monotonic id (a row in
``live_events``) and carries a fragment rendered for the public — once per language, into the
room of that language — plus where it goes in the page. A client that reconnects sends the
last id it applied and receives exactly what it missed from the stored events; it ignores ids
it already has, so nothing is applied twice.

Room names are ``<kind>:<id>`` (``item:7``, ``user:3``); a socket joins ``<kind>:<id>|<locale>``.
Who may join a room is decided by the readers registered in ``ROOM_READERS`` (one per kind).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_login import current_user
from flask_socketio import emit, join_room, leave_room
from sqlalchemy import JSON, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db, internal_request_context, socketio
from .timeutil import utcnow

LANGUAGES = ("zh_CN", "en")
REPLAY_LIMIT = 1000
KEEP_EVENTS = timedelta(days=2)


class LiveEvent(db.Model):
    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# kind -> function(user, id) -> bool: may this user (or anonymous None) read this room?
ROOM_READERS: dict[str, Callable[[object, int], bool]] = {}


def room_reader(kind: str):
    def register(func: Callable[[object, int], bool]):
        ROOM_READERS[kind] = func
        return func

    return register


@room_reader("user")
def _own_user_room(user, user_id: int) -> bool:
    return user is not None and getattr(user, "id", None) == user_id


def announce(
    room: str,
    name: str,
    *,
    render: Callable[[], str] | None = None,
    target: str | None = None,
    swap: str = "outerHTML",
    data: dict | None = None,
    replaces: bool = False,
) -> list[int]:
    """Store and emit one event to ``room`` in every language. ``render`` returns the public
    fragment; it is called under each language in turn. Returns the event ids.

    ``replaces``: the event carries the whole current state of its target, so the stored events
    of the same name and target before it are deleted: a replay carries the state now, never
    the sequence that led to it (a secret vote's turnout must not replay ballot by ballot)."""
    events = []
    # Outside a request (CLI, scheduled jobs) templates still need one to build URLs.
    scope = nullcontext() if has_request_context() else internal_request_context()
    try:
        with scope:
            if replaces:
                _forget_earlier(room, name, target)
            for locale in LANGUAGES:
                payload: dict = {"name": name, "data": data or {}}
                if render is not None:
                    with force_locale(locale):
                        payload.update(html=render(), target=target, swap=swap)
                event = LiveEvent(room=f"{room}|{locale}", name=name, payload=payload)
                db.session.add(event)
                db.session.flush()
                # Kept as plain values: after the commit another thread's ``replaces`` may
                # already have deleted the row, and reloading it would fail.
                events.append((event.id, event.room, payload))
            db.session.commit()
    except Exception:
        # The change itself is already committed; a missed live event must not turn it into
        # an error page. Pages catch up on their next load.
        db.session.rollback()
        current_app.logger.exception("Could not store live event %s for %s", name, room)
        return []
    for event_id, event_room, payload in events:
        try:
            socketio.emit(name, {**payload, "id": event_id}, to=event_room)
        except Exception:
            current_app.logger.exception("Could not emit live event %s", event_id)
    if events[-1][0] % 500 == 0:
        _prune()
    return [event_id for event_id, _room, _payload in events]


def _forget_earlier(room: str, name: str, target: str | None) -> None:
    earlier = db.session.scalars(select(LiveEvent).where(
        LiveEvent.room.in_([f"{room}|{locale}" for locale in LANGUAGES]), LiveEvent.name == name)).all()
    for event in earlier:
        if (event.payload or {}).get("target") == target:
            db.session.delete(event)


_coalesce_lock = threading.Lock()
_last_sent: dict[str, float] = {}
_pending: set[str] = set()


def coalesce(key: str, send: Callable[[], None], *, every: float) -> None:
    """Run ``send`` now, or, when one with this ``key`` ran less than ``every`` seconds ago, once
    at the end of that window (further calls in the window fold into it). ``send`` must load
    what it needs itself: it may run later, in a background task with its own session."""
    if every <= 0:
        send()
        return
    now = time.monotonic()
    with _coalesce_lock:
        wait = _last_sent.get(key, float("-inf")) + every - now
        if wait <= 0:
            _last_sent[key] = now
        elif key in _pending:
            return
        else:
            _pending.add(key)
    if wait <= 0:
        send()
        return
    app = current_app._get_current_object()

    def later() -> None:
        socketio.sleep(wait)
        with _coalesce_lock:
            _pending.discard(key)
            _last_sent[key] = time.monotonic()
        with app.app_context():
            try:
                send()
            except Exception:
                app.logger.exception("Could not send the coalesced live event %s", key)
            finally:
                db.session.remove()

    socketio.start_background_task(later)


def restate(room: str, renders: dict[str, Callable[[], str]], *, key: str, value: object) -> int:
    """Re-render the stored events of ``room`` named in ``renders`` whose data has ``key`` =
    ``value``, so a later replay carries the current public state (a hidden comment's
    ``comment.posted`` must not replay its text). Part of the caller's transaction; returns how
    many events were rewritten."""
    stored = db.session.scalars(
        select(LiveEvent).where(LiveEvent.room.in_([f"{room}|{locale}" for locale in LANGUAGES]),
                                LiveEvent.name.in_(list(renders)))
    ).all()
    scope = nullcontext() if has_request_context() else internal_request_context()
    changed = 0
    with scope:
        for event in stored:
            if (event.payload or {}).get("data", {}).get(key) != value or "html" not in event.payload:
                continue
            with force_locale(event.room.rpartition("|")[2]):
                # A new dict: the JSON column notices assignment, not mutation.
                event.payload = {**event.payload, "html": renders[event.name]()}
            changed += 1
    return changed


def _prune() -> None:
    db.session.execute(delete(LiveEvent).where(LiveEvent.created_at < utcnow() - KEEP_EVENTS))
    db.session.commit()


def last_event_id() -> int:
    """The newest event id; pages embed it so a client can ask for anything after render."""
    return db.session.scalar(select(func.max(LiveEvent.id))) or 0


def _parse_room(room: str) -> tuple[str, int] | None:
    kind, _, ident = (room or "").partition(":")
    if kind not in ROOM_READERS or not ident.isdigit() or len(ident) > 10 or int(ident) > 2**31 - 1:
        return None  # (ids are 32-bit integers on PostgreSQL)
    return kind, int(ident)


def register_socket_handlers() -> None:
    @socketio.on("connect")
    def on_connect(auth=None):
        # Flask-SocketIO refuses other origins (cors_allowed_origins defaults to same-origin).
        return True

    @socketio.on("join")
    def on_join(message=None):
        message = message if isinstance(message, dict) else {}
        parsed = _parse_room(str(message.get("room", "")))
        locale = message.get("locale") if message.get("locale") in LANGUAGES else LANGUAGES[0]
        if parsed is None:
            return {"ok": False, "error": "unknown room"}
        kind, ident = parsed
        user = current_user if current_user.is_authenticated else None
        if not ROOM_READERS[kind](user, ident):
            current_app.logger.info("socket %s refused room %s", request.sid, message.get("room"))
            return {"ok": False, "error": "forbidden"}
        room = f"{kind}:{ident}|{locale}"
        try:
            join_room(room)
        except (KeyError, ValueError):  # the page went away before its join was handled: no one to join
            return {"ok": False, "error": "gone"}
        try:
            since = int(message.get("last_id") or 0)
        except (TypeError, ValueError):
            since = 0
        since = max(0, min(since, 2**31 - 1))  # ids are 32-bit integers on PostgreSQL
        missed = db.session.scalars(
            select(LiveEvent).where(LiveEvent.room == room, LiveEvent.id > since).order_by(LiveEvent.id)
            .limit(REPLAY_LIMIT + 1)
        ).all()
        if len(missed) > REPLAY_LIMIT:
            # Away too long to replay piece by piece: the page should simply load again.
            return {"ok": True, "room": f"{kind}:{ident}", "replayed": 0, "reload": True}
        try:
            for event in missed:
                emit(event.name, {**event.payload, "id": event.id, "replayed": True})
        except ValueError:  # the page went away while we were replaying: nothing to do
            return {"ok": False, "error": "gone"}
        return {"ok": True, "room": f"{kind}:{ident}", "replayed": len(missed)}

    @socketio.on("leave")
    def on_leave(message=None):
        message = message if isinstance(message, dict) else {}
        parsed = _parse_room(str(message.get("room", "")))
        if parsed:
            for locale in LANGUAGES:
                leave_room(f"{parsed[0]}:{parsed[1]}|{locale}")
        return {"ok": True}

"""Votes close at their closing time even when nobody is looking: each server process runs a
small background loop that closes due measures (which writes their resolutions). Closing is
idempotent, so several processes sweeping at once is harmless. ``flask votes close-due`` does
the same from cron where no server runs."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from ..extensions import db, socketio

log = logging.getLogger(__name__)
_started = threading.Lock()
_running: set[int] = set()
_tasks: dict[int, object] = {}


def init_sweeper(app: Flask) -> None:
    every = app.config.get("CLOSE_DUE_EVERY", 0)
    if not every:
        return

    @app.before_request
    def _start_once() -> None:
        # Started by the first request, so CLI commands (migrations, demo) never start it.
        with _started:
            if id(app) in _running:
                return
            _running.add(id(app))
        _tasks[id(app)] = socketio.start_background_task(_loop, app, every)


def stop_sweeper(app: Flask, timeout: float = 10) -> None:
    """End the app's loop and wait for it, so no sweep is still using the database after this
    returns (tests tear the database down next)."""
    with _started:
        _running.discard(id(app))
        task = _tasks.pop(id(app), None)
    join = getattr(task, "join", None)
    if join is not None:
        join(timeout)


def sweep_once(app: Flask) -> int:
    from .services import close_due_measures

    with app.app_context():
        try:
            closed = close_due_measures()
        except Exception:  # keep sweeping: a busy database now is fine again in a minute
            log.exception("closing due votes failed")
            return 0
        finally:
            db.session.remove()
    if closed:
        log.info("closed %d due vote(s)", closed)
    return closed


def _loop(app: Flask, every: float) -> None:
    while id(app) in _running:
        sweep_once(app)
        socketio.sleep(every)

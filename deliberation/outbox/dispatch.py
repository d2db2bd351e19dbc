"""Who runs ``deliver_due``. With a Redis URL (``OUTBOX_REDIS_URL``, by default ``REDIS_URL``)
delivery runs as RQ jobs in ``flask outbox worker`` (``make worker``); without one, a thread in
each server process delivers every ``OUTBOX_EVERY`` seconds and when a commit wrote messages.

The session hooks are here too: every in-app notification flushed in a transaction gets its
outbound copies planned in that same transaction (so a message exists exactly when the change
that caused it does), and a commit that wrote some wakes the deliverer."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import event, inspect

from ..extensions import db
from ..notifications.models import Notification
from ..privacy.services import prune
from ..timeutil import utcnow

log = logging.getLogger(__name__)

QUEUE_NAME = "outbox"
_hooked = False
_lock = threading.Lock()
_threads: dict[int, tuple[threading.Thread, threading.Event, threading.Event]] = {}
_worker_app: Flask | None = None
_last_reminders: dict[int, datetime] = {}
REMIND_EVERY = 300  # seconds between looks for votes closing, meetings starting, reviews due
PRUNE_EVERY = timedelta(days=1)  # retention (privacy.services.RETENTION) is applied daily
_last_prune: dict[int, datetime] = {}


def init_outbox(app: Flask) -> None:
    global _hooked
    from flask_mailman import Mail

    Mail(app)
    with _lock:
        if not _hooked:
            event.listen(db.session, "after_flush", _plan_after_flush)
            event.listen(db.session, "after_commit", _wake_after_commit)
            event.listen(db.session, "after_rollback", _forget_after_rollback)
            _hooked = True
    app.config.setdefault("OUTBOX_REDIS_URL", app.config.get("REDIS_URL"))
    if app.config.get("SMS_PROVIDER") == "log":
        # The log provider is how a development machine "sends" text messages: make them visible.
        sms_log = logging.getLogger("deliberation.outbox.channels")
        if sms_log.level == logging.NOTSET:
            sms_log.setLevel(logging.INFO)
            if not logging.getLogger().handlers:
                sms_log.addHandler(logging.StreamHandler())
    if app.config.get("OUTBOX_EVERY") and not app.config.get("OUTBOX_REDIS_URL"):
        @app.before_request
        def _start_deliverer() -> None:
            # Started by the first request, so CLI commands never start it.
            start_thread(app)


# ---------------------------------------------------------------- session hooks


def _plan_after_flush(session, _flush_context) -> None:
    # New notifications, and unread ones that absorbed an identical new one (their count went
    # up): each is a message outside the app; the outbox merges identical ones itself.
    notifications = [obj for obj in session.new if isinstance(obj, Notification)]
    notifications += [obj for obj in session.dirty if isinstance(obj, Notification)
                      and inspect(obj).attrs.params.history.has_changes()]
    if not notifications:
        return
    from .services import plan_for_notifications

    planned = plan_for_notifications(notifications)
    if planned:
        earliest = min(m.due_at for m in planned)
        known = session.info.get("outbox_due")
        session.info["outbox_due"] = earliest if known is None else min(known, earliest)


def _wake_after_commit(session) -> None:
    due = session.info.pop("outbox_due", None)
    if due is not None:
        try:
            kick(due)
        except Exception:  # the messages are safe in the table; the next round sends them
            log.exception("could not wake the outbox deliverer")


def _forget_after_rollback(session) -> None:
    session.info.pop("outbox_due", None)


# ---------------------------------------------------------------- waking a deliverer


def kick(due: datetime | None = None) -> None:
    url = current_app.config.get("OUTBOX_REDIS_URL")
    if url:
        schedule_job(url, due or utcnow())
        return
    entry = _threads.get(id(current_app._get_current_object()))
    if entry is not None and (due is None or due <= utcnow()):
        entry[1].set()


def _queue(url: str):
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(url))


def schedule_job(url: str, due: datetime) -> None:
    """One delivery job per ten-second slot: many commits in a burst enqueue it once."""
    queue = _queue(url)
    slot = int(due.timestamp()) // 10
    job_id = f"outbox-deliver-{slot}"
    if due <= utcnow():
        queue.enqueue(deliver_job, job_id=job_id)
    else:
        from datetime import UTC

        queue.enqueue_at(due.replace(tzinfo=UTC), deliver_job, job_id=job_id)


def deliver_job() -> int:
    """The RQ job: remind, deliver what is due, then book the next run (for what is still
    waiting, and at the latest for the next round of reminders)."""
    app = _worker_app or current_app_or_new()
    from .services import next_due_at

    delivered = deliver_once(app)
    with app.app_context():
        try:
            upcoming = next_due_at()
        finally:
            db.session.remove()
        next_round = utcnow() + timedelta(seconds=REMIND_EVERY)
        schedule_job(app.config["OUTBOX_REDIS_URL"], max(min(upcoming or next_round, next_round), utcnow()))
    return delivered


def current_app_or_new() -> Flask:
    global _worker_app
    try:
        return current_app._get_current_object()
    except RuntimeError:
        from .. import create_app

        _worker_app = create_app()
        return _worker_app


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """``flask outbox worker``: an RQ worker (no fork: jobs share this process's app and
    connection pool) with the scheduler that runs retries and digests at their time."""
    global _worker_app
    from rq import SimpleWorker

    _worker_app = app
    url = app.config["OUTBOX_REDIS_URL"]
    queue = _queue(url)
    schedule_job(url, utcnow())  # whatever waited while no worker ran
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)


# ---------------------------------------------------------------- the in-process thread


def deliver_once(app: Flask) -> int:
    """One round: reminders (at most every REMIND_EVERY seconds), then due messages."""
    from .reminders import send_reminders
    from .services import deliver_due

    with app.app_context():
        try:
            last = _last_reminders.get(id(app))
            if last is None or (utcnow() - last).total_seconds() >= REMIND_EVERY:
                _last_reminders[id(app)] = utcnow()
                send_reminders()
            pruned = _last_prune.get(id(app))
            if pruned is None or utcnow() - pruned >= PRUNE_EVERY:
                _last_prune[id(app)] = utcnow()
                prune()
            return deliver_due()
        except Exception:  # keep going: a busy database now is fine again in a moment
            log.exception("delivering outbound messages failed")
            return 0
        finally:
            db.session.remove()


def start_thread(app: Flask) -> None:
    with _lock:
        if id(app) in _threads:
            return
        wake, stop = threading.Event(), threading.Event()
        thread = threading.Thread(target=_loop, args=(app, wake, stop), name="outbox", daemon=True)
        _threads[id(app)] = (thread, wake, stop)
    thread.start()


def stop_thread(app: Flask, timeout: float = 10) -> None:
    with _lock:
        entry = _threads.pop(id(app), None)
    if entry is not None:
        thread, wake, stop = entry
        stop.set()
        wake.set()
        thread.join(timeout)


def _loop(app: Flask, wake: threading.Event, stop: threading.Event) -> None:
    every = float(app.config.get("OUTBOX_EVERY") or 5)
    while not stop.is_set():
        deliver_once(app)
        wake.wait(every)
        wake.clear()

"""Deliberation Hall (议事厅): the application factory.

The start-up sequence is explicit: configuration, extensions, sessions and security headers,
language, blueprints, error pages, CLI commands. Nothing is discovered by scanning folders.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import INSTANCE, ROOT, Config
from .extensions import babel, csrf, db, htmx, limiter, login_manager, migrate, socketio


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE),
        instance_relative_config=False,
    )
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    app.jinja_env.add_extension("jinja2.ext.do")
    from .input import CleanRequest, IdConverter

    # Before any route is added: every <int:id> is bounded, every query and form value NUL-free.
    app.url_map.converters["int"] = IdConverter
    app.request_class = CleanRequest
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    socketio.init_app(app, message_queue=app.config["REDIS_URL"], async_mode=_async_mode())

    from .accounts.sessions import init_sessions
    from .i18n import init_i18n
    from .security import init_security

    init_sessions(app, login_manager)
    init_i18n(app, babel)
    init_security(app)

    from .accounts.views import bp as accounts_bp
    from .agenda.views import bp as agenda_bp
    from .attachments.views import bp as attachments_bp
    from .audit.views import bp as audit_bp
    from .calendar.views import bp as calendar_bp
    from .communities.views import bp as communities_bp
    from .conventions.views import bp as conventions_bp
    from .discussion.views import bp as discussion_bp
    from .managed.views import bp as managed_bp
    from .meetings.projection_views import bp as projection_bp
    from .meetings.views import bp as meetings_bp
    from .notifications.views import bp as notifications_bp
    from .outbox.views import bp as outbox_bp
    from .privacy.views import bp as privacy_bp
    from .records.views import bp as records_bp
    from .review.views import bp as review_bp
    from .site import bp as site_bp
    from .verification.views import bp as verification_bp
    from .voting.views import bp as voting_bp

    for blueprint in (site_bp, accounts_bp, communities_bp, audit_bp, agenda_bp, discussion_bp, review_bp,
                      voting_bp, meetings_bp, records_bp, conventions_bp, notifications_bp, attachments_bp,
                      managed_bp, outbox_bp, verification_bp, privacy_bp, calendar_bp, projection_bp):
        app.register_blueprint(blueprint)

    # Later components put their things into the attachments registry here, in one place.
    from .attachments.targets import register as register_attachment_target
    from .conventions.attachments import TARGETS as convention_targets
    from .meetings.attachments import TARGETS as meeting_targets

    for target in (*convention_targets, *meeting_targets):
        register_attachment_target(target)

    from .realtime import last_event_id, register_socket_handlers

    register_socket_handlers()
    app.jinja_env.globals["live_last_id"] = last_event_id

    from .now import register_audit_words, register_home_sections

    register_home_sections()
    register_audit_words()

    from .errors import register_error_handlers

    register_error_handlers(app)

    from .voting.sweeper import init_sweeper

    init_sweeper(app)

    # Outbound email and SMS (issue 20): mail, session hooks writing the outbox, the deliverer.
    from .outbox.cli import register_outbox_cli
    from .outbox.dispatch import init_outbox

    init_outbox(app)
    register_outbox_cli(app)

    # Privacy (issue 20): consent to the current notice is asked before anything else.
    from .privacy.views import init_privacy

    init_privacy(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _async_mode() -> str:
    """gevent when the server patched the standard library for it (`make serve`'s gunicorn gevent
    worker: an idle live page then costs a greenlet, not a thread); threads everywhere else (the
    development server, tests, the CLI), where nothing runs gevent's loop."""
    try:
        from gevent import monkey
    except ImportError:
        return "threading"
    return "gevent" if monkey.is_module_patched("socket") else "threading"


__all__ = ["create_app"]

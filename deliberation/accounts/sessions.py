"""Login sessions: Flask-Login wired to server-side AuthSession rows, and cookies that are
Secure whenever the request came over https."""

from __future__ import annotations

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user

from . import services
from .models import User

SESSION_KEY = "auth_session"


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_sessions(app: Flask, login_manager: LoginManager) -> None:
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"

    @app.before_request
    def forget_cached_user() -> None:
        # Flask-Login caches the user on `g`. A server gives each request a fresh `g`; when
        # one app context serves several requests (tests, scripts) the cache must not leak.
        g.pop("_login_user", None)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            uid = int(user_id)
        except ValueError:
            return None
        return services.session_user(user_id=uid, token=session.get(SESSION_KEY))


def log_in(user: User) -> None:
    """Rotate: drop everything the anonymous session held, then start a new server session."""
    session.clear()
    token = services.start_session(user=user, user_agent=request.headers.get("User-Agent", ""))
    session[SESSION_KEY] = token
    session.permanent = True
    login_user(user)


def log_out() -> None:
    services.end_session(token=session.get(SESSION_KEY))
    logout_user()
    session.clear()


def current_session_token() -> str | None:
    return session.get(SESSION_KEY)

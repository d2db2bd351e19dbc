"""The front page and the reader's own preferences (language, text size)."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from .accounts import services as account_services
from .communities.services import list_communities, my_memberships
from .extensions import db
from .i18n import LANG_COOKIE, LANGUAGE_NAMES, TEXT_COOKIE
from .rendering import render
from .urls import safe_next

bp = Blueprint("site", __name__)
ONE_YEAR = 365 * 24 * 3600


@bp.route("/")
def home():
    memberships = my_memberships(current_user)
    return render(
        "site/home.html",
        communities=list_communities(),
        memberships={m.community_id: m for m in memberships},
    )


def _back():
    return redirect(safe_next(request.form.get("next")) or url_for("site.home"), 303)


def _set_pref_cookie(response, name: str, value: str) -> None:
    response.set_cookie(name, value, max_age=ONE_YEAR, httponly=True, samesite="Lax", secure=request.is_secure)


@bp.route("/preferences/language", methods=["POST"])
def set_language():
    lang = request.form.get("lang", "")
    response = make_response(_back())
    if lang in LANGUAGE_NAMES:
        _set_pref_cookie(response, LANG_COOKIE, lang)
        if current_user.is_authenticated:
            account_services.set_locale(actor=current_user, locale=lang)
    return response


@bp.route("/preferences/text-size", methods=["POST"])
def set_text_size():
    size = "large" if request.form.get("size") == "large" else "normal"
    response = make_response(_back())
    _set_pref_cookie(response, TEXT_COOKIE, size)
    return response


@bp.route("/healthz")
def healthz():
    """The process is up (for a load balancer's liveness check)."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """The database (and Redis, when configured) answer: ready for traffic."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; the reason goes to the log
        current_app.logger.exception("readiness: database")
        checks["database"] = "unreachable"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception:
            current_app.logger.exception("readiness: redis")
            checks["redis"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503

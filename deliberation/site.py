"""The front page and the reader's own preferences (language, text size)."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user

from .accounts import services as account_services
from .communities.services import list_communities, my_memberships
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

"""The privacy notice, consent (asked at sign-up and again after the notice changes), a copy
of my data, and deleting my account."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.sessions import log_out
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import render
from ..urls import safe_next
from . import services
from .forms import ConsentForm, DeleteAccountForm

bp = Blueprint("privacy", __name__)

CONSENT_SESSION_KEY = "privacy_version"
# Reachable without a current consent: the notice itself, logging out, language, health.
OPEN_ENDPOINTS = {"privacy.notice", "privacy.consent", "accounts.logout", "site.set_language",
                  "site.set_text_size", "site.healthz", "site.readyz", "static"}


def init_privacy(app) -> None:
    @app.before_request
    def _ask_consent():
        """After a new version of the notice, a logged-in person is asked again before going on."""
        if not app.config.get("PRIVACY_CONSENT_REQUIRED", True) or request.endpoint in OPEN_ENDPOINTS:
            return None
        if not current_user.is_authenticated or session.get(CONSENT_SESSION_KEY) == services.NOTICE_VERSION:
            return None
        if services.has_current_consent(current_user):
            session[CONSENT_SESSION_KEY] = services.NOTICE_VERSION
            return None
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("privacy.consent", next=target), 303)


def expected_confirmation() -> str:
    return _("delete my account")


@bp.route("/privacy")
def notice():
    return render("privacy/notice.html", version=services.NOTICE_VERSION, retention=services.RETENTION)


@bp.route("/privacy/consent", methods=["GET", "POST"])
@login_required
def consent():
    form = ConsentForm(version=services.NOTICE_VERSION)
    done = submit_form(form, lambda: services.record_consent(actor=current_user, version=form.version.data))
    if done is not NOT_SUBMITTED:
        session[CONSENT_SESSION_KEY] = services.NOTICE_VERSION
        return redirect(safe_next(request.args.get("next")) or url_for("site.home"), 303)
    return render("privacy/consent.html", form=form, version=services.NOTICE_VERSION, retention=services.RETENTION,
                  status_code=status_for(form))


@bp.route("/account/data")
@login_required
def my_data():
    return render("privacy/data.html")


@bp.route("/account/data.json")
@login_required
def my_data_json():
    body = json.dumps(services.export_data(actor=current_user), ensure_ascii=False, indent=2, sort_keys=True)
    response = make_response(body)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{current_user.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    phrase = expected_confirmation()
    done = submit_form(form, lambda: services.delete_account(
        actor=current_user, password=form.password.data, confirmation=form.confirmation.data,
        expected_confirmation=phrase))
    if done is not NOT_SUBMITTED:
        log_out()
        flash(_("Your account was deleted. Your name in the public record is now a pseudonym."), "info")
        return redirect(url_for("site.home"), 303)
    return render("privacy/delete.html", form=form, phrase=phrase, status_code=status_for(form))

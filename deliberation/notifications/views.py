"""The notifications page and the header bell (a personal fragment fetched with htmx)."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from ..communities.forms import ActionForm
from ..rendering import render
from . import services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def notification_helpers():
    def bell_count() -> int:
        return services.unread_count(current_user) if current_user.is_authenticated else 0

    return {"notification_count": bell_count, "notification_message": services.message}


@bp.route("/")
@login_required
def index():
    return render("notifications/index.html", notifications=services.recent(current_user), action_form=ActionForm())


@bp.route("/bell")
@login_required
def bell():
    return render("notifications/_bell.html")


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    if ActionForm().validate_on_submit():
        services.mark_all_read(actor=current_user)
    return redirect(url_for("notifications.index"), 303)

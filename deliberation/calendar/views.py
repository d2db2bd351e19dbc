"""Calendar downloads: one meeting's .ics, the personal feed, and the page to copy or reset it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..extensions import writing
from ..meetings.services import meeting_in
from ..rendering import render
from . import services

bp = Blueprint("calendar", __name__)


def _ics(body: bytes, filename: str, *, private: bool):
    response = make_response(body)
    response.mimetype = "text/calendar"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


@bp.route("/c/<slug>/meetings/<int:meeting_id>.ics")
def meeting_ics(slug: str, meeting_id: int):
    community = get_community(slug)
    viewer = current_user if current_user.is_authenticated else None
    meeting = meeting_in(community, meeting_id, viewer)
    return _ics(services.meeting_ics(meeting=meeting, community=community), f"meeting-{meeting.id}.ics",
                private=False)


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    body = services.feed_ics(token)
    if body is None:
        abort(404)
    return _ics(body, "deliberation-hall.ics", private=True)


@bp.route("/account/calendar")
@login_required
def my_calendar():
    with writing():  # the feed is made on first visit
        feed = services.feed_of(current_user)
    url = url_for("calendar.feed", token=feed.token, _external=True)
    return render("calendar/mine.html", feed_url=url, webcal_url="webcal://" + url.split("://", 1)[-1],
                  action_form=ActionForm())


@bp.route("/account/calendar/reset", methods=["POST"])
@login_required
def reset():
    if ActionForm().validate_on_submit():
        services.reset_feed(actor=current_user)
        flash(_("Your calendar address was changed. The old one no longer works."), "success")
    return redirect(url_for("calendar.my_calendar"), 303)

"""The chair's controls for the picture on the projector (forms on the console page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..forms import flash_refusals
from . import projection

bp = Blueprint("projection", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def projection_helpers():
    return {"projectable_for": projection.projectable, "projection_of": projection.projected}


@bp.route("/meetings/<int:meeting_id>/projection", methods=["POST"])
@login_required
def change(slug: str, meeting_id: int):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    with flash_refusals() as attempt:
        if request.form.get("attachment_id"):
            try:
                attachment_id = int(request.form["attachment_id"])
            except ValueError:
                abort(400)
            projection.project_attachment(actor=current_user, community=community, meeting_id=meeting_id,
                                          attachment_id=attachment_id)
            message = _("The picture is on the projector.")
        else:
            projection.take_down(actor=current_user, community=community, meeting_id=meeting_id)
            message = _("The picture was taken off the projector.")
    if not attempt.refused:
        flash(message, "success")
    return redirect(url_for("meetings.console", slug=slug, meeting_id=meeting_id, _anchor="c-projection"), 303)

"""Attachment pages: the form that adds a file to a thing, removing one, and serving the files
with the read permission of the thing they are on."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, send_file, url_for
from flask import request as http_request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import render
from . import services
from .forms import AttachmentForm
from .storage import storage_for

bp = Blueprint("attachments", __name__, url_prefix="/c/<slug>")

FILE_CSP = {
    # A picture opened on its own can run nothing; a PDF needs the browser's viewer.
    "image": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "pdf": "default-src 'none'; object-src 'self'; frame-ancestors 'self'",
}
EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def may_attach_to(community, target_key: str, thing) -> bool:
    """For the pages of other components: may the person viewing add files to this thing?"""
    return services.may_attach(actor=_viewer(), community=community, target_key=target_key, thing=thing)


@bp.app_context_processor
def attachment_helpers():
    return {"attachments_of": services.attachments_of, "may_attach_to": may_attach_to}


def _viewer():
    return current_user if current_user.is_authenticated else None


@bp.route("/attachments/<any(item,review,convention,amendment,meeting,minutes):target_key>/<int:target_id>/new",
          methods=["GET", "POST"])
@login_required
def new(slug: str, target_key: str, target_id: int):
    community = get_community(slug)
    thing = services.load_target(community=community, target_key=target_key, target_id=target_id,
                                 viewer=current_user)
    services.require_attach(actor=current_user, community=community, target_key=target_key, thing=thing)
    back = services.target(target_key).url(community, thing)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    # Only this form takes large files; everywhere else the app-wide 2 MB limit stays.
    http_request.max_content_length = limit + 1024 * 1024
    try:
        form = AttachmentForm()
        too_large = False
    except RequestEntityTooLarge:
        form = AttachmentForm(formdata=None)
        too_large = True

    def add():
        upload = form.file.data
        return services.add_attachment(actor=current_user, community=community, target_key=target_key,
                                       target_id=target_id, filename=upload.filename,
                                       data=upload.read(limit + 1), alt_text=form.alt_text.data or "")

    if too_large:
        form.file.errors = [_("The file is too large: at most %(mb)d MB each.", mb=limit // (1024 * 1024))]
        status = 413
    else:
        added = submit_form(form, add)
        if added is not NOT_SUBMITTED:
            flash(_("The file was added."), "success")
            return redirect(back, 303)
        status = status_for(form)
    return render("attachments/new.html", community=community, form=form, target_key=target_key,
                  target_id=target_id, back=back, limit_mb=limit // (1024 * 1024),
                  per_thing=current_app.config["ATTACHMENTS_PER_THING"],
                  existing=services.attachments_of(target_key, target_id), action_form=ActionForm(formdata=None),
                  status_code=status)


@bp.route("/attachments/<int:attachment_id>")
def show(slug: str, attachment_id: int):
    """A picture at full size on its own page (tap a thumbnail on a phone, then pinch to zoom)."""
    community = get_community(slug)
    served = services.file_for(viewer=_viewer(), community=community, attachment_id=attachment_id, variant="display")
    attachment = served.attachment
    if not attachment.is_image:
        return redirect(url_for("attachments.file", slug=slug, attachment_id=attachment.id, variant="display"))
    thing = services.load_target(community=community, target_key=attachment.target, target_id=attachment.target_id,
                                 viewer=_viewer())
    return render("attachments/show.html", community=community, attachment=attachment,
                  back=services.target(attachment.target).url(community, thing))


@bp.route("/attachments/<int:attachment_id>/remove", methods=["POST"])
@login_required
def remove(slug: str, attachment_id: int):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    removed = services.remove_attachment(actor=current_user, community=community, attachment_id=attachment_id)
    flash(_("The file was removed."), "success")
    thing = services.load_target(community=community, target_key=removed.target, target_id=removed.target_id,
                                 viewer=current_user)
    return redirect(services.target(removed.target).url(community, thing), 303)


@bp.route("/attachments/<int:attachment_id>/<any(display,fallback,thumb,'thumb-fallback'):variant>")
def file(slug: str, attachment_id: int, variant: str):
    community = get_community(slug)
    served = services.file_for(viewer=_viewer(), community=community, attachment_id=attachment_id, variant=variant)
    attachment = served.attachment
    storage = storage_for(current_app)
    stem = attachment.name.rsplit(".", 1)[0]
    name = f"{stem}.{EXTENSIONS.get(served.mimetype, 'bin')}"
    prefix = current_app.config["ATTACHMENTS_ACCEL_PREFIX"]
    if prefix:
        # nginx sends the file from its internal location once the app has said yes.
        response = Response(status=200, mimetype=served.mimetype)
        response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + storage.relative(served.sha256)
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
        response.set_etag(served.sha256)
    else:
        response = send_file(storage.path(served.sha256), mimetype=served.mimetype, download_name=name,
                             as_attachment=False, etag=served.sha256, conditional=True, max_age=86400)
    # The file never changes under this address, but who may read it can: private caches only.
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Content-Security-Policy"] = FILE_CSP[attachment.kind]
    response.vary.add("Cookie")
    return response

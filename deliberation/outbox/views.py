"""Staff see what the app sent to whom and whether it arrived (a failed message can be sent
again); each person chooses what reaches them by email and text message."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..errors import DomainError
from ..forms import flash_refusals
from ..rendering import render
from . import services
from .labels import CHANNEL_LABELS, KIND_LABELS, MODE_LABELS, STATUS_LABELS
from .masking import mask_contact
from .models import Channel, MessageStatus, Mode

bp = Blueprint("outbox", __name__)


@bp.app_context_processor
def outbox_helpers():
    return {"MessageStatus": MessageStatus}


@bp.route("/c/<slug>/outbox")
@login_required
def community_outbox(slug: str):
    community = get_community(slug)
    status = request.args.get("status") or None
    if status not in {s.value for s in MessageStatus}:
        status = None
    messages = services.community_messages(actor=current_user, community=community, status=status)
    return render(
        "outbox/community.html", "messages", community=community, messages=messages, status=status,
        attempts=services.attempts_of([m.id for m in messages]), status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS, statuses=list(MessageStatus), mask=mask_contact,
        describe=services.message_text, action_form=ActionForm(), failed=MessageStatus.FAILED,
    )


@bp.route("/c/<slug>/outbox/<int:message_id>/retry", methods=["POST"])
@login_required
def retry(slug: str, message_id: int):
    community = get_community(slug)
    if ActionForm().validate_on_submit():
        with flash_refusals():
            services.retry_message(actor=current_user, community=community, message_id=message_id)
    return redirect(url_for("outbox.community_outbox", slug=community.slug), 303)


@bp.route("/account/messages", methods=["GET", "POST"])
@login_required
def preferences():
    """Each person chooses, per kind of message and channel: at once, daily digest, or never."""
    form = ActionForm()
    current = services.delivery_choices(current_user)
    if request.method == "POST" and form.validate_on_submit():
        choices = {}
        for name, value in request.form.items():
            if name.startswith("mode:"):
                _prefix, kind, channel = (name.split(":") + ["", ""])[:3]
                choices[(kind, channel)] = value
        typed = {"modes": {**current["modes"], **choices}, "quiet_enabled": request.form.get("quiet_enabled") == "on",
                 "quiet_starts": request.form.get("quiet_starts", ""), "quiet_ends": request.form.get("quiet_ends", "")}
        try:
            services.set_delivery_choices(actor=current_user, choices=choices, quiet_enabled=typed["quiet_enabled"],
                                          quiet_starts=typed["quiet_starts"], quiet_ends=typed["quiet_ends"])
        except DomainError as err:
            return _preferences_page(form, typed, error=err, status_code=400)
        flash(_("Your choices are saved."), "success")
        return redirect(url_for("outbox.preferences"), 303)
    return _preferences_page(form, current)


def _preferences_page(form, values: dict, *, error: DomainError | None = None, status_code: int = 200):
    reachable = [c for c in Channel if services.channel_enabled(c) and services.address_of(current_user, c)]
    return render(
        "outbox/preferences.html", form=form, values=values, error=error, channels=reachable,
        kind_labels=KIND_LABELS, mode_labels=MODE_LABELS, channel_labels=CHANNEL_LABELS, modes=list(Mode),
        email_off=not services.channel_enabled(Channel.EMAIL), status_code=status_code,
    )

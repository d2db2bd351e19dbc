"""Staff see what the app sent to whom and whether it arrived; a failed message can be sent
again."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..forms import flash_refusals
from ..rendering import render
from . import services
from .labels import CHANNEL_LABELS, STATUS_LABELS
from .masking import mask_contact
from .models import MessageStatus

bp = Blueprint("outbox", __name__)


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

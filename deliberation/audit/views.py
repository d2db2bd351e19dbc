"""The audit log page for community admins, with filters."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from flask import Blueprint, Response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import User
from ..communities.services import get_community
from ..extensions import db
from ..rendering import render
from .models import AuditEntry
from .sentences import sentence
from .services import AuditFilter, audit_query

bp = Blueprint("audit", __name__, url_prefix="/c/<slug>/audit")

AUDIT_LABELS = {
    "membership.verified": _l("Verified a membership"),
    "membership.rejected": _l("Did not accept a membership"),
    "units.imported": _l("Imported units"),
    "owner.linked": _l("Linked an owner to a unit"),
    "owner.unlinked": _l("Removed an owner from a unit"),
    "role.granted": _l("Granted a role"),
    "role.revoked": _l("Took back a role"),
    "account.managed_created": _l("Registered a resident without a phone"),
    "community.threshold_set": _l("Changed the supports needed"),
    "comment.hidden": _l("Hid a comment"),
    "comment.restored": _l("Restored a comment"),
    # Acts staff entered for a resident without a phone (the subject is the resident).
    "item.drafted_for": _l("Wrote an item's draft for a resident"),
    "item.submitted_for": _l("Submitted an item for a resident"),
    "item.supported_for": _l("Supported an item for a resident"),
    "comment.posted_for": _l("Posted a comment for a resident"),
    "meeting.rsvp_for": _l("Answered a meeting invitation for a resident"),
    "meeting.checked_in": _l("Checked someone in at a meeting"),
    "proxy.granted": _l("Recorded a proxy"),
    "vote.paper_entered": _l("Entered a paper ballot"),
    "account.claim_started": _l("Gave a resident a code to take over the account"),
    "account.claim_requested": _l("Asked to take over the account"),
    "account.claimed": _l("Confirmed that a resident took over the account"),
    "account.claim_cancelled": _l("Cancelled taking over an account"),
}
DETAIL_LABELS = {
    "unit": _l("unit"),
    "reason": _l("reason"),
    "role": _l("role"),
    "count": _l("count"),
    "threshold": _l("supports needed"),
    "comment": _l("comment"),
}


@bp.app_context_processor
def audit_helpers():
    return {"audit_labels": AUDIT_LABELS, "audit_detail_labels": DETAIL_LABELS, "audit_sentence": sentence}


def _int(name: str) -> int | None:
    try:
        return int(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


def _filters() -> AuditFilter:
    return AuditFilter(
        actor_id=_int("actor"),
        subject_id=_int("subject"),
        action=request.args.get("action") or None,
        since=_date("since"),
        until=_date("until"),
    )


@bp.route("/export.csv")
@login_required
def export_csv(slug: str):
    """The filtered log with the raw action keys and details, for keeping or checking elsewhere."""
    community = get_community(slug)
    query = audit_query(actor=current_user, community=community, filters=_filters())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time_utc", "actor_id", "actor", "action", "subject_id", "subject", "details"])
    for e in db.session.scalars(query):
        writer.writerow([e.id, e.created_at.isoformat(), e.actor_id, e.actor.display_name, e.action, e.subject_id or "",
                         e.subject.display_name if e.subject else "", json.dumps(e.details, ensure_ascii=False)])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # the BOM lets spreadsheets read Chinese
                    headers={"Content-Disposition": f"attachment; filename=audit-{community.slug}.csv"})


@bp.route("/")
@login_required
def log(slug: str):
    community = get_community(slug)
    filters = _filters()
    query = audit_query(actor=current_user, community=community, filters=filters)
    try:
        page_no = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page_no = 1
    page = db.paginate(query, page=page_no, per_page=50, error_out=False)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.community_id == community.id).distinct().order_by(AuditEntry.action)
    ).all()
    return render(
        "audit/log.html",
        "audit_rows",
        community=community,
        page=page,
        filters=filters,
        actions=actions,
        people=people_in_log(community),
    )


def people_in_log(community) -> list[User]:
    ids = select(AuditEntry.actor_id).where(AuditEntry.community_id == community.id).union(
        select(AuditEntry.subject_id).where(AuditEntry.community_id == community.id)
    )
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name)))

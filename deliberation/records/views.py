"""The public archive of resolutions: browse, read, print (with a QR code), check the chain,
download everything; staff add corrections and implementation updates; anyone signed in
follows a resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..agenda.models import Category
from ..communities.permissions import can, require
from ..communities.services import get_community
from ..extensions import db
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import qr_svg, render
from . import labels, services
from .forms import CorrectionForm, ProgressForm
from .models import Outcome, RecordKind

bp = Blueprint("records", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def records_helpers():
    return {"record_outcome_labels": labels.OUTCOME_LABELS, "progress_labels": labels.PROGRESS_LABELS,
            "record_kind_labels": labels.KIND_LABELS, "resolution_of": services.resolution_of}


def _viewer():
    return current_user if current_user.is_authenticated else None


@dataclass
class RecordedOption:
    key: str
    label: str


@dataclass
class RecordedMeasure:
    """The measure as the record states it (what the voting templates read), so a record page
    shows what was recorded, not what the database says today."""

    kind: str
    options: list[RecordedOption]
    preset: str = "custom"
    electorate: str = "residents"
    weighting: str = "person"
    quorum_headcount: str = "0"
    quorum_area: str = "0"
    threshold: str = "majority"
    abstentions_count: bool = False
    secret: bool = True
    results_live: bool = False
    method: str = "ballots"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, body: dict) -> RecordedMeasure:
        rules = body.get("rules") or {}

        def moment(value):
            return datetime.fromisoformat(value) if value else None

        return cls(kind=body.get("measure_kind", "yes_no"),
                   options=[RecordedOption(o["key"], o["label"]) for o in body.get("options", [])],
                   method=body.get("method", "ballots"), opens_at=moment(body.get("opened_at")),
                   closes_at=moment(body.get("closes_at")),
                   **{k: rules[k] for k in ("preset", "electorate", "weighting", "quorum_headcount", "quorum_area",
                                            "threshold", "abstentions_count", "secret", "results_live")
                      if k in rules})


def _int_arg(name: str) -> int | None:
    return request.args.get(name, type=int)


@bp.route("/records")
def archive(slug: str):
    community = get_community(slug)
    filters = services.ArchiveFilter(
        year=_int_arg("year"), category_id=_int_arg("category"),
        outcome=request.args.get("outcome") or None, progress=request.args.get("progress") or None)
    rows = services.archive(community, filters)
    categories = list(db.session.scalars(select(Category).where(Category.community_id == community.id)
                                         .order_by(Category.position, Category.id)))
    count, head = services.head(community)
    return render("records/archive.html", "results", community=community, rows=rows, filters=filters,
                  contents={r.id: services.content_of(r) for r in rows},
                  states=services.implementation_states(rows), years=services.years_of(community),
                  categories=categories, count=count, head=head,
                  outcomes=[o.value for o in Outcome if o != Outcome.NONE])


def _record_context(community, seq: int) -> dict:
    resolution = services.resolution_at(community, seq)
    content = services.content_of(resolution)
    body = content["body"]
    count, head = services.head(community)
    return {
        "community": community, "resolution": resolution, "content": content, "body": body,
        "measure": RecordedMeasure.of(body) if resolution.kind == RecordKind.RESOLUTION else None,
        "result": body.get("result"), "corrections": services.corrections_of(resolution),
        "state": services.implementation_states([resolution]).get(resolution.id),
        "updates": services.updates_of(resolution), "count": count, "head": head,
        "permalink": url_for("records.show", slug=community.slug, seq=resolution.seq, _external=True),
    }


@bp.route("/records/<int:seq>")
def show(slug: str, seq: int):
    community = get_community(slug)
    context = _record_context(community, seq)
    resolution = context["resolution"]
    form = None
    if can(_viewer(), community, "records.progress"):
        # Start from where things stand, so a report changes only what moved.
        latest = context["state"].latest if context["state"] else None
        form = ProgressForm(formdata=None, status=latest.status if latest else "in_progress",
                            percent=latest.percent if latest else 0)
    return render("records/show.html", **context, form=form,
                  following=services.is_following(resolution, _viewer()),
                  may_correct=can(_viewer(), community, "records.correct"))


@bp.route("/records/<int:seq>/print")
def printable(slug: str, seq: int):
    community = get_community(slug)
    context = _record_context(community, seq)
    return render("records/print.html", **context, qr=qr_svg(context["permalink"]))


@bp.route("/records/<int:seq>/progress", methods=["POST"])
@login_required
def progress(slug: str, seq: int):
    community = get_community(slug)
    form = ProgressForm()
    posted = submit_form(form, lambda: services.post_update(
        actor=current_user, community=community, seq=seq, status=form.status.data, percent=form.percent.data,
        note=form.note.data, on_date=form.on_date.data))
    if posted is not NOT_SUBMITTED:
        flash(_("The progress report is published and followers are told."), "success")
        return redirect(url_for("records.show", slug=slug, seq=seq, _anchor="progress"), 303)
    context = _record_context(community, seq)
    return render("records/show.html", "progress", **context, form=form, status_code=status_for(form),
                  following=services.is_following(context["resolution"], current_user),
                  may_correct=can(current_user, community, "records.correct"))


@bp.route("/records/<int:seq>/follow", methods=["POST"])
@login_required
def follow(slug: str, seq: int):
    community = get_community(slug)
    on = request.form.get("on") == "1"
    services.follow(actor=current_user, community=community, seq=seq, on=on)
    flash(_("You will be told about progress on this resolution.") if on
          else _("You no longer follow this resolution."), "success")
    return redirect(url_for("records.show", slug=slug, seq=seq), 303)


@bp.route("/records/<int:seq>/correct", methods=["GET", "POST"])
@login_required
def correct(slug: str, seq: int):
    community = get_community(slug)
    require(current_user, community, "records.correct")
    context = _record_context(community, seq)
    form = CorrectionForm()
    made = submit_form(form, lambda: services.write_correction(
        actor=current_user, community=community, seq=seq, text=form.text.data))
    if made is not NOT_SUBMITTED:
        flash(_("The correction is added to the record as No. %(n)s.", n=made.number), "success")
        return redirect(url_for("records.show", slug=slug, seq=made.seq), 303)
    return render("records/correct.html", **context, form=form, status_code=status_for(form))


@bp.route("/records/verify")
def verify(slug: str):
    community = get_community(slug)
    result = services.verify(community)
    return render("records/verify.html", community=community, verification=result,
                  reasons=labels.BREAK_REASONS, status_code=200)


@bp.route("/records.csv")
def export_csv(slug: str):
    community = get_community(slug)
    return Response(
        "\ufeff" + services.export_csv(community),  # the BOM lets spreadsheet programs read the Chinese
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=records-{community.slug}.csv"})


@bp.route("/records.json")
def export_json(slug: str):
    community = get_community(slug)
    count, head = services.head(community)
    return jsonify({
        "community": community.name, "count": count, "head": head,
        "how_to_check": "hash = sha256(prev_hash + canonical), hex; the first prev_hash is 64 zeros",
        "records": services.export_rows(community),
    })


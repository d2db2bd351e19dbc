"""Voting pages: defining measures, the ballot with its confirmation step and receipt, proxies,
paper ballots and shows of hands, results and the public board."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import segno
from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from ..agenda.services import get_item
from ..communities.permissions import can, require, roles_of
from ..communities.services import get_community, verified_members
from ..errors import DomainError, ValidationError
from ..extensions import db, reading
from ..forms import NOT_SUBMITTED, flash_refusals, show_error, status_for, submit_form
from ..realtime import last_event_id
from ..rendering import qr_svg, render
from ..timeutil import local_to_utc, utc_to_local
from ..urls import link
from . import labels, services, sheets
from .forms import HandsForm, MeasureForm, PaperProxyForm, ProxyForm
from .models import Eligibility, MeasureKind, MeasureStatus, Participation

bp = Blueprint("voting", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def voting_helpers():
    return {
        "measures_of": services.measures_of, "MeasureStatus": MeasureStatus,
        "measure_turnout": services.turnout, "secret_step": services.SECRET_STEP,
        "measure_result": services.current_result,
        "results_visible": services.results_visible,
        "is_accepting": services.is_accepting,
        "kind_labels": labels.KIND_LABELS,
        "electorate_labels": labels.ELECTORATE_LABELS,
        "weighting_labels": labels.WEIGHTING_LABELS,
        "threshold_labels": labels.THRESHOLD_LABELS,
        "preset_labels": labels.PRESET_LABELS,
        "measure_status_labels": labels.STATUS_LABELS,
        "choice_labels": labels.CHOICE_LABELS,
        "outcome_labels": labels.OUTCOME_LABELS,
        "channel_labels": labels.CHANNEL_LABELS,
        "percent_of": _percent_of,
        "m2": square_metres,
        "scrutineer_labels": labels.SCRUTINEER_LABELS,
    }


def square_metres(value) -> str:
    """A floor area as people write it: 11,418 or 8,702.5 (no trailing zeros)."""
    area = Decimal(str(value or 0)).normalize()
    return f"{area:,f}" if area == area.to_integral_value() else f"{area:,}"


def _percent_of(part, whole) -> float:
    """For bars: a share in percent, 0 when there is nothing to share."""
    whole = Decimal(str(whole or 0))
    return float(round(Decimal(str(part or 0)) * 100 / whole, 1)) if whole else 0.0


def _viewer():
    return current_user if current_user.is_authenticated else None


def _draft_from(form: MeasureForm) -> services.MeasureDraft:
    def utc(moment: datetime | None):
        return local_to_utc(moment) if moment else None

    return services.MeasureDraft(
        kind=form.kind.data, question=form.question.data or "", options=(form.options.data or "").splitlines(),
        text=form.text.data or "", preset=form.preset.data, electorate=form.electorate.data,
        weighting=form.weighting.data, quorum_headcount=form.quorum_headcount.data,
        quorum_area=form.quorum_area.data, threshold=form.threshold.data,
        abstentions_count=form.abstentions_count.data, results_live=form.results_live.data,
        secret={"secret": True, "open": False}.get(form.ballot.data),  # None: the preset's default
        opens_at=utc(form.opens_at.data), closes_at=utc(form.closes_at.data),
    )


@bp.route("/items/<int:item_id>/measures/new", methods=["GET", "POST"])
@login_required
def new(slug: str, item_id: int):
    community = get_community(slug)
    require(current_user, community, "measures.manage")
    item = get_item(community=community, item_id=item_id, viewer=current_user)
    form = MeasureForm()
    created = submit_form(form, lambda: services.create_measure(
        actor=current_user, community=community, item_id=item.id, draft=_draft_from(form)))
    if created is not NOT_SUBMITTED:
        flash(_("The measure is saved. Check it, then open the vote when the item is ready."), "success")
        return redirect(url_for("voting.show", slug=slug, measure_id=created.id), 303)
    return render("voting/form.html", community=community, item=item, form=form, measure=None,
                  status_code=status_for(form))


@bp.route("/measures/<int:measure_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, measure_id: int):
    community = get_community(slug)
    require(current_user, community, "measures.manage")
    measure = services.measure_in(community, measure_id, current_user)
    form = MeasureForm(obj=None if request.method == "POST" else measure)
    if request.method == "GET":
        form.options.data = "\n".join(o.label for o in measure.options)
        form.ballot.data = "secret" if measure.secret else "open"
        form.quorum_headcount.data = Decimal(measure.quorum_headcount) * 100 or None
        form.quorum_area.data = Decimal(measure.quorum_area) * 100 or None
        form.opens_at.data = utc_to_local(measure.opens_at) if measure.opens_at else None
        form.closes_at.data = utc_to_local(measure.closes_at) if measure.closes_at else None
    saved = submit_form(form, lambda: services.update_measure(
        actor=current_user, community=community, measure_id=measure.id, draft=_draft_from(form)))
    if saved is not NOT_SUBMITTED:
        flash(_("The measure is saved."), "success")
        return redirect(url_for("voting.show", slug=slug, measure_id=measure.id), 303)
    return render("voting/form.html", community=community, item=measure.item, form=form, measure=measure,
                  status_code=status_for(form))


def _step(slug: str, measure_id: int, action, success: str):
    """A one-button step (open, close, delete, revoke): do it, say how it went, go back."""
    community = get_community(slug)
    with flash_refusals() as attempt:
        action(community)
    if not attempt.refused:
        flash(success, "success")
    return redirect(url_for("voting.show", slug=slug, measure_id=measure_id), 303)


@bp.route("/measures/<int:measure_id>/open", methods=["POST"])
@login_required
def open_vote(slug: str, measure_id: int):
    return _step(slug, measure_id, lambda c: services.open_measure(actor=current_user, community=c,
                                                                   measure_id=measure_id),
                 _("The vote is open. Everyone on the roll has been notified."))


@bp.route("/measures/<int:measure_id>/close", methods=["POST"])
@login_required
def close_vote(slug: str, measure_id: int):
    if request.form.get("confirmed") != "1":
        # Closing early cannot be undone: without the dialog's confirmation, ask on a page.
        community = get_community(slug)
        require(current_user, community, "votes.run")
        measure = services.measure_in(community, measure_id, current_user)
        if measure.status == MeasureStatus.OPEN:
            return render("voting/confirm_close.html", community=community, measure=measure, item=measure.item,
                          turnout=services.exact_turnout(measure))
    return _step(slug, measure_id, lambda c: services.close_measure(actor=current_user, community=c,
                                                                    measure_id=measure_id),
                 _("The vote is closed and its result is recorded."))


@bp.route("/measures/<int:measure_id>/delete", methods=["POST"])
@login_required
def delete(slug: str, measure_id: int):
    community = get_community(slug)
    measure = services.measure_in(community, measure_id, current_user)
    item_id = measure.item_id
    try:
        services.delete_measure(actor=current_user, community=community, measure_id=measure_id)
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        flash(str(err.message), "error")
        return redirect(url_for("voting.show", slug=slug, measure_id=measure_id), 303)
    flash(_("The measure was removed."), "success")
    return redirect(url_for("agenda.show", slug=slug, item_id=item_id, _anchor="measures"), 303)


# ---------------------------------------------------------------- the ballot


def ballot_from(measure, values) -> dict:
    """A ballot's content from posted (or query) fields; the service checks it."""
    if measure.kind == MeasureKind.APPROVAL:
        return {"choices": values.getlist("choices")}
    if measure.kind == MeasureKind.RANKED:
        ranks = {}
        for option in measure.options:
            raw = (values.get(f"rank_{option.key}") or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or not 1 <= int(raw) <= len(measure.options):
                raise ValidationError(_("Ranks are numbers from 1 to %(n)d.", n=len(measure.options)),
                                      field="ranking")
            ranks[option.key] = int(raw)
        if len(set(ranks.values())) != len(ranks):
            raise ValidationError(_("Please give each option a different rank, or leave it unranked."),
                                  field="ranking")
        return {"ranking": sorted(ranks, key=ranks.get)}
    return {"choice": values.get("choice")}


def _voter_context(community, measure, viewer) -> dict:
    """What this viewer may do on this measure (never broadcast)."""
    if viewer is None:
        return {"entry": None, "absence": None, "voted": False, "my_proxy": None, "held": [], "place_vote": None,
                "is_scrutineer": False}
    held = services.proxies_held(measure, viewer.id) if measure.status == MeasureStatus.OPEN else []
    entry = services.roll_entry(measure, viewer.id)
    return {
        "entry": entry,
        "absence": services.roll_absence(measure, viewer.id)
        if entry is None and measure.status == MeasureStatus.OPEN else None,
        "voted": services.has_voted(measure, viewer.id),
        "my_proxy": services.active_proxy_from(measure, viewer.id),
        "held": [(p, services.has_voted(measure, p.grantor_id)) for p in held],
        "place_vote": services.place_vote_of(measure, viewer.id) if services.on_register(measure) else None,
        "is_scrutineer": any(s.user_id == viewer.id for s in sheets.scrutineers_of(measure)),
    }


def _page(community, measure, *, status_code: int = 200, error: str | None = None, values=None,
          for_voter=None):
    viewer = _viewer()
    proxy_form = ProxyForm()
    proxy_form.delegate_id.choices = [SelectChoice(u.id, u.display_name) for u in services.proxy_delegates(community)
                                      if viewer is None or u.id != viewer.id]
    return render(
        "voting/show.html", community=community, item=measure.item, measure=measure, viewer=viewer,
        viewer_roles=roles_of(viewer, community), error=error, values=values or request.args,
        for_voter=for_voter, proxy_form=proxy_form, empty_values=MultiDict(), turnout=services.turnout(measure),
        # Who has not voted yet, for the chair's "close now?" question (a count, never a choice).
        close_turnout=services.exact_turnout(measure) if measure.status == MeasureStatus.OPEN else None,
        result=services.current_result(measure), last_event_id=last_event_id(),
        status_code=status_code, **_voter_context(community, measure, viewer),
    )


@bp.route("/measures/<int:measure_id>")
def show(slug: str, measure_id: int):
    community = get_community(slug)
    measure = services.close_if_due(services.measure_in(community, measure_id, _viewer()))
    return _page(community, measure)


@bp.route("/measures/<int:measure_id>/vote", methods=["POST"])
@login_required
def vote(slug: str, measure_id: int):
    """Step 1 shows the ballot back for confirmation; step 2 (``confirm``) casts it."""
    community = get_community(slug)
    measure = services.measure_in(community, measure_id, current_user)
    for_voter = request.form.get("for_voter", type=int)
    grantor = None
    if for_voter and for_voter != current_user.id:
        grantor = next((p.grantor for p in services.proxies_held(measure, current_user.id)
                        if p.grantor_id == for_voter), None)
    voter_id = for_voter or current_user.id
    try:
        content = services.check_ballot(measure, ballot_from(measure, request.form))
        if request.form.get("confirm") != "1":
            planned = services.plan_receipt()
            return render("voting/confirm.html", community=community, measure=measure, content=content,
                          for_voter=for_voter, grantor=grantor, form_values=request.form, receipt=planned,
                          receipt_token=_receipt_signer().dumps([measure.id, voter_id, planned]))
        planned = _planned_receipt(request.form.get("receipt_token"), measure.id, voter_id)
        try:
            receipt = services.cast_ballot(actor=current_user, community=community, measure_id=measure.id,
                                           content=content, for_voter_id=for_voter, receipt=planned)
        except (DomainError, OperationalError):
            # The commit may have happened before the failure (a re-read after it timed out), or
            # this is the voter's retry of a ballot already stored: then it was counted, say so.
            with reading():
                if planned and services.receipt_counted(measure, planned):
                    return render("voting/receipt.html", community=community, measure=measure,
                                  receipt=planned, content=content, grantor=grantor, already_counted=True)
            raise
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        return _page(community, measure, status_code=err.status_code, error=str(err.message),
                     values=request.form, for_voter=for_voter)
    with reading():  # the ballot is stored: showing it must not wait for the write lock
        return render("voting/receipt.html", community=community, measure=measure, receipt=receipt,
                      content=content, grantor=grantor)


def _receipt_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="ballot-receipt")


def _planned_receipt(token: str | None, measure_id: int, voter_id: int) -> str | None:
    """The receipt shown on this voter's confirmation step for this measure; signed, so a form
    cannot choose someone else's code. A missing or foreign token gets a fresh code instead."""
    try:
        signed_measure, signed_voter, receipt = _receipt_signer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    return receipt if (signed_measure, signed_voter) == (measure_id, voter_id) else None


@bp.route("/measures/<int:measure_id>/proxy", methods=["POST"])
@login_required
def grant_proxy(slug: str, measure_id: int):
    form = ProxyForm()
    if not form.validate_on_submit():
        flash(_("Please choose a member."), "error")
        return redirect(url_for("voting.show", slug=slug, measure_id=measure_id, _anchor="proxy"), 303)
    return _step(slug, measure_id, lambda c: services.grant_proxy(
        actor=current_user, community=c, measure_id=measure_id, delegate_id=form.delegate_id.data),
        _("Your proxy is recorded. You can take it back until they have voted."))


@bp.route("/proxies/<int:proxy_id>/revoke", methods=["POST"])
@login_required
def revoke_proxy(slug: str, proxy_id: int):
    community = get_community(slug)
    try:
        proxy = services.revoke_proxy(actor=current_user, community=community, proxy_id=proxy_id)
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        flash(str(err.message), "error")
        return redirect(request.referrer or url_for("communities.show", slug=slug), 303)
    flash(_("The proxy is revoked."), "success")
    return redirect(url_for("voting.show", slug=slug, measure_id=proxy.measure_id), 303)


# ---------------------------------------------------------------- staff and chair


def _roll_members(measure, *, not_voted: bool):
    query = db.select(Eligibility).where(Eligibility.measure_id == measure.id)
    if not_voted and services.on_register(measure):  # a place votes once, whoever cast it
        query = query.where(Eligibility.register_voter_id.in_(
            [p.id for p in services.places_waiting(measure)]))
    elif not_voted:
        query = query.where(~Eligibility.user_id.in_(
            db.select(Participation.voter_id).where(Participation.measure_id == measure.id)))
    entries = list(db.session.scalars(query))
    return sorted(entries, key=lambda e: e.user.display_name)


@bp.route("/measures/<int:measure_id>/paper", methods=["GET", "POST"])
@login_required
def paper(slug: str, measure_id: int):
    """Staff enter a paper ballot (with a confirmation step) or a paper proxy for a member."""
    community = get_community(slug)
    require(current_user, community, "votes.paper")
    measure = services.measure_in(community, measure_id, current_user)
    waiting = _roll_members(measure, not_voted=True)
    proxy_form = PaperProxyForm(prefix="proxy")
    proxy_form.grantor_id.choices = [SelectChoice(e.user_id, e.user.display_name) for e in waiting]
    chosen = request.args.get("voter_id", type=int)  # from a managed resident's page: her name preselected
    if request.method == "GET" and chosen:
        proxy_form.grantor_id.data = chosen
    proxy_form.delegate_id.choices = [SelectChoice(u.id, u.display_name) for u in services.proxy_delegates(community)]
    places = services.places_waiting(measure) if services.on_register(measure) else []
    context = {"community": community, "measure": measure, "item": measure.item, "waiting": waiting,
               "proxy_form": proxy_form, "values": request.form if request.method == "POST" else request.args,
               "places": places, "on_register": services.on_register(measure)}
    if request.method == "POST" and request.form.get("what") == "proxy":
        granted = submit_form(proxy_form, lambda: services.grant_proxy(
            actor=current_user, community=community, measure_id=measure.id,
            delegate_id=proxy_form.delegate_id.data, grantor_id=proxy_form.grantor_id.data))
        if granted is not NOT_SUBMITTED:
            flash(_("The paper proxy is recorded."), "success")
            return redirect(url_for("voting.paper", slug=slug, measure_id=measure.id), 303)
        return render("voting/paper.html", status_code=status_for(proxy_form), **context)
    if request.method == "POST" and services.on_register(measure):
        place_id = request.form.get("place_id", type=int)
        place = next((p for p in places if p.id == place_id), None)
        try:
            if place is None:
                raise ValidationError(_("Please choose the units whose paper ballot sheet this is."),
                                      field="place_id")
            content = services.check_ballot(measure, ballot_from(measure, request.form))
            if request.form.get("confirm") != "1":
                return render("voting/paper_confirm.html", content=content, place=place, **context)
            receipt = services.enter_place_ballot(actor=current_user, community=community, measure_id=measure.id,
                                                  register_voter_id=place.id, content=content)
        except DomainError as err:
            if err.status_code in (403, 404):
                raise
            return render("voting/paper.html", error=str(err.message), status_code=err.status_code, **context)
        return render("voting/receipt.html", community=community, measure=measure, receipt=receipt,
                      content=content, paper_for_units=place.units)
    if request.method == "POST":
        voter_id = request.form.get("voter_id", type=int)
        voter = next((e.user for e in waiting if e.user_id == voter_id), None)
        try:
            if voter is None:
                raise ValidationError(_("Please choose the member whose paper ballot this is."), field="voter_id")
            content = services.check_ballot(measure, ballot_from(measure, request.form))
            if request.form.get("confirm") != "1":
                return render("voting/paper_confirm.html", content=content, voter=voter, **context)
            receipt = services.enter_paper_ballot(actor=current_user, community=community, measure_id=measure.id,
                                                  voter_id=voter.id, content=content)
        except DomainError as err:
            if err.status_code in (403, 404):
                raise
            return render("voting/paper.html", error=str(err.message), status_code=err.status_code, **context)
        return render("voting/receipt.html", community=community, measure=measure, receipt=receipt,
                      content=content, paper_for=voter)
    return render("voting/paper.html", **context)


@bp.route("/measures/<int:measure_id>/paper/slip", methods=["POST"])
@login_required
def paper_slip(slug: str, measure_id: int):
    """The printable receipt slip staff hand to the member whose paper ballot they just entered.
    POST, so the receipt never appears in an address (or a server log) next to the member's id."""
    community = get_community(slug)
    slip = services.paper_slip(actor=current_user, community=community, measure_id=measure_id,
                               voter_id=request.form.get("voter_id", type=int) or 0,
                               receipt=request.form.get("receipt", ""))
    board_url = url_for("voting.board", slug=slug, measure_id=measure_id, _external=True)
    return render("voting/slip.html", community=community, slip=slip, measure=slip.measure, board_url=board_url,
                  qr=qr_svg(board_url))


@bp.route("/measures/<int:measure_id>/hands", methods=["GET", "POST"])
@login_required
def hands(slug: str, measure_id: int):
    community = get_community(slug)
    require(current_user, community, "votes.run")
    measure = services.measure_in(community, measure_id, current_user)
    form = HandsForm()
    keys = (["yes", "no", "abstain"] if measure.kind in (MeasureKind.YES_NO, MeasureKind.CONVENTION)
            else [o.key for o in measure.options])
    counts = {k: request.form.get(f"count_{k}", "") for k in keys}
    if form.validate_on_submit():
        try:
            services.record_show_of_hands(actor=current_user, community=community, measure_id=measure.id,
                                          counts=counts, present=form.present.data, note=form.note.data)
        except DomainError as err:
            if err.status_code in (403, 404):
                raise
            show_error(form, err)
        else:
            flash(_("The show of hands is recorded and the measure is decided."), "success")
            return redirect(url_for("voting.results", slug=slug, measure_id=measure.id), 303)
    return render("voting/hands.html", community=community, measure=measure, item=measure.item, form=form,
                  keys=keys, counts=counts, status_code=status_for(form))


# ---------------------------------------------------------------- results and the public board


@bp.route("/measures/<int:measure_id>/results")
def results(slug: str, measure_id: int):
    community = get_community(slug)
    measure = services.close_if_due(services.measure_in(community, measure_id, _viewer()))
    check = services.checked_result(measure) if measure.status == MeasureStatus.CLOSED else None
    return render("voting/results.html", community=community, measure=measure, item=measure.item,
                  turnout=services.turnout(measure), result=check.result if check else services.current_result(measure),
                  result_check=check,
                  roll_call=services.roll_call(measure) if measure.status == MeasureStatus.CLOSED else [],
                  register_roll_call=services.register_roll_call(measure)
                  if measure.status == MeasureStatus.CLOSED else [],
                  last_event_id=last_event_id())


@bp.route("/measures/<int:measure_id>/board")
def board(slug: str, measure_id: int):
    community = get_community(slug)
    measure = services.close_if_due(services.measure_in(community, measure_id, _viewer()))
    wanted = (request.args.get("receipt") or "").strip()
    lookup = services.find_receipt(measure, wanted) if wanted else None
    return render("voting/board.html", community=community, measure=measure, item=measure.item,
                  ballots=services.board(measure), wanted=wanted, lookup=lookup,
                  found=lookup.found if lookup else None,
                  result_check=services.checked_result(measure) if measure.status == MeasureStatus.CLOSED else None)


@bp.route("/measures/<int:measure_id>/board.json")
def board_json(slug: str, measure_id: int):
    """The board for anyone recounting: the rules, the roll's size and every ballot."""
    community = get_community(slug)
    measure = services.close_if_due(services.measure_in(community, measure_id, _viewer()))
    if measure.status != MeasureStatus.CLOSED:
        return jsonify({"error": _("The board is published when voting closes.")}), 409
    return jsonify(services.board_export(measure))


# ---------------------------------------------------------------- ballot sheets at scale (staff)


def _sheets_page(community, measure, *, status_code: int = 200, error: str | None = None, values=None):
    named = sheets.scrutineers_of(measure)
    mine = next((s for s in named if s.user_id == current_user.id), None)
    may_name = can(current_user, community, "votes.run") and measure.status != MeasureStatus.CLOSED
    members = [SelectChoice(u.id, u.display_name) for u in verified_members(community)] if may_name else []
    return render("voting/sheets.html", community=community, measure=measure, item=measure.item,
                  report=sheets.reconciliation(measure), turnout=services.turnout(measure), error=error,
                  values=values if values is not None else request.args, collection=sheets.COLLECTION,
                  sheet_status_labels=labels.SHEET_STATUS_LABELS, scrutineers=named, my_scrutiny=mine,
                  may_enter=can(current_user, community, "votes.paper"), may_name=may_name, members=members,
                  may_sign=mine is not None and mine.signed_at is None and measure.status == MeasureStatus.OPEN,
                  scrutineer_labels=labels.SCRUTINEER_LABELS, status_code=status_code)


def _require_desk(community, measure) -> None:
    """Staff work the sheets; the scrutineers named on the vote may read them and sign."""
    if not any(s.user_id == current_user.id for s in sheets.scrutineers_of(measure)):
        require(current_user, community, "votes.paper")


@bp.route("/measures/<int:measure_id>/sheets", methods=["GET", "POST"])
@login_required
def sheet_desk(slug: str, measure_id: int):
    """Staff: enter returned sheets by code (twice, two people), see what is out by building,
    the mismatches and whether the sheets entered reconcile with the sheets returned."""
    community = get_community(slug)
    measure = services.measure_in(community, measure_id, current_user)
    _require_desk(community, measure)
    if request.method == "POST":
        try:
            sheet = sheets.enter_sheet(actor=current_user, community=community, measure_id=measure.id,
                                       code=request.form.get("code", ""),
                                       content=ballot_from(measure, request.form))
        except DomainError as err:
            if err.status_code == 403:
                raise
            return _sheets_page(community, measure, status_code=err.status_code, error=str(err.message),
                                values=request.form)
        if sheet.status == "counted":
            flash(_("Sheet %(code)s (%(units)s) is counted.", code=sheet.code, units=sheet.place.units), "success")
        elif sheet.mismatch:
            flash(_("The two entries of sheet %(code)s differ. A third staff member reads it again.",
                    code=sheet.code), "error")
        else:
            flash(_("First entry of sheet %(code)s saved. Another staff member enters it again.", code=sheet.code),
                  "success")
        return redirect(url_for("voting.sheet_desk", slug=slug, measure_id=measure.id), 303)
    return _sheets_page(community, measure)


@bp.route("/measures/<int:measure_id>/sheets/collect", methods=["POST"])
@login_required
def collect_sheet(slug: str, measure_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        sheet = sheets.record_collection(actor=current_user, community=community, measure_id=measure_id,
                                         code=request.form.get("code", ""), status=request.form.get("status", ""))
    if not attempt.refused:
        flash(_("%(units)s: %(status)s.", units=sheet.place.units,
                status=labels.SHEET_STATUS_LABELS[sheet.status]), "success")
    return redirect(url_for("voting.sheet_desk", slug=slug, measure_id=measure_id, _anchor="out"), 303)


@bp.route("/measures/<int:measure_id>/sheets/issue", methods=["POST"])
@login_required
def issue_sheets(slug: str, measure_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        sheets.issue_sheets(actor=current_user, community=community, measure_id=measure_id)
    if attempt.refused:
        return redirect(url_for("voting.sheet_desk", slug=slug, measure_id=measure_id), 303)
    return redirect(url_for("voting.print_sheets", slug=slug, measure_id=measure_id), 303)


def _sheet_qr(community, measure, code: str) -> Markup:
    """The sheet's QR code: the desk's address with the code, so a staff member's phone camera
    opens the entry form with the code filled in."""
    target = link("voting.sheet_desk", slug=community.slug, measure_id=measure.id, code=code)
    svg = segno.make(target, error="m").svg_inline(scale=2, border=1, title=code, omitsize=True)
    return Markup(svg)  # noqa: S704 - generated by segno from an address we built, not user text


@bp.route("/measures/<int:measure_id>/sheets/print")
@login_required
def print_sheets(slug: str, measure_id: int):
    """A4, three sheets a page (print CSS only): unit, area, question, options, signature line,
    code as text and as QR."""
    community = get_community(slug)
    require(current_user, community, "votes.paper")
    measure = services.measure_in(community, measure_id, current_user)
    printable = [s for s in sheets.sheets_of(measure) if s.status != "counted"]
    return render("voting/sheets_print.html", community=community, measure=measure, sheets=printable,
                  qr={s.id: _sheet_qr(community, measure, s.code) for s in printable})


@bp.route("/measures/<int:measure_id>/scrutineers", methods=["POST"])
@login_required
def name_scrutineer(slug: str, measure_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        named = sheets.name_scrutineer(actor=current_user, community=community, measure_id=measure_id,
                                       user_id=request.form.get("user_id", type=int) or 0,
                                       role=request.form.get("role", ""))
    if not attempt.refused:
        flash(_("%(name)s is named %(role)s.", name=named.user.display_name,
                role=labels.SCRUTINEER_LABELS[named.role]), "success")
    return redirect(url_for("voting.sheet_desk", slug=slug, measure_id=measure_id, _anchor="scrutiny"), 303)


@bp.route("/measures/<int:measure_id>/scrutineers/sign", methods=["POST"])
@login_required
def sign_count(slug: str, measure_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        sheets.sign_count(actor=current_user, community=community, measure_id=measure_id)
    if not attempt.refused:
        flash(_("You signed off the count. Your name and signature go into the record when the vote closes."),
              "success")
    return redirect(url_for("voting.sheet_desk", slug=slug, measure_id=measure_id, _anchor="scrutiny"), 303)

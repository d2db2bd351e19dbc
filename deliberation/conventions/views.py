"""Convention pages: the drafting workspace (clauses with their comments, amendments and
reviews), editing, versions and their comparison, amendments, co-authors, the chair's vote
preparation, and the adopted convention's permanent and printable pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..agenda.services import get_item
from ..communities.permissions import can, require, roles_of
from ..communities.services import get_community
from ..errors import PermissionDenied
from ..extensions import db
from ..forms import NOT_SUBMITTED, flash_refusals, status_for, submit_form
from ..records.services import resolution_of
from ..records.views import qr_svg
from ..rendering import render
from ..timeutil import local_to_utc, utc_to_local, utcnow
from ..voting.models import Measure, MeasureStatus
from ..voting.rules import PRESETS
from . import document, labels, services
from .forms import AmendmentForm, CoauthorForm, EditForm, FinalVoteForm, NewConventionForm, VoteForm
from .models import AmendmentStatus, ConventionState

bp = Blueprint("conventions", __name__, url_prefix="/c/<slug>")


def _viewer():
    return current_user if current_user.is_authenticated else None


def _numbers_of_item(item_id: int) -> dict[str, int]:
    cache = g.setdefault("_clause_numbers", {})
    if item_id not in cache:
        convention = services.convention_of_item(item_id)
        cache[item_id] = document.numbers(services.current_clauses(convention)) if convention else {}
    return cache[item_id]


def _clause_url(community, item_id: int, key: str) -> str:
    convention = services.convention_of_item(item_id)
    if convention is None:
        return "#"
    return url_for("conventions.show", slug=community.slug, convention_id=convention.id, _anchor=f"clause-{key}")


@bp.app_context_processor
def convention_helpers():
    return {
        "clause_choices": services.clause_choices,
        "clause_number": lambda item_id, key: _numbers_of_item(item_id).get(key),
        "convention_clause_url": _clause_url,
        "convention_of_item": services.convention_of_item,
        "convention_state_labels": labels.STATE_LABELS,
        "zh_number": document.zh_number,
        "resolution_of_convention": lambda c: _resolution_of_measure_id(services.deciding_measure_id(c) or 0),
        "resolution_of_measure_id": _resolution_of_measure_id,
    }


def _input_value(moment: datetime) -> str:
    return utc_to_local(moment).strftime("%Y-%m-%dT%H:%M")


def _resolution_of_measure_id(measure_id: int):
    measure = db.session.get(Measure, measure_id)
    return resolution_of(measure) if measure else None


def _page(convention, **extra) -> dict:
    viewer = _viewer()
    community = convention.item.community
    under_vote = services.text_under_vote(convention)
    # During the final vote the page shows the text being voted on, not the draft before the
    # clause votes changed it.
    clauses = under_vote or services.current_clauses(convention)
    amendments = services.amendments_of(convention)
    votes = services.votes_of(convention)
    final_ready = services.final_vote_ready(convention)
    return {
        "community": community, "convention": convention, "item": convention.item, "viewer": viewer,
        "viewer_roles": roles_of(viewer, community),
        "clauses": document.numbered(clauses), "activity": services.clause_activity(convention),
        "under_vote": under_vote is not None,
        "amendments": amendments, "supported": services.supported_by(viewer, amendments),
        "coauthors": services.coauthors_of(convention),
        "is_author": services.is_author(viewer, convention),
        "may_edit": services.may_edit(viewer, convention), "may_amend": services.may_amend(viewer, convention),
        "may_run": can(viewer, community, "votes.run"),
        "may_unfreeze": services.may_unfreeze(viewer, convention),
        "may_revise": convention.state == ConventionState.ADOPTED and can(viewer, community, "items.propose"),
        "votes": votes, "final_ready": final_ready, "final_close": _input_value(
            final_ready.closes_at if final_ready and final_ready.closes_at and final_ready.closes_at > utcnow()
            else local_to_utc(_default_close())) if final_ready else "",
        "revision": services.revision_in_progress(convention),
        "lineage": services.lineage(convention),
        "numbers": document.numbers(clauses), "labels": labels, "zh_number": document.zh_number,
        **extra,
    }


@bp.route("/conventions")
def index(slug: str):
    community = get_community(slug)
    return render("conventions/list.html", community=community,
                  adopted=services.adopted_conventions(community),
                  in_progress=services.conventions_in_progress(community, _viewer()))


@bp.route("/items/<int:item_id>/convention", methods=["GET", "POST"])
@login_required
def start(slug: str, item_id: int):
    community = get_community(slug)
    item = get_item(community=community, item_id=item_id, viewer=current_user)
    existing = services.convention_of_item(item.id)
    if existing is not None:
        return redirect(url_for("conventions.show", slug=slug, convention_id=existing.id))
    if item.author_id != current_user.id:
        raise PermissionDenied(_("Only the item's author can start its convention text."))
    form = NewConventionForm(title=item.title) if request.method == "GET" else NewConventionForm()
    made = submit_form(form, lambda: services.start_convention(
        actor=current_user, community=community, item_id=item.id, title=form.title.data, text=form.text.data,
        kind=form.kind.data))
    if made is not NOT_SUBMITTED:
        flash(_("Version 1 of the text is saved. Members can now comment on each clause and propose amendments."),
              "success")
        return redirect(url_for("conventions.show", slug=slug, convention_id=made.id), 303)
    return render("conventions/start.html", community=community, item=item, form=form, status_code=status_for(form))


@bp.route("/conventions/<int:convention_id>")
def show(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, _viewer())
    return render("conventions/show.html", **_page(convention, coauthor_form=CoauthorForm(formdata=None)))


@bp.route("/conventions/<int:convention_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, current_user)
    if request.method == "GET":
        form = EditForm(formdata=None, title=convention.title, base_version=convention.version_count,
                        text=document.editable_text(services.current_clauses(convention)))
    else:
        form = EditForm()
    if request.method == "GET" and not services.may_edit(current_user, convention):
        flash(_("Only the convention's author and co-authors can edit the draft, and only before the text is "
                "frozen."), "error")
        return redirect(url_for("conventions.show", slug=slug, convention_id=convention.id))

    def save():
        try:
            base = int(form.base_version.data)
        except (TypeError, ValueError):
            base = None
        return services.save_version(actor=current_user, community=community, convention_id=convention.id,
                                     text=form.text.data, note=form.note.data, title=form.title.data,
                                     base_version=base)

    saved = submit_form(form, save)
    if saved is not NOT_SUBMITTED:
        flash(_("Version %(n)d is saved.", n=saved.number), "success")
        return redirect(url_for("conventions.compare", slug=slug, convention_id=convention.id,
                                a=saved.number - 1, b=saved.number), 303)
    return render("conventions/edit.html", community=community, convention=convention, item=convention.item,
                  form=form, newest=convention.version_count, status_code=status_for(form))


@bp.route("/conventions/<int:convention_id>/versions")
def versions(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, _viewer())
    return render("conventions/versions.html", community=community, convention=convention, item=convention.item,
                  versions=services.versions_of(convention))


@bp.route("/conventions/<int:convention_id>/compare")
def compare(slug: str, convention_id: int):
    """Two versions side by side. ``a``/``b`` are version numbers; ``b=adopted`` is the adopted
    text, and ``a=base`` the text in force this convention amends."""
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, _viewer())
    newest = convention.version_count

    def pick(name: str, default: int):
        value = request.args.get(name, "")
        if value == "adopted" and convention.adopted_clauses is not None:
            return "adopted", _("Adopted text"), convention.adopted_clauses
        if value == "base" and convention.based_on is not None:
            return "base", _("Text in force before"), convention.based_on.adopted_clauses
        try:
            number = int(value) if value else default
        except ValueError:
            number = default
        number = min(max(number, 1), newest)
        return str(number), _("Version %(n)d", n=number), services.version_of(convention, number).clauses

    a_key, a_label, old = pick("a", max(newest - 1, 1))
    b_key, b_label, new = pick("b", newest)
    return render("conventions/compare.html", community=community, convention=convention, item=convention.item,
                  diff=document.compare(old, new), a=a_key, b=b_key, a_label=a_label, b_label=b_label,
                  versions=services.versions_of(convention), labels=labels)


def _amendment_form(convention, form: AmendmentForm) -> AmendmentForm:
    form.clause_key.choices = [SelectChoice("", _("Choose a clause"))] + [
        SelectChoice(k, label) for k, label in services.clause_choices(convention.item_id)]
    return form


@bp.route("/conventions/<int:convention_id>/amendments/new", methods=["GET", "POST"])
@login_required
def amend(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, current_user)
    if request.method == "GET":
        form = AmendmentForm(formdata=None, clause_key=request.args.get("clause", ""))
    else:
        form = AmendmentForm()
    _amendment_form(convention, form)
    made = submit_form(form, lambda: services.propose_amendment(
        actor=current_user, community=community, convention_id=convention.id, clause_key=form.clause_key.data,
        kind=form.kind.data, text=form.text.data, reason=form.reason.data))
    if made is not NOT_SUBMITTED:
        flash(_("Amendment %(n)d is published. Members can support it; the authors can take it into the draft, "
                "otherwise it goes to the vote.", n=made.number), "success")
        return redirect(url_for("conventions.show", slug=slug, convention_id=convention.id,
                                _anchor=f"amendment-{made.number}"), 303)
    clauses = {c["key"]: (n, c) for n, c in enumerate(services.current_clauses(convention), start=1)}
    return render("conventions/amend.html", community=community, convention=convention, item=convention.item,
                  form=form, clauses=clauses, may_amend=services.may_amend(current_user, convention),
                  status_code=status_for(form))


def _back(slug: str, convention_id: int, anchor: str | None = None):
    return redirect(url_for("conventions.show", slug=slug, convention_id=convention_id, _anchor=anchor), 303)


@bp.route("/amendments/<int:amendment_id>/<any(support, withdraw, accept):action>", methods=["POST"])
@login_required
def amendment_action(slug: str, amendment_id: int, action: str):
    community = get_community(slug)
    amendment = services.amendment_in(community, amendment_id, current_user)
    verbs = {"support": services.support_amendment, "withdraw": services.withdraw_amendment,
             "accept": services.accept_amendment}
    done = {"support": _("You support amendment %(n)d.", n=amendment.number),
            "withdraw": _("Amendment %(n)d is withdrawn.", n=amendment.number),
            "accept": _("Amendment %(n)d is taken into the draft as a new version.", n=amendment.number)}
    with flash_refusals() as attempt:
        verbs[action](actor=current_user, community=community, amendment_id=amendment.id)
    if not attempt.refused:
        flash(done[action], "success")
    return _back(slug, amendment.convention_id, f"amendment-{amendment.number}")


@bp.route("/conventions/<int:convention_id>/coauthors", methods=["POST"])
@login_required
def add_coauthor(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, current_user)
    form = CoauthorForm()
    added = submit_form(form, lambda: services.add_coauthor(
        actor=current_user, community=community, convention_id=convention.id, name=form.name.data))
    if added is not NOT_SUBMITTED:
        flash(_("%(name)s can now edit the draft with you.", name=added.user.display_name), "success")
        return _back(slug, convention.id, "authors")
    return render("conventions/show.html", **_page(convention, coauthor_form=form), status_code=400)


@bp.route("/conventions/<int:convention_id>/coauthors/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_coauthor(slug: str, convention_id: int, user_id: int):
    community = get_community(slug)
    with flash_refusals():
        services.remove_coauthor(actor=current_user, community=community, convention_id=convention_id,
                                 user_id=user_id)
    return _back(slug, convention_id, "authors")


@bp.route("/conventions/<int:convention_id>/<any(freeze, unfreeze):action>", methods=["POST"])
@login_required
def freeze(slug: str, convention_id: int, action: str):
    community = get_community(slug)
    with flash_refusals() as attempt:
        if action == "freeze":
            services.freeze(actor=current_user, community=community, convention_id=convention_id)
        else:
            services.unfreeze(actor=current_user, community=community, convention_id=convention_id)
    if not attempt.refused:
        flash(_("The text is frozen. Prepare the votes.") if action == "freeze"
              else _("The text is back in drafting."), "success")
    if action == "freeze" and not attempt.refused:
        return redirect(url_for("conventions.votes", slug=slug, convention_id=convention_id), 303)
    return _back(slug, convention_id)


def _default_close() -> datetime:
    return (utc_to_local(utcnow()) + timedelta(days=7)).replace(hour=20, minute=0, second=0, microsecond=0)


@bp.route("/conventions/<int:convention_id>/votes", methods=["GET", "POST"])
@login_required
def votes(slug: str, convention_id: int):
    community = get_community(slug)
    require(current_user, community, "votes.run")
    convention = services.convention_in(community, convention_id, current_user)
    if convention.state != ConventionState.FROZEN:
        return redirect(url_for("conventions.show", slug=slug, convention_id=convention.id))
    pending = [a for a in services.amendments_of(convention) if a.status == AmendmentStatus.PROPOSED]
    # The rule the kind of convention is adopted by; art. 278 sheets are signed (roll call).
    preset = services.default_preset(convention)
    form = VoteForm(formdata=None, closes_at=_default_close(), mode="clauses" if pending else "whole", preset=preset,
                    secret=PRESETS[preset].secret) if request.method == "GET" else VoteForm()
    clauses = document.numbered(services.frozen_clauses(convention))
    form.clause_keys.choices = [SelectChoice(c["key"], _("Art. %(n)d: %(text)s", n=c["number"], text=c["text"]))
                                for c in clauses]
    activity = services.clause_activity(convention)

    def prepare():
        plan = services.VotePlan(
            mode=form.mode.data, clause_keys=form.clause_keys.data or [], preset=form.preset.data,
            electorate=form.electorate.data, weighting=form.weighting.data, threshold=form.threshold.data,
            secret=form.secret.data, closes_at=local_to_utc(form.closes_at.data) if form.closes_at.data else None,
            effective_on=form.effective_on.data, open_now=form.open_now.data)
        return services.open_votes(actor=current_user, community=community, convention_id=convention.id, plan=plan)

    made = submit_form(form, prepare)
    if made is not NOT_SUBMITTED:
        opened = sum(1 for m in made if m.status == MeasureStatus.OPEN)
        flash(ngettext("%(num)d vote prepared, %(o)d opened.", "%(num)d votes prepared, %(o)d opened.", len(made),
                       o=opened), "success")
        return _back(slug, convention.id, "votes")
    return render("conventions/votes.html", community=community, convention=convention, item=convention.item,
                  form=form, pending=pending, labels_kind=labels.AMENDMENT_KIND_LABELS, clauses=clauses,
                  activity=activity, status_code=status_for(form))


@bp.route("/conventions/<int:convention_id>/final", methods=["POST"])
@login_required
def final(slug: str, convention_id: int):
    community = get_community(slug)
    form = FinalVoteForm()
    with flash_refusals() as attempt:
        if not form.validate_on_submit():
            flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
            return _back(slug, convention_id, "votes")
        services.open_final_vote(actor=current_user, community=community, convention_id=convention_id,
                                 closes_at=local_to_utc(form.closes_at.data))
    if not attempt.refused:
        flash(_("The final vote on the text as amended is open."), "success")
    return _back(slug, convention_id, "votes")


@bp.route("/conventions/<int:convention_id>/print")
def printable(slug: str, convention_id: int):
    community = get_community(slug)
    convention = services.convention_in(community, convention_id, _viewer())
    if convention.adopted_clauses is None:
        abort(404)
    permalink = url_for("conventions.show", slug=slug, convention_id=convention.id, _external=True)
    return render("conventions/print.html", community=community, convention=convention,
                  clauses=document.numbered(convention.adopted_clauses), qr=qr_svg(permalink), permalink=permalink,
                  text_hash=document.sha256(convention.adopted_text or ""))


@bp.route("/conventions/<int:convention_id>/revise", methods=["POST"])
@login_required
def revise(slug: str, convention_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        revision = services.revise(actor=current_user, community=community, convention_id=convention_id)
    if attempt.refused:
        return _back(slug, convention_id)
    flash(_("A new draft item is made with the text in force. Edit the text, then submit the item to gather "
            "supports."), "success")
    return redirect(url_for("conventions.show", slug=slug, convention_id=revision.id), 303)

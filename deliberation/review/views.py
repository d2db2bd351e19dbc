"""Review pages: asking for reviews, the reviewer's queue, writing and revising a review,
answering and closing legal objections, and the staff overview."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..agenda.services import get_item
from ..communities.models import Role
from ..communities.permissions import ROLE_LABELS, require
from ..communities.services import get_community
from ..conventions.services import clause_choices
from ..errors import DomainError, PermissionDenied
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import render
from ..timeutil import utcnow
from . import services
from .forms import AnswerForm, CloseObjectionForm, RequestReviewForm, RespondForm, ReviewForm
from .models import Verdict

bp = Blueprint("review", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def review_helpers():
    return {
        "verdict_labels": services.VERDICT_LABELS,
        "request_labels": services.REQUEST_LABELS,
        "objection_labels": services.OBJECTION_LABELS,
        "reviews_of": services.reviews_of,
        "review_requests_of": services.requests_of,
        "open_objections": services.open_objections,
        "review_text_changed": services.text_changed_since,
    }


def _item_url(slug: str, item_id: int) -> str:
    return url_for("agenda.show", slug=slug, item_id=item_id, _anchor="reviews")


@bp.route("/items/<int:item_id>/reviews/request", methods=["GET", "POST"])
@login_required
def request_review(slug: str, item_id: int):
    community = get_community(slug)
    require(current_user, community, "reviews.request")
    item = get_item(community=community, item_id=item_id, viewer=current_user)
    form = RequestReviewForm()
    form.reviewer_ids.choices = [
        SelectChoice(user.id, f"{user.display_name} · {ROLE_LABELS[Role(role)]}")
        for user, role in services.reviewers(community)
    ]
    asked = submit_form(form, lambda: services.request_review(
        actor=current_user, community=community, item_id=item.id, reviewer_ids=form.reviewer_ids.data,
        question=form.question.data, due_on=form.due_on.data))
    if asked is not NOT_SUBMITTED:
        flash(_("The reviewers have been asked and notified."), "success")
        return redirect(_item_url(slug, item.id), 303)
    return render("review/request.html", community=community, item=item, form=form, status_code=status_for(form))


@bp.route("/reviews/mine")
@login_required
def mine(slug: str):
    community = get_community(slug)
    queue = services.my_queue(actor=current_user, community=community)
    return render("review/mine.html", community=community, **queue)


@bp.route("/reviews/overview")
@login_required
def overview(slug: str):
    community = get_community(slug)
    requests = services.all_open_requests(actor=current_user, community=community)
    return render("review/overview.html", community=community, requests=requests, now=utcnow())


def _verdict_choices(role: str):
    verdicts = [Verdict.SUPPORTS, Verdict.CONDITIONS, Verdict.CONCERNS]
    if role == Role.LEGAL:
        verdicts.append(Verdict.LEGAL_OBJECTION)
    return [SelectChoice("", _("Choose a verdict"))] + [SelectChoice(v.value, str(services.VERDICT_LABELS[v]))
                                                        for v in verdicts]


def _clause_choices(form: ReviewForm, item_id: int) -> None:
    """On a convention the reviewer picks the whole text or one clause; otherwise no picker."""
    clauses = clause_choices(item_id)
    if clauses:
        form.clause_key.choices = [SelectChoice("", _("The whole text"))] + [SelectChoice(k, label)
                                                                             for k, label in clauses]
    else:
        del form.clause_key


def _picked_clause(form: ReviewForm) -> str | None:
    field = getattr(form, "clause_key", None)
    return (field.data or None) if field is not None else None


@bp.route("/reviews/requests/<int:request_id>", methods=["GET", "POST"])
@login_required
def write(slug: str, request_id: int):
    """The reviewer's page for one request: accept or decline, then write the review."""
    community = get_community(slug)
    req = services.request_in(community, request_id)
    if req.reviewer_id != current_user.id:
        require(current_user, community, "reviews.overview")  # staff may look, not write
    form = ReviewForm()
    form.verdict.choices = _verdict_choices(req.role)
    _clause_choices(form, req.item_id)
    respond_form = RespondForm()
    published = submit_form(form, lambda: services.submit_review(
        actor=current_user, community=community, request_id=req.id, verdict=form.verdict.data,
        body=form.body.data, passages=form.passages.data, clause_key=_picked_clause(form)))
    if published is not NOT_SUBMITTED:
        flash(_("Your review is published on the item."), "success")
        return redirect(_item_url(slug, req.item_id), 303)
    return render("review/write.html", community=community, req=req, form=form, respond_form=respond_form,
                  status_code=status_for(form))


@bp.route("/reviews/requests/<int:request_id>/respond", methods=["POST"])
@login_required
def respond(slug: str, request_id: int):
    community = get_community(slug)
    form = RespondForm()
    accept = request.form.get("accept") == "1"
    if form.validate_on_submit():
        try:
            services.respond(actor=current_user, community=community, request_id=request_id, accept=accept,
                             reason=form.reason.data)
        except DomainError as err:
            if err.status_code in (403, 404):
                raise
            flash(str(err.message), "error")
        else:
            flash(_("Thank you. The chair can see your answer.") if not accept
                  else _("Accepted. Write your review when you are ready."), "success")
    return redirect(url_for("review.write", slug=slug, request_id=request_id), 303)


@bp.route("/reviews/<int:review_id>/revise", methods=["GET", "POST"])
@login_required
def revise(slug: str, review_id: int):
    community = get_community(slug)
    review = services.review_in(community, review_id)
    form = ReviewForm(obj=review)
    form.verdict.choices = _verdict_choices(review.role)
    _clause_choices(form, review.item_id)
    if review.reviewer_id != current_user.id:
        raise PermissionDenied(_("Only the reviewer can revise this review."))
    revised = submit_form(form, lambda: services.revise_review(
        actor=current_user, community=community, review_id=review.id, verdict=form.verdict.data,
        body=form.body.data, passages=form.passages.data, clause_key=_picked_clause(form)))
    if revised is not NOT_SUBMITTED:
        flash(_("Your review was revised. The earlier version stays in its history."), "success")
        return redirect(_item_url(slug, review.item_id), 303)
    return render("review/revise.html", community=community, review=review, form=form, status_code=status_for(form))


@bp.route("/reviews/<int:review_id>/answer", methods=["GET", "POST"])
@login_required
def answer(slug: str, review_id: int):
    community = get_community(slug)
    review = services.review_in(community, review_id)
    form = AnswerForm()
    answered = submit_form(form, lambda: services.answer_objection(
        actor=current_user, community=community, review_id=review.id, body=form.body.data))
    if answered is not NOT_SUBMITTED:
        flash(_("Your answer was sent to the legal adviser."), "success")
        return redirect(_item_url(slug, review.item_id), 303)
    return render("review/answer.html", community=community, review=review, form=form, status_code=status_for(form))


@bp.route("/reviews/<int:review_id>/close", methods=["GET", "POST"])
@login_required
def close(slug: str, review_id: int):
    community = get_community(slug)
    review = services.review_in(community, review_id)
    form = CloseObjectionForm()
    withdraw = request.form.get("withdraw") == "1"
    closed = submit_form(form, lambda: services.close_objection(
        actor=current_user, community=community, review_id=review.id, withdraw=withdraw, note=form.note.data))
    if closed is not NOT_SUBMITTED:
        flash(_("The objection was withdrawn.") if withdraw else _("The objection is marked resolved."), "success")
        return redirect(_item_url(slug, review.item_id), 303)
    return render("review/close.html", community=community, review=review, form=form, status_code=status_for(form))


@bp.route("/reviews/<int:review_id>/actions")
def actions(slug: str, review_id: int):
    """The viewer's own controls for one review (never broadcast)."""
    community = get_community(slug)
    review = services.review_in(community, review_id)
    viewer = current_user if current_user.is_authenticated else None
    return render("review/_actions.html", community=community, rv=review, item=review.request.item, viewer=viewer)

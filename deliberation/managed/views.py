"""Staff pages for residents without phones ("act for 钱奶奶"), and the page where such a
resident claims her account once she has a phone. Every act goes through the ordinary service
with ``on_behalf_of`` (or its paper path), which checks and audits it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..agenda import services as agenda
from ..agenda.forms import ItemForm
from ..agenda.views import _category_choices
from ..communities.permissions import acting_for
from ..communities.services import get_community
from ..discussion import services as discussion
from ..errors import DomainError
from ..extensions import limiter
from ..forms import NOT_SUBMITTED, flash_refusals, status_for, submit_form
from ..meetings import services as meetings
from ..rendering import render
from ..voting import services as voting
from . import services
from .forms import ClaimForm, CommentForForm
from .models import ClaimStatus

bp = Blueprint("managed", __name__, url_prefix="/c/<slug>")


@bp.route("/residents")
@login_required
def index(slug: str):
    community = get_community(slug)
    return render("managed/index.html", community=community,
                  residents=services.managed_residents(actor=current_user, community=community))


def _page(community, member_id: int, *, comment_form: CommentForForm | None = None, status_code: int = 200):
    page = services.resident_page(actor=current_user, community=community, member_id=member_id)
    form = comment_form or CommentForForm(formdata=None)
    form.item_id.choices = [SelectChoice(0, _("Choose the item"))] + [
        SelectChoice(i.id, f"#{i.id} {i.title}") for i in page.discussable]
    return render("managed/resident.html", community=community, page=page, member=page.member,
                  comment_form=form, delegates=voting.proxy_delegates(community),
                  claim_statuses=ClaimStatus, status_code=status_code)


@bp.route("/residents/<int:member_id>")
@login_required
def resident(slug: str, member_id: int):
    return _page(get_community(slug), member_id)


def _back(slug: str, member_id: int, anchor: str):
    return redirect(url_for("managed.resident", slug=slug, member_id=member_id, _anchor=anchor), 303)


@bp.route("/residents/<int:member_id>/support", methods=["POST"])
@login_required
def support(slug: str, member_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        agenda.support_item(actor=current_user, community=community, item_id=request.form.get("item_id", type=int) or 0,
                            on_behalf_of=member_id)
    if not attempt.refused:
        flash(_("Their support is recorded, marked as entered by staff."), "success")
    return _back(slug, member_id, "support")


@bp.route("/residents/<int:member_id>/items/new", methods=["GET", "POST"])
@login_required
def new_item(slug: str, member_id: int):
    community = get_community(slug)
    member = acting_for(current_user, community, member_id)
    form = ItemForm()
    form.category_id.choices = _category_choices(community)
    item = submit_form(form, lambda: agenda.save_draft(
        actor=current_user, community=community, title=form.title.data, body=form.body.data,
        category_id=form.category_id.data, on_behalf_of=member.id))
    if item is not NOT_SUBMITTED:
        flash(_("Draft saved for them. Read it back to them, then submit it."), "success")
        return _back(slug, member.id, "items")
    return render("managed/item_form.html", community=community, member=member, form=form,
                  status_code=status_for(form))


@bp.route("/residents/<int:member_id>/items/<int:item_id>/submit", methods=["POST"])
@login_required
def submit_item(slug: str, member_id: int, item_id: int):
    community = get_community(slug)
    with flash_refusals() as attempt:
        agenda.submit_item(actor=current_user, community=community, item_id=item_id, on_behalf_of=member_id)
    if not attempt.refused:
        flash(_("Their item is submitted. Neighbours can now support it."), "success")
    return _back(slug, member_id, "items")


@bp.route("/residents/<int:member_id>/comment", methods=["POST"])
@login_required
def comment(slug: str, member_id: int):
    community = get_community(slug)
    form = CommentForForm()
    posted = submit_form(form, lambda: discussion.post_comment(
        actor=current_user, community=community, item_id=form.item_id.data, body=form.body.data,
        stance=form.stance.data or None, client_token=form.client_token.data, on_behalf_of=member_id))
    if posted is NOT_SUBMITTED:
        return _page(community, member_id, comment_form=form, status_code=status_for(form))
    flash(_("Their comment is posted, marked as entered by staff."), "success")
    return _back(slug, member_id, "comment")


@bp.route("/residents/<int:member_id>/meetings/<int:meeting_id>", methods=["POST"])
@login_required
def meeting(slug: str, member_id: int, meeting_id: int):
    """One form per meeting row: RSVP, check-in in the room, or a paper proxy for the meeting."""
    community = get_community(slug)
    what = request.form.get("what")
    messages = {
        "attend": _("They are down as coming."), "unattend": _("They are no longer down as coming."),
        "checkin": _("They are checked in, in the room."), "proxy": _("Their proxy for the meeting is recorded."),
    }
    if what not in messages:
        flash(_("Please choose what to do."), "error")
        return _back(slug, member_id, "meetings")
    with flash_refusals() as attempt:
        if what in ("attend", "unattend"):
            meetings.attend(actor=current_user, community=community, meeting_id=meeting_id, on=what == "attend",
                            on_behalf_of=member_id)
        elif what == "checkin":  # staff tick off anyone in the room; the service audits it
            meetings.check_in_member(actor=current_user, community=community, meeting_id=meeting_id,
                                     user_id=member_id)
        else:  # her signed paper authorisation, entered like any paper proxy
            meetings.grant_meeting_proxy(actor=current_user, community=community, meeting_id=meeting_id,
                                         delegate_id=request.form.get("delegate_id", type=int) or 0,
                                         grantor_id=member_id)
    if not attempt.refused:
        flash(messages[what], "success")
    return _back(slug, member_id, "meetings")


@bp.route("/residents/<int:member_id>/claim", methods=["POST"])
@login_required
def claim(slug: str, member_id: int):
    """Staff start, confirm or cancel her taking over the account."""
    community = get_community(slug)
    what = request.form.get("what")
    try:
        if what == "start":
            code = services.start_claim(actor=current_user, community=community, member_id=member_id)
            page = services.resident_page(actor=current_user, community=community, member_id=member_id)
            return render("managed/claim_code.html", community=community, member=page.member, code=code,
                          claim=page.claim)
        if what == "confirm":
            member = services.confirm_claim(actor=current_user, community=community, member_id=member_id)
            flash(_("%(name)s now logs in with their own phone. Staff no longer act for them.",
                    name=member.display_name), "success")
            return redirect(url_for("managed.index", slug=slug), 303)
        if what == "cancel":
            services.cancel_claim(actor=current_user, community=community, member_id=member_id)
            flash(_("The claim is cancelled; its code no longer works."), "success")
        else:
            flash(_("Please choose what to do."), "error")
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        flash(str(err.message), "error")
    return _back(slug, member_id, "claim")


def _claim_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]  # like registering: it sets a login


@bp.route("/claim", methods=["GET", "POST"])
@limiter.limit(_claim_limit, methods=["POST"])
def claim_account(slug: str):
    """A resident whose account staff managed asks to take it over with her own phone."""
    community = get_community(slug)
    form = ClaimForm()
    done = submit_form(form, lambda: services.request_claim(
        community=community, code=form.code.data, phone=form.phone.data, password=form.password.data))
    if done is not NOT_SUBMITTED:
        return render("managed/claim_sent.html", community=community)
    return render("managed/claim.html", community=community, form=form, status_code=status_for(form))


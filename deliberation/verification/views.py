"""Pages of the steps that need a code: confirming a registration, resetting a forgotten
password, changing one's phone or email."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.sessions import log_in
from ..communities.forms import ActionForm
from ..errors import NotFound
from ..extensions import limiter
from ..forms import NOT_SUBMITTED, flash_refusals, status_for, submit_form
from ..outbox.masking import mask_contact
from ..rendering import render
from . import services
from .forms import CodeForm, ContactForm, ResetForm
from .models import CodePurpose

bp = Blueprint("verification", __name__)


def _limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def client_address() -> str:
    return request.remote_addr or ""


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def confirm_registration(token: str):
    row = services.pending(token, CodePurpose.REGISTER)
    form = CodeForm()
    user = submit_form(form, lambda: services.confirm_registration(token=token, code=form.code.data))
    if user is not NOT_SUBMITTED:
        log_in(user)
        flash(_("Welcome, %(name)s! Next, join your community.", name=user.display_name), "success")
        return redirect(url_for("site.home"), 303)
    return render("verification/code.html", form=form, sent_to=mask_contact(row.address), token=token,
                  action=url_for("verification.confirm_registration", token=token),
                  title=_("Confirm your phone number or email"), resend_form=ActionForm(),
                  status_code=status_for(form))


@bp.route("/codes/<token>/resend", methods=["POST"])
@limiter.limit(_limit)
def resend(token: str):
    row_purpose = services.purpose_of(token)
    new_token = token
    if ActionForm().validate_on_submit():
        with flash_refusals() as attempt:
            new_token = services.resend(token=token, client=client_address())
        if not attempt.refused:
            flash(_("We sent a new code."), "success")
    endpoint = {CodePurpose.REGISTER: "verification.confirm_registration", CodePurpose.RESET: "verification.reset",
                CodePurpose.CONTACT: "verification.confirm_contact"}[row_purpose]
    return redirect(url_for(endpoint, token=new_token), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def forgot():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_password"))
    form = ContactForm()
    token = submit_form(form, lambda: services.start_password_reset(contact=form.contact.data,
                                                                    client=client_address()))
    if token is not NOT_SUBMITTED:
        flash(_("If an account uses this phone number or email, we sent it a code."), "info")
        return redirect(url_for("verification.reset", token=token), 303)
    return render("verification/forgot.html", form=form, status_code=status_for(form))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def reset(token: str):
    row = services.pending(token, CodePurpose.RESET)
    form = ResetForm()
    user = submit_form(form, lambda: services.finish_password_reset(token=token, code=form.code.data,
                                                                    new_password=form.new_password.data))
    if user is not NOT_SUBMITTED:
        flash(_("Your password was changed and every device was logged out. Please log in."), "success")
        return redirect(url_for("accounts.login"), 303)
    return render("verification/reset.html", form=form, sent_to=mask_contact(row.address), token=token,
                  resend_form=ActionForm(), status_code=status_for(form))


@bp.route("/account/contact", methods=["GET", "POST"])
@login_required
@limiter.limit(_limit, methods=["POST"])
def change_contact():
    form = ContactForm()
    token = submit_form(form, lambda: services.start_contact_change(actor=current_user, contact=form.contact.data,
                                                                    client=client_address()))
    if token is not NOT_SUBMITTED:
        return redirect(url_for("verification.confirm_contact", token=token), 303)
    return render("verification/contact.html", form=form, status_code=status_for(form))


@bp.route("/account/contact/<token>", methods=["GET", "POST"])
@login_required
def confirm_contact(token: str):
    row = services.pending(token, CodePurpose.CONTACT)
    if row.user_id != current_user.id:
        raise NotFound()
    form = CodeForm()
    user = submit_form(form, lambda: services.confirm_contact_change(actor=current_user, token=token,
                                                                     code=form.code.data))
    if user is not NOT_SUBMITTED:
        flash(_("Your phone number or email was changed."), "success")
        return redirect(url_for("accounts.account"), 303)
    return render("verification/code.html", form=form, sent_to=mask_contact(row.address), token=token,
                  action=url_for("verification.confirm_contact", token=token),
                  title=_("Confirm your new phone number or email"), resend_form=ActionForm(),
                  status_code=status_for(form))

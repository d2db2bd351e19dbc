"""Register, log in, log out, change password, and the person's own account page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..communities.services import my_memberships
from ..extensions import limiter
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import render
from ..urls import safe_next
from ..verification.services import start_registration
from . import services
from .forms import ChangePasswordForm, LoginForm, RegisterForm
from .sessions import current_session_token, log_in, log_out

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = RegisterForm()
    # The account is created once the code sent to the number or address comes back
    # (verification.views.confirm_registration); the answer never says whether it was taken.
    token = submit_form(form, lambda: start_registration(
        display_name=form.display_name.data, contact=form.contact.data, password=form.password.data,
        client=request.remote_addr or ""))
    if token is not NOT_SUBMITTED:
        return redirect(url_for("verification.confirm_registration", token=token), 303)
    return render("accounts/register.html", form=form, status_code=status_for(form))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("site.home"))
    form = LoginForm()
    user = submit_form(form, lambda: services.authenticate(contact=form.contact.data, password=form.password.data))
    if user is not NOT_SUBMITTED:
        log_in(user)
        return redirect(safe_next(request.args.get("next")) or url_for("site.home"), 303)
    return render("accounts/login.html", form=form, status_code=status_for(form))


@bp.route("/logout", methods=["POST"])
def logout():
    log_out()
    flash(_("You have logged out."), "info")
    return redirect(url_for("site.home"), 303)


@bp.route("/account")
@login_required
def account():
    return render("accounts/account.html", memberships=my_memberships(current_user))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    changed = submit_form(form, lambda: services.change_password(
        actor=current_user, current_password=form.current_password.data, new_password=form.new_password.data,
        keep_session=current_session_token()))
    if changed is not NOT_SUBMITTED:
        flash(_("Your password was changed. Other devices have been logged out."), "success")
        return redirect(url_for("accounts.account"), 303)
    return render("accounts/password.html", form=form, status_code=status_for(form))

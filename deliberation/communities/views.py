"""Community pages: the public page, joining, and staff pages for members, units, roles."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..errors import DomainError
from ..extensions import writing
from ..forms import NOT_SUBMITTED, show_error, status_for, submit_form
from ..privacy.services import record_staff_read
from ..rendering import render, wants_fragment
from ..timeutil import utcnow
from . import home, services
from .forms import (
    ActionForm,
    JoinForm,
    LinkOwnerForm,
    ManagedAccountForm,
    RejectForm,
    RoleForm,
    UnitHolderForm,
    UnitImportForm,
)
from .models import GRANTABLE_ROLES, MembershipStatus
from .permissions import POLICY, ROLE_LABELS, STATUS_LABELS, can, membership_of, require, roles_of

bp = Blueprint("communities", __name__, url_prefix="/c/<slug>")


@bp.record_once
def community_helpers(state) -> None:
    # Globals rather than a context processor: imported macros (role_badges) see them too.
    state.app.jinja_env.globals.update(
        can=can, roles_of=roles_of, policy=POLICY, find_unit=services.find_unit, role_labels=ROLE_LABELS,
        status_labels=STATUS_LABELS,
    )


@bp.route("/")
def show(slug: str):
    community = services.get_community(slug)
    membership = membership_of(current_user, community)
    verified = membership is not None and membership.status == MembershipStatus.VERIFIED
    return render(
        "communities/show.html",
        community=community,
        membership=membership,
        stats=services.community_stats(community),
        now=home.needs_now(community, current_user) if verified else None,
        may_propose=verified and can(current_user, community, "items.propose"),
        moment=utcnow(),
    )


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join(slug: str):
    community = services.get_community(slug)
    membership = membership_of(current_user, community)
    form = JoinForm(formdata=request.form if request.method == "POST" else request.args or None)
    not_listed = bool((request.form if request.method == "POST" else request.args).get("not_listed"))
    asked = submit_form(form, lambda: services.request_membership(
        actor=current_user, community=community, building=form.building.data, entrance=form.entrance.data,
        room=form.room.data, note=form.note.data, not_listed=not_listed))
    if asked is not NOT_SUBMITTED:
        flash(_("Your request was sent. Staff will check it and you will see the result here."), "success")
        return redirect(url_for("communities.show", slug=slug), 303)
    # With a register, people choose building, then entrance, then room (each step narrows the
    # next; htmx swaps the picker, and without JavaScript a "next" button reloads the page).
    register = services.has_register(community)
    choices = services.unit_choices(community, (form.building.data or "").strip(),
                                    None if form.entrance.data is None else form.entrance.data.strip()) \
        if register else None
    return render("communities/join.html", "unit_picker", community=community, membership=membership, form=form,
                  register=register, choices=choices, not_listed=not_listed, status_code=status_for(form))


# ---------------------------------------------------------------- members (staff)


def _int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return default


@bp.route("/members")
@login_required
def members(slug: str):
    community = services.get_community(slug)
    status = request.args.get("status", MembershipStatus.PENDING)
    if status not in {s.value for s in MembershipStatus}:
        status = MembershipStatus.PENDING
    query = (request.args.get("q") or "").strip()
    require(current_user, community, "members.list")
    with writing():  # the list shows contact details: staff reading them is audited (PIPL)
        record_staff_read(actor=current_user, community=community, what="members", status=status)
    rows = services.memberships(actor=current_user, community=community, status=status, query=query)
    return render(
        "communities/members.html",
        community=community,
        rows=rows,
        status=status,
        query=query,
        stats=services.community_stats(community),
        holders=services.role_holders(community),
        grantable=GRANTABLE_ROLES,
        action_form=ActionForm(),
        reject_form=RejectForm(),
    )


def _membership_row(community, membership, reject_form=None, status_code=200):
    return render(
        "communities/_membership_row.html",
        community=community,
        m=membership,
        holders=services.role_holders(community),
        grantable=GRANTABLE_ROLES,
        action_form=ActionForm(),
        reject_form=reject_form or RejectForm(formdata=None),
        status_code=status_code,
    )


@bp.route("/members/<int:membership_id>/verify", methods=["POST"])
@login_required
def verify(slug: str, membership_id: int):
    community = services.get_community(slug)
    membership = services.verify_membership(actor=current_user, community=community, membership_id=membership_id,
                                            as_owner=request.form.get("as_owner") == "1")
    if wants_fragment():
        return _membership_row(community, membership)
    flash(_("%(name)s is now a verified member.", name=membership.user.display_name), "success")
    return redirect(url_for("communities.members", slug=slug), 303)


@bp.route("/members/<int:membership_id>/reject", methods=["GET", "POST"])
@login_required
def reject(slug: str, membership_id: int):
    community = services.get_community(slug)
    require(current_user, community, "members.review")
    membership = services.membership_in(community, membership_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            membership = services.reject_membership(
                actor=current_user, community=community, membership_id=membership_id, reason=form.reason.data
            )
        except DomainError as err:
            show_error(form, err)
        else:
            if wants_fragment():
                return _membership_row(community, membership)
            flash(_("The request of %(name)s was not accepted.", name=membership.user.display_name), "info")
            return redirect(url_for("communities.members", slug=slug), 303)
    status_code = 400 if form.errors else 200
    if request.method == "POST" and wants_fragment():
        return _membership_row(community, membership, reject_form=form, status_code=status_code)
    return render("communities/reject.html", community=community, m=membership, form=form, status_code=status_code)


@bp.route("/members/<int:user_id>/roles", methods=["POST"])
@login_required
def change_role(slug: str, user_id: int):
    community = services.get_community(slug)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    change = services.grant_role if request.form.get("grant") == "1" else services.revoke_role
    try:
        change(actor=current_user, community=community, user_id=user_id, role=form.role.data)
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        flash(str(err.message), "error")  # e.g. the last admin: say why, stay on the page
    else:
        flash(_("Roles updated."), "success")
    return redirect(url_for("communities.members", slug=slug, status="verified") + f"#member-{user_id}", 303)


@bp.route("/people/new", methods=["GET", "POST"])
@login_required
def new_managed_account(slug: str):
    community = services.get_community(slug)
    require(current_user, community, "accounts.manage")
    form = ManagedAccountForm()
    user = submit_form(form, lambda: services.create_managed_account(
        actor=current_user, community=community, display_name=form.display_name.data, building=form.building.data,
        entrance=form.entrance.data, room=form.room.data, note=form.note.data))
    if user is not NOT_SUBMITTED:
        flash(_("%(name)s is registered. Staff can now act for them.", name=user.display_name), "success")
        return redirect(url_for("communities.members", slug=slug, status="verified"), 303)
    return render("communities/managed_new.html", community=community, form=form, status_code=status_for(form))


# ---------------------------------------------------------------- units (staff)


@bp.route("/units")
@login_required
def units(slug: str):
    community = services.get_community(slug)
    q = request.args.get("q", "").strip()[:40]
    page = services.units(actor=current_user, community=community, search=q, page=_int_arg("page"))
    count, area = services.unit_totals(community)
    return render("communities/units.html", "unit_list", community=community, page=page, q=q,
                  total_count=count, total_area=area)


@bp.route("/units/import", methods=["GET", "POST"])
@login_required
def import_units(slug: str):
    community = services.get_community(slug)
    require(current_user, community, "units.manage")
    form = UnitImportForm()
    result = None
    if form.validate_on_submit():
        result = services.import_units(actor=current_user, community=community, data=form.file.data.read())
        if not result.errors:
            flash(ngettext("%(num)d unit was imported.", "%(num)d units were imported.", result.created), "success")
            return redirect(url_for("communities.units", slug=slug), 303)
    return render("communities/units_import.html", community=community, form=form, result=result,
                  status_code=400 if (form.errors or (result and result.errors)) else 200)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit(slug: str, unit_id: int):
    community = services.get_community(slug)
    require(current_user, community, "units.manage")
    the_unit = services.unit_in(community, unit_id)
    form = LinkOwnerForm()
    # A picker, not a drop-down of every member: staff search by name, phone tail or unit and
    # choose among at most PICKER_SIZE people (the service checks the one chosen).
    query = (request.args.get("q") or request.form.get("q") or "").strip()
    candidates = services.search_members(community, query)[:PICKER_SIZE] if query else []
    form.user_id.choices = [SelectChoice(u.id, u.display_name) for u in candidates]
    linked = submit_form(form, lambda: services.link_owner(actor=current_user, community=community, unit_id=unit_id,
                                                      user_id=form.user_id.data))
    if linked is not NOT_SUBMITTED:
        flash(_("Owner linked to %(unit)s.", unit=the_unit.label), "success")
        return redirect(url_for("communities.unit", slug=slug, unit_id=unit_id), 303)
    return render("communities/unit.html", "picker", community=community, unit=the_unit, form=form,
                  action_form=ActionForm(), query=query, candidates=candidates, picker_size=PICKER_SIZE,
                  holder_form=UnitHolderForm(obj=the_unit), status_code=status_for(form))


@bp.route("/units/<int:unit_id>/holder", methods=["POST"])
@login_required
def unit_holder(slug: str, unit_id: int):
    """Staff record the owner's name from the register, or that the developer holds the unit."""
    community = services.get_community(slug)
    require(current_user, community, "units.manage")
    the_unit = services.unit_in(community, unit_id)
    holder_form = UnitHolderForm()
    saved = submit_form(holder_form, lambda: services.record_unit_holder(
        actor=current_user, community=community, unit_id=unit_id, owner_name=holder_form.owner_name.data or "",
        developer_held=holder_form.developer_held.data))
    if saved is not NOT_SUBMITTED:
        flash(_("The register entry of %(unit)s is saved.", unit=the_unit.label), "success")
        return redirect(url_for("communities.unit", slug=slug, unit_id=unit_id), 303)
    return render("communities/unit.html", community=community, unit=the_unit, form=LinkOwnerForm(formdata=None),
                  action_form=ActionForm(), query="", candidates=[], picker_size=PICKER_SIZE,
                  holder_form=holder_form, status_code=status_for(holder_form))


PICKER_SIZE = 20


@bp.route("/units/<int:unit_id>/owners/<int:user_id>/remove", methods=["POST"])
@login_required
def unlink_owner(slug: str, unit_id: int, user_id: int):
    community = services.get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.unlink_owner(actor=current_user, community=community, unit_id=unit_id, user_id=user_id)
    flash(_("Owner removed from the unit."), "info")
    return redirect(url_for("communities.unit", slug=slug, unit_id=unit_id), 303)


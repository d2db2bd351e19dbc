"""Agenda pages: the list, the item page with its discussion, drafting, and staff actions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from .. import realtime
from ..attachments import services as attachments
from ..communities.forms import ActionForm
from ..communities.permissions import can, require, roles_of
from ..communities.services import get_community, member_in, update_settings
from ..discussion import services as discussion
from ..discussion.forms import CommentForm
from ..errors import DomainError, PermissionDenied
from ..forms import NOT_SUBMITTED, status_for, submit_form
from ..rendering import render, wants_fragment
from . import services
from .forms import ItemForm, MergeForm, ReasonForm, SettingsForm
from .models import AgendaItem, ItemStatus

bp = Blueprint("agenda", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def agenda_helpers():
    return {"item_status_labels": services.STATUS_LABELS, "category_label": category_label,
            "timeline_note": services.timeline_note}


def category_label(category) -> str:
    label = services.CATEGORY_LABELS.get(category.key)
    return str(label) if label is not None else category.name


def _viewer():
    return current_user if current_user.is_authenticated else None


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.route("/items")
def index(slug: str):
    community = get_community(slug)
    status = request.args.get("status") or ""
    category = request.args.get("category") or ""
    sort = request.args.get("sort") if request.args.get("sort") in services.SORTS else "newest"
    q = (request.args.get("q") or "").strip()[:50]
    mine = request.args.get("mine") == "1" and current_user.is_authenticated
    page = services.list_items(community=community, viewer=_viewer(), status=status, category_key=category,
                               sort=sort, q=q, page=_page_arg(), mine=mine)
    return render(
        "agenda/list.html", "item_list", community=community, page=page, status=status, category=category,
        sort=sort, q=q, mine=mine, categories=services.categories(community),
        counts=services.status_counts(community),
    )


def _category_choices(community):
    return [SelectChoice(0, _("Choose a category"))] + [
        SelectChoice(c.id, category_label(c)) for c in services.categories(community)
    ]


def _save_item(community, form: ItemForm, item_id: int | None):
    """Save the draft, and submit it too when the person pressed Submit."""
    submit = request.form.get("submit_now") == "1"
    item = services.save_draft(actor=current_user, community=community, title=form.title.data,
                               body=form.body.data, category_id=form.category_id.data, item_id=item_id,
                               submit=submit)
    if submit:
        flash(_("Your item was submitted. Neighbours can now support it."), "success")
    else:
        flash(_("Draft saved. Only you can see it until you submit it."), "success")
    return item


@bp.route("/items/new", methods=["GET", "POST"])
@login_required
def new(slug: str):
    community = get_community(slug)
    if not can(current_user, community, "items.propose"):
        return render("agenda/not_member.html", community=community, status_code=403)
    form = ItemForm()
    form.category_id.choices = _category_choices(community)
    item = submit_form(form, lambda: _save_item(community, form, None))
    if item is not NOT_SUBMITTED:
        return redirect(url_for("agenda.show", slug=slug, item_id=item.id), 303)
    return render("agenda/form.html", community=community, form=form, item=None, status_code=status_for(form))


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, item_id: int):
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=current_user)
    if item.author_id != current_user.id:
        raise PermissionDenied(_("Only the author can edit this item."), allowed=[_("The item's author")])
    if item.status != ItemStatus.DRAFT:
        raise PermissionDenied(_("An item can be edited only while it is a draft. Once submitted, its text stays "
                                 "as neighbours supported it; add what changed in the discussion."),
                               allowed=[_("The item's author, while it is a draft")])
    form = ItemForm(obj=item)
    form.category_id.choices = _category_choices(community)
    if submit_form(form, lambda: _save_item(community, form, item.id)) is not NOT_SUBMITTED:
        return redirect(url_for("agenda.show", slug=slug, item_id=item.id), 303)
    return render("agenda/form.html", community=community, form=form, item=item, status_code=status_for(form))


def item_page_context(community, item: AgendaItem, comment_form=None) -> dict:
    viewer = _viewer()
    comments, children = discussion.thread(item)
    return {
        "community": community,
        "item": item,
        "viewer": viewer,
        "viewer_roles": roles_of(viewer, community),
        "supported": services.has_supported(viewer, item),
        "may_support": services.may_support(viewer, community, item),
        "supporters": services.recent_supporters(item),
        "supporters_entered": services.supports_entered_by_staff(item),
        "children": children,
        "counts": discussion.stance_counts(item.id),
        "comment_form": comment_form or CommentForm(formdata=None),
        "may_comment": viewer is not None and can(viewer, community, "comments.post")
        and item.status in discussion.DISCUSSABLE,
        "last_event_id": realtime.last_event_id(),
        "perms": discussion.comment_permissions(viewer, community),
        "action_form": ActionForm(formdata=None),
        "may_attach": attachments.may_attach(actor=viewer, community=community, target_key="item", thing=item),
    }


@bp.route("/items/<int:item_id>")
def show(slug: str, item_id: int):
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=_viewer())
    return render("agenda/show.html", **item_page_context(community, item))


def _item_action(slug: str, item_id: int, action, success: str):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(actor=current_user, community=community, item_id=item_id)
    except DomainError as err:
        flash(str(err.message), "error")
        if err.status_code in (403, 404):
            raise
    else:
        flash(success, "success")
    if wants_fragment():
        item = services.get_item(community=community, item_id=item_id, viewer=_viewer())
        return render("agenda/show.html", "item_actions", **item_page_context(community, item))
    return redirect(url_for("agenda.show", slug=slug, item_id=item_id), 303)


@bp.route("/items/<int:item_id>/submit", methods=["POST"])
@login_required
def submit(slug: str, item_id: int):
    return _item_action(slug, item_id, services.submit_item,
                        _("Your item was submitted. Neighbours can now support it."))


@bp.route("/items/<int:item_id>/support", methods=["POST"])
@login_required
def support(slug: str, item_id: int):
    return _item_action(slug, item_id, services.support_item, _("Thank you. Your support was counted."))


@bp.route("/items/<int:item_id>/accept", methods=["POST"])
@login_required
def accept(slug: str, item_id: int):
    return _item_action(slug, item_id, services.accept_item, _("The item is now on the agenda."))


def _reason_action(slug: str, item_id: int, template: str, action, success: str, **extra):
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=_viewer())
    form = ReasonForm()
    done = submit_form(form, lambda: action(actor=current_user, community=community, item_id=item_id,
                                       reason=form.reason.data))
    if done is not NOT_SUBMITTED:
        flash(success, "success")
        return redirect(url_for("agenda.show", slug=slug, item_id=item_id), 303)
    return render(template, community=community, item=item, form=form, status_code=status_for(form), **extra)


@bp.route("/items/<int:item_id>/reject", methods=["GET", "POST"])
@login_required
def reject(slug: str, item_id: int):
    return _reason_action(slug, item_id, "agenda/reason.html", services.reject_item,
                          _("The item was not accepted. The reason is shown on it."), kind="reject")


@bp.route("/items/<int:item_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(slug: str, item_id: int):
    return _reason_action(slug, item_id, "agenda/reason.html", services.withdraw_item,
                          _("You withdrew the item."), kind="withdraw")


@bp.route("/items/<int:item_id>/merge", methods=["GET", "POST"])
@login_required
def merge(slug: str, item_id: int):
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=_viewer())
    form = MergeForm()
    merged = submit_form(form, lambda: services.merge_item(actor=current_user, community=community, item_id=item_id,
                                                      into_id=form.into_id.data, note=form.note.data))
    if merged is not NOT_SUBMITTED:
        flash(_("The item was merged."), "success")
        return redirect(url_for("agenda.show", slug=slug, item_id=item_id), 303)
    return render("agenda/merge.html", community=community, item=item, form=form, status_code=status_for(form))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str):
    community = get_community(slug)
    form = SettingsForm(threshold=community.support_threshold, max_proxies=community.max_proxies)
    require(current_user, community, "community.settings")

    saved = submit_form(form, lambda: update_settings(
        actor=current_user, community=community, support_threshold=form.threshold.data,
        max_proxies=form.max_proxies.data))
    if saved is not NOT_SUBMITTED:
        flash(_("Settings saved."), "success")
        return redirect(url_for("agenda.settings", slug=slug), 303)
    return render("agenda/settings.html", community=community, form=form, status_code=status_for(form))


@bp.route("/people/<int:user_id>")
def person(slug: str, user_id: int):
    community = get_community(slug)
    person = member_in(community, user_id)
    authored = services.list_items(community=community, viewer=None, author_id=person.id, page=_page_arg())
    return render("agenda/person.html", community=community, person=person, authored=authored,
                  roles=roles_of(person, community))

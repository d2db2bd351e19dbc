"""Agenda pages: the list, the item page with its discussion, drafting, and staff actions."""

from __future__ import annotations

import difflib

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
from .forms import ItemForm, MergeForm, ReasonForm, ReviseForm, SettingsForm
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


def _revise(community, item):
    """A submitted item's revision: every version is kept (see the versions page)."""
    if item.status not in services.REVISABLE:
        raise PermissionDenied(_("The text can be revised while the item is discussed or reviewed, until a vote "
                                 "opens."), allowed=[_("The item's author, before a vote opens")])
    if not services.may_revise(current_user, community, item):
        raise PermissionDenied(_("Only the item's author can revise it (or staff, for a resident without a phone)."),
                               allowed=[_("The item's author"), _("Community staff, for a managed account")])
    form = ReviseForm(obj=None if request.method == "POST" else item)
    revised = submit_form(form, lambda: services.revise_item(actor=current_user, community=community,
                                                            item_id=item.id, title=form.title.data,
                                                            body=form.body.data, note=form.note.data))
    if revised is not NOT_SUBMITTED:
        flash(_("Version %(n)d is saved. Supporters are told.", n=revised.number), "success")
        return redirect(url_for("agenda.versions", slug=community.slug, item_id=item.id, a=revised.number - 1,
                                b=revised.number), 303)
    return render("agenda/revise.html", community=community, item=item, form=form, status_code=status_for(form))


@bp.route("/items/<int:item_id>/versions")
def versions(slug: str, item_id: int):
    """Every version of an item's text, and two of them side by side."""
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=current_user)
    revisions = services.revisions_of(item)
    by_number = {r.number: r for r in revisions}
    b = by_number.get(request.args.get("b", type=int) or 0) or (revisions[-1] if revisions else None)
    a = by_number.get(request.args.get("a", type=int) or 0) or (by_number.get(b.number - 1) if b else None)
    rows = compare_texts(a.body, b.body) if a and b else []
    return render("agenda/versions.html", community=community, item=item, revisions=revisions, a=a, b=b, rows=rows,
                  may_revise=services.may_revise(current_user, community, item))


def compare_texts(before: str, after: str) -> list[tuple[str, str, str]]:
    """(change, left, right) per paragraph: same / changed / added / deleted. Paragraphs have no
    identity to follow (unlike convention clauses), so they are matched by difflib."""
    left = [p for p in (before or "").split("\n") if p.strip()]
    right = [p for p in (after or "").split("\n") if p.strip()]
    rows: list[tuple[str, str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [("same", left[i], right[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
        elif op == "replace":
            for k in range(max(i2 - i1, j2 - j1)):
                rows.append(("changed", left[i1 + k] if i1 + k < i2 else "", right[j1 + k] if j1 + k < j2 else ""))
        elif op == "delete":
            rows += [("deleted", left[i], "") for i in range(i1, i2)]
        else:
            rows += [("added", "", right[j]) for j in range(j1, j2)]
    return rows


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, item_id: int):
    community = get_community(slug)
    item = services.get_item(community=community, item_id=item_id, viewer=current_user)
    if item.status != ItemStatus.DRAFT:
        return _revise(community, item)
    if item.author_id != current_user.id:
        raise PermissionDenied(_("Only the author can edit this item."), allowed=[_("The item's author")])
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
        "may_revise": services.may_revise(viewer, community, item),
        "revision_count": len(services.revisions_of(item)),
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

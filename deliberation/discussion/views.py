"""Discussion endpoints: post and reply, edit, remove, flag, hide and restore, the flag queue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..agenda.models import AgendaItem
from ..agenda.services import get_item
from ..agenda.views import item_page_context
from ..communities.forms import ActionForm
from ..communities.services import get_community
from ..errors import DomainError
from ..extensions import db
from ..forms import NOT_SUBMITTED, show_error, status_for, submit_form
from ..rendering import render, wants_fragment
from . import services
from .forms import STANCES, CommentForm, EditCommentForm, FlagForm, HideForm

bp = Blueprint("discussion", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def discussion_helpers():
    return {"can_edit_comment": services.can_edit, "render_comment": services.render_comment_body,
            "stances": STANCES, "stance_labels": {value: str(label) for value, label in STANCES},
            "comment_permissions": services.comment_permissions}


def _item_url(slug: str, item_id: int, comment_id: int | None = None) -> str:
    anchor = f"comment-{comment_id}" if comment_id else "discussion"
    return url_for("agenda.show", slug=slug, item_id=item_id, _anchor=anchor)


@bp.route("/items/<int:item_id>/comments", methods=["POST"])
@login_required
def post(slug: str, item_id: int):
    community = get_community(slug)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            parent_id = int(form.parent_id.data) if form.parent_id.data else None
        except ValueError:
            parent_id = None
        try:
            comment = services.post_comment(
                actor=current_user, community=community, item_id=item_id, body=form.body.data,
                stance=form.stance.data or None, parent_id=parent_id, client_token=form.client_token.data,
                clause_key=form.clause_key.data or None,
            )
        except DomainError as err:
            if err.status_code in (403, 404):
                raise
            show_error(form, err)
        else:
            if wants_fragment():
                # The comment itself arrives through the live event. A reply form goes away;
                # the main form comes back empty, ready for the next comment.
                if parent_id:
                    return render("discussion/_empty.html")
                item = db.session.get(AgendaItem, item_id)
                return render("discussion/_form.html", community=community, item=item,
                              comment_form=CommentForm(formdata=None), parent=None)
            return redirect(_item_url(slug, item_id, comment.id), 303)
    item = get_item(community=community, item_id=item_id, viewer=current_user)
    if wants_fragment():
        return render("discussion/_form.html", community=community, item=item, comment_form=form, parent=None,
                      status_code=400)
    # Without JavaScript: the whole page again, with the typed text and the message.
    return render("agenda/show.html", status_code=400, **item_page_context(community, item, comment_form=form))


@bp.route("/items/<int:item_id>/comments/<int:comment_id>/reply")
@login_required
def reply_form(slug: str, item_id: int, comment_id: int):
    community = get_community(slug)
    item = get_item(community=community, item_id=item_id, viewer=current_user)
    parent = services.comment_in(community, comment_id)
    if parent.item_id != item.id:
        abort(404)
    form = CommentForm(formdata=None, parent_id=parent.id)
    return render("discussion/reply.html", "reply_form", community=community, item=item, parent=parent,
                  comment_form=form)


@bp.route("/comments/<int:comment_id>/actions")
def actions(slug: str, comment_id: int):
    """The personal controls of one comment (edit, remove, flag, moderate): never broadcast."""
    community = get_community(slug)
    comment = services.comment_in(community, comment_id)
    item = db.session.get(AgendaItem, comment.item_id)
    viewer = current_user if current_user.is_authenticated else None
    return render("discussion/_actions.html", community=community, item=item, c=comment, viewer=viewer)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, comment_id: int):
    community = get_community(slug)
    comment = services.comment_in(community, comment_id)
    form = EditCommentForm(obj=comment)
    if request.method == "GET" and not services.can_edit(current_user, comment):
        flash(_("Comments can be edited for 15 minutes after posting."), "info")
        return redirect(_item_url(slug, comment.item_id, comment.id), 303)
    edited = submit_form(form, lambda: services.edit_comment(actor=current_user, community=community,
                                                        comment_id=comment_id, body=form.body.data))
    if edited is not NOT_SUBMITTED:
        return redirect(_item_url(slug, comment.item_id, comment.id), 303)
    return render("discussion/edit.html", community=community, c=comment, form=form, status_code=status_for(form))


@bp.route("/comments/<int:comment_id>/remove", methods=["POST"])
@login_required
def remove(slug: str, comment_id: int):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    comment = services.remove_comment(actor=current_user, community=community, comment_id=comment_id)
    flash(_("Your comment was removed. Replies to it stay in place."), "info")
    return redirect(_item_url(slug, comment.item_id, comment.id), 303)


@bp.route("/comments/<int:comment_id>/flag", methods=["GET", "POST"])
@login_required
def flag(slug: str, comment_id: int):
    community = get_community(slug)
    comment = services.comment_in(community, comment_id)
    form = FlagForm()
    flagged = submit_form(form, lambda: services.flag_comment(actor=current_user, community=community,
                                                         comment_id=comment_id, reason=form.reason.data))
    if flagged is not NOT_SUBMITTED:
        flash(_("Thank you. Staff will look at this comment."), "success")
        return redirect(_item_url(slug, comment.item_id, comment.id), 303)
    return render("discussion/flag.html", community=community, c=comment, form=form, status_code=status_for(form),
                  may_read_text=services.may_read_text(current_user, community, comment))


@bp.route("/comments/<int:comment_id>/hide", methods=["GET", "POST"])
@login_required
def hide(slug: str, comment_id: int):
    community = get_community(slug)
    comment = services.comment_to_moderate(actor=current_user, community=community, comment_id=comment_id)
    form = HideForm()
    hidden = submit_form(form, lambda: services.hide_comment(actor=current_user, community=community,
                                                        comment_id=comment_id, reason=form.reason.data))
    if hidden is not NOT_SUBMITTED:
        flash(_("The comment is hidden."), "success")
        if request.args.get("back") == "queue":
            return redirect(url_for("discussion.queue", slug=slug), 303)
        return redirect(_item_url(slug, comment.item_id, comment.id), 303)
    return render("discussion/hide.html", community=community, c=comment, form=form, status_code=status_for(form))


@bp.route("/comments/<int:comment_id>/restore", methods=["POST"])
@login_required
def restore(slug: str, comment_id: int):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    comment = services.restore_comment(actor=current_user, community=community, comment_id=comment_id)
    flash(_("The comment is shown again."), "success")
    return redirect(_item_url(slug, comment.item_id, comment.id), 303)


@bp.route("/comments/<int:comment_id>/dismiss", methods=["POST"])
@login_required
def dismiss(slug: str, comment_id: int):
    community = get_community(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.dismiss_flags(actor=current_user, community=community, comment_id=comment_id)
    flash(_("The flags were dismissed; the comment stays."), "info")
    return redirect(url_for("discussion.queue", slug=slug), 303)


@bp.route("/moderation")
@login_required
def queue(slug: str):
    community = get_community(slug)
    comments = services.flag_queue(actor=current_user, community=community)
    return render("discussion/queue.html", community=community, comments=comments,
                  flags={c.id: services.open_flags(c) for c in comments}, action_form=ActionForm())

"""Meeting pages: the list, scheduling and the agenda, the meeting page for members (attend,
follow live, ask to speak), the chair console, the projector, check-in, and the minutes."""

from __future__ import annotations

from datetime import datetime

import segno
from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from ..agenda.views import category_label
from ..communities.forms import ActionForm
from ..communities.permissions import can, require
from ..communities.services import get_community, search_members, verified_members
from ..errors import DomainError, NotFound, PermissionDenied
from ..extensions import login_manager
from ..forms import NOT_SUBMITTED, flash_refusals, status_for, submit_form
from ..realtime import last_event_id
from ..rendering import render, wants_fragment
from ..text import render_markdown
from ..timeutil import local_to_utc, utc_to_local
from ..voting import services as voting
from . import labels, services
from .forms import AgendaEntryForm, MeetingForm, MinutesForm, NoteForm, SpeakerForm
from .models import MeetingStatus

bp = Blueprint("meetings", __name__, url_prefix="/c/<slug>")


@bp.app_context_processor
def meeting_helpers():
    return {"meeting_status_labels": labels.STATUS_LABELS, "meeting_mode_labels": labels.MODE_LABELS,
            "presence_labels": labels.PRESENCE_LABELS, "check_in_how_labels": labels.CHECK_IN_HOW_LABELS,
            "meetings_of_item": services.meetings_of_item, "MeetingStatus": MeetingStatus}


def _viewer():
    return current_user if current_user.is_authenticated else None


def _draft_from(form: MeetingForm) -> services.MeetingDraft:
    def utc(moment: datetime | None):
        return local_to_utc(moment) if moment else None

    return services.MeetingDraft(title=form.title.data or "", mode=form.mode.data, place=form.place.data or "",
                                 starts_at=utc(form.starts_at.data), ends_at=utc(form.ends_at.data),
                                 speaking_minutes=form.speaking_minutes.data)


@bp.route("/meetings")
def index(slug: str):
    community = get_community(slug)
    upcoming, past = services.meetings_of(community, _viewer())
    return render("meetings/list.html", community=community, upcoming=upcoming, past=past,
                  may_run=can(_viewer(), community, "meetings.run"))


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new(slug: str):
    community = get_community(slug)
    require(current_user, community, "meetings.run")
    form = MeetingForm()
    meeting = submit_form(form, lambda: services.schedule_meeting(actor=current_user, community=community,
                                                                  draft=_draft_from(form)))
    if meeting is not NOT_SUBMITTED:
        flash(_("The meeting is saved as a draft. Now put items on its agenda, then publish it."), "success")
        return redirect(url_for("meetings.edit", slug=slug, meeting_id=meeting.id), 303)
    return render("meetings/form.html", community=community, form=form, meeting=None, status_code=status_for(form))


def _agenda_form(community, meeting) -> AgendaEntryForm:
    form = AgendaEntryForm(prefix="agenda")
    form.item_id.choices = [SelectChoice(i.id, f"#{i.id} {i.title} ({category_label(i.category)})")
                            for i in services.schedulable_items(community, meeting)]
    return form


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, meeting_id: int):
    """The meeting's details and its agenda (the chair's preparation page)."""
    community = get_community(slug)
    require(current_user, community, "meetings.run")
    meeting = services.meeting_in(community, meeting_id, current_user)
    form = MeetingForm(obj=meeting) if request.method == "GET" else MeetingForm()
    if request.method == "GET":
        form.starts_at.data = utc_to_local(meeting.starts_at)
        form.ends_at.data = utc_to_local(meeting.ends_at)
        form.speaking_minutes.data = meeting.speaking_seconds / 60
    agenda_form = _agenda_form(community, meeting)
    what = request.form.get("what")
    status = 200
    if request.method == "POST" and what == "details":
        saved = submit_form(form, lambda: services.update_meeting(actor=current_user, community=community,
                                                                  meeting_id=meeting.id, draft=_draft_from(form)))
        if saved is not NOT_SUBMITTED:
            flash(_("The meeting is saved."), "success")
            return redirect(url_for("meetings.edit", slug=slug, meeting_id=meeting.id), 303)
        status = status_for(form)
    elif request.method == "POST" and what == "add":
        added = submit_form(agenda_form, lambda: services.add_to_agenda(
            actor=current_user, community=community, meeting_id=meeting.id, item_id=agenda_form.item_id.data,
            minutes=agenda_form.minutes.data))
        if added is not NOT_SUBMITTED:
            return redirect(url_for("meetings.edit", slug=slug, meeting_id=meeting.id, _anchor="agenda"), 303)
        status = status_for(agenda_form)
    return render("meetings/edit.html", community=community, meeting=meeting, form=form, agenda_form=agenda_form,
                  status_code=status)


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@login_required
def agenda(slug: str, meeting_id: int):
    """Reorder, re-time or remove an agenda entry, or publish the meeting."""
    community = get_community(slug)
    what = request.form.get("what")
    entry_id = request.form.get("entry_id", type=int) or 0
    with flash_refusals():
        if what == "move":
            services.move_on_agenda(actor=current_user, community=community, meeting_id=meeting_id,
                                    entry_id=entry_id, direction=request.form.get("direction", ""))
        elif what == "remove":
            services.remove_from_agenda(actor=current_user, community=community, meeting_id=meeting_id,
                                        entry_id=entry_id)
        elif what == "minutes":
            services.set_time_box(actor=current_user, community=community, meeting_id=meeting_id, entry_id=entry_id,
                                  minutes=request.form.get("minutes"))
        elif what == "publish":
            services.publish_meeting(actor=current_user, community=community, meeting_id=meeting_id)
            flash(_("The meeting is published and members are told."), "success")
            return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting_id), 303)
    return redirect(url_for("meetings.edit", slug=slug, meeting_id=meeting_id, _anchor="agenda"), 303)


@bp.route("/meetings/<int:meeting_id>")
def show(slug: str, meeting_id: int):
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, _viewer())
    viewer = _viewer()
    return render("meetings/show.html", "me", **services.live_context(meeting),
                  attending=services.attending(meeting, viewer), going=services.attendance_count(meeting),
                  my_check_in=services.check_in_of(meeting, viewer), mine=services.my_request(meeting, viewer),
                  may_run=can(viewer, community, "meetings.run"),
                  member=can(viewer, community, "community.participate"),
                  my_proxy=services.meeting_proxy_from(meeting, viewer),
                  held=services.meeting_proxies_held(meeting, viewer),
                  members=voting.proxy_delegates(community) if viewer else [],
                  last_event_id=last_event_id())


@bp.route("/meetings/<int:meeting_id>/me", methods=["POST"])
@login_required
def me(slug: str, meeting_id: int):
    """A member's own actions: say they will come, join online, ask to speak, withdraw."""
    community = get_community(slug)
    what = request.form.get("what")
    with flash_refusals():
        if what in ("attend", "unattend"):
            services.attend(actor=current_user, community=community, meeting_id=meeting_id, on=what == "attend")
        elif what == "online":
            services.join_online(actor=current_user, community=community, meeting_id=meeting_id)
        elif what == "speak":
            services.request_to_speak(actor=current_user, community=community, meeting_id=meeting_id)
            flash(_("You are in the queue. The chair will call you."), "success")
        elif what == "withdraw":
            services.withdraw_request(actor=current_user, community=community, meeting_id=meeting_id)
        elif what == "proxy":
            services.grant_meeting_proxy(actor=current_user, community=community, meeting_id=meeting_id,
                                         delegate_id=request.form.get("delegate_id", type=int) or 0)
            flash(_("Your proxy is recorded for this meeting."), "success")
        elif what == "revoke_proxy":
            services.revoke_meeting_proxy(actor=current_user, community=community, meeting_id=meeting_id,
                                          proxy_id=request.form.get("proxy_id", type=int) or 0)
            flash(_("Your proxy is revoked."), "success")
    return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting_id, _anchor="live"), 303)


# ---------------------------------------------------------------- the chair console


CONSOLE_ACTIONS = {
    "start": lambda a, c, m, f: services.start_meeting(actor=a, community=c, meeting_id=m),
    "end": lambda a, c, m, f: services.end_meeting(actor=a, community=c, meeting_id=m),
    "next": lambda a, c, m, f: services.take_item(actor=a, community=c, meeting_id=m),
    "take": lambda a, c, m, f: services.take_item(actor=a, community=c, meeting_id=m,
                                                  entry_id=f.get("entry_id", type=int) or 0),
    "call": lambda a, c, m, f: services.call_next(actor=a, community=c, meeting_id=m),
    "finish": lambda a, c, m, f: services.finish_speaker(actor=a, community=c, meeting_id=m),
    "add_speaker": lambda a, c, m, f: services.add_speaker(actor=a, community=c, meeting_id=m,
                                                           name=f.get("name", "")),
    "move_speaker": lambda a, c, m, f: services.move_speaker(actor=a, community=c, meeting_id=m,
                                                             speaker_id=f.get("speaker_id", type=int) or 0,
                                                             direction=f.get("direction", "")),
    "remove_speaker": lambda a, c, m, f: services.remove_speaker(actor=a, community=c, meeting_id=m,
                                                                 speaker_id=f.get("speaker_id", type=int) or 0),
    "open_vote": lambda a, c, m, f: services.open_vote(actor=a, community=c, meeting_id=m,
                                                      measure_id=f.get("measure_id", type=int) or 0),
    "close_vote": lambda a, c, m, f: services.close_vote(actor=a, community=c, meeting_id=m,
                                                        measure_id=f.get("measure_id", type=int) or 0),
    "hands": lambda a, c, m, f: services.record_hands(
        actor=a, community=c, meeting_id=m, measure_id=f.get("measure_id", type=int) or 0,
        counts={k[len("count_"):]: v for k, v in f.items() if k.startswith("count_")}),
    "note": lambda a, c, m, f: services.add_note(actor=a, community=c, meeting_id=m, text=f.get("text", "")),
    "projector_link": lambda a, c, m, f: services.issue_projector_link(actor=a, community=c, meeting_id=m),
    "revoke_projector_link": lambda a, c, m, f: services.revoke_projector_link(actor=a, community=c, meeting_id=m),
    "remove_check_in": lambda a, c, m, f: services.undo_check_in(actor=a, community=c, meeting_id=m,
                                                                 user_id=f.get("user_id", type=int) or 0),
}


# Console steps that cannot be undone: they ask first (a dialog, or the confirmation page).
IRREVERSIBLE = frozenset({"end", "close_vote"})


@bp.route("/meetings/<int:meeting_id>/console/confirm")
@login_required
def confirm(slug: str, meeting_id: int):
    """Says what an irreversible console step will do, with the button that does it."""
    community = get_community(slug)
    require(current_user, community, "meetings.run")
    meeting = services.meeting_in(community, meeting_id, current_user)
    action = request.args.get("action", "")
    if action not in IRREVERSIBLE:
        return redirect(url_for("meetings.console", slug=slug, meeting_id=meeting.id), 303)
    measure = turnout = None
    if action == "close_vote":
        measure = voting.measure_in(community, request.args.get("measure_id", type=int) or 0, current_user)
        turnout = voting.exact_turnout(measure)  # how many have not voted: a count, never a choice
    return render("meetings/confirm.html", community=community, meeting=meeting, action=action, measure=measure,
                  turnout=turnout)


def _console(community, meeting, *, error: str | None = None, status_code: int = 200):
    context = services.live_context(meeting)
    # The chair's "close now?" question counts who has not voted exactly (secret figures shown
    # to everyone move in steps).
    close_turnouts = {m.id: voting.exact_turnout(m) for m in context["measures"] if m.id in context["turnouts"]}
    return render("meetings/console.html", "console", **context, close_turnouts=close_turnouts, error=error,
                  check_ins=services.check_ins(meeting),
                  speaker_form=SpeakerForm(formdata=None), note_form=NoteForm(formdata=None),
                  values=request.form if error else {}, status_code=status_code)


@bp.route("/meetings/<int:meeting_id>/console", methods=["GET", "POST"])
@login_required
def console(slug: str, meeting_id: int):
    """One page that drives the meeting. Each button posts here (htmx swaps the console)."""
    community = get_community(slug)
    require(current_user, community, "meetings.run")
    meeting = services.meeting_in(community, meeting_id, current_user)
    if request.method == "POST":
        action = CONSOLE_ACTIONS.get(request.form.get("action", ""))
        if action is None:
            return _console(community, meeting, error=_("Unknown action."), status_code=400)
        if request.form.get("action") in IRREVERSIBLE and request.form.get("confirmed") != "1":
            # Not confirmed in the dialog (no JavaScript): ask on a page first.
            ask = url_for("meetings.confirm", slug=slug, meeting_id=meeting.id, action=request.form["action"],
                          measure_id=request.form.get("measure_id", type=int))
            return ("", 200, {"HX-Redirect": ask}) if wants_fragment() else redirect(ask, 303)
        try:
            action(current_user, community, meeting.id, request.form)
        except DomainError as err:
            if err.status_code in (403, 404) and not wants_fragment():
                raise
            meeting = services.meeting_in(community, meeting_id, current_user)
            return _console(community, meeting, error=str(err.message), status_code=err.status_code)
        if not wants_fragment():
            return redirect(url_for("meetings.console", slug=slug, meeting_id=meeting.id), 303)
        meeting = services.meeting_in(community, meeting_id, current_user)
    return _console(community, meeting)


# ---------------------------------------------------------------- projector and check-in


def _qr_svg(target: str) -> Markup:
    return Markup(segno.make(target, error="m").svg_inline(scale=6, border=2, title=target, omitsize=True))  # noqa: S704 - our URL


def _projector_session_key(meeting_id: int) -> str:
    return f"projector:{meeting_id}"


def _require_projector(community, meeting) -> None:
    """The projector shows the check-in code: only the chair's link or a chair/staff login."""
    key = session.get(_projector_session_key(meeting.id))
    if not services.may_project(_viewer(), community, meeting, key):
        raise PermissionDenied(_("The projector opens through the chair's projector link, or for a meeting chair "
                                 "or staff who is logged in."))


@bp.route("/meetings/<int:meeting_id>/screen/<key>")
def projector_link(slug: str, meeting_id: int, key: str):
    """The chair's projector link: remembered by this browser, then the projector without the key
    in its address (so it is not in the history or shown on the wall)."""
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, _viewer())
    if not services.may_project(None, community, meeting, key):
        raise NotFound(_("This projector link is not valid any more. Ask the chair for the current one."))
    session[_projector_session_key(meeting.id)] = key
    session.permanent = True
    return redirect(url_for("meetings.projector", slug=slug, meeting_id=meeting.id), 303)


@bp.route("/meetings/<int:meeting_id>/projector")
def projector(slug: str, meeting_id: int):
    """Full screen, no controls, read from the back of the room; it follows the meeting live."""
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, _viewer())
    if not current_user.is_authenticated and not session.get(_projector_session_key(meeting.id)):
        return login_manager.unauthorized()
    _require_projector(community, meeting)
    return render("meetings/projector.html", **services.live_context(meeting), last_event_id=last_event_id())


@bp.route("/meetings/<int:meeting_id>/projector/code")
def projector_code(slug: str, meeting_id: int):
    """The current check-in code as a QR code, fetched by the projector every few seconds: never
    part of the meeting's live events, which anyone may replay."""
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, _viewer())
    _require_projector(community, meeting)
    code = services.checkin_code(meeting)
    qr = _qr_svg(url_for("meetings.check_in", slug=community.slug, meeting_id=meeting.id, token=code,
                         _external=True)) if code else None
    response = render("meetings/_checkin_code.html", community=community, meeting=meeting, qr=qr)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/meetings/<int:meeting_id>/checkin/<token>", methods=["GET", "POST"])
@login_required
def check_in(slug: str, meeting_id: int, token: str):
    """Scanned from the projector: a confirmation page (after logging in, if needed: the login
    page comes back here); the check-in itself is the POST of its button."""
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, current_user)
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        with flash_refusals(reraise=(404,)):
            services.check_in_with_code(actor=current_user, community=community, meeting_id=meeting_id, token=token)
            flash(_("You are checked in. Welcome!"), "success")
        return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting_id, _anchor="live"), 303)
    return render("meetings/checkin.html", community=community, meeting=meeting, token=token,
                  my_check_in=services.check_in_of(meeting, current_user), action_form=ActionForm())


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["GET", "POST"])
@login_required
def attendance(slug: str, meeting_id: int):
    """Staff tick off who is in the room (for people without phones) and see who is present."""
    community = get_community(slug)
    require(current_user, community, "meetings.checkin")
    meeting = services.meeting_in(community, meeting_id, current_user)
    if request.method == "POST":
        user_id = request.form.get("user_id", type=int) or 0
        with flash_refusals(reraise=(403,)):
            if request.form.get("what") == "paper_proxy":
                services.grant_meeting_proxy(actor=current_user, community=community, meeting_id=meeting.id,
                                             delegate_id=request.form.get("delegate_id", type=int) or 0,
                                             grantor_id=request.form.get("grantor_id", type=int) or 0)
                flash(_("The paper proxy is recorded."), "success")
            elif request.form.get("what") == "revoke_proxy":
                services.revoke_meeting_proxy(actor=current_user, community=community, meeting_id=meeting.id,
                                              proxy_id=request.form.get("proxy_id", type=int) or 0)
            elif request.form.get("what") == "undo":
                services.undo_check_in(actor=current_user, community=community, meeting_id=meeting.id,
                                       user_id=user_id)
            else:
                services.check_in_member(actor=current_user, community=community, meeting_id=meeting.id,
                                         user_id=user_id)
        if not wants_fragment():
            return redirect(url_for("meetings.attendance", slug=slug, meeting_id=meeting.id), 303)
    checked = {c.user_id: c for c in services.check_ins(meeting)}
    query = (request.args.get("q") or "").strip()
    everyone = verified_members(community)
    return render("meetings/attendance.html", "roster", community=community, meeting=meeting, query=query,
                  members=search_members(community, query) if query else everyone, everyone=everyone,
                  delegates=voting.proxy_delegates(community),
                  checked=checked, present=services.present(meeting),
                  proxies=services.active_meeting_proxies(meeting), may_paper=can(current_user, community,
                                                                                  "votes.paper"))


# ---------------------------------------------------------------- minutes


@bp.route("/meetings/<int:meeting_id>/minutes")
def minutes(slug: str, meeting_id: int):
    community = get_community(slug)
    meeting = services.meeting_in(community, meeting_id, _viewer())
    may_run = can(_viewer(), community, "meetings.run")
    published = meeting.minutes_published_at is not None
    text = meeting.minutes_text if published or may_run else ""
    return render("meetings/minutes.html", community=community, meeting=meeting, published=published,
                  minutes_html=render_markdown(text) if text else "", may_run=may_run)


@bp.route("/meetings/<int:meeting_id>/minutes/edit", methods=["GET", "POST"])
@login_required
def edit_minutes(slug: str, meeting_id: int):
    community = get_community(slug)
    require(current_user, community, "meetings.run")
    meeting = services.meeting_in(community, meeting_id, current_user)
    form = MinutesForm(data={"text": meeting.minutes_text} if request.method == "GET" else None)
    publish = request.form.get("what") == "publish"

    def save():
        services.save_minutes(actor=current_user, community=community, meeting_id=meeting.id, text=form.text.data,
                              publish=publish)

    if submit_form(form, save) is not NOT_SUBMITTED:
        flash(_("The minutes are published.") if publish
              else _("The minutes are saved. Publish them when they are final."), "success")
        return redirect(url_for("meetings.minutes", slug=slug, meeting_id=meeting.id), 303)
    return render("meetings/minutes_edit.html", community=community, meeting=meeting, form=form,
                  status_code=status_for(form))


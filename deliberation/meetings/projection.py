"""The projector's evidence: the chair puts one picture (the site plan, a photo) beside the
current item and takes it down; the projector shows it live through the meeting's room."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import realtime
from ..accounts.models import User
from ..attachments import services as attachments
from ..attachments.models import Attachment, AttachmentKind, Projection
from ..communities.models import Community
from ..communities.permissions import require
from ..errors import InvalidTransition, NotFound
from ..extensions import db
from .models import Meeting, MeetingStatus
from .services import meeting_in


def projectable(meeting: Meeting) -> list[Attachment]:
    """The pictures the chair may show now: those on the meeting's agenda, then those of the
    current item (on it, its reviews, its convention, ...). All are public to whoever reads the
    projector."""
    pictures = list(db.session.scalars(select(Attachment).where(
        Attachment.target == "meeting", Attachment.target_id == meeting.id,
        Attachment.kind == AttachmentKind.IMAGE).order_by(Attachment.id)))
    if meeting.current is not None:
        pictures.extend(attachments.on_item(meeting.current.item_id, kind=AttachmentKind.IMAGE))
    return pictures


def projected(meeting: Meeting) -> Attachment | None:
    found = db.session.get(Projection, meeting.id)
    return found.attachment if found is not None else None


def project_attachment(*, actor: User, community: Community, meeting_id: int, attachment_id: int) -> Projection:
    """Show one picture on the projector beside the current item (replacing any other)."""
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    if meeting.status != MeetingStatus.LIVE:
        raise InvalidTransition(_l("Pictures can be shown on the projector while the meeting is in progress."))
    if attachment_id not in {a.id for a in projectable(meeting)}:
        raise NotFound(_l("That picture belongs neither to the current item nor to this meeting's agenda."))
    projection = db.session.get(Projection, meeting.id)
    if projection is None:
        projection = Projection(meeting_id=meeting.id, attachment_id=attachment_id, shown_by_id=actor.id)
        db.session.add(projection)
    else:
        projection.attachment_id = attachment_id
        projection.shown_by_id = actor.id
    db.session.commit()
    _announce(community, meeting)
    return projection


def take_down(*, actor: User, community: Community, meeting_id: int) -> None:
    """Take the picture off the projector."""
    require(actor, community, "meetings.run")
    meeting = meeting_in(community, meeting_id, actor)
    db.session.execute(db.delete(Projection).where(Projection.meeting_id == meeting.id))
    db.session.commit()
    _announce(community, meeting)


def _announce(community: Community, meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.DRAFT:
        return
    realtime.announce(
        f"meeting:{meeting.id}", "projection.changed",
        render=lambda: render_template("meetings/_projection.html", community=community, meeting=meeting,
                                       projected=projected(meeting)),
        target=f"#projection-{meeting.id}")

"""Attachments on a meeting's agenda and on its minutes (chair and staff): the targets
registered with the attachments component. The agenda's files are read by whoever may read the
meeting; the minutes' files, like the minutes, by everyone once published."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..attachments.targets import Target
from ..communities.permissions import can, require
from ..errors import InvalidTransition, NotFound
from ..urls import link
from . import services
from .models import MeetingStatus


class MeetingTarget(Target):
    key = "meeting"

    def load(self, community, target_id, viewer):
        return services.meeting_in(community, target_id, viewer)

    def check_attach(self, actor, community, thing):
        require(actor, community, "meetings.run")
        if thing.status == MeetingStatus.ENDED:
            raise InvalidTransition(_l("The meeting has ended: add files to its minutes instead."))

    def url(self, community, thing):
        return link("meetings.show", slug=community.slug, meeting_id=thing.id, _anchor="attachments")


class MinutesTarget(Target):
    key = "minutes"

    def load(self, community, target_id, viewer):
        meeting = services.meeting_in(community, target_id, viewer)
        if meeting.minutes_published_at is None and not can(viewer, community, "meetings.run"):
            raise NotFound(_l("That meeting does not exist in this community."))
        return meeting

    def check_attach(self, actor, community, thing):
        require(actor, community, "meetings.run")
        if thing.status != MeetingStatus.ENDED or thing.minutes_published_at is not None:
            raise InvalidTransition(_l("Files can be added to the minutes after the meeting, until they are "
                                       "published."))

    def url(self, community, thing):
        return link("meetings.minutes", slug=community.slug, meeting_id=thing.id, _anchor="attachments")


TARGETS = (MeetingTarget(), MinutesTarget())

"""Attachments on a convention's draft (its authors, while drafting) and on an amendment (its
proposer, while it waits): the targets registered with the attachments component."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..attachments.targets import Target
from ..errors import InvalidTransition, PermissionDenied
from ..urls import link
from . import services
from .models import Amendment, AmendmentStatus, Convention, ConventionState


class ConventionTarget(Target):
    key = "convention"

    def load(self, community, target_id, viewer):
        return services.convention_in(community, target_id, viewer)

    def check_attach(self, actor, community, thing):
        if not services.is_author(actor, thing):
            raise PermissionDenied(_l("Only the convention's authors can add or remove its files."))
        if not services.may_edit(actor, thing):
            raise InvalidTransition(_l("Files can be added or removed only while the text is being drafted."))

    def url(self, community, thing):
        return link("conventions.show", slug=community.slug, convention_id=thing.id, _anchor="attachments")

    def ids_on_item(self, item_id):
        return select(Convention.id).where(Convention.item_id == item_id)


class AmendmentTarget(Target):
    key = "amendment"

    def load(self, community, target_id, viewer):
        return services.amendment_in(community, target_id, viewer)

    def check_attach(self, actor, community, thing):
        if actor.id != thing.author_id:
            raise PermissionDenied(_l("Only the person who proposed the amendment can add or remove its files."))
        convention = services.convention_in(community, thing.convention_id, actor)
        if thing.status != AmendmentStatus.PROPOSED or convention.state != ConventionState.DRAFTING:
            raise InvalidTransition(_l("Files can be added or removed only while the amendment waits."))

    def url(self, community, thing):
        return link("conventions.show", slug=community.slug, convention_id=thing.convention_id,
                    _anchor=f"amendment-{thing.number}")

    def ids_on_item(self, item_id):
        return select(Amendment.id).where(Amendment.convention_id.in_(
            select(Convention.id).where(Convention.item_id == item_id)))


TARGETS = (ConventionTarget(), AmendmentTarget())

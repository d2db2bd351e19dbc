"""The things attachments can be put on: a registry of small classes keyed by name.

Each target says how to find the thing in a community (with the same read permission as the
thing's own page: a draft's photo is its author's alone), who may attach files to it and when,
and where its page is. Agenda items and reviews are registered here; later components
(conventions, meetings) register theirs through ``register`` from ``create_app``, in one place.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus
from ..communities.models import Community
from ..communities.permissions import can
from ..errors import InvalidTransition, PermissionDenied
from ..review import services as review
from ..review.models import Review
from ..urls import link

# Evidence may be added or removed until the vote: after that, it is what people decided on.
OPEN_ITEM_STATUSES = frozenset({ItemStatus.DRAFT, ItemStatus.SUBMITTED, ItemStatus.ACCEPTED,
                                ItemStatus.IN_REVIEW, ItemStatus.SCHEDULED})


class Target:
    key: str = ""

    def load(self, community: Community, target_id: int, viewer: User | None):
        """The thing, if it exists in ``community`` and ``viewer`` may read it; else NotFound."""
        raise NotImplementedError

    def check_attach(self, actor: User, community: Community, thing) -> None:
        """Raise PermissionDenied / InvalidTransition unless ``actor`` may add or remove files now."""
        raise NotImplementedError

    def acts_for(self, actor: User, thing) -> User | None:
        """The person whose thing it is, when ``actor`` acts for them (staff for a managed resident)."""
        return None

    def url(self, community: Community, thing) -> str:
        raise NotImplementedError

    def item_of(self, thing) -> AgendaItem | None:
        """The agenda item the thing belongs to (its page shows the files live)."""
        return None

    def ids_on_item(self, item_id: int) -> Select | None:
        """A query of the ids of this kind of thing that belong to an agenda item (None: none do)."""
        return None


def _check_item_open(item: AgendaItem) -> None:
    if item.status not in OPEN_ITEM_STATUSES:
        raise InvalidTransition(_l("Files can be added or removed only until the vote begins."))


class ItemTarget(Target):
    key = "item"

    def load(self, community, target_id, viewer):
        return agenda.get_item(community=community, item_id=target_id, viewer=viewer)

    def check_attach(self, actor, community, thing: AgendaItem):
        if actor.id != thing.author_id and self.acts_for(actor, thing) is None:
            raise PermissionDenied(_l("Only the item's author (or staff, for a resident without a phone) can "
                                      "add or remove its files."))
        _check_item_open(thing)

    def acts_for(self, actor, thing: AgendaItem):
        author = thing.author
        if (actor.id != author.id and author.is_managed and author.managed_by_community_id == thing.community_id
                and can(actor, thing.community, "accounts.manage")):
            return author
        return None

    def url(self, community, thing):
        return link("agenda.show", slug=community.slug, item_id=thing.id, _anchor="attachments")

    def item_of(self, thing):
        return thing

    def ids_on_item(self, item_id):
        return select(AgendaItem.id).where(AgendaItem.id == item_id)


class ReviewTarget(Target):
    key = "review"

    def load(self, community, target_id, viewer):
        found: Review = review.review_in(community, target_id)
        # A review is read where its item is read.
        agenda.get_item(community=community, item_id=found.item_id, viewer=viewer)
        return found

    def check_attach(self, actor, community, thing: Review):
        if actor.id != thing.reviewer_id:
            raise PermissionDenied(_l("Only the reviewer can add or remove the files of a review."))
        item = agenda.get_item(community=community, item_id=thing.item_id, viewer=actor)
        _check_item_open(item)

    def url(self, community, thing):
        return link("agenda.show", slug=community.slug, item_id=thing.item_id, _anchor=f"review-{thing.id}")

    def item_of(self, thing):
        return thing.request.item

    def ids_on_item(self, item_id):
        return select(Review.id).where(Review.item_id == item_id)


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    TARGETS[target.key] = target
    return target


register(ItemTarget())
register(ReviewTarget())

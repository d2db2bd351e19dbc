"""Attachment operations: adding and removing files on a thing, reading them with the thing's
permission, and what the record of a decision cites. Only these functions write attachments."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select

from ..accounts.models import User
from ..audit.services import record
from ..communities.models import Community
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..review.models import Review
from . import events
from .models import Attachment, AttachmentKind
from .processing import process
from .storage import storage_for
from .targets import TARGETS, Target

ALT_MAX = 300

# The variants a file is served in: the name in the URL -> (column with its hash, column with its type)
VARIANTS = {
    "display": ("sha256", "mimetype"),
    "fallback": ("fallback_sha256", "fallback_mimetype"),
    "thumb": ("thumb_sha256", None),
    "thumb-fallback": ("thumb_fallback_sha256", "fallback_mimetype"),
}


def target(key: str) -> Target:
    found = TARGETS.get(key)
    if found is None:
        raise NotFound()
    return found


def attachments_of(target_key: str, target_id: int) -> list[Attachment]:
    return list(db.session.scalars(
        select(Attachment).where(Attachment.target == target_key, Attachment.target_id == target_id)
        .order_by(Attachment.id)))


def on_item(item_id: int, *, kind: str | None = None) -> list[Attachment]:
    """Every file that belongs to an agenda item: on it, its reviews, its convention, ..."""
    conditions = [(Attachment.target == key) & Attachment.target_id.in_(ids)
                  for key, ids in ((k, t.ids_on_item(item_id)) for k, t in TARGETS.items()) if ids is not None]
    query = select(Attachment).where(or_(*conditions))
    if kind is not None:
        query = query.where(Attachment.kind == kind)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def load_target(*, community: Community, target_key: str, target_id: int, viewer: User | None):
    return target(target_key).load(community, target_id, viewer)


def require_attach(*, actor: User, community: Community, target_key: str, thing) -> None:
    """Refuse (PermissionDenied, InvalidTransition) unless ``actor`` may add or remove files now."""
    target(target_key).check_attach(actor, community, thing)


def may_attach(*, actor: User | None, community: Community, target_key: str, thing) -> bool:
    if actor is None or not getattr(actor, "id", None):
        return False
    try:
        target(target_key).check_attach(actor, community, thing)
    except Exception:  # noqa: BLE001 - any refusal means "no button"
        return False
    return True


def add_attachment(
    *, actor: User, community: Community, target_key: str, target_id: int, filename: str | None, data: bytes,
    alt_text: str = "",
) -> Attachment:
    """Check, convert and store one uploaded file on a thing. Nothing is stored unless every
    check passes; a refusal names the field (``file`` or ``alt_text``) it is about."""
    kind = target(target_key)
    thing = kind.load(community, target_id, actor)
    kind.check_attach(actor, community, thing)
    config = current_app.config
    count = db.session.scalar(select(func.count(Attachment.id)).where(
        Attachment.target == target_key, Attachment.target_id == target_id)) or 0
    if count >= config["ATTACHMENTS_PER_THING"]:
        raise ValidationError(lazy_ngettext("At most %(num)d file can be attached here. Remove it first.",
                                           "At most %(num)d files can be attached here. Remove one first.",
                                           config["ATTACHMENTS_PER_THING"]), field="file")
    alt_text = " ".join((alt_text or "").split())
    if len(alt_text) > ALT_MAX:
        raise ValidationError(_l("The description must be at most %(n)d characters.", n=ALT_MAX), field="alt_text")
    processed = process(data, filename, max_bytes=config["ATTACHMENT_MAX_BYTES"],
                        max_pixels=config["ATTACHMENT_MAX_PIXELS"])
    if processed.kind == AttachmentKind.IMAGE and not alt_text:
        raise ValidationError(_l("Please describe the picture in a few words for people who cannot see it "
                                 "(for example: \"Plan of the east lot with 12 spaces\")."), field="alt_text")
    storage = storage_for(current_app)
    hashes = {label: storage.put(v.data) for label, v in processed.variants.items()}
    display = processed.variants["display"]
    fallback = processed.variants.get("display_fallback")
    attachment = Attachment(
        community_id=community.id, target=target_key, target_id=target_id, uploader_id=actor.id,
        kind=processed.kind, name=processed.name, alt_text=alt_text, sha256=hashes["display"],
        mimetype=display.mimetype, size=len(display.data),
        fallback_sha256=hashes.get("display_fallback"), fallback_mimetype=fallback.mimetype if fallback else None,
        thumb_sha256=hashes.get("thumb"), thumb_fallback_sha256=hashes.get("thumb_fallback"),
        width=processed.width, height=processed.height, page_count=processed.page_count,
    )
    db.session.add(attachment)
    db.session.flush()
    on_behalf = kind.acts_for(actor, thing)
    if on_behalf is not None:
        record(actor=actor, action="attachment.added", community=community, subject=on_behalf,
               attachment_id=attachment.id, target=target_key, target_id=target_id, sha256=attachment.sha256)
    db.session.commit()
    _announce(community, kind, thing)
    return attachment


def remove_attachment(*, actor: User, community: Community, attachment_id: int) -> Attachment:
    """Take a file off its thing (the stored file stays: a record may cite its hash)."""
    attachment = _in_community(community, attachment_id)
    kind = target(attachment.target)
    thing = kind.load(community, attachment.target_id, actor)
    kind.check_attach(actor, community, thing)
    on_behalf = kind.acts_for(actor, thing)
    if on_behalf is not None:
        record(actor=actor, action="attachment.removed", community=community, subject=on_behalf,
               attachment_id=attachment.id, target=attachment.target, target_id=attachment.target_id,
               sha256=attachment.sha256)
    from .models import Projection  # a file taken off its thing leaves every projector too

    db.session.execute(db.delete(Projection).where(Projection.attachment_id == attachment.id))
    db.session.delete(attachment)
    db.session.commit()
    _announce(community, kind, thing)
    return attachment


def _in_community(community: Community, attachment_id: int) -> Attachment:
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.community_id != community.id:
        raise NotFound(_l("That file does not exist in this community."))
    return found


@dataclass
class ServedFile:
    attachment: Attachment
    sha256: str
    mimetype: str


def file_for(*, viewer: User | None, community: Community, attachment_id: int, variant: str) -> ServedFile:
    """One stored file of an attachment, if ``viewer`` may read the thing it is on."""
    attachment = _in_community(community, attachment_id)
    target(attachment.target).load(community, attachment.target_id, viewer)  # NotFound if not readable
    columns = VARIANTS.get(variant)
    sha = getattr(attachment, columns[0]) if columns else None
    if sha is None:
        raise NotFound()
    mimetype = getattr(attachment, columns[1]) if columns[1] else "image/webp"
    if variant == "thumb-fallback" and attachment.kind == AttachmentKind.PDF:
        mimetype = "image/jpeg"  # a PDF's first page is drawn as a JPEG
    return ServedFile(attachment=attachment, sha256=sha, mimetype=mimetype)


def _announce(community: Community, kind: Target, thing) -> None:
    """The item's page shows its files and its reviews' files: refresh that gallery live."""
    item = kind.item_of(thing)
    if item is None or not item.is_public:
        return
    if kind.key == "item":
        events.gallery_changed(community, item.id, "item", item.id, attachments_of("item", item.id))
    elif kind.key == "review":
        events.gallery_changed(community, item.id, "review", thing.id, attachments_of("review", thing.id))


# ---------------------------------------------------------------- the record


def cited(attachment: Attachment, on: str, **extra) -> dict:
    return {"on": on, **extra, "name": attachment.name, "kind": attachment.kind, "mimetype": attachment.mimetype,
            "size": attachment.size, "sha256": attachment.sha256, "alt": attachment.alt_text or None,
            "pages": attachment.page_count}


def for_record(item_id: int) -> list[dict]:
    """What a resolution cites: the files on the item and on its reviews, each with its SHA-256
    (an image's display version, the one people saw; a PDF as uploaded)."""
    cites = [cited(a, "item") for a in attachments_of("item", item_id)]
    review_ids = list(db.session.scalars(select(Review.id).where(Review.item_id == item_id).order_by(Review.id)))
    if review_ids:
        rows = db.session.scalars(select(Attachment).where(
            Attachment.target == "review", Attachment.target_id.in_(review_ids)).order_by(Attachment.target_id,
                                                                                         Attachment.id))
        cites.extend(cited(a, "review", review_id=a.target_id) for a in rows)
    return cites

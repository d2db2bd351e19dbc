"""Models of attachments: one row per file attached to a thing (an item, a review, ...), and
the attachment a meeting's projector shows beside the current item."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..timeutil import utcnow


class AttachmentKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"


class Attachment(db.Model):
    """A photo, plan or document on one thing. The thing is named by ``target`` (a key of the
    target registry, see targets.py) and ``target_id``, so every component can take files
    without a table of its own. The files are content-addressed (storage.py)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_target", "target", "target_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    target: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int]
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(130))
    alt_text: Mapped[str] = mapped_column(Text, default="")
    # The file people see: a PDF as uploaded, or an image's display version (WebP).
    sha256: Mapped[str] = mapped_column(String(64))
    mimetype: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    # Images only: the same picture for browsers without WebP, and the thumbnails.
    fallback_sha256: Mapped[str | None] = mapped_column(String(64))
    fallback_mimetype: Mapped[str | None] = mapped_column(String(40))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    thumb_fallback_sha256: Mapped[str | None] = mapped_column(String(64))
    # An image's display size; a PDF's first-page thumbnail size (when PDFium could draw it).
    width: Mapped[int | None]
    height: Mapped[int | None]
    page_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploader: Mapped[User] = relationship()

    @property
    def is_image(self) -> bool:
        return self.kind == AttachmentKind.IMAGE

    @property
    def thumb_size(self) -> tuple[int, int] | None:
        """The thumbnail's size, worked out as Pillow's ``thumbnail`` does (for width/height attributes)."""
        if not (self.width and self.height):
            return None
        from .processing import THUMB_BOX

        scale = min(1.0, THUMB_BOX / max(self.width, self.height))
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


class Projection(db.Model):
    """The attachment a live meeting's projector shows beside the current item (one at most)."""

    __tablename__ = "projections"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    shown_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachment: Mapped[Attachment] = relationship()

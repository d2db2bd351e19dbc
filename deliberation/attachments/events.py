"""Live events of attachments: a gallery that changed, rendered for the item's room."""

from __future__ import annotations

from flask import render_template

from .. import realtime
from ..communities.models import Community


def gallery_changed(community: Community, item_id: int, on: str, thing_id: int, attachments: list) -> None:
    """Send the new gallery of the item or of one of its reviews to everyone on the item's page."""
    gallery_id = f"attachments-{on}-{thing_id}"
    realtime.announce(
        f"item:{item_id}", "attachments.changed",
        render=lambda: render_template("attachments/_gallery.html", community=community,
                                       attachments=attachments, gallery_id=gallery_id),
        target=f"#{gallery_id}")

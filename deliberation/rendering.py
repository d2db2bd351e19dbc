"""One route, two renderings: the full page, or only its fragment for an htmx request."""

from __future__ import annotations

from flask import make_response, render_template
from jinja2_fragments.flask import render_block

from .extensions import htmx


def wants_fragment() -> bool:
    # History restores need the whole page; so does a boosted navigation.
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render(template: str, block: str | None = None, *, status_code: int = 200, **context):
    """Render ``template``; answer an htmx request with just ``block`` of it."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status_code)
    response.vary.add("HX-Request")
    return response

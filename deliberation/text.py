"""User-written text: Markdown rendered with markdown-it-py (raw HTML off), then cleaned by nh3
with a small allowlist, so no script, event handler, javascript:/data: URL or SVG survives."""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table").enable(
    "strikethrough"
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h3", "h4", "h5", "h6", "a", "hr", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )


def render_markdown(text: str, *, link_mentions: Callable[[str], str] | None = None) -> Markup:
    """Markdown to safe HTML. Headings start at h3 so user text never outranks the page's own."""
    html = _md.render(text or "")
    html = re.sub(r"<(/?)h([12])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 2}>", html)
    if link_mentions is not None:
        html = link_mentions(html)
    return Markup(clean_html(html))  # noqa: S704 - cleaned by nh3 just above


def plain_excerpt(text: str, length: int = 140) -> str:
    """A one-line excerpt of Markdown source for lists (escaped when shown)."""
    flat = re.sub(r"[#>*_`~\[\]()!|-]+", " ", text or "")
    flat = " ".join(flat.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


__all__ = ["render_markdown", "clean_html", "plain_excerpt", "escape"]

"""URL helpers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import has_request_context, url_for

from .extensions import internal_request_context


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a redirect target (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def link(endpoint: str, **values) -> str:
    """url_for that also works where services run outside a request (CLI, tests, jobs)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with internal_request_context():
        return url_for(endpoint, **values)

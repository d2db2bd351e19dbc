"""What a member's community home shows them now. Later components (votes, meetings, reviews,
followed items) add their part through this one hook, registered in ``deliberation/now.py``,
so communities never import them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..accounts.models import User
from .models import Community

# name -> provider(community, member) returning what that part shows (empty: nothing to do).
_providers: dict[str, Callable[[Community, User], Any]] = {}


def register(name: str, provider: Callable[[Community, User], Any]) -> None:
    _providers[name] = provider


def needs_now(community: Community, member: User) -> dict[str, Any]:
    """Every registered part for this verified member: {name: what it found}."""
    return {name: provider(community, member) for name, provider in _providers.items()}

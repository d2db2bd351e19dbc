"""The one place where later components register what a member's community home shows them
now (``communities.home``): votes they can cast, meetings they are invited to, reviews asked of
them, and items they follow that have news."""

from __future__ import annotations

from .communities import home
from .discussion import services as discussion
from .meetings import services as meetings
from .review import services as review
from .voting import services as voting


def register_home_sections() -> None:
    home.register("votes", lambda community, member: voting.awaiting_ballot(community, member))
    home.register("meetings", lambda community, member: meetings.invited_to(community, member))
    home.register("reviews", lambda community, member: review.open_requests_for(community, member))
    home.register("news", lambda community, member: discussion.followed_with_news(community, member))

"""The one place where later components register what a member's community home shows them
now (``communities.home``): votes they can cast, meetings they are invited to, reviews asked of
them, and items they follow that have news; and the words the audit log's sentences use for
later components' values (a vote's outcome)."""

from __future__ import annotations

from .audit import sentences
from .communities import home
from .discussion import services as discussion
from .meetings import services as meetings
from .review import services as review
from .voting import services as voting
from .voting.labels import OUTCOME_LABELS


def register_audit_words() -> None:
    sentences.register_words("outcome", OUTCOME_LABELS)


def register_home_sections() -> None:
    home.register("votes", lambda community, member: voting.awaiting_ballot(community, member))
    home.register("meetings", lambda community, member: meetings.invited_to(community, member))
    home.register("reviews", lambda community, member: review.open_requests_for(community, member))
    home.register("news", lambda community, member: discussion.followed_with_news(community, member))

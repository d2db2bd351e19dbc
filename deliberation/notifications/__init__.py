"""In-app notifications, shared by every component (mentions, reviews, votes, ...)."""

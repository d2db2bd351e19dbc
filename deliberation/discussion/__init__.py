"""Live discussion threads on agenda items: nested replies with stances, edits, moderation."""

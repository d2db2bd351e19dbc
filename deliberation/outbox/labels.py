"""Words for outbox states and channels, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import Channel, MessageStatus, Mode

STATUS_LABELS = {
    MessageStatus.PENDING: _l("Waiting"),
    MessageStatus.SENDING: _l("Sending"),
    MessageStatus.SENT: _l("Sent"),
    MessageStatus.MERGED: _l("Sent with another message"),
    MessageStatus.FAILED: _l("Failed"),
    MessageStatus.SKIPPED: _l("Not sent"),
}

CHANNEL_LABELS = {Channel.EMAIL: _l("Email"), Channel.SMS: _l("Text message (SMS)")}

MODE_LABELS = {Mode.IMMEDIATE: _l("At once"), Mode.DIGEST: _l("Daily digest"), Mode.NEVER: _l("Never")}

# The kinds of message a person chooses channels for, in the order the page lists them.
KIND_LABELS = {
    "vote.opened": _l("A vote opens"),
    "reminder.vote_closing": _l("Reminder: a vote closes soon and I have not voted"),
    "meeting.scheduled": _l("A meeting is scheduled"),
    "reminder.meeting_starting": _l("Reminder: a meeting I said I would come to starts soon"),
    "review_requested": _l("I am asked for a review"),
    "reminder.review_due": _l("Reminder: a review of mine is due"),
    "review_submitted": _l("A review is published"),
    "objection_answered": _l("My legal objection is answered"),
    "mention": _l("Someone mentions me"),
    "reply": _l("Someone replies to me"),
    "proxy.granted": _l("Someone gives me their proxy, or takes it back"),
    "resolution.progress": _l("Progress on a resolution I follow"),
    "convention.coauthor": _l("Conventions I write: co-authors and amendments"),
}
# Kinds that follow the choice made for another (one line on the page covers both).
KIND_FOLLOWS = {"proxy.revoked": "proxy.granted", "convention.amendment": "convention.coauthor",
                "convention.accepted": "convention.coauthor"}

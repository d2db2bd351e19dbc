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

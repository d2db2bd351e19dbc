"""Reaching people outside the app: the outbox of email and SMS messages, their delivery with
retries, and each person's choice of channels, digests and quiet hours."""

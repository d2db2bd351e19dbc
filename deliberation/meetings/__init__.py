"""Meetings: hybrid sessions, the chair console, the speakers' queue, the projector and minutes."""

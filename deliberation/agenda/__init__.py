"""Agenda items (议题): drafting, submitting, supports, and the item lifecycle."""

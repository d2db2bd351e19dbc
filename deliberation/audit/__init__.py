"""Audit log: an append-only record of what staff and admins did, and for whom."""

"""Proving a phone number or email address belongs to someone: 6-digit codes for registering,
resetting a forgotten password, and changing the phone or email of an account."""

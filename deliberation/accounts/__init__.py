"""Accounts: people, their passwords and their login sessions."""

"""Personal information rights (PIPL): the versioned privacy notice and consent, a person's
copy of their data, deleting an account by pseudonymising it, audited staff reads, and
pruning what is kept only for a while."""

"""Words for the record's codes, in the reader's language."""

from flask_babel import lazy_gettext as _l

OUTCOME_LABELS = {
    "adopted": _l("Adopted"),
    "rejected": _l("Not adopted"),
    "no_quorum": _l("Not valid: too few took part"),
    "tie": _l("Tie: no decision"),
    "none": _l("Correction"),
}
PROGRESS_LABELS = {
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "on_hold": _l("On hold"),
    "done": _l("Done"),
    "stalled": _l("Stalled (no report for 60 days)"),
}
KIND_LABELS = {
    "resolution": _l("Resolution"),
    "correction": _l("Correction"),
}
BREAK_REASONS = {
    "missing": _l("A record before it is missing: the numbering has a gap."),
    "order": _l("The records are out of order."),
    "link": _l("It does not point to the record before it."),
    "hash": _l("Its content does not match its hash: it was changed after it was written."),
    "content": _l("Its stored text is not in the canonical form."),
    "fields": _l("A stored field no longer says what the hashed record says."),
}

"""Words for the conventions component's codes, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "drafting": _l("Being drafted"),
    "frozen": _l("Text frozen for the vote"),
    "voting": _l("Being voted on"),
    "adopted": _l("In force"),
    "rejected": _l("Not adopted"),
    "superseded": _l("Replaced by a newer version"),
}
CONVENTION_KIND_LABELS = {
    "residents": _l("Residents’ convention (居民公约): binds every resident, tenants too; adopted by a residents’ "
                    "meeting"),
    "management": _l("Owners’ management convention (管理规约): binds the owners; adopted under Civil Code "
                     "art. 278, ordinary matter"),
}
CONVENTION_KIND_SHORT = {
    "residents": _l("Residents’ convention (居民公约)"),
    "management": _l("Owners’ management convention (管理规约)"),
}
AMENDMENT_KIND_LABELS = {
    "replace": _l("Replace the clause's text"),
    "insert_after": _l("Insert a new clause after it"),
    "delete": _l("Delete the clause"),
}
AMENDMENT_STATUS_LABELS = {
    "proposed": _l("Proposed"),
    "accepted": _l("Taken into the draft"),
    "withdrawn": _l("Withdrawn"),
    "lapsed": _l("Lapsed (its clause left the text)"),
    "voting": _l("Being voted on"),
    "adopted": _l("Adopted by vote"),
    "rejected": _l("Rejected by vote"),
    "superseded": _l("Passed, but another change to the clause won more support"),
}
CHANGE_LABELS = {
    "added": _l("Added"),
    "deleted": _l("Deleted"),
    "changed": _l("Changed"),
    "moved": _l("Moved"),
    "same": _l("Unchanged"),
}
VOTE_ROLE_LABELS = {
    "whole": _l("Vote on the whole text"),
    "clause": _l("Vote on keeping a clause"),
    "amendment": _l("Vote on an amendment"),
    "final": _l("Final vote on the text as amended"),
}

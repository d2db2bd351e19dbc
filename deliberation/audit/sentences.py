"""The audit log in sentences: each entry said in the reader's language, linking to what was
acted on. The raw action key and details stay in the entry (and in the CSV export)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..communities.permissions import ROLE_LABELS
from .models import AuditEntry

# %(actor)s did it; %(subject)s is the person it was for; other names are the entry's details,
# or the links made below (%(item)s, %(vote)s, %(meeting)s, %(record)s).
SENTENCES = {
    "membership.verified": _l("%(actor)s verified %(subject)s as a member (unit %(unit)s)."),
    "membership.rejected": _l("%(actor)s did not accept %(subject)s as a member: %(reason)s"),
    "units.imported": _l("%(actor)s imported units into the register: %(count)s in all."),
    "owner.linked": _l("%(actor)s linked %(subject)s as owner of unit %(unit)s."),
    "owner.unlinked": _l("%(actor)s removed %(subject)s as owner of unit %(unit)s."),
    "role.granted": _l("%(actor)s made %(subject)s %(role)s."),
    "role.revoked": _l("%(actor)s took back the role %(role)s from %(subject)s."),
    "account.managed_created": _l("%(actor)s registered %(subject)s, who has no phone (unit %(unit)s)."),
    "community.threshold_set": _l("%(actor)s set the supports an item needs to %(threshold)s."),
    "community.max_proxies": _l("%(actor)s changed how many proxies one person may hold."),
    "comment.hidden": _l("%(actor)s hid a comment by %(subject)s: %(reason)s"),
    "comment.restored": _l("%(actor)s restored a comment by %(subject)s."),
    "measure.created": _l("%(actor)s added the measure “%(question)s” to %(item)s."),
    "measure.deleted": _l("%(actor)s removed the draft measure “%(question)s” from %(item)s."),
    "measure.opened": _l("%(actor)s opened %(vote)s with %(eligible)s on the roll."),
    "measure.closed": _l("%(actor)s closed %(vote)s: %(outcome)s."),
    "vote.paper_entered": _l("%(actor)s entered the paper ballot of %(subject)s in %(vote)s."),
    "proxy.granted": _l("%(actor)s recorded a proxy from %(subject)s."),
    "proxy.revoked": _l("%(actor)s revoked a proxy."),
    "meeting.scheduled": _l("%(actor)s scheduled %(meeting)s."),
    "meeting.updated": _l("%(actor)s changed %(meeting)s."),
    "meeting.published": _l("%(actor)s published %(meeting)s."),
    "meeting.started": _l("%(actor)s started %(meeting)s."),
    "meeting.ended": _l("%(actor)s ended %(meeting)s."),
    "meeting.checked_in": _l("%(actor)s checked %(subject)s in at %(meeting)s."),
    "meeting.check_in_undone": _l("%(actor)s undid the check-in of %(subject)s at %(meeting)s."),
    "meeting.minutes_published": _l("%(actor)s published the minutes of %(meeting)s."),
    "record.corrected": _l("%(actor)s added %(record)s, correcting record No. %(corrects)s."),
    "record.progress": _l("%(actor)s reported progress on %(record)s: %(percent)s%% done."),
    "convention.started": _l("%(actor)s started the convention text of %(item)s."),
    "convention.edited": _l("%(actor)s saved version %(version)s of the convention in %(item)s."),
    "convention.coauthor_added": _l("%(actor)s added %(subject)s as a co-author of %(item)s."),
    "convention.frozen": _l("%(actor)s froze version %(version)s of the convention in %(item)s for the vote."),
    "convention.unfrozen": _l("%(actor)s took the convention in %(item)s back to drafting."),
    "convention.votes_prepared": _l("%(actor)s prepared the votes on the convention in %(item)s."),
    "convention.revision_started": _l("%(actor)s started an amendment of the convention in force as %(item)s."),
    "amendment.proposed": _l("%(actor)s proposed amendment %(number)s to %(item)s."),
    "amendment.accepted": _l("%(actor)s took amendment %(number)s into %(item)s."),
    "item.revised": _l("%(actor)s revised %(item)s for %(subject)s (version %(version)s)."),
    # Added by the later components (staff acting for residents, attachments, the register, paper sheets).
    "account.claim_started": _l("%(actor)s gave %(subject)s a code to take over their account."),
    "account.claim_requested": _l("%(subject)s asked to take over their account with their own phone."),
    "account.claim_cancelled": _l("%(actor)s cancelled the account takeover of %(subject)s."),
    "account.claimed": _l("%(actor)s confirmed that %(subject)s now uses their own phone (ending %(phone_ending)s)."),
    "attachment.added": _l("%(actor)s attached a file to %(target)s #%(target_id)s."),
    "attachment.removed": _l("%(actor)s removed a file from %(target)s #%(target_id)s."),
    "comment.posted_for": _l("%(actor)s posted a comment for %(subject)s on %(item)s."),
    "item.drafted_for": _l("%(actor)s wrote %(item)s for %(subject)s."),
    "item.submitted_for": _l("%(actor)s submitted %(item)s for %(subject)s."),
    "item.supported_for": _l("%(actor)s recorded the support of %(subject)s for %(item)s."),
    "meeting.projector_link_issued": _l("%(actor)s made a new projector link for %(meeting)s."),
    "meeting.projector_link_revoked": _l("%(actor)s revoked the projector link of %(meeting)s."),
    "meeting.rsvp_for": _l("%(actor)s recorded the reply of %(subject)s to %(meeting)s."),
    "scrutineer.named": _l("%(actor)s named %(subject)s as %(role)s of %(vote)s."),
    "scrutineer.signed": _l("%(actor)s signed off the count of %(vote)s as %(role)s (%(sheets)s sheets)."),
    "sheet.collection": _l("%(actor)s recorded the ballot sheet of %(units)s in %(vote)s as %(status)s."),
    "sheet.entered": _l("%(actor)s entered the ballot sheet of %(units)s in %(vote)s (%(step)s)."),
    "sheets.issued": _l("%(actor)s printed %(sheets)s ballot sheets for %(vote)s."),
    "unit.holder_recorded": _l("%(actor)s recorded the register entry of unit %(unit)s."),
}

# Words for detail values, by detail name (components later on the path add theirs: see now.py).
_WORDS: dict[str, Mapping] = {"role": ROLE_LABELS}


def register_words(detail: str, words: Mapping) -> None:
    _WORDS[detail] = words


def _link(endpoint: str, text, **values) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)


def sentence(entry: AuditEntry, slug: str) -> Markup:
    """The entry as a sentence in the current language, with links; the raw key when there is
    no sentence for it yet (a new action shows as it is rather than not at all)."""
    template = SENTENCES.get(entry.action)
    details = dict(entry.details or {})
    if template is None:
        return escape(entry.action)
    params: dict = {"actor": escape(entry.actor.display_name if entry.actor else "—"),
                    "subject": escape(entry.subject.display_name if entry.subject else "—")}
    for key, value in details.items():
        words = _WORDS.get(key)
        params[key] = escape(str(words.get(value, value)) if words else value)
    if "item_id" in details:
        params["item"] = _link("agenda.show", _l("item #%(n)s", n=details["item_id"]), slug=slug,
                               item_id=details["item_id"])
    if "measure_id" in details:
        params["vote"] = _link("voting.show", _l("vote #%(n)s", n=details["measure_id"]), slug=slug,
                               measure_id=details["measure_id"])
    if "meeting_id" in details:
        params["meeting"] = _link("meetings.show", _l("meeting #%(n)s", n=details["meeting_id"]), slug=slug,
                                  meeting_id=details["meeting_id"])
    if "seq" in details:
        params["record"] = _link("records.show", _l("record No. %(n)s", n=details["seq"]), slug=slug,
                                 seq=details["seq"])

    class _Missing(dict):
        def __missing__(self, key):  # an older entry without a detail the sentence names
            return "—"

    try:
        # The translated template is escaped first; only our own links go in unescaped.
        return Markup(escape(str(template))) % _Missing(params)  # noqa: S704
    except (TypeError, ValueError):
        return escape(entry.action)

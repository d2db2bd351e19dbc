"""Words for the voting component's codes, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "yes_no": _l("Yes / no / abstain"),
    "single": _l("One of several options"),
    "approval": _l("Approve any of several options"),
    "ranked": _l("Rank the options (instant runoff)"),
    "convention": _l("A convention as a whole"),
}
ELECTORATE_LABELS = {
    "residents": _l("Verified residents"),
    "owners": _l("Owners"),
}
WEIGHTING_LABELS = {
    "person": _l("One vote per person"),
    "unit": _l("One vote per unit"),
    "area": _l("By floor area"),
}
THRESHOLD_LABELS = {
    "plurality": _l("Most votes wins"),
    "majority": _l("More than half of the votes cast"),
    "two_thirds": _l("At least two thirds of the votes cast"),
    "three_quarters": _l("At least three quarters of the votes cast"),
}
PRESET_LABELS = {
    "custom": _l("Set the rules below"),
    "art278_ordinary": _l("Civil Code art. 278, ordinary matter"),
    "art278_major": _l("Civil Code art. 278, major matter"),
    "residents_households": _l("Residents’ meeting, one representative per household"),
    "residents_persons": _l("Residents’ meeting, every resident aged 18 and over"),
}
STATUS_LABELS = {
    "draft": _l("Being prepared"),
    "open": _l("Open"),
    "closed": _l("Closed"),
}
CHOICE_LABELS = {
    "yes": _l("Yes"),
    "no": _l("No"),
    "abstain": _l("Abstain"),
}
OUTCOME_LABELS = {
    "passed": _l("Passed"),
    "rejected": _l("Not passed"),
    "no_quorum": _l("Not valid: too few took part"),
    "tie": _l("Tie: no decision"),
    "winner": _l("Decided"),
}
CHANNEL_LABELS = {
    "online": _l("online"),
    "paper": _l("on paper"),
    "proxy": _l("by proxy"),
    "hands": _l("show of hands"),
}
SHEET_STATUS_LABELS = {
    "printed": _l("printed, not delivered yet"),
    "delivered": _l("delivered"),
    "returned": _l("returned"),
    "refused": _l("refused"),
    "unreachable": _l("nobody home"),
    "counted": _l("entered twice and counted"),
}
SCRUTINEER_LABELS = {
    "monitor": _l("monitor (监票人)"),
    "counter": _l("counter (计票人)"),
}

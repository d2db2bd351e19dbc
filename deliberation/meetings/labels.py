"""Words for meeting codes, in the reader's language."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("Being prepared"),
    "scheduled": _l("Upcoming"),
    "live": _l("In progress"),
    "ended": _l("Ended"),
}
MODE_LABELS = {
    "in_person": _l("In person"),
    "online": _l("Online"),
    "hybrid": _l("In person and online"),
}
PRESENCE_LABELS = {
    "room": _l("in the room"),
    "online": _l("online"),
}
# How someone was counted present.
CHECK_IN_HOW_LABELS = {
    "qr": _l("scanned the code"),
    "staff": _l("ticked off by staff"),
    "online": _l("joined online"),
}

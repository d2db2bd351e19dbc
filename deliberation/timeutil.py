"""Time helpers. The database stores naive UTC; people think in the community's local time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai"))


_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + _offset


@contextmanager
def travel_to(moment: datetime) -> Iterator[None]:
    """Let the whole app believe it is ``moment`` (naive UTC) for a while. Only the demo uses
    it, to write a past history through the real services, in a CLI process of its own."""
    global _offset
    before = _offset
    _offset = moment - datetime.now(UTC).replace(tzinfo=None)
    try:
        yield
    finally:
        _offset = before


def local_today() -> date:
    return utc_to_local(utcnow()).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in local time (naive, like the database)."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def local_to_utc(moment: datetime) -> datetime:
    """A naive local time (as typed into a form) as naive UTC for the database."""
    return moment.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def utc_to_local(moment: datetime) -> datetime:
    """A naive UTC time from the database as naive local time (to fill a form)."""
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)

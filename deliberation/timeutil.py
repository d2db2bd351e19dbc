"""Time helpers. The database stores naive UTC; people think in the community's local time."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai"))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in local time (naive, like the database)."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def local_to_utc(moment: datetime) -> datetime:
    """A naive local time (as typed into a form) as naive UTC for the database."""
    return moment.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def utc_to_local(moment: datetime) -> datetime:
    """A naive UTC time from the database as naive local time (to fill a form)."""
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)

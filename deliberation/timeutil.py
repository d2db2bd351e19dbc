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

"""arXiv's announcement calendar in New York time.

arXiv announces Sunday to Thursday at 20:00 America/New_York; each announcement is dated the
next day, Monday to Friday. "The digest of date D" means the announcement dated D.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
ANNOUNCE_TIME = dt.time(20, 0)


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def announcement_time(day: dt.date) -> dt.datetime:
    """When the announcement dated `day` goes out: 20:00 New York time the evening before."""
    return dt.datetime.combine(day - dt.timedelta(days=1), ANNOUNCE_TIME, tzinfo=NEW_YORK)


def latest_announcement(now: dt.datetime) -> dt.date:
    """Date of the newest announcement already out at `now` (an aware datetime, any zone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(NEW_YORK)
    for days_back in range(0, 8):
        day = local.date() + dt.timedelta(days=1 - days_back)
        if not is_weekend(day) and announcement_time(day) <= local:
            return day
    raise AssertionError("every week has an announcement")  # unreachable: 8 days cover a weekday

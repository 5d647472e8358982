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


# arXiv's daily submission deadline, New York time. A submission received before it on a
# weekday goes into that evening's announcement.
SUBMISSION_CUTOFF = dt.time(14, 0)


def previous_weekday(day: dt.date) -> dt.date:
    """Return the last Monday-to-Friday date before `day`."""
    previous = day - dt.timedelta(days=1)
    while is_weekend(previous):
        previous -= dt.timedelta(days=1)
    return previous


def submission_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the (start, end) of the submissions in the announcement dated `day`, New York time.

    Both ends are at the 14:00 cutoff: the end on the weekday before `day` and the start on
    the weekday before that. So Wednesday to Friday cover D-2 to D-1, a Tuesday covers Friday
    to Monday, and a Monday covers Thursday to Friday. The datetimes are aware, in NEW_YORK, so
    a window that spans a daylight saving change is 71 or 73 hours long.

    NOTE: arXiv's holidays are not modelled. arXiv skips the announcement of a holiday and the
    next one carries both days of submissions, but this function still returns one-day windows.

    Raises ValueError for a Saturday or Sunday, which have no announcement.
    """
    if is_weekend(day):
        raise ValueError(
            f"{day.isoformat()} is a {day:%A}; arXiv announcements are dated Monday to Friday, "
            "so choose a weekday."
        )
    end_day = previous_weekday(day)
    start_day = previous_weekday(end_day)
    start = dt.datetime.combine(start_day, SUBMISSION_CUTOFF, tzinfo=NEW_YORK)
    end = dt.datetime.combine(end_day, SUBMISSION_CUTOFF, tzinfo=NEW_YORK)
    return start, end


def announcement_dates(since: dt.date, until: dt.date) -> list[dt.date]:
    """Return the weekdays from `since` to `until`, both included, in ascending order.

    Raises ValueError when `since` is after `until`.
    """
    if since > until:
        raise ValueError(
            f"the date range {since.isoformat()} to {until.isoformat()} is reversed; "
            "give the earlier date first."
        )
    days = (until - since).days + 1
    dates = (since + dt.timedelta(days=offset) for offset in range(days))
    return [day for day in dates if not is_weekend(day)]

"""Tests for paperdigest.arxiv.calendar: announcement dates and submission windows."""

from __future__ import annotations

import datetime as dt

import pytest

from paperdigest.arxiv.calendar import (
    NEW_YORK,
    announcement_dates,
    announcement_time,
    is_weekend,
    latest_announcement,
    previous_weekday,
    submission_window,
)

UTC = dt.timezone.utc


def new_york(year: int, month: int, day: int, hour: int = 14, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


# Announcement dates in the week of Mon 2025-09-08, with the expected windows.
WEEKDAY_WINDOWS = [
    (dt.date(2025, 9, 8), new_york(2025, 9, 4), new_york(2025, 9, 5)),  # Monday: Thu to Fri
    (dt.date(2025, 9, 9), new_york(2025, 9, 5), new_york(2025, 9, 8)),  # Tuesday: Fri to Mon
    (dt.date(2025, 9, 10), new_york(2025, 9, 8), new_york(2025, 9, 9)),  # Wednesday
    (dt.date(2025, 9, 11), new_york(2025, 9, 9), new_york(2025, 9, 10)),  # Thursday
    (dt.date(2025, 9, 12), new_york(2025, 9, 10), new_york(2025, 9, 11)),  # Friday
]


@pytest.mark.parametrize(("day", "start", "end"), WEEKDAY_WINDOWS, ids=lambda value: str(value))
def test_submission_window_weekdays(day, start, end):
    window = submission_window(day)
    assert window == (start, end)


def test_submission_window_is_new_york_time():
    start, end = submission_window(dt.date(2025, 9, 10))
    assert start.tzinfo is NEW_YORK
    assert end.tzinfo is NEW_YORK
    assert (start.hour, start.minute) == (14, 0)
    assert (end.hour, end.minute) == (14, 0)


def test_submission_window_summer_utc():
    start, end = submission_window(dt.date(2025, 9, 10))
    assert start.astimezone(UTC) == dt.datetime(2025, 9, 8, 18, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 9, 9, 18, 0, tzinfo=UTC)


def test_submission_window_winter_utc():
    start, end = submission_window(dt.date(2025, 1, 15))
    assert start.astimezone(UTC) == dt.datetime(2025, 1, 13, 19, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 1, 14, 19, 0, tzinfo=UTC)


def test_submission_window_before_dst_start():
    # Mon 2025-03-10 covers Thu 03-06 to Fri 03-07, both still on EST (UTC-5).
    start, end = submission_window(dt.date(2025, 3, 10))
    assert start.astimezone(UTC) == dt.datetime(2025, 3, 6, 19, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 3, 7, 19, 0, tzinfo=UTC)


def test_submission_window_across_dst_start():
    # Tue 2025-03-11 covers Fri 03-07 (EST) to Mon 03-10 (EDT): clocks sprang forward on 03-09.
    start, end = submission_window(dt.date(2025, 3, 11))
    assert start.astimezone(UTC) == dt.datetime(2025, 3, 7, 19, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 3, 10, 18, 0, tzinfo=UTC)
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=71)


def test_submission_window_monday_after_dst_end():
    # Mon 2025-11-03 covers Thu 10-30 to Fri 10-31, both still on EDT (UTC-4).
    start, end = submission_window(dt.date(2025, 11, 3))
    assert start.astimezone(UTC) == dt.datetime(2025, 10, 30, 18, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 10, 31, 18, 0, tzinfo=UTC)


def test_submission_window_across_dst_end():
    # Tue 2025-11-04 covers Fri 10-31 (EDT) to Mon 11-03 (EST): clocks fell back on 11-02.
    start, end = submission_window(dt.date(2025, 11, 4))
    assert start.astimezone(UTC) == dt.datetime(2025, 10, 31, 18, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == dt.datetime(2025, 11, 3, 19, 0, tzinfo=UTC)
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=73)


def test_submission_windows_consecutive():
    days = announcement_dates(dt.date(2025, 9, 1), dt.date(2025, 9, 19))
    windows = [submission_window(day) for day in days]
    for (_, previous_end), (next_start, _) in zip(windows, windows[1:]):
        assert previous_end == next_start


def test_submission_window_year_boundary():
    start, end = submission_window(dt.date(2026, 1, 1))  # a Thursday
    assert start == new_york(2025, 12, 30)
    assert end == new_york(2025, 12, 31)


@pytest.mark.parametrize("day", [dt.date(2025, 9, 13), dt.date(2025, 9, 14)], ids=["saturday", "sunday"])
def test_submission_window_weekend_raises(day):
    with pytest.raises(ValueError, match="Monday to Friday"):
        submission_window(day)


def test_previous_weekday_skips_weekend():
    assert previous_weekday(dt.date(2025, 9, 8)) == dt.date(2025, 9, 5)
    assert previous_weekday(dt.date(2025, 9, 14)) == dt.date(2025, 9, 12)
    assert previous_weekday(dt.date(2025, 9, 10)) == dt.date(2025, 9, 9)


def test_announcement_dates_skip_weekends():
    days = announcement_dates(dt.date(2025, 9, 5), dt.date(2025, 9, 9))
    assert days == [dt.date(2025, 9, 5), dt.date(2025, 9, 8), dt.date(2025, 9, 9)]


def test_announcement_dates_single_day():
    assert announcement_dates(dt.date(2025, 9, 10), dt.date(2025, 9, 10)) == [dt.date(2025, 9, 10)]


def test_announcement_dates_weekend_only():
    assert announcement_dates(dt.date(2025, 9, 13), dt.date(2025, 9, 14)) == []


def test_announcement_dates_reversed_raises():
    with pytest.raises(ValueError, match="reversed"):
        announcement_dates(dt.date(2025, 9, 12), dt.date(2025, 9, 8))


def test_is_weekend_saturday():
    assert is_weekend(dt.date(2025, 9, 13))
    assert not is_weekend(dt.date(2025, 9, 12))


def test_announcement_time_evening_before():
    assert announcement_time(dt.date(2025, 9, 10)) == new_york(2025, 9, 9, 20)


def test_latest_announcement_around_20h():
    assert latest_announcement(new_york(2025, 9, 9, 20, 30)) == dt.date(2025, 9, 10)
    assert latest_announcement(new_york(2025, 9, 9, 19, 59)) == dt.date(2025, 9, 9)

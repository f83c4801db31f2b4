from __future__ import annotations

import calendar
from datetime import date

import pytest

from eligimatch import dates
from eligimatch.dates import age_in_years, parse_duration
from eligimatch.errors import DurationError


@pytest.mark.parametrize(
    ("birth", "as_of", "age"),
    [
        (date(2008, 3, 1), date(2026, 3, 1), 18),  # the birthday itself counts
        (date(2008, 3, 2), date(2026, 3, 1), 17),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # leap-day birthday: not yet on 28 Feb
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(1950, 12, 31), date(2026, 1, 1), 75),
    ],
)
def test_age_is_calendar_exact(birth, as_of, age):
    assert age_in_years(birth, as_of) == age


@pytest.mark.parametrize(
    ("text", "when", "before"),
    [
        ("P4W", date(2026, 3, 1), date(2026, 2, 1)),
        ("P6M", date(2026, 8, 31), date(2026, 2, 28)),  # clamped to the month's end
        ("P5Y", date(2028, 2, 29), date(2023, 2, 28)),
        ("P14D", date(2026, 3, 1), date(2026, 2, 15)),
        ("P1Y6M", date(2026, 3, 15), date(2024, 9, 15)),
    ],
)
def test_duration_before(text, when, before):
    assert parse_duration(text).before(when) == before


@pytest.mark.parametrize("text", ["4W", "P", "P4H", "PT4H", "P-1D", "P1.5M", "", "P999Y"])
def test_bad_durations(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_describe():
    assert parse_duration("P1Y6M").describe() == "1 year 6 months"


def _calendar(text: str, when: date, sign: int) -> date:
    """The date ``text`` before (sign -1) or after ``when``, computed here from the calendar."""
    d = parse_duration(text)
    months = when.year * 12 + when.month - 1 + sign * (12 * d.years + d.months)
    year, month0 = divmod(months, 12)
    if not 1 <= year <= 9999:
        return date.min if sign < 0 else date.max
    day = min(when.day, calendar.monthrange(year, month0 + 1)[1])
    days = date(year, month0 + 1, day).toordinal() + sign * (7 * d.weeks + d.days)
    return date.fromordinal(min(max(days, 1), date.max.toordinal()))


DAYS = [
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(2024, 1, 31),
    date(2026, 8, 31),
    date(2025, 12, 31),
    date(1, 1, 3),
]
DAYS += [date(9999, 12, 30), date(2026, 3, 1), date(2000, 2, 29), date(2026, 11, 30)]


@pytest.mark.parametrize("text", ["P4W", "P6M", "P1Y", "P5Y", "P14D", "P1Y6M", "P13M2W3D", "P200Y", "P1M"])
def test_a_date_remembered_before_or_after_is_the_calendars(text):
    d = parse_duration(text)
    for _ in range(2):  # computed, then remembered
        for when in DAYS:
            assert d.before(when) == _calendar(text, when, -1), when
            assert d.after(when) == _calendar(text, when, +1), when
    other = parse_duration(text + "1D" if "D" not in text else "P2D")
    assert other.before(DAYS[0]) == _calendar(other.text, DAYS[0], -1)  # not the first's


def test_the_remembered_dates_are_bounded(monkeypatch):
    monkeypatch.setattr(dates, "_MEMO_MAX", 5)
    monkeypatch.setattr(dates, "_AFTER", {})
    d = parse_duration("P3M")
    for n in range(50):
        assert d.after(date.fromordinal(738000 + n)) == _calendar("P3M", date.fromordinal(738000 + n), +1)
        assert len(dates._AFTER) <= 5

from __future__ import annotations

from datetime import date

import pytest

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

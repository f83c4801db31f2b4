"""Calendar arithmetic for eligibility windows.

Rules speak of "within 4 weeks", "within 6 months", "within 5 years".  Windows are ISO 8601
durations (``P4W``, ``P6M``, ``P5Y``, ``P14D``, ``P1Y6M``) applied on the calendar: six months
before 31 August is 28 or 29 February.  Nothing here reads the wall clock; the evaluation date
(``as_of``) is always passed in.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .errors import DurationError
from .memo import remember

__all__ = ["Duration", "age_in_years", "parse_duration"]

_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


@dataclass(frozen=True)
class Duration:
    """A calendar duration: years, months, weeks and days."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    text: str = ""

    def before(self, when: date) -> date:
        """The date this duration before ``when`` (day clamped to the month's length)."""
        return self._remembered(_BEFORE, when, self._before)

    def after(self, when: date) -> date:
        """The date this duration after ``when`` (day clamped to the month's length)."""
        return self._remembered(_AFTER, when, self._after)

    def _remembered(
        self, memo: dict[tuple[int, date], tuple[Duration, date]], when: date, compute: Callable[[date], date]
    ) -> date:
        """``compute(when)``, kept in ``memo`` under this duration (by identity) and ``when``."""
        hit = memo.get((id(self), when))
        if hit is not None and hit[0] is self:
            return hit[1]
        got = compute(when)
        remember(memo, (id(self), when), (self, got), _MEMO_MAX)
        return got

    def _before(self, when: date) -> date:
        total_months = when.year * 12 + (when.month - 1) - self.years * 12 - self.months
        year, month0 = divmod(total_months, 12)
        if year < 1:
            return date.min
        day = min(when.day, calendar.monthrange(year, month0 + 1)[1])
        start = date(year, month0 + 1, day)
        return date.fromordinal(max(1, start.toordinal() - self.weeks * 7 - self.days))

    def _after(self, when: date) -> date:
        total_months = when.year * 12 + (when.month - 1) + self.years * 12 + self.months
        year, month0 = divmod(total_months, 12)
        if year > 9999:
            return date.max
        day = min(when.day, calendar.monthrange(year, month0 + 1)[1])
        end = date(year, month0 + 1, day)
        return date.fromordinal(min(date.max.toordinal(), end.toordinal() + self.weeks * 7 + self.days))

    def describe(self) -> str:
        parts = []
        for n, word in (
            (self.years, "year"),
            (self.months, "month"),
            (self.weeks, "week"),
            (self.days, "day"),
        ):
            if n:
                parts.append(f"{n} {word}{'s' if n != 1 else ''}")
        return " ".join(parts) or "0 days"


# (id of a duration, a date) → (the duration, the date it is before / after it): a pure
# function of the key, remembered for the dates met most (bounded: the input chooses them)
_BEFORE: dict[tuple[int, date], tuple[Duration, date]] = {}
_AFTER: dict[tuple[int, date], tuple[Duration, date]] = {}
_MEMO_MAX = 8192


def parse_duration(text: str) -> Duration:
    """Read ``P4W``-style durations (years, months, weeks, days; no times)."""
    if not isinstance(text, str):
        raise DurationError(str(text), "expected an ISO 8601 duration such as P4W or P6M")
    m = _ISO.match(text.strip())
    if not m or not any(m.groups()):
        raise DurationError(text, "expected an ISO 8601 duration such as P4W, P6M, P5Y or P14D")
    y, mo, w, d = (int(g) if g else 0 for g in m.groups())
    if y > 200 or mo > 2400 or w > 10000 or d > 100000:
        raise DurationError(text, "duration out of range")
    return Duration(y, mo, w, d, text.strip())


def age_in_years(birth: date, as_of: date) -> int:
    """Completed years at ``as_of``; the birthday itself counts (29 Feb birthdays: 1 March)."""
    years = as_of.year - birth.year
    if (as_of.month, as_of.day) < (birth.month, birth.day):
        years -= 1
    return years

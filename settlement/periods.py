"""Days and months. Every interval here is inclusive at both ends (RULES.md §2)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import cached_property
from datetime import date, timedelta

FAR_FUTURE = date(9999, 12, 31)
ONE_DAY = timedelta(days=1)
# The rules' twelve months, counted as 365 days: the look-back of a chain that decides historic or
# new (RULES.md §4.2: "at most 365 days after", the seeds' "in de 365 dagen voor melding" [000 §14.2;
# 003 footnote 5]) and the reentry window (§4.4 rule 1: "ended 1 to 365 days before" [wetsvoorstel
# 36288, art. 1.2.1a lid 1 sub a: "minder dan twaalf maanden"]). Every 365 of the code and its
# Dutch and English words is this one.
WINDOW = timedelta(days=365)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        m = _MONTH.fullmatch(text or "")
        if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 9998:
            raise ValueError(f"{text!r} is not a month YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    # computed once per Month value (a run asks for them for every placement)
    @cached_property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @cached_property
    def last(self) -> date:
        return date(self.year, self.month, self.days)

    @cached_property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @cached_property
    def _text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> "Month":
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def __str__(self) -> str:
        return self._text


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included, in order (none when first > last)."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = m.next()
    return out


def parse_date(text: str) -> date:
    """Strict YYYY-MM-DD (31 February is refused)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text or ""):
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date that exists") from None


def overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> tuple[date, date] | None:
    """The inclusive intersection of two intervals (None end = open), or None."""
    lo = max(a_from, b_from)
    hi = min(a_to or FAR_FUTURE, b_to or FAR_FUTURE)
    return (lo, hi) if lo <= hi else None


def days_between(lo: date, hi: date) -> int:
    """Number of days in the inclusive interval lo..hi."""
    return (hi - lo).days + 1


def covers(valid_from: date, valid_to: date | None, day: date) -> bool:
    return valid_from <= day <= (valid_to or FAR_FUTURE)


def iso(d: date | None) -> str | None:
    return d.isoformat() if d else None

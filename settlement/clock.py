"""The one clock the engine reads.

Everything that depends on the date or time (a finalisation's issue date, the refusal to finalise
a month that has not ended, the time a run or snapshot was written) asks `now()` or `today()`, so
that a test can set the clock and a reader can find every use of it.

`SETTLEMENT_NOW` (an ISO date or date-time, UTC when it names no zone) sets the clock for a
process: for tests, and to reproduce what a command did on a given day. Unset, it is the system
clock in UTC.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

from .errors import UserError

ENV = "SETTLEMENT_NOW"


class ClockError(UserError):
    """SETTLEMENT_NOW holds something that is not a date or date-time."""


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    fixed = os.environ.get(ENV)
    if not fixed:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(fixed.strip())
    except ValueError:
        raise ClockError(f"{ENV}={fixed!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def today() -> date:
    """Today's date in UTC."""
    return now().date()

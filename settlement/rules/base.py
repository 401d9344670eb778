"""What every rule returns: a step of the trace (RULES.md §7), and the errors of §4.6."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .._util import ONE
from ..phrases import say


class InputError(Exception):
    """A fact needed and absent, or two facts or rules claiming one case (RULES.md §3, §4.6).
    The message names the records involved."""


@dataclass
class Step:
    """One rule evaluation: which rule, on what authority, what it read, what it decided,
    and why (a phrase code with its parameters, see `settlement.phrases`). Recorded when the
    rule runs, not reconstructed afterwards."""

    rule: str
    reference: str
    applies: bool
    read: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    why: tuple[str, dict[str, Any]] | None = None

    @property
    def reason(self) -> str | None:
        return say("en", *self.why) if self.why else None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rule": self.rule, "reference": self.reference, "applies": self.applies,
                             "read": self.read}
        if self.outcome is not None:
            d["outcome"] = self.outcome
        if self.why is not None:
            d["why"] = {"code": self.why[0], "params": self.why[1]}
            d["reason"] = self.reason
        return d


@dataclass(frozen=True)
class Share:
    """Days of one placement-month that go to one (payer, basis)."""

    payer: str | None
    basis: str
    ranges: tuple[tuple[date, date], ...]
    flags: frozenset[str] = frozenset()
    pool: str | None = None

    @property
    def days(self) -> int:
        return sum((hi - lo).days + 1 for lo, hi in self.ranges)

    @property
    def first_day(self) -> date:
        return min(lo for lo, _ in self.ranges)


def merge_days(days: list[tuple[date, str | None, str, frozenset[str]]]) -> list[Share]:
    """Group a day-by-day allocation [(day, payer, basis, flags)] (consecutive days) into one
    Share per (payer, basis), keeping its day ranges."""
    ranges: dict[tuple[str | None, str], list[list[date]]] = {}
    flags: dict[tuple[str | None, str], frozenset[str]] = {}
    order: list[tuple[str | None, str]] = []
    for day, payer, basis, fl in days:
        key = (payer, basis)
        if key not in ranges:
            ranges[key] = []
            flags[key] = frozenset()
            order.append(key)
        rs = ranges[key]
        if rs and rs[-1][1] + ONE == day:
            rs[-1][1] = day
        else:
            rs.append([day, day])
        flags[key] = flags[key] | fl
    return [Share(payer=k[0], basis=k[1], ranges=tuple((a, b) for a, b in ranges[k]), flags=flags[k])
            for k in order]

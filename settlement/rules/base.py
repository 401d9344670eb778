"""What every rule returns: a step of the trace (RULES.md §7), and the errors of §4.6."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..periods import ONE_DAY
from ..phrases import say
from ..trace import StepDict, step as trace_step


class InputError(Exception):
    """A fact needed and absent, or two facts or rules claiming one case (RULES.md §3, §4.6).
    The message names the records involved."""


@dataclass(eq=False)
class Step:
    """One rule evaluation: which rule, on what authority (a key of settlement.references), what it read, what it decided,
    and why (a phrase code with its parameters, see `settlement.phrases`). Recorded when the
    rule runs, not reconstructed afterwards. Its trace form (`as_dict`) is built once, when the
    trace is made; an agreement may still complete its outcome in `apply` before that."""

    rule: str
    reference: str
    applies: bool
    read: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    why: tuple[str, dict[str, Any]] | None = None
    kind: str | None = None  # an agreement's kind, on the step of an agreement instance

    @property
    def reason(self) -> str | None:
        return say("en", *self.why) if self.why else None

    def as_dict(self) -> StepDict:
        """The step in the trace (settlement.trace, format 2), made once."""
        try:
            return self._dict  # type: ignore[has-type]
        except AttributeError:
            pass
        self._dict = trace_step(self.rule, self.kind, self.reference, self.applies, self.read, self.outcome, self.why)
        return self._dict


_SHARED: dict[tuple[Any, ...], Step] = {}


def shared_step(rule: str, reference: str, applies: bool, read: tuple[dict[str, Any], ...], code: str,
                params: dict[str, Any], outcome: dict[str, Any] | None = None) -> Step:
    """A rule evaluation that many lines share exactly (the same rule, records read, outcome and
    reason, e.g. an agreement that does not concern the care region): one Step object for all of
    them, so that it is built and encoded once per process. Every value must be a plain str, int,
    bool or None (records read and outcome are flat), as the key is made of them."""
    key = (rule, reference, applies, tuple(tuple(sorted(r.items())) for r in read), code,
           tuple(sorted(params.items())), tuple(sorted(outcome.items())) if outcome is not None else None)
    step = _SHARED.get(key)
    if step is None:
        step = _SHARED[key] = Step(rule, reference, applies, list(read), outcome=outcome, why=(code, params))
    return step


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
        if rs and rs[-1][1] + ONE_DAY == day:
            rs[-1][1] = day
        else:
            rs.append([day, day])
        flags[key] = flags[key] | fl
    return [Share(payer=k[0], basis=k[1], ranges=tuple((a, b) for a, b in ranges[k]), flags=flags[k])
            for k in order]

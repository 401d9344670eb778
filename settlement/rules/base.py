"""What every rule returns: a step of the trace (RULES.md §7), and the errors of §4.6."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .. import RULES_VERSION
from ..periods import ONE_DAY
from ..phrases import say
from ..trace import StepDict, step as trace_step


class InputError(Exception):
    """A fact needed and absent, or two facts or rules claiming one case (RULES.md §3, §4.6).
    The message names the records involved."""


# The module whose VERSION the steps of each rule carry; an agreement's step carries its kind's
# (settlement.agreements.<kind>). Each rule and each agreement kind has its own version, so that
# `settle verify` can name the rules that changed since a run; the run's RULES_VERSION is apart.
RULE_MODULES = {
    "amount": "settlement.rules.amount", "mo": "settlement.rules.mo", "status": "settlement.rules.status",
    "historic": "settlement.rules.historic", "reentry": "settlement.rules.reentry",
    "woonplaats": "settlement.rules.woonplaats", "woonplaats_before_institution": "settlement.rules.woonplaats",
    "vangnet": "settlement.rules.vangnet", "registration": "settlement.rules.registration",
    "no_interregional_agreement": "settlement.agreements.interregional",
    "ruling": "settlement.rules.ruling", "dispute": "settlement.rules.ruling",
}


_MODULE_OF: dict[tuple[str, str | None], Any] = {}  # (rule, kind) -> its module (None: no module claims it)


def version_of(rule: str, kind: str | None = None) -> str:
    """The current version of a rule (by its id), or of an agreement kind: its module's VERSION,
    read when asked (RULES_VERSION for a rule no module claims). Which module that is is found once
    per (rule, kind); its VERSION is read on every call."""
    try:
        module = _MODULE_OF[rule, kind]
    except KeyError:
        module, known = _module_of(rule, kind)
        if known:  # a kind not registered yet is looked up again when asked again
            _MODULE_OF[rule, kind] = module
    return RULES_VERSION if module is None else str(getattr(module, "VERSION", RULES_VERSION))


def _module_of(rule: str, kind: str | None) -> tuple[Any, bool]:
    """The module whose VERSION the rule (or kind) carries, or None; and whether that is final."""
    known = True
    if kind:  # the module of the kind's registered class (a kind may live in any module)
        cls = getattr(sys.modules.get("settlement.agreements.base"), "KINDS", {}).get(kind)
        known = cls is not None
        name = cls.__module__ if cls is not None else f"settlement.agreements.{kind}"
    else:
        name = RULE_MODULES.get(rule)
    if name is None:
        return None, known
    try:
        return sys.modules.get(name) or importlib.import_module(name), known
    except ModuleNotFoundError:
        return None, False


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
    version: str | None = None  # the rule's version; None: its module's VERSION when the trace is made

    @property
    def reason(self) -> str | None:
        return say("en", *self.why) if self.why else None

    def as_dict(self) -> StepDict:
        """The step in the trace (settlement.trace, format 2), made once."""
        try:
            return self._dict  # type: ignore[has-type]
        except AttributeError:
            pass
        self._dict = trace_step(self.rule, self.kind, self.reference, self.applies, self.read, self.outcome, self.why,
                                version=self.version or version_of(self.rule, self.kind))
        return self._dict


_SHARED: dict[tuple[Any, ...], Step] = {}


def shared_step(rule: str, reference: str, applies: bool, read: tuple[dict[str, Any], ...], code: str,
                params: dict[str, Any], outcome: dict[str, Any] | None = None) -> Step:
    """A rule evaluation that many lines share exactly (the same rule, records read, outcome and
    reason, e.g. an agreement that does not concern the care region): one Step object for all of
    them, so that it is built and encoded once per process. Every value must be a plain str, int,
    bool or None (records read and outcome are flat), as the key is made of them."""
    version = version_of(rule)
    key = (rule, version, reference, applies, tuple(tuple(sorted(r.items())) for r in read), code,
           tuple(sorted(params.items())), tuple(sorted(outcome.items())) if outcome is not None else None)
    step = _SHARED.get(key)
    if step is None:
        step = _SHARED[key] = Step(rule, reference, applies, list(read), outcome=outcome, why=(code, params),
                                   version=version)
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

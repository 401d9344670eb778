"""RULES.md §4.5: new WMO-domain support is paid day by day by the woonadres municipality.

A product without the BW definition (ordinary Wmo support, such as Thuis Plus
[Regiovisie Zuidoost-Drenthe §5.3]) follows the client's BRP woonadres on each day
(`basis = registration`); a day without a woonadres falls back to the vangnet (§4.4 rule 4).
Days with different payers split the line.
"""

from __future__ import annotations

from datetime import date

from ..facts import Dataset, Placement
from ..periods import ONE_DAY
from . import vangnet
from .base import InputError, Share, Step, merge_days

RULE = "registration"
REFERENCE = "rules/registration"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


def evaluate(ds: Dataset, p: Placement, lo: date, hi: date) -> tuple[list[Share], list[Step]]:
    """Allocate the days lo..hi of placement `p`; returns the shares and the trace steps."""
    if not ds.brp_by_client.get(p.client):
        raise InputError(f"placement {p.placement}: client {p.client} has no BRP history at all "
                         f"(brp.csv), which the registration rule needs")
    days: list[tuple[date, str | None, str, frozenset[str]]] = []
    read: dict[str, dict] = {}
    vangnet_step: Step | None = None
    day = lo
    while day <= hi:
        reg = ds.registration_on(p.client, day)
        if reg is not None:
            read.setdefault(reg.ref["record"], reg.ref)
        if reg is not None and reg.kind == "woonadres":
            days.append((day, reg.municipality, RULE, frozenset()))
        else:
            if vangnet_step is None:
                payer, vangnet_step = vangnet.evaluate(ds, p, day)
            days.append((day, vangnet_step.outcome["payer"], vangnet.RULE, frozenset({"vangnet"})))  # type: ignore[index]
        day += ONE_DAY
    shares = merge_days(days)
    outcome = {"parts": [{"payer": s.payer, "basis": s.basis, "days": s.days,
                          "ranges": [[a.isoformat(), b.isoformat()] for a, b in s.ranges]} for s in shares]}
    steps = [Step(RULE, REFERENCE, True, list(read.values()), outcome=outcome,
                  why=("registration_applies", {}))]
    if vangnet_step is not None:
        steps.append(vangnet_step)
    return shares, steps

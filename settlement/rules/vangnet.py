"""RULES.md §4.4 rule 4: the vangnet (safety net).

No woonadres found (briefadres, abroad, a gap, nothing): the municipality of the governing
application (the client's latest application in the care region on or before the start), or the
care region's centrumgemeente when there is none. The line carries the flag `vangnet`: costs
eligible for the national safety net [Regiovisie Zuidoost-Drenthe §5.2; Leidse Regio bouwsteen 5e].
"""

from __future__ import annotations

from datetime import date

from ..facts import Dataset, Placement
from .base import InputError, Step

RULE = "vangnet"
REFERENCE = "rules/vangnet"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


def governing_application(ds: Dataset, p: Placement):
    candidates = [a for a in ds.applications_by_client.get(p.client, ())
                  if a.region == p.region and a.date <= p.start]
    if not candidates:
        return None
    latest = max(a.date for a in candidates)
    last = [a for a in candidates if a.date == latest]
    if len({a.municipality for a in last}) > 1:
        raise InputError(
            f"placement {p.placement}: applications at applications.csv lines "
            f"{', '.join(str(a.line) for a in last)} of client {p.client} on {latest.isoformat()} in region "
            f"{p.region} name different municipalities; the governing application is ambiguous")
    return last[0]


def evaluate(ds: Dataset, p: Placement, day: date | None = None) -> tuple[str, Step]:
    """Always applies: the last rule. `day` names the day that had no woonadres (for traces)."""
    app = governing_application(ds, p)
    if app is not None:
        return app.municipality, Step(
            RULE, REFERENCE, True, [app.ref],
            outcome={"payer": app.municipality, "basis": RULE, "flag": "vangnet"},
            why=("vangnet_application", {"payer": app.municipality, "day": day.isoformat() if day else None}))
    cg = ds.regions[p.region].centrumgemeente
    return cg, Step(
        RULE, REFERENCE, True, [{"record": f"region {p.region}", "centrumgemeente": cg}],
        outcome={"payer": cg, "basis": RULE, "flag": "vangnet"},
        why=("vangnet_centrumgemeente", {"payer": cg, "region": p.region, "day": day.isoformat() if day else None}))

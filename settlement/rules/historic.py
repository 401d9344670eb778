"""RULES.md §4.3: a historic client stays on the historic budget of the centrumgemeente.

Overgangscliënten (in care before the region's cutover) stay with the centrumgemeente of the
care region, unless a pool agreement carries them (see `settlement.agreements.pool`)
[003, §4.1.2; 000, §5.3 for existing Thuis Plus clients].
"""

from __future__ import annotations

from ..facts import Dataset, Placement
from .base import Step, shared_step

RULE = "historic"
REFERENCE = "rules/historic"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


def evaluate(ds: Dataset, p: Placement, status: str) -> tuple[str | None, Step]:
    if status != "historic":
        return None, shared_step(RULE, REFERENCE, False, (), "historic_not_new", {})
    cg = ds.regions[p.region].centrumgemeente
    return cg, shared_step(RULE, REFERENCE, True, ({"record": f"region {p.region}", "centrumgemeente": cg},),
                           "historic_applies", {"payer": cg}, outcome={"payer": cg, "basis": "historic"})

"""RULES.md §4.1: maatschappelijke opvang stays with the centrumgemeente of the care region.

Opvang keeps national access; wetsvoorstel 36288 changes art. 1.2.1 sub b Wmo 2015 only (the
woonplaatsbeginsel for beschermd wonen) [004, bouwsteen 5d].
"""

from __future__ import annotations

from ..facts import Dataset, Placement, Product
from .base import Step, shared_step

RULE = "mo"
REFERENCE = "rules/mo"  # settlement.references
VERSION = "1"  # of this rule, on its steps: raise it when what the rule decides or records changes


def evaluate(ds: Dataset, p: Placement, product: Product) -> tuple[str | None, Step]:
    if product.domain != "MO":
        return None, shared_step(RULE, REFERENCE, False,
                                 ({"record": f"product {product.product}", "domain": product.domain},),
                                 "mo_not_domain", {"product": product.product, "domain": product.domain})
    cg = ds.regions[p.region].centrumgemeente
    return cg, shared_step(RULE, REFERENCE, True,
                           ({"record": f"product {product.product}", "domain": "MO"},
                            {"record": f"region {p.region}", "centrumgemeente": cg}),
                           "mo_applies", {"payer": cg}, outcome={"payer": cg, "basis": "mo", "status": "n/a"})

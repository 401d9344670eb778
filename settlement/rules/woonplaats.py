"""RULES.md §4.4 rules 2 and 3: the woonplaats on the day before the stay.

Rule 2 `woonplaats`: the BRP registration on the day before the start is a woonadres -> its
municipality [wetsvoorstel 36288, art. 1.2.1a lid 1; Regiovisie Zuidoost-Drenthe §4.2].
Rule 3 `woonplaats_before_institution`: that registration is an institution -> walk back through
contiguous earlier institution registrations to the woonadres just before them (the Jeugdwet
pattern: the address immediately before the stay).
"""

from __future__ import annotations

from ..facts import Dataset, Placement, Registration
from ..periods import ONE_DAY
from .base import InputError, Step

WOONPLAATS = "woonplaats"
WOONPLAATS_REF = "rules/woonplaats"  # settlement.references
BEFORE_INSTITUTION = "woonplaats_before_institution"
BEFORE_INSTITUTION_REF = "rules/woonplaats_before_institution"  # settlement.references
VERSION = "1"  # of both rules, on their steps: raise it when what they decide or record changes


def _require_brp(ds: Dataset, p: Placement) -> list[Registration]:
    history = ds.brp_by_client.get(p.client)
    if not history:
        raise InputError(f"placement {p.placement}: client {p.client} has no BRP history at all "
                         f"(brp.csv), which the woonplaats rules need")
    return history


def evaluate_woonplaats(ds: Dataset, p: Placement) -> tuple[str | None, Step]:
    _require_brp(ds, p)
    day = p.start - ONE_DAY
    reg = ds.registration_on(p.client, day)
    if reg is None or reg.kind != "woonadres":
        return None, Step(WOONPLAATS, WOONPLAATS_REF, False, [reg.ref] if reg else [],
                          why=("woonplaats_none", {"day": day.isoformat(), "kind": reg.kind if reg else None}))
    return reg.municipality, Step(WOONPLAATS, WOONPLAATS_REF, True, [reg.ref],
                                  outcome={"payer": reg.municipality, "basis": WOONPLAATS},
                                  why=("woonplaats_applies", {"payer": reg.municipality, "day": day.isoformat()}))


def evaluate_before_institution(ds: Dataset, p: Placement) -> tuple[str | None, Step]:
    day = p.start - ONE_DAY
    reg = ds.registration_on(p.client, day)
    if reg is None or reg.kind != "institution":
        return None, Step(BEFORE_INSTITUTION, BEFORE_INSTITUTION_REF, False, [reg.ref] if reg else [],
                          why=("institution_none", {"day": day.isoformat(), "kind": reg.kind if reg else None}))
    walked = [reg]
    while True:
        prev = ds.registration_on(p.client, walked[-1].valid_from - ONE_DAY)
        if prev is None or prev.kind not in ("institution", "woonadres"):
            return None, Step(BEFORE_INSTITUTION, BEFORE_INSTITUTION_REF, False,
                              [r.ref for r in walked] + ([prev.ref] if prev else []),
                              why=("institution_walk_fails", {"walked": len(walked), "kind": prev.kind if prev else None,
                                                              "day": (walked[-1].valid_from - ONE_DAY).isoformat()}))
        if prev.kind == "woonadres":
            return prev.municipality, Step(
                BEFORE_INSTITUTION, BEFORE_INSTITUTION_REF, True, [r.ref for r in walked] + [prev.ref],
                outcome={"payer": prev.municipality, "basis": BEFORE_INSTITUTION,
                         "institutions_walked": len(walked)},
                why=("institution_applies", {"since": walked[-1].valid_from.isoformat(),
                                             "payer": prev.municipality}))
        walked.append(prev)
        if len(walked) > 10_000:  # registrations do not overlap, so this cannot loop; guard anyway
            raise InputError(f"placement {p.placement}: BRP history of {p.client} cannot be walked back")

"""The export `settlement-export/1` (INTERFACE.md §3): sorted, amounts as two-decimal strings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .agreements import PoolResult
from .engine import Line, MonthResult, totals_and_invoices
from .money import format_cents
from .periods import Month

FORMAT = "settlement-export/1"


def build(month: str, engine_version: str, input_hash: str, lines: list[Line], pools: list[PoolResult],
          municipalities: list[str]) -> dict[str, Any]:
    result = MonthResult(Month.parse(month), sorted(lines, key=lambda l: l.sort_key),
                         sorted(pools, key=lambda p: p.agreement))
    totals_and_invoices(result, municipalities)
    return {
        "format": FORMAT,
        "month": month,
        "engine_version": engine_version,
        "input_hash": input_hash,
        "lines": [{"placement": l.placement, "client": l.client, "product": l.product, "region": l.region,
                   "days": l.days, "amount": format_cents(l.amount), "status": l.status, "basis": l.basis,
                   "payer": l.payer, "pool": l.pool, "creditor": l.creditor, "flags": sorted(l.flags)}
                  for l in result.lines],
        "pools": [{"agreement": p.agreement, "creditor": p.creditor, "total": format_cents(p.total),
                   "shares": {c: format_cents(v) for c, v in sorted(p.shares.items())}} for p in result.pools],
        "invoices": [{"creditor": c, "debtor": d, "amount": format_cents(v)} for c, d, v in result.invoices],
        "totals": {m: {"payable": format_cents(p), "receivable": format_cents(r)}
                   for m, (p, r) in sorted(result.totals.items())},
    }


def dumps(doc: dict[str, Any]) -> str:
    """The export's bytes: stable key order as in INTERFACE.md, two-space indent, final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

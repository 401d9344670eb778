"""The export `settlement-export/1` (INTERFACE.md §3): sorted, amounts as two-decimal strings."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
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


_SCALAR = json.JSONEncoder(ensure_ascii=False).encode
_STRING = encode_basestring  # what that encoder does with a str, in C
_SIMPLE = {type(None): lambda v: "null", bool: lambda v: "true" if v else "false", int: int.__repr__, str: _STRING}


def _indented(value: Any, pad: str, out: list[str]) -> None:
    """Append `value` as `json.dumps(value, indent=2, ensure_ascii=False)` writes it at the
    indentation `pad`. The same bytes, but each scalar is encoded by the C encoder, which
    `json.dumps` does not use once an indent is asked for (five times slower for a national month)."""
    simple = _SIMPLE.get(type(value))
    if simple is not None:
        out.append(simple(value))
    elif isinstance(value, dict) and any(type(k) is not str for k in value):  # keys json.dumps converts
        out.append(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad))
    elif isinstance(value, (dict, list)) and value:
        inner = pad + "  "
        is_dict = isinstance(value, dict)
        sep = ("{" if is_dict else "[") + "\n" + inner
        for item in (value.items() if is_dict else value):
            if is_dict:
                key, item = item
                out.append(sep + _STRING(key) + ": ")
            else:
                out.append(sep)
            sep = ",\n" + inner
            _indented(item, inner, out)
        out.append("\n" + pad + ("}" if is_dict else "]"))
    else:  # an empty dict or list, a float, or anything else the encoder knows
        out.append(_SCALAR(value))


def dumps(doc: dict[str, Any]) -> str:
    """The export's bytes: stable key order as in INTERFACE.md, two-space indent, final newline
    (exactly `json.dumps(doc, indent=2, ensure_ascii=False) + "\\n"`)."""
    out: list[str] = []
    _indented(doc, "", out)
    out.append("\n")
    return "".join(out)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

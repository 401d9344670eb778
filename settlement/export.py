"""The export (INTERFACE.md §3), `settlement-export/2`: sorted, amounts as two-decimal strings.

Format 2 keeps everything of `settlement-export/1` and says what it is: a `run` object (`id`;
`kind` `draft`, `final` or `correction`; `corrects`, the final run a correction corrects; and,
as an addition, `final`: whether the run is finalised, since a draft correction and a finalised
one share their kind). For a correction the lines, days, invoices and totals are differences
against what was finalised before. Each invoice carries its `number`, `kind` and the invoice it
`corrects` once the run is final (null before), and each pool its `costs` and `budget` part
(`total` = `costs` - `budget`, RULES.md §5.3).

A run written before format 2 recorded the hash of its `settlement-export/1` (`build` without a
`run`); `stored` gives that export back for it, so that `settle export` and `settle verify`
keep meaning the export the run's receipt holds.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import Any, Iterable

from . import jsontext
from .agreements import PoolResult
from .engine import Line, MonthResult, totals_and_invoices
from .money import format_cents
from .periods import Month

FORMAT = "settlement-export/2"
FORMAT_1 = "settlement-export/1"  # written before format 2; rebuilt for the runs that recorded it


def run_head(run_id: int, kind: str, final: bool, corrects: int | None) -> dict[str, Any]:
    """The export's `run` object. `kind`: `draft`, `final` or `correction` (a draft correction is
    a `correction` with `final` false); `corrects`: the id of the final run a correction corrects."""
    assert kind in ("draft", "final", "correction") and (corrects is not None) == (kind == "correction")
    return {"id": run_id, "kind": kind, "corrects": corrects, "final": final}


def head_of(run: Any) -> dict[str, Any]:
    """The `run` object of a stored run (a Run row, or anything with its columns)."""
    return run_head(run.id, run.kind, run.finalized_at is not None, run.parent)


def pool_parts(pool: PoolResult) -> tuple[int, int]:
    """(costs, budget) of a pool result, in cents: `total` = costs - budget. A pool that shares
    costs has no budget part; a budget pool (RULES.md §5.3) carries its month's budget B(M) as
    `budget`, and its total is then the costs of the pooled lines minus that part."""
    return pool.costs, pool.budget


def build(month: str, engine_version: str, input_hash: str, lines: list[Line], pools: list[PoolResult],
          municipalities: list[str], run: dict[str, Any] | None = None,
          invoices: Iterable[Any] = ()) -> dict[str, Any]:
    """The export document. `run`: the run's `run_head`; without it the document is
    `settlement-export/1`, as runs written before format 2 recorded it. `invoices`: the run's
    numbered invoices (rows with creditor, debtor, number, kind and corrects), which give each
    invoice its number once the run is final."""
    result = MonthResult(Month.parse(month), sorted(lines, key=lambda l: l.sort_key),
                         sorted(pools, key=lambda p: p.agreement))
    totals_and_invoices(result, municipalities)
    doc: dict[str, Any] = {
        "format": FORMAT if run is not None else FORMAT_1,
        "month": month,
        "engine_version": engine_version,
        "input_hash": input_hash,
    }
    if run is not None:
        doc["run"] = {"id": run["id"], "kind": run["kind"], "corrects": run["corrects"], "final": run["final"]}
    doc["lines"] = [{"placement": l.placement, "client": l.client, "product": l.product, "region": l.region,
                     "days": l.days, "amount": format_cents(l.amount), "status": l.status, "basis": l.basis,
                     "payer": l.payer, "pool": l.pool, "creditor": l.creditor, "flags": sorted(l.flags)}
                    for l in result.lines]
    if run is None:
        doc["pools"] = [{"agreement": p.agreement, "creditor": p.creditor, "total": format_cents(p.total),
                         "shares": {c: format_cents(v) for c, v in sorted(p.shares.items())}} for p in result.pools]
        doc["invoices"] = [{"creditor": c, "debtor": d, "amount": format_cents(v)} for c, d, v in result.invoices]
    else:
        doc["pools"] = [{"agreement": p.agreement, "creditor": p.creditor, "costs": format_cents(costs),
                         "budget": format_cents(budget), "total": format_cents(p.total),
                         "shares": {c: format_cents(v) for c, v in sorted(p.shares.items())}}
                        for p in result.pools for costs, budget in [pool_parts(p)]]
        numbered = {(i.creditor, i.debtor): i for i in invoices} if run["final"] else {}
        doc["invoices"] = []
        for c, d, v in result.invoices:
            i = numbered.get((c, d))
            doc["invoices"].append({"creditor": c, "debtor": d, "amount": format_cents(v),
                                    "number": i.number if i else None, "kind": i.kind if i else None,
                                    "corrects": i.corrects if i else None})
    doc["totals"] = {m: {"payable": format_cents(p), "receivable": format_cents(r)}
                     for m, (p, r) in sorted(result.totals.items())}
    return doc


def stored(run: Any, lines: list[Line], pools: list[PoolResult], municipalities: list[str],
           invoices: Iterable[Any] = ()) -> tuple[str, str | None]:
    """The export of a stored run as its recorded `export_hash` fixes it, and the format that
    hash matches: `settlement-export/2` from the run's columns, lines, pools and (once final)
    numbered invoices; for a run written before format 2, `settlement-export/1`. None as the
    format when neither matches (a stored row was altered since): the text is then format 2."""
    text = dumps(build(run.month, run.engine_version, run.input_hash, lines, pools, municipalities,
                       head_of(run), invoices))
    if digest(text) == run.export_hash:
        return text, FORMAT
    old = dumps(build(run.month, run.engine_version, run.input_hash, lines, pools, municipalities))
    if digest(old) == run.export_hash:
        return old, FORMAT_1
    return text, None


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
    (exactly `json.dumps(doc, indent=2, ensure_ascii=False) + "\\n"`), made by orjson; a document
    orjson does not take (a key that is not a string) by the standard library's scalars."""
    try:
        return jsontext.indented(doc) + "\n"
    except TypeError:
        pass
    out: list[str] = []
    _indented(doc, "", out)
    out.append("\n")
    return "".join(out)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

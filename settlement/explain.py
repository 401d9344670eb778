"""`settle explain --format text|json`: the traces of a client's, a placement's or a municipality's
lines, as English text a finance officer can read, or as JSON (the traces themselves).

Both show the month's latest run (as `settle export` does) and never a BSN: traces contain none,
and nothing here reads the clients table. The Dutch dossier (html, pdf) is `settlement.dossier`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from . import correction, trace
from .engine import BASES, Line
from .money import format_cents
from .periods import Month
from .phrases import term

if TYPE_CHECKING:
    from .dossier.gather import MonthData, Selection


def _record(r: dict[str, Any]) -> str:
    rest = ", ".join(f"{k}={v}" for k, v in r.items() if k != "record" and v is not None)
    return trace.record_label(r["record"]) + (f" ({rest})" if rest else "")


def _name(code: str | None, names: dict[str, str]) -> str:
    if code is None:
        return "-"
    return f"{code} {names[code]}" if code in names else code


def _line_block(n: int, line: Line, names: dict[str, str], shown: dict[str, int], month: str) -> list[str]:
    out = [f"Line {n}: placement {line.placement} of client {line.client} ({line.product}, care region {line.region}), "
           f"{line.days} day(s), EUR {format_cents(line.amount)}"]
    payer = f"pool {line.pool}" if line.pool else _name(line.payer, names)
    out.append(f"  paid by {payer}; basis {line.basis}; status {line.status}; "
               f"creditor {_name(line.creditor, names)}; flags: {', '.join(line.flags) or 'none'}")
    corr = line.trace.get("correction")
    if corr:
        out.append(f"  CORRECTION of final run {corr['final_run']}: now EUR {corr['new_amount']} ({corr['new_days']} day(s)) "
                   f"- earlier EUR {corr['earlier_amount']} ({corr['earlier_days']} day(s)) = EUR {corr['amount']}")
        for e in corr.get("earlier", []):
            out.append(f"     earlier: run {e['run']} ({e['kind']}), {e['days']} day(s), EUR {e['amount']}")
        reason = correction.reason_text(corr, "en")
        if reason:
            out.append(f"     {reason}")
    steps = line.trace.get("steps", [])
    key = repr([{k: v for k, v in s.items() if k != "decided"} for s in steps])  # the lines of one placement-month
    if key in shown:
        out.append(f"  How it was decided: the same rules as line {shown[key]} (one placement-month, split by days)")
        steps = []
    else:
        shown[key] = n
        out.append("  How it was decided, rule by rule:")
    for i, step in enumerate(steps, 1):
        mark = "APPLIES " if step["applies"] else "does not apply"
        out.append(f"   {i:2}. {step['rule']} [{trace.reference_text(step)}]: {mark}")
        why = trace.reason(step, "en")
        if why:
            out.append(f"       why: {why}")
        if step["rule"] == "amount" and step.get("outcome"):
            o = step["outcome"]
            days_in_month = Month.parse(line.trace.get("period", month)).days
            for iv in o.get("intervals", []):
                out.append(f"       {iv['from']}..{iv['to']}: {trace.formula(iv, o.get('unit', 'day'), days_in_month)} "
                           f"= {iv['exact_cents']} cents")
            if "exact_cents" in o:
                out.append(f"       total {o['exact_cents']} cents, rounded half away from zero: EUR {o['amount']}")
            if "declaration" in o:
                out.append(f"       declaration: EUR {o['declaration']}")
        elif step.get("outcome"):
            out.append("       decided: " + ", ".join(f"{k}={v}" for k, v in sorted(step["outcome"].items())
                                                    if v is not None and not isinstance(v, (dict, list))))
        for r in step.get("read", []):
            out.append(f"       read: {_record(r)}")
    if "split" in line.trace:
        s = line.trace["split"]
        out.append(f"  Split of EUR {s['total']} ({term('en', s['method'])}):")
        for part in s["parts"]:
            ranges = ", ".join(f"{a}..{b}" for a, b in part["ranges"])
            out.append(f"     {_name(part['payer'], names)} / {part['basis']}: {part['days']} day(s) "
                       f"({ranges}) = EUR {part['amount']}")
    if "pool" in line.trace:
        p = line.trace["pool"]
        out.append(f"  Pool {p['agreement']} in {month}: total EUR {p['total']}, creditor {_name(p['creditor'], names)}")
        out.append(f"     key (sum {p['weight_sum']}): " + ", ".join(f"{c}={w}" for c, w in p["key"].items()))
        out.append("     shares: " + ", ".join(f"{c}=EUR {v}" for c, v in p["shares"].items()))
    out.append("")
    return out


def render_text(month: str, client: str, lines: list[Line], names: dict[str, str]) -> str:
    """A client's lines of one month (kept for callers of the first version)."""
    if not lines:
        return f"Client {client} has no lines in {month}.\n"
    out = [f"Client {client}, {month}: {len(lines)} line(s), total EUR {format_cents(sum(l.amount for l in lines))}", ""]
    shown: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        out += _line_block(n, line, names, shown, month)
    return "\n".join(out)


def _run_line(md: "MonthData") -> str:
    r = md.runs[-1]
    return (f"  run {r.id} ({r.kind}), engine {r.engine_version}, rules {r.rules_version}, input {r.input_hash}, "
            f"agreements {r.agreements_hash}, export {r.export_hash}")


def _month_text(sel: "Selection", md: "MonthData", names: dict[str, str]) -> list[str]:
    month = str(md.month)
    lines = [e.line for e in md.entries]
    total = format_cents(sum(l.amount for l in lines))
    shown: dict[str, int] = {}
    if sel.subject == "client":
        head = f"Client {sel.key}, {month}: {len(lines)} line(s), total EUR {total}"
    elif sel.subject == "placement":
        client = sel.ds.placements[sel.key].client
        head = f"Placement {sel.key} (client {client}), {month}: {len(lines)} line(s), total EUR {total}"
    else:
        own = [l for l in lines if l.payer == sel.key]
        shares = [(p.agreement, p.shares[sel.key]) for _, p in md.pools if sel.key in p.shares]
        head = (f"Municipality {_name(sel.key, names)}, {month}: pays {len(own)} line(s), EUR "
                f"{format_cents(sum(l.amount for l in own))}, and pool shares EUR "
                f"{format_cents(sum(v for _, v in shares))}; total EUR "
                f"{format_cents(sum(l.amount for l in own) + sum(v for _, v in shares))}")
    out = [head, _run_line(md), ""]
    if not lines:
        out += [f"  no lines in {month}", ""]
        return out
    if sel.subject != "municipality":
        for n, line in enumerate(lines, 1):
            out += _line_block(n, line, names, shown, month)
        return out
    by_basis: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_basis[line.basis].append(line)
    n = 0
    for basis in sorted(by_basis, key=lambda b: BASES.index(b) if b in BASES else len(BASES)):
        group = by_basis[basis]
        if basis == "pool":
            for _, p in md.pools:
                if sel.key in p.shares:
                    weights = dict(p.weights)
                    out.append(f"Basis pool: {len(group)} pooled line(s); share of {sel.key} in {p.agreement}: "
                               f"EUR {format_cents(p.shares[sel.key])} (weight {weights.get(sel.key)} of "
                               f"{sum(weights.values())}, pool total EUR {format_cents(p.total)})")
        else:
            out.append(f"Basis {basis}: {len(group)} line(s), EUR {format_cents(sum(l.amount for l in group))}")
        out.append("")
        for line in group:
            n += 1
            out += _line_block(n, line, names, shown, month)
    return out


def explain_text(sel: "Selection") -> str:
    names = {c: m.name for c, m in sel.ds.municipalities.items()}
    out: list[str] = []
    for md in sel.months:
        out += _month_text(sel, md, names)
    return "\n".join(out)


def _shown(t: dict[str, Any]) -> dict[str, Any]:
    """A trace as the JSON shows it: as stored, but a correction block's rule and reason in words."""
    if "correction" not in t:
        return t
    return {**t, "correction": correction.rendered(t["correction"], "en")}


def _month_json(sel: "Selection", md: "MonthData") -> dict[str, Any]:
    run = md.runs[-1]
    doc: dict[str, Any] = {
        "month": str(md.month), "run": run.id, "kind": run.kind, "engine_version": run.engine_version,
        "rules_version": run.rules_version, "input_hash": run.input_hash, "agreements_hash": run.agreements_hash,
        "export_hash": run.export_hash, "traces": [_shown(e.line.trace) for e in md.entries]}
    if sel.subject == "municipality":
        doc["pool_shares"] = [
            {"agreement": p.agreement, "creditor": p.creditor, "total": format_cents(p.total),
             "weight": str(dict(p.weights).get(sel.key)), "weight_sum": str(sum(dict(p.weights).values())),
             "share": format_cents(p.shares[sel.key])}
            for _, p in md.pools if sel.key in p.shares]
    return doc


def explain_json(sel: "Selection") -> str:
    """One month: {"month", "<subject>", "run", ..., "traces"}; a period: {"from", "to", "<subject>",
    "months": [one such object per month]}."""
    if len(sel.months) == 1:
        md = sel.months[0]
        doc = _month_json(sel, md)
        doc = {"month": doc.pop("month"), sel.subject: sel.key, **doc}
    else:
        doc = {"from": str(sel.months[0].month), "to": str(sel.months[-1].month), sel.subject: sel.key,
               "months": [_month_json(sel, md) for md in sel.months]}
    return json.dumps(doc, indent=2, ensure_ascii=False)

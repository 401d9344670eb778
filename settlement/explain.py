"""`settle explain`: the trace of a client's lines, as text a finance officer can read."""

from __future__ import annotations

from typing import Any

from .engine import Line
from .money import format_cents


def _record(r: dict[str, Any]) -> str:
    rest = ", ".join(f"{k}={v}" for k, v in r.items() if k != "record" and v is not None)
    return f"{r.get('record')}" + (f" ({rest})" if rest else "")


def _name(code: str | None, names: dict[str, str]) -> str:
    if code is None:
        return "-"
    return f"{code} {names[code]}" if code in names else code


def render_text(month: str, client: str, lines: list[Line], names: dict[str, str]) -> str:
    if not lines:
        return f"Client {client} has no lines in {month}.\n"
    out = [f"Client {client}, {month}: {len(lines)} line(s), total EUR {format_cents(sum(l.amount for l in lines))}", ""]
    shown: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        out.append(f"Line {n}: placement {line.placement} ({line.product}, care region {line.region}), "
                   f"{line.days} day(s), EUR {format_cents(line.amount)}")
        payer = f"pool {line.pool}" if line.pool else _name(line.payer, names)
        out.append(f"  paid by {payer}; basis {line.basis}; status {line.status}; "
                   f"creditor {_name(line.creditor, names)}; flags: {', '.join(line.flags) or 'none'}")
        steps = line.trace.get("steps", [])
        key = repr(steps)
        if key in shown:
            out.append(f"  How it was decided: the same rules as line {shown[key]} (one placement-month, split by days)")
            steps = []
        else:
            shown[key] = n
            out.append("  How it was decided, rule by rule:")
        for i, step in enumerate(steps, 1):
            mark = "APPLIES " if step["applies"] else "does not apply"
            out.append(f"   {i:2}. {step['rule']} [{step['reference']}]: {mark}")
            if step.get("reason"):
                out.append(f"       why: {step['reason']}")
            if step["rule"] == "amount" and step.get("outcome"):
                o = step["outcome"]
                for iv in o.get("intervals", []):
                    out.append(f"       {iv['from']}..{iv['to']}: {iv['formula']} = {iv['exact_cents']} cents")
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
            out.append(f"  Split of EUR {s['total']} ({s['method']}):")
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
    return "\n".join(out)

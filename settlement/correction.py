"""The correction of a final month: the difference between a recomputation and everything
finalised before for it (the arithmetic only; `settlement.service` reads the runs and stores the
result, `settlement.verify` recomputes it).

Source: INTERFACE.md §3, "for a correction, lines, days, invoices and totals are differences", and
docs/TRACE.md "Correction" (the trace's `correction` block). A final month is never edited: as in
double-entry bookkeeping (beancount: "corrections are new entries, never edits"), a change in the
data becomes a new run of differences, which reverses what no longer arises and adds what is new.

Pure: runs, lines and pool results in, lines (with their traces) and pool results out; no
database. A correction line's `correction` block holds figures and codes, no sentence: `rule` is
the code of the rule (RULE), `why` the code and parameters of the reason when the earlier amount
is reversed; `rule_text` and `reason_text` render them at read time through settlement.phrases,
for blocks stored before the codes (whose `rule` and `reason` were English sentences) too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any, Protocol

from . import trace as _trace
from .agreements import PoolResult
from .engine import TRACE_FORMAT, Line, MonthResult, check_invariants, totals_and_invoices
from .money import format_cents
from .phrases import BOOKS, say

RULE = "correction"  # the phrase of the rule: new amount minus the sum of the amounts finalised before
REVERSED = "correction_reversed"  # the phrase of the reason of a reversed line; params {"cost_line": bool}


class EarlierRun(Protocol):
    """What the arithmetic reads of a finalised run (a settlement.db.Run)."""

    id: int | None
    kind: str
    finalized_at: datetime | None


def key(line: Line) -> tuple[str, str, str, str, str]:
    """What a correction compares: (placement, payer, basis) as RULES.md sorts lines; the creditor
    and the pool are part of it so that a placement moving to another care region or pool is a
    reversal plus a new line, never a difference netted across two creditors."""
    return (line.placement, line.payer or "", line.basis, line.creditor, line.pool or "")


def correction(new: MonthResult, earlier: list[tuple[EarlierRun, list[Line], list[PoolResult]]],
               municipalities: list[str]) -> MonthResult | None:
    """The difference between a recomputed month and everything finalised before for it.

    `earlier`: the month's finalised runs (the final run, then finalised corrections) with their
    lines and pool results. Per (placement, payer, basis) a correction line of new minus earlier
    amount and days, with the new trace (or, for a line that no longer arises, the placement's new
    rule evaluations) and a `correction` block naming the earlier amounts and runs. Per (agreement,
    municipality) the difference of the pool shares; the totals and invoices of the differences.
    None when nothing differs.
    """
    month = str(new.month)
    final_run = next(r for r, _, _ in earlier if r.kind == "final")
    old_amount: dict[tuple, int] = defaultdict(int)
    old_days: dict[tuple, int] = defaultdict(int)
    old_parts: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    old_line: dict[tuple, Line] = {}
    for run, lines, _ in earlier:
        for line in lines:
            k = key(line)
            old_amount[k] += line.amount
            old_days[k] += line.days
            old_parts[k].append({"run": run.id, "kind": run.kind, "finalized_at": _iso(run.finalized_at),
                                 "days": line.days, "amount": format_cents(line.amount)})
            old_line[k] = line
    new_lines: dict[tuple, list[Line]] = defaultdict(list)
    first_of: dict[str, Line] = {}  # a placement's first new line: its steps, read only for a line reversed
    for line in new.lines:
        new_lines[key(line)].append(line)
        first_of.setdefault(line.placement, line)

    out: list[Line] = []
    for k in sorted(set(old_amount) | set(new_lines)):
        now = new_lines.get(k, [])
        amount, days = sum(l.amount for l in now), sum(l.days for l in now)
        d_amount, d_days = amount - old_amount.get(k, 0), days - old_days.get(k, 0)
        if d_amount == 0 and d_days == 0:
            continue
        base = now[0] if now else old_line[k]
        block: dict[str, Any] = {
            "month": month, "final_run": final_run.id, "earlier": old_parts.get(k, []),
            "earlier_days": old_days.get(k, 0), "earlier_amount": format_cents(old_amount.get(k, 0)),
            "new_days": days, "new_amount": format_cents(amount),
            "days": d_days, "amount": format_cents(d_amount), "rule": RULE}
        if now:
            trace = dict(now[0].trace_dict())  # the recomputed lines are not kept: sharing their parts is safe
        else:
            steps = first_of[k[0]].trace_dict().get("steps", []) if k[0] in first_of else None
            block["why"] = {"code": REVERSED, "params": {"cost_line": steps is not None}}
            trace = {"format": TRACE_FORMAT, "period": month, "placement": base.placement, "client": base.client,
                     "decision": {f"payer<{month}>": base.payer, f"basis<{month}>": base.basis,
                                  "status": base.status, "pool": base.pool, "creditor": base.creditor,
                                  "days": 0, "amount": format_cents(0), "flags": []},
                     "steps": _trace.line_steps(base.basis, steps or [])}
        trace["correction"] = block
        out.append(Line(base.placement, base.client, base.product, base.region, d_days, d_amount, base.status,
                        base.basis, base.payer, base.pool, base.creditor, base.flags, trace))
    out.sort(key=lambda l: (l.sort_key, l.creditor, l.pool or ""))

    old_total: dict[str, int] = defaultdict(int)
    old_budget: dict[str, int] = defaultdict(int)  # B(M) of a budget pool (RULES.md §5.3), as finalised
    old_share: dict[tuple[str, str], int] = defaultdict(int)
    info: dict[str, tuple[str, dict[str, Fraction]]] = {}  # agreement -> (creditor, weights)
    for _, _, pools in earlier:
        for p in pools:
            old_total[p.agreement] += p.total
            old_budget[p.agreement] += p.budget
            for code, v in p.shares.items():
                old_share[(p.agreement, code)] += v
            info[p.agreement] = (p.creditor, dict(p.weights))
    new_pools = {p.agreement: p for p in new.pools}
    pools: list[PoolResult] = []
    for agreement in sorted(set(old_total) | set(new_pools)):
        p = new_pools.get(agreement)
        creditor, weights = (p.creditor, dict(p.weights)) if p else info[agreement]
        if p and agreement in info:  # members that left the key keep their earlier weight
            weights = {**info[agreement][1], **weights}
        codes = sorted({c for (a, c) in old_share if a == agreement} | set(p.shares if p else ()))
        shares = {c: (p.shares.get(c, 0) if p else 0) - old_share.get((agreement, c), 0) for c in codes}
        total = (p.total if p else 0) - old_total.get(agreement, 0)
        budget = (p.budget if p else 0) - old_budget.get(agreement, 0)  # a new budgets.csv row: its difference
        if total == 0 and budget == 0 and not any(shares.values()):
            continue
        pools.append(PoolResult(agreement, creditor, total, tuple((c, weights[c]) for c in codes), shares, budget))

    if not out and not pools:
        return None
    result = MonthResult(new.month, out, pools)
    totals_and_invoices(result, municipalities)
    check_invariants(result)
    return result


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


# ---------------------------------------------------------------------------------------------
# Reading a correction block (at read time: explain, the dossier)


_NO_COST_LINE = "; the placement has no cost line in this month any more"  # the tail of a stored sentence


def why(block: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The block's reason as (code, params), or None (the line is a difference, not a reversal).
    A block stored before the codes said it as an English `reason`, of which there were two."""
    if block.get("why"):
        return block["why"]["code"], block["why"]["params"]
    if block.get("reason"):
        return REVERSED, {"cost_line": _NO_COST_LINE not in block["reason"]}
    return None


def reversed_line(block: dict[str, Any] | None) -> bool:
    """Whether a correction line reverses an earlier amount (its payer and basis no longer arise)."""
    return bool(block) and why(block) is not None  # type: ignore[arg-type]


def rule_text(block: dict[str, Any], lang: str = "en") -> str:
    """The rule of the block as a sentence: its code's, or for a block stored before the codes
    (whose `rule` is that sentence in English) the one rule every correction follows."""
    code = block.get("rule")
    return say(lang, code if code in BOOKS[lang] else RULE, {})


def reason_text(block: dict[str, Any], lang: str = "en") -> str | None:
    """The reason of a reversed line as a sentence, or None."""
    w = why(block)
    return say(lang, w[0], w[1]) if w else None


def rendered(block: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """The block as `settle explain --format json` shows it: the figures, and `rule` and (for a
    reversed line) `reason` as sentences, the way blocks were stored before the codes."""
    out = {k: v for k, v in block.items() if k not in ("rule", "why", "reason")}
    out["rule"] = rule_text(block, lang)
    reason = reason_text(block, lang)
    if reason is not None:
        out["reason"] = reason
    return dict(sorted(out.items()))  # as stored: sorted keys

"""Plain-text tables for the terminal and the demo's monthly summaries."""

from __future__ import annotations

from collections import Counter

from .engine import MonthResult
from .money import format_cents


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    def fmt(row: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join([fmt(headers), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)])


NET_NOTE = ("net = receivable - payable. payable: all the municipality pays for the month, what it owes itself\n"
            "included; receivable: what other municipalities owe it (its invoices). What a centrumgemeente owes\n"
            "itself (its own residents' lines, its own share of a pool) is in its payable and on no invoice,\n"
            "so net does not sum to zero.")


def municipality_table(totals: dict[str, tuple[int, int]], names: dict[str, str], all_rows: bool = True) -> str:
    """Payable, receivable and net per municipality (the `settle run` table, the demo's summaries).
    `all_rows` False leaves out the municipalities with nothing payable or receivable; the total
    row is of every municipality either way."""
    rows = []
    for code in sorted(totals):
        payable, receivable = totals[code]
        if not all_rows and not payable and not receivable:
            continue
        rows.append([code, names.get(code, ""), format_cents(payable), format_cents(receivable),
                     format_cents(receivable - payable)])
    grand_p = sum(p for p, _ in totals.values())
    grand_r = sum(r for _, r in totals.values())
    rows.append(["", "total", format_cents(grand_p), format_cents(grand_r), format_cents(grand_r - grand_p)])
    return table(["code", "municipality", "payable", "receivable", "net"], rows, {2, 3, 4})


def month_summary(result: MonthResult, names: dict[str, str]) -> str:
    """A readable summary of one month: the table, lines per basis, flags, pools, invoices."""
    by_basis: Counter[str] = Counter()
    amount_by_basis: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    for line in result.lines:
        by_basis[line.basis] += 1
        amount_by_basis[line.basis] += line.amount
        for f in line.flags:
            flags[f] += 1
    parts = [f"Settlement {result.month}: {len(result.lines)} lines, total EUR "
             f"{format_cents(sum(l.amount for l in result.lines))}", "",
             municipality_table(result.totals, names), "", "Lines per basis:",
             table(["basis", "lines", "amount"],
                   [[b, str(by_basis[b]), format_cents(amount_by_basis[b])] for b in sorted(by_basis)], {1, 2})]
    if flags:
        parts += ["", "Flags: " + ", ".join(f"{f} x{n}" for f, n in sorted(flags.items()))]
    for pool in result.pools:
        parts += ["", f"Pool {pool.agreement} (creditor {pool.creditor}): total EUR {format_cents(pool.total)}",
                  table(["code", "weight", "share"],
                        [[c, str(w), format_cents(pool.shares[c])] for c, w in pool.weights], {1, 2})]
    if result.invoices:
        parts += ["", "Invoices:", table(["creditor", "debtor", "amount"],
                                         [[c, d, format_cents(v)] for c, d, v in result.invoices], {2})]
    return "\n".join(parts) + "\n"

"""The dossier as values for the template: everything is worded and computed here, the template
only lays it out (`templates/dossier.html`).

Order of the document: the receipt of the run(s) and (with --with-bsn) the BSN warning; a
summary of the lines with links (grouped by basis for a municipality, by month otherwise); per
client the facts (timeline and tables of BRP, applications, placements, notifications, regions,
the 365-day windows and notification deadlines); per month each line's explanation (the rule
that decided, every rule in order with its Dutch reason, reference and the records it read, the
amount with its exact arithmetic, the agreement's terms, the split over payers, the pool, the
correction); per month the pool arithmetic.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any

from .. import nl
from .. import trace as _trace
from ..agreements.base import Wording, kind_of_step
from ..correction import reason_text, reversed_line
from ..engine import Line
from ..money import parse_euros
from ..nl import cents_nl, date_nl, euro, period_nl, range_nl
from ..periods import ONE_DAY, WINDOW, Month
from .. import references
from ..phrases import earlier_missing_nl, earlier_nl, source_nl, term
from . import timeline as tl
from .gather import Entry, MonthData, RunInfo, Selection, depends_on_placements
from .words import Names, reason_nl, record_nl, rule_title

BSN_WARNING = ("Dit dossier bevat burgerservicenummers (BSN). Het is vertrouwelijk: deel het alleen met "
               "wie het voor de behandeling van het geschil nodig heeft, en vernietig het daarna.")


def anchor(*parts: Any) -> str:
    """An HTML id for `parts`, injective: letters and digits are kept, every other character of a
    part is written as _hex_ (so C-0016 and C.0016, or P1 with payer 0193 and P1-0193 without one,
    get different ids), and the parts are joined by '-' (an absent part stays an empty place)."""
    return "-".join(_ANCHOR_ESCAPE.sub(lambda m: f"_{ord(m.group()):x}_", "" if p is None else str(p))
                    for p in parts)


_ANCHOR_ESCAPE = re.compile(r"[^A-Za-z0-9]")


month_nl = nl.month_nl


def _cents(text: str) -> int:
    return parse_euros(text)


def line_anchor(e: Entry) -> str:
    l = e.line
    return anchor("regel", l.trace.get("period"), l.placement, l.payer or l.pool, l.basis, l.creditor, f"run{e.run.id}")


def pool_anchor(month: str, agreement: str, run: RunInfo) -> str:
    return anchor("pool", month, agreement, f"run{run.id}")


def client_anchor(client: str) -> str:
    return anchor("client", client)


# ---------------------------------------------------------------------------------------------
# Which rule decided a line


def _state(step: dict[str, Any], deciding: bool) -> tuple[str, str]:
    """(css class, Dutch word) of a step's outcome."""
    if deciding:
        return "decided", "besliste"
    if step.get("applies"):
        return "applied", "van toepassing"
    if (step.get("why") or {}).get("code") == "not_reached":
        return "skipped", "niet beoordeeld"
    return "rejected", "niet van toepassing"


def _responsible_step(t: dict[str, Any], how: dict[str, Any] | None) -> dict[str, Any] | None:
    """The step of an earlier placement's (stored) trace that made its municipality responsible,
    as the reentry step's `how` says (RULES.md §4.4 regel 1): the rule of its basis, the pool that
    carried it, or the historic rule; without a `how`, the step that decided that line."""
    code, params = (how or {}).get("code"), (how or {}).get("params") or {}
    rule = {"responsible_payer": params.get("basis"), "responsible_pooled": params.get("agreement"),
            "responsible_historic": "historic"}.get(code)
    steps = t.get("steps", [])
    return next((s for s in steps if s.get("applies") and s["rule"] == rule), None) if rule else \
        _trace.decided_step(t)


# ---------------------------------------------------------------------------------------------
# Arithmetic shown in words


def rounding_nl(exact: Fraction) -> str:
    """How the one rounding (half away from zero) turns the exact cents into whole cents."""
    from ..money import round_half_away
    rounded = round_half_away(exact)
    if exact.denominator == 1:
        return f"{cents_nl(exact)} is al een heel aantal centen: geen afronding"
    frac = Fraction(abs(exact.numerator) % exact.denominator, exact.denominator)
    way = ("de helft of meer, dus van nul af" if frac >= Fraction(1, 2) else "minder dan de helft, dus naar nul toe")
    return (f"de rest {frac.numerator}/{frac.denominator} cent is {way}: {cents_nl(rounded)} = "
            f"{euro(rounded)}")


def largest_remainder_rows(total: int, weights: list[tuple[Any, Fraction]]) -> tuple[list[dict[str, Any]], Fraction]:
    """The largest remainder split (RULES.md §6) of `total` cents, step by step: per key the exact
    part, its floor, its remainder and whether it got one of the remaining cents."""
    sign = -1 if total < 0 else 1
    amount = abs(total)
    weight_sum = sum((Fraction(w) for _, w in weights), Fraction(0))
    rows = []
    for key, w in weights:
        exact = Fraction(amount) * Fraction(w) / weight_sum
        floor = exact.numerator // exact.denominator
        rows.append({"key": key, "weight": Fraction(w), "exact": exact, "floor": floor, "rest": exact - floor})
    missing = amount - sum(r["floor"] for r in rows)
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i]["rest"], rows[i]["key"]))
    extra = set(ranked[:missing])
    for i, r in enumerate(rows):
        r["extra"] = i in extra
        r["rank"] = ranked.index(i) + 1
        r["part"] = sign * (r["floor"] + (1 if i in extra else 0))
        r["exact_nl"] = cents_nl(sign * r["exact"])
        r["floor_nl"] = cents_nl(sign * r["floor"])
        r["rest_nl"] = "0" if r["rest"] == 0 else f"{r['rest'].numerator}/{r['rest'].denominator}"
    return rows, weight_sum


# ---------------------------------------------------------------------------------------------
# One line


class LineBuilder:
    def __init__(self, sel: Selection, names: Names, with_bsn: bool):
        self.sel = sel
        self.names = names
        self.with_bsn = with_bsn
        self.agreements = sel.agreements

    def title(self, rule: str) -> str:
        return rule_title(rule, self.agreements)

    def reads(self, step: dict[str, Any]) -> list[dict[str, str]]:
        return [dict(zip(("id", "text"), record_nl(r, self.names))) for r in step.get("read", [])]

    @staticmethod
    def sources(step: dict[str, Any]) -> list[dict[str, str | None]]:
        """The step's reference as the catalogue's structured sources (document, section, lid, url)."""
        return [{"text": source_nl(src), "url": src.get("url")} for src in references.sources(step["reference"])]

    def earlier(self, step: dict[str, Any]) -> list[dict[str, Any]]:
        """The decisions of the earlier placements this step depends on (`depends_on`), each from
        a stored line of that placement (`Selection.earlier_decision`), following a reentry after a reentry."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        todo = [(p, step) for p in depends_on_placements([step])]
        while todo:
            placement, by = todo.pop(0)
            if placement in seen:
                continue
            seen.add(placement)
            found = self.sel.earlier_decision(placement)
            if found is None:
                out.append({"text": earlier_missing_nl(placement), "read": [], "sources": []})
                continue
            s = _responsible_step(found.line.trace, ((by.get("why") or {}).get("params") or {}).get("how"))
            if s is None:
                out.append({"text": earlier_missing_nl(placement), "read": [], "sources": []})
                continue
            out.append({"text": earlier_nl(placement, s["rule"], self.title(s["rule"]), reason_nl(s, self.names, self.agreements),
                                           found.run.id, month_nl(found.line.trace.get("period", found.run.month))),
                        "read": self.reads(s), "sources": self.sources(s)})
            todo += [(p, s) for p in depends_on_placements([s])]
        return out

    def build(self, e: Entry, number: str, month: MonthData) -> dict[str, Any]:
        line, trace = e.line, e.line.trace
        steps = trace.get("steps", [])
        decided = next((i for i, s in enumerate(steps) if s.get("decided")), None)
        n = self.names
        p = self.sel.ds.placements.get(line.placement)
        ranges = self._ranges(line)
        rows = []
        for i, s in enumerate(steps):
            css, word = _state(s, i == decided)
            rows.append({"n": i + 1, "rule": s["rule"], "title": self.title(s["rule"]), "reference": _trace.reference_text(s),
                         "sources": self.sources(s), "css": css, "state": word, "reason": reason_nl(s, n, self.agreements) or self._no_reason(s),
                         "read": self.reads(s)})
        agreements = self._agreements(line, steps)
        decision = None
        if decided is not None:
            s = steps[decided]
            reversed_ = reversed_line(trace.get("correction"))
            decision = {"label": ("Wat de regels nu beslissen: deze betaler en grondslag volgen er niet meer uit, "
                                  "daarom wordt het eerdere bedrag teruggedraaid") if reversed_ else "Beslissende regel",
                        "title": self.title(s["rule"]), "rule": s["rule"], "reference": _trace.reference_text(s),
                        "sources": self.sources(s), "earlier": self.earlier(s),
                        "reason": reason_nl(s, n, self.agreements), "read": self.reads(s),
                        "also": [{"title": self.title(t["rule"]), "reference": _trace.reference_text(t),
                                  "reason": reason_nl(t, n, self.agreements)}
                                 for j, t in enumerate(steps)
                                 if j != decided and t.get("applies") and t["rule"] not in ("amount", "status")],
                        "effect": next((a["effect"] for a in agreements if a["rule"] == s["rule"]), None)}
        payer = f"pool ‘{line.pool}’ (zie de verdeling)" if line.pool else n.municipality(line.payer)
        facts = [
            ("Cliënt", line.client + (f" (BSN {self._bsn(line.client)})" if self.with_bsn and self._bsn(line.client)
                                      else "")),
            ("Plaatsing", f"{line.placement}: {n.product(line.product)}"
                          + (f", {p.provider}, {period_nl(p.start.isoformat(), p.end.isoformat() if p.end else None)}"
                             if p else "")),
            ("Zorgregio", f"{n.region(line.region)} (centrumgemeente en schuldeiser {n.municipality(line.creditor)})"),
            ("Dagen in deze maand", f"{line.days}" + (f" ({ranges})" if ranges else "")),
            ("Bedrag van deze regel", euro(line.amount)),
            ("Betaler", payer),
            ("Grondslag", f"{nl.basis_label(line.basis)} ({line.basis})"),
            ("Status", nl.status_nl(line.status, long=True)),
        ]
        if line.flags:
            facts.append(("Kenmerken", ", ".join(nl.flag_name(f) for f in line.flags)))
        facts.append(("Run", f"{e.run.id} ({nl.RUN_KIND.get(e.run.kind, e.run.kind)})"))
        tags = [nl.flag_name(f) for f in line.flags]
        if e.correction:
            tags.insert(0, nl.CORRECTION[0])
        return {
            "anchor": line_anchor(e), "number": number, "client": line.client,
            "client_anchor": client_anchor(line.client),
            "heading": f"{line.placement} · {nl.basis_label(line.basis)}",
            "payer_short": (f"pool {line.pool}" if line.pool else n.municipality(line.payer)),
            "payer": payer, "amount": euro(line.amount), "tags": tags, "correction": e.correction,
            "facts": facts, "decision": decision, "steps": rows,
            "amount_calc": self._amount(steps, Month.parse(trace.get("period", str(month.month)))),
            "agreements": agreements,
            "split": self._split(line),
            "pool": self._pool(line, e, month),
            "correction_block": self._correction(trace.get("correction")),
        }

    def _bsn(self, client: str) -> str | None:
        return self.sel.bsns.get(client) if self.with_bsn else None

    @staticmethod
    def _no_reason(step: dict[str, Any]) -> str:
        if step["rule"] == "amount":
            return "het bedrag van de plaatsing in deze maand (zie ‘Bedrag’)"
        return ""

    @staticmethod
    def _ranges(line: Line) -> str:
        split = line.trace.get("split")
        if split:
            for part in split["parts"]:
                if part["payer"] == line.payer and part["basis"] == line.basis:
                    return ", ".join(range_nl(a, b) for a, b in part["ranges"])
        for s in line.trace.get("steps", []):
            if s["rule"] == "amount":
                for r in s.get("read", []):
                    if _trace.record_type(r["record"]) == "placement":
                        m = Month.parse(line.trace["period"])
                        lo = max(date.fromisoformat(r["start"]), m.first)
                        hi = min(date.fromisoformat(r["end"]), m.last) if r.get("end") else m.last
                        return range_nl(lo.isoformat(), hi.isoformat())
        return ""

    # -- amount (RULES.md §3) -----------------------------------------------------------------
    def _amount(self, steps: list[dict[str, Any]], month: Month) -> dict[str, Any] | None:
        step = next((s for s in steps if s["rule"] == "amount"), None)
        if step is None or not step.get("outcome"):
            return None
        o = step["outcome"]
        if "declaration" in o:
            return {"kind": "declaration", "days": o["days"], "amount": euro(o["amount"]),
                    "text": (f"Voor deze plaatsing en maand is een declaratie (het werkelijke bedrag) ontvangen: "
                             f"{euro(o['declaration'])}. Die vervangt het berekende bedrag (RULES.md §3); er is "
                             f"geen tarief en geen afronding nodig."),
                    "reference": _trace.reference_text(step)}
        unit = o.get("unit", "day")
        rows = []
        for iv in o.get("intervals", []):
            price = euro(iv["price"])
            formula = (f"{price} × {iv['days']} dagen" if unit == "day"
                       else f"{price} × {iv['days']} / {month.days} dagen")
            rows.append({"period": period_nl(iv["from"], iv["to"]), "days": iv["days"],
                         "price": price + (" per dag" if unit == "day" else " per maand"),
                         "formula": formula, "exact": cents_nl(Fraction(iv["exact_cents"]))})
        exact = Fraction(o["exact_cents"])
        return {"kind": "tariff", "days": o["days"], "rows": rows, "unit": unit,
                "unit_nl": ("per dag (etmaal): tarief × dagen" if unit == "day"
                            else f"per maand: tarief × dagen / {month.days} dagen in {month_nl(month)}"),
                "exact": cents_nl(exact), "rounding": rounding_nl(exact), "amount": euro(o["amount"]),
                "rounding_rule": term("nl", o.get("rounding") or _trace.ROUNDING),
                "reference": _trace.reference_text(step), "several": len(rows) > 1}

    # -- agreements (RULES.md §5) ---------------------------------------------------------------
    def _agreements(self, line: Line, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each applying agreement step as its kind shows it (Agreement.explain_nl)."""
        out = []
        p = self.sel.ds.placements.get(line.placement)
        for s in steps:
            kind = kind_of_step(s, self.agreements) if s.get("applies") else None
            if kind is None:
                continue
            block = kind.explain_nl(s, self.agreements.get(s["rule"]),
                                    Wording(self.names, line, p, _trace.reference_text(s)))
            if block is not None:
                out.append({"rule": s["rule"], "title": self.title(s["rule"]),
                            "reason": reason_nl(s, self.names, self.agreements), **block})
        return out

    # -- split over payers (RULES.md §3, §6) ----------------------------------------------------
    def _split(self, line: Line) -> dict[str, Any] | None:
        split = line.trace.get("split")
        if not split:
            return None
        n = self.names
        total = _cents(split["total"])
        parts = split["parts"]
        order = sorted(range(len(parts)), key=lambda i: (parts[i]["ranges"][0][0], i))
        lr, day_sum = largest_remainder_rows(total, [(rank, parts[i]["days"]) for rank, i in enumerate(order)])
        by_part = {order[r["key"]]: r for r in lr}
        rows = []
        for i, part in enumerate(parts):
            r = by_part[i]
            mine = part["payer"] == line.payer and part["basis"] == line.basis
            rows.append({"payer": n.municipality(part["payer"]) if part["payer"] else "pool",
                         "basis": nl.basis_label(part["basis"]), "days": part["days"],
                         "ranges": ", ".join(range_nl(a, b) for a, b in part["ranges"]),
                         "exact": r["exact_nl"], "floor": r["floor_nl"], "rest": r["rest_nl"],
                         "extra": r["extra"], "amount": euro(part["amount"]), "mine": mine,
                         "check": r["part"] == _cents(part["amount"])})
        return {"total": euro(split["total"]), "total_cents": cents_nl(total), "days": int(day_sum), "rows": rows,
                "ok": all(r["check"] for r in rows),
                "text": (f"De dagen van deze plaatsing-maand gaan naar {len(parts)} betalers. Het bedrag van "
                         f"{euro(split['total'])} wordt naar rato van de dagen verdeeld: ieder deel krijgt eerst het "
                         f"naar beneden afgeronde deel (bedrag × dagen / {day_sum}); de centen die dan nog "
                         f"ontbreken gaan één voor één naar de grootste resten, bij gelijke rest naar de eerdere "
                         f"dagen (RULES.md §3 en §6). De delen tellen precies op tot het geheel.")}

    # -- pool (RULES.md §5.1) -------------------------------------------------------------------
    def _pool(self, line: Line, e: Entry, month: MonthData) -> dict[str, Any] | None:
        if line.pool is None:
            return None
        block = line.trace.get("pool", {})
        name = self.agreements.get(line.pool, {}).get("name")
        return {"agreement": line.pool, "name": name, "amount": euro(line.amount),
                "total": euro(block["total"]) if block.get("total") else "-",
                "weight_sum": nl.weight_nl(block["weight_sum"]) if block.get("weight_sum") else "-",
                "anchor": pool_anchor(str(month.month), line.pool, e.run),
                "month": month_nl(month.month),
                "budget": budget_rows(block, month.month, self.names) if block.get("budget") else None}

    # -- correction -------------------------------------------------------------------------------
    def _correction(self, block: dict[str, Any] | None) -> dict[str, Any] | None:
        if not block:
            return None
        earlier = [{"run": x["run"], "kind": nl.RUN_KIND.get(x["kind"], x["kind"]),
                    "finalized": date_nl(x["finalized_at"][:10]) if x.get("finalized_at") else "-",
                    "days": x["days"], "amount": euro(x["amount"])} for x in block.get("earlier", [])]
        return {"final_run": block.get("final_run"), "earlier": earlier,
                "earlier_amount": euro(block["earlier_amount"]), "earlier_days": block.get("earlier_days"),
                "new_amount": euro(block["new_amount"]), "new_days": block.get("new_days"),
                "amount": euro(block["amount"]), "days": block.get("days"),
                "reason": reason_text(block, "nl")}


# ---------------------------------------------------------------------------------------------
# Pools of a month


def budget_rows(block: dict[str, Any], month: Month, names: Names) -> list[tuple[str, str]]:
    """A budget pool's month in words (RULES.md §5.3), from a pooled line's trace `pool` block:
    C, B(Y), B(M), T and the key."""
    w = nl.BUDGET_POOL
    total = nl.parse_euros(block["total"])
    sign = f" ({w['surplus']})" if total < 0 else f" ({w['deficit']})" if total > 0 else ""
    key = ", ".join(f"{names.municipality(c)} {nl.weight_nl(v)}" for c, v in sorted(block.get("key", {}).items()))
    return [
        (w["costs"], f"{euro(block['costs'])}: de som van de regels die de pool in {month_nl(month)} droeg"),
        (w["budget_year"].format(year=month.year, creditor=names.municipality(block.get("creditor"))),
         euro(block["budget_year"])),
        (w["budget_month"].format(month=month_nl(month)), f"{euro(block['budget_month'])}; {w['month_rule']}"),
        (w["total"], f"{euro(block['costs'])} − {euro(block['budget_month'])} = {euro(block['total'])}{sign}"),
        ("Verdeelsleutel", f"{key} (som {nl.weight_nl(block['weight_sum'])})" if block.get("weight_sum") else key),
    ]


def pool_section(run: RunInfo, pool, month: Month, names: Names, selection_key: str | None,
                 lines_of_pool: list[dict[str, Any]], agreements: dict[str, dict[str, Any]],
                 block: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pool's month: the split of its total with the arithmetic. `block`: the trace `pool` block of
    one of its lines in this run, for a budget pool's C, B(Y), B(M) (RULES.md §5.3)."""
    weights = dict(pool.weights)
    codes = sorted(weights)
    correction = run.kind == "correction"
    a = agreements.get(pool.agreement, {})
    rows = []
    ok = True
    remaining = None
    weight_sum = sum(weights.values(), Fraction(0))
    if not correction and weight_sum > 0:
        lr, weight_sum = largest_remainder_rows(pool.total, [(c, weights[c]) for c in codes])
        remaining = abs(pool.total) - sum(r["floor"] for r in lr)
        for r in lr:
            stored = pool.shares.get(r["key"], 0)
            ok = ok and stored == r["part"]
            rows.append({"code": r["key"], "name": names.municipality(r["key"]),
                         "weight": nl.weight_nl(str(r["weight"])),
                         "percent": nl.percent_nl(str(r["weight"]), str(weight_sum)),
                         "exact": r["exact_nl"], "floor": r["floor_nl"], "rest": r["rest_nl"], "extra": r["extra"],
                         "share": euro(stored), "mine": r["key"] == selection_key})
    else:
        for c in codes:
            rows.append({"code": c, "name": names.municipality(c), "weight": nl.weight_nl(str(weights[c])),
                         "percent": nl.percent_nl(str(weights[c]), str(weight_sum)) if weight_sum else "-",
                         "exact": "", "floor": "", "rest": "", "extra": False,
                         "share": euro(pool.shares.get(c, 0)), "mine": c == selection_key})
    head = (f"Het resultaat van de pool in {month_nl(month)} is {euro(pool.total)}: de kosten van de regels die "
            f"de pool in die maand droeg ({euro(pool.costs)}) min het maanddeel van het historisch budget "
            f"({euro(pool.budget)}); een negatief resultaat is een overschot dat zo wordt teruggegeven."
            if a.get("budget") else
            f"Het totaal van de pool in {month_nl(month)} is {euro(pool.total)}: de som van alle "
            f"regels die de pool in die maand droeg.")
    owed = (f"Ieder aandeel is verschuldigd aan de schuldeiser {names.municipality(pool.creditor)}; zijn eigen "
            f"aandeel blijft bij hem." if pool.total >= 0 else
            f"Een negatief aandeel betaalt de schuldeiser {names.municipality(pool.creditor)} aan het lid terug "
            f"(een creditnota); zijn eigen aandeel blijft bij hem.")
    return {
        "anchor": pool_anchor(str(month), pool.agreement, run), "agreement": pool.agreement,
        "title": rule_title(pool.agreement, agreements), "month": month_nl(month), "run": run.id,
        "correction": correction, "creditor": names.municipality(pool.creditor),
        "region": names.region(a.get("region")), "total": euro(pool.total),
        "weight_sum": nl.weight_nl(str(weight_sum)), "rows": rows, "ok": ok,
        "remaining": remaining,
        "lines": lines_of_pool,
        "budget": (budget_rows(block, month, names) if block and block.get("budget") and not correction
                   else _budget_rows_of(pool, month, names) if a.get("budget") else None),
        "text": (f"{head} Ieder lid krijgt eerst het naar beneden afgeronde "
                 f"deel totaal × gewicht / {nl.weight_nl(str(weight_sum))}; de centen die dan nog ontbreken gaan "
                 f"één voor één naar de grootste resten, bij gelijke rest naar de lagere gemeentecode "
                 f"(RULES.md §5.1 en §6). {owed}"
                 if not correction else
                 f"Deze correctie van {month_nl(month)} bevat per lid het verschil tussen het aandeel dat nu volgt "
                 f"en wat eerder definitief is afgerekend (totaal {euro(pool.total)})."),
    }


def _budget_rows_of(pool, month: Month, names: Names) -> list[tuple[str, str]]:
    """A budget pool's month from its stored result alone (no line of it in the dossier, or a
    correction: then the figures are differences)."""
    w = nl.BUDGET_POOL
    return [(w["costs"], euro(pool.costs)), (w["budget_month"].format(month=month_nl(month)), euro(pool.budget)),
            (w["total"], f"{euro(pool.costs)} − {euro(pool.budget)} = {euro(pool.total)}")]


# ---------------------------------------------------------------------------------------------
# Facts of a client


def client_section(sel: Selection, client: str, names: Names, with_bsn: bool,
                   entries: list[tuple[Entry, str, str]], first: date, last: date) -> dict[str, Any]:
    """`entries`: (entry, anchor, number) of this client's lines in the dossier."""
    ds = sel.ds
    regs = ds.brp_by_client.get(client, [])
    apps = ds.applications_by_client.get(client, [])
    placements = ds.placements_by_client.get(client, [])
    highlight = sel.key if sel.subject == "placement" else None

    deadlines: dict[str, tuple[str | None, str | None, str]] = {}  # placement -> (deadline, notified, agreement)
    for e, _, _ in entries:
        for s in e.line.trace.get("steps", []):
            kind = kind_of_step(s, sel.agreements) if s.get("applies") else None
            dl = kind.deadline(s) if kind is not None else None
            if dl is not None:
                deadlines[e.line.placement] = (dl[0], dl[1], s["rule"])

    brp_rows = [{"id": f"brp.csv:{r.line}", "kind": nl.brp_kind_nl(r.kind),
                 "municipality": names.municipality(r.municipality) if r.municipality else "-",
                 "from": date_nl(r.valid_from), "to": date_nl(r.valid_to) if r.valid_to else "heden"} for r in regs]
    app_rows = [{"id": f"applications.csv:{a.line}", "date": date_nl(a.date),
                 "municipality": names.municipality(a.municipality), "region": names.region(a.region)} for a in apps]
    placement_rows, window_rows = [], []
    for p in placements:
        prod = ds.products.get(p.product)
        placement_rows.append({
            "id": p.placement, "product": p.product, "product_name": prod.name if prod else "",
            "domain": f"{prod.domain}{'' if prod.bw_definition else ', geen BW-definitie'}" if prod else "",
            "unit": ("per dag" if prod and prod.unit == "day" else "per maand"),
            "region": names.region(p.region), "provider": p.provider, "location": names.municipality_short(p.location),
            "start": date_nl(p.start), "end": date_nl(p.end) if p.end else "lopend", "financing": p.financing,
            "mine": p.placement == highlight})
        if prod and prod.domain in ("BW", "WMO"):
            window_rows.append({"placement": p.placement, "what": "terugkijkvenster (nieuw of historisch)",
                                "period": period_nl((p.start - WINDOW).isoformat(), (p.start - ONE_DAY).isoformat()),
                                "meaning": f"een aanmelding of plaatsing in {names.region(p.region)} in dit venster "
                                           f"(of eerder, in een doorlopende keten) maakt de cliënt niet nieuw "
                                           f"(RULES.md §4.2)"})
        if prod and prod.domain == "BW" and prod.bw_definition and p.end:
            window_rows.append({"placement": p.placement, "what": "herinstroomvenster",
                                "period": period_nl((p.end + ONE_DAY).isoformat(), (p.end + WINDOW).isoformat()),
                                "meaning": "een BW-plaatsing die in dit venster start, betaalt de gemeente die voor "
                                           "deze plaatsing verantwoordelijk was (herinstroom, RULES.md §4.4)"})
    notif_rows = []
    for p in placements:
        notices = ds.notifications_by_placement.get(p.placement, [])
        dl = deadlines.get(p.placement)
        for k, nt in enumerate(notices):
            row = {"id": f"notifications.csv:{nt.line}", "placement": p.placement,
                   "municipality": names.municipality(nt.municipality), "date": date_nl(nt.notified_on),
                   "deadline": "", "verdict": ""}
            if dl and k == 0:
                late = (nt.notified_on - date.fromisoformat(dl[0])).days
                row["deadline"] = f"{date_nl(dl[0])} ({dl[2]})"
                row["verdict"] = "op tijd" if late <= 0 else f"{late} dag{'en' if late != 1 else ''} te laat"
            notif_rows.append(row)
        if dl and not notices:
            notif_rows.append({"id": "-", "placement": p.placement, "municipality": "-", "date": "nooit gemeld",
                               "deadline": f"{date_nl(dl[0])} ({dl[2]})", "verdict": "niet gemeld"})
    region_ids = sorted({p.region for p in placements} | {a.region for a in apps})
    region_rows = [{"id": r, "name": names.region(r), "centrumgemeente": names.municipality(ds.regions[r].centrumgemeente),
                    "cutover": date_nl(ds.regions[r].cutover)} for r in region_ids if r in ds.regions]

    svg = tl.render_svg(timeline_of(sel, client, names, deadlines, first, last, highlight))
    bsn = sel.bsns.get(client) if with_bsn else None
    return {"id": client, "anchor": client_anchor(client), "bsn": bsn, "svg": svg, "brp": brp_rows,
            "applications": app_rows, "placements": placement_rows, "windows": window_rows, "window_days": WINDOW.days,
            "notifications": notif_rows, "regions": region_rows,
            "lines": [{"anchor": a, "number": num, "text": f"{month_nl(e.line.trace.get('period', e.run.month))}: "
                                                         f"{e.line.placement}, {nl.basis_label(e.line.basis)}, "
                                                         f"{euro(e.line.amount)}"} for e, a, num in entries]}


def timeline_of(sel: Selection, client: str, names: Names, deadlines: dict[str, tuple[str | None, str | None, str]],
                first: date, last: date, highlight: str | None) -> tl.Timeline:
    ds = sel.ds
    bars = []
    for r in ds.brp_by_client.get(client, []):
        place = names.municipality_short(r.municipality) if r.municipality else nl.brp_kind_nl(r.kind)
        bars.append(tl.Bar(r.valid_from, r.valid_to, place, tl.KIND_COLOURS.get(r.kind, "#999"),
                           f"brp.csv:{r.line}: {nl.brp_kind_nl(r.kind)} {place}, "
                           f"{period_nl(r.valid_from.isoformat(), r.valid_to.isoformat() if r.valid_to else None)}",
                           kind=r.kind))
    apps = tuple((a.date, f"aanmelding {names.municipality_short(a.municipality)} ({names.region(a.region)}), "
                          f"{date_nl(a.date)}") for a in ds.applications_by_client.get(client, []))
    lanes = []
    for p in ds.placements_by_client.get(client, []):
        prod = ds.products.get(p.product)
        domain = prod.domain if prod else "BW"
        windows = []
        if prod and prod.domain in ("BW", "WMO"):
            windows.append(tl.Window(p.start - WINDOW, p.start - ONE_DAY, "lookback",
                                     f"terugkijkvenster van {p.placement}: {WINDOW.days} dagen vóór de start"))
        if prod and prod.domain == "BW" and prod.bw_definition and p.end:
            windows.append(tl.Window(p.end + ONE_DAY, p.end + WINDOW, "reentry",
                                     f"herinstroomvenster na {p.placement}: {WINDOW.days} dagen na het einde"))
        dl = deadlines.get(p.placement)
        lanes.append(tl.PlacementLane(
            label=f"{p.placement} {p.product}", sublabel=f"regio {names.region(p.region)}",
            bar=tl.Bar(p.start, p.end, p.product, tl.DOMAIN_COLOURS.get(domain, "#6a1b9a"),
                       f"{p.placement} {p.product} in {names.region(p.region)}, "
                       f"{period_nl(p.start.isoformat(), p.end.isoformat() if p.end else None)}"),
            windows=tuple(windows),
            deadline=date.fromisoformat(dl[0]) if dl and dl[0] else None,
            notified=date.fromisoformat(dl[1]) if dl and dl[1] else None,
            highlight=p.placement == highlight))
    regions = sorted({p.region for p in ds.placements_by_client.get(client, [])}
                     | {a.region for a in ds.applications_by_client.get(client, [])})
    cutovers = tuple(sorted((ds.regions[r].cutover, names.region(r)) for r in regions if r in ds.regions))
    return tl.Timeline(tuple(bars), apps, tuple(lanes), cutovers, (first, last))


# ---------------------------------------------------------------------------------------------
# The whole dossier


def _subject_nl(sel: Selection, names: Names) -> str:
    if sel.subject == "client":
        return f"cliënt {sel.key}"
    if sel.subject == "placement":
        p = sel.ds.placements.get(sel.key)
        return f"plaatsing {sel.key}" + (f" (cliënt {p.client})" if p else "")
    return f"gemeente {names.municipality(sel.key)}"


def _period_label(sel: Selection) -> str:
    first, last = sel.months[0].month, sel.months[-1].month
    return month_nl(first) if first == last else f"{month_nl(first)} t/m {month_nl(last)}"


def receipt_rows(run: RunInfo) -> list[tuple[str, str, bool]]:
    rows = [("Run", f"{run.id} ({nl.RUN_KIND.get(run.kind, run.kind)})"
                    + (f", correctie op run {run.parent}" if run.parent else ""), False),
            ("Engineversie", run.engine_version, False), ("Regelversie", run.rules_version, False),
            ("Berekend op", f"{date_nl(run.calculated_at.date())}, {run.calculated_at:%H:%M:%S} UTC", False),
            ("Vastgesteld op", f"{date_nl(run.finalized_at.date())}, {run.finalized_at:%H:%M:%S} UTC"
             if run.finalized_at else "nog niet (concept)", False),
            ("Input-hash", run.input_hash, True), ("Afspraken-hash", run.agreements_hash, True),
            ("Export-hash", run.export_hash, True)]
    if run.receipt_hash:
        rows.append(("Ontvangstbewijs-hash", run.receipt_hash, True))
    return rows


def receipt_compact(run: RunInfo) -> dict[str, Any]:
    """One run in a row: for dossiers of a period, where one block per run would fill pages."""
    return {"run": f"{run.id} ({nl.RUN_KIND.get(run.kind, run.kind).split(' ')[0]})"
                   + (f", op run {run.parent}" if run.parent else ""),
            "versions": f"engine {run.engine_version}, regels {run.rules_version}",
            "calculated": f"{run.calculated_at:%Y-%m-%d %H:%M:%S}",
            "finalized": f"{run.finalized_at:%Y-%m-%d %H:%M:%S}" if run.finalized_at else "concept",
            "hashes": [("input", run.input_hash), ("afspraken", run.agreements_hash), ("export", run.export_hash)]
                      + ([("ontvangstbewijs", run.receipt_hash)] if run.receipt_hash else [])}


def dossier_context(sel: Selection, with_bsn: bool, inline_css: str,
                    progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """The template's values. `progress(phase, done, total)`: "explaining", per client section
    and per line."""
    ds = sel.ds
    names = Names(ds)
    builder = LineBuilder(sel, names, with_bsn)
    first, last = sel.months[0].month.first, sel.months[-1].month.last
    period = _period_label(sel)
    subject = _subject_nl(sel, names)
    document_date = max(r.date for r in sel.runs)

    # number every line and give it an anchor, in the order of the document
    numbered: list[tuple[MonthData, Entry, str, str]] = []
    for md in sel.months:
        for e in sorted(md.entries, key=_entry_order(sel)):
            numbered.append((md, e, line_anchor(e), str(len(numbered) + 1)))

    # receipts
    receipts = []
    for md in sel.months:
        receipts.append({"month": month_nl(md.month),
                         "runs": [{"id": r.id, "rows": receipt_rows(r), "compact": receipt_compact(r)} for r in md.runs],
                         "basis": ("definitieve run" + (" met vastgestelde correcties" if len(md.runs) > 1 else "")
                                   if md.runs[0].finalized_at else "concept-run: de maand is nog niet definitief"),
                         "pending": (f"Er staat een concept-correctierun {md.pending.id} klaar die nog niet is "
                                     f"vastgesteld; die is in dit dossier niet meegenomen.") if md.pending else None})

    # summary
    summary_rows = []
    for md, e, a, number in numbered:
        l = e.line
        summary_rows.append({
            "anchor": a, "number": number, "month": month_nl(md.month), "client": l.client,
            "placement": l.placement, "product": l.product, "region": names.region(l.region), "days": l.days,
            "amount": l.amount, "amount_nl": euro(l.amount),
            "payer": f"pool {l.pool}" if l.pool else names.municipality(l.payer),
            "basis": l.basis, "basis_label": nl.basis_label(l.basis),
            "tags": ([nl.CORRECTION[0]] if e.correction else []) + [nl.flag_name(f) for f in l.flags]})
    groups = _groups(sel, summary_rows, names)

    # pools of each month
    pool_sections: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for k, md in enumerate(sel.months):
        for run, pool in md.pools:
            pooled = [{"anchor": a, "number": num, "client": e.line.client, "placement": e.line.placement,
                       "amount": euro(e.line.amount)}
                      for m2, e, a, num in numbered if m2 is md and e.run.id == run.id and e.line.pool == pool.agreement]
            block = next((e.line.trace.get("pool") for e in md.entries
                          if e.run.id == run.id and e.line.pool == pool.agreement and e.line.trace.get("pool")), None)
            pool_sections[k].append(pool_section(run, pool, md.month, names,
                                                 sel.key if sel.subject == "municipality" else None, pooled,
                                                 sel.agreements, block))

    # clients
    by_client: dict[str, list[tuple[Entry, str, str]]] = defaultdict(list)
    for md, e, a, number in numbered:
        by_client[e.line.client].append((e, a, number))
    if sel.subject == "client":
        clients = [sel.key]
    elif sel.subject == "placement":
        clients = [ds.placements[sel.key].client]
    else:
        clients = sorted(by_client)
    steps, done = len(clients) + len(numbered), 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("explaining", done, steps)

    if progress is not None:
        progress("explaining", 0, steps)
    client_sections = []
    for c in clients:
        client_sections.append(client_section(sel, c, names, with_bsn, by_client.get(c, []), first, last))
        step()

    months = []
    for k, md in enumerate(sel.months):
        lines = []
        for m2, e, a, number in numbered:
            if m2 is md:
                lines.append(builder.build(e, number, md))
                step()
        months.append({"label": month_nl(md.month), "anchor": anchor("maand", md.month), "lines": lines,
                       "pools": pool_sections.get(k, []),
                       "empty": f"Geen kostenregels voor {subject} in {month_nl(md.month)}." if not lines else None})

    total = sum(e.line.amount for e in sel.entries if e.line.payer is not None and
                (sel.subject != "municipality" or e.line.payer == sel.key))
    share_total = sum(p.shares.get(sel.key, 0) for md in sel.months for _, p in md.pools) \
        if sel.subject == "municipality" else 0
    headline = _headline(sel, names, total, share_total)
    running = f"Dossier geschillencommissie · {subject} · {period}"
    if with_bsn:
        running += " · bevat BSN, vertrouwelijk"
    from .. import __version__
    return {
        "title": f"Dossier geschillencommissie – {subject} – {period}",
        "author": f"settlement {__version__}",
        "description": f"Waarom de kosten van {subject} in {period} bij de betaler landen: regels, feiten, "
                       f"verwijzingen en berekeningen uit de traces van de run(s).",
        "created": document_date.isoformat(),
        "body_class": "dossier",
        "running_title": running,
        "css": inline_css,
        "subject": subject, "subject_title": subject[0].upper() + subject[1:], "period": period,
        "document_date": date_nl(document_date),
        "with_bsn": with_bsn, "bsn_warning": BSN_WARNING,
        "snapshot_note": _snapshot_note(sel),
        "headline": headline,
        "receipts": receipts,
        "compact_receipts": sum(len(md.runs) for md in sel.months) > 2,
        "groups": groups, "group_by": "basis" if sel.subject == "municipality" else "month",
        "clients": client_sections,
        "months": months,
        "multi_month": len(sel.months) > 1,
        # every basis of the rules; a committee's ruling (RULES.md §4.0) where the dossier has one
        "legend": [(nl.basis_label(b), nl.basis_legend(b)) for b in nl.BASIS_ORDER
                   if b != "ruling" or any(e.line.basis == "ruling" for md in sel.months for e in md.entries)],
    }


def _entry_order(sel: Selection):
    """Lines of a client or placement by placement, the split parts in day order; a
    municipality's by basis first (as its summary groups them), then client and placement."""
    def key(e: Entry):
        l = e.line
        parts = l.trace.get("split", {}).get("parts", [])
        part = next((i for i, p in enumerate(parts) if p["payer"] == l.payer and p["basis"] == l.basis), 0)
        basis = nl.basis_order(l.basis)
        first = (basis,) if sel.subject == "municipality" else ()
        return (*first, l.client, l.placement, part, l.payer or "", l.basis, e.run.id)
    return key


def _groups(sel: Selection, rows: list[dict[str, Any]], names: Names) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if sel.subject == "municipality":
        for r in rows:
            groups[r["basis"]].append(r)
        order = sorted(groups, key=lambda b: (nl.basis_order(b), b))
        out = []
        for b in order:
            g = groups[b]
            pooled = b == "pool"
            out.append({"label": nl.basis_label(b), "explanation": nl.basis_legend(b), "rows": g,
                        "pooled": pooled,
                        "total": euro(sum(r["amount"] for r in g)),
                        "total_label": ("Som van de regels die de pool droeg (uw gemeente draagt alleen haar aandeel, "
                                        "zie hieronder)" if pooled else "Totaal")})
        return out
    for r in rows:
        groups[r["month"]].append(r)
    return [{"label": m, "explanation": "", "rows": g, "pooled": False,
             "total": euro(sum(r["amount"] for r in g)), "total_label": "Totaal"}
            for m, g in groups.items()]


def _headline(sel: Selection, names: Names, total: int, share_total: int) -> list[tuple[str, str]]:
    n_lines = len(sel.entries)
    if sel.subject == "municipality":
        shares = [(md.month, run, p) for md in sel.months for run, p in md.pools if sel.key in p.shares]
        out = [("Regels die de gemeente zelf betaalt", f"{sum(1 for e in sel.entries if e.line.payer == sel.key)}"),
               ("Bedrag van die regels", euro(total))]
        if shares:
            out.append(("Aandelen in pools", euro(share_total)))
        out.append(("Totaal dat de gemeente draagt", euro(total + share_total)))
        return out
    return [("Kostenregels", str(n_lines)),
            ("Bedrag van de regels", euro(sum(e.line.amount for e in sel.entries)))]


def _snapshot_note(sel: Selection) -> str:
    note = (f"De feiten (BRP, aanmeldingen, plaatsingen, meldingen, regio's, afspraken) komen uit momentopname "
            f"{sel.snapshot_id} van de gegevens, waarmee de laatste run in dit dossier is berekend.")
    if sel.other_snapshots:
        note += (f" Eerdere runs in dit dossier zijn berekend op momentopname(n) "
                 f"{', '.join(map(str, sel.other_snapshots))}; wat een regel toen las, staat bij die regel.")
    return note

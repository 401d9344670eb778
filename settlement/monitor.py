"""`settle budget`: the budget monitor's edges. Reading (`gather`: the current snapshot's frame and
budgets, and the final runs and finalised corrections of every month, each table read once) and
writing it as text, csv, json or a Dutch PDF with a plot per region (`settlement.budget` computes).

- text: a table per region, English headings; amounts in euros.
- csv: the settled figures only, one row per (region, municipality) and a total row per region;
  comma-separated with a header, amounts "0.00" (the projection is in text, json and pdf).
- json: `settlement-budget/1`, sorted keys, amounts "0.00" strings, shares used as "87.3" (percent,
  one decimal) or null.
- pdf: Dutch, via templates/budget.html and the documents' reproducible WeasyPrint rendering;
  per region a plot (matplotlib, SVG inside the document, byte-identical for the same figures):
  the two budgets along the ingroeipad, the settled costs of the years run, and the projection
  dashed, with its assumptions beside it; the assumptions in every page's header too.
"""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from typing import Any

from sqlalchemy.engine import Engine as SAEngine

from . import budget as b
from . import store
from .errors import UserError
from .money import format_cents, round_half_away
from .nl import euro

FORMAT = "settlement-budget/1"


# --------------------------------------------------------------------------------------------
# Reading


def gather(engine: SAEngine, year: int, region: str | None = None) -> tuple[b.Monitor, dict[str, Any]]:
    """The monitor of `year` from the database, and what the documents show besides (the snapshot,
    the runs used, a document date). One query per table: runs, lines (without traces), pool
    shares, budgets, and the snapshot's frame (municipalities, regions, members, agreements)."""
    with engine.connect() as conn:
        snapshot = store.current_snapshot(conn)
        if snapshot is None:
            raise UserError("no data loaded yet: run `settle load DIR` first", 2)
        ds, agreements = store.read_dataset(conn, snapshot, frame=True)
        budgets = store.read_budgets(conn, snapshot.id)
        runs = store.read_runs(conn)
        used = [r for r in runs if r.finalized_at is not None]
        ids = [r.id for r in used]
        lines = store.read_run_lines(conn, ids)
        pools = store.read_run_pools(conn, ids)
    by_month: dict[str, tuple[list, list]] = {}
    for r in used:  # final run first, then its finalised corrections (by id)
        ls, ps = by_month.setdefault(r.month, ([], []))
        ls.extend(lines[r.id])
        ps.extend(pools[r.id])
    finals = {r.month for r in used if r.kind == "final"}
    months = {m: b.MonthData(m, ls, ps) for m, (ls, ps) in sorted(by_month.items()) if m in finals}
    pending = [r.month for r in runs if r.finalized_at is None and r.kind == "correction"]
    pool_clients = {a.id: a.clients for a in agreements if a.kind == "pool"}
    names = {c: m.name for c, m in ds.municipalities.items()}
    try:
        mon = b.monitor(year, ds.regions, ds.members, names, budgets, pool_clients, months, region, pending)
    except b.MonitorError as e:
        raise UserError(str(e), 2) from None
    stamps = [r.finalized_at for r in used if r.month.startswith(f"{year}-")] or [snapshot.loaded_at]
    info = {"snapshot": snapshot.id, "input_hash": snapshot.input_hash, "runs": sorted(
        r.id for r in used if r.month.startswith(f"{year}-")), "date": max(stamps).date()}
    return mon, info


# --------------------------------------------------------------------------------------------
# Words shared by the formats

def percent(share: Fraction | None, comma: bool = False) -> str | None:
    """A share used in percent, one decimal, house rounding: '87.3' ('87,3' with `comma`)."""
    tenths = b.percent_tenths(share)
    if tenths is None:
        return None
    sign = "-" if tenths < 0 else ""
    whole, rest = divmod(abs(tenths), 10)
    return f"{sign}{whole}{',' if comma else '.'}{rest}"


def ranges(months: list[str]) -> str:
    """['2024-01', '2024-02', '2024-05'] -> '2024-01..2024-02, 2024-05'."""
    parts: list[list[str]] = []
    for m in months:
        y, mo = map(int, m.split("-"))
        if parts:
            py, pm = map(int, parts[-1][-1].split("-"))
            if (py * 12 + pm) + 1 == y * 12 + mo:
                parts[-1].append(m)
                continue
        parts.append([m])
    return ", ".join(p[0] if len(p) == 1 else f"{p[0]}..{p[-1]}" for p in parts)


def assumptions_en(p: b.Projection) -> list[str]:
    if p.last_final is None:
        return ["no projection: no month is final yet"]
    return [f"projection, not settled: from the month after {p.last_final} to December of the last budget year",
            f"base: the last {len(p.base)} final months ({ranges(p.base)})",
            f"each month {p.leave_rate.numerator}/{p.leave_rate.denominator} of the clients leaves "
            f"(an average stay of {b.AVERAGE_STAY_MONTHS} months), historic and new clients alike",
            f"new clients arrive at the base's rate: {_dec(p.arrivals_per_month)} a month; historic clients do not arrive",
            f"cost per client-month as in the base: historic {_money(p.cost_per_client_month.get('historic'))}, "
            f"new {_money(p.cost_per_client_month.get('new'))}",
            f"clients in {p.last_final}: historic {_dec(p.clients_now.get('historic'))}, "
            f"new {_dec(p.clients_now.get('new'))} (client-months)",
            "MO costs, pool agreements' end dates and tariff changes are not projected"]


def assumptions_nl(p: b.Projection) -> list[str]:
    if p.last_final is None:
        return ["Geen prognose: er is nog geen maand vastgesteld."]
    nl = _nl_month
    return [f"Prognose, geen afrekening: van de maand na {nl(p.last_final)} tot en met december van het laatste "
            f"budgetjaar.",
            f"Basis: de laatste {len(p.base)} vastgestelde maanden ({nl(p.base[0])} t/m {nl(p.base[-1])}).",
            f"Uitstroom: elke maand vertrekt {p.leave_rate.numerator}/{p.leave_rate.denominator} van de cliënten "
            f"(gemiddelde verblijfsduur {b.AVERAGE_STAY_MONTHS} maanden), historische en nieuwe cliënten gelijk.",
            f"Instroom: {_dec(p.arrivals_per_month, True)} nieuwe cliënten per maand, als in de basis; "
            f"historische cliënten stromen niet in.",
            f"Kosten per cliëntmaand als in de basis: historisch "
            f"{euro(round_half_away(p.cost_per_client_month.get('historic', 0)))}, nieuw "
            f"{euro(round_half_away(p.cost_per_client_month.get('new', 0)))}.",
            f"Cliënten in {nl(p.last_final)}: {_dec(p.clients_now.get('historic'), True)} historisch, "
            f"{_dec(p.clients_now.get('new'), True)} nieuw (cliëntmaanden).",
            "Niet geprognosticeerd: MO-kosten, het einde van poolafspraken en tariefwijzigingen."]


_MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
              "november", "december"]


def _nl_month(m: str) -> str:
    y, mo = m.split("-")
    return f"{_MONTHS_NL[int(mo) - 1]} {y}"


def _dec(value: Fraction | None, comma: bool = False) -> str:
    """A count to one decimal (house rounding)."""
    tenths = round_half_away((value or Fraction(0)) * 10)
    whole, rest = divmod(abs(tenths), 10)
    return f"{'-' if tenths < 0 else ''}{whole}{',' if comma else '.'}{rest}"


def _money(cents: Fraction | None) -> str:
    return format_cents(round_half_away(cents or 0))


def notes_en(mon: b.Monitor) -> list[str]:
    out = [f"not final: {', '.join(mon.missing)} (their costs are missing, not zero)" if mon.missing
           else f"every month of {mon.year} is final"]
    if mon.pending:
        out.append(f"a correction waits to be finalised for {', '.join(mon.pending)} (not included)")
    out += ["a region counts every municipality that is a member on any day of the year, and its centrumgemeente "
            "when that is no member",
            "pooled (all clients): shares of pools over historic and new clients together, counted against "
            "neither budget"]
    return out


def notes_nl(mon: b.Monitor) -> list[str]:
    out = [f"Niet definitief: {', '.join(mon.missing)}. De kosten van die maanden ontbreken; ze zijn niet als nul "
           f"geteld." if mon.missing else f"Alle maanden van {mon.year} zijn definitief."]
    if mon.pending:
        out.append(f"Voor {', '.join(mon.pending)} wacht een correctie op vaststelling; die is niet meegeteld.")
    out += ["Een regio telt elke gemeente die op enige dag van het jaar lid is, en haar centrumgemeente als die "
            "geen lid is.",
            "Historische kosten: eigen regels met status historisch en aandelen in pools over historische "
            "cliënten. Nieuwe kosten: eigen regels met status nieuw en aandelen in pools over nieuwe cliënten; "
            "daarvan vangnet: regels met de vlag vangnet.",
            "Gedeeld (alle cliënten): aandelen in pools over historische en nieuwe cliënten samen; niet tegen een "
            "van beide budgetten gezet. MO-kosten staan tegenover geen budget van dit overzicht."]
    return out


# --------------------------------------------------------------------------------------------
# text, csv, json

_HEAD = ["code", "municipality", "historic budget", "historic costs", "result", "used %", "objective budget",
         "new costs", "of which vangnet", "result", "used %", "pooled (all)", "MO costs"]


def _cells(r: b.Row) -> list[str]:
    def money(v: int | None) -> str:
        return "-" if v is None else format_cents(v)
    return [money(r.historic_budget), format_cents(r.costs.historic), format_cents(r.historic_result),
            percent(r.historic_used) or "-", money(r.objective_budget), format_cents(r.costs.new),
            format_cents(r.costs.vangnet), format_cents(r.objective_result), percent(r.objective_used) or "-",
            format_cents(r.costs.pooled_all), format_cents(r.costs.mo)]


def to_text(mon: b.Monitor) -> str:
    from .report import table
    out = [f"Budget monitor {mon.year} (RULES.md §9), amounts in euros; settled: final runs and finalised "
           f"corrections of {ranges(mon.final_months) or 'no month'}"]
    out += [f"note: {n}" for n in notes_en(mon)]
    for reg in mon.regions:
        out += ["", f"Region {reg.region} ({reg.name}), centrumgemeente {reg.centrumgemeente}"]
        rows = [[r.code, r.name + (" (centrumgemeente, no member)" if r.role == "centrumgemeente" else ""),
                 *_cells(r)] for r in reg.rows]
        rows.append(["", "regional total", *_cells(reg.total)])
        out.append(table(_HEAD, rows, set(range(2, len(_HEAD)))))
        if reg.without_budget:
            out.append(f"no budget row for {mon.year}: {', '.join(reg.without_budget)}")
        out += ["", f"Projection of {reg.region} (not settled figures)"]
        out += [f"  assumption: {a}" for a in assumptions_en(reg.projection)]
        if reg.projection.years:
            out.append(table(["year", "months", "historic costs", "new costs"],
                             [[str(y.year), str(y.months), format_cents(y.historic), format_cents(y.new)]
                              for y in reg.projection.years], {1, 2, 3}))
    return "\n".join(out) + "\n"


_CSV = ["year", "region", "code", "name", "role", "historic_budget", "historic_costs", "historic_result",
        "historic_used_percent", "objective_budget", "new_costs", "vangnet_costs", "objective_result",
        "objective_used_percent", "pooled_all_costs", "mo_costs", "months_final", "months_not_final"]


def _figures(r: b.Row) -> dict[str, Any]:
    def money(v: int | None) -> str | None:
        return None if v is None else format_cents(v)
    return {"historic_budget": money(r.historic_budget), "historic_costs": format_cents(r.costs.historic),
            "historic_result": format_cents(r.historic_result), "historic_used_percent": percent(r.historic_used),
            "objective_budget": money(r.objective_budget), "new_costs": format_cents(r.costs.new),
            "vangnet_costs": format_cents(r.costs.vangnet), "objective_result": format_cents(r.objective_result),
            "objective_used_percent": percent(r.objective_used), "pooled_all_costs": format_cents(r.costs.pooled_all),
            "mo_costs": format_cents(r.costs.mo)}


def to_csv(mon: b.Monitor) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV)
    final, missing = " ".join(mon.final_months), " ".join(mon.missing)
    for reg in mon.regions:
        for r in [*reg.rows, reg.total]:
            f = _figures(r)
            w.writerow([mon.year, reg.region, r.code, r.name, r.role,
                        *("" if f[k] is None else f[k] for k in _CSV[5:16]), final, missing])
    return buf.getvalue()


def to_dict(mon: b.Monitor) -> dict[str, Any]:
    regions = {}
    for reg in mon.regions:
        p = reg.projection
        regions[reg.region] = {
            "name": reg.name, "centrumgemeente": reg.centrumgemeente,
            "municipalities": {r.code: {"name": r.name, "role": r.role, **_figures(r)} for r in reg.rows},
            "total": _figures(reg.total),
            "settled_by_year": [{"year": y.year, "final_months": y.final_months,
                                 "historic_budget": format_cents(y.historic_budget),
                                 "objective_budget": format_cents(y.objective_budget),
                                 "historic_costs": format_cents(y.historic), "new_costs": format_cents(y.new)}
                                for y in reg.series],
            "projection": {"assumptions": assumptions_en(p), "last_final_month": p.last_final, "base": p.base,
                           "arrivals_per_month": _dec(p.arrivals_per_month),
                           "clients_now": {s: _dec(v) for s, v in p.clients_now.items()},
                           "cost_per_client_month": {s: _money(v) for s, v in p.cost_per_client_month.items()},
                           "years": [{"year": y.year, "months": y.months, "historic_costs": format_cents(y.historic),
                                      "new_costs": format_cents(y.new)} for y in p.years]},
        }
    return {"format": FORMAT, "year": mon.year,
            "months": {"final": mon.final_months, "not_final": mon.missing, "correction_pending": mon.pending},
            "notes": notes_en(mon), "regions": regions}


def to_json(mon: b.Monitor) -> str:
    return json.dumps(to_dict(mon), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# The plot and the PDF

HISTORIC_COLOUR, NEW_COLOUR = "#003d6b", "#2e7d32"


def _thousands(cents: int) -> int:
    """Cents as whole thousands of euros (house rounding): the plot's unit, so no float of money."""
    return round_half_away(Fraction(cents, 100_000))


def plot_svg(reg: b.RegionMonitor) -> str:
    """The region's plot as SVG text: byte-identical for the same figures (fixed hash salt, no date,
    text kept as text in DejaVu Sans, the Agg-free SVG canvas: no screen)."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    style = {"svg.hashsalt": "settlement-budget", "svg.fonttype": "none", "font.family": "DejaVu Sans",
             "font.size": 7.5, "axes.edgecolor": "#8a9bb0", "axes.linewidth": 0.6}
    with matplotlib.rc_context(style):
        fig = Figure(figsize=(7.0, 2.9))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        years = [y.year for y in reg.series]
        ax.plot(years, [_thousands(y.historic_budget) for y in reg.series], color=HISTORIC_COLOUR, linewidth=1.6,
                label="Historisch budget")
        ax.plot(years, [_thousands(y.objective_budget) for y in reg.series], color=NEW_COLOUR, linewidth=1.6,
                label="Objectief budget")
        done = [y for y in reg.series if y.final_months]
        ax.plot([y.year for y in done], [_thousands(y.historic) for y in done], color=HISTORIC_COLOUR,
                linestyle="none", marker="o", markersize=4, label="Historische kosten (afgerekend)")
        ax.plot([y.year for y in done], [_thousands(y.new) for y in done], color=NEW_COLOUR, linestyle="none",
                marker="s", markersize=4, label="Nieuwe kosten (afgerekend)")
        for y in done:
            if y.final_months < 12:
                ax.annotate(f"afgerekend: {y.final_months} mnd", (y.year, _thousands(max(y.historic, y.new))),
                            textcoords="offset points", xytext=(-6, 6), ha="right", fontsize=6, color="#555")
        proj = reg.projection.years
        if proj:
            px = [y.year for y in proj]
            ax.plot(px, [_thousands(y.historic) for y in proj], color=HISTORIC_COLOUR, linestyle=(0, (4, 2)),
                    linewidth=1.1, marker="o", markersize=3, markerfacecolor="white",
                    label="Prognose historische kosten")
            ax.plot(px, [_thousands(y.new) for y in proj], color=NEW_COLOUR, linestyle=(0, (4, 2)), linewidth=1.1,
                    marker="s", markersize=3, markerfacecolor="white", label="Prognose nieuwe kosten")
            if proj[0].months < 12:
                ax.annotate(f"prognose: {proj[0].months} mnd", (proj[0].year, _thousands(proj[0].new)),
                            textcoords="offset points", xytext=(6, -3), ha="left", va="top", fontsize=6,
                            color="#555")
            start = proj[0].year - 0.5 if proj[0].months == 12 else proj[0].year  # a year partly settled: its middle
            ax.axvspan(start, years[-1] + 0.5, color="#f3f5f8", zorder=0, linewidth=0)
            ax.text(start + 0.05, 0.98, "prognose", transform=ax.get_xaxis_transform(), va="top",
                    fontsize=6.5, color="#555", style="italic")
        ax.set_xticks(years)
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(round(v)):,}".replace(",", ".")))
        ax.set_ylabel("× € 1.000")
        ax.grid(axis="y", color="#d5dbe2", linewidth=0.5)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False, fontsize=6.5)
        fig.subplots_adjust(left=0.09, right=0.99, top=0.95, bottom=0.27)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return _prefixed(text[text.index("<svg"):], f"plot-{reg.region}-")  # no XML declaration inside the HTML


def _prefixed(svg: str, prefix: str) -> str:
    """Every id of the SVG and every reference to one prefixed, so that the plots of several regions
    in one document keep their ids apart (matplotlib numbers them per figure)."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg
    names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    svg = re.sub(rf'\bid="({names})"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return re.sub(rf'#({names})\b(?=["\)])', lambda m: f"#{prefix}{m.group(1)}", svg)


def _amount_nl(cents: int | None) -> str:
    """Dutch amount without the euro sign (the tables say "bedragen in euro"): '-1.234,50'; '—' when absent."""
    return "—" if cents is None else euro(cents).replace("€ ", "")


def _cells_nl(r: b.Row) -> list[str]:
    def pct(share: Fraction | None) -> str:
        p = percent(share, comma=True)
        return "—" if p is None else f"{p} %"
    a = _amount_nl
    return [a(r.historic_budget), a(r.costs.historic), a(r.historic_result), pct(r.historic_used),
            a(r.objective_budget), a(r.costs.new), a(r.costs.vangnet), a(r.objective_result),
            pct(r.objective_used), a(r.costs.pooled_all), a(r.costs.mo)]


def _date_nl(d) -> str:
    return f"{d.day} {_MONTHS_NL[d.month - 1]} {d.year}"


def pdf_context(mon: b.Monitor, info: dict[str, Any]) -> dict[str, Any]:
    regions = []
    for reg in mon.regions:
        rows = [{"code": r.code, "name": r.name, "note": "centrumgemeente, geen lid" if r.role == "centrumgemeente"
                 else "", "cells": _cells_nl(r)} for r in reg.rows]
        regions.append({
            "id": reg.region, "name": reg.name, "centrumgemeente": reg.centrumgemeente,
            "centrumgemeente_name": next((r.name for r in reg.rows if r.code == reg.centrumgemeente),
                                         reg.centrumgemeente),
            "rows": rows, "total": _cells_nl(reg.total),
            "without_budget": reg.without_budget, "svg": plot_svg(reg), "assumptions": assumptions_nl(reg.projection),
            "projection": [{"year": y.year if y.months == 12 else f"{y.year} ({y.months} mnd)",
                            "historic": _amount_nl(y.historic), "new": _amount_nl(y.new),
                            "historic_budget": next(_amount_nl(s.historic_budget) for s in reg.series
                                                    if s.year == y.year),
                            "objective_budget": next(_amount_nl(s.objective_budget) for s in reg.series
                                                     if s.year == y.year)}
                           for y in reg.projection.years]})
    first, last = mon.budget_years
    running = f"Budgetmonitor {mon.year} · prognose: uitstroom 1/{b.AVERAGE_STAY_MONTHS} per maand, instroom en " \
              f"kosten per cliëntmaand als in de laatste {b.BASE_MONTHS} vastgestelde maanden; geen afrekening"
    return {"title": f"Budgetmonitor {mon.year}", "author": "settlement", "created": info["date"].isoformat(),
            "description": f"Budgetmonitor beschermd wonen en maatschappelijke opvang {mon.year}",
            "body_class": "budget", "running_title": f"Budgetmonitor {mon.year}", "running_assumptions": running,
            "year": mon.year, "document_date": _date_nl(info["date"]), "snapshot": info["snapshot"],
            "runs": len(info["runs"]), "final": ranges(mon.final_months) or "geen",
            "missing": ", ".join(mon.missing) or "geen", "notes": notes_nl(mon), "regions": regions,
            "overview": [{"id": reg.region, "name": reg.name, "cells": _cells_nl(reg.total)} for reg in mon.regions],
            "years": f"{first}-{last}"}


def to_pdf(mon: b.Monitor, info: dict[str, Any]) -> bytes:
    from .documents.render import jinja, pdf, templates_dir
    css = (templates_dir() / "budget.css").read_text(encoding="utf-8")
    html = jinja().get_template("budget.html").render(css=css, **pdf_context(mon, info))
    return pdf(html, day=info["date"])



"""An SVG timeline of one client's facts, drawn from the data (no JavaScript, no clock).

Lanes: BRP registrations by kind; applications; one lane per placement (coloured by domain,
labelled with placement, product and care region). Marks: each care region's cutover, the settled
period, the 365-day windows (the look-back before a placement's start that decides new vs
historic, and the reentry window after an ended BW placement), and for interregional placements
the notification deadline and the notification date.

A PDF shows no tooltips, so everything that matters has a visible label; the `<title>` elements
only add detail in a browser. The same Timeline gives the same SVG text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from ..nl import BRP_KIND, DOMAIN, MONTHS_SHORT, date_short_nl
from ..periods import ONE_DAY, WINDOW

WIDTH = 760
LEFT = 150  # room for lane labels
RIGHT = 16
LANE = 30
BAR = 14
TOP = 46  # room for the cutover labels (two rows) and the period's label

KIND_COLOURS = {"woonadres": "#2e7d32", "institution": "#1565c0", "briefadres": "#ef6c00", "abroad": "#757575"}
DOMAIN_COLOURS = {"BW": "#6a1b9a", "WMO": "#00838f", "MO": "#8d6e63"}
WINDOW_COLOURS = {"lookback": "#90a4ae", "reentry": "#f9a825"}
WINDOW_NL = {"lookback": f"{WINDOW.days} dagen terug (nieuw/historisch)", "reentry": f"{WINDOW.days} dagen herinstroom"}
DEADLINE = "#c62828"
CHAR = 5.2  # approximate width of one character at font-size 9


@dataclass(frozen=True)
class Bar:
    start: date
    end: date | None
    label: str
    colour: str
    title: str
    kind: str | None = None


@dataclass(frozen=True)
class Window:
    start: date
    end: date
    kind: str  # lookback, reentry
    title: str


@dataclass(frozen=True)
class PlacementLane:
    label: str
    bar: Bar
    windows: tuple[Window, ...] = ()
    deadline: date | None = None
    notified: date | None = None
    sublabel: str = ""
    highlight: bool = False


@dataclass(frozen=True)
class Timeline:
    registrations: tuple[Bar, ...]
    applications: tuple[tuple[date, str], ...]  # (date, label)
    placements: tuple[PlacementLane, ...]
    cutovers: tuple[tuple[date, str], ...]  # (date, region)
    period: tuple[date, date]


def _bounds(t: Timeline) -> tuple[date, date]:
    """From a little before the earliest relevant day to a little after the latest: placements,
    their windows, applications, cutovers and the settled period. BRP registrations that began
    long before are cut at the left edge (marked ‹)."""
    days = [t.period[0], t.period[1]]
    for p in t.placements:
        days.append(p.bar.start)
        if p.bar.end:
            days.append(p.bar.end)
        for w in p.windows:
            days += [w.start, w.end]
        days += [d for d in (p.deadline, p.notified) if d]
    days += [d for d, _ in t.applications] + [d for d, _ in t.cutovers]
    lo, hi = min(days), max(days)
    lo = date(lo.year, lo.month, 1) - ONE_DAY
    lo = date(lo.year, lo.month, 1)
    hi = hi + timedelta(days=62)  # room after the last mark for its label
    hi = date(hi.year, hi.month, 1)
    return lo, hi


_fmt = date_short_nl


def render_svg(t: Timeline) -> str:
    lo, hi = _bounds(t)
    span = max((hi - lo).days, 1)
    inner = WIDTH - LEFT - RIGHT

    def x(d: date) -> float:
        d = min(max(d, lo), hi)
        return round(LEFT + inner * (d - lo).days / span, 1)

    def x_end(d: date | None) -> float:
        """The right edge of the last day `d` (None: open, to the right edge)."""
        return x(hi) if d is None else x(d + ONE_DAY)

    lanes = 2 + len(t.placements)
    bottom = TOP + lanes * LANE
    legend_top = bottom + 28
    height = legend_top + 34
    labels: list[str] = []  # drawn last, over the period's outline
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="9" role="img" aria-label="Tijdlijn van de cliënt">']
    # alternating lane backgrounds make long lanes easy to follow
    for i in range(lanes):
        if i % 2 == 1:
            out.append(f'<rect x="0" y="{TOP + i * LANE - 8}" width="{WIDTH}" height="{LANE}" fill="#f5f7f9"/>')
    # settled period
    p0, p1 = x(t.period[0]), x_end(t.period[1])
    out.append(f'<rect x="{p0}" y="{TOP - 10}" width="{max(p1 - p0, 2)}" height="{lanes * LANE + 4}" '
               f'fill="#ffe082" fill-opacity="0.55"><title>afgerekende periode {_fmt(t.period[0])} t/m '
               f'{_fmt(t.period[1])}</title></rect>')
    # ticks: years always, months when the span is short enough to read them
    year = lo.year + (0 if lo == date(lo.year, 1, 1) else 1)
    while date(year, 1, 1) <= hi:
        xx = x(date(year, 1, 1))
        out.append(f'<line x1="{xx}" y1="{TOP - 10}" x2="{xx}" y2="{bottom}" stroke="#cfd8dc"/>')
        out.append(f'<text x="{xx}" y="{bottom + 12}" text-anchor="middle" fill="#333" font-weight="bold">{year}</text>')
        year += 1
    months_per_tick = 1 if span < 500 else 3 if span < 1500 else 0
    if months_per_tick:
        m = date(lo.year, lo.month, 1)
        while m <= hi:
            if m.month != 1 and (m.month - 1) % months_per_tick == 0:
                out.append(f'<line x1="{x(m)}" y1="{bottom - 4}" x2="{x(m)}" y2="{bottom}" stroke="#b0bec5"/>')
                out.append(f'<text x="{x(m)}" y="{bottom + 12}" text-anchor="middle" fill="#888" font-size="8">'
                           f'{MONTHS_SHORT[m.month - 1]}</text>')
            m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)

    def lane_label(i: int, text: str, sub: str = "", bold: bool = False) -> None:
        y = TOP + i * LANE + BAR - 4
        weight = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="4" y="{y - (4 if sub else 0)}" fill="#222"{weight}>{escape(text)}</text>')
        if sub:
            out.append(f'<text x="4" y="{y + 6}" fill="#666" font-size="8">{escape(sub)}</text>')

    def bar(i: int, b: Bar, labelled: bool = True) -> None:
        x1, x2 = x(b.start), x_end(b.end)
        y = TOP + i * LANE
        out.append(f'<rect x="{x1}" y="{y}" width="{max(x2 - x1, 1.5)}" height="{BAR}" fill="{b.colour}" rx="2" '
                   f'stroke="#fff" stroke-width="0.6"><title>{escape(b.title)}</title></rect>')
        cut = b.start < lo
        label = ("‹ " if cut else "") + b.label
        if labelled and x2 - x1 > CHAR * len(label) + 6:
            out.append(f'<text x="{x1 + 3}" y="{y + BAR - 4}" fill="#fff">{escape(label)}</text>')
        elif cut:
            out.append(f'<text x="{x1 + 2}" y="{y + BAR - 4}" fill="#fff">‹</text>')
        if b.end is None and x2 - x1 > 12:
            out.append(f'<text x="{x2 - 9}" y="{y + BAR - 4}" fill="#fff">›</text>')

    lane_label(0, "BRP-inschrijving")
    for b in t.registrations:
        bar(0, b)
    lane_label(1, "Aanmeldingen")
    last_label_end = -1.0
    for d, label in t.applications:
        cx, cy = x(d), TOP + LANE + BAR / 2
        out.append(f'<path d="M{cx} {cy - 6} L{cx + 6} {cy} L{cx} {cy + 6} L{cx - 6} {cy} Z" fill="#37474f">'
                   f'<title>{escape(label)}</title></path>')
        short = _fmt(d)
        if cx + 8 > last_label_end:
            labels.append(f'<text x="{cx + 8}" y="{cy + 3}" fill="#37474f" font-size="8">{escape(short)}</text>')
            last_label_end = cx + 8 + 4.6 * len(short) + 4
    for i, p in enumerate(t.placements, start=2):
        lane_label(i, p.label, p.sublabel, bold=p.highlight)
        y = TOP + i * LANE
        for w in p.windows:
            colour = WINDOW_COLOURS.get(w.kind, "#bdbdbd")
            wy = y + BAR + 2
            out.append(f'<rect x="{x(w.start)}" y="{wy}" width="{max(x_end(w.end) - x(w.start), 1)}" height="4" '
                       f'fill="{colour}"><title>{escape(w.title)}</title></rect>')
        bar(i, p.bar, labelled=False)  # the lane label names the placement
        if p.highlight:
            x1, x2 = x(p.bar.start), x_end(p.bar.end)
            out.append(f'<rect x="{x1 - 1.5}" y="{y - 1.5}" width="{max(x2 - x1, 1.5) + 3}" height="{BAR + 3}" '
                       f'fill="none" stroke="#000" stroke-width="1.2" rx="3"/>')
        marks = sorted([(d, what) for d, what in ((p.deadline, "termijn"), (p.notified, "gemeld")) if d])
        for d, what in marks:
            xd = x(d)
            if what == "termijn":
                out.append(f'<line x1="{xd}" y1="{y - 5}" x2="{xd}" y2="{y + BAR + 5}" stroke="{DEADLINE}" '
                           f'stroke-width="2"><title>uiterste meldingsdatum {_fmt(d)}</title></line>')
            else:
                out.append(f'<circle cx="{xd}" cy="{y + BAR / 2}" r="4" fill="#fff" stroke="{DEADLINE}" '
                           f'stroke-width="1.5"><title>gemeld op {_fmt(d)}</title></circle>')
        texts = [f"{what} {_fmt(d)}" for d, what in marks]
        xs = [x(d) for d, _ in marks]
        if len(marks) == 2 and xs[1] - xs[0] > 4.6 * (len(texts[0]) + len(texts[1])) / 2 + 12:
            # far enough apart: the earlier labelled to its left, the later to its right
            sides = [(xs[0] - 3, "end", texts[0]), (xs[1] + 3, "start", texts[1])]
        elif marks:  # one mark, or two close together: one label, in date order, where it fits
            label = ", ".join(texts)
            fits_right = xs[-1] + 3 + 4.6 * len(label) < WIDTH - RIGHT
            sides = [(xs[-1] + 3, "start", label) if fits_right else (xs[0] - 3, "end", label)]
        else:
            sides = []
        for tx, anchor, label in sides:
            labels.append(f'<text x="{tx}" y="{y - 3}" text-anchor="{anchor}" fill="{DEADLINE}" font-size="8">'
                       f'{escape(label)}</text>')
    # cutovers: one line per date, naming every region that changes over then
    by_day: dict[date, list[str]] = {}
    for d, region in t.cutovers:
        by_day.setdefault(d, []).append(region)
    for n, (d, regions) in enumerate(sorted(by_day.items())):
        xx = x(d)
        text = "overgang " + ", ".join(regions)
        label_y = 12 + 10 * (n % 2)
        out.append(f'<line x1="{xx}" y1="{label_y - 8}" x2="{xx}" y2="{bottom}" stroke="#000" '
                   f'stroke-dasharray="3,2"><title>{escape(text)} {_fmt(d)}</title></line>')
        label = f"{text} ({_fmt(d)})"
        anchor = "end" if xx + 3 + CHAR * len(label) > WIDTH else "start"
        dx = -3 if anchor == "end" else 3
        out.append(f'<text x="{xx + dx}" y="{label_y}" text-anchor="{anchor}" fill="#000">{escape(label)}</text>')
    # the settled period once more, as an outline over the bars, so it shows where bars cover it
    out.append(f'<rect x="{p0}" y="{TOP - 10}" width="{max(p1 - p0, 2)}" height="{lanes * LANE + 4}" fill="none" '
               f'stroke="#c79a00" stroke-width="0.8"/>')
    out += labels
    # the settled period's label, under the cutover labels
    mid = min(max(p0 + (p1 - p0) / 2, LEFT + 25), WIDTH - RIGHT - 25)
    out.append(f'<text x="{mid}" y="{TOP - 12}" text-anchor="middle" fill="#8d6e00" font-size="8">'
               f'afgerekend</text>')
    # legend, two rows
    lx, ly = 4.0, legend_top

    def swatch(colour: str, label: str, shape: str = "box") -> None:
        nonlocal lx
        if shape == "box":
            out.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="8" fill="{colour}"/>')
        elif shape == "thin":
            out.append(f'<rect x="{lx}" y="{ly - 5}" width="14" height="4" fill="{colour}"/>')
        elif shape == "line":
            out.append(f'<line x1="{lx + 5}" y1="{ly - 10}" x2="{lx + 5}" y2="{ly + 1}" stroke="{colour}" stroke-width="2"/>')
        elif shape == "dash":
            out.append(f'<line x1="{lx + 5}" y1="{ly - 10}" x2="{lx + 5}" y2="{ly + 1}" stroke="{colour}" '
                       f'stroke-dasharray="3,2"/>')
        elif shape == "circle":
            out.append(f'<circle cx="{lx + 5}" cy="{ly - 4}" r="4" fill="#fff" stroke="{colour}" stroke-width="1.5"/>')
        elif shape == "diamond":
            out.append(f'<path d="M{lx + 5} {ly - 9} L{lx + 10} {ly - 4} L{lx + 5} {ly + 1} L{lx} {ly - 4} Z" '
                       f'fill="{colour}"/>')
        elif shape == "period":
            out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="#ffe082" fill-opacity="0.8"/>')
        out.append(f'<text x="{lx + 17}" y="{ly}" fill="#333">{escape(label)}</text>')
        lx += 17 + CHAR * len(label) + 12

    def heading(text: str) -> None:
        nonlocal lx
        out.append(f'<text x="{lx}" y="{ly}" fill="#333" font-weight="bold">{text}</text>')
        lx += CHAR * len(text) + 6

    heading("BRP:")
    for kind, colour in KIND_COLOURS.items():
        swatch(colour, BRP_KIND[kind][1])
    lx += 8
    heading("Plaatsing:")
    for domain, colour in DOMAIN_COLOURS.items():
        swatch(colour, DOMAIN[domain][1])
    lx, ly = 4.0, legend_top + 16
    for kind, colour in WINDOW_COLOURS.items():
        swatch(colour, WINDOW_NL[kind], "thin")
    swatch("#37474f", "aanmelding", "diamond")
    swatch(DEADLINE, "meldtermijn", "line")
    swatch(DEADLINE, "gemeld", "circle")
    swatch("#000", "overgang", "dash")
    swatch("#ffe082", "afgerekend", "period")
    out.append("</svg>")
    return "\n".join(out)

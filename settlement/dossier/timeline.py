"""An SVG timeline of one client's facts, drawn from the data (no JavaScript, no clock).

Lanes: BRP registrations by kind; applications; one lane per placement (coloured by domain,
labelled with product and care region). Marks: each care region's cutover, the settled period,
the 365-day windows (the look-back that makes a client new, and the reentry window after a BW
stay), and for interregional placements the notification deadline and the notification date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

WIDTH = 760
LEFT = 150  # room for lane labels
RIGHT = 16
LANE = 26
BAR = 14

KIND_COLOURS = {"woonadres": "#2e7d32", "institution": "#1565c0", "briefadres": "#ef6c00", "abroad": "#757575"}
KIND_NL = {"woonadres": "woonadres", "institution": "instelling", "briefadres": "briefadres", "abroad": "buitenland"}
DOMAIN_COLOURS = {"BW": "#6a1b9a", "WMO": "#00838f", "MO": "#8d6e63"}
MONTHS_NL = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


@dataclass(frozen=True)
class Bar:
    start: date
    end: date | None
    label: str
    colour: str
    title: str


@dataclass(frozen=True)
class PlacementLane:
    label: str
    bar: Bar
    windows: tuple[tuple[date, date, str], ...] = ()  # (from, to, title)
    deadline: date | None = None
    notified: date | None = None


@dataclass(frozen=True)
class Timeline:
    registrations: tuple[Bar, ...]
    applications: tuple[tuple[date, str], ...]  # (date, label)
    placements: tuple[PlacementLane, ...]
    cutovers: tuple[tuple[date, str], ...]  # (date, region)
    period: tuple[date, date]


def _bounds(t: Timeline) -> tuple[date, date]:
    days = [t.period[0], t.period[1]]
    for p in t.placements:
        days.append(p.bar.start)
        if p.bar.end:
            days.append(p.bar.end)
        for lo, hi, _ in p.windows:
            days += [lo, hi]
        days += [d for d in (p.deadline, p.notified) if d]
    days += [d for d, _ in t.applications] + [d for d, _ in t.cutovers]
    lo, hi = min(days), max(days)
    lo = date(lo.year, 1, 1) if (hi - lo).days > 500 else lo - timedelta(days=31)
    hi = hi + timedelta(days=31)
    return lo, hi


def render_svg(t: Timeline) -> str:
    lo, hi = _bounds(t)
    span = max((hi - lo).days, 1)
    inner = WIDTH - LEFT - RIGHT

    def x(d: date) -> float:
        d = min(max(d, lo), hi)
        return round(LEFT + inner * (d - lo).days / span, 1)

    lanes = 2 + len(t.placements)
    height = 34 + lanes * LANE + 40
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="9" role="img" aria-label="Tijdlijn van de cliënt">']
    top = 24
    # settled period
    out.append(f'<rect x="{x(t.period[0])}" y="{top - 6}" width="{max(x(t.period[1] + timedelta(days=1)) - x(t.period[0]), 1.5)}" '
               f'height="{lanes * LANE + 8}" fill="#fff3c4"><title>afgerekende periode</title></rect>')
    # year ticks
    year = lo.year + (0 if lo == date(lo.year, 1, 1) else 1)
    step = 1 if span < 365 * 8 else 2
    while date(year, 1, 1) <= hi:
        xx = x(date(year, 1, 1))
        out.append(f'<line x1="{xx}" y1="{top - 6}" x2="{xx}" y2="{top + lanes * LANE + 2}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{xx}" y="{top + lanes * LANE + 14}" text-anchor="middle" fill="#555">{year}</text>')
        year += step
    if span < 500:  # short spans: month ticks
        m = date(lo.year, lo.month, 1)
        while m <= hi:
            if m.month != 1:
                out.append(f'<text x="{x(m)}" y="{top + lanes * LANE + 14}" text-anchor="middle" fill="#999">'
                           f'{MONTHS_NL[m.month - 1]}</text>')
            m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)

    def lane_label(i: int, text: str) -> None:
        out.append(f'<text x="4" y="{top + i * LANE + BAR - 3}" fill="#222">{escape(text)}</text>')

    def bar(i: int, b: Bar, labelled: bool = True) -> None:
        x1 = x(b.start)
        x2 = x((b.end or hi) + timedelta(days=1))
        y = top + i * LANE
        out.append(f'<rect x="{x1}" y="{y}" width="{max(x2 - x1, 1.5)}" height="{BAR}" fill="{b.colour}" rx="2">'
                   f'<title>{escape(b.title)}</title></rect>')
        if labelled and x2 - x1 > 6 * len(b.label):
            out.append(f'<text x="{x1 + 3}" y="{y + BAR - 4}" fill="#fff">{escape(b.label)}</text>')
        if b.end is None:
            out.append(f'<text x="{x2 - 8}" y="{y + BAR - 4}" fill="#fff">›</text>')

    lane_label(0, "BRP")
    for b in t.registrations:
        bar(0, b)
    lane_label(1, "Aanmeldingen")
    for d, label in t.applications:
        cx, cy = x(d), top + LANE + BAR / 2
        out.append(f'<path d="M{cx} {cy - 6} L{cx + 6} {cy} L{cx} {cy + 6} L{cx - 6} {cy} Z" fill="#37474f">'
                   f'<title>{escape(label)}</title></path>')
    for i, p in enumerate(t.placements, start=2):
        lane_label(i, p.label)
        y = top + i * LANE
        for wlo, whi, title in p.windows:
            out.append(f'<rect x="{x(wlo)}" y="{y + BAR}" width="{max(x(whi + timedelta(days=1)) - x(wlo), 1)}" height="4" '
                       f'fill="#bdbdbd"><title>{escape(title)}</title></rect>')
        bar(i, p.bar, labelled=False)
        if p.deadline:
            out.append(f'<line x1="{x(p.deadline)}" y1="{y - 3}" x2="{x(p.deadline)}" y2="{y + BAR + 3}" stroke="#c62828" '
                       f'stroke-width="2"><title>uiterste meldingsdatum {p.deadline.isoformat()}</title></line>')
        if p.notified:
            out.append(f'<circle cx="{x(p.notified)}" cy="{y + BAR / 2}" r="4" fill="#fff" stroke="#c62828" stroke-width="1.5">'
                       f'<title>gemeld op {p.notified.isoformat()}</title></circle>')
    for d, region in t.cutovers:
        xx = x(d)
        out.append(f'<line x1="{xx}" y1="{top - 8}" x2="{xx}" y2="{top + lanes * LANE}" stroke="#000" '
                   f'stroke-dasharray="3,2"><title>overgang {escape(region)} {d.isoformat()}</title></line>')
        out.append(f'<text x="{xx + 2}" y="{top - 10}" fill="#000">overgang {escape(region)}</text>')
    # legend
    ly = height - 12
    lx = LEFT
    for kind, colour in KIND_COLOURS.items():
        out.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="8" fill="{colour}"/>'
                   f'<text x="{lx + 13}" y="{ly}" fill="#333">{KIND_NL[kind]}</text>')
        lx += 80
    out.append(f'<rect x="{lx}" y="{ly - 4}" width="16" height="4" fill="#bdbdbd"/>'
               f'<text x="{lx + 19}" y="{ly}" fill="#333">365-dagenvenster</text>')
    lx += 110
    out.append(f'<line x1="{lx + 4}" y1="{ly - 9}" x2="{lx + 4}" y2="{ly + 1}" stroke="#c62828" stroke-width="2"/>'
               f'<text x="{lx + 10}" y="{ly}" fill="#333">meldtermijn</text>')
    out.append("</svg>")
    return "\n".join(out)

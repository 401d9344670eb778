"""Draw docs/performance.png from the benchmark's JSON files (`python -m settlement.bench --json`).

    python docs/plot_performance.py bench-10k.json bench-40k.json bench-160k.json

matplotlib is a dependency of the project (the budget monitor's plots). Left: seconds per step
against the number of clients (log-log, with the targets at 40,000); right: the peak memory of a
step with its workers, and the database's growth per settled month.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STEPS = [("load_s", "settle load"), ("month_cli_s", "one month (settle run)"),
         ("twelve_s", "twelve months (run --from --to)"), ("verify_s", "verify a month"),
         ("explain_pdf_s", "explain one client (pdf)"), ("statements_s", "statements + invoices")]
TARGETS = {"load_s": 20, "month_cli_s": 3, "twelve_s": 30, "verify_s": None, "explain_pdf_s": 3, "statements_s": 120}


def _label(axes, title: str, ylabel: str) -> None:
    """Clients on a log scale below, a title, a grid and the legend."""
    axes.set_xscale("log")
    axes.set_xlabel("clients")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)


def main(paths: list[str]) -> None:
    runs = []
    for p in paths:
        doc = json.loads(Path(p).read_text(encoding="utf-8"))
        sqlite = next(r for r in doc["results"] if r["dialect"] == "sqlite")
        runs.append((doc["clients"], sqlite["figures"]))
    runs.sort(key=lambda r: r[0])
    n = [c for c, _ in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    for (key, label), marker in zip(STEPS, "osD^vx"):
        values = [f.get(key) for _, f in runs]
        points = [(c, v) for c, v in zip(n, values) if v is not None and v != float("inf")]
        if points:
            line, = left.plot(*zip(*points), marker=marker, label=label)
            if TARGETS[key] is not None:
                left.plot([40_000], [TARGETS[key]], marker="_", markersize=18, color=line.get_color())
    left.set_yscale("log")
    _label(left, "time (SQLite, 2 cores)", "seconds (bar: target at 40,000)")
    mem = [f["peak_rss_bytes"] / 2**30 for _, f in runs]
    right.plot(n, mem, marker="o", label="peak of a step, with its workers")
    right.axhline(1.0, color="grey", linestyle="--", label="target 1 GB (at 40,000)")
    growth = [(c, f["growth_bytes"] / 2**30) for c, f in runs if f.get("growth_bytes")]
    if growth:
        right.plot(*zip(*growth), marker="s", label="database growth per settled month")
    _label(right, "memory", "GB")
    fig.tight_layout()
    out = Path(__file__).resolve().parent / "performance.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])

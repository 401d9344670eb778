"""Settling a month on every core: worker processes that each settle a part of the placements.

A placement's lines depend on the data only, never on another placement's lines (RULES.md §3-§5;
the pools of §5.1 are summed afterwards). So the placements, in id order, are cut into one
contiguous part per process; each worker settles its part of every month, makes the traces'
texts, and sends back the lines (for a single month the parent settles a part too). The parent
joins the parts in order (which is the lines' order, since lines sort by placement first) and
completes the month as `Engine.settle` does: pools, invoices, totals and invariants. The result is the same, byte for byte, as settling in one
process (tests/test_workers.py); only the work is spread.

Each worker is forked before the data are read and reads the snapshot itself (an immutable one,
by id), while the parent reads it too; it keeps its own memo of chains and §4.4 decisions from
month to month (a part always goes to the same worker). While the parent writes one month, the
workers already settle the next.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Iterator

from ._util import children_die_with_this_process
from .engine import Engine, Line, MonthResult, SettlementError
from .periods import Month
from .receipt import line_chunk
from .trace import write_shared

# Below this many placements one process is quicker than starting workers.
MIN_PLACEMENTS = 4_000

_ENGINE: Engine | None = None  # in a worker: the engine on its own copy of the data
_PARTS: list[list[Any]] = []  # in a worker: every part's placements


def _partition(engine: Engine, n: int) -> list[list[Any]]:
    placements = sorted(engine.ds.placements.values(), key=lambda p: p.placement)
    return [placements[len(placements) * i // n:len(placements) * (i + 1) // n] for i in range(n)]


def processes_wanted(placements: int) -> int:
    """How many processes settle: SETTLEMENT_WORKERS when set (1 = in this process); else, for a
    dataset of at least MIN_PLACEMENTS placements, one per core where processes can be forked
    (at most 8), for one month or several: this process settles a part of each month itself
    (docs/PERFORMANCE.md: a year at 40,000 clients in 25 s on two processes against 31 s in one)."""
    value = os.environ.get("SETTLEMENT_WORKERS")
    if value:
        try:
            wanted = int(value)
        except ValueError:
            raise ValueError(f"SETTLEMENT_WORKERS must be a whole number of processes, not {value!r}") from None
        return max(1, wanted) if "fork" in multiprocessing.get_all_start_methods() else 1
    if placements < MIN_PLACEMENTS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


Sent = tuple[list[tuple[Any, ...]], list[str], dict[str, str]]


def _settle_part(month: Month, part: int) -> Sent:
    assert _ENGINE is not None
    return _lines_sent(_ENGINE, month, _PARTS[part])


def _lines_sent(engine: Engine, month: Month, placements: list[Any]) -> Sent:
    """The lines of some placements in `month` as a worker sends them: each with its trace's
    stored text (its steps as part keys, settlement.trace.write_shared) and its chunk of the lines
    hash; a pooled line with its trace as a dict instead, since the parent adds the pool's
    arithmetic to it. And the problems that stop them, and the parts' texts (key -> text)."""
    lines, problems = engine.lines_of(month, placements)
    parts: dict[str, str] = {}
    out = []
    for l in lines:
        if l.pool is not None:
            out.append((l.placement, l.client, l.product, l.region, l.days, l.amount, l.status, l.basis, l.payer,
                        l.pool, l.creditor, l.flags, l.trace, None, None))
        else:
            text = write_shared(l.trace, parts)  # type: ignore[arg-type]
            out.append((l.placement, l.client, l.product, l.region, l.days, l.amount, l.status, l.basis, l.payer,
                        l.pool, l.creditor, l.flags, None, text, line_chunk(l, text)))
    return out, problems, parts


def _serve(conn: Any, part: int, n: int, load: Callable[[bool, bool], Engine]) -> None:
    """A worker's loop: read the data, then a month in, its part's lines out, until None."""
    global _ENGINE, _PARTS
    failure = None
    try:
        _ENGINE = load(True, True)
        _PARTS = _partition(_ENGINE, n)
    except BaseException as e:  # noqa: BLE001 - reported to the parent with the first month
        failure = f"{e.__class__.__name__}: {e}"
    while True:
        month = conn.recv()
        if month is None:
            return
        if failure is not None:
            conn.send(("error", failure))
            continue
        try:
            conn.send(("ok", _settle_part(month, part)))
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
            import traceback
            conn.send(("error", f"{e.__class__.__name__}: {e}\n{traceback.format_exc()}"))


class WorkerError(RuntimeError):
    """A worker process failed (a bug: input problems come back as problems)."""


class Workers:
    """`settle(months)` yields each month's MonthResult, as `Engine.settle` would, settled with
    `processes` processes: for one month this one and processes-1 workers each settle a part; for
    several, processes-1 workers settle while this one completes and writes the month before (on
    two cores: one worker settles, this process writes). With 1, all in this process.

    `load(in_worker, whole)` reads the data and returns an Engine on them (the same placements in
    every process that settles: each cuts them into the same parts): in a worker the whole
    snapshot; in this process the whole snapshot when it settles placements itself, else only its
    frame (municipalities, regions, products, agreements), which is all that completing a month
    needs. The workers are forked before this process reads, and each reads the snapshot itself,
    at the same time: a worker forked from a process holding the data would share its memory page
    by page, and every reference count either of them touches would copy a page (measured: twice
    the system time, and slower than one process for a year of months)."""

    def __init__(self, load: Callable[[bool, bool], Engine], processes: int, one_month: bool = False):
        """`one_month` (the name of when it was only used for one month): this process settles
        the first part of every month itself rather than wait (and forks one worker fewer), and
        writes each month while the workers settle their parts of the next. Without it the
        workers settle every placement and this process only completes and writes the months
        (a pipeline that is slower on two cores since writing became cheap: docs/PERFORMANCE.md)."""
        self.load = load
        self.processes = processes
        self.local = one_month
        self.engine: Engine | None = None
        self._workers: list[tuple[Any, Any]] = []  # (process, connection)

    def __enter__(self) -> "Workers":
        # One month: this process and processes-1 workers each settle a part. Several months: the
        # processes-1 workers settle every placement while this process writes (a pipeline), so
        # that this process never holds the clients' data.
        self.parts = self.processes if self.local else self.processes - 1
        if self.processes > 1:
            children_die_with_this_process()
            context = multiprocessing.get_context("fork")
            for part in range(1 if self.local else 0, self.parts):
                here, there = context.Pipe()
                process = context.Process(target=_serve, args=(there, part, self.parts, self.load),
                                          daemon=True, name=f"settle-worker-{part}")
                process.start()
                there.close()
                self._workers.append((process, here))
        try:
            self.engine = self.load(False, bool(self.local or not self._workers))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        if self.local and self._workers:
            self._local_part = _partition(self.engine, self.parts)[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        for process, conn in self._workers:
            try:
                conn.send(None)
            except OSError:
                pass
        for process, conn in self._workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
            conn.close()
        self._workers = []

    def settle(self, months: list[Month]) -> Iterator[MonthResult]:
        engine = self.engine
        assert engine is not None, "use Workers in a with statement"
        if not self._workers:
            for month in months:
                yield engine.settle(month)
            return
        if months:
            self._send(months[0])
        for i, month in enumerate(months):
            parts = [_lines_sent(engine, month, self._local_part)] if self.local else []  # while they work
            parts += self._receive()
            if i + 1 < len(months):
                self._send(months[i + 1])  # the workers settle the next month while this one is written
            problems = [p for _, ps, _ in parts for p in ps]
            if problems:
                raise SettlementError(problems)
            texts = {k: v for _, _, ps in parts for k, v in ps.items()}
            lines = [Line(*row, parts=texts) for rows, _, _ in parts for row in rows]
            del parts
            yield engine.complete(month, lines, texts)

    def _send(self, month: Month) -> None:
        for _, conn in self._workers:
            conn.send(month)

    def _receive(self) -> list[Sent]:
        out = []
        for process, conn in self._workers:
            try:
                status, value = conn.recv()
            except EOFError:
                raise WorkerError(f"{process.name} ended unexpectedly (exit status {process.exitcode})") from None
            if status != "ok":
                raise WorkerError(f"{process.name} failed: {value}")
            out.append(value)
        return out

"""W6: every report of ``milestonebill.reports`` on a generated firm, 24-month horizons.

The firm is :func:`milestonebill.testing.firm.generated_firm` (5,000
agreements by default, 24 months, seed 1): generating it walks every day of
two years through the Biller, which takes minutes, so it is built once and
kept under ``.bench-cache/`` (or ``--cache-dir``).  The cache holds the
stored form -- each agreement's events as canonical JSON and each journal
entry as canonical JSON -- under a name made of the generator's arguments,
the package version and a hash of the generator's source; loading folds the
streams again, so the cache survives changes to the classes.  ``--regenerate``
builds it anew.

Every report is timed on the firm as of 12 months after its start (all
agreements are signed by then) with a 24-month horizon; ``median s`` is the
median of the repeats, interleaved, in one process pinned to one core.

Run from the repository root::

    python bench/reports.py                      # 5,000 agreements, 5 repeats
    python bench/reports.py --agreements 200 --repeats 3
    python bench/reports.py --check              # also compare with the reference path
    python bench/reports.py --profile billing_revenue_forecast
    python bench/reports.py --library /path/to/old/src   # the same, before a change
    python bench/reports.py --agreements 200 --tile 25   # 5,000: 25 copies of 200

``--tile K`` runs on K copies of the cached firm, each copy's agreement,
invoice and client names made distinct (``c1-agr-0001``...): a firm K times
the size with the same mix, for when generating the big one is too slow.

``--check`` computes every report once more with the straightforward
reference path (:func:`milestonebill.reports._reference.reference_path`,
untimed) and counts the rows that differ (the ``differ`` column).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import hashlib
import json
import os
import pickle
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench.common import Config, Row, format_table, machine  # noqa: E402

__all__ = [
    "FirmData",
    "Jobs",
    "firm_data",
    "main",
    "report_jobs",
    "w6_reports",
]

CACHE_DIR = ROOT / ".bench-cache"
MONTHS = 24
SEED = 1


@dataclass
class FirmData:
    """The generated firm as the reports see it: agreements, journal entries, dates."""

    agreements: list[Any]  # milestonebill.agreement.Agreement
    entries: list[Any]  # milestonebill.ledger.JournalEntry
    start: date
    through: date
    generated_s: float  # how long generating it took (when it was generated)
    loaded_s: float  # how long reading and folding the cache took (0 when just generated)
    cache: Path | None


def _cache_path(cache_dir: Path, agreements: int, months: int, seed: int) -> Path:
    import milestonebill
    import milestonebill.testing.firm as generator

    source = hashlib.sha256(Path(generator.__file__).read_bytes()).hexdigest()[:12]
    return cache_dir / (f"firm-{agreements}a-{months}m-seed{seed}-"
                        f"v{milestonebill.__version__}-{source}.pickle")


def _generate(agreements: int, months: int, seed: int) -> dict[str, Any]:
    from milestonebill.engine import _context
    from milestonebill.testing.firm import generated_firm

    # The walk loads every agreement again and again (each run, each month-end
    # recognition).  The engine keeps the last 8,192 decoded events, fewer than a
    # firm of thousands of agreements has, so every load would decode its whole
    # stream from JSON again; while generating, keep them all.  Same firm, sooner.
    bounded = _context.decoded
    _context.decoded = functools.lru_cache(maxsize=None)(bounded.__wrapped__)
    t0 = time.perf_counter()
    try:
        firm = generated_firm(agreements, months=months, seed=seed)
    finally:
        _context.decoded = bounded
    seconds = time.perf_counter() - t0
    streams = [[e.payload for e in firm.store.load(aid)] for aid in firm.agreement_ids]
    entries = [e.canonical() for e in firm.store.entries()]
    return {"start": firm.start.isoformat(), "through": firm.through.isoformat(),
            "streams": streams, "entries": entries, "generated_s": seconds}


def _fold(stored: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    from milestonebill.agreement import Agreement, event_from_json
    from milestonebill.ledger import JournalEntry

    agreements = [Agreement.from_events(event_from_json(json.loads(p)) for p in stream)
                  for stream in stored["streams"]]
    entries = [JournalEntry.from_json(json.loads(text)) for text in stored["entries"]]
    return agreements, entries


def _tiled(stored: dict[str, Any], copies: int) -> dict[str, Any]:
    """``copies`` copies of a stored firm whose agreements, invoices and clients are named
    apart (the names are JSON strings starting ``agr-``, ``inv_`` and ``Client ``)."""
    if copies == 1:
        return stored

    def renamed(text: str, c: int) -> str:
        return (text.replace('"agr-', f'"c{c}-agr-').replace("inv_", f"inv_c{c}")
                .replace('"Client ', f'"Client c{c}-'))

    return {**stored,
            "streams": [[renamed(p, c) for p in stream]
                        for c in range(copies) for stream in stored["streams"]],
            "entries": [renamed(e, c) for c in range(copies) for e in stored["entries"]]}


def firm_data(agreements: int, *, months: int = MONTHS, seed: int = SEED,
              cache_dir: Path | None = CACHE_DIR, regenerate: bool = False,
              tile: int = 1) -> FirmData:
    """The generated firm, from the cache when it has it (``cache_dir=None``: no cache);
    ``tile``: that many renamed copies of it (see the module's docstring)."""
    path = None if cache_dir is None else _cache_path(cache_dir, agreements, months, seed)
    stored: dict[str, Any] | None = None
    t0 = time.perf_counter()
    if path is not None and path.exists() and not regenerate:
        with path.open("rb") as fh:
            stored = pickle.load(fh)
    fresh = stored is None
    if stored is None:
        print(f"  generating a firm of {agreements:,} agreements over {months} months "
              f"(seed {seed}) ...", file=sys.stderr, flush=True)
        stored = _generate(agreements, months, seed)
        print(f"  generated in {stored['generated_s']:.1f} s", file=sys.stderr, flush=True)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(stored, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        t0 = time.perf_counter()
    ags, entries = _fold(_tiled(stored, tile))
    loaded = 0.0 if fresh else time.perf_counter() - t0
    return FirmData(ags, entries, date.fromisoformat(stored["start"]),
                    date.fromisoformat(stored["through"]), stored["generated_s"], loaded, path)


@dataclass
class Jobs:
    """Each report on the firm as a call to time, and how to give them fresh agreements."""

    calls: dict[str, Callable[[], Any]]
    fresh: Callable[[], None]


def report_jobs(firm: FirmData) -> Jobs:
    """Each report of ``milestonebill.reports`` on the firm, as a call to time.

    ``as_of`` is 12 months after the firm's start; horizons are 24 months.
    The totals (``mrr_totals``, ``movement_totals``) are timed on rows made
    beforehand, so their line is their own cost.  An agreement keeps what
    was worked out from it (its billing plan), so ``fresh()`` swaps in
    agreement objects that know nothing yet (``attrs.evolve`` copies), as if
    just loaded from a store: every timed run starts cold.
    """
    import attrs

    from milestonebill import reports as r
    from milestonebill.agreement import AgreementId
    from milestonebill.periods import Period, add_months
    from milestonebill.testing.scenarios import CARD, proposal

    first = firm.start.replace(day=1)
    as_of = add_months(first, 12)
    signed = [a for a in firm.agreements if a.signed_on <= as_of]
    now: list[Any] = list(signed)

    def fresh() -> None:
        now[:] = [attrs.evolve(a) for a in signed]

    entries = firm.entries
    months = [Period.month(d.year, d.month) for d in (add_months(first, i) for i in range(24))]
    span = Period(first, add_months(first, 24))
    statement = Period(firm.start, as_of)
    client = signed[0].proposal.client
    won = r.Scenario("audit won", [r.Signing(proposal([("audit", "25000.00")]), "std",
                                             as_of + timedelta(days=10),
                                             AgreementId("bench-new"), payment_method=CARD)])
    mrr_rows = list(r.mrr(signed, as_of))
    movement_rows = list(r.mrr_movements(signed, first, as_of))
    calls: dict[str, Callable[[], Any]] = {
        "cash_forecast": lambda: r.cash_forecast(now, as_of, periods=24),
        "billing_revenue_forecast": lambda: r.billing_revenue_forecast(now, as_of, periods=24),
        "compare_scenarios": lambda: r.compare_scenarios(now, [won], as_of, periods=24),
        "expected_receipts": lambda: r.expected_receipts(now, as_of,
                                                         through=add_months(as_of, 24)),
        "aging": lambda: r.aging(now, as_of),
        "receivables": lambda: r.receivables(now, as_of),
        "leakage_audit": lambda: r.leakage_audit(now, as_of),
        "mrr": lambda: r.mrr(now, as_of),
        "mrr_totals": lambda: r.mrr_totals(mrr_rows),
        "mrr_movements": lambda: r.mrr_movements(now, first, as_of),
        "movement_totals": lambda: r.movement_totals(movement_rows),
        "monthly_movements": lambda: r.monthly_movements(now, first, 24),
        "net_revenue_retention": lambda: r.net_revenue_retention(now, first, as_of),
        "contract_positions": lambda: r.contract_positions(entries, as_of, "USD"),
        "rollforward": lambda: r.rollforward(entries, months, currency="USD"),
        "remaining_obligations": lambda: [list(r.remaining_obligations(a, as_of))
                                          for a in now],
        "revenue_schedule": lambda: [list(r.revenue_schedule(a, span)) for a in now],
        "client_statement": lambda: r.client_statement(now, client, statement),
    }
    return Jobs(calls, fresh)


def _rows_of(result: Any) -> list[Any]:
    """A report's rows as a flat list (per-agreement reports give a list of lists)."""
    if isinstance(result, list) and result and isinstance(result[0], list):
        return [row for part in result for row in part]
    return list(result)


def _reference() -> AbstractContextManager[object]:
    try:
        from milestonebill._reference import reference_path
    except ImportError:  # a tree without the fast paths: everything is the reference
        return nullcontext()
    return reference_path()


def _references(jobs: Jobs, calls: dict[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    t0 = time.perf_counter()
    with _reference():
        jobs.fresh()
        out = {name: _rows_of(run()) for name, run in calls.items()}
    print(f"  reference path: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return out


def _differing(got: list[Any], want: list[Any]) -> int:
    """Rows that differ (position by position, plus any extra or missing rows)."""
    differ = sum(bool(g != w) for g, w in zip(got, want, strict=False))
    return differ + abs(len(got) - len(want))


def _one_core(cpu: int | None) -> str:
    """Pin this process to ``cpu`` when asked; say where it runs and how loaded the machine is.

    The reports run in one thread, so they use one core either way; pinning
    only stops the scheduler moving the process, and on a shared machine it
    can put it on the busier core, so it is off unless asked for.
    """
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return f"one thread, not pinned, load average {load:.2f}"
    os.sched_setaffinity(0, {cpu})
    return f"one thread pinned to CPU {cpu}, load average {load:.2f}"


@dataclass
class Timing:
    """One timed call: wall and CPU seconds of each repeat, rows it returned, rows that
    differ from the reference path (``None``: not checked)."""

    name: str
    wall: list[float]
    cpu: list[float]
    rows: int = 0
    differ: int | None = None

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def _timed(jobs: Jobs, calls: dict[str, Callable[[], Any]], repeats: int,
           refs: dict[str, list[Any]]) -> list[Timing]:
    """Run each call ``repeats`` times, interleaved, each on fresh agreements.

    Before each run the agreements are replaced (untimed) and everything
    alive is collected and frozen out of the garbage collector's scans (as
    the harness does with inputs); the collector stays on for the report's
    own allocations.
    """
    out = {name: Timing(name, [], []) for name in calls}
    try:
        for rep in range(repeats):
            for name, run in calls.items():
                gc.unfreeze()
                jobs.fresh()
                gc.collect()
                gc.freeze()
                wall, cpu = time.perf_counter(), time.process_time()
                result = run()
                out[name].cpu.append(time.process_time() - cpu)
                out[name].wall.append(time.perf_counter() - wall)
                if rep == 0 and result is not None:
                    got = _rows_of(result)
                    out[name].rows = len(got)
                    if name in refs:
                        out[name].differ = _differing(got, refs[name])
                del result
            print(f"  repeat {rep + 1} of {repeats} done", file=sys.stderr, flush=True)
    finally:
        gc.unfreeze()
    return list(out.values())


SEQUENCE = "all reports in sequence"


def w6_reports(cfg: Config, *, check: bool | None = None, cache_dir: Path | None = CACHE_DIR,
               only: Sequence[str] = (), tile: int = 1) -> list[Row]:
    """Time every report on a generated firm of ``cfg.size("W6")`` agreements.

    One row per report, each run on fresh agreements; then every report in
    sequence on one set of fresh agreements (what a dashboard showing them
    all pays: reports share what an agreement worked out, such as its
    plan); then the sum of the per-report medians.  ``median s`` is wall
    time; the note gives the median CPU time of the process, which is what
    one core spent whatever else the machine was running.
    """
    n = cfg.size("W6")
    firm = firm_data(n, cache_dir=cache_dir, tile=tile)
    jobs = report_jobs(firm)
    calls = {k: v for k, v in jobs.calls.items() if not only or k in only}
    check = cfg.quick if check is None else check
    refs = _references(jobs, calls) if check else {}

    def everything() -> None:
        for run in calls.values():
            run()

    size = len(firm.agreements)
    timings = _timed(jobs, {**calls, SEQUENCE: everything}, cfg.repeats, refs)
    rows = [Row("W6", t.name, "milestonebill", "ours", size, t.median_wall, t.wall,
                size / t.median_wall if t.median_wall else 0.0, None, None, t.differ, t.rows,
                f"cpu {t.median_cpu:.3f} s") for t in timings]
    where = "generated now" if firm.loaded_s == 0 else f"cache read in {firm.loaded_s:.1f} s"
    total = sum(t.median_wall for t in timings if t.name != SEQUENCE)
    cpu = sum(t.median_cpu for t in timings if t.name != SEQUENCE)
    rows.append(Row("W6", "sum of the per-report medians", "milestonebill", "ours", size, total,
                    [], size / total if total else 0.0,
                    note=f"cpu {cpu:.3f} s; {size:,} agreements, {len(firm.entries):,} journal "
                         f"entries; {f'{tile} copies of {n:,}; ' if tile > 1 else ''}"
                         f"generating the firm took {firm.generated_s:.0f} s ({where})"))
    return rows


def _profile(firm: FirmData, name: str, top: int) -> None:
    jobs = report_jobs(firm)
    if name == "sequence":  # every report, one after another on the same agreements
        calls = list(jobs.calls.values())
    elif name in jobs.calls:
        calls = [jobs.calls[name]]
    else:
        raise SystemExit(f"unknown report {name!r}; choose 'sequence' or one of "
                         f"{sorted(jobs.calls)}")
    jobs.fresh()
    gc.collect()
    gc.freeze()  # as the timed runs do: the collector scans only what the reports make
    prof = cProfile.Profile()
    prof.runcall(lambda: [run() for run in calls])
    gc.unfreeze()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--agreements", type=int, default=5_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated report names")
    p.add_argument("--check", action="store_true", help="compare with the reference path")
    p.add_argument("--cache-dir", default=str(CACHE_DIR))
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--tile", type=int, default=1, metavar="K",
                   help="run on K renamed copies of the firm")
    p.add_argument("--regenerate", action="store_true", help="build the cached firm anew")
    p.add_argument("--profile", default=None, metavar="REPORT", help="cProfile one report ('sequence': all of them in turn)")
    p.add_argument("--pin", type=int, default=None, metavar="CPU", help="pin to this CPU")
    p.add_argument("--library", default=None, metavar="SRC",
                   help="import milestonebill from this source tree (to measure an older one)")
    p.add_argument("--top", type=int, default=30, help="lines of profile to print")
    p.add_argument("--json", dest="json_path", default=None, help="write the rows as JSON here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Time (or profile) the reports; print the table."""
    args = parse_args(argv)
    if args.library:
        if "milestonebill" in sys.modules:
            raise SystemExit("--library must come before milestonebill is imported")
        sys.path.insert(0, str(Path(args.library).resolve()))
    cache_dir = None if args.no_cache else Path(args.cache_dir)
    pinned = _one_core(args.pin)
    if args.regenerate:
        firm_data(args.agreements, cache_dir=cache_dir, regenerate=True)
    if args.profile:
        _profile(firm_data(args.agreements, cache_dir=cache_dir, tile=args.tile), args.profile,
                 args.top)
        return []
    info = machine()
    import milestonebill

    print(f"# milestonebill reports ({Path(milestonebill.__file__).parent}): Python "
          f"{info['python']}, {info['cpu']}, {pinned}; {args.agreements:,} agreements"
          f"{f' x {args.tile} copies' if args.tile > 1 else ''}, "
          f"repeats={args.repeats}", flush=True)
    cfg = Config(repeats=args.repeats, sizes={"W6": args.agreements})
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    gc.collect()
    rows = w6_reports(cfg, check=args.check, cache_dir=cache_dir, only=only, tile=args.tile)
    print(format_table(rows), flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n",
                                        encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()

"""Benchmark harness: milestonebill against its peers and a pure-Python floor.

Run from the repository root::

    python bench/run.py                 # every workload, full sizes
    python bench/run.py --quick         # small sizes, well under a minute
    python bench/run.py --only W1,W2 --repeats 7 --json out.json

Each workload is one self-contained function (``w1_split`` ... ``w5_billing``)
that builds fixed-seed inputs in integer minor units, defines its contenders
(milestonebill's bulk and object APIs, the peers a user would otherwise pick,
and a tight "floor" loop written here), times them interleaved, and checks the
outputs.  Every contender of a case runs on the same inputs; contenders that
are too slow for the full size run on a prefix of the same inputs, and the
floor ratio is computed per item so sizes need not match.

Columns: ``median s`` is the median wall time over the repeats; ``items/s``
the throughput; ``floor/x`` is floor time per item divided by this
contender's time per item (1.0 = as fast as the floor, 0.5 = twice as slow);
``bad`` counts rows whose output breaks the workload's invariant (parts do not
sum to the total, or the answer differs from the exact one); ``differ``
counts rows that differ from milestonebill's bulk answer.
"""

from __future__ import annotations

import argparse
import calendar
import functools
import gc
import importlib
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from operator import sub
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

SEED = 20_261_125

# ---------------------------------------------------------------- plumbing


@dataclass
class Row:
    """One line of the results table."""

    workload: str
    case: str
    contender: str
    kind: str  # "ours-bulk", "ours-object", "floor", "peer", "memory", "n/a"
    n: int = 0
    median_s: float = 0.0
    times_s: list[float] = field(default_factory=list)
    per_s: float = 0.0
    floor_ratio: float | None = None
    bad: int | None = None
    differ: int | None = None
    checked: int = 0
    note: str = ""


@dataclass
class Contender:
    """A named way to run one case: ``run()`` returns its output."""

    name: str
    kind: str
    n: int
    run: Callable[[], Any]
    note: str = ""
    requires: str = ""  # a module the contender needs (peers are an optional extra)
    setup: Callable[[], None] | None = None  # untimed, before every run


@dataclass
class Config:
    """Sizes and repeats for one harness run."""

    repeats: int = 5
    quick: bool = False
    scale: float = 1.0
    sizes: dict[str, int] = field(default_factory=dict)

    def size(self, key: str) -> int:
        return max(8, int(self.sizes[key] * self.scale))


FULL_SIZES: dict[str, int] = {
    "W1": 1_000_000,  # contract amounts, 12 parts
    "W1.conventions": 200_000,  # hand-written conventions: prefix
    "W1.slow": 100_000,  # object API and float peer: prefix
    "W1.apportionment": 50_000,  # random-weights case; 1/5 of it in the other cases
    "W1.huge": 100_000,  # totals 10^15..10^17
    "W2": 1_000_000,  # mid-period price changes
    "W2.slow": 200_000,  # Decimal reference model: prefix
    "W2.object": 50_000,
    "W3": 100_000,  # contracts x 36 months
    "W3.slow": 10_000,  # reference models: prefix
    "W3.object": 2_000,
    "W3.memory_object": 5_000,
    "W4": 100_000,  # agreements x 60 invoices
    "W4.slow": 2_000,  # dateutil peers: prefix
    "W4.object": 300,
    "W4.memory_object": 2_000,
    "W5": 100_000,  # agreements x 12 milestones
    "W5.engine": 10_000,
}
QUICK_SIZES: dict[str, int] = {
    "W1": 40_000,
    "W1.conventions": 20_000,
    "W1.slow": 10_000,
    "W1.apportionment": 4_000,
    "W1.huge": 10_000,
    "W2": 50_000,
    "W2.slow": 10_000,
    "W2.object": 5_000,
    "W3": 4_000,
    "W3.slow": 1_000,
    "W3.object": 200,
    "W3.memory_object": 500,
    "W4": 4_000,
    "W4.slow": 500,
    "W4.object": 50,
    "W4.memory_object": 100,
    "W5": 2_000,
    "W5.engine": 500,
}


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` or return None when it does not exist (yet)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


Check = Callable[[Contender, Any], tuple[int | None, int | None, int]]


def measure(
    contenders: Sequence[Contender], repeats: int, check: Check
) -> tuple[dict[str, list[float]], dict[str, tuple[int | None, int | None, int]]]:
    """Time every contender ``repeats`` times, interleaved; check each first output.

    Interleaving (A B C, A B C, ...) spreads slow drifts of the machine over
    all contenders.  Outputs are checked as soon as they exist and dropped,
    so only one is alive at a time.  The inputs and references built before
    are frozen out of the garbage collector's scans (``gc.freeze``); the
    collector stays on for the contender's own allocations, as in real use.
    """
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    checks: dict[str, tuple[int | None, int | None, int]] = {}
    gc.collect()
    gc.freeze()
    try:
        for rep in range(repeats):
            for c in contenders:
                if c.setup is not None:
                    c.setup()
                gc.collect()
                t0 = time.perf_counter()
                out = c.run()
                times[c.name].append(time.perf_counter() - t0)
                if rep == 0:
                    checks[c.name] = check(c, out)
                del out
    finally:
        gc.unfreeze()
    return times, checks


def rows_from(
    workload: str,
    case: str,
    contenders: Sequence[Contender],
    timed: dict[str, list[float]],
    checks: dict[str, tuple[int | None, int | None, int]],
) -> list[Row]:
    """Build table rows; ``checks[name] = (bad, differ, rows checked)``."""
    floor_per_item: float | None = None
    for c in contenders:
        if c.kind == "floor":
            floor_per_item = statistics.median(timed[c.name]) / c.n
    rows = []
    for c in contenders:
        times = timed[c.name]
        med = statistics.median(times)
        bad, differ, checked = checks.get(c.name, (None, None, 0))
        ratio = floor_per_item / (med / c.n) if floor_per_item and med > 0 else None
        rows.append(
            Row(workload, case, c.name, c.kind, c.n, med, times, c.n / med if med else 0.0,
                ratio, bad, differ, checked, c.note)
        )
    return rows


def run_case(
    workload: str,
    case: str,
    contenders: Sequence[Contender],
    cfg: Config,
    check: Check,
) -> list[Row]:
    """Time ``contenders`` and check each first output with ``check``.

    A contender whose ``requires`` module is not installed gets an n/a row.
    """
    missing = [c for c in contenders if c.requires and optional_module(c.requires) is None]
    present = [c for c in contenders if c not in missing]
    t0 = time.perf_counter()
    timed, checks = measure(present, cfg.repeats, check)
    print(f"  {workload} {case}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows_from(workload, case, present, timed, checks) + [
        unavailable(workload, case, c.name, f"{c.requires} not installed "
                    "(pip install -e '.[bench]')") for c in missing
    ]


def unavailable(workload: str, case: str, name: str, why: str) -> Row:
    return Row(workload, case, name, "n/a", note=why)


# ---------------------------------------------------------------- W1 split

PARTS = 12


def _w1_inputs(
    n: int, rng: random.Random, low: int, high: int
) -> tuple[list[int], list[list[int]]]:
    totals = [rng.randint(low, high) for _ in range(n)]
    weights = [[rng.randint(1, 100) for _ in range(PARTS)] for _ in range(n)]
    return totals, weights


def floor_split_equal(totals: Sequence[int], n: int) -> list[list[int]]:
    """Floor: equal split, extra units to the first parts (non-negative totals)."""
    out: list[list[int]] = []
    append = out.append
    for t in totals:
        q, r = divmod(t, n)
        append([q + 1] * r + [q] * (n - r))
    return out


def floor_split_rows(
    totals: Sequence[int], weight_rows: Sequence[Sequence[int]]
) -> list[list[int]]:
    """Floor: largest remainder inlined with locals (non-negative totals).

    Ties go to the lowest index: ``sorted(..., reverse=True)`` is stable.
    """
    out: list[list[int]] = []
    append = out.append
    for t, ws in zip(totals, weight_rows, strict=False):
        s = sum(ws)
        parts = [t * w // s for w in ws]
        left = t - sum(parts)
        if left:
            rems = [t * w % s for w in ws]
            for i in sorted(range(len(ws)), key=rems.__getitem__, reverse=True)[:left]:
                parts[i] += 1
        append(parts)
    return out


def peer_half_up_last_absorbs(
    totals: Sequence[int], weight_rows: Sequence[Sequence[int]]
) -> list[list[int]]:
    """Hand-written convention: each part rounded half-up, the last takes the rest."""
    out: list[list[int]] = []
    for t, ws in zip(totals, weight_rows, strict=False):
        s2 = 2 * sum(ws)
        parts = [(2 * t * w + s2 // 2) // s2 for w in ws[:-1]]
        parts.append(t - sum(parts))
        out.append(parts)
    return out


def peer_round_each(totals: Sequence[int], weight_rows: Sequence[Sequence[int]]) -> list[list[int]]:
    """Hand-written convention: each part rounded half-up on its own."""
    out: list[list[int]] = []
    for t, ws in zip(totals, weight_rows, strict=False):
        s2 = 2 * sum(ws)
        out.append([(2 * t * w + s2 // 2) // s2 for w in ws])
    return out


def peer_largest_remainder_pkg(
    totals: Sequence[int], weight_rows: Sequence[Sequence[int]]
) -> list[list[int]]:
    """The ``largest-remainder`` package (floats) on each row."""
    from largest_remainder import LargestRemainder

    rnd = LargestRemainder.round
    return [rnd([float(w) for w in ws], total=t)
            for t, ws in zip(totals, weight_rows, strict=False)]


def peer_apportionment(
    totals: Sequence[int], weight_rows: Sequence[Sequence[int]]
) -> list[list[int]]:
    """The ``apportionment`` package, Hamilton method with exact fractions."""
    from apportionment.methods import compute

    return [
        [int(x) for x in compute("largest_remainder", list(ws), t, fractions=True)]
        for t, ws in zip(totals, weight_rows, strict=False)
    ]


def _split_checker(
    totals: Sequence[int], reference: list[list[int]] | None
) -> Callable[[Contender, Any], tuple[int | None, int | None, int]]:
    def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
        rows = [[p.minor for p in r] for r in out] if c.kind == "ours-object" else out
        bad = sum(1 for t, r in zip(totals, rows, strict=False) if sum(r) != t or len(r) != PARTS)
        differ = None
        if reference is not None:
            differ = sum(1 for a, b in zip(reference, rows, strict=False) if a != b)
        return bad, differ, len(rows)

    return check


def w1_split(cfg: Config) -> list[Row]:
    """W1: split contract amounts into 12 milestone parts."""
    from milestonebill import bulk, money

    n = cfg.size("W1")
    n_conv = min(n, cfg.size("W1.conventions"))
    n_slow = min(n, cfg.size("W1.slow"))
    n_app = min(n, cfg.size("W1.apportionment"))
    n_app_small = max(8, n_app // 5)
    totals, weights = _w1_inputs(n, random.Random(SEED), 100, 10_000_000_00)  # 1.00..10M
    equal = [1] * PARTS
    equal_rows = [equal] * n
    usd = money.Currency.of("USD")
    money_totals = [money.Money.from_minor(t, usd) for t in totals[:n_slow]]

    def first(k: int) -> str:
        return f"first {k:,}"

    def peers(tot: list[int], rows: Sequence[Sequence[int]], k_conv: int, k_slow: int,
              k_app: int) -> list[Contender]:
        return [
            Contender("half-up each, last absorbs", "peer", k_conv,
                      lambda: peer_half_up_last_absorbs(tot[:k_conv], rows), first(k_conv)),
            Contender("half-up each, independent", "peer", k_conv,
                      lambda: peer_round_each(tot[:k_conv], rows), first(k_conv)),
            Contender("largest-remainder pkg (float)", "peer", k_slow,
                      lambda: peer_largest_remainder_pkg(tot[:k_slow], rows), first(k_slow),
                      requires="largest_remainder"),
            Contender("apportionment pkg (Fraction)", "peer", k_app,
                      lambda: peer_apportionment(tot[:k_app], rows), first(k_app),
                      requires="apportionment"),
        ]

    rows: list[Row] = []
    # -- equal weights: one weight list shared by all totals
    contenders = [
        Contender("floor (divmod, inlined)", "floor", n, lambda: floor_split_equal(totals, PARTS)),
        Contender("milestonebill allocate_many", "ours-bulk", n,
                  lambda: money.allocate_many(totals, equal)),
        Contender("milestonebill allocate(Money)", "ours-object", n_slow,
                  lambda: [money.allocate(m, equal) for m in money_totals], first(n_slow)),
        Contender("milestonebill bulk.allocate_each(Money)", "ours-object", n_slow,
                  lambda: bulk.allocate_each(money_totals, equal), first(n_slow)),
        *peers(totals, equal_rows, n_conv, n_slow, n_app_small),
    ]
    reference = money.allocate_many(totals, equal)
    rows += run_case("W1", "equal weights", contenders, cfg, _split_checker(totals, reference))
    del reference

    # -- random integer weights 1..100, one weight row per total
    contenders = [
        Contender("floor (largest remainder, inlined)", "floor", n,
                  lambda: floor_split_rows(totals, weights)),
        Contender("milestonebill allocate_rows", "ours-bulk", n,
                  lambda: money.allocate_rows(totals, weights)),
        Contender("milestonebill allocate(Money)", "ours-object", n_slow,
                  lambda: [money.allocate(m, ws) for m, ws in
                           zip(money_totals, weights, strict=False)], first(n_slow)),
        *peers(totals, weights, n_conv, n_slow, n_app),
    ]
    reference = money.allocate_rows(totals, weights)
    rows += run_case("W1", "random weights 1..100", contenders, cfg,
                     _split_checker(totals, reference))
    del reference

    # -- huge totals, 10^15 .. 10^17 minor units, random weights
    nh = cfg.size("W1.huge")
    htotals, hweights = _w1_inputs(nh, random.Random(SEED + 1), 10**15, 10**17)
    contenders = [
        Contender("floor (largest remainder, inlined)", "floor", nh,
                  lambda: floor_split_rows(htotals, hweights)),
        Contender("milestonebill allocate_rows", "ours-bulk", nh,
                  lambda: money.allocate_rows(htotals, hweights)),
        *peers(htotals, hweights, nh, nh, min(nh, n_app_small)),
    ]
    reference = money.allocate_rows(htotals, hweights)
    rows += run_case("W1", "huge totals 1e15..1e17", contenders, cfg,
                     _split_checker(htotals, reference))
    return rows


# ---------------------------------------------------------------- W2 proration


def _month_table(first_year: int, years: int) -> list[int]:
    """Ordinals of the first day of each month from ``first_year`` on."""
    return [date(y, m, 1).toordinal() for y in range(first_year, first_year + years)
            for m in range(1, 13)]


def anchored_ordinal(year: int, month: int, day: int) -> int:
    """Ordinal of ``day`` in (year, month), clamped to the month's last day."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1])).toordinal()


@dataclass
class W2Inputs:
    old: list[int]
    new: list[int]
    unused: list[int]  # days from the change to the period end
    whole: list[int]  # days in the billing period
    start: list[int]  # ordinals: period start, change date, period end
    change: list[int]
    end: list[int]


def _w2_inputs(n: int, rng: random.Random) -> W2Inputs:
    # Monthly plans anchored on a random day 1..31; the period is [anchor in
    # month m, anchor in month m+1); the price changes on a day strictly inside.
    periods = []
    for y in (2024, 2025, 2026):
        for m in range(1, 13):
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            for d in range(1, 32):
                periods.append((anchored_ordinal(y, m, d), anchored_ordinal(ny, nm, d)))
    inp = W2Inputs([], [], [], [], [], [], [])
    for _ in range(n):
        s, e = periods[rng.randrange(len(periods))]
        c = s + rng.randint(1, e - s - 1)
        inp.old.append(rng.randint(100, 500_000_00))
        inp.new.append(rng.randint(100, 500_000_00))
        inp.start.append(s)
        inp.change.append(c)
        inp.end.append(e)
        inp.unused.append(e - c)
        inp.whole.append(e - s)
    return inp


def floor_prorate(amounts: Sequence[int], used: Sequence[int], whole: Sequence[int]) -> list[int]:
    """Floor: ``round_half_up(a * u / w)`` for non-negative amounts, one comprehension."""
    return [(2 * a * u + w) // (2 * w) for a, u, w in zip(amounts, used, whole, strict=False)]


_NINE = Decimal("0.000000001")
_ONE = Decimal(1)


def peer_killbill(amounts: Sequence[int], used: Sequence[int], whole: Sequence[int]) -> list[int]:
    """Kill Bill convention: days fraction to 9 decimals half-up, then to the cent."""
    out = []
    for a, u, w in zip(amounts, used, whole, strict=False):
        frac = (Decimal(u) / Decimal(w)).quantize(_NINE, rounding=ROUND_HALF_UP)
        out.append(int((a * frac).quantize(_ONE, rounding=ROUND_HALF_UP)))
    return out


def w2_proration(cfg: Config) -> list[Row]:
    """W2: mid-period price changes; credit the unused old price, charge the new."""
    periods = optional_module("milestonebill.periods")
    from milestonebill import money

    n = cfg.size("W2")
    n_slow = min(n, cfg.size("W2.slow"))
    n_obj = min(n, cfg.size("W2.object"))
    inp = _w2_inputs(n, random.Random(SEED + 2))
    half_up = money.Rounding.HALF_UP

    def floor_run() -> tuple[list[int], list[int]]:
        return (floor_prorate(inp.old, inp.unused, inp.whole),
                floor_prorate(inp.new, inp.unused, inp.whole))

    def kb_run() -> tuple[list[int], list[int]]:
        return (peer_killbill(inp.old[:n_slow], inp.unused, inp.whole),
                peer_killbill(inp.new[:n_slow], inp.unused, inp.whole))

    contenders = [
        Contender("floor (integer comprehension)", "floor", n, floor_run),
        Contender("Kill Bill model (9 dp, Decimal)", "peer", n_slow, kb_run, f"first {n_slow:,}"),
    ]
    rows: list[Row] = []
    if periods is None or not hasattr(periods, "prorate_many"):
        rows.append(unavailable("W2", "monthly price change", "milestonebill prorate_many",
                                "milestonebill.periods.prorate_many not available"))
    else:
        pm = periods.prorate_many

        def bulk_run() -> tuple[list[int], list[int]]:
            return (pm(inp.old, inp.unused, inp.whole, rounding=half_up),
                    pm(inp.new, inp.unused, inp.whole, rounding=half_up))

        contenders.insert(1, Contender("milestonebill periods.prorate_many", "ours-bulk", n,
                                       bulk_run))
    fast = optional_module("milestonebill.bulk")
    if fast is not None:
        fpm = fast.prorate_many

        def fast_run() -> tuple[list[int], list[int]]:
            return (fpm(inp.old, inp.unused, inp.whole, rounding=half_up),
                    fpm(inp.new, inp.unused, inp.whole, rounding=half_up))

        contenders.insert(1, Contender("milestonebill bulk.prorate_many", "ours-bulk", n,
                                       fast_run))
    if periods is not None and hasattr(periods, "prorate"):
        usd = money.Currency.of("USD")
        basis = periods.DayCount.ACTUAL_OVER_PERIOD
        period_of = periods.Period
        prorate = periods.prorate
        fo = date.fromordinal
        dates = [(fo(s), fo(c), fo(e)) for s, c, e in
                 zip(inp.start[:n_obj], inp.change, inp.end, strict=False)]

        def object_run() -> list[tuple[int, int]]:
            out = []
            for (s, c, e), a, b in zip(dates, inp.old, inp.new, strict=False):
                whole = period_of(s, e)
                unused = period_of(c, e)
                credit = prorate(money.Money.from_minor(a, usd), unused, whole,
                                 basis=basis, rounding=half_up)
                charge = prorate(money.Money.from_minor(b, usd), unused, whole,
                                 basis=basis, rounding=half_up)
                out.append((credit.amount.minor, charge.amount.minor))
            return out

        contenders.insert(2, Contender("milestonebill prorate(Money, Period)", "ours-object",
                                       n_obj, object_run, f"first {n_obj:,}"))

    exact = floor_run()  # exact: integer half-up of the rational a*u/w
    ours: tuple[list[int], list[int]] | None = None
    reference = next((c for c in contenders if c.kind == "ours-bulk"), None)
    if reference is not None:
        ours = reference.run()

    def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
        if c.kind == "ours-object":
            credit = [x for x, _ in out]
            charge = [y for _, y in out]
        else:
            credit, charge = out
        bad = sum(1 for i in range(len(credit))
                  if credit[i] != exact[0][i] or charge[i] != exact[1][i])
        differ = None
        if ours is not None:
            differ = sum(1 for i in range(len(credit))
                         if credit[i] != ours[0][i] or charge[i] != ours[1][i])
        return bad, differ, len(credit)

    rows += run_case("W2", "monthly price change", contenders, cfg, check)
    return rows


# ---------------------------------------------------------------- W3 recognition

SERVICE_MONTHS = 36


def add_months_clamped(d: date, n: int, day: int | None = None) -> date:
    """``d`` plus ``n`` months on ``day`` (default ``d.day``), clamped to the month end."""
    i = d.year * 12 + d.month - 1 + n
    y, m = divmod(i, 12)
    return date(y, m + 1, min(day or d.day, calendar.monthrange(y, m + 1)[1]))


@dataclass
class W3Inputs:
    amounts: list[int]
    starts: list[date]
    ends: list[date]


def _w3_inputs(n: int, rng: random.Random) -> W3Inputs:
    first = date(2024, 1, 1).toordinal()
    inp = W3Inputs([], [], [])
    for _ in range(n):
        start = date.fromordinal(first + rng.randrange(3 * 365))
        inp.amounts.append(rng.randint(1_000_00, 1_000_000_00))
        inp.starts.append(start)
        inp.ends.append(add_months_clamped(start, SERVICE_MONTHS))
    return inp


def month_firsts(lo: int, hi: int) -> list[int]:
    """Ordinals of the 1st of each month, month index ``lo`` .. ``hi`` inclusive."""
    return [date(i // 12, i % 12 + 1, 1).toordinal() for i in range(lo, hi + 1)]


def floor_straight_line(inp: W3Inputs) -> list[list[int]]:
    """Floor: cumulative day-accurate targets, rounded half-up, differenced."""
    idx = [d.year * 12 + d.month - 1 for d in inp.starts]
    lo = min(idx)
    firsts = month_firsts(lo, max(d.year * 12 + d.month for d in inp.ends))
    out: list[list[int]] = []
    append = out.append
    for a, sd, ed, i in zip(inp.amounts, inp.starts, inp.ends, idx, strict=True):
        s = sd.toordinal()
        e = ed.toordinal()
        t = e - s
        t2 = 2 * t
        j = i - lo + 1
        elapsed = [f - s for f in firsts[j:bisect_left(firsts, e, j)]]
        elapsed.append(t)
        cum = [(2 * a * d + t) // t2 for d in elapsed]
        append(list(map(sub, cum, [0, *cum])))
    return out


def _pieces(inp: W3Inputs) -> list[list[tuple[date, date]]]:
    """Calendar-month pieces ``[a, b)`` of each service period."""
    out = []
    for s, e in zip(inp.starts, inp.ends, strict=True):
        pieces = []
        a = s
        while a < e:
            b = min(add_months_clamped(a.replace(day=1), 1), e)
            pieces.append((a, b))
            a = b
        out.append(pieces)
    return out


def _days_30e_360(a: date, b: date) -> int:
    return (b.year - a.year) * 360 + (b.month - a.month) * 30 + min(b.day, 30) - min(a.day, 30)


def _plug(parts: list[int], total: int, first: bool) -> list[int]:
    k = 0 if first else len(parts) - 1
    parts[k] += total - sum(parts)
    return parts


def peer_recognition(inp: W3Inputs, convention: str, first_plug: bool) -> list[list[int]]:
    """Reference models: each period rounded on its own, one period takes the plug.

    ``day``: amount x days in the month / days of service, half-up;
    ``30day``: the same on 30E/360 days; ``fullmonth``: amount / 36 in each
    of the first 36 calendar months (a trailing partial month gets 0).
    """
    out = []
    for a, ps in zip(inp.amounts, _pieces(inp), strict=True):
        if convention == "fullmonth":
            monthly = (2 * a + SERVICE_MONTHS) // (2 * SERVICE_MONTHS)
            parts = [monthly] * SERVICE_MONTHS + [0] * (len(ps) - SERVICE_MONTHS)
            k = 0 if first_plug else SERVICE_MONTHS - 1
            parts[k] += a - monthly * SERVICE_MONTHS
            out.append(parts)
            continue
        if convention == "day":
            days = [(b - x).days for x, b in ps]
        else:
            days = [_days_30e_360(x, b) for x, b in ps]
        t = sum(days)
        out.append(_plug([(2 * a * d + t) // (2 * t) for d in days], a, first_plug))
    return out


def w3_recognition(cfg: Config) -> list[Row]:
    """W3: straight-line recognition, 36 months, random start days."""
    bulk = optional_module("milestonebill.bulk")
    recognition = optional_module("milestonebill.recognition")
    from milestonebill import money

    n = cfg.size("W3")
    n_slow = min(n, cfg.size("W3.slow"))
    n_obj = min(n, cfg.size("W3.object"))
    inp = _w3_inputs(n, random.Random(SEED + 3))
    sub_inp = W3Inputs(inp.amounts[:n_slow], inp.starts[:n_slow], inp.ends[:n_slow])
    contenders = [Contender("floor (cumulative, inlined)", "floor", n,
                            lambda: floor_straight_line(inp))]
    rows: list[Row] = []
    if bulk is not None and hasattr(bulk, "straight_line_many"):
        slm = bulk.straight_line_many
        contenders.append(Contender("milestonebill bulk.straight_line_many", "ours-bulk", n,
                                    lambda: slm(inp.amounts, inp.starts, inp.ends)))
    else:
        rows.append(unavailable("W3", "36 months", "milestonebill bulk.straight_line_many",
                                "not available"))
    if recognition is not None and hasattr(recognition, "recognise_straight_line"):
        from milestonebill.periods import Period

        rsl = recognition.recognise_straight_line
        usd = money.Currency.of("USD")

        def object_run() -> list[list[int]]:
            return [[m.minor for m in rsl(money.Money.from_minor(a, usd), Period(s, e)).amounts()]
                    for a, s, e in zip(inp.amounts[:n_obj], inp.starts, inp.ends, strict=False)]

        contenders.append(Contender("milestonebill recognise_straight_line", "ours-object",
                                    n_obj, object_run, f"first {n_obj:,}"))
    else:
        rows.append(unavailable("W3", "36 months", "milestonebill recognise_straight_line",
                                "milestonebill.recognition not available"))
    for conv, label in (("day", "day-based"), ("30day", "30-day month"),
                        ("fullmonth", "full month")):
        for first_plug in (False, True):
            name = f"{label}, {'first' if first_plug else 'last'}-period plug"
            contenders.append(Contender(name, "peer", n_slow,
                                        functools.partial(peer_recognition, sub_inp, conv,
                                                          first_plug),
                                        f"first {n_slow:,}"))
    ours = next((c for c in contenders if c.kind == "ours-bulk"), None)
    reference = ours.run() if ours else None

    def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
        bad = sum(1 for a, r in zip(inp.amounts, out, strict=False) if sum(r) != a)
        differ = None
        if reference is not None:
            differ = sum(1 for x, y in zip(reference, out, strict=False) if x != y)
        return bad, differ, len(out)

    rows += run_case("W3", "36 months", contenders, cfg, check)
    return rows


# ---------------------------------------------------------------- W4 recurring

INVOICES = 60
UPLIFT_PERCENT = 3


@dataclass
class W4Inputs:
    starts: list[date]
    anchors: list[int]
    amounts: list[int]


def _w4_inputs(n: int, rng: random.Random) -> W4Inputs:
    inp = W4Inputs([], [], [])
    for _ in range(n):
        anchor = rng.choice((28, 29, 30, 31))
        y, m = rng.randint(2024, 2026), rng.randint(1, 12)
        inp.starts.append(date(y, m, min(anchor, calendar.monthrange(y, m)[1])))
        inp.anchors.append(anchor)
        inp.amounts.append(rng.randint(100_00, 50_000_00))
    return inp


def floor_recurring(inp: W4Inputs) -> tuple[list[list[date]], list[list[int]]]:
    """Floor: shared date objects sliced from per-anchor tables; integer uplifts."""
    idx = [d.year * 12 + d.month - 1 for d in inp.starts]
    lo, hi = min(idx), max(idx) + INVOICES - 1
    tables = {}
    for a in set(inp.anchors):
        tables[a] = [date(i // 12, i % 12 + 1, min(a, calendar.monthrange(i // 12, i % 12 + 1)[1]))
                     for i in range(lo, hi + 1)]
    dates = [tables[a][i - lo:i - lo + INVOICES] for a, i in zip(inp.anchors, idx, strict=True)]
    years = INVOICES // 12
    amounts: list[list[int]] = []
    append = amounts.append
    for base in inp.amounts:
        p = base
        row = [p] * 12
        for _ in range(years - 1):
            p = (2 * p * (100 + UPLIFT_PERCENT) + 100) // 200
            row += [p] * 12
        append(row)
    return dates, amounts


_CENT = Decimal("0.01")
_UPLIFT = 1 + Decimal(UPLIFT_PERCENT) / 100


def _decimal_amounts(base_minor: int) -> list[int]:
    price = Decimal(base_minor) / 100
    out = []
    for k in range(INVOICES):
        if k and k % 12 == 0:
            price = (price * _UPLIFT).quantize(_CENT, rounding=ROUND_HALF_UP)
        out.append(int(price * 100))
    return out


def peer_rrule(inp: W4Inputs, n: int) -> tuple[list[list[date]], list[list[int]]]:
    """dateutil.rrule: monthly on the last of the days 28..anchor that exist; Decimal prices."""
    from dateutil.rrule import MONTHLY, rrule

    dates = []
    for s, a in zip(inp.starts[:n], inp.anchors, strict=False):
        rule = rrule(MONTHLY, dtstart=s, count=INVOICES,
                     bymonthday=[d for d in (28, 29, 30, 31) if d <= a], bysetpos=-1)
        dates.append([dt.date() for dt in rule])
    return dates, [_decimal_amounts(p) for p in inp.amounts[:n]]


def peer_relativedelta(inp: W4Inputs, n: int) -> tuple[list[list[date]], list[list[int]]]:
    """Accumulated ``relativedelta(months=1)`` (drifts after a short month); Decimal prices."""
    from dateutil.relativedelta import relativedelta

    step = relativedelta(months=1)
    dates = []
    for s in inp.starts[:n]:
        row = [s]
        d = s
        for _ in range(INVOICES - 1):
            d = d + step
            row.append(d)
        dates.append(row)
    return dates, [_decimal_amounts(p) for p in inp.amounts[:n]]


def w4_recurring(cfg: Config) -> list[Row]:
    """W4: 60 monthly invoices per agreement, 3% yearly uplift, month-end anchors."""
    bulk = optional_module("milestonebill.bulk")
    schedule = optional_module("milestonebill.schedule")
    from milestonebill import money

    n = cfg.size("W4")
    n_slow = min(n, cfg.size("W4.slow"))
    n_obj = min(n, cfg.size("W4.object"))
    inp = _w4_inputs(n, random.Random(SEED + 4))
    contenders = [Contender("floor (date tables, integer uplift)", "floor", n,
                            lambda: floor_recurring(inp))]
    rows: list[Row] = []
    if bulk is not None and hasattr(bulk, "monthly_invoices_many"):
        mim = bulk.monthly_invoices_many
        contenders.append(Contender(
            "milestonebill bulk.monthly_invoices_many", "ours-bulk", n,
            lambda: mim(inp.starts, inp.amounts, count=INVOICES, anchor_days=inp.anchors,
                        yearly_percent=UPLIFT_PERCENT)))
    else:
        rows.append(unavailable("W4", "60 invoices", "milestonebill bulk.monthly_invoices_many",
                                "not available"))
    if schedule is not None and hasattr(schedule, "RecurringCharge"):
        usd = money.Currency.of("USD")
        uplift = schedule.Escalation(percent=Decimal(UPLIFT_PERCENT))
        monthly = schedule.Interval.MONTHLY
        rc = schedule.RecurringCharge
        item = schedule.ItemId("retainer")

        def object_run() -> tuple[list[list[date]], list[list[int]]]:
            dates, amounts = [], []
            for s, a, p in zip(inp.starts[:n_obj], inp.anchors, inp.amounts, strict=False):
                charges = list(rc(item, "Retainer", money.Money.from_minor(p, usd), monthly,
                                  start=s, anchor_day=a, count=INVOICES,
                                  escalations=(uplift,)).charges())
                dates.append([c.on for c in charges])
                amounts.append([c.amount.minor for c in charges])
            return dates, amounts

        contenders.append(Contender("milestonebill RecurringCharge.charges()", "ours-object",
                                    n_obj, object_run, f"first {n_obj:,}"))
    else:
        rows.append(unavailable("W4", "60 invoices", "milestonebill RecurringCharge",
                                "milestonebill.schedule not available"))
    contenders += [
        Contender("dateutil.rrule + Decimal", "peer", n_slow, lambda: peer_rrule(inp, n_slow),
                  f"first {n_slow:,}"),
        Contender("accumulated relativedelta + Decimal", "peer", n_slow,
                  lambda: peer_relativedelta(inp, n_slow), f"first {n_slow:,}"),
    ]
    floor_out = floor_recurring(inp)  # checked against the object API in tests/unit/test_bulk.py
    ours = next((c for c in contenders if c.kind == "ours-bulk"), None)
    reference = ours.run() if ours else None

    def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
        dates, amounts = out
        # invariant: 60 invoices, anchor-clamped dates, price steps only on anniversaries
        bad = 0
        for k, (ds, am) in enumerate(zip(dates, amounts, strict=False)):
            if (len(ds) != INVOICES or ds != floor_out[0][k] or am != floor_out[1][k]):
                bad += 1
        differ = None
        if reference is not None:
            differ = sum(1 for k in range(len(dates))
                         if dates[k] != reference[0][k] or amounts[k] != reference[1][k])
        return bad, differ, len(dates)

    rows += run_case("W4", "60 monthly invoices", contenders, cfg, check)
    return rows


# ---------------------------------------------------------------- W5 billing run

MILESTONES = 12
COMPLETING = 0.10
W5_AS_OF = date(2026, 1, 5)


@dataclass
class W5Seed:
    """A closed SQLite store with signed agreements and recorded completions."""

    path: Path
    completed: dict[str, list[tuple[int, int]]]  # agreement -> [(milestone, minor)]

    @property
    def invoices(self) -> int:
        return len(self.completed)  # the Biller bills an agreement's completions together

    @property
    def revenue(self) -> int:
        return sum(amount for done in self.completed.values() for _, amount in done)


def _w5_seed(n: int, path: Path) -> W5Seed:
    """Open ``n`` agreements of 12 milestones through the Biller; complete ~10%."""
    from datetime import UTC, datetime

    from milestonebill.agreement import (
        AgreementId,
        PackageOption,
        PaymentMethodKind,
        PaymentMethodRef,
        Proposal,
        ProposalId,
        apply,
        complete_milestone,
        sign,
    )
    from milestonebill.clock import FixedClock
    from milestonebill.engine import Biller, FirmId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.money import Currency, Money, allocate_many
    from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
    from milestonebill.stores.sqlite import SQLiteStore

    rng = random.Random(SEED + 5)
    usd = Currency.of("USD")
    fees = [rng.randint(10_000_00, 2_000_000_00) for _ in range(n)]
    parts = allocate_many(fees, [1] * MILESTONES)
    signed_at = datetime(2026, 1, 2, 9, tzinfo=UTC)
    done_at = datetime(2026, 1, 4, 9, tzinfo=UTC)
    clock = FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    card = PaymentMethodRef("memory", "cus_bench", "pm_bench", PaymentMethodKind.CARD)
    completed: dict[str, list[tuple[int, int]]] = {}
    with SQLiteStore(path, clock=clock) as store:
        biller = Biller(store, InMemoryGateway(), clock=clock, firm_id=FirmId("firm"))
        for a in range(n):
            plan = BillingSchedule(currency=usd, milestones=[
                Milestone(MilestoneId(f"m{m:02d}"), f"Milestone {m + 1}",
                          amount=Money.from_minor(parts[a][m], usd))
                for m in range(MILESTONES)])
            proposal = Proposal(ProposalId(f"p-{a:06d}"), f"Client {a}", usd,
                                (PackageOption("std", "Standard", plan),))
            agreement = biller.open(sign(proposal, option="std", signer="Sam", payment_method=card,
                                         agreement_id=AgreementId(f"agr-{a:06d}"),
                                         signed_at=signed_at))
            events = []
            for m in range(MILESTONES):
                if rng.random() < COMPLETING:
                    e = complete_milestone(agreement, MilestoneId(f"m{m:02d}"), by="Sam",
                                           at=done_at, evidence="accepted")
                    agreement = apply(agreement, e)
                    events.append(e)
                    completed.setdefault(agreement.id, []).append((m, parts[a][m]))
            if events:
                biller.record(agreement.id, events)
    return W5Seed(path, completed)


def _fresh_copy(seed: W5Seed, path: Path) -> None:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(seed.path, path)


def _ledger_check(path: Path, seed: W5Seed) -> tuple[int, int, int]:
    """(invoices, revenue credited in minor units, sum of all journal lines)."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        invoices = int(conn.execute("SELECT count(*) FROM invoices").fetchone()[0])
        revenue = -int(conn.execute("SELECT coalesce(sum(signed_minor), 0) FROM journal_lines "
                                    "WHERE account = 'revenue'").fetchone()[0])
        balance = int(conn.execute("SELECT coalesce(sum(signed_minor), 0) "
                                   "FROM journal_lines").fetchone()[0])
    finally:
        conn.close()
    return invoices, revenue, balance


def floor_billing_sql(seed: W5Seed, path: Path) -> int:
    """Floor: the rows a billing run writes, one ``executemany`` per table, one transaction.

    Per invoice: the invoice, three events (issued, attempted, succeeded),
    the attempt journal row, two notifications, two journal entries with two
    lines each, and the agreement's version; JSON payloads built with
    ``json.dumps``.  No reads, no checks, no gateway: the practical limit.
    """
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    on = W5_AS_OF.isoformat()
    at = f"{on}T09:00:00+00:00"
    invoices, events, attempts, notes, entries, lines, versions = [], [], [], [], [], [], []
    versions_now = dict(conn.execute("SELECT agreement_id, version FROM agreements"))
    for number, (agreement, done) in enumerate(sorted(seed.completed.items()), start=1):
        invoice = f"inv_{agreement}_{number:06d}"
        total = sum(amount for _, amount in done)
        money = {"amount": f"{total / 100:.2f}", "currency": "USD"}
        body = json.dumps({"invoice": {"id": invoice, "number": f"INV-{number:06d}",
                                       "lines": [{"item_id": f"m{m:02d}", "amount": a}
                                                 for m, a in done], "total": money}})
        v = versions_now[agreement]
        events += [
            (f"{agreement}:issued:{invoice}", agreement, v + 1, "InvoiceIssued", at, body),
            (f"{agreement}:attempt:{invoice}:1", agreement, v + 2, "ChargeAttempted", at,
             json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})),
            (f"{agreement}:paid:{invoice}:1", agreement, v + 3, "PaymentSucceeded", at,
             json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})),
        ]
        versions.append((v + 3, agreement))
        invoices.append((invoice, "firm", number, agreement,
                         json.dumps({"kind": "invoice", "total": money})))
        attempts.append((f"key-{invoice}-1", agreement, invoice, 1, total, "USD",
                         json.dumps({"status": "succeeded"})))
        notes += [(f"invoice.issued:{invoice}", agreement, "invoice.issued", body),
                  (f"payment.succeeded:{invoice}:1", agreement, "payment.succeeded", body)]
        for kind, debit, credit in (("issue", "receivable", "revenue"),
                                    ("payment:1", "clearing", "receivable")):
            entry = f"{invoice}:{kind}"
            entries.append((entry, on, "USD", agreement, kind, body))
            lines += [(entry, 0, debit, "USD", on, total), (entry, 1, credit, "USD", on, -total)]
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO invoice_counters VALUES ('firm', ?)", (len(invoices),))
    conn.executemany("INSERT INTO invoices (invoice_id, firm_id, number, agreement_id, payload) "
                     "VALUES (?, ?, ?, ?, ?)", invoices)
    conn.executemany("INSERT INTO events (event_id, agreement_id, version, type, effective_at, "
                     "payload) VALUES (?, ?, ?, ?, ?, ?)", events)
    conn.executemany("UPDATE agreements SET version = ? WHERE agreement_id = ?", versions)
    conn.executemany("INSERT INTO charge_attempts (key, agreement_id, invoice_id, attempt, "
                     "amount_minor, currency, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)", attempts)
    conn.executemany("INSERT INTO notifications (key, agreement_id, kind, payload) "
                     "VALUES (?, ?, ?, ?)", notes)
    conn.executemany("INSERT INTO journal_entries (entry_id, posted_on, currency, agreement_id, "
                     "memo, body) VALUES (?, ?, ?, ?, ?, ?)", entries)
    conn.executemany("INSERT INTO journal_lines (entry_id, line_no, account, currency, posted_on, "
                     "signed_minor) VALUES (?, ?, ?, ?, ?, ?)", lines)
    conn.execute("COMMIT")
    conn.close()
    return len(invoices)


def floor_billing_exactly_once(seed: W5Seed, path: Path) -> int:
    """Reference: the same rows, but in the three transactions exactly-once needs.

    Per invoice: (1) number, invoice, issued event, issue posting,
    notification; (2) the attempt journal row and its event, committed before
    the gateway would be called; (3) the outcome, payment event, payment
    posting, notification.  Plain ``execute`` calls, no reads beyond the
    counter: the limit for a design that commits before and after each charge.
    """
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    on = W5_AS_OF.isoformat()
    at = f"{on}T09:00:00+00:00"
    ex = conn.execute
    versions = dict(conn.execute("SELECT agreement_id, version FROM agreements"))
    ex("INSERT INTO invoice_counters VALUES ('firm', 0)")
    count = 0
    for number, (agreement, done) in enumerate(sorted(seed.completed.items()), start=1):
        invoice = f"inv_{agreement}_{number:06d}"
        total = sum(amount for _, amount in done)
        money = {"amount": f"{total / 100:.2f}", "currency": "USD"}
        body = json.dumps({"invoice": {"id": invoice, "number": f"INV-{number:06d}",
                                       "lines": [{"item_id": f"m{m:02d}", "amount": a}
                                                 for m, a in done], "total": money}})
        small = json.dumps({"invoice_id": invoice, "amount": money, "attempt": 1})
        v = versions[agreement]
        ex("BEGIN IMMEDIATE")
        ex("UPDATE invoice_counters SET last_number = ? WHERE firm_id = 'firm'", (number,))
        ex("INSERT INTO invoices (invoice_id, firm_id, number, agreement_id, payload) "
           "VALUES (?, 'firm', ?, ?, ?)", (invoice, number, agreement, small))
        ex("INSERT INTO events (event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES (?, ?, ?, 'InvoiceIssued', ?, ?)", (f"{invoice}:issued", agreement, v + 1, at,
                                                        body))
        for kind, debit, credit in (("issue", "receivable", "revenue"),):
            entry = f"{invoice}:{kind}"
            ex("INSERT INTO journal_entries (entry_id, posted_on, currency, agreement_id, memo, "
               "body) VALUES (?, ?, 'USD', ?, ?, ?)", (entry, on, agreement, kind, body))
            ex("INSERT INTO journal_lines VALUES (?, 0, ?, 'USD', ?, ?)", (entry, debit, on, total))
            ex("INSERT INTO journal_lines VALUES (?, 1, ?, 'USD', ?, ?)",
               (entry, credit, on, -total))
        ex("INSERT INTO notifications (key, agreement_id, kind, payload) VALUES (?, ?, ?, ?)",
           (f"invoice.issued:{invoice}", agreement, "invoice.issued", small))
        ex("COMMIT")
        ex("BEGIN IMMEDIATE")
        ex("INSERT INTO charge_attempts (key, agreement_id, invoice_id, attempt, amount_minor, "
           "currency) VALUES (?, ?, ?, 1, ?, 'USD')", (f"key-{invoice}-1", agreement, invoice,
                                                       total))
        ex("INSERT INTO events (event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES (?, ?, ?, 'ChargeAttempted', ?, ?)", (f"{invoice}:attempt:1", agreement, v + 2,
                                                          at, small))
        ex("COMMIT")
        ex("BEGIN IMMEDIATE")
        ex("UPDATE charge_attempts SET outcome = ? WHERE key = ?",
           ('{"status": "succeeded"}', f"key-{invoice}-1"))
        ex("INSERT INTO events (event_id, agreement_id, version, type, effective_at, payload) "
           "VALUES (?, ?, ?, 'PaymentSucceeded', ?, ?)", (f"{invoice}:paid:1", agreement, v + 3,
                                                           at, small))
        ex("UPDATE agreements SET version = ? WHERE agreement_id = ?", (v + 3, agreement))
        entry = f"{invoice}:payment:1"
        ex("INSERT INTO journal_entries (entry_id, posted_on, currency, agreement_id, memo, body) "
           "VALUES (?, ?, 'USD', ?, 'payment', ?)", (entry, on, agreement, small))
        ex("INSERT INTO journal_lines VALUES (?, 0, 'clearing', 'USD', ?, ?)", (entry, on, total))
        ex("INSERT INTO journal_lines VALUES (?, 1, 'receivable', 'USD', ?, ?)",
           (entry, on, -total))
        ex("INSERT INTO notifications (key, agreement_id, kind, payload) VALUES (?, ?, ?, ?)",
           (f"payment.succeeded:{invoice}:1", agreement, "payment.succeeded", small))
        ex("COMMIT")
        count += 1
    conn.close()
    return count


def w5_billing(cfg: Config) -> list[Row]:
    """W5: one Biller.run over agreements with 12 milestones, ~10% completed."""
    import tempfile

    engine = optional_module("milestonebill.engine")
    sqlite_store = optional_module("milestonebill.stores.sqlite")
    if engine is None or not hasattr(engine, "Biller") or sqlite_store is None:
        return [unavailable("W5", "billing run", "milestonebill Biller.run + SQLiteStore",
                            "not yet measurable: milestonebill.engine.Biller is not in the tree")]
    from datetime import UTC, datetime

    from milestonebill.clock import FixedClock
    from milestonebill.engine import Biller, FirmId
    from milestonebill.gateways.memory import InMemoryGateway
    from milestonebill.stores.sqlite import SQLiteStore

    n = min(cfg.size("W5"), cfg.size("W5.engine"))
    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        t0 = time.perf_counter()
        seed = _w5_seed(n, Path(tmp) / "seed.sqlite")
        seeding = time.perf_counter() - t0
        run_path = Path(tmp) / "run.sqlite"
        floor_path = Path(tmp) / "floor.sqlite"
        ref_path = Path(tmp) / "reference.sqlite"
        clock = FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
        live: dict[str, Any] = {}
        peaks: list[int] = []

        def setup_ours() -> None:
            _fresh_copy(seed, run_path)
            live["store"] = SQLiteStore(run_path, clock=clock)
            live["biller"] = Biller(live["store"], InMemoryGateway(), clock=clock,
                                    firm_id=FirmId("firm"))
            gc.collect()
            _reset_peak_rss()
            live["rss"] = _status_bytes("VmRSS")

        def run_ours() -> tuple[int, int, int]:
            summary = live["biller"].run(W5_AS_OF)
            peaks.append(_peak_rss_bytes() - live["rss"])
            live.pop("store").close()
            live.pop("biller")
            return len(summary.invoices), len(summary.charges), len(summary.problems)

        items = seed.invoices
        note = (f"{n:,} agreements x {MILESTONES} milestones, {seed.invoices:,} invoices "
                f"({sum(map(len, seed.completed.values())):,} completed milestones)")
        contenders = [
            Contender("floor (executemany per table, 1 transaction)", "floor", items,
                      lambda: floor_billing_sql(seed, floor_path), note,
                      setup=lambda: _fresh_copy(seed, floor_path)),
            Contender("reference (3 transactions per invoice, plain SQL)", "reference", items,
                      lambda: floor_billing_exactly_once(seed, ref_path), note,
                      setup=lambda: _fresh_copy(seed, ref_path)),
            Contender("milestonebill Biller.run (SQLite, in-memory gateway)", "ours", items,
                      run_ours, note, setup=setup_ours),
        ]

        def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
            path = {"floor": floor_path, "reference": ref_path}.get(c.kind, run_path)
            invoices, revenue, balance = _ledger_check(path, seed)
            bad = int(invoices != seed.invoices) + int(revenue != seed.revenue) + int(balance != 0)
            if c.kind == "ours":
                issued, charged, problems = out
                bad += int(issued != seed.invoices) + int(charged != seed.invoices) + problems
            return bad, None, invoices

        rows = run_case("W5", "billing run", contenders, cfg, check)
        mib = 1024 * 1024
        for r in rows:
            if r.kind == "ours":
                r.note += (f"; peak RSS +{statistics.median(peaks) / mib:.0f} MiB during the run;"
                           f" seeding the store took {seeding:.0f} s")
    return rows


# ---------------------------------------------------------------- memory

def _memory_w3_bulk(n: int) -> Callable[[], Any]:
    from milestonebill.bulk import straight_line_many

    inp = _w3_inputs(n, random.Random(SEED + 3))
    return lambda: straight_line_many(inp.amounts, inp.starts, inp.ends)


def _memory_w3_object(n: int) -> Callable[[], Any]:
    from milestonebill.money import Money
    from milestonebill.periods import Period
    from milestonebill.recognition import recognise_straight_line

    inp = _w3_inputs(n, random.Random(SEED + 3))
    return lambda: [recognise_straight_line(Money.from_minor(a, "USD"), Period(s, e))
                    for a, s, e in zip(inp.amounts, inp.starts, inp.ends, strict=True)]


def _memory_w4_bulk(n: int) -> Callable[[], Any]:
    from milestonebill.bulk import monthly_invoices_many

    inp = _w4_inputs(n, random.Random(SEED + 4))
    return lambda: monthly_invoices_many(inp.starts, inp.amounts, count=INVOICES,
                                         anchor_days=inp.anchors, yearly_percent=UPLIFT_PERCENT)


def _memory_w4_object(n: int) -> Callable[[], Any]:
    from milestonebill.money import Money
    from milestonebill.schedule import Escalation, Interval, ItemId, RecurringCharge

    inp = _w4_inputs(n, random.Random(SEED + 4))
    uplift = Escalation(percent=Decimal(UPLIFT_PERCENT))
    return lambda: [
        list(RecurringCharge(ItemId("retainer"), "Retainer", Money.from_minor(p, "USD"),
                             Interval.MONTHLY, start=s, anchor_day=a, count=INVOICES,
                             escalations=(uplift,)).charges())
        for s, a, p in zip(inp.starts, inp.anchors, inp.amounts, strict=True)
    ]


#: workload -> {key: (label, size key, prepare)}: ``prepare(n)`` makes the
#: inputs and returns ``build()``, which computes and returns the whole result.
MEMORY_CASES: dict[str, dict[str, tuple[str, str, Callable[[int], Callable[[], Any]]]]] = {
    "W3": {
        "bulk": ("bulk: list[int] per contract", "W3", _memory_w3_bulk),
        "object": ("object: RecognitionSchedule", "W3.memory_object", _memory_w3_object),
    },
    "W4": {
        "bulk": ("bulk: list[date] + list[int] per agreement", "W4", _memory_w4_bulk),
        "object": ("object: list[Charge]", "W4.memory_object", _memory_w4_object),
    },
}
MEMORY_WORKLOADS = MEMORY_CASES


def _status_bytes(field: str) -> int:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes, 0 if absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_rss_bytes() -> int:
    """Peak RSS of this process: VmHWM, else getrusage's ru_maxrss.

    ru_maxrss is only a fallback: on Linux a child started with fork+exec
    inherits the parent's high-water mark, so it overstates the child's peak.
    """
    hwm = _status_bytes("VmHWM")
    if hwm:
        return hwm
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def memory_child(spec: str) -> dict[str, Any]:
    """In a fresh interpreter: peak RSS and traced bytes of one representation."""
    import tracemalloc

    workload, rep, n_text, mode = spec.split(":")
    n = int(n_text)
    build = MEMORY_CASES[workload][rep][2](n)
    gc.collect()
    if mode == "trace":
        tracemalloc.start()
        out = build()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result = {"retained": current, "traced_peak": peak}
    else:
        before = _status_bytes("VmRSS")
        _reset_peak_rss()
        out = build()
        result = {"rss_before": before, "rss_after": _status_bytes("VmRSS"),
                  "rss_peak": _peak_rss_bytes()}
    del out
    print(json.dumps(result))
    return result


def _child(spec: str) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child", spec],
        capture_output=True, text=True, check=True, timeout=600,
    )
    data: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def memory_rows(workload: str, cfg: Config) -> list[Row]:
    """Peak RSS growth and retained size of each representation, in subprocesses."""
    rows = []
    for rep, (label, size_key, _) in MEMORY_CASES.get(workload, {}).items():
        n = cfg.size(size_key)
        try:
            rss = _child(f"{workload}:{rep}:{n}:rss")
            trace = _child(f"{workload}:{rep}:{n}:trace")
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            rows.append(unavailable(workload, "memory", label, f"failed: {exc}"))
            continue
        mib = 1024 * 1024
        rows.append(Row(
            workload, "memory", label, "memory", n,
            note=(f"peak RSS {rss['rss_peak'] / mib:.0f} MiB during the call (RSS "
                  f"{rss['rss_before'] / mib:.0f} -> {rss['rss_after'] / mib:.0f} MiB); "
                  f"result holds {trace['retained'] / mib:.1f} MiB "
                  f"({trace['retained'] / n:.0f} B/contract), traced peak "
                  f"{trace['traced_peak'] / mib:.1f} MiB"),
        ))
    return rows


# ---------------------------------------------------------------- driver

WORKLOADS: dict[str, Callable[[Config], list[Row]]] = {
    "W1": w1_split,
    "W2": w2_proration,
    "W3": w3_recognition,
    "W4": w4_recurring,
    "W5": w5_billing,
}


def machine() -> dict[str, str]:
    """Facts about the machine and interpreter, for the record."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(fh.readline().split()[1])
            ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "ram": ram,
    }


def _fmt_num(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.1f}"


def format_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table."""
    head = ("| workload | case | contender | kind | n | median s | items/s | floor/x "
            "| bad | differ | note |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        if r.kind == "n/a":
            lines.append(f"| {r.workload} | {r.case} | {r.contender} | n/a "
                         f"| | | | | | | {r.note} |")
            continue
        if r.kind == "memory":
            lines.append(f"| {r.workload} | {r.case} | {r.contender} | memory | {r.n:,} "
                         f"| | | | | | {r.note} |")
            continue
        ratio = "" if r.floor_ratio is None else f"{r.floor_ratio:.2f}"
        bad = "" if r.bad is None else f"{r.bad:,}"
        differ = "" if r.differ is None else f"{r.differ:,}"
        lines.append(
            f"| {r.workload} | {r.case} | {r.contender} | {r.kind} | {r.n:,} | {r.median_s:.3f} "
            f"| {_fmt_num(r.per_s)} | {ratio} | {bad} | {differ} | {r.note} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5, quick 3)")
    p.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2")
    p.add_argument("--json", dest="json_path", default=None, help="write results as JSON here")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--strict", action="store_true", help="stop on the first failing workload")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the selected workloads, print the table, return the results."""
    args = parse_args(argv)
    if args.memory_child:
        return memory_child(args.memory_child)
    cfg = Config(
        repeats=args.repeats if args.repeats else (3 if args.quick else 5),
        quick=args.quick,
        scale=args.scale,
        sizes=dict(QUICK_SIZES if args.quick else FULL_SIZES),
    )
    cfg_memory = not args.no_memory
    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}")
    info = machine()
    print(f"# milestonebill benchmarks: Python {info['python']}, {info['cpu']}, "
          f"{info['nproc']} CPUs, {info['ram']}; repeats={cfg.repeats}"
          f"{', quick' if cfg.quick else ''}", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    for name in selected:
        t0 = time.perf_counter()
        try:
            got = WORKLOADS[name](cfg)
        except Exception as exc:  # one broken workload must not hide the others
            if args.strict:
                raise
            got = [unavailable(name, "error", "harness", f"{type(exc).__name__}: {exc}")]
        if cfg_memory and name in MEMORY_WORKLOADS:
            got += memory_rows(name, cfg)
        rows += got
        print(f"\n## {name} ({time.perf_counter() - t0:.1f} s)\n", flush=True)
        print(format_table(got), flush=True)
    total = time.perf_counter() - started
    print(f"\ntotal {total:.1f} s", flush=True)
    result: dict[str, Any] = {
        "machine": info,
        "repeats": cfg.repeats,
        "quick": cfg.quick,
        "scale": cfg.scale,
        "seconds": total,
        "rows": [asdict(r) for r in rows],
    }
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()

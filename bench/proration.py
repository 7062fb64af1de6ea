"""W2: mid-period price changes; credit the unused old price, charge the new."""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType
from typing import Any

from bench.common import (
    SEED,
    Check,
    Config,
    Contender,
    Row,
    optional_module,
    run_case,
    unavailable,
)

__all__ = ["W2Inputs", "anchored_ordinal", "floor_prorate", "peer_killbill", "w2_proration"]

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


def _object_run(periods: ModuleType, inp: W2Inputs,
                n_obj: int) -> Callable[[], list[tuple[int, int]]]:
    """``prorate(Money, Period)`` on the first ``n_obj`` changes: (credit, charge) minor units."""
    from milestonebill import money

    half_up = money.Rounding.HALF_UP
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

    return object_run


def _bound_run(periods: ModuleType, inp: W2Inputs, n_obj: int,
               exact: tuple[list[int], list[int]]) -> Callable[[], list[tuple[int, int]]]:
    """What ``prorate``'s objects alone cost: per row the two ``Period``s and two ``Money``s
    a caller builds and two ``Proration``s with their ``Money``, built unchecked from the
    answers worked out beforehand (nothing computed, nothing checked): the object API's
    bound."""
    from fractions import Fraction

    from milestonebill import money
    from milestonebill._trusted import constructor

    usd = money.Currency.of("USD")
    from_minor = money.Money.from_minor
    make_money, make_proration = constructor(money.Money), constructor(periods.Proration)
    basis, half_up = periods.DayCount.ACTUAL_OVER_PERIOD, money.Rounding.HALF_UP
    period_of = periods.Period
    fo = date.fromordinal
    rows = [(fo(s), fo(c), fo(e), a, b, x, y, Fraction(u, w)) for s, c, e, a, b, x, y, u, w in
            zip(inp.start[:n_obj], inp.change, inp.end, inp.old, inp.new, exact[0], exact[1],
                inp.unused, inp.whole, strict=False)]

    def bound_run() -> list[tuple[int, int]]:
        out = []
        for s, c, e, a, b, x, y, share in rows:
            whole, unused = period_of(s, e), period_of(c, e)
            from_minor(a, usd), from_minor(b, usd)
            credit = make_proration(make_money(x, usd), share, basis, half_up, unused, whole)
            charge = make_proration(make_money(y, usd), share, basis, half_up, unused, whole)
            out.append((credit.amount.minor, charge.amount.minor))
        return out

    return bound_run


def _checker(exact: tuple[list[int], list[int]],
             ours: tuple[list[int], list[int]] | None) -> Check:
    """Bad: differs from the exact half-up answer; differ: from milestonebill's bulk one."""
    def check(c: Contender, out: Any) -> tuple[int | None, int | None, int]:
        if c.kind in ("ours-object", "bound"):
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

    return check


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
        contenders.insert(2, Contender("milestonebill prorate(Money, Period)", "ours-object",
                                       n_obj, _object_run(periods, inp, n_obj),
                                       f"first {n_obj:,}"))

    exact = floor_run()  # exact: integer half-up of the rational a*u/w
    if periods is not None and hasattr(periods, "Proration") \
            and optional_module("milestonebill._trusted") is not None:
        contenders.insert(3, Contender("bound: prorate()'s objects, nothing computed", "bound",
                                       n_obj, _bound_run(periods, inp, n_obj, exact),
                                       f"first {n_obj:,}; see the W2 analysis"))
    ours: tuple[list[int], list[int]] | None = None
    reference = next((c for c in contenders if c.kind == "ours-bulk"), None)
    if reference is not None:
        ours = reference.run()

    rows += run_case("W2", "monthly price change", contenders, cfg, _checker(exact, ours))
    return rows

"""W4: 60 monthly invoices per agreement, a 3 % yearly uplift, month-end anchors."""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.common import SEED, Config, Contender, Row, optional_module, run_case, unavailable

__all__ = [
    "INVOICES",
    "UPLIFT_PERCENT",
    "W4Inputs",
    "floor_recurring",
    "peer_relativedelta",
    "peer_rrule",
    "w4_inputs",
    "w4_recurring",
]

INVOICES = 60
UPLIFT_PERCENT = 3


@dataclass
class W4Inputs:
    starts: list[date]
    anchors: list[int]
    amounts: list[int]


def w4_inputs(n: int, rng: random.Random) -> W4Inputs:
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
    inp = w4_inputs(n, random.Random(SEED + 4))
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

    case_rows = run_case("W4", "60 monthly invoices", contenders, cfg, check)
    _note_ratio_to_rrule(case_rows)
    return rows + case_rows


def _note_ratio_to_rrule(rows: list[Row]) -> None:
    """Issue #17's target for the object API: at least twice dateutil.rrule's speed."""
    ours = next((r for r in rows if r.kind == "ours-object" and r.per_s), None)
    rrule = next((r for r in rows if r.contender.startswith("dateutil.rrule") and r.per_s),
                 None)
    if ours is not None and rrule is not None:
        ratio = ours.per_s / rrule.per_s
        ours.note = (f"{ours.note}; {ratio:.2f}x dateutil.rrule in this run "
                     f"(target >= 2x: {'met' if ratio >= 2 else 'not met'})")

"""W3: straight-line revenue recognition over 36 months, random start days."""

from __future__ import annotations

import calendar
import functools
import random
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from operator import sub
from typing import Any

from bench.common import SEED, Config, Contender, Row, optional_module, run_case, unavailable

__all__ = [
    "SERVICE_MONTHS",
    "W3Inputs",
    "add_months_clamped",
    "floor_straight_line",
    "month_firsts",
    "peer_recognition",
    "w3_inputs",
    "w3_recognition",
]

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


def w3_inputs(n: int, rng: random.Random) -> W3Inputs:
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
    inp = w3_inputs(n, random.Random(SEED + 3))
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

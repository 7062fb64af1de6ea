"""W1: split contract amounts into 12 milestone parts (equal weights, random
weights, huge totals)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import SEED, Config, Contender, Row, run_case

__all__ = [
    "PARTS",
    "floor_split_equal",
    "floor_split_rows",
    "peer_apportionment",
    "peer_half_up_last_absorbs",
    "peer_largest_remainder_pkg",
    "peer_round_each",
    "w1_split",
]

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


def _first(k: int) -> str:
    return f"first {k:,}"


def _peers(tot: list[int], rows: Sequence[Sequence[int]], k_conv: int, k_slow: int,
           k_app: int) -> list[Contender]:
    """The peers of one case, each on a prefix of the same inputs."""
    return [
        Contender("half-up each, last absorbs", "peer", k_conv,
                  lambda: peer_half_up_last_absorbs(tot[:k_conv], rows), _first(k_conv)),
        Contender("half-up each, independent", "peer", k_conv,
                  lambda: peer_round_each(tot[:k_conv], rows), _first(k_conv)),
        Contender("largest-remainder pkg (float)", "peer", k_slow,
                  lambda: peer_largest_remainder_pkg(tot[:k_slow], rows), _first(k_slow),
                  requires="largest_remainder"),
        Contender("apportionment pkg (Fraction)", "peer", k_app,
                  lambda: peer_apportionment(tot[:k_app], rows), _first(k_app),
                  requires="apportionment"),
    ]


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

    rows: list[Row] = []
    # -- equal weights: one weight list shared by all totals
    contenders = [
        Contender("floor (divmod, inlined)", "floor", n, lambda: floor_split_equal(totals, PARTS)),
        Contender("milestonebill allocate_many", "ours-bulk", n,
                  lambda: money.allocate_many(totals, equal)),
        Contender("milestonebill allocate(Money)", "ours-object", n_slow,
                  lambda: [money.allocate(m, equal) for m in money_totals], _first(n_slow)),
        Contender("milestonebill bulk.allocate_each(Money)", "ours-object", n_slow,
                  lambda: bulk.allocate_each(money_totals, equal), _first(n_slow)),
        *_peers(totals, equal_rows, n_conv, n_slow, n_app_small),
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
                           zip(money_totals, weights, strict=False)], _first(n_slow)),
        *_peers(totals, weights, n_conv, n_slow, n_app),
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
        *_peers(htotals, hweights, nh, nh, min(nh, n_app_small)),
    ]
    reference = money.allocate_rows(htotals, hweights)
    rows += run_case("W1", "huge totals 1e15..1e17", contenders, cfg,
                     _split_checker(htotals, reference))
    return rows

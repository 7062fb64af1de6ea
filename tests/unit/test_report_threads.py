"""Reports asked from several threads about the same agreement objects.

An agreement keeps what reports worked out from it (its billing facts, the
cash it brings per period of the last window asked about), so a service
that answers several requests at once shares those values between threads.
Each thread must still get exactly what it would get alone, whatever the
others ask meanwhile.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import attrs
import pytest

from milestonebill import reports as r
from milestonebill.agreement import Agreement
from milestonebill.periods import add_months
from milestonebill.reports import Cadence
from milestonebill.testing.firm import generated_firm


@pytest.fixture
def switching_often() -> Iterator[None]:
    """Threads switch every microsecond, so interleavings that are rare come often."""
    was = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(was)


def _firm() -> tuple[list[Agreement], date]:
    firm = generated_firm(30, months=10, seed=3)
    as_of = add_months(firm.start.replace(day=1), 6)
    return [a for a in firm.agreements() if a.signed_on <= as_of], as_of


Ask = Callable[[list[Agreement]], object]


def _wrong_from_threads(asks: list[Ask], agreements: list[Agreement], repeats: int
                        ) -> list[str]:
    """Eight threads, each asking one of ``asks`` ``repeats`` times of one shared set of
    agreement objects: what any of them got other than the same ask on fresh copies
    alone (an error raised in a thread, a ``KeyError`` say, counts as wrong)."""
    alone = [ask([attrs.evolve(a) for a in agreements]) for ask in asks]
    shared = [attrs.evolve(a) for a in agreements]  # one set of objects for every thread
    wrong: list[str] = []

    def run(k: int) -> None:
        try:
            for _ in range(repeats):
                if asks[k](shared) != alone[k]:
                    wrong.append(f"ask {k}")
        except Exception as exc:  # an error in a thread would otherwise only be printed
            wrong.append(f"ask {k}: {exc!r}")

    threads = [threading.Thread(target=run, args=(k % len(asks),)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wrong


@pytest.mark.usefixtures("switching_often")
def test_forecasts_of_other_windows_from_other_threads_give_each_its_own_answer() -> None:
    agreements, as_of = _firm()
    asks: list[Ask] = [
        lambda ags: list(r.cash_forecast(ags, as_of, periods=6)),
        lambda ags: list(r.cash_forecast(ags, as_of, periods=9)),
        lambda ags: list(r.cash_forecast(ags, as_of, periods=4, cadence=Cadence.WEEK)),
        lambda ags: list(r.expected_receipts(ags, as_of, through=add_months(as_of, 5))),
    ]
    assert _wrong_from_threads(asks, agreements, 40) == []


@pytest.mark.usefixtures("switching_often")
def test_mrr_over_many_months_and_a_few_dates_from_other_threads_give_each_its_own_answer(
) -> None:
    """An agreement keeps its MRR by date up to a bound, and forgets them all past it;
    a thread asking about 300 months makes it forget while others read."""
    agreements, as_of = _firm()
    start = add_months(as_of, -6)
    other = start + timedelta(days=15)  # 300 other month boundaries: each forgets the other's
    asks: list[Ask] = [
        lambda ags: list(r.monthly_movements(ags, start, 300)),
        lambda ags: list(r.monthly_movements(ags, other, 300)),
        lambda ags: list(r.mrr_movements(ags, start, as_of)),
        lambda ags: list(r.net_revenue_retention(ags, add_months(start, 1), as_of)),
    ]
    assert _wrong_from_threads(asks, agreements, 12) == []

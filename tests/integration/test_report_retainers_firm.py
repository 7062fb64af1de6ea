"""MRR ties out to the invoices of a generated firm, to the cent.

The generated firm's retainers are billed monthly in advance, escalate 3 %
on each anniversary, and are billed day by day by the Biller.  On the first
of every month, each agreement's MRR must be the recurring line of the
invoice that billed the service period covering that day (a prorated stub
would not be a monthly price, so it is left out), and no agreement may
have MRR without such an invoice or such an invoice without MRR.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date

import pytest

from milestonebill.agreement import Agreement
from milestonebill.documents import LineKind
from milestonebill.money import Money
from milestonebill.periods import add_months
from milestonebill.reports import mrr, mrr_movements, mrr_totals
from milestonebill.schedule import Interval, Timing
from milestonebill.testing.firm import Firm, generated_firm


@pytest.fixture(scope="module")
def firm() -> tuple[Firm, list[Agreement]]:
    f = generated_firm(60, months=18, seed=5)
    return f, f.agreements()


def month_starts(f: Firm) -> Iterator[date]:
    d = f.start.replace(day=1)
    while d <= f.through:
        yield d
        d = add_months(d, 1)


def billed_monthly_in_advance(a: Agreement) -> bool:
    return bool(a.recurring) and all(
        t.charge.interval == Interval.MONTHLY and t.charge.timing is Timing.IN_ADVANCE
        for t in a.recurring)


def invoiced_for(a: Agreement, d: date) -> tuple[Money | None, bool]:
    """(the recurring amount invoiced for the service period covering ``d``, whether
    a prorated stub covers it)."""
    lines = [ln for inv in a.invoices for ln in inv.lines
             if ln.kind is LineKind.RECURRING and ln.period is not None and d in ln.period]
    stub = any("prorated" in p for ln in lines for p in ln.provenance)
    full = [ln.amount for ln in lines if not any("prorated" in p for p in ln.provenance)]
    return (Money.total(full, currency=a.currency) if full else None), stub


def test_mrr_on_each_month_start_is_the_recurring_line_billed_for_that_day(
        firm: tuple[Firm, list[Agreement]]) -> None:
    f, agreements = firm
    retainers = [a for a in agreements if billed_monthly_in_advance(a)]
    assert len(retainers) >= 20
    compared, escalated = 0, 0
    for d in month_starts(f):
        reported = {r.agreement_id: r for r in mrr(retainers, d)}
        for a in retainers:
            invoiced, stub = invoiced_for(a, d)
            if stub:
                reported.pop(a.id, None)
                continue
            row = reported.pop(a.id, None)
            assert (row.mrr if row else None) == invoiced, (a.id, d)
            if row is not None:
                compared += 1
                escalated += row.price != a.recurring[0].charge.amount
        assert reported == {}, d
    assert compared >= 200
    assert escalated >= 20


def test_the_firms_movements_over_a_year_add_up_to_its_closing_mrr(
        firm: tuple[Firm, list[Agreement]]) -> None:
    _, agreements = firm
    start, end = date(2024, 6, 1), date(2025, 6, 1)
    moves = mrr_movements(agreements, start, end)
    closing = mrr_totals(mrr(agreements, end))[0].mrr
    opening = mrr_totals(mrr(agreements, start))[0].mrr
    total = Money.total((m.new + m.expansion - m.contraction - m.churn for m in moves),
                        currency="USD")
    assert opening + total == closing


def test_monthly_movements_are_the_month_by_month_totals_and_chain(
        firm: tuple[Firm, list[Agreement]]) -> None:
    from milestonebill.reports import MovementTotal, monthly_movements, movement_totals

    f, agreements = firm
    start = f.start.replace(day=1)
    months = 17  # the firm's whole life: anniversaries escalate in the second year
    by_month = list(monthly_movements(agreements, start, months))
    expected: list[MovementTotal] = []
    for i in range(months):
        expected.extend(movement_totals(
            mrr_movements(agreements, add_months(start, i), add_months(start, i + 1))))
    assert by_month == sorted(expected, key=lambda t: (t.start, t.opening.currency.code))
    assert any(t.new.minor for t in by_month)
    assert any(t.expansion.minor for t in by_month)
    for before, after in itertools.pairwise(by_month):
        if before.opening.currency == after.opening.currency and before.end == after.start:
            assert before.closing == after.opening
    last = by_month[-1]
    assert mrr_totals(mrr(agreements, last.end))[0].mrr == last.closing

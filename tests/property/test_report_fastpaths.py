"""The fast paths of the reports give exactly what the straightforward definitions give.

Reports reuse work: an agreement keeps its billing plan and cuts it at each
horizon, rewinds to a date instead of replaying its stream, keeps its
invoice balances and revenue model, and revenue and MRR are worked out for
many dates at once.  Inside :func:`~milestonebill._reference.reference_path`
every one of those places takes its plain definition instead.  Each test
here computes the same thing both ways -- the fast way twice, on agreements
that know nothing yet and again once they have kept what they worked out --
and compares every field of every row.  So an optimisation can never change
a number without a test failing.

Random engagements (milestones on completion or on a date, a deposit,
sometimes a monthly retainer with a yearly escalation or a quarterly charge
with a prorated stub, some open-ended; paid by card or sent as invoices)
live through random days: completions, re-pricing, recurring price changes
and ends, cancellation, billing runs, part payments and refunds.  A
generated firm adds the mix the benchmark uses.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from engagements import (
    EXAMPLES,
    START,
    both_ways,
    days,
    fields,
    fresh,
    lives,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill import reports as r
from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Collection,
    billing_plan,
    history,
    plan_pieces,
)
from milestonebill.agreement.columns import plan_columns
from milestonebill.agreement.plan import open_ended
from milestonebill.errors import InvalidTransitionError, ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import unbilled, unbilled_minor
from milestonebill.ledger import JournalEntry
from milestonebill.limits import EARLIEST_DATE, LATEST_DATE
from milestonebill.money import Money
from milestonebill.periods import DayCount, Period, add_months
from milestonebill.revenue import earned, earned_series
from milestonebill.schedule import (
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    RecurringCharge,
)
from milestonebill.testing.firm import generated_firm
from milestonebill.testing.scenarios import CARD, World, proposal

# ---------------------------------------------------------------- the parts


@EXAMPLES
@given(lives(), days)
def test_an_agreement_rewound_to_a_date_is_its_replay(a: Agreement, when: list[date]) -> None:
    b = fresh([a])[0]
    for d in when:
        if d < a.signed_on:
            with pytest.raises(InvalidTransitionError):
                history.as_of(b, d)
            continue
        assert fields(history.as_of(b, d)) == fields(a.as_of(d))
        assert fields(history.as_of(b, d)) == fields(a.as_of(d))  # kept, and still the same


@EXAMPLES
@given(lives(), days, st.randoms(use_true_random=False))
def test_the_plan_cut_at_any_horizon_is_the_plan_worked_out_there(
        a: Agreement, horizons: list[date], rnd: Any) -> None:
    b = fresh([a])[0]
    rnd.shuffle(horizons)
    for h in horizons:
        with reference_path():
            want, pieces = billing_plan(a, through=h), plan_pieces(a, through=h)
        assert billing_plan(b, through=h) == want
        assert plan_pieces(b, through=h) == pieces
    with reference_path():
        unending = open_ended(a)
    assert open_ended(b) is unending
    if not unending:
        with reference_path():
            want = billing_plan(a)
        assert billing_plan(b) == want


def _columns_of(a: Agreement, through: date) -> tuple[tuple[Any, ...], ...]:
    """The bulk plan's columns as the plan's pieces define them (a definition of its own)."""
    pieces = plan_pieces(a, through=through)
    return tuple(zip(*[(item.item_id, whole.toordinal(), item.period.start.toordinal(),
                        item.period.end.toordinal(), item.amount.minor, item.name)
                       for whole, item in pieces if item.period is not None], strict=True))


@EXAMPLES
@given(lives(), days, st.randoms(use_true_random=False))
def test_the_bulk_plan_is_the_plans_pieces_as_columns(
        a: Agreement, horizons: list[date], rnd: Any) -> None:
    b = fresh([a])[0]
    rnd.shuffle(horizons)
    for h in horizons:
        with reference_path():
            want = _columns_of(a, h)
            plain = plan_columns(a, through=h)
        got = plan_columns(b, through=h)
        cols = (got.item_ids, got.wholes, got.starts, got.ends, got.minors, got.names)
        assert (h, cols) == (h, want or ((),) * 6)
        assert got == plain


@st.composite
def charges(draw: st.DrawFn) -> RecurringCharge:
    """Recurring charges of every shape: stubs, ends, counts, cut last periods, escalations."""
    interval = draw(st.sampled_from([Interval.WEEKLY, Interval.MONTHLY, Interval.QUARTERLY,
                                     Interval.YEARLY, Interval.every(2, IntervalUnit.WEEK)]))
    start = START + timedelta(days=draw(st.integers(0, 400)))
    anchor = None if interval.months is None else draw(st.none() | st.integers(1, 31))
    end = draw(st.none() | st.integers(1, 1500).map(lambda n: start + timedelta(days=n)))
    escalations = draw(st.lists(st.builds(Escalation, percent=st.integers(1, 9).map(Decimal)),
                                max_size=2))
    return RecurringCharge(
        ItemId("r"), "R", Money.from_minor(draw(st.integers(0, 10**7)), "USD"), interval,
        start=start, anchor_day=anchor, end=end, count=draw(st.none() | st.integers(1, 40)),
        first_period_proration=DayCount.ACTUAL_OVER_PERIOD, escalations=escalations,
        final_period_proration=draw(st.none() | st.just(DayCount.ACTUAL_OVER_PERIOD)))


@EXAMPLES
@given(charges(), st.integers(0, 2000))
def test_a_charges_periods_in_minor_units_are_its_priced_periods(
        charge: RecurringCharge, days_after: int) -> None:
    before = START + timedelta(days=days_after)
    want = [(p.start, p.end, m.minor) for p, m, _text in itertools.takewhile(
        lambda t: t[0].start < before, charge.priced_periods())]
    assert list(charge.minor_periods(before)) == want


@EXAMPLES
@given(charges(), st.integers(0, 2000))
def test_a_charges_rate_periods_are_its_periods_at_the_price_on_their_start(
        charge: RecurringCharge, days_after: int) -> None:
    before = START + timedelta(days=days_after)
    want = [(p.start, p.end, charge.price_on(p.start).minor)
            for p in itertools.takewhile(lambda p: p.start < before, charge.periods())]
    assert list(charge.rate_periods(before)) == want


def test_a_rate_period_takes_an_escalation_dated_on_its_first_day() -> None:
    # A stub from the 15th, then periods from the 1st; +10 % from the second period's start.
    charge = RecurringCharge(
        ItemId("r"), "R", Money("1000.00", "USD"), Interval.MONTHLY, start=date(2026, 1, 15),
        anchor_day=1, first_period_proration=DayCount.ACTUAL_OVER_PERIOD,
        escalations=(Escalation(percent=Decimal(10), dates=(date(2026, 3, 1),)),))
    assert list(charge.rate_periods(date(2026, 3, 2))) == [
        (date(2026, 1, 15), date(2026, 2, 1), 100000),
        (date(2026, 2, 1), date(2026, 3, 1), 100000),
        (date(2026, 3, 1), date(2026, 4, 1), 110000)]


@EXAMPLES
@given(lives(), days)
def test_revenue_at_many_dates_is_revenue_at_each(a: Agreement, when: list[date]) -> None:
    with reference_path():
        want = [list(earned(a, d).items()) for d in when]
    b = fresh([a])[0]
    assert [list(e.items()) for e in earned_series(b, when)] == want
    assert [list(earned(b, d).items()) for d in when] == want


@given(lives(), days)
def test_unbilled_amounts_without_lines_are_the_lines_amounts(a: Agreement, when: list[date]
                                                              ) -> None:
    for through in when:
        with reference_path():
            want = [(u.billable_on, -u.line.amount.minor if u.credit else u.line.amount.minor)
                    for u in unbilled(fresh([a])[0], through=through)]
        b = fresh([a])[0]
        assert unbilled_minor(b, through=through) == want  # worked out without lines
        unbilled(b, through=through)
        assert unbilled_minor(b, through=through) == want  # read off the kept lines


@EXAMPLES
@given(lives(), st.integers(0, 40))
def test_mrr_month_by_month_over_long_spans_is_the_reference(a: Agreement, before: int) -> None:
    start = a.signed_on - timedelta(days=before)
    cold, warm, plain = both_ways(lambda ags: [
        list(r.monthly_movements(ags, start, 300)),  # more dates than an agreement keeps
        list(r.mrr_movements(ags, start, add_months(start, 7))),
        list(r.net_revenue_retention(ags, add_months(start, 3), add_months(start, 40)))], [a])
    assert cold == plain
    assert warm == plain


@EXAMPLES
@given(lives())
def test_invoice_balances_kept_with_the_agreement_are_the_sums(a: Agreement) -> None:
    b = fresh([a])[0]
    with reference_path():
        want = [(a.balance_of(i.id), a.net_paid(i.id)) for i in a.invoices]
    assert [(b.balance_of(i.id), b.net_paid(i.id)) for i in a.invoices] == want


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE),
       st.sampled_from([Interval.WEEKLY, Interval.MONTHLY, Interval.QUARTERLY, Interval.YEARLY,
                        Interval.every(5, IntervalUnit.WEEK)]),
       st.integers(1, 31), st.integers(1, 60))
def test_period_boundaries_are_each_counted_from_the_anchor(
        start: date, interval: Interval, day: int, n: int) -> None:
    charge = RecurringCharge(ItemId("r"), "R", Money("1.00", "USD"), interval, start=start,
                             anchor_day=None if interval.months is None else day,
                             first_period_proration=DayCount.ACTUAL_OVER_PERIOD)
    first = charge._first_boundary()
    got = list(itertools.islice(charge._boundaries(first), n))
    want: list[date] = []
    for k in range(1, n + 1):
        try:
            want.append(charge._boundary(first, k))
        except (ValidationError, OverflowError):
            break  # the calendar ends in year 9999
    assert got == want


# ---------------------------------------------------------------- the reports


def every_report(agreements: list[Agreement], entries: list[JournalEntry], as_of: date,
                 start: date, *, cadence: r.Cadence = r.Cadence.MONTH,
                 history_periods: int = 0) -> dict[str, list[Any]]:
    """Every report of :mod:`milestonebill.reports` on the agreements, as lists of rows."""
    ags = [a for a in agreements if a.signed_on <= as_of]
    if not ags:
        return {}
    first = start.replace(day=1)
    span = Period(first, add_months(first, 24))
    won = r.Scenario("won", [r.Signing(proposal([("audit", "2500.00")]), "std",
                                       as_of + timedelta(days=3), AgreementId("new-1"),
                                       payment_method=CARD)])
    window = {"periods": 18, "cadence": cadence, "history": history_periods,
              "assumptions": r.Assumptions(completion=r.CompletionAssumption(20))}
    mrr_rows = list(r.mrr(ags, as_of))
    moves = list(r.mrr_movements(ags, first, as_of))
    out: dict[str, list[Any]] = {
        "cash": list(r.cash_forecast(ags, as_of, **window)),  # type: ignore[arg-type]
        "billing": list(r.billing_revenue_forecast(ags, as_of, **window)),  # type: ignore[arg-type]
        "receipts": list(r.expected_receipts(ags, as_of, through=add_months(as_of, 18))),
        "aging": list(r.aging(ags, as_of)),
        "receivables": list(r.receivables(ags, as_of)),
        "leakage": list(r.leakage_audit(ags, as_of)),
        "mrr": mrr_rows,
        "mrr_totals": list(r.mrr_totals(mrr_rows)),
        "movements": moves,
        "movement_totals": list(r.movement_totals(moves)),
        "monthly": list(r.monthly_movements(ags, first, 24)),
        "nrr": list(r.net_revenue_retention(ags, first, as_of)),
        "positions": list(r.contract_positions(entries, as_of, ags[0].currency)),
        "rollforward": list(r.rollforward(entries, [Period.month(d.year, d.month) for d in (
            add_months(first, i) for i in range(24))], currency=ags[0].currency)),
        "remaining": [row for a in ags for row in r.remaining_obligations(a, as_of)],
        "schedule": [row for a in ags for row in r.revenue_schedule(a, span)],
        "statement": list(r.client_statement(ags, ags[0].proposal.client,
                                             Period(start, as_of + timedelta(days=1)))),
    }
    for measure in r.Measure:
        out[f"scenarios {measure.value}"] = list(r.compare_scenarios(
            ags, [won], as_of, measure=measure, **window))  # type: ignore[arg-type]
    return out


def _check(agreements: list[Agreement], entries: list[JournalEntry], as_of: date, start: date,
           **options: Any) -> None:
    cold, warm, plain = both_ways(
        lambda ags: every_report(ags, entries, as_of, start, **options), agreements)
    assert plain  # the reports ran: there is something to compare
    for name, rows in plain.items():
        assert (name, cold[name]) == (name, rows)
        assert (name, warm[name]) == (name, rows)


@EXAMPLES
@given(lives(), st.integers(0, 500))
def test_every_report_on_an_engagement_is_what_the_reference_path_gives(
        a: Agreement, after: int) -> None:
    as_of = a.signed_on + timedelta(days=after)
    _check([a], [], as_of, a.signed_on)


@pytest.fixture(scope="module")
def firm() -> tuple[list[Agreement], list[JournalEntry], date]:
    f = generated_firm(24, months=24, seed=7)
    return f.agreements(), f.store.entries(), f.start


@pytest.mark.parametrize(("months", "cadence", "history_periods"), [
    (3, r.Cadence.MONTH, 0), (12, r.Cadence.MONTH, 2), (12, r.Cadence.WEEK, 4),
    (20, r.Cadence.MONTH, 1)])
def test_every_report_on_a_generated_firm_is_what_the_reference_path_gives(
        firm: tuple[list[Agreement], list[JournalEntry], date], months: int,
        cadence: r.Cadence, history_periods: int) -> None:
    agreements, entries, start = firm
    _check(agreements, entries, add_months(start, months), start, cadence=cadence,
           history_periods=history_periods)


def test_balances_kept_with_the_agreement_count_write_offs() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "500.00")],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    inv = InvoiceId(w.complete("design").invoices[0].id)
    w.later(40)
    w.biller.record_payment(inv, Money("250.00", "USD"), reference="wire-1")
    a = w.biller.write_off(inv, Money("300.00", "USD"), reason="disputed hours, settled")
    with reference_path():
        want = (a.balance_of(inv), a.net_paid(inv))
    assert (fresh([a])[0].balance_of(inv), fresh([a])[0].net_paid(inv)) == want
    assert str(want[0]) == "450.00 USD"

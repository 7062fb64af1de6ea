"""The billing side's shortcuts give what their plain definitions give.

* a cut of the kept bulk plan (bisection over runs of ascending service
  periods, cuts kept per horizon) is :meth:`PlanColumns.cut`, the filter of
  every position, on columns of one or many runs;
* :func:`milestonebill._owed.due_by` read off what is owed to a later
  horizon (kept by the forecasts) is what is owed by the day itself, worked
  out by the reference path;
* the open balances the receivables, aging, leakage and forecasts read are
  the balances of every invoice that is not settled;
* the preparations and per-window cash sums kept with an agreement, asked
  again at other dates, assumptions and windows, and a credit alone on its
  day, give the reference path's forecasts.

The agreements are those of ``histories.lived`` and ``engagements.lives``
(shared with ``test_forecast_columns`` and ``test_report_fastpaths``:
amendments mid-way, pauses, refunds and credits, discounts, re-pricing, ends,
cancellation, part payments; USD, JPY, KWD).
"""

from __future__ import annotations

import gc
from datetime import date, timedelta
from typing import Any

import attrs
from engagements import EXAMPLES, START, lives
from histories import lived
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from milestonebill import reports as r
from milestonebill._owed import due_by, owed
from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ChangeMilestoneAmount,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
    Operation,
    billed_by_key,
)
from milestonebill.agreement.columns import PlanColumns, _Kept
from milestonebill.collection import RetryPolicy, collection_state
from milestonebill.gateways.memory import Scripted
from milestonebill.ids import InvoiceId
from milestonebill.money import Currency, Money
from milestonebill.periods import add_months
from milestonebill.reports._forecasting import DEFAULT_ASSUMPTIONS, prepare, receipt_rows
from milestonebill.reports._open import open_balances
from milestonebill.schedule import Interval, ItemId, MilestoneId, RecurringCharge
from milestonebill.testing.firm import generated_firm
from milestonebill.testing.scenarios import CARD, World, proposal
from milestonebill.testing.strategies import exponent_currencies


@st.composite
def columns(draw: st.DrawFn) -> PlanColumns:
    """Columns of one to four charges, each a run of ascending service-period starts."""
    rows: list[tuple[str, int, int, int, int, str]] = []
    for n in range(draw(st.integers(1, 4))):
        first = START.toordinal() + draw(st.integers(-40, 400))
        steps = draw(st.lists(st.integers(0, 95), max_size=30))
        day = first
        for step in steps:
            day += step
            rows.append((f"c{n}", day, day + draw(st.integers(0, 3)), day + 31,
                         draw(st.integers(1, 10**6)), f"Charge {n}"))
    if not rows:
        return PlanColumns((), (), (), (), (), ())
    ids, wholes, starts, ends, minors, names = zip(*rows, strict=True)
    return PlanColumns(ids, wholes, starts, ends, minors, names)


@EXAMPLES
@given(columns(), st.lists(st.integers(-60, 3000), max_size=12), st.randoms(use_true_random=False))
def test_a_cut_of_the_kept_columns_is_the_columns_filtered(
        cols: PlanColumns, offsets: list[int], rnd: Any) -> None:
    kept = _Kept(date.max, cols)
    # Each piece's own start and the days either side, then any day; each twice.
    days = [w + d for w in cols.wholes for d in (-1, 0, 1)]
    days += [START.toordinal() + n for n in offsets]
    rnd.shuffle(days)
    for n in [*days, *days]:
        through = date.fromordinal(n)
        assert (through, kept.cut(through)) == (through, cols.cut(through))


def _shift(d: date, days: int) -> date:
    """``d`` moved by ``days``, kept within the calendar."""
    return date.fromordinal(min(max(d.toordinal() + days, 1), date.max.toordinal()))


def _plain_due_by(a: Agreement, day: date) -> bool:
    with reference_path():
        o = owed(a, through=day)
    return bool(o.days) and o.days[0] <= day


@EXAMPLES
@given(st.data(), st.integers(-30, 500), st.integers(0, 800), st.integers(1, 400), st.booleans())
def test_due_by_a_day_read_off_a_later_horizon_is_due_by_that_day(
        data: st.DataObject, after: int, further: int, earlier: int, first: bool) -> None:
    a, today = lived(data)  # amendments, pauses, refunds, credits, discounts; USD, JPY, KWD
    day = max(a.signed_on, today + timedelta(days=after))
    if first:  # the first day something is billable, if anything is
        with reference_path():
            pending = owed(a, through=_shift(day, further)).days
        day = pending[0] if pending else day
    want = _plain_due_by(a, day)
    event(f"due: {want}")
    cold = attrs.evolve(a)
    assert due_by(cold, day) is want  # worked out at the day itself
    warm = attrs.evolve(a)
    owed(warm, through=_shift(day, -earlier))  # too early to answer
    owed(warm, through=_shift(day, further))  # what the forecasts keep
    assert due_by(warm, day) is want


def _open_of(a: Agreement) -> list[tuple[str, int]]:
    with reference_path():
        return [(inv.id, a.balance_of(inv.id).minor) for inv in a.invoices
                if a.balance_of(inv.id).minor]


@EXAMPLES
@given(lives())
def test_open_balances_are_the_invoices_not_settled(a: Agreement) -> None:
    b = attrs.evolve(a)
    want = _open_of(a)
    assert [(inv.id, m) for inv, m in open_balances(b)] == want
    assert [(inv.id, m) for inv, m in open_balances(b)] == want  # kept


def test_open_balances_leave_out_what_is_written_off_and_keep_what_is_owed_back() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "500.00")],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    design = InvoiceId(w.complete("design").invoices[0].id)
    build = InvoiceId(w.complete("build").invoices[0].id)
    w.later(40)
    w.biller.record_payment(design, Money("700.00", "USD"), reference="wire-1")
    a: Any = w.biller.write_off(design, Money("300.00", "USD"), reason="settled")
    got = [(inv.id, m) for inv, m in open_balances(attrs.evolve(a))]
    assert got == [(build, 50000)]
    assert got == _open_of(a)


@EXAMPLES
@given(lives(), st.lists(st.tuples(st.integers(0, 500), st.booleans()), min_size=1, max_size=4))
def test_receivables_asked_again_at_other_dates_and_policies_are_the_reference(
        a: Agreement, asks: list[tuple[int, bool]]) -> None:
    b = attrs.evolve(a)
    quick = RetryPolicy(max_attempts=2, spacing_days=(1,))
    for after, other in [*asks, *asks]:
        as_of, policy = a.signed_on + timedelta(days=after), quick if other else None
        with reference_path():
            want = (list(r.receivables([a], as_of, policy=policy)),
                    list(r.aging([a], as_of, policy=policy)))
        got = (list(r.receivables([b], as_of, policy=policy)),
               list(r.aging([b], as_of, policy=policy)))
        assert (as_of, other, got) == (as_of, other, want)


def test_the_receipts_kept_with_an_agreement_are_not_walked_by_the_collector() -> None:
    firm = generated_firm(12, months=12, seed=3)
    as_of = add_months(firm.start, 6)
    ags = [a for a in firm.agreements() if a.signed_on <= as_of]
    prepared = prepare(ags, as_of, DEFAULT_ASSUMPTIONS)
    kept = receipt_rows(prepared, as_of, add_months(as_of, 12), DEFAULT_ASSUMPTIONS)
    gc.collect()
    rows = [row for _p, found in kept for row in found]
    assert rows  # the firm expects receipts
    assert [row for row in rows if gc.is_tracked(row)] == []
    with reference_path():
        want = r.expected_receipts(fresh_all(ags), as_of, through=add_months(as_of, 12))
    assert list(r.expected_receipts(ags, as_of, through=add_months(as_of, 12))) == list(want)


def fresh_all(ags: list[Agreement]) -> list[Agreement]:
    return [attrs.evolve(a) for a in ags]


OUTCOMES = st.sampled_from([Scripted.succeed(), Scripted.decline(), Scripted.decline("stolen_card"),
                            Scripted.require_action(), Scripted.stay_processing()])


@EXAMPLES
@given(st.lists(st.tuples(st.integers(0, 9), OUTCOMES, st.integers(1, 6)), max_size=8),
       exponent_currencies())
def test_collection_states_read_off_the_kept_attempts_are_the_reference(
        steps: list[tuple[int, Scripted, int]], cur: Any) -> None:
    w = World()
    names = [f"m{i}" for i in range(4)]
    w.open(proposal([(n, Money.from_minor(10**5 + i, cur)) for i, n in enumerate(names)],
                    currency=cur), payment_method=CARD)
    done: set[str] = set()
    day = 0
    for pick, outcome, wait in steps:
        w.gateway.script_next(outcome)
        name = names[pick % len(names)]
        if pick < len(names) and name not in done:
            done.add(name)
            w.complete(name)
        else:
            w.biller.run(w.clock.today())
        day += wait
        w.later(day)  # days after the world's start
    a = w.load()
    for policy in (None, RetryPolicy(max_attempts=2, spacing_days=(1,))):
        with reference_path():
            want = [collection_state(a, InvoiceId(i.id), policy) for i in a.invoices]
        b = attrs.evolve(a)
        got = [collection_state(b, InvoiceId(i.id), policy) for i in a.invoices]
        for s in want:
            event(s.state.value)
        assert got == want


@EXAMPLES
@given(st.data())
def test_what_refunds_absorb_read_off_the_charges_calendars_is_the_reference(
        data: st.DataObject) -> None:
    a, _today = lived(data)  # refund credit notes, amendments after billing, pauses
    with reference_path():
        want = billed_by_key(a)
    event(f"refunded: {any(ln.item_key is None for cn in a.credit_notes for ln in cn.lines)}")
    assert billed_by_key(attrs.evolve(a)) == want


@settings(max_examples=40, deadline=None)
@given(exponent_currencies(), st.integers(1, 99), st.integers(1, 99), st.integers(0, 80),
       st.sampled_from(["end", "price", "milestone"]))
# A lower price from the first day: every billed month keeps a whole period at the new
# price, so what the refund absorbs is read off the charge's calendar (the bulk pieces).
@example(Currency.of("USD"), 50, 50, 0, "price")
def test_refunds_absorb_what_an_amendment_takes_back_as_the_reference_says(
        cur: Any, design_part: int, retainer_part: int, after: int, change: str) -> None:
    """Paid, partly refunded, then amended below what was billed: the refund absorbs
    what the invoice has no room left to credit, on milestones and service periods."""
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money.from_minor(300_000, cur),
                          Interval.MONTHLY, start=START)
    w = World()
    w.open(proposal([("design", Money.from_minor(500_000, cur))], [fee], currency=cur),
           payment_method=CARD)
    w.complete("design")
    w.later(70)
    w.biller.run(w.clock.today())
    a = w.load()
    for inv, part in zip(a.invoices[:2], (design_part, retainer_part), strict=False):
        w.biller.refund(InvoiceId(inv.id), Money.from_minor(inv.subtotal.minor * part // 100,
                                                            cur), reason="goodwill")
    on = START + timedelta(days=after)
    ops: dict[str, Operation] = {"end": EndRecurringCharge(on, ItemId("ret")),
                     "price": ChangeRecurringPrice(on, ItemId("ret"),
                                                   Money.from_minor(120_000, cur)),
                     "milestone": ChangeMilestoneAmount(w.clock.today(), MilestoneId("design"),
                                                        Money.from_minor(100_000, cur))}
    w.amend(ops[change], amendment_id="am-1", approved_by="Ada")
    w.biller.run(w.clock.today())
    a = w.load()
    with reference_path():
        want = billed_by_key(a)
    assert billed_by_key(attrs.evolve(a)) == want


WINDOWS = st.tuples(st.integers(1, 30), st.sampled_from(list(r.Cadence)), st.integers(0, 4))


@EXAMPLES
@given(lives(), st.integers(0, 500), st.lists(WINDOWS, min_size=1, max_size=3),
       st.sampled_from(list(r.Measure)))
def test_cash_kept_per_window_asked_again_with_other_windows_is_the_reference(
        a: Agreement, after: int, windows: list[tuple[int, r.Cadence, int]],
        measure: r.Measure) -> None:
    """Each agreement keeps its receipts and cash summed per period of the last window:
    cash forecasts and scenario comparisons over other windows, then the first again,
    on the same agreement objects, are what the reference path gives each time."""
    as_of = a.signed_on + timedelta(days=after)
    won = r.Scenario("won", [r.Signing(proposal([("audit", "2500.00")]), "std",
                                       as_of + timedelta(days=3), AgreementId("new-1"),
                                       payment_method=CARD)])
    assume = r.Assumptions(completion=r.CompletionAssumption(20))
    b = attrs.evolve(a)
    for periods, cadence, back in [*windows, windows[0]]:
        opts: dict[str, Any] = {"periods": periods, "cadence": cadence, "history": back,
                                "assumptions": assume}

        def both(ags: list[Agreement], opts: dict[str, Any] = opts) -> list[Any]:
            return [list(r.cash_forecast(ags, as_of, **opts)),
                    list(r.compare_scenarios(ags, [won], as_of, measure=measure, **opts))]

        with reference_path():
            want = both([a])
        assert (periods, cadence, back, both([b])) == (periods, cadence, back, want)


@EXAMPLES
@given(lives(), st.lists(st.tuples(st.integers(0, 500), st.sampled_from([None, 0, 20, 45])),
                         min_size=1, max_size=3))
def test_agreements_prepared_again_at_other_dates_and_assumptions_are_the_reference(
        a: Agreement, asks: list[tuple[int, int | None]]) -> None:
    """Each agreement keeps how a forecast prepared it, by date and assumptions: the
    receipts expected at other dates, under other completion assumptions, then the
    first again, on the same agreement objects, are the reference path's."""
    b = attrs.evolve(a)
    for after, days in [*asks, asks[0]]:
        as_of = a.signed_on + timedelta(days=after)
        assume = r.Assumptions(completion=r.CompletionAssumption(days))
        through = add_months(as_of, 14)
        with reference_path():
            want = list(r.expected_receipts([a], as_of, through=through, assumptions=assume))
        got = list(r.expected_receipts([b], as_of, through=through, assumptions=assume))
        assert (after, days, got) == (after, days, want)


@given(exponent_currencies(), st.integers(1, 99), st.booleans())
@settings(max_examples=20, deadline=None)
def test_a_credit_alone_on_its_day_is_expected_as_the_reference_says(
        cur: Any, part: int, retainer: bool) -> None:
    """An invoiced milestone amended down and not yet credited: the credit is the only
    position of its day (the one-position path of the cash columns), next to an
    open-ended retainer's invoices or alone."""
    fees = ([RecurringCharge(ItemId("ret"), "Retainer", Money.from_minor(90_000, cur),
                             Interval.MONTHLY, start=START + timedelta(days=40))]
            if retainer else [])
    w = World()
    w.open(proposal([("design", Money.from_minor(500_000, cur))], fees, currency=cur),
           payment_method=CARD)
    w.complete("design")
    w.later(3)
    w.biller.run(w.clock.today())
    w.amend(ChangeMilestoneAmount(w.clock.today(), MilestoneId("design"),
                                  Money.from_minor(500_000 * part // 100, cur)),
            amendment_id="am-1", approved_by="Ada")
    a = w.load()
    as_of = w.clock.today() + timedelta(days=1)
    with reference_path():
        want = list(r.expected_receipts([a], as_of, through=add_months(as_of, 3)))
    got = list(r.expected_receipts([attrs.evolve(a)], as_of, through=add_months(as_of, 3)))
    assert [x.source for x in want if x.amount.minor < 0] == ["credit m:design"]
    assert got == want

"""Revenue and books in integer columns give exactly what the reference path gives.

``remaining_obligations``, ``revenue_schedule`` and ``rollforward`` work
revenue out per obligation as integer columns over all their dates
(:func:`~milestonebill.revenue.earned_minor_changes`,
:func:`~milestonebill.revenue.obligation_names`, series pieces as int
columns, concessions skipped when no credit note carries a refund or
goodwill line, ledger movements summed per posting day).  Each test here
computes the same rows fast -- on agreements that know nothing yet, and
again once they have kept what they worked out -- and inside
:func:`~milestonebill._reference.reference_path`, and compares every field.

Engagements start on month ends and leap days, in cents, yen and fils,
and live through completions, re-pricing and recurring price changes
mid-way, refunds, write-offs and cancellation.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from engagements import both_ways, fresh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill import reports as r
from milestonebill._reference import reference_path
from milestonebill._series import Series
from milestonebill._shares import half_up
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    ChangeRecurringPrice,
    Collection,
    ObligationTerms,
    Progress,
    apply,
    cancel,
    complete_milestone,
    history,
    pause,
    report_progress,
    resume,
    revise_estimate,
    sign,
)
from milestonebill.engine import FixedClock
from milestonebill.errors import AmendmentError, RefundLimitError, ValidationError
from milestonebill.ids import InvoiceId, ObligationId
from milestonebill.ledger import JournalEntry
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import Period, add_months
from milestonebill.recognition import Granularity
from milestonebill.revenue import (
    earned_minor_changes,
    earned_minor_series,
    earned_minor_totals,
    earned_minor_with_time,
)
from milestonebill.schedule import (
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import CARD, World, proposal
from milestonebill.testing.strategies import exponent_currencies, milestone_lists

EXAMPLES = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Month ends, a leap day and an ordinary Monday to sign on.
STARTS = (date(2028, 2, 29), date(2028, 1, 31), date(2027, 12, 31), date(2026, 3, 2))


def _charges(draw: st.DrawFn, cur: Currency, start: date) -> list[RecurringCharge]:
    price = Money.from_minor(draw(st.integers(1, 10**6)), cur)
    kind = draw(st.sampled_from(["none", "monthly", "open", "two"]))
    monthly = RecurringCharge(ItemId("ret"), "Retainer", price, Interval.MONTHLY, start=start,
                              count=draw(st.integers(1, 30)),
                              escalations=(Escalation(percent=Decimal(4)),))
    if kind == "monthly":
        return [monthly]
    if kind == "open":
        return [attrs.evolve(monthly, count=None, escalations=())]
    if kind == "two":
        return [monthly, RecurringCharge(ItemId("adv"), "Advice", price, Interval.QUARTERLY,
                                         start=start, count=draw(st.integers(1, 8)))]
    return []


def _step(draw: st.DrawFn, w: World[Any], n: int, milestones: list[Milestone]) -> None:
    a = w.load()
    step = draw(st.sampled_from(["complete", "complete", "reprice", "price", "run", "run",
                                 "pay", "refund", "write_off", "cancel", "pause"]))
    paid = [i for i in a.invoices if a.net_paid(i.id).minor > 0]
    owed = [i for i in a.invoices if a.balance_of(i.id).minor > 0]
    if step == "run":
        w.biller.run(w.clock.today())
    elif step == "pay" and owed:
        left = a.balance_of(owed[0].id)
        w.biller.record_payment(InvoiceId(owed[0].id), Money.from_minor(
            draw(st.integers(1, left.minor)), a.currency), reference=f"pay-{n}")
    elif step == "refund" and paid:
        inv = paid[draw(st.integers(0, len(paid) - 1))]
        part = draw(st.integers(1, max(1, inv.subtotal.minor)))
        try:
            w.biller.refund(InvoiceId(inv.id), Money.from_minor(part, a.currency),
                            reason="goodwill")
        except (RefundLimitError, ValidationError):
            return  # more than is refundable, or paid outside the gateway: refused
    elif step == "write_off" and owed:
        w.biller.write_off(InvoiceId(owed[0].id), reason="uncollectible")
    elif step == "pause" and a.state in (AgreementState.ACTIVE, AgreementState.PAUSED):
        paused = a.state is AgreementState.PAUSED
        w.biller.record(a.id, [resume(a, at=w.clock.now()) if paused
                               else pause(a, at=w.clock.now(), reason="client asked")])
    elif not a.state.amendable:
        return
    elif step == "complete" and milestones:
        m = milestones[draw(st.integers(0, len(milestones) - 1))]
        if m.trigger is Trigger.ON_COMPLETION and m.id not in a.completions:
            w.complete(m.id)
    elif step == "reprice" and milestones:
        m = milestones[draw(st.integers(0, len(milestones) - 1))]
        assert m.amount is not None
        w.reprice(m.id, Money.from_minor(max(1, m.amount.minor * draw(st.integers(1, 150))
                                             // 100), a.currency), amendment_id=f"am-{n}")
    elif step == "price" and a.recurring:
        when = w.clock.today() + timedelta(days=draw(st.integers(0, 40)))
        try:
            w.amend(ChangeRecurringPrice(when, a.recurring[0].charge.id, Money.from_minor(
                draw(st.integers(1, 10**6)), a.currency)), amendment_id=f"am-{n}",
                approved_by="Ada")
        except AmendmentError:
            return  # the charge had ended by then: refused, nothing recorded
    elif step == "cancel" and draw(st.integers(0, 3)) == 0:
        w.cancel()


@st.composite
def engagements(draw: st.DrawFn) -> tuple[Agreement, list[JournalEntry]]:
    """An engagement signed on a month end, a leap day or a Monday, lived for a year;
    with the journal entries it posted."""
    cur: Currency = draw(exponent_currencies())
    start = draw(st.sampled_from(STARTS))
    w = World(clock=FixedClock(datetime.combine(start, time(9), UTC)))
    deposit = Milestone(MilestoneId("dep"), "Deposit", trigger=Trigger.ON_SIGNING,
                        amount=Money.from_minor(draw(st.integers(1, 10**6)), cur))
    milestones = draw(milestone_lists(cur, triggers=(Trigger.ON_COMPLETION, Trigger.ON_DATE),
                                      first_due=start, due_within_days=300))
    card = draw(st.booleans())
    w.open(proposal([deposit, *milestones], _charges(draw, cur, start), currency=cur,
                    collection=Collection.AUTO_CHARGE if card else Collection.SEND_INVOICE),
           payment_method=CARD if card else None)
    w.biller.run(start)
    for n, day in enumerate(sorted(draw(st.lists(st.integers(0, 365), max_size=10)))):
        w.later(day)
        _step(draw, w, n, milestones)
    w.later(366)
    w.biller.run(w.clock.today())
    return w.load(), w.store.entries()


def books(agreements: list[Agreement], entries: list[JournalEntry], as_of: date
          ) -> dict[str, list[Any]]:
    """The revenue and books reports of ``agreements`` at ``as_of``, as lists of rows."""
    first = as_of.replace(day=1)
    cur = agreements[0].currency
    return {
        "remaining": [row for a in agreements if a.signed_on <= as_of  # nothing promised before
                      for row in r.remaining_obligations(a, as_of)],
        "schedule": [row for a in agreements for row in r.revenue_schedule(
            a, Period(add_months(first, -12), add_months(first, 12)))],
        "daily": [row for a in agreements for row in r.revenue_schedule(
            a, Period(as_of - timedelta(days=20), as_of + timedelta(days=20)),
            granularity=Granularity.DAY)],
        "rollforward": list(r.rollforward(entries, [Period.month(d.year, d.month) for d in (
            add_months(first, i) for i in range(-12, 12))], currency=cur)),
        "positions": list(r.contract_positions(entries, as_of, cur)),
        "positions the day before": list(r.contract_positions(
            entries, as_of - timedelta(days=1), cur)),
        "positions, another currency": list(r.contract_positions(
            entries, as_of, "EUR" if cur.code != "EUR" else "USD")),
        "rollforward, one agreement": list(r.rollforward(
            entries, [Period(add_months(first, -6), as_of)], currency=cur,
            agreement_id=agreements[0].id)),
    }


@EXAMPLES
@given(engagements(), st.integers(-3, 500))
def test_revenue_and_books_in_columns_are_the_reference(
        lived: tuple[Agreement, list[JournalEntry]], after: int) -> None:
    a, entries = lived
    as_of = a.signed_on + timedelta(days=after)
    cold, warm, plain = both_ways(lambda ags: books(ags, entries, as_of), [a])
    for name, rows in plain.items():
        assert (name, cold[name]) == (name, rows)
        assert (name, warm[name]) == (name, rows)



def _differences(levels: list[dict[str, int]]) -> list[list[tuple[str, int]]]:
    """What changed from each day's earned levels to the next's, per obligation."""
    return [[(o, m - before.get(o, 0)) for o, m in now.items() if m != before.get(o, 0)]
            for before, now in itertools.pairwise(levels)]


def _totals_and_changes_are_the_reference(a: Agreement, days: list[date]) -> None:
    """``earned_minor_totals`` and ``earned_minor_changes`` of a fresh copy of ``a`` are
    the sums and differences of the reference path's levels."""
    with reference_path():
        levels = earned_minor_with_time(fresh([a])[0], days)
    mine = fresh([a])[0]
    assert earned_minor_totals(mine, days) == [sum(row.values()) for row in levels]
    assert earned_minor_changes(mine, days) == _differences(levels)

@EXAMPLES
@given(engagements(), st.lists(st.integers(-40, 900), min_size=0, max_size=14))
def test_changes_between_days_are_the_differences_of_what_was_earned(
        lived: tuple[Agreement, list[JournalEntry]], offsets: list[int]) -> None:
    a = lived[0]
    days = [a.signed_on + timedelta(days=n) for n in offsets]
    with reference_path():
        levels = earned_minor_with_time(fresh([a])[0], days)
    want = _differences(levels)
    mine = fresh([a])[0]
    assert earned_minor_changes(mine, days) == want
    assert earned_minor_changes(mine, days) == want  # again, from what it kept


@EXAMPLES
@given(engagements(), st.lists(st.integers(-40, 900), min_size=0, max_size=6))
def test_what_each_obligation_earned_around_signing_and_the_first_service_day_is_the_reference(
        lived: tuple[Agreement, list[JournalEntry]], offsets: list[int]) -> None:
    a = lived[0]
    # The series start on signing: the days around it are where one enters the model.
    days = [a.signed_on + timedelta(days=n) for n in (*range(-2, 2), *offsets)]
    with reference_path():
        want = earned_minor_series(fresh([a])[0], days)
    mine = fresh([a])[0]
    assert earned_minor_series(mine, days) == want
    assert [list(row) for row in earned_minor_series(mine, days)] == [list(row) for row in want]


@EXAMPLES
@given(engagements(), st.lists(st.integers(-40, 900), min_size=0, max_size=14))
def test_totals_are_the_sums_of_what_each_obligation_earned(
        lived: tuple[Agreement, list[JournalEntry]], offsets: list[int]) -> None:
    a = lived[0]
    days = [a.signed_on + timedelta(days=n) for n in offsets]
    with reference_path():
        want = [sum(row.values()) for row in earned_minor_with_time(fresh([a])[0], days)]
    mine = fresh([a])[0]
    assert earned_minor_totals(mine, days) == want
    assert earned_minor_totals(mine, days) == want  # again, from what it kept


@EXAMPLES
@given(engagements(), st.integers(0, 380), st.sampled_from(["later", "earlier", "alone"]),
       st.lists(st.integers(-40, 900), min_size=1, max_size=14))
def test_an_earlier_state_earns_what_it_earned_then(
        lived: tuple[Agreement, list[JournalEntry]], after: int, first: str,
        offsets: list[int]) -> None:
    """An earlier state cut back from the agreement (``history.as_of``) may share its
    revenue model: whichever is asked first, each earns what the reference says."""
    a = lived[0]
    day = a.signed_on + timedelta(days=after)
    days = [a.signed_on + timedelta(days=n) for n in offsets]
    with reference_path():
        then = fresh([a])[0].as_of(day)
        want_then = earned_minor_with_time(then, days)
        want_now = earned_minor_with_time(fresh([a])[0], days)
    mine = fresh([a])[0]
    if first == "later":
        assert earned_minor_series(mine, days) == want_now
    earlier = history.as_of(mine, day)
    assert earned_minor_with_time(earlier, days) == want_then
    assert earned_minor_totals(earlier, days) == [sum(row.values()) for row in want_then]
    assert earned_minor_changes(earlier, days) == [
        [(o, m - before.get(o, 0)) for o, m in now.items() if m != before.get(o, 0)]
        for before, now in itertools.pairwise(want_then)]
    if first != "alone":
        assert earned_minor_with_time(mine, days) == want_now


def _earlier_and_reference(w: World[Any], day: date, days: list[date]
                           ) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    """What the state of ``day`` earns on ``days``, fast after the agreement as it is
    was asked, and by reference."""
    a = w.load()
    with reference_path():
        want = earned_minor_with_time(fresh([a])[0].as_of(day), days)
    mine = fresh([a])[0]
    earned_minor_series(mine, days)  # the later state's model first: kept
    return earned_minor_with_time(history.as_of(mine, day), days), want


def test_a_state_before_a_completion_does_not_earn_by_it() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.later(30)
    w.complete("design")  # recorded after the earlier state: a cut, not a replay
    days = [w.start.date() + timedelta(days=n) for n in (10, 40, 90)]
    got, want = _earlier_and_reference(w, w.start.date() + timedelta(days=10), days)
    assert got == want
    assert [row["package"] for row in got] == [0, 0, 0]


@pytest.mark.parametrize("stated", [False, True])
def test_an_agreement_cancelled_on_its_signing_day_earns_what_the_reference_says(
        stated: bool) -> None:
    """Signed and cancelled the same day: every column starts and ends on one day (a
    case the generated engagements never reach, where a filled-in value could hide)."""
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money("3100.00", "USD"), Interval.MONTHLY,
                          start=date(2026, 1, 1), count=12)
    deposit = Milestone(MilestoneId("dep"), "Deposit", trigger=Trigger.ON_SIGNING,
                        amount=Money("500.00", "USD"))  # billed at signing, kept on cancelling
    offer = proposal([deposit], [fee])
    if stated:  # a straight line over a stated year beside the retainer's series
        terms = (ObligationTerms(ObligationId("advice"), "Advice", Progress.STRAIGHT_LINE,
                                 items=("dep",),
                                 period=Period(date(2026, 1, 1), date(2027, 1, 1))),)
        offer = attrs.evolve(offer, options=(attrs.evolve(offer.options[0],
                                                          obligations=terms),))
    w = World(clock=FixedClock(datetime(2026, 1, 1, 9, tzinfo=UTC)))
    w.open(offer, payment_method=CARD)
    w.biller.run(date(2026, 1, 1))
    w.later(hours=3)
    w.cancel()
    a = w.load()
    assert a.state is AgreementState.CANCELLED
    assert a.cancelled_on == a.signed_on
    days = [date(2026, 1, 1) + timedelta(days=n) for n in (-1, 0, 1, 30, 400)]
    with reference_path():
        levels = earned_minor_with_time(fresh([a])[0], days)
        series = earned_minor_series(fresh([a])[0], days)
    mine = fresh([a])[0]
    assert [sum(row.values()) for row in levels] == [0, 50000, 50000, 50000, 50000]
    assert earned_minor_totals(mine, days) == [sum(row.values()) for row in levels]
    assert earned_minor_series(mine, days) == series
    assert earned_minor_changes(mine, days) == _differences(levels)


def test_a_straight_line_with_a_goodwill_refund_cut_short_by_a_cancellation() -> None:
    """Prices that hang on a concession, and a straight line still running on the day the
    agreement is cancelled: from that day it has earned its whole price (the concession
    path's columns, against the reference)."""
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money("3100.00", "USD"), Interval.MONTHLY,
                          start=date(2026, 1, 1), count=12)
    deposit = Milestone(MilestoneId("dep"), "Deposit", trigger=Trigger.ON_SIGNING,
                        amount=Money("500.00", "USD"))
    offer = proposal([deposit], [fee])
    terms = (ObligationTerms(ObligationId("advice"), "Advice", Progress.STRAIGHT_LINE,
                             items=("dep",), period=Period(date(2026, 1, 1), date(2027, 1, 1))),)
    offer = attrs.evolve(offer, options=(attrs.evolve(offer.options[0], obligations=terms),))
    w = World(clock=FixedClock(datetime(2026, 1, 1, 9, tzinfo=UTC)))
    w.open(offer, payment_method=CARD)
    w.biller.run(date(2026, 1, 1))
    w.later(3)
    w.biller.refund(InvoiceId(w.load().invoices[0].id), Money("120.00", "USD"),
                    reason="goodwill")
    w.later(10)
    w.cancel()
    a = w.load()
    assert a.cancelled_on == date(2026, 1, 11)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in (-1, 0, 5, 9, 10, 11, 40)]
    _totals_and_changes_are_the_reference(a, days)


def test_a_state_before_a_goodwill_credit_keeps_its_price() -> None:
    w = World()
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money("3000.00", "USD"),
                          Interval.MONTHLY, start=w.start.date(), count=3)
    w.open(proposal([("design", "1000.00")], [fee]))
    w.biller.run(w.clock.today())
    w.later(20)
    inv = w.load().invoices[0]
    w.biller.refund(InvoiceId(inv.id), Money("100.00", "USD"), reason="goodwill")
    day = w.start.date() + timedelta(days=5)
    days = [w.start.date() + timedelta(days=n) for n in (5, 40, 120)]
    got, want = _earlier_and_reference(w, day, days)
    assert got == want
    assert got[-1]["ret"] == 900000


def test_a_day_that_is_not_a_date_is_refused_by_name() -> None:
    a = World().open(proposal([("design", "1000.00")]))
    moment = datetime(2026, 4, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        earned_minor_changes(a, [date(2026, 3, 31), moment])
    assert (caught.value.field, caught.value.value) == ("days[1]", moment)


def _span(first: date, days: int) -> Period:
    return Period(first, first + timedelta(days=days))


@st.composite
def stated_terms(draw: st.DrawFn) -> tuple[Agreement, list[date]]:
    """An engagement whose obligations state their progress: straight lines over a stated
    period (any length from a day, starting before or after signing) or over signing to
    the last dated milestone, and one earned on completion; SSPs of any size, a completion
    or a cancellation on the way; and days around all of it."""
    cur: Currency = draw(exponent_currencies())
    start = draw(st.sampled_from(STARTS))
    ms = [Milestone(MilestoneId("m0"), "M0",
                    amount=Money.from_minor(draw(st.integers(1, 10**7)), cur))]
    ms += [Milestone(MilestoneId(f"m{i}"), f"M{i}", trigger=Trigger.ON_DATE,
                    due_on=start + timedelta(days=draw(st.integers(1, 200))),
                    amount=Money.from_minor(draw(st.integers(1, 10**7)), cur))
          for i in range(1, draw(st.integers(1, 3)))]
    terms = [ObligationTerms(ObligationId(f"s{i}"), f"S{i}", Progress.STRAIGHT_LINE,
                             ssp=Money.from_minor(draw(st.integers(1, 10**6)), cur),
                             period=None if draw(st.booleans()) else _span(
                                 start + timedelta(days=draw(st.integers(-20, 60))),
                                 draw(st.integers(1, 400))))
             for i in range(draw(st.integers(1, 3)))]
    terms.append(ObligationTerms(ObligationId("done"), "Done", Progress.ON_COMPLETION,
                                 ssp=Money.from_minor(draw(st.integers(1, 10**6)), cur),
                                 milestone="m0"))
    offer = proposal(ms, currency=cur)
    offer = attrs.evolve(offer, options=(attrs.evolve(offer.options[0],
                                                      obligations=tuple(terms)),))
    w = World(clock=FixedClock(datetime.combine(start, time(9), UTC)))
    w.open(offer, payment_method=CARD)
    done = draw(st.integers(1, 300))
    w.later(done)
    if draw(st.booleans()):
        w.complete("m0")
    w.later(done + draw(st.integers(0, 100)))
    if draw(st.booleans()):
        w.cancel()
    return w.load(), _days_around(draw, start)


def _days_around(draw: st.DrawFn, start: date) -> list[date]:
    """2 to 14 days to read revenue at, from a month before ``start`` to 500 days on."""
    return [start + timedelta(days=n) for n in draw(
        st.lists(st.integers(-30, 500), min_size=2, max_size=14))]


@EXAMPLES
@given(stated_terms())
def test_straight_lines_over_stated_periods_earn_what_the_reference_says(
        made: tuple[Agreement, list[date]]) -> None:
    a, days = made
    _totals_and_changes_are_the_reference(a, days)


@st.composite
def series(draw: st.DrawFn) -> tuple[Series, list[tuple[int, int, int]]]:
    """A series of pieces in any order, overlapping or not, and the pieces themselves."""
    base = date(2028, 2, 1).toordinal()
    pieces = [(base + s, base + s + n, m) for s, n, m in draw(st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 120), st.integers(-10**6, 10**9)),
        min_size=1, max_size=12))]
    s = Series("ret", min(p[0] for p in pieces), [p[0] for p in pieces],
               [p[1] for p in pieces], [p[2] for p in pieces])
    s.settle()
    return s, pieces


@settings(max_examples=300, deadline=None)
@given(series(), st.integers(-10, 600))
def test_a_series_earns_each_piece_day_by_day_rounded_once(
        made: tuple[Series, list[tuple[int, int, int]]], day: int) -> None:
    s, pieces = made
    t = date(2028, 2, 1).toordinal() + day
    want = sum(m if t >= end else round_ratio(m * (t - start), end - start, Rounding.HALF_UP)
               if t > start else 0 for start, end, m in pieces)
    assert s.earned(t) == want


@settings(max_examples=300, deadline=None)
@given(series(), st.lists(st.integers(-10, 600), max_size=30), st.integers(-30, 30))
def test_a_series_earns_at_many_days_what_it_earns_at_each_once_it_is_in_the_model(
        made: tuple[Series, list[tuple[int, int, int]]], days: list[int], shift: int) -> None:
    s, pieces = made
    s = attrs.evolve(s, first=s.first + shift)  # a stub's whole period may start earlier
    ts = [date(2028, 2, 1).toordinal() + day for day in days]
    want = [sum(m if t >= end else round_ratio(m * (t - start), end - start, Rounding.HALF_UP)
                if t > start else 0 for start, end, m in pieces) if s.first < t else 0
            for t in ts]
    assert s.earned_at(ts) == want


@given(st.integers(-10**24, 10**24), st.integers(1, 10**12))
def test_rounding_half_up_in_one_expression_is_round_ratio(numerator: int, denominator: int
                                                           ) -> None:
    assert half_up(numerator, denominator) == round_ratio(numerator, denominator,
                                                          Rounding.HALF_UP)


@given(st.integers(-10**6, 10**6), st.integers(1, 10**6))
def test_rounding_half_up_takes_exact_halves_away_from_zero(k: int, half: int) -> None:
    assert half_up(k * 2 * half + half, 2 * half) == (k + 1 if k >= 0 else k)


def test_reports_on_a_sqlite_store_are_the_reference(tmp_path: Path) -> None:
    start = date(2028, 1, 31)
    clock = FixedClock(datetime.combine(start, time(9), UTC))
    with SQLiteStore(tmp_path / "books.db", clock=clock) as store:
        w = World(store, clock=clock)
        fee = RecurringCharge(ItemId("ret"), "Retainer", Money("1200.000", "KWD"),
                              Interval.MONTHLY, start=start, count=12,
                              escalations=(Escalation(percent=Decimal(5)),))
        w.open(proposal([("design", Money("3000.000", "KWD"))], [fee], currency="KWD"))
        w.biller.run(start)
        w.later(29)
        w.biller.run(w.clock.today())
        paid = next(i for i in w.load().invoices if w.load().net_paid(i.id).minor > 0)
        w.biller.refund(InvoiceId(paid.id), Money("400.000", "KWD"), reason="goodwill")
        w.complete("design")
        w.later(120)
        w.biller.run(w.clock.today())
        a, entries = w.load(), store.entries()
    as_of = start + timedelta(days=100)
    cold, warm, plain = both_ways(lambda ags: books(ags, entries, as_of), [a])
    assert any(plain.values())  # there is something to compare
    assert (cold, warm) == (plain, plain)


@st.composite
def reported_hours(draw: st.DrawFn) -> tuple[Agreement, list[date]]:
    """An engagement earned by hours (in tenths) reported against an estimate: reports and
    revisions on any days (two on one day too), a revision to any total not below what was
    reported, a milestone completed or a cancellation after them; and days around all of it."""
    cur: Currency = draw(exponent_currencies())
    start = draw(st.sampled_from(STARTS))
    ms = [Milestone(MilestoneId(f"m{i}"), f"M{i}",
                    amount=Money.from_minor(draw(st.integers(1, 10**7)), cur))
          for i in range(draw(st.integers(1, 3)))]
    tenths = draw(st.integers(1, 5000))  # hours in tenths: 12.5 hours of 40.0
    terms = (ObligationTerms(ObligationId("work"), "The work", Progress.HOURS,
                             items=tuple(m.id for m in ms), estimate=Decimal(tenths) / 10),)
    offer = proposal(ms, currency=cur)
    offer = attrs.evolve(offer, options=(attrs.evolve(offer.options[0], obligations=terms),))
    a = sign(offer, option="std", signer="Ada", payment_method=CARD,
             agreement_id=AgreementId("a-1"), signed_at=datetime.combine(start, time(9), UTC))
    day, done = start, 0
    for n in range(draw(st.integers(0, 6))):
        day += timedelta(days=draw(st.integers(0, 60)))
        at = datetime.combine(day, time(10), UTC) + timedelta(minutes=n)
        if draw(st.booleans()):
            tenths = draw(st.integers(max(done, 1), 8000))
            a = apply(a, revise_estimate(a, "work", Decimal(tenths) / 10, as_of=day, at=at))
        else:
            done = draw(st.integers(done, tenths))
            a = apply(a, report_progress(a, "work", Decimal(done) / 10, as_of=day, at=at))
    end = draw(st.sampled_from(["open", "complete", "cancel"]))
    if end != "open":
        at = datetime.combine(day + timedelta(days=draw(st.integers(0, 90))), time(12), UTC)
        a = apply(a, complete_milestone(a, MilestoneId("m0"), by="Ada", at=at)
                  if end == "complete" else cancel(a, at=at))
    return a, _days_around(draw, start)


@EXAMPLES
@given(reported_hours())
def test_progress_reported_against_an_estimate_earns_what_the_reference_says(
        made: tuple[Agreement, list[date]]) -> None:
    a, days = made
    _totals_and_changes_are_the_reference(a, days)
    with reference_path():
        want = earned_minor_series(fresh([a])[0], days)
    assert earned_minor_series(fresh([a])[0], days) == want

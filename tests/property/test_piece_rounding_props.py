"""Pieces of one service period sum to its day-weighted price, whatever cuts it.

Each example signs one recurring charge (JPY, USD or KWD; monthly charges
anchored on month ends and leap-year Februaries among them; every proration
basis and rounding) and then cuts it with a random sequence of price changes
and maybe an end, each prorated from its effective date, billing on every
cut date.  A model of the cuts, written here from the definitions only,
says what every plan item must be:

* a service period nobody cut keeps its full price;
* the pieces of a cut period are worth ``price x day fraction`` each (at
  their own term's price) and are rounded once across the period in date
  order, so they sum to the period's day-weighted price exactly;
* a cut never changes a piece that ends on or before it, so nothing already
  billed for such a piece is adjusted.

Before the fix each piece was rounded on its own and a period's pieces
could miss its day-weighted price by a minor unit (or more, with more cuts).
The smallest case found: 16 JPY a month from 31 December 2023, cut to 1 JPY
from 1 January; the period to 31 January is worth (16 + 30 x 1)/31 = 1.48
JPY, but its pieces were billed 1 + 1 JPY.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    apply,
    billing_plan,
    propose,
)
from milestonebill.agreement import sign as sign_proposal
from milestonebill.errors import AmendmentError
from milestonebill.ids import PlanKey
from milestonebill.invoicing import billing_position
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import DayCount, Period, day_fraction, prorate
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    IntervalUnit,
    ItemId,
    RecurringCharge,
    Timing,
)
from milestonebill.testing.scenarios import bill_due

SIGNED = date(2023, 12, 1)
HORIZON = date(2028, 1, 1)
ITEM = ItemId("svc")
NOW = ProrationPolicy.PRORATE_NOW

#: Month ends, the 29th-31st around a leap February, and the leap day itself.
MONTH_ENDS = [date(2023, 12, 31), date(2024, 1, 29), date(2024, 1, 30), date(2024, 1, 31),
              date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def minor_prices(cur: Currency) -> st.SearchStrategy[Money]:
    """Prices that round awkwardly as often as not, zero included."""
    minor = st.one_of(st.integers(0, 10**7), st.sampled_from([0, 1, 3, 7, 999, 100_001]))
    return minor.map(lambda m: Money.from_minor(m, cur))


@st.composite
def charges(draw: st.DrawFn, cur: Currency) -> RecurringCharge:
    start = draw(st.one_of(st.sampled_from(MONTH_ENDS),
                           st.dates(date(2023, 12, 1), date(2024, 4, 30))))
    interval = draw(st.sampled_from([Interval.MONTHLY, Interval.MONTHLY, Interval.QUARTERLY,
                                     Interval.YEARLY, Interval.every(2, IntervalUnit.WEEK)]))
    return RecurringCharge(ITEM, "Service", draw(minor_prices(cur)), interval, start=start,
                           count=draw(st.none() | st.integers(1, 8)),
                           timing=draw(st.sampled_from(list(Timing))))


@st.composite
def cut_sequences(draw: st.DrawFn, cur: Currency, start: date) -> list[Operation]:
    """Price changes (and maybe ends) on non-decreasing dates, often several per period."""
    ops: list[Operation] = []
    day = start
    for _ in range(draw(st.integers(1, 8))):
        day += timedelta(days=draw(st.one_of(st.integers(0, 12), st.integers(13, 120))))
        if draw(st.integers(0, 5)) == 0:
            ops.append(EndRecurringCharge(day, ITEM, NOW))
        else:
            ops.append(ChangeRecurringPrice(day, ITEM, draw(minor_prices(cur)), NOW))
    return ops




# ---------------------------------------------------------------- the model


def price_on(charge: RecurringCharge, cuts: list[Operation], d: date) -> Money | None:
    """The price in force on ``d`` after the accepted cuts (``None`` once ended)."""
    price: Money | None = charge.amount
    for op in cuts:
        if op.effective <= d:
            price = op.amount if isinstance(op, ChangeRecurringPrice) else None
    return price


def expected_pieces(
    charge: RecurringCharge, cuts: list[Operation], basis: DayCount, rounding: Rounding
) -> dict[Period, list[tuple[Period, Money, Money]]]:
    """Per service period: (piece, its term's price, its amount), pieces in date order."""
    out: dict[Period, list[tuple[Period, Money, Money]]] = {}
    for whole in charge.periods():
        if whole.start >= HORIZON:
            break
        inside = sorted({op.effective for op in cuts if whole.start < op.effective < whole.end})
        spans = [Period(a, b) for a, b in pairwise([whole.start, *inside, whole.end])]
        priced = [(s, p) for s in spans if (p := price_on(charge, cuts, s.start)) is not None]
        if not priced:
            continue
        if [s for s, _ in priced] == [whole]:
            out[whole] = [(whole, priced[0][1], priced[0][1])]
            continue
        running, charged, rows = Fraction(0), 0, []
        for span, price in priced:
            running += price.minor * day_fraction(span, whole, basis=basis)
            target = round_ratio(running.numerator, running.denominator, rounding)
            rows.append((span, price, Money.from_minor(target - charged, price.currency)))
            charged = target
        out[whole] = rows
    return out


def day_weighted(rows: list[tuple[Period, Money, Money]], whole: Period, basis: DayCount,
                 rounding: Rounding) -> int:
    """The period's day-weighted price, rounded once (the full price when uncut)."""
    if [span for span, _, _ in rows] == [whole]:
        return rows[0][1].minor
    exact = sum((p.minor * day_fraction(s, whole, basis=basis) for s, p, _ in rows), Fraction(0))
    return round_ratio(exact.numerator, exact.denominator, rounding)


def plan_amounts(a: Agreement) -> dict[PlanKey, tuple[Period, int]]:
    out: dict[PlanKey, tuple[Period, int]] = {}
    for item in billing_plan(a, through=HORIZON):
        assert item.period is not None
        out[item.key] = (item.period, item.amount.minor)
    return out


def net_billed(a: Agreement) -> dict[PlanKey, int]:
    net: dict[PlanKey, int] = defaultdict(int)
    for inv in a.invoices:
        for ln in inv.lines:
            assert ln.item_key is not None
            net[ln.item_key] += ln.amount.minor
    for cn in a.credit_notes:
        for ln in cn.lines:
            assert ln.item_key is not None
            net[ln.item_key] -= ln.amount.minor
    return net


# ---------------------------------------------------------------- the property


def cut_and_bill(a: Agreement, op: Operation, n: int) -> Agreement | None:
    """Bill up to the cut, amend, bill again; ``None`` if the cut cannot apply.

    Nothing billed for a piece that ends on or before the cut may change.
    """
    at = op.effective
    a = bill_due(a, at)
    before_plan, before_billed = plan_amounts(a), net_billed(a)
    try:
        event = propose(a, Amendment(AmendmentId(f"cut{n}"), (op,)), by="pm", at=noon(at))
    except AmendmentError:
        return None
    a = bill_due(apply(a, event), at)
    after_plan, after_billed = plan_amounts(a), net_billed(a)
    ended = {k: v for k, v in before_plan.items() if v[0].end <= at}
    assert {k: after_plan.get(k) for k in ended} == ended
    assert {k: after_billed.get(k, 0) for k in ended} == {
        k: before_billed.get(k, 0) for k in ended}
    assert billing_position(a, through=HORIZON).balanced
    return a


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["JPY", "USD", "KWD"]).map(Currency.of), st.sampled_from(list(DayCount)),
       st.sampled_from(list(Rounding)), st.data())
def test_pieces_of_a_period_sum_to_its_day_weighted_price_after_any_cuts(
    cur: Currency, basis: DayCount, rounding: Rounding, data: st.DataObject
) -> None:
    charge = data.draw(charges(cur))
    proposal = Proposal(
        ProposalId("p"), "Client", cur,
        (PackageOption("a", "A", BillingSchedule(currency=cur, recurring=[charge])),),
        approval=ApprovalRules(require_client_approval=False),
        collection=Collection.SEND_INVOICE, proration_basis=basis, proration_rounding=rounding)
    a = sign_proposal(proposal, option="a", signer="S", signed_at=noon(SIGNED),
                      payment_method=None, agreement_id=AgreementId("agr"))
    accepted: list[Operation] = []
    for n, op in enumerate(data.draw(cut_sequences(cur, charge.start))):
        cut = cut_and_bill(a, op, n)
        if cut is not None:
            a, accepted = cut, [*accepted, op]
    model = expected_pieces(charge, accepted, basis, rounding)
    assert plan_amounts(a) == {
        PlanKey.piece(ITEM, span.start): (span, amount.minor)
        for rows in model.values() for span, _, amount in rows if not amount.is_zero()
    }
    event(f"most pieces in one period: {max((len(r) for r in model.values()), default=0)}")
    for whole, rows in model.items():
        total = day_weighted(rows, whole, basis, rounding)
        assert sum(amount.minor for _, _, amount in rows) == total
        if len(rows) > 1 and total != sum(prorate(p, s, whole, basis=basis,
                                                  rounding=rounding).amount.minor
                                          for s, p, _ in rows):
            event("a period whose pieces rounded alone would miss its price")
        first, price, amount = rows[0]
        if first != whole:  # the first piece is what prorating it alone charges
            assert amount == prorate(price, first, whole, basis=basis, rounding=rounding).amount
    # Bill everything: the client's net for every period is its day-weighted price.
    a = bill_due(a, HORIZON)
    billed = net_billed(a)
    for whole, rows in model.items():
        if whole.end <= HORIZON:
            assert sum(billed.get(PlanKey.piece(ITEM, s.start), 0) for s, _, _ in rows) == (
                day_weighted(rows, whole, basis, rounding))

"""Properties of the retainer metrics over random books and random dates.

Each example signs one to four retainers in USD, JPY or KWD -- one or two
charges each, weekly to yearly, some escalating, some with a last period --
and amends them at random: price changes, ends and interval changes under
each proration policy, pauses and cancellations (an operation the agreement
refuses is skipped).  For two random dates, per agreement and per currency:
opening + new + expansion - contraction - churn = closing exactly; the
opening and closing are the MRR reported on each date; ARR = 12 x MRR; an
agreement's MRR is its exact monthly amount rounded once; NRR is retained
over opening.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    apply,
    cancel,
    pause,
    propose,
    resume,
    sign,
)
from milestonebill.errors import DomainError
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.reports import (
    Movement,
    movement_totals,
    mrr,
    mrr_movements,
    mrr_totals,
    net_revenue_retention,
)
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    RecurringCharge,
)

BASE = date(2026, 1, 1)
INTERVALS = [Interval.WEEKLY, Interval.every(2, IntervalUnit.WEEK), Interval.MONTHLY,
             Interval.QUARTERLY, Interval.YEARLY]
POLICIES = list(ProrationPolicy)


def _at(d: date) -> datetime:
    return datetime.combine(d, time(10), tzinfo=UTC)


@st.composite
def charges(draw: st.DrawFn, item: str, currency: Currency, signed: date) -> RecurringCharge:
    escalations: tuple[Escalation, ...] = ()
    if draw(st.booleans()):
        escalations = (Escalation(percent=Decimal(draw(st.integers(1, 10)))),)
    return RecurringCharge(
        ItemId(item), item, Money.from_minor(draw(st.integers(0, 10**7)), currency),
        draw(st.sampled_from(INTERVALS)), start=signed + timedelta(days=draw(st.integers(-20, 60))),
        count=draw(st.none() | st.integers(1, 30)), escalations=escalations)


@st.composite
def operations(draw: st.DrawFn, currency: Currency, items: list[str]) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["price", "end", "interval", "cancel", "pause"]))
    item = ItemId(draw(st.sampled_from(items)))
    policy = draw(st.sampled_from(POLICIES))
    ahead = draw(st.integers(0, 40))
    if kind == "price":
        return kind, ahead, ChangeRecurringPrice, item, Money.from_minor(
            draw(st.integers(0, 10**7)), currency), policy
    if kind == "interval":
        return kind, ahead, ChangeRecurringInterval, item, draw(st.sampled_from(INTERVALS)), policy
    if kind == "end":
        return kind, ahead, EndRecurringCharge, item, policy
    return kind, ahead, draw(st.booleans()), draw(st.integers(1, 60))


def _amended(a: Agreement, on: date, op: tuple[Any, ...], n: int) -> Agreement:
    kind, ahead = op[0], op[1]
    if kind == "cancel":
        return apply(a, cancel(a, at=_at(on), effective_on=on + timedelta(days=ahead),
                               credit_unused=op[2]))
    if kind == "pause":
        a = apply(a, pause(a, at=_at(on)))
        return apply(a, resume(a, at=_at(on + timedelta(days=op[3]))))
    change = op[2](on + timedelta(days=ahead), *op[3:])
    return apply(a, propose(a, Amendment(AmendmentId(f"am-{n}"), [change]), by="Bo", at=_at(on)))


@st.composite
def retainers(draw: st.DrawFn, n: int) -> Agreement:
    currency = Currency.of(draw(st.sampled_from(["USD", "JPY", "KWD"])))
    signed = BASE + timedelta(days=draw(st.integers(0, 120)))
    items = [f"c{i}" for i in range(draw(st.integers(1, 2)))]
    schedule = BillingSchedule(currency=currency,
                               recurring=[draw(charges(i, currency, signed)) for i in items])
    offer = Proposal(ProposalId(f"p-{n}"), f"Client {n}", currency,
                     (PackageOption("std", "Std", schedule),), collection=Collection.SEND_INVOICE,
                     approval=ApprovalRules(require_client_approval=False))
    a = sign(offer, option="std", signer="Ada", payment_method=None,
             agreement_id=AgreementId(f"agr-{n}"), signed_at=_at(signed))
    day = signed
    for k, op in enumerate(draw(st.lists(operations(currency, items), max_size=3))):
        day += timedelta(days=draw(st.integers(0, 90)))
        try:
            a = _amended(a, day, op, k)
        except DomainError:
            continue  # an operation this agreement refuses (ended, cancelled, ...)
        day = max(day, a.events[-1].effective_at.date())
    return a


@st.composite
def books(draw: st.DrawFn) -> list[Agreement]:
    return [draw(retainers(n)) for n in range(draw(st.integers(1, 4)))]


spans = st.tuples(st.integers(0, 500), st.integers(0, 400)).map(
    lambda t: (BASE + timedelta(days=t[0]), BASE + timedelta(days=t[0] + t[1])))


def _by_currency(values: dict[str, Money], currency: str) -> int:
    return values[currency].minor if currency in values else 0


def _check_mrr(book: list[Agreement], d: date) -> dict[str, Money]:
    rows = mrr(book, d)
    for r in rows:
        assert r.arr.minor == 12 * r.mrr.minor
    for aid, members in rows.grouped("agreement_id").items():
        exact = sum((r.exact_monthly for r in members), Fraction(0))
        scaled = exact * 10**members[0].mrr.currency.exponent
        rounded = round_ratio(scaled.numerator, scaled.denominator, Rounding.HALF_UP)
        assert sum(r.mrr.minor for r in members) == rounded, aid
    totals = mrr_totals(rows)
    for t in totals:
        assert t.arr.minor == 12 * t.mrr.minor
    return {t.mrr.currency.code: t.mrr for t in totals}


@given(book=books(), span=spans)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_opening_plus_movements_is_closing_and_arr_is_twelve_times_mrr(
        book: list[Agreement], span: tuple[date, date]) -> None:
    start, end = span
    opening, closing = _check_mrr(book, start), _check_mrr(book, end)
    moves = mrr_movements(book, start, end)
    for m in moves:
        assert m.opening + m.new + m.expansion - m.contraction - m.churn == m.closing
        moved = [x for x in (m.new, m.expansion, m.contraction, m.churn) if x.minor]
        assert all(x.minor > 0 for x in moved)
        assert len(moved) == (0 if m.movement is Movement.UNCHANGED else 1)
    totals = movement_totals(moves)
    for t in totals:
        code = t.opening.currency.code
        assert t.opening + t.new + t.expansion - t.contraction - t.churn == t.closing
        assert (t.opening.minor, t.closing.minor) == (_by_currency(opening, code),
                                                      _by_currency(closing, code))
    for r in net_revenue_retention(book, start, end):
        assert r.retained == r.opening + r.expansion - r.contraction - r.churn
        if r.opening.minor:
            assert r.ratio == Fraction(r.retained.minor, r.opening.minor)
        else:
            assert (r.ratio, r.percent) == (None, None)

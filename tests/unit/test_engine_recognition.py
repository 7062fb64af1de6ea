"""``Biller.recognise``: deferred revenue released as service is rendered, exactly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, cast

import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ApprovalRules,
    CancelAgreement,
    ChangeRecurringPrice,
    Collection,
)
from milestonebill.engine import Biller, FixedClock, RecognitionSummary
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.schedule import (
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import FIRM, World, proposal

AGR = AgreementId("agr-r")


def _month_ends(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        yield nxt - timedelta(days=1)
        d = nxt


class Retainer(World[InMemoryGateway]):
    """A monthly retainer billed in advance (invoices sent, not charged),
    signed ten days before it starts; the clock moves at 06:00 UTC."""

    def __init__(self, amount: Money, start: date, count: int = 12,
                 milestones: tuple[Milestone, ...] = ()) -> None:
        super().__init__(clock=FixedClock(datetime.combine(start - timedelta(days=10), time(6),
                                                           tzinfo=UTC)))
        self.cur = amount.currency
        retainer = RecurringCharge(ItemId("ret"), "Retainer", amount, Interval.MONTHLY,
                                   start=start, count=count)
        self.open(proposal(milestones, [retainer], currency=self.cur.code,
                           collection=Collection.SEND_INVOICE, approval=ApprovalRules()),
                  payment_method=None, agreement_id=AGR)

    def run(self, d: date) -> None:
        self.on(d)
        assert self.biller.run(d).problems == ()

    def recognise(self, d: date) -> RecognitionSummary:
        self.on(d)
        r = self.biller.recognise(d)
        assert r.problems == ()
        return r

    def balance(self, account: Account, currency: str | Currency | None = None,
                as_of: date | None = None) -> Money:
        """The balance in the retainer's currency unless told otherwise."""
        return super().balance(account, currency or self.cur, as_of)

    def agreement(self) -> Agreement:
        return self.load(AGR)

    def entries(self) -> list[JournalEntry]:
        return self.store.entries(agreement_id=AGR)


def _half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def _expected_unearned(a: Agreement, d: date) -> int:
    """Independent arithmetic: the unearned part of every billed period at the end of ``d``."""
    total = 0
    for inv in a.invoices:
        if inv.issued_on > d:
            continue
        for line in inv.lines:
            assert line.period is not None
            p = line.period
            elapsed = min(max((d - p.start).days + 1, 0), p.days)
            earned = _half_up(Fraction(line.amount.minor * elapsed, p.days))
            total += line.amount.minor - earned
    return total


CASES = [Money("1234.57", "USD"), Money("123457", "JPY"), Money("1234.567", "KWD")]


@pytest.mark.parametrize("amount", CASES, ids=lambda m: m.currency.code)
def test_a_year_of_retainer_leaves_exactly_the_unearned_part_deferred(amount: Money) -> None:
    start = date(2026, 1, 15)  # mid-month: every month end falls inside a period
    w = Retainer(amount, start)
    for n in range(12):
        billing_day = date(2026 + (n // 12), n % 12 + 1, 15)
        w.run(billing_day)
        month_end = next(_month_ends(billing_day, billing_day))
        w.recognise(month_end)
        unearned = _expected_unearned(w.agreement(), month_end)
        assert unearned > 0
        assert w.balance(Account.DEFERRED_REVENUE, as_of=month_end) == Money.from_minor(
            -unearned, w.cur)
    w.recognise(date(2027, 1, 31))
    billed = Money.total((i.subtotal for i in w.agreement().invoices), currency=w.cur)
    assert billed == Money.from_minor(amount.minor * 12, w.cur)
    assert (w.balance(Account.REVENUE), w.balance(Account.DEFERRED_REVENUE)) == (
        -billed, Money.zero(w.cur))


def test_recognising_the_same_dates_again_changes_nothing() -> None:
    w = Retainer(Money("1000.00", "USD"), date(2026, 1, 15), count=3)
    ends = list(_month_ends(date(2026, 1, 1), date(2026, 4, 30)))
    for d in ends:
        w.run(d.replace(day=15))
        w.recognise(d)
    before = [e.canonical() for e in w.entries()]
    again = [w.biller.recognise(d) for d in ends]
    assert ([e for r in again for e in r.entries], [e.canonical() for e in w.entries()]) == (
        [], before)


def test_a_date_before_the_last_recognition_is_refused_naming_as_of_and_posts_nothing() -> None:
    w = Retainer(Money("1000.00", "USD"), date(2026, 1, 15), count=3)
    w.run(date(2026, 1, 15))
    w.recognise(date(2026, 1, 31))
    before = w.entries()
    r = w.biller.recognise(date(2026, 1, 20))
    assert (r.entries, r.agreements) == ((), ())
    (problem,) = r.problems
    assert (problem.agreement_id, problem.error) == (AGR, "ValidationError")
    assert problem.message.startswith("'as_of' must be on or after the last recognition")
    assert w.entries() == before


def test_revenue_entries_move_only_the_contract_balance_and_revenue_per_obligation() -> None:
    w = Retainer(Money("3100.00", "USD"), date(2026, 1, 15), count=1)
    w.run(date(2026, 1, 15))
    (entry,) = w.recognise(date(2026, 1, 31)).entries
    assert (entry.id, entry.posted_on, entry.agreement_id, entry.obligation_id) == (
        "agr-r:revenue:ret:000001", date(2026, 1, 31), AGR, "ret")
    assert [(ln.side.value, ln.account, ln.amount) for ln in entry.lines] == [
        ("debit", Account.DEFERRED_REVENUE, Money("1700.00", "USD")),
        ("credit", Account.REVENUE, Money("1700.00", "USD"))]
    assert w.balance(Account.RECEIVABLE) == Money("3100.00", "USD")


def test_the_summary_reports_the_revenue_released() -> None:
    w = Retainer(Money("3100.00", "USD"), date(2026, 1, 15), count=1)
    w.run(date(2026, 1, 15))
    r = w.recognise(date(2026, 1, 31))
    assert (r.agreements, r.released) == ((AGR,), {"USD": Money("1700.00", "USD")})


def test_a_deposit_is_a_contract_liability_when_billed_not_revenue() -> None:
    deposit = Milestone(MilestoneId("dep"), "Deposit", amount=Money("500.00", "USD"),
                        trigger=Trigger.ON_SIGNING)
    w = Retainer(Money("310.00", "USD"), date(2026, 1, 15), count=1, milestones=(deposit,))
    w.run(date(2026, 1, 15))
    assert (w.balance(Account.REVENUE), w.balance(Account.CONTRACT_LIABILITY)) == (
        Money("0.00", "USD"), Money("-810.00", "USD"))


def test_a_deposit_with_only_a_retainer_is_earned_over_the_retainers_service() -> None:
    deposit = Milestone(MilestoneId("dep"), "Deposit", amount=Money("500.00", "USD"),
                        trigger=Trigger.ON_SIGNING)
    w = Retainer(Money("310.00", "USD"), date(2026, 1, 15), count=1, milestones=(deposit,))
    w.run(date(2026, 1, 15))
    w.recognise(date(2026, 1, 31))
    # 17 of the 31 days of the one service period: 274.19 of the deposit, 170.00 of service.
    assert (w.balance(Account.REVENUE), w.balance(Account.CONTRACT_LIABILITY)) == (
        Money("-444.19", "USD"), Money("-365.81", "USD"))
    w.recognise(date(2026, 2, 14))
    assert (w.balance(Account.REVENUE), w.balance(Account.CONTRACT_LIABILITY)) == (
        Money("-810.00", "USD"), Money("0.00", "USD"))


def _downgrade(w: Retainer, proposed_on: date, effective: date, new_price: Money) -> None:
    w.on(proposed_on)
    w.amend(ChangeRecurringPrice(effective, ItemId("ret"), new_price), amendment_id="down",
            approved_by="Client", agreement_id=AGR)


def test_a_period_credited_by_a_downgrade_releases_only_what_was_rendered() -> None:
    w = Retainer(Money("3000.00", "USD"), date(2026, 4, 1), count=3)
    w.run(date(2026, 4, 1))
    w.recognise(date(2026, 4, 10))
    assert w.balance(Account.DEFERRED_REVENUE) == Money("-2000.00", "USD")
    _downgrade(w, date(2026, 4, 12), date(2026, 4, 15), Money("1000.00", "USD"))
    w.run(date(2026, 4, 15))  # credits 1,600.00 of April, bills 533.33 for its rest
    (cn,) = w.agreement().credit_notes
    assert cn.total == Money("1600.00", "USD")
    w.recognise(date(2026, 4, 30))
    assert (w.balance(Account.REVENUE), w.balance(Account.DEFERRED_REVENUE)) == (
        Money("-1933.33", "USD"), Money("0.00", "USD"))
    for d in (date(2026, 5, 1), date(2026, 6, 1)):
        w.run(d)
    w.recognise(date(2026, 6, 30))
    a = w.agreement()
    billed = (Money.total((i.subtotal for i in a.invoices), currency="USD")
              - Money.total((c.subtotal for c in a.credit_notes), currency="USD"))
    assert (w.balance(Account.REVENUE), w.balance(Account.DEFERRED_REVENUE)) == (
        -billed, Money("0.00", "USD"))


def test_a_credit_issued_after_recognition_is_settled_against_the_contract_balance() -> None:
    w = Retainer(Money("3000.00", "USD"), date(2026, 4, 1), count=1)
    w.run(date(2026, 4, 1))
    _downgrade(w, date(2026, 4, 12), date(2026, 4, 15), Money("1000.00", "USD"))
    # Revenue follows the amended terms at once: 14 days at the old price
    # (1,400.00), then 6 of 16 days of the new 533.33 -- before the credit.
    w.recognise(date(2026, 4, 20))
    assert (w.balance(Account.REVENUE), w.balance(Account.CONTRACT_LIABILITY)) == (
        Money("-1600.00", "USD"), Money("-1400.00", "USD"))
    w.run(date(2026, 4, 22))  # credit 1,600.00 (1,400.00 liability, 200.00 asset), bill 533.33
    assert (w.balance(Account.CONTRACT_LIABILITY), w.balance(Account.CONTRACT_ASSET)) == (
        Money("-333.33", "USD"), Money("0.00", "USD"))
    assert w.balance(Account.REVENUE) == Money("-1600.00", "USD")
    w.recognise(date(2026, 4, 22))
    # 14 days at 100.00 of the old price, 8 of 16 days of the new 533.33.
    assert (w.balance(Account.REVENUE), w.balance(Account.DEFERRED_REVENUE)) == (
        Money("-1666.67", "USD"), Money("-266.66", "USD"))


class StaleFirstRead:
    """A store whose first ``entries()`` answer is an old snapshot: the view of a
    worker that read the ledger just before another worker posted."""

    def __init__(self, inner: BillingStore, snapshot: list[JournalEntry]) -> None:
        self._inner = inner
        self._snapshot: list[JournalEntry] | None = snapshot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            return snapshot
        return self._inner.entries(agreement_id=agreement_id)


def test_a_worker_with_a_stale_view_cannot_release_twice() -> None:
    w = Retainer(Money("3000.00", "USD"), date(2026, 4, 1), count=1)
    w.run(date(2026, 4, 1))
    seen_before = w.store.entries(agreement_id=AGR)
    stale = Biller(cast(BillingStore, StaleFirstRead(w.store, seen_before)), InMemoryGateway(),
                   clock=w.clock, firm_id=FIRM)
    w.recognise(date(2026, 4, 10))
    r = stale.recognise(date(2026, 4, 12))
    assert [e.id for e in r.entries] == ["agr-r:revenue:ret:000002"]
    assert w.balance(Account.DEFERRED_REVENUE) == Money("-1800.00", "USD")  # 12 of 30 days


def test_an_unknown_agreement_is_reported_not_raised() -> None:
    w = Retainer(Money("1.00", "USD"), date(2026, 1, 15), count=1)
    r = w.biller.recognise(date(2026, 1, 31), agreement_ids=[AgreementId("nobody")])
    assert [(p.agreement_id, p.error) for p in r.problems] == [("nobody", "NotFoundError")]


def test_service_periods_are_straight_line_daily_over_a_leap_february() -> None:
    w = Retainer(Money("2900", "JPY"), date(2028, 2, 1), count=1)
    w.run(date(2028, 2, 1))
    w.recognise(date(2028, 2, 10))
    assert (w.balance(Account.REVENUE), Period.of("2028-02-01", "2028-03-01").days) == (
        Money("-1000", "JPY"), 29)


def test_revenue_of_an_obligation_an_amendment_took_away_is_given_back() -> None:
    # Found by the model check: a cancellation back-dated to the start left the
    # revenue of the retainer it removed in the ledger for ever.
    start = date(2026, 3, 2)
    w = World(clock=FixedClock(datetime.combine(start, time(9), tzinfo=UTC)))
    retainer = RecurringCharge(ItemId("ret"), "Retainer", Money("310.00", "USD"),
                               Interval.MONTHLY, start=start, count=1)
    w.open(proposal(recurring=[retainer], collection=Collection.SEND_INVOICE),
           payment_method=None, agreement_id=AGR)
    w.on(date(2026, 3, 31))
    w.biller.recognise(date(2026, 3, 31))
    assert w.balance(Account.REVENUE) == Money("-300.00", "USD")
    w.amend(CancelAgreement(start, credit_unused=True), agreement_id=AGR)
    w.biller.run(w.clock.today())
    w.on(date(2026, 4, 30))
    assert w.biller.recognise(date(2026, 4, 30)).problems == ()
    assert w.balance(Account.REVENUE) == Money("0.00", "USD")
    assert w.balance(Account.CONTRACT_ASSET) == Money("0.00", "USD")
    assert w.balance(Account.CONTRACT_LIABILITY) == Money("0.00", "USD")

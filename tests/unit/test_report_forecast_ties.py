"""Forecasts tied to the ledger of a generated firm, to the cent.

The firm (:func:`~milestonebill.testing.firm.generated_firm`) is billed day
by day for two years, recognised at each month end.  What is true by
construction of the library:

* for months already past, a forecast shows what happened: billing is the
  receivable of the invoices less that of the credit notes, revenue what
  month-end recognition posted, cash what reached clearing and cash;
* as of an earlier month end, for the agreements nothing unforeseeable
  happened to afterwards (no amendment, cancellation, pause, refund or
  hours reported), and told the completion dates that came true, the
  billing and revenue forecasts are what the ledger then shows, and the
  cash forecast of card-paid agreements too (the in-memory gateway settles
  a card charge the day it is billed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import pytest

from milestonebill.agreement import (
    Agreement,
    AmendmentProposed,
    Cancelled,
    Paused,
    PaymentMethodKind,
    ProgressReported,
    Refunded,
)
from milestonebill.collection import auto_collects
from milestonebill.ledger import Account, JournalEntry
from milestonebill.periods import Period
from milestonebill.reports import (
    Assumptions,
    CollectionLag,
    billing_revenue_forecast,
    cash_forecast,
)
from milestonebill.testing.firm import Firm, generated_firm

PAST = date(2024, 6, 30)
CASH = (Account.CLEARING, Account.CASH, Account.GATEWAY_FEES, Account.PLATFORM_FEES)


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=120, months=24, seed=7)


@pytest.fixture(scope="module")
def entries(firm: Firm) -> list[JournalEntry]:
    return list(firm.store.entries())


def ledger(entries: Iterable[JournalEntry], period: Period, *,
           accounts: tuple[Account, ...], sign: int = 1,
           kept: Callable[[JournalEntry], bool] = lambda e: True) -> int:
    return sign * sum(ln.signed_minor for e in entries
                      if period.start <= e.posted_on < period.end and kept(e)
                      for ln in e.lines if ln.account in accounts)


def billing(e: JournalEntry) -> bool:
    return e.id.endswith((":issue", ":credit"))


def test_billing_for_months_already_past_is_what_the_ledger_invoiced_less_credit_notes(
        firm: Firm, entries: list[JournalEntry]) -> None:
    rows = billing_revenue_forecast(firm.agreements(), firm.through, periods=1, history=24)
    past = [r for r in rows if r.basis == "actual"]
    assert len(past) == 24
    assert [r.billed.minor for r in past] == [
        ledger(entries, r.period, accounts=(Account.RECEIVABLE,), kept=billing) for r in past]
    assert min(r.billed.minor for r in past) > 0


def test_revenue_for_months_already_past_is_what_month_end_recognition_posted(
        firm: Firm, entries: list[JournalEntry]) -> None:
    rows = billing_revenue_forecast(firm.agreements(), firm.through, periods=1, history=24)
    past = [r for r in rows if r.basis == "actual"]
    assert [r.revenue.minor for r in past] == [
        ledger(entries, r.period, accounts=(Account.REVENUE,), sign=-1) for r in past]


def test_cash_collected_in_months_already_past_is_what_reached_clearing_and_cash(
        firm: Firm, entries: list[JournalEntry]) -> None:
    rows = cash_forecast(firm.agreements(), firm.through, periods=1, history=24)
    past = [r for r in rows if r.basis == "actual"]
    assert [r.collected.minor for r in past] == [
        ledger(entries, r.period, accounts=CASH) for r in past]
    assert sum(r.collected.minor for r in past) == sum(
        firm.store.balance(a, currency="USD").minor for a in CASH)


def foreseeable(a: Agreement) -> bool:
    """Signed by ``PAST``, and nothing a forecast cannot know happened after it."""
    surprises = (AmendmentProposed, Cancelled, Paused, Refunded, ProgressReported)
    return a.signed_on <= PAST and not any(
        isinstance(e, surprises) and e.effective_at.date() > PAST for e in a.events)


def foresight(agreements: Iterable[Agreement]) -> Assumptions:
    return Assumptions(expected_dates={(a.id, m): d for a in agreements
                                       for m, d in a.completions.items() if d > PAST})


def test_with_the_completions_that_came_true_billing_and_revenue_forecasts_tie_to_the_ledger(
        firm: Firm, entries: list[JournalEntry]) -> None:
    chosen = [a for a in firm.agreements() if foreseeable(a)]
    ids = {a.id for a in chosen}
    assert len(chosen) >= 30
    rows = billing_revenue_forecast([a.as_of(PAST) for a in chosen], PAST, periods=3,
                                    assumptions=foresight(chosen))
    mine: Callable[[JournalEntry], bool] = lambda e: e.agreement_id in ids  # noqa: E731
    assert [(r.billed.minor, r.revenue.minor) for r in rows] == [
        (ledger(entries, r.period, accounts=(Account.RECEIVABLE,),
                kept=lambda e: mine(e) and billing(e)),
         ledger(entries, r.period, accounts=(Account.REVENUE,), sign=-1, kept=mine))
        for r in rows]


def test_with_the_completions_that_came_true_card_cash_forecasts_tie_to_the_ledger(
        firm: Firm, entries: list[JournalEntry]) -> None:
    chosen = [a for a in firm.agreements() if foreseeable(a) and auto_collects(a)
              and a.payment_method is not None
              and a.payment_method.kind is PaymentMethodKind.CARD]
    ids = {a.id for a in chosen}
    assert len(chosen) >= 10
    same_day = CollectionLag(card_days=0)
    assumptions = Assumptions(expected_dates=foresight(chosen).expected_dates, lag=same_day)
    rows = cash_forecast([a.as_of(PAST) for a in chosen], PAST, periods=3,
                         assumptions=assumptions)
    assert [r.total.minor for r in rows] == [
        ledger(entries, r.period, accounts=CASH, kept=lambda e: e.agreement_id in ids)
        for r in rows]
    assert min(r.total.minor for r in rows) > 0

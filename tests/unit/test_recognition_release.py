"""Revenue-only postings: ``billed_service``, ``release_entry``, ``recognition_entries``."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from milestonebill.errors import CurrencyMismatchError, ValidationError
from milestonebill.invoicing import (
    CreditNote,
    CreditNoteId,
    CreditReason,
    Invoice,
    InvoiceId,
    InvoiceLine,
    LineKind,
)
from milestonebill.ledger import Account, InMemoryLedger
from milestonebill.money import Money, Rounding
from milestonebill.periods import Period
from milestonebill.recognition import (
    Billing,
    ContractActivity,
    ContractId,
    RevenueEvent,
    billed_service,
    recognition_entries,
    release_entry,
)


def _invoice(amount: Money, period: Period | None, *, key: str = "r:ret:2026-01-01",
             issued_on: date = date(2026, 1, 1), inv: str = "inv-1") -> Invoice:
    kind = LineKind.MILESTONE if period is None else LineKind.RECURRING
    return Invoice.build(id=InvoiceId(inv), agreement_id="agr", currency=amount.currency,
                         issued_on=issued_on, due_on=issued_on,
                         lines=[InvoiceLine(f"{inv}:l", key, kind, "x", amount, period=period)])


def _credit(amount: Money, period: Period, *, key: str = "r:ret:2026-01-01",
            issued_on: date = date(2026, 1, 10)) -> CreditNote:
    return CreditNote.build(id=CreditNoteId("cn-1"), agreement_id="agr",
                            currency=amount.currency, issued_on=issued_on,
                            credits=InvoiceId("inv-1"), reason=CreditReason.AMENDMENT,
                            lines=[InvoiceLine("cn:l", key, LineKind.CREDIT, "x", amount,
                                               period=period)])


JAN = Period.of("2026-01-01", "2026-02-01")


def test_earned_is_cumulative_daily_and_rounded_once_in_kwd() -> None:
    inv = _invoice(Money("1.000", "KWD"), Period.of("2026-01-01", "2026-01-04"))
    earned = [billed_service([inv], [], date(2026, 1, d))[0].earned for d in (1, 2, 3)]
    assert earned == [Money("0.333", "KWD"), Money("0.667", "KWD"), Money("1.000", "KWD")]


def test_jpy_has_no_minor_units_to_round_to() -> None:
    inv = _invoice(Money("10000", "JPY"), JAN)
    (s,) = billed_service([inv], [], date(2026, 1, 15))
    assert (s.earned, s.unearned) == (Money("4839", "JPY"), Money("5161", "JPY"))


def test_the_rounding_is_a_named_choice() -> None:
    inv = _invoice(Money("1.00", "USD"), Period.of("2026-01-01", "2026-01-04"))
    (s,) = billed_service([inv], [], date(2026, 1, 2), rounding=Rounding.DOWN)
    assert s.earned == Money("0.66", "USD")


def test_nothing_is_earned_before_the_period_and_all_after_it() -> None:
    inv = _invoice(Money("310.00", "USD"), JAN, issued_on=date(2025, 12, 20))
    before = billed_service([inv], [], date(2025, 12, 31))[0].earned
    after = billed_service([inv], [], date(2026, 3, 1))[0].earned
    assert (before, after) == (Money("0.00", "USD"), Money("310.00", "USD"))


def test_documents_issued_after_the_date_are_ignored() -> None:
    inv = _invoice(Money("310.00", "USD"), JAN, issued_on=date(2026, 1, 5))
    assert billed_service([inv], [], date(2026, 1, 4)) == ()


def test_milestone_lines_are_not_service() -> None:
    assert billed_service([_invoice(Money("5.00", "USD"), None, key="m:x")], [],
                          date(2026, 1, 1)) == ()


def test_a_credited_tail_ends_the_service_period() -> None:
    inv = _invoice(Money("3100.00", "USD"), JAN)
    cn = _credit(Money("2100.00", "USD"), Period.of("2026-01-11", "2026-02-01"))
    (s,) = billed_service([inv], [cn], date(2026, 1, 31))
    assert (s.period, s.billed, s.earned) == (
        Period.of("2026-01-01", "2026-01-11"), Money("1000.00", "USD"), Money("1000.00", "USD"))


def test_a_whole_period_credit_respreads_the_rest_over_the_period() -> None:
    inv = _invoice(Money("3100.00", "USD"), JAN)
    cn = _credit(Money("1550.00", "USD"), JAN)
    (s,) = billed_service([inv], [cn], date(2026, 1, 10))
    assert (s.period, s.earned) == (JAN, Money("500.00", "USD"))


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        billed_service([_invoice(Money("1.00", "USD"), JAN),
                        _invoice(Money("1.00", "EUR"), JAN, inv="inv-2")], [], date(2026, 1, 5))


def test_a_datetime_is_refused_as_the_date() -> None:
    with pytest.raises(ValidationError):
        billed_service([], [], datetime(2026, 1, 1))


def test_a_release_reverses_revenue_when_less_is_earned_than_released() -> None:
    e = release_entry("x", date(2026, 1, 31), deferred=Money("-60.00", "USD"),
                      contract_asset=Money("0.00", "USD"), unearned=Money("0.00", "USD"))
    assert e is not None
    assert [(ln.side.value, ln.account, ln.amount) for ln in e.lines] == [
        ("credit", Account.DEFERRED_REVENUE, Money("60.00", "USD")),
        ("debit", Account.REVENUE, Money("60.00", "USD"))]


def test_billing_catching_up_reclassifies_the_contract_asset() -> None:
    e = release_entry("x", date(2026, 1, 31), deferred=Money("400", "JPY"),
                      contract_asset=Money("400", "JPY"), unearned=Money("0", "JPY"))
    assert e is not None
    assert [(ln.side.value, ln.account, ln.amount) for ln in e.lines] == [
        ("debit", Account.DEFERRED_REVENUE, Money("400", "JPY")),
        ("credit", Account.CONTRACT_ASSET, Money("400", "JPY"))]


def test_a_release_in_mixed_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        release_entry("x", date(2026, 1, 31), deferred=Money("1.00", "USD"),
                      contract_asset=Money("0.00", "USD"), unearned=Money("0", "JPY"))


def test_a_release_needs_money() -> None:
    with pytest.raises(ValidationError):
        release_entry("x", date(2026, 1, 31), deferred=1,  # type: ignore[arg-type]
                      contract_asset=Money("0.00", "USD"), unearned=Money("0.00", "USD"))


def kwd(v: str) -> Money:
    return Money(v, "KWD")


def _activity() -> ContractActivity:
    return ContractActivity(ContractId("c-1"), "KWD",
                            billings=[Billing(date(2026, 1, 1), kwd("3.000")),
                                      Billing(date(2026, 4, 1), kwd("1.000"))],
                            revenue=[RevenueEvent(date(2026, 1, 31), kwd("1.000")),
                                     RevenueEvent(date(2026, 2, 28), kwd("1.000")),
                                     RevenueEvent(date(2026, 3, 31), kwd("1.500")),
                                     RevenueEvent(date(2026, 4, 30), kwd("0.500"))])


def test_recognition_entries_leave_the_netted_position_each_month() -> None:
    ledger = InMemoryLedger()
    entries = recognition_entries(_activity())
    seen = []
    for e in entries:
        ledger.post(e)
        d, a = (ledger.balance(acct, currency="KWD", as_of=e.posted_on)
                for acct in (Account.DEFERRED_REVENUE, Account.CONTRACT_ASSET))
        seen.append((e.posted_on, d, a))
    # The billing side posts Cr deferred revenue 3.000 (Jan) and 1.000 (Apr); here
    # only the entries: cumulative Dr deferred = min(billed, recognised).
    assert seen == [
        (date(2026, 1, 31), Money("1.000", "KWD"), Money("0.000", "KWD")),
        (date(2026, 2, 28), Money("2.000", "KWD"), Money("0.000", "KWD")),
        (date(2026, 3, 31), Money("3.000", "KWD"), Money("0.500", "KWD")),
        (date(2026, 4, 30), Money("4.000", "KWD"), Money("0.000", "KWD")),
    ]
    assert ledger.balance(Account.REVENUE, currency="KWD") == Money("-4.000", "KWD")


def test_recognition_entries_have_period_ids_and_post_once() -> None:
    entries = recognition_entries(_activity())
    ledger = InMemoryLedger()
    first = [ledger.post(e) for e in entries]
    again = [ledger.post(e) for e in recognition_entries(_activity())]
    assert [e.id for e in entries][:2] == ["c-1:recognition:2026-01-01",
                                           "c-1:recognition:2026-02-01"]
    assert (all(first), any(again)) == (True, False)


def test_recognition_entries_never_touch_cash_or_receivable() -> None:
    accounts = {ln.account for e in recognition_entries(_activity()) for ln in e.lines}
    assert accounts <= {Account.REVENUE, Account.DEFERRED_REVENUE, Account.CONTRACT_ASSET}


def test_recognition_entries_refuse_other_input() -> None:
    with pytest.raises(ValidationError):
        recognition_entries([])  # type: ignore[arg-type]


def test_no_documents_means_no_service() -> None:
    assert billed_service([], [], date(2026, 1, 1)) == ()

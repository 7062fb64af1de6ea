"""Journal lines and entries refuse bad input; the in-memory ledger posts once per id."""

from __future__ import annotations

import pickle
from datetime import date, datetime

import pytest

from milestonebill.errors import (
    CurrencyMismatchError,
    DuplicateIdError,
    UnbalancedEntryError,
    ValidationError,
)
from milestonebill.ledger import (
    Account,
    EntryId,
    InMemoryLedger,
    JournalEntry,
    JournalLine,
    Side,
    period_bounds,
)
from milestonebill.money import Money

USD = "USD"


def entry(entry_id: str = "je-1", amount: str = "10.00", on: date = date(2024, 2, 29)) -> JournalEntry:
    m = Money(amount, USD)
    return JournalEntry(EntryId(entry_id), on,
                        (JournalLine.dr(Account.RECEIVABLE, m), JournalLine.cr(Account.REVENUE, m)))


def test_a_line_needs_exactly_one_side() -> None:
    with pytest.raises(ValidationError) as info:
        JournalLine(Account.CASH)
    assert info.value.field == "line"


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_line_amount_must_be_positive(amount: str) -> None:
    with pytest.raises(ValidationError) as info:
        JournalLine.dr(Account.CASH, Money(amount, USD))
    assert info.value.field == "debit"


def test_a_line_refuses_a_plain_number() -> None:
    with pytest.raises(TypeError):
        JournalLine(Account.CASH, debit=100)  # type: ignore[arg-type]


def test_a_line_accepts_an_account_name() -> None:
    line = JournalLine("cash", credit=Money("1.00", USD))
    assert (line.account, line.side, line.signed_minor) == (Account.CASH, Side.CREDIT, -100)


def test_an_unknown_account_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        JournalLine("petty_cash", debit=Money("1.00", USD))
    assert info.value.field == "account"


def test_an_unbalanced_entry_names_both_totals() -> None:
    with pytest.raises(UnbalancedEntryError) as info:
        JournalEntry(EntryId("je-9"), date(2024, 1, 1), (
            JournalLine.dr(Account.CASH, Money("100.00", USD)),
            JournalLine.cr(Account.REVENUE, Money("99.99", USD)),
        ))
    assert (info.value.debits, info.value.credits) == ("100.00 USD", "99.99 USD")


def test_an_unbalanced_entry_error_survives_pickling() -> None:
    err = UnbalancedEntryError("je-9", "1 JPY", "2 JPY")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


def test_a_mixed_currency_entry_is_refused() -> None:
    with pytest.raises(CurrencyMismatchError):
        JournalEntry(EntryId("je-1"), date(2024, 1, 1), (
            JournalLine.dr(Account.CASH, Money("100", "JPY")),
            JournalLine.cr(Account.REVENUE, Money("100", "USD")),
        ))


def test_an_entry_needs_two_lines() -> None:
    with pytest.raises(ValidationError) as info:
        JournalEntry(EntryId("je-1"), date(2024, 1, 1), (JournalLine.dr(Account.CASH, Money("1", USD)),))
    assert info.value.field == "lines"


def test_an_entry_refuses_a_datetime_as_its_date() -> None:
    with pytest.raises(ValidationError) as info:
        entry(on=datetime(2024, 1, 1))
    assert info.value.field == "posted_on"


def test_an_entry_refuses_an_empty_id() -> None:
    with pytest.raises(ValidationError) as info:
        entry(entry_id="")
    assert info.value.field == "id"


def test_a_three_decimal_entry_round_trips_through_json() -> None:
    m = Money("12.345", "KWD")
    e = JournalEntry(EntryId("je-kwd"), date(2024, 2, 29), (
        JournalLine.dr(Account.RECEIVABLE, m), JournalLine.cr(Account.DEFERRED_REVENUE, m),
    ), memo="Q1 retainer", agreement_id="agr-1")
    assert JournalEntry.from_json(e.to_json()) == e


def test_from_json_refuses_a_broken_record() -> None:
    with pytest.raises(ValidationError):
        JournalEntry.from_json({"id": "x"})


def test_the_ledger_refuses_something_that_is_not_an_entry() -> None:
    with pytest.raises(ValidationError):
        InMemoryLedger().post("je-1")  # type: ignore[arg-type]


def test_a_different_entry_under_a_used_id_raises() -> None:
    ledger = InMemoryLedger()
    ledger.post(entry(amount="10.00"))
    with pytest.raises(DuplicateIdError):
        ledger.post(entry(amount="10.01"))


def test_a_refund_reverses_the_receipt() -> None:
    ledger = InMemoryLedger()
    paid = Money("250.00", USD)
    ledger.post(JournalEntry(EntryId("pay"), date(2024, 3, 1), (
        JournalLine.dr(Account.CASH, paid), JournalLine.cr(Account.RECEIVABLE, paid))))
    ledger.post(JournalEntry(EntryId("refund"), date(2024, 3, 5), (
        JournalLine.dr(Account.REFUNDS, paid), JournalLine.cr(Account.CASH, paid))))
    assert ledger.balance(Account.CASH, currency=USD) == Money("0.00", USD)


def test_period_bounds_turn_as_of_into_the_next_day() -> None:
    assert period_bounds(date(2023, 12, 31), None) == (None, date(2024, 1, 1))


def test_every_account_has_a_normal_side() -> None:
    assert {a.normal_side for a in Account} == {Side.DEBIT, Side.CREDIT}

"""Write-offs of uncollectible balances, their recovery, and forfeited customer credit.

Every number is worked out by hand in the test: a 1,000.00 USD invoice sent
on Monday 2 March 2026, due on receipt, unless the test says otherwise.
"""

from __future__ import annotations

from datetime import date

import pytest

from milestonebill.agreement import Collection
from milestonebill.errors import (
    CardNumberError,
    DuplicateIdError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from milestonebill.gateways.base import GatewayEvent, GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import billing_position, invoice_balance
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.reports import (
    LeakageKind,
    MovementKind,
    aging,
    client_statement,
    leakage_audit,
    receivables,
)
from milestonebill.revenue import earned
from milestonebill.testing.scenarios import World, proposal, usd


def sent_invoice(amount: str = "1000.00") -> tuple[World[InMemoryGateway], InvoiceId]:
    """A send-invoice agreement of two milestones, the first invoiced today."""
    w = World()
    w.open(proposal([("design", amount), ("build", "500.00")],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    return w, InvoiceId(w.complete("design").invoices[0].id)


def books(w: World[InMemoryGateway]) -> dict[str, str]:
    return {a.value: str(m) for a, m in w.store.balances(currency="USD").items() if m.minor}


# ---------------------------------------------------------------- writing off


def test_writing_off_a_whole_balance_moves_the_receivable_to_bad_debt() -> None:
    w, inv = sent_invoice()
    w.later(90)
    a = w.biller.write_off(inv, reason="client insolvent")
    assert str(invoice_balance(a, inv)) == "0.00 USD"
    assert [(str(x.amount), x.reason) for x in a.write_offs] == [("1000.00 USD",
                                                                   "client insolvent")]
    assert books(w) == {"bad_debt": "1000.00 USD", "deferred_revenue": "-1000.00 USD"}
    assert w.notes()[-1] == "invoice.written_off"
    w.check_money()


def test_a_write_off_is_a_credit_loss_revenue_and_contract_value_stay() -> None:
    w, inv = sent_invoice()
    before = w.load()
    w.later(90)
    a = w.biller.write_off(inv, reason="client insolvent")
    assert billing_position(a) == billing_position(before)
    assert billing_position(a).balanced
    assert earned(a, date(2026, 6, 1)) == earned(before, date(2026, 6, 1))
    w.biller.recognise(date(2026, 6, 1))
    assert w.balance(Account.REVENUE) == usd("-1000.00")  # design is delivered: earned


def test_a_partial_write_off_leaves_the_rest_owed_and_overdue() -> None:
    w, inv = sent_invoice()
    w.later(10)
    w.biller.record_payment(inv, usd("250.00"), reference="wire-1")
    w.later(40)
    a = w.biller.write_off(inv, usd("300.00"), reason="disputed hours, settled")
    assert str(invoice_balance(a, inv)) == "450.00 USD"  # 1000 - 250 - 300
    (row,) = receivables([a], date(2026, 4, 11))
    assert (str(row.balance), row.days_past_due, row.status.value) == ("450.00 USD", 40,
                                                                       "overdue")
    assert w.balance(Account.RECEIVABLE) == usd("450.00")
    assert w.balance(Account.BAD_DEBT_EXPENSE) == usd("300.00")
    w.check_money()


def test_a_written_off_invoice_is_neither_overdue_nor_leaking() -> None:
    w, inv = sent_invoice()
    w.later(45)
    a = w.biller.write_off(inv, reason="client gone")
    assert list(receivables([a], date(2026, 5, 1))) == []
    assert [str(r.total) for r in aging([a], date(2026, 5, 1))] == []
    assert list(leakage_audit([a], date(2026, 5, 1))) == []
    # The day before, it was 44 days overdue.
    (row,) = receivables([a], date(2026, 4, 15))
    assert row.days_past_due == 44


def test_an_automatically_charged_invoice_written_off_is_not_charged_again() -> None:
    w = World()
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    w.open(proposal([("design", "1000.00")]))
    inv = InvoiceId(w.complete("design").invoices[0].id)
    a = w.biller.write_off(inv, reason="card keeps failing, client gone")
    assert len(a.attempts) == 1  # declined; the retry would be on the third day
    for day in range(1, 30):
        w.biller.run(w.later(day))
    assert (len(w.load().attempts), w.gateway.charges) == (1, ())
    assert w.store.next_due(a.id) is None
    assert list(leakage_audit([w.load()], w.clock.today())) == []


# ---------------------------------------------------------------- recovery


def test_a_payment_after_a_write_off_recovers_it_first() -> None:
    w, inv = sent_invoice()
    w.later(90)
    w.biller.write_off(inv, reason="client insolvent")
    w.later(120)
    a = w.biller.record_payment(inv, usd("400.00"), reference="liquidator-1")
    assert [str(r.amount) for r in a.recoveries] == ["400.00 USD"]
    assert (str(a.written_off(inv)), str(invoice_balance(a, inv))) == ("600.00 USD",
                                                                       "0.00 USD")
    assert books(w) == {"bad_debt": "600.00 USD", "cash": "400.00 USD",
                        "deferred_revenue": "-1000.00 USD"}
    assert w.notes()[-2:] == ["write_off.recovered", "payment.succeeded"]
    w.check_money()


def test_a_payment_beyond_the_write_off_is_an_overpayment_kept_as_credit() -> None:
    w, inv = sent_invoice()
    w.biller.write_off(inv, usd("600.00"), reason="settlement: 400.00 accepted")
    w.later(5)
    a = w.biller.record_payment(inv, usd("1100.00"), reference="wire-2")
    # 400.00 settles the balance, 600.00 recovers the write-off, 100.00 is overpaid.
    assert [str(r.amount) for r in a.recoveries] == ["600.00 USD"]
    assert str(invoice_balance(a, inv)) == "-100.00 USD"
    w.biller.run(w.clock.today())
    a = w.load()
    assert (str(invoice_balance(a, inv)), str(a.credit_balance)) == ("0.00 USD", "100.00 USD")
    assert w.balance(Account.BAD_DEBT_EXPENSE) == usd("0.00")
    w.check_money()


def test_a_gateway_payment_on_a_written_off_invoice_recovers_it() -> None:
    w = World()
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    w.open(proposal([("design", "1000.00")]))
    inv = InvoiceId(w.complete("design").invoices[0].id)
    w.biller.write_off(inv, reason="client gone")
    # The bank reports, late, that the declined attempt went through after all.
    w.biller.apply_gateway_event(GatewayEvent(
        "evt-late", GatewayEventKind.PAYMENT_SUCCEEDED, w.clock.now(), "pi_late",
        payment_ref="pi_late", agreement_id="agr-1", invoice_id=inv, attempt=1,
        amount=usd("1000.00")))
    a = w.load()
    assert [str(r.amount) for r in a.recoveries] == ["1000.00 USD"]
    assert (str(a.written_off(inv)), str(invoice_balance(a, inv))) == ("0.00 USD",
                                                                       "0.00 USD")
    assert w.balance(Account.BAD_DEBT_EXPENSE) == usd("0.00")
    w.check_money()


# ---------------------------------------------------------------- refusals


def test_writing_off_more_than_the_balance_is_refused_and_writes_nothing() -> None:
    w, inv = sent_invoice()
    w.biller.record_payment(inv, usd("250.00"), reference="wire-1")
    before = w.snapshot()
    with pytest.raises(ValidationError) as err:
        w.biller.write_off(inv, usd("750.01"), reason="too much")
    assert (err.value.field, err.value.got) == ("amount", repr(usd("750.01")))
    assert "750.00 USD" in str(err.value)
    assert w.snapshot() == before


def test_writing_off_a_paid_invoice_is_refused_and_writes_nothing() -> None:
    w, inv = sent_invoice()
    w.biller.record_payment(inv, usd("1000.00"), reference="wire-1")
    before = w.snapshot()
    with pytest.raises(InvalidTransitionError, match="nothing owed"):
        w.biller.write_off(inv, reason="paid already")
    assert w.snapshot() == before


@pytest.mark.parametrize(("amount", "reason", "error", "field"), [
    (usd("0.00"), "nothing", ValidationError, "amount"),
    (Money("10", "JPY"), "wrong currency", ValidationError, "amount"),
    (None, "  ", ValidationError, "reason"),
    (None, "card 4242 4242 4242 4242", CardNumberError, "reason"),
])
def test_bad_write_off_requests_name_the_field_and_write_nothing(
        amount: Money | None, reason: str, error: type[ValidationError], field: str) -> None:
    w, inv = sent_invoice()
    before = w.snapshot()
    with pytest.raises(error) as err:
        w.biller.write_off(inv, amount, reason=reason)
    assert err.value.field == field
    assert w.snapshot() == before


def test_an_unknown_invoice_cannot_be_written_off() -> None:
    w, _inv = sent_invoice()
    with pytest.raises(NotFoundError):
        w.biller.write_off(InvoiceId("inv_nope"), reason="no such invoice")


def test_an_invoice_whose_charge_is_still_processing_cannot_be_written_off() -> None:
    w = World()
    w.gateway.script_next(Scripted.stay_processing())
    w.open(proposal([("design", "1000.00")]))
    inv = InvoiceId(w.complete("design").invoices[0].id)
    before = w.snapshot()
    with pytest.raises(InvalidTransitionError, match="may still be paid"):
        w.biller.write_off(inv, reason="impatient")
    assert w.snapshot() == before


def test_a_write_off_retried_with_its_event_id_changes_nothing() -> None:
    w, inv = sent_invoice()
    first = w.biller.write_off(inv, usd("100.00"), reason="goodwill", event_id="req-7")
    entries = w.snapshot("entries", "notifications")
    again = w.biller.write_off(inv, usd("100.00"), reason="goodwill", event_id="req-7")
    assert again == first
    assert w.snapshot("entries", "notifications") == entries
    assert str(invoice_balance(again, inv)) == "900.00 USD"


def test_without_an_event_id_a_repeated_partial_write_off_writes_off_more() -> None:
    w, inv = sent_invoice()
    w.biller.write_off(inv, usd("100.00"), reason="goodwill")
    a = w.biller.write_off(inv, usd("100.00"), reason="goodwill")
    assert [str(x.amount) for x in a.write_offs] == ["100.00 USD", "100.00 USD"]


def test_an_event_id_used_for_another_invoice_is_refused() -> None:
    w, inv = sent_invoice()
    w.biller.write_off(inv, usd("100.00"), reason="goodwill", event_id="req-7")
    other = InvoiceId(w.complete("build").invoices[0].id)
    with pytest.raises(DuplicateIdError):
        w.biller.write_off(other, usd("100.00"), reason="goodwill", event_id="req-7")


# ---------------------------------------------------------------- forfeited credit


def credit_of_400() -> World[InMemoryGateway]:
    """Design (1,000.00) paid by card, then re-priced to 600.00: 400.00 of customer credit."""
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.complete("design")
    w.later(1)
    w.reprice("design", "600.00")
    assert str(w.load().credit_balance) == "400.00 USD"
    return w


def test_forfeited_credit_becomes_other_income() -> None:
    w = credit_of_400()
    a = w.biller.forfeit_credit(w.load().id, usd("150.00"), reason="expired after 12 months")
    assert str(a.credit_balance) == "250.00 USD"
    assert w.balance(Account.CUSTOMER_CREDIT) == usd("-250.00")
    assert w.balance(Account.OTHER_INCOME) == usd("-150.00")
    assert w.notes()[-1] == "credit.forfeited"
    a = w.biller.forfeit_credit(a.id, reason="client closed its account")  # the rest
    assert str(a.credit_balance) == "0.00 USD"
    assert w.balance(Account.OTHER_INCOME) == usd("-400.00")
    w.check_money()


def test_forfeited_credit_is_no_longer_applied_to_invoices() -> None:
    w = credit_of_400()
    w.biller.forfeit_credit(w.load().id, reason="expired")
    w.later(2)
    assert [str(c.amount) for c in w.complete("build").charges] == ["1500.00 USD"]


def test_forfeiting_more_credit_than_is_outstanding_is_refused() -> None:
    w = credit_of_400()
    before = w.snapshot()
    with pytest.raises(ValidationError) as err:
        w.biller.forfeit_credit(w.load().id, usd("400.01"), reason="too much")
    assert err.value.field == "amount"
    assert w.snapshot() == before


def test_forfeiting_without_credit_is_refused() -> None:
    w, _inv = sent_invoice()
    with pytest.raises(ValidationError, match="customer credit outstanding"):
        w.biller.forfeit_credit(w.load().id, reason="nothing there")


def test_a_forfeit_retried_with_its_event_id_changes_nothing() -> None:
    w = credit_of_400()
    first = w.biller.forfeit_credit(w.load().id, usd("50.00"), reason="fee", event_id="f-1")
    again = w.biller.forfeit_credit(w.load().id, usd("50.00"), reason="fee", event_id="f-1")
    assert again == first
    assert str(again.credit_balance) == "350.00 USD"


# ---------------------------------------------------------------- statements


def test_the_statement_shows_the_write_off_and_its_recovery() -> None:
    w, inv = sent_invoice()
    w.later(20)
    w.biller.write_off(inv, reason="client insolvent")
    w.later(40)
    w.biller.record_payment(inv, usd("400.00"), reference="liquidator-1")
    lines = client_statement([w.load()], "Acme", Period.month(2026, 4))
    assert [(ln.on, ln.kind, str(ln.amount), str(ln.balance)) for ln in lines] == [
        (date(2026, 4, 1), MovementKind.OPENING, "0.00 USD", "0.00 USD"),
        (date(2026, 4, 11), MovementKind.RECOVERY, "400.00 USD", "400.00 USD"),
        (date(2026, 4, 11), MovementKind.PAYMENT, "-400.00 USD", "0.00 USD"),
        (date(2026, 4, 30), MovementKind.CLOSING, "0.00 USD", "0.00 USD")]
    march = client_statement([w.load()], "Acme", Period.month(2026, 3))
    assert [(ln.kind, str(ln.balance)) for ln in march][1:3] == [
        (MovementKind.INVOICE, "1000.00 USD"), (MovementKind.WRITE_OFF, "0.00 USD")]


def test_the_statement_shows_forfeited_credit() -> None:
    w = credit_of_400()
    w.biller.forfeit_credit(w.load().id, usd("150.00"), reason="expired")
    lines = client_statement([w.load()], "Acme", Period.month(2026, 3))
    last = [ln for ln in lines if ln.kind is MovementKind.CREDIT_FORFEITED]
    assert [(str(ln.amount), str(ln.credit)) for ln in last] == [("0.00 USD", "250.00 USD")]
    assert str(lines[-1].credit) == "250.00 USD"


def test_written_off_balances_do_not_leak_but_a_stuck_charge_still_does() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "500.00")]))
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    inv = InvoiceId(w.complete("design").invoices[0].id)
    w.biller.write_off(inv, usd("400.00"), reason="partial settlement")
    # 600.00 is still owed: the retry is due on the third day and missed here.
    leaks = leakage_audit([w.load()], date(2026, 3, 10))
    assert [(r.kind, str(r.amount)) for r in leaks] == [(LeakageKind.RETRY_MISSED,
                                                          "600.00 USD")]

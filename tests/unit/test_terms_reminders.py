"""Reminders of unpaid invoices and late fees, with hand-computed dates and amounts.

Unless a test says otherwise: a send-invoice agreement signed on Monday
2 March 2026, whose Design milestone (1,000.00 USD, net 14) is invoiced that
day and due on 16 March, and the default schedule -- 7 days before the due
date (9 March), on it (16 March), 7, 14 and 30 days after (23 March,
30 March, 15 April).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from milestonebill.agreement import Collection, RemoveMilestone, contract_value
from milestonebill.engine import DEFAULT_REMINDERS, Biller
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import billing_position
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.reminders import NO_REMINDERS, ReminderSchedule, late_fees_due, reminder_key
from milestonebill.reports import LeakageKind, leakage_audit
from milestonebill.schedule import LateFee, Milestone, MilestoneId, PaymentTerms
from milestonebill.testing.scenarios import FIRM, World, proposal, usd

DUE = date(2026, 3, 16)


def sent(amount: str = "1000.00", *, net: int = 14, late_fee: LateFee | None = None,
         currency: str = "USD", **biller: Any) -> tuple[World[InMemoryGateway], InvoiceId]:
    m = Milestone(MilestoneId("design"), "Design", amount=Money(amount, currency),
                  terms=PaymentTerms.net(net))
    offer = attrs.evolve(proposal([m], currency=currency, collection=Collection.SEND_INVOICE),
                         late_fee=late_fee)
    w = World(**biller)
    w.open(offer, payment_method=None)
    return w, InvoiceId(w.complete("design").invoices[0].id)


def run_through(w: World[InMemoryGateway], last: date, *, twice: bool = False) -> None:
    """Run every day from the clock's day after today through ``last``."""
    day = w.clock.today()
    while day < last:
        day += timedelta(days=1)
        w.on(day)
        w.biller.run(day)
        if twice:
            w.worker().run(day)


def reminders(w: World[InMemoryGateway]) -> list[tuple[str, int, date]]:
    """(kind, step, day sent) of every reminder notification, in order."""
    notes = [n for n in w.store.pending_notifications(1000)
             if n.kind in ("invoice.reminder", "invoice.overdue")]
    sent_on = {(r.invoice_id, r.step): r.effective_at.date() for r in w.load().reminders}
    return [(n.kind, n.data["step"], sent_on[(n.data["invoice_id"], n.data["step"])])
            for n in notes]


# ---------------------------------------------------------------- reminders


def test_each_reminder_goes_out_once_on_its_day() -> None:
    w, _inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 5, 31), twice=True)
    assert reminders(w) == [
        ("invoice.reminder", -7, date(2026, 3, 9)),
        ("invoice.reminder", 0, date(2026, 3, 16)),
        ("invoice.overdue", 7, date(2026, 3, 23)),
        ("invoice.overdue", 14, date(2026, 3, 30)),
        ("invoice.overdue", 30, date(2026, 4, 15))]


def test_the_work_queue_claims_the_agreement_on_each_reminder_day() -> None:
    w, _inv = sent(reminders=DEFAULT_REMINDERS)
    aid = w.load().id
    due: list[date | None] = [w.store.next_due(aid)]
    for day in (date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30),
                date(2026, 4, 15)):
        w.on(day)
        w.biller.run(day)
        due.append(w.store.next_due(aid))
    assert due == [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30),
                   date(2026, 4, 15), None]


def test_a_reminder_notification_names_the_invoice_and_step() -> None:
    w, inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 3, 9))
    note = w.store.pending_notifications(100)[-1]
    assert (note.key, note.kind) == (reminder_key(inv, -7), "invoice.reminder")
    assert note.data == {"invoice_id": inv, "number": "INV-000001", "step": -7,
                         "due_on": "2026-03-16", "reminded_on": "2026-03-09",
                         "balance": {"amount": "1000.00", "currency": "USD"},
                         "collection": "send_invoice"}


def test_reminders_stop_when_the_invoice_is_paid() -> None:
    w, inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 3, 20))
    w.biller.record_payment(inv, usd("1000.00"), reference="wire-1")
    run_through(w, date(2026, 5, 31))
    assert [step for _k, step, _d in reminders(w)] == [-7, 0]
    assert w.store.next_due(w.load().id) is None


def test_a_partly_paid_invoice_is_reminded_of_what_it_still_owes() -> None:
    w, inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 3, 20))
    w.biller.record_payment(inv, usd("600.00"), reference="wire-1")
    run_through(w, date(2026, 3, 23))
    assert [(r.step, str(r.balance)) for r in w.load().reminders][-1] == (7, "400.00 USD")


def test_reminders_stop_when_the_invoice_is_written_off() -> None:
    w, inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 3, 24))
    w.biller.write_off(inv, reason="client insolvent")
    run_through(w, date(2026, 5, 31))
    assert [step for _k, step, _d in reminders(w)] == [-7, 0, 7]


def test_reminders_stop_when_the_invoice_is_credited() -> None:
    w, _inv = sent(reminders=DEFAULT_REMINDERS)
    run_through(w, date(2026, 3, 10))
    w.amend(RemoveMilestone(date(2026, 3, 10), MilestoneId("design")))
    run_through(w, date(2026, 5, 31))
    assert [step for _k, step, _d in reminders(w)] == [-7]
    assert [c.reason.value for c in w.load().credit_notes] == ["amendment"]


def test_a_late_run_sends_only_the_latest_reminder_that_fell() -> None:
    w, _inv = sent(reminders=DEFAULT_REMINDERS)
    for day in (date(2026, 4, 1), date(2026, 4, 1), date(2026, 4, 15)):
        w.on(day)
        w.biller.run(day)
    assert reminders(w) == [("invoice.overdue", 14, date(2026, 4, 1)),
                            ("invoice.overdue", 30, date(2026, 4, 15))]


def test_an_invoice_due_on_receipt_is_first_reminded_after_it() -> None:
    w, _inv = sent(net=0, reminders=DEFAULT_REMINDERS)
    assert w.store.next_due(w.load().id) == date(2026, 3, 9)  # 7 days after, not -7 or 0
    run_through(w, date(2026, 4, 30))
    assert [step for _k, step, _d in reminders(w)] == [7, 14, 30]


def test_automatically_charged_invoices_get_no_reminders() -> None:
    w = World(reminders=DEFAULT_REMINDERS)
    w.gateway.script_next(*[Scripted.decline("insufficient_funds")] * 4)
    w.open(proposal([("design", "1000.00")]))
    w.complete("design")
    run_through(w, date(2026, 5, 31))
    assert w.load().reminders == ()
    assert reminders(w) == []


def test_without_a_schedule_the_biller_sends_no_reminders() -> None:
    w, _inv = sent()
    assert w.store.next_due(w.load().id) is None
    run_through(w, date(2026, 5, 31))
    assert reminders(w) == []


def test_a_custom_schedule_is_followed() -> None:
    w, _inv = sent(reminders=ReminderSchedule((1, 45)))
    run_through(w, date(2026, 5, 31))
    assert reminders(w) == [("invoice.overdue", 1, date(2026, 3, 17)),
                            ("invoice.overdue", 45, date(2026, 4, 30))]


@pytest.mark.parametrize("days", [(7, 7), (14, 7), (1.5,), (3661,), ("7",)])
def test_a_schedule_must_be_strictly_increasing_whole_days(days: tuple[object, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        ReminderSchedule(days)  # type: ignore[arg-type]
    assert err.value.field == "days"


def test_the_biller_refuses_a_schedule_that_is_not_one() -> None:
    with pytest.raises((ValidationError, InvalidInputError), match="reminders"):
        Biller(World().store, InMemoryGateway(), clock=World().clock, firm_id=FIRM,
               reminders=(7, 14))  # type: ignore[arg-type]
    assert ReminderSchedule() == NO_REMINDERS


# ---------------------------------------------------------------- late fees


def fees(w: World[InMemoryGateway]) -> list[tuple[date, str, str]]:
    """(issued on, total, the invoice it charges a fee on) of every late-fee invoice."""
    a = w.load()
    numbers: dict[str, str | None] = {i.id: i.number for i in a.invoices}
    return [(i.issued_on, str(i.total), str(numbers[i.lines[0].adjusts or ""]))
            for i in a.invoices if i.lines[0].kind.value == "late_fee"]


def test_a_percentage_late_fee_is_charged_once_30_days_after_the_due_date() -> None:
    w, _inv = sent("1234.56", late_fee=LateFee(after_days=30, percent=Decimal("1.5")))
    run_through(w, date(2026, 6, 30), twice=True)
    # 1,234.56 x 1.5 % = 18.5184, rounded half up: 18.52, on 16 March + 30 days.
    assert fees(w) == [(date(2026, 4, 15), "18.52 USD", "INV-000001")]
    fee = w.load().invoices[1]
    assert (fee.due_on, fee.tax_total, fee.lines[0].item_key) == (date(2026, 4, 15),
                                                                 usd("0.00"), None)


def test_a_late_fee_is_other_income_and_changes_neither_revenue_nor_contract_value() -> None:
    w, _inv = sent("1234.56", late_fee=LateFee(after_days=30, percent=Decimal("1.5")))
    before = contract_value(w.load())
    run_through(w, date(2026, 4, 30))
    a = w.load()
    assert (contract_value(a), billing_position(a).balanced) == (before, True)
    assert w.balance(Account.OTHER_INCOME) == usd("-18.52")
    assert w.balance(Account.RECEIVABLE) == usd("1253.08")  # 1,234.56 + 18.52
    assert w.balance(Account.CONTRACT_LIABILITY) == usd("-1234.56")
    w.biller.recognise(date(2026, 4, 30))
    assert w.balance(Account.REVENUE) == usd("-1234.56")
    w.check_money()


def test_periodic_fees_follow_the_balance_and_stop_at_the_limit() -> None:
    term = LateFee(after_days=30, percent=Decimal("1.5"), every_days=30, max_fees=3)
    w, inv = sent(late_fee=term)
    run_through(w, date(2026, 4, 20))
    w.biller.record_payment(inv, usd("400.00"), reference="wire-1")
    run_through(w, date(2026, 9, 30))
    # 1.5 % of 1,000.00 on 15 April; of the 600.00 left on 15 May and 14 June.
    assert fees(w) == [(date(2026, 4, 15), "15.00 USD", "INV-000001"),
                       (date(2026, 5, 15), "9.00 USD", "INV-000001"),
                       (date(2026, 6, 14), "9.00 USD", "INV-000001")]


def test_compounding_fees_are_charged_on_the_unpaid_fees_too() -> None:
    term = LateFee(after_days=30, percent=Decimal(2), every_days=30, compound=True)
    w, _inv = sent(late_fee=term)
    run_through(w, date(2026, 6, 20))
    # 2 % of 1,000.00; of 1,020.00; of 1,040.40 (20.808, rounded half up).
    assert fees(w) == [(date(2026, 4, 15), "20.00 USD", "INV-000001"),
                       (date(2026, 5, 15), "20.40 USD", "INV-000001"),
                       (date(2026, 6, 14), "20.81 USD", "INV-000001")]


def test_fees_do_not_compound_unless_the_term_says_so() -> None:
    term = LateFee(after_days=30, percent=Decimal(2), every_days=30)
    w, _inv = sent(late_fee=term)
    run_through(w, date(2026, 6, 20))
    assert [total for _d, total, _n in fees(w)] == ["20.00 USD"] * 3


def test_a_fixed_late_fee_in_yen() -> None:
    w, _inv = sent("100000", currency="JPY",
                   late_fee=LateFee(after_days=15, fixed=Money("2500", "JPY")))
    run_through(w, date(2026, 5, 31))
    assert fees(w) == [(date(2026, 3, 31), "2500 JPY", "INV-000001")]


def test_a_percentage_fee_in_dinars_rounds_to_the_fils() -> None:
    w, _inv = sent("1234.567", currency="KWD",
                   late_fee=LateFee(after_days=30, percent=Decimal("1.5")))
    run_through(w, date(2026, 4, 15))
    # 1,234.567 x 1.5 % = 18.518505 KWD: 18.519.
    assert fees(w) == [(date(2026, 4, 15), "18.519 KWD", "INV-000001")]


def test_a_late_run_charges_every_fee_that_fell_once() -> None:
    term = LateFee(after_days=30, percent=Decimal("1.5"), every_days=30)
    w, _inv = sent(late_fee=term)
    for day in (date(2026, 6, 20), date(2026, 6, 20)):
        w.on(day)
        w.biller.run(day)
    assert fees(w) == [(date(2026, 6, 20), "15.00 USD", "INV-000001")] * 3
    assert w.store.next_due(w.load().id) == date(2026, 7, 14)


def test_no_fee_on_an_invoice_paid_in_time_or_written_off() -> None:
    term = LateFee(after_days=30, fixed=usd("40.00"))
    w, inv = sent(late_fee=term)
    w.later(20)
    w.biller.record_payment(inv, usd("1000.00"), reference="wire-1")
    run_through(w, date(2026, 6, 30))
    w2, inv2 = sent(late_fee=term)
    w2.biller.write_off(inv2, reason="client insolvent")
    run_through(w2, date(2026, 6, 30))
    assert (fees(w), fees(w2)) == ([], [])


def test_late_fee_invoices_bear_no_fees_but_are_reminded() -> None:
    term = LateFee(after_days=30, fixed=usd("40.00"), every_days=30, max_fees=2)
    w, _inv = sent(late_fee=term, reminders=ReminderSchedule((10,)))
    run_through(w, date(2026, 8, 31))
    assert [n for _d, _t, n in fees(w)] == ["INV-000001", "INV-000001"]
    sent_for = {r.invoice_id for r in w.load().reminders}
    assert sent_for == {i.id for i in w.load().invoices}


def test_dry_run_shows_the_fee_a_run_would_charge() -> None:
    w, _inv = sent(late_fee=LateFee(after_days=30, fixed=usd("40.00")))
    w.on(date(2026, 4, 15))
    preview = w.biller.dry_run(date(2026, 4, 15))
    assert [(d.number, str(d.total), d.lines[0].description) for d in preview.invoices] == [
        (None, "40.00 USD", "Late fee on INV-000001")]
    assert fees(w) == []


def test_a_fee_that_fell_and_was_not_charged_leaks() -> None:
    w, _inv = sent(late_fee=LateFee(after_days=30, fixed=usd("40.00")))
    a = w.load()
    assert len(leakage_audit([a], date(2026, 4, 15))) == 0  # that day's run may still do it
    (leak,) = leakage_audit([a], date(2026, 4, 16))
    assert (leak.kind, str(leak.amount), leak.since) == (LeakageKind.LATE_FEE_NOT_CHARGED,
                                                        "40.00 USD", date(2026, 4, 15))
    assert len(late_fees_due(a, date(2026, 4, 15))) == 1


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"after_days": 30}, "percent"),
    ({"after_days": 30, "percent": Decimal(1), "fixed": usd("1.00")}, "percent"),
    ({"after_days": 0, "percent": Decimal(1)}, "after_days"),
    ({"after_days": 30, "percent": Decimal(101)}, "percent"),
    ({"after_days": 30, "fixed": usd("0.00")}, "fixed"),
    ({"after_days": 30, "percent": Decimal(1), "max_fees": 2}, "max_fees"),
    ({"after_days": 30, "percent": Decimal(1), "compound": True}, "compound"),
    ({"after_days": 30, "fixed": usd("5.00"), "every_days": 30, "compound": True},
     "compound"),
    ({"after_days": 30, "percent": Decimal(1), "every_days": 0}, "every_days"),
])
def test_a_late_fee_term_is_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        LateFee(**kwargs)  # type: ignore[arg-type]
    assert field in str(err.value)


def test_a_late_fee_is_a_term_of_sent_invoices_in_the_proposal_currency() -> None:
    fee = LateFee(after_days=30, fixed=Money("40.00", "EUR"))
    with pytest.raises(ValidationError) as err:
        attrs.evolve(proposal([("design", "1000.00")]), late_fee=fee)
    assert "late_fee" in str(err.value)
    assert "send_invoice" in str(err.value)
    assert "late_fee.fixed" in str(err.value)
    assert "USD" in str(err.value)

"""The leakage audit: each kind of leak found when it is caused, nothing on a healthy firm.

Each leak is made with the engine's own pieces: a host event recorded and
never billed, a Biller that crashes between two units of work, a run that
is skipped, or an event applied by hand to a replayed agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ChangeMilestoneAmount,
    Collection,
    InvoiceIssued,
    apply,
    complete_milestone,
    pause,
)
from milestonebill.collection import RetryPolicy
from milestonebill.documents import Invoice
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.invoicing import due_invoices
from milestonebill.reports import LeakageKind, leakage_audit
from milestonebill.schedule import (
    Escalation,
    Interval,
    ItemId,
    MilestoneId,
    RecurringCharge,
)
from milestonebill.testing.faults import Faults
from milestonebill.testing.scenarios import T0, World, proposal, usd

D0 = T0.date()


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def leaks(w: World[InMemoryGateway], as_of: date, **kw: RetryPolicy
          ) -> list[tuple[str, str, str, date]]:
    return [(r.kind.value, r.what, str(r.amount), r.since)
            for r in leakage_audit([w.load()], as_of, **kw)]


class Crash(Exception):
    """A worker dies at a step boundary."""


def crashing_at(step: str) -> tuple[Faults, Callable[[bool], None]]:
    """Faults that crash at ``step`` while armed, and the switch that arms them."""
    armed = [False]

    def hook(at: str) -> None:
        if armed[0] and at == step:
            armed[0] = False
            raise Crash(step)

    def arm(on: bool) -> None:
        armed[0] = on

    return Faults(hook), arm


# ------------------------------------------------------------------ nothing leaks


def _retainer(start: date, price: str = "1000.00") -> RecurringCharge:
    """Monthly in advance from ``start``, 10 % more from 2 April 2026."""
    return RecurringCharge(ItemId("retainer"), "Retainer", usd(price), Interval.MONTHLY,
                           start=start, count=6, escalations=(
                               Escalation(percent=Decimal(10), dates=(date(2026, 4, 2),)),))


def test_a_healthy_firm_billed_every_day_leaks_nothing_on_any_day() -> None:
    w = World(retry_policy=RetryPolicy(spacing_days=(2,)))
    card, sent, monthly = AgreementId("agr-card"), AgreementId("agr-sent"), AgreementId("agr-r")
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]), agreement_id=card)
    w.open(proposal([("audit", "800.00")], collection=Collection.SEND_INVOICE),
           payment_method=None, agreement_id=sent)
    w.open(proposal(recurring=[_retainer(D0)]), agreement_id=monthly)
    def declined_then_retried() -> object:
        w.gateway.script_next(Scripted.decline("insufficient_funds"))
        return w.complete("design", card)

    script: dict[int, Callable[[], object]] = {
        3: lambda: w.complete("audit", sent),
        5: declined_then_retried,
        20: lambda: w.reprice("design", "900.00", agreement_id=card),
        40: lambda: w.complete("build", card),
    }
    for n in range(120):
        w.later(n)
        w.biller.run(day(n))
        if n in script:
            w.later(n, hours=3)
            script[n]()
        agreements = [w.load(a) for a in (card, sent, monthly)]
        assert list(leakage_audit(agreements, day(n), policy=RetryPolicy(spacing_days=(2,)))) \
            == [], day(n)
    # It did bill: the escalated retainer, the retry, the repricing's credit.
    a = w.load(monthly)
    assert [str(i.total) for i in a.invoices] == [
        "1000.00 USD", "1100.00 USD", "1100.00 USD", "1100.00 USD"]
    assert len(w.load(card).failures) == 1
    assert w.load(card).credit_balance == usd("0.00")


# ------------------------------------------------------------------ each leak


def test_a_completed_milestone_never_invoiced_leaks_from_the_day_after() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
           payment_method=None)
    w.biller.record(w.load().id, [complete_milestone(w.load(), MilestoneId("design"), by="Ada",
                                                     at=w.clock.now())])
    assert leaks(w, day(0)) == []  # the next run may still bill it
    assert leaks(w, day(1)) == [
        ("milestone_not_invoiced", "Design: not invoiced", "1000.00 USD", day(0))]
    w.later(1)
    w.biller.run(day(1))
    assert leaks(w, day(1)) == []


def test_a_service_period_whose_billing_day_passed_unbilled_leaks() -> None:
    w = World()
    w.open(proposal(recurring=[_retainer(D0)]))
    w.biller.run(day(0))
    # No run from 2 March until 3 April: the April period (due 2 April) is unbilled.
    assert leaks(w, date(2026, 4, 3)) == [
        ("period_not_invoiced", "Retainer [2026-04-02, 2026-05-02): not invoiced",
         "1100.00 USD", date(2026, 4, 2))]


def test_an_invoice_a_crashed_worker_never_charged_leaks() -> None:
    faults, arm = crashing_at("before_attempt")
    w = World(faults=faults)
    w.open(proposal([("design", "1000.00")]))
    arm(True)
    with pytest.raises(Crash):
        w.complete("design")
    assert [i.number for i in w.load().invoices] == ["INV-000001"]
    assert leaks(w, day(1)) == [
        ("not_charged", "Invoice INV-000001: no charge attempt 1", "1000.00 USD", day(0))]
    w.later(1)
    w.biller.run(day(1))
    assert leaks(w, day(1)) == []
    assert w.charged() == [usd("1000.00")]


def test_a_failed_charge_whose_retry_day_passed_without_a_retry_leaks() -> None:
    policy = RetryPolicy(spacing_days=(2,))
    w = World(retry_policy=policy)
    w.open(proposal([("design", "1000.00")]))
    w.gateway.script_next(Scripted.decline("insufficient_funds"))
    w.complete("design")
    assert leaks(w, day(2), policy=policy) == []  # the retry is due today
    assert leaks(w, day(3), policy=policy) == [
        ("retry_missed", "Invoice INV-000001: retry (attempt 2) due 2026-03-04 not made",
         "1000.00 USD", day(2))]
    # Declined for good: retries stop, nothing leaks (dunning says exhausted).
    w.later(3)
    w.gateway.script_next(Scripted.decline("stolen_card"))
    w.biller.run(day(3))
    assert leaks(w, day(10), policy=policy) == []


def test_an_approved_amendment_not_billed_after_its_effective_date_leaks() -> None:
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.complete("design")
    w.complete("build")
    w.later(4)
    w.amend(ChangeMilestoneAmount(day(4), MilestoneId("design"), usd("1200.00")),
            ChangeMilestoneAmount(day(4), MilestoneId("build"), usd("1400.00")))
    assert leaks(w, day(4)) == []
    assert leaks(w, day(5)) == [
        ("amendment_not_billed", "Adjustment: Design (amendment am-1): not billed",
         "200.00 USD", day(4)),
        ("amendment_not_billed", "Credit: Build (amendment am-1): not credited",
         "100.00 USD", day(4)),
    ]
    w.later(5)
    w.biller.run(day(5))
    assert leaks(w, day(5)) == []


def _billed_short() -> Agreement:
    """A sent-invoice retainer whose April period was invoiced by hand at the old price."""
    w = World()
    w.open(proposal(recurring=[_retainer(D0)], collection=Collection.SEND_INVOICE),
           payment_method=None)
    w.biller.run(day(0))
    a = w.load()
    (draft,) = due_invoices(a, date(2026, 4, 2))
    line = attrs.evolve(draft.lines[0], amount=usd("1000.00"))
    short = Invoice.build(id=draft.id, agreement_id=a.id, currency=a.currency,
                          issued_on=draft.issued_on, due_on=draft.due_on, lines=[line],
                          number="INV-000002")
    return apply(a, InvoiceIssued(f"{a.id}:issued:{short.id}", a.version + 1,
                                     datetime(2026, 4, 2, 9, tzinfo=UTC), short))


def test_an_escalation_that_did_not_apply_leaks_from_the_day_it_was_billed() -> None:
    a = _billed_short()
    for as_of in (date(2026, 4, 2), date(2026, 4, 3)):
        assert [(r.kind, r.what, str(r.amount), r.since) for r in leakage_audit([a], as_of)] == [
            (LeakageKind.ESCALATION_NOT_APPLIED,
             "Retainer [2026-04-02, 2026-05-02): billed 1000.00 USD, escalated price "
             "1100.00 USD", "100.00 USD", date(2026, 4, 2))]


def test_an_escalation_billed_short_still_leaks_once_the_agreement_is_paused() -> None:
    """A pause stops what is billed next, not what was billed wrong: the audit's
    shortcut for agreements with nothing due must not hide it."""
    a = _billed_short()
    paused = apply(a, pause(a, at=datetime(2026, 4, 2, 12, tzinfo=UTC), reason="client away"))
    assert [(r.kind, str(r.amount)) for r in leakage_audit([paused], date(2026, 4, 3))] == [
        (LeakageKind.ESCALATION_NOT_APPLIED, "100.00 USD")]


def test_customer_credit_left_unapplied_beside_an_open_invoice_leaks() -> None:
    faults, arm = crashing_at("before_credit")
    w = World(faults=faults)
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.complete("design")
    w.later(3)
    w.reprice("design", "800.00")  # paid 1,000.00: 200.00 becomes customer credit
    assert w.load().credit_balance == usd("200.00")
    w.later(10)
    arm(True)
    with pytest.raises(Crash):
        w.complete("build")  # invoiced; the worker dies before applying the credit
    assert leaks(w, day(10)) == []
    assert leaks(w, day(11)) == [
        ("credit_unapplied", "customer credit 200.00 USD not applied to open INV-000002",
         "200.00 USD", day(10)),
        ("not_charged", "Invoice INV-000002: no charge attempt 1", "1300.00 USD", day(10)),
    ]
    w.later(11)
    w.biller.run(day(11))
    assert leaks(w, day(11)) == []
    assert w.charged() == [usd("1000.00"), usd("1300.00")]


# ------------------------------------------------------------------ bad input


def test_an_audit_before_an_agreements_signing_is_refused_naming_it() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]))
    with pytest.raises(ValidationError) as err:
        leakage_audit([w.load()], day(-1))
    assert err.value.field == "as_of"
    assert "'agr-1'" in str(err.value)

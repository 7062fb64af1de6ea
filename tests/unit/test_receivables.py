"""Receivables and aging, replayed to any date, with hand-checked numbers.

Every scenario starts on Monday 2 March 2026 (``T0``); invoices are due on
receipt unless a milestone says otherwise, so an invoice issued on day D
is ``as_of - D`` days past due.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from milestonebill.agreement import (
    AgreementId,
    Collection,
    PaymentMethodKind,
    PaymentMethodRef,
    Refunded,
    apply,
)
from milestonebill.collection import CreditPolicy, RetryPolicy
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.reports import (
    AgingBucket,
    ReceivableStatus,
    aging,
    receivables,
)
from milestonebill.schedule import Milestone, MilestoneId, PaymentTerms
from milestonebill.testing.scenarios import T0, World, proposal, usd

D0 = T0.date()
BANK = PaymentMethodRef("memory", "cus_1", "pm_bank", PaymentMethodKind.BANK_DEBIT)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def send_invoice_world() -> World[InMemoryGateway]:
    """Acme's 1,000.00 design milestone invoiced on 2 March, nothing paid."""
    w = World()
    w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
           payment_method=None)
    w.complete("design")
    return w


# ------------------------------------------------------------------ buckets


@pytest.mark.parametrize(("days", "bucket"), [
    (0, AgingBucket.CURRENT), (1, AgingBucket.DAYS_1_30), (30, AgingBucket.DAYS_1_30),
    (31, AgingBucket.DAYS_31_60), (60, AgingBucket.DAYS_31_60), (61, AgingBucket.DAYS_61_90),
    (90, AgingBucket.DAYS_61_90), (91, AgingBucket.OVER_90)])
def test_an_invoice_moves_into_the_next_bucket_the_day_after_each_boundary(
        days: int, bucket: AgingBucket) -> None:
    w = send_invoice_world()
    (row,) = receivables([w.load()], day(days))
    assert (row.due_on, row.days_past_due, row.bucket, row.balance) == (
        D0, days, bucket, usd("1000.00"))
    assert row.status is (ReceivableStatus.CURRENT if days == 0 else ReceivableStatus.OVERDUE)


def test_an_invoice_with_net_terms_is_current_until_its_due_date() -> None:
    w = World()
    net30 = Milestone(MilestoneId("design"), "Design", amount=usd("1000.00"),
                      terms=PaymentTerms.net(30))
    w.open(proposal([net30], collection=Collection.SEND_INVOICE), payment_method=None)
    w.complete("design")
    rows = [receivables([w.load()], d)[0] for d in (day(30), day(31))]
    assert [(r.due_on, r.days_past_due, r.bucket, r.status) for r in rows] == [
        (day(30), 0, AgingBucket.CURRENT, ReceivableStatus.CURRENT),
        (day(30), 1, AgingBucket.DAYS_1_30, ReceivableStatus.OVERDUE)]


def _three_clients() -> World[InMemoryGateway]:
    """Acme (USD): 100.00 on 2 Mar, 200.00 on 10 Apr, 300.00 on 30 Jun.
    Globex (USD): 600.00 on 1 May paid 20 May, 400.00 on 15 May, 500.00 on 10 Jun.
    Initech (EUR): 700.00 on 1 Jun."""
    w = World()
    acme, globex, initech = AgreementId("agr-acme"), AgreementId("agr-globex"), \
        AgreementId("agr-initech")
    send = Collection.SEND_INVOICE
    w.open(proposal([("a", "100.00"), ("b", "200.00"), ("c", "300.00")], collection=send),
           payment_method=None, agreement_id=acme)
    w.open(attrs.evolve(proposal([("d", "400.00"), ("e", "500.00"), ("f", "600.00")],
                                 collection=send), client="Globex"),
           payment_method=None, agreement_id=globex)
    w.open(attrs.evolve(proposal([("g", "700.00")], currency="EUR", collection=send),
                        client="Initech"), payment_method=None, agreement_id=initech)
    steps = [(date(2026, 3, 2), "a", acme), (date(2026, 4, 10), "b", acme),
             (date(2026, 5, 1), "f", globex), (date(2026, 5, 15), "d", globex),
             (date(2026, 5, 20), "pay f", globex), (date(2026, 6, 1), "g", initech),
             (date(2026, 6, 10), "e", globex), (date(2026, 6, 30), "c", acme)]
    for when, what, aid in steps:
        w.on(when)
        if what == "pay f":
            (paid,) = [i for i in w.load(aid).invoices if i.total == usd("600.00")]
            w.biller.record_payment(paid.id, usd("600.00"), reference="wire-f")
        else:
            w.complete(what, aid)
    return w


def test_the_aging_sums_each_client_per_bucket_and_totals_each_currency_apart() -> None:
    w = _three_clients()
    as_of = date(2026, 6, 30)
    table = aging([w.load(AgreementId(a)) for a in ("agr-acme", "agr-globex", "agr-initech")],
                  as_of)

    def eur(v: str) -> Money:
        return Money(v, "EUR")

    zero, ezero = usd("0.00"), eur("0.00")
    assert [(r.client, r.invoices, r.current, r.days_1_30, r.days_31_60, r.days_61_90,
             r.over_90, r.processing, r.action_required, r.total) for r in table] == [
        ("Initech", 1, ezero, eur("700.00"), ezero, ezero, ezero, ezero, ezero, eur("700.00")),
        (None, 1, ezero, eur("700.00"), ezero, ezero, ezero, ezero, ezero, eur("700.00")),
        # 300.00 issued today; 200.00 81 days old; 100.00 120 days old.
        ("Acme", 3, usd("300.00"), zero, zero, usd("200.00"), usd("100.00"), zero, zero,
         usd("600.00")),
        # 500.00 20 days old, 400.00 46 days old; the 600.00 was paid.
        ("Globex", 2, zero, usd("500.00"), usd("400.00"), zero, zero, zero, zero,
         usd("900.00")),
        (None, 5, usd("300.00"), usd("500.00"), usd("400.00"), usd("200.00"), usd("100.00"),
         zero, zero, usd("1500.00")),
    ]
    assert (w.balance(Account.RECEIVABLE, "USD", as_of), w.balance(Account.RECEIVABLE, "EUR",
                                                                   as_of)) == (
        usd("1500.00"), eur("700.00"))


def test_receivable_rows_name_the_client_agreement_and_invoice_in_order() -> None:
    w = _three_clients()
    rows = receivables([w.load(AgreementId("agr-globex")), w.load(AgreementId("agr-acme"))],
                       date(2026, 6, 30))
    assert [(r.client, r.agreement_id, r.invoice_number, r.issued_on, str(r.balance))
            for r in rows] == [
        ("Acme", "agr-acme", "INV-000001", date(2026, 3, 2), "100.00 USD"),
        ("Acme", "agr-acme", "INV-000002", date(2026, 4, 10), "200.00 USD"),
        ("Acme", "agr-acme", "INV-000007", date(2026, 6, 30), "300.00 USD"),
        ("Globex", "agr-globex", "INV-000004", date(2026, 5, 15), "400.00 USD"),
        ("Globex", "agr-globex", "INV-000006", date(2026, 6, 10), "500.00 USD"),
    ]
    assert [r.client for r in aging(
        [w.load(AgreementId("agr-globex")), w.load(AgreementId("agr-acme"))],
        date(2026, 6, 30), client="Globex")] == ["Globex", None]


# ------------------------------------------------------------------ collection states


def test_a_bank_debit_being_processed_is_never_shown_overdue() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]), payment_method=BANK)
    ref = w.complete("design").charges[0].gateway_ref
    (row,) = receivables([w.load()], day(45))
    assert (row.status, row.bucket, row.days_past_due) == (
        ReceivableStatus.PROCESSING, AgingBucket.PROCESSING, 45)
    (_client, total) = aging([w.load()], day(45))
    assert (total.processing, total.current, total.days_1_30, total.days_31_60,
            total.total) == (usd("1000.00"), usd("0.00"), usd("0.00"), usd("0.00"),
                             usd("1000.00"))
    # The debit clears on day 47: as of day 45 it was still processing.
    w.later(47)
    since = len(w.gateway.events)
    w.gateway.settle(ref or "", Scripted.succeed())
    w.deliver(since)
    assert [r.status for r in receivables([w.load()], day(45))] == [ReceivableStatus.PROCESSING]
    assert list(receivables([w.load()], day(47))) == []


def _card_world(outcome: Scripted, agreement_id: str,
                w: World[InMemoryGateway] | None = None) -> World[InMemoryGateway]:
    w = w or World(retry_policy=RetryPolicy(spacing_days=(2,)))
    w.open(proposal([("design", "1000.00")]), agreement_id=AgreementId(agreement_id))
    w.gateway.script_next(outcome)
    w.complete("design", AgreementId(agreement_id))
    return w


def test_action_required_and_retrying_invoices_are_shown_as_such_with_the_next_retry() -> None:
    w = _card_world(Scripted.require_action(), "agr-sca")
    _card_world(Scripted.decline("insufficient_funds"), "agr-retry", w)
    _card_world(Scripted.decline("stolen_card"), "agr-stolen", w)
    agreements = [w.load(AgreementId(a)) for a in ("agr-sca", "agr-retry", "agr-stolen")]
    rows = receivables(agreements, day(1), policy=RetryPolicy(spacing_days=(2,)))
    assert [(r.agreement_id, r.status, r.next_retry, r.bucket) for r in rows] == [
        ("agr-retry", ReceivableStatus.RETRYING, day(2), AgingBucket.DAYS_1_30),
        ("agr-sca", ReceivableStatus.ACTION_REQUIRED, None, AgingBucket.ACTION_REQUIRED),
        ("agr-stolen", ReceivableStatus.EXHAUSTED, None, AgingBucket.DAYS_1_30),
    ]
    # The next retry is dated by the policy the report is given.
    assert receivables(agreements[1:2], day(1))[0].next_retry == day(3)
    (_acme, total) = aging(agreements, day(1))
    assert (total.action_required, total.days_1_30, total.total) == (
        usd("1000.00"), usd("2000.00"), usd("3000.00"))


def test_an_invoice_with_money_refunded_is_on_hold() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]))
    invoice = w.complete("design").invoices[0]
    a = w.load()
    a = apply(a, Refunded(f"{a.id}:refund-by-hand", a.version + 1,
                          datetime(2026, 3, 3, 9, tzinfo=UTC), invoice.id, usd("300.00"),
                          "re_by_hand"))
    (row,) = receivables([a], day(1))
    assert (row.status, row.balance, row.bucket) == (
        ReceivableStatus.ON_HOLD, usd("300.00"), AgingBucket.DAYS_1_30)


def test_an_over_credited_invoice_is_owed_to_the_client_and_still_ties_to_the_ledger() -> None:
    w = World(credit_policy=CreditPolicy.HOLD)
    w.open(proposal([("design", "1000.00")]))
    w.complete("design")
    w.later(5)
    w.reprice("design", "800.00")
    (row,) = receivables([w.load()], day(5))
    assert (row.status, row.balance, row.days_past_due, row.bucket) == (
        ReceivableStatus.OWED_TO_CLIENT, usd("-200.00"), 0, AgingBucket.CURRENT)
    (_acme, total) = aging([w.load()], day(5))
    assert total.total == w.balance(Account.RECEIVABLE, as_of=day(5)) == usd("-200.00")


# ------------------------------------------------------------------ replayed to a date


def test_a_report_on_a_past_date_does_not_see_later_payments() -> None:
    w = send_invoice_world()
    invoice = w.load().invoices[0]
    w.later(10)
    w.biller.record_payment(invoice.id, usd("1000.00"), reference="wire-1")
    (row,) = receivables([w.load()], day(5))
    assert (row.balance, row.days_past_due, row.status) == (
        usd("1000.00"), 5, ReceivableStatus.OVERDUE)
    assert list(receivables([w.load()], day(10))) == []
    for d in (day(5), day(9)):
        assert aging([w.load()], d)[-1].total == w.balance(Account.RECEIVABLE, as_of=d) \
            == usd("1000.00")
    assert len(aging([w.load()], day(10))) == 0
    assert w.balance(Account.RECEIVABLE, as_of=day(10)) == usd("0.00")


def test_a_partial_payment_leaves_the_rest_in_its_bucket() -> None:
    w = send_invoice_world()
    w.later(3)
    w.biller.record_payment(w.load().invoices[0].id, usd("250.00"), reference="wire-1")
    (row,) = receivables([w.load()], day(40))
    assert (row.balance, row.bucket) == (usd("750.00"), AgingBucket.DAYS_31_60)


# ------------------------------------------------------------------ bad input


def test_a_date_before_an_agreements_signing_is_refused_naming_the_agreement() -> None:
    w = send_invoice_world()
    with pytest.raises(ValidationError) as err:
        receivables([w.load()], day(-1))
    assert err.value.field == "as_of"
    assert "'agr-1'" in str(err.value)
    assert "2026-03-02" in str(err.value)
    with pytest.raises(ValidationError) as err:
        aging([w.load()], datetime(2026, 4, 1, tzinfo=UTC))
    assert err.value.field == "as_of"


def test_an_unknown_client_and_an_agreement_given_twice_are_refused() -> None:
    w = send_invoice_world()
    with pytest.raises(ValidationError) as err:
        receivables([w.load()], day(1), client="Globex")
    assert (err.value.field, err.value.value) == ("client", "Globex")
    assert "'Acme'" in str(err.value)
    with pytest.raises(ValidationError) as err:
        aging([w.load(), w.load()], day(1))
    assert (err.value.field, err.value.value) == ("agreements[1]", "agr-1")
    with pytest.raises(ValidationError) as err:
        receivables(w.load(), day(1))  # type: ignore[arg-type]
    assert err.value.field == "agreements"


def test_rows_read_as_records_and_a_dataframe() -> None:
    w = send_invoice_world()
    table = receivables([w.load()], day(31))
    assert table.to_records() == [{
        "client": "Acme", "agreement_id": "agr-1", "invoice_number": "INV-000001",
        "issued_on": "2026-03-02", "due_on": "2026-03-02",
        "balance": {"amount": "1000.00", "currency": "USD"}, "days_past_due": 31,
        "bucket": "days_31_60", "status": "overdue", "next_retry": None}]
    frame = table.to_pandas()
    assert frame[["bucket", "status", "currency"]].values.tolist() == [["31-60", "overdue", "USD"]]

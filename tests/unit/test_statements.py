"""Client statements: each movement in date order with a running balance that ties."""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from milestonebill.agreement import AgreementId, Collection
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import Account
from milestonebill.periods import Period
from milestonebill.reports import MovementKind, aging, client_statement
from milestonebill.testing.scenarios import World, proposal, usd

MARCH = Period.month(2026, 3)


def _lines(statement: object) -> list[tuple[str, str, str, str, str]]:
    return [(line.on.isoformat(), line.kind.value, line.document, str(line.amount.amount),
             str(line.balance.amount)) for line in statement]  # type: ignore[attr-defined]


def _paying_late() -> World[InMemoryGateway]:
    """Acme, send-invoice: design 1,000.00 and build 1,500.00 (repriced to 1,200.00),
    paid 600.00, 400.00 and 1,200.00."""
    w = World()
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")],
                    collection=Collection.SEND_INVOICE), payment_method=None)
    design = w.complete("design").invoices[0]  # 2 March
    w.on(date(2026, 3, 7))
    w.biller.record_payment(design.id, usd("600.00"), reference="wire-1")
    w.on(date(2026, 3, 12))
    build = w.complete("build").invoices[0]
    w.on(date(2026, 3, 14))
    w.reprice("build", "1200.00")
    w.on(date(2026, 3, 22))
    w.biller.record_payment(design.id, usd("400.00"), reference="wire-2")
    w.on(date(2026, 4, 11))
    w.biller.record_payment(build.id, usd("1200.00"), reference="wire-3")
    return w


def test_a_statement_runs_the_balance_from_the_opening_to_the_closing_line() -> None:
    w = _paying_late()
    assert _lines(client_statement([w.load()], "Acme", MARCH)) == [
        ("2026-03-01", "opening", "", "0.00", "0.00"),
        ("2026-03-02", "invoice", "INV-000001", "1000.00", "1000.00"),
        ("2026-03-07", "payment", "INV-000001", "-600.00", "400.00"),
        ("2026-03-12", "invoice", "INV-000002", "1500.00", "1900.00"),
        ("2026-03-14", "credit_note", "CN-000001", "-300.00", "1600.00"),
        ("2026-03-22", "payment", "INV-000001", "-400.00", "1200.00"),
        ("2026-03-31", "closing", "", "0.00", "1200.00"),
    ]


def test_the_opening_balance_is_what_was_owed_the_day_before_the_period() -> None:
    w = _paying_late()
    later = client_statement([w.load()], "Acme", Period(date(2026, 3, 15), date(2026, 4, 15)))
    assert _lines(later) == [
        ("2026-03-15", "opening", "", "0.00", "1600.00"),
        ("2026-03-22", "payment", "INV-000001", "-400.00", "1200.00"),
        ("2026-04-11", "payment", "INV-000002", "-1200.00", "0.00"),
        ("2026-04-14", "closing", "", "0.00", "0.00"),
    ]
    assert later.title == "Statement for Acme, 2026-03-15 to 2026-04-14"
    assert [line.description for line in later][1] == "Payment on INV-000001 (wire-2)"


def test_the_closing_balance_is_the_clients_receivable_at_the_periods_last_day() -> None:
    w = _paying_late()
    closing = client_statement([w.load()], "Acme", MARCH)[-1].balance
    assert closing == aging([w.load()], date(2026, 3, 31))[-1].total \
        == w.balance(Account.RECEIVABLE, as_of=date(2026, 3, 31)) == usd("1200.00")


def test_customer_credit_is_kept_and_applied_on_the_statement() -> None:
    w = World()  # card payments; over-credit becomes customer credit
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]))
    w.complete("design")  # 2 March: charged 1,000.00
    w.on(date(2026, 3, 5))
    w.reprice("design", "800.00")  # 200.00 credited after payment: kept as credit
    w.on(date(2026, 3, 10))
    w.complete("build")  # 1,500.00 less the 200.00 credit: 1,300.00 charged
    statement = client_statement([w.load()], "Acme", MARCH)
    assert [(*line[1:], str(s.credit.amount)) for line, s in zip(_lines(statement), statement,
                                                                   strict=True)] == [
        ("opening", "", "0.00", "0.00", "0.00"),
        ("invoice", "INV-000001", "1000.00", "1000.00", "0.00"),
        ("payment", "INV-000001", "-1000.00", "0.00", "0.00"),
        ("credit_note", "CN-000001", "-200.00", "-200.00", "0.00"),
        ("credit_added", "INV-000001", "200.00", "0.00", "200.00"),
        ("invoice", "INV-000002", "1500.00", "1500.00", "200.00"),
        ("credit_applied", "INV-000002", "-200.00", "1300.00", "0.00"),
        ("payment", "INV-000002", "-1300.00", "0.00", "0.00"),
        ("closing", "", "0.00", "0.00", "0.00"),
    ]
    assert w.charged() == [usd("1000.00"), usd("1300.00")]


def test_only_the_clients_agreements_are_on_its_statement() -> None:
    w = _paying_late()
    w.open(attrs.evolve(proposal([("audit", "500.00")], collection=Collection.SEND_INVOICE),
                        client="Globex"), payment_method=None, agreement_id=AgreementId("agr-2"))
    w.complete("audit", AgreementId("agr-2"))
    firm = [w.load(), w.load(AgreementId("agr-2"))]
    globex = client_statement(firm, "Globex", Period.month(2026, 4))
    assert _lines(globex) == [
        ("2026-04-01", "opening", "", "0.00", "0.00"),
        ("2026-04-11", "invoice", "INV-000003", "500.00", "500.00"),
        ("2026-04-30", "closing", "", "0.00", "500.00"),
    ]
    assert {line.agreement_id for line in globex} == {None, "agr-2"}


# ------------------------------------------------------------------ bad input


@attrs.frozen
class Span:
    start: date
    end: date


def test_an_unknown_client_and_an_empty_period_are_refused() -> None:
    w = _paying_late()
    with pytest.raises(ValidationError) as err:
        client_statement([w.load()], "Globex", MARCH)
    assert (err.value.field, err.value.value) == ("client", "Globex")
    with pytest.raises(ValidationError) as err:
        client_statement([w.load()], "Acme", Span(date(2026, 3, 1), date(2026, 3, 1)))
    assert err.value.field == "period"
    with pytest.raises(ValidationError) as err:
        client_statement([w.load()], "Acme", date(2026, 3, 1))  # type: ignore[arg-type]
    assert err.value.field == "period"


def test_a_client_with_agreements_in_two_currencies_must_say_which() -> None:
    w = _paying_late()
    w.open(proposal([("audit", "500.00")], currency="EUR", collection=Collection.SEND_INVOICE),
           payment_method=None, agreement_id=AgreementId("agr-eur"))
    w.complete("audit", AgreementId("agr-eur"))
    both = [w.load(), w.load(AgreementId("agr-eur"))]
    with pytest.raises(ValidationError) as err:
        client_statement(both, "Acme", Period.month(2026, 4))
    assert err.value.field == "currency"
    assert "EUR, USD" in str(err.value)
    euros = client_statement(both, "Acme", Period.month(2026, 4), currency="EUR")
    assert [(line.kind, str(line.balance)) for line in euros] == [
        (MovementKind.OPENING, "0.00 EUR"), (MovementKind.INVOICE, "500.00 EUR"),
        (MovementKind.CLOSING, "500.00 EUR")]
    with pytest.raises(ValidationError) as err:
        client_statement(both, "Acme", MARCH, currency="GBP")
    assert (err.value.field, err.value.value) == ("currency", "GBP")

"""Installments and discounts end to end on the Biller with a real SQLite file
(and the PostgreSQL server, when ``MILESTONEBILL_PG_DSN`` is set).

A proposal file (the ``proposal`` format) offers 10,000.00: a 1,000.00
kickoff on signing and 9,000.00 in three monthly installments of 3,000.00
from 1 February, the first installment 10 % off; one obligation measured by
hours.  It is proposed, onboarded (customer, card, signing), billed and
charged month by month, amended (the last installment re-planned into two,
and a 200.00 goodwill discount on the next one), recognised as the hours
come in, and read back from the file.  Every figure is computed by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from milestonebill import formats
from milestonebill.agreement import (
    AddDiscount,
    AgreementId,
    Amendment,
    AmendmentId,
    ChangeInstallments,
    contract_value,
)
from milestonebill.collection import CollectionState, collection_state
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import ProposalId
from milestonebill.invoicing import billing_position
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.revenue import earned
from milestonebill.schedule import Discount, ItemId
from milestonebill.stores.sqlite import SQLiteStore

PROPOSAL = """{
  "id": "prop-terms", "client": "Northwind", "currency": "USD",
  "options": [{"id": "std", "name": "Standard", "schedule": {
    "currency": "USD", "fee": {"amount": "10000.00", "currency": "USD"},
    "milestones": [{"id": "kickoff", "name": "Kickoff", "trigger": "on_signing",
                    "amount": {"amount": "1000.00", "currency": "USD"}}],
    "installments": [{"id": "fee", "name": "Build fee",
                      "amount": {"amount": "9000.00", "currency": "USD"},
                      "interval": {"unit": "month"}, "start": "2025-02-01", "count": 3}],
    "discounts": [{"id": "launch", "name": "Launch offer", "percent": "10",
                   "items": ["fee"], "ends_on": "2025-03-01"}]},
    "obligations": [{"id": "work", "name": "The engagement", "progress": "hours",
                     "items": ["kickoff", "fee"], "estimate": "100"}]}]
}"""

AGR = AgreementId("prop-terms")


def usd(v: str) -> Money:
    return Money(v, "USD")


def at(d: date) -> datetime:
    return datetime.combine(d, time(18), tzinfo=UTC)


Opener = Callable[[FixedClock], Any]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same store again on every call: a SQLite file, or a PostgreSQL schema."""
    opened: list[Any] = []

    def make(clock: FixedClock) -> Any:
        if request.param == "sqlite":
            store: Any = SQLiteStore(tmp_path / "books.db", clock=clock)
        else:
            from milestonebill.stores.postgres import PostgresStore

            store = PostgresStore(request.getfixturevalue("pg_dsn"),
                                  schema=request.getfixturevalue("pg_schema"), clock=clock,
                                  pool_size=2)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def test_a_proposal_with_installments_and_discounts_runs_to_balanced_books(
        open_store: Opener) -> None:
    clock = FixedClock(at(date(2025, 1, 15)))
    store = open_store(clock)
    gateway = InMemoryGateway()
    biller = Biller(store, gateway, clock=clock, firm_id=FirmId("firm"))
    proposal = formats.read("proposal", PROPOSAL)
    biller.propose(proposal, at=at(date(2025, 1, 10)))
    biller.send(ProposalId("prop-terms"), at=at(date(2025, 1, 10)))
    a = biller.onboard(ProposalId("prop-terms"), option="std", signer="Ada",
                       customer_reference="northwind", payment_method_token="tok_visa",
                       at=at(date(2025, 1, 15)))
    assert contract_value(a) == usd("9700.00")

    def run(d: date) -> list[tuple[str, list[str]]]:
        clock.set(at(d))
        return [(str(i.total), [f"{ln.kind.value} {ln.amount.amount}" for ln in i.lines])
                for i in biller.run(d).invoices]

    def close(d: date, hours: int) -> tuple[str, str, str]:
        clock.set(at(d))
        biller.report_progress(AGR, "work", hours, as_of=d)
        biller.recognise(d)
        revenue = -store.balance(Account.REVENUE, currency="USD")
        liability = -store.balance(Account.CONTRACT_LIABILITY, currency="USD")
        return str(revenue), str(liability), str(store.balance(Account.CONTRACT_ASSET,
                                                               currency="USD"))

    assert run(date(2025, 1, 15)) == [("1000.00 USD", ["milestone 1000.00"])]
    # 20 of 100 hours: 9,700.00 x 20 % = 1,940.00 earned, 1,000.00 billed.
    assert close(date(2025, 1, 31), 20) == ("1940.00 USD", "0.00 USD", "940.00 USD")
    assert run(date(2025, 2, 1)) == [("2700.00 USD", ["installment 3000.00",
                                                      "discount -300.00"])]
    assert close(date(2025, 2, 28), 50) == ("4850.00 USD", "0.00 USD", "1150.00 USD")
    assert run(date(2025, 3, 1)) == [("3000.00 USD", ["installment 3000.00"])]

    # The last 3,000.00 in two from 1 April, and 200.00 off the next installment.
    amendment = Amendment(AmendmentId("am-1"), (
        ChangeInstallments(date(2025, 3, 5), ItemId("fee"), count=2),
        AddDiscount(date(2025, 3, 5), Discount(ItemId("goodwill"), "Goodwill",
                                               amount=usd("200.00"), items=("fee",),
                                               starts_on=date(2025, 4, 1)))))
    clock.set(at(date(2025, 3, 5)))
    pv = biller.preview_amendment(AGR, amendment)
    assert (pv.charges, pv.credits, pv.value_change) == ((), (), usd("-200.00"))
    assert [(c.key, c.after and str(c.after), c.on_after) for c in pv.changes] == [
        ("i:fee:3", "1500.00 USD", date(2025, 4, 1)), ("i:fee:4", "1500.00 USD",
                                                       date(2025, 5, 1)),
        ("d:goodwill:i:fee:3", "-200.00 USD", date(2025, 4, 1))]
    biller.propose_amendment(AGR, amendment, by="account manager")
    biller.approve_amendment(AGR, AmendmentId("am-1"), by="Northwind CFO")

    # 80 hours of the 9,500.00 contract: 7,600.00, billed 6,700.00.
    assert close(date(2025, 3, 31), 80) == ("7600.00 USD", "0.00 USD", "900.00 USD")
    assert run(date(2025, 4, 1)) == [("1300.00 USD", ["installment 1500.00",
                                                      "discount -200.00"])]
    assert run(date(2025, 5, 1)) == [("1500.00 USD", ["installment 1500.00"])]
    assert close(date(2025, 5, 31), 100) == ("9500.00 USD", "0.00 USD", "0.00 USD")

    # Everything was charged; the ledger balances and says what the agreement says.
    balances = store.balances(currency="USD")
    assert sum(m.minor for m in balances.values()) == 0
    assert balances.get(Account.RECEIVABLE, usd("0.00")) == usd("0.00")
    store.close()
    reopened = open_store(clock)
    again = Biller(reopened, gateway, clock=clock, firm_id=FirmId("firm")).load(AGR)
    assert [str(i.total) for i in again.invoices] == [
        "1000.00 USD", "2700.00 USD", "3000.00 USD", "1300.00 USD", "1500.00 USD"]
    position = billing_position(again)
    assert (position.invoiced, position.contract_value, position.balanced) == (
        usd("9500.00"), usd("9500.00"), True)
    assert earned(again, date(2025, 5, 31)) == {"work": usd("9500.00")}


FREE_FIRST_MONTH = """{
  "id": "prop-free", "client": "Contoso", "currency": "USD",
  "options": [{"id": "std", "name": "Standard", "schedule": {
    "currency": "USD",
    "installments": [{"id": "fee", "name": "Fee",
                      "amount": {"amount": "3000.00", "currency": "USD"},
                      "interval": {"unit": "month"}, "start": "2025-02-01", "count": 3}],
    "discounts": [{"id": "free", "name": "First month free", "percent": "100",
                   "items": ["fee"], "ends_on": "2025-02-02"}]}}]
}"""


def test_an_installment_discounted_to_zero_charges_and_posts_nothing(tmp_path: Path) -> None:
    clock = FixedClock(at(date(2025, 1, 15)))
    with SQLiteStore(tmp_path / "free.db", clock=clock) as store:
        gateway = InMemoryGateway()
        biller = Biller(store, gateway, clock=clock, firm_id=FirmId("firm"))
        biller.propose(formats.read("proposal", FREE_FIRST_MONTH), at=at(date(2025, 1, 10)))
        biller.send(ProposalId("prop-free"), at=at(date(2025, 1, 10)))
        biller.onboard(ProposalId("prop-free"), option="std", signer="Ada",
                       customer_reference="contoso", payment_method_token="tok_visa",
                       at=at(date(2025, 1, 15)))
        clock.set(at(date(2025, 2, 1)))
        (free,) = biller.run(date(2025, 2, 1)).invoices
        # 1,000.00 less 100 % is an invoice of zero: shown, numbered, never charged
        # and never posted (a journal entry of nothing would move nothing).
        assert ([f"{ln.kind.value} {ln.amount.amount}" for ln in free.lines], str(free.total)) \
            == (["installment 1000.00", "discount -1000.00"], "0.00 USD")
        assert not gateway.charges
        assert store.get_entry(f"{free.id}:issue") is None
        assert collection_state(biller.load(AgreementId("prop-free")), free.id).state \
            is CollectionState.SETTLED
        clock.set(at(date(2025, 3, 1)))
        (paid,) = biller.run(date(2025, 3, 1)).invoices
        assert str(paid.total) == "1000.00 USD"
        charged: list[Money] = [c.amount for c in gateway.charges]
        assert charged == [usd("1000.00")]
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert contract_value(biller.load(AgreementId("prop-free"))) == usd("2000.00")

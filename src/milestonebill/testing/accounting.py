"""A small firm whose books hold every kind of entry an accounting export carries.

For tests and examples of the QuickBooks, Xero and CSV exports:
:func:`accounting_world` bills two clients of one firm ("Acme") -- in EUR
with 20 % VAT, card payments whose gateway fee is taken apart, an amendment,
a refund paid out of its credit note and revenue recognised; in a second
currency (or the same), an invoice paid by bank transfer, an over-credit
kept as customer credit and applied to the next invoice -- with invoice
numbers too long for QuickBooks.  :func:`example_account_map` maps every
library account for it.

>>> w = accounting_world("EUR")
>>> sorted({e.id.split(":")[1] for e in w.store.entries()})
['credit', 'credit-applied', 'customer-credit', 'issue', 'payment', 'refund', 'revenue']
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from milestonebill.agreement import AgreementId, Collection
from milestonebill.documents import FlatTax, NumberingPolicy, TaxPolicy, TaxRate
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.integrations.accounts import AccountMap
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import World, proposal

__all__ = ["FIRST", "SECOND", "accounting_world", "example_account_map"]

#: The EUR agreement of :func:`accounting_world`.
FIRST: Final = AgreementId("agr-eur")
#: Its second agreement.
SECOND: Final = AgreementId("agr-2")


def _fee(charged: Money) -> Money:
    """2.9 % and 30 minor units, the way card gateways charge."""
    return Money.from_minor(charged.minor * 29 // 1000 + 30, charged.currency)


def accounting_world(second_currency: str = "USD", *, store: BillingStore | None = None
                     ) -> World[InMemoryGateway]:
    """Bill the two agreements over three weeks (see the module docs), in ``store``
    (default: a new in-memory one)."""
    vat = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
    w = World(store, fees=_fee, tax=vat,
              numbering=NumberingPolicy(prefix="NORTHWIND-CONSULTING-INV-", width=6))
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")], currency="EUR"),
           agreement_id=FIRST)
    w.complete("design", FIRST)
    w.later(3)
    w.reprice("build", "1200.00", agreement_id=FIRST)
    w.later(5)
    w.complete("build", FIRST)
    w.later(6)
    w.biller.refund(w.load(FIRST).invoices[0].id, Money("100.00", "EUR"), reason="goodwill")
    w.later(7)
    w.biller.recognise(w.clock.today())
    w.open(proposal([("kickoff", "800.00"), ("launch", "700.00")], currency=second_currency,
                    collection=Collection.SEND_INVOICE), payment_method=None,
           agreement_id=SECOND)
    w.later(8)
    w.complete("kickoff", SECOND)
    w.later(10)
    first = w.load(SECOND).invoices[0]
    w.biller.record_payment(first.id, first.total, reference="wire-778")
    w.later(12)
    w.reprice("kickoff", "500.00", amendment_id="am-2", agreement_id=SECOND)
    w.later(14)
    w.complete("launch", SECOND)
    w.later(20)
    w.biller.run(w.clock.today())
    w.biller.recognise(w.clock.today())
    return w


def example_account_map(currency: str | None = None) -> AccountMap:
    """Every library account mapped (ids like ``"REC0"``, names the accounts'),
    the client ``"Acme"`` as customer ``"7"``, VAT, no tax and the service item."""
    accounts = {a.value: {"id": f"{a.value[:3].upper()}{n}", "name": a.value}
                for n, a in enumerate(Account)}
    return AccountMap.from_json({
        "accounts": accounts,
        "customers": {"Acme": {"id": "7", "name": "Acme Ltd"}},
        "tax_rates": {"VAT": {"id": "OUTPUT2", "name": "20% VAT"}},
        "no_tax": {"id": "NONE", "name": "No VAT"}, "item": {"id": "9", "name": "Services"},
        **({"currency": currency} if currency else {})})

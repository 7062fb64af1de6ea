"""The QuickBooks, Xero and CSV exports: their documents, fields, numbers and checks.

The field lists below are the public ones (cited in ``docs/integrations.md``):
QuickBooks Online's entities as Intuit's Accounting API reference and SDKs
define them, Xero's from its published OpenAPI description
(``XeroAPI/Xero-OpenAPI``, ``xero_accounting.yaml``).  Every key an export
writes must be one of them; the tie-out to the ledger is in
``test_accounting_tieout.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.integrations.accounting import Export
from milestonebill.integrations.accounts import AccountMap
from milestonebill.integrations.csv import (
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
    guard_cell,
    quickbooks_journal_csv,
    xero_journal_csv,
)
from milestonebill.integrations.quickbooks import quickbooks_export
from milestonebill.integrations.xero import xero_export
from milestonebill.ledger import Account
from milestonebill.periods import Period
from milestonebill.reports.catalog import Books
from milestonebill.testing.accounting import FIRST, SECOND, accounting_world, example_account_map
from milestonebill.testing.scenarios import World, proposal

_REF = {"value", "name"}
# QuickBooks Online Accounting API: Invoice, CreditMemo, Payment, JournalEntry.
QUICKBOOKS_FIELDS: dict[str, set[str]] = {
    "Invoice": {"DocNumber", "TxnDate", "DueDate", "CustomerRef", "CurrencyRef", "PrivateNote",
                "Line", "TxnTaxDetail", "GlobalTaxCalculation", "CustomerMemo", "ExchangeRate",
                "SalesTermRef", "BillEmail", "ClassRef", "DepartmentRef"},
    "CreditMemo": {"DocNumber", "TxnDate", "CustomerRef", "CurrencyRef", "PrivateNote", "Line",
                   "TxnTaxDetail", "GlobalTaxCalculation", "CustomerMemo", "ExchangeRate"},
    "Payment": {"CustomerRef", "TotalAmt", "TxnDate", "CurrencyRef", "DepositToAccountRef",
                "PaymentRefNum", "PrivateNote", "Line", "PaymentMethodRef", "ExchangeRate",
                "UnappliedAmt", "ProcessPayment"},
    "JournalEntry": {"DocNumber", "TxnDate", "CurrencyRef", "PrivateNote", "Line",
                     "Adjustment", "ExchangeRate", "TxnTaxDetail"},
    "Line": {"Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail",
             "JournalEntryLineDetail", "LinkedTxn"},
    "SalesItemLineDetail": {"ItemRef", "Qty", "UnitPrice", "TaxCodeRef", "ServiceDate",
                            "ClassRef", "ItemAccountRef"},
    "JournalEntryLineDetail": {"PostingType", "AccountRef", "Entity", "ClassRef",
                               "DepartmentRef", "TaxCodeRef", "TaxApplicableOn", "TaxAmount",
                               "BillableStatus"},
    "TxnTaxDetail": {"TotalTax", "TxnTaxCodeRef", "TaxLine"},
    "Entity": {"Type", "EntityRef"},
    "LinkedTxn": {"TxnId", "TxnType", "TxnLineId"},
}
# Xero Accounting API (xero_accounting.yaml): Invoice, CreditNote, LineItem, Payment,
# ManualJournal, ManualJournalLine, Contact, Account.
XERO_FIELDS: dict[str, set[str]] = {
    "Invoice": {"Type", "Contact", "LineItems", "Date", "DueDate", "LineAmountTypes",
                "InvoiceNumber", "Reference", "BrandingThemeID", "Url", "CurrencyCode",
                "CurrencyRate", "Status", "SentToContact", "ExpectedPaymentDate"},
    "CreditNote": {"Type", "Contact", "Date", "DueDate", "Status", "LineAmountTypes",
                   "LineItems", "CurrencyCode", "CreditNoteNumber", "Reference",
                   "CurrencyRate", "BrandingThemeID"},
    "LineItems": {"Description", "Quantity", "UnitAmount", "ItemCode", "AccountCode",
                  "AccountID", "TaxType", "TaxAmount", "LineAmount", "Tracking",
                  "DiscountRate", "DiscountAmount"},
    "Payment": {"Invoice", "CreditNote", "Account", "Date", "Amount", "Reference",
                "CurrencyRate", "IsReconciled", "Status", "InvoiceNumber",
                "CreditNoteNumber", "Code", "BankAmount"},
    "ManualJournal": {"Narration", "JournalLines", "Date", "LineAmountTypes", "Status", "Url",
                      "ShowOnCashBasisReports"},
    "JournalLines": {"LineAmount", "AccountCode", "AccountID", "Description", "TaxType",
                     "Tracking", "TaxAmount"},
    "Contact": {"ContactID", "Name", "ContactNumber"},
    "Account": {"Code", "AccountID"},
}


def _objects(node: Any, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object of a body with the name of the field (or entity) holding it."""
    if isinstance(node, dict):
        yield name, node
        for key, value in node.items():
            yield from _objects(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value, name)


def _bodies(export: Export) -> list[tuple[str, dict[str, Any]]]:
    return [(d.kind, json.loads(d.text(), parse_float=Decimal)) for d in export.documents]


@pytest.fixture(scope="module")
def world() -> World[InMemoryGateway]:
    return accounting_world("EUR")


@pytest.fixture(scope="module")
def books(world: World[InMemoryGateway]) -> Books:
    return Books.of([world.load(FIRST), world.load(SECOND)],
                    world.store.entries())


@pytest.fixture(scope="module")
def period(world: World[InMemoryGateway]) -> Period:
    return Period(world.start.date(), world.clock.today() + timedelta(days=1))


@pytest.fixture(scope="module")
def amap() -> AccountMap:
    return example_account_map("EUR")


def test_quickbooks_bodies_use_only_published_fields(books: Books, period: Period,
                                                     amap: AccountMap) -> None:
    unknown = set()
    for kind, body in _bodies(quickbooks_export(books, period, amap)):
        for name, obj in _objects(body, kind):
            allowed = QUICKBOOKS_FIELDS.get(name, _REF)
            unknown |= {f"{name}.{k}" for k in obj if k not in allowed}
    assert unknown == set()


def test_xero_bodies_use_only_published_fields(books: Books, period: Period,
                                               amap: AccountMap) -> None:
    unknown = set()
    for kind, body in _bodies(xero_export(books, period, amap)):
        for name, obj in _objects(body, kind):
            allowed = XERO_FIELDS.get(name, XERO_FIELDS["Invoice"] if name in (
                "Invoice", "CreditNote") else set())
            unknown |= {f"{name}.{k}" for k in obj if k not in allowed}
    assert unknown == set()


def test_quickbooks_doc_numbers_fit_21_characters_and_map_back_to_our_ids(
        books: Books, period: Period, amap: AccountMap) -> None:
    export = quickbooks_export(books, period, amap)
    numbers = {d.number for d in export.documents if "DocNumber" in d.body}
    invoices = {d.body["DocNumber"]: d for d in export.documents if d.kind == "Invoice"}
    assert max(len(n) for n in numbers) <= 21
    # Our invoice numbers are 31 characters: each invoice got a digest, found again by it.
    ours = {inv.number for a in books.agreements() for inv in a.invoices}
    assert ours.isdisjoint(invoices)
    assert all(export.numbers()[("Invoice", n)] == d.source_id for n, d in invoices.items())
    assert all(d.source_id in d.body["PrivateNote"] for d in export.documents
               if "PrivateNote" in d.body)


def test_every_quickbooks_journal_line_names_its_customer(books: Books, period: Period,
                                                          amap: AccountMap) -> None:
    lines = [ln["JournalEntryLineDetail"] for kind, body in _bodies(
        quickbooks_export(books, period, amap)) if kind == "JournalEntry" for ln in body["Line"]]
    receivable = [ln for ln in lines if ln["AccountRef"]["value"] == amap.ref(
        Account.RECEIVABLE).id]
    assert receivable  # refunds and customer credit reopen or settle receivables
    assert {json.dumps(ln["Entity"]) for ln in lines} == {
        '{"Type": "Customer", "EntityRef": {"value": "7", "name": "Acme Ltd"}}'}


def test_a_quickbooks_payment_is_linked_once_its_invoice_has_a_quickbooks_id(
        books: Books, period: Period, amap: AccountMap) -> None:
    alone = quickbooks_export(books, period, amap)
    linked = quickbooks_export(books, period, amap, target_id=lambda ours: f"qb:{ours}")
    unapplied = [d.body for d in alone.documents if d.kind == "Payment"]
    applied = [d.body for d in linked.documents if d.kind == "Payment"]
    assert ["Line" in b for b in unapplied] == [False] * len(unapplied)
    assert [b["Line"][0]["LinkedTxn"][0]["TxnId"].startswith("qb:inv_") for b in applied] == [
        True] * len(applied)
    assert [b["Line"][0]["Amount"] for b in applied] == [b["TotalAmt"] for b in applied]


def test_quickbooks_amounts_are_exact_json_numbers(books: Books, period: Period,
                                                   amap: AccountMap) -> None:
    payment = next(d for d in quickbooks_export(books, period, amap).documents
                   if d.kind == "Payment")
    assert '"TotalAmt":1200.00' in payment.text()


def test_what_quickbooks_lacks_is_named_all_at_once(books: Books, period: Period) -> None:
    bare = AccountMap.from_json({"accounts": {a.value: {"id": str(n)}
                                              for n, a in enumerate(Account)}})
    with pytest.raises(InvalidInputError) as err:
        quickbooks_export(books, period, bare)
    assert sorted(p.field for p in err.value.problems) == ["customers.Acme", "item",
                                                          "tax_rates.VAT"]


def test_xero_invoices_carry_contact_numbers_reference_currency_and_tax(
        books: Books, period: Period, amap: AccountMap) -> None:
    export = xero_export(books, period, amap)
    invoices = [d.body for d in export.documents if d.kind == "Invoice"]
    ours = [inv for a in books.agreements() for inv in a.invoices]
    assert [(b["Type"], b["Contact"], b["InvoiceNumber"], b["Reference"], b["CurrencyCode"],
             b["LineAmountTypes"], b["Status"]) for b in invoices] == [
        ("ACCREC", {"ContactID": "7"}, inv.number, inv.id, "EUR", "Exclusive", "AUTHORISED")
        for inv in sorted(ours, key=lambda i: (i.issued_on, i.id))]
    assert [sum(item["TaxAmount"] for item in b["LineItems"]) for b in invoices] == [
        inv.tax_total.amount for inv in sorted(ours, key=lambda i: (i.issued_on, i.id))]
    assert {item["TaxType"] for b in invoices for item in b["LineItems"]} == {"OUTPUT2"}


def test_a_xero_refund_is_paid_out_of_its_credit_note(books: Books, period: Period,
                                                      amap: AccountMap) -> None:
    export = xero_export(books, period, amap)
    notes = {d.body["CreditNoteNumber"] for d in export.documents if d.kind == "CreditNote"}
    refunds = [d.body for d in export.documents if d.kind == "Payment" and "CreditNote" in d.body]
    assert [(b["CreditNote"]["CreditNoteNumber"] in notes, b["Amount"], b["Account"]) for b in
            refunds] == [(True, Decimal("120.00"), {"Code": amap.ref(Account.CLEARING).id})]


def test_every_xero_document_carries_our_id(books: Books, period: Period,
                                            amap: AccountMap) -> None:
    shown: dict[str, set[bool]] = {d.kind: set() for d in xero_export(books, period,
                                                                      amap).documents}
    for d in xero_export(books, period, amap).documents:
        text = d.body.get("Reference") or d.body["Narration"]
        suffix = {"Invoice": ":issue", "CreditNote": ":credit"}.get(d.kind)
        shown[d.kind].add(d.source_id == text + suffix if suffix
                          else d.source_id == text if d.kind == "Payment"
                          else f"[milestonebill {d.source_id}]" in text)
    assert shown == {"Invoice": {True}, "CreditNote": {True}, "Payment": {True},
                     "ManualJournal": {True}}


def test_a_client_without_a_contact_id_is_sent_by_name(books: Books, period: Period,
                                                       amap: AccountMap) -> None:
    nameless = attrs.evolve(amap, customers={})
    contacts = {json.dumps(d.body["Contact"]) for d in xero_export(books, period, nameless)
                .documents if "Contact" in d.body}
    assert contacts == {'{"Name": "Acme"}'}


def test_formula_starts_are_guarded_and_other_text_is_not() -> None:
    assert [guard_cell(t) for t in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "Fees",
                                    "1-2", "")] == [
        "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "Fees", "1-2", ""]


def test_csv_text_cells_a_spreadsheet_would_run_are_guarded_in_both_files() -> None:
    w = World()
    evil = attrs.evolve(proposal([("design", "100.00")]), client='=HYPERLINK("http://x")')
    w.open(evil)
    w.complete("design")
    books = Books.of([w.load()], w.store.entries())
    period = Period(w.start.date(), w.clock.today() + timedelta(days=1))
    amap = AccountMap.from_json({
        "accounts": {a.value: {"id": f"@{n}", "name": f"-{a.value}"}
                     for n, a in enumerate(Account)},
        "no_tax": {"id": "NONE", "name": "+No tax"}, "currency": "USD"})
    xero = list(csv.reader(io.StringIO(xero_journal_csv(books, period, amap))))
    qbo = list(csv.reader(io.StringIO(quickbooks_journal_csv(books, period, amap))))
    assert (tuple(xero[0]), tuple(qbo[0])) == (XERO_COLUMNS, QUICKBOOKS_COLUMNS)
    # Every text cell is guarded; Xero's Amount column holds numbers, credits negative.
    cells = [c for row in xero[1:] for c in row[:5] + row[6:]] + [c for row in qbo[1:]
                                                                  for c in row]
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert {row[3][:2] for row in xero[1:]} == {"'@"}
    assert {row[6] for row in qbo[1:]} == {"'=HYPERLINK(\"http://x\")"}
    assert {row[5] for row in xero[1:]} == {"100.00", "-100.00"}


def test_the_quickbooks_file_needs_account_names(books: Books, period: Period) -> None:
    unnamed = AccountMap.from_json({"accounts": {a.value: {"id": str(n)}
                                                 for n, a in enumerate(Account)},
                                    "currency": "EUR"})
    with pytest.raises(ValidationError) as err:
        quickbooks_journal_csv(books, period, unnamed)
    fields = [p.field for p in getattr(err.value, "problems", [err.value])]
    assert "accounts.receivable.name" in fields


def test_the_quickbooks_file_groups_each_entry_under_one_journal_number(
        books: Books, period: Period, amap: AccountMap) -> None:
    rows = list(csv.DictReader(io.StringIO(quickbooks_journal_csv(books, period, amap,
                                                                  day_first=True))))
    entries = [e for e in books.entries() if period.start <= e.posted_on < period.end]
    assert len({r["Journal No."] for r in rows}) == len(entries)
    assert len(rows) == sum(len(e.lines) for e in entries)
    first = min(entries, key=lambda e: (e.posted_on, e.id))
    assert rows[0]["Journal Date"] == first.posted_on.strftime("%d/%m/%Y")

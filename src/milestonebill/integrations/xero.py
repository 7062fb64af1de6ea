"""A period of the books as Xero Accounting API request bodies.

:func:`xero_export` turns the period's ledger entries into the bodies of
``PUT https://api.xero.com/api.xro/2.0/<endpoint>`` requests, in the order to
send them:

==========================  ===============================================
entry                       Xero document
==========================  ===============================================
invoice issued              ``Invoices``: ``Type`` ``ACCREC``, ``Contact``,
                            ``InvoiceNumber``, ``Reference`` (our invoice
                            id), ``Date``, ``DueDate``, ``CurrencyCode``,
                            ``LineItems`` with ``AccountCode`` (the contract
                            liability), ``TaxType`` and ``TaxAmount``
credit note issued          ``CreditNotes``: ``Type`` ``ACCRECCREDIT``, the
                            same shape, ``CreditNoteNumber``
payment received            ``Payments``: the ``Invoice`` by its number, the
                            ``Account`` the money went to, ``Amount``
refund of a credit note     ``Payments`` on the ``CreditNote``: the money
                            paid back out of the same account
revenue, customer credit,   ``ManualJournals``: ``Narration`` (with our id),
netting, other refunds      ``JournalLines`` of signed ``LineAmount`` s
==========================  ===============================================

Accounts receivable is a system account in Xero: invoices, credit notes and
payments move it, and Xero's own help has journals that must touch it post
to a secondary receivable account instead -- map ``receivable`` to that
one.  Manual journals carry no currency (they are in the organisation's
base currency), so one in another currency is refused rather than added to
the base currency's amounts; give the map's ``currency``.

Whatever an entry posts that its document cannot (an invoice's share of the
contract asset, a gateway fee) goes in a manual journal beside it, so the
export ties to the ledger account by account.  Numbers and references hold
at most 255 characters; our numbers and ids are used as they are when they
fit (:func:`~milestonebill.integrations.accounting.fitting_number`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from milestonebill._validate import problem, raise_all
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.integrations.accounting import (
    Books,
    Document,
    Export,
    ItemKind,
    PeriodItem,
    Posting,
    check_unique_numbers,
    clipped,
    decimal_of,
    derived_id,
    fitting_number,
    line_taxes,
    period_items,
    rest_of,
)
from milestonebill.integrations.accounts import AccountMap
from milestonebill.ledger import Account, JournalEntry
from milestonebill.periods import Period

__all__ = [
    "DESCRIPTION_LIMIT",
    "NUMBER_LIMIT",
    "TARGET",
    "xero_documents",
    "xero_export",
    "xero_problems",
]

#: The name of the system in the sync journal.
TARGET: Final = "xero"
#: ``InvoiceNumber`` (at most 255 characters), and our cap on ``CreditNoteNumber``
#: and ``Reference``, which Xero's SDKs bounded to 255 too.
NUMBER_LIMIT: Final = 255
#: A line's ``Description``: at most 4,000 characters.
DESCRIPTION_LIMIT: Final = 4000


def _contact(item: PeriodItem, amap: AccountMap) -> dict[str, str]:
    client = item.client or ""
    ref = amap.customer(client)
    return {"ContactID": ref.id} if ref is not None else {"Name": client}


def _note(memo: str, source_id: str) -> str:
    return f"{memo} [milestonebill {source_id}]" if memo else f"milestonebill {source_id}"


# ---------------------------------------------------------------- checks


def xero_problems(items: Sequence[PeriodItem], amap: AccountMap) -> list[ValidationError]:
    """Everything the map lacks for ``items``: unmapped accounts and tax types (empty:
    ready).  :func:`xero_documents` also refuses manual journals in a currency other
    than the books'."""
    problems = amap.problems(i.entry for i in items)
    for item in items:
        doc = item.credit_note if item.kind is ItemKind.CREDIT_NOTE else item.invoice
        if item.kind in (ItemKind.INVOICE, ItemKind.CREDIT_NOTE) and doc is not None:
            problems += problem(amap.tax, doc.tax_lines, doc.id)
    unique: dict[str, ValidationError] = {}
    for p in problems:
        unique.setdefault(p.field, p)
    return list(unique.values())


# ---------------------------------------------------------------- documents


def _sales(item: PeriodItem, doc: Invoice | CreditNote, amap: AccountMap
           ) -> tuple[Document, list[Posting]]:
    """An ``ACCREC`` invoice or an ``ACCRECCREDIT`` credit note."""
    tax = amap.tax(doc.tax_lines, doc.id)
    account = amap.ref(Account.CONTRACT_LIABILITY)
    items: list[dict[str, Any]] = []
    for ln, tax_minor in zip(doc.lines, line_taxes(doc), strict=True):
        line: dict[str, Any] = {
            "Description": clipped(ln.description or ln.line_id, DESCRIPTION_LIMIT),
            "Quantity": 1, "UnitAmount": ln.amount.amount, "LineAmount": ln.amount.amount,
            "AccountCode": account.id}
        if tax is not None:
            line["TaxType"] = tax.id
        if doc.tax_lines:
            line["TaxAmount"] = decimal_of(tax_minor, doc.currency)
        items.append(line)
    entry = item.entry
    number = fitting_number(doc.number, entry.id, limit=NUMBER_LIMIT)
    invoice = isinstance(doc, Invoice)
    body: dict[str, Any] = {
        "Type": "ACCREC" if invoice else "ACCRECCREDIT", "Contact": _contact(item, amap),
        "Date": doc.issued_on.isoformat()}
    if isinstance(doc, Invoice):
        body["DueDate"] = doc.due_on.isoformat()
    body |= {("InvoiceNumber" if invoice else "CreditNoteNumber"): number,
             "Reference": doc.id, "CurrencyCode": doc.currency.code,
             "LineAmountTypes": "Exclusive" if doc.tax_lines else "NoTax",
             "Status": "AUTHORISED", "LineItems": items}
    sign = 1 if invoice else -1
    covered = [Posting(Account.RECEIVABLE, sign * doc.total.minor),
               Posting(Account.CONTRACT_LIABILITY, -sign * doc.subtotal.minor),
               Posting(Account.TAX_PAYABLE, -sign * doc.tax_total.minor)]
    return (Document(TARGET, "Invoice" if invoice else "CreditNote", entry.id, number,
                     entry.posted_on, doc.currency, body),
            [p for p in covered if p.minor])


def _money_line(entry: JournalEntry, debit: bool) -> Account | None:
    """The account the money moved through: a payment's debit that is not the
    gateway's or the platform's fee, a refund's credit."""
    return next((ln.account for ln in entry.lines if (ln.debit is not None) == debit
                 and ln.account not in (Account.GATEWAY_FEES, Account.PLATFORM_FEES,
                                        Account.RECEIVABLE)), None)


def _payment(item: PeriodItem, amap: AccountMap) -> tuple[Document, list[Posting]] | None:
    """A ``Payments`` body: money in against an invoice, or out against a credit note."""
    entry = item.entry
    paid_in = item.kind is ItemKind.PAYMENT
    event = item.payment if paid_in else item.refund
    against = item.invoice if paid_in else item.credit_note
    account = _money_line(entry, debit=paid_in)
    if event is None or against is None or account is None:
        return None
    number = fitting_number(entry.id, entry.id, limit=NUMBER_LIMIT)
    doc_number = fitting_number(against.number, f"{against.id}:issue" if paid_in
                                else f"{against.id}:credit", limit=NUMBER_LIMIT)
    body = {("Invoice" if paid_in else "CreditNote"):
            {("InvoiceNumber" if paid_in else "CreditNoteNumber"): doc_number},
            "Account": {"Code": amap.ref(account).id}, "Date": entry.posted_on.isoformat(),
            "Amount": event.amount.amount, "Reference": number}
    sign = 1 if paid_in else -1
    return (Document(TARGET, "Payment", entry.id, number, entry.posted_on, entry.currency,
                     body),
            [Posting(account, sign * event.amount.minor),
             Posting(Account.RECEIVABLE, -sign * event.amount.minor)])


def _journal(source_id: str, item: PeriodItem, postings: Sequence[Posting], amap: AccountMap,
             memo: str) -> Document:
    """A ``ManualJournals`` body: debits positive, credits negative."""
    entry = item.entry
    client = item.client
    description = clipped(f"{memo} ({client})" if client else memo, DESCRIPTION_LIMIT)
    lines = []
    for p in postings:
        line = {"LineAmount": decimal_of(p.minor, entry.currency),
                "AccountCode": amap.ref(p.account, p.obligation_id).id,
                "Description": description or source_id}
        if amap.no_tax is not None:
            line["TaxType"] = amap.no_tax.id
        lines.append(line)
    number = fitting_number(source_id, source_id, limit=NUMBER_LIMIT)
    body = {"Narration": _note(memo, source_id), "Date": entry.posted_on.isoformat(),
            "Status": "POSTED", "LineAmountTypes": "NoTax", "JournalLines": lines}
    return Document(TARGET, "ManualJournal", source_id, number, entry.posted_on,
                    entry.currency, body)


def _documents(item: PeriodItem, amap: AccountMap) -> list[Document]:
    """The documents of one entry: its own, then a journal of what it leaves out."""
    made: tuple[Document, list[Posting]] | None = None
    if item.kind is ItemKind.INVOICE and item.invoice is not None:
        made = _sales(item, item.invoice, amap)
    elif item.kind is ItemKind.CREDIT_NOTE and item.credit_note is not None:
        made = _sales(item, item.credit_note, amap)
    elif item.kind in (ItemKind.PAYMENT, ItemKind.REFUND):
        made = _payment(item, amap)
    entry = item.entry
    if made is None:
        return [_journal(entry.id, item, rest_of(entry, ()), amap, entry.memo)]
    doc, covered = made
    rest = rest_of(entry, covered)
    if not rest:
        return [doc]
    return [doc, _journal(derived_id(entry.id, "rest"), item, rest, amap,
                          f"{entry.memo}: the part the {doc.kind} does not post")]


def _currency_problems(docs: Sequence[Document], amap: AccountMap) -> list[ValidationError]:
    """Manual journals carry no currency: all must be in the books' home currency."""
    journals = {d.currency.code for d in docs if d.kind == "ManualJournal"}
    home = amap.currency
    if home is not None and journals - {home.code}:
        first = next(d.source_id for d in docs
                     if d.kind == "ManualJournal" and d.currency != home)
        return [ValidationError("currency", f"the currency of every manual journal "
                                f"({home.code}, Xero's base currency; first other "
                                f"{first!r})", sorted(journals - {home.code}))]
    if home is None and len(journals) > 1:
        return [ValidationError("currency", "the books' home currency, given: the period "
                                "has manual journals in several currencies and Xero's "
                                "carry none", sorted(journals))]
    return []


def xero_documents(items: Sequence[PeriodItem], amap: AccountMap) -> tuple[Document, ...]:
    """The Xero documents of ``items`` (checked first: every problem at once)."""
    raise_all(xero_problems(items, amap))
    docs = tuple(d for item in items for d in _documents(item, amap))
    raise_all(_currency_problems(docs, amap))
    check_unique_numbers(docs)
    return docs


def xero_export(books: Books, period: Period, accounts: AccountMap) -> Export:
    """The period's ledger entries as Xero request bodies (see the module docs)."""
    return Export(TARGET, period, xero_documents(period_items(books, period), accounts))

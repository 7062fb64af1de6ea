"""A period of the books as QuickBooks Online Accounting API request bodies.

:func:`quickbooks_export` turns the period's ledger entries into the bodies
of ``POST /v3/company/<realm>/<entity>`` requests, in the order to send
them:

==========================  ===============================================
entry                       QuickBooks entity
==========================  ===============================================
invoice issued              ``Invoice``: ``CustomerRef``, ``DocNumber``,
                            ``TxnDate``, ``DueDate``, ``CurrencyRef``, a
                            ``SalesItemLineDetail`` line per invoice line
                            (the map's ``item``, ``TaxCodeRef``),
                            ``TxnTaxDetail.TotalTax``
credit note issued          ``CreditMemo``, the same shape
payment received            ``Payment``: ``CustomerRef``, ``TotalAmt``,
                            ``DepositToAccountRef`` (clearing, or cash for
                            payments recorded by hand), one ``Line`` linked
                            to the invoice (``LinkedTxn``) once the invoice
                            has a QuickBooks id
refund paid, revenue,       ``JournalEntry``: a ``JournalEntryLineDetail``
customer credit, netting    line per ledger line, ``PostingType``,
                            ``AccountRef``, and the customer as ``Entity``
                            on every line (QuickBooks requires it on
                            accounts-receivable lines)
==========================  ===============================================

A refund posts *Dr receivable / Cr clearing*; a ``RefundReceipt`` would post
to an item's income account instead of reopening the receivable, so refunds
go as journal entries.  Whatever an entry posts that its document cannot --
an invoice's share of the contract asset, a gateway fee -- goes in a
``JournalEntry`` beside it (``"<entry id>#rest"``), so the export ties to the
ledger account by account.

``DocNumber`` holds at most 21 characters: our invoice and credit note
numbers when they fit, otherwise (and for journal entries) ``"MB-"`` and a
digest of our id (:func:`~milestonebill.integrations.accounting.fitting_number`);
``PrivateNote`` carries our id in full.  Amounts are exact JSON numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from milestonebill._validate import problem, raise_all
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.integrations.accounting import (
    LINKED_ID,
    Books,
    Document,
    Export,
    ItemKind,
    Link,
    PeriodItem,
    Posting,
    check_unique_numbers,
    clipped,
    decimal_of,
    derived_id,
    fitting_number,
    period_items,
    rest_of,
)
from milestonebill.integrations.accounts import AccountMap, Ref
from milestonebill.ledger import Account, JournalEntry
from milestonebill.periods import Period

__all__ = [
    "DESCRIPTION_LIMIT",
    "DOC_NUMBER_LIMIT",
    "PRIVATE_NOTE_LIMIT",
    "TARGET",
    "quickbooks_documents",
    "quickbooks_export",
    "quickbooks_problems",
]

#: The name of the system in the sync journal.
TARGET: Final = "quickbooks"
#: ``DocNumber``: at most 21 characters.
DOC_NUMBER_LIMIT: Final = 21
#: ``PrivateNote``: at most 4,000 characters.
PRIVATE_NOTE_LIMIT: Final = 4000
#: A line's ``Description``: at most 4,000 characters.
DESCRIPTION_LIMIT: Final = 4000


def _ref(ref: Ref) -> dict[str, str]:
    return {"value": ref.id, "name": ref.name} if ref.name else {"value": ref.id}


def _note(memo: str, source_id: str) -> str:
    return clipped(f"{memo} [milestonebill {source_id}]" if memo
                   else f"milestonebill {source_id}", PRIVATE_NOTE_LIMIT)


def _customer(item: PeriodItem, amap: AccountMap) -> Ref | None:
    client = item.client
    return None if client is None else amap.customer(client)


# ---------------------------------------------------------------- checks


def quickbooks_problems(items: Sequence[PeriodItem], amap: AccountMap) -> list[ValidationError]:
    """Everything the map lacks for ``items``: unmapped accounts, customers, the
    service item and tax codes, each named by its field (empty: ready)."""
    problems = amap.problems(i.entry for i in items)
    missing: dict[str, str] = {}
    for item in items:
        client = item.client
        if client is not None and amap.customer(client) is None:
            missing.setdefault(f"customers.{client}", item.entry.id)
        elif client is None and any(ln.account is Account.RECEIVABLE for ln in item.entry.lines):
            missing.setdefault(f"entries.{item.entry.id}.agreement_id", item.entry.id)
        doc = item.credit_note if item.kind is ItemKind.CREDIT_NOTE else item.invoice
        if item.kind in (ItemKind.INVOICE, ItemKind.CREDIT_NOTE) and doc is not None:
            if amap.item is None:
                missing.setdefault("item", item.entry.id)
            problems += problem(amap.tax, doc.tax_lines, doc.id)
    for field, entry in sorted(missing.items()):
        problems.append(ValidationError(field, "given: QuickBooks needs it for the period "
                                        f"(first for entry {entry!r})", None))
    unique: dict[str, ValidationError] = {}
    for p in problems:
        unique.setdefault(p.field, p)
    return list(unique.values())


# ---------------------------------------------------------------- documents


def _sales(item: PeriodItem, doc: Invoice | CreditNote, amap: AccountMap, kind: str
           ) -> tuple[Document, list[Posting]]:
    """An ``Invoice`` or ``CreditMemo``: the lines on the service item."""
    customer, service = _customer(item, amap), amap.item
    assert customer is not None  # checked first
    assert service is not None
    tax = amap.tax(doc.tax_lines, doc.id)
    lines: list[dict[str, Any]] = []
    for n, ln in enumerate(doc.lines, 1):
        detail: dict[str, Any] = {"ItemRef": _ref(service), "Qty": 1,
                                  "UnitPrice": ln.amount.amount}
        if tax is not None:
            detail["TaxCodeRef"] = {"value": tax.id}
        if ln.period is not None:
            detail["ServiceDate"] = ln.period.start.isoformat()
        lines.append({"LineNum": n, "Description": clipped(ln.description or ln.line_id,
                                                           DESCRIPTION_LIMIT),
                      "Amount": ln.amount.amount, "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": detail})
    entry = item.entry
    number = fitting_number(doc.number, entry.id, limit=DOC_NUMBER_LIMIT)
    body: dict[str, Any] = {
        "DocNumber": number, "TxnDate": doc.issued_on.isoformat(),
        "CustomerRef": _ref(customer), "CurrencyRef": {"value": doc.currency.code},
        "PrivateNote": _note(entry.memo, entry.id), "Line": lines}
    if isinstance(doc, Invoice):
        body["DueDate"] = doc.due_on.isoformat()
    if doc.tax_lines:
        body["GlobalTaxCalculation"] = "TaxExcluded"
        body["TxnTaxDetail"] = {"TotalTax": doc.tax_total.amount}
    sign = 1 if isinstance(doc, Invoice) else -1
    covered = [Posting(Account.RECEIVABLE, sign * doc.total.minor),
               Posting(Account.CONTRACT_LIABILITY, -sign * doc.subtotal.minor),
               Posting(Account.TAX_PAYABLE, -sign * doc.tax_total.minor)]
    return (Document(TARGET, kind, entry.id, number, entry.posted_on, doc.currency, body),
            [p for p in covered if p.minor])


def _deposit_account(entry: JournalEntry) -> Account | None:
    """Where a payment's money went: its debit that is not the gateway's or the
    platform's fee."""
    return next((ln.account for ln in entry.lines if ln.debit is not None
                 and ln.account not in (Account.GATEWAY_FEES, Account.PLATFORM_FEES)), None)


def _payment(item: PeriodItem, amap: AccountMap) -> tuple[Document, list[Posting]] | None:
    """A ``Payment`` of the invoice, linked to it once it has a QuickBooks id."""
    entry, paid = item.entry, item.payment
    deposit = _deposit_account(entry)
    customer = _customer(item, amap)
    if paid is None or item.invoice is None or deposit is None or customer is None:
        return None
    number = fitting_number(None, entry.id, limit=DOC_NUMBER_LIMIT)
    body = {
        "CustomerRef": _ref(customer), "TotalAmt": paid.amount.amount,
        "TxnDate": entry.posted_on.isoformat(), "CurrencyRef": {"value": entry.currency.code},
        "DepositToAccountRef": _ref(amap.ref(deposit)),
        "PaymentRefNum": fitting_number(paid.gateway_reference, entry.id,
                                        limit=DOC_NUMBER_LIMIT),
        "PrivateNote": _note(f"Payment on {item.invoice.number or item.invoice.id}", entry.id)}
    link = Link(f"{item.invoice.id}:issue", "Line", [
        {"Amount": paid.amount.amount, "LinkedTxn": [{"TxnId": LINKED_ID, "TxnType": "Invoice"}]}])
    doc = Document(TARGET, "Payment", entry.id, number, entry.posted_on, entry.currency, body,
                   (link,))
    return doc, [Posting(deposit, paid.amount.minor), Posting(Account.RECEIVABLE,
                                                              -paid.amount.minor)]


def _journal(source_id: str, item: PeriodItem, postings: Sequence[Posting], amap: AccountMap,
             memo: str) -> Document:
    """A ``JournalEntry`` of ``postings``, the customer on every line."""
    entry = item.entry
    customer = _customer(item, amap)
    lines = []
    for p in postings:
        detail: dict[str, Any] = {"PostingType": "Debit" if p.minor > 0 else "Credit",
                                  "AccountRef": _ref(amap.ref(p.account, p.obligation_id))}
        if customer is not None:
            detail["Entity"] = {"Type": "Customer", "EntityRef": _ref(customer)}
        lines.append({"Description": clipped(memo, DESCRIPTION_LIMIT),
                      "Amount": decimal_of(abs(p.minor), entry.currency),
                      "DetailType": "JournalEntryLineDetail", "JournalEntryLineDetail": detail})
    number = fitting_number(None, source_id, limit=DOC_NUMBER_LIMIT)
    body = {"DocNumber": number, "TxnDate": entry.posted_on.isoformat(),
            "CurrencyRef": {"value": entry.currency.code},
            "PrivateNote": _note(memo, source_id), "Line": lines}
    return Document(TARGET, "JournalEntry", source_id, number, entry.posted_on,
                    entry.currency, body)


def _documents(item: PeriodItem, amap: AccountMap) -> list[Document]:
    """The documents of one entry: its own, then a journal of what it leaves out."""
    made: tuple[Document, list[Posting]] | None = None
    if item.kind is ItemKind.INVOICE and item.invoice is not None:
        made = _sales(item, item.invoice, amap, "Invoice")
    elif item.kind is ItemKind.CREDIT_NOTE and item.credit_note is not None:
        made = _sales(item, item.credit_note, amap, "CreditMemo")
    elif item.kind is ItemKind.PAYMENT:
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


def quickbooks_documents(items: Sequence[PeriodItem], amap: AccountMap) -> tuple[Document, ...]:
    """The QuickBooks documents of ``items`` (checked first: every problem at once)."""
    raise_all(quickbooks_problems(items, amap))
    docs = tuple(d for item in items for d in _documents(item, amap))
    check_unique_numbers(docs)
    return docs


def quickbooks_export(books: Books, period: Period, accounts: AccountMap, *,
                      target_id: Callable[[str], str | None] | None = None) -> Export:
    """The period's ledger entries as QuickBooks Online request bodies.

    ``target_id`` gives the QuickBooks id of a document already sent (the
    sync journal's, by our id); payments of invoices it knows are linked to
    them (``Line`` / ``LinkedTxn``), the others go unapplied until their
    invoice is sent: :func:`~milestonebill.integrations.sync.sync` links each
    payment as it sends it.
    """
    export = Export(TARGET, period, quickbooks_documents(period_items(books, period), accounts))
    return export if target_id is None else export.resolved(target_id)

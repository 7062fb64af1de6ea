"""The journal entry each billing event posts, as pure functions of the event.

The :class:`~milestonebill.engine.Biller` posts these in the same unit of
work as the event that causes them, so the ledger and the agreement's
stream never disagree.  Entry ids are derived from the document or event
(``"<invoice>:issue"``, ``"<credit note>:credit"``, ...), so posting the
same event twice posts it once.

============================  ===========================================
event                         entry
============================  ===========================================
invoice issued                Dr receivable / Cr revenue, deferred revenue,
                              tax payable
credit note issued            the reverse, deferred revenue first
payment received              Dr clearing (or cash) and gateway fees /
                              Cr receivable
refund paid                   Dr receivable / Cr clearing
over-credit kept as credit    Dr receivable / Cr customer credit
customer credit applied       Dr customer credit / Cr receivable
============================  ===========================================

>>> from datetime import date
>>> from milestonebill.documents import Invoice, InvoiceLine, LineKind
>>> from milestonebill.money import Money
>>> inv = Invoice.build(id="inv-1", agreement_id="agr-1", currency="USD",
...     issued_on=date(2026, 3, 2), due_on=date(2026, 3, 2), number="INV-000001",
...     lines=[InvoiceLine("l1", "m:design", LineKind.MILESTONE, "Design",
...                        Money("2500.00", "USD"))])
>>> [(ln.account.value, ln.side.value, str(ln.amount)) for ln in issue_entry(inv).lines]
[('receivable', 'debit', '2500.00 USD'), ('revenue', 'credit', '2500.00 USD')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import attrs

from milestonebill.agreement import (
    Agreement,
    CreditApplied,
    CustomerCreditAdded,
    PaymentSucceeded,
    Refunded,
)
from milestonebill.documents import CreditNote, Invoice, InvoiceLine
from milestonebill.ids import EntryId
from milestonebill.ledger import Account, JournalEntry, JournalLine
from milestonebill.money import Currency, Money

__all__ = [
    "ContractPosition",
    "contract_position",
    "credit_added_entry",
    "credit_applied_entry",
    "credit_entry",
    "issue_entry",
    "payment_entry",
    "refund_entry",
    "revenue_account",
]


def revenue_account(period_end: date | None, on: date) -> Account:
    """Where a billed line's revenue goes: service not yet rendered (a period ending
    after ``on``) is a contract liability until recognition releases it."""
    if period_end is not None and period_end > on:
        return Account.DEFERRED_REVENUE
    return Account.REVENUE


def _by_account(lines: Iterable[InvoiceLine], on: date) -> dict[Account, int]:
    by: dict[Account, int] = {}
    for line in lines:
        acct = revenue_account(None if line.period is None else line.period.end, on)
        by[acct] = by.get(acct, 0) + line.amount.minor
    return by


def _lines(amounts: dict[Account, int], currency: Currency, *, debit: bool
           ) -> list[JournalLine]:
    out = []
    for account, minor in amounts.items():
        if minor > 0:
            m = Money.from_minor(minor, currency)
            out.append(JournalLine.dr(account, m) if debit else JournalLine.cr(account, m))
    return out


def issue_entry(invoice: Invoice) -> JournalEntry:
    """Receivable against revenue (or deferred revenue, for service still to come)
    and tax payable, for an issued invoice."""
    by = _by_account(invoice.lines, invoice.issued_on)
    if invoice.tax_total.minor:
        by[Account.TAX_PAYABLE] = invoice.tax_total.minor
    return JournalEntry(
        id=EntryId(f"{invoice.id}:issue"), posted_on=invoice.issued_on,
        lines=(JournalLine.dr(Account.RECEIVABLE, invoice.total),
               *_lines(by, invoice.currency, debit=False)),
        memo=f"Invoice {invoice.number}", agreement_id=invoice.agreement_id)


def credit_entry(cn: CreditNote, deferred: int | None = None) -> JournalEntry:
    """The reverse of :func:`issue_entry` for a credit note.

    ``deferred`` is the contract's deferred revenue before the credit (minor
    units): when recognition already released part of what is credited, that
    part is reversed from revenue, so deferred revenue never turns into a debit.
    """
    by = _by_account(cn.lines, cn.issued_on)
    taken = by.get(Account.DEFERRED_REVENUE, 0)
    if deferred is not None and taken > max(deferred, 0):
        by[Account.DEFERRED_REVENUE] = max(deferred, 0)
        by[Account.REVENUE] = by.get(Account.REVENUE, 0) + taken - max(deferred, 0)
    if cn.tax_total.minor:
        by[Account.TAX_PAYABLE] = cn.tax_total.minor
    return JournalEntry(
        id=EntryId(f"{cn.id}:credit"), posted_on=cn.issued_on,
        lines=(*_lines(by, cn.currency, debit=True), JournalLine.cr(Account.RECEIVABLE, cn.total)),
        memo=f"Credit note {cn.number} on {cn.credits}", agreement_id=cn.agreement_id)


def payment_entry(agreement_id: str, e: PaymentSucceeded, entry_id: str,
                  account: Account) -> JournalEntry:
    """Money received into ``account`` (clearing for gateway payments, cash for
    payments recorded by hand), the gateway's fee apart when it is known and in
    the payment's currency."""
    fee = e.fee
    lines: list[JournalLine] = []
    net = e.amount
    if fee is not None and fee.currency == e.amount.currency and 0 < fee.minor < e.amount.minor:
        net = e.amount - fee
        lines.append(JournalLine.dr(Account.GATEWAY_FEES, fee))
    return JournalEntry(
        id=EntryId(entry_id), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(account, net), *lines, JournalLine.cr(Account.RECEIVABLE, e.amount)),
        memo=f"Payment on {e.invoice_id} ({e.gateway_reference})", agreement_id=agreement_id)


def refund_entry(agreement_id: str, e: Refunded) -> JournalEntry:
    """Money paid back: the receivable it settled is open again, clearing pays."""
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:refund:{e.event_id}"), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.RECEIVABLE, e.amount),
               JournalLine.cr(Account.CLEARING, e.amount)),
        memo=f"Refund on {e.invoice_id} ({e.gateway_reference})", agreement_id=agreement_id)


def credit_added_entry(agreement_id: str, e: CustomerCreditAdded) -> JournalEntry:
    """An over-credited invoice's surplus kept as customer credit."""
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:customer-credit:{e.event_id}"),
        posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.RECEIVABLE, e.amount),
               JournalLine.cr(Account.CUSTOMER_CREDIT, e.amount)),
        memo=f"Over-credit on {e.invoice_id} held as customer credit",
        agreement_id=agreement_id)


def credit_applied_entry(agreement_id: str, e: CreditApplied) -> JournalEntry:
    """Customer credit paying (part of) an invoice."""
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:credit-applied:{e.event_id}"),
        posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.CUSTOMER_CREDIT, e.amount),
               JournalLine.cr(Account.RECEIVABLE, e.amount)),
        memo=f"Customer credit applied to {e.invoice_id}", agreement_id=agreement_id)


@attrs.frozen
class ContractPosition:
    """An agreement's deferred revenue and contract asset as its posted entries say
    (minor units), with the number of recognition releases and the last one's date."""

    deferred: int
    contract_asset: int
    releases: int
    last_release: date | None


def contract_position(agreement: Agreement, posted: Mapping[str, JournalEntry],
                      as_of: date | None = None) -> ContractPosition:
    """Where the contract stands in the ledger, from the entries ``posted`` for it.

    Only entries of documents in ``agreement`` (issued by ``as_of``) and
    recognition releases (``"<agreement>:recognition:<n>"``) count, so a
    document committed after the agreement was loaded cannot skew it.
    """
    ids = {f"{i.id}:issue" for i in agreement.invoices if as_of is None or i.issued_on <= as_of}
    ids |= {f"{c.id}:credit" for c in agreement.credit_notes
            if as_of is None or c.issued_on <= as_of}
    prefix = f"{agreement.id}:recognition:"
    releases = [e for e in posted.values() if e.id.startswith(prefix)]
    deferred = asset = 0
    for e in (*(posted[i] for i in ids if i in posted), *releases):
        for ln in e.lines:
            if ln.account is Account.DEFERRED_REVENUE:
                deferred -= ln.signed_minor
            elif ln.account is Account.CONTRACT_ASSET:
                asset += ln.signed_minor
    last = max((e.posted_on for e in releases), default=None)
    return ContractPosition(deferred, asset, len(releases), last)

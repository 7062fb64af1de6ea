"""The journal entry each billing and revenue event posts, as pure functions.

The :class:`~milestonebill.engine.Biller` posts these in the same unit of
work as the event that causes them, so the ledger and the agreement's
stream never disagree.  Entry ids are derived from the document, event or
obligation, so posting the same thing twice posts it once.

Billing never touches revenue (ASC 606-10-45-1): an invoice is a right to
consideration; what it bills before the revenue is earned is a contract
liability, what it bills after is a contract asset it settles.  Revenue is
posted only by :func:`revenue_entry`, per obligation, as performance earns it.
Each contract's balance is kept on one side: asset or liability, never both.

============================  ===========================================
event                         entry
============================  ===========================================
invoice issued                Dr receivable / Cr contract asset (up to its
                              balance), contract liability, tax payable
credit note issued            the reverse: Dr contract liability (up to its
                              balance), contract asset, tax payable
revenue earned                Cr revenue / Dr contract liability (up to its
                              balance), contract asset
payment received              Dr clearing (or cash), gateway fees and
                              platform fees / Cr receivable
refund paid                   Dr receivable / Cr clearing
over-credit kept as credit    Dr receivable / Cr customer credit
customer credit applied       Dr customer credit / Cr receivable
balance written off           Dr bad debt expense / Cr receivable
write-off recovered           Dr receivable / Cr bad debt expense
customer credit forfeited     Dr customer credit / Cr other income
late fee invoiced             Dr receivable / Cr other income
============================  ===========================================

Entry ids name what posted them (ids contain ``:``, so split from the
right only where a part is known to hold none):

=============================================  =============================
entry id                                       posted by
=============================================  =============================
``<invoice id>:issue``                         an invoice issued
``<credit note id>:credit``                    a credit note issued
``<invoice id>:payment:<attempt>``             a gateway payment
``<invoice id>:payment:manual:<reference>``    a payment recorded by hand
``<invoice id>:refund:<event id>``             a refund paid
``<invoice id>:customer-credit:<event id>``    an over-credit kept as credit
``<invoice id>:credit-applied:<event id>``     customer credit applied
``<invoice id>:write-off:<event id>``          a balance written off
``<invoice id>:recovery:<event id>``           a write-off recovered
``<agreement id>:forfeit:<event id>``          customer credit forfeited
``<agreement id>:revenue:<obligation>:<n>``    revenue earned, ``n`` from
                                               000001 per obligation
``<agreement id>:net:<date>:<minor units>``    contract asset netted
                                               against the liability
=============================================  =============================

A write-off is a credit loss (ASC 326-20), not a price concession: it
never touches revenue or the contract's balance.  Late fees and forfeited
credit are other income: neither pays for a promise of the contract.

A 12,000.00 deposit billed on signing, before any work, is a contract
liability, not revenue:

>>> from datetime import date
>>> from milestonebill.documents import Invoice, InvoiceLine, LineKind
>>> from milestonebill.money import Money
>>> inv = Invoice.build(id="inv-1", agreement_id="agr-1", currency="USD",
...     issued_on=date(2025, 1, 10), due_on=date(2025, 1, 10), number="INV-000001",
...     lines=[InvoiceLine("l1", "m:deposit", LineKind.MILESTONE, "Deposit",
...                        Money("12000.00", "USD"))])
>>> nothing_yet = ContractPosition.of([], "USD")
>>> entry = issue_entry(inv, nothing_yet)
>>> [(ln.account.value, ln.side.value, str(ln.amount)) for ln in entry.lines]
[('receivable', 'debit', '12000.00 USD'), ('deferred_revenue', 'credit', '12000.00 USD')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import attrs

from milestonebill.agreement import (
    CreditApplied,
    CreditForfeited,
    CustomerCreditAdded,
    InvoiceWrittenOff,
    PaymentSucceeded,
    Refunded,
    WriteOffRecovered,
)
from milestonebill.documents import CreditNote, Invoice, LineKind
from milestonebill.ids import EntryId
from milestonebill.ledger import Account, JournalEntry, JournalLine
from milestonebill.money import Currency, Money

__all__ = [
    "ContractPosition",
    "credit_added_entry",
    "credit_applied_entry",
    "credit_entry",
    "forfeit_entry",
    "issue_entry",
    "netting_entry",
    "payment_entry",
    "recovery_entry",
    "refund_entry",
    "revenue_entry",
    "write_off_entry",
]


def _line(account: Account, minor: int, currency: Currency, *, debit: bool
          ) -> list[JournalLine]:
    if minor <= 0:
        return []
    m = Money.from_minor(minor, currency)
    return [JournalLine.dr(account, m) if debit else JournalLine.cr(account, m)]


def _against_position(minor: int, position: ContractPosition, currency: Currency, *,
                      debit: bool) -> list[JournalLine]:
    """Lines moving the contract's balance by ``minor`` (credit: billed, debit: earned).

    A credit first settles the contract asset, the rest is a liability; a
    debit first uses up the liability, the rest is an asset.
    """
    if debit:
        first = min(minor, max(position.liability, 0))
        return [*_line(Account.CONTRACT_LIABILITY, first, currency, debit=True),
                *_line(Account.CONTRACT_ASSET, minor - first, currency, debit=True)]
    first = min(minor, max(position.contract_asset, 0))
    return [*_line(Account.CONTRACT_ASSET, first, currency, debit=False),
            *_line(Account.CONTRACT_LIABILITY, minor - first, currency, debit=False)]


def issue_entry(invoice: Invoice, position: ContractPosition) -> JournalEntry | None:
    """Receivable against the contract's balance (and tax payable) for an issued
    invoice; ``position`` is the contract's balance before it.  Late-fee lines
    are other income instead: they pay for no promise of the contract.
    ``None`` for an invoice of zero (its items discounted in full): nothing
    moves."""
    cur = invoice.currency
    if invoice.total.minor == 0:
        return None
    fees = sum(ln.amount.minor for ln in invoice.lines if ln.kind is LineKind.LATE_FEE)
    return JournalEntry(
        id=EntryId(f"{invoice.id}:issue"), posted_on=invoice.issued_on,
        lines=(JournalLine.dr(Account.RECEIVABLE, invoice.total),
               *_against_position(invoice.subtotal.minor - fees, position, cur, debit=False),
               *_line(Account.OTHER_INCOME, fees, cur, debit=False),
               *_line(Account.TAX_PAYABLE, invoice.tax_total.minor, cur, debit=False)),
        memo=f"Invoice {invoice.number}", agreement_id=invoice.agreement_id)


def credit_entry(cn: CreditNote, position: ContractPosition) -> JournalEntry | None:
    """The reverse of :func:`issue_entry` for a credit note: what it takes back
    reduces the contract liability first, then becomes (or adds to) an asset.
    ``None`` for a credit note of zero."""
    cur = cn.currency
    if cn.total.minor == 0:
        return None
    return JournalEntry(
        id=EntryId(f"{cn.id}:credit"), posted_on=cn.issued_on,
        lines=(*_against_position(cn.subtotal.minor, position, cur, debit=True),
               *_line(Account.TAX_PAYABLE, cn.tax_total.minor, cur, debit=True),
               JournalLine.cr(Account.RECEIVABLE, cn.total)),
        memo=f"Credit note {cn.number} on {cn.credits}", agreement_id=cn.agreement_id)


def revenue_entry(agreement_id: str, obligation_id: str, *, posted_on: date, change: Money,
                  position: ContractPosition, n: int) -> JournalEntry | None:
    """Revenue an obligation earned (``change`` > 0) or gave back (< 0) since the
    last entry, against the contract's balance; ``None`` for no change.

    Id ``"<agreement>:revenue:<obligation>:<n>"`` (the obligation's ``n``-th
    revenue entry), so two workers computing the same entry post it once,
    and one that read the ledger before the other posted is refused.
    """
    if change.minor == 0:
        return None
    cur, minor = change.currency, abs(change.minor)
    earned = change.minor > 0
    lines = (*_against_position(minor, position, cur, debit=True), *_line(
        Account.REVENUE, minor, cur, debit=False)) if earned else (
        *_line(Account.REVENUE, minor, cur, debit=True),
        *_against_position(minor, position, cur, debit=False))
    return JournalEntry(
        id=EntryId(f"{agreement_id}:revenue:{obligation_id}:{n:06d}"),
        posted_on=posted_on, lines=lines, agreement_id=agreement_id,
        obligation_id=obligation_id,
        memo=f"Revenue {'earned' if earned else 'reversed'} on {obligation_id}")


def netting_entry(agreement_id: str, posted_on: date, position: ContractPosition,
                  currency: Currency) -> JournalEntry | None:
    """Reclassify a contract asset against a liability of the same contract, should
    both ever carry a balance (``None`` when at most one does)."""
    minor = min(position.contract_asset, position.liability)
    if minor <= 0:
        return None
    m = Money.from_minor(minor, currency)
    return JournalEntry(
        id=EntryId(f"{agreement_id}:net:{posted_on.isoformat()}:{minor}"), posted_on=posted_on,
        lines=(JournalLine.dr(Account.CONTRACT_LIABILITY, m),
               JournalLine.cr(Account.CONTRACT_ASSET, m)),
        memo="Contract asset netted against contract liability", agreement_id=agreement_id)


def payment_entry(agreement_id: str, e: PaymentSucceeded, entry_id: str,
                  account: Account) -> JournalEntry:
    """Money received into ``account`` (clearing for gateway payments, cash for
    payments recorded by hand), net of the fees taken out of it: the gateway's
    fee and the platform's application fee, each apart when it is known, in
    the payment's currency and leaves something to receive (a fee that does
    not stays in ``account``'s line).  The receivable is cleared by the whole
    amount either way.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import PaymentSucceeded
    >>> from milestonebill.money import Money
    >>> paid = PaymentSucceeded("agr-1:paid:inv-1:1", 3, datetime(2026, 5, 4, tzinfo=UTC),
    ...     "inv-1", Money("1000.00", "USD"), "pi_1", 1, fee=Money("29.30", "USD"),
    ...     application_fee=Money("15.30", "USD"))
    >>> entry = payment_entry("agr-1", paid, "inv-1:payment:1", Account.CLEARING)
    >>> [(ln.account.value, ln.side.value, str(ln.amount)) for ln in entry.lines]
    [('clearing', 'debit', '955.40 USD'), ('gateway_fees', 'debit', '29.30 USD'), ('platform_fees', 'debit', '15.30 USD'), ('receivable', 'credit', '1000.00 USD')]
    """
    lines: list[JournalLine] = []
    net = e.amount
    for fee, to in ((e.fee, Account.GATEWAY_FEES), (e.application_fee, Account.PLATFORM_FEES)):
        if fee is not None and fee.currency == net.currency and 0 < fee.minor < net.minor:
            net = net - fee
            lines.append(JournalLine.dr(to, fee))
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


def write_off_entry(agreement_id: str, e: InvoiceWrittenOff) -> JournalEntry:
    """An uncollectible balance written off: bad debt expense, not less revenue."""
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:write-off:{e.event_id}"), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.BAD_DEBT_EXPENSE, e.amount),
               JournalLine.cr(Account.RECEIVABLE, e.amount)),
        memo=f"Written off on {e.invoice_id} as uncollectible", agreement_id=agreement_id)


def recovery_entry(agreement_id: str, e: WriteOffRecovered) -> JournalEntry:
    """A written-off balance the client paid after all: the write-off reversed, so
    the payment posted next settles a receivable again."""
    return JournalEntry(
        id=EntryId(f"{e.invoice_id}:recovery:{e.event_id}"), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.RECEIVABLE, e.amount),
               JournalLine.cr(Account.BAD_DEBT_EXPENSE, e.amount)),
        memo=f"Write-off recovered on {e.invoice_id}", agreement_id=agreement_id)


def forfeit_entry(agreement_id: str, e: CreditForfeited) -> JournalEntry:
    """Customer credit the client forfeited: the liability becomes other income."""
    return JournalEntry(
        id=EntryId(f"{agreement_id}:forfeit:{e.event_id}"), posted_on=e.effective_at.date(),
        lines=(JournalLine.dr(Account.CUSTOMER_CREDIT, e.amount),
               JournalLine.cr(Account.OTHER_INCOME, e.amount)),
        memo="Customer credit forfeited", agreement_id=agreement_id)


@attrs.frozen
class ContractPosition:
    """A contract's balances in the ledger (minor units): its contract asset and
    contract liability, the revenue posted and the number of revenue entries
    per obligation, and the last day revenue was posted."""

    contract_asset: int
    liability: int
    revenue: Mapping[str, int]
    revenue_entries: Mapping[str, int]
    last_recognised: date | None

    @property
    def net(self) -> int:
        """Liability minus asset: positive a contract liability, negative an asset."""
        return self.liability - self.contract_asset

    @classmethod
    def of(cls, entries: Iterable[JournalEntry], currency: Currency | str) -> ContractPosition:
        """The position the entries of one contract add up to (in ``currency``)."""
        cur = Currency.of(currency)
        asset = liability = 0
        revenue: dict[str, int] = {}
        counts: dict[str, int] = {}
        last: date | None = None
        for e in entries:
            if e.currency != cur:
                continue
            for ln in e.lines:
                if ln.account is Account.CONTRACT_ASSET:
                    asset += ln.signed_minor
                elif ln.account is Account.CONTRACT_LIABILITY:
                    liability -= ln.signed_minor
                elif ln.account is Account.REVENUE and e.obligation_id is not None:
                    revenue[e.obligation_id] = revenue.get(e.obligation_id, 0) - ln.signed_minor
            if e.obligation_id is not None:
                counts[e.obligation_id] = counts.get(e.obligation_id, 0) + 1
                last = e.posted_on if last is None else max(last, e.posted_on)
        return cls(asset, liability, revenue, counts, last)

    def after(self, entry: JournalEntry) -> ContractPosition:
        """The position once ``entry`` is posted too."""
        moved = ContractPosition.of([entry], entry.currency)
        revenue = dict(self.revenue)
        for k, v in moved.revenue.items():
            revenue[k] = revenue.get(k, 0) + v
        counts = dict(self.revenue_entries)
        for k, v in moved.revenue_entries.items():
            counts[k] = counts.get(k, 0) + v
        last = max((d for d in (self.last_recognised, moved.last_recognised) if d is not None),
                   default=None)
        return ContractPosition(self.contract_asset + moved.contract_asset,
                                self.liability + moved.liability, revenue, counts, last)

"""Writing off what a client will not pay, and what it forfeits: the rules, pure.

The :class:`~milestonebill.engine.Biller` asks these before it writes
anything (``Biller.write_off``, ``Biller.forfeit_credit``,
``Biller.record_payment``), so a refused request leaves nothing behind:

* :func:`check_write_off` -- how much of an invoice's balance a write-off
  takes: at most what is still owed, never on a paid invoice, never while
  a charge attempt may still take the money;
* :func:`recovery_on` -- how much of a payment on a written-off invoice
  first reverses the write-off (the rest settles the balance as usual);
* :func:`check_forfeit` -- how much customer credit a forfeit takes.

A write-off is a credit loss (ASC 326), not a price change: it leaves the
contract value, the billing plan and revenue alone; only the receivable
goes, to bad debt expense (see :mod:`milestonebill.postings` and
``docs/terms.md``).

>>> from milestonebill.agreement import Collection
>>> from milestonebill.testing.scenarios import World, proposal, usd
>>> w = World()
>>> a = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
...            payment_method=None)
>>> invoice = w.complete("design").invoices[0]
>>> check_write_off(w.load(), invoice.id, None)
Money('1000.00', 'USD')
>>> check_write_off(w.load(), invoice.id, usd("1200.00"))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'amount' must be a positive amount up to the invoice's balance (1000.00 USD) (got Money('1200.00', 'USD'))
"""

from __future__ import annotations

from milestonebill.agreement import Agreement
from milestonebill.collection import has_open_attempt
from milestonebill.errors import InvalidTransitionError, ValidationError
from milestonebill.ids import InvoiceId
from milestonebill.invoicing import invoice_balance
from milestonebill.money import Money

__all__ = ["check_forfeit", "check_write_off", "recovery_on"]


def _amount(a: Agreement, amount: object, cap: int, what: str) -> Money:
    """``amount`` (``None``: all of ``cap``), checked to be positive and at most ``cap``."""
    want = Money.from_minor(cap, a.currency) if amount is None else amount
    if not isinstance(want, Money) or want.currency != a.currency or not 0 < want.minor <= cap:
        raise ValidationError("amount", f"a positive amount up to {what} "
                              f"({Money.from_minor(max(cap, 0), a.currency)})", want)
    return want


def check_write_off(agreement: Agreement, invoice_id: InvoiceId, amount: Money | None
                    ) -> Money:
    """The amount a write-off of ``invoice_id`` takes (``None``: its whole balance).

    Refused with a typed error, before anything is written:
    :class:`~milestonebill.errors.NotFoundError` for an invoice the agreement
    did not issue; :class:`~milestonebill.errors.InvalidTransitionError` for
    a paid (or over-credited) invoice, and for one whose charge attempt has
    no outcome yet (the gateway may still take the money);
    :class:`~milestonebill.errors.ValidationError` (field ``amount``) for an
    amount that is not positive, in another currency, or more than the
    balance.
    """
    inv = agreement.invoice(invoice_id)
    balance = invoice_balance(agreement, inv.id)
    if balance.minor <= 0:
        raise InvalidTransitionError(f"invoice {inv.number} has nothing owed to write off "
                                     f"(balance {balance})")
    if has_open_attempt(agreement, inv.id):
        raise InvalidTransitionError(f"invoice {inv.number} has a charge attempt without an "
                                     "outcome: it may still be paid; reconcile first")
    return _amount(agreement, amount, balance.minor, "the invoice's balance")


def recovery_on(agreement: Agreement, invoice_id: InvoiceId, payment: Money) -> int:
    """Minor units of ``payment`` that reverse a write-off of ``invoice_id`` first.

    A payment settles what is still owed; only what it pays beyond that,
    up to what is written off and not yet recovered, is a recovery.  A
    1,000.00 invoice written off in full and then paid 400.00 recovers
    400.00: the receivable is owed again and the payment settles it.
    """
    owed = max(0, invoice_balance(agreement, invoice_id).minor)
    return max(0, min(payment.minor - owed, agreement.written_off(invoice_id).minor))


def check_forfeit(agreement: Agreement, amount: Money | None, reserved: int = 0) -> Money:
    """The customer credit a forfeit takes (``None``: all that is outstanding).

    ``reserved`` is credit an unfinished customer-credit refund holds: it
    cannot be forfeited meanwhile.  No credit, or more than is outstanding,
    raises :class:`~milestonebill.errors.ValidationError` (field ``amount``).
    """
    return _amount(agreement, amount, agreement.credit_balance.minor - reserved,
                   "the customer credit outstanding")

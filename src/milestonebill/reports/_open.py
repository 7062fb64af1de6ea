"""The invoices of an agreement with a balance, kept with it.  Private to the reports.

Receivables, aging, the leakage audit and the forecasts' open invoices all
read every issued invoice's balance and act on the few that are not zero.
:func:`open_balances` reads them once per agreement, in minor units, and
keeps those few: each report then makes a :class:`~milestonebill.money.Money`
only for a row it returns.  Inside
:func:`~milestonebill._reference.reference_path` it is worked out per call.
"""

from __future__ import annotations

from milestonebill._reference import reference
from milestonebill.agreement import Agreement
from milestonebill.agreement.plan import invoice_balances
from milestonebill.documents import Invoice

__all__ = ["open_balances"]


def open_balances(agreement: Agreement) -> tuple[tuple[Invoice, int], ...]:
    """Each issued invoice whose balance (:meth:`Agreement.balance_of
    <milestonebill.agreement.Agreement.balance_of>`) is not zero, with that balance in
    minor units (negative: owed to the client), in issue order."""
    return _open(agreement) if reference() else agreement.derived(_open_kept)


def _open(agreement: Agreement) -> tuple[tuple[Invoice, int], ...]:
    return tuple((inv, b) for inv in agreement.invoices
                 if (b := agreement.balance_of(inv.id).minor))


def _open_kept(agreement: Agreement) -> tuple[tuple[Invoice, int], ...]:
    """:func:`_open` read straight off the table ``balance_of`` reads (every issued
    invoice is in it): no call and no :class:`~milestonebill.money.Money` per invoice."""
    table = invoice_balances(agreement)
    return tuple((inv, b) for inv in agreement.invoices if (b := table[inv.id][0]))

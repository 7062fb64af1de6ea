"""Receivables: the open invoices at any date, aged, per client and in total.

Pure functions of agreements and a date.  Each agreement is replayed to the
end of ``as_of`` (:meth:`Agreement.as_of <milestonebill.agreement.Agreement.as_of>`),
so a report on a past date shows the balances of that day, not today's: a
payment received later is not seen.

* :func:`receivables` -- one row per invoice with a balance: who owes it,
  when it was due, how many days past due, its aging bucket and where
  collecting it stands (:class:`ReceivableStatus`, from
  :func:`~milestonebill.collection.collection_state` on the replayed
  agreement);
* :func:`aging` -- the same money per client and in total, per currency,
  in the buckets *current*, *1-30*, *31-60*, *61-90* and *90+* days past due.

A payment the gateway is still processing (a bank debit) and one waiting
for the customer to authenticate are never shown as overdue: they have
buckets of their own (:attr:`AgingBucket.PROCESSING`,
:attr:`AgingBucket.ACTION_REQUIRED`), whatever their due date.  An invoice
a credit note left owing the client money (a negative balance the credit
policy has not yet settled) is listed too, as ``owed_to_client`` in the
current bucket, so the totals are exactly the ledger's receivable balance
for those agreements as of the same day (entries posted on or before it).
(An event counts from the day it is stamped, an entry from the day it is
posted; the Biller does both on the day it acts, so they agree whenever it
runs for the clock's date.)  Amounts in different currencies are never added.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

import attrs

from milestonebill._kept import kept
from milestonebill._reference import reference
from milestonebill.agreement import Agreement
from milestonebill.collection import CollectionState, RetryPolicy, collection_state
from milestonebill.documents import Invoice
from milestonebill.money import Currency, Money
from milestonebill.reports._amounts import Amounts
from milestonebill.reports._inputs import checked_agreements, client_of, for_client, replayed
from milestonebill.reports._open import open_balances
from milestonebill.reports._table import Table

__all__ = [
    "AgingBucket",
    "AgingRow",
    "ReceivableRow",
    "ReceivableStatus",
    "aging",
    "receivables",
]


class ReceivableStatus(enum.Enum):
    """Where collecting an open invoice stands at the report's date.

    ``CURRENT`` (not yet past due) and ``OVERDUE`` are for invoices nobody
    is collecting automatically right now; the others come from the
    collection state: ``PROCESSING`` (a charge attempt without an outcome
    yet), ``ACTION_REQUIRED`` (the customer must authenticate),
    ``RETRYING`` (a failed charge with a retry scheduled, see
    :attr:`ReceivableRow.next_retry`), ``EXHAUSTED`` (retries stopped),
    ``ON_HOLD`` (money was refunded on it, so it is not charged again by
    itself) and ``OWED_TO_CLIENT`` (a negative balance).
    """

    CURRENT = "current"
    OVERDUE = "overdue"
    PROCESSING = "processing"
    ACTION_REQUIRED = "action_required"
    RETRYING = "retrying"
    EXHAUSTED = "exhausted"
    ON_HOLD = "on_hold"
    OWED_TO_CLIENT = "owed_to_client"


class AgingBucket(enum.Enum):
    """How far past its due date an open invoice is, in days.

    Payments processing or awaiting the customer's action have buckets of
    their own: they are not overdue, whatever the date.

    >>> [AgingBucket.of_days(d).value for d in (0, 1, 30, 31, 60, 61, 90, 91)]
    ['current', '1-30', '1-30', '31-60', '31-60', '61-90', '61-90', '90+']
    """

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "90+"
    PROCESSING = "processing"
    ACTION_REQUIRED = "action_required"

    @classmethod
    def of_days(cls, days_past_due: int) -> AgingBucket:
        """The bucket of an invoice ``days_past_due`` days past due (0: not past due)."""
        if days_past_due <= 0:
            return cls.CURRENT
        if days_past_due <= 30:
            return cls.DAYS_1_30
        if days_past_due <= 60:
            return cls.DAYS_31_60
        if days_past_due <= 90:
            return cls.DAYS_61_90
        return cls.OVER_90


@attrs.frozen
class ReceivableRow:
    """One invoice with a balance at the report's date.

    ``days_past_due`` counts the days after ``due_on`` (0 on the due date
    and before); ``next_retry`` is the day of the next charge attempt of an
    invoice that is ``RETRYING``.
    """

    client: str
    agreement_id: str
    invoice_number: str
    issued_on: date
    due_on: date
    balance: Money
    days_past_due: int
    bucket: AgingBucket
    status: ReceivableStatus
    next_retry: date | None = None


_BY_STATE = {
    CollectionState.IN_FLIGHT: ReceivableStatus.PROCESSING,
    CollectionState.ACTION_REQUIRED: ReceivableStatus.ACTION_REQUIRED,
    CollectionState.RETRY_SCHEDULED: ReceivableStatus.RETRYING,
    CollectionState.EXHAUSTED: ReceivableStatus.EXHAUSTED,
    CollectionState.ON_HOLD: ReceivableStatus.ON_HOLD,
}


def _row(a: Agreement, inv: Invoice, balance: int, as_of: date, policy: RetryPolicy | None,
         *, amounts: Amounts) -> ReceivableRow:
    """The row of an invoice with ``balance`` (minor units, not zero) at ``as_of``."""
    days = max(0, (as_of - inv.due_on).days)
    retry: date | None = None
    if balance < 0:
        status, days = ReceivableStatus.OWED_TO_CLIENT, 0
    else:
        st = collection_state(a, inv.id, policy)
        status = _BY_STATE.get(st.state, ReceivableStatus.OVERDUE if days
                               else ReceivableStatus.CURRENT)
        retry = st.retry_on if status is ReceivableStatus.RETRYING else None
    bucket = (AgingBucket.PROCESSING if status is ReceivableStatus.PROCESSING
              else AgingBucket.ACTION_REQUIRED if status is ReceivableStatus.ACTION_REQUIRED
              else AgingBucket.of_days(days))
    assert inv.number is not None  # the fold refuses an issued invoice without one
    return ReceivableRow(client_of(a), a.id, inv.number, inv.issued_on, inv.due_on,
                         amounts(balance, a.currency), days, bucket, status, retry)


def _rows_of(a: Agreement, as_of: date, policy: RetryPolicy | None, amounts: Amounts
             ) -> tuple[ReceivableRow, ...]:
    """The rows of one agreement (as it stood at ``as_of``), kept with it by date and
    policy: aging and receivables of one date read the same rows."""
    if reference():
        return _rows_computed(a, as_of, policy, amounts)
    return kept(a, ("kept:receivable rows", as_of, policy),
                lambda: _rows_computed(a, as_of, policy, amounts))


def _rows_computed(a: Agreement, as_of: date, policy: RetryPolicy | None, amounts: Amounts
                   ) -> tuple[ReceivableRow, ...]:
    return tuple(_row(a, inv, balance, as_of, policy, amounts=amounts)
                 for inv, balance in open_balances(a))


def receivables(agreements: Iterable[Agreement], as_of: date, *,
                policy: RetryPolicy | None = None,
                client: str | None = None) -> Table[ReceivableRow]:
    """Every invoice with a balance at the end of ``as_of``, by client, agreement and date.

    Each agreement is replayed to ``as_of``, so later payments, credits and
    invoices are not seen.  ``policy`` is the Biller's retry policy (it
    dates the next retry; default :data:`~milestonebill.collection.DEFAULT_RETRY_POLICY`);
    ``client`` keeps one client's invoices.  A date before an agreement's
    signing, a client none of the agreements has, or an agreement given
    twice raises :class:`~milestonebill.errors.ValidationError`.

    >>> from datetime import date
    >>> from milestonebill.agreement import Collection
    >>> from milestonebill.testing.scenarios import World, proposal
    >>> w = World()  # Monday 2 March 2026
    >>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
    ...            payment_method=None)
    >>> _ = w.complete("design")  # invoiced, due on receipt
    >>> (r,) = receivables([w.load()], date(2026, 4, 1))
    >>> r.client, r.invoice_number, str(r.balance), r.days_past_due, r.bucket.value, r.status.value
    ('Acme', 'INV-000001', '1000.00 USD', 30, '1-30', 'overdue')
    """
    given = checked_agreements(agreements)
    if client is not None:
        given = for_client(given, client)
    rows: list[ReceivableRow] = []
    amounts = Amounts()  # equal balances held once (rows kept with agreements may share them)
    for a in given:
        then = replayed(a, as_of)
        rows += _rows_of(then, as_of, policy, amounts)
    rows.sort(key=lambda r: (r.client, r.agreement_id, r.issued_on, r.invoice_number))
    return Table(f"Receivables as of {as_of.isoformat()}", rows)


@attrs.frozen
class AgingRow:
    """One client's open invoices (``client`` ``None``: all clients) in one currency,
    per bucket; ``total`` is their sum."""

    client: str | None
    invoices: int
    current: Money
    days_1_30: Money
    days_31_60: Money
    days_61_90: Money
    over_90: Money
    processing: Money
    action_required: Money
    total: Money


_COLUMNS = {
    AgingBucket.CURRENT: "current",
    AgingBucket.DAYS_1_30: "days_1_30",
    AgingBucket.DAYS_31_60: "days_31_60",
    AgingBucket.DAYS_61_90: "days_61_90",
    AgingBucket.OVER_90: "over_90",
    AgingBucket.PROCESSING: "processing",
    AgingBucket.ACTION_REQUIRED: "action_required",
}


def _aged(client: str | None, rows: list[ReceivableRow], currency: Currency,
          amounts: Amounts) -> AgingRow:
    sums = dict.fromkeys(_COLUMNS.values(), 0)
    for r in rows:
        sums[_COLUMNS[r.bucket]] += r.balance.minor
    money = {k: amounts(v, currency) for k, v in sums.items()}
    return AgingRow(client=client, invoices=len(rows), **money,
                    total=amounts(sum(sums.values()), currency))


def aging(agreements: Iterable[Agreement], as_of: date, *, policy: RetryPolicy | None = None,
          client: str | None = None) -> Table[AgingRow]:
    """The open invoices of :func:`receivables` summed per client and bucket.

    Per currency (by code), a row for each client (by name), then the
    currency's total row (``client`` ``None``).  The totals are the
    ledger's receivable balance, for those agreements, at the end of
    ``as_of``.  Arguments as for :func:`receivables`.

    >>> from datetime import date
    >>> from milestonebill.agreement import Collection
    >>> from milestonebill.testing.scenarios import World, proposal
    >>> w = World()  # Monday 2 March 2026
    >>> _ = w.open(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
    ...            payment_method=None)
    >>> _ = w.complete("design")
    >>> [(r.client, str(r.current), str(r.days_31_60), str(r.total))
    ...  for r in aging([w.load()], date(2026, 4, 2))]
    [('Acme', '0.00 USD', '1000.00 USD', '1000.00 USD'), (None, '0.00 USD', '1000.00 USD', '1000.00 USD')]
    """
    open_rows = receivables(agreements, as_of, policy=policy, client=client)
    by_currency: dict[Currency, dict[str, list[ReceivableRow]]] = {}
    for r in open_rows:
        by_currency.setdefault(r.balance.currency, {}).setdefault(r.client, []).append(r)
    out: list[AgingRow] = []
    amounts = Amounts()  # the zero buckets above all: one Money each
    for cur in sorted(by_currency, key=lambda c: c.code):
        clients = by_currency[cur]
        out += [_aged(name, clients[name], cur, amounts) for name in sorted(clients)]
        out.append(_aged(None, [r for name in clients for r in clients[name]], cur, amounts))
    return Table(f"Aging as of {as_of.isoformat()}", out)

"""Revenue-only postings: releasing deferred revenue on top of billing entries.

:func:`milestonebill.recognition.journal_entries` posts a contract's whole
story (cash, receivable, contract balances and revenue).  A system that
already posts its billing -- the Biller posts every invoice as *Dr receivable
/ Cr revenue or deferred revenue* -- needs only the other half: entries that
move deferred revenue (or a contract asset, when recognition runs ahead of
billing) into revenue.  Posting both would count the receivable twice.

:func:`billed_service` says what each billed service period has earned,
:func:`release_entry` brings one contract to a given unearned amount (the
Biller posts these) and :func:`recognition_entries` gives one such entry per
reporting period.  Everything here is also importable from
:mod:`milestonebill.recognition`.

Units: amounts are :class:`~milestonebill.money.Money`; service periods are
half-open :class:`~milestonebill.periods.Period` s, and "by the end of
``as_of``" includes that day.  Every function here raises
:class:`~milestonebill.errors.ValidationError` naming the argument for one of the wrong type
(``rounding`` not a :class:`~milestonebill.money.Rounding`, ``activity``
not a :class:`~milestonebill.recognition.ContractActivity`, a balance that
is not Money).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import attrs

from milestonebill._validate import check_date
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.ids import PlanKey
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import Period
from milestonebill.recognition.balances import ContractActivity
from milestonebill.recognition.methods import Granularity, bucket

__all__ = [
    "BilledService",
    "billed_service",
    "recognition_entries",
    "release_entry",
]


@attrs.frozen
class BilledService:
    """Revenue earned by the end of ``as_of`` on one billed service item.

    ``item_key`` is the agreement's plan key (``'r:<item>:<period start>'``);
    ``period`` the service period as billed, less any tail a credit note took
    back; ``billed`` what was invoiced less what was credited (net of tax);
    ``earned`` the cumulative straight-line share (``Convention.DAILY``),
    rounded once.
    """

    item_key: PlanKey
    period: Period
    billed: Money
    earned: Money
    as_of: date

    @property
    def unearned(self) -> Money:
        """Billed but not yet earned: the deferred revenue of this item."""
        return self.billed - self.earned


#: Per plan key, the ``(minor units, service period)`` of each document line.
_Pieces = dict[PlanKey, list[tuple[int, Period]]]


def _service_pieces(
    docs: Iterable[tuple[Invoice | CreditNote, _Pieces]], as_of: date
) -> Currency | None:
    """Sort the service-period lines of documents issued by ``as_of`` into their pieces.

    Each document's lines go into the pieces it is paired with; returns the
    currency of the first document counted (``None`` when none is).
    """
    currency: Currency | None = None
    for doc, into in docs:
        if not isinstance(doc, Invoice | CreditNote):
            raise ValidationError("documents", "invoices and credit notes", doc)
        if doc.issued_on > as_of:
            continue
        if currency is None:
            currency = doc.currency
        for line in doc.lines:
            if line.item_key is None or line.period is None:
                continue
            line.amount.with_currency_check(currency)
            into.setdefault(line.item_key, []).append((line.amount.minor, line.period))
    return currency


def _elapsed(period: Period, as_of: date) -> int:
    days = (as_of + timedelta(days=1) - period.start).days
    return min(max(days, 0), period.days)


def billed_service(
    invoices: Iterable[Invoice],
    credit_notes: Iterable[CreditNote],
    as_of: date,
    *,
    rounding: Rounding = Rounding.HALF_UP,
) -> tuple[BilledService, ...]:
    """What each billed service period has earned by the end of ``as_of``.

    Only lines with a service period count (recurring pieces and their
    adjustments; milestones are earned when billed).  Lines are grouped by
    plan key; documents issued after ``as_of`` are ignored.  Each item's
    net billed amount is recognised straight line, daily-accurate, over its
    service period: ``round(billed x days elapsed / days of service)`` with
    ``rounding`` at the minor unit -- cumulative, so nothing drifts and the
    last day ties.  A credit note for the tail of a billed period (a
    downgrade or a cancellation in the middle of it) ends the service
    period where the tail starts.

    3,000.00 billed in advance for April, then cut on 15 April by a credit of
    the unused 16 days:

    >>> from milestonebill.invoicing import (CreditNoteId, CreditReason, InvoiceId,
    ...     InvoiceLine, LineKind)
    >>> from milestonebill.money import Currency
    >>> usd = Currency.of("USD")
    >>> april = Period.of("2026-04-01", "2026-05-01")
    >>> inv = Invoice.build(id=InvoiceId("inv-4"), agreement_id="agr-1", currency=usd,
    ...     issued_on=date(2026, 4, 1), due_on=date(2026, 4, 1), lines=[InvoiceLine(
    ...         "l1", "r:care:2026-04-01", LineKind.RECURRING, "Care", Money("3000.00", "USD"),
    ...         period=april)])
    >>> [(str(s.earned), str(s.unearned)) for s in billed_service([inv], [], date(2026, 4, 10))]
    [('1000.00 USD', '2000.00 USD')]
    >>> cut = CreditNote.build(id=CreditNoteId("cn-1"), agreement_id="agr-1", currency=usd,
    ...     issued_on=date(2026, 4, 15), credits=inv.id, reason=CreditReason.AMENDMENT,
    ...     lines=[InvoiceLine("l2", "r:care:2026-04-01", LineKind.CREDIT, "Credit",
    ...                        Money("1600.00", "USD"), period=Period.of("2026-04-15", "2026-05-01"))])
    >>> (s,) = billed_service([inv], [cut], date(2026, 4, 30))
    >>> str(s.period), str(s.billed), str(s.earned), str(s.unearned)
    ('[2026-04-01, 2026-04-15)', '1400.00 USD', '1400.00 USD', '0.00 USD')
    """
    check_date("as_of", as_of)
    if not isinstance(rounding, Rounding):
        raise ValidationError("rounding", "a Rounding", rounding)
    billed: _Pieces = {}
    credited: _Pieces = {}
    currency = _service_pieces([*((i, billed) for i in invoices),
                                *((c, credited) for c in credit_notes)], as_of)
    if currency is None:
        return ()
    out: list[BilledService] = []
    for key, pieces in billed.items():
        start = min(p.start for _, p in pieces)
        end = max(p.end for _, p in pieces)
        net = sum(m for m, _ in pieces)
        for minor, p in credited.get(key, ()):
            net -= minor
            if start < p.start < end <= p.end:
                end = p.start  # the tail was taken back: service stops there
        service = Period(start, end)
        elapsed = _elapsed(service, as_of)
        earned = round_ratio(net * elapsed, service.days, rounding)
        out.append(BilledService(key, service, Money.from_minor(net, currency),
                                 Money.from_minor(earned, currency), as_of))
    return tuple(sorted(out, key=lambda s: (s.period.start, s.item_key)))


def _line(account: Account, minor: int, currency: Currency) -> JournalLine:
    m = Money.from_minor(abs(minor), currency)
    return JournalLine.dr(account, m) if minor > 0 else JournalLine.cr(account, m)


def release_entry(
    entry_id: str,
    on: date,
    *,
    deferred: Money,
    contract_asset: Money,
    unearned: Money,
    agreement_id: str | None = None,
    memo: str = "",
) -> JournalEntry | None:
    """The revenue-only entry that brings one contract to ``unearned``.

    ``deferred`` is the contract's deferred revenue balance as posted so far
    (a credit balance, positive), ``contract_asset`` its contract asset (a
    debit balance, positive) and ``unearned`` what is billed but not yet
    recognised after this entry (negative when recognition runs ahead of
    billing).  The entry leaves deferred revenue at ``max(unearned, 0)`` and
    the contract asset at ``max(-unearned, 0)`` -- netted per contract -- and
    puts the difference in revenue: *Dr deferred revenue* (or *Dr contract
    asset*) */ Cr revenue*, the other way round for a reversal.  No cash or
    receivable line, so it can sit on top of billing entries.  ``None`` when
    nothing moves.

    >>> e = release_entry("agr-1:recognition:000001", date(2026, 4, 30),
    ...     deferred=Money("3000", "JPY"), contract_asset=Money("0", "JPY"),
    ...     unearned=Money("1200", "JPY"))
    >>> [(ln.side.value, ln.account.value, str(ln.amount)) for ln in e.lines]
    [('debit', 'deferred_revenue', '1800 JPY'), ('credit', 'revenue', '1800 JPY')]
    >>> e = release_entry("c:2", date(2026, 5, 31), deferred=Money("0.500", "KWD"),
    ...     contract_asset=Money("0", "KWD"), unearned=Money("-0.250", "KWD"))
    >>> [(ln.side.value, ln.account.value, str(ln.amount)) for ln in e.lines]
    [('debit', 'deferred_revenue', '0.500 KWD'), ('debit', 'contract_asset', '0.250 KWD'), ('credit', 'revenue', '0.750 KWD')]
    >>> release_entry("c:3", date(2026, 5, 31), deferred=Money("5.00", "USD"),
    ...     contract_asset=Money("0.00", "USD"), unearned=Money("5.00", "USD")) is None
    True
    """
    for name, value in (("deferred", deferred), ("contract_asset", contract_asset),
                        ("unearned", unearned)):
        if not isinstance(value, Money):
            raise ValidationError(name, "a Money", value)
    cur = unearned.currency
    deferred.with_currency_check(cur)
    contract_asset.with_currency_check(cur)
    d_deferred = deferred.minor - max(unearned.minor, 0)
    d_asset = max(-unearned.minor, 0) - contract_asset.minor
    revenue = d_deferred + d_asset
    lines = [_line(a, v, cur) for a, v in ((Account.DEFERRED_REVENUE, d_deferred),
                                           (Account.CONTRACT_ASSET, d_asset)) if v]
    if revenue:
        lines.append(_line(Account.REVENUE, -revenue, cur))
    if not lines:
        return None
    return JournalEntry(id=EntryId(entry_id), posted_on=on, lines=tuple(lines),
                        memo=memo or f"revenue recognised through {on.isoformat()}",
                        agreement_id=agreement_id)


def recognition_entries(
    activity: ContractActivity,
    *,
    granularity: Granularity = Granularity.MONTH,
) -> tuple[JournalEntry, ...]:
    """Revenue-only entries, one per reporting period with movement, dated its last day.

    The counterpart of :func:`~milestonebill.recognition.journal_entries` for a
    ledger whose billing is posted elsewhere as *Dr receivable / Cr deferred
    revenue*: each entry moves revenue recognised in the period out of
    deferred revenue, or into a contract asset when recognition runs ahead of
    billing (and back out of it once billing catches up).  Payments are
    ignored.  After the entries of every period up to a date, deferred
    revenue is ``max(billed - recognised, 0)`` and the contract asset
    ``max(recognised - billed, 0)``.  Ids are
    ``"<contract>:recognition:<period start>"``: posting them twice posts
    once (re-computing a period that has already been posted with different
    activity is refused by the ledger, so post closed periods only).

    ASC 606-10-55-287 (Example 39) shape: 400 earned in February before
    anything is billed; 1,000 billed and the remaining 600 earned in March:

    >>> from milestonebill.recognition import Billing, ContractId, RevenueEvent
    >>> usd = lambda v: Money(v, "USD")
    >>> act = ContractActivity(ContractId("ex39"), "USD",
    ...     billings=[Billing(date(2028, 3, 1), usd(1000))],
    ...     revenue=[RevenueEvent(date(2028, 2, 1), usd(400)), RevenueEvent(date(2028, 3, 31), usd(600))])
    >>> for e in recognition_entries(act):
    ...     print(e.id, e.posted_on, [(ln.side.value, ln.account.value, str(ln.amount.amount)) for ln in e.lines])
    ex39:recognition:2028-02-01 2028-02-29 [('debit', 'contract_asset', '400.00'), ('credit', 'revenue', '400.00')]
    ex39:recognition:2028-03-01 2028-03-31 [('debit', 'deferred_revenue', '1000.00'), ('credit', 'contract_asset', '400.00'), ('credit', 'revenue', '600.00')]
    """
    if not isinstance(activity, ContractActivity):
        raise ValidationError("activity", "a ContractActivity", activity)
    cur = activity.currency
    periods: list[Period] = []
    for d in sorted({*(e.on for e in activity.billings), *(e.on for e in activity.revenue)}):
        b = bucket(d, granularity)
        if not periods or periods[-1] != b:
            periods.append(b)
    out: list[JournalEntry] = []
    billed_before = recognised_before = 0
    for period in periods:
        billed = sum(e.amount.minor for e in activity.billings if e.on <= period.last_day)
        recognised = sum(e.amount.minor for e in activity.revenue if e.on <= period.last_day)
        # What the billing side and earlier entries left: all billing in deferred
        # revenue, less what earlier entries released from it.
        deferred = billed - min(billed_before, recognised_before)
        asset = max(recognised_before - billed_before, 0)
        entry = release_entry(
            f"{activity.contract_id}:recognition:{period.start.isoformat()}", period.last_day,
            deferred=Money.from_minor(deferred, cur), contract_asset=Money.from_minor(asset, cur),
            unearned=Money.from_minor(billed - recognised, cur),
            agreement_id=activity.contract_id, memo=f"revenue recognition {period}")
        if entry is not None:
            out.append(entry)
        billed_before, recognised_before = billed, recognised
    return tuple(out)

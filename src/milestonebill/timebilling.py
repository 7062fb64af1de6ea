"""Billing time and materials: which entries are due, held and earned, pure.

For an agreement with a :class:`~milestonebill.schedule.TimeAndMaterials`
term, the entries recorded against it
(:mod:`milestonebill.agreement.time_entries`) are billed on the term's
cadence:

* :func:`time_invoices_due` -- an unnumbered invoice for the approved work
  not billed yet whose billing day has come (each entry a line with its
  provenance: entry id, day, person, hours x rate);
* :func:`next_time_billing` -- when the next one falls (the work queue claims
  the agreement then, :func:`milestonebill.work.next_due`);
* :func:`held_work` -- entries past a cap, held for approval: never billed
  until a :class:`~milestonebill.agreement.TimeCapRaised` or an approved
  :class:`~milestonebill.agreement.RaiseTimeCap` amendment makes room, and
  never dropped unless a :class:`~milestonebill.agreement.WorkWrittenDown`
  says so;
* :func:`time_totals` -- value, billed, held and written down;
* :func:`time_earned` -- revenue by the *right to invoice* practical
  expedient (ASC 606-10-55-18): what the firm may bill for the work done to
  date, held work excluded.

The Biller issues the drafts in ``run`` (see ``docs/terms.md``).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Final

import attrs

from milestonebill._validate import check_date
from milestonebill.agreement import Agreement, ExpenseEntry, TimeEntry, WorkItem, time_work
from milestonebill.agreement.time_entries import line_id_for
from milestonebill.documents import NO_TAX, Invoice, InvoiceLine, LineKind, TaxPolicy
from milestonebill.ids import InvoiceId
from milestonebill.money import Money, allocate_minor
from milestonebill.schedule import TimeAndMaterials

__all__ = [
    "TIME_OBLIGATION",
    "TimeTotals",
    "held_work",
    "next_time_billing",
    "time_earned",
    "time_earned_minor_series",
    "time_invoices_due",
    "time_position",
    "time_totals",
]

#: The obligation id time-and-materials revenue is recognised under.
TIME_OBLIGATION: Final = "time-and-materials"


def time_position(agreement: Agreement) -> tuple[WorkItem, ...]:
    """Every entry recorded against ``agreement``, with its approved, held,
    written-down and billed parts (``()`` without a term)."""
    return time_work(agreement.proposal.time_materials, agreement.events, agreement.id)


def held_work(agreement: Agreement) -> tuple[WorkItem, ...]:
    """The entries with work held past a cap, awaiting approval or a write-down."""
    return tuple(w for w in time_position(agreement) if w.held > 0)


@attrs.frozen
class TimeTotals:
    """The time-and-materials position of an agreement, in money.

    ``value`` is every entry's value, ``approved`` the part within the caps
    (billed or still to bill), ``held`` the part past a cap and
    ``written_down`` what the firm gave up; ``value == approved + held +
    written_down``.  ``billed`` is what time invoices charged (net of tax).
    Exact amounts are rounded once, with the term's rounding.
    """

    value: Money
    approved: Money
    held: Money
    written_down: Money
    billed: Money


def _term(agreement: Agreement) -> TimeAndMaterials:
    term = agreement.proposal.time_materials
    assert term is not None
    return term


def _billed_minor(agreement: Agreement) -> int:
    return sum(ln.amount.minor for inv in agreement.invoices for ln in inv.lines
               if ln.kind in (LineKind.TIME, LineKind.EXPENSE))


def time_totals(agreement: Agreement) -> TimeTotals:
    """The agreement's :class:`TimeTotals` (all zero without a term)."""
    items = time_position(agreement)
    cur = agreement.currency
    if not items:
        zero = Money.zero(cur)
        return TimeTotals(zero, zero, zero, zero, Money.from_minor(0, cur))
    term = _term(agreement)

    def money(parts: list[Fraction]) -> Money:
        return Money.from_minor(term.round_total(sum(parts, Fraction(0))), cur)

    approved = money([w.approved for w in items])
    held = money([w.held for w in items])
    written = money([w.written_down for w in items])
    # The value is their sum, so the three always add up to it.
    return TimeTotals(approved + held + written, approved, held, written,
                      Money.from_minor(_billed_minor(agreement), cur))


def _due(agreement: Agreement, as_of: date, through: date | None) -> list[WorkItem]:
    term = _term(agreement)
    out = []
    for w in time_position(agreement):
        if w.unbilled <= 0:
            continue
        day = term.next_billing_day(w.entry.on)
        if (through is not None and w.entry.on <= through) or (
                through is None and day is not None and day <= as_of):
            out.append(w)
    return out


def _line(agreement: Agreement, term: TimeAndMaterials, w: WorkItem, amount: int
          ) -> InvoiceLine:
    e = w.entry
    cur = agreement.currency
    line_id = line_id_for(agreement.id, e.entry_id, w.lines)
    split = (f"within the cap; {Money.from_minor(term.round_total(w.held), cur)} of it held"
             if w.held > 0 else "")
    if isinstance(e, TimeEntry):
        rate = term.rate_for(e.role, e.on)
        what = f"{e.person} ({e.role}) {e.hours} h x {rate.amount}"
        kind = LineKind.TIME
        description = e.description or f"{e.role}, {e.hours} h"
    else:
        assert isinstance(e, ExpenseEntry)
        what = f"{e.person} expense {e.amount}"
        kind = LineKind.EXPENSE
        description = e.description or "Expense"
    provenance = (f"entry {e.entry_id} on {e.on.isoformat()}", what,
                  *((f"phase {e.phase}",) if e.phase else ()), *((split,) if split else ()))
    return InvoiceLine(line_id, None, kind, description, Money.from_minor(amount, cur),
                       item_id=e.entry_id, provenance=provenance)


def time_invoices_due(agreement: Agreement, as_of: date, *, tax: TaxPolicy = NO_TAX,
                      through: date | None = None) -> tuple[Invoice, ...]:
    """The time invoice due on ``as_of`` (``()`` when nothing is), unnumbered.

    It bills every approved, unbilled part of an entry whose cadence billing
    day is on or before ``as_of`` -- or, with ``through`` (billing on
    demand), of every entry worked on or before ``through``.  Per line, each
    line is its entry's rounded value; per invoice, the total is the exact
    amount billable through this invoice rounded once, less what earlier
    time invoices billed (so rounding never drifts and never passes a cap),
    allocated to lines by their exact values.  The id is derived from the
    agreement and the lines, so a run repeated issues nothing new.
    """
    term = agreement.proposal.time_materials
    if term is None:
        return ()
    due = _due(agreement, as_of, through)
    if not due:
        return ()
    before = sum((w.billed for w in time_position(agreement)), Fraction(0))
    total = (term.round_total(before + sum((w.unbilled for w in due), Fraction(0)))
             - _billed_minor(agreement))
    if total <= 0:
        return ()
    amounts = allocate_minor(total, [w.unbilled for w in due])
    lines = [_line(agreement, term, w, m) for w, m in zip(due, amounts, strict=True) if m > 0]
    h = hashlib.sha256("\n".join([agreement.id, *(ln.line_id for ln in lines)]).encode())
    return (Invoice.build(id=InvoiceId(f"inv_{h.hexdigest()[:24]}"),
                          agreement_id=agreement.id, currency=agreement.currency,
                          issued_on=as_of, due_on=term.terms.due_date(as_of), lines=lines,
                          tax=tax),)


def next_time_billing(agreement: Agreement) -> date | None:
    """The next cadence day with approved work to bill (it may have passed: a time
    invoice is due now); ``None`` on demand or when nothing is left to bill."""
    term = agreement.proposal.time_materials
    if term is None:
        return None
    items = time_position(agreement)
    if term.round_total(sum((w.approved for w in items), Fraction(0))) <= _billed_minor(agreement):
        return None  # per invoice, what is left rounds to nothing yet
    days = [d for w in items if w.unbilled > 0
            and (d := term.next_billing_day(w.entry.on)) is not None]
    return min(days, default=None)


def time_earned(agreement: Agreement, as_of: date) -> dict[str, Money]:
    """Revenue earned on time and materials by the end of ``as_of``.

    The right-to-invoice practical expedient (ASC 606-10-55-18): the firm
    has a right to consideration that corresponds directly to the value of
    its performance to date, so revenue is the amount it may invoice for the
    work done to date -- the approved part of each entry worked on or before
    ``as_of``, rounded once.  Work held past a cap is not recognised until
    approved; work written down never is.  ``{}`` without a term.
    """
    term = agreement.proposal.time_materials
    if term is None:
        return {}
    done = sum((w.approved for w in time_position(agreement) if w.entry.on <= as_of),
               Fraction(0))
    return {TIME_OBLIGATION: Money.from_minor(term.round_total(done), agreement.currency)}


def time_earned_minor_series(agreement: Agreement, days: Sequence[date]) -> list[int]:
    """:func:`time_earned` at each of ``days``, in minor units (``0`` each without a
    term): the entries are read once, for reports over many dates.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``days[i]``
    for a day that is not a date.

    >>> from decimal import Decimal
    >>> import attrs
    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, TimeEntry, TimeRecorded, apply, sign
    >>> from milestonebill.schedule import Rate, TimeAndMaterials
    >>> from milestonebill.testing.scenarios import CARD, proposal, usd
    >>> term = TimeAndMaterials(rates=(Rate("senior", usd("150.00"), date(2026, 1, 1)),))
    >>> a = sign(attrs.evolve(proposal(), time_materials=term), option="std", signer="Ada",
    ...          payment_method=CARD, agreement_id=AgreementId("a-t"),
    ...          signed_at=datetime(2026, 1, 5, tzinfo=UTC))
    >>> a = apply(a, TimeRecorded("a-t:time:T-1", a.version + 1, datetime(2026, 1, 9, 18,
    ...     tzinfo=UTC), TimeEntry(
    ...     entry_id="T-1", on=date(2026, 1, 9), person="ada", role="senior",
    ...     hours=Decimal("2.5"))))
    >>> time_earned_minor_series(a, [date(2026, 1, 8), date(2026, 1, 9), date(2026, 2, 1)])
    [0, 37500, 37500]
    """
    checked = [check_date(f"days[{i}]", d) for i, d in enumerate(days)]
    term = agreement.proposal.time_materials
    if term is None:
        return [0] * len(checked)
    by_day: dict[date, Fraction] = {}
    for w in time_position(agreement):
        by_day[w.entry.on] = by_day.get(w.entry.on, Fraction(0)) + w.approved
    ons = sorted(by_day)
    done = [term.round_total(x) for x in itertools.accumulate(by_day[d] for d in ons)]
    out: list[int] = []
    for d in checked:
        k = bisect.bisect_right(ons, d)  # the days worked on or before d
        out.append(done[k - 1] if k else 0)
    return out


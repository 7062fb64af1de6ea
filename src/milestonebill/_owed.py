"""What an agreement still bills or credits, as columns: the bulk path of the forecasts.

:func:`owed` gives, position by position and in the same order, what
:func:`milestonebill.invoicing.unbilled` gives as :class:`~milestonebill.invoicing.Unbilled`
values -- the billable day, whether it is a credit, the payment terms, the
plan key, the amount the line would carry and whether it refers to an
earlier invoice -- without a :class:`~milestonebill.agreement.PlanItem`, an
:class:`~milestonebill.documents.InvoiceLine` or an ``Unbilled`` per piece.
Forecasts add these up and group them into expected receipts; a caller who
wants the lines asks ``unbilled``.

The plan comes from the bulk plan's columns
(:func:`~milestonebill.agreement.columns.plan_columns`) plus the few fixed
items (milestones, installments).  An agreement with discounts (whose items
depend on every other item) or with one recurring charge billed on
different terms or timing by different terms of it takes its plan from
:func:`~milestonebill.agreement.billing_plan`, and so does everything
inside :func:`~milestonebill._reference.reference_path`.  The routing of
each difference to an invoice or a credit note is the one
:mod:`milestonebill.invoicing` applies (a discount that moves against its
item rides on the item's document).
"""

from __future__ import annotations

from datetime import date
from typing import cast

import attrs

from milestonebill._reference import reference
from milestonebill.agreement import (
    Agreement,
    AgreementState,
    billed_by_key,
    billing_plan,
    changed_since,
)
from milestonebill.agreement.columns import plan_columns
from milestonebill.agreement.plan import fixed_items
from milestonebill.ids import PlanKey
from milestonebill.schedule import DUE_ON_RECEIPT, PaymentTerms
from milestonebill.schedule.recurring import Timing

__all__ = ["Owed", "owed", "plan_horizon"]


@attrs.frozen
class Owed:
    """What is still to bill, one position per difference, in billable-day order.

    ``days`` is the first day the difference is billable, ``credit`` whether
    it goes on a credit note, ``terms`` the payment terms of its item,
    ``keys`` its plan key, ``minors`` the line's amount in minor units as the
    document would carry it (negative only for a discount line) and
    ``adjusts`` whether the line refers to an invoice already issued.
    """

    days: tuple[date, ...]
    credit: tuple[bool, ...]
    terms: tuple[PaymentTerms, ...]
    keys: tuple[str, ...]
    minors: tuple[int, ...]
    adjusts: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.days)

    def signed(self) -> list[tuple[date, int]]:
        """``(billable day, amount)`` pairs, a credit's amount negative."""
        return [(d, -m if c else m) for d, m, c in zip(self.days, self.minors, self.credit,
                                                         strict=True)]


_NONE = Owed((), (), (), (), (), ())


def plan_horizon(agreement: Agreement, as_of: date) -> date:
    """A horizon covering every billed key and everything billable by ``as_of``."""
    latest = max(as_of, _last_billed(agreement) if reference()
                 else agreement.derived(_last_billed))
    return date.fromordinal(min(latest.toordinal() + 1, date.max.toordinal()))


def _last_billed(agreement: Agreement) -> date:
    """The last day an invoice was issued or a billed service period starts
    (``date.min`` if nothing was billed)."""
    latest = date.min
    for inv in agreement.invoices:
        latest = max(latest, inv.issued_on)
        for line in inv.lines:
            if line.period is not None:
                latest = max(latest, line.period.start)
    for cn in agreement.credit_notes:
        for line in cn.lines:
            if line.period is not None:
                latest = max(latest, line.period.start)
    return latest


def owed(agreement: Agreement, *, through: date) -> Owed:
    """:func:`~milestonebill.invoicing.unbilled` as columns (see the module's docstring),
    kept with the agreement per horizon."""
    if reference():
        return _owed(agreement, through)
    known = agreement.derived(_OwedBy)
    got = known.get(through)
    if got is None:
        if len(known) >= 8:
            known.clear()
        got = known[through] = _owed(agreement, through)
    return got


class _OwedBy(dict[date, Owed]):
    """An agreement's :class:`Owed` by horizon (forecasts of one date ask again)."""

    def __init__(self, _agreement: Agreement) -> None:
        super().__init__()


#: A plan as rows: key -> (amount, billing day or None, payment terms), in plan order.
_Rows = dict[str, tuple[int, date | None, PaymentTerms]]


def _plan_rows(agreement: Agreement, horizon: date) -> _Rows:
    """The plan up to ``horizon`` as rows, from the bulk plan's columns where it can."""
    charges: dict[str, tuple[bool, PaymentTerms]] = {}
    plain = reference() or bool(agreement.discounts)
    for t in agreement.recurring:
        how = (t.charge.timing is Timing.IN_ADVANCE, t.charge.terms)
        if charges.setdefault(t.charge.id, how) != how:
            plain = True  # pieces of one charge on different terms: read them off the items
    if plain:
        return {i.key: (i.amount.minor, i.on, i.terms)
                for i in billing_plan(agreement, through=horizon)}
    rows: _Rows = {i.key: (i.amount.minor, i.on, i.terms) for i in fixed_items(agreement)}
    cols = plan_columns(agreement, through=horizon)
    for iid, start, end, minor in zip(cols.item_ids, cols.starts, cols.ends, cols.minors,
                                      strict=True):
        advance, terms = charges[iid]
        first = date.fromordinal(start)
        rows[f"r:{iid}:{first.isoformat()}"] = (
            minor, first if advance else date.fromordinal(end), terms)
    return rows


def _discounted(key: str) -> str | None:
    """The key a discount key discounts (``PlanKey.discounted`` on plain text)."""
    return key[2:].partition(":")[2] if key[:2] == "d:" else None


def _owed(agreement: Agreement, through: date) -> Owed:
    if agreement.state is AgreementState.PAUSED:
        return _NONE
    rows = _plan_rows(agreement, plan_horizon(agreement, through))
    # Plan keys are text; the rows' keys are plain ``str`` (no PlanKey per piece).
    billed = cast(dict[str, tuple[int, str, int]], billed_by_key(agreement))
    # One position per difference, as invoicing's _pending has them.
    keys: list[str] = []
    deltas: list[int] = []
    firsts: list[str | None] = []
    days: list[date] = []
    terms: list[PaymentTerms] = []
    for key in [*rows, *(k for k in billed if k not in rows)]:
        row = rows.get(key)
        net, first, _n = billed.get(key) or (0, None, 0)
        delta = (0 if row is None else row[0]) - net
        if delta == 0:
            continue
        on = None if row is None else row[1]
        inner = _discounted(key)
        if first is None and inner is not None and inner in billed:
            first = billed[inner][1]
        if first is None:
            if on is None:
                continue
            due = on
        else:
            due = max(on or date.min, changed_since(agreement, PlanKey(key)))
        owner = row or (rows.get(inner) if inner is not None else None)
        keys.append(key)
        deltas.append(delta)
        firsts.append(first)
        days.append(due)
        terms.append(DUE_ON_RECEIPT if owner is None else owner[2])
    return _routed(keys, deltas, firsts, days, terms)


def _routed(keys: list[str], deltas: list[int], firsts: list[str | None], days: list[date],
            terms: list[PaymentTerms]) -> Owed:
    """Each difference on its document (invoicing's ``_routed``), sorted by day."""
    riders: dict[int, list[int]] = {}
    if any(key[:2] == "d:" for key in keys):
        at = {k: i for i, k in enumerate(keys)}
        for i, key in enumerate(keys):
            inner = _discounted(key)
            j = None if inner is None else at.get(inner)
            if j is not None and deltas[j] * deltas[i] < 0:
                riders.setdefault(j, []).append(i)
    riding: dict[int, int] = {}
    for j, ds in riders.items():
        if abs(deltas[j]) >= abs(sum(deltas[x] for x in ds)):
            riding.update((x, j) for x in ds)
    credit: list[bool] = []
    minors: list[int] = []
    adjusts: list[bool] = []
    for i, delta in enumerate(deltas):
        j = riding.get(i)
        if j is not None:  # a discount line beside its item
            credit.append(deltas[j] <= 0)
            minors.append(-abs(delta))
            adjusts.append(firsts[j] is not None or firsts[i] is not None)
        else:
            credit.append(delta <= 0)
            minors.append(abs(delta))
            adjusts.append(firsts[i] is not None)
    order = sorted(range(len(days)), key=days.__getitem__)
    return Owed(tuple(days[i] for i in order), tuple(credit[i] for i in order),
                tuple(terms[i] for i in order), tuple(keys[i] for i in order),
                tuple(minors[i] for i in order), tuple(adjusts[i] for i in order))

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

import functools
import operator
from datetime import date
from typing import cast

import attrs

from milestonebill._kept import entries, kept
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

__all__ = ["Owed", "due_by", "owed", "plan_horizon"]


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
    return kept(agreement, (_OWED, through), lambda: _owed(agreement, through))


def due_by(agreement: Agreement, day: date) -> bool:
    """True when something still to bill or credit is billable by ``day``: when
    ``owed(agreement, through=day)`` has a position on or before it.

    What is owed to a later horizon answers the same, so one the agreement
    keeps (the forecasts') is read instead of working out another: the
    horizon of ``day`` already covers every billed key, and a later one only
    adds pieces whose service period starts after it, billable after ``day``.
    Not with discounts, whose amounts depend on every item of the plan.
    """
    if not (reference() or agreement.discounts):
        for (_tag, through), known in entries(agreement, _OWED):
            if through >= day:
                return bool(known.days) and known.days[0] <= day
    o = owed(agreement, through=day)
    return bool(o.days) and o.days[0] <= day


#: The kind of the :class:`Owed` an agreement keeps by horizon (forecasts of one date ask
#: again).
_OWED = "kept:owed"


#: A plan as rows: key -> (amount, billing day or None, payment terms), in plan order.
_Rows = dict[str, tuple[int, date | None, PaymentTerms]]


def _plain(agreement: Agreement) -> dict[str, tuple[bool, PaymentTerms]] | None:
    """Each recurring charge's timing (in advance?) and terms, for the bulk plan; ``None``
    when the plan must be read off its items: with discounts, inside the reference path,
    or when the pieces of one charge are billed on different terms or timing."""
    if reference() or agreement.discounts:
        return None
    charges: dict[str, tuple[bool, PaymentTerms]] = {}
    for t in agreement.recurring:
        how = (t.charge.timing is Timing.IN_ADVANCE, t.charge.terms)
        if charges.setdefault(t.charge.id, how) != how:
            return None
    return charges


def _plan_rows(agreement: Agreement, horizon: date) -> _Rows:
    """The plan up to ``horizon`` as rows, from the bulk plan's columns where it can."""
    charges = _plain(agreement)
    if charges is None:
        return {i.key: (i.amount.minor, i.on, i.terms)
                for i in billing_plan(agreement, through=horizon)}
    rows: _Rows = {i.key: (i.amount.minor, i.on, i.terms) for i in fixed_items(agreement)}
    cols = plan_columns(agreement, through=horizon)
    for iid, start, end, minor in zip(cols.item_ids, cols.starts, cols.ends, cols.minors,
                                      strict=True):
        advance, terms = charges[iid]
        key, first = _piece(iid, start)
        rows[key] = (minor, first if advance else _day(end), terms)
    return rows


@functools.lru_cache(maxsize=16384)
def _piece(item_id: str, start: int) -> tuple[str, date]:
    """A recurring piece's plan key and first day (a firm's retainers share their charge
    ids and start on few days, so the same few keys come again and again)."""
    d = _day(start)
    return f"r:{item_id}:{d.isoformat()}", d


@functools.lru_cache(maxsize=4096)
def _day(ordinal: int) -> date:
    return date.fromordinal(ordinal)


def _discounted(key: str) -> str | None:
    """The key a discount key discounts (``PlanKey.discounted`` on plain text)."""
    return key[2:].partition(":")[2] if key[:2] == "d:" else None


def _owed(agreement: Agreement, through: date) -> Owed:
    if agreement.state is AgreementState.PAUSED:
        return _NONE
    horizon = plan_horizon(agreement, through)
    # Plan keys are text; the rows' keys are plain ``str`` (no PlanKey per piece).
    billed = cast(dict[str, tuple[int, str, int]], billed_by_key(agreement))
    charges = _plain(agreement)
    if charges is not None and not any(key[:2] == "d:" for key in billed):
        return _owed_bulk(agreement, horizon, charges, billed)
    rows = _plan_rows(agreement, horizon)
    # One position per difference, as invoicing's _pending has them: the plan's keys in
    # its order, then keys only billed.
    out: list[tuple[str, int, str | None, date, PaymentTerms]] = []
    for key, (minor, on, terms) in rows.items():
        if key not in billed and key[:2] != "d:":  # the usual piece: not billed yet
            if minor and on is not None:
                out.append((key, minor, None, on, terms))
            continue
        net, first, _n = billed.get(key) or (0, None, 0)
        if minor != net:
            _difference(agreement, out, key, delta=minor - net, first=first, on=on, terms=terms,
                        rows=rows, billed=billed)
    for key, (net, first, _n) in billed.items():
        if net and key not in rows:
            _difference(agreement, out, key, delta=-net, first=first, on=None,
                        terms=DUE_ON_RECEIPT, rows=rows, billed=billed)
    return _routed(out)


#: One line of what is owed, as :class:`Owed` has its columns.
_Line = tuple[date, bool, PaymentTerms, str, int, bool]


def _owed_bulk(agreement: Agreement, horizon: date,
               charges: dict[str, tuple[bool, PaymentTerms]],
               billed: dict[str, tuple[int, str, int]]) -> Owed:
    """:func:`_owed` of a plan without discounts, billed without discount keys, in one
    pass over the fixed items and the bulk plan's columns: no table of the plan's rows.

    With no discount key anywhere no line rides on another, so each difference is its
    line as ``_routed`` makes it: a credit when it is negative, an adjustment when
    its key was billed before."""
    lines: list[_Line] = []
    matched = 0  # billed keys found in the plan
    for item in fixed_items(agreement):
        matched += _planned_line(agreement, lines, billed, item.key, minor=item.amount.minor,
                                 on=item.on, terms=item.terms)
    cols = plan_columns(agreement, through=horizon)
    for iid, start, end, minor in zip(cols.item_ids, cols.starts, cols.ends, cols.minors,
                                      strict=True):
        advance, terms = charges[iid]
        key, first_day = _piece(iid, start)
        matched += _planned_line(agreement, lines, billed, key, minor=minor,
                                 on=first_day if advance else _day(end), terms=terms)
    if matched < len(billed):  # keys only billed: no longer planned, credited back
        planned = {*(i.key for i in fixed_items(agreement)),
                   *(_piece(iid, start)[0] for iid, start in zip(cols.item_ids, cols.starts,
                                                                 strict=True))}
        for key, (net, first, _n) in billed.items():
            if net and key not in planned:
                _bulk_difference(agreement, lines, key, delta=-net, first=first, on=None,
                                 terms=DUE_ON_RECEIPT)
    if not lines:
        return _NONE
    lines.sort(key=operator.itemgetter(0))  # by day, stable, as unbilled sorts
    days, credit, terms_, keys, minors, adjusts = zip(*lines, strict=True)
    return Owed(days, credit, terms_, keys, minors, adjusts)


def _planned_line(agreement: Agreement, lines: list[_Line],
                  billed: dict[str, tuple[int, str, int]], key: str, *, minor: int,
                  on: date | None, terms: PaymentTerms) -> int:
    """Add the line of one planned key (``minor`` units billable ``on``) to ``lines``: its
    difference from what was billed, or all of it when nothing was.  1 when it was billed
    (a billed key found in the plan), else 0."""
    got = billed.get(key)
    if got is None:
        if minor and on is not None:
            lines.append((on, minor < 0, terms, key, abs(minor), False))
        return 0
    net, first, _n = got
    if minor != net:
        _bulk_difference(agreement, lines, key, delta=minor - net, first=first, on=on,
                         terms=terms)
    return 1


def _bulk_difference(agreement: Agreement, lines: list[_Line], key: str, *, delta: int,
                     first: str | None, on: date | None, terms: PaymentTerms) -> None:
    """:func:`_difference` and :func:`_routed` of one key that is not a discount's."""
    due = _due(agreement, key, first, on)
    if due is not None:
        lines.append((due, delta < 0, terms, key, abs(delta), first is not None))


def _due(agreement: Agreement, key: str, first: str | None, on: date | None) -> date | None:
    """The day a difference of ``key`` becomes billable: its plan day (``None``: it waits
    for one), or for a key billed before (``first``) no earlier than its last change."""
    if first is None:
        return on
    return max(on or date.min, changed_since(agreement, PlanKey(key)))


def _difference(agreement: Agreement, out: list[tuple[str, int, str | None, date, PaymentTerms]],
                key: str, *, delta: int, first: str | None, on: date | None,
                terms: PaymentTerms, rows: _Rows, billed: dict[str, tuple[int, str, int]]
                ) -> None:
    """Add the difference of one key to ``out``, with the day it becomes billable (none
    while it waits for a day) and the terms of its item (of the discounted item for a
    discount no longer planned)."""
    inner = _discounted(key)
    if first is None and inner is not None and inner in billed:
        first = billed[inner][1]
    due = _due(agreement, key, first, on)
    if due is None:
        return
    if on is None and key not in rows:  # no longer planned: the discounted item's terms
        owner = rows.get(inner) if inner is not None else None
        terms = DUE_ON_RECEIPT if owner is None else owner[2]
    out.append((key, delta, first, due, terms))


def _routed(out: list[tuple[str, int, str | None, date, PaymentTerms]]) -> Owed:
    """Each difference on its document (invoicing's ``_routed``), sorted by day."""
    riders: dict[int, list[int]] = {}
    if any(key[:2] == "d:" for key, *_ in out):
        at = {x[0]: i for i, x in enumerate(out)}
        for i, (key, delta, *_) in enumerate(out):
            inner = _discounted(key)
            j = None if inner is None else at.get(inner)
            if j is not None and out[j][1] * delta < 0:
                riders.setdefault(j, []).append(i)
    riding: dict[int, int] = {}
    for j, ds in riders.items():
        if abs(out[j][1]) >= abs(sum(out[x][1] for x in ds)):
            riding.update((x, j) for x in ds)
    lines: list[tuple[date, bool, PaymentTerms, str, int, bool]] = []
    for i, (key, delta, first, due, terms) in enumerate(out):
        j = riding.get(i)
        if j is None:
            lines.append((due, delta < 0, terms, key, abs(delta), first is not None))
        else:  # a discount line beside its item
            lines.append((due, out[j][1] < 0, terms, key, -abs(delta),
                          out[j][2] is not None or first is not None))
    if not lines:
        return _NONE
    lines.sort(key=operator.itemgetter(0))  # by day, stable, as unbilled sorts
    days, credit, terms_, keys, minors, adjusts = zip(*lines, strict=True)
    return Owed(days, credit, terms_, keys, minors, adjusts)

"""Pricing an amendment before anything is applied: :func:`preview`.

The preview compares the billing plan before and after the amendment with
what was already billed per plan key: new and extra charges, credits for
unused prepaid time or removed items (each referencing the invoice that
billed the item), the change in contract value, and the full schedule diff.
A :class:`~milestonebill.agreement.RaiseTimeCap` is priced by the held
time-and-materials work it would release and the caps before and after.
See ``docs/agreements.md`` for a worked example.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import attrs

from milestonebill._json import decode, encode
from milestonebill.agreement.amendments import Amendment, RaiseTimeCap
from milestonebill.agreement.fold import Agreement, amended
from milestonebill.agreement.plan import (
    billed_by_key,
    billing_plan,
    changed_since,
    contract_value,
    open_ended,
)
from milestonebill.agreement.terms import PlanItem
from milestonebill.agreement.time_entries import time_caps, time_work
from milestonebill.errors import InvalidTransitionError, ValidationError
from milestonebill.ids import AmendmentId, InvoiceId, PlanKey
from milestonebill.money import Money

__all__ = [
    "AmendmentPreview",
    "PreviewLine",
    "ScheduleChange",
    "TimeCapChange",
    "preview",
]


@attrs.frozen
class ScheduleChange:
    """One item of the plan that an amendment adds, removes or changes."""

    key: PlanKey
    name: str
    before: Money | None
    after: Money | None
    on_before: date | None
    on_after: date | None


@attrs.frozen
class TimeCapChange:
    """A not-to-exceed cap of the time-and-materials term that an amendment sets:
    the agreement's (``phase=""``) or a phase's, ``before`` and ``after``."""

    phase: str
    before: Money
    after: Money


@attrs.frozen
class PreviewLine:
    """An immediate money effect: ``amount`` to charge (or credit) on ``due_on``.

    ``adjusts`` is the invoice that originally billed the item, for
    adjustments and credits of invoiced items.  A discount that moves with
    its item (``key`` ``d:<discount>:<item key>``) is a negative line in the
    item's list: less charged, or less credited.
    """

    key: PlanKey
    description: str
    amount: Money
    due_on: date
    adjusts: InvoiceId | None = None


@attrs.frozen
class AmendmentPreview:
    """The exact money effect of an amendment, before anything is applied.

    ``charges`` and ``credits`` are what becomes billable by the time the
    amendment takes effect (the later of ``as_of`` and its latest effective
    date): new and extra charges, and credits for unused prepaid time.
    ``changes`` is the full schedule diff (future items included).
    """

    amendment_id: AmendmentId
    charges: tuple[PreviewLine, ...]
    credits: tuple[PreviewLine, ...]
    contract_value_before: Money
    contract_value_after: Money
    changes: tuple[ScheduleChange, ...]
    time_caps: tuple[TimeCapChange, ...] = ()
    time_released: Money | None = None

    @property
    def charges_total(self) -> Money:
        """Sum of :attr:`charges`."""
        return Money.total((c.amount for c in self.charges),
                           currency=self.contract_value_before.currency)

    @property
    def credits_total(self) -> Money:
        """Sum of :attr:`credits` (positive)."""
        return Money.total((c.amount for c in self.credits),
                           currency=self.contract_value_before.currency)

    @property
    def value_change(self) -> Money:
        """New contract value minus old."""
        return self.contract_value_after - self.contract_value_before

    def to_json(self) -> dict[str, Any]:
        """The JSON form: lines and changes with their plan keys, money as objects.

        >>> usd = Money("0.00", "USD")
        >>> p = AmendmentPreview(AmendmentId("am-1"), (), (), usd, usd, ())
        >>> p.to_json()["contract_value_after"], AmendmentPreview.from_json(p.to_json()) == p
        ({'amount': '0.00', 'currency': 'USD'}, True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> AmendmentPreview:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


def preview(
    agreement: Agreement,
    amendment: Amendment,
    *,
    as_of: date,
    through: date | None = None,
) -> AmendmentPreview:
    """Price ``amendment`` against ``agreement`` without applying it.

    Raises :class:`~milestonebill.errors.AmendmentError` if it cannot apply,
    :class:`~milestonebill.errors.InvalidTransitionError` when the agreement cannot be amended in
    its state, and :class:`~milestonebill.errors.ValidationError` naming ``through`` when it is
    missing and a recurring charge is open-ended.  ``through`` is the contract-value horizon
    (excluded; required with open-ended recurring charges).  Amounts in the preview are
    :class:`~milestonebill.money.Money`.  See ``docs/agreements.md`` for a worked example.
    """
    if not agreement.state.amendable:
        raise InvalidTransitionError(f"agreement {agreement.id!r} is {agreement.state.value}")
    after = amended(agreement, amendment)
    horizon = through
    if horizon is None and (open_ended(agreement) or open_ended(after)):
        raise ValidationError("through",
                              "a horizon date, since a recurring charge is open-ended", None)
    before_items = {i.key: i for i in billing_plan(agreement, through=horizon)}
    after_items = {i.key: i for i in billing_plan(after, through=horizon)}
    billed = billed_by_key(after)  # after: a refund absorbs against the amended plan
    takes_effect = max(as_of, amendment.effective)
    changes: list[ScheduleChange] = []
    moves: dict[PlanKey, tuple[int, PreviewLine]] = {}
    for key in list(dict.fromkeys([*before_items, *after_items])):
        b, x = before_items.get(key), after_items.get(key)
        if b is not None and x is not None and (b.amount, b.on) == (x.amount, x.on):
            continue
        ref = b or x
        assert ref is not None
        changes.append(ScheduleChange(key, ref.name, None if b is None else b.amount,
                                      None if x is None else x.amount,
                                      None if b is None else b.on, None if x is None else x.on))
        move = _move(after, key, x, billed)
        if move is not None and move[0] != 0 and move[1] <= takes_effect:
            delta, due, adjusts = move
            moves[key] = (delta, PreviewLine(key, f"{ref.name} {key}",
                                             Money.from_minor(abs(delta), agreement.currency),
                                             due, adjusts))
    charges, credits = _sides(moves)
    return AmendmentPreview(
        amendment.id, tuple(charges), tuple(credits),
        contract_value(agreement, through=horizon), contract_value(after, through=horizon),
        tuple(changes), *_time_release(agreement, amendment),
    )


def _time_release(agreement: Agreement, amendment: Amendment
                  ) -> tuple[tuple[TimeCapChange, ...], Money | None]:
    """The caps ``amendment`` sets and the held work it releases, in money."""
    raises = [op for op in amendment.operations if isinstance(op, RaiseTimeCap)]
    term = agreement.proposal.time_materials
    if not raises or term is None:
        return (), None
    caps = time_caps(term, agreement.events, agreement.id)
    changes: dict[str, TimeCapChange] = {}
    for op in raises:
        before = changes[op.scope].before if op.scope in changes else caps[op.scope]
        assert before is not None  # amended() refused a raise of a cap that does not exist
        changes[op.scope] = TimeCapChange(op.scope, before, op.new_cap)
    # Time invoices bill the rounded running total of what is approved, so the
    # release is the difference of the rounded totals after and before.
    before_total = sum((w.approved for w in time_work(term, agreement.events, agreement.id)),
                       start=Fraction(0))
    after_total = sum((w.approved for w in time_work(term, agreement.events, agreement.id,
                                                      raises=raises)), start=Fraction(0))
    released = term.round_total(after_total) - term.round_total(before_total)
    return tuple(changes.values()), Money.from_minor(released, agreement.currency)


def _move(after: Agreement, key: PlanKey, item: PlanItem | None,
          billed: dict[PlanKey, tuple[int, InvoiceId, int]]
          ) -> tuple[int, date, InvoiceId | None] | None:
    """What changes for ``key`` once billed: (minor units, due day, invoice it adjusts)."""
    net, first, _n = billed.get(key, (0, None, 0))
    inner = key.discounted
    if first is None and inner is not None and inner in billed:
        first = billed[inner][1]
    planned = 0 if item is None else item.amount.minor
    if first is not None:
        due = max(item.on if item is not None and item.on is not None else date.min,
                  changed_since(after, key))
        return planned - net, due, first
    if item is None or item.on is None:
        return None
    return planned - net, item.on, None


def _sides(moves: dict[PlanKey, tuple[int, PreviewLine]]
           ) -> tuple[list[PreviewLine], list[PreviewLine]]:
    """Charges and credits; a discount moving against its item rides with it as a
    negative line (as the invoice or credit note will show it)."""
    charges: list[PreviewLine] = []
    credits: list[PreviewLine] = []
    for key, (delta, line) in moves.items():
        inner = key.discounted
        item = None if inner is None else moves.get(inner)
        if item is not None and item[0] * delta < 0:
            rides = [m for k, m in moves.items() if k.discounted == inner and m[0] * item[0] < 0]
            if abs(item[0]) >= abs(sum(m[0] for m in rides)):
                rider = attrs.evolve(line, amount=-line.amount)
                (charges if item[0] > 0 else credits).append(rider)
                continue
        (charges if delta > 0 else credits).append(line)
    return charges, credits



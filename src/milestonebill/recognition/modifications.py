"""Step 5 of the revenue model: contract modifications.

:func:`positions` says where each obligation stands on the day of a
:class:`Modification`; :func:`classify_modification` picks the treatment
(separate contract, prospective or cumulative catch-up) by ASC 606-10-25-12
and 25-13, and :func:`modify_contract` accounts for it.  Everything here is
also importable from :mod:`milestonebill.recognition`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill.errors import ValidationError
from milestonebill.ids import ObligationId
from milestonebill.money import Money, Ratio, Rounding, as_fraction, round_ratio
from milestonebill.recognition._quantum import (
    allocate_at_step,
    quantum_of,
    quantum_step,
    round_to_step,
)
from milestonebill.recognition.model import (
    Allocation,
    AllocationLine,
    Contract,
    PerformanceObligation,
)

__all__ = [
    "Modification",
    "ModificationResult",
    "ModificationTreatment",
    "ObligationPosition",
    "classify_modification",
    "modify_contract",
    "positions",
]


class ModificationTreatment(enum.Enum):
    """How a modification is accounted for (ASC 606-10-25-12 and 25-13)."""

    SEPARATE_CONTRACT = "separate_contract"
    PROSPECTIVE = "prospective"
    CUMULATIVE_CATCH_UP = "cumulative_catch_up"


@attrs.frozen
class ObligationPosition:
    """Where one obligation stands on the day of a modification.

    ``remaining_ssp`` is the standalone selling price, measured at the
    modification date, of what is still to be transferred; when omitted it
    is taken as ``ssp x unrecognised / allocated``.
    """

    obligation: PerformanceObligation
    allocated: Money
    recognised: Money
    remaining_ssp: Money | None = None

    @property
    def unrecognised(self) -> Money:
        """Allocated consideration not yet recognised."""
        return self.allocated - self.recognised

    @property
    def satisfied(self) -> bool:
        """True once everything allocated has been recognised."""
        return self.recognised == self.allocated

    def weight(self) -> Fraction:
        """SSP weight of the remaining part, for prospective reallocation."""
        if self.remaining_ssp is not None:
            return Fraction(self.remaining_ssp.minor)
        ssp = self.obligation.ssp
        if ssp is not None and self.allocated.minor:
            return Fraction(ssp.minor * self.unrecognised.minor, self.allocated.minor)
        return Fraction(self.unrecognised.minor)


def positions(
    contract: Contract,
    allocation: Allocation,
    recognised: Mapping[str, Money],
    *,
    remaining_ssp: Mapping[str, Money] | None = None,
) -> tuple[ObligationPosition, ...]:
    """Positions of every obligation of ``contract`` from its allocation and revenue to date."""
    cur = contract.currency
    extra = remaining_ssp or {}
    return tuple(
        ObligationPosition(o, allocation.amount(o.id), recognised.get(o.id, Money.zero(cur)),
                           extra.get(o.id))
        for o in contract.obligations
    )


def _added(value: Iterable[PerformanceObligation]) -> tuple[PerformanceObligation, ...]:
    return tuple(value)


def _opt_fraction(value: Ratio | None) -> Fraction | None:
    return None if value is None else as_fraction(value, "progress")


@attrs.frozen
class Modification:
    """A change in scope or price approved on ``on``.

    * ``price_change`` -- the change in consideration (negative for a cut).
    * ``added`` -- new goods or services, with their SSPs.
    * ``distinct`` -- the remaining goods or services are distinct from those
      already transferred (decides prospective vs cumulative catch-up).
    * ``credit_for_past`` -- part of the deal that compensates for goods
      already transferred: recognised at once as a reduction of revenue.
    * ``affects`` and ``progress`` -- for a catch-up, the partially satisfied
      obligation and its progress remeasured under the modified contract.
    * ``treatment`` -- force a treatment instead of applying the rules.
    """

    on: date
    price_change: Money
    added: tuple[PerformanceObligation, ...] = attrs.field(default=(), converter=_added)
    distinct: bool = True
    credit_for_past: Money | None = None
    affects: ObligationId | None = None
    progress: Fraction | None = attrs.field(default=None, converter=_opt_fraction)
    treatment: ModificationTreatment | None = None


def classify_modification(modification: Modification) -> tuple[ModificationTreatment, str]:
    """Choose the treatment by the rules; returns ``(treatment, reason)``.

    Distinct goods added at their standalone selling price are a separate
    contract (25-12); otherwise distinct remaining goods are accounted for
    prospectively (25-13(a)); otherwise by cumulative catch-up (25-13(b)).

    ASC 606-10-55-112 (Example 5, Case A): 30 more products at their SSP of 95:

    >>> extra = PerformanceObligation(ObligationId("extra"), "30 products", Money("2850", "USD"))
    >>> classify_modification(Modification(date(2025, 4, 1), Money("2850", "USD"), [extra]))[0]
    <ModificationTreatment.SEPARATE_CONTRACT: 'separate_contract'>
    >>> classify_modification(Modification(date(2025, 4, 1), Money("1500", "USD"), [extra]))[0]
    <ModificationTreatment.PROSPECTIVE: 'prospective'>
    """
    m = modification
    if m.treatment is not None:
        return m.treatment, f"forced: {m.treatment.value}"
    credit = m.credit_for_past.minor if m.credit_for_past is not None else 0
    if m.added and m.distinct and all(o.ssp is not None for o in m.added):
        ssp = sum(o.ssp.minor for o in m.added if o.ssp is not None)
        if m.price_change.minor + credit == ssp:
            return (ModificationTreatment.SEPARATE_CONTRACT,
                    "distinct goods or services added at their standalone selling price")
    if m.distinct:
        return (ModificationTreatment.PROSPECTIVE,
                "remaining goods or services are distinct but not priced at standalone "
                "selling price")
    return (ModificationTreatment.CUMULATIVE_CATCH_UP,
            "remaining goods or services are not distinct: part of a partially "
            "satisfied obligation")


#: What one obligation has still to recognise after a modification:
#: ``(id, SSP, minor units, basis)``.
_Remaining = tuple[ObligationId, Money | None, int, str]


def _remaining_lines(items: Sequence[_Remaining],
                     currency_code: str) -> tuple[AllocationLine, ...]:
    return tuple(AllocationLine(i, s, Money.from_minor(a, currency_code), b)
                 for i, s, a, b in items)


@attrs.frozen
class ModificationResult:
    """The accounting of one modification, with the treatment recorded.

    ``adjustment`` is revenue recognised (negative: reversed) on the
    modification date; ``remaining`` the consideration still to recognise per
    obligation afterwards; ``progress`` the measure used for a catch-up.
    Always: recognised before + ``adjustment`` + sum of ``remaining`` = old
    consideration + ``price_change`` (for the obligations not yet satisfied).
    """

    on: date
    treatment: ModificationTreatment
    forced: bool
    reason: str
    adjustment: Money
    remaining: tuple[AllocationLine, ...]
    progress: Fraction | None
    rounding: Rounding
    quantum: Decimal

    def remaining_for(self, obligation_id: str) -> Money:
        """Consideration still to recognise for one obligation."""
        for line in self.remaining:
            if line.obligation_id == obligation_id:
                return line.amount
        return Money.zero(self.adjustment.currency)

    @property
    def remaining_total(self) -> Money:
        """Sum of :attr:`remaining`."""
        return Money.total((ln.amount for ln in self.remaining),
                           currency=self.adjustment.currency)


def modify_contract(
    positions: Sequence[ObligationPosition],
    modification: Modification,
    *,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    progress_places: int | None = None,
    progress_rounding: Rounding = Rounding.HALF_UP,
) -> ModificationResult:
    """Step 5: account for a modification by the rules, or as forced.

    * Separate contract: existing obligations carry on unchanged; the added
      ones share ``price_change`` by relative SSP.
    * Prospective: unrecognised consideration of the unsatisfied obligations
      plus ``price_change`` (plus any credit for the past, which is taken to
      revenue at once) is shared by relative remaining SSP.
    * Cumulative catch-up: the affected obligation's price grows by
      ``price_change``; revenue jumps to ``round(price x progress)``.
      ``progress_places`` rounds the progress first (3 places gives the 51.2%
      of ASC 606-10-55-133); ``None`` keeps it exact.

    Amounts are :class:`~milestonebill.money.Money`; progress is an exact
    ``Decimal`` from 0 to 1.  Raises :class:`~milestonebill.errors.ValidationError` naming
    ``positions`` when there is none, or the field of ``modification`` that
    does not fit the treatment (``added``, ``progress``, ``affects``).

    ASC 606-10-55-125 (Example 7): cleaning at 100,000 a year, two years
    done; year 3 cut to 80,000 and three more years added for 200,000 (SSP
    80,000 a year) -- prospective, 70,000 a year from now on:

    >>> from milestonebill.recognition import ObligationId, PerformanceObligation
    >>> usd = lambda v: Money(v, "USD")
    >>> clean = PerformanceObligation(ObligationId("clean"), "Cleaning", usd(300000))
    >>> more = PerformanceObligation(ObligationId("clean-4-6"), "Years 4-6", usd(240000))
    >>> pos = [ObligationPosition(clean, usd(300000), usd(200000), remaining_ssp=usd(80000))]
    >>> r = modify_contract(pos, Modification(date(2027, 1, 1), usd(180000), [more]))
    >>> r.treatment.value, str(r.remaining_for("clean")), str(r.remaining_for("clean-4-6"))
    ('prospective', '70000.00 USD', '210000.00 USD')
    """
    m = modification
    if not positions:
        raise ValidationError("positions", "at least one obligation position", [])
    cur = positions[0].allocated.currency
    m.price_change.with_currency_check(cur)
    step = quantum_step(cur, quantum)
    treatment, reason = classify_modification(m)
    credit = m.credit_for_past.with_currency_check(cur).minor if m.credit_for_past else 0
    open_ = [p for p in positions if not p.satisfied]
    progress: Fraction | None = None
    if treatment is ModificationTreatment.SEPARATE_CONTRACT:
        adjustment, items = -credit, _separate_contract(open_, m, credit, step)
    elif treatment is ModificationTreatment.PROSPECTIVE:
        adjustment, items = -credit, _prospective(open_, m, credit, step)
    else:
        target = _affected(open_, m)
        progress = _remeasured_progress(m, progress_places, progress_rounding)
        adjustment, items = _catch_up(open_, target, m.price_change, progress, step=step,
                                       rounding=rounding)
    return ModificationResult(
        m.on, treatment, m.treatment is not None, reason, Money.from_minor(adjustment, cur),
        _remaining_lines(items, cur.code), progress, rounding, quantum_of(cur, quantum),
    )


def _separate_contract(open_: Sequence[ObligationPosition], m: Modification, credit: int,
                       step: int) -> list[_Remaining]:
    """Open obligations carry on unchanged; the added ones share the new consideration."""
    if not m.added:
        raise ValidationError("modification.added", "goods or services for a separate contract",
                              ())
    items: list[_Remaining] = [
        (p.obligation.id, p.obligation.ssp, p.unrecognised.minor, "unchanged") for p in open_]
    weights = [Fraction(o.ssp.minor if o.ssp is not None else 0) for o in m.added]
    if sum(weights) == 0:
        weights = [Fraction(1)] * len(m.added)
    for o, part in zip(m.added, allocate_at_step(m.price_change.minor + credit, weights, step),
                       strict=True):
        items.append((o.id, o.ssp, part, "separate contract"))
    return items


def _prospective(open_: Sequence[ObligationPosition], m: Modification, credit: int,
                 step: int) -> list[_Remaining]:
    """What is unrecognised plus the change, shared by relative remaining SSP."""
    pool = sum(p.unrecognised.minor for p in open_) + m.price_change.minor + credit
    weights = [p.weight() for p in open_]
    for o in m.added:
        if o.ssp is None:
            raise ValidationError(f"modification.added[{o.id}].ssp",
                                  "a standalone selling price", None)
        weights.append(Fraction(o.ssp.minor))
    if not weights:
        raise ValidationError("positions", "an unsatisfied obligation or added goods", [])
    if sum(weights) == 0:
        weights = [Fraction(1)] * len(weights)
    parts = allocate_at_step(pool, weights, step)
    owners = [(p.obligation.id, p.obligation.ssp) for p in open_] + [(o.id, o.ssp)
                                                                      for o in m.added]
    return [(oid, ssp, part, "prospective reallocation")
            for (oid, ssp), part in zip(owners, parts, strict=True)]


def _remeasured_progress(m: Modification, places: int | None, rounding: Rounding) -> Fraction:
    """The catch-up's progress, checked and rounded to ``places`` decimals when given."""
    if m.progress is None:
        raise ValidationError("modification.progress",
                              "the remeasured progress of the affected obligation", None)
    progress = m.progress
    if not 0 <= progress <= 1:
        raise ValidationError("modification.progress", "between 0 and 1", progress)
    if places is not None:
        scale = 10**places
        progress = Fraction(round_ratio(progress.numerator * scale, progress.denominator,
                                        rounding), scale)
    return progress


def _catch_up(open_: Sequence[ObligationPosition], target: ObligationPosition,
              price_change: Money, progress: Fraction, *, step: int,
              rounding: Rounding) -> tuple[int, list[_Remaining]]:
    """The ``target`` obligation's revenue jumps to ``round(new price x progress)``.

    Returns the adjustment in minor units and what each open obligation has
    still to recognise.
    """
    new_price = target.allocated.minor + price_change.minor
    cum = new_price if progress == 1 else round_to_step(new_price * progress, step, rounding)
    items: list[_Remaining] = [
        (p.obligation.id, p.obligation.ssp, new_price - cum, "cumulative catch-up") if p is target
        else (p.obligation.id, p.obligation.ssp, p.unrecognised.minor, "unchanged")
        for p in open_]
    return cum - target.recognised.minor, items


def _affected(open_: Sequence[ObligationPosition], m: Modification) -> ObligationPosition:
    if m.affects is not None:
        for p in open_:
            if p.obligation.id == m.affects:
                return p
        raise ValidationError("modification.affects", "an unsatisfied obligation", m.affects)
    if len(open_) != 1:
        raise ValidationError("modification.affects",
                              "the obligation to adjust (several are unsatisfied)",
                              [p.obligation.id for p in open_])
    return open_[0]

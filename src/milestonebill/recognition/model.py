"""Steps 1-3 of the revenue model: obligations, transaction price, allocation.

A :class:`PerformanceObligation` is a distinct promise; a :class:`Contract`
holds obligations and a :class:`TransactionPrice` (fixed consideration plus
variable consideration net of the constraint, :func:`estimate_transaction_price`);
:func:`allocate_transaction_price` shares the price out by relative
standalone selling price.  Everything here is also importable from
:mod:`milestonebill.recognition`.

Units: prices, SSPs and outcomes are :class:`~milestonebill.money.Money`;
probabilities are exact ``Decimal`` values from 0 to 1; an obligation's
``period`` is a half-open :class:`~milestonebill.periods.Period` (start
included, end excluded).

Every value here checks itself when it is built, and every function its
arguments: bad input raises :class:`~milestonebill.errors.ValidationError` naming the field and
the value (no obligations, duplicate ids, an amount in another currency, a
probability outside 0 to 1, outcomes whose probabilities do not sum to 1).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.ids import ContractId, ObligationId
from milestonebill.money import Currency, Money, Ratio, Rounding, as_fraction, round_ratio
from milestonebill.periods import Period
from milestonebill.recognition._quantum import allocate_at_step, quantum_of, quantum_step

__all__ = [
    "Allocation",
    "AllocationLine",
    "Contract",
    "DiscountEvidence",
    "Estimate",
    "Outcome",
    "PerformanceObligation",
    "SSPRange",
    "Satisfaction",
    "TransactionPrice",
    "VariableConsideration",
    "VariableEstimate",
    "allocate_transaction_price",
    "combine_obligations",
    "estimate_transaction_price",
]


# -------------------------------------------------------- step 1: obligations


class Satisfaction(enum.Enum):
    """How an obligation is satisfied (ASC 606-10-25-23 to 25-30)."""

    POINT_IN_TIME = "point_in_time"
    OVER_TIME = "over_time"


@attrs.frozen
class SSPRange:
    """The observed range of a highly variable standalone selling price."""

    low: Money
    high: Money

    def __attrs_post_init__(self) -> None:
        if self.high.currency != self.low.currency or self.high < self.low:
            raise ValidationError("ssp_range", "low <= high in one currency", (self.low, self.high))

    def __contains__(self, amount: object) -> bool:
        return isinstance(amount, Money) and self.low <= amount <= self.high


def _tuple_of_str(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class PerformanceObligation:
    """A distinct promise to a customer (step 1); usable without an agreement.

    ``ssp`` is the standalone selling price (``None`` when it is to be
    estimated by the residual approach); ``ssp_range`` the observed range for
    a highly variable price; ``period`` the service period of an over-time
    obligation; ``series`` marks a series of distinct periods of service
    (ASC 606-10-25-14(b)); ``sources`` names the schedule or agreement items
    the obligation came from.

    >>> PerformanceObligation(ObligationId("design"), "Design", Money("40000.00", "USD")).satisfaction
    <Satisfaction.POINT_IN_TIME: 'point_in_time'>
    """

    id: ObligationId
    name: str
    ssp: Money | None = None
    satisfaction: Satisfaction = Satisfaction.POINT_IN_TIME
    ssp_range: SSPRange | None = None
    period: Period | None = None
    series: bool = False
    sources: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValidationError("id", "a non-empty string", self.id)
        if self.ssp is not None and not isinstance(self.ssp, Money):
            raise ValidationError(f"obligations[{self.id}].ssp", "a Money or None", self.ssp)
        if not isinstance(self.satisfaction, Satisfaction):
            raise ValidationError(f"obligations[{self.id}].satisfaction", "a Satisfaction",
                                  self.satisfaction)
        if self.ssp is not None and self.ssp.minor < 0:
            raise ValidationError(f"obligations[{self.id}].ssp", "zero or more", self.ssp)
        if (self.ssp is not None and self.ssp_range is not None
                and self.ssp_range.low.currency != self.ssp.currency):
            raise ValidationError(f"obligations[{self.id}].ssp_range", "in the SSP's currency",
                                  self.ssp_range.low.currency.code)


def combine_obligations(
    obligations: Sequence[PerformanceObligation],
    *,
    id: str,
    name: str,
    satisfaction: Satisfaction | None = None,
) -> PerformanceObligation:
    """Combine items that are not distinct into one obligation.

    The SSP is the sum (unknown if any is unknown); the period spans all the
    periods; the result is over time if any part is, unless ``satisfaction``
    says otherwise.

    >>> a = PerformanceObligation(ObligationId("build"), "Build", Money("700", "USD"))
    >>> b = PerformanceObligation(ObligationId("install"), "Install", Money("300", "USD"))
    >>> c = combine_obligations([a, b], id="build+install", name="Built and installed")
    >>> c.ssp, c.sources
    (Money('1000.00', 'USD'), ('build', 'install'))
    """
    if not obligations:
        raise ValidationError("obligations", "at least one obligation", [])
    ssps = [o.ssp for o in obligations]
    ssp = None if any(s is None for s in ssps) else Money.total([s for s in ssps if s is not None])
    periods = [o.period for o in obligations]
    period = None
    if all(p is not None for p in periods):
        concrete = [p for p in periods if p is not None]
        period = Period(min(p.start for p in concrete), max(p.end for p in concrete))
    if satisfaction is None:
        over = any(o.satisfaction is Satisfaction.OVER_TIME for o in obligations)
        satisfaction = Satisfaction.OVER_TIME if over else Satisfaction.POINT_IN_TIME
    sources: list[str] = []
    for o in obligations:
        sources.extend(o.sources or (o.id,))
    return PerformanceObligation(
        ObligationId(id), name, ssp, satisfaction, None, period,
        any(o.series for o in obligations), tuple(sources),
    )


# -------------------------------------------------- step 2: transaction price


class Estimate(enum.Enum):
    """How variable consideration is estimated (ASC 606-10-32-8)."""

    EXPECTED_VALUE = "expected_value"
    MOST_LIKELY_AMOUNT = "most_likely_amount"


def _probability(value: Ratio) -> Fraction:
    return as_fraction(value, "probability")


@attrs.frozen
class Outcome:
    """One possible amount of variable consideration and its probability."""

    amount: Money
    probability: Fraction = attrs.field(converter=_probability)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            raise ValidationError("probability", "between 0 and 1", self.probability)


def _outcomes(value: Iterable[Outcome]) -> tuple[Outcome, ...]:
    return tuple(value)


@attrs.frozen
class VariableConsideration:
    """Consideration that depends on future events: bonuses, penalties, usage.

    ``constrained`` is the part of the estimate the user holds back under the
    constraint (ASC 606-10-32-11); it stays out of the transaction price until
    :meth:`release` d.  Probabilities must sum to exactly 1.
    """

    id: str
    outcomes: tuple[Outcome, ...] = attrs.field(converter=_outcomes)
    method: Estimate
    constrained: Money | None = None

    def __attrs_post_init__(self) -> None:
        if not self.outcomes:
            raise ValidationError(f"variable[{self.id}].outcomes", "at least one outcome", ())
        cur = self.outcomes[0].amount.currency
        for o in self.outcomes:
            o.amount.with_currency_check(cur)
        total = sum((o.probability for o in self.outcomes), Fraction(0))
        if total != 1:
            raise ValidationError(f"variable[{self.id}].outcomes", "probabilities summing to 1",
                                  str(total))
        if not isinstance(self.method, Estimate):
            raise ValidationError(f"variable[{self.id}].method", "an Estimate", self.method)

    @classmethod
    def certain(cls, id: str, amount: Money, *, constrained: bool = False) -> VariableConsideration:
        """A single possible amount (for example a bonus judged most likely).

        ``constrained=True`` holds the whole amount back.
        """
        return cls(id, (Outcome(amount, 1),), Estimate.MOST_LIKELY_AMOUNT,
                   amount if constrained else None)

    def estimate(self, *, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """The estimate before the constraint, rounded once to the minor unit.

        Most likely amount: the outcome with the highest probability (ties go
        to the smallest amount, the cautious choice).

        >>> vc = VariableConsideration("bonus", [Outcome(Money("0", "USD"), "0.2"),
        ...     Outcome(Money("150000", "USD"), "0.8")], Estimate.EXPECTED_VALUE)
        >>> vc.estimate()
        Money('120000.00', 'USD')
        """
        cur = self.outcomes[0].amount.currency
        if self.method is Estimate.MOST_LIKELY_AMOUNT:
            best = max(self.outcomes, key=lambda o: (o.probability, -o.amount.minor))
            return best.amount
        exact = sum((o.amount.minor * o.probability for o in self.outcomes), Fraction(0))
        return Money.from_minor(round_ratio(exact.numerator, exact.denominator, rounding), cur)

    def release(self, amount: Money | None = None) -> VariableConsideration:
        """Release all (``None``) or part of the constrained amount."""
        if self.constrained is None:
            return self
        if amount is None:
            return attrs.evolve(self, constrained=None)
        left = self.constrained - amount
        return attrs.evolve(self, constrained=None if left.is_zero() else left)


@attrs.frozen
class VariableEstimate:
    """How one variable amount entered the transaction price."""

    id: str
    method: Estimate
    estimate: Money
    constrained: Money
    included: Money


def _estimates(value: Iterable[VariableEstimate]) -> tuple[VariableEstimate, ...]:
    return tuple(value)


@attrs.frozen
class TransactionPrice:
    """Fixed consideration plus the included (unconstrained) variable estimates."""

    fixed: Money
    variable: tuple[VariableEstimate, ...] = attrs.field(default=(), converter=_estimates)
    rounding: Rounding = Rounding.HALF_UP

    @property
    def currency(self) -> Currency:
        """The contract currency."""
        return self.fixed.currency

    @property
    def amount(self) -> Money:
        """The transaction price: fixed plus included variable consideration."""
        return Money.total([self.fixed, *(v.included for v in self.variable)])

    @property
    def constrained(self) -> Money:
        """Variable consideration held back by the constraint."""
        return Money.total((v.constrained for v in self.variable), currency=self.currency)


def estimate_transaction_price(
    fixed: Money,
    variable: Sequence[VariableConsideration] = (),
    *,
    rounding: Rounding = Rounding.HALF_UP,
) -> TransactionPrice:
    """Step 2: fixed consideration plus variable consideration net of the constraint.

    ASC 606-10-32-8 example figures: a bonus of 150,000 with 80% probability is
    120,000 by expected value and 150,000 by most likely amount; a constrained
    bonus stays out of the price until released.

    >>> bonus = VariableConsideration("bonus", [Outcome(Money("0", "USD"), "0.2"),
    ...     Outcome(Money("150000", "USD"), "0.8")], Estimate.MOST_LIKELY_AMOUNT)
    >>> estimate_transaction_price(Money("2500000", "USD"), [bonus]).amount
    Money('2650000.00', 'USD')
    >>> held = VariableConsideration.certain("bonus", Money("200000", "USD"), constrained=True)
    >>> tp = estimate_transaction_price(Money("1000000", "USD"), [held])
    >>> tp.amount, tp.constrained
    (Money('1000000.00', 'USD'), Money('200000.00', 'USD'))
    >>> estimate_transaction_price(Money("1000000", "USD"), [held.release()]).amount
    Money('1200000.00', 'USD')
    """
    if not isinstance(fixed, Money):
        raise ValidationError("fixed", "a Money", fixed)
    out: list[VariableEstimate] = []
    for i, vc in enumerate(variable):
        est = vc.estimate(rounding=rounding).with_currency_check(fixed.currency)
        held = vc.constrained if vc.constrained is not None else Money.zero(fixed.currency)
        held.with_currency_check(fixed.currency)
        lo, hi = sorted((0, est.minor))
        if not lo <= held.minor <= hi:
            raise ValidationError(f"variable[{i}].constrained",
                                  f"between 0 and the estimate {est}", held)
        out.append(VariableEstimate(vc.id, vc.method, est, held, est - held))
    return TransactionPrice(fixed, tuple(out), rounding)


def _price(value: Money | TransactionPrice) -> TransactionPrice:
    if isinstance(value, TransactionPrice):
        return value
    if isinstance(value, Money):
        return TransactionPrice(value)
    raise ValidationError("price", "a Money or a TransactionPrice", value)


def _obligations(value: Iterable[PerformanceObligation]) -> tuple[PerformanceObligation, ...]:
    return tuple(value)


@attrs.frozen
class Contract:
    """Performance obligations plus a transaction price; no agreement needed.

    >>> c = Contract(ContractId("c-1"), [PerformanceObligation(ObligationId("a"), "A",
    ...     Money("50", "USD"))], Money("40", "USD"))
    >>> c.price.amount, c.currency.code
    (Money('40.00', 'USD'), 'USD')
    """

    id: ContractId
    obligations: tuple[PerformanceObligation, ...] = attrs.field(converter=_obligations)
    price: TransactionPrice = attrs.field(converter=_price)

    def __attrs_post_init__(self) -> None:
        if not self.obligations:
            raise ValidationError("obligations", "at least one obligation", ())
        seen: set[str] = set()
        for o in self.obligations:
            if not isinstance(o, PerformanceObligation):
                raise ValidationError("obligations", "PerformanceObligation values", o)
            if o.id in seen:
                raise ValidationError("obligations", "unique ids", o.id)
            seen.add(o.id)
            if o.ssp is not None and o.ssp.currency != self.currency:
                raise ValidationError(f"obligations[{o.id}].ssp", f"in {self.currency.code}",
                                      o.ssp)

    @property
    def currency(self) -> Currency:
        """The contract currency."""
        return self.price.currency

    def obligation(self, id: str) -> PerformanceObligation:
        """The obligation with this id.

        Raises :class:`~milestonebill.errors.NotFoundError` for an id the contract does not hold.
        """
        for o in self.obligations:
            if o.id == id:
                return o
        raise NotFoundError(f"no performance obligation {id!r} in contract {self.id!r}")


# ------------------------------------------------------------- step 3: allocate


def _ids(value: Iterable[str]) -> frozenset[ObligationId]:
    return frozenset(ObligationId(v) for v in value)


@attrs.frozen
class DiscountEvidence:
    """Observable evidence that a bundle of obligations sells for ``price``.

    The bundle's price is shared inside the bundle by relative SSP, so the
    discount lands on those obligations only (ASC 606-10-32-37).
    """

    obligations: frozenset[ObligationId] = attrs.field(converter=_ids)
    price: Money


@attrs.frozen
class AllocationLine:
    """The share of the transaction price one obligation received and why."""

    obligation_id: ObligationId
    ssp: Money | None
    amount: Money
    basis: str


def _lines(value: Iterable[AllocationLine]) -> tuple[AllocationLine, ...]:
    return tuple(value)


@attrs.frozen
class Allocation:
    """Step 3 result: shares sum exactly to ``price``.

    ``quantum`` is the rounding step (currency units) and ``method`` the
    rounding rule -- always the largest-remainder method, ties to the lowest
    index.
    """

    contract_id: ContractId
    price: Money
    lines: tuple[AllocationLine, ...] = attrs.field(converter=_lines)
    quantum: Decimal
    method: str = "largest remainder"

    def amount(self, obligation_id: str) -> Money:
        """The amount allocated to one obligation, as :class:`~milestonebill.money.Money`.

        Raises :class:`~milestonebill.errors.NotFoundError` for an id the allocation does not hold.
        """
        for line in self.lines:
            if line.obligation_id == obligation_id:
                return line.amount
        raise NotFoundError(f"no obligation {obligation_id!r} in the allocation")

    def as_dict(self) -> dict[ObligationId, Money]:
        """Obligation id to allocated amount, in contract order."""
        return {line.obligation_id: line.amount for line in self.lines}

    @property
    def total(self) -> Money:
        """Sum of the shares (always equal to ``price``)."""
        return Money.total((line.amount for line in self.lines), currency=self.price.currency)


def _need_ssp(o: PerformanceObligation) -> Money:
    if o.ssp is None:
        raise ValidationError(f"obligations[{o.id}].ssp", "a standalone selling price", None)
    return o.ssp


def _share(total: int, obligations: Sequence[PerformanceObligation], step: int) -> list[int]:
    weights = [Fraction(_need_ssp(o).minor) for o in obligations]
    if sum(weights) == 0:
        weights = [Fraction(1)] * len(obligations)
    return allocate_at_step(total, weights, step)


def allocate_transaction_price(
    contract: Contract,
    *,
    discounts: Sequence[DiscountEvidence] = (),
    residual: str | None = None,
    quantum: Decimal | None = None,
) -> Allocation:
    """Step 3: allocate the transaction price by relative standalone selling price.

    * Plain: shares proportional to SSP (ASC 606-10-32-31).
    * ``discounts``: each bundle with observable evidence gets its observed
      price, shared inside it by relative SSP; the other obligations share the
      rest (ASC 606-10-32-37).
    * ``residual``: that obligation gets what is left after the others take
      their SSP (or their bundle's price); refused with a ``ValidationError``
      when the residual falls outside the obligation's ``ssp_range``
      (ASC 606-10-32-34(c)).

    Shares are exact to ``quantum`` (default: the minor unit) by the largest
    remainder method and always sum to the price.

    ASC 606-10-55-256 (Example 33): SSPs 50, 25 and 75, price 100, whole units:

    >>> def po(i, ssp):
    ...     return PerformanceObligation(ObligationId(i), i, Money(ssp, "USD"))
    >>> c = Contract(ContractId("ex33"), [po("A", 50), po("B", 25), po("C", 75)], Money(100, "USD"))
    >>> a = allocate_transaction_price(c, quantum=Decimal(1))
    >>> [str(line.amount) for line in a.lines], a.quantum, a.method
    (['33.00 USD', '17.00 USD', '50.00 USD'], Decimal('1'), 'largest remainder')
    """
    cur = contract.currency
    step = quantum_step(cur, quantum)
    price = contract.price.amount
    obligations = contract.obligations
    amounts: dict[str, int] = {}
    basis: dict[str, str] = {}
    grouped, group_total = _allocate_bundles(contract, discounts, residual, step,
                                             amounts=amounts, basis=basis)
    others = [o for o in obligations if o.id not in grouped and o.id != residual]
    if residual is not None:
        _allocate_residual(contract, residual, others, group_total, amounts=amounts, basis=basis)
    elif others:
        for o, part in zip(others, _share(price.minor - group_total, others, step), strict=True):
            amounts[o.id] = part
            basis[o.id] = "relative standalone selling price"
    elif group_total != price.minor:
        raise ValidationError("discounts", f"bundle prices summing to the price {price}",
                              str(Money.from_minor(group_total, cur)))
    lines = [
        AllocationLine(o.id, o.ssp, Money.from_minor(amounts[o.id], cur), basis[o.id])
        for o in obligations
    ]
    return Allocation(contract.id, price, tuple(lines), quantum_of(cur, quantum))


def _allocate_bundles(
    contract: Contract,
    discounts: Sequence[DiscountEvidence],
    residual: str | None,
    step: int,
    *,
    amounts: dict[str, int],
    basis: dict[str, str],
) -> tuple[set[str], int]:
    """Give each discount bundle its observed price, shared inside it by relative SSP.

    Fills ``amounts`` and ``basis`` for the bundled obligations; returns the
    ids bundled and the sum of the bundle prices in minor units.
    """
    cur = contract.currency
    obligations = contract.obligations
    ids = {o.id for o in obligations}
    grouped: set[str] = set()
    group_total = 0
    for gi, ev in enumerate(discounts):
        ev.price.with_currency_check(cur)
        if not ev.obligations or not ev.obligations <= ids:
            raise ValidationError(f"discounts[{gi}].obligations", "ids of this contract's obligations",
                                  sorted(ev.obligations))
        if ev.obligations & grouped:
            raise ValidationError(f"discounts[{gi}].obligations", "disjoint bundles",
                                  sorted(ev.obligations & grouped))
        if residual is not None and residual in ev.obligations:
            raise ValidationError("residual", "an obligation outside every discount bundle", residual)
        members = [o for o in obligations if o.id in ev.obligations]
        label = "bundle price " + "+".join(o.id for o in members)
        for o, part in zip(members, _share(ev.price.minor, members, step), strict=True):
            amounts[o.id] = part
            basis[o.id] = label
        grouped |= ev.obligations
        group_total += ev.price.minor
    return grouped, group_total


def _allocate_residual(
    contract: Contract,
    residual: str,
    others: Sequence[PerformanceObligation],
    group_total: int,
    *,
    amounts: dict[str, int],
    basis: dict[str, str],
) -> None:
    """The residual approach: ``others`` take their SSP, ``residual`` what is left.

    Refused when what is left is negative or outside the residual
    obligation's observed SSP range.
    """
    cur = contract.currency
    target = contract.obligation(residual)
    taken = group_total
    for o in others:
        amounts[o.id] = _need_ssp(o).minor
        basis[o.id] = "standalone selling price"
        taken += amounts[o.id]
    left = contract.price.amount.minor - taken
    got = Money.from_minor(left, cur)
    if left < 0 or (target.ssp_range is not None and got not in target.ssp_range):
        rng = target.ssp_range
        expected = (f"within the observed SSP range {rng.low} to {rng.high}" if rng is not None
                    else "zero or more")
        raise ValidationError(f"obligations[{residual}].residual", expected, got,
                              f"residual approach refused for {residual!r}: the residual {got} "
                              f"is not {expected}")
    amounts[target.id] = left
    basis[target.id] = "residual"

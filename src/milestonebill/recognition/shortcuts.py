"""Short forms of the common recognition questions, for notebooks.

Each is a pure function over plain values -- money, a mapping of names to
standalone selling prices, a date -- built on the full calculators of
:mod:`milestonebill.recognition.model` and :mod:`milestonebill.recognition.methods`,
which it calls and does not re-implement:

* :func:`allocate_by_ssp` -- a price shared by relative SSP
  (:func:`~milestonebill.recognition.allocate_transaction_price`);
* :func:`allocate_discount` -- a discount put on the obligations you name,
  the others at their SSP;
* :func:`catch_up` -- cumulative revenue by cost-to-cost after a change in
  estimate, and the adjustment to what was recognised
  (:func:`~milestonebill.recognition.recognise_cost_to_cost`);
* :func:`straight_line_monthly` -- equal months with cumulative rounding
  (:func:`~milestonebill.recognition.recognise_output`).

Money is exact: every amount is a :class:`~milestonebill.money.Money`
(integer minor units); a float raises ``TypeError``, any other wrong value a
:class:`~milestonebill.errors.ValidationError` naming the field.  Every split
sums exactly to its total.  For bundles with their own evidence, the
residual approach, variable consideration, modifications or daily-accurate
straight line, use the full objects.  Everything here is also importable
from :mod:`milestonebill.recognition` and the functions from
:mod:`milestonebill`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._validate import check_id, check_int, parse_date
from milestonebill.errors import ValidationError
from milestonebill.ids import ContractId, ObligationId
from milestonebill.money import Currency, Money, Rounding
from milestonebill.periods import add_months
from milestonebill.recognition.methods import (
    CostReport,
    Granularity,
    RecognitionSchedule,
    recognise_cost_to_cost,
    recognise_output,
)
from milestonebill.recognition.model import (
    Contract,
    PerformanceObligation,
    allocate_transaction_price,
)

__all__ = [
    "CatchUp",
    "allocate_by_ssp",
    "allocate_discount",
    "catch_up",
    "straight_line_monthly",
]


def _money(field: str, value: object, currency: Currency | None = None) -> Money:
    """``value`` if it is a Money (in ``currency`` when given); a float is a TypeError."""
    if isinstance(value, float):
        raise TypeError(f"{field!r} must be a Money, never float (got {value!r})")
    if not isinstance(value, Money):
        raise ValidationError(field, "a Money such as Money('100.00', 'USD')", value)
    if currency is not None and value.currency != currency:
        raise ValidationError(field, f"a Money in {currency.code}", value)
    return value


def _ssps(ssps: object, currency: Currency) -> dict[str, Money]:
    """The SSPs checked: named by non-empty strings, zero or more, in ``currency``."""
    if not isinstance(ssps, Mapping) or not ssps:
        raise ValidationError("ssps", "a non-empty mapping of obligation name to SSP", ssps)
    out: dict[str, Money] = {}
    for name, ssp in ssps.items():
        check_id("ssps", name)
        amount = _money(f"ssps[{name}]", ssp, currency)
        if amount.minor < 0:
            raise ValidationError(f"ssps[{name}]", "zero or more", amount)
        out[name] = amount
    return out


def _relative_ssp(price: Money, ssps: Mapping[str, Money],
                  quantum: Decimal | None) -> dict[str, Money]:
    """``price`` shared over checked ``ssps`` by :func:`allocate_transaction_price`."""
    obligations = [PerformanceObligation(ObligationId(name), name, ssp)
                   for name, ssp in ssps.items()]
    contract = Contract(ContractId("short-form"), obligations, price)
    allocation = allocate_transaction_price(contract, quantum=quantum)
    return {line.obligation_id: line.amount for line in allocation.lines}


def allocate_by_ssp(
    price: Money,
    ssps: Mapping[str, Money],
    *,
    quantum: Decimal | None = None,
) -> dict[str, Money]:
    """Share ``price`` over named obligations by relative standalone selling price.

    ASC 606-10-32-28 to 32-31 / IFRS 15.73-76: each obligation gets
    ``price x its SSP / sum of SSPs``.  Shares are exact to ``quantum``
    (currency units; default the minor unit) by the largest remainder
    method, ties to the first name, so they always sum to ``price``; the
    result keeps the order of ``ssps``.  When every SSP is zero the price is
    shared equally.  The same as :func:`allocate_transaction_price` on a
    :class:`Contract` of :class:`PerformanceObligation` s, without building
    them.

    ASC 606-10-55-256 to 55-258 (Example 33): SSPs 50, 25 and 75, price 100:

    >>> usd = lambda v: Money(v, "USD")
    >>> ssps = {"A": usd(50), "B": usd(25), "C": usd(75)}
    >>> allocate_by_ssp(usd(100), ssps, quantum=Decimal(1))
    {'A': Money('33.00', 'USD'), 'B': Money('17.00', 'USD'), 'C': Money('50.00', 'USD')}
    >>> allocate_by_ssp(usd(100), ssps)
    {'A': Money('33.33', 'USD'), 'B': Money('16.67', 'USD'), 'C': Money('50.00', 'USD')}
    """
    price = _money("price", price)
    return _relative_ssp(price, _ssps(ssps, price.currency), quantum)


def _named(to: object, ssps: Mapping[str, Money]) -> set[str]:
    """The names in ``to``: at least one, each a key of ``ssps``."""
    if isinstance(to, str) or not isinstance(to, Iterable):
        raise ValidationError("to", "an iterable of obligation names such as ['B', 'C']", to)
    named = set(to)
    if not named:
        raise ValidationError("to", "at least one obligation name", [])
    unknown = sorted(str(n) for n in named if n not in ssps)
    if unknown:
        raise ValidationError("to", f"names from ssps {sorted(ssps)}", unknown)
    return named


def allocate_discount(
    price: Money,
    ssps: Mapping[str, Money],
    *,
    to: Iterable[str],
    quantum: Decimal | None = None,
) -> dict[str, Money]:
    """Put the whole discount on the obligations named in ``to``; the others get their SSP.

    The discount is the sum of the SSPs less ``price``; the named
    obligations share what is left of ``price`` by relative SSP (largest
    remainder at ``quantum``, which applies to their shares only), so the
    result sums exactly to ``price``.  This is the allocation of a discount
    to one or more, but not all, obligations, ASC 606-10-32-36 to 32-38 /
    IFRS 15.81-83.  Whether the discount may be allocated that way -- each
    of the conditions of ASC 606-10-32-37 / IFRS 15.82 (the goods are
    regularly sold standalone, and as this bundle at a discount
    substantially the same as the contract's) -- is the caller's judgment:
    nothing here checks it.  Without it, use :func:`allocate_by_ssp`.

    Refused (``ValidationError``): ``price`` above the sum of the SSPs (no
    discount), or a discount larger than the named obligations' SSPs.

    ASC 606-10-55-259 to 55-264 (Example 34, Case A): products A, B and C
    with SSPs 40, 55 and 45 sold for 100; the discount of 40 goes to B and C:

    >>> usd = lambda v: Money(v, "USD")
    >>> allocate_discount(usd(100), {"A": usd(40), "B": usd(55), "C": usd(45)}, to=["B", "C"])
    {'A': Money('40.00', 'USD'), 'B': Money('33.00', 'USD'), 'C': Money('27.00', 'USD')}
    """
    price = _money("price", price)
    checked = _ssps(ssps, price.currency)
    named = _named(to, checked)
    listed = Money.total(checked.values())
    if price > listed:
        raise ValidationError("price", f"at most the sum of the SSPs ({listed})", price)
    others = {n: ssp for n, ssp in checked.items() if n not in named}
    left = price - Money.total(others.values(), currency=price.currency)
    if left.minor < 0:
        raise ValidationError(
            "to", f"obligations whose SSPs cover the discount of {listed - price}", sorted(named))
    shares = _relative_ssp(left, {n: ssp for n, ssp in checked.items() if n in named}, quantum)
    return {n: shares.get(n, ssp) for n, ssp in checked.items()}


@attrs.frozen
class CatchUp:
    """Cumulative revenue by cost-to-cost on one measurement, and the adjustment.

    ``progress`` is cost to date over estimated total (rounded to
    ``progress_places`` when asked); ``cumulative`` is ``price x progress``
    rounded by ``rounding`` at ``quantum`` (currency units) -- all of
    ``price`` at full progress; ``adjustment`` is ``cumulative - recognised``,
    the revenue (negative: the reversal) to book now.
    """

    price: Money
    progress: Fraction
    cumulative: Money
    recognised: Money
    adjustment: Money
    rounding: Rounding
    quantum: Decimal


#: The measurement date handed to :func:`recognise_cost_to_cost`: with one
#: cost report the date moves nothing but the bucket, which is not returned.
_MEASURED_ON = date(2000, 1, 1)


def catch_up(
    price: Money,
    *,
    cost_to_date: Money,
    estimated_total: Money,
    recognised: Money,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    progress_places: int | None = None,
) -> CatchUp:
    """Revenue to date by cost-to-cost, and the catch-up against what was recognised.

    Progress is remeasured at each reporting date and a change in it is a
    change in accounting estimate (ASC 606-10-25-35 / IFRS 15.44), not a
    contract modification; cost-to-cost is an input method (ASC 606-10-55-20
    / IFRS 15 B18).  The cumulative revenue is ``price x cost_to_date /
    estimated_total`` and the adjustment brings ``recognised`` up (or down)
    to it in the period of the change -- the cumulative catch-up.  ``price``
    is the transaction price now, so a change in it (ASC 606-10-32-43 /
    IFRS 15.88) is caught up the same way.  ``progress_places`` rounds
    progress first, as the published examples do; by default it is exact.

    The adjustment covers all of the period's revenue: with costs incurred
    since the last measurement it includes their progress too.  (The
    ``catch_up`` of a :func:`recognise_cost_to_cost` line separates the two.)

    ASC 606-10-55-129 to 55-133 (Example 8): price now 1,350,000 (bonus
    included), costs 420,000 of an estimated 820,000, 600,000 recognised;
    51.2% complete, so 691,200 to date and a catch-up of 91,200:

    >>> usd = lambda v: Money(v, "USD")
    >>> r = catch_up(usd(1350000), cost_to_date=usd(420000), estimated_total=usd(820000),
    ...              recognised=usd(600000), progress_places=3, quantum=Decimal(1))
    >>> r.progress, r.cumulative, r.adjustment
    (Fraction(64, 125), Money('691200.00', 'USD'), Money('91200.00', 'USD'))

    With exact progress (420/820) to the cent:

    >>> r = catch_up(usd(1350000), cost_to_date=usd(420000), estimated_total=usd(820000),
    ...              recognised=usd(600000))
    >>> r.cumulative, r.adjustment, r.rounding.name, r.quantum
    (Money('691463.41', 'USD'), Money('91463.41', 'USD'), 'HALF_UP', Decimal('0.01'))
    """
    price = _money("price", price)
    estimated_total = _money("estimated_total", estimated_total)
    cost_to_date = _money("cost_to_date", cost_to_date, estimated_total.currency)
    recognised = _money("recognised", recognised, price.currency)
    if estimated_total.minor <= 0:
        raise ValidationError("estimated_total", "greater than zero", estimated_total)
    if not 0 <= cost_to_date.minor <= estimated_total.minor:
        raise ValidationError("cost_to_date", f"between 0 and the estimated total "
                              f"{estimated_total}", cost_to_date)
    schedule = recognise_cost_to_cost(
        price, [CostReport(_MEASURED_ON, cost_to_date, estimated_total)],
        rounding=rounding, quantum=quantum, progress_places=progress_places)
    line = schedule.lines[0]
    return CatchUp(price, line.progress, line.cumulative, recognised,
                   line.cumulative - recognised, schedule.rounding, schedule.quantum)


def straight_line_monthly(
    amount: Money,
    start: date | str,
    months: int,
    *,
    granularity: Granularity = Granularity.MONTH,
    rounding: Rounding = Rounding.HALF_UP,
    quantum: Decimal | None = None,
    obligation_id: str | None = None,
) -> RecognitionSchedule:
    """``amount`` over ``months`` equal months from ``start``, cumulative rounding.

    Month ``k`` (``[add_months(start, k-1), add_months(start, k))``) is
    booked on its last day at ``round(amount x k / months) - round(amount x
    (k-1) / months)``, so each month is within one quantum of the exact
    share, none takes a plug and the last month ties to ``amount``.  Progress
    is months of service elapsed, an output method (time elapsed, ASC
    606-10-55-17 / IFRS 15 B15): the schedule is :func:`recognise_output`'s,
    one unit a month, in reporting periods of ``granularity``.

    Unlike :func:`recognise_straight_line`: ``Convention.DAILY`` (its
    default) gives each month its days, so February earns less than March;
    ``FULL_MONTH`` rounds the monthly amount once and plugs the last month;
    ``THIRTY_DAY_MONTH`` is equal only for whole calendar months.  Made for
    retainers that run whole months; from mid-month, a month's revenue is
    booked on the last day of that month of service (use
    :func:`recognise_straight_line` for daily accuracy).

    A 1,000.00 retainer for 12 months from 1 January 2025:

    >>> s = straight_line_monthly(Money("1000.00", "USD"), date(2025, 1, 1), 12)
    >>> [a for _, a in s.table()][:6], s.recognised
    (['83.33', '83.34', '83.33', '83.33', '83.34', '83.33'], Money('1000.00', 'USD'))
    """
    amount = _money("amount", amount)
    first = parse_date("start", start)
    count = check_int("months", months, at_least=1)
    if first.year * 12 + first.month - 1 + count > 9999 * 12 + 11:
        raise ValidationError("months", "a number of months that ends by the year 9999", months)
    month_ends = [(add_months(first, k) - timedelta(days=1), 1) for k in range(1, count + 1)]
    return recognise_output(amount, month_ends, granularity=granularity, rounding=rounding,
                            quantum=quantum, obligation_id=obligation_id)

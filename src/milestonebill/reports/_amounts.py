"""Equal amounts of one report held once.  Private.

A report's rows repeat a few amounts -- the zero buckets of an aging row,
the zero movements of an agreement whose MRR did not move, a retainer's
monthly price -- and :class:`~milestonebill.money.Money` is a value:
nothing tells two equal ones apart.  :class:`Amounts` gives one object per
distinct amount and currency for the length of one report, so fewer
objects outlive the young collections that run while the rows are built
(each one that does is walked again by every full collection).
"""

from __future__ import annotations

from milestonebill.money import Currency, Money

__all__ = ["Amounts"]


class Amounts:
    """``Money.from_minor`` that hands out one object per distinct value.

    >>> amounts = Amounts()
    >>> usd = Currency.of("USD")
    >>> amounts(0, usd) is amounts(0, usd), amounts(0, usd) == Money("0.00", "USD")
    (True, True)
    >>> amounts(0, Currency.of("JPY")) is amounts(0, usd)
    False
    """

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[Currency, dict[int, Money]] = {}

    def __call__(self, minor: int, currency: Currency) -> Money:
        """The amount of ``minor`` units of ``currency`` (checked as ``Money.from_minor``)."""
        known = self._by.get(currency)
        if known is None:
            known = self._by[currency] = {}
        got = known.get(minor)
        if got is None:
            got = known[minor] = Money.from_minor(minor, currency)
        return got

    def held(self, value: Money) -> Money:
        """The amount held equal to ``value``, or ``value`` itself, held from now on.

        >>> amounts = Amounts()
        >>> fee = Money("250.00", "USD")
        >>> amounts.held(fee) is fee, amounts(25000, Currency.of("USD")) is fee
        (True, True)
        """
        known = self._by.get(value.currency)
        if known is None:
            known = self._by[value.currency] = {}
        return known.setdefault(value.minor, value)

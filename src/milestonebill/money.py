"""Exact money: currencies, amounts, rounding and allocation.

A :class:`Money` holds an integer count of its currency's minor units (cents
for USD, yen for JPY, fils for KWD), so arithmetic is exact and fast.  The
minor-unit exponent of each currency comes from a pinned ISO 4217 table, not
from the CLDR data that babel uses for display (the two disagree for some
currencies; see :data:`ISO_4217_EXPONENTS`).

>>> Money("100.00", "USD") + Money("0.05", "USD")
Money('100.05', 'USD')
>>> Money(5000, "JPY").minor
5000
>>> Money("1.234", "KWD").minor
1234
>>> allocate(Money("100.00", "USD"), [1, 1, 1])
(Money('33.34', 'USD'), Money('33.33', 'USD'), Money('33.33', 'USD'))

Floats never become money:

>>> Money(0.1, "USD")
Traceback (most recent call last):
...
TypeError: 'amount' must be str, int or Decimal, never float (got 0.1)

Amounts are written one way -- ASCII digits, an optional leading ``-``, an
optional point with digits after it -- and are bounded (see
:mod:`milestonebill.limits`):

>>> Money("1e2", "USD")
Traceback (most recent call last):
...
milestonebill.errors.InvalidAmountError: 'amount' must be a number such as '-1234.50' (ASCII digits, optional leading '-' and '.') (got '1e2')
>>> Money("10000000000000000.00", "USD")
Traceback (most recent call last):
...
milestonebill.errors.InvalidAmountError: 'amount' must be at most 18 digits in minor units, from -9999999999999999.99 to 9999999999999999.99 USD (got '10000000000000000.00')

Amounts finer than the minor unit are refused unless a rounding is named:

>>> Money("1.005", "USD")
Traceback (most recent call last):
...
milestonebill.errors.InvalidAmountError: 'amount' must be exact to 2 decimal places for USD (got Decimal('1.005'))
>>> Money("1.005", "USD", rounding=Rounding.HALF_UP)
Money('1.01', 'USD')
"""

from __future__ import annotations

import copy
import decimal
import enum
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import total_ordering
from math import lcm
from typing import Final, SupportsIndex, TypeAlias

import attrs

from milestonebill._trusted import constructor
from milestonebill._validate import check_decimal_size, decimal_from_text
from milestonebill.errors import CurrencyMismatchError, InvalidAmountError, ValidationError
from milestonebill.limits import MAX_AMOUNT_DIGITS, MAX_AMOUNT_MINOR, MAX_DECIMAL_PLACES

__all__ = [
    "ISO_4217_EXPONENTS",
    "Currency",
    "Money",
    "Ratio",
    "Rounding",
    "Weight",
    "allocate",
    "allocate_evenly",
    "allocate_many",
    "allocate_minor",
    "allocate_rows",
    "as_fraction",
    "format_money",
    "round_ratio",
]

#: Minor-unit exponents of the active ISO 4217 currency codes (list as
#: published by the ISO 4217 maintenance agency, 2025 edition).  Codes not in
#: ISO 4217 (for example funds or precious metals with no minor unit) are not
#: accepted.  This table, not CLDR, decides how many decimals a ``Money`` has.
ISO_4217_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
        ).split(),
        0,
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
    **dict.fromkeys(
        (
            "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL "
            "BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP "
            "DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR "
            "ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
            "MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
            "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP "
            "STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES "
            "WST XCD XCG YER ZAR ZMW ZWG"
        ).split(),
        2,
    ),
}


class Rounding(enum.Enum):
    """How to round to a quantum; each member names its ``decimal`` mode.

    ``UP`` and ``DOWN`` mean away from and toward zero, as in ``decimal``;
    ``CEILING`` and ``FLOOR`` go toward +inf and -inf.
    """

    HALF_UP = decimal.ROUND_HALF_UP
    HALF_EVEN = decimal.ROUND_HALF_EVEN
    HALF_DOWN = decimal.ROUND_HALF_DOWN
    UP = decimal.ROUND_UP
    DOWN = decimal.ROUND_DOWN
    CEILING = decimal.ROUND_CEILING
    FLOOR = decimal.ROUND_FLOOR


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """Round the exact rational ``numerator / denominator`` to an integer.

    Pure integer arithmetic, so it is exact for any size.

    >>> round_ratio(5, 2, Rounding.HALF_EVEN), round_ratio(-5, 2, Rounding.HALF_UP)
    (2, -3)
    >>> round_ratio(7, 3, Rounding.CEILING), round_ratio(-7, 3, Rounding.DOWN)
    (3, -2)
    """
    if denominator == 0:
        raise ZeroDivisionError("round_ratio: denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(numerator, denominator)  # floor division, 0 <= r < denominator
    if r == 0:
        return q
    if rounding is Rounding.FLOOR:
        return q
    if rounding is Rounding.CEILING:
        return q + 1
    if rounding is Rounding.DOWN:
        return q if numerator >= 0 else q + 1
    if rounding is Rounding.UP:
        return q + 1 if numerator >= 0 else q
    twice = 2 * r
    if twice < denominator:
        return q
    if twice > denominator:
        return q + 1
    if rounding is Rounding.HALF_UP:
        return q + 1 if numerator > 0 else q
    if rounding is Rounding.HALF_DOWN:
        return q if numerator > 0 else q + 1
    return q if q % 2 == 0 else q + 1


@attrs.frozen(repr=False)
class Currency:
    """An ISO 4217 currency and the exponent of its minor unit.

    >>> Currency.of("KWD")
    Currency('KWD', exponent=3)
    >>> Currency.of("eur").code
    'EUR'
    """

    code: str
    exponent: int

    @classmethod
    def of(cls, code: str | Currency) -> Currency:
        """The currency with this ISO 4217 code (case-insensitive).

        Raises :class:`~milestonebill.errors.ValidationError` naming ``currency`` for a code that
        is not in the pinned ISO 4217 table, or for something that is not text.
        """
        if isinstance(code, Currency):
            return code
        if not isinstance(code, str):
            raise ValidationError("currency", "an ISO 4217 code such as 'USD'", code)
        found = _CURRENCIES.get(code.upper())
        if found is None:
            raise ValidationError("currency", "an ISO 4217 code such as 'USD'", code)
        return found

    @property
    def quantum(self) -> Decimal:
        """The minor unit as a ``Decimal``: ``Decimal('0.01')`` for USD."""
        return Decimal(1).scaleb(-self.exponent)

    def __repr__(self) -> str:
        return f"Currency({self.code!r}, exponent={self.exponent})"

    def __str__(self) -> str:
        return self.code


_CURRENCIES: Final[dict[str, Currency]] = {
    code: Currency(code, exp) for code, exp in ISO_4217_EXPONENTS.items()
}

#: What a ratio may be: exact numbers only.
Ratio: TypeAlias = int | Decimal | Fraction | str
#: What an allocation weight may be.
Weight: TypeAlias = int | Decimal | Fraction


def as_fraction(value: Ratio, field: str = "ratio") -> Fraction:
    """Convert an exact number to a ``Fraction``; floats raise ``TypeError``.

    Text is a decimal (``'0.25'``) or a fraction (``'1/3'``) of at most 18 digits each.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``field`` for other text or a zero
    denominator.

    >>> as_fraction("0.25"), as_fraction(Decimal("1.5")), as_fraction(3)
    (Fraction(1, 4), Fraction(3, 2), Fraction(3, 1))
    """
    if isinstance(value, bool | float):
        raise TypeError(f"{field!r} must be int, Decimal, Fraction or str, never "
                        f"{type(value).__name__} (got {value!r})")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        return Fraction(check_decimal_size(field, value))
    if isinstance(value, str):
        numerator, slash, denominator = value.partition("/")
        if not slash:
            return Fraction(check_decimal_size(field, decimal_from_text(field, value)))
        if _WHOLE.fullmatch(numerator) is None or _WHOLE.fullmatch(denominator) is None \
                or len(value) > 2 * MAX_AMOUNT_DIGITS + 2 or int(denominator) == 0:
            raise ValidationError(field, "a decimal such as '0.25' or a fraction such as '1/3' "
                                  "of at most 18 digits each (denominator not 0)", value)
        return Fraction(int(numerator), int(denominator))
    raise TypeError(f"{field!r} must be int, Decimal, Fraction or str "
                    f"(got {type(value).__name__}: {value!r})")


_WHOLE: Final = re.compile(r"-?[0-9]{1,18}")
#: Wide enough for every allowed amount, and loud if one were not: the
#: thread's default context (28 digits, whatever a caller set) never
#: decides how an amount is written.
_AMOUNT_CONTEXT: Final = decimal.Context(
    prec=MAX_AMOUNT_DIGITS, rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Rounded, decimal.Overflow,
           decimal.DivisionByZero],
)


def _bound_text(currency: Currency) -> str:
    top = Decimal(MAX_AMOUNT_MINOR).scaleb(-currency.exponent, _AMOUNT_CONTEXT)
    return (f"at most {MAX_AMOUNT_DIGITS} digits in minor units, from -{top} to {top} "
            f"{currency.code}")


def _check_minor(minor: int, currency: Currency, got: object, field: str = "amount") -> int:
    if -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
        return minor
    raise InvalidAmountError(field, _bound_text(currency), got)


def _to_decimal(amount: object, field: str) -> Decimal:
    if isinstance(amount, float):
        raise TypeError(f"{field!r} must be str, int or Decimal, never float (got {amount!r})")
    if isinstance(amount, bool):
        raise TypeError(f"{field!r} must be str, int or Decimal, never bool (got {amount!r})")
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise InvalidAmountError(field, "a finite number", amount)
        return amount
    if isinstance(amount, int):
        return Decimal(amount)
    if isinstance(amount, str):
        return decimal_from_text(field, amount, InvalidAmountError)
    raise TypeError(
        f"{field!r} must be str, int or Decimal (got {type(amount).__name__}: {amount!r})"
    )


def _minor_from_decimal(
    d: Decimal, currency: Currency, rounding: Rounding | None, field: str, got: object
) -> int:
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    if -exp > MAX_DECIMAL_PLACES:
        raise InvalidAmountError(field, f"a number with at most {MAX_DECIMAL_PLACES} decimal "
                                 "places", got)
    if d and d.adjusted() + currency.exponent >= MAX_AMOUNT_DIGITS:
        # Refused from the exponent alone, before 10**exp is ever computed.
        raise InvalidAmountError(field, _bound_text(currency), got)
    coefficient = int("".join(map(str, digits))) if digits else 0
    if coefficient == 0:
        return 0  # whatever its exponent: Decimal('0E+999999999') is zero
    shift = exp + currency.exponent
    if shift >= 0:
        value: int = coefficient * 10**shift
    else:
        den = 10**-shift
        if coefficient % den and rounding is None:
            raise InvalidAmountError(
                field,
                f"exact to {currency.exponent} decimal places for {currency.code}",
                d,
            )
        signed = -coefficient if sign else coefficient
        return _check_minor(round_ratio(signed, den, rounding or Rounding.HALF_EVEN), currency,
                            got, field)
    return _check_minor(-value if sign else value, currency, got, field)


@total_ordering
@attrs.frozen(init=False, repr=False, eq=True, order=False)
class Money:
    """An exact amount of one currency, held as integer minor units.

    Construct from a ``str``, ``int`` (whole units) or ``Decimal``; use
    :meth:`from_minor` for integer minor units.  ``rounding`` is only
    consulted when the amount is finer than the minor unit.  Text follows
    one grammar (ASCII digits, an optional leading ``-``, an optional
    ``.`` with digits); every amount, whether given or computed, is at most
    :data:`~milestonebill.limits.MAX_AMOUNT_DIGITS` digits in minor units,
    so it is stored and read back unchanged.

    Raises :class:`~milestonebill.errors.InvalidAmountError` (a
    :class:`~milestonebill.errors.ValidationError`) naming ``amount`` for
    text outside the grammar, an amount past the bound, or one finer than
    the minor unit without a ``rounding``; ``TypeError`` for a float.
    Mixing currencies in arithmetic raises
    :class:`~milestonebill.errors.CurrencyMismatchError`.

    >>> Money("19.99", "EUR").amount
    Decimal('19.99')
    >>> Money.from_minor(1999, "EUR")
    Money('19.99', 'EUR')
    >>> Money("10", "USD") - Money("12.50", "USD")
    Money('-2.50', 'USD')
    >>> Money("1", "USD") + Money("1", "EUR")
    Traceback (most recent call last):
    ...
    milestonebill.errors.CurrencyMismatchError: cannot add USD with EUR: currencies differ
    """

    minor: int
    currency: Currency

    def __init__(
        self,
        amount: str | int | Decimal,
        currency: str | Currency,
        *,
        rounding: Rounding | None = None,
    ) -> None:
        cur = Currency.of(currency)
        if type(amount) is int:
            if abs(amount) > MAX_AMOUNT_MINOR:
                raise InvalidAmountError("amount", _bound_text(cur), amount)
            minor = _check_minor(amount * 10**cur.exponent, cur, amount)
        else:
            minor = _minor_from_decimal(_to_decimal(amount, "amount"), cur, rounding, "amount",
                                        amount)
        object.__setattr__(self, "minor", minor)
        object.__setattr__(self, "currency", cur)

    @classmethod
    def from_minor(cls, minor: int, currency: str | Currency) -> Money:
        """An amount given in integer minor units (cents, yen, fils).

        Raises :class:`~milestonebill.errors.InvalidAmountError` naming
        ``minor`` past the 18-digit bound; ``TypeError`` for a non-int.
        """
        if type(minor) is int and type(currency) is Currency \
                and -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
            return _make_unchecked(minor, currency)  # the usual case, checked in one go
        if type(minor) is not int:
            if isinstance(minor, float | bool):
                raise TypeError(
                    f"'minor' must be int, never {type(minor).__name__} (got {minor!r})"
                )
            if not isinstance(minor, int):
                raise TypeError(f"'minor' must be int (got {type(minor).__name__}: {minor!r})")
            minor = int(minor)
        cur = Currency.of(currency)
        return _make(_check_minor(minor, cur, minor, "minor"), cur)

    @classmethod
    def zero(cls, currency: str | Currency) -> Money:
        """Zero in ``currency``."""
        return _make(0, Currency.of(currency))

    @classmethod
    def total(cls, items: Iterable[Money], *, currency: str | Currency | None = None) -> Money:
        """Sum of ``items``; ``currency`` is required when ``items`` may be empty.

        Raises :class:`~milestonebill.errors.CurrencyMismatchError` when the items are in more than
        one currency (or not in ``currency``), and :class:`~milestonebill.errors.ValidationError`
        naming ``currency`` when there are no items and no ``currency``.

        >>> Money.total([], currency="JPY")
        Money('0', 'JPY')
        >>> Money.total([Money("1.10", "USD"), Money("2.20", "USD")])
        Money('3.30', 'USD')
        """
        cur = Currency.of(currency) if currency is not None else None
        acc = 0
        for m in items:
            if not isinstance(m, Money):
                raise TypeError(f"Money.total: items must be Money (got {m!r})")
            if cur is None:
                cur = m.currency
            elif m.currency is not cur and m.currency != cur:
                raise CurrencyMismatchError(cur.code, m.currency.code, "add")
            acc += m.minor
        if cur is None:
            raise ValidationError(
                "currency", "given when the items may be empty", None
            )
        return _make(acc, cur)

    @property
    def amount(self) -> Decimal:
        """The amount as a ``Decimal`` with exactly the currency's decimals.

        Exact whatever the thread's decimal context says:

        >>> import decimal
        >>> with decimal.localcontext(prec=3):
        ...     Money("1234567890123456.78", "MXN").amount
        Decimal('1234567890123456.78')
        """
        return Decimal(self.minor).scaleb(-self.currency.exponent, _AMOUNT_CONTEXT)

    def _check(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(
                f"cannot {operation} Money and {type(other).__name__}: use Money on both sides"
            )
        if other.currency is not self.currency and other.currency != self.currency:
            raise CurrencyMismatchError(self.currency.code, other.currency.code, operation)
        return other

    def __add__(self, other: Money) -> Money:
        return _make(self.minor + self._check(other, "add").minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return _make(self.minor - self._check(other, "subtract").minor, self.currency)

    def __neg__(self) -> Money:
        return _make(-self.minor, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return _make(abs(self.minor), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other, "compare").minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.minor == 0

    def scale(self, ratio: Ratio, *, rounding: Rounding) -> Money:
        """Multiply by an exact ratio and round once, to the minor unit.

        ``ratio`` is exact (int, ``Decimal``, ``Fraction`` or text, see
        :func:`as_fraction`); the result is a :class:`Money` in the same
        currency.

        >>> Money("100.00", "USD").scale("0.0725", rounding=Rounding.HALF_UP)
        Money('7.25', 'USD')
        >>> Money("100.00", "USD").scale(Fraction(1, 3), rounding=Rounding.HALF_EVEN)
        Money('33.33', 'USD')
        """
        f = as_fraction(ratio)
        return _make(round_ratio(self.minor * f.numerator, f.denominator, rounding), self.currency)

    def with_currency_check(self, currency: str | Currency) -> Money:
        """Return self, raising :class:`~milestonebill.errors.CurrencyMismatchError` if not in
        ``currency``."""
        cur = Currency.of(currency)
        if self.currency != cur:
            raise CurrencyMismatchError(self.currency.code, cur.code, "use")
        return self

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency.code}')"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency.code}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def to_json(self) -> dict[str, str]:
        """Canonical JSON form: the amount as a string, never a number.

        >>> Money("12.30", "USD").to_json()
        {'amount': '12.30', 'currency': 'USD'}
        """
        return {"amount": str(self.amount), "currency": self.currency.code}

    @classmethod
    def from_json(cls, data: object, field: str = "money") -> Money:
        """Parse the form made by :meth:`to_json`; numbers in JSON must be strings.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``field``
        (or ``field.amount``, ``field.currency``) for a shape, amount or
        currency it cannot read.

        >>> Money.from_json({"amount": "1.005", "currency": "USD"}, "fee")
        Traceback (most recent call last):
        ...
        milestonebill.errors.InvalidAmountError: 'fee.amount' must be exact to 2 decimal places for USD (got Decimal('1.005'))
        """
        if not isinstance(data, dict) or set(data) != {"amount", "currency"}:
            raise ValidationError(field, "an object with 'amount' and 'currency'", data)
        amount = data["amount"]
        if not isinstance(amount, str):
            raise ValidationError(f"{field}.amount", "a decimal string such as '12.30'", amount)
        try:
            currency = Currency.of(data["currency"])
        except ValidationError as exc:
            raise ValidationError(f"{field}.currency", exc.expected, exc.value) from None
        try:
            return cls(amount, currency)
        except InvalidAmountError as exc:
            raise InvalidAmountError(f"{field}.amount", exc.expected, exc.value) from None


def _make(minor: int, currency: Currency) -> Money:
    # Every Money, computed ones included, stays within the bound: a sum or
    # an escalation that would leave it fails here, by name, instead of in a
    # store's 64-bit column or as an event that no longer reads back.
    if not -MAX_AMOUNT_MINOR <= minor <= MAX_AMOUNT_MINOR:
        raise InvalidAmountError("amount", _bound_text(currency),
                                 f"{minor} minor units" if minor.bit_length() < 600 else minor)
    return _make_unchecked(minor, currency)


#: ``Money`` from an int already within the bound and a ``Currency``: no checks.
_make_unchecked: Callable[[int, Currency], Money] = constructor(Money)


# ---------------------------------------------------------------- allocation


def _integer_weights(weights: Sequence[Weight]) -> list[int]:
    """Scale exact weights to integers with the same ratios."""
    if all(type(w) is int for w in weights):
        ints = [int(w) for w in weights]
    else:
        fracs = [as_fraction(w, f"weights[{i}]") for i, w in enumerate(weights)]
        den = lcm(*(f.denominator for f in fracs)) if fracs else 1
        ints = [f.numerator * (den // f.denominator) for f in fracs]
    for i, w in enumerate(ints):
        if w < 0:
            raise ValidationError(f"weights[{i}]", "zero or more", weights[i])
    if not ints:
        raise ValidationError("weights", "at least one weight", list(weights))
    if sum(ints) == 0:
        raise ValidationError("weights", "a positive sum", list(weights))
    return ints


def _split(total: int, ints: Sequence[int], wsum: int) -> list[int]:
    negative = total < 0
    t = -total if negative else total
    parts: list[int] = []
    rems: list[int] = []
    for w in ints:
        q, r = divmod(t * w, wsum)
        parts.append(q)
        rems.append(r)
    left = t - sum(parts)
    if left:
        # Stable sort: equal remainders keep index order, so ties go to the lowest index.
        for i in sorted(range(len(ints)), key=rems.__getitem__, reverse=True)[:left]:
            parts[i] += 1
    # sorted(reverse=True) keeps stability for equal keys, as Python documents.
    if negative:
        return [-p for p in parts]
    return parts


def _split_evenly(total: int, n: int) -> list[int]:
    negative = total < 0
    q, r = divmod(-total if negative else total, n)
    if negative:
        return [-q - 1] * r + [-q] * (n - r)
    return [q + 1] * r + [q] * (n - r)


def allocate_minor(total: SupportsIndex, weights: Sequence[Weight]) -> list[int]:
    """Split an integer ``total`` by ``weights`` with the largest-remainder method.

    ``total`` and the parts are integer minor units; ``weights`` are exact
    non-negative numbers with a positive sum (else
    :class:`~milestonebill.errors.ValidationError` naming ``weights``).

    Each part is ``floor(total * w / sum(w))``; the units left over go one
    each to the parts with the largest remainders, ties to the lowest index.
    A negative total is split as its absolute value and negated, so
    ``allocate(-x) == -allocate(x)``.  Parts always sum to ``total`` and each
    is within one unit of its exact share.

    >>> allocate_minor(10000, [1, 1, 1])
    [3334, 3333, 3333]
    >>> allocate_minor(-10000, [1, 1, 1])
    [-3334, -3333, -3333]
    >>> allocate_minor(100, [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")])
    [33, 33, 34]
    """
    ints = _integer_weights(weights)
    first = ints[0]
    if all(w == first for w in ints):
        # Equal weights (all positive, as the sum is): every remainder ties, so
        # the closed form gives the leftover units to the lowest indexes.
        return _split_evenly(int(total), len(ints))
    return _split(int(total), ints, sum(ints))


def allocate(total: Money, weights: Sequence[Weight]) -> tuple[Money, ...]:
    """Split ``total`` by ``weights`` exactly; see :func:`allocate_minor`.

    >>> allocate(Money("1000.00", "USD"), [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")])
    (Money('333.30', 'USD'), Money('333.30', 'USD'), Money('333.40', 'USD'))
    >>> allocate(Money("5", "JPY"), [1, 1])
    (Money('3', 'JPY'), Money('2', 'JPY'))
    """
    cur = total.currency
    # Parts repeat (an even split has at most two values), and Money is
    # immutable, so one instance per distinct value serves every part.
    made: dict[int, Money] = {}
    out: list[Money] = []
    for p in allocate_minor(total.minor, weights):
        m = made.get(p)
        if m is None:
            m = made[p] = _make(p, cur)
        out.append(m)
    return tuple(out)


def allocate_evenly(total: Money, n: int) -> tuple[Money, ...]:
    """Split ``total`` into ``n`` parts that differ by at most one minor unit.

    The parts are :class:`Money` in ``total``'s currency, larger ones first.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``n`` unless it is a whole number of
    parts, 1 or more.

    >>> allocate_evenly(Money("0.100", "KWD"), 3)
    (Money('0.034', 'KWD'), Money('0.033', 'KWD'), Money('0.033', 'KWD'))
    """
    if type(n) is not int or n < 1:
        raise ValidationError("n", "a whole number of parts, 1 or more", n)
    q, r = divmod(abs(total.minor), n)
    sign = -1 if total.minor < 0 else 1
    cur = total.currency
    return tuple(_make(sign * (q + 1 if i < r else q), cur) for i in range(n))


def allocate_many(totals: Iterable[int], weights: Sequence[Weight]) -> list[list[int]]:
    """Bulk path: split many integer totals by the same weights.

    Works in integer minor units and builds no object per step, so it is
    the path for notebooks and the billing run.  Results equal
    ``[allocate_minor(t, weights) for t in totals]``.

    >>> allocate_many([100, 101, -7], [1, 1, 1])
    [[34, 33, 33], [34, 34, 33], [-3, -2, -2]]
    """
    ints = _integer_weights(weights)
    wsum = sum(ints)
    n = len(ints)
    if all(w == ints[0] for w in ints):
        out: list[list[int]] = []
        append = out.append
        # _split_evenly inlined: this loop is the bulk hot path.
        for total in totals:
            if total < 0:
                q, r = divmod(-total, n)
                append([-q - 1] * r + [-q] * (n - r))
            else:
                q, r = divmod(total, n)
                append([q + 1] * r + [q] * (n - r))
        return out
    return [_split(t, ints, wsum) for t in totals]


def allocate_rows(
    totals: Sequence[int], weight_rows: Sequence[Sequence[Weight]]
) -> list[list[int]]:
    """Bulk path with a weight list per total (``len(totals) == len(weight_rows)``).

    Totals and parts are integer minor units.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``weight_rows`` when the counts differ,
    or ``weights`` for a row whose sum is not positive.

    >>> allocate_rows([100, 10], [[1, 3], [1, 1, 1]])
    [[25, 75], [4, 3, 3]]
    """
    if len(totals) != len(weight_rows):
        raise ValidationError(
            "weight_rows", f"one row per total ({len(totals)})", f"{len(weight_rows)} rows"
        )
    out: list[list[int]] = []
    for total, row in zip(totals, weight_rows, strict=True):
        if all(type(w) is int and w >= 0 for w in row):
            ints = [int(w) for w in row]
            wsum = sum(ints)
            if wsum == 0:
                raise ValidationError("weights", "a positive sum", list(row))
        else:
            ints = _integer_weights(row)
            wsum = sum(ints)
        out.append(_split(total, ints, wsum))
    return out


# ---------------------------------------------------------------- formatting


def format_money(money: Money, locale: str = "en_US") -> str:
    """Format for display with babel, always showing the ISO 4217 decimals.

    Display only: CLDR's own digit counts (which differ from ISO 4217 for
    some currencies) are overridden so no minor units are hidden.

    Symbols and grouping come from the locale data and may change with it;
    the digits are this function's own:

    >>> "1.234,50" in format_money(Money("1234.5", "EUR"), locale="de_DE")
    True
    >>> format_money(Money("1.250", "IQD")).endswith("1.250")
    True
    >>> "1,234" in format_money(Money("1234", "JPY"), locale="ja_JP")
    True
    """
    from babel import Locale
    from babel.numbers import parse_pattern

    loc = Locale.parse(locale)
    pattern = copy.copy(parse_pattern(loc.currency_formats["standard"]))
    exp = money.currency.exponent
    pattern.frac_prec = (exp, exp)
    return str(pattern.apply(money.amount, loc, currency=money.currency.code, currency_digits=False))

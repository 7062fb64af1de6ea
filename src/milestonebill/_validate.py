"""The input checks every module shares: one rule each, one message each.

Private: the public modules call these and re-raise nothing; each check
raises :class:`~milestonebill.errors.ValidationError` naming the field, what
would have been accepted and what was given.

>>> check_id("invoice_id", " INV-1")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'invoice_id' must be a non-empty string without surrounding spaces (got ' INV-1')
>>> parse_date("as_of", "2024-02-29"), check_int("count", 3, at_least=1)
(datetime.date(2024, 2, 29), 3)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from milestonebill.errors import InvalidInputError, ValidationError

__all__ = [
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "check_date",
    "check_id",
    "check_int",
    "check_magnitude",
    "check_optional_date",
    "check_seconds",
    "collect_problems",
    "exact_decimal",
    "parse_date",
    "raise_all",
    "utc_datetime",
]


def check_id(field: str, value: object) -> str:
    """An identifier: a non-empty string with no leading or trailing white space.

    The same rule everywhere an id enters the library (stores, gateways, the
    Biller), so an id a store accepts is one an idempotency key can be made of.
    """
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(field, "a non-empty string without surrounding spaces", value)
    return value


def check_date(field: str, value: object) -> date:
    """A calendar ``date``; a ``datetime`` (which is also a date) is refused."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "a date (not a datetime)", value)
    return value


def check_optional_date(field: str, value: object) -> date | None:
    """``None`` or a :func:`check_date` date."""
    return None if value is None else check_date(field, value)


def parse_date(field: str, value: object) -> date:
    """A :func:`check_date` date, or ISO ``YYYY-MM-DD`` text (for notebooks and files)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, "an ISO date such as '2024-01-31'", value) from None
    return check_date(field, value)


def utc_datetime(value: object, field: str = "effective_at") -> datetime:
    """``value`` as an aware datetime in UTC; naive datetimes are refused."""
    if not isinstance(value, datetime):
        raise ValidationError(field, "a timezone-aware datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "a timezone-aware datetime (naive refused)", value)
    return value.astimezone(UTC)


def check_int(field: str, value: object, *, at_least: int) -> int:
    """A whole number (``bool`` refused) of at least ``at_least``."""
    if type(value) is not int or value < at_least:
        raise ValidationError(field, f"a whole number, {at_least} or more", value)
    return value


def check_seconds(field: str, value: object, *, allow_zero: bool) -> float:
    """A duration in seconds (int or float, ``bool`` refused): > 0, or >= 0 if ``allow_zero``."""
    if not isinstance(value, bool) and isinstance(value, int | float) \
            and (value > 0 or (allow_zero and value == 0)):
        return value
    want = "0 or more" if allow_zero else "greater than zero"
    raise ValidationError(field, f"a number of seconds, {want}", value)


def collect_problems(checks: Iterable[Callable[[], object]]) -> list[ValidationError]:
    """Run every check and return what each raised, so all can be reported at once.

    >>> from functools import partial
    >>> [p.field for p in collect_problems([partial(check_id, "a", ""),
    ...                                     partial(check_id, "b", "ok"),
    ...                                     partial(check_int, "c", 0, at_least=1)])]
    ['a', 'c']
    """
    found = []
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            found.append(exc)
    return found


def raise_all(problems: Sequence[ValidationError]) -> None:
    """Raise the one problem, or all of them as :class:`InvalidInputError`; nothing if none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidInputError(problems)


#: The most digits a number may have before and after its decimal point: far
#: beyond any real amount, hour count or percentage (and within the 28
#: significant digits ``Decimal`` keeps by default).  The limits keep a typo
#: such as ``1e999999999`` from building a number of a billion digits.
MAX_INTEGER_DIGITS: Final = 24
MAX_FRACTION_DIGITS: Final = 60


def check_magnitude(d: Decimal, field: str,
                    error: type[ValidationError] = ValidationError) -> Decimal:
    """``d`` when it has at most :data:`MAX_INTEGER_DIGITS` digits before its
    decimal point and :data:`MAX_FRACTION_DIGITS` after it; else ``error``.

    >>> check_magnitude(Decimal("1e24"), "hours")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'hours' must be a number with at most 24 digits before the decimal point (got Decimal('1E+24'))
    """
    exp = d.as_tuple().exponent
    if isinstance(exp, int):  # finite
        if d.adjusted() >= MAX_INTEGER_DIGITS:
            raise error(field, f"a number with at most {MAX_INTEGER_DIGITS} digits before the "
                        "decimal point", d)
        if exp < -MAX_FRACTION_DIGITS:
            raise error(field, f"a number with at most {MAX_FRACTION_DIGITS} digits after the "
                        "decimal point", d)
    return d


def exact_decimal(value: object, field: str) -> Decimal:
    """An exact, finite ``Decimal`` from ``Decimal``, ``int`` or ``str``.

    A float (already inexact) or a bool raises ``TypeError``; text that is
    not a number, and infinities or NaN, raise :class:`ValidationError`.
    """
    if isinstance(value, float):
        raise TypeError(f"{field!r} must be Decimal, int or str, never float (got {value!r})")
    if isinstance(value, bool):
        raise TypeError(f"{field!r} must be Decimal, int or str, never bool (got {value!r})")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except ArithmeticError:
            raise ValidationError(field, "a decimal number such as '3.5'", value) from None
    else:
        raise TypeError(f"{field!r} must be Decimal, int or str (got {type(value).__name__}: "
                        f"{value!r})")
    if not d.is_finite():
        raise ValidationError(field, "a finite number", value)
    return check_magnitude(d, field)

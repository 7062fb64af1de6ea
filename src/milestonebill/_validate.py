"""The input checks every module shares: one rule each, one message each.

Private: the public modules call these and re-raise nothing; each check
raises :class:`~milestonebill.errors.ValidationError` naming the field, what
would have been accepted and what was given.  The bounds they enforce are
named in :mod:`milestonebill.limits`.

>>> check_id("invoice_id", " INV-1")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'invoice_id' must be a non-empty string without surrounding spaces (got ' INV-1')
>>> parse_date("as_of", "2024-02-29"), check_int("count", 3, at_least=1)
(datetime.date(2024, 2, 29), 3)
>>> check_text("evidence", "card 4242-4242-4242-4242 used")
Traceback (most recent call last):
...
milestonebill.errors.CardNumberError: 'evidence' must be text without a payment card number (got 'card [card number ending 4242] used')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from milestonebill.errors import (
    CardNumberError,
    InvalidInputError,
    ValidationError,
)
from milestonebill.limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_DECIMAL_DIGITS,
    MAX_DECIMAL_PLACES,
    MAX_ID_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_TEXT_LENGTH,
)

__all__ = [
    "NUMBER_GRAMMAR",
    "card_number_spans",
    "check_billing_date",
    "check_date",
    "check_decimal_size",
    "check_id",
    "check_int",
    "check_optional_date",
    "check_seconds",
    "check_text",
    "collect_problems",
    "decimal_from_text",
    "exact_decimal",
    "parse_date",
    "problem",
    "raise_all",
    "redact_card_numbers",
    "utc_datetime",
]


#: Unicode categories an id may not hold: control characters, surrogates,
#: line and paragraph separators, spaces (U+0020 itself is allowed inside).
_NOT_IN_IDS = frozenset({"Cc", "Cs", "Zl", "Zp", "Zs"})


def check_id(field: str, value: object, *, max_length: int = MAX_ID_LENGTH) -> str:
    """An identifier: a non-empty string with no leading or trailing white space,
    of printable characters only, at most ``max_length`` long.

    The same rule everywhere an id enters the library (stores, gateways, the
    Biller), so an id a store accepts is one an idempotency key can be made of
    and one every store can write: control characters (NUL included), lone
    surrogates (which no UTF-8 column takes), line breaks and spaces other
    than U+0020 are refused.

    >>> check_id("agreement_id", "agr-" + chr(0xD800))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'agreement_id' must be an id without control characters, lone surrogates, line breaks or spaces other than ' ' (got 'agr-\\ud800')
    """
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(field, "a non-empty string without surrounding spaces", value)
    if len(value) > max_length:
        raise ValidationError(field, f"an id of at most {max_length} characters", value)
    if not value.isprintable() and (value.isascii() or any(
            ch != " " and unicodedata.category(ch) in _NOT_IN_IDS for ch in value)):
        raise ValidationError(field, "an id without control characters, lone surrogates, line "
                              "breaks or spaces other than ' '", value)
    return value


def check_text(field: str, value: object, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text that is stored: a string of at most ``max_length`` characters that
    every store can write (no NUL, no lone surrogate) and that holds no payment
    card number (see :func:`card_number_spans`).

    The card number is never echoed: the error shows the text with each
    number cut to its last four digits.
    """
    if not isinstance(value, str):
        raise ValidationError(field, "a string", value)
    # Cards first: no other error may echo one.
    if any(True for _ in card_number_spans(value)):
        raise CardNumberError(field, redact_card_numbers(value))
    if len(value) > max_length:
        raise ValidationError(field, f"text of at most {max_length} characters", value)
    if "\x00" in value:
        raise ValidationError(field, "text without NUL characters", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "text that can be written as UTF-8 (no lone surrogates)",
                              value) from None
    return value


# ---------------------------------------------------------------- card numbers

# What may stand between the digit groups of a written card number: any
# Unicode space (no-break ones included), dashes and minus signs, dots,
# underscores, slashes and the invisible characters that paste along.
_SEPARATOR = (
    r"\s"
    "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
    "._/\\\\\u00b7\u2027\u30fb\uff0e\uff0f\uff3f"
    "\u00ad\u180e\u200b-\u200d\u2060\ufeff"
)
_DIGIT_RUN = re.compile(f"\\d(?:[{_SEPARATOR}]{{0,3}}\\d)*")
_DIGITS = re.compile(r"\d+")


def _ascii_digits(group: str) -> str:
    return group if group.isascii() else "".join(str(int(ch)) for ch in group)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_number_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Where ``text`` holds a payment card number: ``(start, end, digits)`` each.

    A card number is 13 to 19 digits (any script's decimal digits) in whole
    groups, each group separated from the next by up to three separator
    characters (spaces of any kind, dashes, dots, underscores, slashes,
    invisible characters) or by nothing, that does not start with 0 and
    passes the Luhn check.  Invoice and phone numbers almost always fail it.

    >>> [d for _, _, d in card_number_spans("ref 2024 / 4242.4242.4242.4242, INV-1001")]
    ['4242424242424242']
    >>> list(card_number_spans("call +1 415 555 0100, order 1234567890123"))
    []
    """
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start(), m.end(), _ascii_digits(m.group()))
                  for m in _DIGITS.finditer(text, run.start(), run.end())]
        i = 0
        while i < len(groups):
            digits, best = "", None
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and digits[0] != "0" and _luhn(digits):
                    best = (j, digits)
            if best is None:
                i += 1
                continue
            j, digits = best
            yield groups[i][0], groups[j][1], digits
            i = j + 1


def redact_card_numbers(text: str) -> str:
    """``text`` with each card number replaced by ``[card number ending NNNN]``.

    >>> redact_card_numbers("paid by 4111\u00a01111\u00a01111\u00a01111 on Monday")
    'paid by [card number ending 1111] on Monday'
    """
    out, last = [], 0
    for start, end, digits in card_number_spans(text):
        out += [text[last:start], f"[card number ending {digits[-4:]}]"]
        last = end
    return "".join(out) + text[last:]


# ---------------------------------------------------------------- dates and numbers


def check_date(field: str, value: object) -> date:
    """A calendar ``date``; a ``datetime`` (which is also a date) is refused."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "a date (not a datetime)", value)
    return value


def check_optional_date(field: str, value: object) -> date | None:
    """``None`` or a :func:`check_date` date."""
    return None if value is None else check_date(field, value)


def check_billing_date(field: str, value: object) -> date:
    """A :func:`check_date` date from :data:`~milestonebill.limits.EARLIEST_DATE` to
    :data:`~milestonebill.limits.LATEST_DATE`: a date billing may compute from."""
    d = check_date(field, value)
    if not EARLIEST_DATE <= d <= LATEST_DATE:
        raise ValidationError(field, f"a date from {EARLIEST_DATE} to {LATEST_DATE}", d)
    return d


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
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(field, "a datetime whose UTC time is within years 1..9999",
                              value) from None


def check_int(field: str, value: object, *, at_least: int, at_most: int | None = None,
              unit: str = "") -> int:
    """A whole number (``bool`` refused) of at least ``at_least`` and at most ``at_most``.

    >>> check_int("count", 10**12, at_least=1, at_most=100, unit="periods")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'count' must be a whole number of periods from 1 to 100 (got 1000000000000)
    """
    what = f"a whole number of {unit}" if unit else "a whole number"
    if at_most is None:
        if type(value) is not int or value < at_least:
            raise ValidationError(field, f"{what}, {at_least} or more", value)
    elif type(value) is not int or not at_least <= value <= at_most:
        raise ValidationError(field, f"{what} from {at_least} to {at_most}", value)
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
def problem(check: Callable[..., object], *args: object,
            **kwargs: object) -> list[ValidationError]:
    """Run one check for a whole-object validation: ``[]``, or the problem it raised.

    >>> [str(p) for p in problem(check_id, "id", "")], problem(check_id, "id", "m1")
    (["'id' must be a non-empty string without surrounding spaces (got '')"], [])
    """
    try:
        check(*args, **kwargs)
    except ValidationError as exc:
        return [exc]
    return []


def raise_all(problems: Sequence[ValidationError]) -> None:
    """Raise the one problem, or all of them as :class:`~milestonebill.errors.InvalidInputError`;
    nothing if none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidInputError(problems)


#: The one way a number is written in text the library reads: ASCII digits,
#: an optional leading ``-``, an optional ``.`` with digits after it.  No
#: ``+``, spaces, underscores, exponents, other scripts' digits, NaN or
#: infinities: what JSON numbers allow, minus the exponent, plus leading zeros.
NUMBER_GRAMMAR = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GRAMMAR_TEXT = "a number such as '-1234.50' (ASCII digits, optional leading '-' and '.')"


def decimal_from_text(field: str, text: str,
                      error: type[ValidationError] = ValidationError) -> Decimal:
    """The exact ``Decimal`` written in ``text`` by :data:`NUMBER_GRAMMAR`, at most
    :data:`~milestonebill.limits.MAX_NUMBER_LENGTH` characters long.

    >>> decimal_from_text("rate", "0.075"), decimal_from_text("rate", "-12")
    (Decimal('0.075'), Decimal('-12'))
    >>> decimal_from_text("rate", "1e2")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'rate' must be a number such as '-1234.50' (ASCII digits, optional leading '-' and '.') (got '1e2')
    """
    if len(text) > MAX_NUMBER_LENGTH:
        raise error(field, f"a number of at most {MAX_NUMBER_LENGTH} characters", text)
    if NUMBER_GRAMMAR.fullmatch(text) is None:
        raise error(field, _GRAMMAR_TEXT, text)
    return Decimal(text)


def check_decimal_size(field: str, d: Decimal, *, digits: int = MAX_DECIMAL_DIGITS,
                       error: type[ValidationError] = ValidationError) -> Decimal:
    """``d`` if finite, with at most ``digits`` digits before the point and
    :data:`~milestonebill.limits.MAX_DECIMAL_PLACES` after it (trailing zeros count).

    Read from ``d``'s exponent, so a ``Decimal('1E+999999999')`` is refused
    at once, before anything computes with it.
    """
    if not d.is_finite():
        raise error(field, "a finite number", d)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMAL_PLACES:
        raise error(field, f"a number with at most {MAX_DECIMAL_PLACES} decimal places", d)
    if d and d.adjusted() >= digits:
        raise error(field, f"a number with at most {digits} digits before the point", d)
    return d


def exact_decimal(value: object, field: str) -> Decimal:
    """An exact, finite ``Decimal`` from ``Decimal``, ``int`` or ``str``, within bounds.

    A float (already inexact) or a bool raises ``TypeError``; text not
    written by :data:`NUMBER_GRAMMAR`, infinities, NaN and numbers beyond
    :data:`~milestonebill.limits.MAX_DECIMAL_DIGITS` digits before the point
    or :data:`~milestonebill.limits.MAX_DECIMAL_PLACES` after it raise
    :class:`~milestonebill.errors.ValidationError`.
    """
    if isinstance(value, float):
        raise TypeError(f"{field!r} must be Decimal, int or str, never float (got {value!r})")
    if isinstance(value, bool):
        raise TypeError(f"{field!r} must be Decimal, int or str, never bool (got {value!r})")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        if value.bit_length() > 4 * MAX_DECIMAL_DIGITS:
            raise ValidationError(field, f"a number with at most {MAX_DECIMAL_DIGITS} digits "
                                  "before the point", value)
        d = Decimal(value)
    elif isinstance(value, str):
        d = decimal_from_text(field, value)
    else:
        raise TypeError(f"{field!r} must be Decimal, int or str (got {type(value).__name__}: "
                        f"{value!r})")
    return check_decimal_size(field, d)

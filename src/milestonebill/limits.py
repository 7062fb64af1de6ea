"""The bounds on every size that outside input controls, in one place.

Each value read from a caller, a file or a stored payload is checked against
these before any work is done with it, so no input can make the library
hang, run out of memory, overflow the calendar or change an amount on its
way through a store.  A value beyond a bound is refused with a
:class:`~milestonebill.errors.ValidationError` naming the field, the bound
and (shortened, see :data:`MAX_SHOWN_LENGTH`) the value.  ``docs/reliability.md``
explains each choice.

>>> from milestonebill.money import Money
>>> Money.from_minor(MAX_AMOUNT_MINOR, "USD")
Money('9999999999999999.99', 'USD')
>>> MAX_AMOUNT_MINOR < 2**63 - 1  # a SQLite INTEGER / PostgreSQL BIGINT
True
>>> from milestonebill.schedule import PaymentTerms
>>> PaymentTerms.net(MAX_DAYS + 1)
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'net_days' must be a whole number of days from 0 to 3660 (got 3661)
"""

from __future__ import annotations

from datetime import date
from typing import Final

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_AMOUNT_DIGITS",
    "MAX_AMOUNT_MINOR",
    "MAX_DAYS",
    "MAX_DECIMAL_DIGITS",
    "MAX_DECIMAL_PLACES",
    "MAX_ID_LENGTH",
    "MAX_INTERVAL_MONTHS",
    "MAX_INTERVAL_WEEKS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_SIZE",
    "MAX_KEY_LENGTH",
    "MAX_NUMBER_LENGTH",
    "MAX_RECURRING_PERIODS",
    "MAX_SHOWN_LENGTH",
    "MAX_TEXT_LENGTH",
]

#: Digits of an amount counted in its currency's minor units (cents, fils).
#: Eighteen digits hold every real amount -- 9,999,999,999,999,999.99 USD,
#: 999,999,999,999,999.999 KWD, 10^16 Iranian rials -- and every allowed
#: amount fits a signed 64-bit integer, the minor-unit column of the SQLite
#: and PostgreSQL stores, with room for sums of nine of them.
MAX_AMOUNT_DIGITS: Final = 18
#: The largest amount in minor units, either sign: ``10**18 - 1``.
MAX_AMOUNT_MINOR: Final = 10**MAX_AMOUNT_DIGITS - 1
#: Decimal places a written number may have (an amount finer than its minor
#: unit is only accepted with a rounding; percentages and rates need a few).
MAX_DECIMAL_PLACES: Final = 40
#: Digits before the decimal point of a number that is not an amount
#: (percentages, rates, rounding steps, hours or units of progress).
MAX_DECIMAL_DIGITS: Final = 18
#: Characters of a written number, sign and point included.
MAX_NUMBER_LENGTH: Final = 80

#: The first date a schedule, event or amendment may name.
EARLIEST_DATE: Final = date(1900, 1, 1)
#: The last date a schedule, event or amendment may name.  A century of the
#: calendar is kept free for what is computed from a date -- due dates,
#: service periods that end later, reports a few years ahead -- so nothing
#: reaches the calendar's end (9999-12-31) and overflows.
LATEST_DATE: Final = date(9899, 12, 31)
#: A count of days ahead: payment terms' ``net_days``, the notice before an
#: amendment is approved automatically.  Ten years.
MAX_DAYS: Final = 3660
#: The longest interval of a recurring charge in weeks (ten years).
MAX_INTERVAL_WEEKS: Final = 520
#: The longest interval of a recurring charge in months (or 10 years).
MAX_INTERVAL_MONTHS: Final = 120
#: Service periods of one recurring charge with a ``count`` or an ``end``:
#: two centuries of weekly billing.  A charge without either runs until
#: :data:`LATEST_DATE` and is only ever read a window at a time.
MAX_RECURRING_PERIODS: Final = 10_000

#: Characters of an id (agreement, milestone, invoice, payment method...);
#: the length of a Stripe idempotency key.
MAX_ID_LENGTH: Final = 255
#: Characters of a key the library makes from several ids (event ids,
#: journal entry ids, notification keys).
MAX_KEY_LENGTH: Final = 1024
#: Characters of a free-text field (names, scope, evidence, reasons).
MAX_TEXT_LENGTH: Final = 100_000

#: Nesting of arrays and objects in JSON the library reads.  Its own
#: documents nest about a dozen deep.
MAX_JSON_DEPTH: Final = 64
#: Characters (or bytes, for bytes) of a JSON document the library reads.
MAX_JSON_SIZE: Final = 16 * 1024 * 1024

#: Characters of a value shown in an error message; longer ones are cut.
MAX_SHOWN_LENGTH: Final = 200

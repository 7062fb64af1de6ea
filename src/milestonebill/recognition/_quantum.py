"""Rounding at a quantum: the helpers every recognition step shares.

Private to :mod:`milestonebill.recognition`: allocation, schedules and
modifications round exact amounts to a *quantum* (a whole number of minor
units, ``Decimal('1')`` for whole dollars) with these, so each step rounds
the same way and records the same quantum on its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Rounding, allocate_minor, round_ratio

__all__ = [
    "allocate_at_step",
    "quantum_of",
    "quantum_step",
    "round_to_step",
]


def quantum_step(currency: Currency, quantum: Decimal | None, field: str = "quantum") -> int:
    """Minor units per rounding quantum (``None`` means the currency's minor unit)."""
    if quantum is None:
        return 1
    if not isinstance(quantum, Decimal) or not quantum.is_finite() or quantum <= 0:
        raise ValidationError(field, "a positive Decimal such as Decimal('1')", quantum)
    step = quantum.scaleb(currency.exponent)
    if step != step.to_integral_value():
        raise ValidationError(
            field, f"a whole number of {currency.code} minor units", quantum
        )
    return int(step)


def quantum_of(currency: Currency, quantum: Decimal | None) -> Decimal:
    """The quantum as recorded on results: currency units, e.g. ``Decimal('0.01')``."""
    return currency.quantum if quantum is None else quantum


def round_to_step(value: Fraction, step: int, rounding: Rounding) -> int:
    """Round an exact number of minor units to a multiple of ``step``."""
    return round_ratio(value.numerator, value.denominator * step, rounding) * step


def allocate_at_step(total: int, weights: Sequence[Fraction], step: int) -> list[int]:
    """Largest-remainder split of ``total`` minor units in multiples of ``step``.

    When ``total`` is not itself a multiple of ``step`` the odd minor units
    go to the part with the largest weight (ties to the lowest index).
    """
    sign = -1 if total < 0 else 1
    units, odd = divmod(abs(total), step)
    parts = [p * step for p in allocate_minor(units, list(weights))] if units else [0] * len(weights)
    if odd:
        biggest = max(range(len(weights)), key=lambda i: (weights[i], -i))
        parts[biggest] += odd
    return [sign * p for p in parts]

"""Trusted constructors: build a frozen value from fields that are already valid.

A frozen attrs class checks its input in ``__init__`` (and its
``__attrs_post_init__``); where a calculator has just computed the fields
from values that were checked once -- an integer of minor units in a known
currency, two dates in order -- that check is pure overhead, and on the
object paths (a ``Money`` and a ``Period`` per line of a schedule) it is
most of the cost.  :func:`constructor` returns a function that fills the
slots of a new instance directly, in field order, skipping ``__init__``,
validators, converters and ``__attrs_post_init__``.

The instances are ordinary instances of the class: equality, hashing,
``repr`` and pickling are the class's own, so a value built here is equal
to the one ``__init__`` would have built from the same fields (the property
tests compare them).  Use it only with fields a caller has already
validated and converted, never with user input.

>>> import attrs
>>> @attrs.frozen
... class Pair:
...     a: int
...     b: str = attrs.field(converter=str)
>>> make = constructor(Pair)
>>> make(1, "x"), make(1, "x") == Pair(1, "x")
(Pair(a=1, b='x'), True)
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from math import gcd
from typing import Any, TypeVar

import attrs

__all__ = ["constructor", "fraction"]

T = TypeVar("T")


def constructor(cls: type[T]) -> Callable[..., T]:
    """A function ``make(*fields)`` that builds ``cls`` from its fields, in order, unchecked.

    ``cls`` must be a slotted attrs class whose every field is a plain slot
    (no cached hash); the function sets each slot through its descriptor,
    which a frozen class's ``__setattr__`` does not guard.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    slots = getattr(cls, "__slots__", ())
    if "__attrs_cached_hash" in slots or any(n not in vars(cls) for n in names):
        raise TypeError(f"{cls.__name__} is not a slotted attrs class of plain fields")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    args = ", ".join(f"a{i}" for i in range(len(names)))
    body = []
    for i, name in enumerate(names):
        namespace[f"set{i}"] = vars(cls)[name].__set__
        body.append(f"    set{i}(o, a{i})\n")
    source = f"def make({args}):\n    o = new(cls)\n{''.join(body)}    return o\n"
    exec(compile(source, f"<trusted constructor of {cls.__qualname__}>", "exec"), namespace)
    make: Callable[..., T] = namespace["make"]
    make.__doc__ = f"Build a {cls.__qualname__} from already valid fields {tuple(names)}."
    return make


def _fraction_slots() -> tuple[Callable[[Fraction, int], None], Callable[[Fraction, int], None]]:
    """The setters of ``Fraction``'s two slots, if this Python lays it out as expected."""
    try:
        set_num = vars(Fraction)["_numerator"].__set__
        set_den = vars(Fraction)["_denominator"].__set__
        probe = object.__new__(Fraction)
        set_num(probe, 2)
        set_den(probe, 3)
        if probe == Fraction(2, 3) and hash(probe) == hash(Fraction(2, 3)) \
                and str(probe) == "2/3":
            return set_num, set_den
    except (KeyError, AttributeError, TypeError):  # pragma: no cover - other Pythons
        pass
    return _no_slot, _no_slot  # pragma: no cover - other Pythons


def _no_slot(f: Fraction, value: int) -> None:  # pragma: no cover - other Pythons
    raise TypeError("Fraction has no slot layout to fill")


_SET_NUMERATOR, _SET_DENOMINATOR = _fraction_slots()
_FAST_FRACTIONS = _SET_NUMERATOR is not _no_slot


def fraction(numerator: int, denominator: int) -> Fraction:
    """``Fraction(numerator, denominator)`` for two ints with ``denominator > 0``.

    Reduces by the gcd and fills the new ``Fraction``'s slots, without the
    general constructor's parsing of its arguments; on a Python whose
    ``Fraction`` is laid out differently it is just ``Fraction(n, d)``.

    >>> fraction(6, 8), fraction(0, 5), fraction(-3, 9) == Fraction(-1, 3)
    (Fraction(3, 4), Fraction(0, 1), True)
    """
    if not _FAST_FRACTIONS:  # pragma: no cover - other Pythons
        return Fraction(numerator, denominator)
    g = gcd(numerator, denominator)
    f = _new(Fraction)
    _SET_NUMERATOR(f, numerator // g)
    _SET_DENOMINATOR(f, denominator // g)
    return f


_new = object.__new__

"""Exact JSON codec for the attrs values of agreements and invoices.

Private: a small converter driven by the type hints of ``@attrs.frozen``
classes, so events and invoices round-trip exactly (``from_json(to_json(x))
== x``).  Conventions: money as ``{"amount": "12.30", "currency": "USD"}``,
``Decimal`` as a string, ``Fraction`` as ``"n/d"``, dates and datetimes as ISO
8601 strings (datetimes must carry a zone and are written in UTC), enums by
member name, tuples as lists, unions of attrs classes tagged with ``"type"``.
Billing schedules and their parts use ``BillingSchedule.to_json``.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import attrs

from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money

__all__ = ["Codec", "utc_datetime"]


def utc_datetime(value: object, field: str = "effective_at") -> datetime:
    """``value`` as an aware UTC datetime; naive datetimes are refused."""
    if not isinstance(value, datetime):
        raise ValidationError(field, "a timezone-aware datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "a timezone-aware datetime (naive refused)", value)
    return value.astimezone(UTC)


Encoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]


class Codec:
    """Encode and decode values by their declared types."""

    def __init__(
        self,
        special: dict[type, tuple[Encoder, Decoder]] | None = None,
    ) -> None:
        self._special = dict(special or {})
        self._hints: dict[type, dict[str, Any]] = {}

    def _fields(self, cls: type) -> dict[str, Any]:
        hints = self._hints.get(cls)
        if hints is None:
            hints = typing.get_type_hints(cls)
            self._hints[cls] = hints
        return hints

    # ------------------------------------------------------------ encoding

    def encode(self, value: Any, tp: Any) -> Any:
        origin = typing.get_origin(tp)
        if tp is Any:
            return value
        if origin in (typing.Union, types.UnionType):
            if value is None:
                return None
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                return self.encode(value, options[0])
            for option in options:
                if isinstance(option, type) and isinstance(value, option):
                    encoded = self.encode(value, option)
                    if attrs.has(option) and option not in self._special:
                        return {"type": option.__name__, **encoded}
                    return encoded
            raise TypeError(f"cannot encode {value!r} as {tp}")
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return [self.encode(v, args[0]) for v in value]
            return [self.encode(v, a) for v, a in zip(value, args, strict=True)]
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.encode(value, supertype)
        if value is None:
            return None
        for cls, (enc, _dec) in self._special.items():
            if tp is cls:
                return enc(value)
        if tp is Money:
            return value.to_json()
        if tp is Currency:
            return value.code
        if tp is Decimal:
            return str(value)
        if tp is Fraction:
            return f"{value.numerator}/{value.denominator}"
        if tp is datetime:
            return utc_datetime(value).isoformat()
        if tp is date:
            return value.isoformat()
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return value.name
        if tp in (str, int, bool):
            return value
        if isinstance(tp, type) and attrs.has(tp):
            hints = self._fields(tp)
            return {
                a.name: self.encode(getattr(value, a.name), hints[a.name])
                for a in attrs.fields(tp)
            }
        raise TypeError(f"cannot encode {value!r} as {tp}")

    # ------------------------------------------------------------ decoding

    def decode(self, data: Any, tp: Any, field: str) -> Any:
        origin = typing.get_origin(tp)
        if tp is Any:
            return data
        if origin in (typing.Union, types.UnionType):
            if data is None and type(None) in typing.get_args(tp):
                return None
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                return self.decode(data, options[0], field)
            if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                raise ValidationError(field, "an object with a 'type' tag", data)
            by_name = {o.__name__: o for o in options if isinstance(o, type)}
            chosen = by_name.get(data["type"])
            if chosen is None:
                raise ValidationError(f"{field}.type", f"one of {sorted(by_name)}", data["type"])
            rest = {k: v for k, v in data.items() if k != "type"}
            return self.decode(rest, chosen, field)
        if origin is tuple:
            if not isinstance(data, list):
                raise ValidationError(field, "a list", data)
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self.decode(v, args[0], f"{field}[{i}]") for i, v in enumerate(data))
            if len(args) != len(data):
                raise ValidationError(field, f"a list of {len(args)} items", data)
            return tuple(
                self.decode(v, a, f"{field}[{i}]")
                for i, (v, a) in enumerate(zip(data, args, strict=True))
            )
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.decode(data, supertype, field)
        for cls, (_enc, dec) in self._special.items():
            if tp is cls:
                return dec(data, field)
        if tp is Money:
            return Money.from_json(data, field)
        if tp is Currency:
            return Currency.of(data) if isinstance(data, str) else Currency.of(repr(data))
        if tp is Decimal:
            if not isinstance(data, str):
                raise ValidationError(field, "a decimal string", data)
            try:
                return Decimal(data)
            except InvalidOperation:
                raise ValidationError(field, "a decimal string", data) from None
        if tp is Fraction:
            if not isinstance(data, str):
                raise ValidationError(field, "a fraction string such as '1/3'", data)
            try:
                return Fraction(data)
            except (ValueError, ZeroDivisionError):
                raise ValidationError(field, "a fraction string such as '1/3'", data) from None
        if tp is datetime:
            try:
                parsed = datetime.fromisoformat(data)
            except (TypeError, ValueError):
                raise ValidationError(field, "an ISO 8601 datetime", data) from None
            return utc_datetime(parsed, field)
        if tp is date:
            try:
                return date.fromisoformat(data)
            except (TypeError, ValueError):
                raise ValidationError(field, "an ISO 8601 date", data) from None
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            try:
                return tp[data]
            except (KeyError, TypeError):
                raise ValidationError(field, f"one of {[m.name for m in tp]}", data) from None
        if tp in (str, int, bool):
            if type(data) is not tp:
                raise ValidationError(field, f"a {tp.__name__}", data)
            return data
        if isinstance(tp, type) and attrs.has(tp):
            if not isinstance(data, dict):
                raise ValidationError(field, f"an object for {tp.__name__}", data)
            hints = self._fields(tp)
            names = {a.name for a in attrs.fields(tp)}
            unknown = set(data) - names
            if unknown:
                raise ValidationError(field, f"only the fields of {tp.__name__}", sorted(unknown))
            kwargs = {}
            for a in attrs.fields(tp):
                if a.name not in data:
                    if a.default is attrs.NOTHING:
                        raise ValidationError(f"{field}.{a.name}", "present", None)
                    continue
                kwargs[a.alias] = self.decode(data[a.name], hints[a.name], f"{field}.{a.name}")
            return tp(**kwargs)
        raise TypeError(f"cannot decode {tp}")

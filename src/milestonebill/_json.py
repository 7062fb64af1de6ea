"""The one JSON mechanism: values to JSON and back, exactly, by their declared types.

Private.  Every JSON form the library reads or writes -- billing schedules
and engagement files, agreement events, invoices and credit notes, journal
entries, charge outcomes -- goes through :data:`CODEC`, a converter driven by
the type hints of the ``@attrs.frozen`` value classes, so
``decode(encode(x), type(x)) == x`` for every value.  One set of conventions:

* money as ``{"amount": "12.30", "currency": "USD"}`` (never a number);
* ``Decimal`` as a string, ``Fraction`` as ``"n/d"``;
* dates and datetimes as ISO 8601 text (a datetime must carry a zone and is
  written in UTC);
* enums by lower-case member name (``"on_signing"``, ``"half_up"``), which is
  the value of every enum but ``Rounding``; reading also takes the value and
  any case;
* tuples as lists, unions of value classes tagged with ``"type"``;
* a value class as an object of its fields: every field is written; on
  reading, a field with a default may be left out and an unknown field is
  refused.  Errors name the path of the field (``milestones[1].amount``).

Besides the codec: :func:`canonical_json` (the text stores keep and compare)
and :func:`parse_json_object` (reading such text back, floats refused).

>>> from milestonebill.money import Money
>>> encode(Money("12.30", "USD"))
{'amount': '12.30', 'currency': 'USD'}
>>> decode({"amount": 12.3, "currency": "USD"}, Money, "fee")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'fee.amount' must be a decimal string such as '12.30' (got 12.3)
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from milestonebill._validate import (
    check_decimal_size,
    decimal_from_text,
    utc_datetime,
)
from milestonebill.errors import (
    CardNumberError,
    InvalidAmountError,
    InvalidInputError,
    ValidationError,
)
from milestonebill.ids import PlanKey
from milestonebill.limits import MAX_JSON_DEPTH, MAX_JSON_SIZE, MAX_NUMBER_LENGTH
from milestonebill.money import Currency, Money

__all__ = ["CODEC", "Codec", "canonical_json", "decode", "encode", "parse_json_object"]


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _prefixed(path: str, exc: ValidationError) -> ValidationError:
    field = _join(path, exc.field)
    if isinstance(exc, CardNumberError):
        return CardNumberError(field, str(exc.value))
    if type(exc) is InvalidAmountError:
        return InvalidAmountError(field, exc.expected, exc.value)
    return ValidationError(field, exc.expected, exc.value)


class Codec:
    """Encode and decode values by their declared types (see the module docs)."""

    def __init__(self) -> None:
        self._hints: dict[type, dict[str, Any]] = {}

    def _fields(self, cls: type) -> dict[str, Any]:
        hints = self._hints.get(cls)
        if hints is None:
            hints = typing.get_type_hints(cls)
            self._hints[cls] = hints
        return hints

    # ------------------------------------------------------------ encoding

    def encode(self, value: Any, tp: Any) -> Any:
        """The JSON form of ``value`` declared as ``tp``."""
        if tp is Any:
            return value
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._encode_union(value, tp)
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
        return self._encode_scalar(value, tp)

    def _encode_union(self, value: Any, tp: Any) -> Any:
        if value is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return self.encode(value, options[0])
        for option in options:
            if isinstance(option, type) and isinstance(value, option):
                encoded = self.encode(value, option)
                return {"type": option.__name__, **encoded} if attrs.has(option) else encoded
        raise TypeError(f"cannot encode {value!r} as {tp}")

    def _encode_scalar(self, value: Any, tp: Any) -> Any:
        if tp is Money:
            return value.to_json()
        if tp is Currency:
            return value.code
        if tp in (Decimal, PlanKey):
            return str(value)
        if tp is Fraction:
            return f"{value.numerator}/{value.denominator}"
        if tp is datetime:
            return utc_datetime(value).isoformat()
        if tp is date:
            return value.isoformat()
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return value.name.lower()
        if tp in (str, int, bool):
            return value
        if isinstance(tp, type) and attrs.has(tp):
            hints = self._fields(tp)
            return {a.name: self.encode(getattr(value, a.name), hints[a.name])
                    for a in attrs.fields(tp)}
        raise TypeError(f"cannot encode {value!r} as {tp}")

    # ------------------------------------------------------------ decoding

    def decode(self, data: Any, tp: Any, field: str) -> Any:
        """The value of type ``tp`` that ``data`` is the JSON form of; ``field`` names it."""
        if tp is Any:
            return data
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._decode_union(data, tp, field)
        if origin is tuple:
            return self._decode_tuple(data, tp, field)
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.decode(data, supertype, field)
        return self._decode_scalar(data, tp, field)

    def _decode_union(self, data: Any, tp: Any, field: str) -> Any:
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
            raise ValidationError(_join(field, "type"), f"one of {sorted(by_name)}", data["type"])
        return self.decode({k: v for k, v in data.items() if k != "type"}, chosen, field)

    def _decode_tuple(self, data: Any, tp: Any, field: str) -> tuple[Any, ...]:
        if not isinstance(data, list):
            raise ValidationError(field, "a list", data)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(self.decode(v, args[0], f"{field}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise ValidationError(field, f"a list of {len(args)} items", data)
        return tuple(self.decode(v, a, f"{field}[{i}]")
                     for i, (v, a) in enumerate(zip(data, args, strict=True)))

    def _decode_value(self, data: Any, tp: type, field: str) -> Any:
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ValidationError(field or tp.__name__, f"an object for {tp.__name__}", data)
        hints = self._fields(tp)
        known = {a.name for a in attrs.fields(tp)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(_join(field, unknown[0]), f"a field of {tp.__name__}",
                                  unknown[0])
        kwargs = {}
        for a in attrs.fields(tp):
            if a.name not in data:
                if a.default is attrs.NOTHING:
                    raise ValidationError(_join(field, a.name), "present", None)
                continue
            kwargs[a.alias] = self.decode(data[a.name], hints[a.name], _join(field, a.name))
        try:
            return tp(**kwargs)
        except InvalidInputError as exc:
            raise InvalidInputError(_prefixed(field, p) for p in exc.problems) from None
        except ValidationError as exc:
            raise _prefixed(field, exc) from None

    def _decode_scalar(self, data: Any, tp: Any, field: str) -> Any:
        if tp is Money:
            return Money.from_json(data, field)
        if tp is Currency:
            if not isinstance(data, str):
                raise ValidationError(field, "an ISO 4217 code such as 'USD'", data)
            try:
                return Currency.of(data)
            except ValidationError:
                raise ValidationError(field, "an ISO 4217 code such as 'USD'", data) from None
        if tp is PlanKey:
            return PlanKey.parse(data, field)
        if tp is Decimal:
            return _decimal(data, field)
        if tp is Fraction:
            return _fraction(data, field)
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
                raise ValidationError(field, "an ISO date string such as '2025-01-31'",
                                      data) from None
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _member(tp, data, field)
        if tp in (str, int, bool):
            if type(data) is not tp:
                raise ValidationError(field, _KIND[tp], data)
            if tp is str and not data.isascii():
                # JSON may spell a lone surrogate ("\\ud800"), which no store can write.
                _encodable(data, field)
            return data
        if isinstance(tp, type) and attrs.has(tp):
            return self._decode_value(data, tp, field)
        raise TypeError(f"cannot decode {tp}")


_KIND: dict[Any, str] = {str: "a string", int: "a whole number", bool: "true or false"}


def _encodable(data: str, field: str) -> None:
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "text that can be written as UTF-8 (no lone surrogates)",
                              data) from None


def _decimal(data: Any, field: str) -> Decimal:
    if not isinstance(data, str):
        raise ValidationError(field, "a decimal string such as '3.5'", data)
    return check_decimal_size(field, decimal_from_text(field, data))


_FRACTION = re.compile(r"-?[0-9]+(?:/[0-9]+)?")


def _fraction(data: Any, field: str) -> Fraction:
    expected = f"a fraction string such as '1/3' (at most {MAX_NUMBER_LENGTH} characters)"
    if not isinstance(data, str) or len(data) > MAX_NUMBER_LENGTH \
            or _FRACTION.fullmatch(data) is None:
        raise ValidationError(field, expected, data)
    try:
        return Fraction(data)
    except ZeroDivisionError:
        raise ValidationError(field, expected, data) from None


def _member(kind: type[enum.Enum], data: Any, field: str) -> enum.Enum:
    if isinstance(data, str):
        for member in kind:
            if data == member.value or data.lower() in (str(member.value).lower(),
                                                        member.name.lower()):
                return member
    names = ", ".join(repr(m.name.lower()) for m in kind)
    raise ValidationError(field, f"one of {names}", data)


#: The library's codec.
CODEC = Codec()


def encode(value: Any, tp: Any = None) -> Any:
    """The JSON form of ``value`` (declared as ``tp``, default its own class)."""
    return CODEC.encode(value, type(value) if tp is None else tp)


def decode(data: Any, tp: Any, field: str = "") -> Any:
    """Read the JSON form of a ``tp``; errors name ``field`` and the path below it."""
    return CODEC.decode(data, tp, field)


def canonical_json(value: Mapping[str, Any] | str, field: str = "payload") -> str:
    """Canonical JSON text of a JSON object: sorted keys, no spaces.

    Floats are refused (money is never a float; write amounts as strings).

    >>> canonical_json({"b": 1, "a": {"amount": "1.50"}})
    '{"a":{"amount":"1.50"},"b":1}'
    >>> canonical_json('{"x": [1, 2]}')
    '{"x":[1,2]}'
    """
    data = parse_json_object(value, field) if isinstance(value, str) else value
    if not isinstance(data, Mapping):
        raise ValidationError(field, "a JSON object (dict or JSON text)", value)
    _refuse_floats(data, field)
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, "JSON-serialisable", value) from exc
    if not text.isascii():
        _encodable(text, field)
    return text


_FLOATS = "JSON without floats (write amounts as strings)"
_Path = tuple[Any, str | int] | None  # (parent path, key): built into text only on error


def _path_text(field: str, path: _Path) -> str:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    return field + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in reversed(keys))


def _too_deep(field: str) -> ValidationError:
    return ValidationError(field, f"JSON nested at most {MAX_JSON_DEPTH} deep",
                           f"JSON nested more than {MAX_JSON_DEPTH} deep")


def _refuse_floats(data: object, field: str) -> None:
    """Refuse floats (naming the path to the first) and nesting beyond
    :data:`~milestonebill.limits.MAX_JSON_DEPTH`, in one pass that keeps its
    own stack, so no document can exhaust the interpreter's."""
    stack: list[tuple[object, int, _Path]] = [(data, 1, None)]
    while stack:
        value, depth, path = stack.pop()
        items: Any
        if isinstance(value, Mapping):
            items = value.items()
        elif isinstance(value, list | tuple):
            items = enumerate(value)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(field)
        for key, v in items:
            if isinstance(v, Mapping | list | tuple):
                stack.append((v, depth + 1, (path, key)))
            elif isinstance(v, float | Decimal):
                raise ValidationError(_path_text(field, (path, key)), _FLOATS, v)
    if isinstance(data, float | Decimal):
        raise ValidationError(field, _FLOATS, data)


def _check_parsed_depth(data: object, field: str) -> None:
    """Refuse parsed JSON nested deeper than the bound, one level at a time
    (no recursion, so no document can exhaust the interpreter's stack)."""
    level: list[Any] = [data]
    for _ in range(MAX_JSON_DEPTH):
        below: list[Any] = []
        for item in level:
            for v in item.values() if isinstance(item, dict) else item:
                if isinstance(v, dict | list):
                    below.append(v)
        if not below:
            return
        level = below
    raise _too_deep(field)


def parse_json_object(text: str | bytes, field: str = "payload") -> dict[str, Any]:
    """Parse JSON text that must hold an object; a number with a fraction is kept
    exact as ``Decimal`` (so :func:`canonical_json` can refuse it by name).

    ``text`` may be bytes, which must be UTF-8.  Documents larger than
    :data:`~milestonebill.limits.MAX_JSON_SIZE` or nested deeper than
    :data:`~milestonebill.limits.MAX_JSON_DEPTH` are refused with a
    :class:`~milestonebill.errors.ValidationError`, as is anything that is
    not JSON; nothing else escapes.

    >>> parse_json_object('{"n": 1}')
    {'n': 1}
    >>> parse_json_object(b'{"name": "caf\\xe9"}')
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'payload' must be UTF-8 text (got 'invalid byte 0xe9 at offset 13')
    >>> parse_json_object("[" * 100 + "]" * 100)
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'payload' must be JSON nested at most 64 deep (got 'JSON nested more than 64 deep')
    """
    if not isinstance(text, str | bytes | bytearray):
        raise ValidationError(field, "JSON text of an object", text)
    if len(text) > MAX_JSON_SIZE:
        raise ValidationError(field, f"JSON of at most {MAX_JSON_SIZE} characters",
                              f"{len(text)} characters")
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(field, "UTF-8 text",
                                  f"invalid byte 0x{exc.object[exc.start]:02x} at offset "
                                  f"{exc.start}") from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except RecursionError:  # nested far beyond the bound: the parser gave up first
        raise _too_deep(field) from None
    except ValueError as exc:  # JSONDecodeError, or an int of over 4300 digits
        raise ValidationError(field, "JSON text of an object", f"not valid JSON: {exc}") from None
    # Fewer brackets than the bound allows levels cannot nest too deep.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_parsed_depth(data, field)
    if not isinstance(data, dict):
        raise ValidationError(field, "JSON text of an object", text)
    return data

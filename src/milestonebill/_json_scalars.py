"""Reading JSON scalars, for :mod:`milestonebill._json`.  Private.

The checks the codec's reflective path makes of a decimal, a fraction, an
enum member or a string, the float and depth check of canonical JSON, and
the pieces of its *compiled readers*: a reader
is a function of the JSON data alone, built once per type, that returns the
value or raises (:class:`Unread` or the value's own error) without saying
where; the codec then reads the data again the reflective way, which names
the field.  So a reader needs to be right only about what it accepts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from milestonebill._validate import check_decimal_size, decimal_from_text, utc_datetime
from milestonebill.errors import CardNumberError, InvalidAmountError, ValidationError
from milestonebill.ids import PlanKey
from milestonebill.limits import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH
from milestonebill.money import Currency, Money

#: A compiled reader: the JSON form of one type in, the value out, or a raise.
Reader = Callable[[Any], Any]


#: Types read by their own rule, though some are value classes (money is not its fields).
SCALARS: frozenset[Any] = frozenset({Money, Currency, PlanKey, Decimal, Fraction, datetime, date})


def prefixed_error(path: str, exc: ValidationError) -> ValidationError:
    """``exc`` about the field at ``path`` (``exc.field`` below it); a message of its
    own keeps its wording."""
    if not path:
        return exc
    field = f"{path}.{exc.field}"
    default = CardNumberError(exc.field, str(exc.value)).message if isinstance(exc, CardNumberError) \
        else ValidationError(exc.field, exc.expected, exc.value).message
    named = repr(exc.field)
    message = None
    if exc.message != default and exc.message.startswith(named):
        message = repr(field) + exc.message[len(named):]
    if isinstance(exc, CardNumberError):  # its value is already redacted
        return CardNumberError(field, str(exc.value), message)
    kind = InvalidAmountError if type(exc) is InvalidAmountError else ValidationError
    return kind(field, exc.expected, exc.value, message)


class Unread(Exception):
    """A compiled reader met data it does not accept."""


def check_encodable(data: str, field: str) -> None:
    """Refuse text that cannot be written as UTF-8 (a lone surrogate)."""
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "text that can be written as UTF-8 (no lone surrogates)",
                              data) from None


def read_decimal(data: Any, field: str) -> Decimal:
    """A decimal written as a string, within the size bound."""
    if not isinstance(data, str):
        raise ValidationError(field, "a decimal string such as '3.5'", data)
    return check_decimal_size(field, decimal_from_text(field, data))


_FRACTION = re.compile(r"-?[0-9]+(?:/[0-9]+)?")


def read_fraction(data: Any, field: str) -> Fraction:
    """A fraction written as ``"n/d"`` (or a whole number)."""
    expected = f"a fraction string such as '1/3' (at most {MAX_NUMBER_LENGTH} characters)"
    if not isinstance(data, str) or len(data) > MAX_NUMBER_LENGTH \
            or _FRACTION.fullmatch(data) is None:
        raise ValidationError(field, expected, data)
    try:
        return Fraction(data)
    except ZeroDivisionError:
        raise ValidationError(field, expected, data) from None


def read_member(kind: type[enum.Enum], data: Any, field: str) -> enum.Enum:
    """The first member of ``kind`` whose value is ``data``, or whose value or
    lower-case name is ``data`` in any case."""
    if isinstance(data, str):
        for member in kind:
            if data == member.value or data.lower() in (str(member.value).lower(),
                                                        member.name.lower()):
                return member
    names = ", ".join(repr(m.name.lower()) for m in kind)
    raise ValidationError(field, f"one of {names}", data)


def refuse(data: Any) -> Any:
    """The reader (or writer) of a type the codec cannot handle: refuses everything."""
    raise Unread


def same(data: Any) -> Any:
    """The reader of ``Any``."""
    return data


def as_list(data: Any, length: int | None = None) -> list[Any]:
    """``data`` if it is a list (of ``length`` items when given)."""
    if not isinstance(data, list) or (length is not None and len(data) != length):
        raise Unread
    return data


def as_object(data: Any) -> dict[str, Any]:
    """``data`` if it is an object with string keys."""
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise Unread
    return data


def as_string(data: Any) -> str:
    """``data`` if it is a string that can be written as UTF-8."""
    if type(data) is not str:
        raise Unread
    if not data.isascii():
        check_encodable(data, "")
    return data


def _exactly(kind: type) -> Reader:
    def read(data: Any) -> Any:
        if type(data) is not kind:
            raise Unread
        return data
    return read


def _member_reader(kind: type[enum.Enum]) -> Reader:
    """:func:`read_member` with the common spellings looked up, not searched for."""
    table: dict[str, enum.Enum] = {}
    for member in reversed(kind):  # so the first member that matches a spelling keeps it
        for spelling in (member.name.lower(), str(member.value).lower(), member.value):
            if isinstance(spelling, str) and spelling.isascii() and spelling == spelling.lower():
                table[spelling] = member

    def read(data: Any) -> Any:
        found = table.get(data) if type(data) is str else None
        return found if found is not None else read_member(kind, data, "")
    return read


def _money_reader() -> Reader:
    """:meth:`Money.from_json`, remembering the last few thousand amounts read
    (money is immutable, and a firm's amounts repeat)."""
    seen: dict[tuple[str, str], Money] = {}

    def read(data: Any) -> Any:
        if type(data) is dict and len(data) == 2:
            known = seen.get((data.get("amount"), data.get("currency")))  # type: ignore[arg-type]
            if known is not None:
                return known
        money = Money.from_json(data, "")
        if len(seen) >= 4096:
            seen.clear()
        seen[data["amount"], data["currency"]] = money
        return money
    return read


def scalar_reader(tp: Any) -> Reader:
    """The compiled reader of a scalar type (value classes are the codec's)."""
    if tp is Money:
        return _money_reader()
    if tp is Currency:
        return lambda data: Currency.of(as_string(data))
    if tp is PlanKey:
        return lambda data: PlanKey.parse(data, "")
    if tp is Decimal:
        return lambda data: read_decimal(data, "")
    if tp is Fraction:
        return lambda data: read_fraction(data, "")
    if tp is datetime:
        return lambda data: utc_datetime(datetime.fromisoformat(as_string(data)), "")
    if tp is date:
        return lambda data: date.fromisoformat(as_string(data))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _member_reader(tp)
    if tp is str:
        return as_string
    if tp in (int, bool):
        return _exactly(tp)
    raise TypeError(f"cannot decode {tp}")


def scalar_writer(tp: Any) -> Reader:
    """What the codec writes for a value of a scalar type (not ``None``)."""
    if tp is Any or tp in (str, int, bool):
        return same
    if tp is Money:
        return lambda value: value.to_json()
    if tp is Currency:
        return lambda value: value.code
    if tp in (Decimal, PlanKey):
        return str
    if tp is Fraction:
        return lambda value: f"{value.numerator}/{value.denominator}"
    if tp is datetime:
        return lambda value: utc_datetime(value).isoformat()
    if tp is date:
        return lambda value: value.isoformat()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda value: value.name.lower()
    raise TypeError(f"cannot encode a {tp}")


def write_tagged(value: Any, options: list[tuple[type, Reader, str | None]]) -> Any:
    """A value of a union of classes: the first option it is an instance of, its
    class name under ``"type"`` when that option is a value class."""
    for option, write, tag in options:
        if isinstance(value, option):
            encoded = write(value)
            return encoded if tag is None else {"type": tag, **encoded}
    raise TypeError(f"cannot encode {value!r}")


_FLOATS = "JSON without floats (write amounts as strings)"
_LEAVES = frozenset({str, int, bool, type(None)})
_Path = tuple[Any, str | int] | None  # (parent path, key): built into text only on error


def _path_text(field: str, path: _Path) -> str:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    return field + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in reversed(keys))


def too_deep(field: str) -> ValidationError:
    """The error for JSON nested deeper than the bound, naming ``field``."""
    return ValidationError(field, f"JSON nested at most {MAX_JSON_DEPTH} deep",
                           f"JSON nested more than {MAX_JSON_DEPTH} deep")


def refuse_floats(data: object, field: str) -> None:
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
            raise too_deep(field)
        for key, v in items:
            if type(v) in _LEAVES:  # most of a document: no ABC check needed
                continue
            if isinstance(v, Mapping | list | tuple):
                stack.append((v, depth + 1, (path, key)))
            elif isinstance(v, float | Decimal):
                raise ValidationError(_path_text(field, (path, key)), _FLOATS, v)
    if isinstance(data, float | Decimal):
        raise ValidationError(field, _FLOATS, data)

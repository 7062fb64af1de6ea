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
* tuples as lists, mappings (string-like keys) as objects, unions of value
  classes tagged with ``"type"``;
* a value class as an object of its fields: every field is written, under
  its name (or the ``"json"`` entry of the field's metadata); on reading, a
  field with a default may be left out and an unknown field is refused.
  Errors name the path of the field (``milestones[1].amount``).

:meth:`Codec.schema` states the same conventions as a JSON Schema (draft
2020-12), walking the same type hints, so the schema of a type and its
codec cannot disagree on the shape: ``milestonebill.formats`` ships the
schemas of the public file formats.

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

import collections.abc
import enum
import json
import re
import threading
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from milestonebill._json_scalars import (
    SCALARS,
    Reader,
    Unread,
    as_list,
    as_object,
    check_encodable,
    prefixed_error,
    read_decimal,
    read_fraction,
    read_member,
    refuse,
    refuse_floats,
    same,
    scalar_reader,
    scalar_writer,
    too_deep,
    write_tagged,
)
from milestonebill._validate import utc_datetime
from milestonebill.errors import (
    InvalidInputError,
    ValidationError,
)
from milestonebill.ids import PlanKey
from milestonebill.limits import MAX_JSON_DEPTH, MAX_JSON_SIZE
from milestonebill.money import Currency, Money

__all__ = [
    "CODEC",
    "Codec",
    "canonical_json",
    "decode",
    "decode_tagged",
    "encode",
    "encode_tagged",
    "parse_json_object",
]

_MAPPINGS = (dict, collections.abc.Mapping)


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _key(a: attrs.Attribute[Any]) -> str:
    """The JSON key of a field: its name, unless its metadata names another."""
    return str(a.metadata.get("json", a.name))


def _noun(tp: Any) -> str:
    """What a type is called in messages: ``MilestoneId`` is 'milestone id'."""
    name = getattr(tp, "__name__", str(tp))
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


class Codec:
    """Encode and decode values by their declared types (see the module docs)."""

    def __init__(self) -> None:
        self._hints: dict[type, dict[str, Any]] = {}
        # Compiled readers and writers, published only once complete (see _compiled).
        self._readers: dict[Any, Reader] = {}
        self._writers: dict[Any, Reader] = {}
        self._pending: dict[tuple[bool, Any], Reader] = {}
        self._compiling = threading.RLock()

    def _compiled(self, writing: bool, tp: Any) -> Reader:
        """The reader (or writer) of ``tp``, compiled under a lock with the value
        classes it holds and published with them only when every one is whole, so
        another thread never uses a half-built one; a type the codec cannot
        handle gets one that refuses everything (the reflective path then raises)."""
        table = self._writers if writing else self._readers
        with self._compiling:
            known = table.get(tp)
            if known is not None:
                return known
            try:
                made = self._writer(tp) if writing else self._reader(tp)
            except TypeError:
                return refuse
            finally:
                done, self._pending = self._pending, {}
            for (w, t), fn in done.items():
                (self._writers if w else self._readers)[t] = fn
            table[tp] = made
            return made

    def _fields(self, cls: type) -> dict[str, Any]:
        hints = self._hints.get(cls)
        if hints is None:
            hints = typing.get_type_hints(cls)
            self._hints[cls] = hints
        return hints

    # ------------------------------------------------------------ encoding

    def encode(self, value: Any, tp: Any) -> Any:
        """The JSON form of ``value`` declared as ``tp`` (through a writer compiled
        once per type; the reflective path below is the definition)."""
        writer = self._writers.get(tp) or self._compiled(True, tp)
        try:
            return writer(value)
        except Exception:  # the reflective path below says what is wrong
            return self._encode(value, tp)

    def _writer(self, tp: Any) -> Reader:
        """What :meth:`_encode` does for ``tp``, worked out once; value classes are
        registered before their fields, so types may refer to each other."""
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) == 1:
                only = self._writer_of(options[0])
                return lambda value: None if value is None else only(value)
            tagged = [(o, self._writer_of(o), o.__name__ if attrs.has(o) else None)
                      for o in options if isinstance(o, type)]
            return lambda value: None if value is None else write_tagged(value, tagged)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                each = self._writer_of(args[0])
                return lambda value: [each(v) for v in value]
            parts = [self._writer_of(a) for a in args]
            return lambda value: [w(v) for w, v in zip(parts, value, strict=True)]
        if origin in _MAPPINGS:
            key_w, value_w = (self._writer_of(a) for a in typing.get_args(tp))
            return lambda value: {key_w(k): value_w(v) for k, v in value.items()}
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self._writer_of(supertype)
        if tp is Any or not (isinstance(tp, type) and attrs.has(tp)) or tp in SCALARS:
            write = scalar_writer(tp)
            return lambda value: None if value is None else write(value)
        spec: list[tuple[str, str, Reader]] = []

        def write_value(value: Any) -> Any:
            return None if value is None else {key: w(getattr(value, name)) for key, name, w in spec}
        self._pending[True, tp] = write_value  # before its fields: a type may hold itself
        hints = self._fields(tp)
        spec.extend((_key(a), a.name, self._writer_of(hints[a.name])) for a in attrs.fields(tp))
        return write_value

    def _writer_of(self, tp: Any) -> Reader:
        known = self._writers.get(tp) or self._pending.get((True, tp))
        if known is None:
            try:
                known = self._pending[True, tp] = self._writer(tp)
            except TypeError:  # a field the codec cannot write: fail on use, as _encode does
                return refuse
        return known

    def _encode(self, value: Any, tp: Any) -> Any:
        if tp is Any:
            return value
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._encode_union(value, tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return [self._encode(v, args[0]) for v in value]
            return [self._encode(v, a) for v, a in zip(value, args, strict=True)]
        if origin in _MAPPINGS:
            key_tp, value_tp = typing.get_args(tp)
            return {self._encode(k, key_tp): self._encode(v, value_tp) for k, v in value.items()}
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self._encode(value, supertype)
        if value is None:
            return None
        return self._encode_scalar(value, tp)

    def _encode_union(self, value: Any, tp: Any) -> Any:
        if value is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return self._encode(value, options[0])
        for option in options:
            if isinstance(option, type) and isinstance(value, option):
                encoded = self._encode(value, option)
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
            return {_key(a): self._encode(getattr(value, a.name), hints[a.name])
                    for a in attrs.fields(tp)}
        raise TypeError(f"cannot encode {value!r} as {tp}")

    # ------------------------------------------------------------ decoding

    def decode(self, data: Any, tp: Any, field: str) -> Any:
        """The value of type ``tp`` that ``data`` is the JSON form of; ``field`` names it.

        Well-formed data takes a decoder compiled once per type (no paths, no
        reflection); anything it cannot read is read again by the reflective
        path below, which is the definition and names the field that fails.
        """
        reader = self._readers.get(tp) or self._compiled(False, tp)
        try:
            return reader(data)
        except Exception:  # the reflective path below says what is wrong
            return self._decode(data, tp, field)

    def _decode(self, data: Any, tp: Any, field: str) -> Any:
        if tp is Any:
            return data
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._decode_union(data, tp, field)
        if origin is tuple:
            return self._decode_tuple(data, tp, field)
        if origin in _MAPPINGS:
            return self._decode_mapping(data, tp, field)
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self._decode(data, supertype, field)
        return self._decode_scalar(data, tp, field)

    def _decode_union(self, data: Any, tp: Any, field: str) -> Any:
        if data is None and type(None) in typing.get_args(tp):
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return self._decode(data, options[0], field)
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise ValidationError(field, "an object with a 'type' tag", data)
        by_name = {o.__name__: o for o in options if isinstance(o, type)}
        chosen = by_name.get(data["type"])
        if chosen is None:
            raise ValidationError(_join(field, "type"), f"one of {sorted(by_name)}", data["type"])
        return self._decode({k: v for k, v in data.items() if k != "type"}, chosen, field)

    def _decode_tuple(self, data: Any, tp: Any, field: str) -> tuple[Any, ...]:
        if not isinstance(data, list):
            raise ValidationError(field, "a list", data)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(self._decode(v, args[0], f"{field}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise ValidationError(field, f"a list of {len(args)} items", data)
        return tuple(self._decode(v, a, f"{field}[{i}]")
                     for i, (v, a) in enumerate(zip(data, args, strict=True)))

    def _decode_mapping(self, data: Any, tp: Any, field: str) -> dict[Any, Any]:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ValidationError(field, f"an object of {_noun(key_tp)} to {_noun(value_tp)}",
                                  data)
        return {self._decode(k, key_tp, field): self._decode(v, value_tp, _join(field, k))
                for k, v in data.items()}

    def _decode_value(self, data: Any, tp: type, field: str) -> Any:
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ValidationError(field or tp.__name__, f"an object for {tp.__name__}", data)
        hints = self._fields(tp)
        known = {_key(a) for a in attrs.fields(tp)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(_join(field, unknown[0]), f"a field of {tp.__name__}",
                                  unknown[0])
        kwargs = {}
        for a in attrs.fields(tp):
            key = _key(a)
            if key not in data:
                if a.default is attrs.NOTHING:
                    raise ValidationError(_join(field, key), "present", None)
                continue
            kwargs[a.alias] = self._decode(data[key], hints[a.name], _join(field, key))
        try:
            return tp(**kwargs)
        except InvalidInputError as exc:
            raise InvalidInputError(prefixed_error(field, p) for p in exc.problems) from None
        except ValidationError as exc:
            raise prefixed_error(field, exc) from None

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
            return read_decimal(data, field)
        if tp is Fraction:
            return read_fraction(data, field)
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
            return read_member(tp, data, field)
        if tp in (str, int, bool):
            if type(data) is not tp:
                raise ValidationError(field, _KIND[tp], data)
            if tp is str and not data.isascii():
                # JSON may spell a lone surrogate ("\\ud800"), which no store can write.
                check_encodable(data, field)
            return data
        if isinstance(tp, type) and attrs.has(tp):
            return self._decode_value(data, tp, field)
        raise TypeError(f"cannot decode {tp}")

    # ------------------------------------------------------------ compiled readers

    def _reader(self, tp: Any) -> Reader:
        """A function reading the JSON form of ``tp`` that raises on anything it
        does not accept (build it through :meth:`_compiled`); what it returns
        equals what :meth:`_decode` returns (``tests/property/test_json_readers_props.py``)."""
        if isinstance(tp, type) and attrs.has(tp) and tp not in SCALARS:
            spec: list[tuple[str, str, Reader, bool]] = []
            known: set[str] = set()

            def read_value(data: Any) -> Any:
                if not isinstance(data, dict) or not known.issuperset(data):
                    raise Unread
                kwargs = {}
                for key, alias, read, required in spec:
                    if key in data:
                        kwargs[alias] = read(data[key])
                    elif required:
                        raise Unread
                return tp(**kwargs)

            self._pending[False, tp] = read_value  # before its fields: a type may hold itself
            hints = self._fields(tp)
            for a in attrs.fields(tp):
                spec.append((_key(a), a.alias, self._lookup(hints[a.name]),
                             a.default is attrs.NOTHING))
                known.add(_key(a))
            return read_value
        reader = self._pending[False, tp] = self._build(tp)
        return reader

    def _lookup(self, tp: Any) -> Reader:
        """The reader of ``tp``; a value class is registered before its fields are
        compiled, so types may refer to each other."""
        known = self._readers.get(tp) or self._pending.get((False, tp))
        if known is not None:
            return known
        try:
            return self._reader(tp)
        except TypeError:  # a field the codec cannot read (one never written): fail on use
            return refuse

    def _build(self, tp: Any) -> Reader:
        origin = typing.get_origin(tp)
        if tp is Any:
            return same
        if origin in (typing.Union, types.UnionType):
            return self._union_reader(tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                each = self._lookup(args[0])
                return lambda data: tuple(map(each, as_list(data)))
            parts = [self._lookup(a) for a in args]
            return lambda data: tuple(r(v) for r, v in zip(parts, as_list(data, len(parts)),
                                                           strict=True))
        if origin in _MAPPINGS:
            key_tp, value_tp = (self._lookup(a) for a in typing.get_args(tp))
            return lambda data: {key_tp(k): value_tp(v) for k, v in as_object(data).items()}
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self._lookup(supertype)
        return scalar_reader(tp)

    def _union_reader(self, tp: Any) -> Reader:
        nullable = type(None) in typing.get_args(tp)
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            only = self._lookup(options[0])
            return lambda data: None if data is None and nullable else only(data)
        by_name = {o.__name__: self._lookup(o) for o in options if isinstance(o, type)}

        def read_tagged(data: Any) -> Any:
            if data is None and nullable:
                return None
            if not isinstance(data, dict):
                raise Unread
            return by_name[data["type"]]({k: v for k, v in data.items() if k != "type"})
        return read_tagged

    # ------------------------------------------------------------ schemas

    def schema(self, tp: Any, *, title: str | None = None,
               description: str | None = None) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) of the JSON form of ``tp``.

        It walks the same type hints as :meth:`encode` and :meth:`decode` and
        states their conventions; value classes are ``$defs`` named after
        the class.  The codec may check more (a milestone's ``due_on`` for
        its trigger, amounts exact to the currency): the schema is the
        shape, the codec the meaning.

        >>> CODEC.schema(Money)["$defs"]["Money"]["required"]
        ['amount', 'currency']
        """
        walker = _SchemaWalker(self)
        root = walker.node(tp)
        head: dict[str, Any] = {"$schema": SCHEMA_DIALECT}
        if title is not None:
            head["title"] = title
        if description is not None:
            head["description"] = description
        return {**head, **root, "$defs": dict(sorted(walker.defs.items()))}



_KIND: dict[Any, str] = {str: "a string", int: "a whole number", bool: "true or false"}

#: The JSON Schema dialect of :meth:`Codec.schema`.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _text(pattern: str, description: str, **extra: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "description": description, **extra}


# The written forms of the scalars, with what the codec's messages call them.
_DATE = _text(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "an ISO date string such as '2025-01-31'",
              format="date")
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    Decimal: _text(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
                   "a decimal string such as '3.5'"),
    Fraction: _text(r"^-?[0-9]+/[0-9]+$", "a fraction string such as '1/3'"),
    date: _DATE,
    datetime: _text(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                    r"(Z|[+-][0-9]{2}:[0-9]{2})$",
                    "an ISO 8601 datetime with its zone, such as '2026-03-02T09:30:00+00:00'",
                    format="date-time"),
    Currency: _text(r"^[A-Z]{3}$", "an ISO 4217 code such as 'USD'"),
    PlanKey: _text(r"^(d:[^:]+:)?(m:.+|r:.+:[0-9]{4}-[0-9]{2}-[0-9]{2}|i:.+:[1-9][0-9]*)$",
                   "a plan key such as 'm:<milestone>', 'r:<item>:<YYYY-MM-DD>', "
                   "'i:<plan>:<n>' or 'd:<discount>:<key>'"),
}
_MONEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Money",
    "description": "An exact amount: the amount as a decimal string, never a number.",
    "properties": {
        "amount": _text(r"^-?[0-9]+(\.[0-9]+)?$", "a decimal string such as '12.30'"),
        "currency": _SCALARS[Currency],
    },
    "required": ["amount", "currency"],
    "additionalProperties": False,
}


def _summary(tp: type) -> str:
    """The first paragraph of a class's docstring, on one line."""
    doc = (tp.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split())


class _SchemaWalker:
    """Builds one schema: a node per type, ``$defs`` for value classes and money."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.defs: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, tuple[type, bool]] = {}

    def node(self, tp: Any) -> dict[str, Any]:
        if tp is Any:
            return {}
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._union(tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.node(args[0])}
            return {"type": "array", "prefixItems": [self.node(a) for a in args],
                    "items": False, "minItems": len(args), "maxItems": len(args)}
        if origin in _MAPPINGS:
            key_tp, value_tp = typing.get_args(tp)
            return {"type": "object", "propertyNames": self.node(key_tp),
                    "additionalProperties": self.node(value_tp)}
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.node(supertype)
        if tp is Money:
            self.defs["Money"] = _MONEY_SCHEMA
            return {"$ref": "#/$defs/Money"}
        if tp in _SCALARS:
            return dict(_SCALARS[tp])
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.name.lower() for m in tp],
                    "description": _summary(tp)}
        if isinstance(tp, type) and attrs.has(tp):
            return self._value(tp, tagged=False)
        raise TypeError(f"no JSON schema for {tp}")

    def _union(self, tp: Any) -> dict[str, Any]:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            inner = self.node(options[0])
        elif all(isinstance(o, type) and attrs.has(o) for o in options):
            inner = self._tagged(options)
        else:
            raise TypeError(f"no JSON schema for {tp}: only value classes can be tagged")
        if len(options) < len(typing.get_args(tp)):
            return {"anyOf": [inner, {"type": "null"}]}
        return inner

    def _tagged(self, options: list[type]) -> dict[str, Any]:
        """A union of value classes: the ``"type"`` tag picks the class to check."""
        names = [o.__name__ for o in options]
        branches = [{"if": {"properties": {"type": {"const": n}}, "required": ["type"]},
                     "then": self._value(o, tagged=True)} for n, o in zip(names, options,
                                                                         strict=True)]
        return {"type": "object", "required": ["type"],
                "properties": {"type": {"enum": names}}, "allOf": branches}

    def _value(self, tp: type, *, tagged: bool) -> dict[str, Any]:
        name = tp.__name__
        ref = {"$ref": f"#/$defs/{name}"}
        owner = self.owners.setdefault(name, (tp, tagged))
        if owner != (tp, tagged):
            raise TypeError(f"two schemas named {name!r}: {owner} and {(tp, tagged)}")
        if name in self.defs:
            return ref
        self.defs[name] = {}  # a class may refer to itself
        hints = self.codec._fields(tp)
        properties: dict[str, Any] = {"type": {"const": name}} if tagged else {}
        required = ["type"] if tagged else []
        for a in attrs.fields(tp):
            prop = self.node(hints[a.name])
            default = _default(a)
            if default is not attrs.NOTHING:
                prop = {**prop, "default": self.codec.encode(default, hints[a.name])}
            else:
                required.append(_key(a))
            properties[_key(a)] = prop
        self.defs[name] = {"type": "object", "title": name, "description": _summary(tp),
                           "properties": properties, "required": required,
                           "additionalProperties": False}
        return ref


def _default(a: attrs.Attribute[Any]) -> Any:
    """A field's default value, or ``attrs.NOTHING`` when it must be given (or
    depends on the other fields)."""
    default: Any = a.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return attrs.NOTHING if default.takes_self else default.factory()
    return default


#: The library's codec.
CODEC = Codec()


def encode(value: Any, tp: Any = None) -> Any:
    """The JSON form of ``value`` (declared as ``tp``, default its own class)."""
    return CODEC.encode(value, type(value) if tp is None else tp)


def decode(data: Any, tp: Any, field: str = "") -> Any:
    """Read the JSON form of a ``tp``; errors name ``field`` and the path below it."""
    return CODEC.decode(data, tp, field)


def encode_tagged(value: Any) -> dict[str, Any]:
    """The JSON form of a value class with its class name under ``"type"`` first
    (how a stream's events are written).

    >>> from milestonebill.money import Money
    >>> encode_tagged(Money("1.50", "EUR"))
    {'type': 'Money', 'amount': '1.50', 'currency': 'EUR'}
    """
    return {"type": type(value).__name__, **encode(value)}


def decode_tagged(data: Any, kinds: Mapping[str, type], field: str) -> Any:
    """Read what :func:`encode_tagged` wrote, the class chosen among ``kinds``
    (name to class) by its ``"type"``; unknown types and fields are refused.

    >>> from milestonebill.money import Money
    >>> decode_tagged({"type": "Money", "amount": "1.50", "currency": "EUR"}, {"Money": Money}, "x")
    Money('1.50', 'EUR')
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise ValidationError(field, "an object with a 'type' string", data)
    kind = kinds.get(data["type"])
    if kind is None:
        raise ValidationError(f"{field}.type", f"one of {sorted(kinds)}", data["type"])
    return decode({k: v for k, v in data.items() if k != "type"}, kind, field)


def canonical_json(value: Mapping[str, Any] | str, field: str = "payload") -> str:
    """Canonical JSON text of a JSON object: sorted keys, no spaces.

    Floats are refused (money is never a float; write amounts as strings).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``field`` for a
    value that is not a JSON object, holds a float, or cannot be serialised.

    >>> canonical_json({"b": 1, "a": {"amount": "1.50"}})
    '{"a":{"amount":"1.50"},"b":1}'
    >>> canonical_json('{"x": [1, 2]}')
    '{"x":[1,2]}'
    """
    data = parse_json_object(value, field) if isinstance(value, str) else value
    if not isinstance(data, Mapping):
        raise ValidationError(field, "a JSON object (dict or JSON text)", value)
    refuse_floats(data, field)
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, "JSON-serialisable", value) from exc
    if not text.isascii():
        check_encodable(text, field)
    return text


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
    raise too_deep(field)


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
        raise too_deep(field) from None
    except ValueError as exc:  # JSONDecodeError, or an int of over 4300 digits
        raise ValidationError(field, "JSON text of an object", f"not valid JSON: {exc}") from None
    # Fewer brackets than the bound allows levels cannot nest too deep.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_parsed_depth(data, field)
    if not isinstance(data, dict):
        raise ValidationError(field, "JSON text of an object", text)
    return data

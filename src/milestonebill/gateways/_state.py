"""Reading saved gateway state back: small checks that name the path of a bad value.

Private to :mod:`milestonebill.gateways`; used by
:meth:`~milestonebill.gateways.memory.InMemoryGateway.from_state`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from milestonebill._json import decode
from milestonebill.errors import ValidationError

__all__ = ["count", "field", "keyed", "known", "listed", "record"]

T = TypeVar("T")


def record(data: object, path: str, expected: str) -> dict[str, Any]:
    """``data`` when it is a JSON object with string keys."""
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValidationError(path, expected, data)
    return data


def known(data: dict[str, Any], path: str, names: Sequence[str]) -> None:
    """Refuse a key of ``data`` that is not one of ``names``."""
    extra = sorted(set(data) - set(names))
    if extra:
        raise ValidationError(f"{path}.{extra[0]}", "a field of the gateway state", extra[0])


def count(data: object, path: str) -> int:
    """A whole number >= 0."""
    if type(data) is not int or data < 0:
        raise ValidationError(path, "a whole number >= 0", data)
    return data


def field(data: dict[str, Any], name: str, tp: Any, path: str) -> Any:
    """The value of ``data[name]`` read as a ``tp``."""
    return decode(data.get(name), tp, f"{path}.{name}")


def listed(data: dict[str, Any], name: str, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Each object of the list ``data[name]`` (default empty) with its path."""
    items = data.get(name, [])
    if not isinstance(items, list):
        raise ValidationError(f"{path}.{name}", "a list of objects", items)
    for i, item in enumerate(items):
        yield record(item, f"{path}.{name}[{i}]", "an object"), f"{path}.{name}[{i}]"


def keyed(data: dict[str, Any], name: str, path: str,
          read: Callable[[dict[str, Any], str], T]) -> dict[str, T]:
    """The list ``data[name]`` of objects with a ``key`` as a dict, in order."""
    return {field(item, "key", str, p): read(item, p) for item, p in listed(data, name, path)}

"""Values worked out from an agreement, kept with it by key.  Private.

An :class:`~milestonebill.agreement.Agreement` never changes, so anything
computed from it alone -- what it still bills by a horizon, its pending
differences -- can be kept with it (:meth:`Agreement.derived`) and found
again by the next report or unit of work that asks.  :func:`kept` keeps a few
such values per kind, by key, and forgets them all when a kind holds more
(a long-lived agreement asked about many horizons must not grow without
bound); :func:`slot` and :func:`fill` keep one value per kind.

The values sit in the agreement's own table of derived values, under keys
whose first item names the kind (``"kept:owed"``): no table per kind and
agreement.  A key of plain values (a tag and a date) is one the garbage
collector stops tracking, and one the caller makes once for a whole firm
(a tag, a date and the assumptions of a forecast) is shared by every
agreement, so what a report keeps costs the collector its values alone.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from milestonebill.agreement import Agreement

__all__ = ["entries", "fill", "kept", "slot"]

_V = TypeVar("_V")

#: How many values of one kind an agreement keeps at most.
AT_MOST = 8


def _table(agreement: Agreement) -> dict[object, Any]:
    # The agreement's table of derived values (see Agreement.derived), shared with it.
    return agreement._memo


def kept(agreement: Agreement, key: tuple[Hashable, ...], compute: Callable[[], _V], *,
         at_most: int = AT_MOST) -> _V:
    """``compute()``, kept with ``agreement`` under ``key``, whose first item is the
    kind's tag (a string starting ``"kept:"``); at most ``at_most`` values per kind."""
    table = _table(agreement)
    got: _V | None = table.get(key)
    if got is None:
        tag = key[0]
        n: int = table.get(tag, 0)
        if n >= at_most:  # forget the kind's values (another thread may be at it too)
            for k, _value in _of_kind(table, tag):
                table.pop(k, None)
            n = 0
        got = table[key] = compute()
        table[tag] = n + 1
    return got


def entries(agreement: Agreement, tag: str) -> list[tuple[tuple[Any, ...], Any]]:
    """The (key, value) pairs of one kind that ``agreement`` keeps now."""
    return _of_kind(_table(agreement), tag)


def _of_kind(table: dict[object, Any], tag: Hashable) -> list[tuple[tuple[Any, ...], Any]]:
    # A copy of the items first: another thread may add to the table meanwhile.
    return [(k, v) for k, v in list(table.items()) if type(k) is tuple and k[0] == tag]


def slot(agreement: Agreement, tag: str) -> Any:
    """The one value of kind ``tag`` kept with ``agreement`` (``None``: none yet)."""
    return _table(agreement).get(tag)


def fill(agreement: Agreement, tag: str, value: object) -> None:
    """Keep ``value`` as the one value of kind ``tag``, replacing any before it."""
    _table(agreement)[tag] = value

"""Values worked out from an agreement, kept with it by key.  Private.

An :class:`~milestonebill.agreement.Agreement` never changes, so anything
computed from it alone -- what it still bills by a horizon, its pending
differences -- can be kept with it (:meth:`Agreement.derived`) and found
again by the next report or unit of work that asks.  :func:`kept` keeps a few
such values per kind, by key, and forgets them all when a kind holds more
(a long-lived agreement asked about many horizons must not grow without
bound).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from milestonebill.agreement import Agreement

__all__ = ["kept"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

#: How many values of one kind an agreement keeps at most.
AT_MOST = 8


def kept(agreement: Agreement, kind: Callable[[Agreement], dict[_K, _V]], key: _K,
         compute: Callable[[], _V]) -> _V:
    """``compute()``, kept with ``agreement`` under ``key`` in the table ``kind``
    (a dict class built from the agreement, so each kind has its own; see
    :meth:`~milestonebill.agreement.Agreement.derived`)."""
    table = agreement.derived(kind)
    got = table.get(key)
    if got is None:
        if len(table) >= AT_MOST:
            table.clear()
        got = table[key] = compute()
    return got

"""The optional store role the batched billing run needs: savepoints.

A run bills a claim batch of agreements in a few transactions instead of a
few per agreement (see ``docs/batching.md``).  Inside the one transaction
that issues the batch's invoices, each agreement's work runs under a
savepoint, so one agreement that fails rolls back only its own writes and
the others still commit.  A store that does not offer :class:`Savepoints`
is billed one agreement at a time, as before; every shipped store offers it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

__all__ = ["Savepoints"]


@runtime_checkable
class Savepoints(Protocol):
    """Role: a nested unit of work inside an open transaction.

    ``savepoint()`` used inside ``transaction()`` marks a point the writes
    made in its block roll back to when the block raises, leaving the
    writes before it (and the enclosing transaction) intact; on a normal
    exit the block's writes stay part of the enclosing transaction and
    commit or roll back with it.  Used outside a transaction it behaves as
    ``transaction()``.
    """

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested unit of work (see the class docstring)."""

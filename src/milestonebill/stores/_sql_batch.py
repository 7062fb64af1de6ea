"""Savepoints in SQL, shared by both relational stores (private).

:class:`BatchSQL` adds the :class:`~milestonebill.stores.batch.Savepoints`
role to :class:`~milestonebill.stores._sql.SQLStoreBase`: the batched billing
run nests one savepoint per agreement in the transaction that issues a
claim batch's invoices.  ``SAVEPOINT`` / ``ROLLBACK TO`` / ``RELEASE`` are
the same words in SQLite and PostgreSQL; on PostgreSQL rolling back to the
savepoint also clears the aborted state a failed statement leaves, so the
enclosing transaction can go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from milestonebill.stores._sql import SQLStoreBase


class BatchSQL(SQLStoreBase):
    """:class:`SQLStoreBase` with savepoints."""

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """See :class:`~milestonebill.stores.batch.Savepoints`."""
        with self._tx() as cur:
            depth: int = getattr(self._local, "savepoints", 0)
            name = f"mb_savepoint_{depth + 1}"
            self._run(cur, f"SAVEPOINT {name}")
            self._local.savepoints = depth + 1
            try:
                yield
            except BaseException:
                self._run(cur, f"ROLLBACK TO SAVEPOINT {name}")
                self._run(cur, f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self._run(cur, f"RELEASE SAVEPOINT {name}")
            finally:
                self._local.savepoints = depth

"""A fair worker over many tenants: every firm's due work gets its turn.

One deployment may bill thousands of firms (tenants) from one database.  A
worker that ran one tenant's :meth:`~milestonebill.engine.Biller.run` to the
end before the next would let a firm with 10,000 agreements due hold up one
with ten.  :class:`TenantScheduler` takes **turns** instead: each turn bills
at most ``batch`` agreements of one tenant (``Biller.run(as_of,
limit=batch)``), and the tenants take turns round-robin, so between two
turns of a tenant every other tenant with work has one.  A tenant with no
more due work drops out of the rotation; the run ends when none is left.

* The tenants are listed afresh (``store.platform().tenants()``) before
  every round, so a firm that joins during a long run gets its turns.
* Within a run the tenants keep one cyclic order; each :meth:`~TenantScheduler.run`
  starts one tenant further on than the run before it, so no tenant is
  always first.
* ``biller_for(tenant)`` is called once per tenant and the Biller kept for
  the scheduler's life.  It must return a Biller bound to that tenant (its
  store is ``store.for_tenant(tenant)``, its gateway that firm's): one bound
  elsewhere is refused before it bills anything.
* A tenant whose Biller raises (its database role was revoked, its gateway
  credentials are wrong...) is reported in :attr:`~TenantScheduler.failures`
  and leaves the rotation; the others go on.
* An agreement is billed at most once per run, as in a single Biller run:
  a turn that only met agreements this run already handled (work that
  came back due the same day) ends that tenant's part of the run.

Several schedulers -- threads or processes, each with its own store handle
-- may run at once over one database: the Billers' claims (leases) keep
them from billing one agreement twice.  A scheduler itself belongs to one
thread.

>>> from datetime import date
>>> from milestonebill.engine.results import RunSummary
>>> from milestonebill.ids import AgreementId, TenantId
>>> class Platform:                      # a stand-in for store.platform()
...     def tenants(self): return [TenantId("acme"), TenantId("bolt")]
...     def rename_tenant(self, old, new): raise NotImplementedError
>>> class Store:                         # a stand-in for a tenant-bound store
...     tenant = TenantId("acme")
...     def for_tenant(self, t): raise NotImplementedError
...     def platform(self): return Platform()
>>> class Queue:                         # a stand-in Biller: due agreements, a turn log
...     turns = []
...     def __init__(self, tenant, due): self.tenant, self.due = tenant, due
...     def run(self, as_of, *, limit=None):
...         taken, self.due = self.due[:limit], self.due[limit:]
...         Queue.turns.append((self.tenant, len(taken)))
...         return RunSummary(as_of, agreements=tuple(AgreementId(a) for a in taken))
>>> due = {"acme": [f"a{i}" for i in range(5)], "bolt": ["b1"]}
>>> scheduler = TenantScheduler(Store(), lambda t: Queue(t, due[t]), batch=2)
>>> summaries = scheduler.run(date(2026, 3, 2))
>>> Queue.turns
[('acme', 2), ('bolt', 1), ('acme', 2), ('bolt', 0), ('acme', 1), ('acme', 0)]
>>> {t: s.counts.agreements for t, s in summaries.items()}
{'acme': 5, 'bolt': 1}
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

import attrs

from milestonebill._validate import check_billing_date, check_int
from milestonebill.engine._redact import describe
from milestonebill.engine.results import RunSummary
from milestonebill.errors import ValidationError
from milestonebill.ids import TenantId
from milestonebill.stores.tenancy import PlatformSource

__all__ = ["TenantBiller", "TenantFailure", "TenantScheduler"]


class TenantBiller(Protocol):
    """Role: what the scheduler needs of a Biller (every
    :class:`~milestonebill.engine.Biller` is one)."""

    @property
    def tenant(self) -> TenantId:
        """The tenant whose data it bills."""

    def run(self, as_of: date, *, limit: int | None = None) -> RunSummary:
        """Bill what is due by ``as_of``, claiming at most ``limit`` agreements."""


@attrs.frozen
class TenantFailure:
    """A tenant the scheduler could not bill in a run: what was raised (redacted)."""

    tenant: TenantId
    #: The exception's class name (``"StoreError"``).
    error: str
    #: Its message, with anything like a card number masked.
    message: str


@attrs.define
class _Progress:
    """One tenant's part of a run: its summary so far and the agreements handled."""

    summary: RunSummary | None = None
    handled: set[str] = attrs.Factory(set)


class TenantScheduler:
    """Bills every tenant's due work in fair turns of at most ``batch`` agreements.

    ``store`` is any store bound to a tenant
    (:class:`~milestonebill.stores.tenancy.TenantBound`), or a directory of
    one SQLite file per tenant
    (:class:`~milestonebill.stores.sqlite.SQLiteTenantFiles`): only its
    ``platform()`` is used, to list the tenants.  ``biller_for(tenant)``
    makes the Biller of one tenant (called once per tenant, then kept).  ``summary_limit`` caps how many
    of each kind of result a tenant's merged summary keeps (``None``: all;
    its ``counts`` count them all).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``store``
    for a store that is not tenant-bound, ``biller_for`` for anything but a
    function, ``batch`` for a number of agreements below 1, or
    ``summary_limit`` for a negative one.
    """

    def __init__(self, store: PlatformSource, biller_for: Callable[[TenantId], TenantBiller], *,
                 batch: int = 50, summary_limit: int | None = 1000) -> None:
        if not callable(getattr(store, "platform", None)):
            raise ValidationError("store", "a tenant-bound store (with platform())", store)
        if not callable(biller_for):
            raise ValidationError("biller_for", "a function of a tenant id returning its Biller",
                                  biller_for)
        self._batch = check_int("batch", batch, at_least=1, unit="agreements")
        if summary_limit is not None:
            check_int("summary_limit", summary_limit, at_least=0, unit="results")
        self._store, self._biller_for, self._keep = store, biller_for, summary_limit
        self._billers: dict[TenantId, TenantBiller] = {}
        self._runs = 0
        self._failures: dict[TenantId, TenantFailure] = {}

    @property
    def batch(self) -> int:
        """The most agreements one turn bills."""
        return self._batch

    @property
    def failures(self) -> dict[TenantId, TenantFailure]:
        """The tenants the last :meth:`run` could not bill, and why."""
        return dict(self._failures)

    def run(self, as_of: date) -> dict[TenantId, RunSummary]:
        """Bill every tenant's work due by ``as_of`` in fair turns; each tenant's summary.

        Every tenant that had a turn has a summary: all its turns combined
        (:meth:`~milestonebill.engine.results.RunSummary.combine`), empty
        when nothing of it was due.  A tenant that failed is in
        :attr:`failures` (and keeps the summary of the turns it finished).
        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``as_of`` for anything but a date in the supported range.
        """
        check_billing_date("as_of", as_of)
        self._failures = {}
        platform = self._store.platform()
        progress: dict[TenantId, _Progress] = {}
        finished: set[TenantId] = set()
        last: TenantId | None = None
        while tenants := [t for t in sorted(platform.tenants()) if t not in finished]:
            if last is None:  # each run starts one tenant further on than the last one
                order = _rotated(tenants, tenants[self._runs % len(tenants)])
            else:  # then one cyclic order: the tenant after the last one served first
                order = _rotated(tenants, next((t for t in tenants if t > last), tenants[0]))
            for t in order:
                last = t
                if not self._turn(t, as_of, progress.setdefault(t, _Progress())):
                    finished.add(t)
        self._runs += 1
        return {t: p.summary for t, p in sorted(progress.items()) if p.summary is not None}

    def _turn(self, tenant: TenantId, as_of: date, progress: _Progress) -> bool:
        """One turn of ``tenant``; ``True`` when it may have more work due."""
        try:
            summary = self._biller(tenant).run(as_of, limit=self._batch)
            progress.summary = (progress.summary or RunSummary(as_of)).combine(
                summary, limit=self._keep)
        except Exception as exc:
            error, message = describe(exc)
            self._failures[tenant] = TenantFailure(tenant, error, message)
            return False
        handled = set(summary.agreements)
        if not handled and (summary.counts is None or summary.counts.agreements == 0):
            return False  # nothing of this tenant is due any more
        if summary.complete and handled <= progress.handled:
            return False  # only work that came back due today: left for the next run
        progress.handled |= handled
        return True

    def _biller(self, tenant: TenantId) -> TenantBiller:
        biller = self._billers.get(tenant)
        if biller is None:
            biller = self._biller_for(tenant)
            if getattr(biller, "tenant", None) != tenant:
                raise ValidationError("biller_for", f"a Biller bound to tenant {tenant!r}",
                                      getattr(biller, "tenant", biller))
            self._billers[tenant] = biller
        return biller


def _rotated(tenants: list[TenantId], first: TenantId) -> list[TenantId]:
    """``tenants`` in cyclic order starting at ``first``."""
    at = tenants.index(first)
    return tenants[at:] + tenants[:at]

"""Tenants: many firms in one store, each seeing only its own data.

A *tenant* is one firm on a shared deployment.  It is part of the identity
of everything a store keeps -- agreements, proposals, events, due work,
invoice and credit-note numbers, charge attempts, the outbox, ledger entries,
work links and sync journals -- so two tenants may use the same agreement
ids, event ids, invoice ids and numbers without meeting.

Every shipped store is **bound to one tenant** (:class:`TenantBound`): it is
opened for a tenant (``tenant=``, default :data:`DEFAULT_TENANT`, which is
where a single-firm deployment's data lives), and every method of the
:class:`~milestonebill.stores.base.AgreementStore` port, the ledger and the
sync journal reads and writes that tenant's rows only.
:meth:`TenantBound.for_tenant` gives a store bound to another tenant that
shares the same database connections (or, in memory, the same process
state), so one process can serve many firms without opening a pool per firm.

The only calls that see more than one tenant are platform-level ones, kept
on a separate object so a call site says so: :meth:`TenantBound.platform`
returns a :class:`PlatformStore` (listing tenants, moving a single-firm
store's data into a named tenant).

>>> check_tenant("acme-llp")
'acme-llp'
>>> check_tenant(" acme")
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'tenant' must be a non-empty string without surrounding spaces (got ' acme')
"""

from __future__ import annotations

from typing import Final, Protocol, Self, runtime_checkable

from milestonebill._validate import check_id
from milestonebill.ids import TenantId

__all__ = [
    "DEFAULT_TENANT",
    "PlatformSource",
    "PlatformStore",
    "TenantBound",
    "TenantId",
    "check_tenant",
    "tenant_file_stem",
]

#: The tenant a store is bound to when none is named; a store made before
#: tenancy existed keeps its data here after migrating.
DEFAULT_TENANT: Final = TenantId("default")


def check_tenant(value: object, field: str = "tenant") -> TenantId:
    """``value`` as a :data:`~milestonebill.ids.TenantId`, checked like every id.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``field``
    for anything that is not an id (see :func:`milestonebill._validate.check_id`).
    """
    return TenantId(check_id(field, value))


#: Characters a tenant's file name keeps as they are; every other one is
#: written as ``%XX`` per UTF-8 byte.  No capitals, so two tenants never get
#: names that differ only in case (one file on a case-insensitive disk).
_FILE_SAFE: Final[frozenset[str]] = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
#: Names Windows keeps for devices, whatever the extension.
_RESERVED: Final[frozenset[str]] = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
     *(f"lpt{i}" for i in range(10))])


def tenant_file_stem(tenant: str) -> str:
    """``tenant`` as the stem of a file name of its own, one-to-one and safe.

    Lower-case ASCII letters, digits, ``-`` and ``_`` stay; every other
    character becomes ``%XX`` per UTF-8 byte, and a name Windows reserves
    has its first letter written so.  Two tenants never get names that
    differ only in case, and no stem is ``.``, ``..`` or holds a separator.
    Used by :class:`~milestonebill.stores.sqlite.SQLiteTenantFiles` and the
    command's per-tenant gateway state files.

    >>> tenant_file_stem("acme-llp"), tenant_file_stem("Acme LLP"), tenant_file_stem("con")
    ('acme-llp', '%41cme%20%4C%4C%50', '%63on')
    """
    stem = "".join(ch if ch in _FILE_SAFE else "".join(f"%{b:02X}" for b in ch.encode())
                   for ch in tenant)
    if stem in _RESERVED:
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    return stem


@runtime_checkable
class PlatformStore(Protocol):
    """Platform-level calls: the only store calls that cross tenants.

    A deployment's operators use them (a scheduler choosing whose work to
    run, a migration); a firm's code path never needs them.
    """

    def tenants(self) -> list[TenantId]:
        """Every tenant a store has been bound to, sorted."""

    def rename_tenant(self, old: str, new: str) -> None:
        """Move every row of tenant ``old`` to tenant ``new``, in one transaction.

        This is how a single-firm store joins a shared deployment: its data
        sits in :data:`DEFAULT_TENANT` after the schema migration and is
        renamed to the firm's tenant id.  Raises
        :class:`~milestonebill.errors.NotFoundError` when ``old`` is not a
        tenant, :class:`~milestonebill.errors.DuplicateIdError` when ``new``
        already holds data (tenants are never merged), and
        :class:`~milestonebill.errors.ValidationError` naming ``old`` or
        ``new`` for a bad id.
        """


@runtime_checkable
class PlatformSource(Protocol):
    """Role: what gives the platform-level calls -- every tenant-bound store,
    and :class:`~milestonebill.stores.sqlite.SQLiteTenantFiles` (one file per tenant)."""

    def platform(self) -> PlatformStore:
        """The platform-level calls (see :class:`PlatformStore`)."""


@runtime_checkable
class TenantBound(PlatformSource, Protocol):
    """Role: a store bound to one tenant (every shipped store is)."""

    @property
    def tenant(self) -> TenantId:
        """The tenant every call of this store reads and writes."""

    def for_tenant(self, tenant: str) -> Self:
        """A store bound to ``tenant`` sharing this one's connections or state.

        Closing the store it was made from closes both; closing the returned
        one does nothing.  Raises :class:`~milestonebill.errors.ValidationError`
        naming ``tenant`` for a bad id.
        """

    def platform(self) -> PlatformStore:
        """The platform-level calls over the same database (see :class:`PlatformStore`)."""

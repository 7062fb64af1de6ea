"""The tenant isolation contract, run against every shipped store.

Each store is run over one database shared by both tenants: the in-memory
store through views of one root, SQLite both as a store opened per tenant
on one file and as views of one store, PostgreSQL as a store per tenant on
one schema and as views of one pool.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from milestonebill.clock import Clock
from milestonebill.errors import InvalidTransitionError
from milestonebill.stores.base import FirmId, InvoiceId
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.tenancy import DEFAULT_TENANT
from milestonebill.testing.tenant_contract import (
    TENANT_A,
    TenantIsolationContract,
    TenantStore,
    TenantStoreFactory,
)


class TestInMemoryTenants(TenantIsolationContract):
    @pytest.fixture
    def make_store(self) -> TenantStoreFactory:
        return _views_of_one_root(InMemoryStore)

    # The in-memory store's own promises, beyond the contract.

    def test_a_store_made_without_a_tenant_is_bound_to_the_default_one(self) -> None:
        store = InMemoryStore()
        assert (store.tenant, store.platform().tenants()) == (DEFAULT_TENANT, [DEFAULT_TENANT])

    def test_a_rollback_on_one_view_keeps_another_views_writes_in_the_same_thread(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        def crash_as_a_after_b_wrote() -> None:
            with a.transaction():
                a.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
                b.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
                with b.savepoint():
                    b.add_notification("n1", None, "invoice.issued", {})
                raise ValueError("A's unit of work fails")

        b.issue_invoice_number(FirmId("globex"), InvoiceId("inv-0"))
        with pytest.raises(ValueError, match="A's unit of work fails"):
            crash_as_a_after_b_wrote()
        assert (a.get_invoice(InvoiceId("inv-1")), b.get_invoice(InvoiceId("inv-1")) is not None,
                len(b.pending_notifications())) == (None, True, 1)

    def test_a_rollback_on_one_view_inside_anothers_unit_of_work_undoes_only_its_own(
        self, a: TenantStore, b: TenantStore
    ) -> None:
        def crash_as_b() -> None:
            with b.transaction():
                b.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
                raise ValueError("B's unit of work fails")

        with a.transaction():
            a.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
            with pytest.raises(ValueError, match="B's unit of work fails"):
                crash_as_b()
        assert (a.get_invoice(InvoiceId("inv-1")) is not None,
                b.get_invoice(InvoiceId("inv-1"))) == (True, None)

    def test_renaming_inside_a_unit_of_work_is_refused(self, a: TenantStore) -> None:
        a.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"))
        with pytest.raises(InvalidTransitionError), a.transaction():
            a.platform().rename_tenant(TENANT_A, "tenant-c")
        assert (a.platform().tenants(), a.get_invoice(InvoiceId("inv-1")) is not None) == (
            [TENANT_A], True)


def _views_of_one_root(open_store: Callable[..., TenantStore]) -> TenantStoreFactory:
    """The first tenant's store opened, a view of it for each further tenant."""
    roots: list[TenantStore] = []

    def make(clock: Clock, tenant: str) -> TenantStore:
        if not roots:
            roots.append(open_store(clock=clock, tenant=tenant))
            return roots[0]
        return roots[0].for_tenant(tenant)

    return make


class TestSQLiteTenantsOpenedApart(TenantIsolationContract):
    """One file, a store opened for each tenant (as separate processes would)."""

    @pytest.fixture
    def make_store(self, open_sqlite: Callable[..., TenantStore]) -> TenantStoreFactory:
        return lambda clock, tenant: open_sqlite(clock=clock, tenant=tenant)


class TestSQLiteTenantViews(TenantIsolationContract):
    """One file, one store, a view for each further tenant."""

    @pytest.fixture
    def make_store(self, open_sqlite: Callable[..., TenantStore]) -> TenantStoreFactory:
        return _views_of_one_root(open_sqlite)


@pytest.mark.postgres
class TestPostgresTenantsOpenedApart(TenantIsolationContract):
    """One schema, a pool opened for each tenant (as separate processes would)."""

    @pytest.fixture
    def make_store(self, open_postgres: Callable[..., TenantStore]) -> TenantStoreFactory:
        return lambda clock, tenant: open_postgres(clock=clock, tenant=tenant)


@pytest.mark.postgres
class TestPostgresTenantViews(TenantIsolationContract):
    """One schema, one pool, a view for each further tenant."""

    @pytest.fixture
    def make_store(self, open_postgres: Callable[..., TenantStore]) -> TenantStoreFactory:
        return _views_of_one_root(open_postgres)

"""Four fair multi-tenant workers over three tenants in one database (issue #18).

Three tenants each hold 1,000 agreements under the *same* ids (``agr-0000``
...), with different content: each tenant's deposit is a different amount
and its clients' cards are its own.  Four worker threads -- each with its
own store handle (one ``SQLiteStore`` per thread on one file, or one
``PostgresStore`` with a small pool per thread) -- each run a
:class:`~milestonebill.engine.tenants.TenantScheduler` at the same moment;
``biller_for(t)`` gives tenant ``t`` a Biller on the worker's handle bound
to ``t`` and tenant ``t``'s own in-memory gateway.  Then, for each tenant:

* every agreement was invoiced exactly once, and the invoice numbers of its
  firm are 1..1,000 without gaps or repeats (both tenants' sequences start
  at 1: numbering is per tenant and firm);
* its gateway was charged once per invoice, only for its own clients' cards
  and its own amount -- no gateway saw another tenant's agreement;
* every journal entry in its ledger is for its own amount, and the ledger
  totals equal its own invoices (cash in clearing = 1,000 x its deposit);
* nothing is left due and no attempt is left unfinished.

The same runs on one ``InMemoryStore`` (every worker a view of it), in
addition to the real databases.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from milestonebill.agreement import AgreementId, PaymentMethodKind, PaymentMethodRef
from milestonebill.engine import Biller, FixedClock, RunSummary, TenantScheduler, WorkerId
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import TenantId
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import FIRM, T0, proposal, signed, usd

pytestmark = pytest.mark.slow

AS_OF = T0.date()
WORKERS = 4
AGREEMENTS = 1000
#: Each tenant's deposit: the same agreement ids, different content.
FEES = {TenantId("acme"): "100.00", TenantId("bolt"): "200.00", TenantId("cole"): "300.00"}
Opener = Callable[[str], Any]  # tenant -> a store handle bound to it


def _seed(opener: Opener) -> None:
    for tenant, fee in FEES.items():
        store = opener(tenant)
        try:
            offer = proposal([Milestone(MilestoneId("deposit"), "Deposit", amount=usd(fee),
                                        trigger=Trigger.ON_SIGNING)])
            biller = Biller(store, InMemoryGateway(), clock=FixedClock(T0), firm_id=FIRM)
            with store.transaction():
                for i in range(AGREEMENTS):
                    card = PaymentMethodRef("memory", f"cus-{tenant}-{i}", f"pm-{tenant}-{i}",
                                            PaymentMethodKind.CARD)
                    biller.open(signed(offer, payment_method=card,
                                       agreement_id=AgreementId(f"agr-{i:04d}")))
        finally:
            _close(store)


def _close(store: Any) -> None:
    """Close a store handle (an in-memory store has nothing to close)."""
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _workers(opener: Opener, gateways: dict[TenantId, InMemoryGateway]
             ) -> list[tuple[dict[TenantId, RunSummary], dict[TenantId, Any]]]:
    start = threading.Barrier(WORKERS)
    results: list[Any] = [None] * WORKERS
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            root = opener("acme")  # any tenant: the scheduler binds one view per tenant
            try:
                def biller_for(t: TenantId) -> Biller:
                    # Another tenant the registry lists ("default") has nothing due.
                    gateway = gateways.get(t) or InMemoryGateway()
                    return Biller(root.for_tenant(t), gateway, clock=FixedClock(T0),
                                  firm_id=FIRM, worker_id=WorkerId(f"w{n}"), batch_size=25,
                                  gateway_concurrency=1)

                scheduler = TenantScheduler(root, biller_for, batch=50)
                start.wait()
                results[n] = (scheduler.run(AS_OF), scheduler.failures)
            finally:
                _close(root)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _check_tenant(store: Any, tenant: TenantId, gateway: InMemoryGateway,
                  summaries: list[RunSummary]) -> None:
    fee = usd(FEES[tenant])
    ids = {f"agr-{i:04d}" for i in range(AGREEMENTS)}
    records = store.invoices(FIRM)
    assert sorted(r.number for r in records) == list(range(1, AGREEMENTS + 1))
    assert {r.agreement_id for r in records} == ids
    assert sum(s.counts.invoices if s.counts else 0 for s in summaries) == AGREEMENTS
    assert [p for s in summaries for p in s.problems] == []
    charges = gateway.charges
    assert Counter(c.invoice_id for c in charges) == Counter({r.invoice_id: 1 for r in records})
    assert {c.amount for c in charges} == {fee}
    assert all(c.payment_method_id.startswith(f"pm-{tenant}-") for c in charges)
    assert {c.agreement_id for c in charges} == ids
    entries = store.entries()
    assert {sum(ln.amount.minor for ln in e.lines if ln.signed_minor > 0) for e in entries} == {
        fee.minor}
    assert {e.agreement_id for e in entries} == ids
    assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
    assert store.balance(Account.CLEARING, currency="USD") == Money.from_minor(
        fee.minor * AGREEMENTS, "USD")
    assert store.list_due(AS_OF) == []
    assert store.unfinished_attempts() == []


def _check(opener: Opener) -> float:
    """Seed, run the four workers at once, check every tenant; the run's seconds."""
    _seed(opener)
    gateways = {t: InMemoryGateway() for t in FEES}
    began = time.monotonic()
    results = _workers(opener, gateways)
    seconds = time.monotonic() - began
    assert [failures for _, failures in results] == [{}] * WORKERS
    assert [t for s, _ in results for t, x in s.items()
            if t not in FEES and x.counts and x.counts.agreements] == []
    for tenant, gateway in gateways.items():
        store = opener(tenant)
        try:
            _check_tenant(store, tenant, gateway,
                          [s[tenant] for s, _ in results if tenant in s])
            assert set(store.platform().tenants()) >= set(FEES)
        finally:
            _close(store)
    # The claims were shared: more than one worker billed something.
    assert sum(1 for s, _ in results if any(x.counts and x.counts.invoices
                                            for x in s.values())) > 1
    return seconds


def test_four_workers_on_one_in_memory_store_bill_three_tenants_each_exactly_once() -> None:
    _check(InMemoryStore(clock=FixedClock(T0)).for_tenant)


def test_four_sqlite_workers_bill_three_tenants_each_exactly_once(tmp_path: Any) -> None:
    path = tmp_path / "platform.db"
    _check(lambda tenant: SQLiteStore(path, tenant=tenant, busy_timeout=60))


@pytest.mark.postgres
def test_four_postgres_workers_bill_three_tenants_each_exactly_once(pg_dsn: str,
                                                                    pg_schema: str) -> None:
    from milestonebill.stores.postgres import PostgresStore

    _check(lambda tenant: PostgresStore(pg_dsn, schema=pg_schema, pool_size=2, tenant=tenant))

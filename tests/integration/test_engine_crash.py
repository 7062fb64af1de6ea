"""A worker killed at every step boundary loses no invoice and charges nothing twice.

Each case seeds a real SQLite file, then runs ``Biller.run`` in a separate
process that dies with ``os._exit(137)`` at one step (before/after each unit
of work and around the gateway call).  The gateway is a :class:`FileGateway`:
like a remote gateway it outlives the victim.  A fresh process then recovers
(``run``, or ``reconcile`` then ``run``) and the test checks: every due
invoice issued exactly once, each invoice charged exactly once, invoice
numbers gap-free, every invoice paid and the ledger balanced.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from milestonebill.agreement import AgreementId, PaymentMethodKind, PaymentMethodRef
from milestonebill.engine import Biller, FixedClock, WorkerId
from milestonebill.invoicing import invoice_balance
from milestonebill.schedule import Milestone, MilestoneId, PaymentTerms, Trigger
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.faults import STEPS, Faults
from milestonebill.testing.file_gateway import FileGateway
from milestonebill.testing.scenarios import FIRM, T0, proposal, signed, usd

AS_OF = T0.date()
AGREEMENTS = (AgreementId("agr-a"), AgreementId("agr-b"))


def _seed(db: Path) -> None:
    offer = proposal([
        Milestone(MilestoneId("deposit"), "Deposit", amount=usd("1000.00"),
                  trigger=Trigger.ON_SIGNING),
        # Other payment terms: a second invoice for the same agreement.
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=usd("250.00"),
                  trigger=Trigger.ON_DATE, due_on=AS_OF, terms=PaymentTerms.net(30)),
    ])
    clock = FixedClock(T0)
    with SQLiteStore(db) as store:
        biller = Biller(store, FileGateway(db.with_suffix(".gw")), clock=clock, firm_id=FIRM)
        for aid in AGREEMENTS:
            card = PaymentMethodRef("file", f"cus-{aid}", f"pm-{aid}", PaymentMethodKind.CARD)
            biller.open(signed(offer, payment_method=card, agreement_id=aid))


def _victim(db: str, step: str, occurrence: int) -> None:
    seen: Counter[str] = Counter()

    def fault(at: str) -> None:
        seen[at] += 1
        if at == step and seen[at] == occurrence:
            os._exit(137)

    store = SQLiteStore(db, clock=FixedClock(T0))
    faults = Faults(fault)
    biller = Biller(faults.store(store), faults.gateway(FileGateway(Path(db).with_suffix(".gw"))),
                    clock=FixedClock(T0), firm_id=FIRM, worker_id=WorkerId("victim"))
    biller.run(AS_OF)
    store.close()


def _recover(db: str, reconcile_first: bool) -> None:
    # An hour later: the victim's claim lease has run out and its attempts are
    # past reconcile's grace period.
    later = T0 + timedelta(hours=1)
    store = SQLiteStore(db, clock=FixedClock(later))
    biller = Biller(store, FileGateway(Path(db).with_suffix(".gw")), clock=FixedClock(later),
                    firm_id=FIRM, worker_id=WorkerId("rescuer"))
    if reconcile_first:
        biller.reconcile()
    summary = biller.run(AS_OF)
    store.close()
    if summary.problems:
        raise SystemExit(f"problems: {summary.problems}")


def _in_process(target: Callable[..., object], *args: object) -> int | None:
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join(120)
    return p.exitcode


# (step, which occurrence of it, recover with reconcile() before run())
CASES = (
    [(step, 1, False) for step in STEPS]
    + [(step, 2, False) for step in STEPS]
    + [(step, 1, True) for step in ("after_attempt", "before_charge", "after_charge",
                                     "before_outcome")]
)


@pytest.mark.parametrize(("step", "occurrence", "reconcile_first"), CASES,
                         ids=[f"{s}-{n}-{'reconcile' if r else 'run'}" for s, n, r in CASES])
def test_a_crash_at_any_step_loses_nothing_and_charges_once(
        tmp_path: Path, step: str, occurrence: int, reconcile_first: bool) -> None:
    db = tmp_path / "billing.db"
    _seed(db)
    assert _in_process(_victim, str(db), step, occurrence) == 137, \
        f"the victim never reached {step} #{occurrence}"
    assert _in_process(_recover, str(db), reconcile_first) == 0

    gateway = FileGateway(db.with_suffix(".gw"))
    with SQLiteStore(db) as store:
        biller = Biller(store, gateway, clock=FixedClock(T0), firm_id=FIRM)
        agreements = [biller.load(a) for a in AGREEMENTS]
        invoices = [i for a in agreements for i in a.invoices]
        # Two invoices per agreement (deposit; kickoff on other terms), each issued once.
        assert len(invoices) == 4
        assert len({i.id for i in invoices}) == 4
        numbers = sorted(r.number for r in store.invoices(FIRM))
        assert numbers == [1, 2, 3, 4]
        assert sorted(i.number or "" for i in invoices) == [f"INV-{n:06d}" for n in numbers]
        charged = Counter(c["invoice_id"] for c in gateway.charges)
        assert charged == Counter({i.id: 1 for i in invoices})
        for a in agreements:
            for inv in a.invoices:
                assert invoice_balance(a, inv.id) == usd("0.00")
            assert len(a.payments) == 2
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert store.unfinished_attempts() == []
        assert store.list_due(AS_OF) == []

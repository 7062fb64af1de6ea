"""An onboarding that crashes at any step is finished by a retry, exactly once.

Each case proposes in a real store (in memory, or a SQLite file reopened
for the retry as a restarted worker would), then onboards through
:class:`~milestonebill.testing.faults.Faults` that raise at one step: around
the gateway calls that create the customer and save the card, and before
and after each unit of work that records a step.  A retry then runs the
same request, and the test checks that one customer, one saved method and
one signed agreement exist, that the retry repeated only the gateway calls
whose result was not recorded yet, and that the agreement bills once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from milestonebill.agreement import Agreement, AgreementId, ProposalId, complete_milestone
from milestonebill.engine import Biller, FixedClock
from milestonebill.gateways.base import GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.proposals import (
    CustomerLinked,
    PaymentMethodSaved,
    ProposalAccepted,
    ProposalStatus,
)
from milestonebill.schedule import MilestoneId
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.faults import ONBOARD_STEPS, Faults
from milestonebill.testing.scenarios import FIRM, T0, proposal

PID = ProposalId("p-1")
AID = AgreementId("p-1")
#: Crashing here leaves the customer unrecorded: the retry asks the gateway again.
CUSTOMER_AGAIN = ("before_customer", "after_customer", "before_link")
#: Crashing here leaves the saved card unrecorded.
SETUP_AGAIN = (*CUSTOMER_AGAIN, "after_link", "before_setup", "after_setup", "before_method")


class Crash(Exception):
    """Stands for the worker dying at a step."""


@pytest.fixture(params=["memory", "sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[BillingStore]]:
    """``[victim's store, rescuer's store]``: one store, or two handles on one file."""
    if request.param == "memory":
        store = InMemoryStore(clock=FixedClock(T0))
        yield [store, store]
        return
    opened = [SQLiteStore(tmp_path / "billing.db", clock=FixedClock(T0)) for _ in range(2)]
    yield list(opened)
    for s in opened:
        s.close()


def onboard(biller: Biller) -> Agreement:
    return biller.onboard(PID, option="std", signer="Ada", customer_reference="acme",
                          payment_method_token="tok_visa", at=T0)


@pytest.mark.parametrize("step", ONBOARD_STEPS)
def test_a_crash_at_any_onboarding_step_is_finished_once(stores: list[BillingStore],
                                                         step: str) -> None:
    gateway, clock = InMemoryGateway(), FixedClock(T0)
    Biller(stores[0], gateway, clock=clock, firm_id=FIRM).propose(
        proposal([("design", "1000.00")]))

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    victim = Faults(crash)
    with pytest.raises(Crash):
        onboard(Biller(victim.store(stores[0]), victim.gateway(gateway), clock=clock,
                       firm_id=FIRM))

    clock.set(T0 + timedelta(minutes=10))
    seen: list[str] = []
    watch = Faults(seen.append)
    rescuer = Biller(watch.store(stores[1]), watch.gateway(gateway), clock=clock, firm_id=FIRM)
    a = onboard(rescuer)

    assert ("before_customer" in seen, "before_setup" in seen) == (
        step in CUSTOMER_AGAIN, step in SETUP_AGAIN)
    assert ("before_accept" in seen) == (step != "after_accept")
    assert len(gateway.customers) == 1
    saved = [e for e in gateway.events if e.kind is GatewayEventKind.PAYMENT_METHOD_SAVED]
    assert len(saved) == 1
    record = rescuer.load_proposal(PID)
    kinds = [type(e) for e in record.events]
    assert [kinds.count(k) for k in (CustomerLinked, PaymentMethodSaved, ProposalAccepted)] \
        == [1, 1, 1]
    assert (record.status, rescuer.load(AID), stores[1].version(AID)) == (
        ProposalStatus.ACCEPTED, a, 1)
    assert onboard(rescuer) == a

    done = complete_milestone(rescuer.load(AID), MilestoneId("design"), by="Ada",
                              at=clock.now())
    rescuer.handle(AID, done)
    rescuer.handle(AID, done)
    assert [c.agreement_id for c in gateway.charges] == [AID]

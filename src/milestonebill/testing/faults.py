"""Crash injection for tests: see the Biller's steps through its ports, and fail at one.

The Biller has no test hooks of its own.  Its units of work are store
transactions and its money moves are gateway calls, so wrapping the store
and the gateway shows every step boundary from outside:

* ``before_<unit>`` fires at the first call that identifies a unit of work
  (before that call reaches the store, so raising there rolls the unit back
  as if it never started), ``after_<unit>`` once the unit has committed;
  the units are ``issue`` (an invoice number), ``attempt`` (a charge
  intent), ``outcome`` (a charge result), ``credit`` (customer credit moved
  or applied);
* ``before_charge`` / ``after_charge`` and ``before_refund`` /
  ``after_refund`` around each gateway call;
* ``before_complete`` before a claim is completed at the end of a run;
* a run's batched transactions hold several units (:data:`BATCH_STEPS`):
  ``before_<unit>`` fires once per unit and agreement in them, and
  ``after_<unit>`` for each when the transaction commits; a savepoint that
  rolls back forgets the units begun in it;
* for :meth:`~milestonebill.engine.Biller.onboard` (:data:`ONBOARD_STEPS`):
  ``before_customer`` / ``after_customer`` and ``before_setup`` /
  ``after_setup`` around the gateway calls that create the customer and
  save the payment method, and the units ``link`` (the customer recorded),
  ``method`` (the payment method recorded) and ``accept`` (the acceptance
  and the signed agreement).

A hook that raises (or kills the process) there is a crash at that step::

    faults = Faults(hook)
    biller = Biller(faults.store(store), faults.gateway(gateway), clock=..., firm_id=...)

While the hook runs, :attr:`Faults.agreement_id` names the agreement the
step belongs to, so a hook can fail for one agreement only (a poisoned one
among many, say).

One thread per wrapped store: the wrapper tracks the open unit per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    CustomerRef,
    CustomerRequest,
    PaymentGateway,
    RefundRequest,
    RefundResult,
    SetupRequest,
    SetupResult,
)
from milestonebill.ids import AgreementId, AttemptKey, FirmId, InvoiceId, ProposalId, WorkerId
from milestonebill.stores.base import (
    AttemptRecord,
    BillingStore,
    StoredEvent,
    StoredProposalEvent,
)
from milestonebill.stores.batch import Savepoints

__all__ = ["BATCH_STEPS", "CREDIT_STEPS", "ONBOARD_STEPS", "REFUND_STEPS", "STEPS", "Faults"]

#: The steps of one invoice's life, in the order they happen in a run.
STEPS: Final[tuple[str, ...]] = (
    "before_issue", "after_issue",
    "before_attempt", "after_attempt",
    "before_charge", "after_charge",
    "before_outcome", "after_outcome",
    "before_complete",
)

#: The steps of one invoice's life on the batched path of a run
#: (``docs/batching.md``): its issue and charge intent commit together, the
#: gateway is called, its outcome and the claim's completion commit together.
BATCH_STEPS: Final[tuple[str, ...]] = (
    "before_issue", "before_attempt", "after_issue", "after_attempt",
    "before_charge", "after_charge",
    "before_outcome", "before_complete", "after_outcome",
)

#: Around the unit of work that moves over-credits to customer credit and
#: applies credit to open invoices.
CREDIT_STEPS: Final[tuple[str, ...]] = ("before_credit", "after_credit")

#: Around each gateway refund call (its intent is journalled before it).
REFUND_STEPS: Final[tuple[str, ...]] = ("before_refund", "after_refund")

#: The steps of one onboarding, in the order they happen.
ONBOARD_STEPS: Final[tuple[str, ...]] = (
    "before_customer", "after_customer",
    "before_link", "after_link",
    "before_setup", "after_setup",
    "before_method", "after_method",
    "before_accept", "after_accept",
)

_CHARGE_KEY: Final = "mb-charge-"
#: The unit of work each proposal event marks.
_PROPOSAL_UNITS: Final = {"CustomerLinked": "link", "PaymentMethodSaved": "method",
                          "ProposalAccepted": "accept"}
_OUTCOME_EVENTS: Final = ("PaymentSucceeded", "PaymentFailed")
_CREDIT_EVENT_TAGS: Final = (":credit-added:", ":credit-applied:")


class Faults:
    """Calls ``hook(step)`` at each step boundary of the Biller wrapped with it."""

    def __init__(self, hook: Callable[[str], None]) -> None:
        self.hook = hook
        self._local = threading.local()

    @property
    def agreement_id(self) -> AgreementId | None:
        """The agreement of the step being reported on this thread: the last one
        a wrapped store or gateway call named (``None`` before any)."""
        return cast(AgreementId | None, getattr(self._local, "agreement_id", None))

    def about(self, agreement_id: str | None) -> None:
        """Note the agreement the calls that follow on this thread belong to."""
        if agreement_id is not None:
            self._local.agreement_id = AgreementId(agreement_id)

    def store(self, store: BillingStore) -> BillingStore:
        """``store``, seen by the hook."""
        return cast(BillingStore, _Store(store, self))

    def gateway(self, gateway: PaymentGateway) -> PaymentGateway:
        """``gateway``, seen by the hook."""
        return cast(PaymentGateway, _Gateway(gateway, self))

    # -- units of work, per thread

    @property
    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def begin(self, unit: str) -> None:
        """A call that identifies ``unit`` is about to reach the store.

        Inside a transaction, ``before_<unit>`` fires once per unit and
        agreement: a batched transaction that issues several agreements'
        invoices fires it for each, and ``after_<unit>`` for each when it
        commits.
        """
        if self._depth == 0:
            self.hook(f"before_{unit}")
            self._local.after = unit
            return
        units: list[tuple[str, AgreementId | None]] = self._units
        if (unit, self.agreement_id) not in units:
            units.append((unit, self.agreement_id))
            self.hook(f"before_{unit}")

    @property
    def _units(self) -> list[tuple[str, AgreementId | None]]:
        units = getattr(self._local, "units", None)
        if units is None:
            units = self._local.units = []
        return cast(list[tuple[str, AgreementId | None]], units)

    @contextmanager
    def unit(self, inner: BillingStore) -> Iterator[None]:
        """One store transaction; ``after_<unit>`` fires when the outermost commits."""
        outer = self._depth == 0
        self._local.depth = self._depth + 1
        try:
            with inner.transaction():
                yield
        except BaseException:
            if outer:
                self._local.units = []
            raise
        finally:
            self._local.depth = self._depth - 1
        if outer:
            done, self._local.units = self._units, []
            for unit, agreement_id in done:
                self.about(agreement_id)
                self.hook(f"after_{unit}")

    @contextmanager
    def savepoint(self, inner: BillingStore) -> Iterator[None]:
        """A savepoint: the units begun in it are forgotten when it rolls back."""
        mark = len(self._units)
        try:
            with cast(Savepoints, inner).savepoint():
                yield
        except BaseException:
            del self._units[mark:]
            raise

    def settle(self) -> None:
        """A call made outside any transaction has returned."""
        unit, self._local.after = getattr(self._local, "after", None), None
        if unit is not None:
            self.hook(f"after_{unit}")


class _Store:
    """A store whose unit-of-work boundaries the hook sees; everything else passes."""

    def __init__(self, inner: BillingStore, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transaction(self) -> Any:
        return self._faults.unit(self._inner)

    def savepoint(self) -> Any:
        return self._faults.savepoint(self._inner)

    def issue_invoice_number(self, firm_id: FirmId, invoice_id: InvoiceId, *,
                             agreement_id: AgreementId | None = None,
                             payload: Mapping[str, Any] | None = None) -> int:
        self._faults.about(agreement_id)
        if payload is not None and payload.get("kind") == "invoice":
            self._faults.begin("issue")
        n = self._inner.issue_invoice_number(firm_id, invoice_id, agreement_id=agreement_id,
                                             payload=payload)
        self._faults.settle()
        return n

    def record_attempt(self, key: AttemptKey, agreement_id: AgreementId, *args: Any,
                       **kwargs: Any) -> AttemptRecord:
        self._faults.about(agreement_id)
        if key.startswith(_CHARGE_KEY):
            self._faults.begin("attempt")
        rec = self._inner.record_attempt(key, agreement_id, *args, **kwargs)
        self._faults.settle()
        return rec

    def complete_attempt(self, key: AttemptKey, outcome: Any) -> AttemptRecord:
        if key.startswith(_CHARGE_KEY):
            self._faults.begin("outcome")
        rec = self._inner.complete_attempt(key, outcome)
        self._faults.settle()
        return rec

    def append(self, agreement_id: AgreementId, events: Sequence[StoredEvent],
               expected_version: int) -> int:
        self._faults.about(agreement_id)
        if any(e.type in _OUTCOME_EVENTS and ":manual:" not in e.event_id for e in events):
            self._faults.begin("outcome")
        elif any(tag in e.event_id for e in events for tag in _CREDIT_EVENT_TAGS):
            self._faults.begin("credit")
        version = self._inner.append(agreement_id, events, expected_version)
        self._faults.settle()
        return version

    def append_proposal(self, proposal_id: ProposalId, events: Sequence[StoredProposalEvent],
                        expected_version: int) -> int:
        unit = next((_PROPOSAL_UNITS[e.type] for e in events if e.type in _PROPOSAL_UNITS), None)
        if unit is not None:
            self._faults.begin(unit)
        version = self._inner.append_proposal(proposal_id, events, expected_version)
        self._faults.settle()
        return version

    def complete(self, worker_id: WorkerId, agreement_id: AgreementId, next_due_on: Any) -> None:
        self._faults.about(agreement_id)
        self._faults.hook("before_complete")
        self._inner.complete(worker_id, agreement_id, next_due_on)


class _Gateway:
    """A gateway whose money moves, customers and saved methods the hook sees; the rest passes."""

    def __init__(self, inner: PaymentGateway, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        self._faults.about(request.agreement_id)
        self._faults.hook("before_charge")
        result = self._inner.charge(request)
        self._faults.hook("after_charge")
        return result

    def refund(self, request: RefundRequest) -> RefundResult:
        self._faults.about(request.agreement_id)
        self._faults.hook("before_refund")
        result = self._inner.refund(request)
        self._faults.hook("after_refund")
        return result

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        self._faults.hook("before_customer")
        customer = self._inner.create_customer(request)
        self._faults.hook("after_customer")
        return customer

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        self._faults.hook("before_setup")
        result = self._inner.save_payment_method(request)
        self._faults.hook("after_setup")
        return result

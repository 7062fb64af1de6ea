"""What the fold looks up by key, so that folding stays linear in the history.

Private to :mod:`milestonebill.agreement`.  A :class:`Lookups` answers, for
one agreement, the questions :func:`~milestonebill.agreement.apply` and its
handlers ask on every event -- has this event id been seen, which invoice has
this id or number, which attempt keys and time-entry ids are taken, what is
an invoice's last attempt -- in constant time instead of a scan of everything folded so far.

One :class:`Lookups` is shared along a chain of agreements, each made by
applying one event to the one before: applying an event to the agreement it
describes (its *tip*) extends it in place for the new agreement.  An older
agreement of the chain finds that the shared lookups describe a later one
and cuts its own from them: a copy (at C speed) less the few events after
it -- the usual case when a worker folds new events onto an agreement it
folded before, while the result of its last unit of work went on without
it.  Lookups that describe no later state of it are built from its events
(linear, once).  A lock makes the check, the handler's reads and the extension one
step, so two threads applying events to the same agreement never see each
other's half-applied event.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar, cast

from milestonebill.agreement.events import (
    ChargeAttempted,
    CreditApplied,
    CreditIssued,
    CustomerCreditAdded,
    EstimateRevised,
    Event,
    InvoiceIssued,
    InvoiceWrittenOff,
    MilestoneCompleted,
    PaymentFailed,
    PaymentSucceeded,
    ProgressReported,
    Refunded,
    WriteOffRecovered,
)
from milestonebill.agreement.time_entries import ExpenseRecorded, TimeRecorded
from milestonebill.documents import CreditNote, Invoice

__all__ = [
    "APPENDS",
    "GROWN",
    "KEEPS_PLAN",
    "Accounts",
    "Folded",
    "Lookups",
    "appended",
    "balances",
    "hand_on",
    "invoices_by_id",
    "lookups",
    "went_on",
]

_KEY = "lookups"
_T = TypeVar("_T")

#: The fields of an agreement that its events only ever append to: a
#: :func:`~milestonebill.agreement.fold` grows them as lists and freezes them once.
GROWN: Final = ("attempts", "completion_records", "credit_notes", "credits_added",
                "credits_applied", "estimates", "failures", "forfeits", "invoices", "payments",
                "progress_reports", "recoveries", "refunds", "reminders", "write_offs")


def appended(items: tuple[_T, ...], item: _T) -> tuple[_T, ...]:
    """``items`` and then ``item``: what a handler returns for a field in :data:`GROWN`.

    Inside a fold the field is the fold's own list, which grows in place (so
    a fold of n events does not copy n tuples); anywhere else a new tuple."""
    if isinstance(items, list):
        items.append(item)
        return items
    return (*items, item)


class Folded(Protocol):
    """What the lookups read of an agreement (the fold's module imports this one)."""

    @property
    def events(self) -> tuple[Event, ...]: ...

    @property
    def _memo(self) -> dict[object, Any]: ...


class Accounts(Protocol):
    """What :func:`balances` reads of an agreement."""

    @property
    def invoices(self) -> tuple[Invoice, ...]: ...

    @property
    def credit_notes(self) -> tuple[CreditNote, ...]: ...

    @property
    def payments(self) -> tuple[PaymentSucceeded, ...]: ...

    @property
    def refunds(self) -> tuple[Refunded, ...]: ...

    @property
    def credits_added(self) -> tuple[CustomerCreditAdded, ...]: ...

    @property
    def credits_applied(self) -> tuple[CreditApplied, ...]: ...

    @property
    def write_offs(self) -> tuple[InvoiceWrittenOff, ...]: ...

    @property
    def recoveries(self) -> tuple[WriteOffRecovered, ...]: ...


class Lookups:
    """Keyed views of one agreement's events (see the module docstring)."""

    __slots__ = ("attempt_keys", "events", "invoice_numbers", "invoices", "last",
                 "last_attempt", "lock", "time_entries", "tip", "tip_agreement")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: The last event folded in: the lookups describe the agreement it ends.
        self.last: Event | None = None
        #: That agreement's events (a fold's growing list while it runs).
        self.tip: Sequence[Event] = ()
        #: That agreement, while something else holds it.
        self.tip_agreement: weakref.ref[Folded] | None = None
        self.events: dict[str, Event] = {}
        self.invoices: dict[str, Invoice] = {}
        self.invoice_numbers: set[str] = set()
        self.attempt_keys: set[str] = set()
        self.last_attempt: dict[str, int] = {}
        #: The ids of the time and expense entries recorded.
        self.time_entries: set[str] = set()

    def describes(self, agreement: Folded) -> bool:
        """True when these lookups are exactly ``agreement``'s (its last event is theirs)."""
        return self.last is agreement.events[-1]

    def add(self, events: Iterable[Event]) -> None:
        """Take in events that the fold has accepted, in order."""
        for e in events:
            self.events[e.event_id] = e
            if isinstance(e, InvoiceIssued):
                self.invoices.setdefault(e.invoice.id, e.invoice)
                if e.invoice.number is not None:
                    self.invoice_numbers.add(e.invoice.number)
            elif isinstance(e, ChargeAttempted):
                self.attempt_keys.add(e.idempotency_key)
                self.last_attempt[e.invoice_id] = max(
                    e.attempt, self.last_attempt.get(e.invoice_id, 0))
            elif isinstance(e, TimeRecorded | ExpenseRecorded):
                self.time_entries.add(e.entry.entry_id)
            self.last = e

    def _remove(self, e: Event) -> None:
        """Take out an event :meth:`add` took in last (of those still in)."""
        del self.events[e.event_id]
        if isinstance(e, InvoiceIssued) and self.invoices.get(e.invoice.id) is e.invoice:
            del self.invoices[e.invoice.id]
            self.invoice_numbers.discard(e.invoice.number or "")
        elif isinstance(e, ChargeAttempted):
            self.attempt_keys.discard(e.idempotency_key)
            # The fold numbers each invoice's attempts 1, 2, 3...: the one before is the last.
            if e.attempt > 1:
                self.last_attempt[e.invoice_id] = e.attempt - 1
            else:
                self.last_attempt.pop(e.invoice_id, None)
        elif isinstance(e, TimeRecorded | ExpenseRecorded):
            self.time_entries.discard(e.entry.entry_id)

    def cut_for(self, agreement: Folded) -> Lookups | None:
        """New lookups for ``agreement`` when it is an earlier state of the one these
        describe: copies (C speed) less the few events after it.  None otherwise."""
        with self.lock:
            n, last = len(agreement.events), self.last
            if last is None or last.version < n or len(self.tip) < last.version \
                    or self.tip[n - 1] is not agreement.events[-1]:
                return None
            cut = Lookups()
            cut.events, cut.invoices = dict(self.events), dict(self.invoices)
            cut.invoice_numbers, cut.attempt_keys = set(self.invoice_numbers), set(
                self.attempt_keys)
            cut.last_attempt = dict(self.last_attempt)
            cut.time_entries = set(self.time_entries)
            for e in reversed(self.tip[n:last.version]):
                cut._remove(e)
            cut.last, cut.tip = agreement.events[-1], agreement.events
            cut.tip_agreement = weakref.ref(agreement)
            return cut


def lookups(agreement: Folded) -> Lookups:
    """The lookups of ``agreement``: the shared ones when they describe it, else
    new ones cut back from them or built from its events (and kept with it)."""
    memo = agreement._memo
    found = memo.get(_KEY)
    built: Lookups | None = None
    if isinstance(found, Lookups):
        with found.lock:
            if found.describes(agreement):
                return found
        built = found.cut_for(agreement)
    if built is None:
        built = Lookups()
        built.add(agreement.events)
        built.tip = agreement.events
        built.tip_agreement = weakref.ref(agreement)
    memo[_KEY] = built
    return built


class Issued(Protocol):
    """What :func:`invoices_by_id` reads of an agreement."""

    @property
    def events(self) -> tuple[Event, ...]: ...

    @property
    def _memo(self) -> dict[object, Any]: ...

    @property
    def invoices(self) -> Sequence[Invoice]: ...


_BY_ID = "invoices_by_id"


def invoices_by_id(agreement: Issued) -> Mapping[str, Invoice]:
    """The agreement's issued invoices by id: its :class:`Lookups`' when it holds ones
    that describe it, else a table of its invoices alone, kept with it.

    A report that reads one agreement's invoices does not need the lookups of all its
    events (their copy or their build from the stream), which the fold and the engine
    keep; the table has the same entries, since the fold refuses an invoice id it
    knows (so an id is issued once).  Inside a fold, where the agreement's fields are
    the fold's growing lists, the lookups answer.
    """
    memo = agreement._memo
    found = memo.get(_KEY)
    if isinstance(found, Lookups):
        with found.lock:
            if found.describes(agreement):
                return found.invoices
    invoices = agreement.invoices
    if not isinstance(invoices, tuple):  # a fold's growing list: its lookups know
        return lookups(agreement).invoices
    table = memo.get(_BY_ID)
    if table is None:
        table = memo[_BY_ID] = {inv.id: inv for inv in invoices}
    return cast("Mapping[str, Invoice]", table)


def went_on(agreement: Folded, events: Sequence[Event]) -> Folded | None:
    """The later agreement of ``agreement``'s chain that applied exactly ``events`` to it,
    if one is still held: folding them again would give the same agreement."""
    found = agreement._memo.get(_KEY)
    if not isinstance(found, Lookups) or not events:
        return None
    with found.lock:
        tip = found.tip_agreement() if found.tip_agreement is not None else None
        n = len(agreement.events)
        if tip is None or len(tip.events) != n + len(events) \
                or tip.events[n - 1] is not agreement.events[-1]:
            return None
    return tip if tuple(tip.events[n:]) == tuple(events) else None


#: The events whose handler in the fold does nothing but append one value to
#: one tuple field of the agreement, and that field: published as
#: :data:`milestonebill.agreement.history.APPENDS`.
APPENDS: Final[dict[type, str]] = {
    MilestoneCompleted: "completion_records",
    InvoiceIssued: "invoices",
    CreditIssued: "credit_notes",
    ChargeAttempted: "attempts",
    PaymentSucceeded: "payments",
    PaymentFailed: "failures",
    Refunded: "refunds",
    CustomerCreditAdded: "credits_added",
    CreditApplied: "credits_applied",
    ProgressReported: "progress_reports",
    EstimateRevised: "estimates",
}

#: The events that leave the billing plan as it was: those that only record what
#: happened under the terms (the plan reads the terms and the completions).
KEEPS_PLAN: Final = frozenset(APPENDS) - {MilestoneCompleted}

#: What an agreement keeps of its billing plan (``agreement/plan.py``, ``columns.py``).
_PLAN_KEYS: Final = ("plan", "fixed", "columns")


def hand_on(before: Folded, after: Folded, found: Lookups, event: Event, *,
            added: bool = False) -> None:
    """Give ``found`` (the lookups of ``before``) to ``after``, extended by ``event``
    unless ``added`` says it is in them already (call with their lock held).

    When ``event`` leaves the billing plan as it was (:data:`KEEPS_PLAN`), the
    plan ``before`` worked out is handed on too, so a unit of work that
    issues, charges and records does not work the plan out again each time."""
    if type(event) in KEEPS_PLAN:
        for key in _PLAN_KEYS:
            plan = before._memo.get(key)
            if plan is not None:
                after._memo.setdefault(key, plan)
    if added or found.describes(before):
        if not added:
            found.add((event,))
        found.tip = after.events
        found.tip_agreement = weakref.ref(after)
        after._memo[_KEY] = found


def balances(a: Accounts) -> dict[str, tuple[int, int]]:
    """Per issued invoice: (:meth:`~milestonebill.agreement.Agreement.balance_of`,
    :meth:`~milestonebill.agreement.Agreement.net_paid`) in minor
    units, for all invoices in one pass over the agreement's lists."""
    paid: dict[str, int] = {}
    for p in a.payments:
        paid[p.invoice_id] = paid.get(p.invoice_id, 0) + p.amount.minor
    for r in a.refunds:
        paid[r.invoice_id] = paid.get(r.invoice_id, 0) - r.amount.minor
    owed: dict[str, int] = {}
    for inv in a.invoices:
        owed.setdefault(inv.id, inv.total.minor)
    for c in a.credit_notes:
        if c.credits in owed:
            owed[c.credits] -= c.total.minor
    for m in a.credits_added:
        if m.invoice_id in owed:
            owed[m.invoice_id] += m.amount.minor
    for x in a.credits_applied:
        if x.invoice_id in owed:
            owed[x.invoice_id] -= x.amount.minor
    for w in a.write_offs:
        if w.invoice_id in owed:
            owed[w.invoice_id] -= w.amount.minor
    for v in a.recoveries:
        if v.invoice_id in owed:
            owed[v.invoice_id] += v.amount.minor
    return {i: (owed[i] - paid.get(i, 0), paid.get(i, 0)) for i in owed}

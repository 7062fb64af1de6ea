"""Properties of time-and-materials billing.

Random rate cards (one or two roles, a rate change on a random day), caps
(none, or on the agreement and a phase), rounding (per line or per invoice,
half up or half even) in USD or JPY; random histories of time and expense
entries (some re-sent), cap raises (firm-side, or amendments the client
approves or rejects), write-downs of held work and runs.  Each amendment's
preview releases exactly what its approval makes approved; one not above
the cap in force is refused and stores nothing.  After any history, and a last
run and recognition:

* each entry's value is approved + held + written down, exactly, and the
  money totals add up the same way;
* the value is what the test computes by hand from the rate in force on
  each entry's day;
* nothing is billed beyond the cap in force, and everything approved is
  billed, once: a repeated run changes nothing;
* the ledger balances; the receivable is what was invoiced; revenue is what
  was approved (held work is not revenue).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Amendment,
    ApprovalRules,
    Collection,
    ExpenseEntry,
    RaiseTimeCap,
    TimeEntry,
    WorkWrittenDown,
    reject,
    time_caps,
)
from milestonebill.clock import FixedClock
from milestonebill.errors import AmendmentError, InvalidTransitionError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AmendmentId
from milestonebill.ledger import Account
from milestonebill.money import Money, Rounding, round_ratio
from milestonebill.schedule import (
    PhaseCap,
    Rate,
    RoundingScope,
    TimeAndMaterials,
    TimeCadence,
)
from milestonebill.testing.scenarios import World, proposal
from milestonebill.timebilling import held_work, time_position, time_totals

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY0 = T0.date()
ROLES = ("senior", "junior")


@st.composite
def terms(draw: st.DrawFn) -> TimeAndMaterials:
    cur = draw(st.sampled_from(["USD", "JPY"]))
    rates = []
    for role in ROLES:
        rates.append(Rate(role, Money.from_minor(draw(st.integers(100, 50_000)), cur), DAY0))
        if draw(st.booleans()):
            rates.append(Rate(role, Money.from_minor(draw(st.integers(100, 50_000)), cur),
                              DAY0 + timedelta(days=draw(st.integers(1, 60)))))
    cap = draw(st.none() | st.integers(1, 500_000))
    phase = draw(st.none() | st.integers(1, 200_000))
    return TimeAndMaterials(
        rates=rates, cadence=draw(st.sampled_from([TimeCadence.WEEKLY, TimeCadence.MONTHLY])),
        cap=None if cap is None else Money.from_minor(cap, cur),
        phase_caps=() if phase is None else (PhaseCap("design", Money.from_minor(phase, cur)),),
        rounding=draw(st.sampled_from([Rounding.HALF_UP, Rounding.HALF_EVEN])),
        rounding_scope=draw(st.sampled_from(list(RoundingScope))))


def entries(cur: str) -> st.SearchStrategy[TimeEntry | ExpenseEntry]:
    common: dict[str, Any] = {
        "entry_id": st.sampled_from([f"e{i}" for i in range(8)]),
        "on": st.integers(0, 90).map(lambda d: DAY0 + timedelta(days=d)),
        "person": st.just("ada"), "phase": st.sampled_from(["", "design"])}
    time = st.builds(TimeEntry, role=st.sampled_from(ROLES),
                     hours=st.integers(1, 480).map(lambda k: Decimal(k) / 20), **common)
    expense = st.builds(ExpenseEntry, amount=st.integers(1, 100_000).map(
        lambda m: Money.from_minor(m, cur)), **common)
    return st.one_of(time, expense)


@st.composite
def histories(draw: st.DrawFn) -> tuple[TimeAndMaterials, list[tuple[str, Any]]]:
    term = draw(terms())
    cur = term.currency_code
    record = st.tuples(st.just("record"), entries(cur))
    amend = st.tuples(st.just("amend"), st.tuples(
        st.sampled_from(["", "design"]),
        st.one_of(st.integers(-1_000, -1), st.integers(0, 5_000), st.integers(0, 200_000)),
        st.sampled_from(["approve", "reject", "pending"])))
    step = st.one_of(
        record, record, record, amend, amend,
        st.tuples(st.just("raise"), st.tuples(st.sampled_from(["", "design"]),
                                              st.integers(1, 500_000))),
        st.tuples(st.just("write_down"), st.integers(0, 7)),
        st.tuples(st.just("run"), st.integers(0, 100)))
    return term, draw(st.lists(step, min_size=4, max_size=25))


def _value(term: TimeAndMaterials, e: TimeEntry | ExpenseEntry) -> Fraction:
    """An entry's value computed here, by the rate in force on its day."""
    if isinstance(e, ExpenseEntry):
        return Fraction(e.amount.minor)
    rate = max((r for r in term.rates if r.role == e.role and r.effective_from <= e.on),
               key=lambda r: r.effective_from)
    exact = Fraction(int(e.hours * 60) * rate.amount.minor, 60)
    if term.rounding_scope is RoundingScope.PER_LINE:
        return Fraction(round_ratio(exact.numerator, exact.denominator, term.rounding))
    return exact


def _act(w: World[InMemoryGateway], term: TimeAndMaterials, kind: str, arg: Any) -> None:
    a = w.load()
    if kind == "record":
        known = {i.entry.entry_id: i.entry for i in time_position(a)}
        if arg.entry_id not in known or known[arg.entry_id] == arg:
            w.biller.record_work(a.id, [arg])
    elif kind == "raise":
        phase, extra = arg
        base = time_caps(term, a.events, a.id).get(phase)
        if base is not None:
            w.biller.raise_cap(a.id, Money.from_minor(base.minor + extra, a.currency),
                               phase=phase, reason="approved")
    elif kind == "amend":
        _amend(w, term, *arg)
    elif kind == "write_down":
        held = held_work(a)
        if held:
            w.biller.write_down(a.id, held[arg % len(held)].entry.entry_id, reason="absorbed")
        elif any(isinstance(e, WorkWrittenDown) and e.entry_id == f"e{arg}" for e in a.events):
            # Written down before: the same request again is a no-op.
            assert w.biller.write_down(a.id, f"e{arg}", reason="absorbed") == a
        else:
            with pytest.raises(InvalidTransitionError):
                w.biller.write_down(a.id, f"e{arg}", reason="absorbed")
    else:
        day = DAY0 + timedelta(days=arg)
        if day >= w.clock.today():
            w.on(day)
            w.biller.run(day)


def _amend(w: World[InMemoryGateway], term: TimeAndMaterials, phase: str, delta: int,
           decision: str) -> None:
    """Propose a cap of the one in force + ``delta`` (a cap is only ever raised)."""
    a = w.load()
    current = time_caps(term, a.events, a.id).get(phase)
    if current is None or current.minor + delta <= 0:
        return
    new = current.minor + delta
    op = RaiseTimeCap(w.clock.today(), Money.from_minor(new, a.currency), phase or None)
    am = Amendment(AmendmentId(f"am-{len(a.amendments)}"), (op,))
    if delta <= 0:
        with pytest.raises(AmendmentError, match="'new_cap' must be above the cap in force"):
            w.biller.propose_amendment(a.id, am, by="pm")
        assert w.load() == a
        event("amend: refused, not above the cap in force")
        return
    released = w.biller.preview_amendment(a.id, am).time_released
    a = w.biller.propose_amendment(a.id, am, by="pm")
    before = time_totals(a).approved
    if decision == "approve":
        a = w.biller.approve_amendment(a.id, am.id, by="client")
    elif decision == "reject":
        a = w.biller.record(a.id, [reject(a, am.id, by="client", at=w.clock.now())])
    event(f"amend: {decision}, releases work: {released is not None and released.minor > 0}")
    assert time_totals(a).approved - before == (released if decision == "approve" else
                                                Money.from_minor(0, a.currency))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def _plain_positions(term: TimeAndMaterials, a: Any) -> list[tuple[Any, ...]]:
    """Each entry's position replayed the straightforward way: after every event,
    every held entry in recording order takes what the caps leave, the
    approved amounts summed again from all entries each time."""
    caps: dict[str, int | None] = {"": None if term.cap is None else term.cap.minor}
    caps.update({p.phase: p.cap.minor for p in term.phase_caps})
    items: dict[str, list[Any]] = {}  # entry, value, approved, held, down, billed, lines
    proposed: dict[str, list[RaiseTimeCap]] = {}

    def room(phase: str) -> Fraction | None:
        rooms = [max(Fraction(cap) - sum((i[2] for i in items.values()
                                          if scope == "" or i[0].phase == scope), Fraction(0)),
                     Fraction(0))
                 for scope in (("", phase) if phase else ("",))
                 if (cap := caps.get(scope)) is not None]
        return min(rooms, default=None)

    def release() -> None:
        for i in items.values():
            if i[3] > 0:
                r = room(i[0].phase)
                take = i[3] if r is None else min(i[3], r)
                i[2], i[3] = i[2] + take, i[3] - take

    for e in a.events:
        name = type(e).__name__
        if name in ("TimeRecorded", "ExpenseRecorded"):
            v = _value(term, e.entry)
            items[e.entry.entry_id] = [e.entry, v, Fraction(0), v, Fraction(0), Fraction(0), 0]
            release()
        elif name == "TimeCapRaised":
            caps[e.phase] = e.cap.minor
            release()
        elif name == "WorkWrittenDown":
            i = items[e.entry_id]
            i[4], i[3] = i[4] + i[3], Fraction(0)
        elif name == "AmendmentProposed":
            ops = [op for op in e.amendment.operations if isinstance(op, RaiseTimeCap)]
            if e.requires_approval:
                proposed[e.amendment.id] = ops
            else:
                for op in ops:
                    caps[op.scope] = op.new_cap.minor
                    release()
        elif name == "AmendmentApproved":
            for op in proposed.pop(e.amendment_id, []):
                caps[op.scope] = op.new_cap.minor
                release()
        elif name == "InvoiceIssued":
            for ln in e.invoice.lines:
                prefix = f"{a.id}:tm:"
                if ln.line_id.startswith(prefix):
                    i = items[ln.line_id[len(prefix):].partition(":")[2]]
                    i[5], i[6] = i[2], i[6] + 1
    return [tuple(i) for i in items.values()]


@given(histories())
def test_time_and_materials_adds_up(history: tuple[TimeAndMaterials, list[tuple[str, Any]]]
                                    ) -> None:
    term, steps = history
    w = World(clock=FixedClock(T0))
    offer = attrs.evolve(proposal(collection=Collection.SEND_INVOICE, currency=term.currency_code,
                                  approval=ApprovalRules(require_client_approval=True)),
                         time_materials=term)
    w.open(offer, payment_method=None)
    for kind, arg in steps:
        _act(w, term, kind, arg)
    end = DAY0 + timedelta(days=200)
    w.on(end)
    w.biller.run(end)
    w.biller.recognise(end)
    a = w.load()
    items = time_position(a)
    # The replay keeps running totals; the plain one sums every entry each time.
    assert [attrs.astuple(i, recurse=False) for i in items] == _plain_positions(term, a)
    for i in items:
        assert i.approved + i.held + i.written_down == i.value == _value(term, i.entry)
        assert 0 <= i.billed <= i.approved
        assert min(i.held, i.written_down) >= 0
    totals = time_totals(a)
    event(f"held: {totals.held.minor > 0}, written down: {totals.written_down.minor > 0}, "
          f"invoices: {min(len(a.invoices), 3)}")
    assert totals.value == totals.approved + totals.held + totals.written_down
    assert totals.billed == totals.approved
    cap = time_caps(term, a.events, a.id)[""]
    if cap is not None:
        assert totals.billed.minor <= cap.minor
    cur = a.currency
    balances = w.store.balances(currency=cur)
    assert sum(m.minor for m in balances.values()) == 0
    invoiced = sum(i.total.minor for i in a.invoices)
    assert w.balance(Account.RECEIVABLE, cur).minor == invoiced == totals.billed.minor
    assert w.balance(Account.REVENUE, cur) == -totals.approved
    before = w.snapshot("agreements", "entries", "notifications")
    w.biller.run(end)
    assert w.snapshot("agreements", "entries", "notifications") == before

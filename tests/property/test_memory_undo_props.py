"""The in-memory store rolls units of work and savepoints back from an undo log.

Two stores get the same writes; the first also runs units of work and
savepoints that crash, the second never sees them.  If every rollback puts
back exactly what its unit changed -- dicts, counters, acknowledgements,
ledger postings -- the two stores answer every write alike and end with the
same observable state (``testing.tenant_contract.snapshot``: every read of
every role).
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.clock import FixedClock
from milestonebill.errors import ValidationError
from milestonebill.ledger import Account, EntryId, InMemoryLedger, JournalEntry, JournalLine
from milestonebill.money import Money
from milestonebill.stores.memory import InMemoryStore
from milestonebill.testing._tenant_state import T0, Crash, Op, apply, ops
from milestonebill.testing.tenant_contract import snapshot

# Inside a unit, a write of its own that crashes would join the unit (units do not
# nest), so the writes of units and savepoints are the plain ones.
_writes = st.lists(ops.filter(lambda op: op[0] != "rollback"), max_size=4)
#: ("write", op) | ("unit", writes, crashes) | ("savepoint", before, inside, after, crashes)
_steps = st.one_of(
    st.tuples(st.just("write"), ops),
    st.tuples(st.just("unit"), _writes, st.booleans()),
    st.tuples(st.just("savepoint"), _writes, _writes, _writes, st.booleans()),
)


def _run(store: InMemoryStore, writes: list[Op]) -> list[Any]:
    return [apply(store, op) for op in writes]


def _step(full: InMemoryStore, twin: InMemoryStore, step: tuple[Any, ...]) -> None:
    """Run ``step`` on ``full``, and on ``twin`` only what must survive of it."""
    kind, *parts = step
    if kind == "write":
        assert apply(full, parts[0]) == apply(twin, parts[0])
        return
    if kind == "unit":
        writes, crashes = parts
        with pytest.raises(Crash) if crashes else nullcontext(), full.transaction():
            done = _run(full, writes)
            if crashes:
                raise Crash("the worker dies")
        if not crashes:
            assert done == _run(twin, writes)
        return
    before, inside, after, crashes = parts
    with full.transaction():
        kept = _run(full, before)
        with pytest.raises(Crash) if crashes else nullcontext(), full.savepoint():
            inner = _run(full, inside)
            if crashes:
                raise Crash("this agreement fails")
        kept += _run(full, after)
    expected = _run(twin, before) + ([] if crashes else _run(twin, inside)) + _run(twin, after)
    assert (kept if crashes else kept[:len(before)] + inner + kept[len(before):]) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_steps, max_size=12))
def test_a_rolled_back_unit_or_savepoint_leaves_what_never_running_it_leaves(
        steps: list[tuple[Any, ...]]) -> None:
    full, twin = InMemoryStore(clock=FixedClock(T0)), InMemoryStore(clock=FixedClock(T0))
    for step in steps:
        _step(full, twin, step)
        assert snapshot(full) == snapshot(twin)
        # The snapshot leaves outbox numbers out (a shared database may skip some);
        # in memory a rollback gives them back too.
        assert [n.seq for n in full.pending_notifications(1000)] == \
            [n.seq for n in twin.pending_notifications(1000)]


def _entry(n: int, agreement: str | None) -> JournalEntry:
    usd = Money.from_minor(100 * n, "USD")
    return JournalEntry(EntryId(f"je-{n}"), date(2024, 1, n), (
        JournalLine.dr(Account.RECEIVABLE, usd), JournalLine.cr(Account.REVENUE, usd)),
        agreement_id=agreement)


def test_the_ledger_rolls_back_to_a_mark_and_keeps_its_agreement_index() -> None:
    led = InMemoryLedger()
    led.post(_entry(1, "agr-1"))
    mark = led.mark()
    for n, agr in ((2, "agr-1"), (3, "agr-2"), (4, None)):
        led.post(_entry(n, agr))
    assert [e.id for e in led.entries(agreement_id="agr-1")] == ["je-1", "je-2"]
    led.rollback_to(mark)
    assert ([e.id for e in led.entries()], [e.id for e in led.entries(agreement_id="agr-1")],
            led.entries(agreement_id="agr-2"), led.mark()) == (["je-1"], ["je-1"], [], 1)
    assert led.post(_entry(2, "agr-1")) is True  # the id is free again
    for bad in (-1, 3, True, "1"):
        with pytest.raises(ValidationError, match="mark"):
            led.rollback_to(bad)  # type: ignore[arg-type]


def test_a_rolled_back_notification_gives_its_number_back_and_an_ack_is_undone() -> None:
    store = InMemoryStore(clock=FixedClock(T0))
    store.add_notification("n0", None, "note", {})

    def crash() -> None:
        with store.transaction():
            store.add_notification("n1", None, "note", {})
            store.ack(["n0"])
            raise Crash("the worker dies")

    with pytest.raises(Crash):
        crash()
    note = store.add_notification("n2", None, "note", {})
    assert (note.seq, [n.key for n in store.pending_notifications()]) == (2, ["n0", "n2"])

"""Properties of long histories: the linear fold and the Biller's load from a snapshot.

Random lives (amendments, billing, charges that succeed or fail, pauses,
completions) are folded three ways -- one :func:`apply` at a time, in one
:func:`fold`, and loaded by a Biller from a real store in chunks, each load
starting from the agreement the last one folded -- and every field of the
results must agree, not only their events (agreements compare by events).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    ChargeAttempted,
    Event,
    InvoiceIssued,
    PaymentFailed,
    PaymentSucceeded,
    apply,
    complete_milestone,
    event_to_json,
    fold,
    pause,
    propose,
    resume,
)
from milestonebill.agreement import sign as sign_proposal
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.errors import AmendmentError
from milestonebill.gateways import InMemoryGateway
from milestonebill.ids import EventId, FirmId
from milestonebill.invoicing import due_invoices
from milestonebill.stores import InMemoryStore, SQLiteStore
from milestonebill.stores.base import BillingStore, StoredEvent
from milestonebill.testing.strategies import amendment_operations, offers

START = date(2024, 1, 1)
_ids = itertools.count()


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def state(a: Agreement) -> dict[str, Any]:
    """Every field of an agreement (its equality looks at the events only)."""
    return {f.name: getattr(a, f.name) for f in attrs.fields(Agreement) if f.init}


def _bill(a: Agreement, d: date) -> Agreement:
    for draft in due_invoices(a, d):
        inv = attrs.evolve(draft, number=f"INV-{len(a.invoices) + 1:05d}")
        a = apply(a, InvoiceIssued(f"inv-{inv.id}", a.version + 1, noon(d), inv))
    return a


def _charge(a: Agreement, d: date, n: int, data: st.DataObject) -> Agreement:
    owed = [inv for inv in a.invoices if a.balance_of(inv.id).minor > 0]
    if not owed:
        return a
    inv = data.draw(st.sampled_from(owed))
    attempt = 1 + sum(1 for x in a.attempts if x.invoice_id == inv.id)
    balance = a.balance_of(inv.id)
    a = apply(a, ChargeAttempted(f"{a.id}/at{n}", a.version + 1, noon(d), inv.id, attempt,
                                 f"key-{inv.id}-{attempt}", balance))
    if data.draw(st.booleans()):
        return apply(a, PaymentSucceeded(f"{a.id}/pay{n}", a.version + 1, noon(d), inv.id, balance,
                                         f"ch{n}", attempt))
    return apply(a, PaymentFailed(f"{a.id}/fail{n}", a.version + 1, noon(d), inv.id, attempt,
                                  "card_declined"))


def _amend(a: Agreement, d: date, n: int, data: st.DataObject) -> Agreement:
    ops = (data.draw(amendment_operations(a, d, n, start=START)),)
    try:
        return apply(a, propose(a, Amendment(AmendmentId(f"am{n}"), ops), by="pm", at=noon(d)))
    except AmendmentError:
        return a


def _step(a: Agreement, d: date, n: int, data: st.DataObject) -> Agreement:
    action = data.draw(st.sampled_from(["bill", "bill", "charge", "charge", "charge",
                                        "amend", "complete", "pause"]))
    if action == "bill":
        return _bill(a, d)
    if action == "charge":
        return _charge(a, d, n, data)
    if a.state not in (AgreementState.ACTIVE, AgreementState.PAUSED):
        return a
    if action == "amend":
        return _amend(a, d, n, data)
    if action == "complete":
        open_ = [t.milestone.id for t in a.milestones if t.milestone.id not in a.completions]
        return a if not open_ else apply(a, complete_milestone(
            a, data.draw(st.sampled_from(open_)), by="pm", at=noon(d)))
    return apply(a, pause(a, at=noon(d)) if a.state is AgreementState.ACTIVE
                 else resume(a, at=noon(d)))


def history(data: st.DataObject, *, steps: int = 30) -> list[Event]:
    """The events of a random agreement's life, under a fresh agreement id."""
    offer = data.draw(offers(start=START))
    a = sign_proposal(offer, option="a", signer="S", signed_at=noon(START),
                      payment_method=None, agreement_id=AgreementId(f"agr-{next(_ids)}"))
    today = START
    for n in range(data.draw(st.integers(steps // 3, steps))):
        today += timedelta(days=data.draw(st.integers(0, 40)))
        a = _step(a, today, n, data)
    return list(a.events)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_folding_at_once_equals_applying_one_event_at_a_time(data: st.DataObject) -> None:
    events = history(data)
    one_by_one = Agreement.from_events(events[:1])
    for e in events[1:]:
        one_by_one = apply(one_by_one, e)
    cut = data.draw(st.integers(1, len(events)))
    in_two = fold(Agreement.from_events(events[:cut]), events[cut:])
    assert state(in_two) == state(one_by_one)
    assert state(Agreement.from_events(events)) == state(one_by_one)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_fold_that_replays_its_events_changes_nothing(data: st.DataObject) -> None:
    events = history(data)
    a = Agreement.from_events(events)
    again = data.draw(st.lists(st.sampled_from(events), max_size=6))
    assert fold(a, again) is a
    assert all(apply(a, e) is a for e in again)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_earlier_agreement_of_a_chain_folds_on_as_if_it_were_new(data: st.DataObject) -> None:
    # Older agreements cut their lookups back from the chain's, or get the
    # agreement the chain went on to: either way the fold of a fresh one.
    events = history(data)
    chain = [Agreement.from_events(events[:1])]
    for e in events[1:]:
        chain.append(apply(chain[-1], e))
    for _ in range(4):
        i = data.draw(st.integers(0, len(events) - 1))
        j = data.draw(st.integers(i, len(events) - 1))
        again = fold(chain[i], events[i + 1:j + 1])
        assert state(again) == state(Agreement.from_events(events[:j + 1]))
        if j > i:
            assert state(apply(chain[i], events[i + 1])) == state(chain[i + 1])


# ---------------------------------------------------------------- through the stores


class CountingStore:
    """A store that remembers from which version each load read."""

    def __init__(self, inner: BillingStore) -> None:
        self.inner = inner
        self.reads: list[int] = []

    def load(self, agreement_id: AgreementId, *, after_version: int = 0) -> list[StoredEvent]:
        self.reads.append(after_version)
        return self.inner.load(agreement_id, after_version=after_version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def stored(e: Event, agreement_id: str) -> StoredEvent:
    return StoredEvent(AgreementId(agreement_id), EventId(e.event_id), e.version,
                       type(e).__name__, e.effective_at, event_to_json(e))


def biller(store: Any) -> Biller:
    return Biller(store, InMemoryGateway(), clock=FixedClock(noon(START)), firm_id=FirmId("f"))


def check_loads_in_chunks(store: BillingStore, data: st.DataObject) -> None:
    """Append a random history in chunks; after each, the Biller's load (from its
    snapshot of the last load, plus what is new) equals the full fold."""
    events = history(data)
    aid = Agreement.from_events(events[:1]).id
    counting = CountingStore(store)
    b = biller(counting)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(events)), max_size=4))))
    loaded: list[int] = []
    for cut in [*cuts, len(events)]:
        done = loaded[-1] if loaded else 0
        if cut <= done:
            continue
        store.append(aid, [stored(e, aid) for e in events[done:cut]], done)
        a = b.load(aid)
        assert state(a) == state(Agreement.from_events(events[:cut]))
        loaded.append(a.version)
    # The first load read everything; every later one from the last one's version on.
    assert counting.reads == [0, *(v - 1 for v in loaded[:-1])]


@pytest.fixture
def sqlite_stores(tmp_path: Path) -> Iterator[Callable[[], BillingStore]]:
    opened: list[SQLiteStore] = []

    def open_one() -> BillingStore:
        opened.append(SQLiteStore(tmp_path / f"s{len(opened)}.db"))
        return opened[-1]

    yield open_one
    for s in opened:
        s.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_loading_from_a_snapshot_equals_the_full_fold_in_memory(data: st.DataObject) -> None:
    check_loads_in_chunks(InMemoryStore(), data)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_loading_from_a_snapshot_equals_the_full_fold_on_sqlite(
        sqlite_stores: Callable[[], BillingStore], data: st.DataObject) -> None:
    check_loads_in_chunks(sqlite_stores(), data)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_loading_from_a_snapshot_equals_the_full_fold_on_postgres(
        pg_dsn: str, pg_schema: str, data: st.DataObject) -> None:
    from milestonebill.stores.postgres import PostgresStore

    store = PostgresStore(pg_dsn, schema=pg_schema)
    try:
        check_loads_in_chunks(store, data)
    finally:
        store.close()

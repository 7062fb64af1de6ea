"""The linear fold: keyed lookups shared along a chain of agreements, rebuilt on a fork.

Agreements compare by their events, so these tests compare every field.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    ChargeAttempted,
    Event,
    InvoiceIssued,
    PaymentSucceeded,
    apply,
    fold,
)
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    NotFoundError,
    ValidationError,
)
from milestonebill.ids import InvoiceId, ItemId
from milestonebill.invoicing import due_invoices
from milestonebill.money import Money
from milestonebill.schedule import RecurringCharge
from milestonebill.schedule.recurring import Interval
from milestonebill.testing.scenarios import proposal, signed

START = date(2025, 1, 6)


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def state(a: Agreement) -> dict[str, Any]:
    return {f.name: getattr(a, f.name) for f in attrs.fields(Agreement) if f.init}


def weekly(weeks: int) -> list[Event]:
    """A weekly retainer billed, charged and paid for ``weeks`` weeks."""
    charge = RecurringCharge(ItemId("care"), "Care", Money("100.00", "USD"), Interval.WEEKLY,
                             start=START)
    a = signed(proposal(recurring=[charge]), at=noon(START))
    for week in range(weeks):
        d = START + timedelta(weeks=week)
        for draft in due_invoices(a, d):
            inv = attrs.evolve(draft, number=f"INV-{len(a.invoices) + 1:05d}")
            a = apply(a, InvoiceIssued(f"inv-{inv.id}", a.version + 1, noon(d), inv))
            a = apply(a, ChargeAttempted(f"at-{inv.id}", a.version + 1, noon(d), inv.id, 1,
                                         f"key-{inv.id}", inv.total))
            a = apply(a, PaymentSucceeded(f"pay-{inv.id}", a.version + 1, noon(d), inv.id,
                                          inv.total, f"ch-{inv.id}", 1))
    return list(a.events)


EVENTS = weekly(12)


def test_a_fold_equals_applying_its_events_one_at_a_time() -> None:
    one = Agreement.from_events(EVENTS[:1])
    for e in EVENTS[1:]:
        one = apply(one, e)
    assert state(Agreement.from_events(EVENTS)) == state(one)


def test_an_event_id_seen_with_other_content_is_refused_by_fold_as_by_apply() -> None:
    a = Agreement.from_events(EVENTS)
    clash = attrs.evolve(EVENTS[3], effective_at=EVENTS[3].effective_at + timedelta(hours=1))
    with pytest.raises(DuplicateIdError):
        apply(a, clash)
    with pytest.raises(DuplicateIdError):
        fold(a, [clash])


def test_a_refused_event_in_a_fold_leaves_the_agreement_as_it_was() -> None:
    a = Agreement.from_events(EVENTS[:10])
    before = state(a)
    with pytest.raises(EventOrderError):
        fold(a, [EVENTS[10], EVENTS[12]])
    assert state(a) == before
    assert state(apply(a, EVENTS[10])) == state(Agreement.from_events(EVENTS[:11]))


def test_an_older_agreement_of_a_chain_does_not_see_the_invoices_issued_after_it() -> None:
    older = Agreement.from_events(EVENTS[:1])
    newer = fold(older, EVENTS[1:])
    invoice_id = newer.invoices[-1].id
    assert newer.invoice(invoice_id) == newer.invoices[-1]
    with pytest.raises(NotFoundError):
        older.invoice(invoice_id)


def test_an_older_agreement_accepts_again_an_event_its_successor_has() -> None:
    base = Agreement.from_events(EVENTS[:4])
    ahead = apply(base, EVENTS[4])
    assert apply(ahead, EVENTS[4]) is ahead
    assert state(apply(base, EVENTS[4])) == state(ahead)


def test_two_forks_of_one_agreement_keep_their_own_lookups() -> None:
    base = Agreement.from_events(EVENTS[:4])
    paid = EVENTS[4]  # the next invoice, issued
    assert isinstance(paid, InvoiceIssued)
    other_inv = attrs.evolve(paid.invoice, id=InvoiceId("other"), number="INV-X")
    fork = apply(base, InvoiceIssued("inv-other", 5, paid.effective_at, other_inv))
    main = apply(base, paid)
    assert [i.id for i in fork.invoices][-1] == "other"
    assert [i.id for i in main.invoices][-1] == paid.invoice.id
    with pytest.raises(NotFoundError):
        main.invoice("other")
    # Each fork numbers its attempts and knows its keys on its own.
    attempt = ChargeAttempted("at-other", 6, paid.effective_at, other_inv.id, 1, "k-o",
                              other_inv.total)
    fork = apply(fork, attempt)
    with pytest.raises(ValidationError):
        apply(fork, attrs.evolve(attempt, event_id="at-2", version=7))
    with pytest.raises(NotFoundError):
        apply(main, attrs.evolve(attempt, version=6))


def test_threads_applying_events_to_one_agreement_each_get_their_own_result() -> None:
    base = Agreement.from_events(EVENTS[:4])
    nxt = EVENTS[4]
    assert isinstance(nxt, InvoiceIssued)
    others = [InvoiceIssued(f"inv-{n}", 5, nxt.effective_at,
                            attrs.evolve(nxt.invoice, id=InvoiceId(f"i{n}"), number=f"N{n}"))
              for n in range(8)]
    attempt = EVENTS[5]
    assert isinstance(attempt, ChargeAttempted)
    charges = [attrs.evolve(attempt, invoice_id=InvoiceId(f"i{n}"), idempotency_key=f"k{n}")
               for n in range(len(others))]
    results: dict[int, Agreement] = {}
    gate = threading.Barrier(len(others))

    def work(n: int) -> None:
        gate.wait()
        a = apply(base, others[n])
        results[n] = apply(a, charges[n])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, a in results.items():
        assert state(a) == state(Agreement.from_events([*EVENTS[:4], others[n], charges[n]]))
    assert len(results) == len(others)


def test_an_older_agreement_numbers_attempts_from_its_own_history() -> None:
    base = Agreement.from_events(EVENTS[:3])  # signed, the first invoice, its attempt 1
    first = EVENTS[2]
    assert isinstance(first, ChargeAttempted)
    retry = attrs.evolve(first, event_id="retry", version=4, attempt=2, idempotency_key="k2")
    ahead = apply(base, retry)
    assert state(apply(base, retry)) == state(ahead)  # base's lookups are cut back, not reused
    third = attrs.evolve(retry, event_id="third", attempt=3, idempotency_key="k3")
    with pytest.raises(ValidationError):
        apply(base, third)
    assert apply(ahead, attrs.evolve(third, version=5)).attempts[-1].attempt == 3


def test_folding_what_the_chain_went_on_with_gives_the_agreement_it_went_on_to() -> None:
    base = Agreement.from_events(EVENTS[:4])
    ahead = fold(base, EVENTS[4:7])
    assert fold(base, EVENTS[4:7]) is ahead
    shorter = fold(base, EVENTS[4:6])
    assert shorter is not ahead
    assert state(shorter) == state(Agreement.from_events(EVENTS[:6]))


def test_an_agreement_without_lookups_finds_its_invoices_from_them_alone() -> None:
    """A freshly loaded agreement (no lookups yet) answers ``invoice`` from a table of its
    invoices, without building the lookups of all its events, and the table is the
    lookups' mapping for every state of the chain, earlier states cut back included."""
    from milestonebill.agreement import history
    from milestonebill.agreement._lookups import invoices_by_id, lookups

    newest = Agreement.from_events(EVENTS)
    loaded = attrs.evolve(newest)  # as a store hands it out: nothing worked out yet
    for inv in newest.invoices:
        assert loaded.invoice(inv.id) is inv
    with pytest.raises(NotFoundError):
        loaded.invoice("no-such-invoice")
    assert "lookups" not in loaded._memo
    for n in range(1, len(EVENTS) + 1):
        for a in (Agreement.from_events(EVENTS[:n]), history.as_of(attrs.evolve(newest),
                                                                   EVENTS[n - 1].effective_at)):
            cheap = dict(invoices_by_id(attrs.evolve(a)))
            assert cheap == dict(lookups(a).invoices) == {i.id: i for i in a.invoices}


def test_the_invoice_balances_an_agreement_keeps_are_read_only() -> None:
    from milestonebill.agreement.plan import invoice_balances

    a = Agreement.from_events(EVENTS)
    table = invoice_balances(a)
    first = a.invoices[0].id
    assert table[first] == (a.balance_of(first).minor, a.net_paid(first).minor)
    with pytest.raises(TypeError):
        table[first] = (0, 0)  # type: ignore[index]
    assert invoice_balances(a)[first] == (a.balance_of(first).minor, a.net_paid(first).minor)

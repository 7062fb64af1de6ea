"""What the tenant contract writes and reads: a tenant's data, its whole
observable state, and a small grammar of writes for the property test.

Kept apart from :mod:`milestonebill.testing.tenant_contract` (which
re-exports the public names) so the suite itself stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from hypothesis import strategies as st

from milestonebill.errors import MilestonebillError
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Money
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    EventId,
    FirmId,
    InvoiceId,
    Notification,
    ProposalId,
    StoredEvent,
    StoredProposalEvent,
    SyncJournal,
    SyncRecord,
    TenantBillingStore,
    WorkerId,
    WorkLink,
)
from milestonebill.stores.batch import Savepoints


class TenantStore(TenantBillingStore, SyncJournal, Savepoints, Protocol):
    """What the tenant contract needs: every role of a shipped store, bound to a tenant."""


#: The ids every tenant of the contract uses (the same in both, on purpose).
AGREEMENTS = ("agr-1", "agr-2", "agr-3")
PROPOSALS = ("prop-1", "prop-2")
FIRMS = ("acme", "globex")
INVOICES = ("inv-1", "inv-2", "inv-3")
ATTEMPTS = ("k1", "k2", "k3")
NOTES = ("n1", "n2", "n3")
ENTRIES = ("je-1", "je-2", "je-3")
JOBS = ("job-1", "job-2", "job-3")
SOURCES = ("inv-1:issue", "inv-2:issue", "inv-3:issue")
TARGETS = ("xero", "qbo")
WORKERS = (WorkerId("worker-1"), WorkerId("worker-2"))
CURRENCIES = ("USD", "JPY")
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)
FAR = date(9999, 12, 31)


class Crash(Exception):
    """Stands for a crash inside a unit of work."""


def _event(agreement: str, n: int, mark: str) -> StoredEvent:
    return StoredEvent(AgreementId(agreement), EventId(f"{agreement}:e{n}"), 0,
                       "MilestoneCompleted", T0 + timedelta(minutes=n),
                       {"n": n, "tenant": mark})


def _proposal_event(proposal: str, n: int, mark: str) -> StoredProposalEvent:
    return StoredProposalEvent(ProposalId(proposal), EventId(f"{proposal}:e{n}"), 0,
                               "ProposalSent", T0 + timedelta(minutes=n), {"tenant": mark})


def _entry(entry_id: str, minor: int, mark: str, currency: str = "USD",
           agreement: str = "agr-1") -> JournalEntry:
    money = Money.from_minor(minor, currency)
    return JournalEntry(EntryId(entry_id), date(2024, 2, 1) + timedelta(days=minor % 20),
                        (JournalLine.dr(Account.RECEIVABLE, money),
                         JournalLine.cr(Account.REVENUE, money)),
                        memo=f"{entry_id} for {mark}", agreement_id=agreement)


def _sync(source_id: str, mark: str, *, number: str | None = None,
          target: str = "xero") -> SyncRecord:
    return SyncRecord(target, source_id, "Invoice", number or f"N-{source_id}",
                      f"key-{target}-{source_id}", f'{{"tenant":"{mark}"}}')


def _minor(mark: str) -> int:
    """An amount that differs between tenants, so their data never look alike."""
    return 100 + sum(map(ord, mark))


def populate(store: TenantStore, mark: str) -> None:
    """Write one tenant's data: every id of the contract's shared sets, with
    content carrying ``mark`` (give each tenant its own mark).

    Two streams (one due, one parked) and a stream of its own
    (``f"agr-{mark}"``, lower-cased), a proposal, two firms' invoices, a
    finished and an unfinished attempt, an acknowledged and a pending
    notification, two ledger entries, two work links, and a sent and an
    unsent accounting sync.
    """
    own = AgreementId(f"agr-{mark.lower()}")
    minor = _minor(mark)
    store.append(AgreementId("agr-1"), [_event("agr-1", 1, mark), _event("agr-1", 2, mark)],
                 expected_version=0)
    store.append(AgreementId("agr-2"), [_event("agr-2", 1, mark)], expected_version=0)
    store.append(own, [_event(own, 1, mark)], expected_version=0)
    store.set_next_due(AgreementId("agr-1"), date(2024, 1, 1) + timedelta(days=minor % 7))
    store.set_next_due(AgreementId("agr-2"), date(2024, 2, 1))
    store.set_next_due(own, date(2024, 3, 1))
    store.park(AgreementId("agr-2"), error="ValidationError", message=f"parked for {mark}")
    store.append_proposal(ProposalId("prop-1"), [_proposal_event("prop-1", 1, mark)],
                          expected_version=0)
    store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-1"),
                               agreement_id=AgreementId("agr-1"), payload={"tenant": mark})
    store.issue_invoice_number(FirmId("globex"), InvoiceId("inv-2"), payload={"tenant": mark})
    for key in ("k1", "k2"):
        store.record_attempt(AttemptKey(key), AgreementId("agr-1"), InvoiceId("inv-1"), 1,
                             Money.from_minor(minor, "USD"))
    store.complete_attempt(AttemptKey("k1"), {"status": "succeeded", "tenant": mark})
    for key in ("n1", "n2"):
        store.add_notification(key, AgreementId("agr-1"), "invoice.issued", {"tenant": mark})
    store.ack(["n1"])
    store.post(_entry("je-1", minor, mark))
    store.post(_entry("je-2", minor * 10, mark, "JPY", agreement="agr-2"))
    store.link_work(WorkLink("karbon", "job-1", own))
    store.link_work(WorkLink("karbon", f"job-{mark.lower()}", AgreementId("agr-1")))
    store.record_sync(_sync("inv-1:issue", mark))
    store.complete_sync("xero", "inv-1:issue", f"x-{mark}")
    store.record_sync(_sync("inv-2:issue", mark))


def _plain(value: Any) -> Any:
    """``value`` without what a shared database numbers globally (outbox seq)."""
    if isinstance(value, Notification):
        return (value.key, value.agreement_id, value.kind, value.payload)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _or_missing(read: Callable[[], Any]) -> Any:
    try:
        return _plain(read())
    except MilestonebillError as exc:
        return type(exc).__name__


def _stream(store: TenantStore, agreement: AgreementId) -> tuple[Any, ...]:
    return (store.load(agreement), store.version(agreement),
            _or_missing(lambda: store.next_due(agreement)))


def snapshot(store: TenantStore, *, extra_agreements: Iterable[str] = ()) -> dict[str, Any]:
    """Everything the store shows its tenant, through every read method.

    Each read is asked about the contract's ids (and the store's own
    agreements), so a read that leaked another tenant's row shows up as a
    difference.  Outbox ``seq`` numbers are left out: a shared database may
    number them across tenants, and only their order is the contract.  The
    times the store stamped (attempts, parks, syncs) are in, so compare
    snapshots of stores on a fixed clock.
    """
    ids = store.agreement_ids()
    agreements = sorted({*AGREEMENTS, *ids, *extra_agreements})
    proposals = sorted({*PROPOSALS, *store.proposal_ids()})
    event_ids = {e.event_id for a in agreements for e in store.load(AgreementId(a))}
    return {
        "agreement_ids": ids,
        "streams": {a: _stream(store, AgreementId(a)) for a in agreements},
        "events": {e: store.agreement_of_event(EventId(e))
                   for e in sorted(event_ids | {f"{a}:e{n}" for a in agreements
                                                for n in (1, 2, 3)})},
        "due": store.list_due(FAR),
        "parked": store.parked(),
        "proposal_ids": store.proposal_ids(),
        "proposals": {p: (store.load_proposal(ProposalId(p)),
                          store.proposal_version(ProposalId(p))) for p in proposals},
        "invoices": {f: store.invoices(FirmId(f)) for f in FIRMS},
        "invoice": {i: store.get_invoice(InvoiceId(i)) for i in INVOICES},
        "attempt": {k: store.get_attempt(AttemptKey(k)) for k in ATTEMPTS},
        "unfinished": store.unfinished_attempts(),
        "pending": _plain(store.pending_notifications(limit=1000)),
        "pending_one": _plain(store.pending_notifications(limit=1)),
        "entry": {e: store.get_entry(e) for e in ENTRIES},
        "entries": store.entries(),
        "entries_of": {a: store.entries(agreement_id=a) for a in agreements},
        "balances": {c: store.balances(currency=c) for c in CURRENCIES},
        "balances_as_of": store.balances(currency="USD", as_of=date(2024, 2, 10)),
        "links": store.work_links(),
        "links_of": {a: store.work_links(agreement_id=AgreementId(a)) for a in agreements},
        "karbon": store.work_links(source="karbon"),
        "link": {j: store.work_link("karbon", j) for j in JOBS},
        "syncs": {t: (store.syncs(t), store.syncs(t, unfinished=True)) for t in TARGETS},
        "sync": {s: store.get_sync("xero", s) for s in SOURCES},
    }


def rolled_back(store: TenantStore, work: Callable[[], object]) -> None:
    """Run ``work`` in a unit of work that then crashes (so it is rolled back)."""
    try:
        with store.transaction():
            work()
            raise Crash("crash before commit")
    except Crash:
        pass


def _savepoint_rolled_back(store: TenantStore) -> None:
    with store.transaction():
        store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-3"))
        try:
            with store.savepoint():
                store.post(_entry("je-3", 7, "savepoint"))
                raise Crash("the savepoint's work fails")
        except Crash:
            pass


def _leased(store: TenantStore, then: Callable[[], object]) -> None:
    store.claim_one(WORKERS[0], AgreementId("agr-1"), lease_seconds=60)
    then()


def _unit_of_work(store: TenantStore) -> None:
    number = store.issue_invoice_number(FirmId("acme"), InvoiceId("inv-3"),
                                        agreement_id=AgreementId("agr-1"))
    store.append(AgreementId("agr-1"), [_event("agr-1", 3, f"invoice {number}")],
                 expected_version=2)
    store.record_attempt(AttemptKey("k3"), AgreementId("agr-1"), InvoiceId("inv-3"), 1,
                         Money("1.00", "USD"))
    store.add_notification("n3", AgreementId("agr-1"), "invoice.issued", {"number": number})
    store.post(_entry("je-3", 3, "unit of work"))
    store.record_sync(_sync("inv-3:issue", "unit of work"))


def _committed(store: TenantStore) -> None:
    with store.transaction():
        _unit_of_work(store)


_W = WORKERS[0]
_A1 = AgreementId("agr-1")

#: Every write of the store's roles, made with ids the other tenant uses too:
#: ``name -> (write, whether it changes what the writer itself can read)``.
WRITES: dict[str, tuple[Callable[[TenantStore], object], bool]] = {
    "append": (lambda s: s.append(_A1, [_event("agr-1", 3, "new")], expected_version=2), True),
    "append a new stream": (
        lambda s: s.append(AgreementId("agr-3"), [_event("agr-3", 1, "new")], 0), True),
    "append_proposal": (lambda s: s.append_proposal(
        ProposalId("prop-1"), [_proposal_event("prop-1", 2, "new")], expected_version=1), True),
    "set_next_due": (lambda s: s.set_next_due(_A1, date(2030, 1, 1)), True),
    "claim": (lambda s: s.claim(_W, FAR, limit=10, lease_seconds=60), False),
    "claim_one": (lambda s: s.claim_one(_W, _A1, lease_seconds=60), False),
    "release": (lambda s: _leased(s, lambda: s.release(_W, [_A1])), False),
    "complete": (lambda s: _leased(s, lambda: s.complete(_W, _A1, date(2031, 1, 1))), True),
    "park": (lambda s: s.park(_A1, error="StoreError", message="set aside"), True),
    "unpark": (lambda s: s.unpark(AgreementId("agr-2")), True),
    "issue_invoice_number": (
        lambda s: s.issue_invoice_number(FirmId("acme"), InvoiceId("inv-3")), True),
    "record_attempt": (lambda s: s.record_attempt(
        AttemptKey("k3"), _A1, InvoiceId("inv-1"), 2, Money("3.00", "USD")), True),
    "complete_attempt": (
        lambda s: s.complete_attempt(AttemptKey("k2"), {"status": "failed"}), True),
    "add_notification": (lambda s: s.add_notification("n3", None, "x", {"v": 1}), True),
    "ack": (lambda s: s.ack(["n2", "n1", "n3"]), True),
    "link_work": (lambda s: s.link_work(WorkLink("karbon", "job-3", _A1)), True),
    "unlink_work": (lambda s: s.unlink_work("karbon", "job-1"), True),
    "record_sync": (lambda s: s.record_sync(_sync("inv-3:issue", "new")), True),
    "complete_sync": (lambda s: s.complete_sync("xero", "inv-2:issue", "x-new"), True),
    "discard_sync": (lambda s: s.discard_sync("xero", "inv-2:issue"), True),
    "post": (lambda s: s.post(_entry("je-3", 5, "new")), True),
    "a committed unit of work": (_committed, True),
    "a rolled-back unit of work": (lambda s: rolled_back(s, lambda: _unit_of_work(s)), False),
    "a rolled-back savepoint": (_savepoint_rolled_back, True),
}


# ---------------------------------------------------------------- the property's grammar

#: One write as data: ``(operation, *arguments)``; see :func:`apply`.
Op = tuple[Any, ...]

_agr = st.sampled_from(AGREEMENTS[:2])
_worker = st.sampled_from(WORKERS)
_plain_ops = st.one_of(
    st.tuples(st.just("append"), _agr, st.integers(1, 3), st.integers(0, 2)),
    st.tuples(st.just("due"), _agr, st.none() | st.integers(0, 40)),
    st.tuples(st.just("proposal"), st.sampled_from(PROPOSALS), st.integers(1, 2),
              st.integers(0, 1)),
    st.tuples(st.just("invoice"), st.sampled_from(FIRMS), st.sampled_from(INVOICES)),
    st.tuples(st.just("attempt"), st.sampled_from(ATTEMPTS[:2]), st.integers(1, 2)),
    st.tuples(st.just("finish"), st.sampled_from(ATTEMPTS[:2]), st.sampled_from(["ok", "no"])),
    st.tuples(st.just("notify"), st.sampled_from(NOTES[:2]), st.integers(1, 2)),
    st.tuples(st.just("ack"), st.sampled_from(NOTES[:2])),
    st.tuples(st.just("post"), st.sampled_from(ENTRIES[:2]), st.integers(1, 3)),
    st.tuples(st.just("link"), st.sampled_from(JOBS[:2]), _agr),
    st.tuples(st.just("unlink"), st.sampled_from(JOBS[:2])),
    st.tuples(st.just("sync"), st.sampled_from(SOURCES[:2]), st.sampled_from(["N1", "N2"])),
    st.tuples(st.just("sent"), st.sampled_from(SOURCES[:2]), st.sampled_from(["x1", "x2"])),
    st.tuples(st.just("discard"), st.sampled_from(SOURCES[:2])),
    st.tuples(st.just("park"), _agr),
    st.tuples(st.just("unpark"), _agr),
    st.tuples(st.just("claim"), _worker),
    st.tuples(st.just("claim_one"), _worker, _agr),
    st.tuples(st.just("release"), _worker, _agr),
    st.tuples(st.just("complete"), _worker, _agr, st.none() | st.integers(0, 40)),
)
#: A write, or a unit of work of two writes that crashes (rolled back).
ops: st.SearchStrategy[Op] = st.one_of(
    _plain_ops, st.tuples(st.just("rollback"), _plain_ops, _plain_ops))


def _day(offset: int | None) -> date | None:
    return None if offset is None else date(2024, 1, 1) + timedelta(days=offset)


_APPLY: dict[str, Callable[..., object]] = {
    "append": lambda s, a, n, v: s.append(AgreementId(a), [_event(a, n, "p")], v),
    "due": lambda s, a, d: s.set_next_due(AgreementId(a), _day(d)),
    "proposal": lambda s, p, n, v: s.append_proposal(ProposalId(p), [_proposal_event(p, n, "p")],
                                                     v),
    "invoice": lambda s, f, i: s.issue_invoice_number(FirmId(f), InvoiceId(i)),
    "attempt": lambda s, k, m: s.record_attempt(AttemptKey(k), _A1, InvoiceId("inv-1"), 1,
                                                Money.from_minor(m, "USD")),
    "finish": lambda s, k, o: s.complete_attempt(AttemptKey(k), {"status": o}),
    "notify": lambda s, k, v: s.add_notification(k, None, "note", {"v": v}),
    "ack": lambda s, k: s.ack([k]),
    "post": lambda s, e, m: s.post(_entry(e, m, "p")),
    "link": lambda s, j, a: s.link_work(WorkLink("karbon", j, AgreementId(a))),
    "unlink": lambda s, j: s.unlink_work("karbon", j),
    "sync": lambda s, src, n: s.record_sync(_sync(src, "p", number=n)),
    "sent": lambda s, src, x: s.complete_sync("xero", src, x),
    "discard": lambda s, src: s.discard_sync("xero", src),
    "park": lambda s, a: s.park(AgreementId(a), error="E", message="m"),
    "unpark": lambda s, a: s.unpark(AgreementId(a)),
    "claim": lambda s, w: s.claim(w, FAR, limit=1, lease_seconds=60),
    "claim_one": lambda s, w, a: s.claim_one(w, AgreementId(a), lease_seconds=60),
    "release": lambda s, w, a: s.release(w, [AgreementId(a)]),
    "complete": lambda s, w, a, d: s.complete(w, AgreementId(a), _day(d)),
}


def apply(store: TenantStore, op: Op) -> Any:
    """Run one write of the grammar; its result, or the name of the error it raised."""
    name, *args = op
    try:
        if name == "rollback":
            with store.transaction():
                for inner in args:
                    _APPLY[inner[0]](store, *inner[1:])
                raise Crash("crash before commit")
        return _plain(_APPLY[name](store, *args))
    except (MilestonebillError, Crash) as exc:
        return type(exc).__name__


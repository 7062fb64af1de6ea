"""The contract of proposal streams, part of every store's contract.

:class:`ProposalStreamsContract` checks the
:class:`~milestonebill.stores.base.ProposalStreams` role: the same
optimistic concurrency and idempotent retries as agreement streams, and a
strict separation from them (no proposal is ever listed, due or claimed as
an agreement).  :class:`~milestonebill.testing.store_contract.AgreementStoreContract`
inherits it, so a host's store test runs it without asking; subclass it
alone for a store that only keeps proposals, overriding ``make_store`` as
the store contract's docstring shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import ConcurrencyError, DuplicateIdError, NotFoundError, ValidationError
from milestonebill.stores.base import (
    AgreementId,
    AgreementStore,
    EventId,
    ProposalId,
    StoredEvent,
    StoredProposalEvent,
    WorkerId,
)

__all__ = ["ProposalStreamsContract", "StoreFactory", "make_proposal_event"]

StoreFactory = Callable[[Clock], AgreementStore]

PROP = ProposalId("prop-1")
OTHER = ProposalId("prop-2")


def make_proposal_event(
    proposal_id: str = PROP,
    n: int = 1,
    *,
    type: str = "ProposalSent",
    payload: dict[str, Any] | None = None,
) -> StoredProposalEvent:
    """A stored proposal event with a deterministic id ``f"{proposal_id}:e{n}"``.

    >>> make_proposal_event(n=2).event_id
    'prop-1:e2'
    """
    return StoredProposalEvent(
        ProposalId(proposal_id),
        EventId(f"{proposal_id}:e{n}"),
        0,
        type,
        datetime(2024, 2, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=n),
        payload if payload is not None else {"n": n, "recipient": "ada@example.com"},
    )


def _agreement_event(stream: str, n: int = 1) -> StoredEvent:
    p = make_proposal_event(stream, n, type="Signed")
    return StoredEvent(AgreementId(stream), p.event_id, 0, p.type, p.effective_at, p.payload)


class _Crash(Exception):
    """Stands for a crash inside a unit of work."""


class ProposalStreamsContract:
    """Behaviour of every store's proposal streams."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        """Override: return a factory ``clock -> store`` (see the store contract)."""
        raise NotImplementedError("override the make_store fixture")

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(datetime(2024, 1, 31, 9, 0, tzinfo=UTC))

    @pytest.fixture
    def store(self, make_store: StoreFactory, clock: FixedClock) -> AgreementStore:
        return make_store(clock)

    # ------------------------------------------------------------ the stream

    def test_an_unknown_proposal_stream_is_empty_at_version_zero(
        self, store: AgreementStore
    ) -> None:
        assert (store.load_proposal(PROP), store.proposal_version(PROP)) == ([], 0)

    def test_a_proposal_append_numbers_events_from_one(self, store: AgreementStore) -> None:
        sent = [make_proposal_event(n=1), make_proposal_event(n=2)]
        version = store.append_proposal(PROP, sent, expected_version=0)
        assert (version, store.load_proposal(PROP)) == (
            2, [attrs.evolve(e, version=i) for i, e in enumerate(sent, start=1)])

    def test_a_proposal_event_time_comes_back_in_utc(self, store: AgreementStore) -> None:
        local = datetime(2024, 3, 31, 18, 30, tzinfo=timezone(timedelta(hours=-5)))
        store.append_proposal(PROP, [attrs.evolve(make_proposal_event(), effective_at=local)],
                              expected_version=0)
        assert store.load_proposal(PROP)[0].effective_at == datetime(2024, 3, 31, 23, 30,
                                                                     tzinfo=UTC)

    def test_a_stale_proposal_writer_gets_a_concurrency_error(
        self, store: AgreementStore
    ) -> None:
        store.append_proposal(PROP, [make_proposal_event(n=1)], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append_proposal(PROP, [make_proposal_event(n=2)], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append_proposal(PROP, [make_proposal_event(n=2)], expected_version=3)
        assert store.proposal_version(PROP) == 1

    def test_a_refused_proposal_append_writes_nothing(self, store: AgreementStore) -> None:
        store.append_proposal(PROP, [make_proposal_event(n=1)], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append_proposal(PROP, [make_proposal_event(n=2), make_proposal_event(n=3)],
                                  expected_version=0)
        assert [e.event_id for e in store.load_proposal(PROP)] == ["prop-1:e1"]

    def test_a_retried_proposal_batch_appends_only_its_new_events(
        self, store: AgreementStore
    ) -> None:
        store.append_proposal(PROP, [make_proposal_event(n=1)], expected_version=0)
        again = store.append_proposal(PROP, [make_proposal_event(n=1)], expected_version=0)
        version = store.append_proposal(
            PROP, [make_proposal_event(n=1), make_proposal_event(n=2)], expected_version=1)
        assert (again, version, store.proposal_version(PROP)) == (1, 2, 2)

    def test_a_proposal_event_id_reused_for_other_content_is_refused(
        self, store: AgreementStore
    ) -> None:
        store.append_proposal(PROP, [make_proposal_event(n=1)], expected_version=0)
        with pytest.raises(DuplicateIdError):
            store.append_proposal(PROP, [make_proposal_event(n=1, payload={"n": 9})],
                                  expected_version=1)
        stolen = attrs.evolve(make_proposal_event(n=1), proposal_id=OTHER)
        with pytest.raises(DuplicateIdError):
            store.append_proposal(OTHER, [stolen], expected_version=0)

    def test_an_event_of_another_stream_or_kind_is_refused(self, store: AgreementStore) -> None:
        with pytest.raises(ValidationError):
            store.append_proposal(PROP, [make_proposal_event(OTHER)], expected_version=0)
        with pytest.raises(ValidationError):
            store.append_proposal(PROP, [_agreement_event(PROP)],  # type: ignore[list-item]
                                  expected_version=0)
        with pytest.raises(ValidationError):
            store.append(AgreementId(PROP), [make_proposal_event()],  # type: ignore[list-item]
                         expected_version=0)
        assert (store.proposal_ids(), store.agreement_ids()) == ([], [])

    def test_load_proposal_after_a_version_returns_the_tail(self, store: AgreementStore) -> None:
        store.append_proposal(PROP, [make_proposal_event(n=i) for i in (1, 2, 3)],
                              expected_version=0)
        assert [e.version for e in store.load_proposal(PROP, after_version=1)] == [2, 3]

    def test_proposal_ids_lists_every_proposal_stream(self, store: AgreementStore) -> None:
        for p in ("prop-b", "prop-a"):
            store.append_proposal(ProposalId(p), [make_proposal_event(p)], expected_version=0)
        assert store.proposal_ids() == ["prop-a", "prop-b"]

    # ------------------------------------------------------------ kept apart

    def test_proposals_are_no_agreements(self, store: AgreementStore) -> None:
        store.append_proposal(PROP, [make_proposal_event()], expected_version=0)
        aid = AgreementId(PROP)
        seen = (store.agreement_ids(), store.version(aid), store.load(aid),
                store.list_due(date(9999, 12, 31)),
                store.claim(WorkerId("w"), date(9999, 12, 31), limit=10, lease_seconds=60))
        assert seen == ([], 0, [], [], [])
        with pytest.raises(NotFoundError):
            store.set_next_due(aid, date(2024, 1, 1))
        with pytest.raises(NotFoundError):
            store.claim_one(WorkerId("w"), aid, lease_seconds=60)

    def test_an_agreement_and_a_proposal_may_share_ids(self, store: AgreementStore) -> None:
        store.append(AgreementId(PROP), [_agreement_event(PROP)], expected_version=0)
        store.append_proposal(PROP, [make_proposal_event(PROP)], expected_version=0)
        assert (store.version(AgreementId(PROP)), store.proposal_version(PROP),
                store.load(AgreementId(PROP))[0].type,
                store.load_proposal(PROP)[0].type) == (1, 1, "Signed", "ProposalSent")

    def test_one_unit_of_work_covers_a_proposal_and_its_agreement(
        self, store: AgreementStore
    ) -> None:
        def accept() -> None:
            store.append_proposal(PROP, [make_proposal_event(type="ProposalAccepted")], 0)
            store.append(AgreementId("agr-1"), [_agreement_event("agr-1")], 0)

        def crash() -> None:
            with store.transaction():
                accept()
                raise _Crash("crash before commit")

        with pytest.raises(_Crash):
            crash()
        assert (store.proposal_ids(), store.agreement_ids()) == ([], [])
        with store.transaction():
            accept()
        assert (store.proposal_ids(), store.agreement_ids()) == (["prop-1"], ["agr-1"])

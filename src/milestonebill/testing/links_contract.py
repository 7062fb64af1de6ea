"""The work-link part of the store contract: external work items and what they deliver.

:class:`~milestonebill.testing.store_contract.AgreementStoreContract`
inherits these tests, so a host's store suite runs them without naming
this module.  They use the same ``store``, ``clock`` and ``make_store``
fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from milestonebill.clock import Clock, FixedClock
from milestonebill.errors import DuplicateIdError, ValidationError
from milestonebill.ids import MilestoneId, ObligationId
from milestonebill.stores.base import AgreementId, AgreementStore, EventId, StoredEvent, WorkLink

__all__ = ["WorkLinksContract"]

_A1, _A2 = AgreementId("agr-1"), AgreementId("agr-2")
_DESIGN = WorkLink("karbon", "WI-7", _A1, milestone_id=MilestoneId("design"))
_HOURS = WorkLink("bigtime", "Acme: Audit 2026", _A1, obligation_id=ObligationId("work"))
_PROJECT = WorkLink("keeper", "client-42", _A2)


class _Crash(Exception):
    """Stands for a crash inside a unit of work."""


class WorkLinksContract:
    """What every store does with work links (mixed into the store contract)."""

    def test_a_stored_link_reads_back_equal(self, store: AgreementStore) -> None:
        got = store.link_work(_DESIGN)
        assert (got, store.work_link("karbon", "WI-7")) == (_DESIGN, _DESIGN)

    def test_an_unknown_work_item_has_no_link(self, store: AgreementStore) -> None:
        assert store.work_link("karbon", "nobody") is None

    def test_each_target_reads_back(self, store: AgreementStore) -> None:
        for link in (_DESIGN, _HOURS, _PROJECT):
            store.link_work(link)
        assert [store.work_link(x.source, x.external_id) for x in (_DESIGN, _HOURS, _PROJECT)] \
            == [_DESIGN, _HOURS, _PROJECT]

    def test_linking_the_same_link_again_is_a_no_op(self, store: AgreementStore) -> None:
        store.link_work(_DESIGN)
        assert (store.link_work(_DESIGN), store.work_links()) == (_DESIGN, [_DESIGN])

    def test_another_link_for_a_linked_work_item_is_refused(
        self, store: AgreementStore
    ) -> None:
        store.link_work(_DESIGN)
        other = WorkLink("karbon", "WI-7", _A1, milestone_id=MilestoneId("build"))
        with pytest.raises(DuplicateIdError):
            store.link_work(other)
        assert store.work_link("karbon", "WI-7") == _DESIGN

    def test_the_same_external_id_in_two_sources_is_two_links(
        self, store: AgreementStore
    ) -> None:
        keeper = WorkLink("keeper", "WI-7", _A2)
        store.link_work(_DESIGN)
        store.link_work(keeper)
        assert (store.work_link("karbon", "WI-7"), store.work_link("keeper", "WI-7")) == (
            _DESIGN, keeper)

    def test_unlinking_returns_the_link_and_forgets_it(self, store: AgreementStore) -> None:
        store.link_work(_DESIGN)
        assert (store.unlink_work("karbon", "WI-7"), store.work_link("karbon", "WI-7")) == (
            _DESIGN, None)

    def test_unlinking_an_unlinked_work_item_returns_none(self, store: AgreementStore) -> None:
        assert store.unlink_work("karbon", "WI-7") is None

    def test_a_work_item_may_be_linked_again_once_unlinked(
        self, store: AgreementStore
    ) -> None:
        store.link_work(_DESIGN)
        store.unlink_work("karbon", "WI-7")
        other = WorkLink("karbon", "WI-7", _A1, milestone_id=MilestoneId("build"))
        assert store.link_work(other) == other

    def test_links_are_listed_by_source_then_external_id(self, store: AgreementStore) -> None:
        later = WorkLink("karbon", "WI-10", _A2)
        for link in (_PROJECT, _DESIGN, later, _HOURS):
            store.link_work(link)
        assert store.work_links() == [_HOURS, later, _DESIGN, _PROJECT]

    def test_links_are_listed_by_source_or_by_agreement(self, store: AgreementStore) -> None:
        for link in (_PROJECT, _DESIGN, _HOURS):
            store.link_work(link)
        assert (store.work_links(source="karbon"), store.work_links(agreement_id=_A1),
                store.work_links(source="keeper", agreement_id=_A1)) == (
            [_DESIGN], [_HOURS, _DESIGN], [])

    def test_ids_keep_their_text_exactly(self, store: AgreementStore) -> None:
        link = WorkLink("bigtime", "Zürich — Audit ✓ 'Q1'", AgreementId("agr-ü"),
                        obligation_id=ObligationId("work"))
        store.link_work(link)
        assert store.work_links() == [link]

    def test_a_bad_argument_is_refused_before_anything_is_written(
        self, store: AgreementStore
    ) -> None:
        with pytest.raises(ValidationError):
            store.link_work("karbon:WI-7")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.work_link("Karbon", "WI-7")
        with pytest.raises(ValidationError):
            store.unlink_work("karbon", "")
        with pytest.raises(ValidationError):
            store.work_links(source="no spaces")
        assert store.work_links() == []

    def test_a_link_inside_a_rolled_back_unit_of_work_is_not_kept(
        self, store: AgreementStore
    ) -> None:
        def link_then_crash() -> None:
            with store.transaction():
                store.link_work(_DESIGN)
                raise _Crash

        with pytest.raises(_Crash):
            link_then_crash()
        assert store.work_links() == []

    def test_another_handle_sees_the_links(
        self, make_store: Callable[[Clock], AgreementStore], clock: FixedClock
    ) -> None:
        one, two = make_store(clock), make_store(clock)
        one.link_work(_DESIGN)
        assert two.work_link("karbon", "WI-7") == _DESIGN
        two.unlink_work("karbon", "WI-7")
        assert one.work_links() == []

    def test_the_agreement_whose_stream_holds_an_event_is_found(
        self, store: AgreementStore
    ) -> None:
        for aid in (_A1, _A2):
            store.append(aid, [StoredEvent(aid, EventId(f"pm:karbon:{aid}"), 0, "Signed",
                                           datetime(2024, 1, 2, tzinfo=UTC), {"n": 1})], 0)
        assert [store.agreement_of_event(EventId(e)) for e in (
            "pm:karbon:agr-2", "pm:karbon:agr-1", "pm:karbon:none")] == [_A2, _A1, None]

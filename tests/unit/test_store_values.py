"""The values stores keep validate their input and keep JSON canonical."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest

from milestonebill.errors import ConcurrencyError, DuplicateIdError, ValidationError
from milestonebill.money import Money
from milestonebill.stores._common import plan_append
from milestonebill.stores.base import (
    AgreementId,
    AttemptKey,
    AttemptRecord,
    EventId,
    InvoiceId,
    StoredEvent,
    canonical_json,
    parse_json_object,
)

A = AgreementId("agr-1")
T = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)


def event(n: int = 1, payload: dict[str, object] | None = None) -> StoredEvent:
    return StoredEvent(A, EventId(f"e{n}"), 0, "Signed", T, payload or {"n": n})


def test_a_naive_effective_at_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        StoredEvent(A, EventId("e1"), 0, "Signed", datetime(2024, 1, 1), {})
    assert info.value.field == "effective_at"


def test_effective_at_is_kept_in_utc() -> None:
    local = datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    e = StoredEvent(A, EventId("e1"), 0, "Signed", local, {})
    assert (e.effective_at, e.effective_at.tzinfo) == (datetime(2024, 2, 29, 18, 0, tzinfo=UTC), UTC)


def test_payload_text_and_dict_give_the_same_event() -> None:
    assert event(payload={"b": 2, "a": 1}) == attrs.evolve(event(), payload='{ "a": 1, "b": 2 }')


def test_a_float_in_a_payload_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        event(payload={"amount": 0.1})
    assert info.value.field == "payload.amount"


def test_a_payload_must_be_a_json_object() -> None:
    with pytest.raises(ValidationError):
        canonical_json("[1, 2]")


def test_parse_keeps_decimals_exact() -> None:
    assert str(parse_json_object('{"x": 1.10}')["x"]) == "1.10"


@pytest.mark.parametrize("version", [-1, True, 1.0])
def test_a_bad_version_is_refused(version: object) -> None:
    with pytest.raises(ValidationError):
        StoredEvent(A, EventId("e1"), version, "Signed", T, {})  # type: ignore[arg-type]


def test_an_attempt_number_starts_at_one() -> None:
    with pytest.raises(ValidationError):
        AttemptRecord(AttemptKey("k"), A, InvoiceId("i"), 0, Money("1", "USD"))


def test_plan_append_numbers_new_events_after_the_expected_version() -> None:
    planned = plan_append(A, [event(3), event(4)], 2, 2, lambda _id: None, kind=StoredEvent)
    assert [e.version for e in planned] == [3, 4]


def test_plan_append_skips_stored_events_before_checking_the_version() -> None:
    stored = {"e1": attrs.evolve(event(1), version=1)}
    assert plan_append(A, [event(1)], 0, 5, stored.get, kind=StoredEvent) == []


def test_plan_append_refuses_a_changed_event() -> None:
    stored = {"e1": attrs.evolve(event(1), version=1)}
    with pytest.raises(DuplicateIdError):
        plan_append(A, [event(1, {"n": 2})], 1, 1, stored.get, kind=StoredEvent)


def test_plan_append_reports_both_versions() -> None:
    with pytest.raises(ConcurrencyError) as info:
        plan_append(A, [event(2)], 0, 1, lambda _id: None, kind=StoredEvent)
    assert (info.value.expected, info.value.actual) == (0, 1)


def test_plan_append_refuses_a_repeated_id_in_one_batch() -> None:
    with pytest.raises(ValidationError):
        plan_append(A, [event(1), event(1)], 0, 0, lambda _id: None, kind=StoredEvent)


def test_plan_append_refuses_a_single_event_instead_of_a_list() -> None:
    with pytest.raises(ValidationError):
        plan_append(A, event(1), 0, 0, lambda _id: None, kind=StoredEvent)  # type: ignore[arg-type]


def test_a_due_date_must_not_be_a_datetime() -> None:
    from milestonebill._validate import check_date

    with pytest.raises(ValidationError):
        check_date("as_of", datetime(2024, 1, 1, tzinfo=UTC))
    assert check_date("as_of", date(2024, 1, 1)) == date(2024, 1, 1)


def test_plan_append_refuses_a_proposal_event_in_an_agreement_stream() -> None:
    from milestonebill.stores.base import ProposalId, StoredProposalEvent

    e = event(1)
    proposal_event = StoredProposalEvent(ProposalId(A), e.event_id, 0, e.type, e.effective_at,
                                         e.payload)
    with pytest.raises(ValidationError, match="events\\[0\\]"):
        plan_append(A, [proposal_event], 0, 0, lambda _id: None,  # type: ignore[type-var]
                    kind=StoredEvent)


def test_events_of_two_kinds_of_stream_never_have_the_same_content() -> None:
    from milestonebill.stores.base import ProposalId, StoredProposalEvent

    e = event(1)
    twin = StoredProposalEvent(ProposalId(A), e.event_id, 0, e.type, e.effective_at, e.payload)
    assert (e.same_content(e), e.same_content(twin), twin.stream_id) == (True, False, A)

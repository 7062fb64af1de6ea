"""Properties of proposal lives: final statuses stay final, the fold and JSON are exact.

Each example drafts a proposal valid for a random number of days and then
tries random steps on random later days -- send, view, accept, decline,
withdraw, expire, link a customer -- keeping the ones the record allows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.agreement import Collection
from milestonebill.errors import DomainError
from milestonebill.ids import AgreementId, CustomerId
from milestonebill.proposals import (
    ProposalEvent,
    ProposalRecord,
    ProposalStatus,
    accept,
    apply_event,
    decline,
    draft,
    expire,
    is_expired,
    link_customer,
    proposal_event_from_json,
    proposal_event_to_json,
    send,
    signed_agreement,
    status_on,
    view,
    withdraw,
)
from milestonebill.testing.scenarios import T0, proposal

_Step = Callable[[ProposalRecord, datetime], ProposalEvent | None]

STEPS: dict[str, _Step] = {
    "send": lambda r, at: send(r, at=at),
    "view": lambda r, at: view(r, at=at),
    "accept": lambda r, at: accept(r, agreement_id=AgreementId("agr-1"), option="std",
                                   signer="Ada", at=at, payment_method=None),
    "decline": lambda r, at: decline(r, at=at, reason="no"),
    "withdraw": lambda r, at: withdraw(r, at=at),
    "expire": lambda r, at: expire(r, at=at),
    "link": lambda r, at: link_customer(r, customer_id=CustomerId("cus_1"),
                                        customer_reference="acme", at=at),
}

lives = st.tuples(
    st.integers(min_value=0, max_value=30),
    st.lists(st.tuples(st.sampled_from(sorted(STEPS)), st.integers(min_value=0, max_value=10)),
             max_size=12),
)


def live(valid_days: int, steps: list[tuple[str, int]]
         ) -> tuple[ProposalRecord, list[ProposalStatus]]:
    p = attrs.evolve(proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE),
                     valid_until=T0.date() + timedelta(days=valid_days))
    record = draft(p, at=T0)
    statuses = [record.status]
    when = T0
    for name, days in steps:
        when += timedelta(days=days)
        try:
            event = STEPS[name](record, when)
        except DomainError:
            continue
        if event is not None:
            record = apply_event(record, event)
        statuses.append(record.status)
    return record, statuses


@settings(max_examples=200, deadline=None)
@given(lives)
def test_a_final_status_never_changes(life: tuple[int, list[tuple[str, int]]]) -> None:
    _, statuses = live(*life)
    for before, after in itertools.pairwise(statuses):
        assert before.is_open or after is before


@settings(max_examples=200, deadline=None)
@given(lives)
def test_the_stream_folds_and_round_trips_to_the_same_record(
    life: tuple[int, list[tuple[str, int]]]
) -> None:
    record, _ = live(*life)
    text = json.dumps([proposal_event_to_json(e) for e in record.events])
    again = ProposalRecord.from_events(proposal_event_from_json(d) for d in json.loads(text))
    assert (again, again.status, again.customer) == (record, record.status, record.customer)


@settings(max_examples=200, deadline=None)
@given(lives)
def test_only_an_accepted_proposal_has_an_agreement_signed_in_time(
    life: tuple[int, list[tuple[str, int]]]
) -> None:
    record, _ = live(*life)
    until = record.proposal.valid_until
    assert until is not None
    if record.status is ProposalStatus.ACCEPTED:
        a = signed_agreement(record)
        assert (a.proposal_id, a.signed_on <= until) == (record.id, True)
    else:
        assert record.agreement_id is None
    if record.status is ProposalStatus.EXPIRED:
        assert record.decided_at is not None
        assert record.decided_at.date() > until
    day = until + timedelta(days=1)
    assert is_expired(record, day) == (record.status in (ProposalStatus.EXPIRED,
                                                         *_open(record)))
    assert status_on(record, date(2000, 1, 1)) is record.status


def _open(record: ProposalRecord) -> tuple[ProposalStatus, ...]:
    return (record.status,) if record.status.is_open else ()

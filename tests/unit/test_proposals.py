"""The proposal lifecycle: statuses, transitions, expiry, the link to the agreement."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from milestonebill.agreement import AddOn, Collection, PaymentMethodKind, PaymentMethodRef
from milestonebill.errors import (
    DuplicateIdError,
    EventOrderError,
    InvalidTransitionError,
    NotFoundError,
    ProposalExpiredError,
    ValidationError,
)
from milestonebill.ids import AgreementId, CustomerId
from milestonebill.proposals import (
    CustomerLinked,
    PaymentMethodSaved,
    ProposalAccepted,
    ProposalDeclined,
    ProposalDrafted,
    ProposalEvent,
    ProposalExpired,
    ProposalRecord,
    ProposalSent,
    ProposalStatus,
    ProposalViewed,
    ProposalWithdrawn,
    accept,
    apply_event,
    check_accept,
    decline,
    draft,
    expire,
    is_expired,
    link_customer,
    proposal_event_from_json,
    proposal_event_to_json,
    record_payment_method,
    requires_payment_method,
    send,
    signed_agreement,
    status_on,
    view,
    withdraw,
)
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
from milestonebill.testing.scenarios import CARD, T0, proposal, usd

AGR = AgreementId("agr-1")
CUSTOMER = CustomerId("cus_1")
UNTIL = date(2026, 3, 31)


def offer(collection: Collection = Collection.AUTO_CHARGE) -> ProposalRecord:
    extra = AddOn("support", "Support", BillingSchedule(
        currency=usd("1").currency,
        milestones=[Milestone(MilestoneId("handover"), "Handover", amount=usd("500.00"))]))
    p = attrs.evolve(proposal([("design", "1000.00")], collection=collection),
                     valid_until=UNTIL, addons=(extra,))
    return draft(p, at=T0)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def then(record: ProposalRecord, event: ProposalEvent | None) -> ProposalRecord:
    assert event is not None
    return apply_event(record, event)


def sent(record: ProposalRecord | None = None) -> ProposalRecord:
    r = record or offer()
    return then(r, send(r, at=at(0.1), recipient="ada@acme.test"))


def accepted(record: ProposalRecord | None = None, **kw: object) -> ProposalRecord:
    r = record or offer()
    args: dict[str, object] = {"agreement_id": AGR, "option": "std", "signer": "Ada",
                               "at": at(2), "payment_method": CARD, **kw}
    return then(r, accept(r, **args))  # type: ignore[arg-type]


def linked(record: ProposalRecord | None = None) -> ProposalRecord:
    r = record or offer()
    return then(r, link_customer(r, customer_id=CUSTOMER, customer_reference="acme", at=at(1)))


# ------------------------------------------------------------------ statuses


def test_a_drafted_proposal_is_open_at_version_one() -> None:
    r = offer()
    assert (r.status, r.version, r.id, r.drafted_at, r.agreement_id) == (
        ProposalStatus.DRAFT, 1, "p-1", T0, None)


def test_sending_then_viewing_twice_keeps_the_first_view() -> None:
    r = sent()
    r = then(r, view(r, at=at(0.5)))
    r = then(r, view(r, at=at(0.7)))
    assert (r.status, r.sent_at, r.viewed_at, r.version) == (
        ProposalStatus.VIEWED, at(0.1), at(0.5), 4)


def test_sending_a_sent_or_viewed_proposal_is_a_no_op() -> None:
    r = sent()
    assert send(r, at=at(1)) is None
    assert send(then(r, view(r, at=at(1))), at=at(2)) is None


def test_an_unsent_proposal_cannot_be_viewed() -> None:
    with pytest.raises(InvalidTransitionError, match="ProposalViewed is not allowed"):
        view(offer(), at=at(1))


@pytest.mark.parametrize("before", ["draft", "sent", "viewed"])
def test_an_open_proposal_can_be_accepted(before: str) -> None:
    r = offer()
    if before != "draft":
        r = sent(r)
    if before == "viewed":
        r = then(r, view(r, at=at(1)))
    r = accepted(r, addons=("support",))
    assert (r.status, r.decided_at, r.agreement_id) == (ProposalStatus.ACCEPTED, at(2), AGR)
    assert r.acceptance is not None
    assert r.acceptance.addon_ids == ("support",)


@pytest.mark.parametrize(("command", "status"), [
    (lambda r: decline(r, at=at(1), reason="budget"), ProposalStatus.DECLINED),
    (lambda r: withdraw(r, at=at(1), reason="re-scoped"), ProposalStatus.WITHDRAWN),
    (lambda r: expire(r, at=datetime(2026, 4, 1, tzinfo=UTC)), ProposalStatus.EXPIRED),
])
def test_a_final_status_refuses_every_other_step(command: object, status: ProposalStatus
                                                 ) -> None:
    r = then(sent(), command(sent()))  # type: ignore[operator]
    assert r.status is status
    assert not r.status.is_open
    assert command(r) is None  # type: ignore[operator]  # the same step again: a retry
    for other in (lambda: accepted(r), lambda: view(r, at=at(40)),
                  lambda: link_customer(r, customer_id=CUSTOMER, customer_reference="a",
                                        at=at(40))):
        with pytest.raises(InvalidTransitionError):
            other()


def test_a_withdrawn_proposal_cannot_be_accepted() -> None:
    r = sent()
    r = then(r, withdraw(r, at=at(1)))
    with pytest.raises(InvalidTransitionError, match="is withdrawn"):
        accepted(r)


def test_an_accepted_proposal_cannot_be_declined_or_withdrawn() -> None:
    r = accepted(sent())
    for step in (decline, withdraw):
        with pytest.raises(InvalidTransitionError, match="is accepted"):
            step(r, at=at(3))


def test_decline_and_withdraw_keep_their_reason() -> None:
    r = sent()
    assert then(r, decline(r, at=at(1), reason="budget")).reason == "budget"
    assert then(r, withdraw(r, at=at(1), reason="re-scoped")).reason == "re-scoped"


# ------------------------------------------------------------------ expiry


def test_expiry_is_a_pure_function_of_the_record_and_a_day() -> None:
    r = sent()
    assert [is_expired(r, d) for d in (UNTIL, UNTIL + timedelta(days=1))] == [False, True]
    assert [status_on(r, d) for d in (UNTIL, UNTIL + timedelta(days=1))] == [
        ProposalStatus.SENT, ProposalStatus.EXPIRED]


def test_a_decided_proposal_does_not_expire() -> None:
    r = accepted()
    assert (is_expired(r, date(2030, 1, 1)), status_on(r, date(2030, 1, 1))) == (
        False, ProposalStatus.ACCEPTED)


def test_a_proposal_without_a_validity_date_never_expires() -> None:
    r = draft(attrs.evolve(offer().proposal, valid_until=None), at=T0)
    assert not is_expired(r, date(2099, 1, 1))
    with pytest.raises(InvalidTransitionError, match="has not expired"):
        expire(r, at=at(9999))


def test_expiry_cannot_be_recorded_before_the_validity_date_ends() -> None:
    with pytest.raises(InvalidTransitionError, match="valid until 2026-03-31"):
        expire(sent(), at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))


def test_accepting_after_the_validity_date_is_an_invalid_transition() -> None:
    with pytest.raises(ProposalExpiredError) as info:
        accepted(sent(), at=datetime(2026, 4, 1, tzinfo=UTC))
    assert isinstance(info.value, InvalidTransitionError)


def test_accepting_an_expired_proposal_is_refused() -> None:
    r = sent()
    r = then(r, expire(r, at=datetime(2026, 4, 1, tzinfo=UTC)))
    with pytest.raises(InvalidTransitionError, match="is expired"):
        accepted(r, at=datetime(2026, 4, 2, tzinfo=UTC))


# ------------------------------------------------------------------ accepting and signing


def test_the_signed_agreement_is_rebuilt_identically_and_links_back() -> None:
    r = accepted(sent(), addons=("support",))
    a = signed_agreement(r)
    assert a == signed_agreement(ProposalRecord.from_events(r.events))
    assert (a.id, a.proposal_id, a.signed_at, a.payment_method, a.addons) == (
        AGR, r.id, at(2), CARD, ("support",))
    assert a.events[0].event_id == "agr-1/1/signed"


def test_accepting_again_the_same_way_is_a_retry() -> None:
    r = accepted()
    assert accept(r, agreement_id=AGR, option="std", signer="Ada", at=at(5),
                  payment_method=None) is None


def test_accepting_again_another_way_is_refused() -> None:
    r = accepted()
    with pytest.raises(InvalidTransitionError, match="already accepted: option 'std'"):
        accept(r, agreement_id=AGR, option="std", signer="Bob", at=at(5), payment_method=CARD)


def test_a_proposal_that_charges_automatically_needs_a_payment_method() -> None:
    assert requires_payment_method(offer().proposal)
    assert not requires_payment_method(offer(Collection.SEND_INVOICE).proposal)
    with pytest.raises(ValidationError) as info:
        accepted(payment_method=None)
    assert info.value.field == "payment_method"
    assert accepted(offer(Collection.SEND_INVOICE), payment_method=None).status is (
        ProposalStatus.ACCEPTED)


@pytest.mark.parametrize(("kw", "error"), [
    ({"option": "gold"}, NotFoundError),
    ({"addons": ("nope",)}, NotFoundError),
    ({"addons": ("support", "support")}, ValidationError),
    ({"addons": "support"}, ValidationError),
    ({"signer": " "}, ValidationError),
    ({"agreement_id": ""}, ValidationError),
])
def test_a_bad_acceptance_is_refused_and_records_nothing(kw: dict[str, object],
                                                         error: type[Exception]) -> None:
    r = sent()
    with pytest.raises(error):
        accepted(r, **kw)
    assert r.status is ProposalStatus.SENT


def test_check_accept_judges_before_a_payment_method_exists() -> None:
    r = linked(sent())
    check_accept(r, agreement_id=AGR, option="std", signer="Ada", at=at(2),
                 payment_method_kind=PaymentMethodKind.BANK_DEBIT)
    with pytest.raises(ValidationError, match="payment_method"):
        check_accept(r, agreement_id=AGR, option="std", signer="Ada", at=at(2))
    with pytest.raises(ProposalExpiredError):
        check_accept(r, agreement_id=AGR, option="std", signer="Ada",
                     at=datetime(2026, 5, 1, tzinfo=UTC),
                     payment_method_kind=PaymentMethodKind.CARD)


def test_an_accepted_payment_method_belongs_to_the_linked_customer() -> None:
    other = attrs.evolve(CARD, customer_id="cus_other")
    with pytest.raises(ValidationError) as info:
        accepted(linked(), payment_method=other)
    assert info.value.field == "payment_method.customer_id"


def test_a_record_not_accepted_has_no_signed_agreement() -> None:
    with pytest.raises(InvalidTransitionError, match="is sent, not accepted"):
        signed_agreement(sent())


# ------------------------------------------------------------------ onboarding progress


def test_a_customer_is_linked_once() -> None:
    r = linked()
    assert r.customer is not None
    assert r.customer.customer_reference == "acme"
    assert link_customer(r, customer_id=CUSTOMER, customer_reference="acme", at=at(2)) is None
    with pytest.raises(ValidationError) as info:
        link_customer(r, customer_id=CUSTOMER, customer_reference="beta", at=at(2))
    assert info.value.field == "customer_reference"
    with pytest.raises(InvalidTransitionError, match="already has the customer"):
        link_customer(r, customer_id=CustomerId("cus_2"), customer_reference="acme", at=at(2))


def test_a_saved_payment_method_needs_the_linked_customer() -> None:
    card = PaymentMethodRef("memory", CUSTOMER, "pm_1", PaymentMethodKind.CARD)
    with pytest.raises(ValidationError, match="linked customer"):
        record_payment_method(offer(), payment_method=card, setup_key="k1", at=at(1))
    r = linked()
    r = then(r, record_payment_method(r, payment_method=card, setup_key="k1", at=at(1)))
    assert record_payment_method(r, payment_method=card, setup_key="k1", at=at(2)) is None
    second = attrs.evolve(card, payment_method_id="pm_2")
    r = then(r, record_payment_method(r, payment_method=second, setup_key="k2", at=at(2)))
    assert r.saved_method is not None
    assert r.saved_method.payment_method == second


# ------------------------------------------------------------------ the fold


def test_reapplying_an_event_is_a_no_op_and_a_changed_one_is_refused() -> None:
    r = sent()
    again = apply_event(r, r.events[-1])
    assert again is r
    with pytest.raises(DuplicateIdError):
        apply_event(r, ProposalSent(r.events[-1].event_id, 2, at(0.1), "bob@acme.test"))


def test_events_follow_their_stream_in_version_and_time() -> None:
    r = offer()
    with pytest.raises(EventOrderError, match="proposal 'p-1' expects event version 2"):
        apply_event(r, ProposalSent("x", 3, at(1)))
    with pytest.raises(EventOrderError, match="before the previous event"):
        apply_event(r, ProposalSent("x", 2, T0 - timedelta(seconds=1)))


def test_a_stream_starts_with_its_draft_at_version_one() -> None:
    with pytest.raises(InvalidTransitionError, match="first event must be ProposalDrafted"):
        ProposalRecord.from_events([ProposalSent("x", 1, T0)])
    with pytest.raises(EventOrderError):
        ProposalRecord.from_events([attrs.evolve(offer().events[0], version=2)])
    with pytest.raises(InvalidTransitionError, match="already drafted"):
        apply_event(offer(), attrs.evolve(offer().events[0], event_id="again", version=2))


def test_records_are_equal_when_their_streams_are() -> None:
    assert sent() == sent()
    assert hash(sent()) == hash(sent())
    assert sent() != offer()


def test_an_event_order_error_survives_pickling() -> None:
    err = EventOrderError("p-1", 2, 3, "late", "proposal")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


# ------------------------------------------------------------------ JSON


def every_event() -> list[ProposalEvent]:
    pm = PaymentMethodRef("stripe", CUSTOMER, "pm_1", PaymentMethodKind.BANK_DEBIT)
    return [
        offer().events[0],
        ProposalSent("e2", 2, at(1), "ada@acme.test"),
        ProposalViewed("e3", 3, at(1)),
        ProposalAccepted("e4", 4, at(2), AGR, "std", "Ada", pm, ("support",)),
        ProposalDeclined("e5", 5, at(2), "budget"),
        ProposalExpired("e6", 6, at(2)),
        ProposalWithdrawn("e7", 7, at(2), "re-scoped"),
        CustomerLinked("e8", 8, at(2), CUSTOMER, "acme"),
        PaymentMethodSaved("e9", 9, at(2), pm, "mb-setup-v1-abc"),
    ]


@pytest.mark.parametrize("event", every_event(), ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_json(event: ProposalEvent) -> None:
    data = proposal_event_to_json(event)
    assert data["type"] == type(event).__name__
    assert proposal_event_from_json(data) == event


def test_json_refuses_what_is_no_proposal_event() -> None:
    with pytest.raises(ValidationError):
        proposal_event_to_json(object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        proposal_event_from_json({"type": "ProposalSent", "event_id": "e", "version": 2,
                                  "effective_at": "2026-03-02T09:00:00+00:00", "to": "x"})
    assert info.value.field == "event.to"


def test_a_draft_needs_a_proposal() -> None:
    with pytest.raises(ValidationError):
        draft("p-1", at=T0)  # type: ignore[arg-type]
    assert isinstance(offer().events[0], ProposalDrafted)

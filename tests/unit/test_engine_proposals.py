"""The Biller keeps proposals and onboards a client in one call, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    Collection,
    PaymentMethodKind,
    Proposal,
    ProposalId,
)
from milestonebill.errors import (
    DuplicateIdError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PaymentMethodRefusedError,
    ProposalExpiredError,
    ValidationError,
)
from milestonebill.gateways.base import GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import AgreementId
from milestonebill.proposals import CustomerLinked, PaymentMethodSaved, ProposalStatus
from milestonebill.testing.scenarios import T0, World, proposal

PID = ProposalId("p-1")
UNTIL = date(2026, 3, 31)


def offer(collection: Collection = Collection.AUTO_CHARGE) -> Proposal:
    return proposal([("design", "1000.00")], collection=collection, valid_until=UNTIL)


def world(collection: Collection = Collection.AUTO_CHARGE) -> World[InMemoryGateway]:
    w = World()
    w.biller.propose(offer(collection))
    return w


def card(w: World[InMemoryGateway], **kw: object) -> Agreement:
    args: dict[str, object] = {"option": "std", "signer": "Ada", "customer_reference": "acme",
                               "payment_method_token": "tok_visa", **kw}
    return w.biller.onboard(PID, **args)  # type: ignore[arg-type]


def saved_methods(w: World[InMemoryGateway]) -> int:
    return sum(1 for e in w.gateway.events if e.kind is GatewayEventKind.PAYMENT_METHOD_SAVED)


# ------------------------------------------------------------------ the lifecycle


def test_a_proposed_proposal_is_stored_as_a_draft_in_its_own_stream() -> None:
    w = world()
    record = w.biller.load_proposal(PID)
    assert (record.status, record.drafted_at, w.store.proposal_ids(), w.store.agreement_ids()) \
        == (ProposalStatus.DRAFT, T0, [PID], [])


def test_proposing_again_is_a_no_op_and_another_proposal_under_the_id_is_refused() -> None:
    w = world()
    assert w.biller.propose(offer()) == w.biller.load_proposal(PID)
    assert w.store.proposal_version(PID) == 1
    with pytest.raises(DuplicateIdError):
        w.biller.propose(proposal([("other", "5.00")]))


def test_send_view_and_decline_are_recorded_in_order() -> None:
    w = world()
    w.later(hours=1)
    w.biller.send(PID, recipient="ada@acme.test")
    w.biller.send(PID)  # a retry
    w.later(hours=2)
    w.biller.mark_viewed(PID)
    record = w.biller.decline(PID, reason="budget")
    assert (record.status, record.sent_at, record.viewed_at, record.reason, record.version) == (
        ProposalStatus.DECLINED, T0 + timedelta(hours=1), T0 + timedelta(hours=2), "budget", 4)
    assert w.biller.decline(PID, reason="budget").version == 4


def test_a_withdrawn_proposal_cannot_be_onboarded_and_nothing_is_stored() -> None:
    w = world()
    w.biller.withdraw(PID, reason="re-scoped")
    with pytest.raises(InvalidTransitionError, match="is withdrawn"):
        card(w)
    assert (w.store.agreement_ids(), w.gateway.calls, w.store.proposal_version(PID)) == ([], 0, 2)


def test_an_unknown_proposal_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        World().biller.send(ProposalId("nope"))


def test_expiry_is_recorded_for_open_proposals_past_their_date() -> None:
    w = world()
    w.biller.propose(attrs.evolve(offer(), id=ProposalId("p-2"), valid_until=None))
    assert w.biller.expire_proposals(UNTIL) == ()
    expired = w.biller.expire_proposals(UNTIL + timedelta(days=1))
    assert [(r.id, r.status, r.decided_at) for r in expired] == [
        (PID, ProposalStatus.EXPIRED, datetime(2026, 4, 1, tzinfo=UTC))]
    assert w.biller.expire_proposals(UNTIL + timedelta(days=9)) == ()
    assert w.biller.load_proposal(ProposalId("p-2")).status is ProposalStatus.DRAFT


# ------------------------------------------------------------------ onboarding


def test_onboarding_a_card_client_creates_saves_signs_and_opens() -> None:
    w = world()
    w.biller.send(PID)
    a = card(w)
    record = w.biller.load_proposal(PID)
    assert (record.status, record.agreement_id, a.id, a.proposal_id) == (
        ProposalStatus.ACCEPTED, "p-1", "p-1", PID)
    assert a.payment_method is not None
    assert (a.payment_method.gateway, a.payment_method.kind) == ("memory", PaymentMethodKind.CARD)
    assert a.payment_method.customer_id == w.gateway.customers[0].customer_id
    assert [type(e).__name__ for e in record.events] == [
        "ProposalDrafted", "ProposalSent", "CustomerLinked", "PaymentMethodSaved",
        "ProposalAccepted"]
    assert [n.kind for n in w.store.pending_notifications()] == ["proposal.accepted"]
    summary = w.complete("design", agreement_id=AgreementId("p-1"))
    assert [c.amount for c in w.gateway.charges] == [summary.invoices[0].total]


def test_onboarding_a_bank_debit_client_builds_the_mandate() -> None:
    w = world()
    accepted = T0 - timedelta(minutes=5)
    a = card(w, payment_method_token="tok_bank", kind=PaymentMethodKind.BANK_DEBIT,
             mandate_accepted_at=accepted, mandate_ip_address="203.0.113.7",
             mandate_user_agent="Mozilla/5.0")
    assert a.payment_method is not None
    assert a.payment_method.kind is PaymentMethodKind.BANK_DEBIT


def test_a_bank_debit_needs_the_mandate_and_nothing_is_done_without_it() -> None:
    w = world()
    with pytest.raises(ValidationError) as info:
        card(w, kind=PaymentMethodKind.BANK_DEBIT)
    assert (info.value.field, w.gateway.calls, w.store.proposal_version(PID)) == (
        "mandate_accepted_at", 0, 1)


def test_mandate_facts_for_a_card_are_refused() -> None:
    with pytest.raises(ValidationError, match="only to save a bank debit"):
        card(world(), mandate_accepted_at=T0)


def test_a_send_invoice_proposal_onboards_without_the_gateway() -> None:
    w = world(Collection.SEND_INVOICE)
    a = w.biller.onboard(PID, option="std", signer="Ada")
    assert (a.payment_method, w.gateway.calls, w.biller.load_proposal(PID).status) == (
        None, 0, ProposalStatus.ACCEPTED)


def test_an_auto_charge_proposal_needs_a_token() -> None:
    w = world()
    with pytest.raises(ValidationError) as info:
        w.biller.onboard(PID, option="std", signer="Ada")
    assert (info.value.field, w.gateway.calls) == ("payment_method_token", 0)


def test_every_bad_input_is_reported_at_once_and_nothing_is_done() -> None:
    w = world()
    with pytest.raises(InvalidInputError) as info:
        w.biller.onboard(PID, option=" ", signer="", payment_method_token="4242 4242 4242 4242",
                         kind="card", addons="x", at=datetime(2026, 3, 3))  # type: ignore[arg-type]
    fields = [p.field for p in info.value.problems]
    assert fields == ["option", "signer", "payment_method_token", "kind", "addons", "at"]
    assert "4242" not in str(info.value)
    assert (w.gateway.calls, w.store.proposal_version(PID)) == (0, 1)


def test_a_token_needs_a_customer_reference() -> None:
    with pytest.raises(ValidationError) as info:
        card(world(), customer_reference=None)
    assert info.value.field == "customer_reference"


@pytest.mark.parametrize(("kw", "error"), [
    ({"option": "gold"}, NotFoundError),
    ({"addons": ("nope",)}, NotFoundError),
    ({"at": datetime(2026, 4, 1, tzinfo=UTC)}, ProposalExpiredError),
])
def test_a_refused_signing_calls_no_gateway(kw: dict[str, object],
                                            error: type[Exception]) -> None:
    w = world()
    with pytest.raises(error):
        card(w, **kw)
    assert (w.gateway.calls, w.store.proposal_version(PID), w.store.agreement_ids()) == (
        0, 1, [])


def test_a_declined_card_stores_nothing_of_the_agreement() -> None:
    w = world()
    w.gateway.script_setup("tok_bad", Scripted.decline("card_declined", "Your card was declined."))
    with pytest.raises(PaymentMethodRefusedError) as info:
        card(w, payment_method_token="tok_bad")
    assert (info.value.field, info.value.status, info.value.decline_code) == (
        "payment_method_token", "declined", "card_declined")
    record = w.biller.load_proposal(PID)
    assert (record.status, record.saved_method, w.store.agreement_ids()) == (
        ProposalStatus.DRAFT, None, [])
    a = card(w)  # the client tries another card: the same customer, a new method
    assert len(w.gateway.customers) == 1
    assert a.payment_method is not None


def test_a_setup_that_needs_the_client_is_refused_with_its_reference() -> None:
    w = world()
    w.gateway.script_setup("tok_3ds", Scripted.require_action())
    with pytest.raises(PaymentMethodRefusedError) as info:
        card(w, payment_method_token="tok_3ds")
    assert (info.value.status, info.value.setup_ref is not None) == ("requires_action", True)


def test_an_agreement_id_already_used_is_refused_before_the_gateway() -> None:
    w = world()
    w.open(agreement_id=AgreementId("p-1"))
    with pytest.raises(DuplicateIdError):
        card(w)
    assert w.gateway.calls == 0


# ------------------------------------------------------------------ retries


def test_a_retried_onboarding_returns_the_agreement_and_does_nothing_again() -> None:
    w = world()
    first = card(w, at=T0)
    calls = w.gateway.calls
    w.later(hours=1)
    assert card(w, at=T0) == first
    assert (w.gateway.calls, len(w.gateway.customers), saved_methods(w)) == (calls, 1, 1)
    assert w.store.version(AgreementId("p-1")) == 1


@pytest.mark.parametrize(("kw", "error", "field"), [
    ({"option": "std", "signer": "Bob"}, InvalidTransitionError, None),
    ({"customer_reference": "beta"}, ValidationError, "customer_reference"),
    ({"payment_method_token": "tok_other"}, ValidationError, "payment_method_token"),
    ({"agreement_id": AgreementId("agr-9")}, InvalidTransitionError, None),
])
def test_a_retry_that_asks_for_something_else_is_refused(
    kw: dict[str, object], error: type[Exception], field: str | None
) -> None:
    w = world()
    card(w)
    with pytest.raises(error) as info:
        card(w, **kw)
    if field is not None:
        assert getattr(info.value, "field", None) == field


def test_a_retry_after_the_customer_was_recorded_reuses_it() -> None:
    w = world()
    w.gateway.script_setup("tok_bad", Scripted.decline())
    with pytest.raises(PaymentMethodRefusedError):
        card(w, payment_method_token="tok_bad")
    with pytest.raises(ValidationError, match="customer_reference"):
        card(w, customer_reference="someone-else")
    calls = w.gateway.calls
    card(w)
    assert (w.gateway.calls - calls, len(w.gateway.customers)) == (1, 1)  # the setup only


def test_the_steps_are_recorded_once_each() -> None:
    w = world()
    card(w)
    events = w.biller.load_proposal(PID).events
    assert sum(isinstance(e, CustomerLinked) for e in events) == 1
    assert sum(isinstance(e, PaymentMethodSaved) for e in events) == 1


def test_a_refused_payment_method_error_survives_pickling() -> None:
    import pickle

    err = PaymentMethodRefusedError("declined", "card_declined", "no", "seti_1")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.setup_ref, back.field) == (str(err), "seti_1", "payment_method_token")

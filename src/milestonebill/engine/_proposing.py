"""Proposals through the store, and onboarding a client in one call.

Private to :mod:`milestonebill.engine`.  The lifecycle rules are the core's
(:mod:`milestonebill.proposals`); this module loads a proposal's stream,
appends the event a command built, and runs an onboarding: the gateway
customer, the saved payment method and the signing, each step recorded in
the proposal's stream before the next, so a retry after a crash or a
timeout at any point repeats no step that was done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import attrs

from milestonebill._json import parse_json_object
from milestonebill._validate import (
    check_date,
    check_id,
    collect_problems,
    raise_all,
    utc_datetime,
)
from milestonebill.agreement import Agreement, Proposal
from milestonebill.engine._context import CONCURRENCY_RETRIES, Context, stored
from milestonebill.errors import (
    ConcurrencyError,
    DuplicateIdError,
    NotFoundError,
    PaymentMethodRefusedError,
    ValidationError,
)
from milestonebill.gateways.base import (
    CustomerRequest,
    MandateAcceptance,
    PaymentGateway,
    SetupRequest,
    SetupStatus,
)
from milestonebill.ids import AgreementId, CustomerId, EventId, ProposalId, setup_idempotency_key
from milestonebill.payment_methods import PaymentMethodKind, PaymentMethodRef, contains_card_number
from milestonebill.proposals import (
    ProposalEvent,
    ProposalRecord,
    accept,
    apply_event,
    check_accept,
    draft,
    expire,
    is_expired,
    link_customer,
    proposal_event_from_json,
    proposal_event_to_json,
    record_payment_method,
    requires_payment_method,
    signed_agreement,
)
from milestonebill.stores.base import StoredProposalEvent

__all__ = ["Onboarding", "append", "expire_due", "load", "onboard", "onboarding", "propose",
           "step"]

_SAVED = (SetupStatus.SUCCEEDED, SetupStatus.PROCESSING)


def _stored(record_id: str, event: ProposalEvent) -> StoredProposalEvent:
    return StoredProposalEvent(ProposalId(record_id), EventId(event.event_id), event.version,
                               type(event).__name__, event.effective_at,
                               proposal_event_to_json(event))


@functools.lru_cache(maxsize=4096)
def _decoded(payload: str) -> ProposalEvent:
    return proposal_event_from_json(parse_json_object(payload, "payload"))


def load(ctx: Context, proposal_id: ProposalId) -> ProposalRecord:
    """The proposal folded from its stored stream (:class:`~milestonebill.errors.NotFoundError` if
    none)."""
    check_id("proposal_id", proposal_id)
    events = ctx.store.load_proposal(proposal_id)
    if not events:
        raise NotFoundError(f"no proposal {proposal_id!r} in the store")
    return ProposalRecord.from_events(_decoded(e.payload) for e in events)


def append(ctx: Context, record: ProposalRecord, events: Sequence[ProposalEvent]
           ) -> ProposalRecord:
    """Fold ``events`` into ``record`` (checking them) and append them to its stream."""
    new = record
    for e in events:
        new = apply_event(new, e)
    ctx.store.append_proposal(record.id, [_stored(record.id, e) for e in events],
                              record.version)
    return new


def _when(ctx: Context, record: ProposalRecord, at: datetime | None) -> datetime:
    """``at`` (default now), never before the proposal's last event."""
    moment = utc_datetime(ctx.clock.now() if at is None else at,
                          "clock.now()" if at is None else "at")
    return max(moment, record.events[-1].effective_at)


def _retried(work: Callable[[], ProposalRecord]) -> ProposalRecord:
    """Run ``work``; when another writer appended first, run it again on fresh state."""
    for n in range(CONCURRENCY_RETRIES):
        try:
            return work()
        except ConcurrencyError:
            if n == CONCURRENCY_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def propose(ctx: Context, proposal: Proposal, at: datetime | None) -> ProposalRecord:
    """Store a new proposal (its :class:`ProposalDrafted` event); the same again is a no-op."""
    if not isinstance(proposal, Proposal):
        raise ValidationError("proposal", "a Proposal", proposal)
    when = utc_datetime(ctx.clock.now() if at is None else at, "at")

    def work() -> ProposalRecord:
        if ctx.store.proposal_version(proposal.id):
            record = load(ctx, proposal.id)
            if record.proposal != proposal:
                raise DuplicateIdError("proposal", proposal.id)
            return record
        record = draft(proposal, at=when)
        ctx.store.append_proposal(proposal.id, [_stored(proposal.id, record.events[0])], 0)
        return record

    return _retried(work)


def step(ctx: Context, proposal_id: ProposalId, at: datetime | None,
         command: Callable[[ProposalRecord, datetime], ProposalEvent | None]) -> ProposalRecord:
    """Append the event ``command`` builds for the stored proposal (none: a no-op)."""

    def work() -> ProposalRecord:
        record = load(ctx, proposal_id)
        event = command(record, _when(ctx, record, at))
        return record if event is None else append(ctx, record, [event])

    return _retried(work)


def expire_due(ctx: Context, as_of: date) -> tuple[ProposalRecord, ...]:
    """Record the expiry of every open proposal whose ``valid_until`` is before ``as_of``.

    Each is stamped at the start of the day after its ``valid_until`` (when it
    expired), never before its last event.
    """
    check_date("as_of", as_of)
    done: list[ProposalRecord] = []
    for pid in ctx.store.proposal_ids():
        record = load(ctx, pid)
        until = record.proposal.valid_until
        if until is None or not record.status.is_open or not is_expired(record, as_of):
            continue
        moment = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
        done.append(step(ctx, pid, moment, lambda r, when: expire(r, at=when)))
    return tuple(done)


# ---------------------------------------------------------------- onboarding


@attrs.frozen
class Onboarding:
    """One onboarding request, checked (see :meth:`~milestonebill.engine.Biller.onboard`)."""

    proposal_id: ProposalId
    option: str
    signer: str
    customer_reference: str | None
    token: str | None
    kind: PaymentMethodKind
    mandate: MandateAcceptance | None
    addons: tuple[str, ...]
    agreement_id: AgreementId | None
    at: datetime | None

    @property
    def agreement(self) -> AgreementId:
        """The id of the agreement to sign: as given, or the proposal's."""
        return self.agreement_id or AgreementId(self.proposal_id)


def onboarding(proposal_id: ProposalId, *, option: str, signer: str,
               customer_reference: str | None, token: str | None, kind: PaymentMethodKind,
               mandate_facts: tuple[datetime | None, str | None, str | None],
               addons: Sequence[str], agreement_id: AgreementId | None,
               at: datetime | None) -> Onboarding:
    """The request, every input checked; all problems are raised at once."""
    checks: list[Callable[[], object]] = [
        partial(check_id, "proposal_id", proposal_id),
        partial(check_id, "option", option),
        partial(check_id, "signer", signer),
        partial(_check_token, token, customer_reference),
        partial(_check_kind, kind),
        partial(_check_addons, addons),
    ]
    checks += [partial(check_id, name, value) for name, value in
               (("customer_reference", customer_reference), ("agreement_id", agreement_id))
               if value is not None]
    if at is not None:
        checks.append(partial(utc_datetime, at, "at"))
    problems = collect_problems(checks)
    mandate = None
    try:
        mandate = _mandate(kind, token, *mandate_facts)
    except ValidationError as exc:
        problems.append(exc)
    raise_all(problems)
    return Onboarding(proposal_id, option, signer, customer_reference, token, kind, mandate,
                      tuple(addons), agreement_id, at)


def _check_kind(kind: object) -> None:
    if not isinstance(kind, PaymentMethodKind):
        raise ValidationError("kind", "a PaymentMethodKind", kind)


def _check_addons(addons: object) -> None:
    if isinstance(addons, str) or not isinstance(addons, Sequence) \
            or not all(isinstance(a, str) for a in addons):
        raise ValidationError("addons", "a sequence of add-on ids", addons)


def _check_token(token: object, customer_reference: object) -> None:
    if token is None:
        return
    if isinstance(token, str) and contains_card_number(token):
        raise ValidationError("payment_method_token",
                              "a gateway token, not a card number", "[redacted]")
    check_id("payment_method_token", token)
    if customer_reference is None:
        raise ValidationError("customer_reference", "given with a payment method token", None)


def _mandate(kind: object, token: object, accepted_at: object, ip_address: object,
             user_agent: object) -> MandateAcceptance | None:
    """The mandate a bank debit needs, built from the facts of its acceptance."""
    given = (accepted_at, ip_address, user_agent) != (None, None, None)
    if kind is not PaymentMethodKind.BANK_DEBIT or token is None:
        if given:
            raise ValidationError("mandate_accepted_at", "given only to save a bank debit",
                                  accepted_at)
        return None
    if accepted_at is None:
        raise ValidationError("mandate_accepted_at",
                              "when the client accepted the debit mandate (a bank debit "
                              "needs one)", None)
    for name, value in (("mandate_ip_address", ip_address),
                        ("mandate_user_agent", user_agent)):
        if value is not None:
            check_id(name, value)
    return MandateAcceptance(utc_datetime(accepted_at, "mandate_accepted_at"),
                             None if ip_address is None else str(ip_address),
                             None if user_agent is None else str(user_agent))


def _gateway_name(gateway: PaymentGateway) -> str:
    name = getattr(gateway, "name", None)
    return name if isinstance(name, str) and name.strip() == name and name else "gateway"


def onboard(ctx: Context, req: Onboarding) -> Agreement:
    """Customer, payment method, signing: each step once, however often it is retried."""
    aid = req.agreement

    def work() -> ProposalRecord:
        record = load(ctx, req.proposal_id)
        if record.acceptance is None:
            return _onboard_open(ctx, record, req, aid)
        _check_same(record, req, aid)
        return record

    record = _retried(work)
    if not ctx.store.version(aid):  # accepted in a store that did not commit both
        _open(ctx, record, signed_agreement(record))
    return ctx.load(aid)


def _check_same(record: ProposalRecord, req: Onboarding, aid: AgreementId) -> None:
    """A retry of an onboarding that finished must ask for what was done."""
    when = record.events[-1].effective_at
    accept(record, agreement_id=aid, option=req.option, signer=req.signer, at=when,
           payment_method=None, addons=req.addons)  # None, or raises for another request
    if req.customer_reference is not None and record.customer is not None:
        link_customer(record, customer_id=record.customer.customer_id,
                      customer_reference=req.customer_reference, at=when)
    saved, linked = record.saved_method, record.customer
    if req.token is not None and (saved is None or linked is None or saved.setup_key
                                  != setup_idempotency_key(linked.customer_id, req.token)):
        raise ValidationError("payment_method_token",
                              f"the token proposal {record.id!r} was onboarded with",
                              "[not shown]")


def _onboard_open(ctx: Context, record: ProposalRecord, req: Onboarding,
                  aid: AgreementId) -> ProposalRecord:
    when = _when(ctx, record, req.at)
    _check_signing(ctx, record, req, aid, when)
    method = None
    if req.token is not None:
        record, customer_id = _customer(ctx, record, req, when)
        record, method = _payment_method(ctx, record, customer_id, req, when)
    event = accept(record, agreement_id=aid, option=req.option, signer=req.signer, at=when,
                   payment_method=method, addons=req.addons)
    assert event is not None  # not accepted yet
    accepted = apply_event(record, event)
    with ctx.store.transaction():
        ctx.store.append_proposal(record.id, [_stored(record.id, event)], record.version)
        _open(ctx, accepted, signed_agreement(accepted))
    return accepted


def _check_signing(ctx: Context, record: ProposalRecord, req: Onboarding, aid: AgreementId,
                   when: datetime) -> None:
    """Everything the signing will check, before the gateway is called."""
    if req.token is None and requires_payment_method(record.proposal):
        raise ValidationError("payment_method_token",
                              "a token for the client's payment method, since the proposal "
                              "charges automatically", None)
    check_accept(record, agreement_id=aid, option=req.option, signer=req.signer, at=when,
                 addons=req.addons, payment_method_kind=None if req.token is None else req.kind)
    if ctx.store.version(aid):
        raise DuplicateIdError("agreement", aid, "already has a stream")


def _customer(ctx: Context, record: ProposalRecord, req: Onboarding, when: datetime
              ) -> tuple[ProposalRecord, CustomerId]:
    """The proposal's gateway customer: the one recorded, or a new one, recorded."""
    assert req.customer_reference is not None  # Onboarding.of insists with a token
    linked = record.customer
    if linked is not None:
        link_customer(record, customer_id=linked.customer_id,
                      customer_reference=req.customer_reference, at=when)
        return record, linked.customer_id
    ref = ctx.gateway.create_customer(CustomerRequest(req.customer_reference,
                                                      name=record.proposal.client or None))
    event = link_customer(record, customer_id=ref.customer_id,
                          customer_reference=req.customer_reference, at=when)
    assert event is not None  # no customer was linked
    return append(ctx, record, [event]), ref.customer_id


def _payment_method(ctx: Context, record: ProposalRecord, customer_id: CustomerId,
                    req: Onboarding, when: datetime) -> tuple[ProposalRecord, PaymentMethodRef]:
    """The saved payment method: the one recorded for this token, or a new one, recorded."""
    assert req.token is not None
    key = setup_idempotency_key(customer_id, req.token)
    saved = record.saved_method
    if saved is not None and saved.setup_key == key:
        return record, saved.payment_method
    result = ctx.gateway.save_payment_method(SetupRequest(customer_id, req.token, req.kind,
                                                          req.mandate))
    method = result.payment_method
    if result.status not in _SAVED or method is None:
        raise PaymentMethodRefusedError(result.status.value, result.decline_code,
                                        result.message, result.setup_ref)
    ref = PaymentMethodRef(_gateway_name(ctx.gateway), method.customer_id,
                           method.payment_method_id, method.kind)
    event = record_payment_method(record, payment_method=ref, setup_key=key, at=when)
    return (record if event is None else append(ctx, record, [event])), ref


def _open(ctx: Context, record: ProposalRecord, agreement: Agreement) -> None:
    """Store the signed agreement, due for billing, and tell the host."""
    store = ctx.store
    with store.transaction():
        store.append(agreement.id, [stored(agreement.id, e) for e in agreement.events], 0)
        store.set_next_due(agreement.id, ctx.next_due(agreement, None))
        ctx.notify(f"proposal.accepted:{record.id}", agreement.id, "proposal.accepted",
                   {"proposal_id": record.id, "agreement_id": agreement.id,
                    "option_id": agreement.option_id, "signer": agreement.signer})

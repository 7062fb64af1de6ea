"""The :class:`Biller`: the entry points a host calls; the work is done by its parts.

Every decision the Biller acts on is made in the core (:mod:`~milestonebill.invoicing`,
:mod:`~milestonebill.collection`, :mod:`~milestonebill.refunds`,
:mod:`~milestonebill.postings`, :mod:`~milestonebill.work`); this module loads
agreements, runs units of work through the store and calls the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Final

import attrs

from milestonebill._validate import (
    check_billing_date,
    check_id,
    check_int,
    check_seconds,
    check_text,
    collect_problems,
    raise_all,
    utc_datetime,
)
from milestonebill.agreement import (
    Agreement,
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    Cancelled,
    Completed,
    EstimateRevised,
    Event,
    MilestoneCompleted,
    Paused,
    ProgressReported,
    Proposal,
    Resumed,
    Signed,
    apply,
    approvals_due,
)
from milestonebill.clock import Clock
from milestonebill.collection import (
    DEFAULT_RETRY_POLICY,
    CreditPolicy,
    PlannedCharge,
    RetryPolicy,
    planned_charges,
)
from milestonebill.documents import (
    NO_TAX,
    CreditNote,
    CreditReason,
    Invoice,
    NumberingPolicy,
    TaxPolicy,
)
from milestonebill.engine import (
    _charging,
    _hosting,
    _isolation,
    _issuing,
    _proposing,
    _refunding,
    _running,
)
from milestonebill.engine._collecting import CollectionCommands
from milestonebill.engine._context import Context, Settings, stored
from milestonebill.engine._hosting import HostCommands
from milestonebill.engine._linking import WorkLinking
from milestonebill.engine._recognising import recognise_one
from milestonebill.engine._timebilling import TimeCommands
from milestonebill.engine.results import (
    BillingProblem,
    ChargeOutcome,
    DryRun,
    RecognitionSummary,
    RunSummary,
    Tally,
)
from milestonebill.errors import (
    MilestonebillError,
    ValidationError,
)
from milestonebill.gateways.base import GatewayEvent, GatewayEventKind, PaymentGateway
from milestonebill.ids import AgreementId, FirmId, InvoiceId, ProposalId, TenantId, WorkerId
from milestonebill.invoicing import due_credit_notes, due_invoices, refund_credit_note
from milestonebill.ledger import JournalEntry
from milestonebill.money import Money
from milestonebill.payment_methods import PaymentMethodKind
from milestonebill.proposals import ProposalRecord, decline, send, view, withdraw
from milestonebill.refunds import credit_reserved, payment_to_refund
from milestonebill.reminders import NO_REMINDERS, ReminderSchedule, late_fees_due
from milestonebill.stores.base import AttemptRecord, BillingStore, ParkedAgreement
from milestonebill.stores.tenancy import DEFAULT_TENANT, TenantBound
from milestonebill.timebilling import time_invoices_due

__all__ = ["Biller"]

#: Events a host records; the Biller writes the billing events itself.
_HOST_EVENTS: Final = (MilestoneCompleted, AmendmentProposed, AmendmentApproved,
                       AmendmentRejected, Paused, Resumed, Cancelled, Completed,
                       ProgressReported, EstimateRevised)
_INVOICE_NUMBERS: Final = NumberingPolicy()
_CREDIT_NUMBERS: Final = NumberingPolicy(prefix="CN-")
_DEFAULT_WORKER: Final = WorkerId("biller")


def _kind_problems(values: Mapping[str, tuple[object, type]]) -> list[ValidationError]:
    return [ValidationError(name, f"a {kind.__name__}", value)
            for name, (value, kind) in values.items() if not isinstance(value, kind)]


def _override_problems(credit_policies: object) -> list[ValidationError]:
    if credit_policies is None:
        return []
    if not isinstance(credit_policies, Mapping):
        return [ValidationError("credit_policies", "a mapping of agreement id to CreditPolicy",
                                credit_policies)]
    return [ValidationError(f"credit_policies[{aid!r}]",
                            "a CreditPolicy under a non-empty agreement id", pol)
            for aid, pol in credit_policies.items()
            if not isinstance(aid, str) or not aid.strip() or not isinstance(pol, CreditPolicy)]


def _value_problems(checks: Sequence[tuple[Callable[..., object], tuple[object, ...],
                                           dict[str, object]]]) -> list[ValidationError]:
    problems = []
    for fn, args, kwargs in checks:
        try:
            fn(*args, **kwargs)
        except ValidationError as exc:
            problems.append(exc)
    return problems


def _check_progress(progress: object) -> None:
    if progress is not None and not callable(progress):
        raise ValidationError("progress", "a function of the number of agreements handled",
                              progress)


def _check_settings(s: Settings, clock: object) -> None:
    """Check every setting and raise all problems at once (nothing is half-built)."""
    problems = _kind_problems({
        "clock": (clock, Clock), "numbering": (s.numbering, NumberingPolicy),
        "credit_numbering": (s.credit_numbering, NumberingPolicy), "tax": (s.tax, TaxPolicy),
        "retry_policy": (s.retry_policy, RetryPolicy),
        "credit_policy": (s.credit_policy, CreditPolicy),
        "reminders": (s.reminders, ReminderSchedule)})
    problems += _override_problems(s.credit_policies)
    problems += collect_problems([
        partial(check_id, "firm_id", s.firm_id), partial(check_id, "worker_id", s.worker_id),
        partial(check_int, "batch_size", s.batch_size, at_least=1),
        partial(check_int, "horizon_days", s.horizon_days, at_least=1),
        partial(check_int, "gateway_concurrency", s.gateway_concurrency, at_least=1,
                at_most=256),
        partial(check_int, "rate_limit_retries", s.rate_limit_retries, at_least=0,
                at_most=100),
        partial(check_int, "summary_limit", s.summary_limit, at_least=0),
        partial(check_seconds, "lease_seconds", s.lease_seconds, allow_zero=False),
        partial(check_seconds, "reconcile_grace_seconds", s.reconcile_grace_seconds,
                allow_zero=True)])
    raise_all(problems)


class Biller(HostCommands, WorkLinking, CollectionCommands, TimeCommands):
    """Bills agreements exactly once through a store, a gateway and a clock.

    ``store`` is a :class:`~milestonebill.stores.base.BillingStore` (it is
    also the ledger, so postings commit with the events that cause them).
    ``firm_id`` names the invoice number sequence; credit notes use
    ``f"{firm_id}/credit-notes"``.  ``numbering``/``credit_numbering`` format
    the numbers, ``tax`` is applied to every document.  ``credit_policy``
    (a :class:`~milestonebill.collection.CreditPolicy`, overridden per
    agreement id by ``credit_policies``) says what happens when a credit
    note leaves an invoice owing the client money.  ``worker_id``,
    ``lease_seconds`` and ``batch_size`` govern claims in :meth:`run`;
    ``reconcile_grace_seconds`` is how old an unfinished charge attempt must
    be before :meth:`reconcile` touches it; ``horizon_days`` how far ahead
    the next billing date is looked for.  ``reminders`` (a
    :class:`~milestonebill.reminders.ReminderSchedule`, default none) says
    when clients who pay by invoice are reminded of unpaid invoices (see
    ``docs/terms.md``).  ``gateway_concurrency`` is how many gateway calls
    one worker has in flight at once in :meth:`run` (1: one after another),
    ``rate_limit_retries`` how often one charge is asked again after
    rate-limited (429) answers, waiting as the gateway asks or backing off;
    ``summary_limit`` how many of each kind of result a run's summary keeps
    (``docs/batching.md``).  Every setting is checked at once:
    several bad ones raise :class:`~milestonebill.errors.InvalidInputError`
    listing each.
    """

    def __init__(
        self,
        store: BillingStore,
        gateway: PaymentGateway,
        *,
        clock: Clock,
        firm_id: FirmId,
        numbering: NumberingPolicy = _INVOICE_NUMBERS,
        credit_numbering: NumberingPolicy = _CREDIT_NUMBERS,
        tax: TaxPolicy = NO_TAX,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        credit_policy: CreditPolicy = CreditPolicy.APPLY_TO_NEXT_INVOICES,
        credit_policies: Mapping[str, CreditPolicy] | None = None,
        worker_id: WorkerId = _DEFAULT_WORKER,
        lease_seconds: float = 300.0,
        reconcile_grace_seconds: float = 300.0,
        batch_size: int = 50,
        horizon_days: int = 400,
        reminders: ReminderSchedule = NO_REMINDERS,
        gateway_concurrency: int = 8,
        rate_limit_retries: int = 8,
        summary_limit: int = 1000,
    ) -> None:
        settings = Settings(firm_id, numbering, credit_numbering, tax, retry_policy,
                            credit_policy, {} if credit_policies is None else credit_policies,
                            worker_id, lease_seconds, reconcile_grace_seconds, batch_size,
                            horizon_days, reminders, gateway_concurrency,
                            rate_limit_retries, summary_limit)
        _check_settings(settings, clock)
        self._ctx = Context(store, gateway, clock, attrs.evolve(
            settings, credit_policies=dict(settings.credit_policies)))

    @property
    def tenant(self) -> TenantId:
        """The tenant (firm) whose data this Biller bills: its store's tenant
        (:class:`~milestonebill.stores.tenancy.TenantBound`), or
        :data:`~milestonebill.stores.tenancy.DEFAULT_TENANT` for a store
        that is not bound to one (a host's own store, say)."""
        store = self._ctx.store
        return store.tenant if isinstance(store, TenantBound) else DEFAULT_TENANT

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._ctx.settings.retry_policy

    @property
    def credit_policy(self) -> CreditPolicy:
        """The default credit policy (agreements may override it)."""
        return self._ctx.settings.credit_policy

    def credit_policy_for(self, agreement_id: str) -> CreditPolicy:
        """The credit policy in force for one agreement."""
        return self._ctx.credit_policy_for(agreement_id)

    # ------------------------------------------------------------ streams

    def load(self, agreement_id: AgreementId) -> Agreement:
        """The agreement as folded from its stored events
        (:class:`~milestonebill.errors.NotFoundError` if none)."""
        return self._ctx.load(agreement_id)

    def open(self, agreement: Agreement) -> Agreement:
        """Store a new agreement (its ``Signed`` event and any that follow).

        Opening the same agreement again is a no-op; a different agreement
        under a used id raises :class:`~milestonebill.errors.ConcurrencyError`
        or :class:`~milestonebill.errors.DuplicateIdError`.  Nothing is billed
        yet: :meth:`run` (or :meth:`bill`) does that.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``agreement`` for anything but an
        :class:`~milestonebill.agreement.Agreement`, or ``agreement.events``
        when it holds events other than ``Signed`` and host events.
        """
        if not isinstance(agreement, Agreement):
            raise ValidationError("agreement", "an Agreement (see agreement.sign)", agreement)
        for e in agreement.events:
            if not isinstance(e, (Signed, *_HOST_EVENTS)):
                raise ValidationError("agreement.events", "Signed and host events only",
                                      type(e).__name__)
        store = self._ctx.store
        with store.transaction():
            before = store.version(agreement.id)
            after = store.append(agreement.id, [stored(agreement.id, e)
                                                for e in agreement.events], 0)
            if after != before:
                store.set_next_due(agreement.id, self._ctx.next_due(agreement, None))
        return self.load(agreement.id)

    def record(self, agreement_id: AgreementId, events: Sequence[Event]) -> Agreement:
        """Append host events (completions, amendments, pauses...) without billing.

        The events must follow on from the stored version (optimistic
        concurrency: a stale caller gets
        :class:`~milestonebill.errors.ConcurrencyError`); events already
        stored are skipped.  Everything is checked before anything is written:
        :class:`~milestonebill.errors.ValidationError` names ``events`` when it is not a sequence,
        or ``events[i]`` for one that is not a host event.
        """
        if isinstance(events, _HOST_EVENTS) or not isinstance(events, Sequence):
            raise ValidationError("events", "a sequence of events", events)
        for i, e in enumerate(events):
            if not isinstance(e, _HOST_EVENTS):
                raise ValidationError(f"events[{i}]", "a host event (" + ", ".join(
                    t.__name__ for t in _HOST_EVENTS) + ")", type(e).__name__)
        return _hosting.record(self._ctx, self.load(agreement_id), events)

    # ------------------------------------------------------------ proposals

    def propose(self, proposal: Proposal, *, at: datetime | None = None) -> ProposalRecord:
        """Store a new proposal, a draft, in its own stream (see :mod:`milestonebill.proposals`).

        Proposing the same proposal again is a no-op; another under a used id
        raises :class:`~milestonebill.errors.DuplicateIdError`.  ``at`` is
        when it was drafted (default: now).
        """
        return _proposing.propose(self._ctx, proposal, at)

    def load_proposal(self, proposal_id: ProposalId) -> ProposalRecord:
        """The proposal as folded from its stream (:class:`~milestonebill.errors.NotFoundError` if
        none)."""
        return _proposing.load(self._ctx, proposal_id)

    def send(self, proposal_id: ProposalId, *, recipient: str = "",
             at: datetime | None = None) -> ProposalRecord:
        """Record that a draft was sent (to ``recipient``); a sent one is left as it is."""
        return _proposing.step(self._ctx, proposal_id, at,
                               lambda r, when: send(r, at=when, recipient=recipient))

    def mark_viewed(self, proposal_id: ProposalId, *, at: datetime | None = None
                    ) -> ProposalRecord:
        """Record that the client opened a sent proposal (each view is recorded)."""
        return _proposing.step(self._ctx, proposal_id, at, lambda r, when: view(r, at=when))

    def decline(self, proposal_id: ProposalId, *, reason: str = "",
                at: datetime | None = None) -> ProposalRecord:
        """Record that the client declined an open proposal (a declined one is left as it is)."""
        return _proposing.step(self._ctx, proposal_id, at,
                               lambda r, when: decline(r, at=when, reason=reason))

    def withdraw(self, proposal_id: ProposalId, *, reason: str = "",
                 at: datetime | None = None) -> ProposalRecord:
        """Take an open proposal back (a withdrawn one is left as it is)."""
        return _proposing.step(self._ctx, proposal_id, at,
                               lambda r, when: withdraw(r, at=when, reason=reason))

    def expire_proposals(self, as_of: date) -> tuple[ProposalRecord, ...]:
        """Record the expiry of every open proposal whose ``valid_until`` is before
        ``as_of``; returns them.  Running it again changes nothing.

        Expired or not, an open proposal past its validity cannot be accepted
        (:func:`milestonebill.proposals.is_expired` decides from the record
        and a day); this makes the status say so.
        """
        return _proposing.expire_due(self._ctx, as_of)

    def onboard(
        self,
        proposal_id: ProposalId,
        *,
        option: str,
        signer: str,
        customer_reference: str | None = None,
        payment_method_token: str | None = None,
        kind: PaymentMethodKind = PaymentMethodKind.CARD,
        mandate_accepted_at: datetime | None = None,
        mandate_ip_address: str | None = None,
        mandate_user_agent: str | None = None,
        addons: Sequence[str] = (),
        agreement_id: AgreementId | None = None,
        at: datetime | None = None,
    ) -> Agreement:
        """Sign a stored proposal for a client in one call, exactly once.

        For a proposal that charges automatically: creates (or finds) the
        gateway customer for ``customer_reference`` (the host's id for the
        client; the gateway's idempotency key is derived from it), saves
        ``payment_method_token`` (what the gateway's browser library
        returned) as a ``kind`` payment method for off-session charges --
        a ``BANK_DEBIT`` needs the facts of the client's mandate acceptance:
        ``mandate_accepted_at`` and, for an online mandate,
        ``mandate_ip_address`` and ``mandate_user_agent`` -- then signs
        ``option`` (and ``addons``) for ``signer``: the proposal's
        :class:`~milestonebill.proposals.ProposalAccepted` and the new
        agreement's ``Signed`` event commit together, the agreement is due
        for billing and the host is told (``proposal.accepted``).  A proposal
        that sends invoices needs no payment method: without a token the
        gateway is not called at all.

        The agreement's id is ``agreement_id``, by default the proposal's;
        ``at`` is when the client signed (default now, never before the
        proposal's last event); pass it, so that a retry signs at the same
        time.  Returns the stored agreement.

        Idempotent by proposal id: each step is recorded in the proposal's
        stream before the next, so a retry after a crash or a timeout
        anywhere neither creates a second customer, saves the method twice
        nor signs twice; a retry after it finished returns the agreement
        (asking for something else raises
        :class:`~milestonebill.errors.InvalidTransitionError` or a
        :class:`~milestonebill.errors.ValidationError`).

        Refused with a typed error naming the field, before the gateway is
        called and with nothing stored: bad input (every problem at once),
        an unknown option or add-on, a proposal that is not open or has
        expired (:class:`~milestonebill.errors.ProposalExpiredError`), a
        missing token or mandate.  A payment method the gateway will not
        save raises :class:`~milestonebill.errors.PaymentMethodRefusedError`;
        nothing of the agreement is stored.
        """
        req = _proposing.onboarding(
            proposal_id, option=option, signer=signer, customer_reference=customer_reference,
            token=payment_method_token, kind=kind,
            mandate_facts=(mandate_accepted_at, mandate_ip_address, mandate_user_agent),
            addons=addons, agreement_id=agreement_id, at=at)
        return _proposing.onboard(self._ctx, req)

    # ------------------------------------------------------------ billing

    def handle(self, agreement_id: AgreementId, event: Event) -> RunSummary:
        """Record a host event (a completed milestone, an approved amendment...) and
        bill what is now due for that agreement, as of the clock's today.

        Handling the same event again changes nothing.  Raises what
        :meth:`record` and :meth:`bill` raise; the event is recorded before
        billing starts, so a retry after a failure bills it.
        """
        self.record(agreement_id, [event])
        return self.bill(agreement_id)

    def bill(self, agreement_id: AgreementId, as_of: date | None = None) -> RunSummary:
        """Bill one agreement now (no claim is taken): finish interrupted attempts,
        apply due approvals, issue, charge and retry what is due by ``as_of``.

        A parked agreement is left alone: the summary's ``parked`` names it.
        Money in the summary is in integer minor units.  Raises
        :class:`~milestonebill.errors.ValidationError` for a bad id or an
        ``as_of`` outside the supported dates,
        :class:`~milestonebill.errors.NotFoundError` for an unknown agreement,
        and lets a store's or gateway's
        :class:`~milestonebill.errors.InfrastructureError` through (what was
        committed stays; calling again finishes the job with the same keys).
        """
        day = self._ctx.clock.today() if as_of is None else check_billing_date("as_of", as_of)
        tally = Tally(day)
        check_id("agreement_id", agreement_id)
        record = next((p for p in self._ctx.store.parked() if p.agreement_id == agreement_id),
                      None)
        if record is not None:
            tally.parked.append(record)
            return tally.freeze()
        a = _running.process(self._ctx, agreement_id, day, tally)
        self._ctx.store.set_next_due(a.id, self._ctx.next_due(a, day))
        return tally.freeze()

    def run(self, as_of: date, *, limit: int | None = None,
            progress: Callable[[int], None] | None = None,
            results: Callable[[object], None] | None = None) -> RunSummary:
        """Do everything date-driven that is due by ``as_of``, for every agreement.

        Claims due agreements in batches (a lease, so workers never share
        one) until none are left; for each: re-drive its unfinished charge
        attempts with their original keys, append automatic approvals whose
        notice ran out, issue due credit notes and invoices, charge them,
        retry failed payments whose day has come, then store the next due
        date and release the claim.  For invoices the client pays itself it
        then charges the late fees that fell and sends the reminders due
        (``docs/terms.md``).

        One agreement never stops the others.  When a store or gateway
        fails (an :class:`~milestonebill.errors.InfrastructureError`) the
        agreement is reported in :attr:`RunSummary.problems` and tried again
        the next day.  Any other error means it cannot be billed as it
        stands: it is *parked* -- listed in :attr:`RunSummary.parked`, an
        ``agreement.parked`` notification queued, its claim given back --
        and later runs skip it until :meth:`unpark`.  A claim that ran out
        while the gateway answered is taken back, not fatal; once half the
        lease has passed, each agreement's claim is renewed before work
        starts, and one another worker took over is left to it.
        ``progress``, if given, is called after each agreement with the
        number handled so far (for a progress bar).

        A claim batch is billed in three steps (``docs/batching.md``): one
        transaction issues the invoices and journals the charge intents of
        every agreement on the common path, the gateway is called for them
        (up to ``gateway_concurrency`` calls at once), and one transaction
        records the outcomes and gives the claims back.  The summary keeps
        at most ``summary_limit`` of each kind of result (its ``counts``
        count them all); ``results``, if given, is called with every
        result (an :class:`~milestonebill.documents.Invoice`, a
        :class:`~milestonebill.engine.results.ChargeOutcome`, a
        :class:`~milestonebill.engine.results.BillingProblem`...) as it is
        recorded; anything but a function there raises
        :class:`~milestonebill.errors.ValidationError` naming ``results``.

        ``limit`` (default: no limit) caps how many agreements this call
        claims in all, so a worker can take a short turn and come back:
        the rest stay due for the next call (or another worker), and
        nothing is billed twice.  The fair multi-tenant worker
        (:class:`~milestonebill.engine.tenants.TenantScheduler`,
        ``docs/tenancy.md``) runs each tenant's Biller this way.  A
        ``limit`` that is not a whole number of at least 1 raises
        :class:`~milestonebill.errors.ValidationError` naming ``limit``.
        """
        check_billing_date("as_of", as_of)
        if limit is not None:
            check_int("limit", limit, at_least=1, unit="agreements")
        _check_progress(progress)
        if results is not None and not callable(results):
            raise ValidationError("results", "a function of one result", results)
        return _running.run(self._ctx, as_of, progress, results, limit)

    def parked(self) -> tuple[ParkedAgreement, ...]:
        """Every parked agreement, in the order they were parked."""
        return tuple(self._ctx.store.parked())

    def unpark(self, agreement_id: AgreementId) -> ParkedAgreement | None:
        """Give a parked agreement back to :meth:`run` (and :meth:`recognise`).

        Fix what made it fail first -- record an amendment, say, or deploy
        the fix -- then unpark it: the next run takes it up on the due date
        it had when it was parked.  Queues an ``agreement.unparked``
        notification.  Returns the record removed, ``None`` if the agreement
        was not parked.
        """
        check_id("agreement_id", agreement_id)
        return _isolation.unpark(self._ctx, agreement_id)

    def reconcile(self, *, grace_seconds: float | None = None) -> tuple[ChargeOutcome, ...]:
        """Finish unfinished charge attempts store-wide, each with its original key.

        Safe while other workers run: an attempt is left alone while it is
        younger than the grace period (``grace_seconds``, default the
        Biller's ``reconcile_grace_seconds``; ``0`` turns the age check off)
        -- a live worker is most likely still waiting for the gateway -- or
        while another worker holds a live claim on its agreement.  Otherwise
        the Biller claims the agreement (``claim_one``), re-drives its
        unfinished attempts and releases the claim.  Parked agreements are
        left alone; an error that is not milestonebill's own parks the
        agreement (see :meth:`run`).  Age is ``recorded_at``
        (the store's clock) against this Biller's clock; an attempt stamped
        in the future is treated as young, one without a time (recorded
        before stores kept it) as old.  ``run`` re-drives the attempts of
        each agreement it claims anyway; skipped attempts are left to it or
        to a later ``reconcile``.  The gateway replays the outcome of a key
        it has seen, so nothing is charged twice.
        """
        s, store = self._ctx.settings, self._ctx.store
        grace = s.reconcile_grace_seconds if grace_seconds is None else check_seconds(
            "grace_seconds", grace_seconds, allow_zero=True)
        now = utc_datetime(self._ctx.clock.now(), "clock.now()")
        tally = Tally(now.date())
        parked = {p.agreement_id for p in store.parked()}
        by_agreement: dict[AgreementId, list[AttemptRecord]] = {}
        for rec in store.unfinished_attempts():
            if rec.agreement_id in parked:
                continue
            if grace > 0 and rec.recorded_at is not None \
                    and now - rec.recorded_at < timedelta(seconds=grace):
                continue
            by_agreement.setdefault(rec.agreement_id, []).append(rec)
        for aid, recs in by_agreement.items():
            try:
                if not store.claim_one(s.worker_id, aid, lease_seconds=s.lease_seconds):
                    continue
            except MilestonebillError as exc:
                tally.problem(aid, exc)
                continue
            try:
                a = self.load(aid)
                for rec in recs:
                    a = _charging.redrive(self._ctx, a, rec, tally)
            except MilestonebillError as exc:
                tally.problem(aid, exc)
            except Exception as exc:
                _isolation.park(self._ctx, aid, exc, tally)
            finally:
                store.release(s.worker_id, [aid])
        return tuple(tally.reconciled)

    def recognise(self, as_of: date, *,
                  agreement_ids: Sequence[AgreementId] | None = None,
                  progress: Callable[[int], None] | None = None) -> RecognitionSummary:
        """Post the revenue every agreement has earned by the end of ``as_of``.

        Billing never posts revenue: invoices move the contract's balance
        (a contract liability when billed ahead of performance, a contract
        asset when performance runs ahead).  This posts, for each agreement
        (all in the store, or ``agreement_ids``) and each of its performance
        obligations (:func:`milestonebill.revenue.revenue_model`), what it has
        earned since its last entry (:func:`milestonebill.revenue.earned`):
        *Cr revenue / Dr contract liability* up to its balance, the rest
        *Dr contract asset*; a reversal the other way.  One entry per
        obligation that moved, naming the agreement and the obligation, in
        one unit of work per agreement.

        Call it at each period end (or nightly).  It is idempotent: a
        second call for the same day posts nothing.  Entry ids are
        ``"<agreement>:revenue:<obligation>:<n>"`` (its n-th entry), so two workers
        racing on one agreement cannot both post (the loser's entry is
        refused and it recomputes).  A day before an agreement's last
        recognition is refused for that agreement (a ``ValidationError`` on
        ``as_of`` in :attr:`RecognitionSummary.problems`; nothing posted):
        the ledger's history is never rewritten.

        Parked agreements are left out (listed in
        :attr:`RecognitionSummary.parked`); an error that is not
        milestonebill's own parks the agreement (see :meth:`run`) and the
        others are still recognised.  ``progress``, if given, is
        called after each agreement with the number handled so far.
        """
        check_billing_date("as_of", as_of)
        _check_progress(progress)
        store = self._ctx.store
        ids = store.agreement_ids() if agreement_ids is None else list(agreement_ids)
        parked = {p.agreement_id: p for p in store.parked()}
        done: list[AgreementId] = []
        entries: list[JournalEntry] = []
        tally = Tally(as_of)
        for n, aid in enumerate(ids, 1):
            key = self._recognise_agreement(aid, as_of, parked, tally, entries)
            if key is not None:
                done.append(key)
            if progress is not None:
                progress(n)
        return RecognitionSummary(as_of, tuple(done), tuple(entries), tuple(tally.problems),
                                  tuple(tally.parked))

    def _recognise_agreement(self, aid: str, as_of: date,
                             parked: Mapping[AgreementId, ParkedAgreement], tally: Tally,
                             entries: list[JournalEntry]) -> AgreementId | None:
        """Recognise one agreement into ``entries``; its id when it was done."""
        try:
            key = AgreementId(check_id("agreement_ids", aid))
        except ValidationError as exc:
            tally.problem(str(aid), exc)
            return None
        if key in parked:
            tally.parked.append(parked[key])
            return None
        try:
            entries += recognise_one(self._ctx, key, as_of)
        except MilestonebillError as exc:
            tally.problem(key, exc)
            return None
        except Exception as exc:
            _isolation.park(self._ctx, key, exc, tally, held=False)
            return None
        return key

    def dry_run(self, as_of: date) -> DryRun:
        """What :meth:`run` would bill on ``as_of``; writes nothing, calls no gateway."""
        check_billing_date("as_of", as_of)
        ids: list[AgreementId] = []
        approvals: list[AmendmentApproved] = []
        invoices: list[Invoice] = []
        credits: list[CreditNote] = []
        charges: list[PlannedCharge] = []
        problems: list[BillingProblem] = []
        for aid in self._ctx.store.list_due(as_of):
            try:
                plan = self._plan(aid, as_of)
            except Exception as exc:  # one agreement never hides the others
                problems.append(BillingProblem.of(aid, exc))
                continue
            ids.append(aid)
            approvals += plan[0]
            credits += plan[1]
            invoices += plan[2]
            charges += plan[3]
        return DryRun(as_of, tuple(ids), tuple(approvals), tuple(invoices), tuple(credits),
                      tuple(charges), tuple(problems))

    def _plan(self, aid: AgreementId, as_of: date) -> tuple[
            list[AmendmentApproved], list[CreditNote], list[Invoice], list[PlannedCharge]]:
        ctx, tax = self._ctx, self._ctx.settings.tax
        a = self.load(aid)
        approvals = approvals_due(a, ctx.decided_by(as_of))
        for e in approvals:
            a = apply(a, e)
        credits = due_credit_notes(a, as_of, tax=tax)
        drafts = (*due_invoices(a, as_of, tax=tax), *time_invoices_due(a, as_of, tax=tax),
                  *late_fees_due(a, as_of))
        charges = planned_charges(a, as_of, drafts, policy=ctx.settings.retry_policy,
                                  credit_policy=ctx.credit_policy_for(a.id),
                                  reserved=credit_reserved(a, ctx.journal))
        return list(approvals), list(credits), list(drafts), list(charges)

    # ------------------------------------------------------------ money in and out

    def refund(self, invoice_id: InvoiceId, amount: Money, *, reason: str = "") -> Agreement:
        """Refund ``amount`` (net of tax; its tax is refunded with it) of a paid invoice.

        Issues a refund credit note (so the invoice is not charged again),
        refunds its total through the gateway under a key derived from the
        credit note, then records :class:`~milestonebill.agreement.Refunded`
        and posts the ledger.  A crash after the credit note is finished by
        the next :meth:`run` of the agreement, with the amount recorded in
        the attempt journal before the gateway was first called.

        Capped: a refund whose total is more than
        :func:`~milestonebill.refunds.refundable` (what the client paid on
        the invoice less what was refunded, moved to customer credit or
        applied elsewhere) raises :class:`~milestonebill.errors.RefundLimitError`
        naming the invoice, the amount and the maximum; nothing is written
        and the gateway is not called.  ``amount`` is
        :class:`~milestonebill.money.Money` in the invoice's currency; an
        amount that no single gateway payment on the invoice can cover raises
        :class:`~milestonebill.errors.ValidationError` naming ``amount``, also before anything is
        written.
        """
        ctx = self._ctx
        check_text("reason", reason)
        a = ctx.agreement_of(invoice_id)
        cn = refund_credit_note(a, invoice_id, amount, issued_on=ctx.clock.today(),
                                reason=CreditReason.REFUND, memo=reason, tax=ctx.settings.tax)
        _issuing.check_refund(ctx, a, cn)
        if payment_to_refund(a, cn.credits, cn.total, ctx.journal) is None:
            raise ValidationError("amount", "at most what is left of a gateway payment",
                                  cn.total)
        a = _issuing.issue_credit(ctx, a, cn, Tally(ctx.clock.today()))
        issued = next(c for c in a.credit_notes if c.id == cn.id)
        try:
            a = _refunding.refund_through_gateway(ctx, a, issued)
        finally:
            # If the gateway failed, the next run finishes the refund.
            ctx.reschedule(self.load(a.id))
        return a

    def refund_credit(self, agreement_id: AgreementId, amount: Money | None = None, *,
                      reason: str = "") -> Agreement:
        """Pay outstanding customer credit back through the gateway.

        For credit no invoice will take (the agreement was cancelled or
        completed, or the client asks for the money).  ``amount`` defaults
        to all of :attr:`~milestonebill.agreement.Agreement.credit_balance`;
        more than that raises :class:`~milestonebill.errors.ValidationError`
        (field ``amount``), as does more than the agreement's settled
        invoices' gateway payments can still return -- checked before
        anything is written or the gateway called.

        The money goes back against settled invoices' gateway payments,
        oldest first, one refund per payment used; the k-th credit refund of
        the agreement is keyed ``refund_idempotency_key(agreement, invoice,
        "credit-refund-<k>")`` and its amount is recorded in the attempt
        journal before the gateway is called.  Each refund appends
        ``Refunded`` and ``CreditApplied`` (the credit it uses up) on that
        invoice in one unit of work -- ledger net *Dr customer credit / Cr
        clearing* -- and tells the host (``credit.refunded``).

        Idempotent: a call that finds a credit refund interrupted (a crash,
        the gateway unreachable) finishes that one with its recorded amount
        and does nothing else, so retrying a failed call never refunds
        twice; :meth:`run` finishes it too.  A gateway refusal counts
        towards the retry policy's ``max_attempts``, then the refund is
        given up and the host told (``refund.abandoned``).
        """
        check_text("reason", reason)
        return _refunding.refund_credit(self._ctx, self.load(agreement_id), amount, reason)

    def apply_gateway_event(self, event: GatewayEvent) -> tuple[Event, ...]:
        """Apply a verified webhook (see ``PaymentGateway.parse_webhook``).

        Succeeded, failed and refunded payments become events and postings;
        a processing payment needs nothing; a dispute is passed to the host
        as a ``payment.disputed`` notification.  Duplicate or stale
        deliveries change nothing.  Returns the events appended.

        Raises :class:`~milestonebill.errors.ValidationError` for an event that
        names no agreement and invoice, and
        :class:`~milestonebill.errors.NotFoundError` when they are not ours.
        """
        if not isinstance(event, GatewayEvent):
            raise ValidationError("event", "a GatewayEvent", event)
        if event.kind is GatewayEventKind.PAYMENT_METHOD_SAVED:
            return ()
        if event.agreement_id is None or event.invoice_id is None:
            raise ValidationError("event.invoice_id", "the agreement and invoice it concerns",
                                  (event.agreement_id, event.invoice_id))
        ctx = self._ctx
        a = self.load(AgreementId(event.agreement_id))
        inv = a.invoice(event.invoice_id)
        if event.kind is GatewayEventKind.DISPUTE_OPENED:
            ctx.notify(f"gateway:{event.event_id}", a.id, "payment.disputed",
                       {"invoice_id": inv.id, "payment_ref": event.payment_ref,
                        "amount": None if event.amount is None else event.amount.to_json(),
                        "reason": event.reason})
            return ()
        if event.kind is GatewayEventKind.PAYMENT_REFUNDED:
            return _refunding.webhook_refund(ctx, a, inv.id, event)
        attempt, result = _charging.charge_event_result(a, event)
        before = a.version
        after = _charging.settle(ctx, a, attempt, result, Tally(ctx.clock.today()))
        ctx.reschedule(after)
        return after.events[before:]


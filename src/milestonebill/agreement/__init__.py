"""Proposals, signed agreements as a fold over events, and priced amendments.

Life of an engagement, as pure values (no clock, no I/O):

1. A :class:`Proposal` offers one or more :class:`PackageOption` s (each a
   :class:`~milestonebill.schedule.BillingSchedule` and a scope text) and
   optional :class:`AddOn` s, valid until a date.
2. :func:`sign` turns it into an :class:`Agreement` whose first event is
   :class:`Signed`.  The payment method is a :class:`PaymentMethodRef`
   (gateway ids only); anything that looks like a raw card number is refused.
3. Everything after that is an event appended to the agreement's stream;
   ``Agreement.from_events(events)`` and :func:`apply` fold them.  Events
   carry ``event_id``, ``version`` (1, 2, 3, ... with no gaps) and
   ``effective_at`` (aware UTC).  Re-applying an event id is a no-op; a
   version that is not the next one raises :class:`~milestonebill.errors.EventOrderError`.
4. Amendments (:class:`Amendment`, a tuple of typed operations) are
   proposed, then approved (explicitly, or automatically after the
   proposal's notice period -- see :func:`approvals_due`) or rejected.
   Pending amendments do not affect billing.  :func:`preview` prices an
   amendment before anything is applied.

Queries the billing engine calls (all pure; ``as_of``/``through`` always
explicit):

* :func:`billing_plan` -- every billable item with its current amount and
  billing date (see :mod:`milestonebill.agreement.terms` for the keys).
* :func:`contract_value` -- the sum of the plan.  Open-ended recurring
  charges have no total, so their value is counted over a *stated horizon*:
  the service-period pieces that start before ``through``.  ``through`` is
  required when any recurring charge is open-ended.
* :func:`preview` -- the exact money effect of an amendment.
* :func:`approvals_due` -- amendments whose notice period has run out;
  :func:`lapsed_amendments` -- those of them that no longer apply.
* ``milestonebill.invoicing.due_invoices`` and friends decide what to bill.

The package's modules, each importing only those above it:

* :mod:`~milestonebill.agreement.proposal` -- :class:`Proposal` and what it offers;
* :mod:`~milestonebill.agreement.amendments` -- :class:`Amendment` and its operations;
* :mod:`~milestonebill.agreement.terms` -- milestone and recurring terms, :class:`PlanItem`;
* :mod:`~milestonebill.agreement.draft` -- applying operations to a working copy of the terms;
* :mod:`~milestonebill.agreement.events` -- the events and their JSON;
* :mod:`~milestonebill.agreement.fold` -- :class:`Agreement` and :func:`apply`;
* :mod:`~milestonebill.agreement.history` -- the agreement at earlier times, without a replay;
* :mod:`~milestonebill.agreement.commands` -- :func:`sign` and the event builders;
* :mod:`~milestonebill.agreement.plan` -- :func:`billing_plan`, :func:`contract_value`,
  :func:`billed_by_key`, :func:`plan_pieces`;
* :mod:`~milestonebill.agreement.preview` -- :func:`preview`;
* :mod:`~milestonebill.agreement.summary` -- :class:`AgreementSummary`, an agreement at a
  glance with a JSON form.

Payment-method references live in :mod:`milestonebill.payment_methods` and
identifiers in :mod:`milestonebill.ids`; both are re-exported here.

>>> from datetime import UTC, date, datetime
>>> from milestonebill.money import Currency, Money
>>> from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
>>> usd = Currency.of("USD")
>>> basic = PackageOption("basic", "Basic", BillingSchedule(currency=usd, milestones=[
...     Milestone(MilestoneId("kickoff"), "Kickoff", amount=Money("1000.00", "USD"),
...               trigger=Trigger.ON_SIGNING),
...     Milestone(MilestoneId("launch"), "Launch", amount=Money("4000.00", "USD"))]))
>>> proposal = Proposal(ProposalId("p-1"), "Acme Ltd", usd, (basic,),
...                     valid_until=date(2026, 3, 31), collection=Collection.SEND_INVOICE)
>>> a = sign(proposal, option="basic", signer="Ada", agreement_id=AgreementId("agr-1"),
...          signed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), payment_method=None)
>>> a.state, a.version, contract_value(a)
(<AgreementState.ACTIVE: 'active'>, 1, Money('5000.00', 'USD'))
>>> a = apply(a, complete_milestone(a, MilestoneId("launch"), by="Ada", evidence="go-live",
...                                  at=datetime(2026, 4, 1, tzinfo=UTC)))
>>> a.completions[MilestoneId("launch")]
datetime.date(2026, 4, 1)
>>> a.as_of(date(2026, 3, 31)).version
1
"""

from milestonebill.agreement import fold_terms  # noqa: F401 (registers its handlers)
from milestonebill.agreement.amendments import (
    AddAddOn,
    AddDiscount,
    AddMilestone,
    AddRecurringCharge,
    Amendment,
    CancelAddOn,
    CancelAgreement,
    ChangeBillingDay,
    ChangeInstallments,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    EndDiscount,
    EndRecurringCharge,
    Operation,
    ProrationPolicy,
    RaiseTimeCap,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
)
from milestonebill.agreement.commands import (
    approvals_due,
    approve,
    cancel,
    complete,
    complete_milestone,
    lapsed_amendments,
    pause,
    propose,
    reject,
    report_progress,
    resume,
    revise_estimate,
    sign,
)
from milestonebill.agreement.events import (
    AmendmentApproved,
    AmendmentProposed,
    AmendmentRejected,
    Cancelled,
    ChargeAttempted,
    Completed,
    CreditApplied,
    CreditForfeited,
    CreditIssued,
    CustomerCreditAdded,
    EstimateRevised,
    Event,
    InvoiceIssued,
    InvoiceWrittenOff,
    MilestoneCompleted,
    Paused,
    PaymentFailed,
    PaymentSucceeded,
    ProgressReported,
    Refunded,
    ReminderSent,
    Resumed,
    Signed,
    WriteOffRecovered,
    event_from_json,
    event_to_json,
)
from milestonebill.agreement.fold import (
    Agreement,
    AgreementState,
    AmendmentRecord,
    AmendmentStatus,
    Completion,
    apply,
    fold,
)
from milestonebill.agreement.obligations import (
    ObligationTerms,
    Progress,
    SspApproach,
)
from milestonebill.agreement.plan import (
    billed_by_key,
    billing_plan,
    changed_since,
    contract_value,
    plan_pieces,
)
from milestonebill.agreement.preview import (
    AmendmentPreview,
    PreviewLine,
    ScheduleChange,
    TimeCapChange,
    preview,
)
from milestonebill.agreement.proposal import (
    AddOn,
    ApprovalRules,
    Collection,
    PackageOption,
    Proposal,
)
from milestonebill.agreement.summary import (
    AgreementSummary,
    CreditNoteStatus,
    InvoiceStatus,
    MilestoneStatus,
    RecurringStatus,
)
from milestonebill.agreement.terms import (
    DiscountTerm,
    InstallmentTerm,
    MilestoneTerm,
    PlanItem,
    RecurringTerm,
)
from milestonebill.agreement.time_entries import (
    ExpenseEntry,
    ExpenseRecorded,
    TimeCapRaised,
    TimeEntry,
    TimeRecorded,
    WorkItem,
    WorkWrittenDown,
    time_caps,
    time_work,
)
from milestonebill.ids import (
    AgreementId,
    AmendmentId,
    ProposalId,
)
from milestonebill.payment_methods import (
    PaymentMethodKind,
    PaymentMethodRef,
    contains_card_number,
)

__all__ = [
    "AddAddOn",
    "AddDiscount",
    "AddMilestone",
    "AddOn",
    "AddRecurringCharge",
    "Agreement",
    "AgreementId",
    "AgreementState",
    "AgreementSummary",
    "Amendment",
    "AmendmentApproved",
    "AmendmentId",
    "AmendmentPreview",
    "AmendmentProposed",
    "AmendmentRecord",
    "AmendmentRejected",
    "AmendmentStatus",
    "ApprovalRules",
    "CancelAddOn",
    "CancelAgreement",
    "Cancelled",
    "ChangeBillingDay",
    "ChangeInstallments",
    "ChangeMilestoneAmount",
    "ChangeRecurringInterval",
    "ChangeRecurringPrice",
    "ChargeAttempted",
    "Collection",
    "Completed",
    "Completion",
    "CreditApplied",
    "CreditForfeited",
    "CreditIssued",
    "CreditNoteStatus",
    "CustomerCreditAdded",
    "DiscountTerm",
    "EndDiscount",
    "EndRecurringCharge",
    "EstimateRevised",
    "Event",
    "ExpenseEntry",
    "ExpenseRecorded",
    "InstallmentTerm",
    "InvoiceIssued",
    "InvoiceStatus",
    "InvoiceWrittenOff",
    "MilestoneCompleted",
    "MilestoneStatus",
    "MilestoneTerm",
    "ObligationTerms",
    "Operation",
    "PackageOption",
    "Paused",
    "PaymentFailed",
    "PaymentMethodKind",
    "PaymentMethodRef",
    "PaymentSucceeded",
    "PlanItem",
    "PreviewLine",
    "Progress",
    "ProgressReported",
    "Proposal",
    "ProposalId",
    "ProrationPolicy",
    "RaiseTimeCap",
    "RecurringStatus",
    "RecurringTerm",
    "Refunded",
    "ReminderSent",
    "RemoveMilestone",
    "RescheduleMilestone",
    "Resumed",
    "ScheduleChange",
    "Signed",
    "SspApproach",
    "SwitchPackage",
    "TimeCapChange",
    "TimeCapRaised",
    "TimeEntry",
    "TimeRecorded",
    "WorkItem",
    "WorkWrittenDown",
    "WriteOffRecovered",
    "apply",
    "approvals_due",
    "approve",
    "billed_by_key",
    "billing_plan",
    "cancel",
    "changed_since",
    "complete",
    "complete_milestone",
    "contains_card_number",
    "contract_value",
    "event_from_json",
    "event_to_json",
    "fold",
    "lapsed_amendments",
    "pause",
    "plan_pieces",
    "preview",
    "propose",
    "reject",
    "report_progress",
    "resume",
    "revise_estimate",
    "sign",
    "time_caps",
    "time_work",
]

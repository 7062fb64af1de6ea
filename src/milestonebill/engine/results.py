"""What the Biller reports back: run summaries, charge outcomes, dry runs.

Values only; the Biller builds them with a :class:`Tally` while it works.
"""

from __future__ import annotations

from datetime import date

import attrs

from milestonebill.agreement import AmendmentApproved
from milestonebill.collection import PlannedCharge
from milestonebill.documents import CreditNote, Invoice
from milestonebill.gateways.base import ChargeStatus
from milestonebill.ids import AgreementId, InvoiceId
from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Money
from milestonebill.stores.base import ParkedAgreement

__all__ = [
    "BillingProblem",
    "ChargeOutcome",
    "DryRun",
    "RecognitionSummary",
    "RunSummary",
    "Tally",
]


@attrs.frozen
class ChargeOutcome:
    """What one charge attempt came to (``FAILED_RETRYABLE``: left for reconciliation)."""

    agreement_id: AgreementId
    invoice_id: InvoiceId
    attempt: int
    amount: Money
    status: ChargeStatus
    decline_code: str | None = None
    gateway_ref: str | None = None


@attrs.frozen
class BillingProblem:
    """An agreement the Biller could not finish.

    It is tried again on a later run, unless ``parked`` is true: then it was
    set aside (see :class:`~milestonebill.stores.base.ParkedAgreement`) and
    waits for :meth:`~milestonebill.engine.Biller.unpark`.
    """

    agreement_id: AgreementId
    error: str
    message: str
    parked: bool = False

    @classmethod
    def of(cls, agreement_id: str, exc: BaseException) -> BillingProblem:
        """The problem an exception raised while handling ``agreement_id`` describes."""
        return cls(AgreementId(agreement_id), type(exc).__name__, str(exc))


@attrs.frozen
class RunSummary:
    """What :meth:`Biller.run`, :meth:`Biller.bill` or :meth:`Biller.handle` did.

    ``parked`` lists the agreements this call set aside (each also in
    ``problems``), or for :meth:`Biller.bill` the agreement left alone
    because it was parked before.
    """

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    approvals: tuple[AmendmentApproved, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    credit_notes: tuple[CreditNote, ...] = ()
    charges: tuple[ChargeOutcome, ...] = ()
    reconciled: tuple[ChargeOutcome, ...] = ()
    problems: tuple[BillingProblem, ...] = ()
    parked: tuple[ParkedAgreement, ...] = ()

    @property
    def failures(self) -> tuple[ChargeOutcome, ...]:
        """Charges and re-driven attempts that did not succeed."""
        return tuple(c for c in (*self.reconciled, *self.charges)
                     if c.status is not ChargeStatus.SUCCEEDED)


@attrs.frozen
class RecognitionSummary:
    """What :meth:`Biller.recognise` posted: one release entry per agreement that moved.

    ``parked`` lists the agreements left out because they are parked
    (parked by this call -- each also in ``problems`` -- or before it).
    """

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    entries: tuple[JournalEntry, ...] = ()
    problems: tuple[BillingProblem, ...] = ()
    parked: tuple[ParkedAgreement, ...] = ()

    @property
    def released(self) -> dict[str, Money]:
        """Revenue posted, per currency code (negative: reversed)."""
        out: dict[str, Money] = {}
        for e in self.entries:
            for ln in e.lines:
                if ln.account is Account.REVENUE:
                    code = ln.amount.currency.code
                    out[code] = out.get(code, Money.zero(code)) - Money.from_minor(
                        ln.signed_minor, ln.amount.currency)
        return out


@attrs.frozen
class DryRun:
    """What :meth:`Biller.run` would do on ``as_of``; invoices are unnumbered drafts.

    ``problems`` names agreements whose plan could not be worked out (a dry
    run parks nothing: it writes nothing).
    """

    as_of: date
    agreements: tuple[AgreementId, ...]
    approvals: tuple[AmendmentApproved, ...]
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    charges: tuple[PlannedCharge, ...]
    problems: tuple[BillingProblem, ...] = ()


@attrs.define
class Tally:
    """What a run did so far (mutable while the Biller works; :meth:`freeze` it)."""

    as_of: date
    agreements: list[AgreementId] = attrs.Factory(list)
    approvals: list[AmendmentApproved] = attrs.Factory(list)
    invoices: list[Invoice] = attrs.Factory(list)
    credit_notes: list[CreditNote] = attrs.Factory(list)
    charges: list[ChargeOutcome] = attrs.Factory(list)
    reconciled: list[ChargeOutcome] = attrs.Factory(list)
    problems: list[BillingProblem] = attrs.Factory(list)
    parked: list[ParkedAgreement] = attrs.Factory(list)

    def problem(self, agreement_id: str, exc: BaseException) -> None:
        """Note an agreement the run could not finish."""
        self.problems.append(BillingProblem.of(agreement_id, exc))

    def park(self, record: ParkedAgreement) -> None:
        """Note an agreement the run set aside."""
        self.parked.append(record)
        self.problems.append(BillingProblem(record.agreement_id, record.error, record.message,
                                            parked=True))

    def freeze(self) -> RunSummary:
        """The summary so far."""
        return RunSummary(self.as_of, tuple(self.agreements), tuple(self.approvals),
                          tuple(self.invoices), tuple(self.credit_notes), tuple(self.charges),
                          tuple(self.reconciled), tuple(self.problems), tuple(self.parked))

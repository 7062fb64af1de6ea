"""What the Biller reports back: run summaries, charge outcomes, dry runs.

Values only; the Biller builds them with a :class:`Tally` while it works.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs

from milestonebill._json import decode, encode
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

    #: The agreement whose invoice was charged.
    agreement_id: AgreementId
    #: The invoice charged.
    invoice_id: InvoiceId
    #: The attempt number on that invoice, from 1; retries count up.
    attempt: int
    #: The amount asked for, in integer minor units.
    amount: Money
    #: What the gateway answered (``SUCCEEDED``, ``DECLINED``, ``PROCESSING``...).
    status: ChargeStatus
    #: The gateway's decline code (``"insufficient_funds"``) when declined.
    decline_code: str | None = None
    #: The gateway's id for the payment (Stripe: the PaymentIntent ``pi_...``;
    #: in memory: ``pi_mem_0001``), ``None`` when no payment was created.
    gateway_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the status by lower-case name).

        >>> from milestonebill.money import Money
        >>> c = ChargeOutcome(AgreementId("agr-1"), InvoiceId("inv-1"), 1,
        ...                   Money("10.00", "USD"), ChargeStatus.DECLINED, "card_declined")
        >>> c.to_json()["status"], ChargeOutcome.from_json(c.to_json()) == c
        ('declined', True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> ChargeOutcome:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form: invoices, credit notes and outcomes in theirs.

        >>> s = RunSummary(date(2026, 3, 2), agreements=(AgreementId("agr-1"),))
        >>> s.to_json()["as_of"], RunSummary.from_json(s.to_json()) == s
        ('2026-03-02', True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> RunSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form: journal entries in theirs.

        >>> s = RecognitionSummary(date(2026, 3, 31))
        >>> s.to_json()
        {'as_of': '2026-03-31', 'agreements': [], 'entries': [], 'problems': [], 'parked': []}
        >>> RecognitionSummary.from_json(s.to_json()) == s
        True
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> RecognitionSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


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

    def to_json(self) -> dict[str, Any]:
        """The JSON form: draft invoices (``"number": null``) and planned charges.

        >>> d = DryRun(date(2026, 3, 2), (), (), (), (), ())
        >>> d.to_json()["charges"], DryRun.from_json(d.to_json()) == d
        ([], True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> DryRun:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


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

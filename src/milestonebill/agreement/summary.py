"""An agreement at a glance, as a value with a JSON form: :class:`AgreementSummary`.

An :class:`~milestonebill.agreement.Agreement` is the fold of its events;
what a person or a client program wants to see of it -- its state, its
milestones and whether they were delivered, its invoices and what is still
owed on each, pending amendments -- is read from the fold once, into this
value.  ``AgreementSummary.of(agreement).to_json()`` is what a service
answers for ``GET /agreements/{id}``; the events stay the truth.

>>> from datetime import UTC, datetime
>>> from milestonebill.testing.scenarios import proposal, signed
>>> a = signed(proposal([("design", "4000.00"), ("launch", "6000.00")]))
>>> s = AgreementSummary.of(a)
>>> s.state, [(m.id, str(m.amount), m.completed_on) for m in s.milestones]
(<AgreementState.ACTIVE: 'active'>, [('design', '4000.00 USD', None), ('launch', '6000.00 USD', None)])
>>> data = s.to_json()
>>> data["milestones"][0]["amount"], AgreementSummary.from_json(data) == s
({'amount': '4000.00', 'currency': 'USD'}, True)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from milestonebill._json import decode, encode
from milestonebill.agreement.fold import Agreement, AgreementState
from milestonebill.ids import AgreementId, AmendmentId, CreditNoteId, InvoiceId, ProposalId
from milestonebill.money import Currency, Money
from milestonebill.payment_methods import PaymentMethodRef
from milestonebill.schedule import ItemId, MilestoneId, Trigger

__all__ = [
    "AgreementSummary",
    "CreditNoteStatus",
    "InvoiceStatus",
    "MilestoneStatus",
    "RecurringStatus",
]


@attrs.frozen
class MilestoneStatus:
    """A milestone of the current terms: its amount, how it is triggered, and the day
    it was completed (``None`` while it is not)."""

    id: MilestoneId
    name: str
    amount: Money | None
    trigger: Trigger
    due_on: date | None
    completed_on: date | None


@attrs.frozen
class RecurringStatus:
    """A recurring charge of the current terms, active on ``[active_from, active_until)``."""

    id: ItemId
    name: str
    amount: Money
    active_from: date
    active_until: date | None


@attrs.frozen
class InvoiceStatus:
    """An issued invoice and what is still owed on it (negative: the client is owed)."""

    id: InvoiceId
    number: str | None
    issued_on: date
    due_on: date
    total: Money
    balance: Money


@attrs.frozen
class CreditNoteStatus:
    """An issued credit note and the invoice it credits."""

    id: CreditNoteId
    number: str | None
    issued_on: date
    credits: InvoiceId
    total: Money


@attrs.frozen
class AgreementSummary:
    """An agreement's state, terms and documents as one value (see the module docs).

    ``owed`` is the sum of the invoices' balances; ``credit_balance`` the
    customer credit not yet applied.
    """

    id: AgreementId
    proposal_id: ProposalId
    client: str
    currency: Currency
    state: AgreementState
    version: int
    signer: str
    signed_at: datetime
    option: str
    addons: tuple[str, ...]
    payment_method: PaymentMethodRef | None
    milestones: tuple[MilestoneStatus, ...]
    recurring: tuple[RecurringStatus, ...]
    invoices: tuple[InvoiceStatus, ...]
    credit_notes: tuple[CreditNoteStatus, ...]
    pending_amendments: tuple[AmendmentId, ...]
    owed: Money
    credit_balance: Money

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementSummary:
        """The summary of ``agreement`` as it stands."""
        a = agreement
        done = a.completions
        invoices = tuple(InvoiceStatus(i.id, i.number, i.issued_on, i.due_on, i.total,
                                       a.balance_of(i.id)) for i in a.invoices)
        return cls(
            a.id, a.proposal_id, a.proposal.client, a.currency, a.state, a.version, a.signer,
            a.signed_at, a.option_id, a.addons, a.payment_method,
            tuple(MilestoneStatus(t.milestone.id, t.milestone.name, t.milestone.amount,
                                  t.milestone.trigger, t.milestone.due_on,
                                  done.get(t.milestone.id)) for t in a.milestones),
            tuple(RecurringStatus(t.charge.id, t.charge.name, t.charge.amount, t.active_from,
                                  t.active_until) for t in a.recurring),
            invoices,
            tuple(CreditNoteStatus(c.id, c.number, c.issued_on, c.credits, c.total)
                  for c in a.credit_notes),
            tuple(r.amendment.id for r in a.pending_amendments),
            Money.total((i.balance for i in invoices), currency=a.currency),
            a.credit_balance,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (money as ``{"amount", "currency"}``, enums by lower-case name)."""
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> AgreementSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]

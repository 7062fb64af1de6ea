"""A proposal at a glance, as a value with a JSON form: :class:`ProposalSummary`.

What a service answers for ``GET /proposals/{id}``: the offer itself (in
the ``proposal`` format), where it is in its life and when each step
happened, and -- once accepted -- the agreement signed from it.  The
stream of events stays the truth; this is read from its fold.

>>> from datetime import UTC, datetime
>>> from milestonebill.proposals import draft, send, apply_event
>>> from milestonebill.testing.scenarios import proposal
>>> record = draft(proposal([("launch", "1000.00")]), at=datetime(2026, 3, 2, 9, tzinfo=UTC))
>>> record = apply_event(record, send(record, at=datetime(2026, 3, 2, 10, tzinfo=UTC)))
>>> data = ProposalSummary.of(record).to_json()
>>> data["status"], data["sent_at"], data["agreement_id"]
('sent', '2026-03-02T10:00:00+00:00', None)
>>> ProposalSummary.from_json(data) == ProposalSummary.of(record)
True
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from milestonebill._json import decode, encode
from milestonebill.agreement import Proposal
from milestonebill.ids import AgreementId, CustomerId, ProposalId
from milestonebill.proposals.record import ProposalRecord, ProposalStatus

__all__ = ["ProposalSummary"]


@attrs.frozen
class ProposalSummary:
    """A proposal's status, the times of its steps, the offer and the agreement signed.

    ``customer_id`` is the gateway customer an onboarding made for it (kept
    when a card was refused, so a retry reuses it).
    """

    id: ProposalId
    status: ProposalStatus
    version: int
    drafted_at: datetime
    sent_at: datetime | None
    viewed_at: datetime | None
    decided_at: datetime | None
    reason: str
    agreement_id: AgreementId | None
    customer_id: CustomerId | None
    proposal: Proposal

    @classmethod
    def of(cls, record: ProposalRecord) -> ProposalSummary:
        """The summary of ``record`` as it stands."""
        return cls(record.id, record.status, record.version, record.drafted_at, record.sent_at,
                   record.viewed_at, record.decided_at, record.reason, record.agreement_id,
                   None if record.customer is None else record.customer.customer_id,
                   record.proposal)

    def to_json(self) -> dict[str, Any]:
        """The JSON form; ``proposal`` is in the ``proposal`` format."""
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> ProposalSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]

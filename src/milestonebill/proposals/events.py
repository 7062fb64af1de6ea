"""The events of a proposal's stream, and their JSON form.

Every event carries ``event_id``, ``version`` (1, 2, 3, ... with no gaps)
and ``effective_at`` (aware UTC).  :class:`ProposalDrafted` is always the
first; :data:`ProposalEvent` is the union of them all, and
:func:`proposal_event_to_json` / :func:`proposal_event_from_json` are their
exact JSON round trip through the library's one codec.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from milestonebill._json import decode_tagged, encode_tagged
from milestonebill._validate import utc_datetime
from milestonebill.agreement import Proposal
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, CustomerId
from milestonebill.payment_methods import PaymentMethodRef

__all__ = [
    "CustomerLinked",
    "PaymentMethodSaved",
    "ProposalAccepted",
    "ProposalDeclined",
    "ProposalDrafted",
    "ProposalEvent",
    "ProposalExpired",
    "ProposalSent",
    "ProposalViewed",
    "ProposalWithdrawn",
    "proposal_event_from_json",
    "proposal_event_to_json",
]


@attrs.frozen
class ProposalDrafted:
    """The proposal was written: the first event of every proposal stream."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    proposal: Proposal


@attrs.frozen
class ProposalSent:
    """The proposal was sent to the client (``recipient``: to whom, if known)."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    recipient: str = ""


@attrs.frozen
class ProposalViewed:
    """The client opened the proposal."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)


@attrs.frozen
class ProposalAccepted:
    """The client signed: ``agreement_id`` is the agreement signed from the proposal.

    The fields are the :class:`~milestonebill.agreement.Signed` event's, so
    :func:`signed_agreement` rebuilds the agreement exactly.
    """

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    agreement_id: AgreementId
    option_id: str
    signer: str
    payment_method: PaymentMethodRef | None = None
    addon_ids: tuple[str, ...] = ()


@attrs.frozen
class ProposalDeclined:
    """The client said no."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    reason: str = ""


@attrs.frozen
class ProposalExpired:
    """The proposal's ``valid_until`` passed while it was open."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)


@attrs.frozen
class ProposalWithdrawn:
    """The firm took the proposal back."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    reason: str = ""


@attrs.frozen
class CustomerLinked:
    """The gateway customer made for the host's ``customer_reference`` while onboarding."""

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    customer_id: CustomerId
    customer_reference: str


@attrs.frozen
class PaymentMethodSaved:
    """A payment method saved at the gateway for the proposal's customer.

    ``setup_key`` is the idempotency key it was saved under (derived from
    the customer and the token), so a retry with the same token is known
    without storing the token.
    """

    event_id: str
    version: int
    effective_at: datetime = attrs.field(converter=utc_datetime)
    payment_method: PaymentMethodRef
    setup_key: str


ProposalEvent = (
    ProposalDrafted
    | ProposalSent
    | ProposalViewed
    | ProposalAccepted
    | ProposalDeclined
    | ProposalExpired
    | ProposalWithdrawn
    | CustomerLinked
    | PaymentMethodSaved
)
_EVENT_TYPES: Final[tuple[type, ...]] = (
    ProposalDrafted, ProposalSent, ProposalViewed, ProposalAccepted, ProposalDeclined,
    ProposalExpired, ProposalWithdrawn, CustomerLinked, PaymentMethodSaved,
)
_EVENTS_BY_NAME: Final = {t.__name__: t for t in _EVENT_TYPES}


def proposal_event_to_json(event: ProposalEvent) -> dict[str, Any]:
    """The JSON form of a proposal event: its fields plus a ``"type"`` discriminator.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``event`` for
    anything but a proposal event.

    >>> from datetime import UTC
    >>> e = ProposalDeclined("prop-1/3/decline", 3, datetime(2026, 4, 1, tzinfo=UTC), "budget")
    >>> proposal_event_to_json(e)
    {'type': 'ProposalDeclined', 'event_id': 'prop-1/3/decline', 'version': 3, 'effective_at': '2026-04-01T00:00:00+00:00', 'reason': 'budget'}
    >>> proposal_event_from_json(proposal_event_to_json(e)) == e
    True
    """
    if not isinstance(event, _EVENT_TYPES):
        raise ValidationError("event", "a proposal event", event)
    return encode_tagged(event)


def proposal_event_from_json(data: Mapping[str, Any]) -> ProposalEvent:
    """Parse the form made by :func:`proposal_event_to_json`; unknown types and fields
    are refused.

    >>> proposal_event_from_json({"type": "Signed"})
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'event.type' must be one of ['CustomerLinked', 'PaymentMethodSaved', 'ProposalAccepted', 'ProposalDeclined', 'ProposalDrafted', 'ProposalExpired', 'ProposalSent', 'ProposalViewed', 'ProposalWithdrawn'] (got 'Signed')
    """
    return decode_tagged(data, _EVENTS_BY_NAME, "event")  # type: ignore[no-any-return]

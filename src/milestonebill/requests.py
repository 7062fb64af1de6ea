"""What a host asks the Biller to do, as values: the request bodies of a wrapping service.

A service that takes JSON reads each request body with
:func:`milestonebill.formats.read` under the name of its request (the
``REQUESTS`` of :mod:`milestonebill.formats`), so every problem is named by
its JSON path, then passes the value's fields to the Biller verb it
mirrors:

========================  ============================  ==========================================
format                    value                         Biller verb
========================  ============================  ==========================================
``proposal_step``         :class:`ProposalStep`         ``send``, ``mark_viewed``, ``decline``, ``withdraw``
``onboarding``            :class:`Onboarding`           ``onboard`` (``**request.arguments()``)
``completion``            :class:`MilestoneCompletion`  ``complete_milestone``
``progress``              :class:`ProgressReport`       ``report_progress``
``amendment_preview``     :class:`PreviewRequest`       ``preview_amendment``
``amendment_request``     :class:`AmendmentRequest`     ``propose_amendment``
``amendment_decision``    :class:`AmendmentDecision`    ``approve_amendment``
``billing_run``           :class:`BillingRun`           ``run`` or ``dry_run``
``recognition_run``       :class:`RecognitionRun`       ``recognise``
``work_item_completed``   :class:`WorkItemCompleted`    a practice-management webhook
                                                        (:mod:`milestonebill.integrations.practice`)
========================  ============================  ==========================================

Times (``at``, ``signed_at``) are optional and default to the Biller's
clock; a client that may retry passes them, so the retry asks for the same
thing.

>>> from milestonebill import formats
>>> req = formats.read("onboarding", {"option": "site", "signer": "Ada",
...     "customer_reference": "acme", "payment_method": {"token": "tok_visa"}})
>>> req.arguments()["payment_method_token"], req.arguments()["kind"]
('tok_visa', <PaymentMethodKind.CARD: 'card'>)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from milestonebill._validate import utc_datetime
from milestonebill.agreement.amendments import Amendment
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId, MilestoneId, ObligationId
from milestonebill.payment_methods import PaymentMethodKind, contains_card_number

__all__ = [
    "AmendmentDecision",
    "AmendmentRequest",
    "BillingRun",
    "MandateFacts",
    "MilestoneCompletion",
    "Onboarding",
    "PaymentMethodToken",
    "PreviewRequest",
    "ProgressReport",
    "ProposalStep",
    "RecognitionRun",
    "Request",
    "WorkItemCompleted",
]


def _at(value: object) -> datetime | None:
    return None if value is None else utc_datetime(value, "at")


def _signed_at(value: object) -> datetime | None:
    return None if value is None else utc_datetime(value, "signed_at")


def _accepted_at(value: object) -> datetime:
    return utc_datetime(value, "accepted_at")


def _completed_at(value: object) -> datetime:
    return utc_datetime(value, "completed_at")


@attrs.frozen
class ProposalStep:
    """A step in a proposal's life: sent (to ``recipient``), viewed, declined or
    withdrawn (for ``reason``), at ``at`` (default now)."""

    recipient: str = ""
    reason: str = ""
    at: datetime | None = attrs.field(default=None, converter=_at)


@attrs.frozen
class MandateFacts:
    """The client's acceptance of a bank-debit mandate, as the host recorded it: when,
    and for an online mandate from which IP address and browser."""

    accepted_at: datetime = attrs.field(converter=_accepted_at)
    ip_address: str | None = None
    user_agent: str | None = None


def _token(value: str) -> str:
    if isinstance(value, str) and contains_card_number(value):
        raise ValidationError("token", "a gateway token, not a card number", "[redacted]")
    return value


@attrs.frozen
class PaymentMethodToken:
    """What the gateway's browser library returned for the client's payment method,
    its kind, and for a bank debit the mandate facts.  A card number is refused."""

    token: str = attrs.field(converter=_token)
    kind: PaymentMethodKind = PaymentMethodKind.CARD
    mandate: MandateFacts | None = None


@attrs.frozen
class Onboarding:
    """Sign a stored proposal for a client in one call (see ``Biller.onboard``).

    ``option`` and ``addons`` are what the client chose, ``signer`` who
    signed and ``signed_at`` when (default now: pass it when a request may
    be retried); ``customer_reference`` is the host's id for the client
    (the gateway customer is created once for it) and ``payment_method``
    what to charge, for a proposal that charges automatically.
    """

    option: str
    signer: str
    customer_reference: str | None = None
    payment_method: PaymentMethodToken | None = None
    addons: tuple[str, ...] = ()
    agreement_id: AgreementId | None = None
    signed_at: datetime | None = attrs.field(default=None, converter=_signed_at)

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``Biller.onboard`` this request stands for."""
        pm = self.payment_method
        mandate = None if pm is None else pm.mandate
        return {
            "option": self.option, "signer": self.signer,
            "customer_reference": self.customer_reference,
            "payment_method_token": None if pm is None else pm.token,
            "kind": PaymentMethodKind.CARD if pm is None else pm.kind,
            "mandate_accepted_at": None if mandate is None else mandate.accepted_at,
            "mandate_ip_address": None if mandate is None else mandate.ip_address,
            "mandate_user_agent": None if mandate is None else mandate.user_agent,
            "addons": self.addons, "agreement_id": self.agreement_id, "at": self.signed_at,
        }


@attrs.frozen
class MilestoneCompletion:
    """A milestone was delivered: by whom, on which day (default the day of ``at``),
    with what evidence.  ``event_id`` is the caller's id for the completion: a
    retried request with the same one changes nothing."""

    by: str
    completed_on: date | None = None
    evidence: str = ""
    event_id: str | None = None
    at: datetime | None = attrs.field(default=None, converter=_at)


@attrs.frozen
class ProgressReport:
    """Hours, costs or units delivered to date (cumulative) on an obligation measured
    by input, as of a day; ``event_id`` as for :class:`MilestoneCompletion`."""

    obligation_id: ObligationId
    to_date: Decimal
    as_of: date
    event_id: str | None = None
    at: datetime | None = attrs.field(default=None, converter=_at)


@attrs.frozen
class AmendmentRequest:
    """An amendment proposed by ``by``; the agreement's approval rules say whether the
    client must approve it.  Proposing the same amendment again changes nothing."""

    amendment: Amendment
    by: str
    at: datetime | None = attrs.field(default=None, converter=_at)


@attrs.frozen
class PreviewRequest:
    """An amendment to price as if approved on ``as_of`` (default today); ``through`` is
    the contract-value horizon, needed with open-ended recurring charges."""

    amendment: Amendment
    as_of: date | None = None
    through: date | None = None


@attrs.frozen
class AmendmentDecision:
    """A pending amendment approved by ``by`` (approving an approved one changes nothing)."""

    by: str
    at: datetime | None = attrs.field(default=None, converter=_at)


@attrs.frozen
class BillingRun:
    """Bill everything due by ``as_of``; with ``dry_run`` only say what would be billed."""

    as_of: date
    dry_run: bool = False


@attrs.frozen
class RecognitionRun:
    """Post the revenue earned by the end of ``as_of``."""

    as_of: date


@attrs.frozen
class WorkItemCompleted:
    """A practice-management tool's "work item completed" notification.

    ``delivery_id`` is the sender's id of this delivery (a redelivery keeps
    it): the completion recorded for it is derived from it, so a duplicate
    changes nothing.  ``agreement_id`` and ``milestone_id`` link the work
    item to the milestone it delivers; leave both out when the receiver
    keeps the link (:class:`~milestonebill.integrations.practice.WorkItemLinks`).
    ``evidence`` is shown as the completion's evidence (a title or a URL).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``agreement_id`` or
    ``milestone_id`` when one is given without the other.
    """

    delivery_id: str
    work_item_id: str
    completed_at: datetime = attrs.field(converter=_completed_at)
    completed_by: str
    evidence: str = ""
    agreement_id: AgreementId | None = None
    milestone_id: MilestoneId | None = None

    def __attrs_post_init__(self) -> None:
        if (self.agreement_id is None) != (self.milestone_id is None):
            missing = "milestone_id" if self.milestone_id is None else "agreement_id"
            raise ValidationError(missing, "given together with "
                                  f"{'agreement_id' if missing == 'milestone_id' else 'milestone_id'}"
                                  " (both or neither)", None)


#: Any request value.
Request = (ProposalStep | Onboarding | MilestoneCompletion | ProgressReport | PreviewRequest
           | AmendmentRequest | AmendmentDecision | BillingRun | RecognitionRun
           | WorkItemCompleted)

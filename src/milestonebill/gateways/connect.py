"""Stripe Connect, the parts that need no SDK: the platform's fee and webhook routing.

A platform that bills for many firms charges each firm's clients on that
firm's own Stripe account (a *connected account*, ``acct_...``): every
request of the firm's :class:`~milestonebill.gateways.stripe.StripeGateway`
names the account (``stripe_account=``), and the platform may keep a cut of
each charge, Stripe's *application fee*.  This module holds the two pieces
that decide something without talking to Stripe, so they can be used (and
tested) without the ``stripe`` package:

* :class:`ApplicationFee` -- the platform's cut of one charge: basis points
  of the amount plus a fixed part, exact in integers, rounded half-up to
  an amount Stripe can charge, never above the amount;
* :class:`ConnectWebhookRouter` -- the platform's one Connect webhook
  endpoint: it verifies the signature, then names the tenant whose
  connected account the event came from, so the endpoint can hand the
  delivery to that tenant's gateway and Biller.

>>> from milestonebill.money import Money
>>> fee = ApplicationFee(basis_points=150, fixed_minor=30)   # 1.5 % + 0.30
>>> fee.for_amount(Money("1000.00", "USD"))
Money('15.30', 'USD')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import attrs

from milestonebill._validate import check_id, check_int
from milestonebill.errors import NotFoundError, ValidationError, WebhookPayloadError
from milestonebill.gateways import _signing, _webhook
from milestonebill.gateways._stripe_map import stripe_step
from milestonebill.gateways.base import DEFAULT_WEBHOOK_TOLERANCE
from milestonebill.ids import TenantId
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import Money

__all__ = [
    "MAX_BASIS_POINTS",
    "ApplicationFee",
    "ConnectWebhookRouter",
    "check_stripe_account",
    "event_account",
]

#: 100 %: an application fee is a share of the charge, never more than all of it.
MAX_BASIS_POINTS: Final = 10_000
# Stripe's account ids: "acct_" and letters and digits (they go into a header).
_ACCOUNT: Final = re.compile(r"acct_[A-Za-z0-9]{1,250}")


def check_stripe_account(value: object, field: str = "stripe_account") -> str:
    """``value`` as a connected account id (``acct_`` and letters or digits).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``field``
    for anything else (it travels in the ``Stripe-Account`` header, so no
    other character may get through).

    >>> check_stripe_account("acct_1Nv0FGQ9RKHgCVdK")
    'acct_1Nv0FGQ9RKHgCVdK'
    >>> check_stripe_account("cus_1Nv0FG")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'stripe_account' must be a connected account id: 'acct_' then letters or digits (got 'cus_1Nv0FG')
    """
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise ValidationError(field, "a connected account id: 'acct_' then letters or digits",
                              value)
    return value


def event_account(body: Mapping[str, Any]) -> str | None:
    """The ``account`` of a (verified) webhook body: the connected account the
    event happened on, ``None`` for an event of the platform's own account.

    Raises :class:`~milestonebill.errors.WebhookPayloadError` naming
    ``account`` when it is there but not an account id.
    """
    value = body.get("account")
    if value is None:
        return None
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise WebhookPayloadError("account", "a connected account id ('acct_...') or absent",
                                  value if isinstance(value, str) else type(value).__name__)
    return value


@attrs.frozen
class ApplicationFee:
    """The platform's cut of each charge: ``basis_points`` of the amount plus
    ``fixed_minor`` minor units of the charge's currency.

    :meth:`for_amount` is exact: it works in integers, rounds once, half-up,
    to the smallest amount Stripe can charge in the currency (a whole yen, a
    whole krona, 0.010 of a dinar), and never returns more than the amount
    (rounded down to that step), nor less than zero.  ``fixed_minor`` counts
    ISO 4217 minor units (cents, yen, fils), like
    :attr:`~milestonebill.money.Money.minor`.

    ``basis_points`` must be a whole number from 0 to :data:`MAX_BASIS_POINTS`
    and ``fixed_minor`` one from 0 up; anything else raises
    :class:`~milestonebill.errors.ValidationError` naming the field.

    >>> from milestonebill.money import Money
    >>> fee = ApplicationFee(basis_points=250)                  # 2.5 %
    >>> fee.for_amount(Money("10.10", "USD"))                   # 0.2525 -> 0.25
    Money('0.25', 'USD')
    >>> fee.for_amount(Money("10.30", "USD"))                   # 0.2575 -> 0.26
    Money('0.26', 'USD')
    >>> fee.for_amount(Money("1999", "JPY"))                    # 49.975 -> 50 yen
    Money('50', 'JPY')
    >>> fee.for_amount(Money("3.140", "KWD"))                   # 0.0785 -> 0.080
    Money('0.080', 'KWD')
    >>> ApplicationFee(fixed_minor=500).for_amount(Money("3.00", "USD"))  # capped
    Money('3.00', 'USD')
    """

    basis_points: int = attrs.field(
        default=0, validator=lambda _i, _a, v: check_int(
            "basis_points", v, at_least=0, at_most=MAX_BASIS_POINTS, unit="basis points"))
    fixed_minor: int = attrs.field(
        default=0, validator=lambda _i, _a, v: check_int(
            "fixed_minor", v, at_least=0, at_most=MAX_AMOUNT_MINOR, unit="minor units"))

    def for_amount(self, amount: Money) -> Money:
        """The fee on a charge of ``amount`` (0 or more), in ``amount``'s currency.

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``amount`` for something that is not a :class:`~milestonebill.money.Money`
        of zero or more.
        """
        if not isinstance(amount, Money):
            raise ValidationError("amount", "a Money", amount)
        if amount.minor < 0:
            raise ValidationError("amount", "an amount of 0 or more", amount)
        step = stripe_step(amount.currency)
        # In 1/10,000ths of a minor unit, so basis points stay whole.
        exact = amount.minor * self.basis_points + self.fixed_minor * MAX_BASIS_POINTS
        per_step = MAX_BASIS_POINTS * step
        steps = (2 * exact + per_step) // (2 * per_step)  # half-up, all terms >= 0
        cap = amount.minor - amount.minor % step
        return Money.from_minor(min(steps * step, cap), amount.currency)


class ConnectWebhookRouter:
    """Names the tenant a Connect webhook belongs to, after verifying it.

    A platform has one webhook endpoint for the events of all its connected
    accounts, signed with that endpoint's one secret.  ``accounts`` maps
    each firm's connected account (``acct_...``) to its tenant; a tenant has
    one account.  :meth:`tenant_for` checks the ``Stripe-Signature`` header
    with ``webhook_secret`` first (a forged, tampered or stale delivery
    raises :class:`~milestonebill.errors.WebhookSignatureError` and nothing
    is read), then reads the event's ``account``.  It takes the raw body
    and the header, never a parsed event, so nothing unverified can be
    routed.

    The endpoint then hands the same delivery to that tenant's
    :class:`~milestonebill.gateways.stripe.StripeGateway` (built with the
    same ``webhook_secret`` and the tenant's ``stripe_account``), whose
    ``parse_webhook`` verifies it again and refuses an event of any other
    account, and gives the event to the tenant's Biller.

    Bad configuration raises :class:`~milestonebill.errors.ValidationError`
    naming ``accounts``, ``webhook_secret`` or ``tolerance``.

    >>> import json
    >>> from datetime import UTC, datetime
    >>> from milestonebill.gateways import _signing
    >>> router = ConnectWebhookRouter({"acct_A1": "firm-a", "acct_B2": "firm-b"},
    ...                               webhook_secret="whsec_platform")
    >>> at = datetime(2026, 5, 4, 9, tzinfo=UTC)
    >>> body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded",
    ...                    "account": "acct_B2"}).encode()
    >>> router.tenant_for(body, _signing.sign("whsec_platform", body, at), at)
    'firm-b'
    """

    def __init__(self, accounts: Mapping[str, str], *, webhook_secret: str,
                 tolerance: timedelta = DEFAULT_WEBHOOK_TOLERANCE) -> None:
        if not isinstance(accounts, Mapping):
            raise ValidationError("accounts", "a mapping of account ids to tenants",
                                  type(accounts).__name__)
        routes: dict[str, TenantId] = {}
        owner: dict[TenantId, str] = {}
        for account, tenant in accounts.items():
            check_stripe_account(account, "accounts")
            t = TenantId(check_id("accounts", tenant))
            if t in owner:
                raise ValidationError("accounts", f"one connected account per tenant "
                                      f"({t!r} has {owner[t]!r})", account)
            owner[t], routes[account] = account, t
        if not isinstance(webhook_secret, str) or not webhook_secret:
            # The value is never shown: it may be the secret, of the wrong type.
            raise ValidationError("webhook_secret", "the endpoint's signing secret (a string)",
                                  type(webhook_secret).__name__)
        if not isinstance(tolerance, timedelta) or tolerance <= timedelta(0):
            raise ValidationError("tolerance", "a positive timedelta", tolerance)
        self._routes: Mapping[str, TenantId] = MappingProxyType(routes)
        self._accounts: Mapping[TenantId, str] = MappingProxyType(owner)
        self._secret = webhook_secret
        self._tolerance = tolerance

    def __repr__(self) -> str:
        return f"ConnectWebhookRouter({len(self._routes)} accounts, webhook_secret='***')"

    @property
    def routes(self) -> Mapping[str, TenantId]:
        """Each connected account's tenant (read-only)."""
        return self._routes

    def account_of(self, tenant: str) -> str:
        """The connected account of ``tenant`` (to build its gateway with).

        Raises :class:`~milestonebill.errors.NotFoundError` for a tenant
        the router does not know.
        """
        found = self._accounts.get(TenantId(tenant))
        if found is None:
            raise NotFoundError(f"no connected account for tenant {tenant!r}")
        return found

    def tenant_for(self, payload: bytes, signature_header: str, now: datetime) -> TenantId:
        """The tenant whose connected account sent this delivery.

        Raises :class:`~milestonebill.errors.WebhookSignatureError` for a
        delivery whose signature does not verify against ``now`` (nothing
        is read then); :class:`~milestonebill.errors.WebhookPayloadError`
        naming ``account`` for an event without one (an event of the
        platform's own account, which no tenant may be handed) or of an
        account the platform does not route, and naming the field for a
        body that is not a JSON object;
        :class:`~milestonebill.errors.ValidationError` when ``payload`` is
        not bytes or the header not text.
        """
        _signing.verify(self._secret, payload, signature_header, now, self._tolerance)
        account = event_account(_webhook.load_object(payload))
        if account is None:
            raise WebhookPayloadError("account", "the connected account of a Connect event",
                                      None)
        tenant = self._routes.get(account)
        if tenant is None:
            raise WebhookPayloadError("account", "a connected account this platform routes",
                                      account)
        return tenant

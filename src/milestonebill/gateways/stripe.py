"""The Stripe adapter (extra ``stripe``): :class:`StripeGateway`.

Uses the official ``stripe`` package in ``StripeClient`` style, pinned to
the API version :data:`STRIPE_API_VERSION` (sent on every request; other
versions are refused at construction).  What it does:

* customers; saving a card or US bank account for off-session use with a
  SetupIntent (created, then confirmed with the token from the browser);
  detaching;
* charging an invoice off-session: a PaymentIntent with ``confirm=true``,
  ``off_session=true``, the amount in Stripe's integer minor units, the
  lower-case currency, customer, payment method, ``metadata`` linking
  agreement, invoice and attempt, and the request's derived idempotency key;
* mapping outcomes to :class:`~milestonebill.gateways.base.ChargeResult`
  (``CardError`` becomes a hard or soft decline, ``authentication_required``
  a required action carrying the PaymentIntent id, connection errors and
  5xx a retryable failure, 429 a
  :class:`~milestonebill.errors.GatewayRateLimitedError` with the wait
  Stripe asked for); no vendor exception escapes;
* refunds, full or partial, with idempotency keys; the fee read from the
  charge's balance transaction (expanded on the charge; fetched for a
  ``payment_intent.succeeded`` webhook, which is never expanded -- the
  only way to learn a bank debit's fee, since it settles days later);
* webhooks: the ``Stripe-Signature`` header is verified against ``now``
  with a tolerance window, then ``payment_intent.succeeded`` /
  ``payment_failed`` / ``processing``, ``charge.refunded``,
  ``charge.dispute.created`` and ``setup_intent.succeeded`` are mapped;
  anything malformed is a typed error;
* Stripe Connect: with ``stripe_account`` every request carries the
  ``Stripe-Account`` header (the client's ``stripe_account`` option), an
  :class:`~milestonebill.gateways.connect.ApplicationFee` sets each
  PaymentIntent's ``application_fee_amount``, and a webhook of any other
  account (or of none) is refused.

Duplicate and out-of-order deliveries are harmless because every mapped
event carries Stripe's event id (drop ids already seen) and states the
object's *current* state (a status, a cumulative refunded amount), which
a consumer folds with :func:`~milestonebill.gateways.base.settle_status`
(a maximum, so order does not matter).

Configuration comes from arguments or the environment:
``MILESTONEBILL_STRIPE_API_KEY`` (or ``STRIPE_API_KEY``),
``MILESTONEBILL_STRIPE_BASE_URL``, ``MILESTONEBILL_STRIPE_WEBHOOK_SECRET``
(or ``STRIPE_WEBHOOK_SECRET``).  The secrets never appear in a ``repr``,
a log line, an error message or anywhere in an error's chain.

Amounts: Stripe's "minor unit" is not always ISO 4217's; see
:func:`to_stripe_amount`.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar, cast

import attrs
import stripe

from milestonebill.errors import (
    GatewayError,
    GatewayRateLimitedError,
    GatewayUnavailableError,
    IdempotencyError,
    MilestonebillError,
    ValidationError,
    WebhookPayloadError,
)
from milestonebill.gateways import _signing, _webhook
from milestonebill.gateways._stripe_map import (
    STRIPE_TYPES,
    decline_of,
    fee_of,
    from_stripe_amount,
    get_in,
    latest_charge,
    map_charge_error,
    map_event,
    map_payment_intent,
    map_refund,
    map_setup_intent,
    ref_of,
    text_in,
    to_stripe_amount,
)
from milestonebill.gateways.base import (
    DEFAULT_WEBHOOK_TOLERANCE,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRef,
    CustomerRequest,
    GatewayEvent,
    GatewayEventKind,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RefundResult,
    SetupRequest,
    SetupResult,
    SetupStatus,
)
from milestonebill.gateways.connect import (
    ApplicationFee,
    ConnectWebhookRouter,
    check_stripe_account,
    event_account,
)
from milestonebill.money import Money

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "STRIPE_API_VERSION",
    "SUPPORTED_API_VERSIONS",
    "WEBHOOK_SECRET_ENV",
    "ApplicationFee",
    "ConnectWebhookRouter",
    "StripeGateway",
    "from_stripe_amount",
    "map_charge_error",
    "map_event",
    "map_payment_intent",
    "map_refund",
    "map_setup_intent",
    "to_stripe_amount",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)
_R = TypeVar("_R", ChargeResult, SetupResult, RefundResult)

#: Environment variables read for the API key, first match wins.
API_KEY_ENV: Final = ("MILESTONEBILL_STRIPE_API_KEY", "STRIPE_API_KEY")
#: Environment variable read for the API base URL (a Stripe stand-in, a proxy).
BASE_URL_ENV: Final = ("MILESTONEBILL_STRIPE_BASE_URL",)
#: Environment variables read for the webhook signing secret.
WEBHOOK_SECRET_ENV: Final = ("MILESTONEBILL_STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET")

#: The Stripe API version every request names.  The adapter reads
#: ``latest_charge`` (Stripe added it in 2022-11-15; older versions list
#: ``charges``) and was written and tested against this version, the one the
#: locked ``stripe`` package (16.1) defaults to; pinning it keeps an upgrade
#: of the package from changing the API under the adapter.
STRIPE_API_VERSION: Final = "2026-10-28.endive"
#: The versions ``StripeGateway(stripe_version=...)`` accepts: those the
#: adapter's tests have run against.
SUPPORTED_API_VERSIONS: Final = (STRIPE_API_VERSION,)
_EXPAND_FEE: Final = ["latest_charge.balance_transaction"]
# The refund reasons Stripe accepts; any other reason travels in metadata.
_REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


# ------------------------------------------------------------------- adapter


class _Secret:
    """Holds a secret; its repr and str never show it."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('***')"

    __str__ = __repr__


class _RedactSecrets(logging.Filter):
    """Masks live secrets in the Stripe SDK's own log records.

    The SDK logs response bodies at DEBUG; a body that echoes a key would
    otherwise reach the host's logs.  (Its console echo under ``STRIPE_LOG``
    bypasses logging; do not set that in production.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: weakref.WeakSet[_Secret] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = text
        for secret in list(self.secrets):
            redacted = redacted.replace(secret.reveal(), "***")
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


_REDACTOR: Final = _RedactSecrets()


def _from_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    return dict(obj)


class StripeGateway:
    """A :class:`~milestonebill.gateways.base.PaymentGateway` backed by Stripe.

    ``api_key``, ``base_url`` and ``webhook_secret`` default to the
    environment (see the module docs).  ``max_network_retries`` is passed to
    the Stripe client (on by default: every mutating request carries an
    idempotency key, so its retries are safe).  ``http_client`` lets tests
    capture requests.  Every request names the API version
    :data:`STRIPE_API_VERSION`; ``stripe_version`` may only name one of
    :data:`SUPPORTED_API_VERSIONS` (anything else raises
    :class:`~milestonebill.errors.ValidationError` here, before any request).

    Stripe Connect: ``stripe_account`` (``acct_...``) is the firm's
    connected account; every request then carries it in the
    ``Stripe-Account`` header, so customers, SetupIntents, PaymentIntents,
    refunds and retrieves all happen on that account, and
    :meth:`parse_webhook` refuses an event of any other account or of none.
    ``application_fee`` (only with ``stripe_account``) is the platform's cut,
    sent as ``application_fee_amount`` on each PaymentIntent and reported
    back as :attr:`ChargeResult.application_fee
    <milestonebill.gateways.base.ChargeResult.application_fee>`.  A bad
    value raises :class:`~milestonebill.errors.ValidationError` naming
    ``stripe_account`` or ``application_fee``.

    No error the adapter raises carries a secret: messages are scrubbed,
    and the Stripe exception is chained as ``__cause__`` only when no key
    shows anywhere in its own chain (its text, arguments and attributes);
    otherwise nothing is chained, ``__context__`` included.
    """

    #: How :class:`~milestonebill.payment_methods.PaymentMethodRef` names this gateway.
    name: Final = "stripe"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        webhook_secret: str | None = None,
        max_network_retries: int = 2,
        webhook_tolerance: timedelta = DEFAULT_WEBHOOK_TOLERANCE,
        http_client: stripe.HTTPClient | None = None,
        stripe_version: str | None = None,
        environ: Mapping[str, str] | None = None,
        stripe_account: str | None = None,
        application_fee: ApplicationFee | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        account = None if stripe_account is None else check_stripe_account(stripe_account)
        if application_fee is not None and not isinstance(application_fee, ApplicationFee):
            raise ValidationError("application_fee", "an ApplicationFee", application_fee)
        if application_fee is not None and account is None:
            raise ValidationError("application_fee", "given only with a stripe_account (a "
                                  "platform takes its fee on a connected account's charges)",
                                  application_fee)
        #: The connected account every request names (``None``: the key's own account).
        self.stripe_account: str | None = account
        #: The platform's cut of each charge, or ``None``.
        self.application_fee: ApplicationFee | None = application_fee
        key = api_key or _from_env(API_KEY_ENV, env)
        if not key or not isinstance(key, str):
            # The value is never shown: it may be a key, just of the wrong type.
            raise ValidationError(
                "api_key", "a string given or set in " + " or ".join(API_KEY_ENV),
                None if not key else type(key).__name__)
        if type(max_network_retries) is not int or max_network_retries < 0:
            raise ValidationError("max_network_retries", "an int >= 0", max_network_retries)
        version = STRIPE_API_VERSION if stripe_version is None else stripe_version
        if version not in SUPPORTED_API_VERSIONS:
            raise ValidationError(
                "stripe_version", "an API version this adapter was tested with ("
                + ", ".join(SUPPORTED_API_VERSIONS) + ")", version)
        self.stripe_version: str = version
        self._api_key = _Secret(key)
        secret = webhook_secret or _from_env(WEBHOOK_SECRET_ENV, env)
        self._webhook_secret = _Secret(secret) if secret else None
        _REDACTOR.secrets.add(self._api_key)
        if self._webhook_secret is not None:
            _REDACTOR.secrets.add(self._webhook_secret)
        stripe_logger = logging.getLogger("stripe")
        if _REDACTOR not in stripe_logger.filters:
            stripe_logger.addFilter(_REDACTOR)
        self._tolerance = webhook_tolerance
        self.base_url = base_url or _from_env(BASE_URL_ENV, env)
        self.max_network_retries = max_network_retries
        addresses: dict[str, str] = {"api": self.base_url} if self.base_url else {}
        self._client = stripe.StripeClient(
            key,
            base_addresses=cast(Any, addresses),
            max_network_retries=max_network_retries,
            http_client=http_client,
            stripe_version=version,
            stripe_account=account,
        )

    def __repr__(self) -> str:
        return (
            f"StripeGateway(api_key='***', base_url={self.base_url!r}, "
            f"max_network_retries={self.max_network_retries}, "
            f"stripe_account={self.stripe_account!r})"
        )

    # ------------------------------------------------------------ the port

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        """Create the Stripe customer; the reference goes into metadata."""
        params: dict[str, Any] = {
            "metadata": {**dict(request.metadata), "milestonebill_reference": request.reference}
        }
        if request.name is not None:
            params["name"] = request.name
        if request.email is not None:
            params["email"] = request.email
        got = self._call(lambda: self._client.v1.customers.create(
            cast(Any, params), {"idempotency_key": request.idempotency_key}))
        if isinstance(got, stripe.StripeError):
            raise self._failure(got, "creating a customer", request.idempotency_key)
        customer = got
        return self._read("creating a customer", lambda: CustomerRef(
            CustomerId(_id_of(customer)), request.reference))

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        """Create a SetupIntent for off-session use and confirm it with the token."""
        key = request.idempotency_key
        create, confirm = _setup_params(request)
        si = self._call(lambda: self._client.v1.setup_intents.create(
            cast(Any, create), {"idempotency_key": f"{key}-create"}))
        if not isinstance(si, stripe.StripeError):
            created = si
            si_id = self._read("saving a payment method", lambda: _id_of(created))
            si = self._call(lambda: self._client.v1.setup_intents.confirm(
                si_id, cast(Any, confirm), {"idempotency_key": f"{key}-confirm"}))
        if isinstance(si, stripe.CardError):
            error = get_in(si.json_body, "error") or {}
            chosen, _hard = decline_of(text_in(error, "code"), text_in(error, "decline_code"))
            return SetupResult(SetupStatus.DECLINED, ref_of(get_in(error, "setup_intent")),
                               None, chosen or "card_declined", self._scrub(si.user_message))
        if isinstance(si, stripe.StripeError):
            raise self._failure(si, "saving a payment method", key)
        confirmed = si
        return self._clean(self._read("saving a payment method", lambda: map_setup_intent(
            _plain(confirmed), customer_id=request.customer_id)))

    def detach_payment_method(
        self, payment_method_id: PaymentMethodId, *, idempotency_key: str
    ) -> None:
        """Detach the payment method from its customer."""
        got = self._call(lambda: self._client.v1.payment_methods.detach(
            payment_method_id, None, {"idempotency_key": idempotency_key}))
        if isinstance(got, stripe.StripeError):
            raise self._failure(got, "detaching a payment method", idempotency_key)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge off-session with a confirmed PaymentIntent."""
        key = request.idempotency_key
        params: dict[str, Any] = {
            "amount": to_stripe_amount(request.amount),
            "currency": request.amount.currency.code.lower(),
            "customer": request.customer_id,
            "payment_method": request.payment_method_id,
            "payment_method_types": [STRIPE_TYPES[request.payment_method_kind]],
            "confirm": True,
            "off_session": True,
            "metadata": dict(request.link_metadata()),
            "expand": list(_EXPAND_FEE),
        }
        if request.description is not None:
            params["description"] = request.description
        if self.application_fee is not None:
            cut = self.application_fee.for_amount(request.amount)
            if cut.minor:
                params["application_fee_amount"] = to_stripe_amount(cut,
                                                                     "application_fee_amount")
        pi = self._call(lambda: self._client.v1.payment_intents.create(
            cast(Any, params), {"idempotency_key": key}))
        if isinstance(pi, stripe.CardError):
            body = pi.json_body
            return self._clean(self._read("charging", lambda: map_charge_error(
                get_in(body, "error") or {}, idempotency_key=key, amount=request.amount)))
        if isinstance(pi, stripe.StripeError):
            if isinstance(pi, stripe.RateLimitError) or pi.http_status == 429:
                # Raised, not returned: the Biller waits before asking again.
                raise self._failure(pi, "charging", key)
            if self._transient(pi):
                _log.warning("Stripe unavailable while charging (key %s): %s", key,
                             type(pi).__name__)
                return ChargeResult(ChargeStatus.FAILED_RETRYABLE, request.amount, key,
                                    message=self._scrub(str(pi)) or type(pi).__name__)
            raise self._failure(pi, "charging", key)
        created = pi
        return self._clean(self._read("charging", lambda: map_payment_intent(
            _plain(created), idempotency_key=key, amount=request.amount)))

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all (``amount=None``) or part of a payment."""
        key = request.idempotency_key
        target = "charge" if request.gateway_ref.startswith(("ch_", "py_")) else "payment_intent"
        params: dict[str, Any] = {
            target: request.gateway_ref,
            "metadata": {**dict(request.metadata), "agreement_id": request.agreement_id,
                         "invoice_id": request.invoice_id, "refund_id": request.refund_id},
        }
        if request.amount is not None:
            params["amount"] = to_stripe_amount(request.amount)
        if request.reason in _REFUND_REASONS:
            params["reason"] = request.reason
        elif request.reason is not None:
            params["metadata"]["reason"] = request.reason
        got = self._call(lambda: self._client.v1.refunds.create(
            cast(Any, params), {"idempotency_key": key}))
        if isinstance(got, stripe.StripeError):
            raise self._failure(got, "refunding", key)
        refund = got
        return self._clean(self._read("refunding", lambda: map_refund(
            _plain(refund), idempotency_key=key)))

    def parse_webhook(
        self, payload: bytes, signature_header: str, now: datetime
    ) -> GatewayEvent | None:
        """Verify ``Stripe-Signature`` against ``now`` and map the event.

        A forged, tampered or stale delivery raises
        :class:`~milestonebill.errors.WebhookSignatureError`; a correctly
        signed body that is not a Stripe event of the shape expected raises
        :class:`~milestonebill.errors.WebhookPayloadError` naming the field.
        With a ``stripe_account``, an event whose ``account`` is another
        one, or that has none (an event of the platform's own account),
        raises :class:`~milestonebill.errors.WebhookPayloadError` naming
        ``account``; without one, an event that names an account does.
        Webhook payloads are never expanded, so for a succeeded payment of
        one of our invoices the fee is read from the payment's balance
        transaction with one request (a bank debit's fee is only known once
        it settles); if Stripe cannot be reached that raises
        :class:`~milestonebill.errors.GatewayUnavailableError` -- answer the
        delivery with an error and Stripe sends it again.  Without a webhook
        secret it raises :class:`~milestonebill.errors.GatewayError`.
        """
        if self._webhook_secret is None:
            raise GatewayError(
                "no webhook secret configured (pass webhook_secret or set "
                + " or ".join(WEBHOOK_SECRET_ENV) + ")"
            )
        _signing.verify(self._webhook_secret.reveal(), payload, signature_header, now,
                        self._tolerance)
        body = _webhook.load_object(payload)
        self._check_account(event_account(body))
        event = map_event(body)
        if (event is not None and event.kind is GatewayEventKind.PAYMENT_SUCCEEDED
                and event.fee is None and event.invoice_id is not None
                and event.payment_ref is not None):
            event = attrs.evolve(event, fee=self._settled_fee(event.payment_ref))
        return event

    # --------------------------------------------------------------- private

    def _check_account(self, account: str | None) -> None:
        """Refuse a webhook of an account this gateway does not act for."""
        if account == self.stripe_account:
            return
        expected = ("an event of the platform's own account (no 'account')"
                    if self.stripe_account is None
                    else f"an event of the connected account {self.stripe_account!r}")
        raise WebhookPayloadError("account", expected, account)

    def _settled_fee(self, payment_ref: str) -> Money | None:
        """A settled payment's fee, from its latest charge's balance transaction."""
        got = self._call(lambda: self._client.v1.payment_intents.retrieve(
            payment_ref, {"expand": list(_EXPAND_FEE)}))
        if isinstance(got, stripe.StripeError):
            raise self._failure(got, "reading a payment's fee", payment_ref)
        pi = got
        return self._read("reading a payment's fee", lambda: fee_of(latest_charge(_plain(pi))))

    @staticmethod
    def _call(call: Callable[[], _T]) -> _T | stripe.StripeError:
        """Make one Stripe call.  A Stripe error is returned, not raised, so that
        what the adapter raises for it is raised outside the handler and
        carries no implicit ``__context__`` (which could hold a key)."""
        try:
            return call()
        except stripe.StripeError as exc:
            return exc

    def _read(self, doing: str, read: Callable[[], _T]) -> _T:
        """Read a response; one we cannot read is a GatewayError, never a KeyError."""
        try:
            return read()
        except MilestonebillError as exc:
            if not self._shows_a_secret(exc):
                raise
            failure: MilestonebillError = GatewayError(
                f"unexpected response from Stripe while {doing}: {self._scrub(str(exc))}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            failure = self._chained(GatewayError(
                f"unexpected response from Stripe while {doing}: {self._scrub(repr(exc))}"), exc)
        raise failure

    def _clean(self, result: _R) -> _R:
        """``result`` with a secret Stripe echoed in its message masked."""
        message = self._scrub(result.message)
        return result if message == result.message else attrs.evolve(result, message=message)

    def _secrets(self) -> list[str]:
        found = [self._api_key.reveal()]
        if self._webhook_secret is not None:
            found.append(self._webhook_secret.reveal())
        return found

    def _scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        for s in self._secrets():
            text = text.replace(s, "***")
        return text

    def _shows_a_secret(self, exc: BaseException) -> bool:
        """True when a secret shows anywhere in ``exc``'s chain: text, args, attributes."""
        secrets = self._secrets()
        seen: set[int] = set()
        todo: list[BaseException] = [exc]
        while todo:
            e = todo.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            parts: list[object] = [e, *e.args, *getattr(e, "__dict__", {}).values()]
            for part in parts:
                try:
                    texts = (repr(part), str(part))
                except Exception:  # unprintable: assume the worst
                    return True
                if any(secret in t for secret in secrets for t in texts):
                    return True
            todo += [x for x in (e.__cause__, e.__context__) if x is not None]
        return False

    def _chained(self, mapped: _E, cause: BaseException) -> _E:
        """``mapped`` with ``cause`` as its ``__cause__``, unless that would show a secret."""
        if not self._shows_a_secret(cause):
            mapped.__cause__ = cause
        mapped.__suppress_context__ = True
        return mapped

    @staticmethod
    def _transient(exc: stripe.StripeError) -> bool:
        if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
            return True
        return isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500 or (
            exc.http_status == 409 and not isinstance(exc, stripe.IdempotencyError)
        )

    def _failure(self, exc: stripe.StripeError, doing: str, key: str) -> GatewayError:
        """The milestonebill error for a Stripe error; raise it outside any handler."""
        message = self._scrub(exc.user_message or str(exc)) or type(exc).__name__
        if isinstance(exc, stripe.IdempotencyError):
            mapped: GatewayError = IdempotencyError(
                key, f"was reused with different parameters at Stripe while {doing}: {message}"
            )
        elif isinstance(exc, stripe.RateLimitError) or exc.http_status == 429:
            mapped = GatewayRateLimitedError(f"Stripe rate limited us while {doing}: {message}",
                                             _retry_after(exc))
        elif self._transient(exc):
            mapped = GatewayUnavailableError(f"Stripe unavailable while {doing}: {message}")
        elif isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
            mapped = GatewayError(f"Stripe refused the API key while {doing}: {message}")
        else:
            param = getattr(exc, "param", None)
            where = f" (parameter {self._scrub(str(param))!r})" if param else ""
            mapped = GatewayError(f"Stripe refused the request while {doing}{where}: {message}")
        return self._chained(mapped, exc)


def _retry_after(exc: stripe.StripeError) -> float | None:
    """The seconds a 429 answer's ``Retry-After`` header asks for (``None``: none, or
    not a number of seconds)."""
    headers = exc.headers or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None


def _id_of(obj: Any) -> str:
    """The ``id`` of a Stripe object, which must be a non-empty string."""
    value = obj["id"]
    if not isinstance(value, str) or not value:
        raise TypeError(f"'id' is a {type(value).__name__}, not a string")
    return value


def _setup_params(request: SetupRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SetupIntent's create and confirm parameters."""
    create: dict[str, Any] = {
        "customer": request.customer_id,
        "usage": "off_session",
        "payment_method_types": [STRIPE_TYPES[request.kind]],
    }
    if request.metadata:
        create["metadata"] = dict(request.metadata)
    confirm: dict[str, Any] = {
        "payment_method": request.payment_method_token,
        "expand": ["payment_method"],
    }
    if request.kind is PaymentMethodKind.BANK_DEBIT:
        create["payment_method_options"] = {
            "us_bank_account": {"verification_method": "automatic"}
        }
        mandate = request.mandate
        assert mandate is not None  # SetupRequest refuses a bank account without one
        acceptance: dict[str, Any] = {"accepted_at": int(mandate.accepted_at.timestamp())}
        if mandate.ip_address and mandate.user_agent:
            acceptance["type"] = "online"
            acceptance["online"] = {"ip_address": mandate.ip_address,
                                    "user_agent": mandate.user_agent}
        else:
            acceptance["type"] = "offline"
        confirm["mandate_data"] = {"customer_acceptance": acceptance}
    return create, confirm

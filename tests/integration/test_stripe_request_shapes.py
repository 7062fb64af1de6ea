"""Every request the Stripe adapter sends, checked against Stripe's published
OpenAPI description; Stripe's example objects parsed through the adapter's
mappers.

Requests are captured through the stripe package's own hook: a custom
``stripe.HTTPClient`` passed as ``StripeClient(http_client=...)``.  The data
lives in ``<repo root>/../shared/stripe/``; without it these tests skip.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest
import stripe

from milestonebill.gateways import _signing
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeStatus,
    CustomerId,
    CustomerRequest,
    GatewayEventKind,
    MandateAcceptance,
    PaymentMethodId,
    PaymentMethodKind,
    RefundRequest,
    RefundStatus,
    SetupRequest,
    SetupStatus,
    detach_idempotency_key,
)
from milestonebill.gateways.stripe import (
    STRIPE_API_VERSION,
    ApplicationFee,
    StripeGateway,
    from_stripe_amount,
    map_event,
    map_payment_intent,
    map_refund,
    map_setup_intent,
)
from milestonebill.money import Money

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "stripe"
FIXTURE_FILES = ("fixtures3.json", "fixtures3-2026-08-21.json")

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(
        not (SHARED / "spec3.json").is_file(),
        reason=f"Stripe's OpenAPI description is not at {SHARED} (../shared beside the checkout)",
    ),
]

Json = dict[str, Any]


@cache
def spec() -> Json:
    with (SHARED / "spec3.json").open() as f:
        loaded: Json = json.load(f)
    return loaded


@cache
def fixtures(name: str) -> Json:
    with (SHARED / name).open() as f:
        loaded: Json = json.load(f)["resources"]
    return loaded


# ------------------------------------------------------------- spec checking


def resolve(schema: Json) -> Json:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec()["components"]["schemas"][name]
    return schema


def find_operation(method: str, path: str) -> tuple[str, Json] | None:
    """The templated path and operation a concrete request path matches."""
    templates = sorted(spec()["paths"], key=lambda t: t.count("{"))
    for template in templates:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        operation = spec()["paths"][template].get(method.lower())
        if operation is not None and re.match(pattern, path):
            return template, operation
    return None


def parameter_schema(operation: Json, method: str, name: str) -> Json | None:
    if method == "GET":
        for p in operation.get("parameters", []):
            if p.get("in") == "query" and p.get("name") == name:
                return resolve(p["schema"])
        return None
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    found = resolve(form).get("properties", {}).get(name)
    return None if found is None else resolve(found)


def leaf_schemas(schema: Json, segments: list[str]) -> list[Json]:
    """Every schema a bracketed key path can lead to (``anyOf`` gives several)."""
    schema = resolve(schema)
    if "anyOf" in schema:
        return [leaf for alt in schema["anyOf"] for leaf in leaf_schemas(alt, segments)]
    if not segments:
        return [schema]
    head, rest = segments[0], segments[1:]
    if schema.get("type") == "array":
        return leaf_schemas(schema["items"], rest) if head.isdigit() else []
    props = schema.get("properties", {})
    if head in props:
        return leaf_schemas(props[head], rest)
    extra = schema.get("additionalProperties")
    return leaf_schemas(extra, rest) if isinstance(extra, dict) else []


def accepts(schema: Json, value: str) -> bool:
    if "enum" in schema and not schema.get("x-stripeBypassValidation"):
        return value in [str(e).lower() if isinstance(e, bool) else str(e) for e in schema["enum"]]
    kind = schema.get("type")
    if kind == "integer":
        return re.fullmatch(r"-?\d+", value) is not None
    if kind == "boolean":
        return value in ("true", "false")
    if kind == "number":
        return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    if kind == "string":
        return len(value) <= int(schema.get("maxLength", 1 << 30))
    return False


def problems_with(method: str, path: str, params: list[tuple[str, str]]) -> list[str]:
    found = find_operation(method, path)
    if found is None:
        return [f"{method} {path} is not in Stripe's API description"]
    _template, operation = found
    problems = []
    for key, value in params:
        segments = re.findall(r"[^\[\]]+", key)
        top = parameter_schema(operation, method, segments[0])
        if top is None:
            problems.append(f"{method} {path}: unknown parameter {segments[0]!r}")
            continue
        leaves = leaf_schemas(top, segments[1:])
        if not leaves:
            problems.append(f"{method} {path}: no parameter {key!r}")
        elif not any(accepts(leaf, value) for leaf in leaves):
            types = sorted({str(leaf.get("type", leaf.get("enum"))) for leaf in leaves})
            problems.append(f"{method} {path}: {key}={value!r} does not fit {types}")
    return problems


# ------------------------------------------------------------ capture client


@attrs.frozen
class Captured:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]


Responder = Callable[[str, str, dict[str, str]], tuple[int, Json]]


class CapturingClient(stripe.HTTPClient):
    """Records each request and answers from ``responder``; never touches the network."""

    name = "milestonebill-capture"

    def __init__(self, responder: Responder) -> None:
        super().__init__()
        self.captured: list[Captured] = []
        self._responder = responder

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        raw = parts.query if method.upper() == "GET" else body
        params = tuple(parse_qsl(raw, keep_blank_values=True))
        self.captured.append(Captured(method.upper(), parts.path, params, dict(headers or {})))
        status, answer = self._responder(method.upper(), parts.path, dict(params))
        return json.dumps(answer), status, {"request-id": "req_capture"}

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        return None


def fixture_responder(name: str) -> Responder:
    """Answers each endpoint with Stripe's example object, adjusted to the request."""
    res = fixtures(name)

    def respond(method: str, path: str, params: dict[str, str]) -> tuple[int, Json]:
        if path == "/v1/customers":
            return 200, res["customer"]
        if path == "/v1/setup_intents":
            si = copy.deepcopy(res["setup_intent"])
            si["customer"] = params.get("customer")
            return 200, si
        if re.fullmatch(r"/v1/setup_intents/[^/]+/confirm", path):
            si = copy.deepcopy(res["setup_intent"])
            pm = copy.deepcopy(res["payment_method"])
            si.update(status="succeeded", customer="cus_fixture", payment_method=pm)
            return 200, si
        if path == "/v1/payment_intents" or (
                method == "GET" and re.fullmatch(r"/v1/payment_intents/[^/]+", path)):
            pi = copy.deepcopy(res["payment_intent"])
            charge = copy.deepcopy(res["charge"])
            bt = copy.deepcopy(res["balance_transaction"])
            bt.update(fee=59, currency="usd")
            charge["balance_transaction"] = bt
            fee = params.get("application_fee_amount")
            pi.update(status="succeeded", amount=int(params.get("amount", 1250)),
                      currency=params.get("currency", "usd"), last_payment_error=None,
                      latest_charge=charge,
                      application_fee_amount=None if fee is None else int(fee))
            return 200, pi
        if path == "/v1/refunds":
            refund = copy.deepcopy(res["refund"])
            if "amount" in params:
                refund["amount"] = int(params["amount"])
            return 200, refund
        if re.fullmatch(r"/v1/payment_methods/[^/]+/detach", path):
            return 200, res["payment_method"]
        return 404, {"error": {"type": "invalid_request_error", "message": f"no fixture for {path}"}}

    return respond


WEBHOOK_SECRET = "whsec_shapes"


def gateway_with(client: CapturingClient) -> StripeGateway:
    return StripeGateway("sk_test_shapes", http_client=client, max_network_retries=0, environ={},
                         webhook_secret=WEBHOOK_SECRET)


def settled_webhook(account: str | None = None) -> tuple[bytes, str, datetime]:
    """A signed payment_intent.succeeded as Stripe sends it: not expanded (a
    Connect endpoint's names the connected ``account``)."""
    at = datetime(2026, 3, 31, 12, tzinfo=UTC)
    pi = {"id": "pi_settled", "object": "payment_intent", "amount": 70000, "currency": "usd",
          "status": "succeeded", "latest_charge": "ch_settled",
          "metadata": {"agreement_id": "agr-1", "invoice_id": "INV-0002", "attempt": "2"}}
    event = {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
             "created": int(at.timestamp()), "data": {"object": pi}}
    if account is not None:
        event["account"] = account
    payload = json.dumps(event).encode()
    return payload, _signing.sign(WEBHOOK_SECRET, payload, at), at


def exercise(gw: StripeGateway, account: str | None = None) -> None:
    """Every call the adapter makes, card and bank account."""
    cust = gw.create_customer(CustomerRequest(reference="client-1", name="Ada", email="a@example.com",
                                              metadata={"crm": "42"}))
    gw.save_payment_method(SetupRequest(cust.customer_id, "pm_card_visa", metadata={"x": "y"}))
    gw.save_payment_method(SetupRequest(
        cust.customer_id, "pm_usBankAccount", PaymentMethodKind.BANK_DEBIT,
        MandateAcceptance(datetime(2026, 3, 1, tzinfo=UTC), "203.0.113.9", "Mozilla/5.0")))
    gw.save_payment_method(SetupRequest(
        cust.customer_id, "pm_usBankAccount2", PaymentMethodKind.BANK_DEBIT,
        MandateAcceptance(datetime(2026, 3, 1, tzinfo=UTC))))
    gw.charge(ChargeRequest("agr-1", "INV-0001", 1, Money("1250.00", "USD"), CustomerId("cus_1"),
                            PaymentMethodId("pm_1"), description="Milestone 1",
                            metadata={"firm": "acme"}))
    gw.charge(ChargeRequest("agr-1", "INV-0002", 2, Money("700.00", "USD"), CustomerId("cus_1"),
                            PaymentMethodId("pm_2"),
                            payment_method_kind=PaymentMethodKind.BANK_DEBIT))
    gw.refund(RefundRequest("agr-1", "INV-0001", "CN-1", "pi_1", Money("100.00", "USD"),
                            reason="requested_by_customer"))
    gw.refund(RefundRequest("agr-1", "INV-0001", "CN-2", "pi_1", reason="scope reduced"))
    gw.detach_payment_method(PaymentMethodId("pm_1"), idempotency_key=detach_idempotency_key("pm_1"))
    gw.parse_webhook(*settled_webhook(account))  # a settled bank debit: its fee is fetched


@pytest.fixture(params=FIXTURE_FILES)
def captured(request: pytest.FixtureRequest) -> list[Captured]:
    client = CapturingClient(fixture_responder(request.param))
    exercise(gateway_with(client))
    return client.captured


def test_every_request_names_a_real_path_method_and_parameters(captured: list[Captured]) -> None:
    problems = [p for c in captured for p in problems_with(c.method, c.path, list(c.params))]
    assert problems == []


def test_the_exercise_covers_every_endpoint_the_adapter_uses(captured: list[Captured]) -> None:
    touched = {(c.method, find_operation(c.method, c.path)[0]) for c in captured  # type: ignore[index]
               if find_operation(c.method, c.path)}
    assert touched == {
        ("POST", "/v1/customers"),
        ("POST", "/v1/setup_intents"),
        ("POST", "/v1/setup_intents/{intent}/confirm"),
        ("POST", "/v1/payment_intents"),
        ("POST", "/v1/refunds"),
        ("POST", "/v1/payment_methods/{payment_method}/detach"),
        ("GET", "/v1/payment_intents/{intent}"),
    }


def test_every_request_names_the_pinned_api_version(captured: list[Captured]) -> None:
    assert {c.headers.get("Stripe-Version") for c in captured} == {STRIPE_API_VERSION}


def test_a_settled_payments_fee_is_read_from_its_expanded_balance_transaction(
    captured: list[Captured],
) -> None:
    (fetch,) = [c for c in captured if c.method == "GET"]
    assert (fetch.path, fetch.params) == (
        "/v1/payment_intents/pi_settled", (("expand[0]", "latest_charge.balance_transaction"),))


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_the_fee_of_a_settled_webhook_comes_from_the_example_balance_transaction(
    name: str,
) -> None:
    gw = gateway_with(CapturingClient(fixture_responder(name)))
    event = gw.parse_webhook(*settled_webhook())
    assert event is not None
    assert event.fee == Money("0.59", "USD")


def test_the_fields_the_adapter_expands_exist_in_the_pinned_versions_shapes() -> None:
    # latest_charge.balance_transaction: the pinned version's example objects
    # have both; the 2020-08-27 description (before Stripe added latest_charge
    # in 2022-11-15) has only charge.balance_transaction -- an older version
    # would refuse the expansion, which is why other versions are refused.
    today = fixtures("fixtures3-2026-08-21.json")
    assert ("latest_charge" in today["payment_intent"],
            "balance_transaction" in today["charge"]) == (True, True)
    schemas = spec()["components"]["schemas"]
    assert ("latest_charge" in schemas["payment_intent"]["properties"],
            "balance_transaction" in schemas["charge"]["properties"]) == (False, True)


def test_every_post_carries_an_idempotency_key(captured: list[Captured]) -> None:
    posts = [c for c in captured if c.method == "POST"]
    keys = [c.headers.get("Idempotency-Key") for c in posts]
    assert all(k and k.startswith("mb-") for k in keys), keys
    assert len(set(keys)) == len(keys)


def test_the_charge_is_off_session_confirmed_in_minor_units_with_link_metadata(
    captured: list[Captured],
) -> None:
    charge = next(c for c in captured if c.path == "/v1/payment_intents")
    params = dict(charge.params)
    assert {k: params[k] for k in ("amount", "currency", "confirm", "off_session",
                                   "customer", "payment_method", "payment_method_types[0]",
                                   "metadata[agreement_id]", "metadata[invoice_id]",
                                   "metadata[attempt]", "metadata[firm]")} == {
        "amount": "125000", "currency": "usd", "confirm": "true", "off_session": "true",
        "customer": "cus_1", "payment_method": "pm_1", "payment_method_types[0]": "card",
        "metadata[agreement_id]": "agr-1", "metadata[invoice_id]": "INV-0001",
        "metadata[attempt]": "1", "metadata[firm]": "acme",
    }
    assert charge.headers["Idempotency-Key"] == ChargeRequest(
        "agr-1", "INV-0001", 1, Money("1250.00", "USD"), CustomerId("cus_1"),
        PaymentMethodId("pm_1")).idempotency_key


def test_a_bank_account_setup_sends_a_mandate(captured: list[Captured]) -> None:
    confirms = [dict(c.params) for c in captured if c.path.endswith("/confirm")]
    online = next(p for p in confirms if p.get("payment_method") == "pm_usBankAccount")
    offline = next(p for p in confirms if p.get("payment_method") == "pm_usBankAccount2")
    assert online["mandate_data[customer_acceptance][type]"] == "online"
    assert online["mandate_data[customer_acceptance][online][ip_address]"] == "203.0.113.9"
    assert online["mandate_data[customer_acceptance][accepted_at]"] == str(
        int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()))
    assert offline["mandate_data[customer_acceptance][type]"] == "offline"


def test_a_free_text_refund_reason_travels_in_metadata(captured: list[Captured]) -> None:
    refunds = [dict(c.params) for c in captured if c.path == "/v1/refunds"]
    assert [r.get("reason") for r in refunds] == ["requested_by_customer", None]
    assert refunds[1]["metadata[reason]"] == "scope reduced"
    assert "amount" not in refunds[1]


def test_the_checker_itself_catches_a_wrong_parameter() -> None:
    assert problems_with("POST", "/v1/payment_intents", [("amount", "12.5")]) != []
    assert problems_with("POST", "/v1/payment_intents", [("off_sesion", "true")]) != []
    assert problems_with("POST", "/v1/payment_intents", [("metadata[a][b]", "x")]) != []
    assert problems_with("POST", "/v1/nonsense", []) != []


# ---------------------------------------------------- responses via mappers


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixture_responses_flow_through_the_adapter(name: str) -> None:
    gw = gateway_with(CapturingClient(fixture_responder(name)))
    cust = gw.create_customer(CustomerRequest(reference="client-1"))
    assert cust.customer_id == fixtures(name)["customer"]["id"]
    saved = gw.save_payment_method(SetupRequest(cust.customer_id, "pm_card_visa"))
    assert saved.status is SetupStatus.SUCCEEDED
    assert saved.payment_method is not None
    assert saved.payment_method.payment_method_id == fixtures(name)["payment_method"]["id"]
    assert saved.payment_method.last4 == fixtures(name)["payment_method"]["card"]["last4"]
    result = gw.charge(ChargeRequest("agr-1", "INV-1", 1, Money("10.99", "USD"),
                                     cust.customer_id, PaymentMethodId("pm_1")))
    assert (result.status, result.fee) == (ChargeStatus.SUCCEEDED, Money("0.59", "USD"))
    assert result.gateway_ref == fixtures(name)["payment_intent"]["id"]
    refund = gw.refund(RefundRequest("agr-1", "INV-1", "CN-1", "pi_1", Money("1.00", "USD")))
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, Money("1.00", "USD"))


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixture_objects_parse_through_the_mappers(name: str) -> None:
    res = fixtures(name)
    pi = map_payment_intent(res["payment_intent"], idempotency_key="k")
    assert pi.amount == from_stripe_amount(res["payment_intent"]["amount"],
                                           res["payment_intent"]["currency"])
    assert pi.status is ChargeStatus.DECLINED  # the example waits for a payment method
    si = map_setup_intent(res["setup_intent"])
    assert si.setup_ref == res["setup_intent"]["id"]
    refund = map_refund(res["refund"], idempotency_key="k")
    assert refund.refund_ref == res["refund"]["id"]
    assert refund.status is RefundStatus.SUCCEEDED


@pytest.mark.parametrize("name", FIXTURE_FILES)
@pytest.mark.parametrize(
    ("event_type", "resource", "kind"),
    [
        ("payment_intent.succeeded", "payment_intent", GatewayEventKind.PAYMENT_SUCCEEDED),
        ("payment_intent.processing", "payment_intent", GatewayEventKind.PAYMENT_PROCESSING),
        ("payment_intent.payment_failed", "payment_intent", GatewayEventKind.PAYMENT_FAILED),
        ("charge.refunded", "charge", GatewayEventKind.PAYMENT_REFUNDED),
        ("charge.dispute.created", "dispute", GatewayEventKind.DISPUTE_OPENED),
        ("setup_intent.succeeded", "setup_intent", GatewayEventKind.PAYMENT_METHOD_SAVED),
    ],
)
def test_fixture_objects_in_events_map_to_milestonebill_events(
    name: str, event_type: str, resource: str, kind: GatewayEventKind
) -> None:
    res = fixtures(name)
    event = copy.deepcopy(res["event"])
    event.update(type=event_type, data={"object": res[resource]})
    mapped = map_event(event)
    assert mapped is not None
    assert (mapped.kind, mapped.event_id, mapped.object_ref) == (
        kind, res["event"]["id"], res[resource]["id"])


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_the_example_event_as_published_maps_or_is_ignored(name: str) -> None:
    event = fixtures(name)["event"]
    assert event["type"] in ("payment_intent.created", "plan.created")
    assert map_event(event) is None


# ------------------------------------------------------------- Stripe Connect

CONNECTED = "acct_1ShapesConnected"
PLATFORM_CUT = ApplicationFee(basis_points=290, fixed_minor=30)


@pytest.fixture(params=FIXTURE_FILES)
def connected(request: pytest.FixtureRequest) -> list[Captured]:
    """Every call of a firm's gateway on its connected account, with a platform fee."""
    client = CapturingClient(fixture_responder(request.param))
    exercise(StripeGateway("sk_test_shapes", http_client=client, max_network_retries=0,
                           environ={}, webhook_secret=WEBHOOK_SECRET, stripe_account=CONNECTED,
                           application_fee=PLATFORM_CUT), CONNECTED)
    return client.captured


def test_every_connected_request_fits_stripes_description(connected: list[Captured]) -> None:
    problems = [p for c in connected for p in problems_with(c.method, c.path, list(c.params))]
    assert problems == []


def test_every_connected_request_names_the_account_and_only_it(
    connected: list[Captured],
) -> None:
    # Customers, SetupIntents, PaymentIntents, refunds, the detach and the
    # fee's retrieve: every endpoint the adapter uses, each time.
    touched = {(c.method, found[0]) for c in connected
               if (found := find_operation(c.method, c.path)) is not None}
    assert len(touched) == 7
    assert [c.headers.get("Stripe-Account") for c in connected] == [CONNECTED] * len(connected)


def test_the_header_is_the_one_stripe_documents_for_connected_accounts() -> None:
    # The description has no header parameters; it names the header in the
    # text of the parameters that need it (application fees among them).
    fee = parameter_schema(spec()["paths"]["/v1/payment_intents"]["post"], "POST",
                           "application_fee_amount")
    charge_fee = parameter_schema(spec()["paths"]["/v1/charges"]["post"], "POST",
                                  "application_fee_amount")
    assert fee is not None
    assert charge_fee is not None
    assert fee["type"] == "integer"
    assert "`Stripe-Account` header" in charge_fee["description"]


def test_each_charge_sends_the_platforms_fee_as_a_whole_number_within_the_amount(
    connected: list[Captured],
) -> None:
    creates = [dict(c.params) for c in connected if c.path == "/v1/payment_intents"]
    sent = [(int(p["amount"]), int(p["application_fee_amount"])) for p in creates]
    assert sent == [(125000, 3655), (70000, 2060)]
    assert all(0 <= fee <= amount for amount, fee in sent)
    assert [Money.from_minor(fee, "USD") for _amount, fee in sent] == [
        PLATFORM_CUT.for_amount(Money("1250.00", "USD")),
        PLATFORM_CUT.for_amount(Money("700.00", "USD"))]


def test_the_fields_a_connect_webhook_and_payment_are_read_from_exist() -> None:
    schemas = spec()["components"]["schemas"]
    account = schemas["event"]["properties"]["account"]
    fee = schemas["payment_intent"]["properties"]["application_fee_amount"]
    assert (account["type"], fee["type"], fee.get("nullable")) == ("string", "integer", True)


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_a_connected_charge_reports_the_fee_stripe_answered(name: str) -> None:
    gw = StripeGateway("sk_test_shapes", http_client=CapturingClient(fixture_responder(name)),
                       max_network_retries=0, environ={}, stripe_account=CONNECTED,
                       application_fee=PLATFORM_CUT)
    result = gw.charge(ChargeRequest("agr-1", "INV-1", 1, Money("1000.00", "USD"),
                                     CustomerId("cus_1"), PaymentMethodId("pm_1")))
    assert (result.status, result.application_fee) == (ChargeStatus.SUCCEEDED,
                                                       Money("29.30", "USD"))

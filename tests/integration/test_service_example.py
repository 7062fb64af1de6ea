"""The example billing service (examples/service), in process with Starlette's TestClient.

Every endpoint, every error status (400, 404, 409, 422, 503 and a 500 that
leaks nothing), a retried onboarding, webhook signatures, a duplicate
practice-management delivery and a dry run that writes nothing.  The
service runs on a real SQLite file (and the in-memory store where noted);
``test_service_process.py`` runs it for real under uvicorn.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from examples.service import Service, create_app, service_from_env
from examples.service.app import GATEWAY_SIGNATURE_HEADER
from milestonebill.clock import FixedClock
from milestonebill.collection import DEFAULT_RETRY_POLICY
from milestonebill.engine import Biller, FirmId, RetryPolicy
from milestonebill.errors import GatewayUnavailableError, ValidationError
from milestonebill.gateways.base import CustomerRef, CustomerRequest
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import AgreementId, MilestoneId
from milestonebill.integrations.practice import (
    SIGNATURE_HEADER,
    WorkItemLink,
    WorkItemLinks,
    sign_work_item,
)
from milestonebill.ledger import Account
from milestonebill.stores.base import BillingStore
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
PM_SECRET = "pm-shared-secret"
PROBLEM = "application/problem+json"


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def offer(pid: str = "prop-acme", collection: str = "auto_charge") -> dict[str, Any]:
    """A website: a deposit on signing, design on completion, launch on completion."""
    return {"id": pid, "client": "Acme Ltd", "currency": "USD", "valid_until": "2026-03-31",
            "collection": collection,
            "options": [{"id": "site", "name": "Website", "schedule": {
                "currency": "USD", "milestones": [
                    {"id": "deposit", "name": "Deposit", "amount": usd("2000.00"),
                     "trigger": "on_signing"},
                    {"id": "design", "name": "Design", "amount": usd("3000.00")},
                    {"id": "launch", "name": "Launch", "amount": usd("5000.00")}]},
                "obligations": [{"id": "work", "name": "The website", "progress": "hours",
                                 "items": ["deposit", "design", "launch"],
                                 "estimate": "200"}]}]}


CARD = {"option": "site", "signer": "Ada Lovelace", "customer_reference": "acme",
        "payment_method": {"token": "tok_visa_4242"}, "signed_at": "2026-03-02T09:30:00Z"}


class Unreachable(InMemoryGateway):
    """A gateway whose customer API cannot be reached."""

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        raise GatewayUnavailableError("connection refused")


def service(store: BillingStore, clock: FixedClock, gateway: InMemoryGateway | None = None,
            retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY) -> Service:
    gateway = gateway or InMemoryGateway(clock=clock)
    links = WorkItemLinks({"TASK-9": WorkItemLink(AgreementId("prop-acme"),
                                                  MilestoneId("launch"))})
    biller = Biller(store, gateway, clock=clock, firm_id=FirmId("studio"),
                    retry_policy=retry_policy)
    return Service(biller, store, gateway, clock, PM_SECRET, links)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(params=["sqlite", "memory"])
def svc(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
        ) -> Iterator[Service]:
    store: BillingStore = (SQLiteStore(tmp_path / "billing.db", clock=clock)
                           if request.param == "sqlite" else InMemoryStore(clock=clock))
    s = service(store, clock)
    yield s
    s.close()


@pytest.fixture
def client(svc: Service) -> TestClient:
    return TestClient(create_app(svc), raise_server_exceptions=False)


def signed(client: TestClient, pid: str = "prop-acme", collection: str = "auto_charge"
           ) -> dict[str, Any]:
    """The proposal stored and onboarded (with a card when it charges automatically)."""
    assert client.post("/proposals", json=offer(pid, collection)).status_code == 201
    body = CARD if collection == "auto_charge" else {"option": "site", "signer": "Ada"}
    r = client.post(f"/proposals/{pid}/onboard", json=body)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def problem(r: Any, status: int) -> dict[str, Any]:
    assert (r.status_code, r.headers["content-type"]) == (status, PROBLEM), r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


# ---------------------------------------------------------------- proposals


def test_a_proposal_goes_through_its_life_over_http(client: TestClient) -> None:
    r = client.post("/proposals", json=offer())
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (201, "draft", 1)
    assert client.post("/proposals/prop-acme/send",
                       json={"recipient": "ada@acme.test"}).json()["status"] == "sent"
    viewed = client.post("/proposals/prop-acme/view").json()
    assert (viewed["status"], viewed["sent_at"]) == ("viewed", "2026-03-02T09:00:00+00:00")
    got = client.get("/proposals/prop-acme").json()
    assert got == viewed
    assert got["proposal"]["options"][0]["schedule"]["milestones"][0]["amount"] == usd(
        "2000.00")


@pytest.mark.parametrize("step", ["decline", "withdraw"])
def test_a_declined_or_withdrawn_proposal_cannot_be_signed(client: TestClient,
                                                           step: str) -> None:
    client.post("/proposals", json=offer())
    r = client.post(f"/proposals/prop-acme/{step}", json={"reason": "re-scoped"})
    assert (r.json()["status"], r.json()["reason"]) == (f"{step}d" if step == "decline"
                                                        else "withdrawn", "re-scoped")
    body = problem(client.post("/proposals/prop-acme/onboard", json=CARD), 409)
    assert body["error"] == "InvalidTransitionError"


def test_an_unknown_proposal_step_is_not_found(client: TestClient) -> None:
    client.post("/proposals", json=offer())
    assert "no proposal step 'shred'" in problem(
        client.post("/proposals/prop-acme/shred"), 404)["detail"]


def test_a_proposal_body_is_validated_by_its_schema_with_json_paths(client: TestClient) -> None:
    bad = offer()
    bad["options"][0]["schedule"]["milestones"][1]["amount"] = {"amount": 3000.0,
                                                                "currency": "USD"}
    bad["discount"] = "5%"
    body = problem(client.post("/proposals", json=bad), 422)
    assert [p["field"] for p in body["problems"]] == [
        "discount", "options[0].schedule.milestones[1].amount.amount"]


def test_another_proposal_under_a_used_id_is_a_conflict(client: TestClient) -> None:
    client.post("/proposals", json=offer())
    again = offer()
    again["client"] = "Someone Else"
    assert problem(client.post("/proposals", json=again), 409)["error"] == "DuplicateIdError"


# ---------------------------------------------------------------- onboarding


def test_onboarding_signs_and_a_retry_returns_the_same_agreement(
        client: TestClient, svc: Service) -> None:
    first = signed(client)
    assert (first["id"], first["state"], first["payment_method"]["kind"]) == (
        "prop-acme", "active", "card")
    retried = client.post("/proposals/prop-acme/onboard", json=CARD)
    assert (retried.status_code, retried.json()) == (200, first)
    assert len(svc.gateway.customers) == 1  # type: ignore[attr-defined]
    assert client.get("/proposals/prop-acme").json()["agreement_id"] == "prop-acme"


def test_a_bank_debit_is_onboarded_with_its_mandate_facts(client: TestClient) -> None:
    client.post("/proposals", json=offer())
    body = {**CARD, "payment_method": {"token": "tok_bank", "kind": "bank_debit", "mandate": {
        "accepted_at": "2026-03-02T09:25:00Z", "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0"}}}
    r = client.post("/proposals/prop-acme/onboard", json=body)
    assert r.json()["payment_method"]["kind"] == "bank_debit"


def test_a_bank_debit_without_a_mandate_is_refused_and_nothing_is_stored(
        client: TestClient, svc: Service) -> None:
    client.post("/proposals", json=offer())
    body = {**CARD, "payment_method": {"token": "tok_bank", "kind": "bank_debit"}}
    assert problem(client.post("/proposals/prop-acme/onboard", json=body),
                   422)["field"] == "mandate_accepted_at"
    assert client.get("/proposals/prop-acme").json()["status"] == "draft"
    assert svc.gateway.calls == 0  # type: ignore[attr-defined]


def test_a_card_number_sent_as_a_token_is_refused_and_never_echoed(client: TestClient) -> None:
    client.post("/proposals", json=offer())
    body = {**CARD, "payment_method": {"token": "4242 4242 4242 4242"}}
    r = client.post("/proposals/prop-acme/onboard", json=body)
    assert problem(r, 422)["field"] == "payment_method.token"
    assert "4242" not in r.text


def test_an_unreachable_gateway_is_503_and_signs_nothing(tmp_path: Path,
                                                         clock: FixedClock) -> None:
    s = service(SQLiteStore(tmp_path / "b.db", clock=clock), clock, Unreachable(clock=clock))
    client = TestClient(create_app(s), raise_server_exceptions=False)
    client.post("/proposals", json=offer())
    assert problem(client.post("/proposals/prop-acme/onboard", json=CARD),
                   503)["error"] == "GatewayUnavailableError"
    assert client.get("/proposals/prop-acme").json()["status"] == "draft"
    s.close()


# ---------------------------------------------------------------- agreements


def test_the_deposit_is_billed_by_the_run_and_shown_on_the_agreement(client: TestClient) -> None:
    signed(client)
    run = client.post("/run", json={"as_of": "2026-03-02"}).json()
    assert [(i["number"], i["total"]) for i in run["invoices"]] == [
        ("INV-000001", usd("2000.00"))]
    assert [c["status"] for c in run["charges"]] == ["succeeded"]
    a = client.get("/agreements/prop-acme").json()
    assert [(i["number"], i["balance"]) for i in a["invoices"]] == [
        ("INV-000001", usd("0.00"))]


def test_completing_a_milestone_bills_it_at_once_and_a_retry_changes_nothing(
        client: TestClient, svc: Service) -> None:
    signed(client)
    body = {"by": "Ada", "evidence": "design sign-off", "event_id": "req-77"}
    r = client.post("/agreements/prop-acme/milestones/design/complete", json=body)
    billed = r.json()["billed"]
    # The deposit (due on signing, not run yet) and the design go on one invoice.
    assert [i["total"] for i in billed["invoices"]] == [usd("5000.00")]
    again = client.post("/agreements/prop-acme/milestones/design/complete", json=body).json()
    assert (again["billed"]["invoices"], again["agreement"]) == ([], r.json()["agreement"])
    assert len(svc.gateway.charges) == 1  # type: ignore[attr-defined]
    design = next(m for m in again["agreement"]["milestones"] if m["id"] == "design")
    assert design["completed_on"] == "2026-03-02"


def test_completing_a_completed_milestone_without_an_event_id_is_a_conflict(
        client: TestClient) -> None:
    signed(client)
    client.post("/agreements/prop-acme/milestones/design/complete", json={"by": "Ada"})
    body = problem(client.post("/agreements/prop-acme/milestones/design/complete",
                               json={"by": "Ada"}), 409)
    assert "already completed" in body["detail"]


def test_progress_is_recorded_on_the_agreement(client: TestClient) -> None:
    signed(client)
    r = client.post("/agreements/prop-acme/progress", json={
        "obligation_id": "work", "to_date": "50", "as_of": "2026-03-02", "event_id": "h-1"})
    assert r.status_code == 200, r.text
    rec = client.post("/recognise", json={"as_of": "2026-03-02"}).json()
    revenue = [ln["credit"] for e in rec["entries"] for ln in e["lines"]
               if ln["account"] == "revenue"]
    assert revenue == [usd("2500.00")]  # 50 of 200 hours of a 10,000.00 price


def test_an_amendment_is_priced_to_the_cent_and_nothing_is_stored(
        client: TestClient, svc: Service) -> None:
    signed(client)
    client.post("/agreements/prop-acme/milestones/design/complete", json={"by": "Ada"})
    version = svc.store.version(AgreementId("prop-acme"))
    amendment = {"id": "am-1", "operations": [{"type": "ChangeMilestoneAmount",
                                               "effective": "2026-03-02",
                                               "milestone_id": "design",
                                               "amount": usd("3333.33")}]}
    r = client.post("/agreements/prop-acme/amendments/preview", json={"amendment": amendment})
    quote = r.json()
    assert ([c["amount"] for c in quote["charges"]], quote["contract_value_after"]) == (
        [usd("333.33")], usd("10333.33"))
    assert svc.store.version(AgreementId("prop-acme")) == version


def test_an_amendment_needing_approval_is_billed_once_approved(client: TestClient) -> None:
    doc = offer()
    doc["approval"] = {"require_client_approval": True}
    client.post("/proposals", json=doc)
    client.post("/proposals/prop-acme/onboard", json=CARD)
    client.post("/agreements/prop-acme/milestones/design/complete", json={"by": "Ada"})
    amendment = {"id": "am-1", "operations": [{"type": "ChangeMilestoneAmount",
                                               "effective": "2026-03-02",
                                               "milestone_id": "design",
                                               "amount": usd("3500.00")}]}
    proposed = client.post("/agreements/prop-acme/amendments",
                           json={"amendment": amendment, "by": "Bo"}).json()
    assert (proposed["agreement"]["pending_amendments"], proposed["billed"]["invoices"]) == (
        ["am-1"], [])
    again = client.post("/agreements/prop-acme/amendments",
                        json={"amendment": amendment, "by": "Bo"})
    assert again.json()["agreement"] == proposed["agreement"]
    approved = client.post("/agreements/prop-acme/amendments/am-1/approve",
                           json={"by": "Ada"}).json()
    assert [i["total"] for i in approved["billed"]["invoices"]] == [usd("500.00")]
    assert problem(client.post("/agreements/prop-acme/amendments/am-9/approve",
                               json={"by": "Ada"}), 404)["error"] == "NotFoundError"


def test_an_invoice_is_found_by_its_id_with_its_balance(client: TestClient) -> None:
    signed(client, collection="send_invoice")
    client.post("/run", json={"as_of": "2026-03-02"})
    invoice = client.get("/agreements/prop-acme").json()["invoices"][0]
    got = client.get(f"/invoices/{invoice['id']}").json()
    assert (got["agreement_id"], got["balance"], got["invoice"]["number"]) == (
        "prop-acme", usd("2000.00"), "INV-000001")
    assert problem(client.get("/invoices/inv-nope"), 404)["error"] == "NotFoundError"


# ---------------------------------------------------------------- the firm


def test_a_dry_run_writes_nothing_and_the_run_then_bills_the_same(
        client: TestClient, svc: Service) -> None:
    signed(client)
    stored = svc.store.version(AgreementId("prop-acme"))
    dry = client.post("/run", json={"as_of": "2026-03-02", "dry_run": True}).json()
    assert ([i["number"] for i in dry["invoices"]], [c["amount"] for c in dry["charges"]]) == (
        [None], [usd("2000.00")])
    assert svc.store.version(AgreementId("prop-acme")) == stored
    assert (svc.store.entries(), svc.gateway.charges) == ([], ())  # type: ignore[attr-defined]
    run = client.post("/run", json={"as_of": "2026-03-02"}).json()
    assert [i["total"] for i in run["invoices"]] == [i["total"] for i in dry["invoices"]]


def test_reconcile_finishes_a_charge_the_gateway_left_unanswered(clock: FixedClock) -> None:
    gateway = InMemoryGateway(clock=clock)
    s = service(InMemoryStore(clock=clock), clock, gateway, RetryPolicy(same_key_retries=0))
    client = TestClient(create_app(s))
    signed(client)
    gateway.script_next(Scripted.time_out_after_charge())
    assert [c["status"] for c in client.post("/run", json={"as_of": "2026-03-02"}).json()[
        "charges"]] == ["failed_retryable"]
    clock.advance(timedelta(hours=1))
    r = client.post("/reconcile").json()
    assert [c["status"] for c in r["reconciled"]] == ["succeeded"]
    assert client.post("/reconcile").json() == {"reconciled": []}
    assert len(gateway.charges) == 1


def test_reports_are_listed_and_run_with_query_parameters(client: TestClient) -> None:
    signed(client, collection="send_invoice")
    client.post("/run", json={"as_of": "2026-03-02"})
    names = [r["name"] for r in client.get("/reports").json()["reports"]]
    assert {"aging", "receivables", "cash-forecast", "statement"} <= set(names)
    table = client.get("/reports/receivables", params={"as_of": "2026-03-20"}).json()
    assert [(r["invoice_number"], r["balance"], r["days_past_due"]) for r in table["rows"]] == [
        ("INV-000001", usd("2000.00"), 18)]
    statement = client.get("/reports/statement", params={
        "client": "Acme Ltd", "start": "2026-03-01", "end": "2026-04-01"}).json()
    assert statement["rows"][-1]["balance"] == usd("2000.00")


def test_report_parameters_are_validated_by_name(client: TestClient) -> None:
    body = problem(client.get("/reports/statement", params={"start": "2026-13-01"}), 422)
    assert [p["field"] for p in body["problems"]] == ["start", "client", "end"]
    assert problem(client.get("/reports/churn"), 404)["error"] == "NotFoundError"


def test_schemas_are_served_for_clients(client: TestClient) -> None:
    assert client.get("/schemas/onboarding").json()["title"] == "milestonebill onboarding"
    assert problem(client.get("/schemas/invoice"), 422)["field"] == "name"


# ---------------------------------------------------------------- webhooks


def test_a_gateway_webhook_settles_a_bank_debit(client: TestClient, svc: Service) -> None:
    client.post("/proposals", json=offer())
    gateway: InMemoryGateway = svc.gateway  # type: ignore[assignment]
    gateway.script_payment_method("pm_mem_0001", Scripted.stay_processing())
    client.post("/proposals/prop-acme/onboard", json={**CARD, "payment_method": {
        "token": "tok_bank", "kind": "bank_debit",
        "mandate": {"accepted_at": "2026-03-02T09:25:00Z"}}})
    run = client.post("/run", json={"as_of": "2026-03-02"}).json()
    assert [c["status"] for c in run["charges"]] == ["processing"]
    since = len(gateway.events)
    gateway.settle(run["charges"][0]["gateway_ref"], Scripted.succeed())
    (delivery,) = gateway.deliveries(since)
    headers = {GATEWAY_SIGNATURE_HEADER: delivery.signature_header}
    r = client.post("/webhooks/gateway", content=delivery.payload, headers=headers)
    assert len(r.json()["recorded"]) == 1
    again = client.post("/webhooks/gateway", content=delivery.payload, headers=headers)
    assert again.json()["recorded"] == []
    assert client.get("/agreements/prop-acme").json()["owed"] == usd("0.00")


def test_a_gateway_webhook_with_a_bad_signature_is_400(client: TestClient, svc: Service) -> None:
    signed(client)
    client.post("/run", json={"as_of": "2026-03-02"})
    delivery = svc.gateway.deliveries()[-1]  # type: ignore[attr-defined]
    r = client.post("/webhooks/gateway", content=delivery.payload + b" ",
                    headers={GATEWAY_SIGNATURE_HEADER: delivery.signature_header})
    assert problem(r, 400)["error"] == "WebhookSignatureError"
    assert problem(client.post("/webhooks/gateway", content=delivery.payload),
                   400)["error"] == "WebhookSignatureError"


def work_item(**extra: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"delivery_id": "dlv-1", "work_item_id": "TASK-9",
                       "completed_by": "Grace", "completed_at": "2026-03-02T08:00:00Z",
                       **extra}).encode()
    return body, {SIGNATURE_HEADER: sign_work_item(body, secret=PM_SECRET, at=T0)}


def test_a_practice_management_delivery_completes_and_bills_its_milestone_once(
        client: TestClient, svc: Service) -> None:
    signed(client)
    body, headers = work_item()
    first = client.post("/webhooks/practice", content=body, headers=headers).json()
    assert (first["outcome"], [i["total"] for i in first["billed"]["invoices"]]) == (
        "recorded", [usd("7000.00")])  # the deposit and the launch
    version = svc.store.version(AgreementId("prop-acme"))
    again = client.post("/webhooks/practice", content=body, headers=headers).json()
    assert (again["outcome"], again["billed"]["invoices"]) == ("duplicate", [])
    assert svc.store.version(AgreementId("prop-acme")) == version
    other, headers = work_item(delivery_id="dlv-2")
    later = client.post("/webhooks/practice", content=other, headers=headers).json()
    assert later["outcome"] == "already_completed"


def test_a_practice_delivery_may_name_its_milestone_itself(client: TestClient) -> None:
    signed(client)
    body, headers = work_item(work_item_id="T-new", agreement_id="prop-acme",
                              milestone_id="design")
    r = client.post("/webhooks/practice", content=body, headers=headers).json()
    assert (r["outcome"], r["milestone_id"]) == ("recorded", "design")
    body, headers = work_item(work_item_id="T-unknown", delivery_id="dlv-3")
    assert "T-unknown" in problem(client.post("/webhooks/practice", content=body,
                                              headers=headers), 404)["detail"]


def test_a_practice_delivery_with_a_bad_signature_is_400(client: TestClient) -> None:
    signed(client)
    body, headers = work_item()
    tampered = body.replace(b"Grace", b"Mallo")
    assert problem(client.post("/webhooks/practice", content=tampered, headers=headers),
                   400)["error"] == "WebhookSignatureError"
    old = {SIGNATURE_HEADER: sign_work_item(body, secret=PM_SECRET, at=T0 - timedelta(hours=1))}
    assert "tolerance" in problem(client.post("/webhooks/practice", content=body,
                                              headers=old), 400)["detail"]


def test_the_practice_webhook_is_not_served_without_a_secret(tmp_path: Path,
                                                             clock: FixedClock) -> None:
    s = service(InMemoryStore(clock=clock), clock)
    s.pm_secret = None
    body, headers = work_item()
    r = TestClient(create_app(s)).post("/webhooks/practice", content=body, headers=headers)
    assert problem(r, 404)["error"] == "NotFoundError"


# ---------------------------------------------------------------- errors


def test_an_unknown_endpoint_or_agreement_is_404(client: TestClient) -> None:
    assert problem(client.get("/nowhere"), 404)["detail"] == "no endpoint GET /nowhere"
    assert problem(client.delete("/run"), 404)["instance"] == "/run"
    assert "agr-9" in problem(client.get("/agreements/agr-9"), 404)["detail"]


def test_malformed_json_is_422_naming_the_request(client: TestClient) -> None:
    body = problem(client.post("/run", content=b"{as_of: 2026}"), 422)
    assert (body["field"], body["expected"]) == ("billing_run", "JSON text")


def test_a_store_that_fails_is_503(tmp_path: Path, clock: FixedClock) -> None:
    s = service(SQLiteStore(tmp_path / "b.db", clock=clock), clock)
    client = TestClient(create_app(s), raise_server_exceptions=False)
    s.close()
    assert problem(client.get("/agreements/agr-1"), 503)["error"] == "StoreError"


def test_an_unexpected_error_is_500_and_only_the_log_has_its_traceback(
        client: TestClient, svc: Service, caplog: pytest.LogCaptureFixture) -> None:
    def broken(agreement_id: str) -> None:
        raise RuntimeError("db password=hunter2 leaked")

    svc.biller.load = broken  # type: ignore[assignment,method-assign]
    with caplog.at_level(logging.ERROR, logger="examples.service"):
        r = client.get("/agreements/agr-1")
    body = problem(r, 500)
    assert (body["detail"], body["error"]) == ("internal error", "InternalError")
    assert "hunter2" not in r.text
    assert "Traceback" not in r.text
    assert any("hunter2" in (rec.exc_text or "") for rec in caplog.records)


# ---------------------------------------------------------------- configuration


def test_the_service_is_configured_from_the_environment(tmp_path: Path) -> None:
    links = tmp_path / "links.json"
    links.write_text(json.dumps({"T-1": {"agreement_id": "a", "milestone_id": "m"}}))
    s = service_from_env({"MILESTONEBILL_DB": str(tmp_path / "b.db"),
                          "MILESTONEBILL_FIRM": "studio", "MILESTONEBILL_PM_SECRET": "x",
                          "MILESTONEBILL_PM_LINKS": str(links)})
    try:
        assert isinstance(s.store, SQLiteStore)
        assert isinstance(s.gateway, InMemoryGateway)
        assert (s.pm_secret, list(s.pm_links.links)) == ("x", ["T-1"])
    finally:
        s.close()


@pytest.mark.parametrize(("environ", "field"), [
    ({"MILESTONEBILL_DB": "b.db"}, "MILESTONEBILL_FIRM"),
    ({"MILESTONEBILL_FIRM": "studio"}, "MILESTONEBILL_DB"),
    ({"MILESTONEBILL_FIRM": "studio", "MILESTONEBILL_DB": "b.db",
      "MILESTONEBILL_DSN": "postgresql://ann:s3cret@db/x"}, "MILESTONEBILL_DSN"),
    ({"MILESTONEBILL_FIRM": "studio", "MILESTONEBILL_DB": "b.db",
      "MILESTONEBILL_GATEWAY": "paypal"}, "MILESTONEBILL_GATEWAY"),
    ({"MILESTONEBILL_FIRM": "studio", "MILESTONEBILL_DB": "b.db",
      "MILESTONEBILL_GATEWAY": "stripe"}, "api_key"),
    ({"MILESTONEBILL_FIRM": "studio", "MILESTONEBILL_DB": "b.db",
      "MILESTONEBILL_PM_LINKS": "/nonexistent/links.json"}, "MILESTONEBILL_PM_LINKS"),
])
def test_a_missing_or_contradictory_setting_is_named(environ: dict[str, str], field: str,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as info:
        service_from_env(environ)
    assert info.value.field == field
    assert "s3cret" not in str(info.value)
    assert not (tmp_path / "b.db").exists()


@pytest.mark.postgres
def test_the_service_runs_on_postgresql(pg_dsn: str, pg_schema: str) -> None:
    clock = FixedClock(T0)
    s = service_from_env({"MILESTONEBILL_DSN": pg_dsn, "MILESTONEBILL_PG_SCHEMA": pg_schema,
                          "MILESTONEBILL_FIRM": "studio"}, clock=clock)
    try:
        client = TestClient(create_app(s))
        signed(client)
        run = client.post("/run", json={"as_of": "2026-03-02"}).json()
        assert [i["number"] for i in run["invoices"]] == ["INV-000001"]
        assert s.store.balance(Account.RECEIVABLE, currency="USD").minor == 0
        assert [r.number for r in s.store.invoices(FirmId("studio"))] == [1]
    finally:
        s.close()

"""The example service's practice-management routes, in process with Starlette's TestClient.

Karbon's and Keeper's webhooks, the link registry and the time import, on a
real SQLite file; the Karbon API client against a mock transport (no
network).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from examples.service import Service, create_app, service_from_env
from examples.service.karbon import KarbonApi
from milestonebill.clock import FixedClock
from milestonebill.errors import GatewayUnavailableError, NotFoundError, ValidationError
from milestonebill.integrations.practice import karbon, keeper
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.practice import AGREEMENT, OTHER_AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0

KEY = "karbon-signing-key-0001"
SECRET = "keeper-relay-secret"
WORK_ITEM = {"WorkItemKey": "4ngPvWJ9Kd8r", "Title": "Design", "PrimaryStatus": "Completed",
             "ClientKey": "3dVWVdTQx2cs"}


class Reader:
    """Stands in for the Karbon API: answers every work item, remembering which."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def __call__(self, key: str) -> bytes:
        self.fetched.append(key)
        return json.dumps(WORK_ITEM).encode()


@pytest.fixture
def reader() -> Reader:
    return Reader()


@pytest.fixture
def svc(tmp_path: Path, reader: Reader) -> Iterator[Service]:
    clock = FixedClock(T0)
    w = practice_world(SQLiteStore(tmp_path / "billing.db", clock=clock), clock=clock)
    s = Service(w.biller, w.store, w.gateway, clock, karbon_signing_key=KEY,
                karbon_reader=reader, keeper_secret=SECRET)
    yield s
    s.close()


@pytest.fixture
def client(svc: Service) -> TestClient:
    return TestClient(create_app(svc))


def link(client: TestClient, **body: Any) -> Any:
    return client.post("/links", json=body)


def karbon_post(client: TestClient, **extra: Any) -> Any:
    body = json.dumps({"ResourcePermaKey": "4ngPvWJ9Kd8r", "ResourceType": "Work",
                       "ActionType": "Updated", "TimeStamp": "2026-03-02T08:58:30Z",
                       **extra}).encode()
    return client.post("/webhooks/karbon", content=body, headers={
        karbon.SIGNATURE_HEADER: "sha256=" + karbon.sign_notification(body, signing_key=KEY)})


def keeper_post(client: TestClient, **fields: Any) -> Any:
    body = json.dumps(fields).encode()
    return client.post("/webhooks/keeper", content=body, headers={
        keeper.SIGNATURE_HEADER: keeper.sign_delivery(body, secret=SECRET, at=T0)})


def test_links_are_added_listed_and_removed(client: TestClient) -> None:
    r = link(client, source="karbon", external_id="4ngPvWJ9Kd8r", agreement_id=AGREEMENT,
             milestone_id="design")
    assert (r.status_code, r.json()["milestone_id"]) == (201, "design")
    link(client, source="bigtime", external_id="Acme audit/2026", agreement_id=AGREEMENT)
    listed = client.get("/links", params={"source": "karbon"}).json()["links"]
    assert [x["external_id"] for x in listed] == ["4ngPvWJ9Kd8r"]
    gone = client.delete("/links/bigtime/Acme audit/2026").json()["removed"]
    assert gone["external_id"] == "Acme audit/2026"
    assert client.delete("/links/bigtime/Acme audit/2026").json() == {"removed": None}


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"source": "karbon", "external_id": "x", "agreement_id": "agr-1",
      "milestone_id": "launch"}, 404, None),
    ({"source": "Karbon", "external_id": "x", "agreement_id": "agr-1"}, 422, "source"),
    ({"source": "karbon", "agreement_id": "agr-1"}, 422, "external_id"),
    ({"source": "karbon", "external_id": "x", "agreement_id": "agr-1", "colour": "red"}, 422,
     "link.colour"),
])
def test_a_bad_link_is_refused_by_name(client: TestClient, body: dict[str, Any], status: int,
                                       field: str | None) -> None:
    r = link(client, **body)
    assert r.status_code == status
    assert r.json().get("field") == field
    assert client.get("/links").json() == {"links": []}


def test_a_karbon_notification_completes_the_linked_milestone_once(
        client: TestClient, reader: Reader) -> None:
    link(client, source="karbon", external_id="4ngPvWJ9Kd8r", agreement_id=AGREEMENT,
         milestone_id="design")
    first = karbon_post(client).json()
    assert [r["outcome"] for r in first["results"]] == ["recorded"]
    assert [e["type"] for e in first["results"][0]["events"]] == ["MilestoneCompleted"]
    assert [i["total"]["amount"] for b in first["billed"] for i in b["invoices"]] == ["4000.00"]
    assert karbon_post(client).json()["results"][0]["outcome"] == "duplicate"
    assert reader.fetched == ["4ngPvWJ9Kd8r", "4ngPvWJ9Kd8r"]


def test_an_unlinked_karbon_work_item_is_answered_200_and_not_fetched(
        client: TestClient, reader: Reader) -> None:
    r = karbon_post(client, ResourcePermaKey="unknown")
    assert (r.status_code, r.json()["note"]) == (200, "work item 'unknown' is not linked")
    assert reader.fetched == []


def test_a_forged_karbon_notification_is_400(client: TestClient) -> None:
    r = client.post("/webhooks/karbon", content=b"{}", headers={"Signature": "00"})
    assert (r.status_code, r.json()["error"]) == (400, "WebhookSignatureError")


def test_keeper_tasks_and_timers_are_recorded(client: TestClient, svc: Service) -> None:
    link(client, source="keeper", external_id="T-88", agreement_id=AGREEMENT,
         milestone_id="build")
    link(client, source="keeper", external_id="C-42", agreement_id=OTHER_AGREEMENT)
    task = keeper_post(client, delivery_id="zap-1", event="task.completed", task_id="T-88",
                       client_id="C-42", completed_at="2026-03-02T08:50:00Z", completed_by="Ada")
    assert task.json()["results"][0]["target"] == "build"
    timer = keeper_post(client, delivery_id="zap-2", event="timer.stopped", timer_id="TM-9",
                        client_id="C-42", user="Ada", date="2026-03-02", minutes=90)
    assert (timer.json()["results"][0]["target"], str(svc.biller.load(OTHER_AGREEMENT)
                                                      .progress("advice"))) == ("advice", "1.5")


def test_a_bad_keeper_field_is_400_naming_it(client: TestClient) -> None:
    r = keeper_post(client, delivery_id="zap-1", event="timer.stopped", timer_id="TM-9",
                    client_id="C-42", date="2026-03-02", minutes=-5)
    assert (r.status_code, r.json()["field"]) == (400, "minutes")


def test_a_time_export_is_imported_and_a_bad_one_is_422(client: TestClient, svc: Service) -> None:
    link(client, source="bigtime", external_id="Acme audit", agreement_id=AGREEMENT)
    csv = b"Date,Person,Hours,Rate,Project\n2026-03-02,Ada,2.5,150,Acme audit\n"
    dry = client.post("/time-entries", content=csv, params={"dry_run": "true"}).json()
    assert (dry["written"], svc.biller.load(AGREEMENT).progress("work")) == (False, Decimal(0))
    done = client.post("/time-entries", content=csv).json()
    assert (done["written"], [r["outcome"] for r in done["results"]]) == (True, ["recorded"])
    bad = client.post("/time-entries", content=csv.replace(b"2.5", b"lots"))
    assert (bad.status_code, bad.json()["problems"][0]["column"]) == (422, "Hours")


def test_the_practice_webhooks_are_not_served_unconfigured(svc: Service) -> None:
    svc.karbon_signing_key = svc.keeper_secret = None
    client = TestClient(create_app(svc))
    assert karbon_post(client).status_code == 404
    assert keeper_post(client, delivery_id="x").status_code == 404


# ---------------------------------------------------------------- configuration


def test_karbon_needs_its_api_credentials_with_its_signing_key(tmp_path: Path) -> None:
    env = {"MILESTONEBILL_DB": str(tmp_path / "b.db"), "MILESTONEBILL_FIRM": "studio",
           "MILESTONEBILL_KARBON_SIGNING_KEY": KEY}
    with pytest.raises(ValidationError) as info:
        service_from_env(env)
    assert info.value.field == "MILESTONEBILL_KARBON_TOKEN"
    s = service_from_env({**env, "MILESTONEBILL_KARBON_TOKEN": "t",
                          "MILESTONEBILL_KARBON_ACCESS_KEY": "a",
                          "MILESTONEBILL_KEEPER_SECRET": SECRET})
    try:
        assert (s.karbon_signing_key, s.keeper_secret, callable(s.karbon_reader)) == (
            KEY, SECRET, True)
    finally:
        s.close()


def test_the_karbon_api_client_asks_for_the_work_item_with_both_credentials() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=WORK_ITEM)

    api = KarbonApi("tok", "acc", httpx.Client(transport=httpx.MockTransport(answer)))
    assert json.loads(api.work_item("4ngPvWJ9Kd8r")) == WORK_ITEM
    (request,) = seen
    assert (str(request.url), request.headers["Authorization"], request.headers["AccessKey"]) == (
        "https://api.karbonhq.com/v3/WorkItems/4ngPvWJ9Kd8r", "Bearer tok", "acc")


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError),
                                               (500, GatewayUnavailableError),
                                               (429, GatewayUnavailableError)])
def test_the_karbon_api_clients_failures_are_typed(status: int, error: type[Exception]) -> None:
    api = KarbonApi("tok", "acc", httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(status))))
    with pytest.raises(error):
        api.work_item("4ngPvWJ9Kd8r")


def test_an_unreachable_karbon_is_a_gateway_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = KarbonApi("tok", "acc", httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(GatewayUnavailableError):
        api.work_item("x")

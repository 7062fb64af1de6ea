"""A practice-management "work item completed" webhook completes its milestone once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from milestonebill.errors import (
    InvalidInputError,
    NotFoundError,
    ValidationError,
    WebhookSignatureError,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, MilestoneId
from milestonebill.integrations.practice import (
    GENERIC_SOURCE,
    WorkItemLink,
    WorkItemLinks,
    WorkItemOutcome,
    completion_event_id,
    parse_work_item,
    record_work_item,
    sign_work_item,
)
from milestonebill.requests import WorkItemCompleted
from milestonebill.testing.scenarios import T0, World, usd

SECRET = "pm-shared-secret"


def body(**extra: Any) -> bytes:
    doc = {"delivery_id": "dlv-1", "work_item_id": "TASK-7", "completed_by": "Ada",
           "completed_at": "2026-03-02T08:00:00+00:00", **extra}
    return json.dumps(doc).encode()


def item(**extra: Any) -> WorkItemCompleted:
    return parse_work_item(body(**extra), sign_work_item(body(**extra), secret=SECRET, at=T0),
                           secret=SECRET, now=T0)


LINKS = WorkItemLinks({"TASK-7": WorkItemLink(AgreementId("agr-1"), MilestoneId("design"))})


@pytest.fixture
def w() -> World[InMemoryGateway]:
    world = World()
    world.open()
    return world


# ------------------------------------------------------------------ the signature


def test_a_signed_delivery_is_read_as_the_work_item_format() -> None:
    got = item(evidence="https://pm.example/TASK-7")
    assert (got.delivery_id, got.work_item_id, got.evidence) == (
        "dlv-1", "TASK-7", "https://pm.example/TASK-7")
    assert got.completed_at == datetime(2026, 3, 2, 8, tzinfo=UTC)


@pytest.mark.parametrize("header", [
    "", "v1=abc", "t=1772438400", "t=abc,v1=00", "t=1772438400,v1=00",
    "t=1772438400,v1=é", "t=١٧٧٢٤٣٨٤٠٠,v1=00", "t=1772438400,v1=\udc80",
])
def test_a_malformed_or_wrong_signature_is_refused(header: str) -> None:
    with pytest.raises(WebhookSignatureError):
        parse_work_item(body(), header, secret=SECRET, now=T0)


def test_a_tampered_body_or_another_secret_is_refused() -> None:
    header = sign_work_item(body(), secret=SECRET, at=T0)
    with pytest.raises(WebhookSignatureError):
        parse_work_item(body(completed_by="Mallory"), header, secret=SECRET, now=T0)
    with pytest.raises(WebhookSignatureError):
        parse_work_item(body(), header, secret="another", now=T0)


def test_a_delivery_signed_outside_the_tolerance_is_refused() -> None:
    header = sign_work_item(body(), secret=SECRET, at=T0 - timedelta(minutes=6))
    with pytest.raises(WebhookSignatureError, match="outside the tolerance"):
        parse_work_item(body(), header, secret=SECRET, now=T0)
    assert parse_work_item(body(), header, secret=SECRET, now=T0,
                           tolerance=timedelta(minutes=10)).delivery_id == "dlv-1"


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    bad = b'{"delivery_id": 7}'
    with pytest.raises(WebhookSignatureError):
        parse_work_item(bad, "t=1,v1=00", secret=SECRET, now=T0)
    with pytest.raises(InvalidInputError) as info:
        parse_work_item(bad, sign_work_item(bad, secret=SECRET, at=T0), secret=SECRET, now=T0)
    assert {p.field for p in info.value.problems} >= {"delivery_id", "work_item_id"}


def test_an_empty_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(ValidationError) as info:
        sign_work_item(body(), secret="", at=T0)
    assert info.value.field == "secret"


# ------------------------------------------------------------------ links


def test_links_are_read_from_json_and_the_delivery_link_wins() -> None:
    links = WorkItemLinks.from_json({"TASK-7": {"agreement_id": "agr-1",
                                                "milestone_id": "design"}})
    assert links == LINKS
    own = item(agreement_id="agr-2", milestone_id="build")
    assert links.link_for(own) == WorkItemLink(AgreementId("agr-2"), MilestoneId("build"))


@pytest.mark.parametrize("data", [[], {"T": "agr-1"}, {"T": {"agreement_id": "agr-1"}},
                                  {"T": {"agreement_id": "", "milestone_id": "m"}}])
def test_malformed_links_are_refused(data: object) -> None:
    with pytest.raises(ValidationError):
        WorkItemLinks.from_json(data)


def test_a_work_item_linked_to_nothing_is_not_found(w: World[InMemoryGateway]) -> None:
    with pytest.raises(NotFoundError, match="TASK-7"):
        record_work_item(w.biller, item())


# ------------------------------------------------------------------ recording


def test_a_delivery_completes_the_milestone_and_bills_it(w: World[InMemoryGateway]) -> None:
    result = record_work_item(w.biller, item(), LINKS)
    assert result.outcome is WorkItemOutcome.RECORDED
    assert result.billed is not None
    assert [i.total for i in result.billed.invoices] == [usd("1000.00")]
    a = w.load()
    done = next(c for c in a.completion_records if c.milestone_id == "design")
    assert (done.completed_by, done.evidence) == ("Ada", "work item TASK-7")
    assert completion_event_id("dlv-1") in {e.event_id for e in a.events}


def test_a_duplicate_delivery_changes_nothing(w: World[InMemoryGateway]) -> None:
    record_work_item(w.biller, item(), LINKS)
    before = w.load()
    w.clock.advance(timedelta(hours=2))
    again = record_work_item(w.biller, item(), LINKS)
    assert again.outcome is WorkItemOutcome.DUPLICATE
    assert w.load() == before
    assert len(w.gateway.charges) == 1


def test_a_milestone_completed_another_way_is_acknowledged_and_left(
        w: World[InMemoryGateway]) -> None:
    w.complete("design")
    before = w.load()
    result = record_work_item(w.biller, item(delivery_id="dlv-2"), LINKS)
    assert (result.outcome, result.billed) == (WorkItemOutcome.ALREADY_COMPLETED, None)
    assert w.load() == before
    assert result.to_json()["outcome"] == "already_completed"


def test_a_work_item_may_be_linked_in_the_store_under_generic(
        w: World[InMemoryGateway]) -> None:
    w.biller.link_work(GENERIC_SOURCE, "TASK-7", AgreementId("agr-1"),
                       milestone_id=MilestoneId("design"))
    result = record_work_item(w.biller, item())
    assert (result.outcome, result.milestone_id) == (WorkItemOutcome.RECORDED, "design")


def test_the_links_file_wins_over_the_store(w: World[InMemoryGateway]) -> None:
    w.biller.link_work(GENERIC_SOURCE, "TASK-7", AgreementId("agr-1"),
                       milestone_id=MilestoneId("build"))
    assert record_work_item(w.biller, item(), LINKS).milestone_id == "design"


def test_a_stored_link_to_no_milestone_does_not_complete_anything(
        w: World[InMemoryGateway]) -> None:
    w.biller.link_work(GENERIC_SOURCE, "TASK-7", AgreementId("agr-1"))
    with pytest.raises(NotFoundError, match="TASK-7"):
        record_work_item(w.biller, item())

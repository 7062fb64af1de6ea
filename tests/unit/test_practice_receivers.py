"""Karbon and Keeper deliveries: signatures, replay windows, their shapes, what they record."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from milestonebill.errors import (
    NotFoundError,
    ValidationError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import MilestoneId
from milestonebill.integrations.practice import Outcome, TimeLogged, WorkCompleted, karbon, keeper
from milestonebill.stores.base import WorkLink
from milestonebill.testing.practice import AGREEMENT, OTHER_AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0, World, usd

KEY = "karbon-signing-key-0001"
SECRET = "keeper-relay-secret"
NOW = T0


def notification(**extra: Any) -> bytes:
    doc = {"ResourcePermaKey": "4ngPvWJ9Kd8r", "ResourceType": "Work", "ActionType": "Updated",
           "TimeStamp": "2026-03-02T08:58:30Z", **extra}
    return json.dumps(doc).encode()


def work_item(status: str = "Completed", **extra: Any) -> dict[str, Any]:
    return {"WorkItemKey": "4ngPvWJ9Kd8r", "Title": "FY2025 accounts: design",
            "PrimaryStatus": status, "SecondaryStatus": "Done", "ClientKey": "3dVWVdTQx2cs",
            "AssigneeEmailAddress": "ada@firm.example", **extra}


TIMESHEET: dict[str, Any] = {
    "TimesheetKey": "2zgGcqrC9JcD", "StartDate": "2026-02-23T00:00:00Z",
    "EndDate": "2026-03-01T00:00:00Z", "UserKey": "3bxT8HkHxHCG", "Status": "Submitted",
    "WorkItemKeys": ["4ngPvWJ9Kd8r"],
    "TimeEntries": [
        {"TimeEntryKey": "te-1", "EntityKey": "4ngPvWJ9Kd8r", "WorkItemKey": "4ngPvWJ9Kd8r",
         "ClientKey": "3dVWVdTQx2cs", "ClientType": "Organization", "RoleName": "Admin",
         "TaskTypeName": "Admin", "Minutes": 384, "HourlyRate": Decimal("86.0000"),
         "Descriptions": [], "BilledStatus": "Unbilled"},
        {"TimeEntryKey": "te-2", "WorkItemKey": "4ngPvWJ9Kd8r", "Minutes": 25,
         "HourlyRate": 90}]}


def keeper_body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


TASK = {"delivery_id": "zap-1", "event": "task.completed", "task_id": "T-88",
        "task_name": "Reconcile March", "project_id": "close-2026-03", "client_id": "C-42",
        "completed_at": "2026-03-02T08:50:00Z", "completed_by": "Ada Byron"}
TIMER = {"delivery_id": "zap-2", "event": "timer.stopped", "timer_id": "TM-9",
         "client_id": "C-42", "project_id": "close-2026-03", "workstream": "Monthly close",
         "user": "Ada Byron", "date": "2026-03-02", "minutes": 95, "billable": False,
         "notes": "bank reconciliations"}


@pytest.fixture
def w() -> World[InMemoryGateway]:
    world = practice_world()
    world.biller.link_work("karbon", "4ngPvWJ9Kd8r", AGREEMENT, milestone_id=MilestoneId("design"))
    world.biller.link_work("keeper", "T-88", AGREEMENT, milestone_id=MilestoneId("build"))
    world.biller.link_work("keeper", "C-42", OTHER_AGREEMENT)
    return world


# ------------------------------------------------------------------ Karbon: the signature


def test_a_signed_notification_is_read() -> None:
    body = notification()
    n = karbon.parse_notification(body, karbon.sign_notification(body, signing_key=KEY),
                                  signing_key=KEY, now=NOW)
    assert (n.resource_key, n.resource_type, n.action_type, n.timestamp, n.is_work_item) == (
        "4ngPvWJ9Kd8r", "Work", "Updated", datetime(2026, 3, 2, 8, 58, 30, tzinfo=UTC), True)
    assert n.delivery_id.startswith("karbon-")


@pytest.mark.parametrize("prefix", ["", "sha256=", "SHA256="])
def test_the_signature_may_carry_its_algorithm(prefix: str) -> None:
    body = notification()
    signature = prefix + karbon.sign_notification(body, signing_key=KEY).upper()
    assert karbon.parse_notification(body, signature, signing_key=KEY, now=NOW).resource_key


@pytest.mark.parametrize("signature", ["", "sha256=", "0" * 64, "zz", "é" * 64, "\udc80"])
def test_a_missing_or_wrong_signature_is_refused(signature: str) -> None:
    with pytest.raises(WebhookSignatureError):
        karbon.parse_notification(notification(), signature, signing_key=KEY, now=NOW)


def test_a_tampered_body_or_another_key_is_refused() -> None:
    signature = karbon.sign_notification(notification(), signing_key=KEY)
    with pytest.raises(WebhookSignatureError):
        karbon.parse_notification(notification(ActionType="Deleted"), signature,
                                  signing_key=KEY, now=NOW)
    with pytest.raises(WebhookSignatureError):
        karbon.parse_notification(notification(), signature, signing_key=KEY + "x", now=NOW)


def test_a_notification_from_outside_the_window_is_a_replay() -> None:
    body = notification()
    signature = karbon.sign_notification(body, signing_key=KEY)
    late = NOW + timedelta(minutes=31)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        karbon.parse_notification(body, signature, signing_key=KEY, now=late)
    assert karbon.parse_notification(body, signature, signing_key=KEY, now=late,
                                     tolerance=timedelta(hours=1)).resource_key


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    with pytest.raises(WebhookSignatureError):
        karbon.parse_notification(b"not json", "00", signing_key=KEY, now=NOW)
    with pytest.raises(WebhookPayloadError):
        karbon.parse_notification(b"not json", karbon.sign_notification(
            b"not json", signing_key=KEY), signing_key=KEY, now=NOW)


@pytest.mark.parametrize(("body", "field"), [
    ({"ResourceType": "Work", "ActionType": "Updated", "TimeStamp": "2026-03-02T09:00:00Z"},
     "ResourcePermaKey"),
    ({"ResourcePermaKey": "k", "ResourceType": "Work", "ActionType": "Updated"}, "Timestamp"),
    ({"ResourcePermaKey": "k", "ResourceType": "Work", "ActionType": "Updated",
      "TimeStamp": "2026-03-02T09:00:00"}, "TimeStamp"),
    ({"ResourcePermaKey": 7, "ResourceType": "Work", "ActionType": "Updated",
      "TimeStamp": "2026-03-02T09:00:00Z"}, "ResourcePermaKey"),
])
def test_a_body_not_of_karbons_shape_names_the_field(body: dict[str, Any], field: str) -> None:
    raw = json.dumps(body).encode()
    with pytest.raises(WebhookPayloadError) as info:
        karbon.parse_notification(raw, karbon.sign_notification(raw, signing_key=KEY),
                                  signing_key=KEY, now=NOW)
    assert info.value.field == field


def test_an_empty_signing_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ValidationError) as info:
        karbon.parse_notification(notification(), "00", signing_key="", now=NOW)
    assert (info.value.field, info.value.got) == ("signing_key", "'[hidden]'")


# ------------------------------------------------------------------ Karbon: the shapes


def signed_notification(**extra: Any) -> karbon.KarbonNotification:
    body = notification(**extra)
    return karbon.parse_notification(body, karbon.sign_notification(body, signing_key=KEY),
                                     signing_key=KEY, now=NOW)


def test_a_completed_work_item_is_a_completion() -> None:
    n = signed_notification()
    got = karbon.work_item_completion(work_item(), n)
    assert got == WorkCompleted("karbon", n.delivery_id, ("4ngPvWJ9Kd8r", "3dVWVdTQx2cs"),
                                n.timestamp, "ada@firm.example", "FY2025 accounts: design")


def test_a_work_item_not_completed_is_no_completion() -> None:
    assert karbon.work_item_completion(work_item("In Progress"), signed_notification()) is None


def test_a_work_item_other_than_the_notifications_is_refused() -> None:
    with pytest.raises(WebhookPayloadError) as info:
        karbon.work_item_completion(work_item(WorkItemKey="other"), signed_notification())
    assert info.value.field == "work_item.WorkItemKey"


def test_timesheet_minutes_become_hours_on_its_end_date() -> None:
    entries = karbon.timesheet_entries(TIMESHEET)
    assert [(e.entry_id, e.keys, e.on, e.person, e.hours, e.rate) for e in entries] == [
        ("te-1", ("4ngPvWJ9Kd8r", "3dVWVdTQx2cs"), date(2026, 3, 1), "3bxT8HkHxHCG",
         Decimal("6.4"), Decimal("86.0000")),
        ("te-2", ("4ngPvWJ9Kd8r",), date(2026, 3, 1), "3bxT8HkHxHCG", Decimal("0.416667"),
         Decimal(90))]


def test_timesheets_of_other_statuses_may_be_left_out() -> None:
    assert karbon.timesheet_entries(TIMESHEET, statuses={"Approved"}) == ()
    assert len(karbon.timesheet_entries(json.dumps(TIMESHEET, default=str).encode(),
                                        statuses={"Submitted"})) == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"Minutes": -5}, "timesheet.TimeEntries[0].Minutes"),
    ({"Minutes": "384"}, "timesheet.TimeEntries[0].Minutes"),
    ({"TimeEntryKey": None}, "timesheet.TimeEntries[0].TimeEntryKey"),
    ({"HourlyRate": -1}, "timesheet.TimeEntries[0].HourlyRate"),
    ({"WorkItemKey": None, "ClientKey": None}, "timesheet.TimeEntries[0].WorkItemKey"),
])
def test_a_bad_time_entry_names_its_path(change: dict[str, Any], field: str) -> None:
    sheet = {**TIMESHEET, "TimeEntries": [{**TIMESHEET["TimeEntries"][0], **change}]}
    with pytest.raises(WebhookPayloadError) as info:
        karbon.timesheet_entries(sheet)
    assert info.value.field == field


# ------------------------------------------------------------------ Karbon: receiving


class Fetches:
    """Stands in for the host's Karbon API call, counting calls."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.item, self.calls = item, []  # type: tuple[dict[str, Any], list[str]]

    def __call__(self, key: str) -> bytes:
        self.calls.append(key)
        return json.dumps(self.item).encode()


def receive(w: World[InMemoryGateway], body: bytes, fetch: Fetches) -> Any:
    return karbon.receive_notification(
        w.biller, body, karbon.sign_notification(body, signing_key=KEY), signing_key=KEY,
        now=NOW, fetch_work_item=fetch)


def test_a_notification_of_a_completed_work_item_completes_and_bills_its_milestone(
        w: World[InMemoryGateway]) -> None:
    fetch = Fetches(work_item())
    receipt = receive(w, notification(), fetch)
    assert (fetch.calls, [r.outcome for r in receipt.results]) == (
        ["4ngPvWJ9Kd8r"], [Outcome.RECORDED])
    assert [i.total for b in receipt.billed for i in b.invoices] == [usd("4000.00")]
    again = receive(w, notification(), fetch)
    assert again.results[0].outcome is Outcome.DUPLICATE
    later = receive(w, notification(TimeStamp="2026-03-02T08:59:30Z"), fetch)
    assert later.results[0].outcome is Outcome.ALREADY_COMPLETED


def test_an_unlinked_work_item_is_noted_without_fetching_it(w: World[InMemoryGateway]) -> None:
    fetch = Fetches(work_item())
    receipt = receive(w, notification(ResourcePermaKey="other"), fetch)
    assert (receipt.note, receipt.results, fetch.calls) == (
        "work item 'other' is not linked", (), [])


@pytest.mark.parametrize(("extra", "note"), [
    ({"ResourceType": "Contact"}, "a Contact updated: nothing to record"),
    ({"ActionType": "Deleted"}, "a Work deleted: nothing to record"),
])
def test_other_notifications_record_nothing(w: World[InMemoryGateway], extra: dict[str, str],
                                            note: str) -> None:
    fetch = Fetches(work_item())
    assert (receive(w, notification(**extra), fetch).note, fetch.calls) == (note, [])


def test_a_work_item_still_open_records_nothing(w: World[InMemoryGateway]) -> None:
    receipt = receive(w, notification(), Fetches(work_item("Waiting")))
    assert (receipt.note, w.load().completions) == ("work item '4ngPvWJ9Kd8r' is not completed",
                                                    {})


def test_timesheet_hours_count_towards_the_linked_obligation(
        w: World[InMemoryGateway]) -> None:
    from milestonebill.integrations.practice import record_activity

    receipt = record_activity(w.biller, list(karbon.timesheet_entries(TIMESHEET)))
    assert [r.outcome for r in receipt.results] == [Outcome.RECORDED] * 2
    assert w.load().progress("work") == Decimal("6.816667")


# ------------------------------------------------------------------ Keeper


def keeper_parse(fields: dict[str, Any], *, at: datetime = NOW) -> Any:
    body = keeper_body(**fields)
    return keeper.parse_delivery(body, keeper.sign_delivery(body, secret=SECRET, at=at),
                                 secret=SECRET, now=NOW)


def test_a_relayed_task_is_a_completion() -> None:
    assert keeper_parse(TASK) == WorkCompleted(
        "keeper", "zap-1", ("T-88", "close-2026-03", "C-42"),
        datetime(2026, 3, 2, 8, 50, tzinfo=UTC), "Ada Byron", "Reconcile March")


def test_a_relayed_timer_is_a_time_entry() -> None:
    assert keeper_parse(TIMER) == TimeLogged(
        "keeper", "TM-9", ("close-2026-03", "C-42"), date(2026, 3, 2), "Ada Byron",
        Decimal("1.583333"), None, False, "Monthly close -- bank reconciliations")


def test_a_relay_signed_outside_the_window_or_with_another_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        keeper_parse(TASK, at=NOW - timedelta(minutes=6))
    body = keeper_body(**TASK)
    with pytest.raises(WebhookSignatureError):
        keeper.parse_delivery(body, keeper.sign_delivery(body, secret="other", at=NOW),
                              secret=SECRET, now=NOW)


@pytest.mark.parametrize(("change", "field"), [
    ({"event": "task.deleted"}, "event"),
    ({"event": None}, "event"),
    ({"delivery_id": ""}, "delivery_id"),
    ({"client_id": None}, "client_id"),
    ({"completed_at": "yesterday"}, "completed_at"),
    ({"completed_by": None}, "completed_by"),
])
def test_a_bad_task_names_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        keeper_parse({**TASK, **change})
    assert info.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"minutes": 1.5}, "minutes"),
    ({"minutes": -1}, "minutes"),
    ({"date": "02/03/2026"}, "date"),
    ({"billable": "yes"}, "billable"),
    ({"timer_id": None}, "timer_id"),
])
def test_a_bad_timer_names_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        keeper_parse({**TIMER, **change})
    assert info.value.field == field


def test_keeper_deliveries_complete_milestones_and_count_hours(
        w: World[InMemoryGateway]) -> None:
    def deliver(fields: dict[str, Any]) -> Any:
        body = keeper_body(**fields)
        return keeper.receive_delivery(w.biller, body,
                                       keeper.sign_delivery(body, secret=SECRET, at=NOW),
                                       secret=SECRET, now=NOW)

    task = deliver(TASK)
    assert (task.results[0].outcome, task.results[0].target) == (Outcome.RECORDED, "build")
    assert [i.total for b in task.billed for i in b.invoices] == [usd("6000.00")]
    timer = deliver(TIMER)
    assert (timer.results[0].outcome, timer.results[0].agreement_id) == (
        Outcome.RECORDED, OTHER_AGREEMENT)
    assert deliver(TIMER).results[0].outcome is Outcome.DUPLICATE
    assert w.load(OTHER_AGREEMENT).progress("advice") == Decimal("1.583333")


def test_a_link_to_a_milestone_removed_since_is_refused_by_type(
        w: World[InMemoryGateway]) -> None:
    w.biller.unlink_work("keeper", "T-88")
    # Stored behind the Biller's back, as a link left over from before an amendment.
    w.store.link_work(WorkLink("keeper", "T-88", AGREEMENT, MilestoneId("launch")))
    body = keeper_body(**TASK)
    with pytest.raises(NotFoundError):
        keeper.receive_delivery(w.biller, body, keeper.sign_delivery(body, secret=SECRET, at=NOW),
                                secret=SECRET, now=NOW)

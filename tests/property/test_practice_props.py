"""Practice-management deliveries and time exports: typed errors or correct results, and
hours to date that add up.

Fuzzing: any body (bytes, JSON of any shape, the vendor's shape with fields
replaced by junk or dropped), correctly signed most of the time, goes to the
Karbon and Keeper parsers, and any cells go to the time import.  The only
acceptable outcomes are :class:`~milestonebill.errors.WebhookSignatureError`,
a :class:`~milestonebill.errors.ValidationError` naming a field, or a value
whose every field has its declared type.

Invariant: however time entries are split into deliveries, ordered and
redelivered, the hours to date on the obligation are the sum of the distinct
entries' hours, reports never go backwards, and each entry has one event.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.agreement import ProgressReported
from milestonebill.errors import ValidationError, WebhookSignatureError
from milestonebill.integrations.practice import (
    Outcome,
    TimeLogged,
    WorkCompleted,
    import_time,
    karbon,
    keeper,
    record_activity,
)
from milestonebill.testing.practice import AGREEMENT, practice_world
from milestonebill.testing.scenarios import T0

KEY = "karbon-signing-key-0001"
SECRET = "keeper-relay-secret"
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False) | st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=12)


def near(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with some fields kept, some replaced by junk and some dropped."""
    def field(value: Any) -> st.SearchStrategy[Any]:
        if isinstance(value, dict):
            return st.one_of(near(value), json_values)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return st.one_of(st.lists(near(value[0]), max_size=3), json_values)
        return st.one_of(st.just(value), st.just(value), json_values)

    return st.fixed_dictionaries({}, optional={k: field(v) for k, v in valid.items()}) | \
        st.fixed_dictionaries({k: field(v) for k, v in valid.items()})


@st.composite
def bodies(draw: st.DrawFn, valid: dict[str, Any]) -> bytes:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(st.binary(max_size=64))
    if choice == 1:
        return json.dumps(draw(json_values)).encode()
    if choice == 2:
        depth = draw(st.integers(1, 200))
        return b"[" * depth + b"]" * draw(st.integers(0, depth))
    return json.dumps(draw(near(valid)), default=str).encode()


NOTIFICATION = {"ResourcePermaKey": "4ngPvWJ9Kd8r", "ResourceType": "Work",
                "ActionType": "Updated", "TimeStamp": "2026-03-02T08:58:30Z"}
WORK_ITEM = {"WorkItemKey": "4ngPvWJ9Kd8r", "Title": "Accounts", "PrimaryStatus": "Completed",
             "ClientKey": "3dVWVdTQx2cs", "AssigneeEmailAddress": "ada@firm.example"}
TIMESHEET = {"TimesheetKey": "2zgGcqrC9JcD", "EndDate": "2026-03-01T00:00:00Z",
             "UserKey": "3bxT8HkHxHCG", "Status": "Submitted",
             "TimeEntries": [{"TimeEntryKey": "te-1", "WorkItemKey": "4ngPvWJ9Kd8r",
                              "ClientKey": "3dVWVdTQx2cs", "Minutes": 384, "HourlyRate": 86,
                              "TaskTypeName": "Admin"}]}
TASK = {"delivery_id": "zap-1", "event": "task.completed", "task_id": "T-88",
        "task_name": "Reconcile", "project_id": "close", "client_id": "C-42",
        "completed_at": "2026-03-02T08:50:00Z", "completed_by": "Ada"}
TIMER = {"delivery_id": "zap-2", "event": "timer.stopped", "timer_id": "TM-9",
         "client_id": "C-42", "project_id": "close", "workstream": "Close", "user": "Ada",
         "date": "2026-03-02", "minutes": 95, "billable": True, "notes": "recs"}


def well_typed(value: object) -> None:
    if isinstance(value, karbon.KarbonNotification):
        assert isinstance(value.timestamp, datetime)
        assert all(isinstance(getattr(value, f), str) and getattr(value, f)
                   for f in ("resource_key", "resource_type", "action_type", "delivery_id"))
    elif isinstance(value, WorkCompleted):
        assert value.keys
        assert all(isinstance(k, str) for k in value.keys)
        assert isinstance(value.completed_at, datetime)
    elif isinstance(value, TimeLogged):
        assert isinstance(value.on, date)
        assert not isinstance(value.on, datetime)
        assert isinstance(value.hours, Decimal)
        assert value.hours >= 0
        assert value.rate is None or (isinstance(value.rate, Decimal) and value.rate >= 0)
    else:
        assert value is None, value


@FUZZ
@given(body=bodies(NOTIFICATION), signed=st.integers(0, 4))
def test_a_karbon_notification_is_read_or_refused_by_type(body: bytes, signed: int) -> None:
    signature = karbon.sign_notification(body, signing_key=KEY) if signed else "00"
    try:
        n = karbon.parse_notification(body, signature, signing_key=KEY, now=T0,
                                      tolerance=timedelta(days=36500))
    except (WebhookSignatureError, ValidationError):
        return
    well_typed(n)


@FUZZ
@given(item=bodies(WORK_ITEM), sheet=bodies(TIMESHEET))
def test_karbon_records_are_read_or_refused_by_type(item: bytes, sheet: bytes) -> None:
    body = json.dumps(NOTIFICATION).encode()
    n = karbon.parse_notification(body, karbon.sign_notification(body, signing_key=KEY),
                                  signing_key=KEY, now=T0)
    with contextlib.suppress(ValidationError):
        well_typed(karbon.work_item_completion(item, n))
    with contextlib.suppress(ValidationError):
        for entry in karbon.timesheet_entries(sheet):
            well_typed(entry)


@FUZZ
@given(body=st.one_of(bodies(TASK), bodies(TIMER)), signed=st.integers(0, 4))
def test_a_keeper_delivery_is_read_or_refused_by_type(body: bytes, signed: int) -> None:
    signature = keeper.sign_delivery(body, secret=SECRET, at=T0) if signed else "t=1,v1=00"
    try:
        activity = keeper.parse_delivery(body, signature, secret=SECRET, now=T0)
    except (WebhookSignatureError, ValidationError):
        return
    well_typed(activity)


cells = st.one_of(st.sampled_from(["2026-03-02", "Ada", "1.5", "150", "Acme audit", "", "-1",
                                   "x", "2026-02-30", "1e3", "yes"]),
                  st.text(max_size=8))


@FUZZ
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=7), max_size=6),
       header=st.permutations(["Date", "Person", "Hours", "Rate", "Project", "Billable"]))
def test_a_time_export_is_imported_or_its_problems_are_reported(
        rows: list[list[str]], header: list[str]) -> None:
    w = practice_world()
    w.biller.link_work("bigtime", "Acme audit", AGREEMENT)
    text = io.StringIO()
    csv.writer(text).writerows([header, *rows])
    result = import_time(w.biller, io.StringIO(text.getvalue()))
    if result.problems:
        assert not result.written
        assert w.biller.load(AGREEMENT).progress("work") == 0
        assert all(p.row >= 1 and p.column for p in result.problems)
    else:
        recorded = sum((r.activity.hours for r in result.results
                        if r.outcome is Outcome.RECORDED and isinstance(r.activity, TimeLogged)),
                       Decimal(0))
        assert w.biller.load(AGREEMENT).progress("work") == recorded


entries = st.lists(
    st.tuples(st.integers(0, 20), st.decimals(min_value=0, max_value=5, places=2)),
    min_size=1, max_size=12, unique_by=lambda e: e[0])


@settings(max_examples=60, deadline=None)
@given(entries=entries, cuts=st.lists(st.integers(0, 12), max_size=4),
       order=st.randoms(use_true_random=False), redeliver=st.booleans())
def test_hours_to_date_are_the_sum_of_the_distinct_entries(
        entries: list[tuple[int, Decimal]], cuts: list[int], order: Any,
        redeliver: bool) -> None:
    w = practice_world()
    w.biller.link_work("keeper", "C-1", AGREEMENT)
    logged = [TimeLogged("keeper", f"tm-{n}", ("C-1",), T0.date() + timedelta(days=n), "Ada",
                         hours) for n, hours in entries]
    order.shuffle(logged)
    bounds = sorted({0, len(logged), *(c for c in cuts if c <= len(logged))})
    batches = [logged[a:b] for a, b in itertools.pairwise(bounds)]
    if redeliver:
        batches += [logged[: len(logged) // 2 + 1]]
    for batch in batches:
        record_activity(w.biller, batch)
    a = w.biller.load(AGREEMENT)
    reports = [r for r in a.progress_reports if r.obligation_id == "work"]
    assert a.progress("work") == sum((h for _, h in entries), Decimal(0))
    assert all(x.to_date <= y.to_date and x.as_of <= y.as_of
               for x, y in itertools.pairwise(reports))
    ids = [e.event_id for e in a.events if isinstance(e, ProgressReported)]
    assert len(ids) == len(set(ids)) == sum(1 for _, h in entries if h)

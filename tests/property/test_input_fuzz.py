"""Fuzzing every reader of files: a typed error or a correct value, never a hang.

Engagement files (``load_engagement``, ``read_engagement_json``), the
documented formats (``formats.read`` of parsed data, JSON text and bytes,
``formats.read_toml``), the spreadsheet import (rows, CSV text and files)
and the in-memory gateway's state file (``InMemoryGateway.from_state``)
get documents near valid ones -- fields kept, replaced by junk or dropped;
bytes cut, flipped or nested deep -- and must answer each with a
:class:`~milestonebill.errors.MilestonebillError` or a value that reads
back to itself, within a deadline and a hard time limit per example.

CI runs fixed examples; ``MILESTONEBILL_LONG=1`` draws ten times as many,
new each time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill import formats
from milestonebill.agreement import AgreementId, Amendment, AmendmentId, Collection
from milestonebill.agreement import sign as sign_offer
from milestonebill.cli.engagement import load_engagement, read_engagement_json
from milestonebill.engagement import Engagement
from milestonebill.gateways.base import ChargeRequest, CustomerRequest, RefundRequest, SetupRequest
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.integrations.spreadsheet import ImportResult, import_agreements
from milestonebill.money import Money
from milestonebill.schedule import Trigger
from milestonebill.testing.fuzzing import answer, mutated, near, time_limit
from milestonebill.testing.scenarios import CARD
from milestonebill.testing.strategies import amendment_operations, offers

LONG = os.environ.get("MILESTONEBILL_LONG", "") == "1"
START = date(2026, 1, 5)
#: Seconds one example may take before Hypothesis reports it, and before it is stopped.
DEADLINE, LIMIT = 5.0, 30.0
FUZZ = settings(max_examples=1000 if LONG else 100, derandomize=not LONG, database=None,
                deadline=timedelta(seconds=DEADLINE),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------ valid documents


@st.composite
def documents(draw: st.DrawFn, names: Sequence[str] = tuple(formats.SCHEMAS)
              ) -> tuple[str, Any]:
    """A format's name (one of ``names``) and a valid value of it."""
    collection = draw(st.sampled_from(Collection))
    offer = draw(offers(start=START, collection=collection, max_count=4))
    name = draw(st.sampled_from(names))
    if name == "proposal":
        return name, offer
    a = sign_offer(offer, option="a", signer="Ada", agreement_id=AgreementId("agr-1"),
                   signed_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
                   payment_method=CARD if collection is Collection.AUTO_CHARGE else None)
    if name == "agreement":
        return name, a
    if name == "amendment":
        ops = draw(st.lists(amendment_operations(a, START, 1), min_size=1, max_size=3))
        return name, Amendment(AmendmentId("am-1"), tuple(ops), description="changes")
    schedule = offer.options[0].schedule
    done = [m.id for m in schedule.milestones if m.trigger is Trigger.ON_COMPLETION]
    return name, Engagement(schedule, "Audit", "Acme", START,
                            {m: START + timedelta(days=9) for m in done[:1]})


def _json(value: Any) -> Any:
    return json.loads(json.dumps(formats.write(value)))


def _reads_back(name: str, value: Any) -> None:
    """A value a reader accepted is written and read again unchanged."""
    assert formats.read(name, formats.write(value)) == value


def _toml(data: Any, key: str = "") -> str:
    """``data`` (a JSON object) as TOML: every value inline, ``null`` left out."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()
                                   if x is not None) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v)

    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in data.items() if v is not None)


# ------------------------------------------------------------------ formats


@FUZZ
@given(st.data())
def test_a_document_near_a_valid_one_is_refused_or_read_back_exactly(data: st.DataObject) -> None:
    name, value = data.draw(documents())
    doc = data.draw(near(_json(value)), label="document")
    with time_limit(LIMIT):
        read = answer(lambda: formats.read(name, doc))
        if read is not None:
            _reads_back(name, read)


@FUZZ
@given(st.data())
def test_json_text_and_bytes_are_refused_or_read_back_exactly(data: st.DataObject) -> None:
    name, value = data.draw(documents())
    assert formats.read(name, json.dumps(_json(value))) == value
    raw = data.draw(mutated(json.dumps(_json(value)).encode()), label="bytes")
    as_text = data.draw(st.booleans(), label="as text")
    payload: str | bytes = raw.decode("utf-8", "replace") if as_text else raw
    with time_limit(LIMIT):
        read = answer(lambda: formats.read(name, payload))
        if read is not None:
            _reads_back(name, read)


@FUZZ
@given(st.data())
def test_toml_text_is_refused_or_read_back_exactly(data: st.DataObject) -> None:
    name, value = data.draw(documents())
    valid = _toml(_json(value))
    assert formats.read_toml(name, valid) == value
    text = data.draw(mutated(valid.encode()), label="bytes").decode("utf-8", "replace")
    with time_limit(LIMIT):
        read = answer(lambda: formats.read_toml(name, text))
        if read is not None:
            _reads_back(name, read)


# ------------------------------------------------------------------ engagement files


@FUZZ
@given(st.data())
def test_an_engagement_near_a_valid_one_is_refused_or_read_back_exactly(
        data: st.DataObject) -> None:
    _, value = data.draw(documents(("engagement",)))
    doc = data.draw(near(_json(value)), label="engagement")
    with time_limit(LIMIT):
        read = answer(lambda: load_engagement(doc))
        if read is not None:
            assert load_engagement(formats.write(read)) == read


@FUZZ
@given(st.data())
def test_an_engagement_file_of_any_bytes_is_refused_on_one_line_or_read(
        data: st.DataObject) -> None:
    _, value = data.draw(documents(("engagement",)))
    raw = data.draw(mutated(json.dumps(_json(value)).encode()), label="file")
    with tempfile.TemporaryDirectory() as tmp, time_limit(LIMIT):
        path = Path(tmp) / "engagement.json"
        path.write_bytes(raw)
        parsed = answer(lambda: read_engagement_json(str(path)))
        if parsed is None:
            return
        read = answer(lambda: load_engagement(parsed[0]))
        if read is not None:
            assert load_engagement(formats.write(read)) == read


# ------------------------------------------------------------------ the spreadsheet import

ROWS = [
    {"agreement_id": "agr-1", "client": "Acme", "currency": "USD", "signed_on": "2026-01-15",
     "kind": "milestone", "item_id": "design", "name": "Design", "amount": "4000.00",
     "trigger": "on_completion", "completed_on": "2026-02-20", "terms_days": "30"},
    {"agreement_id": "agr-1", "client": "Acme", "currency": "USD", "signed_on": "2026-01-15",
     "kind": "recurring", "item_id": "care", "name": "Care plan", "amount": "500",
     "interval": "monthly", "start": "2026-03-01", "count": "12", "timing": "in_advance"},
    {"agreement_id": "agr-2", "client": "Bo", "currency": "JPY", "signed_on": "2026-02-01",
     "kind": "milestone", "item_id": "all", "name": "All", "amount": "90000",
     "trigger": "on_date", "due_on": "2026-04-30", "gateway": "memory",
     "customer_ref": "cus_1", "payment_method_ref": "pm_1", "payment_method_kind": "card",
     "collection": "auto_charge", "signer": "Bo"},
]
cells = st.text(max_size=12) | st.sampled_from(
    ["", "9999-12-31", "0001-01-01", "1e999999999", "9" * 5000, "-1", "0", "2026-02-30",
     "every 1000000000 weeks", "\ud800", "4242424242424242", "weekly", "on_signing"])


def _check_import(result: ImportResult, rows: int) -> None:
    assert isinstance(result.report(), str)
    assert all(1 <= p.row <= rows + 1 for p in result.problems)
    if result.ok:
        assert len({a.id for a in result.agreements}) == len(result.agreements)


@FUZZ
@given(rows=st.lists(st.one_of([near(r) for r in ROWS]).map(
    lambda r: {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in r.items()}
    if isinstance(r, dict) else {"agreement_id": json.dumps(r)}), max_size=5),
       extra=st.dictionaries(st.sampled_from(["amount", "count", "start", "signed_on", "end",
                                              "due_on", "interval", "terms_days", "item_id"]),
                             cells, max_size=3),
       skip=st.booleans())
def test_spreadsheet_rows_near_valid_ones_are_imported_or_their_problems_listed(
        rows: list[dict[str, str]], extra: dict[str, str], skip: bool) -> None:
    rows = [*rows, {**ROWS[0], **extra}]
    with time_limit(LIMIT):
        result = answer(lambda: import_agreements(rows, skip_invalid=skip))
        if result is not None:
            _check_import(result, len(rows))


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=sorted({k for r in rows for k in r}))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@FUZZ
@given(raw=mutated(_csv(ROWS).encode()), as_file=st.booleans())
def test_a_csv_export_of_any_bytes_is_imported_or_refused(raw: bytes, as_file: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, time_limit(LIMIT):
        if as_file:
            path = Path(tmp) / "export.csv"
            path.write_bytes(raw)
            result = answer(lambda: import_agreements(path))
        else:
            text = io.StringIO(raw.decode("utf-8", "replace"))
            result = answer(lambda: import_agreements(text))
        if result is not None:
            _check_import(result, raw.count(b"\n") + raw.count(b"\r") + 1)


# ------------------------------------------------------------------ the gateway's state file


def _busy_gateway() -> InMemoryGateway:
    """A gateway that has done a little of everything."""
    gw = InMemoryGateway(fees=lambda m: Money.from_minor(m.minor // 30, m.currency))
    cus = gw.create_customer(CustomerRequest(reference="client-1"))
    gw.script_setup("tok_bad", Scripted.decline("card_declined"))
    gw.save_payment_method(SetupRequest(cus.customer_id, "tok_bad"))
    saved = gw.save_payment_method(SetupRequest(cus.customer_id, "tok_4242"))
    assert saved.payment_method is not None
    pm = saved.payment_method.payment_method_id
    gw.script_next(Scripted.succeed(), Scripted.decline("insufficient_funds"),
                   Scripted.stay_processing(), Scripted.time_out_after_charge())
    refs = []
    for n in range(1, 5):
        r = gw.charge(ChargeRequest("agr-1", f"inv-{n}", 1, Money("10.00", "USD"),
                                    cus.customer_id, pm))
        refs.append(r.gateway_ref)
    assert refs[0] is not None
    assert refs[2] is not None
    gw.refund(RefundRequest("agr-1", "inv-1", "re-1", refs[0], Money("2.50", "USD")))
    gw.settle(refs[2], Scripted.succeed())
    gw.script_next(Scripted.require_action())
    gw.script_payment_method("tok_4242", Scripted.decline("stolen_card"))
    return gw


STATE = json.loads(json.dumps(_busy_gateway().to_state()))


@FUZZ
@given(near(STATE))
def test_a_gateway_state_near_a_valid_one_is_refused_or_restored_exactly(state: Any) -> None:
    with time_limit(LIMIT):
        gw = answer(lambda: InMemoryGateway.from_state(state))
        if gw is not None:
            again = InMemoryGateway.from_state(json.loads(json.dumps(gw.to_state())))
            assert again.to_state() == gw.to_state()


def test_a_valid_gateway_state_is_restored_exactly() -> None:
    assert InMemoryGateway.from_state(STATE).to_state() == STATE

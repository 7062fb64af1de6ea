"""What the Biller, the documents and the reports give back round-trips through
JSON by one mechanism, and its JSON has the shape the generated schema states."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from milestonebill import reports
from milestonebill._json import CODEC
from milestonebill.agreement import Amendment as AmendmentSpec
from milestonebill.agreement import (
    AmendmentId,
    AmendmentPreview,
    ChangeMilestoneAmount,
    CreditIssued,
    InvoiceIssued,
    RemoveMilestone,
    complete_milestone,
    preview,
)
from milestonebill.documents import (
    CreditNote,
    CreditReason,
    FlatTax,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxMethod,
    TaxPolicy,
    TaxRate,
)
from milestonebill.engine import ChargeOutcome, DryRun, RecognitionSummary, RunSummary
from milestonebill.errors import ValidationError
from milestonebill.gateways.base import ChargeStatus
from milestonebill.ids import AgreementId, CreditNoteId, InvoiceId, MilestoneId, PlanKey
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.reports import (
    RevenueRow,
    Table,
    aging,
    billing_revenue_forecast,
    cash_forecast,
    contract_positions,
    expected_receipts,
    leakage_audit,
    movement_totals,
    mrr,
    mrr_movements,
    mrr_totals,
    net_revenue_retention,
    receivables,
    remaining_obligations,
    revenue_schedule,
    rollforward,
)
from milestonebill.testing.firm import Firm, generated_firm
from milestonebill.testing.scenarios import World, proposal
from milestonebill.testing.strategies import exponent_currencies, minor_amounts


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=30, months=12, seed=11)


def round_trip(value: Any) -> Any:
    """``value`` through its JSON text, checked against the schema of its class."""
    data = value.to_json()
    errors = list(Draft202012Validator(CODEC.schema(type(value))).iter_errors(data))
    assert errors == []
    back = type(value).from_json(json.loads(json.dumps(data)))
    assert back == value
    return data


def test_every_invoice_and_credit_note_of_a_generated_firm_round_trips(firm: Firm) -> None:
    invoices = [e.invoice for a in firm.agreements() for e in a.events
                if isinstance(e, InvoiceIssued)]
    notes = [e.credit_note for a in firm.agreements() for e in a.events
             if isinstance(e, CreditIssued)]
    assert len(invoices) > 100
    assert notes
    for doc in [*invoices, *notes]:
        round_trip(doc)


def test_run_summaries_dry_runs_and_recognition_round_trip() -> None:
    w = World()
    w.open()
    summary = w.complete("design")
    assert summary.invoices
    assert summary.charges
    data = round_trip(summary)
    assert data["charges"][0]["status"] == "succeeded"
    assert data["invoices"][0]["total"] == {"amount": "1000.00", "currency": "USD"}
    w.reprice("build", "1800.00")
    w.complete("build")
    w.later(days=40)
    dry = w.biller.dry_run(w.clock.today())
    round_trip(dry)
    recognised = w.biller.recognise(w.clock.today())
    assert recognised.entries
    round_trip(recognised)


def test_a_dry_run_with_drafts_and_planned_charges_round_trips() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]))
    a = w.load()
    w.biller.record(a.id, [complete_milestone(a, MilestoneId("design"), by="Ada",
                                              at=w.clock.now())])
    dry = w.biller.dry_run(w.clock.today())
    assert dry.invoices
    assert dry.charges
    data = round_trip(dry)
    assert data["invoices"][0]["number"] is None


def test_an_amendment_preview_round_trips() -> None:
    w = World()
    w.open()
    w.complete("design")
    a = w.load()
    am = AmendmentSpec(AmendmentId("am-2"), [
        ChangeMilestoneAmount(w.clock.today(), MilestoneId("design"), Money("800.00", "USD")),
        RemoveMilestone(w.clock.today(), MilestoneId("build"))])
    p = preview(a, am, as_of=w.clock.today())
    assert p.credits
    assert p.changes
    data = round_trip(p)
    assert data["credits"][0]["adjusts"] == p.credits[0].adjusts
    assert AmendmentPreview.from_json(data).value_change == p.value_change


def test_a_report_table_round_trips_with_its_row_class(firm: Firm) -> None:
    a = next(a for a in firm.agreements() if a.invoices)
    table = revenue_schedule(a, Period.of(firm.start, firm.through + timedelta(days=1)))
    assert len(table) > 0
    data = table.to_json()
    assert data["rows"] == table.to_records()
    assert Table.from_json(json.loads(json.dumps(data)), RevenueRow) == table


def report_tables(firm: Firm) -> list[Table[Any]]:
    """One table of every report, from a generated firm."""
    agreements = firm.agreements()
    entries = list(firm.store.entries())
    end = firm.through + timedelta(days=1)
    middle = firm.start + timedelta(days=180)
    quarters = [Period(firm.start, middle), Period(middle, end)]
    mrr_rows = mrr(agreements, firm.through)
    movements = mrr_movements(agreements, firm.start + timedelta(days=90), end)
    return [
        revenue_schedule(agreements[0], Period(firm.start, end)),
        remaining_obligations(agreements[0], middle),
        contract_positions(entries, firm.through, "USD"),
        rollforward(entries, quarters, currency="USD"),
        cash_forecast(agreements, middle, periods=3, history=2),
        billing_revenue_forecast(agreements, middle, periods=3, history=2),
        expected_receipts(agreements, middle, through=end),
        receivables(agreements, firm.through),
        aging(agreements, firm.through),
        leakage_audit(agreements, firm.through),
        mrr_rows, mrr_totals(mrr_rows), movements, movement_totals(movements),
        net_revenue_retention(agreements, middle, end),
    ]


def test_every_report_round_trips_with_its_row_class(firm: Firm) -> None:
    for table in report_tables(firm):
        if not table.rows:
            continue
        row = type(table.rows[0])
        data = json.loads(json.dumps(table.to_json()))
        assert Table.from_json(data, row) == table, table
        schema = CODEC.schema(row)
        assert [list(Draft202012Validator(schema).iter_errors(r)) for r in data["rows"]] == \
            [[] for _ in data["rows"]]
    assert sum(1 for t in report_tables(firm) if t.rows) >= 12


def test_every_report_row_class_has_a_json_schema() -> None:
    rows = [obj for name, obj in vars(reports).items() if isinstance(obj, type)
            and attrs.has(obj) and (name.endswith(("Row", "Total")) or name in (
                "ContractBalance", "RemainingObligation", "ExpectedReceipt"))]
    assert len(rows) > 12
    for row in rows:
        assert CODEC.schema(row)["$ref"] == f"#/$defs/{row.__name__}"


@pytest.mark.parametrize(("data", "field"), [
    ([], "table"),
    ({"title": "T", "rows": [], "extra": 1}, "extra"),
    ({"title": "T", "rows": [{"agreement_id": "a"}]}, "rows[0].obligation_id"),
])
def test_a_bad_table_is_refused_by_field(data: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Table.from_json(data, RevenueRow)
    assert info.value.field == field


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    cur = draw(exponent_currencies())
    issued = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    n = draw(st.integers(1, 4))
    lines = []
    for i in range(n):
        kind = draw(st.sampled_from([LineKind.MILESTONE, LineKind.RECURRING,
                                     LineKind.ADJUSTMENT]))
        key = (PlanKey.milestone(MilestoneId(f"m{i}")) if kind is not LineKind.RECURRING
               else PlanKey.piece(f"r{i}", issued))
        period = (Period(issued, issued + timedelta(days=draw(st.integers(1, 92))))
                  if kind is LineKind.RECURRING else None)
        amount = draw(minor_amounts(max_abs=10**12, allow_negative=False).filter(bool))
        lines.append(InvoiceLine(f"l{i}", key, kind, draw(st.text(max_size=20)),
                                 Money.from_minor(amount, cur), period=period,
                                 provenance=tuple(draw(st.lists(st.text(max_size=10),
                                                                max_size=2)))))
    rate = draw(st.none() | st.decimals(0, 1, places=4))
    tax = TaxPolicy() if rate is None else TaxPolicy(
        FlatTax(TaxRate("VAT", rate)), draw(st.sampled_from(TaxMethod)))
    return Invoice.build(id=InvoiceId(f"inv-{draw(st.integers(1, 999))}"),
                         agreement_id="agr-1", currency=cur, issued_on=issued,
                         due_on=issued + timedelta(days=draw(st.integers(0, 60))),
                         lines=lines, tax=tax,
                         number=draw(st.none() | st.just("INV-000001")))


@settings(max_examples=80, deadline=None)
@given(invoices(), st.sampled_from(CreditReason), st.text(max_size=30))
def test_any_invoice_and_its_credit_note_round_trip(invoice: Invoice, reason: CreditReason,
                                                     memo: str) -> None:
    round_trip(invoice)
    note = CreditNote.build(id=CreditNoteId("cn-1"), agreement_id=invoice.agreement_id,
                            currency=invoice.currency, issued_on=invoice.due_on,
                            credits=invoice.id, reason=reason, lines=invoice.lines,
                            memo=memo)
    round_trip(note)


@settings(max_examples=60, deadline=None)
@given(invoices(), st.sampled_from(ChargeStatus), st.none() | st.text(max_size=12),
       st.integers(1, 9))
def test_any_run_summary_round_trips(invoice: Invoice, status: ChargeStatus,
                                     code: str | None, attempt: int) -> None:
    outcome = ChargeOutcome(AgreementId("agr-1"), invoice.id, attempt, invoice.total, status,
                            code, None if code is None else f"ch_{attempt}")
    round_trip(outcome)
    summary = RunSummary(invoice.issued_on, (AgreementId("agr-1"),), (), (invoice,), (),
                         (outcome,), (outcome,) if attempt > 1 else ())
    round_trip(summary)
    assert RunSummary.from_json(summary.to_json()).failures == summary.failures
    round_trip(DryRun(invoice.issued_on, (), (), (invoice,), (), ()))
    round_trip(RecognitionSummary(invoice.issued_on))


def test_a_bad_invoice_names_the_field() -> None:
    w = World()
    w.open()
    data = w.complete("design").invoices[0].to_json()
    data["lines"][0]["amount"]["amount"] = "999.00"
    with pytest.raises(ValidationError) as info:
        Invoice.from_json(data)
    assert info.value.field == "invoice.subtotal"
    data["lines"][0]["amount"] = 999
    with pytest.raises(ValidationError) as info:
        Invoice.from_json(data)
    assert info.value.field == "lines[0].amount"

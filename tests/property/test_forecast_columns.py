"""The forecasts' columns give exactly what the invoice lines give.

The forecasts read what is still to bill as integer columns
(:func:`milestonebill._owed.owed`): no plan item, invoice line or
:class:`~milestonebill.invoicing.Unbilled` per piece.  The lines
(:func:`~milestonebill.invoicing.unbilled`) stay the definition.  Each test
lives a random agreement -- milestones of every trigger, installments,
discounts, time and materials, recurring charges with escalations, in USD,
JPY or KWD -- through amendments of every kind (credits included), billing
runs, completions, pauses and refunds, and then compares the columns with
the lines field by field, and every forecast with its reference path, taxed
or not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from milestonebill import reports as r
from milestonebill._owed import owed
from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    Collection,
    CreditIssued,
    Proposal,
    apply,
    complete_milestone,
    pause,
    propose,
    resume,
    sign,
)
from milestonebill.documents import FlatTax, InvoiceLine, TaxMethod, TaxPolicy, TaxRate
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.invoicing import (
    refund_credit_note,
    unbilled,
    unbilled_minor,
)
from milestonebill.money import Money, Rounding
from milestonebill.schedule import (
    Escalation,
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.testing.scenarios import CARD, bill_due, proposal
from milestonebill.testing.strategies import amendment_operations, offers

START = date(2024, 1, 1)
EXAMPLES = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)


def fresh(a: Agreement) -> Agreement:
    """A copy that has worked nothing out yet (as if just loaded from a store)."""
    return attrs.evolve(a)


@st.composite
def escalated(draw: st.DrawFn, p: Proposal) -> Proposal:
    """``p`` with a price uplift on some recurring charges (on a date, or yearly)."""
    options = []
    for o in p.options:
        charges = []
        for charge in o.schedule.recurring:
            when = draw(st.none() | st.integers(20, 400))
            if when is not None:
                up = (Escalation(percent=Decimal(draw(st.integers(1, 9))),
                                 dates=(charge.start + timedelta(days=when),))
                      if draw(st.booleans()) else Escalation(percent=Decimal(3)))
                charges.append(attrs.evolve(charge, escalations=(up,)))
            else:
                charges.append(charge)
        options.append(attrs.evolve(o, schedule=attrs.evolve(o.schedule, recurring=charges)))
    return attrs.evolve(p, options=tuple(options))




def refund(a: Agreement, d: date, data: st.DataObject) -> Agreement:
    """A refund credit note of part of an invoice that has room for one."""
    room = [i for i in a.invoices
            if i.subtotal.minor - sum(c.subtotal.minor for c in a.credit_notes
                                      if c.credits == i.id) > 0]
    if not room:
        return a
    inv = data.draw(st.sampled_from(room))
    amount = Money.from_minor(data.draw(st.integers(1, inv.subtotal.minor)), a.currency)
    cn = refund_credit_note(a, inv.id, amount, issued_on=d)
    cn = attrs.evolve(cn, number=f"CN-{len(a.credit_notes) + 1:05d}")
    return apply(a, CreditIssued(f"cn-{cn.id}", a.version + 1, noon(d), cn))


def amend(a: Agreement, today: date, n: int, data: st.DataObject) -> Agreement:
    """One or two amendment operations of any kind, approved (when they apply)."""
    ops = tuple(data.draw(amendment_operations(a, today, n, start=START, terms=True))
                for _ in range(data.draw(st.integers(1, 2))))
    try:
        return apply(a, propose(a, Amendment(AmendmentId(f"am{n}"), ops), by="pm",
                                at=noon(today)))
    except (AmendmentError, ValidationError):
        return a  # an operation that does not apply to the agreement as it stands


def _step(a: Agreement, today: date, n: int, data: st.DataObject) -> Agreement:
    action = data.draw(st.sampled_from(["amend", "amend", "amend", "bill", "bill", "bill",
                                        "complete", "refund", "pause"]))
    if action == "amend":
        return amend(a, today, n, data)
    if action == "bill":
        return bill_due(a, today)
    if action == "refund":
        return refund(a, today, data)
    if action == "complete":
        waiting = [t.milestone.id for t in a.milestones if t.milestone.id not in a.completions]
        if waiting and a.state in (AgreementState.ACTIVE, AgreementState.PAUSED):
            return apply(a, complete_milestone(a, data.draw(st.sampled_from(waiting)), by="pm",
                                               at=noon(today)))
        return a
    if a.state is AgreementState.ACTIVE:
        return apply(a, pause(a, at=noon(today)))
    if a.state is AgreementState.PAUSED:
        return apply(a, resume(a, at=noon(today)))
    return a


def lived(data: st.DataObject) -> tuple[Agreement, date]:
    """A random agreement lived through random days, and the last of them."""
    card = data.draw(st.booleans())
    p = data.draw(offers(start=START, terms=True, collection=Collection.AUTO_CHARGE if card
                         else Collection.SEND_INVOICE))
    p = data.draw(escalated(p))
    a = sign(p, option="a", signer="S", signed_at=noon(START),
             payment_method=CARD if card else None, agreement_id=AgreementId("agr"))
    a = bill_due(a, START)
    today = START
    for n in range(data.draw(st.integers(0, 10))):
        today += timedelta(days=data.draw(st.integers(0, 45)))
        a = _step(a, today, n, data)
        if a.state is AgreementState.CANCELLED and data.draw(st.booleans()):
            break
    if a.state is AgreementState.PAUSED and data.draw(st.booleans()):
        a = apply(a, resume(a, at=noon(today)))
    if len(a.invoices) > 0 and data.draw(st.booleans()):  # changes to what was billed: credits
        a = amend(a, today, 99, data)
    return a, today


def columns_of_lines(a: Agreement, through: date) -> list[tuple[Any, ...]]:
    """What the lines say, field by field (the definition the columns must meet)."""
    with reference_path():
        return [(u.billable_on, u.credit, u.terms, str(u.line.item_key), u.line.amount.minor,
                 u.line.adjusts is not None) for u in unbilled(fresh(a), through=through)]


def columns(a: Agreement, through: date) -> list[tuple[Any, ...]]:
    o = owed(a, through=through)
    return list(zip(o.days, o.credit, o.terms, o.keys, o.minors, o.adjusts, strict=True))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_what_is_owed_as_columns_is_the_unbilled_lines(data: st.DataObject) -> None:
    a, today = lived(data)
    b = fresh(a)
    horizons = data.draw(st.lists(st.integers(-30, 900), min_size=1, max_size=5))
    for h in (today + timedelta(days=d) for d in horizons):
        want = columns_of_lines(a, h)
        for what, seen in [("a credit", any(c for _d, c, *_ in want)),
                           ("a discount line", any(m < 0 for *_, m, _a in want)),
                           ("an adjustment", any(x[5] for x in want)),
                           ("an installment", any(x[3].startswith("i:") for x in want)),
                           (a.currency.code, True), (a.state.value, True)]:
            if seen:
                event(what)
        assert (h, columns(b, h)) == (h, want)
        assert (h, columns(b, h)) == (h, want)  # kept with the agreement, still the same
        signed = [(day, -m if credit else m) for day, credit, _t, _k, m, _a in want]
        assert unbilled_minor(fresh(a), through=h) == signed


TAXES = st.sampled_from([
    TaxPolicy(),
    TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2")))),
    TaxPolicy(FlatTax(TaxRate("GST", Decimal("0.075"))), method=TaxMethod.PER_INVOICE),
    TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.19"))), rounding=Rounding.HALF_EVEN),
    TaxPolicy(FlatTax(TaxRate("ST", Decimal("0.0825"))), method=TaxMethod.PER_INVOICE,
              rounding=Rounding.DOWN),
])


def forecasts(ags: list[Agreement], as_of: date, assumptions: r.Assumptions
              ) -> dict[str, list[Any]]:
    window: dict[str, Any] = {"periods": 15, "assumptions": assumptions}
    won = r.Scenario("won", [r.Signing(proposal([("audit", "2500.00")]), "std",
                                       as_of + timedelta(days=3), AgreementId("new-1"),
                                       payment_method=CARD)])
    return {
        "receipts": list(r.expected_receipts(ags, as_of, through=as_of + timedelta(days=400),
                                             assumptions=assumptions)),
        "cash": list(r.cash_forecast(ags, as_of, **window)),
        "billing": list(r.billing_revenue_forecast(ags, as_of, **window)),
        "scenarios": list(r.compare_scenarios(ags, [won], as_of, measure=r.Measure.BILLED,
                                              **window)),
        "scenarios cash": list(r.compare_scenarios(ags, [won], as_of, **window)),
    }


@EXAMPLES
@given(st.data(), TAXES, st.none() | st.integers(0, 40), st.integers(0, 120))
def test_every_forecast_from_columns_is_the_forecast_from_lines(
        data: st.DataObject, tax: TaxPolicy, completion: int | None, later: int) -> None:
    a, today = lived(data)
    as_of = today + timedelta(days=later)
    assumptions = r.Assumptions(completion=r.CompletionAssumption(completion), tax=tax,
                                failure_rate=Decimal("0.05"))
    with reference_path():
        want = forecasts([fresh(a)], as_of, assumptions)
    mine = [fresh(a)]
    cold = forecasts(mine, as_of, assumptions)
    warm = forecasts(mine, as_of, assumptions)
    for name, rows in want.items():
        assert (name, cold[name]) == (name, rows)
        assert (name, warm[name]) == (name, rows)


@attrs.frozen
class ByKind:
    """A host's own tax rule: it reads the line, so the forecasts need the lines."""

    def rate_for(self, line: InvoiceLine) -> TaxRate | None:
        return None if line.item_key is not None and line.item_key.startswith("r:") else \
            TaxRate("VAT", Decimal("0.2"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_a_host_tax_rule_is_read_off_the_lines(data: st.DataObject) -> None:
    a, today = lived(data)
    assumptions = r.Assumptions(tax=TaxPolicy(ByKind()))
    with reference_path():
        want = list(r.expected_receipts([fresh(a)], today, through=today + timedelta(days=300),
                                        assumptions=assumptions))
    got = list(r.expected_receipts([fresh(a)], today, through=today + timedelta(days=300),
                                   assumptions=assumptions))
    assert got == want


def test_the_forecasts_make_no_invoice_line_without_a_host_tax_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    design = Milestone(MilestoneId("design"), "Design", amount=Money("4000.00", "USD"),
                       trigger=Trigger.ON_DATE, due_on=date(2026, 4, 20))
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money("1000.00", "USD"), Interval.MONTHLY,
                          start=date(2026, 4, 1), count=2)
    a = sign(proposal([design], [fee], collection=Collection.SEND_INVOICE), option="std",
             signer="Ada", payment_method=None, agreement_id=AgreementId("a-1"),
             signed_at=noon(date(2026, 3, 2)))
    as_of, through = date(2026, 3, 31), date(2026, 6, 1)
    vat = r.Assumptions(tax=TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2")))))
    with reference_path():
        want = list(r.expected_receipts([a], as_of, through=through))
        want_taxed = list(r.expected_receipts([a], as_of, through=through, assumptions=vat))

    def no_lines(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an invoice line was built")

    monkeypatch.setattr(InvoiceLine, "__init__", no_lines)
    got = list(r.expected_receipts([fresh(a)], as_of, through=through))
    taxed = list(r.expected_receipts([fresh(a)], as_of, through=through, assumptions=vat))
    assert got == want
    assert taxed == want_taxed
    assert [str(x.amount) for x in taxed] == ["1200.00 USD", "4800.00 USD", "1200.00 USD"]

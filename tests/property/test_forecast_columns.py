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

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from histories import (
    EXAMPLES,
    fresh,
    lived,
    noon,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from milestonebill import reports as r
from milestonebill._owed import owed
from milestonebill._reference import reference_path
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Collection,
    sign,
)
from milestonebill.documents import FlatTax, InvoiceLine, TaxMethod, TaxPolicy, TaxRate
from milestonebill.invoicing import (
    unbilled,
    unbilled_minor,
)
from milestonebill.money import Money, Rounding
from milestonebill.schedule import (
    Interval,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Trigger,
)
from milestonebill.testing.scenarios import CARD, proposal


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
